r"""Regularised occupancy problems and their two Lagrangian duals (Dual RL).

Sikchi, Zheng, Zhang, Niekum, "Dual RL: Unification and New Methods for Reinforcement and
Imitation Learning", ICLR 2024, arXiv 2302.08560. With normalised occupancy ``d``, offline
distribution ``d^O > 0`` and ``alpha > 0``, the regularised primal is

.. math::
    \max_{d \ge 0} \; \mathbb E_d[r] - \alpha D_f(d \,\|\, d^O) \quad \text{s.t.} \quad
    \sum_a d(s,a) = (1-\gamma) d_0(s) + \gamma \sum_{s',a'} P(s|s',a') d(s',a').

**Dual-V** (multipliers ``V`` on the state-flow rows):

.. math::
    \min_V (1-\gamma)\,\mathbb E_{d_0}[V] + \alpha\, \mathbb E_{d^O}\big[f^*_p(\delta_V / \alpha)\big],
    \qquad \delta_V(s,a) = r(s,a) + \gamma \textstyle\sum_{s'} P(s'|s,a) V(s') - V(s),

with primal recovery ``w*(s,a) = d*(s,a)/d^O(s,a) = (f*_p)'(delta_V*(s,a)/alpha)``.

**Dual-Q** (multipliers ``Q`` on the per-pair flow rows of a fixed policy):

.. math::
    \max_\pi \min_Q (1-\gamma)\,\mathbb E_{d_0,\pi}[Q] + \alpha\, \mathbb E_{d^O}\big[f^*((r + \gamma P^\pi Q - Q)/\alpha)\big],

with the *unrestricted* ``f*`` (a reviewer's correction). For a fixed ``pi`` the flow rows fix
``d = d_pi``, so the inner minimum is ``E_{d_pi}[r] - alpha D_f(d_pi || d^O)``.

How known methods (XQL, CQL/ATAC, AlgaeDICE, OptiDICE, ValueDICE, IQ-Learn, SMODICE, IQL) map
onto these forms, with the reviewers' caveats, is tabulated in the :mod:`theory_rl.dual` package
docstring. The caveat that matters here: the positivity/monotonicity argument for
``(f')^{-1}`` fails for non-strictly-convex ``f`` such as ``|x - 1|``, so ``"tv"`` is rejected
where ``w*`` is needed (it is accepted by :func:`regularized_primal`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from .._iterative import Timer
from .._result import CertifiedSolution
from .._validation import as_float_array, check_finite, check_int, check_real, check_tol, format_index, rng_from_seed
from ..errors import InvalidModelError, SolverError
from ..models import FiniteMDP
from ..tabular import as_policy, effective_rewards
from ._divergences import FDivergence, f_divergence, require_cvxpy
from ._lp import primal_lp
from ._occupancy import flow_matrix, occupancy, policy_from_occupancy

__all__ = ["RegularizedSolution", "dual_q", "dual_v", "regularized_primal"]


@dataclass(frozen=True, repr=False, eq=False)
class RegularizedSolution(CertifiedSolution):
    """Solution of the regularised primal or of one of its duals.

    Attributes
    ----------
    value : float
        Optimal regularised objective ``E_d[r] - alpha D_f(d || d^O)`` (primal) or the dual
        minimum (equal at the optimum by strong duality).
    occupancy : ndarray, shape (S, A)
        Normalised ``d`` (sums to 1): the primal solution, or the dual's recovery ``d^O w*``.
    ratio : ndarray, shape (S, A)
        ``w = d / d^O`` (0 where ``d^O = 0``).
    policy : ndarray, shape (S, A)
        ``d(s,a) / sum_a d(s,a)``.
    v, q : ndarray or None
        The dual variables: ``V`` (shape (S,)) for dual-V, ``Q`` (shape (S, A)) for dual-Q;
        the flow rows' multipliers for the cvxpy primal (``v``).
    divergence : str
    alpha : float
    divergence_value : float
        ``D_f(d || d^O)`` of the returned ``occupancy``.
    flow_residual : float
        ``max_s |flow(d)(s) - (1-gamma) d0(s)|`` of the returned ``occupancy``.
    method : str
    n_iter : int
    converged : bool
    gradient_norm : float
        Sup norm of the dual objective's gradient at the returned point (0 for the primal).
    elapsed : float

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> sol = dual.regularized_primal(mdp, dual.occupancy(mdp, [[0.5, 0.5]] * 3), "chi2", 0.5)
    >>> type(sol).__name__, sol.divergence, round(float(sol.occupancy.sum()), 6)
    ('RegularizedSolution', 'chi2', 1.0)
    """

    value: float
    occupancy: np.ndarray
    ratio: np.ndarray
    policy: np.ndarray
    v: np.ndarray | None
    q: np.ndarray | None
    divergence: str
    alpha: float
    divergence_value: float
    flow_residual: float
    n_iter: int
    converged: bool
    gradient_norm: float

    _repr_fields = ("method", "divergence", "alpha", "value", "flow_residual", "converged", "elapsed")


def _offline(mdp: FiniteMDP, d_offline: object) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``d^O`` of shape (S, A) and the flat indices of available pairs."""
    S, A = mdp.n_states, mdp.n_actions
    d = as_float_array(d_offline, "d_offline", ndim=2)
    if d.shape != (S, A):
        raise InvalidModelError(f"d_offline has shape {d.shape}, expected ({S}, {A})")
    check_finite(d, "d_offline")
    valid = np.isfinite(effective_rewards(mdp)).reshape(S, A)
    bad = valid & (d <= 0)
    if bad.any():
        s, a = np.argwhere(bad)[0]
        raise InvalidModelError(f"{format_index('d_offline', (s, a))} = {d[s, a]:.3g}: the regularised problem "
                                "needs d_offline > 0 on every available pair")
    if (d[~valid] != 0).any():
        s, a = np.argwhere(~valid & (d != 0))[0]
        raise InvalidModelError(f"{format_index('d_offline', (s, a))} is non-zero on an unavailable action")
    if abs(d.sum() - 1.0) > 1e-8:
        raise InvalidModelError(f"d_offline sums to {d.sum():.10g} (expected 1 within 1e-08: it is a normalised "
                                "state-action distribution)")
    return d, np.flatnonzero(valid.ravel())


def _alpha(alpha: float) -> float:
    return check_real(alpha, "alpha", low=0.0, low_open=True)


def _result(mdp: FiniteMDP, div: FDivergence, alpha: float, d_off: np.ndarray, d: np.ndarray, value: float,
            **fields: object) -> RegularizedSolution:
    d = np.maximum(d, 0.0)
    ratio = np.divide(d, d_off, out=np.zeros_like(d), where=d_off > 0)
    mask = d_off > 0
    res = flow_matrix(mdp) @ d.ravel() - (1.0 - mdp.gamma) * np.asarray(mdp.d0)
    return RegularizedSolution(
        value=float(value), occupancy=d, ratio=ratio, policy=policy_from_occupancy(mdp, d), divergence=div.name,
        alpha=alpha, divergence_value=div.divergence(d[mask], d_off[mask]), flow_residual=float(np.abs(res).max()),
        **fields,
    )


# Clarabel's defaults (gaps 1e-8) leave the KL primal solution accurate to only ~1e-5.
_CLARABEL_TIGHT = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11, "tol_ktratio": 1e-9}


def regularized_primal(mdp: FiniteMDP, d_offline: np.ndarray, f: str | FDivergence, alpha: float, *,
                       solver: str = "CLARABEL") -> RegularizedSolution:
    r"""Solve ``max_d E_d[r] - alpha D_f(d || d^O)`` over the normalised flow polytope with cvxpy.

    Parameters
    ----------
    mdp : FiniteMDP
    d_offline : ndarray, shape (S, A)
        ``d^O``, a distribution with ``d^O > 0`` on every available pair.
    f : {"kl", "chi2", "tv"} or FDivergence
    alpha : float
        Regularisation weight ``> 0``.
    solver : str
        cvxpy solver (default Clarabel, an interior-point conic solver, run with gap and
        feasibility tolerances 1e-11, and again with its defaults if it reports the tight
        solve inaccurate).

    Returns
    -------
    RegularizedSolution
        ``v`` holds the flow rows' multipliers (the dual-V potential at the optimum).

    Raises
    ------
    SolverError
        If cvxpy does not report an optimal solution.

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> d_offline = dual.occupancy(mdp, [[0.5, 0.5]] * 3)               # the uniform policy's occupancy
    >>> sol = dual.regularized_primal(mdp, d_offline, "kl", 0.1)
    >>> sol.converged, bool(sol.flow_residual < 1e-6)
    (True, True)
    """
    cp = require_cvxpy()
    div = f_divergence(f)
    a = _alpha(alpha)
    with Timer() as timer:
        d_off, valid = _offline(mdp, d_offline)
        r = effective_rewards(mdp)[valid]
        M = flow_matrix(mdp)[:, valid]
        tight = _CLARABEL_TIGHT if solver.upper() == "CLARABEL" else {}
        for options in ((tight, {}) if tight else ({},)):  # tight first; Clarabel's defaults if it stalls
            x = cp.Variable(valid.size, nonneg=True)
            flow = M @ x == (1.0 - mdp.gamma) * np.asarray(mdp.d0)
            problem = cp.Problem(cp.Maximize(r @ x - a * div.cvxpy_divergence(x, d_off.ravel()[valid])), [flow])
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "solution may be inaccurate": retried below
                    problem.solve(solver=solver, **options)
            except cp.error.SolverError as exc:
                raise SolverError(f"cvxpy ({solver}) failed on the regularised primal: {exc}", status="error") from None
            if problem.status == "optimal":
                break
        if problem.status != "optimal":
            raise SolverError("cvxpy did not solve the regularised primal", status=problem.status)
        d = np.zeros(mdp.n_states * mdp.n_actions)
        d[valid] = x.value
    return _result(mdp, div, a, d_off, d.reshape(d_off.shape), problem.value, v=np.asarray(flow.dual_value),
                   q=None, method=f"regularized_primal[{solver}]", n_iter=int(problem.solver_stats.num_iters or 0),
                   converged=True, gradient_norm=0.0, elapsed=timer.elapsed)


_KL_CAP = 60.0


def _conjugate_parts(div: FDivergence, y: np.ndarray, *, positive: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(f*(y), f*'(y), f*''(y))`` (or of ``f*_p``). For KL, ``exp(y - 1)`` is replaced above
    ``y = 60`` by its second-order Taylor polynomial there: a convex, finite minorant, so that
    trust-region trial points far out do not overflow. A minimiser of the minorant with every
    ``y < 60`` is a minimiser of the true objective (they agree on a neighbourhood and both are
    convex); the callers check this and raise otherwise."""
    if div.name == "kl":
        z = np.minimum(y, _KL_CAP)
        e = np.exp(z - 1.0)
        t = y - z
        return e * (1.0 + t + 0.5 * t * t), e * (1.0 + t), e
    if positive:
        return div.conjugate_positive(y), div.ratio_positive(y), div.curvature_positive(y)
    return div.conjugate(y), div.ratio(y), div.curvature(y)


def _check_cap(div: FDivergence, y: np.ndarray, where: str) -> None:
    if div.name == "kl" and np.max(y, initial=-np.inf) >= _KL_CAP:
        raise SolverError(f"{where}: the KL minimiser left the range where exp is evaluated exactly "
                          "(delta/alpha >= 60); increase alpha or start nearer the solution", status="range")


def _minimize(fun, x0: np.ndarray, tol: float, max_iter: int) -> object:  # noqa: ANN001
    """scipy's trust-region Newton method, then up to 5 plain Newton steps on the gradient.

    Near the optimum the objective changes by less than its rounding error long before the
    gradient reaches ``1e-10``, so the trust region stops; the polishing steps drive the
    gradient (the flow residual of the recovered ``d``) down quadratically and are kept only
    while they reduce it."""
    res = minimize(fun, x0, jac=True, hess=lambda x: fun(x, hessian=True), method="trust-exact",
                   options={"gtol": tol, "maxiter": max_iter})
    x = res.x
    g = fun(x)[1]
    for _ in range(5):
        if np.abs(g).max() <= tol:
            break
        step = np.linalg.lstsq(fun(x, hessian=True), g, rcond=None)[0]
        g_new = fun(x - step)[1]
        if not np.abs(g_new).max() < np.abs(g).max():
            break
        x, g = x - step, g_new
    res.x = x
    return res


def dual_v(mdp: FiniteMDP, d_offline: np.ndarray, f: str | FDivergence, alpha: float, *, v0: np.ndarray | None = None,
           seed: int | np.random.Generator | None = None, tol: float = 1e-10, max_iter: int = 500) -> RegularizedSolution:
    r"""Minimise the dual-V objective by a trust-region Newton method (scipy ``trust-exact``).

    .. math::
        L(V) = (1-\gamma)\langle d_0, V\rangle + \alpha \sum_{s,a} d^O(s,a)\, f^*_p\!\Big(\frac{\delta_V(s,a)}{\alpha}\Big),
        \qquad \nabla L = (1-\gamma) d_0 - M (d^O w), \quad w = (f^*_p)'(\delta_V/\alpha),

    where ``M`` is the flow operator, so ``grad L = 0`` is exactly the flow constraint on the
    recovered ``d = d^O w``. ``L`` is convex (``f*_p`` is convex, ``delta_V`` affine), so every
    stationary point is a global minimiser and random restarts reach the same value.

    Parameters
    ----------
    mdp, d_offline, f, alpha
        As :func:`regularized_primal`; ``f`` must be strictly convex (``"kl"`` or ``"chi2"``).
    v0 : ndarray, shape (S,), optional
        Starting point; default ``V*`` of the unregularised LP (keeps ``exp`` in range for KL at
        small ``alpha``).
    seed : int or Generator, optional
        If given, standard normal noise is added to the starting point (random restarts).
    tol : float
        Gradient sup-norm at which to stop.
    max_iter : int

    Returns
    -------
    RegularizedSolution
        ``value`` is the dual minimum; ``occupancy`` is ``d^O w*``; ``converged`` says whether
        ``gradient_norm <= 10 tol``.

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> d_offline = dual.occupancy(mdp, [[0.5, 0.5]] * 3)
    >>> sol, primal = dual.dual_v(mdp, d_offline, "chi2", 0.5), dual.regularized_primal(mdp, d_offline, "chi2", 0.5)
    >>> sol.converged, bool(abs(sol.value - primal.value) < 1e-5)              # strong duality
    (True, True)
    """
    div = f_divergence(f, strictly_convex=True)
    a = _alpha(alpha)
    tol, max_iter = check_tol(tol), check_int(max_iter, "max_iter")
    with Timer() as timer:
        d_off, valid = _offline(mdp, d_offline)
        S, c = mdp.n_states, 1.0 - mdp.gamma
        r = effective_rewards(mdp)[valid]
        M = flow_matrix(mdp)[:, valid].toarray()
        dO = d_off.ravel()[valid]
        d0 = np.asarray(mdp.d0, dtype=float)

        def fun(v: np.ndarray, hessian: bool = False):  # noqa: ANN202
            val, w, curv = _conjugate_parts(div, (r - M.T @ v) / a, positive=True)
            if hessian:
                return (M * (dO * curv / a)) @ M.T
            return c * d0 @ v + a * dO @ val, c * d0 - M @ (dO * w)

        start = primal_lp(mdp).v if v0 is None else as_float_array(v0, "v0", ndim=1)
        if start.shape != (S,):
            raise InvalidModelError(f"v0 has shape {start.shape}, expected ({S},)")
        if seed is not None:
            start = start + rng_from_seed(seed).normal(0.0, 1.0, size=S)
        res = _minimize(fun, start, tol, max_iter)
        v = res.x
        value, grad = fun(v)
        d = np.zeros(S * mdp.n_actions)
        y = (r - M.T @ v) / a
        _check_cap(div, y, "dual_v")
        d[valid] = dO * div.ratio_positive(y)
    if not np.isfinite(value):
        raise SolverError("dual_v: the objective overflowed (try a larger alpha or a starting point v0 near V*)",
                          status=res.message)
    gnorm = float(np.abs(grad).max())
    return _result(mdp, div, a, d_off, d.reshape(d_off.shape), value, v=v, q=None, method="dual_v[trust-exact]",
                   n_iter=int(res.nit), converged=gnorm <= 10 * tol, gradient_norm=gnorm, elapsed=timer.elapsed)


def dual_q(mdp: FiniteMDP, d_offline: np.ndarray, f: str | FDivergence, alpha: float, *,
           policy: np.ndarray | None = None, q0: np.ndarray | None = None, seed: int | np.random.Generator | None = None,
           tol: float = 1e-10, max_iter: int = 500) -> RegularizedSolution:
    r"""The dual-Q problem: the inner minimum over ``Q`` by a trust-region Newton method, for a
    given policy or for the optimal one.

    For fixed ``pi`` the inner objective

    .. math::
        L_\pi(Q) = (1-\gamma)\sum_s d_0(s) \sum_a \pi(a|s) Q(s,a)
                  + \alpha \sum_{s,a} d^O(s,a) f^*\big(y(s,a)/\alpha\big), \qquad y = r + \gamma P^\pi Q - Q,

    is convex in ``Q`` with gradient ``(1-gamma) Pi^T d0 + K^T (d^O w)``, ``K = gamma P Pi - I``,
    ``w = (f*)'(y/alpha)``: at its minimiser ``d = d^O w`` solves the per-pair flow equations of
    ``pi``, so ``d = d_pi`` and ``min_Q L_pi = E_{d_pi}[r] - alpha D_f(d_pi || d^O)``.

    The outer maximisation over ``pi`` is not performed by gradient steps here: with
    ``policy=None`` it is taken at ``pi* = d*/sum_a d*`` with ``d*`` from :func:`dual_v`, which is
    the maximiser because every ``d`` in the flow polytope is some ``d_pi``. So ``dual_q`` with
    ``policy=None`` certifies strong duality of the dual-Q form against dual-V, and with a
    ``policy`` it evaluates the inner problem (a lower bound on the max-min).

    Parameters
    ----------
    mdp, d_offline, f, alpha
        As :func:`dual_v` (strictly convex ``f``).
    policy : ndarray, shape (S,) or (S, A), optional
    q0 : ndarray, shape (S, A), optional
        Starting point (default ``Q^pi``, where ``y = 0``); ``seed`` adds standard normal noise.
    tol, max_iter
        As :func:`dual_v`.

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> d_offline = dual.occupancy(mdp, [[0.5, 0.5]] * 3)               # the uniform policy's occupancy
    >>> a, b = dual.dual_q(mdp, d_offline, "kl", 0.1), dual.regularized_primal(mdp, d_offline, "kl", 0.1)
    >>> bool(abs(a.value - b.value) < 1e-5)                    # the dual's value is the primal optimum
    True
    """
    div = f_divergence(f, strictly_convex=True)
    a = _alpha(alpha)
    tol, max_iter = check_tol(tol), check_int(max_iter, "max_iter")
    with Timer() as timer:
        d_off, valid = _offline(mdp, d_offline)
        S, A, c, n = mdp.n_states, mdp.n_actions, 1.0 - mdp.gamma, valid.size
        if policy is None:
            pi = dual_v(mdp, d_off, div, a, tol=tol, max_iter=max_iter).policy
        else:
            pi = as_policy(mdp, policy)
            pi = np.eye(A)[pi] if pi.ndim == 1 else pi
        r = effective_rewards(mdp)[valid]
        Pi = sp.csr_matrix((pi.ravel()[valid], (valid // A, np.arange(n))), shape=(S, n)).toarray()
        P2 = mdp.transition_matrix
        P_valid = (P2[valid] if sp.issparse(P2) else np.asarray(P2)[valid])
        K = mdp.gamma * np.asarray(P_valid @ Pi) - np.eye(n)
        dO = d_off.ravel()[valid]
        lin = c * Pi.T @ np.asarray(mdp.d0, dtype=float)

        def fun(q: np.ndarray, hessian: bool = False):  # noqa: ANN202
            val, w, curv = _conjugate_parts(div, (r + K @ q) / a, positive=False)
            if hessian:
                return (K.T * (dO * curv / a)) @ K
            return lin @ q + a * dO @ val, lin + K.T @ (dO * w)

        if q0 is None:  # Q^pi: the point where y = 0, i.e. w = (f*)'(0) (= 1 for chi2, 1/e for KL)
            start = np.linalg.solve(-K, r)
        else:
            start = as_float_array(q0, "q0", ndim=2).ravel()[valid]
        if seed is not None:
            start = start + rng_from_seed(seed).normal(0.0, 1.0, size=n)
        res = _minimize(fun, start, tol, max_iter)
        value, grad = fun(res.x)
        d = np.zeros(S * A)
        y = (r + K @ res.x) / a
        _check_cap(div, y, "dual_q")
        d[valid] = dO * div.ratio(y)
        q = np.full(S * A, -np.inf)
        q[valid] = res.x
    if not np.isfinite(value):
        raise SolverError("dual_q: the objective overflowed (try a larger alpha)", status=res.message)
    gnorm = float(np.abs(grad).max())
    return _result(mdp, div, a, d_off, d.reshape(S, A), value, v=None, q=q.reshape(S, A),
                   method="dual_q[trust-exact]", n_iter=int(res.nit), converged=gnorm <= 10 * tol,
                   gradient_norm=gnorm, elapsed=timer.elapsed)


def regularized_policy_value(mdp: FiniteMDP, d_offline: np.ndarray, f: str | FDivergence, alpha: float,
                             policy: np.ndarray) -> float:
    """Closed form ``E_{d_pi}[r] - alpha D_f(d_pi || d^O)`` of one policy (normalised ``d_pi``).

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> mdp, uniform = envs.random_mdp(3, 2, seed=0), [[0.5, 0.5]] * 3
    >>> d = dual.occupancy(mdp, uniform)
    >>> round(dual.regularized_policy_value(mdp, d, "kl", 0.1, uniform) - float((d * mdp.R).sum()), 9)  # D_f(d || d) = 0
    0.0
    """
    div = f_divergence(f)
    d_off, valid = _offline(mdp, d_offline)
    d = occupancy(mdp, policy, normalized=True).ravel()[valid]
    return float(d @ effective_rewards(mdp)[valid] - _alpha(alpha) * div.divergence(d, d_off.ravel()[valid]))
