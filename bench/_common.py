"""Shared helpers for the peer benchmarks: instance arrays, memory-bandwidth measurement,
peak-RSS measurement and timing."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "instance_arrays",
    "Bandwidth",
    "paired_floor_ratio",
    "PeakRSS",
    "best_time",
    "p_bytes",
]


# --------------------------------------------------------------------------- instances
def instance_arrays(kind: str, *args: Any, **kwargs: Any) -> tuple[Any, np.ndarray]:
    """``(P, R)`` of a :mod:`theory_rl.envs` instance (``kind`` is the generator's name), as the
    raw arrays a user would hand to any solver: dense ``(S, A, S)`` or CSR ``(S*A, S)``."""
    from theory_rl import envs

    mdp = getattr(envs, kind)(*args, **kwargs)
    return mdp.P, np.asarray(mdp.R)


def p_bytes(P: Any) -> int:
    """Bytes of ``P`` one full backup reads: the dense array, or CSR data + indices + indptr."""
    if sp.issparse(P):
        return int(P.data.nbytes + P.indices.nbytes + P.indptr.nbytes)
    return int(np.asarray(P).nbytes)


# --------------------------------------------------------------------------- bandwidth
class Bandwidth:
    """Read bandwidth of main memory in GB/s, measured on an ``n_bytes`` array (well beyond the
    last-level cache): the better of numpy's ``sum`` (one thread) and a numba sum split over all
    numba threads, each the best of ``repeats`` passes.

    The array is kept so that the measurement can be repeated next to the kernel it calibrates:
    on a shared virtual machine the available bandwidth drifts by up to 1.7x within minutes, so
    each floor is computed from a measurement taken in the same few seconds as the backup."""

    def __init__(self, n_bytes: int = 800 * 2**20) -> None:
        import numba

        @numba.njit(fastmath=True)
        def _sum(a):  # pragma: no cover - compiled
            s = 0.0
            for i in range(a.shape[0]):  # range(shape) keeps the loop vectorised
                s += a[i]
            return s

        @numba.njit(parallel=True)
        def _par_sum(a, n_chunks):  # pragma: no cover - compiled
            out = np.zeros(n_chunks)
            step = (a.shape[0] + n_chunks - 1) // n_chunks
            for c in numba.prange(n_chunks):
                out[c] = _sum(a[c * step:min(a.shape[0], (c + 1) * step)])
            return out.sum()

        self.threads = numba.get_num_threads()
        self._a = np.random.default_rng(0).random(n_bytes // 8)
        self._par_sum = _par_sum
        _par_sum(self._a[:1024], self.threads)
        self.history: list[dict[str, float]] = []

    def measure(self, repeats: int = 5) -> float:
        a = self._a
        one = a.nbytes / best_time(lambda: a.sum(), repeats) / 1e9
        par = a.nbytes / best_time(lambda: self._par_sum(a, self.threads), repeats) / 1e9
        self.history.append({"numpy_sum_1_thread": one, "numba_sum_all_threads": par})
        return max(one, par)

    def summary(self) -> dict[str, Any]:
        best = [max(h.values()) for h in self.history]
        return {
            "threads": self.threads,
            "array_MiB": self._a.nbytes / 2**20,
            "measurements": len(best),
            "median_GBps": float(np.median(best)) if best else None,
            "max_GBps": float(np.max(best)) if best else None,
            "min_GBps": float(np.min(best)) if best else None,
            "numpy_1_thread_median_GBps": float(np.median([h["numpy_sum_1_thread"] for h in self.history])) if best else None,
        }


def paired_floor_ratio(fn: Callable[[], Any], n_bytes: int, bw: Bandwidth, *, rounds: int = 5,
                       repeats: int = 5) -> dict[str, float]:
    """Time ``fn`` (best of ``repeats``) and the bandwidth right next to it, ``rounds`` times;
    ``ratio = time / (n_bytes / bandwidth)`` per round. Returns the median round (by ratio), the
    best time, and the ratio against the best bandwidth seen in these rounds."""
    times, bws, ratios = [], [], []
    fn()
    for _ in range(rounds):
        g = bw.measure(3)
        t = best_time(fn, repeats)
        times.append(t)
        bws.append(g)
        ratios.append(t / (n_bytes / (g * 1e9)))
    i = int(np.argsort(ratios)[len(ratios) // 2])
    return {
        "time_ms": times[i] * 1e3,
        "bandwidth_GBps": bws[i],
        "floor_ms": n_bytes / (bws[i] * 1e9) * 1e3,
        "ratio": ratios[i],
        "best_time_ms": min(times) * 1e3,
        "ratio_vs_max_bandwidth": min(times) / (n_bytes / (max(bws) * 1e9)),
    }


# --------------------------------------------------------------------------- timing, memory
def best_time(fn: Callable[[], Any], repeats: int = 5, *, min_total: float = 0.0) -> float:
    """Best wall time of ``repeats`` calls (more if ``min_total`` seconds are not yet spent)."""
    best = float("inf")
    spent = 0.0
    n = 0
    while n < repeats or spent < min_total:
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best = min(best, dt)
        spent += dt
        n += 1
    return best


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def _malloc_trim() -> None:
    """Hand freed heap memory back to the OS (glibc), so that the next allocations show up as
    resident-set growth instead of silently reusing pages that are still resident."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


class PeakRSS:
    """Peak resident-set growth of a block, in MiB, from the kernel's high-water mark: freed heap
    memory is returned to the OS and the mark is reset (``/proc/self/clear_refs``, Linux >= 4.0)
    before, and the mark is read after. Counts every allocation (numpy, C++ peers, SuperLU),
    unlike tracemalloc, including the converted copies of the model a peer makes. ``mib`` is
    ``None`` where the reset is not permitted."""

    def __init__(self) -> None:
        self.mib: float | None = None

    def __enter__(self) -> PeakRSS:
        gc.collect()
        _malloc_trim()
        self._ok = True
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
        except OSError:
            self._ok = False
        self._base = _status_kb("VmRSS")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._ok:
            self.mib = max(0, _status_kb("VmHWM") - self._base) / 1024.0


# --------------------------------------------------------------------------- provenance
def with_provenance(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with the UTC ``date`` of this run, the ``command`` that produced it and, where the
    script records none, the ``machine`` (what the benchmarks page prints under every table)."""
    import os
    import platform
    import sys

    script = os.path.relpath(os.path.abspath(sys.argv[0]), os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    extra = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "command": " ".join(["python", script, *sys.argv[1:]])}
    if "machine" not in doc and "machine" not in doc.get("meta", {}):
        extra["machine"] = platform.platform()
    return {**doc, **extra}
