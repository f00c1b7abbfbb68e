"""The CLI's file figures (issue: simladder on real files).

    .venv/bin/python perf/io_check.py            # both checks (about a minute)
    .venv/bin/python perf/io_check.py --quick    # n = 20,000 for the float16 check

1. What reading a 10,000 x 768 float32 .npy costs next to the knn itself:
   the time the CLI spends opening, mapping and parsing it (it reports it with
   --verbose; the pages themselves arrive on first touch, inside the job's
   prepare, which is why there is no copy to pay for), and, as an upper
   bound, the CLI's wall time minus the job time (process start, the read,
   the auto choice, writing the output, exit), medians of 5 runs, for c5 and
   for the automatic choice.
2. knn on a float16 .npy of 100,000 x 768: the peak RSS of the CLI against
   the input file (mapped), the packed float32 rows the library builds (and a
   reduced-precision rung's quantised panels), and what a float32 copy of the
   whole input would add (the check: no such copy), for c5 and auto.
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


def run(args: list[str]) -> tuple[float, float, float, str, float]:
    """wall seconds, the job's own seconds, the peak RSS (KiB), the kernel that
    ran and the seconds the CLI spent opening, mapping and parsing its input."""
    t0 = time.perf_counter()
    r = subprocess.run([str(CLI), *args, "--verbose"], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    m = re.search(r"kernel (\S+), .*threads?, ([0-9.]+) s .*peak memory ([0-9.]+) (\w+)", r.stderr)
    unit = {"B": 1 / 1024, "KiB": 1, "MiB": 1024, "GiB": 1024**2}[m.group(4)]
    read = float(re.search(r"stats: read ([0-9.]+) s", r.stderr).group(1))
    return wall, float(m.group(2)), float(m.group(3)) * unit, m.group(1).rstrip(","), read


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        x = np.random.default_rng(0).standard_normal((10000, 768), dtype=np.float32)
        f = Path(tmp) / "x.npy"
        np.save(f, x)
        out = Path(tmp) / "nn.npz"
        for kern in ("c5", "auto"):
            runs = [
                run(["knn", str(f), "-k", "10", "-o", str(out), "--kernel", kern]) for _ in range(5)
            ]
            wall = statistics.median(r[0] for r in runs)
            job = statistics.median(r[1] for r in runs)
            read = statistics.median(r[4] for r in runs)
            print(
                f"knn 10,000 x 768 float32 .npy, kernel {runs[0][3]}: reading (open, map, parse) "
                f"{1e6 * read:.0f} us = {100 * read / job:.3f}% of the knn's {job:.3f} s "
                f"(target: < 5%); CLI wall {wall:.3f} s, everything but the job (process "
                f"start, read, the auto choice, write, exit) {100 * (wall - job) / job:.1f}%"
            )
        n = 20000 if a.quick else 100000
        h = Path(tmp) / "h.npy"
        rng = np.random.default_rng(1)
        arr = np.lib.format.open_memmap(h, mode="w+", dtype=np.float16, shape=(n, 768))
        for i in range(0, n, 10000):
            arr[i : i + 10000] = rng.standard_normal((min(10000, n - i), 768)).astype(np.float16)
        arr.flush()
        del arr
        base = run(["knn", str(f), "-k", "1", "-o", str(out), "--threads", "1", "--kernel", "c5"])
        base = base[2] - (10000 * 768 * 4 * 2) / 1024  # that run's input and packed copy
        for kern in ("c5", "auto"):
            wall, job, rss, used, _ = run(
                ["knn", str(h), "-k", "10", "-o", str(out), "--kernel", kern]
            )
            inp = n * 768 * 2 / 2**20
            packed = ((n + 31) // 32 * 32) * 768 * 4 / 2**20
            copy = n * 768 * 4 / 2**20
            # A reduced-precision rung also holds its quantised panels (bf16: half of
            # float32, int8: a quarter), and candidate lists within 32 MiB.
            quant = 0.0
            if used.startswith(("c6", "c7")):
                quant = packed / 2 if used.startswith("c6") else packed / 4
            rest = rss / 1024 - inp - packed - quant
            print(
                f"knn {n:,} x 768 float16 .npy, kernel {used}: {job:.1f} s, peak RSS "
                f"{rss / 1024:.0f} MiB = input {inp:.0f} MiB (mapped) + packed float32 "
                f"{packed:.0f} MiB"
                + (f" + quantised panels {quant:.0f} MiB" if quant else "")
                + f" + {rest:.0f} MiB (the process itself: {base / 1024:.0f} MiB in a small "
                f"run); a float32 copy of the input would add {copy:.0f} MiB: "
                + ("no such copy" if rest < base / 1024 + copy / 2 else "A COPY WAS MADE")
            )


if __name__ == "__main__":
    main()
