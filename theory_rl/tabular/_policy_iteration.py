"""Policy evaluation, Howard's policy iteration and modified policy iteration."""

from __future__ import annotations

import numpy as np

from .._iterative import Callback, Timer, finish_iterative, iterations, stop_reason
from .._rounding import contraction_margin
from .._validation import check_choice, check_int, check_max_iter, check_tol
from ..models import FiniteMDP
from ._bellman import (
    BellmanOperator,
    as_deterministic_policy_option,
    as_policy,
    as_value,
    check_options,
    solve_policy_system,
)
from ._certificate import UNIT_ROUNDOFF, certificate_info, certified_check, certify, gamma_n, round_up, rounding_model
from ._shortest_path import (
    shortest_path_modified_policy_iteration,
    shortest_path_policy_evaluation,
    shortest_path_policy_iteration,
)
from ._solution import Solution

__all__ = ["policy_evaluation", "policy_iteration", "modified_policy_iteration"]


def policy_evaluation(
    mdp: FiniteMDP,
    policy: np.ndarray,
    *,
    method: str = "direct",
    linear_solver: str = "auto",
    tol: float = 1e-10,
    max_iter: int | None = None,
) -> Solution:
    r"""Value of a fixed stationary policy, ``v_pi = (I - gamma P_pi)^{-1} r_pi``, with a certificate.

    .. math::
        v_\pi = r_\pi + \gamma P_\pi v_\pi, \qquad
        \|v - v_\pi\|_\infty \le \frac{\|r_\pi + \gamma P_\pi v - v\|_\infty}{1 - \gamma}.

    Parameters
    ----------
    mdp : FiniteMDP
        Discounted model.
    policy : ndarray, shape (S,) of action indices or (S, A) of probabilities
    method : {"direct", "iterative"}
        ``"direct"`` solves the linear system (LAPACK for dense models; for sparse models,
        ``linear_solver`` picks SuperLU or GMRES). ``"iterative"`` applies ``T_pi`` until the
        residual certifies ``tol`` (successive approximation, Puterman §6.2).
    linear_solver : {"auto", "direct", "iterative"}
        Sparse linear solver (see above); ``"auto"`` uses SuperLU below 5,000 states and GMRES
        (falling back to SuperLU) above.
    tol : float
        For ``method="iterative"``: stop when the certified error is below ``tol``.

    Returns
    -------
    Solution
        ``v = v_pi``, ``q = q_pi``, ``policy`` as given, ``bound`` the certified
        ``||v - v_pi||_inf`` from the residual above, with the forward error of computing that
        residual in float64 and the rows' defect from summing to one included
        (``(||fl(r_pi + gamma P_pi v) - v|| + delta_pi) / (1 - gamma (1 + rho))``, see
        :func:`~theory_rl.tabular.certify`); ``converged`` is ``bound <= tol`` for both methods,
        with ``info["reason"]`` otherwise (the iterative method also warns).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.chain(4, gamma=0.9)
    >>> ev = tabular.policy_evaluation(mdp, np.zeros(4, dtype=int))
    >>> np.round(ev.v, 4)
    array([33.8598, 38.007 , 43.767 , 51.767 ])
    >>> bool(ev.bound <= 1e-10)
    True
    """
    if mdp.is_shortest_path:  # gamma = 1 with terminal states: the episodic solver
        return shortest_path_policy_evaluation(mdp, policy, method=method, linear_solver=linear_solver, tol=tol,
                                               max_iter=max_iter)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    check_choice(method, "method", ("direct", "iterative"))
    check_choice(linear_solver, "linear_solver", ("auto", "direct", "iterative"))
    with Timer() as timer:
        op = BellmanOperator(mdp)
        pi = as_policy(mdp, policy)
        P_pi, r_pi = op.policy_chain(pi)
        gamma = op.gamma
        history: list[float] = []
        n = 0
        reason = None
        cap = None
        if method == "direct":
            v = solve_policy_system(P_pi, r_pi, gamma, linear_solver=linear_solver)
        else:
            v = np.zeros(op.S)
            cap = max_iter if max_iter is not None else 10**7
            while n < cap:
                new = r_pi + gamma * (P_pi @ v)
                change = float(np.max(np.abs(new - v)))
                v = new
                n += 1
                history.append(change)
                # the contraction rule first; then the rounding-aware certificate decides
                if gamma * change / (1 - gamma) <= tol or n % 32 == 1:
                    residual = float(np.max(np.abs(r_pi + gamma * (P_pi @ v) - v))) if op.S else 0.0
                    bound, floor = _evaluation_error(op, pi, v, residual)
                    if bound <= tol or floor > tol:
                        break
        residual = float(np.max(np.abs(r_pi + gamma * (P_pi @ v) - v))) if op.S else 0.0
        bound, floor = _evaluation_error(op, pi, v, residual)
        converged = bound <= tol
        if not converged:
            if floor > tol:
                reason = (f"float64 cannot certify tol={tol:g}: the rounding floor of the certified error is "
                          f"{floor:.3g} (one evaluation's forward error amplified by 1/(1-gamma) = {1 / (1 - gamma):.3g})")
            elif method == "direct":
                reason = f"the certified error of the linear solve, {bound:.3g}, exceeds tol={tol:g}"
            else:
                reason = f"max_iter={cap} reached"
        if method == "iterative":
            finish_iterative(method="policy_evaluation", converged=converged, strict=False, n_iter=n, cap=cap,
                             tol=tol, reason=reason)
        q = op.q(v)
    return Solution(
        v=v, q=q, policy=pi, converged=converged, n_iter=max(n, 1), residual=residual,
        bound=bound, lower=None, upper=None, history=np.asarray(history),
        method="policy_evaluation", params={"method": method, "linear_solver": linear_solver, "tol": tol},
        elapsed=timer.elapsed, info={} if reason is None else {"reason": reason},
    )


def _evaluation_error(op: BellmanOperator, pi: np.ndarray, v: np.ndarray, residual: float) -> tuple[float, float]:
    r"""``(bound, floor)``: a certified ``||v - v_pi||_inf`` from the computed residual
    ``||fl(r_pi + gamma P_pi v) - v||_inf``, and that bound's value at residual 0 (see
    :mod:`._certificate`): ``(residual (1 + 2u) + delta_pi) / (1 - gamma (1 + rho_pi))``, with
    ``delta_pi`` the forward error of one evaluation (``P_pi`` formed in float for stochastic
    policies: ``A K`` stored terms per row, and row sums off by the policy's own defect)."""
    model = rounding_model(op)
    S, A = op.S, op.A
    if pi.ndim == 1:
        entries, rho, reward = model.max_entries, model.row_defect, model.reward_max
    else:
        weight = float(np.max(np.abs(pi.sum(axis=1) - 1.0))) + 2.0 * gamma_n(A + 1) if S else 0.0
        entries = A * model.max_entries + A
        rho = round_up(model.row_defect * (1.0 + weight) + weight)
        reward = model.reward_max * (1.0 + weight)
    v_norm = float(np.max(np.abs(v))) if S else 0.0
    delta = round_up(gamma_n(entries + 2) * (reward + op.gamma * (1.0 + rho) * v_norm) + (entries + 2) * 2.0**-1074)
    margin = contraction_margin(op.gamma, rho)
    if margin <= 0:
        return float("inf"), float("inf")
    return round_up((residual * (1.0 + 2 * UNIT_ROUNDOFF) + delta) / margin), round_up(delta / margin)


def _improve(q: np.ndarray, current: np.ndarray, *, rtol: float = 1e-12) -> np.ndarray:
    """Greedy policy that keeps the current action unless another is better by more than
    rounding (Howard's tie rule; prevents cycling between equally good policies)."""
    S = q.shape[0]
    best = q.argmax(axis=1)
    best_q = q[np.arange(S), best]
    cur_q = q[np.arange(S), current]
    slack = rtol * np.maximum(1.0, np.abs(best_q))
    return np.where(cur_q >= best_q - slack, current, best)


def policy_iteration(
    mdp: FiniteMDP,
    *,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    policy0: np.ndarray | None = None,
    linear_solver: str = "auto",
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> Solution:
    r"""Howard's policy iteration with exact evaluation.

    .. math::
        v_k = (I - \gamma P_{\pi_k})^{-1} r_{\pi_k}, \qquad
        \pi_{k+1}(s) \in \arg\max_a \Big[R(s,a) + \gamma \sum_{s'} P(s'|s,a) v_k(s')\Big],

    keeping ``pi_k(s)`` on ties. Values increase monotonically, ``v_{k+1} >= v_k``, and the
    method stops at an optimal policy after finitely many steps (Howard 1960; Puterman 1994,
    Thm 6.4.2), at most ``O(S A / (1-gamma) log(1/(1-gamma)))`` of them (Ye 2011; Scherrer 2016).

    The returned ``v`` is the value ``v_pi`` of the final policy from a linear solve. It is
    certified with rounding-aware MacQueen bounds (see :func:`value_iteration` and
    :func:`~theory_rl.tabular.certify`), which cover the rounding error of the linear solve and of
    the certifying backup; ``bound = max(v - lower, upper - v)``, and ``info["policy_gap_bound"]``
    certifies the returned policy (not only the greedy one). ``converged`` requires a stable
    policy and ``bound <= tol``. Rounding in the backup is amplified by ``1/(1-gamma)`` in any such
    certificate, so for ``1 - gamma`` near ``1e-12`` (or rewards near ``1e12``) a stable, optimal
    policy may still be reported unconverged, with the reason: the certificate, not the policy,
    is then the limit.

    Parameters
    ----------
    mdp : FiniteMDP
        Discounted model.
    tol : float
        Required certified optimality of the final policy.
    max_iter : int
        Improvement steps allowed.
    policy0 : ndarray, shape (S,), optional
        Initial policy (default: greedy for the myopic value ``v(s) = max_a R(s, a)``).
    linear_solver : {"auto", "direct", "iterative"}
        For sparse models (see :func:`policy_evaluation`).
    callback : callable ``(k, v_k, residual) -> bool | None``, optional

    Returns
    -------
    Solution
        ``history`` holds the number of states whose action changed at each step.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.river_swim(6, gamma=0.9)
    >>> sol = tabular.policy_iteration(mdp)
    >>> sol.converged, sol.policy
    (True, array([1, 1, 1, 1, 1, 1]))
    >>> np.round(sol.v[:3], 4)
    array([1.3045, 1.546 , 2.0714])
    """
    if mdp.is_shortest_path:  # gamma = 1 with terminal states: the episodic solver
        return shortest_path_policy_iteration(mdp, tol=tol, max_iter=max_iter, policy0=policy0,
                                              linear_solver=linear_solver, callback=callback, strict=strict,
                                              progress=progress)
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter")
    check_choice(linear_solver, "linear_solver", ("auto", "direct", "iterative"))
    check_options(callback=callback, strict=strict, progress=progress)
    with Timer() as timer:
        op = BellmanOperator(mdp)
        if policy0 is None:
            # Greedy for the myopic value max_a R(s, a): one backup, and on random models one
            # evaluation fewer than starting from argmax_a R (measured in bench/tabular.py).
            myopic = op.r_eff.reshape(op.S, op.A).max(axis=1)
            pi = np.asarray(op.q(myopic).argmax(axis=1), dtype=np.int64)
        else:
            pi = as_deterministic_policy_option(mdp, policy0, "policy0")
        history: list[float] = []
        converged = False
        v = None
        k = 0
        for k in iterations(max_iter, progress, "policy iteration"):
            P_pi, r_pi = op.policy_chain(pi)
            v = solve_policy_system(P_pi, r_pi, op.gamma, linear_solver=linear_solver, x0=v)
            q = op.q(v)
            new = _improve(q, pi)
            changed = int(np.count_nonzero(new != pi))
            history.append(float(changed))
            if callback is not None and callback(k, v, float(np.max(np.abs(q.max(axis=1) - v)))):
                break
            if changed == 0:
                break
            pi = new
        cert = certify(op, v, policy=pi)
        stable = history[-1] == 0
        bound = cert.error_bound(v)
        converged = stable and bound <= tol
        reason = None
        if stable and not converged:
            reason = (f"the policy is stable but its certified error {bound:.3g} exceeds tol: "
                      + cert.floor_reason(tol, what="value error"))
        reason = stop_reason(converged, reason, k, max_iter)
        finish_iterative(method="policy_iteration", converged=converged, strict=strict, n_iter=k, cap=max_iter,
                         tol=tol, reason=reason)
    return Solution(
        v=v, q=q, policy=pi, converged=converged, n_iter=k, residual=cert.residual,
        bound=bound, lower=cert.lower, upper=cert.upper, history=np.asarray(history),
        method="policy_iteration", params={"tol": tol, "max_iter": max_iter, "linear_solver": linear_solver},
        elapsed=timer.elapsed, info=certificate_info(cert, reason),
    )


def modified_policy_iteration(
    mdp: FiniteMDP,
    *,
    tol: float = 1e-6,
    n_eval: int = 20,
    max_iter: int | None = None,
    v0: np.ndarray | None = None,
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> Solution:
    r"""Modified policy iteration (Puterman & Shin 1978) with span-seminorm stopping.

    .. math::
        \pi_{n}(s) \in \arg\max_a q_{v_n}(s, a), \qquad
        v_{n+1} = (T_{\pi_n})^{m} \, T v_n ,

    i.e. one full backup followed by ``m - 1 = n_eval`` cheap sweeps of the greedy policy's
    operator, which read only the ``S`` rows ``P[s, pi(s), :]``. ``m = 1`` is value iteration;
    ``m -> inf`` is policy iteration. Starting from ``v0`` with ``T v0 >= v0`` (the default
    ``v0 = min R / (1 - gamma)`` satisfies it) the iterates increase monotonically to ``v*``
    (Puterman 1994, Thm 6.5.5); for any ``v0`` they converge (Thm 6.5.9).

    Stopping is the rounding-aware MacQueen rule of :func:`value_iteration` evaluated at every full
    backup: ``gamma/(1-gamma) * span(T v_n - v_n)`` plus the rounding terms of
    :func:`~theory_rl.tabular.certify` ``<= tol``, which makes the greedy policy ``tol``-optimal
    and the returned midpoint value ``tol/2``-accurate. Below the float64 floor it stops as
    :func:`value_iteration` does, with ``info["reason"]``.

    Parameters
    ----------
    mdp : FiniteMDP
    tol : float
    n_eval : int
        Partial-evaluation sweeps per iteration (QuantEcon's ``k``; default 20).
    max_iter : int, optional
        Full backups allowed (default 100,000).
    v0 : ndarray, shape (S,), optional

    Returns
    -------
    Solution
        ``n_iter`` counts full backups; ``history`` holds ``||T v_n - v_n||_inf``;
        ``info["sweeps"]`` the total number of policy sweeps.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.forest(10, gamma=0.95)
    >>> sol = tabular.modified_policy_iteration(mdp, tol=1e-8, n_eval=10)
    >>> exact = tabular.policy_iteration(mdp)
    >>> bool(np.abs(sol.v - exact.v).max() <= sol.bound)
    True
    >>> bool((sol.policy == exact.policy).all())
    True
    """
    if mdp.is_shortest_path:  # gamma = 1 with terminal states: the episodic solver
        return shortest_path_modified_policy_iteration(mdp, tol=tol, n_eval=n_eval, max_iter=max_iter, v0=v0,
                                                       callback=callback, strict=strict, progress=progress)
    tol = check_tol(tol)
    n_eval = check_int(n_eval, "n_eval", minimum=0)
    max_iter = check_max_iter(max_iter)
    check_options(callback=callback, strict=strict, progress=progress)
    with Timer() as timer:
        op = BellmanOperator(mdp)
        if v0 is None:
            r_min = float(np.min(op.r_eff[np.isfinite(op.r_eff)]))
            v = np.full(op.S, r_min / (1.0 - op.gamma))
        else:
            v = as_value(mdp, v0, "v0").copy()
        cap = 100_000 if max_iter is None else max_iter
        history: list[float] = []
        gaps: list[float] = []
        converged = False
        reason = None
        sweeps = 0
        n = 0
        buf = np.empty(op.S)
        for n in iterations(cap, progress, "modified policy iteration"):
            cert = certify(op, v)
            history.append(cert.residual)
            converged, reason = certified_check(cert, tol, gaps)
            if converged or reason is not None:
                break
            if callback is not None and callback(n, v, cert.residual):
                break
            u = cert.tv.copy()
            for _ in range(n_eval):
                op.policy_sweep(u, cert.policy, out=buf)
                u, buf = buf, u
                sweeps += 1
            v = u
        reason = stop_reason(converged, reason, n, cap)
        finish_iterative(method="modified_policy_iteration", converged=converged, strict=strict, n_iter=n, cap=cap,
                         tol=tol, reason=reason)
        # q from the certified value (not the last iterate, which span stopping leaves off by a
        # constant): ||q - Q*||_inf <= gamma * bound up to the rounding of this one backup
        q = op.q(cert.value)
    return Solution(
        v=cert.value, q=q, policy=cert.policy, converged=converged, n_iter=n, residual=cert.residual,
        bound=cert.bound, lower=cert.lower, upper=cert.upper, history=np.asarray(history),
        method="modified_policy_iteration", params={"tol": tol, "n_eval": n_eval, "max_iter": max_iter},
        elapsed=timer.elapsed, info={"sweeps": sweeps, **certificate_info(cert, reason)},
    )


