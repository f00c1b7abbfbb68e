"""Rung p5: Rust (PyO3 + rayon), the ladder interface over ladder/simladder_rs.so.

The extension reads the float32 rows in place through the buffer protocol and
returns bytearrays, which NumPy wraps here without a copy (the results are
writable). `matrix`/`knn` use one thread; `matrix_par`/`knn_par` use rayon's
pool (RAYON_NUM_THREADS threads, default all cores). Build with `make rust`.
"""

from __future__ import annotations

import numpy as np

try:
    if __package__:
        from . import simladder_rs as _rs
    else:  # imported with ladder/ itself on sys.path
        import simladder_rs as _rs
except ImportError as exc:
    raise ImportError(
        f"the Rust rung's extension ladder/simladder_rs.so is not available ({exc}); "
        "run `make rust` in the simladder checkout"
    ) from exc

NAME = "p5_rust"
num_threads = _rs.num_threads


def prepare(X) -> np.ndarray:
    """The rows as a C-contiguous float32 array (no copy when already so)."""
    return np.ascontiguousarray(X, dtype=np.float32)


def _square(buf: bytearray, n: int) -> np.ndarray:
    return np.frombuffer(buf, dtype=np.float32).reshape(n, n)


def _pair(bufs: tuple[bytearray, bytearray], n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims, idx = bufs
    return (
        np.frombuffer(sims, dtype=np.float32).reshape(n, k),
        np.frombuffer(idx, dtype=np.int64).reshape(n, k),
    )


def _rows(P) -> int:
    shape = getattr(P, "shape", None)
    if shape is None or len(shape) != 2:
        raise ValueError(f"expected a 2-D array, got shape {shape}")
    return int(shape[0])


def matrix(P: np.ndarray) -> np.ndarray:
    """The (n, n) float32 cosine matrix of the rows of P, one thread."""
    return _square(_rs.matrix(P), _rows(P))


def matrix_par(P: np.ndarray) -> np.ndarray:
    """As matrix, over rayon's threads."""
    return _square(_rs.matrix_par(P), _rows(P))


def knn(P: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(sims float32 (n, k), idx int64 (n, k)): the k most similar other rows, best first."""
    return _pair(_rs.knn(P, k), _rows(P), k)


def knn_par(P: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """As knn, over rayon's threads."""
    return _pair(_rs.knn_par(P, k), _rows(P), k)


def _ladder_rungs():
    import os

    from .common import Rung

    return [
        Rung("p5-rust", "Rust + PyO3, lane accumulators, norms once, i < j", prepare, matrix, knn),
        Rung(
            "p5-rust-par",
            "Rust with rayon over rows, the triangle balanced",
            prepare,
            matrix_par,
            knn_par,
            threads=os.cpu_count() or 1,
        ),
    ]


RUNGS = _ladder_rungs() if __package__ else []
