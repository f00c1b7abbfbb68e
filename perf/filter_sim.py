"""How many pairs a reduced-precision knn's filter must let through, by its
bound alone.

A row's floor is the k-th best lower bound s~ - e of the pairs it has seen,
and a pair passes the filter while its upper bound s~ + e reaches the floor
(docs/ACCURACY.md, "Exact selection"). This plays a sample of rows' pairs
through that rule with a perfect heap, in the order a symmetric self job
meets them (row block by row block: first as the column of every earlier
row, then as the row of every later one), and counts the passes, with the
int8 quantisation c7 uses (per-row scale max|x| / 127; e as
src/core/job.c's pair_bound, without its small constant) and, for scale,
with e = 0 (an fp32 filter). Compare with `filtered` in sl_stats, which the
job counts (perf/blocking.py prints it a row).

    .venv/bin/python perf/filter_sim.py [--rows 100] [-k 10]
"""

from __future__ import annotations

import argparse
import heapq

import numpy as np


def passes(s_lp: np.ndarray, e: np.ndarray, order: np.ndarray, k: int, split: int) -> tuple:
    """Passes among order[:split] and among the rest."""
    heap: list[float] = []
    n = [0, 0]
    for q, j in enumerate(order):
        floor = heap[0] if len(heap) == k else -np.inf
        n[q >= split] += s_lp[j] + e[j] >= floor
        lo = s_lp[j] - e[j]
        if len(heap) < k:
            heapq.heappush(heap, lo)
        elif lo > heap[0]:
            heapq.heapreplace(heap, lo)
    return n[0], n[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("-d", type=int, default=768)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--rows", type=int, default=100, help="rows sampled")
    a = ap.parse_args()
    x = np.random.default_rng(0).standard_normal((a.n, a.d), dtype=np.float32)
    x = (x / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)).astype(np.float32)
    sigma = np.abs(x).max(axis=1) / 127
    xq = (np.round(x / sigma[:, None]) * sigma[:, None]).astype(np.float64)
    nn = np.linalg.norm(xq, axis=1)
    rr = np.linalg.norm(x - xq, axis=1)
    rows = np.random.default_rng(1).choice(a.n, a.rows, replace=False)
    col = row = col0 = row0 = 0
    e_mean = []
    for o in rows:
        s_lp = xq @ xq[o]
        e = nn * rr[o] + rr * nn[o] + rr * rr[o]
        e_mean.append(float(np.mean(e)))
        s_lp[o] = -np.inf  # the row itself is no pair
        before, after = np.arange(0, o), np.arange(o + 1, a.n)
        both = np.concatenate([before, after])
        # the earlier rows first (the row as their column), then the later
        cs, rs = passes(s_lp, e, both, a.k, len(before))
        col, row = col + cs, row + rs
        cs, rs = passes(s_lp, np.zeros_like(e), both, a.k, len(before))
        col0, row0 = col0 + cs, row0 + rs
    m = len(rows)
    em = np.mean(e_mean)
    print(f"n = {a.n}, d = {a.d}, k = {a.k}, {m} rows sampled; mean int8 e = {em:.4f}")
    print("filter passes a row      as a column   as the row   all   x n (the job's filtered)")
    for name, cs, rs in (("int8 bound", col, row), ("e = 0 (fp32)", col0, row0)):
        t = (cs + rs) / m
        print(f"  {name:20s} {cs / m:12.1f} {rs / m:12.1f} {t:5.0f}   {t * a.n / 1e6:.2f} million")


if __name__ == "__main__":
    main()
