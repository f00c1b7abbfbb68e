from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__version__: str

def matrix(
    X: npt.ArrayLike,
    Y: npt.ArrayLike | None = ...,
    *,
    kernel: str | None = ...,
    threads: int = ...,
    memory_limit: int | None = ...,
    stats: dict[str, Any] | None = ...,
) -> npt.NDArray[np.float32]: ...
def knn(
    X: npt.ArrayLike,
    k: int,
    queries: npt.ArrayLike | None = ...,
    *,
    kernel: str | None = ...,
    threads: int = ...,
    memory_limit: int | None = ...,
    stats: dict[str, Any] | None = ...,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...
def join(
    X: npt.ArrayLike,
    tau: float,
    Y: npt.ArrayLike | None = ...,
    *,
    kernel: str | None = ...,
    threads: int = ...,
    memory_limit: int | None = ...,
    stats: dict[str, Any] | None = ...,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
def plan(
    op: Literal["matrix", "knn", "join"],
    X: npt.ArrayLike,
    Y: npt.ArrayLike | None = ...,
    k: int = ...,
    *,
    kernel: str | None = ...,
    threads: int = ...,
) -> int: ...
def info() -> dict[str, Any]: ...
def kernels(usable_only: bool = ...) -> list[str]: ...
def error_bound(d: int) -> float: ...
def peak_gflops(threads: int = ..., seconds: float = ...) -> float: ...
