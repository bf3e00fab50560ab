r"""IWOCS: Incremental Worst-Case Search (Zouitine, Geist & Rachelson 2024, "Solving robust MDPs
as a sequence of static RL problems", arXiv 2410.06212), tabular version with certificates.

For an sa-rectangular compact set the robust value is a minimum of static optimal values
(Iyengar 2005 static = dynamic, and no duality gap):

.. math::
    V_{rob}(s) = \max_\pi \min_{T \in \mathcal T} V^\pi_T(s) = \min_{T \in \mathcal T} V^*_T(s), \qquad
    Q_{rob} = \min_T Q^*_T .

IWOCS searches that minimum over *static* models: it keeps a list ``T_0, ..., T_i`` of kernels,
builds a robust policy ``pi_i`` for the list, asks a worst-case oracle for
``T_{i+1} in argmin_T V^{pi_i}_T``, and stops when the certificate
``L_i = V^{pi_i}_{T_{i+1}} <= V_rob <= U_i`` closes. See :func:`iwocs`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._iterative import progress_bar
from .._result import CertifiedSolution, TraceHistoryMixin
from .._validation import check_bool, check_choice, check_int, check_tol, rng_from_seed
from ..errors import InvalidModelError
from ..tabular import policy_iteration, q_values
from ._operator import RobustOperator
from ._sets import FiniteSet, ParametricSet, RectangularityWarning, RobustMDP, SARectFinite, _dense_kernel
from ._solvers import robust_policy_evaluation, robust_policy_iteration

__all__ = ["IwocsSolution", "iwocs", "worst_case_theta", "score_weights"]


@dataclass(frozen=True, repr=False, eq=False)
class IwocsSolution(TraceHistoryMixin, CertifiedSolution):
    r"""What :func:`iwocs` returns (``IwocsResult`` is its deprecated name, removed in the next
    release): a policy with a certificate ``lower <= V_rob <= upper``.

    Attributes
    ----------
    policy : ndarray, shape (S,)
        The policy with the best certified lower bound seen (deterministic).
    lower, upper : float
        Final certificate ``lower <= V_rob(score) <= upper`` (``score`` = ``s0`` or ``d0``);
        ``lower`` is the best ``L_i``, ``upper`` the last ``U_i``.
    converged : bool
        ``upper - lower <= tol``.
    certified : bool
        Whether ``lower <= V_rob <= upper`` is guaranteed for the robust value over the *whole*
        uncertainty set. True for every set type whose worst-case oracle is exact (sa- and
        s-rectangular sets, :class:`FiniteSet`); **False for every** :class:`ParametricSet`:
        CMA-ES is a heuristic, and the grid oracle minimises over the grid only, so its
        ``lower`` can exceed the robust value over the box when the worst case lies between
        grid points (``upper`` stays valid: every model found lies in the set).
    certified_over : {"set", "grid"} or None
        What the bounds are certified over: ``"set"`` (``certified=True``); ``"grid"``
        (``oracle="grid"`` on a :class:`ParametricSet`: ``lower <= V_rob^grid <= upper`` holds
        for the robust problem restricted to the ``n_grid``-per-dimension grid,
        ``V_rob^grid = max_pi min_{theta in grid} w . V^pi_{P_theta}``, not for the box);
        ``None`` (CMA-ES: no guarantee on ``lower``).
    n_iter : int
        Iterations (static models solved after ``T_0``).
    models : ndarray, shape (n_models, S, A, S)
        ``T_0`` (the nominal kernel) and every worst case found, in order.
    thetas : ndarray, shape (n_models - 1, d), or None
        The parameters of the models found (ParametricSet only).
    trace : list of dict
        Per iteration: ``iteration``, ``lower`` (``L_i``), ``upper`` (``U_i``), ``gap``,
        ``new_model_known`` (the oracle returned a kernel already in the list), ``seconds``;
        ``history`` is the same records as a :class:`~theory_rl._result.History` table.
    stop_reason : str
        ``"certificate"``, ``"no new model"`` or ``"max_iter"``.
    q_hat : ndarray, shape (S, A)
        The inner problem's action values at the last iteration (hull-robust Q or
        ``min_j Q*_{T_j}``).
    method, params, elapsed, info
    """

    policy: np.ndarray
    lower: float
    upper: float
    converged: bool
    certified: bool
    certified_over: str | None
    n_iter: int
    models: np.ndarray
    thetas: np.ndarray | None
    trace: list[dict[str, Any]]
    stop_reason: str
    q_hat: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    _repr_fields = ("method", "converged", "n_iter", "lower", "upper", "stop_reason", "elapsed")

    @property
    def gap(self) -> float:
        return self.upper - self.lower


@renamed_arguments(positional=("score", "s0"))
def score_weights(rmdp: RobustMDP, *, score: str = "s0", s0: int | None = None) -> np.ndarray:
    """The weights ``w`` of the scalar objective ``w . V``: a point mass at ``s0`` (``score="s0"``;
    default ``s0``: the start state when ``d0`` is a point mass, else state 0) or ``d0``.

    ``score`` and ``s0`` are keyword-only (passing them by position still works until 0.3.0, with
    a ``DeprecationWarning``); a bad value raises :class:`~theory_rl.errors.InvalidArgumentError`."""
    S = rmdp.n_states
    d0 = rmdp.nominal.d0
    check_choice(score, "score", ("s0", "d0"))
    if score == "d0":
        return np.full(S, 1.0 / S) if d0 is None else np.asarray(d0, dtype=float)
    if s0 is None:
        s0 = int(np.argmax(d0)) if d0 is not None and np.max(d0) == 1.0 else 0
    s0 = check_int(s0, "s0", minimum=0, maximum=S - 1)
    w = np.zeros(S)
    w[int(s0)] = 1.0
    return w


def worst_case_theta(
    pset: ParametricSet,
    objective: Callable[[np.ndarray], float],
    *,
    method: str = "grid",
    n_grid: int = 10,
    budget: int = 200,
    sigma0: float = 0.3,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, float, int]:
    r"""Minimise a black-box ``objective(theta)`` over the box of a :class:`ParametricSet`.

    ``method="grid"``: the uniform grid with ``n_grid`` points per dimension (the RRLS
    evaluation grid, exact minimum *over the grid*); ``method="cma"``: CMA-ES (Hansen's ``cma``
    package) in the box rescaled to ``[0, 1]^d``, ``budget`` evaluations, started at the box
    centre with step ``sigma0`` (deep IWOCS's search; a local, heuristic minimum).

    The objective is typically the current policy's value (tabular) or its Monte-Carlo return
    (deep). Returns ``(theta, objective(theta), n_evaluations)``.
    """
    n_grid, budget = check_int(n_grid, "n_grid", minimum=1), check_int(budget, "budget", minimum=1)
    if method == "grid":
        grid = pset.grid(n_grid)
        vals = np.array([float(objective(t)) for t in grid])
        k = int(np.argmin(vals))
        return grid[k], float(vals[k]), len(grid)
    check_choice(method, "method", ("grid", "cma"))
    import cma

    rng = rng_from_seed(seed)
    lo, hi = pset.theta_box[:, 0], pset.theta_box[:, 1]
    width = np.where(hi > lo, hi - lo, 1.0)
    best_x, best_f, n_eval = 0.5 * (lo + hi), float(objective(0.5 * (lo + hi))), 1
    if pset.dim == 1:  # CMA-ES needs d >= 2: a fine grid is the exact answer in 1-D
        return worst_case_theta(pset, objective, method="grid", n_grid=max(2, budget))
    es = cma.CMAEvolutionStrategy(np.full(pset.dim, 0.5), sigma0, {
        "bounds": [0.0, 1.0], "seed": int(rng.integers(1, 2**31 - 1)), "maxfevals": budget, "verbose": -9})
    while not es.stop():
        xs = es.ask()
        fs = []
        for x in xs:
            theta = lo + width * np.clip(x, 0.0, 1.0)
            f = float(objective(theta))
            n_eval += 1
            fs.append(f)
            if f < best_f:
                best_x, best_f = theta, f
        es.tell(xs, fs)
    return best_x, best_f, n_eval


def _static_solution(rmdp: RobustMDP, kernel: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """``(V*_T, Q*_T)`` of the static MDP with kernel ``T`` (policy iteration, exact values)."""
    mdp = rmdp.with_kernel(kernel)
    sol = policy_iteration(mdp, tol=tol)
    return sol.v, q_values(mdp, sol.v)


@renamed_arguments(eps="tol")
def iwocs(
    rmdp: RobustMDP,
    *,
    inner: str = "hull",
    score: str = "s0",
    s0: int | None = None,
    tol: float = 1e-6,
    max_iter: int = 100,
    oracle: str = "grid",
    n_grid: int = 10,
    budget: int = 200,
    seed: int | np.random.Generator | None = None,
    progress: bool = False,
) -> IwocsSolution:
    r"""Incremental worst-case search with a certificate at every iteration (Zouitine, Geist &
    Rachelson 2024, arXiv 2410.06212; the tabular meta-loop of the spec, section 1.3).

    With weights ``w`` (``e_{s0}`` or ``d0``, see :func:`score_weights`):

    1. ``T_0`` = the nominal kernel (or the set's first member if the nominal is outside a finite
       or parametric set); solve it: ``Q_0 = Q*_{T_0}``.
    2. Robust policy for the list ``T_0..T_i``:

       - ``inner="hull"`` (default, exact): robust policy iteration on the sa-rectangular hull
         ``{T_j(.|s,a) : j <= i}``, ``Q(s,a) = r + gamma min_j <T_j(.|s,a), V>``;
         ``pi_i = argmax_a Q``; ``U_i = w . V_hull`` (its certified upper bound). The hull lies
         in any sa-rectangular set that contains the ``T_j``, so ``U_i >= V_rob``.
       - ``inner="minQ"`` (the paper's reading): ``Qhat_i = min_j Q*_{T_j}``,
         ``pi_i = argmax_a Qhat_i``; ``U_i = sum_s w(s) max_a Qhat_i(s, a)`` (valid as every
         ``Q*_{T_j} >= Q_rob``). **It can stall**: the worst case of ``pi_i`` may already be in
         the list, ending the loop with a gap (46 of 300 tiny random instances in the spec
         authors' check; ``tests/robust`` exhibits one).

    3. Worst-case oracle ``T_{i+1} in argmin_{T} w . V^{pi_i}_T``: robust policy evaluation
       (adversary policy iteration) for sa/s-rectangular sets, which by static = dynamic returns
       one kernel worst at every state; enumeration with exact linear solves for a
       :class:`FiniteSet`; for a :class:`ParametricSet`, ``oracle="grid"`` (exact over the
       ``n_grid``-per-dimension grid only: ``certified=False``, ``certified_over="grid"``; the
       worst case over the box can lie between grid points, below ``lower``) or
       ``oracle="cma"`` (CMA-ES, ``budget`` evaluations; heuristic: ``certified=False``,
       ``certified_over=None``).
    4. ``L_i = w . V^{pi_i}_{T_{i+1}} <= V_rob <= U_i`` (for sets that are not sa-rectangular,
       s-rectangular ones included, ``U_i = min_j w . V*_{T_j}``, which bounds
       ``max_pi min_T w . V^pi_T`` from above; a duality gap, or an optimal policy that must be
       randomised (s-rectangular sets), may keep the certificate open; a
       :class:`RectangularityWarning` says so).
    5. Stop when ``U_i - L_i <= tol``, or when ``T_{i+1}`` is already in the list (no progress
       possible), or at ``max_iter``; else append ``T_{i+1}``, solve it, go to 2.

    Returns the policy with the best ``L_i``. With ``inner="hull"`` on sa-rectangular sets with
    finitely many extreme rows (finite sets, L1/L-infinity/interval balls) the loop terminates
    with ``L = V_rob`` (if the new worst case lies in the hull, ``L_i = U_i``).

    Parameters
    ----------
    rmdp : RobustMDP
    inner : {"hull", "minQ"}
    score : {"s0", "d0"}
    s0 : int, optional
    tol : float
        The certified accuracy asked for: stop when the certificate width ``U_i - L_i <= tol``,
        ``> 0``. Called ``eps`` before 0.2.0 (still accepted until 0.3.0, with a
        ``DeprecationWarning``).
    max_iter : int
        Cap on the worst-case searches, ``>= 1``.
    oracle : {"grid", "cma"}
        ParametricSet only.
    n_grid, budget : int
        ParametricSet oracle settings (see :func:`worst_case_theta`).
    seed : int or Generator
        For the CMA-ES oracle.
    progress : bool
        Show a tqdm bar over the worst-case searches (bounds and gap) on stderr.
    """
    check_choice(inner, "inner", ("hull", "minQ"))
    progress = check_bool(progress, "progress")
    check_choice(oracle, "oracle", ("grid", "cma"))
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    n_grid = check_int(n_grid, "n_grid", minimum=1)
    budget = check_int(budget, "budget", minimum=1)
    if rmdp.nature != "adversarial" or rmdp.nominal.action_mask is not None:
        raise InvalidModelError("iwocs searches worst cases: it needs an adversarial RobustMDP without action masks")
    w = score_weights(rmdp, score=score, s0=s0)
    U = rmdp.uncertainty
    rect = U.is_rectangular
    if not U.is_sa_rectangular:
        warnings.warn(
            f"{type(U).__name__} is not sa-rectangular: IWOCS bounds the robust value max_pi min_T w.V^pi_T by "
            "L_i <= . <= min_j w.V*_{T_j} (the hull of found models need not lie in the set); a duality gap "
            "or the need for randomised policies can keep the certificate from closing",
            RectangularityWarning, stacklevel=2)
    scale = 1.0 + float(np.abs(rmdp.nominal.R).max()) / (1.0 - rmdp.gamma)
    solve_tol = max(1e-12 * scale, tol * 1e-3)
    eval_tol = max(1e-12 * scale, tol * 1e-2)
    op = RobustOperator(rmdp, warn=False) if rect else None
    finite_kernels = U.kernels if isinstance(U, FiniteSet) and not rect else None
    start = time.perf_counter()

    models = [_initial_model(rmdp)]
    thetas: list[np.ndarray] = []
    v0, q0 = _static_solution(rmdp, models[0], solve_tol)
    static_v = [v0]
    static_q = [q0]
    trace: list[dict[str, Any]] = []
    best_lower, best_policy = -np.inf, None
    upper = np.inf
    stop_reason = "max_iter"
    converged = False
    if isinstance(U, ParametricSet):  # the search sees the grid (or CMA-ES's samples), not the box
        certified, certified_over = False, ("grid" if oracle == "grid" else None)
    else:
        certified, certified_over = True, "set"
    q_hat = q0
    n_iter = 0
    hull_v = None
    bar = progress_bar(progress, total=max_iter + 1, desc="iwocs", unit="search")
    for n_iter in range(max_iter + 1):
        # 2. robust policy for the current list, and the upper bound
        if inner == "hull":
            hull = RobustMDP(rmdp.nominal, SARectFinite(np.stack(models, axis=2)))
            sol = robust_policy_iteration(hull, tol=solve_tol, v0=hull_v)
            hull_v = sol.v
            q_hat, policy = sol.q, np.asarray(sol.policy)
            u_i = float(w @ sol.upper)
        else:
            q_hat = np.min(np.stack(static_q), axis=0)
            policy = q_hat.argmax(axis=1)
            u_i = float(w @ q_hat.max(axis=1))
        if not U.is_sa_rectangular:
            u_i = min(float(w @ v) for v in static_v)
        upper = u_i
        # 3. worst-case oracle
        theta = None
        if op is not None:
            ev = robust_policy_evaluation(rmdp, policy, tol=eval_tol)
            new = ev.worst_kernel
            l_i = float(w @ ev.lower)
        elif finite_kernels is not None:
            vals = [float(w @ _policy_value(rmdp, policy, K)) for K in finite_kernels]
            k = int(np.argmin(vals))
            new, l_i = finite_kernels[k], vals[k]
        else:
            assert isinstance(U, ParametricSet)
            theta, l_i, _ = worst_case_theta(
                U, _static_score(rmdp, U, policy, w), method=oracle, n_grid=n_grid, budget=budget, seed=seed)
            new = U.build(theta)
        if l_i > best_lower:
            best_lower, best_policy = l_i, policy.copy()
        known = any(np.max(np.abs(new - M)) <= 1e-12 for M in models)
        trace.append({"iteration": n_iter, "lower": l_i, "upper": u_i, "gap": u_i - best_lower,
                      "new_model_known": known, "seconds": time.perf_counter() - start})
        bar.update(1)
        bar.set_postfix_str(f"[{best_lower:.6g}, {upper:.6g}] gap {upper - best_lower:.3g}", refresh=False)
        # 5. stop rules
        if upper - best_lower <= tol:
            stop_reason, converged = "certificate", True
            break
        if known:
            stop_reason = "no new model"
            break
        if n_iter == max_iter:
            break
        models.append(np.asarray(new, dtype=float).copy())
        if theta is not None:
            thetas.append(np.asarray(theta, dtype=float))
        vj, qj = _static_solution(rmdp, models[-1], solve_tol)
        static_v.append(vj)
        static_q.append(qj)
    bar.close()
    assert best_policy is not None
    return IwocsSolution(
        policy=best_policy, lower=best_lower, upper=upper, converged=converged, certified=certified,
        certified_over=certified_over, n_iter=n_iter,
        models=np.stack(models), thetas=np.stack(thetas) if thetas else None, trace=trace, stop_reason=stop_reason,
        q_hat=q_hat, method=f"iwocs[{inner}]",
        params={"inner": inner, "score": score, "s0": s0, "tol": tol, "max_iter": max_iter, "oracle": oracle,
                "n_grid": n_grid, "budget": budget},
        elapsed=time.perf_counter() - start, info={"set": type(U).__name__, "rectangularity": U.rectangularity})


def _initial_model(rmdp: RobustMDP) -> np.ndarray:
    """``T_0``: the nominal kernel when it belongs to the set, else the set's first member
    (``kernels[0]``, ``candidates[:, :, 0]``, or the kernel at the centre of the parameter box),
    so that every model in the list lies in the set and the bounds stay valid."""
    U = rmdp.uncertainty
    P_hat = _dense_kernel(rmdp.nominal).copy()
    if isinstance(U, ParametricSet):
        return U.build(U.theta_box.mean(axis=1))
    if isinstance(U, (FiniteSet, SARectFinite)) and not U.contains(rmdp.nominal, P_hat, atol=1e-12):
        return U.kernels[0].copy() if isinstance(U, FiniteSet) else U.kernel(np.zeros((rmdp.n_states, rmdp.n_actions)))
    return P_hat


def _static_score(rmdp: RobustMDP, pset: ParametricSet, policy: np.ndarray, w: np.ndarray
                  ) -> Callable[[np.ndarray], float]:
    """``theta -> w . V^policy_{P_theta}``."""
    return lambda theta: float(w @ _policy_value(rmdp, policy, pset.build(theta)))


def _policy_value(rmdp: RobustMDP, policy: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    from ..tabular import solve_policy_system

    S = rmdp.n_states
    P_pi = kernel[np.arange(S), policy]
    r_pi = np.asarray(rmdp.nominal.R)[np.arange(S), policy]
    return solve_policy_system(P_pi, r_pi, rmdp.gamma)
