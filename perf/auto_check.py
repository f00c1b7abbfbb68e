"""Does auto pick the fastest exact rung? Times every rung and auto at several k.

    .venv/bin/python perf/auto_check.py [-k 10,20,30,50,100] [--rounds 3] [--isa avx2]

Runs build/sl_worker (make build) on the seeded 10,000 x 768 default
workload, self knn on all threads: per round and k, c5, c6 and c7 (those
this CPU has, under --isa if given) and auto, one after the other, each
after half a second of quiet (peers.py's Worker drives the worker). Prints
the medians, the rung auto took, and auto's time over the fastest rung's
(perf/README.md, "Auto's model").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from peers import Worker  # the child process peers.py drives, half a second of quiet a request

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="10,20,30,50,100")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--isa", default="", help="cap the CPU features, as SL_ISA does")
    args = ap.parse_args()
    worker = ROOT / "build" / "sl_worker"
    if not worker.exists():
        print("auto_check: build/sl_worker is missing: run make build", file=sys.stderr)
        return 2
    ks = [int(v) for v in args.k.split(",")]
    env = {"SL_ISA": args.isa} if args.isa else None
    with tempfile.TemporaryDirectory() as tmp:
        x = np.random.default_rng(0).standard_normal((10000, 768), dtype=np.float32)
        path = Path(tmp) / "x.f32"
        x.tofile(path)
        w = Worker("sl_worker", [str(worker)], env, json_requests=False)
        w.ask(f"load x {path} 10000 768")
        rungs = ["c5", "c6", "c7", "auto"]
        times: dict[tuple[int, str], list[float]] = {}
        names: dict[tuple[int, str], str] = {}
        for _ in range(args.rounds):
            for k in ks:
                for r in rungs:
                    out = w.ask(f"knn x {k} {r} 0")
                    if "error" in out:
                        continue
                    times.setdefault((k, r), []).append(out["seconds"])
                    names[(k, r)] = out["kernel"]
        w.close()
    print(
        f"# self knn, 10,000 x 768, all threads, medians of {args.rounds}"
        + (f", SL_ISA={args.isa}" if args.isa else "")
    )
    print("|  k | " + " | ".join(r for r in rungs) + " | auto took | auto / fastest |")
    print("|---:|" + "---:|" * len(rungs) + "---|---:|")
    for k in ks:
        med = {r: statistics.median(times[(k, r)]) for r in rungs if (k, r) in times}
        fastest = min(v for r, v in med.items() if r != "auto")
        cells = " | ".join(f"{med[r]:.3f} s" if r in med else "-" for r in rungs)
        took = names.get((k, "auto"), "?")
        print(f"| {k:3d} | {cells} | {took} | {med['auto'] / fastest:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
