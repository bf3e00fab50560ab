r"""Entropy-regularised ("soft") Markov games: marginalised critics, the soft equilibrium by
multi-agent soft Q-iteration, and the inverse soft-Bellman operator (the forward half of MAMQL)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp, softmax

from .._iterative import Callback, Timer, finish_iterative, iterations, stop_reason
from .._result import CertifiedSolution, History
from .._validation import check_bool, check_callback, check_max_iter, check_real, check_tol
from ..errors import ConvergenceWarning, InvalidArgumentError
from ..models import FiniteMDP
from ..tabular import soft_value_iteration
from ._markov_exploitability import _check_policies, _marginalise
from ._markov_game import MarkovGame, as_markov_game

__all__ = [
    "SoftEquilibriumSolution",
    "soft_marginal_critics",
    "soft_equilibrium",
    "inverse_soft_bellman",
    "boltzmann",
    "soft_value",
    "marginal_kernel",
    "marginal_mdp",
]

_DEFAULT_MAX_ITER = 100_000


def boltzmann(q: np.ndarray, temperature: float) -> np.ndarray:
    """``pi(a|s) = exp(q(s, a) / tau) / sum_b exp(q(s, b) / tau)`` along the last axis."""
    return softmax(np.asarray(q) / temperature, axis=-1)


def soft_value(q: np.ndarray, temperature: float) -> np.ndarray:
    """``V(s) = tau log sum_a exp(q(s, a) / tau)`` along the last axis."""
    return temperature * logsumexp(np.asarray(q) / temperature, axis=-1)


def marginal_kernel(game: MarkovGame, policies: Sequence[np.ndarray], player: int) -> np.ndarray:
    r"""``P_i[s, a_i, s'] = sum_{a_-i} pi_-i(a_-i | s) P[s, a_i, a_-i, s']``, shape ``(S, A_i, S)``."""
    return _marginalise(game.dense_kernel(), list(policies), player)


def marginal_mdp(game: MarkovGame, policies: Sequence[np.ndarray], player: int, R: np.ndarray) -> FiniteMDP:
    """The MDP ``(P_i, R, gamma)`` of :func:`marginal_kernel`, with ``P_i`` in CSR form when at most a
    quarter of its entries are nonzero (grid games), so that the tabular backups run sparse."""
    P = marginal_kernel(game, policies, player)
    S, A = P.shape[0], P.shape[1]
    if np.count_nonzero(P) <= 0.25 * P.size:
        P = sp.csr_matrix(P.reshape(S * A, S))
    return FiniteMDP(P, R, game.gamma)


def _temperature(value: Any) -> float:
    return check_real(value, "temperature", low=0.0, low_open=True)


def soft_marginal_critics(
    game: MarkovGame, policies: Sequence[Any], *, temperature: float, tol: float = 1e-10, v0: Any = None,
) -> tuple[np.ndarray, ...]:
    r"""Soft marginalised critics of every player against the others' stationary policies.

    .. math::
        \bar Q_i(s, a_i) = \mathbb E_{a_{-i} \sim \pi_{-i}(\cdot \mid s)}\Big[ r_i(s, a_i, a_{-i})
            + \gamma \sum_{s'} P(s' \mid s, a_i, a_{-i}) \bar V_i(s') \Big], \qquad
        \bar V_i(s) = \tau \log \sum_{a_i} e^{\bar Q_i(s, a_i) / \tau},

    the soft-optimal action values of the single-agent MDP that player ``i`` faces when the
    others play ``pi_-i`` (:func:`best_response_mdp`: ``P`` and ``r_i`` averaged over ``pi_-i``).
    This is the marginalised critic of MAMQL (Haynam, Khoja, Kumar, Myers & Bıyık 2025,
    arXiv 2503.04679, with their ``lambda = 1 / tau``); its Boltzmann policy
    ``softmax(Q_i / tau)`` is player ``i``'s soft best response. Each critic is computed by
    :func:`theory_rl.tabular.soft_value_iteration` to the certified accuracy ``tol``
    (``|| Q_i - Q_i* ||_inf <= gamma tol / 2``).

    Parameters
    ----------
    game : MarkovGame
    policies : sequence of N array_like
        ``policies[j][s, a_j]`` (the entry of player ``i`` itself is not used for its critic).
    temperature : float
        ``tau > 0``, the entropy weight (``1 / lambda`` in the paper).
    tol : float
        Accuracy of each soft value iteration (below float64's certifiable floor, the floor is
        reached and used without a warning).
    v0 : array_like, shape (N, S), optional
        Warm start of the soft values.

    Returns
    -------
    tuple of ndarray
        ``critics[i]``, shape ``(S, A_i)``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, soft_marginal_critics
    >>> g = MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[1.0, -1.0], [-1.0, 1.0]]], 0.5)
    >>> q = soft_marginal_critics(g, [[[0.5, 0.5]], [[1.0, 0.0]]], temperature=1.0)
    >>> q[0].round(4).tolist()        # row player against "column 0": 1 or -1, plus the soft continuation
    [[2.1269, 0.1269]]
    """
    game = as_markov_game(game)
    tau = _temperature(temperature)
    tol = check_tol(tol)
    xs = _check_policies(game, policies)
    out = []
    for i in range(game.n_players):
        mdp = marginal_mdp(game, xs, i, _marginalise(np.asarray(game.R[i]), xs, i))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out.append(soft_value_iteration(mdp, temperature=tau, tol=tol, v0=None if v0 is None else v0[i]).q)
    return tuple(out)


@dataclass(frozen=True, repr=False, eq=False)
class SoftEquilibriumSolution(CertifiedSolution):
    r"""Result of :func:`soft_equilibrium`.

    Attributes
    ----------
    policies : tuple of ndarray
        ``policies[i]``, shape ``(S, A_i)``: the joint policy found.
    critics : tuple of ndarray
        ``critics[i]``, shape ``(S, A_i)``: the soft marginalised critic of each player against the
        others' returned policies (:func:`soft_marginal_critics`, recomputed for the certificate).
    values : ndarray, shape (N, S)
        ``V_i = tau log sum exp(critics[i] / tau)``.
    residual : float
        ``max_{i, s} || softmax(critics[i][s] / tau) - policies[i][s] ||_1``: zero exactly at a
        soft (logit) equilibrium; the certificate.
    converged : bool
        ``residual <= tol``.
    n_iter : int
        Sweeps performed.
    history : History
        ``history[k]``: the sup-norm change of the values and policies in sweep ``k + 1``.
    info : dict
        ``info["reason"]`` when it did not converge.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, soft_equilibrium
    >>> g = MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[1.0, -1.0], [-1.0, 1.0]]], 0.5)
    >>> sol = soft_equilibrium(g, temperature=1.0)
    >>> type(sol).__name__, sol.converged, sol.policies[0].round(6).tolist()
    ('SoftEquilibriumSolution', True, [[0.5, 0.5]])
    """

    policies: tuple[np.ndarray, ...]
    critics: tuple[np.ndarray, ...]
    values: np.ndarray
    residual: float
    converged: bool
    n_iter: int
    history: History
    info: dict[str, Any] = field(default_factory=dict)
    _repr_fields = ("converged", "n_iter", "residual", "elapsed")


def soft_equilibrium(
    game: MarkovGame,
    *,
    temperature: float,
    damping: float = 1.0,
    tol: float = 1e-10,
    max_iter: int | None = None,
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> SoftEquilibriumSolution:
    r"""Soft (entropy-regularised, logit) Markov equilibrium by multi-agent soft Q-iteration.

    Each sweep updates every player's soft value and policy against the others' current policies,

    .. math::
        \bar Q_i(s, a_i) &= \textstyle\sum_{a_{-i}} \pi_{-i}(a_{-i} \mid s)\,
            \big[r_i(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V_i(s')\big], \\
        V_i(s) &\leftarrow \tau \log \textstyle\sum_{a_i} e^{\bar Q_i(s, a_i)/\tau}, \qquad
        \pi_i \leftarrow (1 - \eta)\, \pi_i + \eta\, \mathrm{softmax}(\bar Q_i / \tau),

    with damping ``eta``. A fixed point is a joint policy in which every player plays the
    soft-optimal (Boltzmann) policy of the MDP the others induce: the generative model of MAMQL's
    demonstrations (Haynam et al. 2025, arXiv 2503.04679, Boltzmann policies
    ``pi_i ∝ exp(lambda Q_i)``, ``lambda = 1 / tau``) and the Markov logit quantal-response
    equilibrium (McKelvey & Palfrey 1995). With ``N = 1`` a sweep is exactly
    :func:`theory_rl.tabular.soft_value_iteration`'s backup.

    Convergence: for one player the sweep is a ``gamma``-contraction. For several players the
    smoothed best-response map is a contraction when ``tau`` is large relative to the rewards
    (its Lipschitz constant scales as ``1 / tau``); for small ``tau`` in general-sum games the
    iteration may cycle, and then ``converged=False`` (a :class:`~theory_rl.errors.ConvergenceWarning`, or
    :class:`~theory_rl.errors.SolverError` with ``strict``). Whatever happens, the answer carries its certificate:
    each critic is recomputed exactly against the others' returned policies
    (:func:`soft_marginal_critics`) and ``residual`` is the largest L1 distance between a player's
    policy and its soft best response.

    Parameters
    ----------
    game : MarkovGame
    temperature : float
        ``tau > 0``.
    damping : float
        ``eta`` in ``(0, 1]``: ``1`` is the plain simultaneous update.
    tol : float
        Certified residual asked for.
    max_iter : int, optional
        Sweeps (default 100,000).

    Returns
    -------
    SoftEquilibriumSolution

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, soft_equilibrium
    >>> rng = np.random.default_rng(0)
    >>> g = MarkovGame(rng.dirichlet(np.ones(3), size=(3, 2, 2)), rng.uniform(-1, 1, (2, 3, 2, 2)), 0.8)
    >>> sol = soft_equilibrium(g, temperature=1.0)
    >>> sol.converged, sol.residual < 1e-10
    (True, True)
    """
    game = as_markov_game(game)
    tau = _temperature(temperature)
    eta = check_real(damping, "damping", low=0.0, high=1.0, low_open=True)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    check_callback(callback)
    strict = check_bool(strict, "strict")
    progress = check_bool(progress, "progress")
    cap = _DEFAULT_MAX_ITER if max_iter is None else max_iter
    with Timer() as timer:
        N, S = game.n_players, game.n_states
        P = game.dense_kernel()
        gamma = game.gamma
        values = np.zeros((N, S))
        pis = [np.full((S, n), 1.0 / n) for n in game.n_actions]
        history: list[float] = []
        threshold = tol * (1.0 - gamma) * 0.1
        n = 0
        for n in iterations(cap, progress, "soft equilibrium"):
            new_values = np.empty_like(values)
            new_pis = []
            for i in range(N):
                q_joint = game.R[i] + gamma * (P @ values[i])
                q_bar = _marginalise(q_joint, pis, i)
                new_values[i] = soft_value(q_bar, tau)
                new_pis.append((1.0 - eta) * pis[i] + eta * boltzmann(q_bar, tau))
            change = max(float(np.max(np.abs(new_values - values))),
                         max(float(np.max(np.abs(a - b))) for a, b in zip(new_pis, pis)))
            values, pis = new_values, new_pis
            history.append(change)
            if change <= threshold:
                break
            if callback is not None and callback(n, values, change):
                break
        critics = soft_marginal_critics(game, pis, temperature=tau, tol=tol * 1e-2, v0=values)
        residual = max(float(np.abs(boltzmann(q, tau) - pi).sum(axis=1).max()) for q, pi in zip(critics, pis))
        converged = residual <= tol
        reason = None if converged else (
            f"residual {residual:.3g} > tol" if history and history[-1] <= threshold else None)
        reason = stop_reason(converged, reason, n, cap)
        finish_iterative(method="soft_equilibrium", converged=converged, strict=strict, n_iter=n, cap=cap, tol=tol,
                         reason=reason)
        vals = np.stack([soft_value(q, tau) for q in critics])
    return SoftEquilibriumSolution(
        policies=tuple(pis), critics=critics, values=vals, residual=residual, converged=converged, n_iter=n,
        history=History({"change": history}), method="soft_equilibrium",
        params={"temperature": tau, "damping": eta, "tol": tol, "max_iter": max_iter}, elapsed=timer.elapsed,
        info={} if reason is None else {"reason": reason},
    )


def inverse_soft_bellman(mdp: FiniteMDP, q: Any, *, temperature: float) -> np.ndarray:
    r"""The reward whose soft-optimal action values are ``q``: the inverse soft-Bellman operator

    .. math::
        r(s, a) = Q(s, a) - \gamma \sum_{s'} P(s' \mid s, a)\, V(s'), \qquad
        V(s') = \tau \log \sum_{a'} e^{Q(s', a') / \tau}

    (Garg, Chakraborty, Cundy, Song & Ermon 2021, IQ-Learn, arXiv 2106.12142: for a fixed ``P``
    the soft Bellman operator is a bijection between rewards and soft Q-functions).
    Applied to player ``i``'s marginalised critic and the MDP it faces it gives MAMQL's marginal
    reward ``r_i(s, a_i)`` (Haynam et al. 2025, arXiv 2503.04679). Two rewards have the same
    Boltzmann policy if and only if they differ by potential shaping
    ``Phi(s) - gamma E[Phi(s')]`` (Ng, Harada & Russell 1999; Cao, Cohen & Szpruch 2021,
    "Identifiability in inverse reinforcement learning", NeurIPS, for the entropy-regularised
    case; here: equal Boltzmann policies force ``Q' - Q`` to depend on ``s`` only), so a reward recovered from behaviour is
    determined only up to that.

    Parameters
    ----------
    mdp : FiniteMDP
        Supplies ``P`` and ``gamma`` (its ``R`` is not used).
    q : array_like, shape (S, A)
    temperature : float
        ``tau > 0``.

    Returns
    -------
    ndarray, shape (S, A)

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> from theory_rl.games import inverse_soft_bellman
    >>> mdp = envs.random_mdp(4, 2, seed=0, gamma=0.9)
    >>> q = tabular.soft_value_iteration(mdp, temperature=0.5, tol=1e-10).q
    >>> float(np.abs(inverse_soft_bellman(mdp, q, temperature=0.5) - mdp.R).max()) < 1e-9
    True
    """
    tau = _temperature(temperature)
    if not isinstance(mdp, FiniteMDP):
        raise InvalidArgumentError(f"mdp must be a FiniteMDP, got {type(mdp).__name__}")
    qa = np.asarray(q, dtype=np.float64)
    if qa.shape != (mdp.n_states, mdp.n_actions):
        raise InvalidArgumentError(f"q has shape {qa.shape}, expected ({mdp.n_states}, {mdp.n_actions})")
    if not np.isfinite(qa).all():
        raise InvalidArgumentError("q must be finite")
    v = soft_value(qa, tau)
    return qa - mdp.gamma * np.asarray(mdp.P @ v).reshape(qa.shape)
