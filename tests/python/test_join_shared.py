"""join on every real set in shared/data against a float64 oracle, at
tau = 0.8 and at a tau near the set's 99.9th percentile of similarities:
the same pairs exactly, except pairs within 1e-5 of tau (where float32
rounding may legitimately decide either way)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import simladder

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SETS = sorted(p for p in SHARED.glob("*.npy") if ".gt_" not in p.name) if SHARED.is_dir() else []
MARGIN = 1e-5


def oracle_pairs(x, tau, block=1000):
    """Keys i * n + j of the pairs i < j with cos >= tau + MARGIN in float64
    (sure), and of those within MARGIN of tau (either answer is right)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    nrm = np.linalg.norm(x, axis=1)
    xn = x * np.divide(1.0, nrm, out=np.zeros_like(nrm), where=nrm > 0)[:, None]
    sure, near = [], []
    for i0 in range(0, n, block):
        s = xn[i0 : i0 + block] @ xn.T
        ii, jj = np.nonzero(s >= tau - MARGIN)
        keep = ii + i0 < jj
        ii, jj = ii[keep], jj[keep]
        v = s[ii, jj]
        key = (ii + i0) * n + jj
        close = np.abs(v - tau) <= MARGIN
        sure.append(key[~close])
        near.append(key[close])
    return np.concatenate(sure), np.concatenate(near)


def percentile_tau(x, q=99.9, sample=2000):
    """The q-th percentile of the similarities of distinct pairs (a sample of
    rows against all rows, the diagonal left out)."""
    rng = np.random.default_rng(0)
    rows = rng.choice(len(x), size=min(sample, len(x)), replace=False)
    s = simladder.matrix(np.asarray(x)[rows], np.asarray(x))
    s[np.arange(len(rows)), rows] = np.nan
    return float(np.nanpercentile(s, q))


@pytest.mark.skipif(not SETS, reason="no shared/data beside the project")
@pytest.mark.parametrize("path", SETS, ids=[p.stem for p in SETS])
def test_join_matches_oracle(path):
    x = np.load(path)
    for tau in (0.8, min(0.999, percentile_tau(x))):
        i, j, _ = simladder.join(x, tau)
        got = i * len(x) + j
        sure, near = oracle_pairs(x, tau)
        missing = np.setdiff1d(sure, got)
        extra = np.setdiff1d(np.setdiff1d(got, sure), near)
        assert len(missing) == 0 and len(extra) == 0, (
            f"{path.stem} tau={tau:.6f}: {len(missing)} missing, {len(extra)} extra "
            f"of {len(sure)} pairs"
        )
        print(f"{path.stem}: tau {tau:.4f}: {len(got)} pairs, {len(near)} within {MARGIN} of tau")
