"""The climb's further sections: profiles, bytecode, memory, concurrency,
Python call overhead and a real data set. Each function measures, and returns
(lines of markdown, facts for the record); none of them types a number."""

from __future__ import annotations

import asyncio
import cProfile
import dis
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def median_time(fn, repeats: int = 3) -> float:
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _rung(name):
    import ladder

    for r in ladder.all_rungs():
        if r.name == name and not getattr(r, "unavailable", None):
            return r
    return None


# ---- profiles ----


def profiles(x: np.ndarray) -> tuple[list[str], dict]:
    lines = ["## Where the time goes", ""]
    facts = {}
    p0 = _rung("p0")
    if p0 is not None:
        small = x[:60, :]
        p = p0.prepare(small)
        prof = cProfile.Profile()
        prof.enable()
        p0.matrix(p)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(6)
        body = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
        start = next((i for i, ln in enumerate(body) if "ncalls" in ln), 0)
        lines += [
            f"cProfile of p0's matrix on 60 x {x.shape[1]} (sorted by own time):",
            "",
            "```",
            *body[start : start + 8],
            "```",
            "",
        ]
    perf = shutil.which("perf")
    worker = ROOT / "build" / "sl_worker"
    if perf and worker.exists():
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "perf.data"
            raw = Path(tmp) / "x.f32"
            n = 3000
            np.ascontiguousarray(x[:n]).tofile(raw)
            cmds = f"load x {raw} {n} {x.shape[1]}\nmatrix x c3 1\nquit\n"
            r = subprocess.run(
                [perf, "record", "-q", "-o", str(data), "--", str(worker)],
                input=cmds,
                capture_output=True,
                text=True,
                check=False,
            )
            rep = subprocess.run(
                [perf, "report", "-i", str(data), "--stdio", "--sort", "symbol"],
                capture_output=True,
                text=True,
                check=False,
            )
        body = [ln.rstrip(" -") for ln in rep.stdout.splitlines() if "%" in ln and "[" in ln]
        if r.returncode == 0 and body:
            kern = next((ln for ln in body if "c3_tile" in ln), None)
            share = float(kern.split("%")[0]) if kern else 0.0
            lines += [
                (
                    f"`perf record` of the C rung c3 (matrix, {n} x {x.shape[1]}, one thread, "
                    "in build/sl_worker), the symbols above 1%:"
                ),
                "",
                "```",
                *[ln for ln in body if float(ln.split("%")[0]) >= 1.0][:8],
                "```",
                "",
                (
                    f"The pair-at-a-time SIMD kernel takes {share:.0f}% of the samples: what "
                    "remains to win is inside it. It does one FMA per two loads (both rows "
                    "stream through for every pair); c4's 6 x 16 register tile does 12 FMAs "
                    "per 8 loads (2 vectors of one panel, 6 broadcasts of the other) and keeps "
                    "its 12 partial sums in registers for the whole depth."
                ),
                "",
            ]
            facts["perf_top"] = body[:8]
        else:
            err = (r.stderr or rep.stderr).strip()[:150]
            lines += [f"(perf could not record here: {err})", ""]
    else:
        lines += ["(perf is not installed: `apt-get install linux-perf` to see the C profile)", ""]
    return lines, facts


# ---- bytecode: p0 against p1 ----


def count_opcodes(fn, *args) -> int:
    """Bytecode instructions executed by fn(*args), traced."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        frame.f_trace_opcodes = True
        if event == "opcode":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        fn(*args)
    finally:
        sys.settrace(None)
    return count


def bytecode(x: np.ndarray, times: dict) -> tuple[list[str], dict]:
    p0, p1 = _rung("p0"), _rung("p1")
    if p0 is None or p1 is None:
        return ["## Bytecode", "", "(p0 or p1 unavailable)"], {}
    small = x[:24, :64]
    c0 = count_opcodes(p0.matrix, p0.prepare(small))
    c1 = count_opcodes(p1.matrix, p1.prepare(small))
    pred = c0 / c1
    meas = times.get("p0", float("nan")) / times.get("p1", float("nan"))
    lines = [
        "## Bytecode: p0 against p1",
        "",
        "The inner loops, as CPython compiles them (`dis`):",
        "",
    ]
    for name, r in (("p0", p0), ("p1", p1)):
        code = getattr(r.matrix, "__code__", None)
        text = dis.Bytecode(code).dis() if code else "(not a Python function)"
        # keep the listing short: the innermost loop is the part that runs
        ls = text.splitlines()
        lines += [
            f"{name} (`{r.matrix.__module__}.{r.matrix.__name__}`, first 40 lines):",
            "",
            "```",
            *ls[:40],
            "```",
            "",
        ]
    lines += [
        f"Executed bytecode instructions for a 24 x 64 matrix, counted with a tracer: p0 {c0:,}, "
        f"p1 {c1:,}. If time per instruction were constant, p1 would be {pred:.2f}x faster than "
        f"p0; the climb measured {meas:.2f}x at the full workload. "
        + (
            "The count predicts the ratio well: pure Python time is bytecode count."
            if 0.67 < meas / pred < 1.5
            else "The count and the measurement disagree by more than 1.5x: the instructions "
            "do not cost the same (calls and float boxing cost more than a loop jump)."
        ),
    ]
    return lines, {"opcodes_p0": c0, "opcodes_p1": c1, "predicted": pred, "measured": meas}


# ---- memory: NumPy's kNN against the fused one ----


def memory(x: np.ndarray, k: int) -> tuple[list[str], dict]:
    import simladder

    p2 = _rung("p2")
    lines = ["## Where the NumPy kNN's memory goes", ""]
    facts = {}
    if p2 is not None:
        tracemalloc.start()
        p2.knn(p2.prepare(x), k)
        snap = tracemalloc.take_snapshot()
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        n = x.shape[0]
        facts["numpy_knn_peak_mib"] = peak / 2**20
        top = [s for s in snap.statistics("lineno") if s.size > 2**20][:1]
        lines += [
            (
                f"tracemalloc over p2's kNN on {n:,} x {x.shape[1]}: peak {peak / 2**20:,.0f} MiB; "
                f"the n x n float32 matrix alone is {4 * n * n / 2**20:,.0f} MiB "
                f"({100 * 4 * n * n / peak:.0f}% of the peak)."
            ),
        ]
        if top:
            lines += [f"Largest allocation still held: {top[0]}"]
    st = {}
    need = simladder.plan("knn", x, k=k)
    simladder.knn(x, k, stats=st)
    facts["simladder_knn_plan_mib"] = need / 2**20
    lines += [
        "",
        (
            f"simladder's fused kNN on the same input plans {need / 2**20:.1f} MiB (its packed, "
            f"normalised copy of the input and per-thread top-k lists) and never builds the "
            "matrix: the tiles are reduced to the top k while they are in cache."
        ),
    ]
    return lines, facts


# ---- concurrency ----


def _sl_knn(x):
    import simladder

    return simladder.knn(x, 10, threads=1)


def _p1_matrix(p):
    return _rung("p1").matrix(p)


def concurrency(d: int) -> tuple[list[str], dict]:
    import simladder  # noqa: F401 - imported before timing

    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((4000, d), dtype=np.float32) for _ in range(2)]
    _sl_knn(xs[0])
    seq = median_time(lambda: [_sl_knn(x) for x in xs])
    with ThreadPoolExecutor(2) as ex:
        thr = median_time(lambda: list(ex.map(_sl_knn, xs)))

    async def gathered():
        await asyncio.gather(*(asyncio.to_thread(_sl_knn, x) for x in xs))

    aio = median_time(lambda: asyncio.run(gathered()))
    with ProcessPoolExecutor(2) as ex:
        list(ex.map(_sl_knn, xs))  # start the workers
        proc = median_time(lambda: list(ex.map(_sl_knn, xs)))
    import pickle

    t0 = time.perf_counter()
    for x in xs:
        pickle.loads(pickle.dumps(x))
    copy = time.perf_counter() - t0
    facts = {"seq": seq, "threads": thr, "asyncio": aio, "processes": proc, "pickle": copy}
    lines = [
        "## Threads, processes, asyncio",
        "",
        (
            f"Two kNN jobs (k = 10) on separate 4,000 x {d} arrays, each with `threads=1`, "
            "medians of 3:"
        ),
        "",
        "| how | time | / sequential |",
        "|---|---:|---:|",
        f"| one after the other | {seq:.3f} s | 1.00 |",
        f"| ThreadPoolExecutor(2) | {thr:.3f} s | {thr / seq:.2f} |",
        f"| asyncio.gather of to_thread | {aio:.3f} s | {aio / seq:.2f} |",
        f"| ProcessPoolExecutor(2) | {proc:.3f} s | {proc / seq:.2f} |",
    ]
    p1 = _rung("p1")
    if p1 is not None:
        ps = [p1.prepare(x[:70, :64]) for x in xs]
        pseq = median_time(lambda: [p1.matrix(p) for p in ps])
        with ThreadPoolExecutor(2) as ex:
            pthr = median_time(lambda: list(ex.map(p1.matrix, ps)))
        facts.update(p1_seq=pseq, p1_threads=pthr)
        lines += [
            f"| p1 (pure Python) one after the other, 70 x 64 each | {pseq:.3f} s | 1.00 |",
            f"| p1 in ThreadPoolExecutor(2) | {pthr:.3f} s | {pthr / pseq:.2f} |",
        ]
    lines += [
        "",
        f"The thread pool finishes in {thr / seq:.2f}x the sequential time because simladder "
        "releases the GIL for the whole computation, so both cores work; asyncio's to_thread is "
        f"the same thread pool underneath ({aio / seq:.2f}x) and adds nothing for CPU-bound work. "
        + (
            f"The pure-Python rung gets {pthr / pseq:.2f}x: its threads take turns holding the "
            "GIL, so they interleave instead of running in parallel. "
            if p1 is not None
            else ""
        )
        + f"A process pool also runs in parallel ({proc / seq:.2f}x) but pays to pickle and copy "
        f"every array to the worker and the result back (the two inputs alone take "
        f"{copy * 1000:.0f} ms to pickle and unpickle here) and a process start-up per worker: for "
        "a library that releases the GIL, threads are the right tool; processes are for "
        "pure-Python work.",
    ]
    return lines, facts


# ---- the Python call's overhead against the C library's own timing ----


def call_overhead(d: int) -> tuple[list[str], dict]:
    import simladder

    worker = ROOT / "build" / "sl_worker"
    x = np.random.default_rng(2).standard_normal((1000, d), dtype=np.float32)
    if not worker.exists():
        py = median_time(lambda: simladder.knn(x, 10), repeats=21)
        return [f"(build/sl_worker missing; Python knn on 1000 x {d}: {py * 1000:.1f} ms)"], {}
    # Interleaved: one call in the C process, one from Python, 41 times, so
    # that both see the same moments of a noisy machine.
    ts, tp = [], []
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "x.f32"
        x.tofile(f)
        p = subprocess.Popen(
            [str(worker)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

        def ask(cmd):
            p.stdin.write(cmd + "\n")
            p.stdin.flush()
            return json.loads(p.stdout.readline())

        ask(f"load x {f} 1000 {d}")
        simladder.knn(x, 10)
        for _ in range(41):
            ts.append(ask("knn x 10 auto 0")["seconds"])
            t0 = time.perf_counter()
            simladder.knn(x, 10)
            tp.append(time.perf_counter() - t0)
        p.stdin.write("quit\n")
        p.stdin.flush()
        p.wait(timeout=60)
    c, py = statistics.median(ts), statistics.median(tp)
    lines = [
        "## The Python call's overhead",
        "",
        (
            f"`simladder.knn` on 1,000 x {d} (k = 10), median of 41 calls: {py * 1000:.2f} ms; "
            "the same job timed inside the C process (perf/sl_worker, calls interleaved): "
            f"{c * 1000:.2f} ms; ratio {py / c:.2f}. The binding checks shapes, allocates the "
            "two outputs and releases the GIL; the library reads NumPy's buffer in place."
        ),
    ]
    return lines, {"python_ms": py * 1000, "c_ms": c * 1000, "ratio": py / c}


# ---- a real data set ----


def real_data(climb_rung, k: int, budget: float) -> tuple[list[str], dict]:
    shared = ROOT.parent / "shared" / "data"
    cands = ["fashion_mnist_test_10k.npy", "mnist_test_10k.npy", "cohere_wiki_768_1k.npy"]
    path = next((shared / c for c in cands if (shared / c).exists()), None)
    if path is None:
        return ["## A real data set", "", "(no shared/data beside the project: skipped)"], {}
    x = np.load(path, mmap_mode="r")
    n, d = x.shape
    lines = [
        f"## A real data set: {path.stem} ({n:,} x {d})",
        "",
        f"| rung | job | time | max error | recall@{k} |",
        "|---|---|---:|---:|---:|",
    ]
    facts = {}
    import ladder

    by = {r.name: r for r in ladder.all_rungs()}
    for name, job in (
        ("p2", "matrix"),
        ("c5", "matrix"),
        ("p2", "knn"),
        ("c5", "knn"),
        ("faiss", "knn"),
        ("hnswlib", "knn"),
    ):
        if name in by and getattr(by[name], "unavailable", None):
            lines.append(f"| {name} | {job} | - | | unavailable: {by[name].unavailable} |")
            continue
        rung = by.get(name) or type("R", (), {"name": name})()
        res = climb_rung(rung, job, n, d, k, budget, str(path))
        facts[f"{name} {job}"] = res
        if "error" in res:
            lines.append(f"| {name} | {job} | - | | {res['error']} |")
            continue
        rec = f"{res['recall']:.3f}" if "recall" in res else "-"
        lines.append(f"| {name} | {job} | {res['seconds']:.3f} s | {res['max_err']:.1e} | {rec} |")
    return lines, facts


if __name__ == "__main__":
    print(os.getpid())


# ---- what the native Python rungs cost to build ----


def _dir_mib(path: Path) -> float | None:
    if not path.exists():
        return None
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 2**20


def _dpkg_mib(packages: list[str]) -> tuple[float, list[str]]:
    """Debian's installed sizes (KiB in dpkg's status) of the installed packages."""
    total, found = 0.0, []
    for p in packages:
        r = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status} ${Installed-Size}", p],
            capture_output=True,
            text=True,
            check=False,
        )
        words = r.stdout.split()
        if r.returncode == 0 and "installed" in words[:3] and words[-1].isdigit():
            total += int(words[-1]) / 1024
            found.append(p)
    return total, found


def _timed(cmd: list[str], cwd: Path, env: dict | None = None) -> float | str:
    t0 = time.perf_counter()
    r = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )
    if r.returncode != 0:
        return (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1][:160]
    return time.perf_counter() - t0


_NUMBA_JIT = """
import sys, time
sys.path.insert(0, {root!r})
import numpy as np
from ladder import p4_numba as m
x = np.random.default_rng(0).standard_normal((64, 768)).astype(np.float32)
t0 = time.perf_counter(); m.matrix(m.prepare(x)); first = time.perf_counter() - t0
t0 = time.perf_counter(); m.matrix(m.prepare(x)); again = time.perf_counter() - t0
print(first - again)  # prepare compiles the sequential and the prange versions
"""


def builds(times: dict) -> tuple[list[str], dict]:
    """Each native Python rung built from nothing, timed in this run, with the
    toolchain it needs and what it produces; then how they compare."""
    facts: dict = {}
    import importlib.util

    def site(mod: str) -> Path | None:
        spec = importlib.util.find_spec(mod)
        return Path(spec.origin).parent if spec and spec.origin else None

    # Rust: a clean release build (LTO, one codegen unit) in a fresh target dir.
    cargo = Path(os.environ.get("RUST_CARGO", "/usr/bin/cargo"))
    rust_mib, rust_pkgs = _dpkg_mib(
        [
            "rustc",
            "cargo",
            "libstd-rust-dev",
            "libstd-rust-1.63",
            "librust-pyo3-dev",
            "librust-rayon-dev",
        ]
    )
    if cargo.exists():
        with tempfile.TemporaryDirectory() as tmp:
            facts["rust_build_s"] = _timed(
                [str(cargo), "build", "--release", "--offline", "--target-dir", tmp],
                ROOT / "rust",
                {"PYO3_PYTHON": sys.executable},
            )
    else:
        facts["rust_build_s"] = f"{cargo} not found"
    facts["rust_toolchain_mib"], facts["rust_packages"] = rust_mib, rust_pkgs
    so = ROOT / "ladder" / "simladder_rs.so"
    facts["rust_so_kib"] = so.stat().st_size / 1024 if so.exists() else None

    # Cython: .pyx -> C -> the extension, what `make ladder-ext` runs.
    facts["cython_build_s"] = _timed([sys.executable, "ladder/build_ext.py"], ROOT)
    cy = site("Cython")
    facts["cython_mib"] = _dir_mib(cy) if cy else None
    ext = sorted((ROOT / "ladder").glob("p3_cython_impl*.so"))
    facts["cython_so_kib"] = ext[0].stat().st_size / 1024 if ext else None

    # Numba: no build step; the first call compiles (in a fresh cache).
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(
            [sys.executable, "-c", _NUMBA_JIT.format(root=str(ROOT))],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "NUMBA_CACHE_DIR": tmp},
        )
    try:
        facts["numba_jit_s"] = float(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        facts["numba_jit_s"] = (r.stderr.strip().splitlines() or ["failed"])[-1][:160]
    nb, ll = site("numba"), site("llvmlite")
    facts["numba_mib"] = (_dir_mib(nb) or 0) + (_dir_mib(ll) or 0) if nb else None

    def secs(v) -> str:
        return f"{v:.1f} s" if isinstance(v, float) else f"failed: {v}"

    def mib(v) -> str:
        return f"{v:.0f} MiB" if v else "-"

    from perf.notes import fmt_s

    def t(name: str) -> str:
        return fmt_s(times[name]) if name in times else "-"

    def than(a: str, b: str) -> str:
        r = times[b] / times[a]
        return f"{r:.1f}x faster than {b}" if r >= 1 else f"{1 / r:.1f}x slower than {b}"

    cy_row = (
        f"| p3 Cython | {secs(facts['cython_build_s'])} | Cython from PyPI, "
        f"{mib(facts['cython_mib'])} | a {facts['cython_so_kib'] or 0:.0f} KiB extension | "
        f"{t('p3')} / - |"
    )
    nb_row = (
        f"| p4 Numba | {secs(facts['numba_jit_s'])} at the first call of every new process "
        f"without a cache | numba + llvmlite from PyPI, {mib(facts['numba_mib'])} | "
        f"none (a cache in `__pycache__`) | {t('p4-numba')} / {t('p4-numba-par')} |"
    )
    rs_row = (
        f"| p5 Rust | {secs(facts['rust_build_s'])} | Debian's rustc 1.63, cargo and crates "
        f"({', '.join(rust_pkgs) or 'not installed'}), {mib(rust_mib)} installed | a "
        f"{facts['rust_so_kib'] or 0:.0f} KiB extension | {t('p5-rust')} / {t('p5-rust-par')} |"
    )
    intro = (
        "Each built from nothing in this run (Rust: `cargo build --release --offline` in an "
        "empty target directory, LTO and one codegen unit; Cython: `ladder/build_ext.py`, "
        ".pyx to C to the extension; Numba: its first call in an empty cache, minus a "
        "second (the rung's prepare compiles both its versions)), with the toolchain each "
        "needs beyond Python, NumPy and gcc."
    )
    lines = [
        "## Cython, Numba and Rust: what each costs to build",
        "",
        intro,
        "",
        "| rung | build | toolchain | artefact | matrix, 10k (1 thread / all) |",
        "|---|---|---|---|---|",
        cy_row,
        nb_row,
        rs_row,
        "",
    ]
    if all(n in times for n in ("p3", "p4-numba", "p5-rust", "c3", "c4")):
        lines.append(
            f"On one thread the Rust rung is {than('p5-rust', 'p3')} and "
            f"{than('p5-rust', 'p4-numba')} here, for the same algorithm (norms once, each "
            "pair once). The difference is the inner loop, not the language: the Cython and "
            "Numba loops carry one running sum, which IEEE order forbids vectorising, while "
            "LLVM turns the Rust rung's 16 `chunks_exact` lanes into four SSE accumulators "
            "(`movups`, `mulps`, `addps`; rust/dot_lanes.x86_64.s holds the assembly) and two "
            "rows share each load of the third. It has no FMA and no AVX (a portable x86-64 "
            f"build), yet is {than('p5-rust', 'c3')}, the C rung with AVX2 intrinsics that "
            "takes one pair at a time, because sharing loads matters more here than width; "
            f"the blocked C rung c4 is {than('c4', 'p5-rust')}. The price: Rust needs "
            f"{mib(rust_mib)} of toolchain and {secs(facts['rust_build_s'])} to build, "
            f"Cython {mib(facts['cython_mib'])} and {secs(facts['cython_build_s'])}, and "
            f"Numba {mib(facts['numba_mib'])} with {secs(facts['numba_jit_s'])} of compiling "
            "in every process that has no cache (rust/README.md has more on the Rust build)."
        )
    return lines, facts
