r"""The occupancy linear program of a discounted MDP and its dual, in a named scaling.

Primal (over occupancies; Sikchi et al. 2024, arXiv 2302.08560, §2 in normalised form):

.. math::
    \max_{x \ge 0} \sum_{s,a} x(s,a) r(s,a) \quad\text{s.t.}\quad
    \sum_a x(s,a) = c\, d_0(s) + \gamma \sum_{s',a'} P(s|s',a')\, x(s',a') \quad \forall s,

Dual (over the state potential ``V``, free in sign):

.. math::
    \min_V c\, \langle d_0, V\rangle \quad\text{s.t.}\quad V(s) \ge r(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s').

``c = 1 - gamma`` with ``x = d`` normalised (sums to 1); ``c = 1`` with ``x = rho`` unnormalised
(sums to ``1/(1-gamma)``). Both optima equal ``c <d0, V*>``. Note: this module names the
*occupancy* LP the primal, as the Dual RL paper does; :func:`theory_rl.tabular.linear_programming`
follows Puterman and calls the value LP the primal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .._highs import HIGHS_OPTIONS, check_highs_result
from .._iterative import Timer
from .._result import CertifiedSolution
from .._rounding import TINY, UNIT_ROUNDOFF, gamma_n, round_up
from .._validation import check_choice
from ..models import FiniteMDP
from ..tabular import BellmanOperator, certify, effective_rewards
from ._occupancy import flow_matrix, policy_from_occupancy, scale_of

__all__ = ["OccupancyLPSolution", "dual_lp", "primal_lp"]


@dataclass(frozen=True, repr=False, eq=False)
class OccupancyLPSolution(CertifiedSolution):
    """Solution of the occupancy LP pair (``OccupancyLP`` is its deprecated name, removed in the
    next release).

    HiGHS's optimal status only says that its solution meets the constraints within its
    feasibility tolerance (about ``1e-7``), so ``objective`` is not certified by itself. The
    certificate is checked a posteriori in float64: one Bellman backup of ``v``
    (:func:`theory_rl.tabular.certify`, MacQueen/Porteus bounds widened by the backup's forward
    error) gives ``v_lo <= V* <= v_hi`` elementwise, and ``lower = c <d0, v_lo>``,
    ``upper = c <d0, v_hi>`` (rounded outwards) bound the exact optimum ``c <d0, V*>`` of the
    stored model; ``bound`` bounds ``|objective - c <d0, V*>|``.

    Attributes
    ----------
    objective : float
        Optimal value, ``c <d0, V*>`` with ``c = 1 - gamma`` (normalised) or ``1``.
    v : ndarray, shape (S,)
        Optimal potential of the value LP. It equals ``V*`` wherever ``d0`` or the optimal flow
        reaches; elsewhere the value LP leaves it free above ``V*``.
    occupancy : ndarray, shape (S, A)
        Optimal occupancy in the scaling ``normalized`` names (``d*`` or ``rho*``).
    policy : ndarray, shape (S, A)
        ``occupancy(s, a) / sum_a occupancy(s, a)``; uniform over available actions on
        unvisited states.
    normalized : bool
        Whether ``occupancy`` is ``d`` (sums to 1) or ``rho`` (sums to ``1/(1-gamma)``).
    solved : {"primal", "dual"}
        Which LP HiGHS solved. The other LP's solution is HiGHS's dual variables.
    dual_variables : ndarray
        HiGHS's marginals of the solved LP, in scipy's sign convention (derivative of the
        minimised objective with respect to the right-hand side): shape ``(S,)`` and equal to
        ``-v`` for the primal; shape ``(n_valid,)`` and equal to ``-occupancy`` on available pairs
        for the dual.
    lower, upper : float
        Certified bounds on the exact optimal value ``c <d0, V*>``.
    bound : float
        Certified ``|objective - c <d0, V*>|`` (``inf`` where float64 cannot certify a contraction).
    n_iter : int
    elapsed : float

    Examples
    --------
    >>> from theory_rl import dual, envs, tabular
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> sol = dual.primal_lp(mdp)
    >>> type(sol).__name__, sol.solved, round(float(sol.occupancy.sum()), 9)
    ('OccupancyLPSolution', 'primal', 1.0)
    """

    objective: float
    v: np.ndarray
    occupancy: np.ndarray
    policy: np.ndarray
    normalized: bool
    solved: str
    dual_variables: np.ndarray
    lower: float
    upper: float
    bound: float
    n_iter: int

    _repr_fields = ("solved", "normalized", "objective", "lower", "upper", "n_iter", "elapsed")


def _lp_data(mdp: FiniteMDP, normalized: bool) -> tuple[np.ndarray, Any, np.ndarray, np.ndarray]:
    """(valid pair indices, flow matrix restricted to them, rewards on them, right-hand side)."""
    r_eff = effective_rewards(mdp)
    valid = np.flatnonzero(np.isfinite(r_eff))
    M = flow_matrix(mdp)[:, valid].tocsr()
    return valid, M, r_eff[valid], scale_of(mdp, normalized) * np.asarray(mdp.d0, dtype=float)


def _weighted_sum_bounds(scale: float, weights: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    """Bounds on ``scale <w, x>`` for every ``lo <= x <= hi`` (``w >= 0``, ``scale >= 0``), counting
    the rounding: each product is rounded once, ``math.fsum`` rounds the sum once, ``scale`` once more."""
    out = []
    for vec, direction in ((lo, -np.inf), (hi, np.inf)):
        if not np.isfinite(vec).all():
            out.append(float(direction))
            continue
        prods = weights * vec
        total = scale * math.fsum(prods)
        err = gamma_n(3) * scale * math.fsum(np.abs(prods)) + TINY
        out.append(float(np.nextafter(total - err if direction < 0 else total + err, direction)))
    return out[0], out[1]


def _finish(mdp: FiniteMDP, valid: np.ndarray, x_valid: np.ndarray, v: np.ndarray, *, objective: float,
            normalized: bool, **fields: Any) -> OccupancyLPSolution:
    S, A = mdp.n_states, mdp.n_actions
    x = np.zeros(S * A)
    x[valid] = np.maximum(x_valid, 0.0)
    x = x.reshape(S, A)
    v = np.asarray(v, dtype=float)
    # a posteriori: HiGHS's answer meets its constraints only to its tolerance; one certified backup of v
    # brackets V* of the stored model, rounding included
    cert = certify(BellmanOperator(mdp), v)
    lower, upper = _weighted_sum_bounds(scale_of(mdp, normalized), np.asarray(mdp.d0, dtype=float),
                                        cert.lower, cert.upper)
    bound = round_up(max(objective - lower, upper - objective, 0.0) * (1.0 + 2 * UNIT_ROUNDOFF))
    return OccupancyLPSolution(v=v, occupancy=x, policy=policy_from_occupancy(mdp, x), objective=objective,
                               normalized=normalized, lower=lower, upper=upper, bound=bound, **fields)


def primal_lp(mdp: FiniteMDP, *, normalized: bool = True, highs_method: str = "highs") -> OccupancyLPSolution:
    r"""Solve the occupancy LP (maximise ``<x, r>`` over the flow polytope) with HiGHS.

    The potential ``V`` is read from the equality rows' marginals: ``V = -marginals``.

    Parameters
    ----------
    mdp : FiniteMDP
    normalized : bool
        ``True``: variables ``d`` with right-hand side ``(1-gamma) d0`` (sum 1). ``False``:
        variables ``rho`` with right-hand side ``d0`` (sum ``1/(1-gamma)``).
    highs_method : {"highs", "highs-ds", "highs-ipm"}
        ``"highs-ds"`` (dual simplex) returns a basic solution, i.e. a deterministic policy.

    Raises
    ------
    SolverError
        If HiGHS does not report an optimal solution.

    Examples
    --------
    >>> from theory_rl import dual, envs, tabular
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> sol = dual.primal_lp(mdp, normalized=False)
    >>> bool(abs(sol.objective - float(mdp.d0 @ tabular.policy_iteration(mdp).v)) < 1e-7)
    True
    """
    check_choice(highs_method, "highs_method", ("highs", "highs-ds", "highs-ipm"))
    with Timer() as timer:
        valid, M, r, b = _lp_data(mdp, normalized)
        res = linprog(-r, A_eq=M, b_eq=b, bounds=(0, None), method=highs_method, options=HIGHS_OPTIONS)
        check_highs_result(res, mdp.gamma)
    return _finish(mdp, valid, res.x, -res.eqlin.marginals, objective=float(-res.fun), normalized=normalized,
                   solved="primal", dual_variables=np.asarray(res.eqlin.marginals), n_iter=int(res.nit),
                   method="primal_lp", params={"normalized": normalized, "highs_method": highs_method},
                   elapsed=timer.elapsed)


def dual_lp(mdp: FiniteMDP, *, normalized: bool = True, highs_method: str = "highs") -> OccupancyLPSolution:
    r"""Solve the value LP (minimise ``c <d0, V>`` subject to ``V >= r + gamma P V``) with HiGHS.

    The occupancy is read from the inequality rows' marginals: ``x = -marginals`` (one row per
    available pair). Every feasible ``V`` satisfies ``V >= V*`` (monotonicity of ``T``), so the
    minimiser equals ``V*`` on ``supp(d0)`` and on the states optimal actions reach from it; it is
    unique when ``d0 > 0``.

    Parameters and errors as :func:`primal_lp`.

    Examples
    --------
    >>> from theory_rl import dual, envs, tabular
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> a, b = dual.dual_lp(mdp), dual.primal_lp(mdp)
    >>> round(a.objective - b.objective, 9)                    # strong duality
    0.0
    """
    check_choice(highs_method, "highs_method", ("highs", "highs-ds", "highs-ipm"))
    with Timer() as timer:
        valid, M, r, b = _lp_data(mdp, normalized)
        res = linprog(b, A_ub=sp.csr_matrix(-M.T), b_ub=-r, bounds=(None, None), method=highs_method,
                      options=HIGHS_OPTIONS)
        check_highs_result(res, mdp.gamma)
    return _finish(mdp, valid, -res.ineqlin.marginals, res.x, objective=float(res.fun), normalized=normalized,
                   solved="dual", dual_variables=np.asarray(res.ineqlin.marginals), n_iter=int(res.nit),
                   method="dual_lp", params={"normalized": normalized, "highs_method": highs_method},
                   elapsed=timer.elapsed)
