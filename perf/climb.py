"""The climb: every rung of the ladder on one workload, measured side by side.

    .venv/bin/python perf/climb.py              # what `make climb` runs
    .venv/bin/python perf/climb.py --quick      # a smaller workload, a minute or so

The job is the lab's: the full cosine similarity matrix of n x d float32
vectors (default 10,000 x 768, seed 0), then the kNN graph (k = 10) for the
rungs and peers that do kNN. Each rung runs in its own process (so its peak
memory is its own) with a time budget: a rung too slow for the full n runs
on the largest n its budget allows, and its time is extrapolated by n^2 and
labelled so. Flops are counted the same way for every rung, n^2 d: the useful
work of the symmetric self job (2 flops per multiply-add, each unordered
pair once), whatever a rung actually executes.

It writes NOTES.md and the plot perf/climb.png, and the raw record to
perf/history/. Every number in NOTES.md comes from this run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# ---- the rungs ----

C_RUNGS = [
    ("c0", "C, naive: norms recomputed for every pair"),
    ("c1", "C: norms once, each pair once (symmetry)"),
    ("c2", "C: normalised rows, restrict, auto-vectorised"),
    ("c3", "C: explicit SIMD, several accumulators, a pair at a time"),
    ("c4", "C: packed panels, register-tiled micro-kernel, cache blocking (1 thread)"),
    ("c5", "C: c4 on all cores (simladder's fp32 top rung)"),
    ("c6", "C: bf16 tiles, bounded candidates re-scored in fp32 (exact)"),
    ("c7", "C: integer tiles (int8; int16 on AVX2), bounded candidates re-scored in fp32 (exact)"),
]
THREADED = {"c5", "c6", "c7"}
LAST_STATS: dict = {}  # the C rungs' statistics of their last call (kernel, re-scores)
# Reduced precision only pays where something can be filtered: a matrix
# needs every entry exact, so c6 and c7 hand it to c5 and have no matrix row.
KNN_ONLY = {"c6", "c7"}


# The kNN table: the rungs that compete on it. The pair-at-a-time rungs do
# the same work for kNN as for the matrix, so the matrix table says it all.
KNN_RUNGS = {
    "p2",
    "p4-numba-par",
    "p5-rust-par",
    "c4",
    "c5",
    "c6",
    "c7",
    "sklearn",
    "faiss",
    "hnswlib",
}


def make_rungs(python: bool = True) -> list:
    """Every rung in ladder order: Python rungs and peers from ladder/, C
    rungs from the simladder module. A rung that cannot run carries the
    reason instead of disappearing."""
    rungs = []
    try:
        if not python:
            raise ImportError("not asked for")
        import ladder
        from ladder.common import Rung
    except Exception as e:  # noqa: BLE001 - any failure is reported in the table
        ladder = None
        err = f"ladder/ failed to import: {e}"
        Rung = None
    if ladder is not None:
        py = [r for r in ladder.all_rungs()]
    else:
        py = []
    try:
        import simladder
    except Exception as e:  # noqa: BLE001
        simladder = None
        sl_err = str(e)

    def c_rung(name, describe):
        threads = 0 if name in THREADED else 1

        def matrix(x, name=name, threads=threads):
            return simladder.matrix(x, kernel=name, threads=threads)

        def knn(x, k, name=name, threads=threads):
            LAST_STATS.clear()
            return simladder.knn(x, k, kernel=name, threads=threads, stats=LAST_STATS)

        if Rung is not None:
            r = Rung(
                name=name,
                describe=describe,
                prepare=lambda x: x,
                matrix=matrix,
                knn=knn,
                threads=os.cpu_count() if name in THREADED else 1,
            )
        else:
            r = argparse.Namespace(
                name=name,
                describe=describe,
                prepare=lambda x: x,
                matrix=matrix,
                knn=knn,
                approximate=False,
                threads=os.cpu_count() if name in THREADED else 1,
                unavailable=None,
            )
        if simladder is None:
            r.unavailable = f"simladder module: {sl_err}"
        return r

    order = [r.name for r in py]
    cut = next((i for i, n in enumerate(order) if not n.startswith("p")), len(py))
    rungs = py[:cut] + [c_rung(n, d) for n, d in C_RUNGS] + py[cut:]
    if ladder is None and python:
        rungs.insert(
            0,
            argparse.Namespace(
                name="p*",
                describe="the Python rungs",
                unavailable=err,
                approximate=False,
                threads=1,
                matrix=None,
                knn=None,
            ),
        )
    return rungs


def find_rung(name: str):
    if name in dict(C_RUNGS):
        return next(r for r in make_rungs(python=False) if r.name == name)
    import ladder

    return ladder.rung(name)


# ---- one measurement, in its own process ----


def workload(n: int, d: int, seed: int = 0) -> np.ndarray:
    """The first n rows of the seeded default workload (prefixes agree)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d), dtype=np.float32)


def load_set(path: str, n: int) -> np.ndarray:
    return np.ascontiguousarray(np.load(path, mmap_mode="r")[:n], dtype=np.float32)


def reference_rows(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """float64 cosines of the given rows against all rows (zero rows: 0)."""
    x64 = x.astype(np.float64)
    nrm = np.linalg.norm(x64, axis=1)
    inv = np.divide(1.0, nrm, out=np.zeros_like(nrm), where=nrm > 0)
    xn = x64 * inv[:, None]
    return xn[rows] @ xn.T


def status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_reset() -> int:
    """Restart the peak-RSS count (Linux: writing 5 to clear_refs resets
    VmHWM) and return the current RSS in KiB, the baseline for the peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return status_kib("VmRSS") or 0
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_kib() -> int:
    return status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_worker(req: dict) -> dict:
    """Times one rung on one job; prints nothing but its JSON answer."""
    rung = find_rung(req["rung"])
    x = load_set(req["data"], req["n"]) if req.get("data") else workload(req["n"], req["d"])
    n = x.shape[0]
    p = rung.prepare(x)
    fn = rung.matrix if req["job"] == "matrix" else rung.knn
    args = (p,) if req["job"] == "matrix" else (p, req["k"])
    base = peak_reset()
    times, out = [], None
    for _ in range(req["repeats"]):
        out = None
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    peak = peak_kib() - base
    res = {"times": times, "n": n, "extra_rss_mib": peak / 1024}
    if LAST_STATS:
        res["stats"] = dict(LAST_STATS)
    rows = np.unique(np.linspace(0, n - 1, min(n, 64)).astype(np.int64))
    ref = reference_rows(x, rows)
    if req["job"] == "matrix":
        m = np.asarray(out, dtype=np.float64)
        res["max_err"] = float(np.max(np.abs(m[rows] - ref)))
    else:
        sims, idx = out
        sims, idx = np.asarray(sims), np.asarray(idx)
        k = req["k"]
        r = ref.copy()
        r[np.arange(len(rows)), rows] = -np.inf
        kth = -np.sort(-r, axis=1)[:, k - 1]
        got = idx[rows]
        valid = got >= 0
        true_sims = np.take_along_axis(r, np.where(valid, got, 0), axis=1)
        # recall@k against the exact answer, counting exact ties as hits
        hits = (valid & (true_sims >= kth[:, None] - 1e-6)).sum()
        res["recall"] = float(hits / (len(rows) * k))
        res["max_err"] = float(np.max(np.abs(sims[rows][valid] - true_sims[valid])))
    return res


def measure(req: dict, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(req)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1]
        return {"error": last[:200]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def climb_rung(rung, job: str, n_full: int, d: int, k: int, budget: float, data: str | None):
    """Runs a rung on the full n if its budget allows, else on the largest n
    that fits, extrapolated by n^2."""
    base = {"rung": rung.name, "job": job, "d": d, "k": k, "data": data}
    if getattr(rung, "approximate", False):
        # an index is not an n^2 algorithm: never extrapolate it, run it once
        res = measure({**base, "n": n_full, "repeats": 1}, timeout=600)
        if "error" not in res:
            res.update(measured_s=res["times"][0], seconds=res["times"][0], extrapolated=False)
        return res
    probe_n = min(n_full, 64 if rung.name in ("p0", "p1") else 400)
    first = measure({**base, "n": probe_n, "repeats": 1}, timeout=budget * 4 + 60)
    if "error" in first:
        return first
    t_probe = max(first["times"][0], 1e-6)
    est_full = t_probe * (n_full / probe_n) ** 2
    if probe_n == n_full or est_full <= budget:
        n = n_full
    else:
        n = int(probe_n * (budget / 2 / t_probe) ** 0.5)
        n = max(probe_n, min(n_full, n))
    est = t_probe * (n / probe_n) ** 2
    repeats = 3 if est * 3 <= budget else 1
    res = measure({**base, "n": n, "repeats": repeats}, timeout=max(60, est * repeats * 6 + 60))
    if "error" in res:
        return res
    t = statistics.median(res["times"])
    if n < n_full and t * (n_full / n) ** 2 <= budget:
        # the small probe overestimated (fixed costs): the full size fits
        est = t * (n_full / n) ** 2
        full = measure(
            {**base, "n": n_full, "repeats": 3 if est * 3 <= budget else 1},
            timeout=max(60, est * 20 + 60),
        )
        if "error" not in full:
            res, n = full, n_full
            t = statistics.median(res["times"])
    res["measured_s"] = t
    res["seconds"] = t * (n_full / n) ** 2
    res["extrapolated"] = n != n_full
    return res


# ---- the run ----

from perf.notes import fmt_s  # noqa: E402 - ROOT is on sys.path from here on


def machine_facts() -> dict:
    import simladder

    info = simladder.info()
    facts = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_features": info["cpu"],
        "auto_kernel": info["auto"],
        "cpus": os.cpu_count(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    from perf.peers import core_name, cpuinfo

    cpu, _ = cpuinfo()
    facts.update({key: cpu[key] for key in ("cpu", "cpu_family", "model") if key in cpu})
    if core_name(facts):
        facts["cpu"] = f"{facts['cpu']} ({core_name(facts)})"
    facts["commit"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    versions = {"numpy": np.__version__, "simladder": simladder.__version__}
    from importlib import metadata

    for dist in (
        "numba",
        "Cython",
        "faiss-cpu",
        "hnswlib",
        "scikit-learn",
        "simsimd",
        "matplotlib",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "absent"
    rust = ROOT / "rust" / "Cargo.toml"
    if (ROOT / "ladder" / "simladder_rs.so").exists() and rust.exists():
        versions["rust rung"] = "built (pyo3 0.17, rayon 1.6, Debian's crates)"
    facts["versions"] = versions
    return facts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("-d", type=int, default=768)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--budget", type=float, default=15.0, help="seconds per slow rung")
    ap.add_argument("--quick", action="store_true", help="n = 2000, short budgets")
    ap.add_argument("--notes", default=str(ROOT / "NOTES.md"))
    ap.add_argument("--no-record", action="store_true")
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(run_worker(json.loads(a.worker))))
        return 0
    if a.quick:
        a.n, a.budget = 2000, 5.0

    import simladder

    t_start = time.perf_counter()
    facts = machine_facts()
    print(f"# climb: n = {a.n}, d = {a.d}, k = {a.k}; {facts.get('cpu', '?')}", flush=True)
    peak1 = simladder.peak_gflops(1, 0.5)
    peakT = simladder.peak_gflops(0, 0.5)
    print(f"# FMA peak {peak1:.1f} GFLOP/s (1 thread), {peakT:.1f} (all threads)", flush=True)

    flops = float(a.n) ** 2 * a.d
    rows = []
    for rung in make_rungs():
        for job in ("matrix", "knn"):
            fn = getattr(rung, job, None)
            if getattr(rung, "unavailable", None):
                if job == "matrix":
                    rows.append({"rung": rung.name, "job": job, "error": rung.unavailable})
                continue
            if fn is None or (job == "knn" and rung.name not in KNN_RUNGS):
                continue
            if job == "matrix" and rung.name in KNN_ONLY:
                continue
            res = climb_rung(rung, job, a.n, a.d, a.k, a.budget, None)
            res.update(
                rung=rung.name,
                job=job,
                describe=rung.describe,
                threads=rung.threads,
                approximate=rung.approximate,
            )
            rows.append(res)
            if "error" in res:
                print(f"{rung.name:16s} {job:6s} unavailable: {res['error']}", flush=True)
            else:
                ext = f"(extrapolated from n = {res['n']})" if res["extrapolated"] else ""
                print(
                    f"{rung.name:16s} {job:6s} {fmt_s(res['seconds']):>9s} "
                    f"err {res['max_err']:.1e} {ext}",
                    flush=True,
                )

    from perf import sections

    times = {r["rung"]: r["seconds"] for r in rows if r["job"] == "matrix" and "seconds" in r}
    x = workload(a.n, a.d)
    extra, facts_extra = [], {}
    steps = [
        ("overhead", lambda: sections.call_overhead(a.d)),
        ("concurrency", lambda: sections.concurrency(a.d)),
        ("memory", lambda: sections.memory(x, a.k)),
        ("bytecode", lambda: sections.bytecode(x, times)),
        ("profiles", lambda: sections.profiles(x)),
        ("real_data", lambda: sections.real_data(climb_rung, a.k, a.budget)),
        ("builds", lambda: sections.builds(times)),
    ]
    for name, fn in steps:
        t0 = time.perf_counter()
        try:
            lines, f = fn()
        except Exception as e:  # noqa: BLE001 - a failed section is reported, not fatal
            lines, f = [f"## {name}", "", f"(this section failed: {type(e).__name__}: {e})"], {}
        extra.append(lines)
        facts_extra[name] = f
        print(f"# section {name}: {time.perf_counter() - t0:.1f} s", flush=True)

    record = {
        "kind": "climb",
        "sections": extra,
        "facts": facts_extra,
        "machine": facts,
        "workload": {"n": a.n, "d": a.d, "k": a.k, "seed": 0},
        "peak_gflops_1": peak1,
        "peak_gflops_all": peakT,
        "flops": flops,
        "rows": rows,
        "seconds_total": time.perf_counter() - t_start,
    }
    from perf import notes

    out = Path(a.notes).resolve()
    png = ROOT / "perf" / "climb.png" if out == ROOT / "NOTES.md" else out.with_suffix(".png")
    notes.write(record, out, png)
    if not a.no_record and not a.quick:
        hist = ROOT / "perf" / "history"
        hist.mkdir(exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        (hist / f"climb-{stamp}-{facts['commit']}.json").write_text(json.dumps(record, indent=1))
    print(f"# wrote {a.notes} in {record['seconds_total']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
