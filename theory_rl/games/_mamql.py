r"""MAMQL: multi-agent marginal Q-learning from demonstrations (tabular)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._iterative import Timer
from .._result import History, Result
from .._validation import check_choice, check_int, check_real, check_tol
from ..errors import InvalidArgumentError
from ._demonstrations import behaviour_cloning, marginal_occupancy
from ._iq_learn import check_occupancy, iq_learn
from ._markov_exploitability import _check_policies
from ._markov_game import MarkovGame, as_markov_game
from ._soft_game import boltzmann, inverse_soft_bellman, marginal_mdp

__all__ = ["MAMQLResult", "mamql", "joint_reward_regression", "recover_rewards", "check_mamql_options"]

_DEFAULT_ROUNDS = 100


@dataclass(frozen=True, repr=False, eq=False)
class MAMQLResult(Result):
    r"""Result of :func:`mamql` and :func:`mamql_torch`.

    Attributes
    ----------
    policies : tuple of ndarray
        ``policies[i]``, shape ``(S, A_i)``: the Boltzmann policy ``softmax(critics[i] / tau)``.
    critics : tuple of ndarray
        ``critics[i]``, shape ``(S, A_i)``: the marginalised soft critic ``Q_i(s, a_i)``.
    rewards : tuple of ndarray
        ``rewards[i]``, shape ``(S, A_i)``: the marginal reward ``Q_i - gamma P_i V_i`` recovered by
        the inverse soft-Bellman operator in the MDP agent ``i`` faces against the others' returned policies.
    joint_rewards : ndarray, shape (N, S, A_1, ..., A_N)
        The joint rewards of :func:`joint_reward_regression` (their ``pi_-i``-average is ``rewards[i]``).
    converged : bool
        Whether the largest change of a policy in the last round was ``<= tol`` (tabular) or the
        optimiser's step count was used up (torch: ``False`` unless the gradient vanished).
    n_iter : int
        Rounds (tabular) or optimiser steps (torch).
    history : History
        ``history["change"]``: largest policy change per round (tabular), ``history["loss"]`` (torch).
    info : dict
        Method-specific extras.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, mamql
    >>> g = MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[1.0, -1.0], [-1.0, 1.0]]], 0.5)
    >>> res = mamql(g, [[[0.4, 0.1], [0.4, 0.1]]], temperature=1.0, f="identity")
    >>> type(res).__name__, res.policies[1].round(6).tolist()
    ('MAMQLResult', [[0.8, 0.2]])
    """

    policies: tuple[np.ndarray, ...]
    critics: tuple[np.ndarray, ...]
    rewards: tuple[np.ndarray, ...]
    joint_rewards: np.ndarray
    converged: bool
    n_iter: int
    history: History
    info: dict[str, Any] = field(default_factory=dict)
    _repr_fields = ("converged", "n_iter", "elapsed")


def joint_reward_regression(game: MarkovGame, rewards: Any, policies: Sequence[Any], player: int) -> np.ndarray:
    r"""The smallest joint reward whose average over the others' policies is a given marginal reward:

    .. math::
        \min_{r_i} \sum_{s, a} r_i(s, a_i, a_{-i})^2 \quad \text{s.t.} \quad
        \sum_{a_{-i}} \pi_{-i}(a_{-i} \mid s)\, r_i(s, a_i, a_{-i}) = \bar r_i(s, a_i),
        \qquad\text{solved by}\qquad r_i = \frac{\pi_{-i}(a_{-i} \mid s)}{\|\pi_{-i}(\cdot \mid s)\|_2^2}\, \bar r_i(s, a_i).

    MAMQL (Haynam et al. 2025, arXiv 2503.04679) fits a joint reward network by regression on
    the marginal rewards under this constraint. In a table and with one joint policy observed, the
    constraint is all the data says about the joint reward (one equation per ``(s, a_i)``), so the
    tabular regression returns this minimum-norm solution; any other solution differs from it in
    the null space of the constraint, which no demonstration of ``pi`` can identify.

    Parameters
    ----------
    game : MarkovGame
        Supplies the shape.
    rewards : array_like, shape (S, A_i)
        ``r_i(s, a_i)``.
    policies : sequence of N array_like
        The joint policy (``policies[player]`` is not used).
    player : int

    Returns
    -------
    ndarray, shape (S, A_1, ..., A_N)

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, joint_reward_regression
    >>> g = MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[1.0, -1.0], [-1.0, 1.0]]], 0.5)
    >>> r = joint_reward_regression(g, [[1.0, 2.0]], [[[0.5, 0.5]], [[1.0, 0.0]]], 0)
    >>> r.tolist()
    [[[1.0, 0.0], [2.0, 0.0]]]
    """
    game = as_markov_game(game)
    xs = _check_policies(game, policies)
    if not isinstance(player, (int, np.integer)) or not (0 <= player < game.n_players):
        raise InvalidArgumentError(f"player = {player!r} must be in [0, {game.n_players})")
    S, actions = game.n_states, game.n_actions
    rbar = np.asarray(rewards, dtype=np.float64)
    if rbar.shape != (S, actions[player]):
        raise InvalidArgumentError(f"rewards has shape {rbar.shape}, expected ({S}, {actions[player]})")
    w = np.ones((S,) + (1,) * game.n_players)
    for j, x in enumerate(xs):
        if j != player:
            shape = [S] + [1] * game.n_players
            shape[1 + j] = actions[j]
            w = w * x.reshape(shape)
    norm = (w * w).reshape(S, -1).sum(axis=1).reshape((S,) + (1,) * game.n_players)
    shape = [S] + [1] * game.n_players
    shape[1 + player] = actions[player]
    return np.broadcast_to(w / norm * rbar.reshape(shape), (S, *actions)).copy()


def recover_rewards(game: MarkovGame, critics: Sequence[np.ndarray], policies: Sequence[np.ndarray],
                    temperature: float) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """``(marginal rewards, joint rewards)`` of every agent from its critic, by the inverse soft-Bellman
    operator in the MDP it faces against the others' ``policies``, then :func:`joint_reward_regression`."""
    rewards = []
    for i, q in enumerate(critics):
        mdp = marginal_mdp(game, policies, i, np.zeros(q.shape))
        rewards.append(inverse_soft_bellman(mdp, q, temperature=temperature))
    joint = np.stack([joint_reward_regression(game, r, policies, i) for i, r in enumerate(rewards)])
    return tuple(rewards), joint


def check_mamql_options(game: Any, d_expert: Any, temperature: Any, f: Any, alpha: Any) -> tuple:
    """Validated ``(game, rho, tau, f, alpha)`` shared by :func:`mamql` and :func:`mamql_torch`."""
    game = as_markov_game(game)
    rho = check_occupancy(d_expert, (game.n_states, *game.n_actions))
    tau = check_real(temperature, "temperature", low=0.0, low_open=True)
    f = check_choice(f, "f", ("chi2", "identity"))
    alpha = check_real(alpha, "alpha", low=0.0, low_open=True)
    return game, rho, tau, f, alpha


def mamql(
    game: MarkovGame,
    d_expert: Any,
    *,
    temperature: float,
    f: str = "chi2",
    alpha: float = 0.5,
    tol: float = 1e-8,
    max_iter: int | None = None,
    n_steps: int = 1000,
) -> MAMQLResult:
    r"""Multi-Agent Marginal Q-Learning from demonstrations (MAMQL), tabular.

    Haynam, Khoja, Kumar, Myers & Bıyık (2025), "Multi-Agent Inverse Q-Learning from
    Demonstrations", arXiv 2503.04679. Each agent ``i`` keeps a critic marginalised over the
    others, ``Q_i(s, a_i)``, and acts by the Boltzmann policy ``pi_i ∝ exp(Q_i / tau)``
    (``lambda = 1 / tau`` in the paper). Fixing the others' policies turns agent ``i``'s problem
    into a single-agent soft MDP with ``P_i = E_{pi_-i} P`` (:func:`best_response_mdp`), whose
    soft-optimal critic is ``Q_i``; so agent ``i``'s critic is fitted by IQ-Learn's concave
    objective (:func:`iq_learn`) on its own marginal occupancy
    ``rho_i(s, a_i) = sum_{a_-i} rho_E(s, a_i, a_-i)``:

    .. math::
        \max_{Q_i}\; \mathbb E_{\rho_i}\big[\phi(Q_i(s,a_i) - \gamma \mathbb E_{s' \sim P_i} V_i(s'))\big]
            - \mathbb E_{\rho_i}\big[V_i(s) - \gamma \mathbb E_{s' \sim P_i} V_i(s')\big].

    The loop alternates: starting from the behaviour-cloned policies of the others, each round
    fits every agent's critic against the others' current policies (warm-started at its previous
    critic), then replaces every policy by its critic's Boltzmann policy; it stops when no policy
    moves by more than ``tol`` (sup norm). The rewards are then recovered by the inverse
    soft-Bellman operator, ``r_i(s, a_i) = Q_i - gamma P_i V_i``, and the joint rewards by
    :func:`joint_reward_regression`.

    What is proved and tested: with ``f="identity"`` and the exact occupancy of a soft
    equilibrium with full state support, the returned policies are the expert's and each
    recovered ``r_i`` equals the true marginal reward up to potential shaping (so its soft-optimal
    policy is the expert's). With ``N = 1`` this is single-agent IQ-Learn.

    Sampled demonstrations: where a visited state has an action the expert never showed, the
    objective's supremum is not attained (that action's critic tends to ``-inf``, and its
    probability to 0, as in behaviour cloning by counts); each fit then stops after ``n_steps``
    L-BFGS iterations, an early stop that acts as the regulariser (the paper's networks and
    finite gradient steps play that part).

    Less than the paper: tabular critics (the paper's are networks; :func:`mamql_torch` uses
    MLPs), the model's ``P`` for the next-state expectation, offline only, and the joint-reward
    regression is its minimum-norm tabular form. The reward of the game is not read (only ``P``,
    ``gamma``).

    Parameters
    ----------
    game : MarkovGame
        The dynamics (its ``R`` is ignored).
    d_expert : array_like, shape (S, A_1, ..., A_N)
        Expert joint occupancy: exact (:func:`joint_occupancy`) or sampled (:func:`empirical_occupancy`).
    temperature : float
        ``tau > 0``.
    f : {"chi2", "identity"}
        IQ-Learn's ``phi``: chi-squared ``y - y^2 / (4 alpha)`` or the identity.
    alpha : float
        Chi-squared weight.
    tol : float
        Stop when no policy changes by more than ``tol`` in a round; also IQ-Learn's gradient tolerance.
    max_iter : int, optional
        Rounds (default 100).
    n_steps : int
        L-BFGS iterations of each IQ-Learn fit (warm-started from the previous round's critic).

    Returns
    -------
    MAMQLResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, joint_occupancy, mamql, soft_equilibrium
    >>> rng = np.random.default_rng(0)
    >>> g = MarkovGame(rng.dirichlet(np.ones(3), size=(3, 2, 2)), rng.uniform(-1, 1, (2, 3, 2, 2)), 0.8)
    >>> expert = soft_equilibrium(g, temperature=1.0).policies
    >>> res = mamql(g, joint_occupancy(g, expert), temperature=1.0, f="identity")
    >>> max(float(np.abs(p - e).max()) for p, e in zip(res.policies, expert)) < 1e-6
    True
    """
    game, rho, tau, f, alpha = check_mamql_options(game, d_expert, temperature, f, alpha)
    tol = check_tol(tol)
    rounds = _DEFAULT_ROUNDS if max_iter is None else check_int(max_iter, "max_iter")
    steps = check_int(n_steps, "n_steps")
    with Timer() as timer:
        N = game.n_players
        occupancies = [marginal_occupancy(rho, i) for i in range(N)]
        policies = list(behaviour_cloning(rho).policies)
        critics: list[np.ndarray | None] = [None] * N
        changes: list[float] = []
        converged = False
        n_rounds = 0
        for n in range(1, rounds + 1):
            n_rounds = n
            new = []
            for i in range(N):
                mdp = marginal_mdp(game, policies, i, np.zeros(occupancies[i].shape))
                fit = iq_learn(mdp, occupancies[i], temperature=tau, f=f, alpha=alpha, q0=critics[i],
                               tol=min(tol, 1e-6), max_iter=steps)
                critics[i] = fit.q
                new.append(boltzmann(fit.q, tau))
            changes.append(max(float(np.abs(a - b).max()) for a, b in zip(new, policies)))
            policies = new
            if changes[-1] <= tol:
                converged = True
                break
        final = tuple(np.asarray(q) for q in critics)
        rewards, joint = recover_rewards(game, final, policies, tau)
    return MAMQLResult(
        policies=tuple(policies), critics=final, rewards=rewards, joint_rewards=joint, converged=converged,
        n_iter=n_rounds, history=History({"change": changes}), method="mamql",
        params={"temperature": tau, "f": f, "alpha": alpha, "tol": tol, "max_iter": max_iter, "n_steps": steps},
        elapsed=timer.elapsed,
    )
