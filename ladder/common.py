"""What every rung of the ladder looks like to the climb and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass
class Rung:
    """One way of doing the job.

    prepare(X) turns the float32 (n, d) array into what the rung computes on
    (lists for pure Python) and is not timed; matrix(P) returns the n x n
    cosine matrix; knn(P, k) returns (sims float32 (n, k), idx int64 (n, k)),
    self excluded by index, best first, ties by the lower index, padded with
    -1 / -inf. `unavailable` holds the reason a rung cannot run here.
    """

    name: str
    describe: str
    prepare: Callable[[np.ndarray], Any] = lambda x: x
    matrix: Callable | None = None
    knn: Callable | None = None
    approximate: bool = False
    threads: int = 1
    unavailable: str | None = None


def topk_from_rows(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of every row of a similarity matrix whose diagonal is to be
    excluded: best first, ties by the lower index, padded with -1 / -inf.
    argpartition alone breaks ties arbitrarily, so every value tied with the
    k-th is kept before the final ordered sort."""
    s = np.array(s, dtype=np.float32, copy=True)
    n, m = s.shape
    np.fill_diagonal(s, -np.inf)
    kk = min(k, m - 1)
    sims = np.full((n, k), -np.inf, dtype=np.float32)
    idx = np.full((n, k), -1, dtype=np.int64)
    if kk <= 0:
        return sims, idx
    part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
    vals = np.take_along_axis(s, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    idx[:, :kk] = np.take_along_axis(part, order, axis=1)
    sims[:, :kk] = np.take_along_axis(vals, order, axis=1)
    # Rows where more values tie with the k-th than fit: argpartition chose
    # among them arbitrarily; redo those rows exactly (rare on real data).
    kth = sims[:, kk - 1]
    crowded = np.flatnonzero((s >= kth[:, None]).sum(axis=1) > kk)
    for i in crowded:
        cand = np.flatnonzero(s[i] >= kth[i])
        best = cand[np.lexsort((cand, -s[i, cand]))][:kk]
        idx[i, :kk] = best
        sims[i, :kk] = s[i, best]
    return sims, idx


def topk_python(rows: list[list[float]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The same selection for the pure-Python rungs, on lists."""
    n = len(rows)
    sims = np.full((n, k), -np.inf, dtype=np.float32)
    idx = np.full((n, k), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        best = sorted((j for j in range(n) if j != i), key=lambda j: (-row[j], j))[:k]
        for r, j in enumerate(best):
            idx[i, r] = j
            sims[i, r] = row[j]
    return sims, idx
