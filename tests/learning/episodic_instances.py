"""Random episodic models for the tests of the episode-based learners."""

from __future__ import annotations

import numpy as np

from theory_rl.models import FiniteMDP


def random_episodic_mdp(seed: int, n_states: int, n_actions: int, *, dag: bool = False) -> FiniteMDP:
    """``n_states`` non-terminal states and one terminal state (the last); every step terminates
    with probability at least 0.2. With ``dag`` a state only moves to higher states, so no state
    repeats within an episode."""
    rng = np.random.default_rng(seed)
    S = n_states + 1
    P = np.zeros((S, n_actions, S))
    for s in range(n_states):
        allowed = np.arange(s + 1, S) if dag else np.arange(S)
        p = rng.dirichlet(np.ones(allowed.size), size=n_actions)
        p *= 0.8
        p[:, -1] += 0.2  # the terminal state is the last allowed one
        P[s, :, allowed] = p.T
    P[-1, :, -1] = 1.0
    R = rng.normal(size=(S, n_actions))
    R[-1] = 0.0
    return FiniteMDP(P, R, 1.0, terminal=[S - 1])
