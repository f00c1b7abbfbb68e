"""The peers' side of perf/peers.py: NumPy, faiss and hnswlib, timed in a
long-lived process so the figure is the work, not interpreter start-up.

It runs under whichever interpreter the driver picks (Debian's python3 with
python3-numpy/python3-faiss, or the project's .venv with the PyPI wheels), so
it imports nothing but what is there. One JSON command per stdin line, one
JSON answer per stdout line.
"""

from __future__ import annotations

import json
import sys
import time


def answer(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    import numpy as np

    sets: dict[str, np.ndarray] = {}
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        try:
            if cmd == "quit":
                break
            if cmd == "versions":
                out = {
                    "python": sys.version.split()[0],
                    "numpy": np.__version__,
                    "numpy_path": np.__file__,
                }
                try:
                    cfg = np.show_config(mode="dicts")  # NumPy >= 1.25
                    out["blas"] = cfg.get("Build Dependencies", {}).get("blas", {}).get("name", "?")
                except Exception:  # noqa: BLE001 - older NumPy: no dict form
                    out["blas"] = "?"
                for mod in ("faiss", "hnswlib"):
                    try:
                        m = __import__(mod)
                        out[mod] = getattr(m, "__version__", "present")
                    except Exception as e:  # noqa: BLE001 - report why a peer is absent
                        out[mod] = f"absent: {type(e).__name__}: {e}"
                answer(out)
            elif cmd == "load":
                sets[req["name"]] = np.fromfile(req["path"], dtype=np.float32).reshape(
                    req["n"], req["d"]
                )
                answer({"ok": True})
            elif cmd == "numpy_matrix":
                # reuse: into one output made (and written) on the first
                # call, untimed, as sl_worker's "matrix ... reuse" does;
                # NumPy still takes the syrk path for xn @ xn.T with out=.
                x, key = sets[req["name"]], req["name"] + "/matrix"
                if req.get("reuse") and key not in sets:
                    sets[key] = np.zeros((len(x), len(x)), np.float32)
                t0 = time.perf_counter()
                xn = x / np.linalg.norm(x, axis=1, keepdims=True)
                s = np.matmul(xn, xn.T, out=sets[key]) if req.get("reuse") else xn @ xn.T
                t = time.perf_counter() - t0
                answer({"seconds": t, "checksum": float(s[::97, ::89].sum())})
            elif cmd == "numpy_gemm":
                # The BLAS alone on a plain product of two different
                # matrices (X against a reversed copy, so no syrk): what
                # fraction of the FMA peak the machine's sgemm reaches.
                # The copy and the output are made on the first call only
                # (setdefault would build its default every call).
                x, key = sets[req["name"]], req["name"] + "/gemm"
                if key not in sets:
                    sets[key + "/y"] = np.ascontiguousarray(x[::-1])
                    sets[key] = np.empty((len(x), len(x)), np.float32)
                y, out = sets[key + "/y"], sets[key]
                t0 = time.perf_counter()
                np.matmul(x, y.T, out=out)
                t = time.perf_counter() - t0
                answer({"seconds": t, "checksum": float(out[::97, ::89].sum())})
            elif cmd == "numpy_knn":
                x, k = sets[req["name"]], req["k"]
                t0 = time.perf_counter()
                xn = x / np.linalg.norm(x, axis=1, keepdims=True)
                s = xn @ xn.T
                np.fill_diagonal(s, -np.inf)
                part = np.argpartition(-s, k, axis=1)[:, :k]
                ps = np.take_along_axis(s, part, axis=1)
                order = np.argsort(-ps, axis=1, kind="stable")
                idx = np.take_along_axis(part, order, axis=1)
                t = time.perf_counter() - t0
                np.save(req["out"], idx.astype(np.int64))
                answer({"seconds": t})
            elif cmd == "faiss_knn":
                import faiss

                faiss.omp_set_num_threads(req.get("threads", 2))
                x, k = sets[req["name"]], req["k"]
                q = sets[req["queries"]] if req.get("queries") else None
                t0 = time.perf_counter()
                xb = x.copy()
                faiss.normalize_L2(xb)
                index = faiss.IndexFlatIP(xb.shape[1])
                index.add(xb)
                if q is None:
                    _, idx = index.search(xb, k + 1)
                    # drop self by id (a duplicate may rank first)
                    keep = idx != np.arange(len(x))[:, None]
                    keep[keep.sum(axis=1) > k, -1] = False
                    idx = idx[keep].reshape(len(x), k)
                else:
                    xq = q.copy()
                    faiss.normalize_L2(xq)
                    _, idx = index.search(xq, k)
                t = time.perf_counter() - t0
                np.save(req["out"], idx.astype(np.int64))
                answer({"seconds": t})
            elif cmd == "hnsw_knn":
                import hnswlib

                x, k = sets[req["name"]], req["k"]
                t0 = time.perf_counter()
                index = hnswlib.Index(space="cosine", dim=x.shape[1])
                index.init_index(max_elements=len(x), ef_construction=200, M=16, random_seed=1)
                index.set_num_threads(req.get("threads", 2))
                index.add_items(x, np.arange(len(x)))
                t_build = time.perf_counter() - t0
                index.set_ef(max(64, 2 * k))
                idx, _ = index.knn_query(x, k=k + 1)
                t = time.perf_counter() - t0
                keep = idx != np.arange(len(x))[:, None]
                keep[keep.sum(axis=1) > k, -1] = False
                idx = idx[keep].reshape(len(x), k)
                np.save(req["out"], idx.astype(np.int64))
                answer({"seconds": t, "build": t_build})
            else:
                answer({"error": f"unknown command {cmd}"})
        except Exception as e:  # noqa: BLE001 - the driver reports it and goes on
            answer({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
