"""Writes the fuzz seed corpora: small valid and invalid inputs, stdlib only.

Usage: python3 fuzz/make_corpus.py   (rewrites fuzz/corpus/npy and fuzz/corpus/vecs)
"""

from __future__ import annotations

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def npy(
    descr: str, shape: tuple[int, ...], payload: bytes, fortran: bool = False, version: int = 1
) -> bytes:
    head = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"
    lenbytes = 2 if version == 1 else 4
    pad = 64 - (8 + lenbytes + len(head) + 1) % 64
    body = (head + " " * pad + "\n").encode()
    size = struct.pack("<H" if version == 1 else "<I", len(body))
    return b"\x93NUMPY" + bytes([version, 0]) + size + body + payload


def vecs(rows: list[list], fmt: str) -> bytes:
    out = b""
    for r in rows:
        out += struct.pack("<i", len(r)) + struct.pack(f"<{len(r)}{fmt}", *r)
    return out


def put(sub: str, name: str, data: bytes) -> None:
    d = os.path.join(HERE, "corpus", sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main() -> None:
    f4 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    put("npy", "f4_2x3", npy("<f4", (2, 3), f4))
    put("npy", "f4_fortran", npy("<f4", (2, 3), f4, fortran=True))
    put("npy", "f8_1x2", npy("<f8", (1, 2), struct.pack("<2d", 0.5, -1)))
    put("npy", "f2_1d", npy("<f2", (3,), struct.pack("<3e", 1, 0, -2)))
    put("npy", "be_f4", npy(">f4", (1, 2), struct.pack(">2f", 1, 2)))
    put("npy", "v2", npy("<f4", (2, 3), f4, version=2))
    put("npy", "v3", npy("<f4", (2, 3), f4, version=3))
    put("npy", "bad_int", npy("<i4", (2, 3), f4))
    put("npy", "bad_trunc", npy("<f4", (2, 3), f4)[:-5])
    put("npy", "bad_extra", npy("<f4", (2, 3), f4) + b"\0")
    put("npy", "bad_3d", npy("<f4", (1, 2, 3), f4))
    put("npy", "bad_n0", npy("<f4", (0, 3), b""))
    put("npy", "bad_magic", b"\x93NUMPX\x01\x00\x10\x00{}")
    put("npy", "bad_hlen", b"\x93NUMPY\x01\x00\xff\xff{'descr'")

    rows = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, -1.0, 0.5]]
    put("vecs", "fvecs_3x3", vecs(rows, "f"))
    put("vecs", "fvecs_1x1", vecs([[7.0]], "f"))
    put("vecs", "bvecs_2x4", vecs([[0, 1, 2, 255], [9, 8, 7, 6]], "B"))
    put("vecs", "ivecs_2x2", vecs([[1, -2], [2**31 - 1, -(2**31)]], "i"))
    put("vecs", "bad_trunc", vecs(rows, "f")[:-3])
    put("vecs", "bad_d0", struct.pack("<i", 0) * 3)
    put("vecs", "bad_dneg", struct.pack("<i", -5) + b"\0" * 16)
    put("vecs", "bad_dhuge", struct.pack("<i", 2**31 - 1) + b"\0" * 8)
    bad = bytearray(vecs(rows, "f"))
    bad[16:20] = struct.pack("<i", 4)
    put("vecs", "bad_inconsistent", bytes(bad))
    put("vecs", "bad_short", b"\x03\x00")


if __name__ == "__main__":
    main()
