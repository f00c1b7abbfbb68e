"""The README's table of figures, printed from one peers record.

    .venv/bin/python perf/readme_table.py perf/history/<record>.json

Every number comes from the record that perf/peers.py --record wrote: the
medians of its interleaved rounds and the ratios it measured in that run.
Nothing is typed in by hand, so a table in the README is this script's
output for the record it names.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def peer_best(med: dict, prefix: str, suffix: str) -> tuple[str, float] | None:
    """The fastest build of one peer (Debian's or PyPI's) in the record."""
    hits = [(k, t) for k, t in med.items() if k.startswith(prefix) and k.endswith(suffix)]
    if not hits:
        return None
    key, t = min(hits, key=lambda kv: kv[1])
    return key[len(prefix) : key.index("]")], t


def rows(rec: dict) -> list[tuple[str, str, str]]:
    med, fig = rec["medians"], rec["figures"]
    ver = rec.get("peers", {})
    out = []

    def faiss_build() -> str:
        best = peer_best(med, "faiss[", "] knn")
        if not best:
            return ""
        return f" (faiss {ver.get(best[0], {}).get('faiss', '?')} from {best[0]}, the faster here)"

    lowp = {r: med.get(f"sl knn {r}") for r in ("c6", "c7") if med.get(f"sl knn {r}")}
    t5 = med["sl knn c5"]
    for r, t in sorted(lowp.items(), key=lambda kv: kv[1]):
        kern = rec["kernels"].get(f"sl knn {r}", r)
        ratio = f"{t5 / t:.2f}x c5"
        if fig.get("lowp_best") == kern and "lowp_x_faiss" in fig:
            ratio += f", {fig['lowp_x_faiss']:.2f}x faiss exact"
        out.append((f"knn self, {kern} (fp32 re-score)", f"{t:.3f} s", ratio))
    out.append(
        (
            "knn self, c5 (fp32)",
            f"{t5:.3f} s ({fig['knn_self_pct_peak']:.1f}% of the 2-thread peak)",
            (
                f"{fig['knn_self_x_faiss']:.2f}x faiss exact{faiss_build()}, "
                f"{fig['knn_self_x_numpy']:.1f}x NumPy matrix + argpartition"
            ),
        )
    )
    k100 = rec.get("k100_medians", {})
    if "sl knn c5 k=100" in k100 and "knn_self_k100_x_faiss" in fig:
        out.append(
            (
                "knn self, c5, k = 100",
                f"{k100['sl knn c5 k=100']:.3f} s",
                f"{fig['knn_self_k100_x_faiss']:.2f}x faiss exact at k = 100",
            )
        )
    if "sl matrix c5" in med and "matrix_self_x_numpy" in fig:
        out.append(
            (
                "matrix self, c5, into a fresh output",
                f"{med['sl matrix c5']:.3f} s",
                f"{fig['matrix_self_x_numpy']:.2f}x NumPy's normalise + `Xn @ Xn.T`",
            )
        )
    if "sl matrix c5 (reused output)" in med and "matrix_self_reused_x_numpy" in fig:
        out.append(
            (
                "matrix self, c5, into a reused output",
                f"{med['sl matrix c5 (reused output)']:.3f} s",
                f"{fig['matrix_self_reused_x_numpy']:.2f}x NumPy's, `out=` a reused array",
            )
        )
    cross = rec.get("cross_medians", {})
    if "sl cross knn" in cross and "knn_cross_x_faiss" in fig:
        out.append(
            (
                "knn cross, 10,000 queries x 100,000, c5",
                f"{cross['sl cross knn']:.2f} s ({fig['knn_cross_pct_peak']:.1f}% of the peak)",
                f"{fig['knn_cross_x_faiss']:.2f}x faiss exact",
            )
        )
    out.append(("c5 on 2 threads / 1 thread", "", f"{fig['c5_2t_over_1t']:.3f}"))
    big = rec.get("knn_100k", {})
    if "c5" in big and "knn_100k_over_100x_10k" in fig:
        out.append(
            (
                "knn self, n = 100,000, c5",
                f"{big['c5']['seconds']:.1f} s",
                (
                    f"{fig['knn_100k_over_100x_10k']:.3f}x of 100 x its 10,000 time; peak RSS = "
                    f"input + packed copy + {fig['knn_100k_rss_extra_mib']:.0f} MiB"
                ),
            )
        )
    lk = [k for k in big if k != "c5"]
    if lk and "knn_100k_over_100x_10k_lowp" in fig:
        out.append(
            (
                f"knn self, n = 100,000, {lk[0]}",
                f"{big[lk[0]]['seconds']:.1f} s",
                (
                    f"{fig['knn_100k_over_100x_10k_lowp']:.3f}x of 100 x its 10,000 time; peak RSS "
                    f"= input + packed copy + quantised panels + "
                    f"{fig['knn_100k_rss_extra_mib_lowp']:.0f} MiB"
                ),
            )
        )
    if "avx2_cap_c5_pct_peak" in fig:
        out.append(
            (
                "knn self, c5 capped at AVX2",
                (
                    f"{med['sl knn c5 (avx2 cap)']:.3f} s "
                    f"({fig['avx2_cap_c5_pct_peak']:.0f}% of the AVX2 peak, "
                    f"{fig['avx2_cap_peak_gflops']:.1f} GFLOP/s)"
                ),
                "",
            )
        )
        out.append(
            (
                "knn self, c7 capped at AVX2 (16-bit integers, fp32 re-score)",
                f"{med['sl knn c7 (avx2 cap)']:.3f} s",
                f"{fig['avx2_cap_c7_x_c5']:.2f}x c5 capped at AVX2",
            )
        )
    gemm = peer_best(med, "blas[", "] sgemm")
    if gemm and "blas_sgemm_pct_peak" in fig:
        out.append(
            (
                "reference: the peers' sgemm, `X @ Y.T` (2 n^2 d flops)",
                f"{gemm[1]:.3f} s ({fig['blas_sgemm_pct_peak']:.0f}% of the 2-thread peak)",
                f"{gemm[0]}'s OpenBLAS, the faster build here",
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("record", type=Path)
    rec = json.loads(ap.parse_args().record.read_text())
    m = rec["machine"]
    p1, pt = rec["peak_gflops_1"], max(v for k, v in rec.items() if k.startswith("peak_gflops_"))
    print(
        f"{m.get('cpu', '?')} ({m.get('core', '?')}), commit {m.get('commit', '?')}, "
        f"{rec['date']}: peak {p1:.1f} GFLOP/s on 1 thread, {pt:.1f} on all; "
        + ("a busy core flagged" if rec.get("cores_busy") else "no busy core flagged")
        + (f"; rounds spread over 1.25x: {', '.join(rec['noisy'])}" if rec.get("noisy") else "")
    )
    print()
    print("| job | simladder | ratio |")
    print("|---|---:|---|")
    for job, t, ratio in rows(rec):
        print(f"| {job} | {t} | {ratio} |")


if __name__ == "__main__":
    main()
