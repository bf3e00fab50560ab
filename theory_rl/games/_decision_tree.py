"""The complete decision tree: a deterministic finite-horizon MDP whose states are histories."""

from __future__ import annotations

import numpy as np

from .._validation import check_allocation, check_int
from ..models import FiniteMDP

__all__ = ["decision_tree_mdp"]


def decision_tree_mdp(n_actions: int, horizon: int) -> FiniteMDP:
    r"""The complete ``A``-ary tree of depth ``H`` as a deterministic MDP starting at the root.

    State ``0`` is the root; the children of state ``s`` at depth ``t < H`` are
    ``A s + 1, ..., A s + A`` (breadth-first numbering), so there are ``(A^{H+1} - 1)/(A - 1)``
    states, each reached by exactly one history, and the ``A^H`` trajectories of ``H`` decisions
    are the ``A^H`` action sequences. Leaves loop on themselves. Rewards are zero (preference
    oracles supply the objective); ``gamma = 1``, ``horizon = H``, ``d0`` the root. On this model
    every distribution over trajectories is a mixture of deterministic policies and whole-trajectory
    rewards are Markov, so :func:`trajectory_game` reports ``pure`` and ``tree``.

    Parameters
    ----------
    n_actions : int
        ``A >= 1``.
    horizon : int
        ``H >= 1``.

    Returns
    -------
    FiniteMDP

    Examples
    --------
    >>> from theory_rl.games import decision_tree_mdp
    >>> mdp = decision_tree_mdp(3, 2)
    >>> mdp.n_states, mdp.n_actions, mdp.horizon
    (13, 3, 2)
    """
    A = check_int(n_actions, "n_actions")
    H = check_int(horizon, "horizon")
    n_internal = sum(A**t for t in range(H))
    S = n_internal + A**H
    check_allocation(8 * S * A * S, f"the decision tree's kernel ({S} x {A} x {S})")
    P = np.zeros((S, A, S))
    s = np.arange(n_internal)
    P[s[:, None], np.arange(A)[None, :], A * s[:, None] + 1 + np.arange(A)[None, :]] = 1.0
    leaves = np.arange(n_internal, S)
    P[leaves, :, leaves] = 1.0
    d0 = np.zeros(S)
    d0[0] = 1.0
    return FiniteMDP(P=P, R=np.zeros((S, A)), gamma=1.0, horizon=H, d0=d0)
