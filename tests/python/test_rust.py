"""The Rust rung (ladder/p5_rust.py over ladder/simladder_rs.so) against a float64 oracle.

Run: make venv rust && .venv/bin/python -m pytest tests/python/test_rust.py
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

try:
    from ladder import p5_rust as rs
except ImportError as exc:  # no .so: the rung is unavailable, not broken
    pytest.skip(f"Rust rung unavailable ({exc})", allow_module_level=True)

DATA = Path(os.environ.get("SIMLADDER_DATA", ROOT.parent / "shared" / "data"))
TOL = 1e-5
DIMS = (1, 3, 7, 17, 768)
SIZES = (1, 2, 17, 129, 300)  # 129: a last 64-row block of one row
MATRIX_FNS = {"seq": rs.matrix, "par": rs.matrix_par}
KNN_FNS = {"seq": rs.knn, "par": rs.knn_par}


# ---------------------------------------------------------------- the oracle


def ref_matrix(X: np.ndarray) -> np.ndarray:
    """float64 cosine matrix; a zero row is 0-similar to everything, itself included."""
    X = np.asarray(X, dtype=np.float64)
    norms = np.linalg.norm(X, axis=1)
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    U = X * inv[:, None]
    return U @ U.T


def ref_knn(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """float64 top-k of other rows, best first, ties by lower index, padded -inf / -1."""
    S = ref_matrix(X)
    n = S.shape[0]
    sims = np.full((n, k), -np.inf)
    idx = np.full((n, k), -1, dtype=np.int64)
    for i in range(n):
        others = np.array([j for j in range(n) if j != i], dtype=np.int64)
        order = others[np.lexsort((others, -S[i, others]))][:k]
        sims[i, : len(order)] = S[i, order]
        idx[i, : len(order)] = order
    return sims, idx


def random_rows(n: int, d: int, seed: int, zero_rows=(), dup_of=None) -> np.ndarray:
    X = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    for z in zero_rows:
        if z < n:
            X[z] = 0
    if dup_of:
        for dst, src in dup_of.items():
            if dst < n and src < n:
                X[dst] = X[src]
    return X


def check_knn(X: np.ndarray, k: int, sims: np.ndarray, idx: np.ndarray) -> None:
    """Valid neighbours with the right similarities; indices equal the oracle's
    except inside groups whose oracle similarities are within float32 rounding."""
    n = X.shape[0]
    assert sims.shape == (n, k) and sims.dtype == np.float32
    assert idx.shape == (n, k) and idx.dtype == np.int64
    S = ref_matrix(X)
    m = min(k, n - 1)
    # The oracle's full order, so that a tie with the first unlisted row shows too.
    rfull_s, rfull_i = ref_knn(X, max(n - 1, 1))
    rsims, ridx = rfull_s[:, :m], rfull_i[:, :m]
    # Padding.
    assert np.all(idx[:, m:] == -1) and np.all(np.isneginf(sims[:, m:]))
    got_s, got_i = sims[:, :m].astype(np.float64), idx[:, :m]
    if m == 0:
        return
    # Similarities: sorted best first and close to the oracle's, rank by rank.
    assert np.all(np.diff(got_s, axis=1) <= 0)
    np.testing.assert_allclose(got_s, rsims[:, :m], rtol=0, atol=TOL)
    # Indices: never self, distinct, and each one's true similarity matches.
    rows = np.arange(n)[:, None]
    assert np.all(got_i != rows) and np.all((got_i >= 0) & (got_i < n))
    assert all(len(set(r)) == m for r in got_i.tolist())
    np.testing.assert_allclose(S[rows, got_i], got_s, rtol=0, atol=TOL)
    # Equal reported similarities come in index order.
    ties = np.diff(got_s, axis=1) == 0
    assert np.all(np.diff(got_i, axis=1)[ties] > 0)
    # Where the oracle has no near-tie at rank r, the index is the oracle's.
    ends = min(m + 1, n - 1)
    gap = np.abs(np.diff(rfull_s[:, :ends], axis=1)) <= 1e-6  # rank r ties rank r + 1
    near = np.zeros(got_i.shape, dtype=bool)
    near[:, : gap.shape[1]] |= gap[:, :m]
    near[:, 1:] |= gap[:, : m - 1]
    assert np.array_equal(got_i[~near], ridx[:, :m][~near])


# ---------------------------------------------------------------- matrix


@pytest.mark.parametrize("mode", MATRIX_FNS)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("n", SIZES)
def test_matrix_grid(n, d, mode):
    X = random_rows(n, d, seed=n * 1000 + d, zero_rows=(3,), dup_of={5: 1, 9: 1})
    got = MATRIX_FNS[mode](rs.prepare(X))
    assert got.shape == (n, n) and got.dtype == np.float32
    assert np.array_equal(got, got.T), "not exactly symmetric"
    np.testing.assert_allclose(got, ref_matrix(X), rtol=0, atol=TOL)
    if n > 3:
        assert np.all(got[3] == 0) and np.all(got[:, 3] == 0), "zero row must be 0, itself too"
    if n > 9:
        assert got[1, 5] == got[1, 9] == got[5, 9]
        assert np.array_equal(got[5], got[1]) and np.array_equal(got[9], got[1])


def test_matrix_unit_vectors_768_error():
    X = random_rows(300, 768, seed=7)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    X = X.astype(np.float32)
    err = np.abs(rs.matrix_par(X).astype(np.float64) - ref_matrix(X)).max()
    assert err <= TOL, err


def test_matrix_par_equals_seq_bitwise():
    X = random_rows(300, 99, seed=3, zero_rows=(0, 299))
    assert np.array_equal(rs.matrix(X), rs.matrix_par(X))


def test_matrix_writable_no_copy_result():
    S = rs.matrix(random_rows(4, 8, seed=1))
    assert S.flags.writeable and S.flags.c_contiguous
    S[0, 0] = 5.0  # the caller owns the result


# ---------------------------------------------------------------- knn


@pytest.mark.parametrize("mode", KNN_FNS)
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("n", SIZES)
def test_knn_grid(n, d, mode):
    X = random_rows(n, d, seed=n * 1000 + d + 1, zero_rows=(3,), dup_of={5: 1, 9: 1})
    for k in sorted({1, 5, n - 1, n, n + 3} - {0}):
        sims, idx = KNN_FNS[mode](rs.prepare(X), k)
        check_knn(X, k, sims, idx)


@pytest.mark.parametrize("mode", KNN_FNS)
def test_knn_exact_duplicates_lower_index_first(mode):
    rng = np.random.default_rng(11)
    a, b, c = rng.standard_normal((3, 40)).astype(np.float32)
    X = np.stack([b, a, c, a, b, a, c]).astype(np.float32)
    sims, idx = KNN_FNS[mode](X, 6)
    # Row 1 (a): its duplicates 3 and 5 first, in index order, at similarity 1.
    assert idx[1, :2].tolist() == [3, 5] and np.all(sims[1, :2] == sims[1, 0])
    assert idx[3, :2].tolist() == [1, 5]
    assert idx[5, :2].tolist() == [1, 3]
    assert idx[0, 0] == 4 and idx[4, 0] == 0
    assert idx[2, 0] == 6 and idx[6, 0] == 2
    # The rest: b's two copies (0, 4) and c's (2, 6) tie, so come in index order.
    rest = idx[1, 2:].tolist()
    assert rest.index(0) < rest.index(4) and rest.index(2) < rest.index(6)
    check_knn(X, 6, sims, idx)


@pytest.mark.parametrize("mode", KNN_FNS)
def test_knn_zero_rows(mode):
    X = random_rows(12, 16, seed=5, zero_rows=(2, 7))
    sims, idx = KNN_FNS[mode](X, 11)
    # A zero row is 0-similar to all others: its list is every other row in index order.
    assert idx[2].tolist() == [j for j in range(12) if j != 2] and np.all(sims[2] == 0)
    assert idx[7].tolist() == [j for j in range(12) if j != 7]
    check_knn(X, 11, sims, idx)


@pytest.mark.parametrize("mode", KNN_FNS)
def test_knn_padding_k_ge_n(mode):
    X = random_rows(4, 5, seed=2)
    sims, idx = KNN_FNS[mode](X, 10)
    assert np.all(idx[:, 3:] == -1) and np.all(np.isneginf(sims[:, 3:]))
    assert np.all(idx[:, :3] >= 0)
    sims1, idx1 = KNN_FNS[mode](X[:1], 2)
    assert idx1.tolist() == [[-1, -1]] and np.all(np.isneginf(sims1))


def test_knn_par_equals_seq_bitwise():
    X = random_rows(300, 50, seed=9, zero_rows=(4,), dup_of={8: 2})
    s1, i1 = rs.knn(X, 7)
    s2, i2 = rs.knn_par(X, 7)
    assert np.array_equal(s1, s2) and np.array_equal(i1, i2)


def test_empty_and_zero_width():
    for fn in MATRIX_FNS.values():
        assert fn(np.zeros((0, 4), np.float32)).shape == (0, 0)
        assert np.array_equal(fn(np.ones((3, 0), np.float32)), np.zeros((3, 3), np.float32))
    for fn in KNN_FNS.values():
        sims, idx = fn(np.zeros((0, 4), np.float32), 3)
        assert sims.shape == (0, 3) and idx.shape == (0, 3)
        sims, idx = fn(np.ones((3, 0), np.float32), 2)
        assert idx.tolist() == [[1, 2], [0, 2], [0, 1]] and np.all(sims == 0)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("fn", [rs.matrix, rs.matrix_par, lambda x: rs.knn(x, 2)])
def test_errors(fn):
    good = random_rows(6, 8, seed=4)
    with pytest.raises(ValueError, match="2-D"):
        fn(good[0])
    with pytest.raises(ValueError, match="2-D"):
        fn(good.reshape(2, 3, 8))
    with pytest.raises(TypeError, match="float32"):
        fn(good.astype(np.float64))
    with pytest.raises(TypeError, match="float32"):
        fn(good.astype(np.float16))
    with pytest.raises(TypeError):
        fn([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="C-contiguous"):
        fn(good[:, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        fn(np.asfortranarray(good))
    bad = good.copy()
    bad[2, 5] = np.nan
    with pytest.raises(ValueError, match="row 2, column 5"):
        fn(bad)
    bad[2, 5] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        fn(bad)


@pytest.mark.parametrize("fn", [rs.knn, rs.knn_par])
def test_knn_bad_k(fn):
    X = random_rows(5, 3, seed=0)
    for k in (0, -1):
        with pytest.raises(ValueError, match="k must be >= 1"):
            fn(X, k)
    with pytest.raises(TypeError):
        fn(X, 2.5)


def test_prepare_makes_contiguous_float32():
    X = np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4))
    P = rs.prepare(X)
    assert P.dtype == np.float32 and P.flags.c_contiguous
    P32 = np.zeros((2, 2), np.float32)
    assert rs.prepare(P32) is P32


def test_readonly_input_is_accepted():
    X = random_rows(10, 9, seed=6)
    X.flags.writeable = False
    np.testing.assert_allclose(rs.matrix(X), ref_matrix(X), rtol=0, atol=TOL)


def test_gil_released_during_compute():
    """While one thread is inside rs.matrix, another keeps running Python code:
    its longest stall must be far shorter than the call."""
    X = random_rows(1500, 768, seed=8)
    took = []

    def work():
        t0 = time.perf_counter()
        rs.matrix(X)
        took.append(time.perf_counter() - t0)

    worker = threading.Thread(target=work)
    worker.start()
    last, gap = time.perf_counter(), 0.0
    while worker.is_alive():
        now = time.perf_counter()
        gap, last = max(gap, now - last), now
    worker.join()
    assert took and gap < 0.5 * took[0], (gap, took[0])


# ---------------------------------------------------------------- real data

SO = DATA / "so_mpnet_768_100.npy"


@pytest.mark.skipif(not SO.exists(), reason=f"real data set not present ({SO})")
@pytest.mark.parametrize("mode", KNN_FNS)
def test_real_so_mpnet_knn_vs_ground_truth(mode):
    X = np.load(SO)
    gt_idx = np.load(DATA / "so_mpnet_768_100.gt_cos_top10_idx.npy")
    gt_sim = np.load(DATA / "so_mpnet_768_100.gt_cos_top10_sim.npy")
    assert gt_idx.dtype == np.int32 and gt_idx.shape == (X.shape[0], 10)
    sims, idx = KNN_FNS[mode](rs.prepare(X), 10)
    np.testing.assert_allclose(sims, gt_sim, rtol=0, atol=TOL)
    # Indices must match, except where the ground truth itself ties within 1e-6.
    tie = np.zeros(gt_idx.shape, dtype=bool)
    close = np.abs(np.diff(gt_sim, axis=1)) <= 1e-6
    tie[:, :-1] |= close
    tie[:, 1:] |= close
    assert np.array_equal(idx[~tie], gt_idx.astype(np.int64)[~tie])
    # The rank-10 neighbour may also tie with an 11th the file does not list.
    check_knn(X, 10, sims, idx)
