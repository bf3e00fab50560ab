"""Logit quantal response equilibria by a damped fixed-point iteration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import softmax

from .._iterative import Callback, Timer, finish_iterative, iterations
from .._result import CertifiedSolution, History
from .._validation import check_bool, check_callback, check_max_iter, check_real, check_tol
from ._normal_form import against_others, as_normal_form

__all__ = ["QRESolution", "quantal_response_equilibrium"]

_DEFAULT_MAX_ITER = 100_000


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
        residual after step ``k + 1``.

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
    for normal form games", Games Econ. Behav. 10:6-38) by a damped fixed-point iteration.

    .. math::
        x_i = \sigma\!\big(u_i(\cdot, x_{-i}) / \tau\big), \quad
        \sigma(z)_a = \frac{e^{z_a}}{\sum_b e^{z_b}}; \qquad
        x^{k+1}_i = (1 - \alpha)\, x^k_i + \alpha\, \sigma\!\big(u_i(\cdot, x^k_{-i}) / \tau\big),

    with temperature ``tau = 1/lambda`` (McKelvey and Palfrey's precision ``lambda``) and damping
    ``alpha``. A QRE is the Nash equilibrium of the entropy-regularised game
    ``u_i(x) + tau H(x_i)``, so at an exact QRE each player gains at most ``tau log A_i`` by
    deviating (``exploitability(...).gains[i] <= tau log A_i``).

    Assumptions and guarantee: a QRE always exists (Brouwer). The undamped map is a contraction
    in the l1 norm, hence the iteration converges to the unique QRE, when
    ``lambda * max|u| * (N - 1)`` is small (the logit map is ``lambda/2``-Lipschitz in the
    payoffs); for small ``tau`` (large ``lambda``) the fixed point may not be unique and the
    iteration may cycle: then ``converged=False`` and a ``ConvergenceWarning``. The certificate is
    the residual of the returned profile, not a distance to a QRE.

    Parameters
    ----------
    game : MatrixGame or NormalFormGame
    temperature : float
        ``tau > 0``.
    damping : float
        ``alpha`` in ``(0, 1]`` (default ``0.5``).
    tol : float
        Stop when the residual is ``<= tol`` (default ``1e-12``).
    max_iter : int, optional
        Default 100,000.
    x0 : sequence of array_like, optional
        Starting profile (uniform).
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
    >>> sol.residual < 1e-12, sol.strategies[0].round(6).tolist()
    (True, [0.5, 0.5])
    """
    g = as_normal_form(game)
    tau = check_real(temperature, "temperature", low=0.0, low_open=True)
    alpha = check_real(damping, "damping", low=0.0, high=1.0, low_open=True)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    strict = check_bool(strict, "strict")
    progress = check_bool(progress, "progress")
    check_callback(callback)
    xs = [np.full(n, 1.0 / n) for n in g.n_actions] if x0 is None else g.check_profile(x0, "x0")
    cap = _DEFAULT_MAX_ITER if max_iter is None else max_iter
    history: list[float] = []
    converged = False
    n = 0

    U = np.asarray(g.payoffs)

    def response(profile: list[np.ndarray]) -> list[np.ndarray]:
        return [softmax(against_others(U[i], profile, i) / tau) for i in range(len(profile))]

    with Timer() as timer:
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
        finish_iterative(method="quantal_response_equilibrium", converged=converged, strict=strict, n_iter=n,
                         cap=cap, tol=tol)
    return QRESolution(
        strategies=tuple(xs), residual=residual, payoffs=g.expected_payoffs(xs), converged=converged, n_iter=n,
        history=History({"residual": history}), method="quantal_response_equilibrium",
        params={"temperature": tau, "damping": alpha, "tol": tol, "max_iter": max_iter}, elapsed=timer.elapsed,
    )
