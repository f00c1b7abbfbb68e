"""The ladder: the same job done rung by rung, each rung adding one idea.

Every module exposes RUNGS, a list of ladder.common.Rung; all_rungs() puts
them in the order the climb measures them."""

from __future__ import annotations

from .common import Rung

_MODULE = {
    "p0": "p0_pure",
    "p1": "p1_algo",
    "p2": "p2_numpy",
    "p3": "p3_cython",
    "p4-numba": "p4_numba",
    "p4-numba-par": "p4_numba",
    "p5-rust": "p5_rust",
    "p5-rust-par": "p5_rust",
}


def rung(name: str) -> Rung:
    """One rung by name, importing only its own module (a worker process that
    times p2 need not load numba)."""
    import importlib

    mod = _MODULE.get(name, "peers")
    try:
        m = importlib.import_module(f".{mod}", __name__)
    except ImportError as e:
        return Rung(name, "", unavailable=str(e))
    for r in m.RUNGS:
        if r.name == name:
            return r
    raise KeyError(f"no rung named {name}")


def all_rungs() -> list[Rung]:
    from . import p0_pure, p1_algo, p2_numpy, p3_cython, p4_numba, peers

    rungs = p0_pure.RUNGS + p1_algo.RUNGS + p2_numpy.RUNGS + p3_cython.RUNGS + p4_numba.RUNGS
    try:
        from . import p5_rust

        rungs += p5_rust.RUNGS
    except ImportError as e:
        rungs.append(Rung("p5-rust", "Rust + PyO3 (rayon)", unavailable=str(e)))
    return rungs + peers.RUNGS
