r"""Fitted Q-iteration with a linear regressor: ``w_{k+1} = argmin_w sum_i w_i (phi_i^T w - y_i)^2``
with targets ``y_i = r_i + gamma max_a phi(s'_i, a)^T w_k`` (Ernst, Geurts & Wehenkel 2005, JMLR 6;
Munos & Szepesvari 2008, JMLR 9, for its error propagation).

On :func:`~theory_rl.approx.model_transitions` data with one-hot features it is exact value iteration.
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
    check_tol,
)
from ._linear_common import (
    LinearResult,
    _control_data,
)

__all__ = ["fitted_q_iteration"]


def fitted_q_iteration(
    phi_sa: Any,
    rewards: Any,
    phi_next_all: Any,
    *,
    gamma: float,
    dones: Any = None,
    weights: Any = None,
    next_action_mask: Any = None,
    tol: float = 1e-8,
    max_iter: int = 10_000,
    ridge: float = 0.0,
    device: Any = "auto",
    dtype: Any = None,
    strict: bool = False,
) -> LinearResult:
    r"""Fitted Q-iteration with a linear regressor (Ernst, Geurts & Wehenkel 2005, JMLR 6;
    Munos & Szepesvari 2008 for its error propagation).

    .. math::
        \theta_{k+1} = \arg\min_\theta \sum_i w_i \big(\phi(s_i, a_i)^\top \theta - r_i
            - \gamma \max_{a'} \phi(s'_i, a')^\top \theta_k\big)^2 ,

    one weighted least-squares solve per iteration (the Gram matrix is factorised once). The
    update is the projected Bellman optimality operator ``Pi_D T``. With one-hot features and
    model data it is value iteration on ``Q`` and stops by the same sup-norm rule
    ``||Q_{k+1} - Q_k|| < tol (1-gamma)/(2 gamma)`` (measured on the data); with general
    features ``Pi_D T`` need not contract and the iteration may not converge (``max_iter``,
    ConvergenceWarning). ``next_action_mask`` (``(N, A)`` bool) restricts the max to the
    actions available in ``s'_i``.

    Returns
    -------
    LinearResult
        ``history[k]`` = ``max_i |phi_i^T (theta_{k+1} - theta_k)|``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import approx, envs, tabular
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> data, phi = approx.model_transitions(mdp), np.eye(6)                  # one-hot (s, a) features: tabular
    >>> res = approx.fitted_q_iteration(phi[data["states"] * 2 + data["actions"]], data["rewards"],
    ...                                 phi.reshape(3, 2, 6)[data["next_states"]], gamma=mdp.gamma,
    ...                                 weights=data["weights"], tol=1e-10, device="cpu")
    >>> bool(np.abs(res.w.reshape(3, 2) - tabular.q_values(mdp, tabular.value_iteration(mdp, tol=1e-12).v)).max() < 1e-6)
    True
    """
    torch = require_torch()
    gamma = check_gamma(gamma)
    tol, max_iter = check_tol(tol), check_int(max_iter, "max_iter")
    ridge, strict = check_real(ridge, "ridge", low=0.0), check_bool(strict, "strict")
    dev, dtype = device_and_dtype(device, dtype)
    with Timer() as timer:
        t, Zw, cont, mask = _control_data(dev, dtype, phi_sa, rewards, phi_next_all, dones, weights, next_action_mask)
        Phi, Phi2 = t["phi"], t["phi_next"]
        G = Zw.T @ Phi
        if ridge:
            G = G + ridge * torch.eye(G.shape[0], dtype=dtype, device=dev)
        G_pinv = torch.linalg.pinv(G)
        theta = torch.zeros(Phi.shape[1], dtype=dtype, device=dev)
        history, converged, k = [], False, 0
        threshold = tol * (1 - gamma) / (2 * gamma) if gamma > 0 else np.inf
        for k in range(1, max_iter + 1):  # noqa: B007 - k is the count reported
            q_next = Phi2 @ theta
            if mask is not None:
                q_next = q_next.masked_fill(~mask, float("-inf"))
            target = t["rewards"] + gamma * cont * q_next.amax(dim=1)
            new = G_pinv @ (Zw.T @ target)
            change = float((Phi @ (new - theta)).abs().max())
            theta = new
            history.append(change)
            if change < threshold or gamma == 0:
                converged = True
                break
        finish_iterative(method="fitted_q_iteration", converged=converged, strict=strict, n_iter=k, cap=max_iter, tol=tol)
    return LinearResult(w=to_numpy(theta), converged=converged, n_iter=k, history=np.asarray(history),
                        method="fitted_q_iteration",
                        params={"gamma": gamma, "tol": tol, "max_iter": max_iter, "ridge": ridge, "device": str(dev)},
                        elapsed=timer.elapsed)
