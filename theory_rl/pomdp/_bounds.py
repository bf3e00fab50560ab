r"""Cheap bounds on the optimal POMDP value: blind-policy lower bound, QMDP and fast informed
bound (FIB) upper bounds (Hauskrecht 2000, "Value-function approximations for partially
observable Markov decision processes", JAIR 13:33-94).

.. math::
    V_{\text{blind}}(b) \le V^*(b) \le V_{\text{FIB}}(b) \le V_{\text{QMDP}}(b) \le \sum_s b(s) V_{\text{MDP}}(s).

- Blind: ``alpha_a = R_a + gamma T_a alpha_a`` (always play ``a``), solved exactly; each is a
  policy's value, so ``max_a alpha_a . b <= V*(b)``.
- QMDP: ``alpha_a = Q_MDP(., a)``, the values of the fully observable MDP (the agent is told the
  state after this step).
- FIB: the fixed point of
  ``Q(s, a) = R(s, a) + gamma sum_o max_{a'} sum_{s'} T[s, a, s'] O[a, s', o] Q(s', a')``
  (the agent is told the previous state), iterated from QMDP's upper bound: the operator is
  monotone and FIB <= QMDP, so every iterate is an upper bound and the iteration only tightens it.

Each function returns a :class:`POMDPSolution` whose ``alpha`` holds one vector per action;
for the upper bounds ``V(b) = max_a alpha_a . b`` is an *upper* bound (``lower = -inf``).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._validation import as_float_array, check_choice, check_finite, check_max_iter, check_time_limit, check_tol
from ..errors import ConvergenceWarning, InvalidModelError
from ..models import POMDP, FiniteMDP
from ._solution import POMDPSolution

__all__ = ["blind_lower_bound", "qmdp_upper_bound", "fib_upper_bound"]


_VI_WARMED: set[bool] = set()
"""The layouts (``True``: sparse) whose value-iteration kernels this process has run."""


def warm_up_value_iteration(sparse: bool) -> None:
    """Run :func:`theory_rl.tabular.value_iteration` once per process and layout on a 3-state
    model (CSR ``P`` if ``sparse``, else dense), so that its numba kernels (used by the QMDP and
    FIB bounds) are compiled, or loaded from numba's on-disk cache, before a solver's clock
    starts: compilation never counts against a ``time_limit``."""
    sparse = bool(sparse)
    if sparse in _VI_WARMED:
        return
    _VI_WARMED.add(sparse)
    from ..tabular import q_values, value_iteration

    P = np.array([[[0.5, 0.5, 0.0], [0.0, 0.2, 0.8]], [[0.1, 0.0, 0.9], [1.0, 0.0, 0.0]],
                  [[0.0, 0.3, 0.7], [0.6, 0.4, 0.0]]])
    R = np.array([[1.0, 0.0], [0.0, 2.0], [0.5, -1.0]])
    mdp = FiniteMDP(sp.csr_matrix(P.reshape(6, 3)) if sparse else P, R, 0.9)
    q_values(mdp, value_iteration(mdp, tol=1e-6).v + 1.0)  # the Q kernel outside value iteration's cache


def _check_discounted(model: POMDP) -> None:
    if model.gamma >= 1.0:
        raise InvalidModelError("infinite-horizon bounds need gamma < 1")


def _result(alpha: np.ndarray, model: POMDP, *, kind: str, method: str, t0: float, n_iter: int,
            params: dict, info: dict | None = None, history: dict | None = None,
            converged: bool = True) -> POMDPSolution:
    v = float((alpha @ model.b0).max())
    lower, upper = (v, float("inf")) if kind == "lower" else (float("-inf"), v)
    hist = history or {"lower": np.array([lower]), "upper": np.array([upper]), "time": np.array([time.perf_counter() - t0])}
    return POMDPSolution(
        alpha=alpha, actions=np.arange(model.n_actions, dtype=np.int64), lower=lower, upper=upper, value=v,
        converged=converged, n_iter=n_iter, history=hist, method=method, params=params,
        elapsed=time.perf_counter() - t0, info={"bound": kind, **(info or {})},
    )


def blind_lower_bound(model: POMDP) -> POMDPSolution:
    r"""Blind-policy lower bound: ``alpha_a = (I - gamma T_a)^{-1} R_a`` for each action (exact
    linear solves, sparse for CSR models). ``max_a alpha_a . b <= V*(b)`` at every belief."""
    _check_discounted(model)
    t0 = time.perf_counter()
    S, A = model.n_states, model.n_actions
    alpha = np.empty((A, S))
    for a, T_a in enumerate(model.transitions_by_action):
        if sp.issparse(T_a):
            alpha[a] = spla.spsolve((sp.identity(S, format="csc") - model.gamma * T_a).tocsc(), model.R[:, a])
        else:
            alpha[a] = np.linalg.solve(np.eye(S) - model.gamma * T_a, model.R[:, a])
    return _result(alpha, model, kind="lower", method="blind_lower_bound", t0=t0, n_iter=1, params={})


def qmdp_upper_bound(model: POMDP, *, tol: float = 1e-8) -> POMDPSolution:
    r"""QMDP upper bound ``V(b) = max_a sum_s b(s) Q_MDP(s, a)`` (Littman, Cassandra, Kaelbling 1995).

    ``Q_MDP`` comes from :func:`theory_rl.tabular.value_iteration` on ``model.mdp``; its
    certified upper bound ``v_up >= v*`` gives ``Q = R + gamma T v_up >= Q*``, so the vectors
    are an upper bound whatever the tolerance (``tol`` only controls how tight).
    """
    from ..tabular import value_iteration

    _check_discounted(model)
    tol = check_tol(tol)
    t0 = time.perf_counter()
    sol = value_iteration(model.mdp, tol=tol)
    S, A = model.n_states, model.n_actions
    T2 = model.T if model.is_sparse else model.T.reshape(S * A, S)
    Q = model.R + model.gamma * np.asarray(T2 @ sol.upper).reshape(S, A)
    return _result(np.ascontiguousarray(Q.T), model, kind="upper", method="qmdp_upper_bound", t0=t0,
                   n_iter=sol.n_iter, params={"tol": tol}, info={"mdp_bound": sol.bound})


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def fib_upper_bound(model: POMDP, *, tol: float = 1e-6, max_iter: int | None = None, time_limit: float | None = None,
                    clock: str = "wall", q0: np.ndarray | None = None) -> POMDPSolution:
    r"""Fast informed bound (Hauskrecht 2000), iterated from the QMDP upper bound or from ``q0``.

    Stops when ``||Q_{n+1} - Q_n||_inf <= tol (1 - gamma) / gamma`` (then ``Q_{n+1}`` is within
    ``tol`` of the FIB fixed point). From QMDP (the default) every iterate is an upper bound on
    ``Q*`` and ``history["upper"]``, the bound at ``b0`` per iteration, is non-increasing.

    ``q0`` (shape ``(S, A)``; AI-Toolbox's ``FastInformedBound`` takes one too) starts the
    iteration elsewhere, e.g. from a previous, slightly different model's bound. The FIB operator
    ``H`` is a monotone ``gamma``-contraction, so from any ``q0`` the iterates converge to its
    fixed point ``Q_FIB >= Q*``, and ``Q_n + gamma/(1-gamma) ||Q_n - Q_{n-1}||_inf`` bounds
    ``Q_FIB`` from above. When ``H q0 <= q0`` (checked on the first sweep) the iterates decrease
    and are upper bounds themselves; otherwise the returned vectors carry that shift
    (``info["shift"]``), so the result is an upper bound whatever ``q0`` was.
    If ``max_iter`` sweeps or ``time_limit`` seconds on ``clock`` (``"wall"``: perf_counter,
    ``"cpu"``: process_time; checked after each sweep) end before that test passes, the result
    (still a valid upper bound) has ``converged=False`` and a
    :class:`~theory_rl.errors.ConvergenceWarning` is issued.

    Raises
    ------
    InvalidModelError
        If ``gamma >= 1``.
    InvalidArgumentError
        If ``tol`` is not a positive finite number, ``max_iter`` is not an integer ``>= 1``,
        ``time_limit`` is not a number ``>= 0`` (or None) or ``clock`` is unknown.
    """
    _check_discounted(model)
    tol, max_iter = check_tol(tol), check_max_iter(max_iter)
    time_limit = check_time_limit(time_limit, allow_zero=True)
    check_choice(clock, "clock", tuple(CLOCKS))
    now = CLOCKS[clock]
    deadline = np.inf if time_limit is None else now() + time_limit
    t0 = time.perf_counter()
    gamma = model.gamma
    S, A, n_obs = model.n_states, model.n_actions, model.n_observations
    if q0 is None:
        Q = qmdp_upper_bound(model).alpha.T.copy()  # (S, A)
    else:
        Q = as_float_array(q0, "q0", ndim=2).copy()
        if Q.shape != (S, A):
            raise InvalidModelError(f"q0 has shape {Q.shape}, expected (S, A) = ({S}, {A})")
        check_finite(Q, "q0")
    decreasing = q0 is None  # established for q0 after the first sweep
    if max_iter is None:
        max_iter = 100_000
    # M[a][o] = T_a diag(O[a, :, o]) as one (S, O*S) operator per action: Q -> (S, O, A')
    ups, times = [], []
    converged = False
    for _ in range(max_iter):
        new = model.R.copy()
        for a, T_a in enumerate(model.transitions_by_action):
            # X[s', o, a'] = O[a, s', o] Q(s', a'), then T_a @ X and max over a'
            X = (model.O[a][:, :, None] * Q[:, None, :]).reshape(S, n_obs * A)
            Y = np.asarray(T_a @ X).reshape(S, n_obs, A)
            new[:, a] += gamma * Y.max(axis=2).sum(axis=1)
        if not ups and not decreasing:
            decreasing = bool((new <= Q).all())
        if decreasing:
            new = np.minimum(new, Q)  # the iterates decrease; the min only removes rounding noise
        diff = float(np.abs(new - Q).max())
        Q = new
        shift = 0.0 if decreasing else gamma * diff / (1.0 - gamma)
        ups.append(float((Q.T @ model.b0).max()) + shift)
        times.append(time.perf_counter() - t0)
        if diff <= tol * (1 - gamma) / max(gamma, 1e-300):
            converged = True
            break
        if now() >= deadline:
            break
    n = len(ups)
    if not converged:
        limit = f"max_iter={max_iter}" if n == max_iter else f"time_limit={time_limit:g}s"
        warnings.warn(f"fib_upper_bound stopped after {n} sweeps ({limit}) with change {diff:.3g}; the result is a "
                      "valid upper bound but not within tol of the FIB", ConvergenceWarning, stacklevel=2)
    hist = {"lower": np.full(len(ups), -np.inf), "upper": np.asarray(ups), "time": np.asarray(times)}
    return _result(np.ascontiguousarray(Q.T + shift), model, kind="upper", method="fib_upper_bound", t0=t0, n_iter=n,
                   params={"tol": tol, "max_iter": max_iter, "time_limit": time_limit, "clock": clock,
                           "q0": q0 is not None}, history=hist, converged=converged,
                   info={"monotone": decreasing, "shift": shift})
