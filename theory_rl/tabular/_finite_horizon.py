"""Finite-horizon dynamic programming."""

from __future__ import annotations

import numpy as np

from .._iterative import Timer
from .._validation import check_allocation
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ._bellman import as_value, effective_rewards
from ._solution import Solution

__all__ = ["backward_induction"]


def backward_induction(
    mdp: FiniteMDP,
    *,
    horizon: int | None = None,
    terminal: np.ndarray | None = None,
) -> Solution:
    r"""Backward induction for a finite horizon ``H`` (Bellman 1957; Puterman 1994, §4.5).

    .. math::
        v_H = g, \qquad
        q_t(s, a) = R(s,a) + \gamma \sum_{s'} P(s'|s,a) v_{t+1}(s'), \qquad
        v_t(s) = \max_a q_t(s,a), \quad \pi_t(s) \in \arg\max_a q_t(s,a),

    for ``t = H-1, ..., 0``. The non-stationary policy ``(pi_0, ..., pi_{H-1})`` is optimal for
    the ``H``-epoch objective ``E[sum_{t<H} gamma^t R(s_t, a_t) + gamma^H g(s_H)]``; ``gamma = 1``
    is allowed. The answer is exact (``bound = 0``).

    Parameters
    ----------
    mdp : FiniteMDP
    horizon : int, optional
        Number of decision epochs ``H`` (default ``mdp.horizon``).
    terminal : ndarray, shape (S,), optional
        Terminal reward ``g`` (default zero).

    Returns
    -------
    Solution
        ``v`` of shape ``(H+1, S)``, ``q`` of shape ``(H, S, A)``, ``policy`` of shape
        ``(H, S)``: row ``t`` is the decision rule at epoch ``t``.

    Raises
    ------
    SizeLimitError
        When ``v``, ``q`` and the policy (``8 ((H+1) S + H S A + H S)`` bytes) exceed
        :func:`theory_rl.max_bytes`, before they are allocated.
    """
    H = mdp.horizon if horizon is None else horizon
    if H is None or isinstance(H, bool) or not isinstance(H, (int, np.integer)) or H < 1:
        raise InvalidModelError(f"horizon = {H!r}: backward induction needs a positive integer horizon")
    S, A = mdp.n_states, mdp.n_actions
    # v (H+1, S), q (H, S, A), policy (H, S): refused before allocating when above the limit
    check_allocation(8 * ((int(H) + 1) * S + int(H) * S * A + int(H) * S),
                     f"backward induction with horizon H = {int(H)}, S = {S}, A = {A} (v, q and the policy)")
    with Timer() as timer:
        P2 = mdp.transition_matrix
        r = effective_rewards(mdp)
        v = np.zeros((H + 1, S))
        if terminal is not None:
            v[H] = as_value(mdp, terminal, "terminal")
        q = np.empty((H, S, A))
        policy = np.empty((H, S), dtype=np.int64)
        for t in range(H - 1, -1, -1):
            q[t] = (r + mdp.gamma * (P2 @ v[t + 1])).reshape(S, A)
            policy[t] = q[t].argmax(axis=1)
            v[t] = q[t][np.arange(S), policy[t]]
    return Solution(
        v=v, q=q, policy=policy, converged=True, n_iter=int(H), residual=0.0, bound=0.0,
        lower=None, upper=None, history=np.zeros(0), method="backward_induction",
        params={"horizon": int(H)}, elapsed=timer.elapsed,
    )
