"""simladder: exact cosine similarity, kNN and threshold joins over dense vectors.

Every function takes 2-D arrays of float16, float32 or float64 in any memory
layout (C or Fortran order, slices with any step, either byte order): the C
library reads them in place while it packs its own normalised float32 panels,
so no copy is made here. Other numeric dtypes (integers, bool) are converted
to float32 first, which is a copy. The GIL is released while the library
computes, so Python threads calling simladder run in parallel.

Results are exact to float32 accuracy: every similarity is within
``error_bound(d)`` of the float64 value, and ties are broken by the lower index.

Errors raise ValueError (bad shapes, NaN/Inf, unknown kernel), TypeError
(unsupported dtypes) or MemoryError (the job needs more than ``memory_limit``
bytes, by default what the machine has available).
"""

from __future__ import annotations

import os

import numpy as np

from . import _core

__all__ = [
    "error_bound",
    "info",
    "join",
    "kernels",
    "knn",
    "matrix",
    "peak_gflops",
    "plan",
]
__version__ = _core.info()["version"]

_NATIVE = (np.float16, np.float32, np.float64)


def _available_memory() -> int:
    """Bytes the machine can give a job now (MemAvailable), 0 when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def _limit(memory_limit: int | None) -> int:
    if memory_limit is None:
        return _available_memory()
    if memory_limit < 0:
        raise ValueError(f"memory_limit must be >= 0 bytes (0: no limit), got {memory_limit}")
    return int(memory_limit)


def _operand(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n vectors x d), got shape {a.shape}")
    if a.dtype.type in _NATIVE:
        return a
    if a.dtype.kind in "biu":
        return a.astype(np.float32)
    raise TypeError(f"{name}: unsupported dtype {a.dtype} (float16, float32 or float64)")


def _check_out(nbytes: int, limit: int, what: str) -> None:
    if limit and nbytes > limit:
        raise MemoryError(
            f"{what} needs {nbytes / 2**20:.1f} MiB, more than the memory limit "
            f"({limit / 2**20:.1f} MiB)"
        )


def matrix(X, Y=None, *, kernel=None, threads=0, memory_limit=None, stats=None):
    """The cosine similarity matrix.

    ``matrix(X)`` is the self job: an n x n float32 array, exactly symmetric,
    each pair computed once. ``matrix(X, Y)`` is n x m, entry (i, j) the
    similarity of ``X[i]`` and ``Y[j]``. A zero vector has similarity 0 to
    everything. ``kernel`` names a rung ("c5", "c3-avx2", ...; None: the
    fastest this CPU runs), ``threads`` the threads (0: all cores),
    ``memory_limit`` the bytes the job may use (None: what is available, 0: no
    limit). Pass a dict as ``stats`` to receive the kernel used and timings.
    """
    x = _operand(X, "X")
    y = None if Y is None else _operand(Y, "Y")
    if y is not None and y.shape[1] != x.shape[1]:
        raise ValueError(f"X has d = {x.shape[1]} but Y has d = {y.shape[1]}")
    m = x.shape[0] if y is None else y.shape[0]
    limit = _limit(memory_limit)
    _check_out(4 * x.shape[0] * m, limit, f"the {x.shape[0]} x {m} float32 matrix")
    out = np.empty((x.shape[0], m), dtype=np.float32)
    st = _core.matrix(x, y, out, kernel=kernel, threads=threads, memory_limit=limit)
    if stats is not None:
        stats.update(st)
    return out


def knn(X, k, queries=None, *, kernel=None, threads=0, memory_limit=None, stats=None):
    """The k most similar vectors, shaped like faiss's search output.

    Returns ``(similarities, indices)``: float32 and int64 arrays of shape
    (q, k), best first, ties broken by the lower index. Without ``queries``
    this is the self job (the kNN graph of X): each row's own index is
    excluded, an exact duplicate at another index is kept. With ``queries``
    the rows of ``queries`` are searched in X. When fewer than k candidates
    exist, the tail is index -1 and similarity -inf. The n x n matrix is never
    built. Keywords as for :func:`matrix`.
    """
    x = _operand(X, "X")
    q = None if queries is None else _operand(queries, "queries")
    if q is not None and q.shape[1] != x.shape[1]:
        raise ValueError(f"X has d = {x.shape[1]} but queries have d = {q.shape[1]}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    nq = x.shape[0] if q is None else q.shape[0]
    limit = _limit(memory_limit)
    _check_out(12 * nq * k, limit, f"the {nq} x {k} results")
    sims = np.empty((nq, k), dtype=np.float32)
    idx = np.empty((nq, k), dtype=np.int64)
    st = _core.knn(x, q, k, sims, idx, kernel=kernel, threads=threads, memory_limit=limit)
    if stats is not None:
        stats.update(st)
    return sims, idx


def join(X, tau, Y=None, *, kernel=None, threads=0, memory_limit=None, stats=None):
    """Every pair with cosine similarity >= tau, sorted by (i, j).

    Returns ``(i, j, similarities)`` (int64, int64, float32 arrays). The self
    job gives each unordered pair once, as i < j; with ``Y``, i indexes X and
    j indexes Y. ``tau`` must lie in [-1, 1]. Keywords as for :func:`matrix`.
    """
    x = _operand(X, "X")
    y = None if Y is None else _operand(Y, "Y")
    if y is not None and y.shape[1] != x.shape[1]:
        raise ValueError(f"X has d = {x.shape[1]} but Y has d = {y.shape[1]}")
    tau = float(tau)
    if not -1.0 <= tau <= 1.0:
        raise ValueError(f"tau must lie in [-1, 1], got {tau}")
    limit = _limit(memory_limit)
    bi, bj, bs, st = _core.join(x, y, tau, kernel=kernel, threads=threads, memory_limit=limit)
    if stats is not None:
        stats.update(st)
    return (
        np.frombuffer(bi, dtype=np.int64),
        np.frombuffer(bj, dtype=np.int64),
        np.frombuffer(bs, dtype=np.float32),
    )


def plan(op, X, Y=None, k=1, *, kernel=None, threads=0):
    """Bytes the library will allocate for a job ("matrix", "knn" or "join"),
    not counting the output arrays."""
    x = _operand(X, "X")
    y = None if Y is None else _operand(Y, "Y")
    return _core.plan(op, x, y, k=int(k), kernel=kernel, threads=threads)


def info():
    """The library version, this CPU's features, the automatic kernel and the
    registry of kernels with whether this CPU can run each."""
    return _core.info()


def kernels(usable_only=True):
    """Names of the kernels (those this CPU can run, by default)."""
    return [k["name"] for k in _core.info()["kernels"] if k["usable"] or not usable_only]


def error_bound(d):
    """Worst-case absolute error of a similarity at dimension d (docs/ACCURACY.md)."""
    return _core.error_bound(int(d))


def peak_gflops(threads=0, seconds=0.3):
    """This machine's measured fp32 FMA peak in GFLOP/s on `threads` threads."""
    return _core.peak_gflops(int(threads), float(seconds))
