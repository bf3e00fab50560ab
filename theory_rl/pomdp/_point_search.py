r"""The search state shared by HSVI2 and SARSOP: compiled kernels, the belief tree, the bounds.

Two bounds on the optimal value ``V*`` of the belief MDP are kept and tightened together:

* a lower bound ``V_lo(b) = max_k alpha_k . b`` (alpha vectors, each the value of a conditional
  plan, so ``V_lo(b0)`` is the value of a policy), started from the blind-policy vectors (one
  per fixed action, as in HSVI2 and SARSOP);
* an upper bound from a point set ``{(b_i, v_i)}`` by sawtooth interpolation between the corner
  values ``vbar(s)`` (the fast informed bound, FIB, as in HSVI2 and SARSOP) and capped by the FIB:

  .. math::
      V_{hi}(b) = \min\Big( \max_a b \cdot Q_{FIB}(\cdot, a),\; b \cdot \bar v,\;
      \min_i \big[\, b \cdot \bar v + c_i(b)\,(v_i - b_i \cdot \bar v) \big] \Big), \qquad
      c_i(b) = \min_{s:\, b_i(s) > 0} \frac{b(s)}{b_i(s)}.

:func:`_run_search` is the anytime loop both solvers share: trials from ``b0`` (the trial rule is
the caller's: :func:`theory_rl.pomdp.hsvi2` with ``sampling="hsvi"``, :func:`theory_rl.pomdp.sarsop`),
lower-bound sweeps at the optimally reachable beliefs, pruning, and the certified interval
``[lower, upper]`` at ``b0`` after every trial. Beliefs are sparse (support + values) and the kernels
are compiled with numba over the reachable next states only (CSR ``T``; observation branches with
``P(o | b, a) = 0`` are empty and skipped), so the cost of a backup grows with the belief support,
not with ``|S|`` squared.

References: T. Smith and R. Simmons, "Point-based POMDP algorithms: improved analysis and
implementation" (HSVI2), UAI 2005 (arXiv:1207.1412). H. Kurniawati, D. Hsu, W. S. Lee, "SARSOP:
efficient point-based POMDP planning by approximating optimally reachable belief spaces", RSS 2008.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numba
import numpy as np
import scipy.sparse as sp

from .._iterative import progress_bar
from .._validation import (
    as_float_array,
    check_bool,
    check_choice,
    check_max_iter,
    check_optional_int,
    check_probability_rows,
    check_real,
    check_time_limit,
    check_tol,
)
from ..errors import ConvergenceWarning, InvalidModelError
from ..models import POMDP
from ._bounds import CLOCKS, blind_lower_bound, fib_upper_bound, warm_up_value_iteration
from ._solution import POMDPSolution

Trial = Callable[[int, float, int, float, Any], None]
"""One trial ``trial(root, eps, max_depth, deadline, now)`` on a search state."""


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


@numba.njit(cache=True, inline="always")
def _alpha_products(ptr, idx, val, GT, i, acc):  # pragma: no cover - compiled
    """``acc[k] = alpha_k . b_i`` for the sparse belief ``i`` (``GT[s, k] = alpha_k(s)``); returns
    the first ``k`` of the largest product."""
    acc[:] = 0.0
    for j in range(ptr[i], ptr[i + 1]):
        row = GT[idx[j]]
        w = val[j]
        for k in range(acc.shape[0]):
            acc[k] += w * row[k]
    best = 0
    for k in range(1, acc.shape[0]):
        if acc[k] > acc[best]:
            best = k
    return best


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
        best = _alpha_products(ptr, idx, val, GT, i, acc)
        values[i] = acc[best]
        arg[i] = best
    return values, arg


@numba.njit(cache=True)
def _upper_values(ptr, idx, val, corner, qfib, p_ptr, p_idx, p_inv, p_delta, head, nxt, skip, buf):  # pragma: no cover
    """Sawtooth upper bound (capped by the FIB) at each sparse belief; point ``skip`` is ignored.

    ``p_inv`` holds ``1 / b_i(s)`` on each point's support and ``p_delta[i] = v_i - b_i . corner``
    (points with ``p_delta >= 0`` cannot lower the bound). Points are chained by the first state of
    their support (``head[s]``, ``nxt[i]``, ``-1`` ends a chain): ``c_i(b) > 0`` needs
    ``supp(b_i) ⊆ supp(b)``, so only the chains of the states in ``supp(b)`` can contribute and
    the others are never read."""
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
        for j in range(lo, hi):
            p = head[idx[j]]
            while p >= 0:
                d = p_delta[p]
                if d < 0.0 and p != skip:
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
                p = nxt[p]
        values[i] = best
        for j in range(lo, hi):
            buf[idx[j]] = 0.0
    return values


@numba.njit(cache=True)
def _chain_points(p_ptr, p_idx, n_pts, head, nxt):  # pragma: no cover - compiled
    """Rebuild the chains of :func:`_upper_values`: point ``i`` goes to the chain of its first
    support state."""
    head[:] = -1
    for p in range(n_pts - 1, -1, -1):
        s = p_idx[p_ptr[p]]
        nxt[p] = head[s]
        head[s] = p


@numba.njit(cache=True)
def _lower_backup(b_idx, b_val, indptr, indices, data, obs, R, GT, K, gamma, buf, mark):  # pragma: no cover
    """Point-based backup of the lower bound alone at one sparse belief.

    Returns ``(improved, alpha, a)``: the backed-up vector and its action when its value at ``b``
    exceeds the current ``max_k alpha_k . b`` (else ``improved`` is False and ``alpha`` unused)."""
    A, S, n_obs = obs.shape
    probs, ptr, sidx, sval = _successors(b_idx, b_val, indptr, indices, data, obs, buf, mark)
    low, arg = _lower_values(ptr, sidx, sval, GT, K)
    best_a = 0
    best_q = -np.inf
    for a in range(A):
        q = 0.0
        for j in range(b_idx.shape[0]):
            q += b_val[j] * R[b_idx[j], a]
        acc = 0.0
        for o in range(n_obs):
            acc += probs[a, o] * low[a * n_obs + o]
        q += gamma * acc
        if q > best_q:
            best_q = q
            best_a = a
    one = np.zeros(2, np.int64)
    one[1] = b_idx.shape[0]
    current = _lower_values(one, b_idx, b_val, GT, K)[0][0]
    if best_q > current + 1e-12 * (1.0 + abs(current)):
        ks = arg[best_a * n_obs:(best_a + 1) * n_obs].copy()
        return True, _build_alpha(best_a, ks, GT, indptr, indices, data, obs, R, gamma), best_a
    return False, np.zeros(0), best_a


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
def _expand(b_idx, b_val, indptr, indices, data, obs, R, GT, K, corner, qfib, p_ptr, p_idx, p_inv, p_delta, head,
            nxt, gamma, buf, mark):  # pragma: no cover - compiled
    """Everything a trial step needs at one belief, in one call: the successors and ``P(o | b, a)``,
    both bounds at each successor (and the maximising vector), ``b . R[:, a]``, ``Q_lo(b, .)``,
    ``Q_hi(b, .)`` and both bounds at ``b`` itself."""
    A, S, n_obs = obs.shape
    probs, ptr, sidx, sval = _successors(b_idx, b_val, indptr, indices, data, obs, buf, mark)
    up = _upper_values(ptr, sidx, sval, corner, qfib, p_ptr, p_idx, p_inv, p_delta, head, nxt, -1, buf)
    low, arg = _lower_values(ptr, sidx, sval, GT, K)
    r = np.zeros(A)
    q_lo = np.zeros(A)
    q_hi = np.zeros(A)
    for a in range(A):
        acc = 0.0
        for j in range(b_idx.shape[0]):
            acc += b_val[j] * R[b_idx[j], a]
        r[a] = acc
        lo_acc = 0.0
        hi_acc = 0.0
        for o in range(n_obs):
            lo_acc += probs[a, o] * low[a * n_obs + o]
            hi_acc += probs[a, o] * up[a * n_obs + o]
        q_lo[a] = acc + gamma * lo_acc
        q_hi[a] = acc + gamma * hi_acc
    one = np.zeros(2, np.int64)
    one[1] = b_idx.shape[0]
    lo_b = _lower_values(one, b_idx, b_val, GT, K)[0][0]
    hi_b = _upper_values(one, b_idx, b_val, corner, qfib, p_ptr, p_idx, p_inv, p_delta, head, nxt, -1, buf)[0]
    return probs, ptr, sidx, sval, up, low, arg, r, q_lo, q_hi, lo_b, hi_b


@numba.njit(cache=True)
def _dominated_points(corner, qfib, p_ptr, p_idx, p_val, p_inv, p_delta, head, nxt, n_pts, keep, buf):  # pragma: no cover
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
                              p_ptr, p_idx, p_inv, p_delta, head, nxt, p, buf)[0]
        if other <= own:
            p_delta[p] = np.inf
            removed += 1
    return removed


@numba.njit(cache=True)
def _witness_alpha(ptr, idx, val, nodes, GT, K, delta, keep):  # pragma: no cover - compiled
    r"""Mark in ``keep`` the vectors maximal at some witness belief, and (``delta > 0``) those that
    may be maximal within L1 distance ``delta`` of one.

    For ``||b' - b||_1 <= delta`` on the simplex, ``(alpha_k - alpha_*) . (b' - b) <= delta / 2
    (span(alpha_k) + span(alpha_*))`` (``span = max - min``), so a vector failing
    ``alpha_k . b + delta / 2 (span_k + span_*) >= alpha_* . b`` at every witness ``b`` (``alpha_*``
    maximal at ``b``) is maximal nowhere in those neighbourhoods: a conservative form of SARSOP's
    delta-dominance."""
    S = GT.shape[0]
    span = np.empty(K)
    for k in range(K):
        mx = -np.inf
        mn = np.inf
        for s in range(S):
            x = GT[s, k]
            if x > mx:
                mx = x
            if x < mn:
                mn = x
        span[k] = mx - mn
    acc = np.empty(K)
    for i in nodes:
        best = _alpha_products(ptr, idx, val, GT, i, acc)
        keep[best] = True
        if delta > 0.0:
            for k in range(K):
                if not keep[k] and acc[k] + 0.5 * delta * (span[k] + span[best]) >= acc[best]:
                    keep[k] = True



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
    q_lo: np.ndarray  # Q_lo(b, .) from the successor values above
    q_hi: np.ndarray
    lo_b: float  # the bounds at b before its backup
    hi_b: float


class _BeliefTree:
    """The sampled beliefs, the ``(a, o)`` edges the trials followed between them and the last
    backed-up ``Q_lo(b, .)``, ``Q_hi(b, .)`` at each (SARSOP's belief tree ``T_R``)."""

    def __init__(self, n_obs: int) -> None:
        self.n_obs = n_obs
        self.n = 0
        self.ptr = np.zeros(1025, dtype=np.int64)  # beliefs as one growing CSR triple
        self.flat_idx = np.zeros(1 << 14, dtype=np.int64)
        self.flat_val = np.zeros(1 << 14)
        self.entropy: list[float] = []
        self.children: list[dict[int, int]] = []
        self.q_lo: list[np.ndarray | None] = []
        self.q_hi: list[np.ndarray | None] = []
        self.of_key: dict[bytes, int] = {}

    def __len__(self) -> int:
        return self.n

    def belief(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.ptr[i], self.ptr[i + 1]
        return self.flat_idx[lo:hi], self.flat_val[lo:hi]

    def node(self, idx: np.ndarray, val: np.ndarray) -> int:
        key = _belief_key(idx, val)
        i = self.of_key.get(key)
        if i is None:
            i = self.n
            self.of_key[key] = i
            if i + 1 == self.ptr.size:
                self.ptr = np.concatenate([self.ptr, np.zeros(self.ptr.size - 1, dtype=np.int64)])
            nnz = int(self.ptr[i])
            if nnz + idx.size > self.flat_idx.size:
                cap = max(2 * self.flat_idx.size, nnz + idx.size)
                self.flat_idx = np.concatenate([self.flat_idx, np.zeros(cap - self.flat_idx.size, dtype=np.int64)])
                self.flat_val = np.concatenate([self.flat_val, np.zeros(cap - self.flat_val.size)])
            self.flat_idx[nnz:nnz + idx.size] = idx
            self.flat_val[nnz:nnz + idx.size] = val
            self.ptr[i + 1] = nnz + idx.size
            self.entropy.append(float(-(val * np.log2(val)).sum()))
            self.children.append({})
            self.q_lo.append(None)
            self.q_hi.append(None)
            self.n += 1
        return i

    def optimally_reachable(self, root: int) -> np.ndarray:
        r"""Nodes reachable from ``root`` along edges ``(a, o)`` whose action is not provably
        suboptimal, ``Q_hi(b, a) >= max_a' Q_lo(b, a')`` (SARSOP's pruning of the belief tree).

        Both ``Q`` are certified bounds from an earlier backup and only tighten, so an edge cut
        once stays cut: ``Q*(b, a) <= Q_hi(b, a) < max Q_lo(b, .) <= V*(b)``."""
        seen = np.zeros(self.n, dtype=bool)
        seen[root] = True
        stack = [root]
        while stack:
            i = stack.pop()
            q_lo, q_hi = self.q_lo[i], self.q_hi[i]
            best = -np.inf if q_lo is None else float(q_lo.max())
            for row, c in self.children[i].items():
                if seen[c] or (q_hi is not None and q_hi[row // self.n_obs] < best - 1e-9 * (1.0 + abs(best))):
                    continue
                seen[c] = True
                stack.append(c)
        return np.flatnonzero(seen)



class _Search:
    """Mutable state of one run: alpha vectors (stored transposed), the upper point set (chained
    by first support state) and the compiled-kernel work arrays."""

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
        self.head = np.full(S, -1, dtype=np.int64)
        self.nxt = np.full(64, -1, dtype=np.int64)
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
            self.nxt = np.concatenate([self.nxt, np.full(self.nxt.shape[0], -1, dtype=np.int64)])
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
        first = int(idx[0])
        self.nxt[n] = self.head[first]
        self.head[first] = n
        self.point_of[key] = n
        self.n_pts += 1
        return n

    # ---------------------------------------------------------------- evaluation
    def lower(self, ptr: np.ndarray, idx: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _lower_values(ptr, idx, val, self.GT, self.K)

    def upper(self, ptr: np.ndarray, idx: np.ndarray, val: np.ndarray, skip: int = -1) -> np.ndarray:
        return _upper_values(ptr, idx, val, self.corner, self.qfib, self.p_ptr, self.p_idx, self.p_inv,
                             self.p_delta, self.head, self.nxt, skip, self.buf)

    def bounds_at(self, idx: np.ndarray, val: np.ndarray) -> tuple[float, float]:
        ptr = np.array([0, idx.size], dtype=np.int64)
        return float(self.lower(ptr, idx, val)[0][0]), float(self.upper(ptr, idx, val)[0])

    def expand(self, idx: np.ndarray, val: np.ndarray) -> _Node:
        """Successors of ``b`` with both bounds evaluated at each of them (one compiled call)."""
        out = _expand(idx, val, self.indptr, self.indices, self.data, self.obs, self.R, self.GT, self.K, self.corner,
                      self.qfib, self.p_ptr, self.p_idx, self.p_inv, self.p_delta, self.head, self.nxt, self.gamma,
                      self.buf, self.mark)
        return _Node(idx, val, out[7], *out[:7], *out[8:])

    # ---------------------------------------------------------------- backup
    def update(self, node: _Node) -> tuple[float, float]:
        """Back up both bounds at ``node``'s belief (one point-based alpha backup, one sawtooth
        backup) from the successor values evaluated in :meth:`expand`; returns the bounds at the
        belief after the backup, ``(max(V_lo(b), max_a Q_lo), min(V_hi(b), max_a Q_hi))``."""
        q_lo, q_hi, lo_b, hi_b = node.q_lo, node.q_hi, node.lo_b, node.hi_b
        a = int(np.argmax(q_lo))
        if q_lo[a] > lo_b + 1e-12 * (1.0 + abs(lo_b)):
            ks = np.ascontiguousarray(node.arg.reshape(self.A, self.n_obs)[a])
            alpha = _build_alpha(a, ks, self.GT, self.indptr, self.indices, self.data, self.obs, self.R, self.gamma)
            self.add_alpha(alpha, a)
            lo_b = float(q_lo[a])
        v = float(q_hi.max())
        if v < hi_b:
            self.set_point(node.idx, node.val, v)
            hi_b = v
        self.n_backups += 1
        return lo_b, hi_b

    def lower_sweep(self, tree: _BeliefTree, nodes: np.ndarray, deadline: float, clock: Any) -> int:
        """Point-based alpha backups (lower bound only) at the tree beliefs ``nodes``, newest
        first, until ``deadline`` on ``clock``; returns how many. An alpha vector is added where
        it improves the lower bound at its belief."""
        n_done = 0
        for i in nodes[::-1]:
            if n_done % 64 == 0 and clock() >= deadline:  # the CPU clock is a slow system call: not every time
                break
            idx, val = tree.belief(i)
            improved, alpha, a = _lower_backup(idx, val, self.indptr, self.indices, self.data,
                                               self.obs, self.R, self.GT, self.K, self.gamma, self.buf, self.mark)
            if improved:
                self.add_alpha(alpha, a)
            n_done += 1
        self.n_backups += n_done
        return n_done

    # ---------------------------------------------------------------- pruning
    def prune_alpha(self, tree: _BeliefTree, nodes: np.ndarray, delta: float) -> None:
        """Keep the vectors maximal (or, ``delta > 0``, possibly maximal within L1 distance
        ``delta``) at some witness belief (the tree beliefs ``nodes``)."""
        keep_mask = np.zeros(self.K, dtype=np.bool_)
        _witness_alpha(tree.ptr, tree.flat_idx, tree.flat_val, nodes, self.GT, self.K, delta, keep_mask)
        keep = np.flatnonzero(keep_mask)
        self.GT[:, :keep.size] = self.GT[:, keep]
        self.alpha_actions[:keep.size] = self.alpha_actions[keep]
        self.K = keep.size

    def prune_points(self, root: int) -> None:
        removed = _dominated_points(self.corner, self.qfib, self.p_ptr, self.p_idx, self.p_val, self.p_inv,
                                    self.p_delta, self.head, self.nxt, self.n_pts, root, self.buf)
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
        _chain_points(self.p_ptr, self.p_idx, self.n_pts, self.head, self.nxt)
        self.point_of = {_belief_key(self.p_idx[self.p_ptr[i]:self.p_ptr[i + 1]],
                                     self.p_val[self.p_ptr[i]:self.p_ptr[i + 1]]): i for i in range(alive.size)}


def _belief_key(idx: np.ndarray, val: np.ndarray) -> bytes:
    """Exact identity of a sparse belief (no rounding: a point's value is certified only at its
    own belief)."""
    return idx.tobytes() + val.tobytes()


def _sparse(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.flatnonzero(b > 0).astype(np.int64)
    return idx, np.ascontiguousarray(b[idx], dtype=np.float64)


def _descend(search: _Search, node: _Node, q_hi: np.ndarray, eps_next: float) -> tuple[int, int]:
    """IE-MAX action and the observation of largest weighted excess (``eps_next`` is the
    precision one level down); returns ``(a, row)`` with ``row = a * O + o``."""
    n_obs = search.n_obs
    a = int(np.argmax(q_hi))
    rows = slice(a * n_obs, (a + 1) * n_obs)
    excess = node.probs[a] * (node.up[rows] - node.low[rows] - eps_next)
    excess[node.probs[a] == 0.0] = -np.inf
    return a, a * n_obs + int(np.argmax(excess))


def _child(tree: _BeliefTree, node: _Node, parent: int, row: int) -> int:
    lo, hi = node.ptr[row], node.ptr[row + 1]
    c = tree.node(node.sidx[lo:hi], node.sval[lo:hi])
    tree.children[parent][row] = c
    return c


def _back_up_path(search: _Search, tree: _BeliefTree, path: list[int], deadline: float, now: Any) -> None:
    """Back up the path in reverse (deepest first), stopping at ``deadline`` (skipped backups only
    leave bounds looser, never invalid)."""
    for step, i in enumerate(reversed(path)):
        if step % 8 == 7 and now() >= deadline:
            break
        node = search.expand(*tree.belief(i))
        search.update(node)
        tree.q_lo[i], tree.q_hi[i] = node.q_lo, node.q_hi


_WARMED: set[tuple[Callable[..., Any], bool]] = set()
"""The (trial rule, sparse layout) pairs whose search has run once in this process."""


def _warm_up(make_trial: Callable[[_Search, _BeliefTree], Trial], sparse: bool) -> None:
    """Run the search once on a two-state model of the caller's layout (CSR ``T`` if ``sparse``),
    so that numba compiles every kernel the search reaches (or loads it from its on-disk cache)
    before a caller's clock starts: compilation never counts against ``time_limit`` (it took 10 s
    of a 10 s budget on a cold cache). The model is Tiger (Kaelbling, Littman & Cassandra 1998) at
    ``gamma = 0.95``; the run reaches the trials, the lower-bound sweeps and the pruning of
    vectors; the rechaining of points after a pruning and the MDP value iteration of the QMDP
    bound (:func:`warm_up_value_iteration`) are run directly. Once per process, trial rule and
    layout."""
    key = (make_trial, bool(sparse))
    if key in _WARMED:
        return
    _WARMED.add(key)
    warm_up_value_iteration(sparse)
    _chain_points(np.array([0, 1], dtype=np.int64), np.zeros(1, dtype=np.int64), 1,
                  np.full(1, -1, dtype=np.int64), np.full(1, -1, dtype=np.int64))
    T = np.zeros((2, 3, 2))
    T[:, 0] = np.eye(2)
    T[:, 1:] = 0.5
    emission = np.full((3, 2, 2), 0.5)
    emission[0] = [[0.85, 0.15], [0.15, 0.85]]
    R = np.array([[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]])
    kernel = sp.csr_matrix(T.reshape(6, 2)) if sparse else T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run_search(POMDP(kernel, emission, R, 0.95), tol=1e-6, time_limit=None, clock="wall", max_iter=40,
                    sampling="", zeta=0.5, max_depth=None, prune_growth=1.5, delta=0.0, sweep_fraction=0.5,
                    b0=None, callback=None, make_trial=make_trial, method="warm-up")


def _run_search(
    model: POMDP,
    *,
    tol: float,
    time_limit: float | None,
    clock: str,
    max_iter: int | None,
    sampling: str,
    zeta: float,
    max_depth: int | None,
    prune_growth: float,
    delta: float,
    sweep_fraction: float,
    b0: np.ndarray | None,
    callback: Any,
    make_trial: Callable[[_Search, _BeliefTree], Trial],
    method: str,
    progress: bool = False,
) -> POMDPSolution:
    """The anytime search loop of :func:`theory_rl.pomdp.hsvi2` and :func:`theory_rl.pomdp.sarsop`
    (options validated here, as documented there); ``make_trial(search, tree)`` returns the trial
    rule, ``sampling`` is recorded in ``params``."""
    if not isinstance(model, POMDP):
        raise InvalidModelError(f"model must be a theory_rl.models.POMDP, got {type(model).__name__}")
    if not model.gamma < 1.0:
        raise InvalidModelError(f"{method} needs gamma < 1 (infinite-horizon discounted model)")
    tol = check_tol(tol)
    # NaN never expires: the run ignored the budget; None is no limit
    time_limit = check_time_limit(time_limit)
    time_limit = math.inf if time_limit is None else time_limit
    max_iter = check_max_iter(max_iter)
    max_depth = check_optional_int(max_depth, "max_depth", minimum=1)
    prune_growth = check_real(prune_growth, "prune_growth", low=1.0, low_open=True)
    zeta = check_real(zeta, "zeta", low=0.0, high=1.0, high_open=True)
    sweep_fraction = check_real(sweep_fraction, "sweep_fraction", low=0.0, high=1.0, high_open=True)
    delta = check_real(delta, "delta", low=0.0)
    check_choice(clock, "clock", tuple(CLOCKS))
    progress = check_bool(progress, "progress")
    now = CLOCKS[clock]
    _warm_up(make_trial, model.is_sparse)  # compile (or load) every kernel before the clock starts
    start = now()
    belief0 = model.b0 if b0 is None else as_float_array(b0, "b0", ndim=1)
    if belief0.shape != (model.n_states,):
        raise InvalidModelError(f"b0 has shape {belief0.shape}, expected a probability vector of length {model.n_states}")
    # NaN entries used to pass (NaN compares False) and the search ran from the other entries
    check_probability_rows(belief0[None, :], "b0", atol=1e-8, row_shape=())

    blind = blind_lower_bound(model)
    with warnings.catch_warnings():  # any FIB iterate is an upper bound: stopped early, it is only looser
        warnings.simplefilter("ignore", ConvergenceWarning)
        # near gamma = 1 the FIB sweeps alone ran 3 s past time_limit=1 (tiger, gamma 0.9999): half the budget
        fib = fib_upper_bound(model, time_limit=0.5 * max(time_limit - (now() - start), 0.0), clock=clock)
    search = _Search(model, blind.alpha, blind.actions, fib.alpha.T)
    tree = _BeliefTree(search.n_obs)
    trial = make_trial(search, tree)
    idx0, val0 = _sparse(belief0)
    root_node = tree.node(idx0, val0)
    lo0, hi0 = search.bounds_at(idx0, val0)
    root = search.set_point(idx0, val0, hi0)
    gamma = search.gamma
    width = float(search.corner.max() - search.GT[:, :search.K].min())
    if max_depth is None:
        max_depth = int(math.ceil(math.log(max(width, tol) / tol) / math.log(1.0 / gamma))) + 1 \
            if gamma > 0 else 1
    hist: dict[str, list[float]] = {k: [] for k in ("lower", "upper", "time", "n_vectors", "n_points", "n_backups")}

    def record(lo: float, hi: float, t: float) -> None:
        hist["lower"].append(lo)
        hist["upper"].append(hi)
        hist["time"].append(t - start)
        hist["n_vectors"].append(search.K)
        hist["n_points"].append(search.n_pts)
        hist["n_backups"].append(search.n_backups)

    lo, hi = lo0, hi0
    t_now = now()  # the CPU clock is a system call: read it once per step of the loop
    record(lo, hi, t_now)
    pruned_k, pruned_p = search.K, search.n_pts
    reachable = np.array([root_node])
    reach_size = 1
    trials = 0
    trial_time = sweep_time = 0.0
    stop_reason = "tol reached"
    deadline = start + time_limit
    bar = progress_bar(progress, total=None, desc=method, unit="trial")
    while hi - lo > tol:
        if max_iter is not None and trials >= max_iter:
            stop_reason = f"max_iter={max_iter} trials reached"
            break
        if t_now >= deadline:
            stop_reason = f"time_limit={time_limit:g}s reached"
            break
        eps = max(tol, zeta * (hi - lo))
        t_trial = t_now
        trial(root_node, eps, max_depth, deadline, now)
        t_now = now()
        trial_time += t_now - t_trial
        trials += 1
        if len(tree) > 1.1 * reach_size:
            reachable = tree.optimally_reachable(root_node)
            reach_size = len(tree)
        if sweep_fraction > 0 and sweep_time < sweep_fraction * (trial_time + sweep_time):
            t_sweep = t_now
            budget = max(sweep_fraction * (trial_time + sweep_time) - sweep_time, 1e-3)
            search.lower_sweep(tree, reachable, min(t_sweep + budget, deadline), now)
            t_now = now()
            sweep_time += t_now - t_sweep
        if search.K > prune_growth * pruned_k:
            if len(tree) > 1.02 * reach_size:
                reachable = tree.optimally_reachable(root_node)
                reach_size = len(tree)
            search.prune_alpha(tree, reachable, delta)
            pruned_k = search.K
        if search.n_pts > prune_growth * pruned_p:
            search.prune_points(root)
            root = search.point_of[_belief_key(idx0, val0)]
            pruned_p = search.n_pts
        new_lo, new_hi = search.bounds_at(idx0, val0)
        # the point at b0 and the vector maximal there are never pruned, so these are monotone;
        # max/min only absorb float rounding of the sums
        lo, hi = max(lo, new_lo), min(hi, new_hi)
        record(lo, hi, t_now)
        bar.update(1)
        bar.set_postfix_str(f"[{lo:.6g}, {hi:.6g}] gap {hi - lo:.3g}", refresh=False)
        if callback is not None and callback(trials, lo, hi):
            stop_reason = "stopped by the callback"
            break
    bar.close()
    converged = hi - lo <= tol
    if not converged:
        warnings.warn(f"{method} stopped with gap {hi - lo:.4g} > tol={tol:g}: {stop_reason}",
                      ConvergenceWarning, stacklevel=2)
    reachable = tree.optimally_reachable(root_node)
    search.prune_alpha(tree, reachable, 0.0)
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
        method=method,
        params={"tol": tol, "time_limit": time_limit, "clock": clock, "max_iter": max_iter,
                "sampling": sampling, "zeta": zeta, "max_depth": max_depth, "prune_growth": prune_growth,
                "delta": delta, "sweep_fraction": sweep_fraction, "progress": progress},
        elapsed=now() - start,
        info={"n_backups": search.n_backups, "n_points": n, "n_beliefs": len(tree), "n_reachable": int(reachable.size),
              "stop_reason": stop_reason if not converged else "tol reached", "upper": upper_info},
    )

