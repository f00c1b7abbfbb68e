"""p1: the algorithm first, still pure Python. Norms once, rows scaled once,
each unordered pair once (i < j) and mirrored."""

from __future__ import annotations

import math

from .common import Rung, topk_python


def prepare(x):
    return x.tolist()


def matrix(rows):
    n = len(rows)
    unit = []
    for r in rows:
        nrm = math.sqrt(sum(v * v for v in r))
        unit.append([v / nrm for v in r] if nrm > 0 else [0.0] * len(r))
    out = [[0.0] * n for _ in range(n)]
    for i in range(n):
        a = unit[i]
        out[i][i] = 1.0 if any(a) else 0.0
        for j in range(i + 1, n):
            b = unit[j]
            dot = 0.0
            for t in range(len(a)):
                dot += a[t] * b[t]
            out[i][j] = dot
            out[j][i] = dot
    return out


def knn(rows, k):
    return topk_python(matrix(rows), k)


RUNGS = [Rung("p1", "pure Python, norms once, i < j only", prepare, matrix, knn)]
