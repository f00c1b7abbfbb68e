"""p4: the same loops JIT-compiled by Numba, sequential and with prange."""

from __future__ import annotations

import os

import numpy as np

from .common import Rung, topk_from_rows

try:
    import numba
    from numba import njit, prange

    _why = None
except ImportError as e:  # numba is a benchmark extra
    numba = None
    _why = f"numba is not installed: {e}"

if numba is not None:

    @njit(cache=True, fastmath=False)
    def _inv_norms(x):
        n, d = x.shape
        inv = np.zeros(n)
        for i in range(n):
            s = 0.0
            for t in range(d):
                s += x[i, t] * x[i, t]
            if s > 0:
                inv[i] = 1.0 / np.sqrt(s)
        return inv

    @njit(cache=True)
    def _row(x, inv, out, i):
        n, d = x.shape
        for j in range(i, n):
            dot = np.float32(0.0)
            for t in range(d):
                dot += x[i, t] * x[j, t]
            v = np.float32(dot * inv[i] * inv[j])
            out[i, j] = v
            out[j, i] = v

    @njit(cache=True)
    def _matrix_seq(x):
        n = x.shape[0]
        inv = _inv_norms(x)
        out = np.empty((n, n), dtype=np.float32)
        for i in range(n):
            _row(x, inv, out, i)
        return out

    @njit(cache=True, parallel=True)
    def _matrix_par(x):
        n = x.shape[0]
        inv = _inv_norms(x)
        out = np.empty((n, n), dtype=np.float32)
        # Row i of the triangle costs n - i: pairing row p with row n-1-p
        # gives every iteration the same work, so the static split balances.
        half = (n + 1) // 2
        for p in prange(half):
            _row(x, inv, out, p)
            q = n - 1 - p
            if q != p:
                _row(x, inv, out, q)
        return out


def prepare(x):
    """Contiguous float32, and the JIT warmed up so compiling is never timed."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if numba is not None:
        _matrix_seq(x[:2])
        _matrix_par(x[:2])
    return x


def matrix(x):
    return _matrix_seq(x)


def matrix_par(x):
    return _matrix_par(x)


RUNGS = [
    Rung(
        "p4-numba",
        "Numba @njit, norms once, i < j",
        prepare,
        matrix,
        lambda x, k: topk_from_rows(_matrix_seq(x), k),
        unavailable=_why,
    ),
    Rung(
        "p4-numba-par",
        "Numba parallel prange, the triangle balanced",
        prepare,
        matrix_par,
        lambda x, k: topk_from_rows(_matrix_par(x), k),
        threads=os.cpu_count() or 1,
        unavailable=_why,
    ),
]
