r"""Exact POMDP value iteration with incremental pruning (Cassandra, Littman, Zhang 1997).

The horizon-``n`` value function is piecewise linear and convex, ``V_n(b) = max_{alpha in Gamma_n} alpha . b``.
One exact dynamic-programming step (spec section 10.1-10.2):

.. math::
    \Gamma^{a,o} = \{ \gamma\, T_a \operatorname{diag}(O_a[:, o])\, \alpha : \alpha \in \Gamma_n \}, \qquad
    \Gamma^a = R_a + \operatorname{prune}\big(\cdots \operatorname{prune}(\operatorname{prune}(\Gamma^{a,o_1} \oplus \Gamma^{a,o_2}) \oplus \Gamma^{a,o_3}) \cdots\big),
    \qquad \Gamma_{n+1} = \operatorname{prune}\big(\textstyle\bigcup_a \Gamma^a\big),

with ``X (+) Y = {x + y}``. ``prune`` keeps exactly the vectors that are strictly best (by more
than ``lp_tol``) somewhere on the belief simplex: pointwise-dominated vectors and duplicates are
dropped first, then Lark's filter (White 1991) keeps the lexicographically best vector at every
simplex corner and every witness belief found so far, and decides each remaining candidate
``phi`` by the linear program

.. math::
    \delta^* = \max_{b \in \Delta,\, t} \; b\cdot\phi - t \quad \text{s.t.} \quad t \ge b \cdot q \;\; \forall q \in Q,

solved with HiGHS (``highspy`` when installed, else ``scipy.optimize.linprog(method="highs")``).
The constraints do not depend on ``phi``: one LP per filter is kept warm and only its objective
changes, and a row is added when a vector is kept (this is the
same LP as the spec's ``max delta s.t. b.(phi - q) >= delta``, with ``t = delta - b.phi`` eliminated).

Stopping (discounted case). For any ``V``, ``V* - V <= sup(HV - V)^+ / (1 - gamma)`` and
``V - V* <= sup(V - HV)^+ / (1 - gamma)``. With ``V_n`` the computed ``H V_{n-1}`` (pruning with
tolerance ``lp_tol`` may lose at most ``loss`` at any belief: the largest ``delta*`` of an
LP-dropped vector or excess of a dominated one, summed along the incremental chain),

.. math::
    V^* - V_n \le \frac{\gamma\, \sup(V_n - V_{n-1})^+ + \text{loss}}{1-\gamma}, \qquad
    V_n - V^* \le \frac{\gamma\, \sup(V_{n-1} - V_n)^+}{1-\gamma},

and the two sups are bounded from above without LPs by ``max_i min_j max_s (alpha_i - beta_j)(s)``
(each vector compared with its best single counterpart). The solver stops when the sum of the two
(the width of the certified interval, at every belief) is at most ``tol``.

Acceleration by controller evaluation (Hansen 1998, "Solving POMDPs by searching in policy
space", UAI). Every vector produced by a backup is ``R_a + sum_o g^{a,o}_{k(o)}``: an action and,
for each observation, a successor vector, i.e. a node of a finite-state controller. Every
``evaluate_every`` epochs the controller is closed (each
successor mapped to the current vector that is best at that successor's witness belief) and
evaluated exactly by one sparse linear solve. Its node values ``V_c`` are the value of a real
policy, so ``V_c <= V*`` and ``V_c <= H V_c``; then

.. math:: H V_c \le V^* \le H V_c + \tfrac{\gamma}{1-\gamma} \sup_b (H V_c - V_c)(b),

and value iteration continues from ``H V_c`` (monotonically from then on, so ``V_n(b0)`` is a
certified lower bound). When the controller is optimal the residual is rounding error and the
solve stops at once. This changes nothing about what is computed (exact backups of PWLC
functions), only how many epochs are needed to certify the tolerance; ``evaluate_every=None``
gives plain value iteration.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._highs import quiet_highs
from .._iterative import progress_bar
from .._validation import check_bool, check_max_iter, check_optional_int, check_real, check_time_limit, check_tol
from ..errors import ConvergenceWarning, InvalidModelError, SolverError
from ..models import POMDP
from ._backup import project
from ._solution import POMDPSolution

__all__ = ["prune", "exact_value_iteration", "finite_horizon_value"]


# ----------------------------------------------------------------------------- pruning
def _lex_best(vectors: np.ndarray, b: np.ndarray, cand: np.ndarray, eps: float) -> int:
    """Index (into ``cand``) of the best vector at ``b``, ties broken lexicographically (largest):
    the lexicographic winner of a tie at ``b`` is never dominated, so Lark's filter keeps only useful vectors."""
    vals = vectors[cand] @ b
    top = np.flatnonzero(vals >= vals.max() - eps)
    if top.size == 1:
        return int(top[0])
    sub = vectors[cand[top]]
    order = np.lexsort(sub.T[::-1])  # ascending lexicographic
    equal = np.flatnonzero((sub == sub[order[-1]]).all(axis=1))
    return int(top[equal[0]])  # of equal vectors, the first


def _pointwise_filter(V: np.ndarray, eps: float) -> np.ndarray:
    """Indices of the vectors not pointwise dominated (within ``eps``) by another one; of a group
    of equal vectors (within ``eps``) the first is kept."""
    K = V.shape[0]
    if K <= 1:
        return np.arange(K)
    keep = np.ones(K, dtype=bool)
    step = max(1, (1 << 22) // max(1, K * V.shape[1]))
    for lo in range(0, K, step):
        hi = min(K, lo + step)
        # ge[i, j]: V[j] >= V[i] - eps everywhere (j weakly dominates i)
        ge = (V[None, :, :] >= V[lo:hi, None, :] - eps).all(axis=2)
        le = (V[None, :, :] <= V[lo:hi, None, :] + eps).all(axis=2)  # V[j] <= V[i] + eps
        equal = ge & le
        idx = np.arange(lo, hi)[:, None]
        j = np.arange(K)[None, :]
        dominated = (ge & ~le) | (equal & (j < idx))
        keep[lo:hi] = ~dominated.any(axis=1)
    return np.flatnonzero(keep)


#: Use highspy's warm-started model when installed (set False to force scipy's linprog).
USE_HIGHSPY = True


def _highspy() -> Any:
    """``highspy`` if installed (``theory_rl[mip]``), else None: then scipy's bundled HiGHS is used."""
    try:
        import highspy
    except ImportError:
        return None
    return highspy


class _DominanceLP:
    """The LP ``max b.phi - t  s.t.  t >= b.q (q in Q), sum(b) = 1, b >= 0``.

    With ``highspy`` one HiGHS model is kept warm (rows are added as vectors are kept, only the
    objective changes between solves); without it every solve is a fresh
    ``scipy.optimize.linprog(method="highs")`` (same solver, no warm start, slower). The rows are
    kept in both modes: when the warm model is not optimal even after a solve from scratch, that
    solve also goes to ``linprog``.
    """

    def __init__(self, n_states: int, *, use_highspy: bool = True) -> None:
        self.S = n_states
        self.n_lp = 0
        self.cols = np.arange(n_states + 1, dtype=np.int32)
        self._hs = _highspy() if use_highspy else None
        self.rows: list[np.ndarray] = []
        if self._hs is None:
            return
        highspy = self._hs
        h = quiet_highs(highspy)
        h.silent()
        h.setOptionValue("presolve", "off")
        inf = highspy.kHighsInf
        for _ in range(n_states):
            h.addVar(0.0, 1.0)
        h.addVar(-inf, inf)
        h.addRow(1.0, 1.0, n_states, self.cols[:-1], np.ones(n_states))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.h = h

    def add(self, q: np.ndarray) -> None:
        # the rows are kept in both modes: scipy's linprog is the last resort when highspy fails
        self.rows.append(np.asarray(q, dtype=float))
        if self._hs is not None:
            self.h.addRow(0.0, self._hs.kHighsInf, self.S + 1, self.cols, np.r_[-q, 1.0])

    def solve(self, phi: np.ndarray) -> tuple[float, np.ndarray]:
        self.n_lp += 1
        if self._hs is None:
            return self._solve_scipy(phi)
        h = self.h
        h.changeColsCost(self.S + 1, self.cols, np.r_[phi, -1.0])
        h.run()
        status = h.getModelStatus()
        if status != self._hs.HighsModelStatus.kOptimal:
            # the warm-started simplex can end in status "Unknown" on these degenerate LPs (seen on
            # a random 4-state POMDP); drop the basis and solve from scratch before giving up
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
        if status != self._hs.HighsModelStatus.kOptimal:
            # still not optimal (seen once in 250 random POMDPs with up to 4 states): solve the same
            # LP afresh through scipy's linprog (HiGHS with presolve, a new model), which raises
            # SolverError itself if that fails too
            return self._solve_scipy(phi)
        x = np.asarray(h.getSolution().col_value)
        b = np.clip(x[: self.S], 0.0, None)
        return float(h.getInfo().objective_function_value), b / b.sum()

    def _solve_scipy(self, phi: np.ndarray) -> tuple[float, np.ndarray]:
        from scipy.optimize import linprog

        S = self.S
        Q = np.asarray(self.rows)
        res = linprog(
            np.r_[-phi, 1.0], A_ub=np.hstack([Q, -np.ones((len(Q), 1))]), b_ub=np.zeros(len(Q)),
            A_eq=np.r_[np.ones(S), 0.0][None, :], b_eq=[1.0], bounds=[(0.0, 1.0)] * S + [(None, None)],
            method="highs",
        )
        if res.status != 0:
            raise SolverError("HiGHS (scipy) failed on a dominance LP in incremental pruning", status=res.message)
        b = np.clip(res.x[:S], 0.0, None)
        return float(-res.fun), b / b.sum()


@dataclass
class _PruneStats:
    n_lp: int = 0
    #: ``max_b [max_{all} v.b - max_{kept} v.b]`` bound of the last call: what pruning with a
    #: tolerance can lose (exact dominance loses nothing; LP-dropped vectors lose their ``delta*``)
    last_loss: float = 0.0


def prune(
    vectors: np.ndarray,
    *,
    lp_tol: float = 1e-9,
    witnesses: np.ndarray | None = None,
    stats: _PruneStats | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the useful vectors of ``vectors`` (K, S), and a witness belief for each.

    A vector is kept iff it is better than all kept ones by more than ``lp_tol`` at some belief
    (Lark's filter with HiGHS LPs; see the module docstring). ``witnesses`` (M, S) are beliefs
    tried first (e.g. those of the previous epoch): the best vector at each is kept without an LP.

    Returns
    -------
    keep : ndarray of int, shape (K',)
    beliefs : ndarray, shape (K', S)
        ``beliefs[i]`` is a belief where ``vectors[keep[i]]`` is the best vector.
    """
    V = np.asarray(vectors, dtype=np.float64)
    K, S = V.shape
    if stats is not None:
        stats.last_loss = 0.0
    if K == 0:
        return np.zeros(0, dtype=np.intp), np.zeros((0, S))
    scale = 1.0 + float(np.abs(V).max())
    eps = lp_tol * scale
    seeds = [np.eye(S)]
    if witnesses is not None and len(witnesses):
        seeds.append(np.asarray(witnesses, dtype=float))
    seeds = np.concatenate(seeds)
    # the best vector at each seed belief is useful (lexicographic tie-break), no LP needed
    kept: list[int] = []
    kept_b: list[np.ndarray] = []
    all_idx = np.arange(K)
    for b in seeds:
        j = _lex_best(V, b, all_idx, eps)
        if j in kept:
            continue
        if kept and V[j] @ b <= (V[kept] @ b).max() + eps:
            continue
        kept.append(j)
        kept_b.append(b)
    # the rest: drop vectors pointwise dominated by a kept one (within eps: the excess is the
    # loss), then those exactly dominated by (or equal to) another candidate (no loss)
    loss = 0.0
    rest = np.setdiff1d(all_idx, kept)
    if rest.size:
        Qv = V[kept]
        dominated = np.zeros(rest.size, dtype=bool)
        step = max(1, (1 << 22) // max(1, len(kept) * S))
        for lo in range(0, rest.size, step):
            excess = (V[rest[lo:lo + step]][:, None, :] - Qv[None, :, :]).max(axis=2).min(axis=1)
            dominated[lo:lo + step] = excess <= eps
            if dominated[lo:lo + step].any():
                loss = max(loss, float(excess[excess <= eps].max()))
        rest = rest[~dominated]
        if rest.size > 1:
            rest = rest[_pointwise_filter(V[rest], 0.0)]
    remaining = list(rest)
    if stats is not None:
        stats.last_loss = loss
    if not remaining:
        order = np.argsort(kept)
        return np.asarray(kept, dtype=np.intp)[order], np.asarray(kept_b)[order]
    lp = _DominanceLP(S, use_highspy=USE_HIGHSPY)
    for k in kept:
        lp.add(V[k])
    while remaining:
        phi = remaining[-1]
        delta, b = lp.solve(V[phi])
        if delta > eps:
            arr = np.asarray(remaining)
            j = _lex_best(V, b, arr, eps)
            best = int(arr[j])
            kept.append(best)
            kept_b.append(b)
            remaining.pop(j)
            lp.add(V[best])
        else:
            remaining.pop()
            loss = max(loss, delta)
    if stats is not None:
        stats.n_lp += lp.n_lp
        stats.last_loss = loss
    order = np.argsort(kept)
    return np.asarray(kept, dtype=np.intp)[order], np.asarray(kept_b)[order]


# ----------------------------------------------------------------------------- one exact backup
@dataclass
class _Stage:
    alpha: np.ndarray  # (K, S)
    actions: np.ndarray  # (K,)
    succ: np.ndarray  # (K, O): index into the previous stage's vectors
    witnesses: np.ndarray  # (K, S)
    #: bound on what pruning tolerances lost in this backup: H V - loss <= V_new <= H V at every belief
    loss: float = 0.0


def _exact_backup(model: POMDP, prev: _Stage, lp_tol: float, cache: dict, stats: _PruneStats) -> _Stage:
    G = project(model, prev.alpha)  # (A, O, K, S)
    A, n_obs, K, S = G.shape
    all_v, all_a, all_s = [], [], []
    chain_loss = 0.0  # losses add up along one action's chain of prunes; the worst action counts
    for a in range(A):
        # prune each projection set, then incrementally prune the cross sums
        keep, w = prune(G[a, 0], lp_tol=lp_tol, witnesses=cache.get((a, 0)), stats=stats)
        cache[(a, 0)] = w
        loss_a = stats.last_loss
        acc = G[a, 0][keep]
        succ = keep[:, None]
        for o in range(1, n_obs):
            k_o, w = prune(G[a, o], lp_tol=lp_tol, witnesses=cache.get((a, o, "p")), stats=stats)
            cache[(a, o, "p")] = w
            loss_a += stats.last_loss
            cross = (acc[:, None, :] + G[a, o][k_o][None, :, :]).reshape(-1, S)
            keep, w = prune(cross, lp_tol=lp_tol, witnesses=cache.get((a, o)), stats=stats)
            cache[(a, o)] = w
            loss_a += stats.last_loss
            i, j = np.divmod(keep, k_o.size)
            acc = cross[keep]
            succ = np.concatenate([succ[i], k_o[j][:, None]], axis=1)
        all_v.append(acc + model.R[:, a][None, :])
        all_a.append(np.full(acc.shape[0], a))
        all_s.append(succ)
        chain_loss = max(chain_loss, loss_a)
    V = np.concatenate(all_v)
    keep, w = prune(V, lp_tol=lp_tol, witnesses=cache.get("union"), stats=stats)
    cache["union"] = w
    return _Stage(V[keep], np.concatenate(all_a)[keep], np.concatenate(all_s)[keep], w,
                  loss=chain_loss + stats.last_loss)


def _sup_diff_bound(X: np.ndarray, Y: np.ndarray) -> float:
    """Upper bound on ``sup_b (max_i X_i.b - max_j Y_j.b)``: ``max_i min_j max_s (X_i - Y_j)(s)``."""
    best = np.inf * np.ones(X.shape[0])
    step = max(1, (1 << 22) // max(1, Y.shape[0] * X.shape[1]))
    for lo in range(0, X.shape[0], step):
        d = (X[lo:lo + step, None, :] - Y[None, :, :]).max(axis=2)  # (k, m)
        best[lo:lo + step] = d.min(axis=1)
    return float(best.max())


def _evaluate_controller(model: POMDP, stage: _Stage, prev: _Stage) -> np.ndarray | None:
    """Close the controller of ``stage`` (successors in ``prev`` mapped to the node of ``stage``
    that is best at their witness belief) and return its exact node values (K, S)."""
    K, S = stage.alpha.shape
    n_obs = model.n_observations
    if K * S > 20_000:
        return None
    node_of_prev = np.argmax(prev.witnesses @ stage.alpha.T, axis=1)  # (K_prev,)
    nxt = node_of_prev[stage.succ]  # (K, O)
    gamma = model.gamma
    T_by = model.transitions_by_action
    rows, cols, vals = [], [], []
    for i in range(K):
        a = int(stage.actions[i])
        Ta = T_by[a]
        Ta = Ta.toarray() if sp.issparse(Ta) else Ta
        for o in range(n_obs):
            M = gamma * Ta * model.O[a][:, o][None, :]  # (S, S')
            r, c = np.nonzero(M)
            rows.append(i * S + r)
            cols.append(int(nxt[i, o]) * S + c)
            vals.append(-M[r, c])
    rows.append(np.arange(K * S))
    cols.append(np.arange(K * S))
    vals.append(np.ones(K * S))
    M = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(K * S, K * S))
    rhs = model.R[:, stage.actions].T.reshape(-1)
    try:
        x = spla.spsolve(M.tocsc(), rhs)
    except RuntimeError:
        return None
    if not np.all(np.isfinite(x)):
        return None
    return x.reshape(K, S)


# ----------------------------------------------------------------------------- the solvers
def _initial(model: POMDP, alpha0: np.ndarray | None) -> _Stage:
    S = model.n_states
    if alpha0 is None:
        alpha = np.zeros((1, S))
    else:
        alpha = np.asarray(alpha0, dtype=float)
        if alpha.ndim != 2 or alpha.shape[1] != S or alpha.shape[0] == 0:
            raise InvalidModelError(f"alpha0 has shape {alpha.shape}, expected (K, {S})")
    K = alpha.shape[0]
    return _Stage(alpha, np.full(K, -1), np.zeros((K, 0), dtype=np.intp), np.tile(np.full(S, 1.0 / S), (K, 1)))


def finite_horizon_value(model: POMDP, horizon: int, *, lp_tol: float = 1e-9) -> POMDPSolution:
    r"""The exact horizon-``h`` value ``V_h = H^h 0`` by incremental pruning (see
    :func:`exact_value_iteration` with ``horizon=h``)."""
    return exact_value_iteration(model, horizon=horizon, lp_tol=lp_tol)


def exact_value_iteration(
    model: POMDP,
    *,
    horizon: int | None = None,
    tol: float = 1e-6,
    max_iter: int | None = None,
    lp_tol: float = 1e-9,
    time_limit: float | None = None,
    evaluate_every: int | None = 5,
    alpha0: np.ndarray | None = None,
    strict: bool = False,
    progress: bool = False,
) -> POMDPSolution:
    r"""Exact value iteration over alpha-vector sets with incremental pruning.

    Parameters
    ----------
    model : POMDP
    horizon : int, optional
        Finite horizon ``h``: return ``V_h = H^h V_0`` exactly (``V_0 = 0`` or ``alpha0``),
        with ``gamma`` as the per-step discount (``gamma = 1`` allowed). ``history["n_vectors"]``
        holds ``|Gamma_t|`` for ``t = 1..h``.
    tol : float
        Discounted case: stop once the certified interval ``[V(b) - below, V(b) + above]`` that
        contains ``V*(b)`` has width ``<= tol`` at every belief.
    max_iter : int, optional
        Epoch cap (default from the contraction rate, plus a margin).
    lp_tol : float
        A vector is kept iff it beats the others by more than ``lp_tol * (1 + max|alpha|)``.
    time_limit : float, optional
        Seconds; stops (with a ConvergenceWarning) after the epoch that passes it.
    evaluate_every : int or None
        Try controller evaluation (module docstring) every this many epochs, keeping it when it
        tightens the certified bound; ``None`` for plain value iteration.
    alpha0 : ndarray (K, S), optional
        Initial vectors (default the zero vector).
    strict : bool
        Raise SolverError instead of warning when not converged.
    progress : bool
        Show a tqdm bar over the epochs (bounds at ``b0``, number of vectors) on stderr.

    Returns
    -------
    POMDPSolution
        ``alpha``, ``actions``; ``lower <= V*(b0) <= upper`` certified (finite horizon:
        ``lower = V_h(b0)`` as computed, ``upper`` adds what pruning tolerances can have lost); ``history`` with ``lower``, ``upper``, ``time``, ``n_vectors``,
        ``residual`` per epoch; ``info["below"]``, ``info["above"]``: at *every* belief
        ``V(b) - below <= V*(b) <= V(b) + above`` (also when not converged); ``info["n_lp"]`` LPs solved, ``info["successors"]`` the
        successor indices (previous stage's vectors) of each vector, ``info["controller_evaluated"]``.

    Notes
    -----
    Cassandra, Littman, Zhang (1997), "Incremental pruning: a simple, fast, exact method for
    partially observable Markov decision processes", UAI (arXiv:1302.1525). Exact methods grow
    doubly exponentially in the worst case; this is for small models (Tiger, cheese, 4x4, 4x3
    to a few epochs).
    """
    t0 = time.perf_counter()
    gamma = model.gamma
    horizon = check_optional_int(horizon, "horizon", minimum=0)
    if horizon is None and gamma >= 1.0:
        raise InvalidModelError("gamma = 1 needs a finite horizon")
    tol, max_iter = check_tol(tol), check_max_iter(max_iter)
    lp_tol = check_real(lp_tol, "lp_tol", low=0.0)
    time_limit = check_time_limit(time_limit)
    evaluate_every = check_optional_int(evaluate_every, "evaluate_every", minimum=1)
    strict = check_bool(strict, "strict")
    progress = check_bool(progress, "progress")
    stats = _PruneStats()
    cache: dict = {}
    stage = _initial(model, alpha0)
    b0 = model.b0
    hist: dict[str, list[float]] = {"lower": [], "upper": [], "time": [], "n_vectors": [], "residual": []}
    params = {"horizon": horizon, "tol": tol, "max_iter": max_iter, "lp_tol": lp_tol, "time_limit": time_limit,
              "evaluate_every": evaluate_every}

    bar = progress_bar(progress, total=horizon, desc="exact_value_iteration", unit="epoch")

    def show(lo: float, hi: float) -> None:
        bar.update(1)
        bar.set_postfix_str(f"[{lo:.6g}, {hi:.6g}] {stage.alpha.shape[0]} vectors", refresh=False)

    if horizon is not None:
        err = 0.0  # V_t - err <= computed V_t <= V_t: the pruning losses, discounted and summed
        for _ in range(horizon):
            new = _exact_backup(model, stage, lp_tol, cache, stats)
            r = max(_sup_diff_bound(new.alpha, stage.alpha), _sup_diff_bound(stage.alpha, new.alpha))
            stage = new
            err = new.loss + gamma * err
            v = float((stage.alpha @ b0).max())
            for key, val in (("lower", v), ("upper", v + err), ("time", time.perf_counter() - t0),
                             ("n_vectors", stage.alpha.shape[0]), ("residual", r)):
                hist[key].append(val)
            show(v, v + err)
        bar.close()
        v = float((stage.alpha @ b0).max())
        return _solution(stage, v, v + err, True, horizon, hist, "exact_value_iteration(finite horizon)", params,
                         t0, stats, evaluated=False, b0=b0, below=0.0, above=err)

    c = gamma / (1.0 - gamma)
    if max_iter is None:
        span = float(np.ptp(model.R)) + float(np.abs(model.R).max())
        target = tol / (c * max(span, 1e-300))
        max_iter = 10 if target >= 1 else int(math.ceil(math.log(target) / math.log(gamma) * 1.2)) + 20 if gamma > 0 else 10
    monotone = False
    loss = 0.0
    lower = upper = float("nan")
    value_below = value_above = float("inf")
    converged = False
    evaluated = False
    n = 0
    for n in range(1, max_iter + 1):
        new = _exact_backup(model, stage, lp_tol, cache, stats)
        up_r = _sup_diff_bound(new.alpha, stage.alpha)
        down_r = _sup_diff_bound(stage.alpha, new.alpha)
        v = float((new.alpha @ b0).max())
        loss = new.loss  # only the latest backup's loss enters sup(H V_n - V_n)
        # V* - V_n <= sup(H V_n - V_n)+ / (1-gamma) <= (gamma up_r+ + loss) / (1-gamma), and
        # V_n - V* <= sup(V_n - H V_n)+ / (1-gamma) <= gamma down_r+ / (1-gamma), or 0 once V_n is
        # below a policy's value chain (monotone)
        value_above = (gamma * max(up_r, 0.0) + loss) / (1.0 - gamma)
        value_below = 0.0 if monotone else c * max(down_r, 0.0)
        bound = value_below + value_above
        lower, upper = v - value_below, v + value_above
        prev, stage = stage, new
        for key, val in (("lower", lower), ("upper", upper), ("time", time.perf_counter() - t0),
                         ("n_vectors", stage.alpha.shape[0]), ("residual", max(up_r, down_r))):
            hist[key].append(val)
        show(lower, upper)
        if bound <= tol:
            converged = True
            break
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
        if evaluate_every and n % evaluate_every == 0:
            values = _evaluate_controller(model, stage, prev)
            if values is not None:
                ctrl = _Stage(values, stage.actions, stage.succ, stage.witnesses)
                new = _exact_backup(model, ctrl, lp_tol, cache, stats)
                d = max(_sup_diff_bound(new.alpha, ctrl.alpha), 0.0)
                evaluated = True
                above_c = (gamma * d + new.loss) / (1.0 - gamma)
                if above_c < bound:
                    # V_c is a policy's value, so V_c <= H V_c <= V* and the new V <= H V_c <= V*:
                    # certified from below, and it stays so under further backups
                    monotone = True
                    v = float((new.alpha @ b0).max())
                    value_below, value_above = 0.0, above_c
                    stage, lower, upper = new, v, v + above_c
                    hist["lower"][-1], hist["upper"][-1] = lower, upper
                    if above_c <= tol:
                        converged = True
                        break
    bar.close()
    method = "exact_value_iteration(incremental pruning)"
    if not converged:
        msg = f"{method} did not certify tol={tol:g} after {n} epochs (bound {upper - lower:.3g})"
        if strict:
            raise SolverError(msg, status="max_iter" if n >= max_iter else "time_limit")
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    return _solution(stage, lower, upper, converged, n, hist, method, params, t0, stats, evaluated=evaluated, b0=model.b0,
                     below=value_below, above=value_above)


def _solution(stage: _Stage, lower: float, upper: float, converged: bool, n_iter: int, hist: dict,
              method: str, params: dict, t0: float, stats: _PruneStats, *, evaluated: bool, b0: np.ndarray,
              below: float = 0.0, above: float = 0.0) -> POMDPSolution:
    return POMDPSolution(
        alpha=stage.alpha,
        actions=stage.actions.astype(np.int64),
        lower=float(lower),
        upper=float(upper),
        value=float((stage.alpha @ b0).max()),
        converged=bool(converged),
        n_iter=int(n_iter),
        history={k: np.asarray(v) for k, v in hist.items()},
        method=method,
        params=params,
        elapsed=time.perf_counter() - t0,
        info={"n_lp": stats.n_lp, "successors": stage.succ, "controller_evaluated": evaluated,
              "below": float(below), "above": float(above)},
    )
