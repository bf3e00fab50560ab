r"""Heuristic search value iteration (HSVI2) with certified anytime bounds at ``b0``.

Two bounds on the optimal value ``V*`` of the belief MDP are kept and tightened together:

* a lower bound ``V_lo(b) = max_k alpha_k . b`` (alpha vectors, each the value of a conditional
  plan, so ``V_lo(b0)`` is the value of a policy), started from the blind-policy vectors;
* an upper bound from a point set ``{(b_i, v_i)}`` by sawtooth interpolation between the corner
  values ``vbar(s)`` (the fast informed bound, FIB) and capped by the FIB itself:

  .. math::
      V_{hi}(b) = \min\Big( \max_a b \cdot Q_{FIB}(\cdot, a),\; b \cdot \bar v,\;
      \min_i \big[\, b \cdot \bar v + c_i(b)\,(v_i - b_i \cdot \bar v) \big] \Big), \qquad
      c_i(b) = \min_{s:\, b_i(s) > 0} \frac{b(s)}{b_i(s)}.

Trials descend from ``b0`` by the IE-MAX action ``a* = argmax_a Q_hi(b, a)`` and the observation
with the largest weighted excess ``P(o | b, a*) (V_hi - V_lo - eps gamma^{-(t+1)})(tau(b, a*, o))``,
stop where ``V_hi(b) - V_lo(b) <= eps gamma^{-t}``, and back up both bounds along the path in
reverse (point-based alpha backup for the lower bound, Bellman backup of the sawtooth for the
upper one). Both bounds remain valid after every backup, so ``[lower, upper]`` at ``b0`` is a
certified interval containing ``V*(b0)`` at every stage.

References: T. Smith and R. Simmons, "Heuristic search value iteration for POMDPs", UAI 2004
(arXiv:1207.4166); "Point-based POMDP algorithms: improved analysis and implementation" (HSVI2),
UAI 2005 (arXiv:1207.1412). H. Kurniawati, D. Hsu, W. S. Lee, "SARSOP", RSS 2008.

What is implemented, exactly: HSVI2's blind lower bound, FIB upper bound, sawtooth (LP-free)
upper interpolation, IE-MAX / weighted-excess trials, and pruning of dominated upper-bound points
(a point is dropped when the other points already give a value at least as low at its belief).
Added to HSVI2 (on by default, ``sweep_fraction``): between trials, lower-bound-only
point-based backups at all stored beliefs (PBVI's improvement step on the beliefs the search has
sampled), which lifts the lower bound where trials follow optimistic paths.
Alpha vectors are pruned the SARSOP way, relative to the sampled beliefs only: a vector is kept
when it is maximal at some belief the search has backed up (SARSOP's delta-dominance uses
neighbourhoods of those beliefs; we use the beliefs themselves, i.e. delta = 0). Not implemented:
SARSOP's optimal-reachability sampling with value-prediction by belief binning, HSVI2's
"adaptive precision" schedule (we use ``eps = max(target_gap, zeta * gap(b0))`` per trial, a
parameter ``zeta``), and HSVI2's masked/sparse alpha vectors (ours are dense in the state).
Beliefs are sparse (support + values) and the kernels are compiled with numba, so the cost of a
backup grows with the belief support, not with ``|S|`` squared.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, NamedTuple

import numba
import numpy as np
import scipy.sparse as sp

from .._validation import as_float_array, check_probability_rows
from ..errors import ConvergenceWarning, InvalidModelError
from ..models import POMDP
from ._bounds import blind_lower_bound, fib_upper_bound
from ._solution import POMDPSolution

__all__ = ["hsvi2", "sawtooth_upper_bound"]


# --------------------------------------------------------------------------- compiled kernels
@numba.njit(cache=True)
def _successors(b_idx, b_val, indptr, indices, data, obs, buf, mark):  # pragma: no cover - compiled
    """All successors ``tau(b, a, o)`` of a sparse belief and ``P(o | b, a)``.

    Returns ``probs (A, O)`` and the successors as one CSR-like triple ``(ptr, idx, val)`` with row
    ``a * O + o`` (normalised; empty where ``P(o | b, a) = 0``). ``buf``/``mark`` are zeroed work
    arrays of length ``S``, left zeroed.
    """
    A, S, n_obs = obs.shape
    cap = 0
    for a in range(A):
        for j in range(b_idx.shape[0]):
            r = b_idx[j] * A + a
            cap += indptr[r + 1] - indptr[r]
    touched = np.empty(min(cap, S) + 1, np.int64)
    out_idx = np.empty(cap * n_obs, np.int64)
    out_val = np.empty(cap * n_obs)
    ptr = np.zeros(A * n_obs + 1, np.int64)
    probs = np.zeros((A, n_obs))
    pos = 0
    for a in range(A):
        nt = 0
        for j in range(b_idx.shape[0]):
            p = b_val[j]
            r = b_idx[j] * A + a
            for k in range(indptr[r], indptr[r + 1]):
                t = indices[k]
                if not mark[t]:
                    mark[t] = True
                    touched[nt] = t
                    nt += 1
                buf[t] += p * data[k]
        tt = np.sort(touched[:nt])
        for o in range(n_obs):
            start = pos
            tot = 0.0
            for t in tt:
                v = buf[t] * obs[a, t, o]
                if v > 0.0:
                    out_idx[pos] = t
                    out_val[pos] = v
                    pos += 1
                    tot += v
            probs[a, o] = tot
            if tot > 0.0:
                for m in range(start, pos):
                    out_val[m] /= tot
            ptr[a * n_obs + o + 1] = pos
        for t in tt:
            buf[t] = 0.0
            mark[t] = False
    return probs, ptr, out_idx[:pos], out_val[:pos]


@numba.njit(cache=True)
def _lower_values(ptr, idx, val, GT, K):  # pragma: no cover - compiled
    """``max_k alpha_k . b`` and its argmax for each sparse belief; ``GT[s, k] = alpha_k(s)``."""
    n = ptr.shape[0] - 1
    values = np.zeros(n)
    arg = np.zeros(n, np.int64)
    acc = np.empty(K)
    for i in range(n):
        if ptr[i + 1] == ptr[i]:
            continue
        acc[:] = 0.0
        for j in range(ptr[i], ptr[i + 1]):
            row = GT[idx[j]]
            w = val[j]
            for k in range(K):
                acc[k] += w * row[k]
        best = 0
        for k in range(1, K):
            if acc[k] > acc[best]:
                best = k
        values[i] = acc[best]
        arg[i] = best
    return values, arg


@numba.njit(cache=True)
def _upper_values(ptr, idx, val, corner, qfib, p_ptr, p_idx, p_inv, p_delta, n_pts, skip, buf):  # pragma: no cover
    """Sawtooth upper bound (capped by the FIB) at each sparse belief; point ``skip`` is ignored.

    ``p_inv`` holds ``1 / b_i(s)`` on each point's support and ``p_delta[i] = v_i - b_i . corner``
    (points with ``p_delta >= 0`` cannot lower the bound)."""
    n = ptr.shape[0] - 1
    A = qfib.shape[1]
    values = np.zeros(n)
    qa = np.empty(A)
    for i in range(n):
        lo, hi = ptr[i], ptr[i + 1]
        if hi == lo:
            continue
        base = 0.0
        qa[:] = 0.0
        for j in range(lo, hi):
            s = idx[j]
            w = val[j]
            buf[s] = w
            base += w * corner[s]
            for a in range(A):
                qa[a] += w * qfib[s, a]
        best = base
        fib = qa.max()
        if fib < best:
            best = fib
        for p in range(n_pts):
            d = p_delta[p]
            if d >= 0.0 or p == skip:
                continue
            c = np.inf
            for m in range(p_ptr[p], p_ptr[p + 1]):
                x = buf[p_idx[m]]
                if x == 0.0:  # b_i(s) > 0 = b(s): no multiple of b_i fits under b
                    c = 0.0
                    break
                r = x * p_inv[m]  # p_inv may be inf for a denormal b_i(s); then r = inf
                if r < c:
                    c = r
            if c > 0.0:
                v = base + c * d
                if v < best:
                    best = v
        values[i] = best
        for j in range(lo, hi):
            buf[idx[j]] = 0.0
    return values


@numba.njit(cache=True)
def _build_alpha(a, ks, GT, indptr, indices, data, obs, R, gamma):  # pragma: no cover - compiled
    r"""``alpha(s) = R[s, a] + gamma sum_{s'} T[s, a, s'] sum_o O[a, s', o] alpha_{k_o}(s')``."""
    A, S, n_obs = obs.shape
    w = np.zeros(S)
    for sp_ in range(S):
        acc = 0.0
        for o in range(n_obs):
            acc += obs[a, sp_, o] * GT[sp_, ks[o]]
        w[sp_] = acc
    out = np.empty(S)
    for s in range(S):
        r = s * A + a
        acc = 0.0
        for k in range(indptr[r], indptr[r + 1]):
            acc += data[k] * w[indices[k]]
        out[s] = R[s, a] + gamma * acc
    return out


@numba.njit(cache=True)
def _dominated_points(corner, qfib, p_ptr, p_idx, p_val, p_inv, p_delta, n_pts, keep, buf):  # pragma: no cover
    """Mark (``p_delta = +inf``) every point whose value the others already reach at its belief,
    newest first; point ``keep`` (the one at ``b0``) is never dropped. Returns how many."""
    removed = 0
    for p in range(n_pts - 1, -1, -1):
        if p == keep or p_delta[p] == np.inf:
            continue
        lo, hi = p_ptr[p], p_ptr[p + 1]
        own = 0.0
        for m in range(lo, hi):
            own += p_val[m] * corner[p_idx[m]]
        own += p_delta[p]
        other = _upper_values(p_ptr[p:p + 2] - lo, p_idx[lo:hi], p_val[lo:hi], corner, qfib,
                              p_ptr, p_idx, p_inv, p_delta, n_pts, p, buf)[0]
        if other <= own:
            p_delta[p] = np.inf
            removed += 1
    return removed


# --------------------------------------------------------------------------- search state
class _Node(NamedTuple):
    """A belief on a trial path and its successors ``tau(b, a, o)`` (row ``a * O + o``) with the
    bounds last evaluated there."""

    idx: np.ndarray
    val: np.ndarray
    r: np.ndarray  # b . R[:, a]
    probs: np.ndarray  # P(o | b, a), shape (A, O)
    ptr: np.ndarray
    sidx: np.ndarray
    sval: np.ndarray
    up: np.ndarray
    low: np.ndarray
    arg: np.ndarray


class _Search:
    """Mutable state of one HSVI2 run: alpha vectors (stored transposed), the upper point set and
    the compiled-kernel work arrays."""

    def __init__(self, model: POMDP, lower_alpha: np.ndarray, lower_actions: np.ndarray,
                 q_fib: np.ndarray) -> None:
        S, A = model.n_states, model.n_actions
        T = model.T if model.is_sparse else sp.csr_matrix(np.asarray(model.T).reshape(S * A, S))
        self.indptr = np.ascontiguousarray(T.indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(T.indices, dtype=np.int64)
        self.data = np.ascontiguousarray(T.data, dtype=np.float64)
        self.obs = np.ascontiguousarray(model.O, dtype=np.float64)
        self.R = np.ascontiguousarray(model.R, dtype=np.float64)
        self.gamma = float(model.gamma)
        self.S, self.A, self.n_obs = S, A, model.n_observations
        self.buf = np.zeros(S)
        self.mark = np.zeros(S, dtype=np.bool_)
        # lower bound: GT[s, k] = alpha_k(s)
        K0 = lower_alpha.shape[0]
        cap = max(64, 2 * K0)
        self.GT = np.zeros((S, cap))
        self.GT[:, :K0] = lower_alpha.T
        self.alpha_actions = np.zeros(cap, dtype=np.int64)
        self.alpha_actions[:K0] = lower_actions
        self.K = K0
        # upper bound
        self.qfib = np.ascontiguousarray(q_fib, dtype=np.float64)
        self.corner = self.qfib.max(axis=1)
        self.p_ptr = np.zeros(65, dtype=np.int64)
        self.p_idx = np.zeros(1024, dtype=np.int64)
        self.p_val = np.zeros(1024)
        self.p_inv = np.zeros(1024)
        self.p_delta = np.zeros(64)
        self.n_pts = 0
        self.point_of: dict[bytes, int] = {}
        self.n_backups = 0

    # ---------------------------------------------------------------- storage
    def add_alpha(self, alpha: np.ndarray, action: int) -> None:
        if self.K == self.GT.shape[1]:
            grown = np.zeros((self.S, 2 * self.K))
            grown[:, :self.K] = self.GT
            self.GT = grown
            self.alpha_actions = np.concatenate([self.alpha_actions, np.zeros(self.K, dtype=np.int64)])
        self.GT[:, self.K] = alpha
        self.alpha_actions[self.K] = action
        self.K += 1

    def set_point(self, idx: np.ndarray, val: np.ndarray, value: float) -> int:
        """Insert (or lower) the upper-bound point at the belief ``(idx, val)``."""
        key = _belief_key(idx, val)
        delta = value - float(val @ self.corner[idx])
        p = self.point_of.get(key)
        if p is not None:
            self.p_delta[p] = min(self.p_delta[p], delta)
            return p
        n, nnz = self.n_pts, int(self.p_ptr[self.n_pts])
        if n + 1 >= self.p_delta.shape[0]:
            self.p_delta = np.concatenate([self.p_delta, np.zeros(self.p_delta.shape[0])])
            self.p_ptr = np.concatenate([self.p_ptr, np.zeros(self.p_ptr.shape[0] - 1, dtype=np.int64)])
        if nnz + idx.size > self.p_idx.shape[0]:
            new_cap = max(2 * self.p_idx.shape[0], nnz + idx.size)
            self.p_idx = np.concatenate([self.p_idx, np.zeros(new_cap - self.p_idx.shape[0], dtype=np.int64)])
            self.p_val = np.concatenate([self.p_val, np.zeros(new_cap - self.p_val.shape[0])])
            self.p_inv = np.concatenate([self.p_inv, np.zeros(new_cap - self.p_inv.shape[0])])
        self.p_idx[nnz:nnz + idx.size] = idx
        self.p_val[nnz:nnz + idx.size] = val
        with np.errstate(over="ignore", divide="ignore"):
            self.p_inv[nnz:nnz + idx.size] = 1.0 / val
        self.p_ptr[n + 1] = nnz + idx.size
        self.p_delta[n] = delta
        self.point_of[key] = n
        self.n_pts += 1
        return n

    # ---------------------------------------------------------------- evaluation
    def lower(self, ptr: np.ndarray, idx: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _lower_values(ptr, idx, val, self.GT, self.K)

    def upper(self, ptr: np.ndarray, idx: np.ndarray, val: np.ndarray, skip: int = -1) -> np.ndarray:
        return _upper_values(ptr, idx, val, self.corner, self.qfib, self.p_ptr, self.p_idx, self.p_inv,
                             self.p_delta, self.n_pts, skip, self.buf)

    def bounds_at(self, idx: np.ndarray, val: np.ndarray) -> tuple[float, float]:
        ptr = np.array([0, idx.size], dtype=np.int64)
        return float(self.lower(ptr, idx, val)[0][0]), float(self.upper(ptr, idx, val)[0])

    def successors(self, idx: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, ...]:
        return _successors(idx, val, self.indptr, self.indices, self.data, self.obs, self.buf, self.mark)

    def expand(self, idx: np.ndarray, val: np.ndarray) -> _Node:
        """Successors of ``b`` with both bounds evaluated at each of them."""
        probs, ptr, sidx, sval = self.successors(idx, val)
        up = self.upper(ptr, sidx, sval)
        low, arg = self.lower(ptr, sidx, sval)
        return _Node(idx, val, val @ self.R[idx], probs, ptr, sidx, sval, up, low, arg)

    def q_values(self, node: _Node) -> tuple[np.ndarray, np.ndarray]:
        """``(Q_lo(b, .), Q_hi(b, .))`` from the successor values stored in ``node``."""
        w = self.gamma * node.probs
        shape = (self.A, self.n_obs)
        return node.r + (w * node.low.reshape(shape)).sum(axis=1), node.r + (w * node.up.reshape(shape)).sum(axis=1)

    # ---------------------------------------------------------------- backup
    def update(self, node: _Node) -> None:
        """Back up both bounds at ``node``'s belief (one point-based alpha backup, one sawtooth
        backup), from successor values evaluated just before."""
        q_lo, q_hi = self.q_values(node)
        lo_b, hi_b = self.bounds_at(node.idx, node.val)
        a = int(np.argmax(q_lo))
        if q_lo[a] > lo_b + 1e-12 * (1.0 + abs(lo_b)):
            ks = np.ascontiguousarray(node.arg.reshape(self.A, self.n_obs)[a])
            alpha = _build_alpha(a, ks, self.GT, self.indptr, self.indices, self.data, self.obs, self.R, self.gamma)
            self.add_alpha(alpha, a)
        v = float(q_hi.max())
        if v < hi_b:
            self.set_point(node.idx, node.val, v)
        self.n_backups += 1

    def lower_sweep(self, deadline: float) -> int:
        """Point-based alpha backups (lower bound only) at the stored beliefs, newest first,
        until ``deadline`` (``time.perf_counter()``); returns how many. An alpha vector is added
        where it improves the lower bound at its belief."""
        n_done = 0
        for p in range(self.n_pts - 1, -1, -1):
            if time.perf_counter() >= deadline:
                break
            lo, hi = self.p_ptr[p], self.p_ptr[p + 1]
            idx, val = self.p_idx[lo:hi].copy(), self.p_val[lo:hi].copy()
            probs, ptr, sidx, sval = self.successors(idx, val)
            low, arg = self.lower(ptr, sidx, sval)
            q_lo = val @ self.R[idx] + self.gamma * (probs * low.reshape(self.A, self.n_obs)).sum(axis=1)
            a = int(np.argmax(q_lo))
            ptr1 = np.array([0, idx.size], dtype=np.int64)
            current = float(self.lower(ptr1, idx, val)[0][0])
            if q_lo[a] > current + 1e-12 * (1.0 + abs(current)):
                ks = np.ascontiguousarray(arg.reshape(self.A, self.n_obs)[a])
                self.add_alpha(_build_alpha(a, ks, self.GT, self.indptr, self.indices, self.data, self.obs, self.R,
                                            self.gamma), a)
            n_done += 1
        self.n_backups += n_done
        return n_done

    # ---------------------------------------------------------------- pruning
    def prune_alpha(self) -> None:
        """Keep the vectors maximal at some backed-up belief (every upper point's belief)."""
        n = self.n_pts
        _, arg = self.lower(self.p_ptr[:n + 1], self.p_idx, self.p_val)
        keep = np.unique(arg)
        self.GT[:, :keep.size] = self.GT[:, keep]
        self.alpha_actions[:keep.size] = self.alpha_actions[keep]
        self.K = keep.size

    def prune_points(self, root: int) -> None:
        removed = _dominated_points(self.corner, self.qfib, self.p_ptr, self.p_idx, self.p_val, self.p_inv,
                                    self.p_delta, self.n_pts, root, self.buf)
        if removed == 0:
            return
        alive = np.flatnonzero(self.p_delta[:self.n_pts] != np.inf)
        starts, stops = self.p_ptr[alive], self.p_ptr[alive + 1]
        take = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)])
        self.p_idx[:take.size] = self.p_idx[take]
        self.p_val[:take.size] = self.p_val[take]
        self.p_inv[:take.size] = self.p_inv[take]
        self.p_ptr[1:alive.size + 1] = np.cumsum(stops - starts)
        self.p_delta[:alive.size] = self.p_delta[alive]
        self.n_pts = alive.size
        self.point_of = {_belief_key(self.p_idx[self.p_ptr[i]:self.p_ptr[i + 1]],
                                     self.p_val[self.p_ptr[i]:self.p_ptr[i + 1]]): i for i in range(alive.size)}


def _belief_key(idx: np.ndarray, val: np.ndarray) -> bytes:
    """Exact identity of a sparse belief (no rounding: a point's value is certified only at its
    own belief)."""
    return idx.tobytes() + val.tobytes()


def _sparse(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.flatnonzero(b > 0).astype(np.int64)
    return idx, np.ascontiguousarray(b[idx], dtype=np.float64)


# --------------------------------------------------------------------------- public API
def sawtooth_upper_bound(solution: POMDPSolution, beliefs: Any) -> np.ndarray | float:
    r"""The certified upper bound ``V_hi(b)`` of an :func:`hsvi2` result at any belief(s).

    Evaluates the sawtooth interpolation of the solution's upper point set, capped by the FIB
    (see the module docstring; Hauskrecht 2000, JAIR 13; Smith & Simmons 2005, UAI):

    .. math::
        V_{hi}(b) = \min\Big(\max_a b \cdot Q_{FIB}(\cdot, a),\; b \cdot \bar v,\;
        \min_i \big[b \cdot \bar v + c_i(b) (v_i - b_i \cdot \bar v)\big]\Big), \qquad
        c_i(b) = \min_{s: b_i(s) > 0} b(s) / b_i(s),

    with ``bar v`` the corner values and ``(b_i, v_i)`` the points. Valid everywhere on the
    simplex: ``V*(b) <= V_hi(b)`` because each ``v_i >= V*(b_i)`` and ``V*`` is convex.

    Parameters
    ----------
    solution : POMDPSolution
        A result of :func:`hsvi2` (its ``info["upper"]`` holds the corner values, the FIB and the
        points).
    beliefs : array_like, shape (S,) or (N, S)
        Probability vectors (non-negative, summing to 1 within ``1e-6``).

    Raises
    ------
    InvalidModelError
        If ``solution`` has no upper point set, or a row of ``beliefs`` has the wrong length, is
        not finite, has a negative entry or does not sum to 1 (the row and entry are named).
    """
    up = solution.info.get("upper") if isinstance(solution.info, dict) else None
    if not up:
        raise InvalidModelError("solution has no upper point set (it was not produced by hsvi2)")
    corner = np.asarray(up["corner"], dtype=np.float64)
    B = as_float_array(beliefs, "beliefs", ndim=(1, 2))
    single = B.ndim == 1
    B = B[None, :] if single else B
    if B.shape[1] != corner.size:
        raise InvalidModelError(f"beliefs have shape {B.shape}, expected (N, {corner.size})")
    # the bound is certified on the simplex only: reject what is not a belief instead of
    # returning a number with no meaning
    check_probability_rows(B, "beliefs", atol=1e-6, row_shape=(B.shape[0],))
    csr = sp.csr_matrix(B)
    with np.errstate(over="ignore", divide="ignore"):
        inv = 1.0 / np.asarray(up["val"], dtype=np.float64)
    pts_ptr = np.asarray(up["ptr"], dtype=np.int64)
    n_pts = pts_ptr.size - 1
    values = _upper_values(
        csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data.astype(np.float64), corner,
        np.asarray(up["q_fib"], dtype=np.float64), pts_ptr, np.asarray(up["idx"], dtype=np.int64),
        inv, np.asarray(up["delta"], dtype=np.float64), n_pts, -1,
        np.zeros(corner.size),
    )
    return float(values[0]) if single else values


def hsvi2(
    model: POMDP,
    *,
    target_gap: float = 1e-3,
    time_limit: float = 60.0,
    max_iter: int | None = None,
    zeta: float = 0.5,
    max_depth: int | None = None,
    prune_growth: float = 1.5,
    sweep_fraction: float = 0.5,
    b0: np.ndarray | None = None,
    callback: Any = None,
) -> POMDPSolution:
    r"""HSVI2 (Smith & Simmons 2005) with certified anytime bounds ``[lower, upper]`` on ``V*(b0)``.

    Runs trials from ``b0`` (see the module docstring for the exact algorithm) until
    ``upper - lower <= target_gap``, ``time_limit`` seconds or ``max_iter`` trials.

    Trial rule (Smith & Simmons 2004, Alg. 1): at depth ``t`` stop when
    ``V_hi(b) - V_lo(b) <= eps gamma^{-t}``; else take ``a* = argmax_a Q_hi(b, a)``,
    ``o* = argmax_o P(o | b, a*) [V_hi - V_lo](tau(b, a*, o)) - eps gamma^{-(t+1)}``, descend to
    ``tau(b, a*, o*)`` and, on the way back, back up both bounds. ``eps = max(target_gap,
    zeta * (V_hi(b0) - V_lo(b0)))`` is fixed at the start of each trial (``zeta = 0`` is plain
    HSVI with ``eps = target_gap``).

    Guarantee: ``V_lo(b) <= V*(b) <= V_hi(b)`` for every belief at every stage (the backups of
    valid bounds are valid bounds); ``lower`` is non-decreasing and ``upper`` non-increasing over
    trials; ``lower`` is the value of the alpha vectors' conditional plan from ``b0``. With
    ``zeta = 0``, HSVI terminates after finitely many trials with ``upper - lower <= target_gap``
    (Smith & Simmons 2004, Thm 2).

    Parameters
    ----------
    model : POMDP
        Dense or CSR transitions; ``gamma < 1``.
    target_gap : float
        Stop when ``upper - lower <= target_gap`` at ``b0``.
    time_limit : float
        Wall-clock seconds (checked between trials).
    max_iter : int, optional
        Maximum number of trials.
    zeta : float in [0, 1)
        Trial precision as a fraction of the current gap at ``b0`` (our schedule, see above).
    max_depth : int, optional
        Depth cap of a trial; default ``ceil(log(width / eps) / log(1 / gamma)) + 1`` with the
        initial bound width, which the trial rule never exceeds.
    prune_growth : float
        Prune alpha vectors / upper points when their number has grown by this factor since the
        last pruning.
    sweep_fraction : float in [0, 1)
        Share of the time spent, between trials, on lower-bound-only point-based backups at all
        stored beliefs (newest first, PBVI-style). Not part of HSVI2: ``0`` is plain HSVI2. The
        default 0.5 lifts the 60 s lower bound on tiger-grid, hallway and Tag to SARSOP's level
        (measured in bench/pomdp.py) at a small cost on problems that converge in a second.
    b0 : array_like, shape (S,), optional
        Start belief (default ``model.b0``).
    callback : callable, optional
        ``callback(trial, lower, upper)`` after each trial; returning ``True`` stops.

    Returns
    -------
    POMDPSolution
        ``alpha`` (the pruned lower-bound vectors), ``lower``/``upper`` at ``b0``, ``history``
        with ``lower``, ``upper``, ``time``, ``n_vectors``, ``n_points``, ``n_backups`` per trial
        (index 0 = the initial bounds), ``info["upper"]`` for :func:`sawtooth_upper_bound`.
    """
    if not isinstance(model, POMDP):
        raise InvalidModelError(f"model must be a theory_rl.models.POMDP, got {type(model).__name__}")
    if not model.gamma < 1.0:
        raise InvalidModelError("hsvi2 needs gamma < 1 (infinite-horizon discounted model)")
    target_gap = float(target_gap)
    if not (target_gap > 0 and math.isfinite(target_gap)):
        raise InvalidModelError(f"target_gap = {target_gap!r} must be a positive finite number")
    if not (0.0 <= zeta < 1.0):
        raise InvalidModelError(f"zeta = {zeta!r} must lie in [0, 1)")
    if not (0.0 <= sweep_fraction < 1.0):
        raise InvalidModelError(f"sweep_fraction = {sweep_fraction!r} must lie in [0, 1)")
    start = time.perf_counter()
    belief0 = model.b0 if b0 is None else as_float_array(b0, "b0", ndim=1)
    if belief0.shape != (model.n_states,) or abs(belief0.sum() - 1.0) > 1e-8 or belief0.min() < 0:
        raise InvalidModelError(f"b0 must be a probability vector of length {model.n_states}")

    blind = blind_lower_bound(model)
    fib = fib_upper_bound(model)
    search = _Search(model, blind.alpha, blind.actions, fib.alpha.T)
    idx0, val0 = _sparse(belief0)
    lo0, hi0 = search.bounds_at(idx0, val0)
    root = search.set_point(idx0, val0, hi0)
    gamma = search.gamma
    width = float(search.corner.max() - search.GT[:, :search.K].min())
    if max_depth is None:
        max_depth = int(math.ceil(math.log(max(width, target_gap) / target_gap) / math.log(1.0 / gamma))) + 1 \
            if gamma > 0 else 1
    hist: dict[str, list[float]] = {k: [] for k in ("lower", "upper", "time", "n_vectors", "n_points", "n_backups")}

    def record(lo: float, hi: float) -> None:
        hist["lower"].append(lo)
        hist["upper"].append(hi)
        hist["time"].append(time.perf_counter() - start)
        hist["n_vectors"].append(search.K)
        hist["n_points"].append(search.n_pts)
        hist["n_backups"].append(search.n_backups)

    lo, hi = lo0, hi0
    record(lo, hi)
    pruned_k, pruned_p = search.K, search.n_pts
    trials = 0
    trial_time = sweep_time = 0.0
    stop_reason = "target_gap reached"
    while hi - lo > target_gap:
        if max_iter is not None and trials >= max_iter:
            stop_reason = f"max_iter={max_iter} trials reached"
            break
        if time.perf_counter() - start >= time_limit:
            stop_reason = f"time_limit={time_limit:g}s reached"
            break
        eps = max(target_gap, zeta * (hi - lo))
        t_trial = time.perf_counter()
        _trial(search, idx0, val0, eps, max_depth, start + time_limit)
        trial_time += time.perf_counter() - t_trial
        trials += 1
        if sweep_fraction > 0 and sweep_time < sweep_fraction * (trial_time + sweep_time):
            t_sweep = time.perf_counter()
            budget = max(sweep_fraction * (trial_time + sweep_time) - sweep_time, 1e-3)
            search.lower_sweep(min(t_sweep + budget, start + time_limit))
            sweep_time += time.perf_counter() - t_sweep
        if search.K > prune_growth * pruned_k:
            search.prune_alpha()
            pruned_k = search.K
        if search.n_pts > prune_growth * pruned_p:
            search.prune_points(root)
            root = search.point_of[_belief_key(idx0, val0)]
            pruned_p = search.n_pts
        new_lo, new_hi = search.bounds_at(idx0, val0)
        # the point at b0 and the vector maximal there are never pruned, so these are monotone;
        # max/min only absorb float rounding of the sums
        lo, hi = max(lo, new_lo), min(hi, new_hi)
        record(lo, hi)
        if callback is not None and callback(trials, lo, hi):
            stop_reason = "stopped by the callback"
            break
    converged = hi - lo <= target_gap
    if not converged:
        warnings.warn(f"hsvi2 stopped with gap {hi - lo:.4g} > target_gap={target_gap:g}: {stop_reason}",
                      ConvergenceWarning, stacklevel=2)
    search.prune_alpha()
    K = search.K
    n = search.n_pts
    upper_info = {
        "corner": search.corner.copy(), "q_fib": search.qfib.copy(), "ptr": search.p_ptr[:n + 1].copy(),
        "idx": search.p_idx[:search.p_ptr[n]].copy(), "val": search.p_val[:search.p_ptr[n]].copy(),
        "delta": search.p_delta[:n].copy(),
    }
    alpha = np.ascontiguousarray(search.GT[:, :K].T)
    return POMDPSolution(
        alpha=alpha,
        actions=search.alpha_actions[:K].copy(),
        lower=float(lo),
        upper=float(hi),
        value=float(lo),
        converged=bool(converged),
        n_iter=trials,
        history={k: np.asarray(v) for k, v in hist.items()},
        method="hsvi2",
        params={"target_gap": target_gap, "time_limit": time_limit, "max_iter": max_iter, "zeta": zeta,
                "max_depth": max_depth, "prune_growth": prune_growth, "sweep_fraction": sweep_fraction},
        elapsed=time.perf_counter() - start,
        info={"n_backups": search.n_backups, "n_points": n, "stop_reason": stop_reason if not converged else
              "target_gap reached", "upper": upper_info},
    )


def _trial(search: _Search, idx: np.ndarray, val: np.ndarray, eps: float, max_depth: int, deadline: float) -> None:
    """One HSVI trial from ``(idx, val)``: descend by IE-MAX / weighted excess (stopping early at
    ``deadline``), back up in reverse."""
    path: list[_Node] = []
    n_obs = search.n_obs
    thresh = eps
    for _ in range(max_depth):
        lo, hi = search.bounds_at(idx, val)
        if hi - lo <= thresh or (path and time.perf_counter() >= deadline):
            break
        node = search.expand(idx, val)
        _, q_hi = search.q_values(node)
        a = int(np.argmax(q_hi))
        thresh /= search.gamma
        rows = slice(a * n_obs, (a + 1) * n_obs)
        excess = node.probs[a] * (node.up[rows] - node.low[rows] - thresh)
        excess[node.probs[a] == 0.0] = -np.inf
        k = a * n_obs + int(np.argmax(excess))
        path.append(node)
        idx, val = node.sidx[node.ptr[k]:node.ptr[k + 1]], node.sval[node.ptr[k]:node.ptr[k + 1]]
    for node in reversed(path):
        search.update(search.expand(node.idx, node.val))
