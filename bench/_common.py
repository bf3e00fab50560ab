"""Shared helpers for the peer benchmarks: instance builders (falling back to local copies of
the ``theory_rl.envs`` definitions while that package is being written), memory-bandwidth
measurement, peak-RSS measurement and timing."""

from __future__ import annotations

import gc
import os
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
import scipy.sparse as sp

__all__ = [
    "random_mdp_arrays",
    "forest_arrays",
    "gridworld_arrays",
    "measure_bandwidth",
    "PeakRSS",
    "best_time",
    "p_bytes",
]


# --------------------------------------------------------------------------- instances
def random_mdp_arrays(n_states: int, n_actions: int, *, seed: int = 0, nnz_per_row: int | None = None,
                      alpha: float = 1.0) -> tuple[Any, np.ndarray]:
    """``(P, R)``: rows of ``P`` Dirichlet(alpha) on all states (dense ``(S, A, S)``) or on
    ``nnz_per_row`` random states (CSR ``(S*A, S)``); ``R ~ U[0, 1)``."""
    try:
        from theory_rl.envs import random_mdp  # type: ignore[attr-defined]
    except ImportError:
        random_mdp = None
    if random_mdp is not None:
        mdp = random_mdp(n_states, n_actions, seed=seed, nnz_per_row=nnz_per_row, alpha=alpha)
        return mdp.P, np.asarray(mdp.R)
    rng = np.random.default_rng(seed)
    S, A = n_states, n_actions
    if nnz_per_row is None:
        P = rng.gamma(alpha, size=(S, A, S))
        P /= P.sum(axis=2, keepdims=True)
    else:
        k = int(nnz_per_row)
        cols = np.sort(rng.integers(0, S, size=(S * A, k), dtype=np.int64), axis=1)
        w = rng.gamma(alpha, size=(S * A, k))
        dup = np.zeros_like(cols, dtype=bool)
        dup[:, 1:] = cols[:, 1:] == cols[:, :-1]
        w[dup] = 0.0  # a repeated column gets no extra mass; keeps rows with distinct columns
        w /= w.sum(axis=1, keepdims=True)
        keep = ~dup
        indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))])
        P = sp.csr_matrix((w[keep], cols[keep], indptr), shape=(S * A, S))
    R = rng.random((S, A))
    return P, R


def forest_arrays(n_states: int, *, r1: float = 4.0, r2: float = 2.0, p: float = 0.1) -> tuple[Any, np.ndarray]:
    """pymdptoolbox's forest-management problem as CSR ``(S*A, S)`` with ``A = 2``
    (0 = wait, 1 = cut)."""
    try:
        from theory_rl.envs import forest  # type: ignore[attr-defined]
    except ImportError:
        forest = None
    if forest is not None:
        mdp = forest(n_states, r1=r1, r2=r2, p=p, sparse=True)
        return mdp.P, np.asarray(mdp.R)
    S = n_states
    s = np.arange(S)
    # wait: fire (p) -> 0, else min(s+1, S-1); cut: -> 0
    wait_cols = np.stack([np.zeros(S, np.int64), np.minimum(s + 1, S - 1)], axis=1)
    wait_vals = np.tile([p, 1.0 - p], (S, 1))
    rows_cols = np.empty((S, 3), np.int64)
    rows_vals = np.empty((S, 3))
    rows_cols[:, :2], rows_vals[:, :2] = wait_cols, wait_vals
    rows_cols[:, 2], rows_vals[:, 2] = 0, 1.0
    data = rows_vals.ravel()
    indices = rows_cols.ravel()
    indptr = np.empty(2 * S + 1, np.int64)
    indptr[0] = 0
    indptr[1::2] = 3 * s + 2
    indptr[2::2] = 3 * s + 3
    P = sp.csr_matrix((data, indices, indptr), shape=(2 * S, S))
    R = np.zeros((S, 2))
    R[S - 1, 0] = r1
    R[:, 1] = 1.0
    R[0, 1] = 0.0
    R[S - 1, 1] = r2
    return P, R


def gridworld_arrays(n_rows: int, n_cols: int, *, slip: float = 0.0) -> tuple[Any, np.ndarray]:
    """4-action gridworld (0 up, 1 right, 2 down, 3 left), bumping a wall stays put, goal in the
    bottom-right corner absorbing with reward 0, every other step reward -1. With ``slip`` the
    move goes in a uniformly random other direction. CSR ``(S*A, S)``."""
    try:
        from theory_rl.envs import gridworld  # type: ignore[attr-defined]
    except ImportError:
        gridworld = None
    if gridworld is not None:
        mdp = gridworld(n_rows, n_cols, slip=slip)
        P = mdp.P if sp.issparse(mdp.P) else sp.csr_matrix(mdp.transition_matrix)
        return P, np.asarray(mdp.R)
    S, A = n_rows * n_cols, 4
    r, c = np.divmod(np.arange(S), n_cols)
    moves = [(-1, 0), (0, 1), (1, 0), (0, -1)]
    dest = np.empty((S, 4), np.int64)
    for a, (dr, dc) in enumerate(moves):
        rr = np.clip(r + dr, 0, n_rows - 1)
        cc = np.clip(c + dc, 0, n_cols - 1)
        dest[:, a] = rr * n_cols + cc
    goal = S - 1
    dest[goal, :] = goal
    rows, cols, vals = [], [], []
    for a in range(4):
        for b in range(4):
            prob = (1.0 - slip) if a == b else slip / 3.0
            if prob == 0.0:
                continue
            rows.append(np.arange(S) * A + a)
            cols.append(dest[:, b])
            vals.append(np.full(S, prob))
    P = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(S * A, S))
    P.sum_duplicates()
    R = -np.ones((S, A))
    R[goal, :] = 0.0
    return P, R


def p_bytes(P: Any) -> int:
    """Bytes of ``P`` one full backup reads: the dense array, or CSR data + indices + indptr."""
    if sp.issparse(P):
        return int(P.data.nbytes + P.indices.nbytes + P.indptr.nbytes)
    return int(np.asarray(P).nbytes)


# --------------------------------------------------------------------------- bandwidth
def measure_bandwidth(n_bytes: int = 800 * 2**20, repeats: int = 7) -> dict[str, float]:
    """Read bandwidth in GB/s: numpy ``sum`` (one thread) and a numba sum over all cores
    (the floor uses the larger). Best of ``repeats``."""
    import numba

    @numba.njit(fastmath=True, cache=False)
    def _chunk_sum(a):  # pragma: no cover - compiled
        s = 0.0
        for i in range(a.shape[0]):
            s += a[i]
        return s

    @numba.njit(parallel=True, cache=False)
    def _par_sum(a, n_chunks):  # pragma: no cover - compiled
        out = np.zeros(n_chunks)
        step = (a.shape[0] + n_chunks - 1) // n_chunks
        for c in numba.prange(n_chunks):
            out[c] = _chunk_sum(a[c * step:min(a.shape[0], (c + 1) * step)])
        return out.sum()

    a = np.random.default_rng(0).random(n_bytes // 8)
    n_chunks = numba.get_num_threads()
    _par_sum(a[:1000], n_chunks)
    out = {}
    for name, fn in (("numpy_sum_1thread", lambda: a.sum()), ("numba_sum_all_threads", lambda: _par_sum(a, n_chunks))):
        out[name] = a.nbytes / best_time(fn, repeats) / 1e9
    out["threads"] = n_chunks
    out["floor_GBps"] = max(out["numpy_sum_1thread"], out["numba_sum_all_threads"])
    del a
    gc.collect()
    return out


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


class PeakRSS:
    """Peak resident-set growth of a block, in MiB, from the kernel's high-water mark: the
    mark is reset (``/proc/self/clear_refs``, Linux >= 4.0) before, read after. Counts every
    allocation (numpy, C++ peers, SuperLU), unlike tracemalloc. ``mib`` is ``None`` where the
    reset is not permitted."""

    def __init__(self) -> None:
        self.mib: float | None = None

    def __enter__(self) -> "PeakRSS":
        gc.collect()
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


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    t = time.perf_counter()
    yield out
    out["s"] = time.perf_counter() - t
