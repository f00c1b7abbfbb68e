"""How many fp32 re-rank candidates would an exact int8 kNN need?

The low-precision rungs (issue 9) find candidates with s~ + e >= (the row's
k-th best s~ - e), where s~ is the quantised similarity and e the rigorous
Cauchy-Schwarz bound ||x~|| ||y - y~|| + ||x - x~|| ||y~|| + ||x - x~|| ||y - y~||
with per-row scales. This measures, in NumPy, the bound, the true error and
the candidates per row on the default workload and on the real sets, for
8-bit (AVX-512 VNNI, AMX), 7-bit (a vpmaddubsw kernel on AVX2) and 16-bit
(c7-avx2's vpmaddwd kernel, with levels L = floor(sqrt((2^31 - 1) / d)))
quantisation.

    .venv/bin/python perf/lowprec_probe.py [-n 4000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def probe(x: np.ndarray, k: int, levels: int) -> dict:
    x = np.asarray(x, dtype=np.float64)
    nrm = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, nrm, out=np.zeros_like(x), where=nrm > 0)
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    amax = np.abs(x).max(axis=1)
    scale = np.divide(levels, amax, out=np.zeros_like(amax), where=amax > 0)
    q = np.round(x * scale[:, None])
    xt = np.divide(q, scale[:, None], out=np.zeros_like(q), where=scale[:, None] > 0)
    r = np.linalg.norm(x - xt, axis=1)
    nt = np.linalg.norm(xt, axis=1)
    st = xt @ xt.T
    np.fill_diagonal(st, -np.inf)
    e = np.outer(nt, r) + np.outer(r, nt) + np.outer(r, r)
    off = ~np.eye(len(x), dtype=bool)
    lower = -np.sort(-(st - e), axis=1)[:, k - 1]
    cand = (st + e >= lower[:, None]) & off
    with np.errstate(invalid="ignore"):
        err = np.abs(st - s)
    return {
        "bound_mean": float(e[off].mean()),
        "true_err_max": float(err[off].max()),
        "violations": int((err[off] > e[off] + 1e-12).sum()),
        "cand_per_row": float(cand.sum() / len(x)),
        "cand_share": float(cand.sum() / off.sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=4000)
    ap.add_argument("-k", type=int, default=10)
    a = ap.parse_args()
    sets = {"default workload (normal)": np.random.default_rng(0).standard_normal((a.n, 768))}
    shared = ROOT.parent / "shared" / "data"
    for name in ("fashion_mnist_test_10k", "cohere_wiki_768_1k", "sift_5k", "deep1b_96_2k"):
        p = shared / f"{name}.npy"
        if p.exists():
            sets[name] = np.load(p)[: a.n]
    print(f"k = {a.k}; candidates: pairs an exact integer kNN must re-score in fp32")
    print(
        f"{'set':28s} {'bits':>4s} {'bound':>8s} {'true max':>9s} {'cand/row':>9s} "
        f"{'share':>7s} {'over bound':>10s}"
    )
    for name, x in sets.items():
        l16 = min(32767, int(np.floor(np.sqrt((2**31 - 1) / x.shape[1]))))
        for bits, levels in ((8, 127), (7, 63), (16, l16)):
            r = probe(x, a.k, levels)
            print(
                f"{name[:28]:28s} {bits:4d} {r['bound_mean']:8.4f} {r['true_err_max']:9.5f} "
                f"{r['cand_per_row']:9.1f} {100 * r['cand_share']:6.2f}% {r['violations']:10d}"
            )


if __name__ == "__main__":
    main()
