"""p0: the lab's starting point. Lists of floats, a triple loop, and the two
norms recomputed for every pair."""

from __future__ import annotations

import math

from .common import Rung, topk_python


def prepare(x):
    return x.tolist()


def cosine(a, b):
    dot = 0.0
    na = 0.0
    nb = 0.0
    for t in range(len(a)):
        dot += a[t] * b[t]
        na += a[t] * a[t]
        nb += b[t] * b[t]
    if na == 0.0 or nb == 0.0:
        return 0.0
    return dot / (math.sqrt(na) * math.sqrt(nb))


def matrix(rows):
    n = len(rows)
    out = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            out[i][j] = cosine(rows[i], rows[j])
    return out


def knn(rows, k):
    return topk_python(matrix(rows), k)


RUNGS = [Rung("p0", "pure Python, triple loop, norms per pair", prepare, matrix, knn)]
