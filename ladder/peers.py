"""The libraries people use instead, behind the same interface. Each import
is optional: a peer that is not installed is listed with the reason."""

from __future__ import annotations

import os

import numpy as np

from .common import Rung, topk_from_rows
from .p2_numpy import normalise

THREADS = os.cpu_count() or 1


def _missing(name, describe, e, approximate=False):
    return Rung(name, describe, approximate=approximate, unavailable=f"not installed: {e}")


def sklearn_rungs():
    try:
        from sklearn.metrics.pairwise import cosine_similarity
    except ImportError as e:
        return [_missing("sklearn", "scikit-learn cosine_similarity", e)]
    return [
        Rung(
            "sklearn",
            "scikit-learn cosine_similarity (NumPy + BLAS underneath)",
            lambda x: x,
            lambda x: cosine_similarity(x),
            lambda x, k: topk_from_rows(cosine_similarity(x), k),
            threads=THREADS,
        )
    ]


def faiss_rungs():
    try:
        import faiss
    except ImportError as e:
        return [_missing("faiss", "faiss exact IndexFlatIP", e)]

    def knn(x, k):
        xn = np.array(x, dtype=np.float32, copy=True)
        faiss.normalize_L2(xn)
        index = faiss.IndexFlatIP(xn.shape[1])
        index.add(xn)
        kk = min(k + 1, xn.shape[0])
        d, i = index.search(xn, kk)
        # drop self by index (not by position: a duplicate may come first),
        # then order ties by the lower index as every rung does
        n = xn.shape[0]
        sims = np.full((n, k), -np.inf, dtype=np.float32)
        idx = np.full((n, k), -1, dtype=np.int64)
        for r in range(n):
            keep = i[r] != r
            ii, dd = i[r][keep][:k], d[r][keep][:k]
            order = np.lexsort((ii, -dd))
            idx[r, : len(ii)] = ii[order]
            sims[r, : len(ii)] = dd[order]
        return sims, idx

    return [
        Rung(
            "faiss",
            "faiss exact: normalize_L2, IndexFlatIP, search k+1",
            lambda x: x,
            None,
            knn,
            threads=THREADS,
        )
    ]


def hnswlib_rungs():
    try:
        import hnswlib
    except ImportError as e:
        return [_missing("hnswlib", "hnswlib HNSW graph (approximate)", e, True)]

    def knn(x, k):
        n, d = x.shape
        index = hnswlib.Index(space="cosine", dim=d)
        index.init_index(max_elements=n, ef_construction=200, M=16, random_seed=0)
        index.set_num_threads(THREADS)
        index.add_items(x, np.arange(n))
        index.set_ef(max(50, 2 * (k + 1)))
        kk = min(k + 1, n)
        labels, dist = index.knn_query(x, k=kk)
        sims = np.full((n, k), -np.inf, dtype=np.float32)
        idx = np.full((n, k), -1, dtype=np.int64)
        for r in range(n):
            keep = labels[r] != r
            ii = labels[r][keep][:k].astype(np.int64)
            idx[r, : len(ii)] = ii
            sims[r, : len(ii)] = 1.0 - dist[r][keep][:k]
        return sims, idx

    return [
        Rung(
            "hnswlib",
            "hnswlib HNSW (M=16, ef_construction=200): build + query",
            lambda x: x,
            None,
            knn,
            approximate=True,
            threads=THREADS,
        )
    ]


def simsimd_rungs():
    try:
        import simsimd
    except ImportError as e:
        return [_missing("simsimd", "SimSIMD cdist", e)]

    def matrix(x):
        return 1.0 - np.asarray(simsimd.cdist(x, x, metric="cosine", threads=THREADS))

    return [
        Rung(
            "simsimd",
            "SimSIMD cdist (cosine distance, SIMD, no symmetry)",
            lambda x: x,
            matrix,
            lambda x, k: topk_from_rows(matrix(x), k),
            threads=THREADS,
        )
    ]


RUNGS = sklearn_rungs() + faiss_rungs() + hnswlib_rungs() + simsimd_rungs()

__all__ = ["RUNGS", "normalise"]
