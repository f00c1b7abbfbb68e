# cython: boundscheck=False, wraparound=False, cdivision=True, language_level=3
"""p3: the inner loops in Cython, on typed memoryviews of float32, with the
algorithmic step (norms once, i < j)."""

import numpy as np

from libc.math cimport sqrt


def matrix(const float[:, ::1] x):
    cdef Py_ssize_t n = x.shape[0], d = x.shape[1], i, j, t
    cdef double s, dot
    out_arr = np.empty((n, n), dtype=np.float32)
    cdef float[:, ::1] out = out_arr
    inv_arr = np.empty(n, dtype=np.float64)
    cdef double[::1] inv = inv_arr
    with nogil:
        for i in range(n):
            s = 0
            for t in range(d):
                s += x[i, t] * x[i, t]
            inv[i] = 1.0 / sqrt(s) if s > 0 else 0.0
        for i in range(n):
            for j in range(i, n):
                dot = 0
                for t in range(d):
                    dot += x[i, t] * x[j, t]
                out[i, j] = <float>(dot * inv[i] * inv[j])
                out[j, i] = out[i, j]
    return out_arr
