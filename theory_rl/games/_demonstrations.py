r"""Expert data for multi-agent imitation: exact and sampled joint occupancies, and behaviour cloning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._iterative import Timer
from .._result import Result
from .._validation import check_int, rng_from_seed
from ..errors import InvalidArgumentError
from ..tabular import solve_policy_system
from ._iq_learn import check_occupancy
from ._markov_exploitability import _check_policies
from ._markov_game import MarkovGame, as_markov_game

__all__ = ["joint_occupancy", "empirical_occupancy", "BehaviourCloningResult", "behaviour_cloning",
           "marginal_occupancy", "joint_policy"]


def joint_policy(policies: Sequence[np.ndarray]) -> np.ndarray:
    """``pi(a_1, ..., a_N | s) = prod_i pi_i(a_i | s)``, shape ``(S, A_1, ..., A_N)``."""
    out = np.asarray(policies[0])
    for pi in policies[1:]:
        out = out[..., None] * np.asarray(pi).reshape((pi.shape[0],) + (1,) * (out.ndim - 1) + (pi.shape[1],))
    return out


def marginal_occupancy(rho: np.ndarray, player: int) -> np.ndarray:
    """``rho_i(s, a_i) = sum_{a_-i} rho(s, a_i, a_-i)``, shape ``(S, A_i)``."""
    axes = tuple(1 + j for j in range(rho.ndim - 1) if j != player)
    return rho.sum(axis=axes)


def joint_occupancy(game: MarkovGame, policies: Sequence[Any]) -> np.ndarray:
    r"""Normalised discounted state-joint-action occupancy of a stationary joint policy:

    .. math::
        \rho(s, a) = (1 - \gamma) \sum_t \gamma^t \Pr(s_t = s, a_t = a)
                   = d(s) \prod_i \pi_i(a_i \mid s), \qquad
        d = (1 - \gamma) (I - \gamma P_\pi^\top)^{-1} d_0,

    shape ``(S, A_1, ..., A_N)``, summing to 1 (the expert data of :func:`mamql` when it is exact).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, joint_occupancy
    >>> g = MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[1.0, -1.0], [-1.0, 1.0]]], 0.5)
    >>> joint_occupancy(g, [[[0.5, 0.5]], [[1.0, 0.0]]]).tolist()
    [[[0.5, 0.0], [0.5, 0.0]]]
    """
    game = as_markov_game(game)
    xs = _check_policies(game, policies)
    joint = joint_policy(xs)
    S = game.n_states
    P_pi = np.einsum("sat,sa->st", game.dense_kernel().reshape(S, -1, S), joint.reshape(S, -1))
    # d^T (I - gamma P_pi) = (1 - gamma) d0^T: the value system of the transposed chain
    d = solve_policy_system(P_pi.T, (1.0 - game.gamma) * game.initial_distribution, game.gamma)
    d = np.maximum(d, 0.0)
    return (d / d.sum()).reshape((S,) + (1,) * game.n_players) * joint


def empirical_occupancy(
    game: MarkovGame, policies: Sequence[Any], *, n_episodes: int, horizon: int,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    r"""Discounted visit frequencies of ``n_episodes`` sampled demonstrations of length ``horizon``:

    .. math::
        \hat\rho(s, a) \propto \sum_{k=1}^{n} \sum_{t=0}^{H-1} \gamma^t \, \mathbb 1[s^k_t = s, a^k_t = a],

    with ``s_0 ~ d0``, ``a_i ~ pi_i(. | s)`` independently and ``s' ~ P(. | s, a)``; shape
    ``(S, A_1, ..., A_N)``, normalised to 1. As ``n -> inf`` and ``H -> inf`` it tends to
    :func:`joint_occupancy`.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, empirical_occupancy
    >>> g = MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[1.0, -1.0], [-1.0, 1.0]]], 0.5)
    >>> rho = empirical_occupancy(g, [[[0.5, 0.5]], [[1.0, 0.0]]], n_episodes=2000, horizon=5, seed=0)
    >>> rho.shape, round(float(rho[0, :, 1].sum()), 6), abs(float(rho[0, 0, 0]) - 0.5) < 0.05
    ((1, 2, 2), 0.0, True)
    """
    game = as_markov_game(game)
    xs = _check_policies(game, policies)
    n = check_int(n_episodes, "n_episodes")
    H = check_int(horizon, "horizon")
    rng = rng_from_seed(seed)
    S, actions = game.n_states, game.n_actions
    cum_pi = [np.cumsum(x, axis=1) for x in xs]
    P = game.dense_kernel().reshape(-1, S)
    cum_P = np.cumsum(P, axis=1)
    counts = np.zeros((S, *actions))
    s = np.minimum(np.searchsorted(np.cumsum(game.initial_distribution), rng.random(n), side="right"), S - 1)
    for t in range(H):
        acts = [np.minimum((c[s] < rng.random((n, 1))).sum(axis=1), c.shape[1] - 1) for c in cum_pi]
        np.add.at(counts, (s, *acts), game.gamma ** t)
        row = np.ravel_multi_index((s, *acts), (S, *actions))
        s = np.minimum((cum_P[row] < rng.random((n, 1))).sum(axis=1), S - 1)
    return counts / counts.sum()


@dataclass(frozen=True, repr=False, eq=False)
class BehaviourCloningResult(Result):
    r"""Result of :func:`behaviour_cloning`.

    Attributes
    ----------
    policies : tuple of ndarray
        ``policies[i][s, a_i] = rho_i(s, a_i) / rho(s)``, uniform on unvisited states.
    visited : ndarray of bool, shape (S,)
        States with expert data.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import behaviour_cloning
    >>> res = behaviour_cloning(np.array([[[0.5, 0.0], [0.25, 0.25]], [[0, 0], [0, 0]]]))
    >>> type(res).__name__, res.policies[0].tolist(), res.visited.tolist()
    ('BehaviourCloningResult', [[0.5, 0.5], [0.5, 0.5]], [True, False])
    """

    policies: tuple[np.ndarray, ...]
    visited: np.ndarray


def behaviour_cloning(d_expert: Any) -> BehaviourCloningResult:
    r"""Behaviour cloning by counts, one policy per agent (the imitation baseline of MAMQL):

    .. math::
        \hat\pi_i(a_i \mid s) = \frac{\hat\rho_i(s, a_i)}{\sum_{b} \hat\rho_i(s, b)}, \qquad
        \hat\rho_i(s, a_i) = \sum_{a_{-i}} \hat\rho(s, a_i, a_{-i}),

    the maximum-likelihood tabular policy of each agent (decentralised, as the agents act
    independently given ``s``), uniform where the expert never went.

    Parameters
    ----------
    d_expert : array_like, shape (S, A_1, ..., A_N)
        Joint occupancy or counts.

    Returns
    -------
    BehaviourCloningResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import behaviour_cloning
    >>> rho = np.array([[[0.5, 0.0], [0.25, 0.25]], [[0, 0], [0, 0]]])   # rho[s, a_0, a_1]
    >>> res = behaviour_cloning(rho)
    >>> res.policies[1].tolist()          # agent 1: 0.75 / 0.25 at state 0, uniform where unvisited
    [[0.75, 0.25], [0.5, 0.5]]
    """
    with Timer() as timer:
        shape = tuple(np.shape(d_expert))
        if len(shape) < 2:
            raise InvalidArgumentError(f"d_expert has shape {shape}, expected (S, A_1, ..., A_N)")
        rho = check_occupancy(d_expert, shape)
        ds = rho.reshape(rho.shape[0], -1).sum(axis=1)
        visited = ds > 0
        policies = []
        for i in range(rho.ndim - 1):
            m = marginal_occupancy(rho, i)
            pi = np.full(m.shape, 1.0 / m.shape[1])
            pi[visited] = m[visited] / ds[visited, None]
            policies.append(pi)
    return BehaviourCloningResult(policies=tuple(policies), visited=visited, method="behaviour_cloning",
                                  elapsed=timer.elapsed)
