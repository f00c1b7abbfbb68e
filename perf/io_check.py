"""The CLI's file figures (issue: simladder on real files).

    .venv/bin/python perf/io_check.py            # both checks (about a minute)
    .venv/bin/python perf/io_check.py --quick    # n = 20,000 for the float16 check

1. What reading a 10,000 x 768 float32 .npy costs next to the knn itself: the
   CLI's wall time minus the job time it reports (so the difference holds
   process start, mapping and parsing the input, and writing the output: an
   upper bound on the read), medians of 5 runs.
2. knn on a float16 .npy of 100,000 x 768: the peak RSS of the CLI against
   the input file (mapped), the packed float32 panels the library builds, and
   what a float32 copy of the whole input would add (the check: no such copy).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "build" / "simladder"


def run(args: list[str]) -> tuple[float, float, int]:
    """wall seconds, the job's own seconds, and the peak RSS (KiB) the CLI reports."""
    t0 = time.perf_counter()
    r = subprocess.run([str(CLI), *args], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    m = re.search(r"threads?, ([0-9.]+) s .*peak memory ([0-9.]+) (\w+)", r.stderr)
    unit = {"B": 1 / 1024, "KiB": 1, "MiB": 1024, "GiB": 1024**2}[m.group(3)]
    return wall, float(m.group(1)), float(m.group(2)) * unit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        x = np.random.default_rng(0).standard_normal((10000, 768), dtype=np.float32)
        f = Path(tmp) / "x.npy"
        np.save(f, x)
        out = Path(tmp) / "nn.npz"
        runs = [run(["knn", str(f), "-k", "10", "-o", str(out)]) for _ in range(5)]
        wall = statistics.median(r[0] for r in runs)
        job = statistics.median(r[1] for r in runs)
        print(
            f"knn 10,000 x 768 float32 .npy: CLI wall {wall:.3f} s, job {job:.3f} s; "
            f"everything else (start, read, write) {wall - job:.3f} s = "
            f"{100 * (wall - job) / job:.1f}% of the knn (target: reading < 5%)"
        )
        n = 20000 if a.quick else 100000
        h = Path(tmp) / "h.npy"
        rng = np.random.default_rng(1)
        arr = np.lib.format.open_memmap(h, mode="w+", dtype=np.float16, shape=(n, 768))
        for i in range(0, n, 10000):
            arr[i : i + 10000] = rng.standard_normal((min(10000, n - i), 768)).astype(np.float16)
        arr.flush()
        del arr
        base = run(["knn", str(f), "-k", "1", "-o", str(out), "--threads", "1"])[2]
        base -= (10000 * 768 * 4 * 2) / 1024  # that run's input and packed copy
        wall, job, rss = run(["knn", str(h), "-k", "10", "-o", str(out)])
        inp = n * 768 * 2 / 2**20
        packed = ((n + 15) // 16 * 16) * 768 * 4 / 2**20
        copy = n * 768 * 4 / 2**20
        print(
            f"knn {n:,} x 768 float16 .npy: {job:.1f} s, peak RSS {rss / 1024:.0f} MiB = input "
            f"{inp:.0f} MiB (mapped) + packed float32 panels {packed:.0f} MiB + "
            f"{rss / 1024 - inp - packed:.0f} MiB (the process itself: {base / 1024:.0f} MiB "
            f"in a small run); a float32 copy of the input would add {copy:.0f} MiB: "
            + (
                "no such copy"
                if rss / 1024 < inp + packed + base / 1024 + copy / 2
                else "A COPY WAS MADE"
            )
        )


if __name__ == "__main__":
    main()
