"""Compare build-time blocking constants on this CPU, interleaved in one run.

    .venv/bin/python perf/blocking.py "SL_C4W_MC=192 SL_C4W_KC=256" "SL_C4W_MC=384 SL_C4W_KC=128"

Each argument is one variant: macro definitions passed as CFLAGS (-D...) to
a build of perf/sl_worker in build-blocking/<variant>, optionally starting
with git:REV to build an earlier commit's sources instead of the working
tree's (git:HEAD~1 against "" prices the last change), optionally ending in
@KERNEL to run that kernel instead of --kernel's; --isa caps the CPU
features the workers use (as SL_ISA does). The c7-avx2 kernels compared in
perf/README.md, on any AVX2 machine:

    .venv/bin/python perf/blocking.py @c5 @c7 SL_C7B_BITS=8@c7 SL_C7B_BITS=7@c7 --isa avx2

The variants then run
the same job (default: self knn, k = 10 or -k; --op join: self join at tau = 1;
--op knn,join: both, which prices the knn epilogue against a bare scan;
--op matrix: the full self matrix, its mirror and output stores; on
the seeded 10,000 x 768 default workload, all threads) round after round,
one after the other within each round, and the medians are printed with each
variant's ratio to the first.
The constants are those of src/kernels/kernels.h (SL_C4_*, SL_C4W_*) and
blocked.h (BLK_PREFETCH); perf/README.md says which won where.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def build(defs: str) -> Path:
    toks = defs.split()
    src = ROOT
    if toks and toks[0].startswith("git:"):  # an earlier commit's sources
        sha = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--verify", toks[0][4:] + "^{commit}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        toks[0] = "git_" + sha[:12]
        src = ROOT / "build-blocking" / ("src_" + sha[:12])
        if not src.is_dir():
            src.mkdir(parents=True)
            tar = subprocess.run(
                ["git", "-C", str(ROOT), "archive", sha], check=True, capture_output=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(src)], input=tar, check=True)
    name = re.sub(r"[^A-Za-z0-9_=]+", "_", " ".join(toks)).strip("_") or "default"
    out = ROOT / "build-blocking" / name
    flags = " ".join(f"-D{d}" for d in toks if not d.startswith("git_"))
    subprocess.run(
        [
            "cmake",
            "-S",
            str(src),
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
        default="knn",
        help="knn, join, matrix, or several as knn,join (each variant then runs each op in "
        "turn); join runs at tau = 1, so its epilogue is a bare scan: the tiles alone, nearly",
    )
    ap.add_argument("--isa", default="", help="cap the workers' CPU features (SL_ISA)")
    ap.add_argument("-k", type=int, default=10, help="knn's k")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("-d", type=int, default=768)
    a = ap.parse_args()
    ops = a.op.split(",")
    jobs = {"knn": f"knn x {a.k}", "join": "join x 1.0", "matrix": "matrix x"}
    if not ops or any(o not in jobs for o in ops):
        sys.exit(f"blocking.py: --op takes knn, join, matrix or a list of them, not {a.op!r}")
    specs = [
        (v.partition("@")[0], v.partition("@")[2] or a.kernel, v, o)
        for v in a.variants
        for o in ops
    ]
    built: dict[str, Path] = {}
    for defs, *_ in specs:
        if defs not in built:
            built[defs] = build(defs)
    env = dict(os.environ, SL_ISA=a.isa) if a.isa else None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "x.f32"
        np.random.default_rng(0).standard_normal((a.n, a.d), dtype=np.float32).tofile(data)
        procs = [
            subprocess.Popen(
                [str(built[defs])],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for defs, *_ in specs
        ]

        def ask(p, line: str) -> dict:
            p.stdin.write(line + "\n")
            p.stdin.flush()
            return json.loads(p.stdout.readline())

        for p in procs:
            ask(p, f"load x {data} {a.n} {a.d}")
        times: list[list[float]] = [[] for _ in procs]
        cands: list[list[int]] = [[] for _ in procs]
        hits: list[list[int]] = [[] for _ in procs]
        names = ["" for _ in procs]
        sums = set()
        for _ in range(a.rounds):
            for i, (p, (_, kern, _, op)) in enumerate(zip(procs, specs)):
                r = ask(p, f"{jobs[op]} {kern} 0")
                if "error" in r:
                    sys.exit(f"blocking.py: {r['error']}")
                times[i].append(r["seconds"])
                cands[i].append(r.get("candidates", 0))
                hits[i].append(r.get("filtered", 0))
                names[i] = r["kernel"]
                sums.add((op, r["checksum"]))
        for p in procs:
            p.stdin.write("quit\n")
            p.stdin.close()
            p.wait()
    base = statistics.median(times[0])
    label_of = {"knn": f"knn k={a.k}", "join": "join tau=1", "matrix": "matrix"}
    job = " / ".join(label_of[o] for o in ops)
    isa = f", features capped at {a.isa}" if a.isa else ""
    print(f"self {job}, {a.n} x {a.d}, all threads{isa}, medians of {a.rounds}")
    for (_, _, v, op), name, t, c, h in zip(specs, names, times, cands, hits):
        m = statistics.median(t)
        extra = f"  {statistics.median(c) / a.n:.1f} re-scored per row" if max(c) else ""
        extra += f", {statistics.median(h) / a.n:.0f} passed the filter" if max(h) else ""
        label = (v or "(defaults)") + (f" {op}" if len(ops) > 1 else "")
        print(f"  {label:32s} {name:12s} {m:.4f} s  x{m / base:.3f} of the first{extra}")
    agree = len(sums) == len(ops)
    print(f"checksums agree: {'yes' if agree else 'NO'}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
