r"""Constrained MDPs: Altman's occupancy LP and a Lagrangian primal-dual method.

A constrained MDP maximises ``J_0(pi) = E[sum_t gamma^t r_0]`` subject to
``J_i(pi) = E[sum_t gamma^t r_i] >= c_i`` for ``i = 1..m`` (start distribution ``d0``). Over the
*unnormalised* occupancy ``rho`` (sums to ``1/(1-gamma)``) it is the LP (Altman 1999, ch. 3)

.. math::
    \max_{\rho \ge 0} \langle \rho, r_0 \rangle \quad\text{s.t.}\quad
    \sum_a \rho(s',a) - \gamma \sum_{s,a} P(s'|s,a)\rho(s,a) = d_0(s'), \qquad
    \langle \rho, r_i \rangle \ge c_i,

and the policy ``pi(a|s) = rho(s,a)/sum_a rho(s,a)`` attains it. The Lagrangian dual
``min_{lambda >= 0} max_pi J_0 + sum_i lambda_i (J_i - c_i)`` has zero duality gap (Altman 1999;
also over parameterised policies, Paternain, Chamon, Calvo-Fullana, Ribeiro 2019,
arXiv 1910.13393), and the LP's constraint multipliers are ``lambda*``, with
``d LP*/d c_i = -lambda_i*`` where the LP is non-degenerate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog

from .._deprecation import renamed_arguments
from .._highs import HIGHS_OPTIONS
from .._iterative import Timer
from .._result import CertifiedSolution
from .._rounding import UNIT_ROUNDOFF
from .._validation import as_float_array, check_choice, check_finite, check_int, check_real
from ..errors import InvalidModelError, SolverError
from ..models import FiniteMDP
from ..tabular import BellmanOperator, certify, effective_rewards, policy_evaluation
from ._lp import _weighted_sum_bounds, primal_lp
from ._occupancy import flow_matrix, occupancy, policy_from_occupancy

__all__ = ["CMDP", "CMDPSolution", "lagrangian_primal_dual", "solve_cmdp_lp"]


@dataclass(frozen=True, repr=False, eq=False)
class CMDP:
    """A constrained MDP (frozen, validated).

    Parameters
    ----------
    mdp : FiniteMDP
        The dynamics, the main reward ``mdp.R`` (``r_0``), ``gamma`` and ``d0``.
    constraint_rewards : array_like, shape (m, S, A)
        ``r_i[s, a]`` for each constraint.
    thresholds : array_like, shape (m,)
        ``c_i``: the constraints are ``J_i(pi) >= c_i`` (discounted, unnormalised returns from d0).
    constraint_names : sequence of str, optional
        Used in messages (default ``"constraint 0"``, ...).

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> cmdp = dual.CMDP(envs.random_mdp(3, 2, seed=0), [[[0.0, -1.0]] * 3], [-3.0])   # action 1 costs 1 per step
    >>> cmdp.n_constraints, cmdp.constraint_rewards.shape
    (1, (1, 3, 2))
    """

    mdp: FiniteMDP
    constraint_rewards: np.ndarray
    thresholds: np.ndarray
    constraint_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.mdp, FiniteMDP):
            raise InvalidModelError(f"mdp must be a FiniteMDP, got {type(self.mdp).__name__}")
        if self.mdp.gamma >= 1.0:
            raise InvalidModelError("a CMDP needs a discounted model (gamma < 1)")
        S, A = self.mdp.n_states, self.mdp.n_actions
        R = as_float_array(self.constraint_rewards, "constraint_rewards", ndim=(2, 3))
        if R.ndim == 2:
            R = R[None]
        if R.shape[1:] != (S, A):
            raise InvalidModelError(f"constraint_rewards has shape {R.shape}, expected (m, {S}, {A})")
        check_finite(R, "constraint_rewards")
        c = np.atleast_1d(as_float_array(self.thresholds, "thresholds", ndim=(0, 1)))
        if c.shape != (R.shape[0],):
            raise InvalidModelError(f"thresholds has shape {c.shape}, expected ({R.shape[0]},) (one per constraint)")
        check_finite(c, "thresholds")
        names = self.constraint_names
        if names is None:
            names = tuple(f"constraint {i}" for i in range(R.shape[0]))
        elif len(names) != R.shape[0]:
            raise InvalidModelError(f"{len(names)} constraint_names for {R.shape[0]} constraints")
        set_(self, "constraint_rewards", R)
        set_(self, "thresholds", c)
        set_(self, "constraint_names", tuple(str(n) for n in names))

    @property
    def n_constraints(self) -> int:
        return int(self.thresholds.size)

    def returns(self, policy: np.ndarray) -> tuple[float, np.ndarray]:
        """Exact ``(J_0(pi), [J_i(pi)])`` of a policy (unnormalised discounted returns from d0)."""
        rho = occupancy(self.mdp, policy, normalized=False)
        return float(np.sum(rho * np.asarray(self.mdp.R))), np.einsum("sa,isa->i", rho, self.constraint_rewards)

    def replace(self, **changes: Any) -> CMDP:
        fields = {"mdp": self.mdp, "constraint_rewards": self.constraint_rewards, "thresholds": self.thresholds,
                  "constraint_names": self.constraint_names}
        fields.update(changes)
        return CMDP(**fields)


@dataclass(frozen=True, repr=False, eq=False)
class CMDPSolution(CertifiedSolution):
    """Solution of a CMDP.

    Attributes
    ----------
    objective : float
        ``J_0`` of the returned occupancy (``LP*`` for the LP).
    occupancy : ndarray, shape (S, A)
        Unnormalised ``rho`` (sums to ``1/(1-gamma)``).
    policy : ndarray, shape (S, A)
        ``rho / sum_a rho`` (uniform over available actions on unvisited states).
    multipliers : ndarray, shape (m,)
        ``lambda_i >= 0`` (LP: ``-marginals`` of the constraint rows, ``= -dLP*/dc_i``).
    constraint_values : ndarray, shape (m,)
        ``J_i`` of the returned occupancy.
    active : ndarray of bool, shape (m,)
        ``|J_i - c_i| <= 1e-7 (1 + |c_i|)``.
    randomized_states : ndarray of int
        States where the policy puts mass on more than one action.
    v : ndarray, shape (S,)
        Value of the Lagrangian reward ``r_0 + sum_i lambda_i r_i`` (LP: the flow rows' multipliers).
    method : str
    n_iter : int
    elapsed : float
    info : dict
        Method-specific certificates (primal-dual: ``violation_bound``, ``suboptimality_bound``,
        ``dual_upper_bound``, ``lambda_history``).

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> cmdp = dual.CMDP(envs.random_mdp(3, 2, seed=0), [[[0.0, -1.0]] * 3], [-3.0])   # action 1 costs 1 per step
    >>> sol = dual.solve_cmdp_lp(cmdp)
    >>> type(sol).__name__, bool(sol.constraint_values[0] >= -3.0 - 1e-7), sol.policy.shape
    ('CMDPSolution', True, (3, 2))
    """

    objective: float
    occupancy: np.ndarray
    policy: np.ndarray
    multipliers: np.ndarray
    constraint_values: np.ndarray
    active: np.ndarray
    randomized_states: np.ndarray
    v: np.ndarray
    n_iter: int
    info: dict[str, Any] = field(default_factory=dict)

    _repr_fields = ("method", "objective", "multipliers", "n_iter", "elapsed")


def _finish(cmdp: CMDP, rho: np.ndarray, lam: np.ndarray, v: np.ndarray, **fields: Any) -> CMDPSolution:
    rho = np.maximum(rho, 0.0)
    J0 = float(np.sum(rho * np.asarray(cmdp.mdp.R)))
    J = np.einsum("sa,isa->i", rho, cmdp.constraint_rewards)
    tiny = 1e-9 * max(1.0, float(rho.max(initial=0.0)))
    randomized = np.flatnonzero((rho > tiny).sum(axis=1) > 1)
    return CMDPSolution(objective=J0, occupancy=rho, policy=policy_from_occupancy(cmdp.mdp, rho), multipliers=lam,
                        constraint_values=J, active=np.abs(J - cmdp.thresholds) <= 1e-7 * (1 + np.abs(cmdp.thresholds)),
                        randomized_states=randomized, v=v, **fields)


def _diagnose_infeasible(cmdp: CMDP) -> str:
    """Name the constraint(s) that make the CMDP infeasible."""
    mdp = cmdp.mdp
    parts = []
    for i, name in enumerate(cmdp.constraint_names):
        best = primal_lp(mdp.replace(R=cmdp.constraint_rewards[i]), normalized=False).objective
        if best < cmdp.thresholds[i] - 1e-9 * (1 + abs(best)):
            parts.append(f"{name}: threshold c = {cmdp.thresholds[i]:.6g} exceeds max_pi J = {best:.6g}")
    if parts:
        return "; ".join(parts)
    # Each constraint is satisfiable alone: find the ones the elastic LP must violate jointly.
    valid = np.flatnonzero(np.isfinite(effective_rewards(mdp)))
    M = flow_matrix(mdp)[:, valid].toarray()
    m, n = cmdp.n_constraints, valid.size
    G = np.hstack([-cmdp.constraint_rewards.reshape(m, -1)[:, valid], -np.eye(m)])
    res = linprog(np.r_[np.zeros(n), np.ones(m)], A_ub=G, b_ub=-cmdp.thresholds,
                  A_eq=np.hstack([M, np.zeros((M.shape[0], m))]), b_eq=np.asarray(mdp.d0), bounds=(0, None),
                  method="highs")
    short = np.flatnonzero(res.x[n:] > 1e-9) if res.status == 0 else np.arange(m)
    names = ", ".join(cmdp.constraint_names[i] for i in short)
    return f"each constraint is feasible alone but not jointly; the least-violation policy still misses: {names}"


def solve_cmdp_lp(cmdp: CMDP, *, highs_method: str = "highs-ds") -> CMDPSolution:
    r"""Solve a CMDP exactly by Altman's occupancy LP (HiGHS through scipy).

    The default dual simplex returns a basic optimal solution: with ``S`` flow rows and ``m``
    constraint rows it has at most ``S + m`` positive ``rho(s, a)``, so the optimal policy
    randomises in at most ``m`` states (Altman 1999, Thm 3.8). Deterministic policies can be
    strictly suboptimal.

    Returns
    -------
    CMDPSolution
        ``multipliers = lambda*`` (the constraint rows' marginals, negated), ``v`` the flow rows'
        multipliers (the value of ``r_0 + lambda* . r`` on the states the optimum visits).
        HiGHS meets the constraints only to its feasibility tolerance, so ``objective`` and
        ``constraint_values`` (read off ``rho``) are not certified; ``info`` holds what is, checked
        a posteriori in float64 for the model as stored: ``objective_bounds`` and
        ``constraint_bounds`` (``(m, 2)``) bracket the returned policy's exact ``J_0``, ``J_i``
        (:func:`theory_rl.tabular.policy_evaluation` with its certified bound),
        ``feasibility_certified`` (every lower ``J_i`` bound ``>= c_i``), ``max_violation_bound``,
        ``optimum_upper_bound`` (the Lagrangian dual bound ``<d0, V*_lambda> - lambda . c`` of the
        returned multipliers, ``V*_lambda`` bounded by :func:`theory_rl.tabular.certify`) and
        ``optimality_gap_bound`` (that minus the lower ``J_0`` bound).

    Raises
    ------
    SolverError
        If the constraints cannot be met; the message names the constraint(s) at fault (a
        threshold above ``max_pi J_i``, or a set that is only jointly infeasible).

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> cmdp = dual.CMDP(envs.random_mdp(3, 2, seed=0), [[[0.0, -1.0]] * 3], [-3.0])   # action 1 costs 1 per step
    >>> sol = dual.solve_cmdp_lp(cmdp)
    >>> bool(sol.constraint_values[0] >= -3.0 - 1e-7), sol.active.tolist()
    (True, [True])
    """
    check_choice(highs_method, "highs_method", ("highs", "highs-ds", "highs-ipm"))
    mdp = cmdp.mdp
    with Timer() as timer:
        valid = np.flatnonzero(np.isfinite(effective_rewards(mdp)))
        M = flow_matrix(mdp)[:, valid].tocsr()
        m = cmdp.n_constraints
        G = -cmdp.constraint_rewards.reshape(m, -1)[:, valid]
        res = linprog(-np.asarray(mdp.R).ravel()[valid], A_ub=G, b_ub=-cmdp.thresholds, A_eq=M,
                      b_eq=np.asarray(mdp.d0, dtype=float), bounds=(0, None), method=highs_method,
                      options=HIGHS_OPTIONS)
        if res.status == 2:
            raise SolverError(f"the CMDP is infeasible: {_diagnose_infeasible(cmdp)}", status=res.status)
        if res.status != 0:
            raise SolverError(f"HiGHS did not solve the CMDP LP: {res.message}", status=res.status)
        rho = np.zeros(mdp.n_states * mdp.n_actions)
        rho[valid] = res.x
    sol = _finish(cmdp, rho.reshape(mdp.n_states, mdp.n_actions), np.maximum(-res.ineqlin.marginals, 0.0),
                  -res.eqlin.marginals, method=f"cmdp_lp[{highs_method}]", n_iter=int(res.nit),
                  elapsed=timer.elapsed)
    sol.info.update(_certify_lp_answer(cmdp, sol))
    return sol


def _certify_lp_answer(cmdp: CMDP, sol: CMDPSolution) -> dict[str, Any]:
    """A posteriori checks of an LP answer in float64 (HiGHS meets its constraints only to its
    feasibility tolerance): the returned policy's returns, evaluated with a certified bound, and the
    Lagrangian dual bound ``OPT <= <d0, V*_lambda> - lambda . c`` of the returned multipliers."""
    mdp = cmdp.mdp
    d0 = np.asarray(mdp.d0, dtype=float)
    bounds = []
    for rewards in (np.asarray(mdp.R), *cmdp.constraint_rewards):
        ev = policy_evaluation(mdp.replace(R=rewards), sol.policy)
        bounds.append(_weighted_sum_bounds(1.0, d0, ev.v - ev.bound, ev.v + ev.bound))
    lam = sol.multipliers
    lagrangian = mdp.replace(R=np.asarray(mdp.R) + np.einsum("i,isa->sa", lam, cmdp.constraint_rewards))
    cert = certify(BellmanOperator(lagrangian), sol.v)
    _, dual_upper = _weighted_sum_bounds(1.0, d0, cert.upper, cert.upper)
    # minus lambda . c, rounded up: fsum is correctly rounded, the products once each
    lam_c = np.asarray(lam * cmdp.thresholds, dtype=float)
    optimum_upper = float(np.nextafter(dual_upper - math.fsum(lam_c) + 2 * UNIT_ROUNDOFF * math.fsum(np.abs(lam_c)),
                                       np.inf))
    constraint_bounds = np.array(bounds[1:]).reshape(-1, 2)
    return {
        "objective_bounds": bounds[0],
        "constraint_bounds": constraint_bounds,
        "feasibility_certified": bool((constraint_bounds[:, 0] >= cmdp.thresholds).all()),
        "max_violation_bound": float(max(0.0, *(cmdp.thresholds - constraint_bounds[:, 0]))),
        "optimum_upper_bound": optimum_upper,
        "optimality_gap_bound": float(np.nextafter(optimum_upper - bounds[0][0], np.inf)),
    }


@renamed_arguments(n_iter="max_iter")
def lagrangian_primal_dual(cmdp: CMDP, *, max_iter: int = 2000, step: float | None = None,
                           multipliers0: Sequence[float] | None = None, average_from: float = 0.5) -> CMDPSolution:
    r"""Dual subgradient descent with exact best responses and primal averaging.

    .. math::
        \pi_k \in \arg\max_\pi J_0(\pi) + \lambda_k \cdot (J(\pi) - c) \quad\text{(exact, HiGHS)},
        \qquad \lambda_{k+1} = \big[\lambda_k - \eta\,(J(\pi_k) - c)\big]_+,

    returning the average occupancy ``rho_bar = (1/n) sum_{k >= k0} rho_{pi_k}`` over the last
    ``n = K - k0`` iterations (a point of the flow polytope, so a stationary policy) and the
    averaged multipliers.

    Guarantee (certified from the run; Nedić & Ozdaglar 2009, "Approximate primal solutions and
    rate analysis for dual subgradient methods", SIAM J. Optim. 19(4)), constant step ``eta``,
    from ``lambda_{k+1} >= lambda_k - eta g_k`` with ``g_k = J(pi_k) - c`` and
    ``J_0(pi_k) + lambda_k . g_k = g(lambda_k) >= LP*``:

    - constraint violation: ``c_i - J_i(rho_bar) <= (lambda_{K,i} - lambda_{k0,i})_+ / (eta n)``;
    - suboptimality: ``J_0(rho_bar) >= LP* - ||lambda_{k0}||^2 / (2 eta n) - (eta / 2n) sum_k ||g_k||^2``;
    - and ``LP* <= min_k g(lambda_k)`` with ``g(lambda) = max_pi J_0 + lambda . (J - c)``.

    With ``eta ∝ 1/sqrt(K)`` and bounded multipliers all three gaps are ``O(1/sqrt(K))``, so the
    result converges to the LP answer.

    Parameters
    ----------
    cmdp : CMDP
    max_iter : int
        ``K``, the number of best responses (all are run), ``>= 1``. Called ``n_iter`` before
        0.2.0 (still accepted until 0.3.0, with a ``DeprecationWarning``).
    step : float, optional
        ``eta``; default ``1 / (||J(pi_0) - c|| sqrt(K))`` with ``pi_0`` the unconstrained optimum.
    multipliers0 : sequence of float, optional
        ``lambda_0`` (default 0).
    average_from : float in [0, 1)
        ``k0 = floor(average_from * K)``: the first iterations, while the multipliers are still
        far from ``lambda*``, are left out of the average (their effect enters the bounds).

    Returns
    -------
    CMDPSolution
        ``info`` holds ``violation_bound`` (m,), ``suboptimality_bound``, ``dual_upper_bound``
        and ``lambda_history`` (K, m).

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> cmdp = dual.CMDP(envs.random_mdp(3, 2, seed=0), [[[0.0, -1.0]] * 3], [-3.0])   # action 1 costs 1 per step
    >>> a, b = dual.lagrangian_primal_dual(cmdp, max_iter=50), dual.solve_cmdp_lp(cmdp)
    >>> bool(abs(a.objective - b.objective) < 0.1)              # the averaged primal approaches the LP optimum
    True
    """
    mdp, m = cmdp.mdp, cmdp.n_constraints
    K = check_int(max_iter, "max_iter", minimum=1)
    eta = 1.0 if step is None else check_real(step, "step", low=0.0, low_open=True)
    lam = np.zeros(m) if multipliers0 is None else as_float_array(multipliers0, "multipliers0").copy()
    if lam.shape != (m,) or not (lam >= 0).all() or not np.isfinite(lam).all():
        raise InvalidModelError(f"multipliers0 must be {m} finite non-negative numbers, got {multipliers0!r}")
    average_from = check_real(average_from, "average_from", low=0.0, high=1.0, high_open=True)
    k0 = int(np.floor(average_from * K))
    with Timer() as timer:
        S, A = mdp.n_states, mdp.n_actions
        valid = np.flatnonzero(np.isfinite(effective_rewards(mdp)))
        M = flow_matrix(mdp)[:, valid].tocsr()
        d0 = np.asarray(mdp.d0, dtype=float)
        R0 = np.asarray(mdp.R).ravel()[valid]
        Rc = cmdp.constraint_rewards.reshape(m, -1)[:, valid]

        def best_response(mult: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
            """A deterministic maximiser of ``J_0 + mult . J`` (a basic solution of the occupancy
            LP, HiGHS dual simplex): its occupancy on the valid pairs, the value, the potential."""
            res = linprog(-(R0 + mult @ Rc), A_eq=M, b_eq=d0, bounds=(0, None), method="highs-ds",
                          options=HIGHS_OPTIONS)
            if res.status != 0:
                raise SolverError(f"best response LP failed: {res.message}", status=res.status)
            return res.x, -float(res.fun), -res.eqlin.marginals

        rho_sum = np.zeros(valid.size)
        lam_sum = np.zeros(m)
        sq_sum = 0.0
        dual_best = np.inf
        history = np.zeros((K, m))
        for k in range(K):
            rho, value, _ = best_response(lam)
            gap = Rc @ rho - cmdp.thresholds
            if k == 0 and step is None:  # eta = 1 / (||J(pi_0) - c|| sqrt(K))
                eta = 1.0 / (max(float(np.linalg.norm(gap)), 1e-6 * (1 + np.abs(cmdp.thresholds).max())) * np.sqrt(K))
            dual_best = min(dual_best, value - float(lam @ cmdp.thresholds))
            if k == k0:
                lam_k0 = lam.copy()
            if k >= k0:
                rho_sum += rho
                lam_sum += lam
                sq_sum += float(gap @ gap)
            history[k] = lam
            lam = np.maximum(lam - eta * gap, 0.0)
        rho_bar = np.zeros(S * A)
        n = K - k0
        rho_bar[valid] = rho_sum / n
        lam_bar = lam_sum / n
        v = best_response(lam_bar)[2]
    info = {"violation_bound": np.maximum(lam - lam_k0, 0.0) / (eta * n),
            "suboptimality_bound": float(lam_k0 @ lam_k0) / (2 * eta * n) + eta * sq_sum / (2 * n),
            "dual_upper_bound": dual_best, "step": eta, "lambda_history": history}
    return _finish(cmdp, rho_bar.reshape(S, A), lam_bar, v, method="lagrangian_primal_dual", n_iter=K, elapsed=timer.elapsed,
                   info=info)
