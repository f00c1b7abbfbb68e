"""pytest-benchmark benchmarks: the trend across commits, not gates.

    make perf-record    # runs these and saves the JSON under perf/history/

Each run is saved with the machine and commit (pytest-benchmark's
--benchmark-json), so perf/history/ shows how each contender moved. Compare
runs only on the same CPU kind (the JSON records it); ratios between
contenders within one file are the meaningful figures.
"""

from __future__ import annotations

import numpy as np
import pytest
import simladder

pytest.importorskip("pytest_benchmark")

N, D, K = 4000, 768, 10


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).standard_normal((N, D), dtype=np.float32)


def numpy_knn(x, k):
    nrm = np.linalg.norm(x, axis=1)
    xn = x / np.where(nrm > 0, nrm, 1)[:, None]
    s = xn @ xn.T
    np.fill_diagonal(s, -np.inf)
    return np.argpartition(-s, k, axis=1)[:, :k]


@pytest.mark.parametrize("kernel", ["c5", "c4", "c3"])
def test_knn_simladder(benchmark, x, kernel):
    if not any(k.startswith(kernel) for k in simladder.kernels()):
        pytest.skip(f"no {kernel} kernel here")
    benchmark.extra_info["gflop"] = N * N * D / 1e9
    benchmark.pedantic(simladder.knn, args=(x, K), kwargs={"kernel": kernel}, rounds=3)


def test_knn_numpy(benchmark, x):
    benchmark.extra_info["gflop"] = N * N * D / 1e9
    benchmark.pedantic(numpy_knn, args=(x, K), rounds=3)


def test_matrix_simladder(benchmark, x):
    benchmark.pedantic(simladder.matrix, args=(x,), rounds=3)


def test_matrix_numpy(benchmark, x):
    def run():
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        return xn @ xn.T

    benchmark.pedantic(run, rounds=3)


def test_peak_fma(benchmark):
    """The machine's FMA peak in the same run, so the others can be read as a
    share of it."""
    g = benchmark.pedantic(simladder.peak_gflops, args=(0, 0.2), rounds=3)
    benchmark.extra_info["gflops_all_threads"] = g
