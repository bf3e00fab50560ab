"""The linear programs of a discounted MDP, solved with HiGHS through scipy."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .._highs import HIGHS_OPTIONS, check_highs_result
from .._iterative import Timer, finish_iterative
from .._validation import check_bool, check_choice, check_tol
from ..models import FiniteMDP
from ._bellman import BellmanOperator, solve_policy_system
from ._certificate import certificate_info, certify
from ._shortest_path import shortest_path_linear_programming
from ._solution import Solution

__all__ = ["linear_programming"]

def linear_programming(
    mdp: FiniteMDP,
    *,
    formulation: str = "primal",
    highs_method: str = "highs",
    polish: bool = True,
    tol: float = 1e-6,
) -> Solution:
    r"""Solve a discounted MDP as a linear program (d'Epenoux 1963; Puterman 1994, §6.9).

    Primal (values), with state weights ``alpha > 0``:

    .. math::
        \min_v \; \sum_s \alpha(s) v(s) \quad \text{s.t.} \quad
        v(s) \ge R(s,a) + \gamma \sum_{s'} P(s'|s,a) v(s') \quad \forall (s, a).

    Dual (occupancy measures):

    .. math::
        \max_{\rho \ge 0} \; \sum_{s,a} \rho(s,a) R(s,a) \quad \text{s.t.} \quad
        \sum_a \rho(s',a) - \gamma \sum_{s,a} P(s'|s,a) \rho(s,a) = \alpha(s') \quad \forall s'.

    Both optima equal ``<alpha, v*>``. The primal solution is ``v*``; the dual solution is the
    unnormalised discounted occupancy ``rho*(s,a) = sum_t gamma^t Pr(s_t=s, a_t=a)`` of an optimal
    policy started from ``alpha`` (it sums to ``1/(1-gamma)``; ``(1-gamma) rho*`` is the
    normalised ``d*``, whose objective is ``(1-gamma) <alpha, v*>``). Whichever is solved, the
    other is read from HiGHS's dual values (the marginals), so both are always returned.

    ``alpha`` is ``mdp.d0`` when it has full support. A ``d0`` with zeros would leave ``v`` free
    above ``v*`` on states it never reaches, so then ``alpha = (d0 + 1/S) / 2`` is used and
    recorded in ``info["alpha"]``.

    Parameters
    ----------
    mdp : FiniteMDP
        Discounted model. Unavailable actions drop their constraints/variables.
    formulation : {"primal", "dual"}
        Which LP HiGHS solves. The dual has ``S*A`` variables and ``S`` equality rows; HiGHS
        was measured 13-20x slower on it than on the primal for dense models (bench/README.md).
    highs_method : {"highs", "highs-ds", "highs-ipm"}
        scipy's HiGHS variant.
    tol : float
        ``converged`` is ``True`` when the certified ``||v - v*||_inf`` (MacQueen bounds of ``v``,
        rounding included: see :func:`~theory_rl.tabular.certify`) is at most ``tol``; otherwise a
        :class:`~theory_rl.errors.ConvergenceWarning` says why (``info["reason"]``).
    polish : bool
        HiGHS returns values accurate to about ``1e-7 / (1-gamma)^2`` (measured: 5e-5 at
        ``gamma = 0.999``). The optimal basis is a deterministic policy ``pi``, so with
        ``polish=True`` (default) the basis system is re-solved exactly with LAPACK/SuperLU:
        ``v = (I - gamma P_pi)^{-1} r_pi`` and ``rho(s, pi(s)) = [alpha^T (I - gamma P_pi)^{-1}](s)``.
        HiGHS's own values stay in ``info["lp_v"]`` and ``info["lp_occupancy"]``.

    Returns
    -------
    Solution
        ``v`` (primal), ``occupancy`` (dual, shape ``(S, A)``), ``policy`` (``argmax_a rho(s,a)``
        on states with positive occupancy, greedy for ``v`` elsewhere), MacQueen bounds certifying
        ``v``, ``info["objective"] = <alpha, v*>``, ``info["alpha"]``.

    Raises
    ------
    SolverError
        If HiGHS does not report an optimal solution.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.random_mdp(6, 3, seed=0, gamma=0.9)
    >>> lp = tabular.linear_programming(mdp)
    >>> pi = tabular.policy_iteration(mdp)
    >>> print(f"{np.abs(lp.v - pi.v).max():.1e}" if np.abs(lp.v - pi.v).max() > 1e-9 else 'equal to 1e-9')
    equal to 1e-9
    >>> round(float(lp.occupancy.sum()), 6)
    10.0
    """
    check_choice(formulation, "formulation", ("primal", "dual"))
    check_choice(highs_method, "highs_method", ("highs", "highs-ds", "highs-ipm"))
    polish = check_bool(polish, "polish")
    tol = check_tol(tol)
    if mdp.is_shortest_path:  # gamma = 1 with terminal states: the episodic solver
        return shortest_path_linear_programming(mdp, formulation=formulation, highs_method=highs_method, polish=polish)
    with Timer() as timer:
        op = BellmanOperator(mdp)
        S, A, gamma = op.S, op.A, op.gamma
        d0 = np.asarray(mdp.d0)
        alpha = d0 if d0.min() > 0 else 0.5 * (d0 + 1.0 / S)
        valid = np.ones(S * A, bool) if mdp.action_mask is None else mdp.action_mask.ravel().copy()
        rows = np.flatnonzero(valid)
        P2 = sp.csr_matrix(op.P2)[rows]
        E = sp.csr_matrix((np.ones(rows.size), (np.arange(rows.size), rows // A)), shape=(rows.size, S))
        r = np.asarray(mdp.R).ravel()[rows]
        # Constraint matrix of the primal, G v <= -r, with G = gamma P - E.
        G = (gamma * P2 - E).tocsr()
        if formulation == "primal":
            res = linprog(alpha, A_ub=G, b_ub=-r, bounds=(None, None), method=highs_method, options=HIGHS_OPTIONS)
            check_highs_result(res, gamma)
            v = res.x
            rho_rows = -res.ineqlin.marginals
            objective = res.fun
        else:
            res = linprog(-r, A_eq=(-G.T).tocsr(), b_eq=alpha, bounds=(0, None), method=highs_method, options=HIGHS_OPTIONS)
            check_highs_result(res, gamma)
            rho_rows = res.x
            v = -res.eqlin.marginals
            objective = -res.fun
        rho = np.zeros(S * A)
        rho[rows] = np.maximum(rho_rows, 0.0)
        rho = rho.reshape(S, A)
        occupied = rho.sum(axis=1) > 0
        policy = np.where(occupied, rho.argmax(axis=1), certify(op, v).policy)
        lp_v, lp_rho = v, rho
        if polish:
            P_pi, r_pi = op.policy_chain(policy)
            v = solve_policy_system(P_pi, r_pi, gamma)
            state_occupancy = solve_policy_system(P_pi.T, alpha, gamma)
            rho = np.zeros((S, A))
            rho[np.arange(S), policy] = state_occupancy
        policy = policy.astype(np.int64)
        cert = certify(op, v, policy=policy)
        bound = cert.error_bound(v)
        converged = bound <= tol
        reason = None
        if not converged:
            reason = f"the certified error {bound:.3g} exceeds tol: " + cert.floor_reason(tol, what="value error")
        finish_iterative(method="linear_programming", converged=converged, strict=False, n_iter=0, cap=None,
                         tol=tol, reason=reason)
        q = op.q(v)
    return Solution(
        v=v, q=q, policy=policy, converged=converged, n_iter=int(getattr(res, "nit", 0)),
        residual=cert.residual, bound=bound,
        lower=cert.lower, upper=cert.upper, history=np.zeros(0), method="linear_programming",
        params={"formulation": formulation, "highs_method": highs_method, "polish": polish, "tol": tol},
        elapsed=timer.elapsed, occupancy=rho,
        info={"objective": float(objective), "alpha": alpha, "lp_v": lp_v, "lp_occupancy": lp_rho,
              **certificate_info(cert, reason)},
    )

