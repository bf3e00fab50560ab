r"""The two-state instance behind the minimax lower bound of Azar, Munos & Kappen (2013)."""

from __future__ import annotations

import numpy as np

from .._validation import check_allocation, check_int
from ..errors import InvalidModelError
from ..models import FiniteMDP

__all__ = ["hard_instance"]


def hard_instance(gamma: float, n_actions: int = 2) -> FiniteMDP:
    r"""The two-state instance behind the minimax lower bound of Azar, Munos & Kappen (2013, Sec. 4).

    State 0 pays reward 1 and stays put with probability ``p = (4 gamma - 1)/(3 gamma)`` under
    every action (else it falls into the absorbing, rewardless state 1):

    .. math::
        P(0 \mid 0, a) = p, \quad P(1 \mid 0, a) = 1 - p, \quad P(1 \mid 1, a) = 1, \qquad
        R(0, a) = 1, \quad R(1, a) = 0.

    Then ``1 - gamma p = 4(1-gamma)/3`` and ``Var(p_hat) ~ (1-gamma)/(3 gamma n)``, so the plug-in
    error ``gamma |p_hat - p| / (1 - gamma p)^2`` scales as ``(1-gamma)^{-3/2} n^{-1/2}``: on this
    instance the theorem's ``(1-gamma)`` exponent is attained, whereas benign models (RiverSwim,
    Dirichlet random MDPs) have far smaller variance of ``V*`` and a shallower dependence.
    With ``n_actions >= 2`` identical actions the max over noisy estimates adds the
    over-estimation that makes Q-learning worse (Li et al. 2021, arXiv:2102.06548, Sec. 4).

    Parameters
    ----------
    gamma : float
        Discount factor, ``1/4 < gamma < 1`` (so that ``p`` is a probability).
    n_actions : int
        Number of identical actions (``>= 1``).

    Returns
    -------
    FiniteMDP
        Two states, ``n_actions`` actions; ``V*(0) = 3 / (4 (1 - gamma))``.

    References
    ----------
    M. G. Azar, R. Munos, H. J. Kappen, "Minimax PAC bounds on the sample complexity of
    reinforcement learning with a generative model", Machine Learning 91, 2013.

    Examples
    --------
    >>> from theory_rl import envs
    >>> mdp = envs.hard_instance(0.9)
    >>> mdp.n_states, mdp.n_actions
    (2, 2)
    """
    n_actions = check_int(n_actions, "n_actions")
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.floating)) or not 0.25 < gamma < 1:
        raise InvalidModelError(f"hard_instance needs 1/4 < gamma < 1, got {gamma!r}")
    check_allocation(48 * n_actions, f"hard_instance(n_actions={n_actions})")  # P (2, A, 2) and R (2, A)
    p = (4 * gamma - 1) / (3 * gamma)
    P = np.zeros((2, n_actions, 2))
    P[0, :, 0], P[0, :, 1], P[1, :, 1] = p, 1 - p, 1.0
    R = np.zeros((2, n_actions))
    R[0] = 1.0
    return FiniteMDP(P, R, gamma)
