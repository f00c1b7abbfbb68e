"""p3: Cython (ladder/p3_cython_impl.pyx, compiled by `make ladder-ext`)."""

from __future__ import annotations

import numpy as np

from .common import Rung, topk_from_rows

try:
    from . import p3_cython_impl as _impl

    _why = None
except ImportError as e:
    _impl = None
    _why = f"the Cython extension is not built (make ladder-ext): {e}"


def prepare(x):
    return np.ascontiguousarray(x, dtype=np.float32)


def matrix(x):
    return _impl.matrix(x)


def knn(x, k):
    return topk_from_rows(_impl.matrix(x), k)


RUNGS = [
    Rung(
        "p3",
        "Cython, typed memoryviews, norms once, i < j",
        prepare,
        matrix,
        knn,
        unavailable=_why,
    )
]
