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

Floating point: the bound reported at ``b0`` holds for the exact optimal value of the model as
stored (:mod:`theory_rl.pomdp._rounding_bounds`). The blind vectors are checked a posteriori
(their Bellman residual, computed in float64 plus its forward error, divided by
``1 - gamma sigma``: ``info["widening"]``) and ``lower`` is lowered by that and by the rounding
of ``alpha . b0``; the QMDP vectors are raised by the forward error of ``R + gamma T v_up``; the
FIB vectors by ``(max(fl(H Q) - Q)^+ + delta_H) / (1 - gamma sigma)`` from one more sweep, which
makes ``Q`` plus it a supersolution of the FIB operator (``info["widening"]``). ``upper`` adds the
rounding of ``alpha . b0``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._rounding import gamma_n, round_up
from .._validation import as_float_array, check_choice, check_finite, check_max_iter, check_time_limit, check_tol
from ..errors import ConvergenceWarning, InvalidModelError
from ..models import POMDP, FiniteMDP
from ._rounding_bounds import blind_error, pomdp_rounding
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
            params: dict, widening: float, info: dict | None = None, history: dict | None = None,
            converged: bool = True) -> POMDPSolution:
    """``widening``: for ``kind="lower"`` how far the vectors may exceed the plans' exact values
    (subtracted from ``lower``); for ``"upper"`` already added to the vectors (recorded only)."""
    v = float((alpha @ model.b0).max())
    rounding = pomdp_rounding(model).with_values(alpha)
    if kind == "lower":
        lower, upper = rounding.certified_lower(v, widening), float("inf")
    else:
        lower, upper = float("-inf"), rounding.certified_upper(v, 0.0)
    info = {"widening": widening, **(info or {})}
    hist = history or {"lower": np.array([lower]), "upper": np.array([upper]), "time": np.array([time.perf_counter() - t0])}
    return POMDPSolution(
        alpha=alpha, actions=np.arange(model.n_actions, dtype=np.int64), lower=lower, upper=upper, value=v,
        converged=converged, n_iter=n_iter, history=hist, method=method, params=params,
        elapsed=time.perf_counter() - t0, info={"bound": kind, **(info or {})},
    )


def blind_lower_bound(model: POMDP) -> POMDPSolution:
    r"""Blind-policy lower bound: ``alpha_a = (I - gamma T_a)^{-1} R_a`` for each action (exact
    linear solves, sparse for CSR models). ``max_a alpha_a . b <= V*(b)`` at every belief
    (Hauskrecht 2000); ``lower`` subtracts ``info["widening"]`` (the solves' a-posteriori error)
    and the rounding of ``alpha . b0``.

    Examples
    --------
    One state, reward 1, ``gamma = 0.5``: ``V* = 2`` exactly, and ``lower`` stays below it.

    >>> import numpy as np
    >>> from theory_rl.models import POMDP
    >>> from theory_rl.pomdp import blind_lower_bound
    >>> sol = blind_lower_bound(POMDP(np.ones((1, 1, 1)), np.ones((1, 1, 1)), np.ones((1, 1)), 0.5))
    >>> bool(2.0 - 1e-12 < sol.lower <= 2.0)
    True
    """
    _check_discounted(model)
    t0 = time.perf_counter()
    S, A = model.n_states, model.n_actions
    alpha = np.empty((A, S))
    for a, T_a in enumerate(model.transitions_by_action):
        if sp.issparse(T_a):
            alpha[a] = spla.spsolve((sp.identity(S, format="csc") - model.gamma * T_a).tocsc(), model.R[:, a])
        else:
            alpha[a] = np.linalg.solve(np.eye(S) - model.gamma * T_a, model.R[:, a])
    return _result(alpha, model, kind="lower", method="blind_lower_bound", t0=t0, n_iter=1, params={},
                   widening=blind_error(model, alpha, pomdp_rounding(model)))


def qmdp_upper_bound(model: POMDP, *, tol: float = 1e-8) -> POMDPSolution:
    r"""QMDP upper bound ``V(b) = max_a sum_s b(s) Q_MDP(s, a)`` (Littman, Cassandra, Kaelbling 1995).

    ``Q_MDP`` comes from :func:`theory_rl.tabular.value_iteration` on ``model.mdp``; its
    certified upper bound ``v_up >= v*`` gives ``Q = R + gamma T v_up >= Q*``, so the vectors
    are an upper bound whatever the tolerance (``tol`` only controls how tight); they are raised by
    the forward error of computing ``Q`` in float64 (``info["widening"]``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import POMDP
    >>> from theory_rl.pomdp import qmdp_upper_bound
    >>> sol = qmdp_upper_bound(POMDP(np.ones((1, 1, 1)), np.ones((1, 1, 1)), np.ones((1, 1)), 0.5))
    >>> bool(2.0 <= sol.upper < 2.0 + 1e-6)
    True
    """
    from ..tabular import value_iteration

    _check_discounted(model)
    tol = check_tol(tol)
    t0 = time.perf_counter()
    sol = value_iteration(model.mdp, tol=tol)
    S, A = model.n_states, model.n_actions
    T2 = model.T if model.is_sparse else model.T.reshape(S * A, S)
    Q = model.R + model.gamma * np.asarray(T2 @ sol.upper).reshape(S, A)
    # Q >= R + gamma T v_up - delta in float64: raise it by the forward error of that backup
    rounding = pomdp_rounding(model).with_values(sol.upper)
    n = rounding.max_entries + 2
    delta = round_up(gamma_n(n) * (rounding.reward_max + model.gamma * rounding.sigma * rounding.value_max))
    Q = np.nextafter(Q + delta, np.inf)
    return _result(np.ascontiguousarray(Q.T), model, kind="upper", method="qmdp_upper_bound", t0=t0,
                   n_iter=sol.n_iter, params={"tol": tol}, widening=delta, info={"mdp_bound": sol.bound})


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
    :class:`~theory_rl.errors.ConvergenceWarning` is issued. The returned vectors are raised by
    ``(max(fl(H Q) - Q)^+ + delta_H) / (1 - gamma sigma)`` from one more sweep
    (``info["widening"]``), which makes them a supersolution of the exact FIB operator of the
    model as stored, rounding included.

    Raises
    ------
    InvalidModelError
        If ``gamma >= 1``.
    InvalidArgumentError
        If ``tol`` is not a positive finite number, ``max_iter`` is not an integer ``>= 1``,
        ``time_limit`` is not a number ``>= 0`` (or None) or ``clock`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import POMDP
    >>> from theory_rl.pomdp import fib_upper_bound
    >>> sol = fib_upper_bound(POMDP(np.ones((1, 1, 1)), np.ones((1, 1, 1)), np.ones((1, 1)), 0.5))
    >>> bool(2.0 <= sol.upper < 2.0 + 1e-6)
    True
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> fib, qmdp = pomdp.fib_upper_bound(tiger), pomdp.qmdp_upper_bound(tiger)
    >>> bool(fib.value <= qmdp.value + 1e-9)
    True
    """
    _check_discounted(model)
    tol, max_iter = check_tol(tol), check_max_iter(max_iter)
    time_limit = check_time_limit(time_limit, allow_zero=True)
    check_choice(clock, "clock", tuple(CLOCKS))
    now = CLOCKS[clock]
    deadline = np.inf if time_limit is None else now() + time_limit
    t0 = time.perf_counter()
    gamma = model.gamma
    S, A = model.n_states, model.n_actions
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
        new = _fib_sweep(model, Q)
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
    Q, widening = _certify_fib(model, Q + shift)
    return _result(np.ascontiguousarray(Q.T), model, widening=widening, kind="upper", method="fib_upper_bound", t0=t0, n_iter=n,
                   params={"tol": tol, "max_iter": max_iter, "time_limit": time_limit, "clock": clock,
                           "q0": q0 is not None}, history=hist, converged=converged,
                   info={"monotone": decreasing, "shift": shift})


def _fib_sweep(model: POMDP, Q: np.ndarray) -> np.ndarray:
    """One application of the FIB operator to ``Q`` (shape ``(S, A)``), in float64."""
    S, A, n_obs = model.n_states, model.n_actions, model.n_observations
    new = model.R.copy()
    for a, T_a in enumerate(model.transitions_by_action):
        # X[s', o, a'] = O[a, s', o] Q(s', a'), then T_a @ X and max over a'
        X = (model.O[a][:, :, None] * Q[:, None, :]).reshape(S, n_obs * A)
        Y = np.asarray(T_a @ X).reshape(S, n_obs, A)
        new[:, a] += model.gamma * Y.max(axis=2).sum(axis=1)
    return new


def _certify_fib(model: POMDP, Q: np.ndarray) -> tuple[np.ndarray, float]:
    r"""``(Q + c, c)`` with ``Q + c`` a supersolution of the exact FIB operator ``H``, hence an upper
    bound on ``Q_FIB >= Q*``: with ``e >= max(H Q - Q)^+`` (one more sweep in float64 plus its
    forward error ``gamma_{K+O+3} (max|R| + gamma sigma max|Q|)``),
    ``H(Q + c) <= H Q + gamma sigma c <= Q + c`` for ``c = e / (1 - gamma sigma)``."""
    rounding = pomdp_rounding(model).with_values(Q)
    if not np.isfinite(Q).all():
        return np.full_like(Q, np.inf), float("inf")
    new = _fib_sweep(model, Q)
    n = rounding.max_entries + rounding.n_observations + 3
    delta = gamma_n(n) * (rounding.reward_max + model.gamma * rounding.sigma * rounding.value_max)
    c = rounding.margin
    if c <= 0:
        return np.full_like(Q, np.inf), float("inf")
    widening = round_up((max(float((new - Q).max()), 0.0) + delta) / c)
    return np.nextafter(Q + widening, np.inf), widening
