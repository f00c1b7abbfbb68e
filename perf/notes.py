"""Writes NOTES.md and the ladder plot from a climb record (perf/climb.py).

Nothing here is a measurement: every number comes from the record; the prose
around the numbers says what they show and is chosen by comparing them.
"""

from __future__ import annotations

import math
from pathlib import Path

# What each step adds, in the ladder's order; used for the per-step sentences.
STEP = {
    "p0": "the lab's starting point: a pure-Python triple loop, norms recomputed for every pair",
    "p1": "the algorithm first: norms once and each unordered pair once",
    "p2": "vectorise: NumPy normalises the rows and hands the product to BLAS",
    "p3": "native code for the inner loop, written in Cython",
    "p4-numba": "the same loop JIT-compiled by Numba",
    "p4-numba-par": "Numba with prange over rows, on every core",
    "p5-rust": "the inner loop in Rust through PyO3",
    "p5-rust-par": "Rust with rayon over rows, on every core",
    "c0": "C, pair at a time, norms recomputed per pair (the p0 algorithm in C)",
    "c1": "C with the algorithmic step (norms once, symmetry)",
    "c2": "C on normalised contiguous rows the compiler can vectorise",
    "c3": "explicit SIMD intrinsics, several accumulators",
    "c4": "packed panels and a register-tiled micro-kernel: each load feeds many FMAs",
    "c5": "c4 on every core, the triangle of tiles shared dynamically",
    "c6": "reduced precision: bf16 products find the candidates a proven bound cannot rule "
    "out, fp32 re-scores them, so the answer is c5's",
    "c7": "the same with integer products: int8 where the CPU has an int8 dot product "
    "(AVX-512 VNNI, AMX), cheaper still with a wider bound and more to re-score; on AVX2, "
    "16-bit integers (vpmaddwd), whose bound is 13 times tighter than int8's",
}


# Each rung is compared with the rung it changes one thing in.
BASE = {
    "p1": "p0",
    "p2": "p1",
    "p3": "p1",
    "p4-numba": "p3",
    "p4-numba-par": "p4-numba",
    "p5-rust": "p4-numba",
    "p5-rust-par": "p5-rust",
    "c0": "p0",
    "c1": "c0",
    "c2": "c1",
    "c3": "c2",
    "c4": "c3",
    "c5": "c4",
    "c6": "c5",
    "c7": "c5",
}


def is_peer(name: str) -> bool:
    return not (name[0] in "pc" and name[1:2].isdigit())


def fmt_s(t: float) -> str:
    if t is None or not math.isfinite(t):
        return "-"
    if t >= 3600:
        return f"{t / 3600:.1f} h"
    if t >= 60:
        return f"{t / 60:.1f} min"
    if t >= 1:
        return f"{t:.2f} s"
    return f"{t * 1000:.0f} ms"


def fmt_x(r: float | None) -> str:
    if r is None or not math.isfinite(r):
        return "-"
    if r >= 100:
        return f"{r:,.0f}x"
    return f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def ladder_rows(rec: dict, job: str) -> list[dict]:
    return [r for r in rec["rows"] if r["job"] == job]


def peak_for(rec: dict, r: dict) -> float:
    threads = r.get("threads") or 1
    return rec["peak_gflops_1"] if threads == 1 else rec["peak_gflops_all"]


def table(rec: dict, job: str, peers: bool = False) -> tuple[list[str], dict]:
    """The ladder's rungs (or the peers) for one job, as a markdown table."""
    flops = rec["flops"]
    rel = "c5 is ... faster" if peers else "x its base"
    out = [
        (
            f"| rung | what | time | {rel} | x p0 | GFLOP/s | % of peak | extra memory "
            "| max error | note |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    all_t = {r["rung"]: r["seconds"] for r in ladder_rows(rec, job) if "seconds" in r}
    p0 = all_t.get("p0")
    top = all_t.get("c5")
    times = {}
    for r in ladder_rows(rec, job):
        name = r["rung"]
        if is_peer(name) != peers:
            continue
        if "error" in r:
            out.append(
                f"| {name} | {r.get('describe', '')} | - | | | | | | | not run: {r['error']} |"
            )
            continue
        t = r["seconds"]
        times[name] = t
        if peers:
            rel_col = fmt_x(t / top) if top else "-"
        else:
            b = BASE.get(name)
            rel_col = f"{fmt_x(all_t[b] / t)} (over {b})" if b in all_t else "-"
        gf = flops / t / 1e9
        pk = peak_for(rec, r)
        note = []
        if r.get("extrapolated"):
            note.append(f"extrapolated by n^2 from n = {r['n']} ({fmt_s(r['measured_s'])})")
        if r.get("approximate"):
            note.append(f"approximate: recall@{rec['workload']['k']} = {r.get('recall', 0):.3f}")
        if r.get("threads", 1) != 1:
            note.append(f"{r['threads']} threads")
        err = r.get("max_err", float("nan"))
        out.append(
            f"| {name} | {r.get('describe', '')} | {fmt_s(t)} | {rel_col} "
            f"| {fmt_x(p0 / t) if p0 else '-'} | {gf:.2f} | {100 * gf / pk:.1f}% "
            f"| {r.get('extra_rss_mib', 0):.0f} MiB | {err:.1e} | {'; '.join(note)} |"
        )
    return out, times


def step_sentences(rec: dict, times: dict) -> list[str]:
    """Two or three sentences per step, from the measured ratios."""
    rows = {r["rung"]: r for r in ladder_rows(rec, "matrix")}
    lines = []
    for name in [n for n in rows if n in times and n in STEP]:
        t = times[name]
        gf = rec["flops"] / t / 1e9
        r = rows[name]
        pk = peak_for(rec, r)
        s = f"- **{name}**: {STEP[name]}. {fmt_s(t)}, {gf:.2f} GFLOP/s "
        s += f"({100 * gf / pk:.1f}% of peak)"
        prev = BASE.get(name)
        if prev in times:
            ratio = times[prev] / t
            if ratio >= 1.15:
                s += f", {fmt_x(ratio)} faster than {prev}."
            elif ratio >= 0.9:
                s += f", about the same as {prev} ({fmt_x(ratio)}): this step buys little here."
            else:
                s += f", slower than {prev} ({fmt_x(ratio)}): "
                s += "the step costs more than it gives here."
        else:
            s += "."
        if r.get("extrapolated"):
            s += f" Measured on n = {r['n']} and extrapolated by n^2."
        lines.append(s)
    return lines


def lowp_sentences(rec: dict, times: dict) -> list[str]:
    """What the reduced-precision rungs did, from their own statistics."""
    rows = {r["rung"]: r for r in ladder_rows(rec, "knn")}
    out = []
    for name in ("c6", "c7"):
        r = rows.get(name)
        if not r or name not in times or "c5" not in times:
            continue
        st = r.get("stats") or {}
        n = r.get("n") or rec["workload"]["n"]
        busy = (st.get("seconds_compute", 0) + st.get("seconds_finish", 0)) * st.get("threads", 1)
        share = 100 * st.get("seconds_rerank", 0) / busy if busy else 0
        ratio = times["c5"] / times[name]
        s = (
            f"- **{name}** ({st.get('kernel', name)}): {STEP[name]}. {fmt_s(times[name])}, "
            f"{fmt_x(ratio)} {'faster' if ratio >= 1 else 'slower'} than c5"
        )
        if st:
            s += (
                f"; it re-scored {st['candidates'] / n:.1f} pairs per row in fp32 (at most "
                f"{st['candidates_max_row']} in a row), {share:.1f}% of its thread time"
            )
        s += (
            ". Its GFLOP/s count the fp32 work it replaces, so they can pass the fp32 peak; "
            "the neighbour sets are c5's (max error as for any fp32 rung)."
        )
        out.append(s)
    return ["", *out] if out else []


def plot(rec: dict, path: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # noqa: BLE001
        return f"(no plot: matplotlib unavailable: {e})"
    rows = [r for r in ladder_rows(rec, "matrix") if "seconds" in r]
    names = [r["rung"] for r in rows]
    secs = [r["seconds"] for r in rows]
    colors = [
        "#999999" if r.get("extrapolated") else ("#d62728" if r["rung"] == "c5" else "#1f77b4")
        for r in rows
    ]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.bar(names, secs, color=colors)
    ax.set_yscale("log")
    ax.set_ylabel("seconds (log scale)")
    w = rec["workload"]
    ax.set_title(f"cosine similarity matrix, {w['n']:,} x {w['d']} float32 (grey: extrapolated)")
    for i, s in enumerate(secs):
        ax.text(i, s, fmt_s(s), ha="center", va="bottom", fontsize=7)
    plt.xticks(rotation=45, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"![the ladder]({path.name})"


def link(png: Path, notes: Path) -> str:
    """The plot's path as NOTES.md must name it (relative to its folder)."""
    import os

    return os.path.relpath(png.resolve(), notes.resolve().parent)


def write(rec: dict, notes: Path, png: Path) -> None:
    m = rec["machine"]
    w = rec["workload"]
    lines = [
        "# NOTES: the ladder, measured on this machine",
        "",
        "Written by `make climb` (perf/climb.py); every number below comes from that run.",
        "Do not edit by hand: run it again.",
        "",
        f"- machine: {m.get('cpu', '?')}, {m['cpus']} cpus, features: {m['cpu_features']}",
        f"- date {m['date']}, commit {m['commit']}, Python {m['python']}, {m['platform']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        (
            f"- workload: {w['n']:,} x {w['d']} float32, standard normal, seed {w['seed']}; "
            f"kNN k = {w['k']}"
        ),
        (
            f"- measured FMA peak: {rec['peak_gflops_1']:.1f} GFLOP/s on 1 thread, "
            f"{rec['peak_gflops_all']:.1f} on all {m['cpus']}; % of peak uses the 1-thread peak "
            "for 1-thread rungs and the all-thread peak for the others"
        ),
        (
            f"- flops counted as n^2 d = {rec['flops']:.3g} for every rung (the useful work of the "
            "symmetric self job), whatever a rung executes"
        ),
        (
            "- time: median of 3 runs where the budget allows, else one run; extra memory: "
            "peak RSS of the rung's process above what it held before the call"
        ),
        f"- the whole climb took {rec['seconds_total'] / 60:.1f} min",
        "",
        "## The full similarity matrix",
        "",
    ]
    tab, times = table(rec, "matrix")
    lines += tab
    figure = plot(rec, png).replace(f"]({png.name})", f"]({link(png, notes)})")
    lines += ["", figure, "", "### What each step shows", ""]
    lines += step_sentences(rec, times)
    lines += ["", "### The libraries people use instead", ""]
    lines += table(rec, "matrix", peers=True)[0]
    lines += ["", f"## The kNN graph (k = {w['k']}, self excluded)", ""]
    ktab, ktimes = table(rec, "knn")
    lines += ktab
    lines += lowp_sentences(rec, ktimes)
    lines += ["", "Against the libraries:", ""]
    lines += table(rec, "knn", peers=True)[0]
    for extra in rec.get("sections", []):
        lines += ["", *extra]
    notes.write_text("\n".join(x for x in lines if x is not None) + "\n")
