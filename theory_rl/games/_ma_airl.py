r"""A tabular MA-AIRL-style baseline: per-agent adversarial IRL with AIRL's shaped discriminator."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

from .._iterative import Timer
from .._result import History, Result
from .._validation import check_int, check_real
from ..errors import ConvergenceWarning
from ..tabular import soft_value_iteration
from ._demonstrations import joint_occupancy
from ._mamql import check_mamql_options
from ._soft_game import marginal_mdp

__all__ = ["MAAIRLResult", "ma_airl"]


@dataclass(frozen=True, repr=False, eq=False)
class MAAIRLResult(Result):
    r"""Result of :func:`ma_airl`.

    Attributes
    ----------
    policies : tuple of ndarray
        ``policies[i]``, shape ``(S, A_i)``: the generators' policies.
    rewards : tuple of ndarray
        ``rewards[i] = g_i``, shape ``(S, A_i)``: the learned reward term of the discriminator.
    potentials : ndarray, shape (N, S)
        The shaping terms ``h_i``.
    n_iter : int
        Generator-discriminator rounds.
    history : History
        ``history["loss"]``: the discriminators' summed log-loss per round.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, ma_airl
    >>> g = MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[1.0, -1.0], [-1.0, 1.0]]], 0.5)
    >>> res = ma_airl(g, [[[0.4, 0.1], [0.4, 0.1]]], temperature=1.0, max_iter=200)
    >>> type(res).__name__, bool(res.policies[1][0, 0] > 0.7)
    ('MAAIRLResult', True)
    """

    policies: tuple[np.ndarray, ...]
    rewards: tuple[np.ndarray, ...]
    potentials: np.ndarray
    n_iter: int
    history: History
    info: dict[str, Any] = field(default_factory=dict)
    _repr_fields = ("n_iter", "elapsed")


def _transitions(game: Any, rho: np.ndarray, player: int) -> np.ndarray:
    """``T[s, a_i, s'] = sum_{a_-i} rho(s, a_i, a_-i) P(s' | s, a)``."""
    T = rho[..., None] * game.dense_kernel()
    axes = tuple(1 + j for j in range(game.n_players) if j != player)
    return T.sum(axis=axes)


def ma_airl(
    game: Any,
    d_expert: Any,
    *,
    temperature: float,
    step_size: float = 1.0,
    n_steps: int = 5,
    max_iter: int = 100,
) -> MAAIRLResult:
    r"""Multi-agent adversarial IRL in the style of MA-AIRL (Yu, Song & Ermon 2019, "Multi-Agent
    Adversarial Inverse Reinforcement Learning", arXiv 1907.13220), tabular and with exact expectations.

    Each agent ``i`` has AIRL's discriminator (Fu, Luo & Levine 2018, arXiv 1710.11248)

    .. math::
        D_i(s, a_i, s') = \frac{e^{f_i(s, a_i, s')}}{e^{f_i(s, a_i, s')} + \pi_i(a_i \mid s)},
        \qquad f_i(s, a_i, s') = g_i(s, a_i) + \gamma h_i(s') - h_i(s),

    trained by ``n_steps`` gradient-ascent steps of size ``step_size`` per round on
    ``E_expert[log D_i] + E_{pi}[log(1 - D_i)]``, the expectations taken exactly over the expert's
    and the current joint policy's discounted transition occupancies; the generator of agent ``i``
    is then the soft-optimal policy (temperature ``tau``) for the reward ``g_i`` in the MDP it
    faces against the others' current policies (``f_i`` and ``g_i`` differ by shaping, so they give
    the same soft-optimal policy). The recovered reward is ``g_i``.

    Simplified from the paper: exact tabular expectations instead of sampled rollouts, a soft
    best response (soft value iteration) as the generator instead of the multi-agent
    actor-critic (MACK), simultaneous decentralised updates, a fixed number of rounds.

    Parameters
    ----------
    game, d_expert, temperature
        As for :func:`mamql` (the game's ``R`` is not read).
    step_size : float
        Discriminator gradient step.
    n_steps : int
        Discriminator steps per round.
    max_iter : int
        Rounds.

    Returns
    -------
    MAAIRLResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, ma_airl
    >>> g = MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[1.0, -1.0], [-1.0, 1.0]]], 0.5)
    >>> res = ma_airl(g, [[[0.4, 0.1], [0.4, 0.1]]], temperature=1.0, max_iter=20)
    >>> [p.round(3).tolist() for p in res.policies]      # the expert's marginals: (1/2, 1/2) and (0.8, 0.2)
    [[[0.5, 0.5]], [[0.8, 0.2]]]
    """
    game, rho, tau, _, _ = check_mamql_options(game, d_expert, temperature, "identity", 1.0)
    lr = check_real(step_size, "step_size", low=0.0, low_open=True)
    n_steps = check_int(n_steps, "n_steps")
    rounds = check_int(max_iter, "max_iter")
    with Timer() as timer:
        N, S, gamma = game.n_players, game.n_states, game.gamma
        expert = [_transitions(game, rho, i) for i in range(N)]
        g = [np.zeros((S, n)) for n in game.n_actions]
        h = np.zeros((N, S))
        policies = [np.full((S, n), 1.0 / n) for n in game.n_actions]
        losses = []
        for _ in range(rounds):
            occ = joint_occupancy(game, policies)
            loss = 0.0
            for i in range(N):
                gen = _transitions(game, occ, i)
                log_pi = np.log(np.maximum(policies[i], 1e-300))
                for _ in range(n_steps):
                    f = g[i][:, :, None] + gamma * h[i][None, None, :] - h[i][:, None, None]
                    d = expit(f - log_pi[:, :, None])                    # D = sigmoid(f - log pi)
                    grad_f = expert[i] * (1.0 - d) - gen * d
                    g[i] += lr * grad_f.sum(axis=2)
                    h[i] += lr * (gamma * grad_f.sum(axis=(0, 1)) - grad_f.sum(axis=(1, 2)))
                f = g[i][:, :, None] + gamma * h[i][None, None, :] - h[i][:, None, None]
                z = f - log_pi[:, :, None]
                loss += float((expert[i] * np.logaddexp(0.0, -z) + gen * np.logaddexp(0.0, z)).sum())
            losses.append(loss)
            new = []
            for i in range(N):
                mdp = marginal_mdp(game, policies, i, g[i])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    new.append(soft_value_iteration(mdp, temperature=tau, tol=1e-8).policy)
            policies = new
    return MAAIRLResult(
        policies=tuple(policies), rewards=tuple(g), potentials=h, n_iter=rounds, history=History({"loss": losses}),
        method="ma_airl", params={"temperature": tau, "step_size": lr, "n_steps": n_steps, "max_iter": rounds},
        elapsed=timer.elapsed,
    )
