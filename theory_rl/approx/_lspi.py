r"""LSPI: policy iteration with LSTDQ policy evaluation on linear features (Lagoudakis & Parr 2003,
JMLR 4).

On :func:`~theory_rl.approx.model_transitions` data with one-hot features it is exact policy iteration.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._iterative import Timer, finish_iterative
from .._torch import device_and_dtype, require_torch, to_numpy
from .._validation import (
    check_bool,
    check_gamma,
    check_int,
    check_real,
)
from ._linear_common import (
    LinearResult,
    _control_data,
    _greedy_next,
    _solve,
)

__all__ = ["lspi"]


def lspi(
    phi_sa: Any,
    rewards: Any,
    phi_next_all: Any,
    *,
    gamma: float,
    dones: Any = None,
    weights: Any = None,
    next_action_mask: Any = None,
    max_iter: int = 100,
    ridge: float = 0.0,
    device: Any = "auto",
    dtype: Any = None,
    strict: bool = False,
) -> LinearResult:
    r"""Least-squares policy iteration (Lagoudakis & Parr 2003, JMLR 4).

    Policy evaluation by LSTDQ on a fixed batch, then greedy improvement, repeated:

    .. math::
        A_k = \sum_i w_i \phi(s_i, a_i) \big(\phi(s_i, a_i) - \gamma \phi(s'_i, \pi_k(s'_i))\big)^\top,
        \quad b = \sum_i w_i \phi(s_i, a_i) r_i, \quad \theta_k = A_k^{+} b,
        \quad \pi_{k+1}(s) = \arg\max_a \phi(s, a)^\top \theta_k .

    Stops when the greedy policy on the batch's next states repeats (``converged=True``). With
    one-hot ``(s, a)`` features and the full-support model data of :func:`model_transitions`
    LSTDQ is exact, so LSPI *is* policy iteration and ends at ``Q*`` (tested). With general
    features it may oscillate (no monotonicity); ``max_iter`` caps it.

    Parameters
    ----------
    phi_sa : array, shape (N, d)
        ``phi(s_i, a_i)``.
    phi_next_all : array, shape (N, A, d)
        ``phi(s'_i, a)`` for every action ``a``.
    next_action_mask : array of bool, shape (N, A), optional
        Actions available in ``s'_i`` (default all): the greedy step maximises over these only.
    rewards, dones, weights, gamma, ridge, device, dtype
        As in :func:`lstd`.

    Returns
    -------
    LinearResult
        ``w = theta``; ``history[k]`` the number of next states whose greedy action changed.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import approx, envs, tabular
    >>> mdp, phi = envs.chain(4, gamma=0.9), np.eye(8).reshape(4, 2, 8)        # one-hot phi[s, a]
    >>> data = approx.model_transitions(mdp)
    >>> res = approx.lspi(phi[data["states"], data["actions"]], data["rewards"], phi[data["next_states"]],
    ...                   gamma=mdp.gamma, weights=data["weights"], device="cpu")
    >>> res.converged, res.w.reshape(4, 2).argmax(axis=1).tolist() == tabular.policy_iteration(mdp).policy.tolist()
    (True, True)
    """
    torch = require_torch()
    gamma = check_gamma(gamma)
    max_iter, ridge = check_int(max_iter, "max_iter"), check_real(ridge, "ridge", low=0.0)
    strict = check_bool(strict, "strict")
    dev, dtype = device_and_dtype(device, dtype)
    with Timer() as timer:
        t, Zw, cont, mask = _control_data(dev, dtype, phi_sa, rewards, phi_next_all, dones, weights, next_action_mask)
        Phi, Phi2 = t["phi"], t["phi_next"]
        b = Zw.T @ t["rewards"]
        theta = torch.zeros(Phi.shape[1], dtype=dtype, device=dev)
        actions, nxt = _greedy_next(Phi2, theta, mask)
        history, converged, k = [], False, 0
        for k in range(1, max_iter + 1):  # noqa: B007 - k is the count reported
            A = Zw.T @ (Phi - gamma * cont.unsqueeze(1) * nxt)
            theta = _solve(A, b, ridge)
            new_actions, nxt = _greedy_next(Phi2, theta, mask)
            changed = int((new_actions != actions).sum())
            history.append(changed)
            actions = new_actions
            if changed == 0:
                converged = True
                break
        finish_iterative(method="lspi", converged=converged, strict=strict, n_iter=k, cap=max_iter, tol=0.0,
                         reason=f"the greedy policy still changed after max_iter={max_iter} iterations")
    return LinearResult(w=to_numpy(theta), converged=converged, n_iter=k, history=np.asarray(history), method="lspi",
                        params={"gamma": gamma, "max_iter": max_iter, "ridge": ridge, "device": str(dev)},
                        elapsed=timer.elapsed, info={"next_actions": to_numpy(actions)})
