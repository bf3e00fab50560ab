r"""Tabular IQ-Learn (inverse soft-Q learning) on an expert occupancy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from .._iterative import Timer
from .._result import Result
from .._validation import check_choice, check_max_iter, check_real, check_tol
from ..errors import InvalidArgumentError
from ..models import FiniteMDP
from ._soft_game import boltzmann, inverse_soft_bellman, soft_value

__all__ = ["IQLearnResult", "iq_learn", "check_occupancy", "iq_objective"]

_DEFAULT_MAX_ITER = 10_000


@dataclass(frozen=True, repr=False, eq=False)
class IQLearnResult(Result):
    r"""Result of :func:`iq_learn`.

    Attributes
    ----------
    q : ndarray, shape (S, A)
        The learned soft critic ``Q``.
    v : ndarray, shape (S,)
        ``V(s) = tau log sum_a exp(Q(s, a) / tau)``.
    policy : ndarray, shape (S, A)
        The Boltzmann policy ``softmax(Q / tau)``.
    rewards : ndarray, shape (S, A)
        The recovered reward ``Q - gamma P V`` (:func:`inverse_soft_bellman`).
    objective : float
        The concave objective ``J(Q)`` at the returned critic.
    converged : bool
        Whether L-BFGS stopped by its own test (gradient below ``tol``, or no further decrease
        representable in float64).
    n_iter : int
        L-BFGS iterations.
    info : dict
        ``info["message"]``: the optimiser's message.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs
    >>> from theory_rl.games import iq_learn
    >>> mdp = envs.random_mdp(3, 2, seed=0, gamma=0.9)
    >>> res = iq_learn(mdp, np.full((3, 2), 1 / 6), temperature=1.0, f="identity")
    >>> type(res).__name__, res.policy.round(6).tolist()[0]
    ('IQLearnResult', [0.5, 0.5])
    """

    q: np.ndarray
    v: np.ndarray
    policy: np.ndarray
    rewards: np.ndarray
    objective: float
    converged: bool
    n_iter: int
    info: dict[str, Any] = field(default_factory=dict)
    _repr_fields = ("objective", "converged", "n_iter", "elapsed")


def check_occupancy(d: Any, shape: tuple[int, ...], name: str = "d_expert") -> np.ndarray:
    """A finite non-negative array of ``shape`` with positive total, normalised to sum to 1."""
    try:
        arr = np.array(d, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be an array of shape {shape}") from None
    if arr.shape != shape:
        raise InvalidArgumentError(f"{name} has shape {arr.shape}, expected {shape}")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        idx = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), arr.shape))
        raise InvalidArgumentError(f"{name}[{', '.join(map(str, idx))}] = {arr[idx]!r} (expected a finite number >= 0)")
    total = float(arr.sum())
    if total <= 0.0:
        raise InvalidArgumentError(f"{name} sums to 0: no expert data")
    return arr / total


def _phi(f: str, alpha: float, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(phi(y), phi'(y))``: identity, or the chi-squared choice ``y - y^2 / (4 alpha)``."""
    if f == "identity":
        return y, np.ones_like(y)
    return y - y * y / (4.0 * alpha), 1.0 - y / (2.0 * alpha)


def iq_objective(q: np.ndarray, P: Any, gamma: float, rho: np.ndarray, tau: float, f: str,
                 alpha: float) -> tuple[float, np.ndarray]:
    r"""``(J(Q), dJ/dQ)`` of :func:`iq_learn` for ``P`` (dense ``P[s, a, s']`` or CSR of shape
    ``(S * A, S)``) and occupancy ``rho[s, a]``."""
    S, A = q.shape
    if not sp.issparse(P):
        P = sp.csr_matrix(np.asarray(P).reshape(S * A, S))
    v = soft_value(q, tau)
    pi = boltzmann(q, tau)
    pv = (P @ v).reshape(S, A)
    y = q - gamma * pv
    phi, dphi = _phi(f, alpha, y)
    J = float((rho * (phi - (v[:, None] - gamma * pv))).sum())
    w = rho * dphi                                   # d/dy of the first term
    # dJ/dV(s~) = -gamma sum w P[., ., s~] - (rho(s~) - gamma sum rho P[., ., s~])
    dv = gamma * (P.T @ (rho - w).ravel()) - rho.sum(axis=1)
    return J, w + dv[:, None] * pi


def iq_learn(
    mdp: FiniteMDP,
    d_expert: Any,
    *,
    temperature: float,
    f: str = "chi2",
    alpha: float = 0.5,
    q0: Any = None,
    tol: float = 1e-9,
    max_iter: int | None = None,
) -> IQLearnResult:
    r"""Tabular IQ-Learn: inverse soft-Q imitation on an expert state-action occupancy.

    Maximises over soft critics ``Q`` the concave objective of Garg, Chakraborty, Cundy, Song &
    Ermon (2021, "IQ-Learn: Inverse soft-Q Learning for Imitation", arXiv 2106.12142, offline form)

    .. math::
        J(Q) = \mathbb E_{(s,a) \sim \rho_E}\Big[\phi\big(Q(s,a) - \gamma \mathbb E_{s'}V(s')\big)\Big]
             - \mathbb E_{(s,a) \sim \rho_E}\big[V(s) - \gamma \mathbb E_{s'} V(s')\big],
        \qquad V(s) = \tau \log \sum_a e^{Q(s,a)/\tau},

    where the second term is the paper's replacement of ``(1 - gamma) E_{d0}[V(s_0)]`` by expert
    transitions (equal when ``rho_E`` is the discounted occupancy of a policy from ``d0``), and
    ``E_{s'}`` uses the model ``P``. ``phi`` is the identity (``f="identity"``, the
    total-variation choice) or the chi-squared regulariser ``phi(y) = y - y^2 / (4 alpha)``
    (``f="chi2"``). The Boltzmann policy ``softmax(Q / tau)`` imitates the expert and
    ``r = Q - gamma P V`` (:func:`inverse_soft_bellman`) is the recovered reward.

    With ``f="identity"`` the objective telescopes to ``tau E_{rho_E}[log pi_Q(a|s)]``: the
    maximiser's policy is the expert's conditional ``rho_E(a|s)`` on every visited state (tested),
    ``Q`` itself is determined only up to a per-state constant there and is left at ``q0`` on
    unvisited states. The chi-squared term adds ``- E_{rho_E}[r^2] / (4 alpha)``, a pull of the
    recovered reward toward 0, which makes the maximiser unique on the visited pairs.
    Solved by L-BFGS (SciPy) with the analytic gradient; as in the paper the objective is used as
    is (it is concave for ``f="identity"``; the chi-squared ``phi`` is concave but decreasing
    for ``y > 2 alpha``).

    Less than the paper: tabular critics, the model's ``P`` for ``E_{s'}`` instead of sampled
    next states, no online (policy-buffer) variant.

    Parameters
    ----------
    mdp : FiniteMDP
        Supplies ``P`` and ``gamma`` (``R`` is not used).
    d_expert : array_like, shape (S, A)
        Expert occupancy (normalised here): the exact discounted occupancy or counts from demonstrations.
    temperature : float
        ``tau > 0`` (``1 / lambda`` in MAMQL).
    f : {"chi2", "identity"}
    alpha : float
        ``alpha > 0`` of the chi-squared regulariser.
    q0 : array_like, shape (S, A), optional
        Starting critic (zeros).
    tol : float
        Gradient tolerance of L-BFGS.
    max_iter : int, optional
        L-BFGS iterations (default 10,000).

    Returns
    -------
    IQLearnResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> from theory_rl.games import iq_learn
    >>> mdp = envs.random_mdp(4, 2, seed=1, gamma=0.9)
    >>> expert = tabular.soft_value_iteration(mdp, temperature=1.0, tol=1e-10).policy
    >>> rho = np.full((4, 1), 0.25) * expert                 # every state visited
    >>> res = iq_learn(mdp, rho, temperature=1.0, f="identity")
    >>> bool(np.abs(res.policy - expert).max() < 1e-6)
    True
    """
    tau = check_real(temperature, "temperature", low=0.0, low_open=True)
    f = check_choice(f, "f", ("chi2", "identity"))
    alpha = check_real(alpha, "alpha", low=0.0, low_open=True)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    if not isinstance(mdp, FiniteMDP):
        raise InvalidArgumentError(f"mdp must be a FiniteMDP, got {type(mdp).__name__}")
    S, A = mdp.n_states, mdp.n_actions
    rho = check_occupancy(d_expert, (S, A))
    start = np.zeros((S, A)) if q0 is None else np.array(q0, dtype=np.float64)
    if start.shape != (S, A) or not np.isfinite(start).all():
        raise InvalidArgumentError(f"q0 must be a finite array of shape ({S}, {A})")
    P = sp.csr_matrix(mdp.P) if mdp.is_sparse else sp.csr_matrix(np.asarray(mdp.P).reshape(S * A, S))
    with Timer() as timer:
        q, J, n_iter, converged, message = _maximise(start, P, mdp.gamma, rho, tau, f, alpha, tol,
                                                     _DEFAULT_MAX_ITER if max_iter is None else max_iter)
    return IQLearnResult(
        q=q, v=soft_value(q, tau), policy=boltzmann(q, tau), rewards=inverse_soft_bellman(mdp, q, temperature=tau),
        objective=J, converged=converged, n_iter=n_iter, method="iq_learn",
        params={"temperature": tau, "f": f, "alpha": alpha, "tol": tol, "max_iter": max_iter},
        elapsed=timer.elapsed, info={"message": message},
    )


def _maximise(q0: np.ndarray, P: Any, gamma: float, rho: np.ndarray, tau: float, f: str, alpha: float,
              tol: float, max_iter: int) -> tuple[np.ndarray, float, int, bool, str]:
    """L-BFGS on ``-J``; returns ``(Q, J(Q), iterations, converged, message)``."""
    shape = q0.shape

    def negative(x: np.ndarray) -> tuple[float, np.ndarray]:
        J, g = iq_objective(x.reshape(shape), P, gamma, rho, tau, f, alpha)
        return -J, -g.ravel()

    res = minimize(negative, q0.ravel(), jac=True, method="L-BFGS-B",
                   options={"gtol": tol, "ftol": 0.0, "maxiter": max_iter, "maxcor": 30})
    q = res.x.reshape(shape)
    J, g = iq_objective(q, P, gamma, rho, tau, f, alpha)
    return q, J, int(res.nit), bool(res.success or np.abs(g).max() <= tol), str(res.message)
