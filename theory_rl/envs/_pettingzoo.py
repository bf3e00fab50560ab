r"""Tabulate a PettingZoo parallel environment with discrete observations and actions as a Markov game."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_allocation, check_gamma, check_int, rng_from_seed
from ..errors import InvalidArgumentError

if TYPE_CHECKING:  # pragma: no cover
    from ..games import MarkovGame

__all__ = ["from_pettingzoo"]


def _state_key(obs: dict, agents: list) -> tuple:
    try:
        return tuple(np.asarray(obs[a]).tobytes() for a in agents)
    except KeyError:
        raise InvalidArgumentError("from_pettingzoo needs an observation for every agent at every step") from None


def from_pettingzoo(
    env: Any, *, n_samples: int = 10_000, gamma: float = 0.9, seed: int | np.random.Generator | None = None,
) -> MarkovGame:
    r"""The Markov game behind a PettingZoo ``ParallelEnv``, estimated from uniformly random play.

    The state is the tuple of all agents' observations (fully observed when that tuple is Markov,
    e.g. rock-paper-scissors, whose observations are the opponents' last moves). ``n_samples``
    joint steps of uniformly random joint actions are played from ``env.reset`` (reset again on
    termination or truncation); states are numbered in order of first visit and

    .. math::
        \hat P(s' \mid s, a) = \frac{N(s, a, s')}{N(s, a)}, \qquad
        \hat R_i(s, a) = \frac{1}{N(s, a)} \sum r_i, \qquad \hat d_0(s) = \text{reset frequencies},

    the maximum-likelihood model (exact in the limit for a Markov state). A joint action never
    tried in a state is a self-loop with reward 0; a transition flagged ``terminated`` leads to
    an absorbing copy of its state with reward 0 (the discounted value is then the episodic
    return), as :func:`from_gymnasium` does; truncation is ignored (the infinite-horizon model).

    Parameters
    ----------
    env : pettingzoo.ParallelEnv
        Discrete action spaces, and observations that can be hashed as bytes.
    n_samples : int
        Joint steps to play.
    gamma : float
    seed : int, Generator or None
        Seeds the actions and the environment's resets.

    Returns
    -------
    theory_rl.games.MarkovGame

    Examples
    --------
    >>> from pettingzoo.classic import rps_v2                       # doctest: +SKIP
    >>> from theory_rl import envs
    >>> g = envs.from_pettingzoo(rps_v2.parallel_env(max_cycles=10), n_samples=3000, seed=0)  # doctest: +SKIP
    >>> g.n_players, g.n_states, g.n_actions, g.is_zero_sum          # doctest: +SKIP
    (2, 10, (3, 3), True)
    """
    from ..games import MarkovGame  # games never imports envs

    n = check_int(n_samples, "n_samples")
    gamma = check_gamma(gamma)
    rng = rng_from_seed(seed)
    if not hasattr(env, "possible_agents") or not hasattr(env, "step"):
        raise InvalidArgumentError(f"env must be a PettingZoo ParallelEnv, got {type(env).__name__}")
    agents = list(env.possible_agents)
    sizes = []
    for a in agents:
        k = getattr(env.action_space(a), "n", None)
        if k is None:
            raise InvalidArgumentError(f"agent {a!r} has action space {env.action_space(a)}: from_pettingzoo needs Discrete")
        sizes.append(int(k))
    index: dict[tuple, int] = {}
    counts: dict[tuple, dict[int, float]] = {}
    rewards: dict[tuple, np.ndarray] = {}
    starts: dict[int, int] = {}

    def state(obs: dict) -> int:
        return index.setdefault(_state_key(obs, agents), len(index))

    def reset() -> int:
        obs, _ = env.reset(seed=int(rng.integers(2**31)))
        s = state(obs)
        starts[s] = starts.get(s, 0) + 1
        return s

    s = reset()
    terminal: set[int] = set()
    for _ in range(n):
        acts = [int(rng.integers(k)) for k in sizes]
        obs, rew, term, trunc, _ = env.step(dict(zip(agents, acts)))
        key = (s, *acts)
        done = any(term.get(a, False) for a in agents)
        s2 = state(obs) if obs else None
        if done or s2 is None:
            s2 = -1 - (s2 if s2 is not None else s)  # the absorbing copy, numbered below
            terminal.add(s2)
        row = counts.setdefault(key, {})
        row[s2] = row.get(s2, 0.0) + 1.0
        rewards[key] = rewards.get(key, np.zeros(len(agents))) + np.array([float(rew.get(a, 0.0)) for a in agents])
        if done or s2 < 0 or any(trunc.get(a, False) for a in agents) or not env.agents:
            s = reset()
        else:
            s = s2
    absorbing = {t: len(index) + k for k, t in enumerate(sorted(terminal, reverse=True))}
    S = len(index) + len(absorbing)
    shape = (S, *sizes)
    check_allocation(8.0 * S * float(np.prod(sizes)) * (S + len(agents)), f"the tabulated game with {S} states")
    P = np.zeros((*shape, S))
    R = np.zeros((len(agents), *shape))
    for key, row in counts.items():
        total = sum(row.values())
        for s2, c in row.items():
            P[key + (absorbing.get(s2, s2),)] += c / total
        R[(slice(None),) + key] = rewards[key] / total
    tried = P.sum(axis=-1) > 0
    for s_ in range(S):
        P[s_][~tried[s_]] = np.eye(S)[s_]
    d0 = np.zeros(S)
    for s_, c in starts.items():
        d0[s_] = c
    return MarkovGame(P, R, gamma, d0 / d0.sum())

