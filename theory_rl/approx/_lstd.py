r"""LSTD(0) and LSTD(lambda): the fixed point ``Phi w = Pi_D T_pi (Phi w)`` of the projected Bellman
equation in closed form, ``w = A^+ b`` (Bradtke & Barto 1996, Machine Learning 22; Boyan 2002,
Machine Learning 49; Tsitsiklis & Van Roy 1997, IEEE TAC 42).

On :func:`~theory_rl.approx.model_transitions` data with one-hot features it returns the exact ``v_pi``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._iterative import Timer
from .._torch import device_and_dtype, require_torch, to_numpy
from .._validation import (
    check_gamma,
    check_real,
)
from ..errors import InvalidModelError
from ._linear_common import (
    LinearResult,
    _defaults,
    _solve,
    _tensors,
)

__all__ = ["lstd"]


def lstd(
    phi: Any,
    rewards: Any,
    phi_next: Any,
    *,
    gamma: float,
    lam: float = 0.0,
    dones: Any = None,
    weights: Any = None,
    episode_starts: Any = None,
    ridge: float = 0.0,
    device: Any = "auto",
    dtype: Any = None,
) -> LinearResult:
    r"""Least-squares temporal difference, LSTD(0) (Bradtke & Barto 1996) and LSTD(lambda) (Boyan 2002).

    With eligibility traces ``z_t = gamma lambda z_{t-1} + phi_t`` (reset at episode starts),

    .. math::
        A = \sum_t w_t\, z_t (\phi_t - \gamma \phi_{t+1})^\top, \qquad
        b = \sum_t w_t\, z_t r_t, \qquad \hat w = A^{+} b,

    the TD(lambda) fixed point of the data: ``sum_t z_t delta_t(w) = 0``. For ``lambda = 0``
    (``z_t = phi_t``) and data weighted by ``D = diag(mu)`` over the transitions of ``pi``
    (:func:`model_transitions`), ``A = Phi^T D (I - gamma P_pi) Phi`` and
    ``b = Phi^T D r_pi``: the projected Bellman fixed point
    ``Phi w = Pi_D T_pi (Phi w)`` (Tsitsiklis & Van Roy 1997), equal to ``v_pi`` when the features
    are one-hot. With ``weights`` set to importance ratios ``pi(a|s)/b(a|s)`` it is off-policy
    LSTD(0). ``A^+`` is the pseudo-inverse, so a singular ``A`` (more features than the data
    identify, as in Baird's counterexample) gives the minimum-norm solution instead of a failure.

    Parameters
    ----------
    phi, phi_next : array, shape (N, d)
        ``phi(s_t)``, ``phi(s_{t+1})``; for ``lam > 0`` the rows must be consecutive steps of
        trajectories (``episode_starts[t]`` true where a new one begins; row 0 always starts one).
    rewards : array, shape (N,)
    gamma : float
    lam : float in [0, 1]
    dones : array, shape (N,), optional
        1 where ``s_{t+1}`` is terminal (its value is 0).
    weights : array, shape (N,), optional
        Per-transition weights (``lam = 0`` only).
    ridge : float
        Adds ``ridge * I`` to ``A``.
    device, dtype
        Torch device and dtype (default float64).

    Returns
    -------
    LinearResult
        ``w``; ``info["A"]``, ``info["b"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import approx, envs, tabular
    >>> mdp, uniform = envs.random_mdp(3, 2, seed=0), np.full((3, 2), 0.5)
    >>> data = approx.model_transitions(mdp, policy=uniform)           # population data: LSTD's fixed point
    >>> res = approx.lstd(np.eye(3)[data["states"]], data["rewards"], np.eye(3)[data["next_states"]], gamma=mdp.gamma,
    ...                   weights=data["weights"], device="cpu")
    >>> bool(np.allclose(res.w, tabular.policy_value(mdp, uniform)))    # tabular features: exact
    True
    """
    torch = require_torch()
    gamma = check_gamma(gamma)
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    if lam > 0 and weights is not None:
        raise InvalidModelError("weights (importance ratios) are supported for lam = 0 only")
    ridge = check_real(ridge, "ridge", low=0.0)
    dev, dtype = device_and_dtype(device, dtype)
    with Timer() as timer:
        t = _tensors(dev, dtype, phi=phi, rewards=rewards, phi_next=phi_next, dones=dones, weights=weights)
        w, cont = _defaults(t, torch)
        Phi, Phi2 = t["phi"], t["phi_next"]
        if Phi.ndim != 2 or Phi2.shape != Phi.shape:
            raise InvalidModelError(f"phi {tuple(Phi.shape)} and phi_next {tuple(Phi2.shape)} must both have shape (N, d)")
        if lam > 0:
            from scipy.signal import lfilter

            phi_np = to_numpy(Phi)
            starts = np.zeros(len(phi_np), dtype=bool) if episode_starts is None else np.asarray(episode_starts, dtype=bool).copy()
            starts[0] = True
            bounds = np.append(np.flatnonzero(starts), len(phi_np))
            Z = np.concatenate([lfilter([1.0], [1.0, -gamma * lam], phi_np[a:b], axis=0) for a, b in zip(bounds[:-1], bounds[1:])])
            Zt = torch.as_tensor(Z, dtype=dtype, device=dev)
        else:
            Zt = Phi
        Zw = Zt * w.unsqueeze(1)
        A = Zw.T @ (Phi - gamma * cont.unsqueeze(1) * Phi2)
        b = Zw.T @ t["rewards"]
        weights_hat = _solve(A, b, ridge)
    return LinearResult(w=to_numpy(weights_hat), converged=True, n_iter=1, history=np.empty(0),
                        method="lstd", params={"gamma": gamma, "lam": lam, "ridge": ridge, "device": str(dev)},
                        elapsed=timer.elapsed, info={"A": to_numpy(A), "b": to_numpy(b)})
