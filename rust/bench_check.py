"""Parallel vs sequential timing of the Rust rung (a measurement, not a test).

    RAYON_NUM_THREADS=2 .venv/bin/python rust/bench_check.py [n] [d] [k]

Median of 3 runs of matrix/matrix_par and knn/knn_par on random float32 rows
(default 4000 x 768, k = 10); the target is parallel <= 0.55 x sequential on
2 threads. rayon reads RAYON_NUM_THREADS once, when its pool starts, so the
variable is set here before the extension is imported if it is missing.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from ladder import p5_rust as rs

TARGET = 0.55


def median_time(fn, *args, runs: int = 3) -> tuple[float, float]:
    """Median wall time and median process CPU time (all threads) of `runs` calls."""
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(*args)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    sizes = [4000, 768, 10]
    for i, arg in enumerate(sys.argv[1:4]):
        sizes[i] = int(arg)
    n, d, k = sizes
    X = rs.prepare(np.random.default_rng(0).standard_normal((n, d)))
    print(
        f"p5_rust: n={n} d={d} k={k} threads={rs.num_threads()} lanes={rs._rs.LANES}"
        f" cores={os.cpu_count()} loadavg={loadavg()}"
    )
    ok = True
    for name, seq, par, args in (
        ("matrix", rs.matrix, rs.matrix_par, (X,)),
        ("knn", rs.knn, rs.knn_par, (X, k)),
    ):
        par(*args)  # start the pool, touch the pages once
        (ts, cs), (tp, cp) = median_time(seq, *args), median_time(par, *args)
        ratio = tp / ts
        ok &= ratio <= TARGET
        pairs = n * (n + 1) / 2 if name == "matrix" else n * (n - 1)
        gflops = 2 * d * pairs / ts / 1e9
        print(
            f"{name:7s} seq {ts * 1e3:7.1f} ms ({gflops:5.2f} GFLOP/s, cpu {cs * 1e3:7.1f} ms)"
            f"  par {tp * 1e3:7.1f} ms (cpu {cp * 1e3:7.1f} ms)"
            f"  par/seq {ratio:.3f} {'ok' if ratio <= TARGET else 'MISSED'} (target {TARGET})"
        )
    print(f"loadavg after: {loadavg()} (other processes on these cores inflate the parallel time)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
