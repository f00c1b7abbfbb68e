"""A model of the reduced-precision knn filter: would seeding the floors pay?

    .venv/bin/python perf/floor_seed_model.py [--rows 300]

Each row sees n similarities (random Gaussian, sd 1/sqrt(d), as for
random unit vectors) one after the other. A pair passes the filter when
its upper bound s + e is at least the row's floor, and a pair that passes
offers its speculative lower bound s - alpha e to a heap of the k best;
the floor is the heap's least once it holds k. With a seed, the floor
starts at the k-th best lower bound of S other random pairs. Prints the
pairs through the filter a row for each S (perf/README.md quotes it).
"""

from __future__ import annotations

import argparse
import heapq

import numpy as np


def passes(
    rng: np.random.Generator, n: int, k: int, sd: float, e: float, alpha: float, seed: int
) -> int:
    s = rng.normal(0.0, sd, n)
    floor = -np.inf
    if seed:
        floor = float(np.sort(rng.normal(0.0, sd, seed) - alpha * e)[-k])
    heap: list[float] = []
    hits = 0
    for v in s:
        if v + e < floor:
            continue
        hits += 1
        low = float(v - alpha * e)
        if len(heap) < k:
            heapq.heappush(heap, low)
        elif low > heap[0]:
            heapq.heapreplace(heap, low)
        if len(heap) == k:
            floor = max(floor, heap[0])
    return hits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("-d", type=int, default=768)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--bound", type=float, default=0.0146, help="e: int8's on the default workload")
    ap.add_argument("--alpha", type=float, default=0.25)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    sd = 1.0 / np.sqrt(args.d)
    for seed in (0, 128, 256, 512, 1024):
        hits = [
            passes(rng, args.n, args.k, sd, args.bound, args.alpha, seed) for _ in range(args.rows)
        ]
        print(f"seed of {seed:5d} pairs: {np.mean(hits):6.1f} pairs through the filter a row")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
