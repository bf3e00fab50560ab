r"""Robust value iteration, robust policy evaluation (the adversary's best response) and partial
policy iteration, all with MacQueen/Porteus certificates.

The robust operators ``T`` and ``T^pi`` (see :mod:`._operator`) are monotone, commute with
adding constants and are ``gamma``-contractions, so for any ``v`` and ``d = T v - v``,

.. math::
    T v + c \min_s d(s) \;\le\; v_{rob} \;\le\; T v + c \max_s d(s), \qquad c = \frac{\gamma}{1-\gamma}

(Puterman 1994, Thm 6.6.3, whose proof uses only these three properties), and the robust value
of a policy greedy for ``v`` is at least the lower bound. Every solver ends with this check.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._iterative import Timer, finish_iterative, iteration_cap, iterations, span_certified
from .._result import ValueSolution
from .._rounding import UNIT_ROUNDOFF, gamma_n, round_up
from .._validation import check_bool, check_int, check_max_iter, check_tol
from ..errors import ConvergenceWarning
from ..tabular import as_policy, as_value
from ._operator import RobustOperator
from ._sets import RobustMDP

__all__ = ["RobustSolution", "robust_value_iteration", "robust_policy_evaluation", "robust_policy_iteration"]


@dataclass(frozen=True, repr=False, eq=False)
class RobustSolution(ValueSolution):
    r"""What a robust solver returns: the shared block of :class:`theory_rl._result.ValueSolution`
    (keyword-only fields) and the adversary's kernel.

    Attributes
    ----------
    v : ndarray, shape (S,)
        Robust value estimate (midpoint of ``lower`` and ``upper``).
    q : ndarray, shape (S, A), or None
        Robust action values ``r(s,a) + gamma min_{p in T_sa} <p, v>`` at the last backup
        (``None`` for s-rectangular sets, where they are not defined).
    policy : ndarray
        Action indices ``(S,)`` (sa-rectangular) or probabilities ``(S, A)`` (s-rectangular, or
        the policy that was evaluated).
    worst_kernel : ndarray, shape (S, A, S)
        A kernel in the set attaining the inner minima at ``v`` for ``policy``: the adversary's
        (static) best response. For sa-rectangular sets ``V^policy_{worst_kernel} = v_rob``
        up to the certified bound (static = dynamic, Iyengar 2005).
    lower, upper : ndarray, shape (S,)
        Certified elementwise bounds on the robust value (of the optimal policy, or of the
        evaluated policy for :func:`robust_policy_evaluation`).
    converged : bool
    n_iter : int
        Robust backups (VI), adversary policy-iteration steps (evaluation) or policy improvement
        steps (PPI).
    residual : float
        ``||T v_n - v_n||_inf`` at the last backup.
    bound : float
        Certified ``||v - v_rob||_inf``.
    history : History
        Per-iteration residuals (a one-column table that reads as the 1-D array).
    method, params, elapsed, info
        As for :class:`theory_rl.tabular.Solution`.

    Examples
    --------
    >>> from theory_rl import envs, robust
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> sol = robust.robust_value_iteration(robust.RobustMDP(mdp, robust.L1Ball(0.2)), tol=1e-8)
    >>> type(sol).__name__, sol.converged, bool(sol.bound <= 1e-8), sol.worst_kernel.shape
    ('RobustSolution', True, True, (3, 2, 3))
    """

    worst_kernel: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def _warn_inner_failures(op: RobustOperator, method: str) -> None:
    """A KL inner problem that stops after its Newton cap returns an inexact value, and the
    certificates assume exact backups: say so instead of returning it silently."""
    if op.kind == "kl" and op.kl_fails:
        warnings.warn(f"{method}: {op.kl_fails} KL inner problems stopped at the Newton step cap without reaching "
                      "their tolerance; the certified bounds assume exact backups", ConvergenceWarning, stacklevel=3)


def _certified_bounds(op: RobustOperator, tv: np.ndarray, v: np.ndarray, d_min: float, d_max: float
                      ) -> tuple[np.ndarray, np.ndarray, float]:
    r"""MacQueen/Porteus bounds of one computed backup ``tv = fl(T v)``, widened by its rounding.

    With ``c = gamma/(1-gamma)`` and ``|fl(T v) - T v| <= delta`` elementwise,
    ``T v + c min d <= v_rob <= T v + c max d`` (exact ``d = T v - v``) gives
    ``lower = tv + c d_min - W`` and ``upper = tv + c d_max + W`` with
    ``W = delta / (1 - gamma) + c u max|d| + 2 u max(|lower|, |upper|)`` (the rounding of ``d`` and of
    forming the bounds). ``delta = gamma_n (max|r| + gamma max(||v||, ||tv||))`` with
    ``n = 3 (S + A) + 8``: each inner problem builds its worst-case distribution with ``O(S)``
    roundings and takes one dot product of length ``S`` (Higham 2002, §3.1), and the
    s-rectangular backup sums over the ``A`` actions; KL balls add their Newton tolerance
    ``1e-13 (max v - min v)`` (doubled). This is a conservative bound for the kernels as written,
    not a per-kernel proof; it makes a bound of 0 impossible and covers the error of rewards near
    ``1e12`` and ``gamma`` near 1, which the bounds without it missed by orders of magnitude.
    """
    gamma = op.gamma
    c = gamma / (1.0 - gamma)
    lower = tv + c * d_min
    upper = tv + c * d_max
    v_norm = max(float(np.max(np.abs(v))), float(np.max(np.abs(tv))))
    delta = gamma_n(3 * (op.S + op.A) + 8) * (float(np.max(np.abs(op.r))) + gamma * v_norm)
    if op.kind == "kl":
        delta += gamma * 2e-13 * float(np.ptp(v))
    d_abs = max(abs(d_min), abs(d_max))
    edge = max(float(np.max(np.abs(lower))), float(np.max(np.abs(upper))))
    widen = round_up(delta / ((1.0 - gamma) * (1.0 - 4 * UNIT_ROUNDOFF)) + c * UNIT_ROUNDOFF * d_abs
                     + 2 * UNIT_ROUNDOFF * edge)
    return lower - widen, upper + widen, widen


def _certified(op: RobustOperator, tv: np.ndarray, v: np.ndarray, d: np.ndarray, tol: float) -> bool:
    """The stopping rule: the span rule, then the widened bounds' width ``<= tol``; ``True`` also
    when the rounding alone leaves no room (``4 W >= tol``: iterating cannot help, the caller
    reports it unconverged)."""
    if not span_certified(d, op.gamma, tol):
        return False
    lower, upper, widen = _certified_bounds(op, tv, v, float(d.min()), float(d.max()))
    return float(np.max(upper - lower)) <= tol or 4 * widen >= tol


def _rounding_reason(lower: np.ndarray, upper: np.ndarray, widen: float, tol: float) -> str | None:
    """Why a span-converged solve is not certified after all (``None`` when it is)."""
    width = float(np.max(upper - lower))
    if width <= tol:
        return None
    return (f"the rounding of the final backup ({widen:.3g} on each side) leaves a certified width {width:.3g} above "
            "tol: float64 cannot certify this tol here (large rewards or gamma near 1)")


def _initial(rmdp: RobustMDP, v0: Any) -> np.ndarray:
    if v0 is None:
        return np.zeros(rmdp.n_states)
    return as_value(rmdp.nominal, v0, "v0").copy()


def robust_value_iteration(
    rmdp: RobustMDP,
    *,
    tol: float = 1e-6,
    max_iter: int | None = None,
    v0: np.ndarray | None = None,
    strict: bool = False,
    progress: bool = False,
) -> RobustSolution:
    r"""Robust value iteration ``v_{n+1} = T v_n`` (Iyengar 2005; Nilim & El Ghaoui 2005).

    .. math::
        v_{n+1}(s) = \max_a \Big[r(s,a) + \gamma \min_{p \in \mathcal T_{s,a}} \langle p, v_n\rangle\Big]

    for sa-rectangular sets; the ``max_{d in Delta(A)} min_{P_s in T_s}`` form for s-rectangular
    ones (Wiesemann, Kuhn & Rustem 2013), whose greedy policies are randomised. Inner problems:
    sorting for L1/L-infinity/interval sets, the 1-D KL dual, the threshold bisection of Ho,
    Petrik & Wiesemann (2018) for s-rectangular L1 (see :mod:`theory_rl.robust._kernels`).

    Stops when ``c * span(T v_n - v_n) <= tol`` (``c = gamma/(1-gamma)``): then
    ``lower <= v_rob <= upper`` with ``upper - lower <= tol``, ``v`` is their midpoint, and the
    returned greedy policy's robust value is ``tol``-optimal.

    Assumptions: sa- or s-rectangular set; a :class:`FiniteSet` is replaced by its
    sa-rectangular hull with a :class:`RectangularityWarning` (the value is then a lower bound
    on the static robust value, possibly strict).

    Parameters
    ----------
    rmdp : RobustMDP
    tol : float
        Certified width of the value bounds.
    max_iter : int, optional
        Default: the contraction's iteration count for ``tol`` from the first residual.
    v0 : ndarray, shape (S,), optional
    strict : bool
        Raise :class:`~theory_rl.errors.SolverError` instead of warning when not converged.
    progress : bool
        tqdm bar.

    Examples
    --------
    >>> from theory_rl import envs, robust
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> sol = robust.robust_value_iteration(robust.RobustMDP(mdp, robust.L1Ball(0.2)), tol=1e-8)
    >>> sol.converged, bool(sol.lower[0] <= sol.v[0] <= sol.upper[0])
    (True, True)
    """
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    strict, progress = check_bool(strict, "strict"), check_bool(progress, "progress")
    op, v = RobustOperator(rmdp), _initial(rmdp, v0)
    gamma = op.gamma
    history: list[float] = []
    converged = False
    n = 0
    with Timer() as timer:
        tv, policy, q = op.backup(v)
        d = tv - v
        history.append(float(np.abs(d).max()))
        cap = max_iter if max_iter is not None else iteration_cap(gamma, tol, history[0])
        for n in iterations(cap, progress, "robust VI"):
            converged = _certified(op, tv, v, d, tol)
            if converged or n >= cap:
                break
            v = tv
            tv, policy, q = op.backup(v)
            d = tv - v
            history.append(float(np.abs(d).max()))
        lower, upper, widen = _certified_bounds(op, tv, v, float(d.min()), float(d.max()))
        reason = _rounding_reason(lower, upper, widen, tol) if converged else None
        converged = converged and reason is None
        value = 0.5 * (lower + upper)
        kernel = op.worst_kernel(v, policy)
        if q is not None:
            q = op.q(value)  # the action values of the returned v: within gamma * bound of Q_rob
    finish_iterative(method="robust_value_iteration", converged=converged, strict=strict, n_iter=n, cap=cap, tol=tol,
                     reason=reason)
    _warn_inner_failures(op, "robust_value_iteration")
    info: dict[str, Any] = {"set": type(op.set).__name__, "rectangularity": op.rectangularity}
    if op.kind == "kl":
        info["kl_newton_failures"] = op.kl_fails
    return RobustSolution(
        v=value, q=q, policy=policy.copy(), worst_kernel=kernel, lower=lower, upper=upper, converged=converged,
        n_iter=n, residual=history[-1], bound=float(0.5 * np.max(upper - lower)), history=np.asarray(history),
        method="robust_value_iteration", params={"tol": tol, "max_iter": max_iter}, elapsed=timer.elapsed, info=info)


def _evaluate(op: RobustOperator, pi: np.ndarray, v: np.ndarray, tol: float, max_iter: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, int, list[float], bool]:
    """Adversary policy iteration for the fixed ``pi``: ``P_k`` = best response to ``v_k``, then
    ``v_{k+1} = V^pi_{P_k}`` exactly. Returns ``(T^pi v, kernel, v, d_min, d_max, n, history, converged)``."""
    history: list[float] = []
    for n in range(1, max_iter + 1):
        tv, kernel = op.policy_backup_rows(v, pi, rows=True)
        d = tv - v
        history.append(float(np.abs(d).max()))
        if _certified(op, tv, v, d, tol):
            return tv, kernel, v, float(d.min()), float(d.max()), n, history, True
        v_new = op.evaluate(pi, kernel)
        # the adversary's PI is monotone (v_{k+1} <= v_k); stop if rounding undoes progress
        if n > 1 and np.max(np.abs(v_new - v)) <= 1e-15 * (1.0 + np.max(np.abs(v))):
            return tv, kernel, v, float(d.min()), float(d.max()), n, history, span_certified(d, op.gamma, tol)
        v = v_new
    return tv, kernel, v, float(d.min()), float(d.max()), max_iter, history, False


def robust_policy_evaluation(
    rmdp: RobustMDP,
    policy: np.ndarray,
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
    v0: np.ndarray | None = None,
    strict: bool = False,
) -> RobustSolution:
    r"""The robust value of a fixed stationary policy and the adversary's best response.

    .. math::
        v^\pi_{rob} = \min_{P \in \mathcal T} V^\pi_P, \qquad
        (T^\pi v)(s) = \min_{P_s \in \mathcal T_s} \sum_a \pi(a|s)\big(r(s,a) + \gamma\langle P_{s,a}, v\rangle\big).

    Solved as the adversary's MDP by policy iteration (Ho, Petrik & Wiesemann 2021, "Partial
    policy iteration for L1-robust MDPs", JMLR, arXiv 1910.08601, Alg. 2): the kernel best
    responding to ``v_k`` is evaluated exactly (a linear solve), which gives a non-increasing
    sequence; it terminates finitely for polyhedral sets (L1, L-infinity, intervals, finite)
    and converges superlinearly for KL balls. Certificate: the MacQueen bounds of ``T^pi``.

    For sa- or s-rectangular sets the static and dynamic adversaries coincide (Iyengar 2005):
    ``worst_kernel`` is a *single* kernel with ``V^pi_{worst_kernel} = v^pi_rob``.

    Parameters
    ----------
    rmdp : RobustMDP
    policy : ndarray, shape (S,) of action indices or (S, A) of probabilities
    tol : float
        Certified width of the bounds.
    max_iter : int
        Adversary policy-iteration steps.
    v0 : ndarray, optional
        Start (default: the policy's value under the nominal kernel).

    Examples
    --------
    >>> from theory_rl import envs, robust
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> import numpy as np
    >>> rmdp = robust.RobustMDP(mdp, robust.L1Ball(0.2))
    >>> sol = robust.robust_value_iteration(rmdp, tol=1e-10)
    >>> ev = robust.robust_policy_evaluation(rmdp, sol.policy, tol=1e-10)
    >>> bool(np.abs(ev.v - sol.v).max() < 1e-8)        # the optimal policy's robust value is v*
    True
    """
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    op = RobustOperator(rmdp)
    pi = as_policy(rmdp.nominal, policy)
    with Timer() as timer:
        if v0 is None:
            P_hat = op.P2.reshape(op.S, op.A, op.S)
            v = op.evaluate(pi, P_hat)
        else:
            v = _initial(rmdp, v0)
        tv, kernel, v, lo, hi, n, history, converged = _evaluate(op, pi, v, tol, max_iter)
        lower, upper, widen = _certified_bounds(op, tv, v, lo, hi)
        reason = _rounding_reason(lower, upper, widen, tol) if converged else None
        converged = converged and reason is None
    finish_iterative(method="robust_policy_evaluation", converged=converged, strict=strict, n_iter=n,
                     cap=max_iter, tol=tol, reason=reason)
    _warn_inner_failures(op, "robust_policy_evaluation")
    q = None if op.kind == "l1s" else op.q(v)
    return RobustSolution(
        v=0.5 * (lower + upper), q=q, policy=pi.copy(), worst_kernel=kernel, lower=lower, upper=upper,
        converged=converged, n_iter=n, residual=history[-1], bound=float(0.5 * np.max(upper - lower)),
        history=np.asarray(history), method="robust_policy_evaluation", params={"tol": tol, "max_iter": max_iter},
        elapsed=timer.elapsed, info={"set": type(op.set).__name__})


def robust_policy_iteration(
    rmdp: RobustMDP,
    *,
    tol: float = 1e-8,
    max_iter: int = 200,
    v0: np.ndarray | None = None,
    strict: bool = False,
) -> RobustSolution:
    r"""Partial policy iteration (Ho, Petrik & Wiesemann 2021, arXiv 1910.08601, Alg. 1).

    Repeat: ``pi_k`` greedy for ``v_k`` under the robust operator (randomised for
    s-rectangular sets); ``v_{k+1}`` = the robust value of ``pi_k`` evaluated *inexactly*, by
    :func:`robust_policy_evaluation`'s adversary policy iteration warm-started at ``v_k`` and
    stopped at tolerance ``eps_k = max(tol/10, (1-gamma) span_k / 4)``, decreasing with the outer
    residual (the paper's condition ``eps_k -> 0``). Stops when the MacQueen bounds of the
    robust operator certify width ``tol``.

    Guarantee: converges to ``v_rob`` (the paper's convergence theorem for inexact evaluation with
    ``eps_k -> 0``; theorem number not verified); in practice a handful of improvement
    steps, each costing a few linear solves.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, robust
    >>> rmdp = robust.RobustMDP(envs.random_mdp(3, 2, seed=0), robust.L1Ball(0.2))
    >>> a, b = robust.robust_policy_iteration(rmdp, tol=1e-10), robust.robust_value_iteration(rmdp, tol=1e-10)
    >>> a.policy.tolist() == b.policy.tolist(), bool(np.abs(a.v - b.v).max() < 1e-8)
    (True, True)
    """
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    op, v = RobustOperator(rmdp), _initial(rmdp, v0)
    gamma = op.gamma
    history: list[float] = []
    converged = False
    k = 0
    inner_steps = 0
    with Timer() as timer:
        for k in range(1, max_iter + 1):  # noqa: B007 - k is reported
            tv, policy, q = op.backup(v)
            d = tv - v
            history.append(float(np.abs(d).max()))
            converged = _certified(op, tv, v, d, tol)
            if converged:
                break
            eps = max(tol / 10.0, 0.25 * (1.0 - gamma) * float(d.max() - d.min()))
            _, _, v_eval, _, _, n_inner, _, _ = _evaluate(op, policy, tv, eps, 100)
            inner_steps += n_inner
            v = v_eval
        lower, upper, widen = _certified_bounds(op, tv, v, float(d.min()), float(d.max()))
        reason = _rounding_reason(lower, upper, widen, tol) if converged else None
        converged = converged and reason is None
        kernel = op.worst_kernel(v, policy)
    finish_iterative(method="robust_policy_iteration", converged=converged, strict=strict, n_iter=k, cap=max_iter,
                     tol=tol, reason=reason)
    _warn_inner_failures(op, "robust_policy_iteration")
    return RobustSolution(
        v=0.5 * (lower + upper), q=q, policy=policy.copy(), worst_kernel=kernel, lower=lower, upper=upper,
        converged=converged, n_iter=k, residual=history[-1], bound=float(0.5 * np.max(upper - lower)),
        history=np.asarray(history), method="robust_policy_iteration", params={"tol": tol, "max_iter": max_iter},
        elapsed=timer.elapsed, info={"set": type(op.set).__name__, "evaluation_steps": inner_steps})
