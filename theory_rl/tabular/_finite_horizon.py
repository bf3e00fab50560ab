"""Finite-horizon dynamic programming."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._iterative import Timer
from .._validation import check_allocation, check_int, check_work
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ._bellman import as_value, effective_rewards
from ._certificate import measure_rounding, round_up
from ._solution import Solution

__all__ = ["backward_induction"]

_STAGE_OVERHEAD = 100_000
"""The fixed cost of one stage of backward induction (a dozen numpy calls), in elementary operations."""


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
    is allowed. The recursion is exact in rational arithmetic; ``bound`` is the certified floating-
    point error ``max_t ||v[t] - v_t||_inf``, from ``e_H = 0`` and
    ``e_t = delta_t + gamma (1 + rho) e_{t+1}`` with ``delta_t`` one backup's forward error
    (see :func:`~theory_rl.tabular.certify`).

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
        :func:`theory_rl.max_bytes`, before they are allocated; or when the ``H`` stages (about
        ``H (nnz(P) + 2 S A + 10^5)`` operations, the last term for the fixed cost of a stage) exceed
        :func:`theory_rl.max_work` (default ``2e10``, about a minute; ``theory_rl.set_max_work`` or
        ``THEORY_RL_MAX_WORK`` raise it), before the first stage.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.chain(4, gamma=0.9)
    >>> sol = tabular.backward_induction(mdp, horizon=3)
    >>> np.round(sol.v, 4)
    array([[ 4.336 ,  5.7971, 11.5571, 19.5571],
           [ 3.04  ,  3.04  ,  6.736 , 14.736 ],
           [ 1.6   ,  1.6   ,  1.6   ,  8.4   ],
           [ 0.    ,  0.    ,  0.    ,  0.    ]])
    >>> sol.policy.shape
    (3, 4)
    """
    if horizon is None:
        if mdp.horizon is None:
            raise InvalidModelError("backward induction needs a horizon: pass horizon= or build the model with one")
        H = check_int(mdp.horizon, "mdp.horizon")
    else:
        H = check_int(horizon, "horizon")
    S, A = mdp.n_states, mdp.n_actions
    check_allocation(8 * ((H + 1) * S + 2 * H * S * A + H * S), f"backward_induction (horizon {H}, {S} states, {A} actions)")
    # memory is bounded above, time is not: H stages of one backup each (nnz(P) + S A operations, plus
    # the fixed cost of a dozen numpy calls, counted as 10^5 operations)
    P2 = mdp.transition_matrix
    nnz = P2.nnz if sp.issparse(P2) else S * A * S
    check_work(H * (nnz + 2 * S * A + _STAGE_OVERHEAD), f"backward_induction (horizon {H}, {S} states, {A} actions)")
    with Timer() as timer:
        r = effective_rewards(mdp)
        v = np.zeros((H + 1, S))
        if terminal is not None:
            v[H] = as_value(mdp, terminal, "terminal")
        q = np.empty((H, S, A))
        policy = np.empty((H, S), dtype=np.int64)
        model = measure_rounding(P2, r, mdp.gamma)
        growth = mdp.gamma * (1.0 + model.row_defect)
        error = 0.0  # certified max_s |v[t] - exact v_t| (the terminal values are exact)
        for t in range(H - 1, -1, -1):
            q[t] = (r + mdp.gamma * (P2 @ v[t + 1])).reshape(S, A)
            policy[t] = q[t].argmax(axis=1)
            v[t] = q[t][np.arange(S), policy[t]]
            # one stage's forward error plus the propagated error of v[t + 1] (Higham 2002, §3.1)
            error = round_up(model.backup_error(float(np.max(np.abs(v[t + 1])))) + growth * error)
    return Solution(
        v=v, q=q, policy=policy, converged=True, n_iter=int(H), residual=0.0, bound=error,
        lower=None, upper=None, history=np.zeros(0), method="backward_induction",
        params={"horizon": int(H)}, elapsed=timer.elapsed,
    )
