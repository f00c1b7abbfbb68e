"""The simladder module against a float64 NumPy reference: every dtype,
layout and kernel, the edges, the errors, and threads."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import simladder

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
KERNELS = simladder.kernels()


def reference(x, y=None):
    """cos in float64; zero rows give 0."""
    x = np.asarray(x, dtype=np.float64)
    y = x if y is None else np.asarray(y, dtype=np.float64)
    nx = np.linalg.norm(x, axis=1)
    ny = np.linalg.norm(y, axis=1)
    s = x @ y.T
    with np.errstate(divide="ignore", invalid="ignore"):
        s = s / np.outer(nx, ny)
    s[nx == 0, :] = 0
    s[:, ny == 0] = 0
    return s


def ref_knn(s, k, self_job):
    """Top-k of each row of s, ties by lower index, padded with -1/-inf."""
    n, m = s.shape
    idx = np.full((n, k), -1, dtype=np.int64)
    sims = np.full((n, k), -np.inf)
    for i in range(n):
        cols = np.arange(m)
        if self_job:
            cols = cols[cols != i]
        order = cols[np.lexsort((cols, -s[i, cols]))][:k]
        idx[i, : len(order)] = order
        sims[i, : len(order)] = s[i, order]
    return sims, idx


def check_knn(sims, idx, s, k, self_job, tol):
    rs, ri = ref_knn(s, k, self_job)
    assert sims.shape == idx.shape == rs.shape
    assert sims.dtype == np.float32 and idx.dtype == np.int64
    pad = ri < 0
    assert np.array_equal(idx < 0, pad)
    assert np.all(np.isneginf(sims[pad]))
    # Similarities agree within the bound; indices agree except where the
    # reference itself has a near-tie at that rank.
    np.testing.assert_allclose(sims[~pad], rs[~pad], atol=tol, rtol=0)
    got = np.where(pad, 0, s[np.arange(s.shape[0])[:, None], np.where(pad, 0, idx)])
    np.testing.assert_allclose(got[~pad], rs[~pad], atol=2 * tol, rtol=0)


def rng_rows(n, d, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(dtype)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(("n", "d"), [(1, 1), (2, 3), (17, 17), (100, 768), (257, 100)])
def test_matrix_knn_join_every_kernel(kernel, n, d):
    x = rng_rows(n, d, seed=n * 1000 + d)
    x[1::5] = x[0::5][: len(x[1::5])] + 0.01 * rng_rows(len(x[1::5]), d, seed=1)
    s = reference(x)
    tol = simladder.error_bound(d)
    m = simladder.matrix(x, kernel=kernel)
    assert m.dtype == np.float32 and m.shape == (n, n)
    assert np.array_equal(m, m.T)
    np.testing.assert_allclose(m, s, atol=tol, rtol=0)
    for k in (1, 10, n + 3):
        sims, idx = simladder.knn(x, k, kernel=kernel)
        check_knn(sims, idx, s, k, True, tol)
    i, j, sim = simladder.join(x, 0.9, kernel=kernel)
    assert np.all(i < j)
    keys = i * n + j
    assert np.all(np.diff(keys) > 0)
    np.testing.assert_allclose(sim, s[i, j], atol=tol, rtol=0)
    iu, ju = np.triu_indices(n, 1)
    certain = set(zip(iu[s[iu, ju] >= 0.9 + tol].tolist(), ju[s[iu, ju] >= 0.9 + tol].tolist()))
    assert certain <= set(zip(i.tolist(), j.tolist()))


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k.startswith(("c4", "c5", "ref"))])
def test_cross_jobs(kernel):
    x, q = rng_rows(300, 45, 1), rng_rows(70, 45, 2)
    s = reference(q, x)
    tol = simladder.error_bound(45)
    np.testing.assert_allclose(simladder.matrix(q, x, kernel=kernel), s, atol=tol, rtol=0)
    sims, idx = simladder.knn(x, 7, queries=q, kernel=kernel)
    check_knn(sims, idx, s, 7, False, tol)
    i, j, sim = simladder.join(q, 0.2, x, kernel=kernel)
    np.testing.assert_allclose(sim, s[i, j], atol=tol, rtol=0)
    assert int((s >= 0.2 + tol).sum()) <= len(i) <= int((s >= 0.2 - tol).sum())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int64])
@pytest.mark.parametrize("layout", ["C", "F", "slice", "reversed", "bigendian"])
def test_dtypes_and_layouts(dtype, layout):
    base = rng_rows(80, 50, 3, np.float64) * 20
    base = base.astype(dtype)
    if layout == "F":
        x = np.asfortranarray(base)
    elif layout == "slice":
        x = np.ascontiguousarray(np.repeat(base, 2, axis=1))[:, ::2]
    elif layout == "reversed":
        x = base[::-1, ::-1]
    elif layout == "bigendian":
        x = base.astype(base.dtype.newbyteorder(">"))
    else:
        x = base
    s = reference(np.asarray(x, dtype=np.float64))
    tol = simladder.error_bound(50)
    np.testing.assert_allclose(simladder.matrix(x), s, atol=tol, rtol=0)
    sims, idx = simladder.knn(x, 5)
    check_knn(sims, idx, s, 5, True, tol)


def test_zero_rows_duplicates_and_ties():
    pat = rng_rows(3, 33, 4)
    x = np.tile(pat, (20, 1))
    x[5] = 0
    s = reference(x)
    m = simladder.matrix(x)
    assert np.all(m[5] == 0) and np.all(m[:, 5] == 0)
    sims, idx = simladder.knn(x, 4)
    # Row 0's equals are rows 3, 6, 9, ...: the lowest indices win.
    assert idx[0].tolist() == [3, 6, 9, 12]
    assert idx[1].tolist() == [4, 7, 10, 13]
    check_knn(sims, idx, s, 4, True, simladder.error_bound(33))


def test_errors():
    x = rng_rows(10, 4)
    with pytest.raises(ValueError, match="2-D"):
        simladder.knn(np.zeros(5, dtype=np.float32), 1)
    with pytest.raises(ValueError, match="k must be"):
        simladder.knn(x, 0)
    with pytest.raises(ValueError, match="tau"):
        simladder.join(x, 1.5)
    with pytest.raises(ValueError, match="d = "):
        simladder.knn(x, 1, queries=rng_rows(3, 5))
    with pytest.raises(TypeError, match="dtype"):
        simladder.matrix(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="kernel"):
        simladder.matrix(x, kernel="c99")
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"row 3.*col(umn)? 2|NaN"):
        simladder.knn(bad, 2)
    bad[3, 2] = np.inf
    with pytest.raises(ValueError):
        simladder.join(bad, 0.5)
    with pytest.raises(ValueError):
        simladder.matrix(np.zeros((0, 4), dtype=np.float32))
    with pytest.raises(MemoryError):
        simladder.knn(rng_rows(2000, 64), 10, memory_limit=1000)
    with pytest.raises(MemoryError):
        simladder.matrix(rng_rows(2000, 64), memory_limit=1 << 20)


def test_stats_and_info():
    st = {}
    simladder.knn(rng_rows(50, 8), 3, kernel="c1", stats=st)
    assert st["kernel"] == "c1"
    assert st["candidates"] == 0 and st["filtered"] == 0  # fp32: nothing filtered
    info = simladder.info()
    assert info["auto"] in simladder.kernels()
    assert simladder.plan("knn", rng_rows(50, 8), k=3) > 0


def test_two_threads_at_once():
    """Two Python threads calling knn concurrently both get correct answers."""
    xs = [rng_rows(600, 96, 10 + t) for t in range(2)]
    refs = [simladder.knn(x, 10, threads=1) for x in xs]
    out = [None, None]

    def work(t):
        for _ in range(3):
            out[t] = simladder.knn(xs[t], 10, threads=1)

    th = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    for t in range(2):
        assert np.array_equal(out[t][1], refs[t][1])
        assert np.array_equal(out[t][0], refs[t][0])


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared/data beside the project")
def test_shared_data_ground_truth():
    sets = sorted(p for p in SHARED.glob("*.npy") if ".gt_" not in p.name)
    checked = 0
    for p in sets:
        gt = p.with_name(p.stem + ".gt_cos_top10_idx.npy")
        gs = p.with_name(p.stem + ".gt_cos_top10_sim.npy")
        if not gt.exists():
            continue
        x = np.load(p, mmap_mode="r")
        sims, idx = simladder.knn(x, 10)
        ref_s = np.load(gs)
        tol = simladder.error_bound(x.shape[1])
        np.testing.assert_allclose(sims, ref_s, atol=tol, rtol=0)
        same = idx == np.load(gt)
        # Where the index differs, the similarities must tie within the bound.
        assert np.all(same | (np.abs(sims - ref_s) <= 2 * tol))
        checked += 1
    assert checked > 0
