"""Every rung of the Python ladder (and every peer) against a float64 NumPy
reference on small inputs, with the edges: n = 1, zero rows, duplicates and
ties, k >= n."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ladder

RUNGS = ladder.all_rungs()
EXACT = [r for r in RUNGS if not r.approximate]
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def reference(x):
    x = np.asarray(x, dtype=np.float64)
    nrm = np.linalg.norm(x, axis=1)
    inv = np.divide(1.0, nrm, out=np.zeros_like(nrm), where=nrm > 0)
    xn = x * inv[:, None]
    return xn @ xn.T


def ref_knn(s, k):
    n = s.shape[0]
    idx = np.full((n, k), -1, dtype=np.int64)
    for i in range(n):
        cols = np.array([j for j in range(n) if j != i], dtype=np.int64)
        order = cols[np.lexsort((cols, -s[i, cols]))][:k] if len(cols) else cols
        idx[i, : len(order)] = order
    return idx


def skip_if_unavailable(r):
    if r.unavailable:
        pytest.skip(f"{r.name}: {r.unavailable}")


def inputs():
    rng = np.random.default_rng(5)
    out = []
    for n, d in [(1, 1), (2, 3), (17, 17), (60, 100)]:
        out.append((f"{n}x{d}", rng.standard_normal((n, d)).astype(np.float32)))
    x = rng.standard_normal((30, 7)).astype(np.float32)
    x[4] = 0
    x[10] = x[3]
    x[20] = x[3]
    out.append(("zero+dups", x))
    return out


@pytest.mark.parametrize("rung", EXACT, ids=[r.name for r in EXACT])
@pytest.mark.parametrize(("label", "x"), inputs(), ids=[a for a, _ in inputs()])
def test_exact_rungs(rung, label, x):
    skip_if_unavailable(rung)
    s = reference(x)
    p = rung.prepare(x)
    n = x.shape[0]
    if rung.matrix:
        m = np.asarray(rung.matrix(p), dtype=np.float64)
        assert m.shape == (n, n)
        off = ~np.eye(n, dtype=bool)
        np.testing.assert_allclose(m[off], s[off], atol=1e-5, rtol=0)
        zero = ~np.any(x, axis=1)
        assert np.all(m[zero][:, ~zero] == 0)
    if rung.knn:
        for k in (1, 5, n + 2):
            sims, idx = rung.knn(p, k)
            assert sims.shape == idx.shape == (n, k)
            ri = ref_knn(s, k)
            pad = ri < 0
            assert np.array_equal(idx < 0, pad), label
            assert np.all(np.isneginf(sims[pad]))
            got = np.where(pad, 0.0, s[np.arange(n)[:, None], np.where(pad, 0, idx)])
            want = np.where(pad, 0.0, s[np.arange(n)[:, None], np.where(pad, 0, ri)])
            np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
            np.testing.assert_allclose(sims[~pad], want[~pad], atol=1e-5, rtol=0)


def test_ties_break_by_lower_index():
    x = np.tile(np.random.default_rng(1).standard_normal((2, 9)).astype(np.float32), (6, 1))
    for rung in EXACT:
        if rung.unavailable or not rung.knn:
            continue
        _, idx = rung.knn(rung.prepare(x), 3)
        assert idx[0].tolist() == [2, 4, 6], rung.name
        assert idx[1].tolist() == [3, 5, 7], rung.name


def test_hnswlib_recall():
    r = next(r for r in RUNGS if r.name == "hnswlib")
    skip_if_unavailable(r)
    x = np.random.default_rng(2).standard_normal((500, 32)).astype(np.float32)
    _, idx = r.knn(r.prepare(x), 10)
    ri = ref_knn(reference(x), 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, ri)])
    assert recall >= 0.9


@pytest.mark.skipif(not (SHARED / "so_mpnet_768_100.npy").exists(), reason="no shared/data")
@pytest.mark.parametrize("name", ["p2", "p3", "p4-numba-par"])
def test_real_data(name):
    r = next(r for r in RUNGS if r.name == name)
    skip_if_unavailable(r)
    x = np.load(SHARED / "so_mpnet_768_100.npy")
    gt = np.load(SHARED / "so_mpnet_768_100.gt_cos_top10_idx.npy")
    gs = np.load(SHARED / "so_mpnet_768_100.gt_cos_top10_sim.npy")
    sims, idx = r.knn(r.prepare(x), 10)
    np.testing.assert_allclose(sims, gs, atol=1e-5, rtol=0)
    assert np.all((idx == gt) | (np.abs(sims - gs) <= 1e-6))
