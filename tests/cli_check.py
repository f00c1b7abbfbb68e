"""CLI tests for simladder, standard library only (a fresh machine has no NumPy).

Usage: python3 tests/cli_check.py path/to/simladder

Writes .npy inputs by hand, runs the CLI, reads its .npz/.npy outputs with
zipfile + struct, and checks them against a float64 evaluation in Python.
Every bad input must give exit status 1 or 2, one line on stderr, and no output file.
"""

from __future__ import annotations

import math
import os
import random
import struct
import subprocess
import sys
import tempfile
import zipfile

BIN = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="sl_cli_")
passed = failed = 0


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def check(name: str, cond: bool, detail: str = "") -> None:
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def npy_header(descr: str, shape: tuple[int, ...], fortran: bool = False) -> bytes:
    head = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"
    pad = 64 - (10 + len(head) + 1) % 64
    return (
        b"\x93NUMPY\x01\x00"
        + struct.pack("<H", len(head) + pad + 1)
        + (head + " " * pad + "\n").encode()
    )


def npy_bytes(rows: list[list[float]], descr: str = "<f4", fortran: bool = False) -> bytes:
    n, d = len(rows), len(rows[0])
    fmt = {"<f4": "<f", ">f4": ">f", "<f8": "<d", "<f2": "<e"}[descr]
    flat = (
        [rows[i][j] for j in range(d) for i in range(n)]
        if fortran
        else [v for r in rows for v in r]
    )
    return npy_header(descr, (n, d), fortran) + struct.pack(f"{fmt[0]}{len(flat)}{fmt[1]}", *flat)


def write(name: str, data: bytes) -> str:
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def parse_npy(data: bytes) -> tuple[tuple[int, ...], list]:
    assert data[:6] == b"\x93NUMPY", "bad magic"
    hlen = struct.unpack("<H", data[8:10])[0]
    header = data[10 : 10 + hlen].decode()
    d = eval(header)
    shape = d["shape"]
    count = 1
    for s in shape:
        count *= s
    fmt = {"<f4": "f", "<i8": "q"}[d["descr"]]
    return shape, list(struct.unpack(f"<{count}{fmt}", data[10 + hlen :]))


def load_npz(path: str) -> dict:
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None, "CRC mismatch"
        return {n[:-4]: parse_npy(z.read(n)) for n in z.namelist()}


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(
        [BIN, *args], check=False, capture_output=True, text=True, env=e, timeout=300
    )


def cos(x: list[float], y: list[float]) -> float:
    nx = math.sqrt(sum(v * v for v in x))
    ny = math.sqrt(sum(v * v for v in y))
    if nx == 0 or ny == 0:
        return 0.0
    return sum(a * b for a, b in zip(x, y)) / (nx * ny)


def leftovers() -> list[str]:
    return [f for f in os.listdir(TMP) if ".tmp." in f]


rng = random.Random(7)
N, D, K = 60, 17, 5
X = [[rng.gauss(0, 1) for _ in range(D)] for _ in range(N)]
X[5] = list(X[3])  # an exact duplicate
X[9] = [0.0] * D  # a zero row
REF = [[cos(X[i], X[j]) for j in range(N)] for i in range(N)]
BOUND = (2 * D + 8) * 2.0**-24
inp = write("x.npy", npy_bytes(X))

# ---- info ----
r = run("info")
check("info runs", r.returncode == 0 and "auto:" in r.stdout, r.stderr)
r = run("info", env={"SL_ISA": "scalar"})
auto = [ln for ln in r.stdout.splitlines() if ln.startswith("auto:")]
check("info with AVX masked off", r.returncode == 0 and auto and "avx" not in auto[0], r.stdout)

# ---- knn against the float64 reference, every rung, and with SIMD masked off ----
kernels = [ln.split()[0] for ln in run("info").stdout.splitlines() if " usable " in ln]
cases = [(k, {}) for k in kernels] + [("auto", {"SL_ISA": "scalar"}), ("c4", {"SL_ISA": "scalar"})]
for kern, env in cases:
    out = os.path.join(TMP, f"knn_{kern}.npz")
    r = run("knn", inp, "-k", str(K), "-o", out, "--kernel", kern, "--quiet", env=env)
    if not check(f"knn {kern} {env} exit", r.returncode == 0, r.stderr):
        continue
    res = load_npz(out)
    (shape, idx), (_, sims) = res["indices"], res["similarities"]
    check(f"knn {kern} shape", tuple(shape) == (N, K), str(shape))
    bad = 0
    for i in range(N):
        order = sorted((j for j in range(N) if j != i), key=lambda j: (-REF[i][j], j))
        kth = REF[i][order[K - 1]]
        for rnk in range(K):
            j = idx[i * K + rnk]
            if j == i or abs(sims[i * K + rnk] - REF[i][j]) > BOUND:
                bad += 1
            if REF[i][j] < kth - 2 * BOUND:
                bad += 1
    check(f"knn {kern} {env} matches float64", bad == 0, f"{bad} bad entries")
    check(f"knn {kern} duplicate found", idx[3 * K] == 5 and idx[5 * K] == 3, str(idx[3 * K]))

# ---- k >= n pads with -1 / -inf ----
out = os.path.join(TMP, "pad.npz")
r = run("knn", inp, "-k", str(N + 3), "-o", out, "--quiet")
if check("knn k>n exit", r.returncode == 0, r.stderr):
    res = load_npz(out)
    idx, sims = res["indices"][1], res["similarities"][1]
    row0 = idx[: N + 3]
    check(
        "knn k>n padding",
        row0[N - 1 :] == [-1] * 4 and all(s == -math.inf for s in sims[N - 1 : N + 3]),
        str(row0[N - 3 :]),
    )

# ---- join ----
for tau in (0.3, 0.0, -1.0):
    out = os.path.join(TMP, "join.npz")
    r = run("join", inp, "--tau", str(tau), "-o", out, "--quiet")
    if not check(f"join {tau} exit", r.returncode == 0, r.stderr):
        continue
    res = load_npz(out)
    ii, jj, ss = res["i"][1], res["j"][1], res["similarities"][1]
    got = list(zip(ii, jj))
    want = {(i, j) for i in range(N) for j in range(i + 1, N) if REF[i][j] >= tau + BOUND}
    maybe = {(i, j) for i in range(N) for j in range(i + 1, N) if REF[i][j] >= tau - BOUND}
    check(f"join {tau} sorted, i<j", got == sorted(got) and all(i < j for i, j in got))
    check(f"join {tau} complete", want <= set(got), f"missing {sorted(want - set(got))[:5]}")
    check(f"join {tau} sound", set(got) <= maybe, f"extra {sorted(set(got) - maybe)[:5]}")
    check(f"join {tau} sims", all(abs(s - REF[i][j]) <= BOUND for i, j, s in zip(ii, jj, ss)))

# ---- matrix, and a cross job, and Fortran order / float64 / float16 inputs ----
out = os.path.join(TMP, "m.npy")
r = run("matrix", inp, "-o", out, "--quiet")
if check("matrix exit", r.returncode == 0, r.stderr):
    shape, m = parse_npy(read_bytes(out))
    check("matrix shape", tuple(shape) == (N, N))
    check(
        "matrix values",
        max(abs(m[i * N + j] - REF[i][j]) for i in range(N) for j in range(N)) <= BOUND,
    )
    check("matrix symmetric", all(m[i * N + j] == m[j * N + i] for i in range(N) for j in range(N)))
Q = X[:7]
qf = write("q_fortran.npy", npy_bytes(Q, fortran=True))
for descr in ("<f8", "<f2", ">f4"):
    xf = write(f"x_{descr[1:]}.npy", npy_bytes(X, descr=descr))
    out = os.path.join(TMP, "cross.npz")
    r = run("knn", xf, "--queries", qf, "-k", "3", "-o", out, "--quiet")
    if check(f"cross knn {descr} exit", r.returncode == 0, r.stderr):
        idx = load_npz(out)["indices"][1]
        tol = 2e-3 if descr == "<f2" else BOUND
        ok = all(REF[i][idx[i * 3]] >= max(REF[i]) - 2 * tol for i in range(7))
        check(f"cross knn {descr} nearest", ok and idx[0] == 0, str(idx[:6]))

# ---- bad input: one line on stderr, exit 1 or 2, no output left behind ----
nan_rows = [list(r) for r in X]
nan_rows[12][4] = float("nan")
inf_rows = [list(r) for r in X]
inf_rows[2][0] = float("inf")
good_npy = npy_bytes(X)
bad_files = {
    "missing": os.path.join(TMP, "does_not_exist.npy"),
    "empty": write("empty.npy", b""),
    "magic": write("magic.npy", b"NOTNUMPY" + good_npy[8:]),
    "truncated header": write("trunc_h.npy", good_npy[:40]),
    "truncated data": write("trunc_d.npy", good_npy[:-9]),
    "lying shape": write("lies.npy", good_npy.replace(b"(60, 17)", b"(61, 17)")),
    "dtype int": write("int.npy", good_npy.replace(b"'<f4'", b"'<i4'")),
    "object": write("obj.npy", good_npy.replace(b"'<f4'", b"'|O' ")),
    "nan": write("nan.npy", npy_bytes(nan_rows)),
    "inf": write("inf.npy", npy_bytes(inf_rows)),
    "n=0": write("n0.npy", npy_header("<f4", (0, 3))),
    "d=0": write("d0.npy", npy_header("<f4", (3, 0))),
}
for what, path in bad_files.items():
    out = os.path.join(TMP, "bad_out.npz")
    r = run("knn", path, "-k", "3", "-o", out, "--quiet")
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    check(f"bad {what}: exit", r.returncode in (1, 2), f"rc={r.returncode} {r.stderr!r}")
    check(f"bad {what}: one line", len(lines) == 1 and path in lines[0], repr(r.stderr))
    check(
        f"bad {what}: no output", not os.path.exists(out) and not leftovers(), str(os.listdir(TMP))
    )
r = run("knn", bad_files["nan"], "-k", "3", "-o", os.path.join(TMP, "o.npz"))
check("nan names row and column", "row 12, column 4" in r.stderr, r.stderr)

usage_cases = [
    ["knn", inp, "-k", "0", "-o", "o.npz"],
    ["knn", inp, "-k", "-3", "-o", "o.npz"],
    ["knn", inp, "-k", "x", "-o", "o.npz"],
    ["knn", inp, "-o", "o.npz"],
    ["knn", inp, "-k", "3"],
    ["join", inp, "--tau", "1.5", "-o", "o.npz"],
    ["join", inp, "--tau", "nan", "-o", "o.npz"],
    ["knn", inp, "-k", "3", "-o", "o.npz", "--kernel", "c99"],
    ["knn", inp, "-k", "3", "-o", "o.npz", "--bogus"],
    ["knn", inp, "-k", "3", "-o", "o.npz", "--threads", "-1"],
    ["knn", inp, "-k", "3", "-o", inp],
    ["frobnicate"],
    [],
]
for args in usage_cases:
    r = run(*args)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    check(f"usage {args}: exit 2", r.returncode == 2, f"rc={r.returncode} {r.stderr!r}")
    check(f"usage {args}: one line", len(lines) == 1, repr(r.stderr))
check("input untouched after -o INPUT", read_bytes(inp) == good_npy)

runtime_cases = {
    "d mismatch": [
        "knn",
        inp,
        "--queries",
        write("q3.npy", npy_bytes([[1.0, 2.0, 3.0]])),
        "-k",
        "2",
    ],
    "unwritable": ["knn", inp, "-k", "2", "-o", "/nonexistent_dir/o.npz"],
    "dev full": ["knn", inp, "-k", "2", "-o", "/dev/full"],
    "memory limit": ["knn", inp, "-k", "2", "--memory-limit", "1K"],
    "avx512 unavailable": ["knn", inp, "-k", "2", "--kernel", "c3-avx512"],
}
for what, args in runtime_cases.items():
    if what == "avx512 unavailable" and "c3-avx512" in kernels:
        continue
    if "-o" not in args:
        args = [*args, "-o", os.path.join(TMP, "rt.npz")]
    env = {"SL_ISA": "avx2"} if what == "avx512 unavailable" else None
    r = run(*args, "--quiet", env=env)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    check(f"runtime {what}: exit 1", r.returncode == 1, f"rc={r.returncode} {r.stderr!r}")
    check(f"runtime {what}: one line", len(lines) == 1, repr(r.stderr))
    check(
        f"runtime {what}: nothing left",
        not os.path.exists(os.path.join(TMP, "rt.npz")) and not leftovers(),
    )

# ---- TEXMEX inputs: the same data as .npy and as .fvecs / .bvecs / .ivecs ----


def vecs_bytes(rows: list[list], code: str) -> bytes:
    return b"".join(struct.pack("<i", len(r)) + struct.pack(f"<{len(r)}{code}", *r) for r in rows)


def knn_result(path: str, *extra: str) -> tuple[int, dict | str]:
    out = os.path.join(TMP, "vk.npz")
    r = run("knn", path, "-k", str(K), "-o", out, "--quiet", *extra)
    return r.returncode, (load_npz(out) if r.returncode == 0 else r.stderr)


X32 = [list(struct.unpack(f"<{D}f", struct.pack(f"<{D}f", *row))) for row in X]  # as float32
BINT = [[rng.randrange(256) for _ in range(D)] for _ in range(N)]
BINT[7] = list(BINT[2])
IINT = [[rng.randrange(-(2**31), 2**31) for _ in range(D)] for _ in range(N)]
texmex = [
    ("fvecs", write("x.fvecs", vecs_bytes(X32, "f")), (), inp),
    ("bvecs", write("b.bvecs", vecs_bytes(BINT, "B")), (), write("b.npy", npy_bytes(BINT))),
    (
        "ivecs",
        write("i.ivecs", vecs_bytes(IINT, "i")),
        ("--input-format", "ivecs"),
        write("i_f8.npy", npy_bytes(IINT, descr="<f8")),
    ),
    ("fvecs forced", write("x_fvecs.dat", vecs_bytes(X32, "f")), ("--input-format", "fvecs"), inp),
]
for what, path, extra, twin in texmex:
    rc, got = knn_result(path, *extra)
    rc2, want = knn_result(twin)
    if check(f"{what} knn exit", rc == 0 and rc2 == 0, f"{got!r} {want!r}"):
        check(f"{what} knn indices equal the .npy's", got["indices"] == want["indices"])
        check(
            f"{what} knn similarities equal the .npy's", got["similarities"] == want["similarities"]
        )
r = run(
    "knn", write("gt.ivecs", vecs_bytes(IINT, "i")), "-k", "2", "-o", os.path.join(TMP, "g.npz")
)
check(
    "ivecs without --input-format: exit 2",
    r.returncode == 2 and "--input-format ivecs" in r.stderr,
    r.stderr,
)
check("ivecs without --input-format: one line", len(r.stderr.strip().splitlines()) == 1, r.stderr)

good_fv = vecs_bytes(X32, "f")
incons = bytearray(good_fv)
incons[(4 + 4 * D) * 3 : (4 + 4 * D) * 3 + 4] = struct.pack("<i", D + 1)
bad_vecs = {
    "fvecs truncated": (write("trunc.fvecs", good_fv[:-5]), "not a multiple of the record size"),
    "fvecs inconsistent d": (write("incons.fvecs", bytes(incons)), "record 3 has d = 18"),
    "fvecs empty": (write("empty.fvecs", b""), "empty"),
    "fvecs d=0": (write("d0.fvecs", struct.pack("<i", 0) * 8), "d = 0"),
    "fvecs d<0": (write("dneg.fvecs", struct.pack("<i", -4) * 8), "d = -4"),
    "fvecs tiny": (write("tiny.fvecs", b"\x01\x00"), "truncated"),
    "bvecs truncated": (write("trunc.bvecs", vecs_bytes(BINT, "B")[:-1]), "not a multiple"),
    "npy descr with a newline": (write("nl.npy", good_npy.replace(b"'<f4'", b"'<\n4'")), "dtype"),
}
for what, (path, needle) in bad_vecs.items():
    out = os.path.join(TMP, "bad_out.npz")
    r = run("knn", path, "-k", "3", "-o", out, "--quiet")
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    check(f"bad {what}: exit 1", r.returncode == 1, f"rc={r.returncode} {r.stderr!r}")
    check(
        f"bad {what}: one line naming the file",
        len(lines) == 1 and path in lines[0] and needle in lines[0],
        repr(r.stderr),
    )
    check(
        f"bad {what}: no output", not os.path.exists(out) and not leftovers(), str(os.listdir(TMP))
    )

# ---- HDF5: works when built with libhdf5; otherwise one line saying how to get it ----
fake_h5 = write("fake.h5", b"not hdf5 at all")
for path in (fake_h5, fake_h5 + ":test"):
    r = run("knn", path, "-k", "3", "-o", os.path.join(TMP, "h.npz"), "--quiet")
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    check(f"hdf5 {path}: exit 1", r.returncode == 1, f"rc={r.returncode} {r.stderr!r}")
    check(
        f"hdf5 {path}: one line",
        len(lines) == 1
        and path in lines[0]
        and ("not an HDF5 file" in lines[0] or "libhdf5-dev" in lines[0]),
        repr(r.stderr),
    )
H5 = os.environ.get(
    "SL_TEST_H5"
)  # an ann-benchmarks file written by test_hdf5 (when built with HDF5)
if H5 and os.path.exists(H5):
    r = run("knn", H5, "-q", H5 + ":test", "-k", "1", "-o", os.path.join(TMP, "h.npz"), "--quiet")
    if check("hdf5 knn train/test exit", r.returncode == 0, r.stderr):
        idx = load_npz(os.path.join(TMP, "h.npz"))["indices"][1]
        check("hdf5 knn finds the planted neighbours", idx == [3, 0, 5], str(idx))
    r = run("knn", H5 + ":neighbors", "-k", "1", "-o", os.path.join(TMP, "h.npz"), "--quiet")
    check("hdf5 integer dataset refused", r.returncode == 1 and "integers" in r.stderr, r.stderr)
    r = run("knn", H5 + ":nope", "-k", "1", "-o", os.path.join(TMP, "h.npz"), "--quiet")
    check("hdf5 missing dataset", r.returncode == 1 and "no dataset 'nope'" in r.stderr, r.stderr)

# ---- output formats, each parsed back and compared with the .npz ----
import csv  # noqa: E402
import json  # noqa: E402


def f32(v: float) -> float:
    return struct.unpack("<f", struct.pack("<f", v))[0]


ref_join = os.path.join(TMP, "jref.npz")
r = run("join", inp, "--tau", "0.2", "-o", ref_join, "--quiet")
check("join npz reference", r.returncode == 0, r.stderr)
rj = load_npz(ref_join)
want = list(zip(rj["i"][1], rj["j"][1], rj["similarities"][1]))
check("join reference has pairs", len(want) > 10, str(len(want)))
for fmt in ("npz", "npy", "csv", "jsonl"):
    out = os.path.join(TMP, f"pairs.{fmt}")
    r = run("join", inp, "--tau", "0.2", "--format", fmt, "-o", out, "--quiet")
    if not check(f"join --format {fmt} exit", r.returncode == 0, r.stderr):
        continue
    if fmt == "npz":
        z = load_npz(out)
        got = list(zip(z["i"][1], z["j"][1], z["similarities"][1]))
    elif fmt == "npy":
        shape, ij = parse_npy(read_bytes(out))
        sshape, ss = parse_npy(read_bytes(os.path.join(TMP, "pairs.similarities.npy")))
        check(
            "join npy shapes",
            tuple(shape) == (len(want), 2) and tuple(sshape) == (len(want),),
            f"{shape} {sshape}",
        )
        got = [(ij[2 * t], ij[2 * t + 1], ss[t]) for t in range(len(ss))]
    elif fmt == "csv":
        with open(out, newline="") as fh:
            rows = list(csv.reader(fh))
        check("join csv header", rows[0] == ["i", "j", "similarity"], str(rows[:1]))
        got = [(int(a), int(b), f32(float(c))) for a, b, c in rows[1:]]
        digits = [
            len(c.lstrip("-").replace(".", "").split("e")[0].lstrip("0")) for _, _, c in rows[1:]
        ]
        check("join csv 9 significant digits at most", max(digits) <= 9, str(max(digits)))
    else:
        with open(out) as fh:
            objs = [json.loads(ln) for ln in fh]
        check("join jsonl keys", all(set(o) == {"i", "j", "similarity"} for o in objs))
        got = [(o["i"], o["j"], f32(o["similarity"])) for o in objs]
    check(f"join --format {fmt} equals the npz", got == want, f"{got[:3]} vs {want[:3]}")
r = run("join", inp, "--tau", "0.2", "--format", "csv", "-o", "-", "--quiet")
check(
    "join csv to stdout",
    r.returncode == 0
    and r.stdout.startswith("i,j,similarity\n")
    and len(r.stdout.splitlines()) == len(want) + 1,
    r.stderr,
)

out = os.path.join(TMP, "nn.npy")
r = run("knn", inp, "-k", str(K), "--format", "npy", "-o", out, "--quiet")
if check("knn --format npy exit", r.returncode == 0, r.stderr):
    rk = knn_result(inp)[1]
    shape, idx = parse_npy(read_bytes(out))
    sshape, sims = parse_npy(read_bytes(os.path.join(TMP, "nn.similarities.npy")))
    check("knn npy shapes", tuple(shape) == (N, K) and tuple(sshape) == (N, K), f"{shape} {sshape}")
    check("knn npy equals npz", idx == rk["indices"][1] and sims == rk["similarities"][1])

fmt_usage = [
    ["knn", inp, "-k", "3", "--format", "csv", "-o", "o.csv"],
    ["knn", inp, "-k", "3", "--format", "jsonl", "-o", "o.jsonl"],
    ["matrix", inp, "--format", "npz", "-o", "o.npz"],
    ["join", inp, "--tau", "0.5", "--format", "xml", "-o", "o.xml"],
    ["join", inp, "--tau", "0.5", "--format", "npy", "-o", "-"],
    ["knn", inp, "-k", "3", "--input-format", "parquet", "-o", "o.npz"],
    [
        "knn",
        inp,
        "-k",
        "3",
        "--format",
        "npy",
        "-o",
        os.path.join(TMP, "x"),
    ],  # x.similarities.npy is fine
]
for args in fmt_usage[:-1]:
    r = run(*args)
    check(
        f"usage {args[3:]}: exit 2, one line",
        r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1,
        f"rc={r.returncode} {r.stderr!r}",
    )
r = run(*fmt_usage[-1], "--quiet")
check(
    "knn npy without .npy suffix",
    r.returncode == 0 and os.path.exists(os.path.join(TMP, "x.similarities.npy")),
    r.stderr,
)
r = run("knn", inp, "-k", "2", "--format", "npy", "-o", "/dev/full", "--quiet")
check(
    "knn npy to /dev/full: exit 1, one line",
    r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1,
    repr(r.stderr),
)
check("nothing left behind", not leftovers(), str(leftovers()))

try:
    import numpy as np  # optional: the same files through NumPy itself
except ImportError:
    np = None
if np is not None:
    z = np.load(os.path.join(TMP, "pairs.npz"))
    p = np.load(os.path.join(TMP, "pairs.npy"))
    check("numpy: npy pairs match npz", (p[:, 0] == z["i"]).all() and (p[:, 1] == z["j"]).all())
    check(
        "numpy: fvecs",
        np.array_equal(
            np.fromfile(os.path.join(TMP, "x.fvecs"), dtype="<f4").reshape(N, D + 1)[:, 1:],
            np.array(X32, dtype=np.float32),
        ),
    )

# ---- a full disk: a 64 KiB tmpfs (root only), too small for the outputs ----
small = os.path.join(TMP, "small")
os.makedirs(small, exist_ok=True)
mounted = (
    os.geteuid() == 0
    and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small], capture_output=True, check=False
    ).returncode
    == 0
)
if mounted:
    big = write(
        "big.npy", npy_bytes([[float((i * 7 + j) % 11) for j in range(4)] for i in range(300)])
    )
    for cmd in (["matrix", big], ["knn", big, "-k", "250"], ["join", big, "--tau", "-1"]):
        out = os.path.join(small, "o.npy" if cmd[0] == "matrix" else "o.npz")
        r = run(*cmd, "-o", out, "--quiet")
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        check(f"full disk {cmd[0]}: exit 1", r.returncode == 1, f"rc={r.returncode} {r.stderr!r}")
        check(f"full disk {cmd[0]}: one line", len(lines) == 1, repr(r.stderr))
        check(f"full disk {cmd[0]}: nothing left", os.listdir(small) == [], str(os.listdir(small)))
    subprocess.run(["umount", small], check=False)
else:
    print("skipped: the full-disk checks need root to mount a small tmpfs")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
