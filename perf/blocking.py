"""Compare build-time blocking constants on this CPU, interleaved in one run.

    .venv/bin/python perf/blocking.py "SL_C4W_MC=192 SL_C4W_KC=256" "SL_C4W_MC=384 SL_C4W_KC=128"

Each argument is one variant: macro definitions passed as CFLAGS (-D...) to
a build of perf/sl_worker in build-blocking/<variant>. The variants then run
the same job (default: self knn, k = 10; --op join: self join at tau = 1; on
the seeded 10,000 x 768 default workload, all threads) round after round,
one after the other within each round, and the medians are printed with each
variant's ratio to the first.
The constants are those of src/kernels/kernels.h (SL_C4_*, SL_C4W_*) and
blocked.h (BLK_PREFETCH); perf/README.md says which won where.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def build(defs: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9_=]+", "_", defs).strip("_") or "default"
    out = ROOT / "build-blocking" / name
    flags = " ".join(f"-D{d}" for d in defs.split())
    subprocess.run(
        [
            "cmake",
            "-S",
            str(ROOT),
            "-B",
            str(out),
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DCMAKE_C_FLAGS={flags}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        ["cmake", "--build", str(out), "-j", "2", "--target", "sl_worker"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out / "sl_worker"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "variants", nargs="+", help='e.g. "SL_C4W_MC=384 SL_C4W_KC=128" ("" = defaults)'
    )
    ap.add_argument("--kernel", default="c5")
    ap.add_argument(
        "--op",
        choices=("knn", "join"),
        default="knn",
        help="join runs at tau = 1, so its epilogue is a bare scan: the tiles alone, nearly",
    )
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("-d", type=int, default=768)
    a = ap.parse_args()
    workers = [build(v) for v in a.variants]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "x.f32"
        np.random.default_rng(0).standard_normal((a.n, a.d), dtype=np.float32).tofile(data)
        procs = [
            subprocess.Popen([str(w)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for w in workers
        ]

        def ask(p, line: str) -> dict:
            p.stdin.write(line + "\n")
            p.stdin.flush()
            return json.loads(p.stdout.readline())

        for p in procs:
            ask(p, f"load x {data} {a.n} {a.d}")
        times: list[list[float]] = [[] for _ in procs]
        sums = set()
        for _ in range(a.rounds):
            for p, t in zip(procs, times):
                job = "knn x 10" if a.op == "knn" else "join x 1.0"
                r = ask(p, f"{job} {a.kernel} 0")
                t.append(r["seconds"])
                sums.add(r["checksum"])
        for p in procs:
            p.stdin.write("quit\n")
            p.stdin.close()
            p.wait()
    base = statistics.median(times[0])
    job = "knn k=10" if a.op == "knn" else "join tau=1"
    print(f"self {job}, {a.n} x {a.d}, kernel {a.kernel}, all threads, medians of {a.rounds}")
    for v, t in zip(a.variants, times):
        m = statistics.median(t)
        print(f"  {v or '(defaults)':40s} {m:.4f} s  x{m / base:.3f} of the first")
    print(f"checksums agree: {'yes' if len(sums) == 1 else 'NO'}")
    return 0 if len(sums) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
