"""Logit quantal response equilibria: Newton's method for two-player zero-sum games, a damped
fixed-point iteration otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._iterative import Callback, Timer, finish_iterative, iterations
from .._result import CertifiedSolution, History
from .._validation import check_bool, check_callback, check_max_iter, check_real, check_tol
from ._normal_form import against_others, as_normal_form
from ._qre_stage import logit_softmax as softmax
from ._qre_stage import newton_logits

__all__ = ["QRESolution", "quantal_response_equilibrium"]

_DEFAULT_MAX_ITER = 100_000
_DEFAULT_NEWTON_ITER = 1_000


@dataclass(frozen=True, repr=False, eq=False)
class QRESolution(CertifiedSolution):
    r"""Result of :func:`quantal_response_equilibrium`.

    Attributes
    ----------
    strategies : tuple of ndarray
        ``strategies[i]``, shape ``(A_i,)``: the logit QRE found.
    residual : float
        ``max_i || sigma(u_i(., x_{-i}) / temperature) - x_i ||_1`` at the returned profile: the
        certificate that it is a fixed point of the logit response map.
    payoffs : ndarray, shape (N,)
        ``u_i(x)``.
    converged, n_iter, history, method, params, elapsed
        ``history["residual"][k]`` (``history[k]``: a one-column table reads as its column) is the
        residual after step ``k + 1`` (a Newton step or a damped step).
    info : dict
        ``info["solver"]``: ``"newton"`` (two-player zero-sum games) or ``"damped"``;
        ``info["reason"]``: why it stopped without converging (absent when it converged).

    Examples
    --------
    >>> from theory_rl.games import MatrixGame, quantal_response_equilibrium
    >>> sol = quantal_response_equilibrium(MatrixGame([[1, -1], [-1, 1]]), temperature=0.5)
    >>> type(sol).__name__, sol.converged, sol.strategies[1].round(6).tolist()
    ('QRESolution', True, [0.5, 0.5])
    """

    strategies: tuple[np.ndarray, ...]
    residual: float
    payoffs: np.ndarray
    converged: bool
    n_iter: int
    history: History
    info: dict[str, Any] = field(default_factory=dict)
    _repr_fields = ("converged", "n_iter", "residual", "elapsed")


def quantal_response_equilibrium(
    game: Any,
    *,
    temperature: float,
    damping: float = 0.5,
    tol: float = 1e-12,
    max_iter: int | None = None,
    x0: Any = None,
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> QRESolution:
    r"""Logit quantal response equilibrium (McKelvey & Palfrey 1995, "Quantal response equilibria
    for normal form games", Games Econ. Behav. 10:6-38): Newton's method for two-player zero-sum
    games, a damped fixed-point iteration for the others.

    .. math::
        x_i = \sigma\!\big(u_i(\cdot, x_{-i}) / \tau\big), \quad
        \sigma(z)_a = \frac{e^{z_a}}{\sum_b e^{z_b}}; \qquad
        x^{k+1}_i = (1 - \alpha)\, x^k_i + \alpha\, \sigma\!\big(u_i(\cdot, x^k_{-i}) / \tau\big),

    with temperature ``tau = 1/lambda`` (McKelvey and Palfrey's precision ``lambda``) and damping
    ``alpha``. A QRE is the Nash equilibrium of the entropy-regularised game
    ``u_i(x) + tau H(x_i)``, so at an exact QRE each player gains at most ``tau log A_i`` by
    deviating (``exploitability(...).gains[i] <= tau log A_i``).

    Two-player zero-sum games (``U[1] == -U[0]``, e.g. a zero-sum :class:`MatrixGame`): the QRE
    is the unique saddle point of the strongly concave-convex game
    ``p^T A q + tau H(p) - tau H(q)``, and it is computed by Newton's method on the logit
    equations in log space with temperature continuation (:func:`qre_stage`, whose Jacobian is
    non-singular for every temperature), so it converges for every ``tau > 0`` in a few dozen
    steps. The damped iteration is *not* used there: it rotates around the saddle point and may
    cycle for ``tau`` below the payoff scale (e.g. ``A = [[0, 1, 5], [3, 1, 0]]``, ``tau = 0.5``).

    Other games: the damped iteration. Assumptions and guarantee: a QRE always exists (Brouwer).
    The undamped map is a contraction in the l1 norm, hence the iteration converges to the unique
    QRE, when ``lambda * max|u| * (N - 1)`` is small (the logit map is ``lambda/2``-Lipschitz in
    the payoffs); for small ``tau`` (large ``lambda``) the fixed point may not be unique and the
    iteration may cycle. Either way the certificate is the residual of the returned profile (not
    a distance to a QRE), and ``converged`` is ``True`` only when it is ``<= tol``; otherwise a
    ``ConvergenceWarning`` gives the reason (``info["reason"]``).

    Parameters
    ----------
    game : MatrixGame or NormalFormGame
    temperature : float
        ``tau > 0``.
    damping : float
        ``alpha`` in ``(0, 1]`` (default ``0.5``), used by the damped iteration only.
    tol : float
        Stop when the residual is ``<= tol`` (default ``1e-12``).
    max_iter : int, optional
        Newton steps (default 1,000) or damped steps (default 100,000).
    x0 : sequence of array_like, optional
        Starting profile (uniform; for Newton, a warm start: the continuation from high
        temperatures is used without one, or when the warm start stalls).
    callback, strict, progress
        As in :func:`shapley_value_iteration` (``callback(k, x_flat, residual)``).

    Returns
    -------
    QRESolution

    Examples
    --------
    >>> from theory_rl.games import MatrixGame, quantal_response_equilibrium
    >>> pennies = MatrixGame([[1, -1], [-1, 1]])
    >>> sol = quantal_response_equilibrium(pennies, temperature=1.0)
    >>> sol.residual < 1e-12, sol.strategies[0].round(6).tolist(), sol.info["solver"]
    (True, [0.5, 0.5], 'newton')
    """
    g = as_normal_form(game)
    tau = check_real(temperature, "temperature", low=0.0, low_open=True)
    alpha = check_real(damping, "damping", low=0.0, high=1.0, low_open=True)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    strict = check_bool(strict, "strict")
    progress = check_bool(progress, "progress")
    check_callback(callback)
    xs = None if x0 is None else g.check_profile(x0, "x0")
    U = np.asarray(g.payoffs)
    params = {"temperature": tau, "damping": alpha, "tol": tol, "max_iter": max_iter}
    with Timer() as timer:
        if g.n_players == 2 and np.array_equal(U[1], -U[0]):
            cap = _DEFAULT_NEWTON_ITER if max_iter is None else max_iter
            xs, residual, history, converged, n, reason = _zero_sum_newton(U[0], tau, xs, tol, cap, callback,
                                                                           progress)
            solver = "newton"
        else:
            cap = _DEFAULT_MAX_ITER if max_iter is None else max_iter
            xs = [np.full(k, 1.0 / k) for k in g.n_actions] if xs is None else xs
            xs, residual, history, converged, n = _damped(U, tau, alpha, xs, tol, cap, callback, progress)
            reason = None
            solver = "damped"
        finish_iterative(method="quantal_response_equilibrium", converged=converged, strict=strict, n_iter=n,
                         cap=cap, tol=tol, reason=reason)
    info: dict[str, Any] = {"solver": solver}
    if not converged:
        info["reason"] = reason or (f"max_iter={cap} reached" if n >= cap else "stopped by the callback")
    return QRESolution(
        strategies=tuple(xs), residual=residual, payoffs=g.expected_payoffs(xs), converged=converged, n_iter=n,
        history=History({"residual": history}), method="quantal_response_equilibrium", params=params,
        elapsed=timer.elapsed, info=info,
    )


def _logit_residual(U: np.ndarray, xs: list[np.ndarray], tau: float) -> float:
    """``max_i || softmax(u_i(., x_{-i}) / tau) - x_i ||_1``: the certificate."""
    return max(float(np.abs(softmax(against_others(U[i], xs, i) / tau) - x).sum()) for i, x in enumerate(xs))


def _damped(U: np.ndarray, tau: float, alpha: float, xs: list[np.ndarray], tol: float, cap: int,
            callback: Callback | None, progress: bool) -> tuple[list[np.ndarray], float, list[float], bool, int]:
    """The damped logit iteration; returns ``(profile, residual, history, converged, n_iter)``."""

    def response(profile: list[np.ndarray]) -> list[np.ndarray]:
        return [softmax(against_others(U[i], profile, i) / tau) for i in range(len(profile))]

    history: list[float] = []
    converged = False
    n = 0
    br = response(xs)
    residual = max(float(np.abs(b - x).sum()) for b, x in zip(br, xs))
    for n in iterations(cap, progress, "quantal_response_equilibrium"):
        xs = [(1.0 - alpha) * x + alpha * b for x, b in zip(xs, br)]
        xs = [x / x.sum() for x in xs]
        br = response(xs)
        residual = max(float(np.abs(b - x).sum()) for b, x in zip(br, xs))
        history.append(residual)
        if residual <= tol:
            converged = True
            break
        if callback is not None and callback(n, np.concatenate(xs), residual):
            break
    return xs, residual, history, converged, n


def _zero_sum_newton(A: np.ndarray, tau: float, xs: list[np.ndarray] | None, tol: float, cap: int,
                     callback: Callback | None, progress: bool
                     ) -> tuple[list[np.ndarray], float, list[float], bool, int, str | None]:
    """Newton's method on the logit equations of ``max_p min_q p^T A q + tau H(p) - tau H(q)``,
    one step per iteration, with temperature continuation (as :func:`qre_stage`): the logits are
    solved at ``tau * scale`` to ``1e-6`` and the scale divided by 4 until it is 1. Returns
    ``(profile, residual, history, converged, n_iter, reason)``."""
    U = np.stack([A, -A])
    Qf = A[None]
    spread = float(np.ptp(A))
    warm = xs is not None
    if warm:
        x = np.log(np.maximum(xs[0], 1e-300))[None]
        y = np.log(np.maximum(xs[1], 1e-300))[None]
        scale = 1.0
    else:
        x, y = np.zeros((1, A.shape[0])), np.zeros((1, A.shape[1]))
        scale = max(1.0, spread / tau)
    history: list[float] = []
    converged = False
    reason = None
    n = 0
    norm = np.inf
    profile = [softmax(x[0]), softmax(y[0])]
    residual = _logit_residual(U, profile, tau)
    if residual <= tol:
        return profile, residual, history, True, 0, None
    for n in iterations(cap, progress, "quantal_response_equilibrium"):
        level_tol = 0.0 if scale == 1.0 else 1e-6
        x, y, new_norm = newton_logits(Qf, x, y, tau * scale, tau * scale, level_tol, 1)
        stalled = not new_norm[0] < norm
        norm = float(new_norm[0])
        profile = [softmax(x[0]), softmax(y[0])]
        residual = _logit_residual(U, profile, tau)
        history.append(residual)
        if residual <= tol:
            converged = True
            break
        if callback is not None and callback(n, np.concatenate(profile), residual):
            break
        if scale > 1.0 and (norm <= level_tol or stalled):
            new_scale = max(1.0, scale / 4.0)
            x *= scale / new_scale
            y *= scale / new_scale
            scale, norm = new_scale, np.inf
        elif scale == 1.0 and stalled:
            if warm:  # a warm start outside Newton's region: restart with the continuation
                warm = False
                x, y = np.zeros_like(x), np.zeros_like(y)
                scale, norm = max(1.0, spread / tau), np.inf
            else:
                reason = f"Newton stalled at the rounding floor (residual {residual:.3g} > tol)"
                break
    return profile, residual, history, converged, n, reason
