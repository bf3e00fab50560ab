r"""The random walk of Sutton & Barto (2018): Example 6.2 (5 states) and Example 7.1 (19 states)."""

from __future__ import annotations

import numpy as np

from .._validation import check_gamma, check_int, check_real
from ..models import FiniteMDP

__all__ = ["random_walk"]


def random_walk(n_states: int = 5, *, left_reward: float = 0.0, gamma: float = 1.0) -> FiniteMDP:
    r"""The random walk of Sutton & Barto (2018), Example 6.2 (and, with 19 states, Example 7.1).

    States ``0, 1, ..., n+1`` in a row (``n = n_states``); ``0`` and ``n + 1`` are terminal, the
    walk starts in the centre state ``(n + 1) // 2`` (state C of the book for ``n = 5``). Two
    deterministic actions, left (0) and right (1), move one state; the book's walk is the
    equiprobable random policy ``pi(left | s) = pi(right | s) = 1/2``. Stepping into the right end
    pays ``+1``, into the left end ``left_reward``, every other step ``0``.

    True values under the random policy, ``gamma = 1`` (the probability of leaving on the right
    is ``i / (n + 1)`` from state ``i``, gambler's ruin):

    .. math::
        v_\pi(i) = \frac{i}{n+1} + \Big(1 - \frac{i}{n+1}\Big)\, r_{\text{left}}, \qquad i = 1, \dots, n,

    i.e. ``1/6, ..., 5/6`` for Example 6.2 (``n = 5``, ``r_left = 0``) and ``-0.9, -0.8, ..., 0.9``
    for Example 7.1 (``n = 19``, ``r_left = -1``).

    Parameters
    ----------
    n_states : int
        Non-terminal states ``n >= 1`` (the model has ``n + 2`` states).
    left_reward : float
        Reward for stepping into the left end: ``0`` (Example 6.2) or ``-1`` (Example 7.1).
    gamma : float
        ``1`` (default, episodic) or a discount factor in ``[0, 1)``.

    References
    ----------
    R. S. Sutton, A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed., MIT Press
    2018, Example 6.2 (Section 6.2) and Example 7.1 (Section 7.1).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> walk = envs.random_walk(5)
    >>> v = tabular.policy_evaluation(walk, np.full((7, 2), 0.5)).v
    >>> np.round(v[1:6] * 6, 6).tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0]
    >>> v19 = tabular.policy_evaluation(envs.random_walk(19, left_reward=-1.0), np.full((21, 2), 0.5)).v
    >>> np.round(v19[[1, 2, 18, 19]], 6).tolist()
    [-0.9, -0.8, 0.8, 0.9]
    """
    n = check_int(n_states, "n_states", minimum=1)
    left_reward = check_real(left_reward, "left_reward")
    gamma = check_gamma(gamma, allow_one=True)
    S = n + 2
    inner = np.arange(1, n + 1)
    P = np.zeros((S, 2, S))
    P[inner, 0, inner - 1] = 1.0
    P[inner, 1, inner + 1] = 1.0
    P[[0, S - 1], :, [0, S - 1]] = 1.0
    R = np.zeros((S, 2))
    R[1, 0] = left_reward
    R[n, 1] += 1.0
    d0 = np.zeros(S)
    d0[(n + 1) // 2] = 1.0
    names = ("left end",) + tuple(str(i) for i in inner) + ("right end",)
    terminal = np.zeros(S, bool)
    terminal[[0, S - 1]] = True
    return FiniteMDP(P, R, gamma, d0=d0, state_names=names, action_names=("left", "right"), terminal=terminal)
