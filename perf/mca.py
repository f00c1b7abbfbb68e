"""What LLVM's scheduling models predict for the AVX2 micro-kernels' inner step.

    .venv/bin/python perf/mca.py [--mca /usr/lib/llvm-19/bin/llvm-mca]

The project's machines change from session to session, so a kernel tuned
on one may never meet the other. llvm-mca runs a loop through LLVM's model
of a CPU and reports its cycles per iteration; this script writes out one
depth step of each AVX2 register tile the way the kernels issue it (loads,
broadcasts, multiplies, adds: the same instructions gcc emits for
src/kernels/c4_avx2.c, c7_int16_avx2.c and c7_int8_avx2.c, without the
loop counter) and prints multiply-adds per cycle for Zen 3, Zen 4 and
Sapphire Rapids, and each kernel's ratio to the fp32 tile.

This is a model, not a measurement: it leaves out the caches, the
prefetcher and the epilogue, and its port tables have been wrong before
(LLVM 14 counts one 256-bit FMA per cycle on Zen 3, which does two, so use
LLVM 16 or later: `apt-get install llvm-19`). It answers one question the
machine at hand cannot: how the instruction mixes compare on a CPU we do
not have.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def fp32_6x16() -> tuple[list[str], int]:
    s = ["vmovaps (%rdi), %ymm14", "vmovaps 32(%rdi), %ymm15"]
    for r in range(6):
        s += [
            f"vbroadcastss {4 * r}(%rsi), %ymm13",
            f"vfmadd231ps %ymm14, %ymm13, %ymm{2 * r}",
            f"vfmadd231ps %ymm15, %ymm13, %ymm{2 * r + 1}",
        ]
    return s, 6 * 16


def int16_6x16() -> tuple[list[str], int]:
    s = ["vmovdqa (%rdi), %ymm14", "vmovdqa 32(%rdi), %ymm15"]
    for r in range(6):
        s += [
            f"vpbroadcastd {4 * r}(%rsi), %ymm13",
            "vpmaddwd %ymm14, %ymm13, %ymm12",
            f"vpaddd %ymm12, %ymm{2 * r}, %ymm{2 * r}",
            "vpmaddwd %ymm15, %ymm13, %ymm13",
            f"vpaddd %ymm13, %ymm{2 * r + 1}, %ymm{2 * r + 1}",
        ]
    return s, 6 * 16 * 2


def int16_3x32_mem() -> tuple[list[str], int]:
    """Three rows by 32 columns: the four column vectors are read by the
    multiplies themselves (no registers for them), so each broadcast feeds
    four vpmaddwd and 12 accumulators fit beside a broadcast and a product."""
    s = []
    for r in range(3):
        s.append(f"vpbroadcastd {4 * r}(%rsi), %ymm15")
        for v in range(4):
            s.append(f"vpmaddwd {32 * v}(%rdi), %ymm15, %ymm14")
            s.append(f"vpaddd %ymm14, %ymm{4 * r + v}, %ymm{4 * r + v}")
    return s, 3 * 32 * 2


def bytes_4x16(sign: bool) -> tuple[list[str], int]:
    if sign:  # |q_col| unsigned, q_row with the column's sign
        s = [
            "vmovdqa (%rdi), %ymm14",
            "vmovdqa 32(%rdi), %ymm15",
            "vpabsb %ymm14, %ymm8",
            "vpabsb %ymm15, %ymm9",
        ]
    else:  # q_col + 64 unsigned
        s = ["vpaddb (%rdi), %ymm11, %ymm8", "vpaddb 32(%rdi), %ymm11, %ymm9"]
    for r in range(4):
        s.append(f"vpbroadcastd {4 * r}(%rsi), %ymm13")
        for half, (raw, uns) in enumerate(((14, 8), (15, 9))):
            t = 12 if half == 0 else 13
            if sign:
                s.append(f"vpsignb %ymm{raw}, %ymm13, %ymm{t}")
                s.append(f"vpmaddubsw %ymm{t}, %ymm{uns}, %ymm{t}")
            else:
                s.append(f"vpmaddubsw %ymm13, %ymm{uns}, %ymm{t}")
            s.append(f"vpmaddwd %ymm10, %ymm{t}, %ymm{t}")
            s.append(f"vpaddd %ymm{t}, %ymm{2 * r + half}, %ymm{2 * r + half}")
    return s, 4 * 16 * 4


KERNELS = {
    "c5-avx2 fp32 6x16 (vfmadd231ps)": fp32_6x16,
    "c7-avx2 int16 6x16 (vpmaddwd)": int16_6x16,
    "int16 3x32, memory operands": int16_3x32_mem,
    "int8 4x16 (vpsignb + vpmaddubsw)": lambda: bytes_4x16(True),
    "int7 4x16 (vpmaddubsw)": lambda: bytes_4x16(False),
}
CPUS = ("znver3", "znver4", "sapphirerapids")


def find_mca(given: str | None) -> str:
    if given:
        return given
    for v in range(25, 15, -1):
        p = Path(f"/usr/lib/llvm-{v}/bin/llvm-mca")
        if p.exists():
            return str(p)
    p = shutil.which("llvm-mca")
    if p:
        print("warning: no LLVM >= 16 found; older znver3 models undercount FMA", file=sys.stderr)
        return p
    sys.exit("perf/mca.py: llvm-mca not found (apt-get install llvm-19)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mca", help="the llvm-mca to run (default: the newest LLVM's)")
    a = ap.parse_args()
    mca = find_mca(a.mca)
    ver = subprocess.run([mca, "--version"], check=False, capture_output=True, text=True).stdout
    line = next((x.strip() for x in ver.splitlines() if "version" in x), "llvm-mca")
    print(f"{line}; multiply-adds per cycle of one core, one depth step repeated")
    print(f"{'kernel':36s}" + "".join(f"{c:>16s}" for c in CPUS))
    base: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "step.s"
        for name, make in KERNELS.items():
            lines, macs = make()
            src.write_text("\n".join(lines) + "\n")
            cells = []
            for cpu in CPUS:
                out = subprocess.run(
                    [mca, f"-mcpu={cpu}", "-iterations=1000", str(src)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                cycles = next(int(x.split()[2]) for x in out.splitlines() if "Total Cycles" in x)
                rate = macs * 1000 / cycles
                base.setdefault(cpu, rate)
                cells.append(f"{rate:6.1f} ({rate / base[cpu]:4.2f}x)")
            print(f"{name:36s}" + "".join(f"{c:>16s}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
