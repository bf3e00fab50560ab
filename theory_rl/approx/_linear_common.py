r"""What the linear value-function methods share: their result type, finite models as weighted
transition data, and the validated torch tensors of that data (float64 by default).

The methods are :func:`~theory_rl.approx.lstd` (``_lstd.py``), :func:`~theory_rl.approx.lspi`
(``_lspi.py``), :func:`~theory_rl.approx.fitted_q_iteration` (``_fqi.py``) and
:func:`~theory_rl.approx.semi_gradient_td` (``_semi_gradient_td.py``).

Every method works on *transition data* given as feature arrays, so the same code serves a
tabular model (one-hot features, the "expected" data set of :func:`model_transitions`, where each
method reproduces the exact tabular answer) and sampled trajectories from any environment:

- ``phi[i]``: features ``phi(s_i)`` (or ``phi(s_i, a_i)`` for the Q methods), shape ``(N, d)``;
- ``rewards[i]``, ``phi_next[i]`` (``(N, d)``, or ``(N, A, d)`` with every next action for the
  control methods), ``dones[i]`` (terminal: no bootstrap), ``weights[i]`` (a data distribution
  or importance ratios; default 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._result import History, Result, as_history
from .._torch import require_torch
from .._validation import (
    as_float_array,
)
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ..tabular import as_policy

__all__ = ["LinearResult", "model_transitions"]


@dataclass(frozen=True, repr=False, eq=False)
class LinearResult(Result):
    """Weights of a linear approximation ``v(s) = phi(s)^T w`` (or ``q(s, a) = phi(s, a)^T w``).

    ``history`` holds the method's progress measure per iteration (documented by each method), a
    one-column :class:`~theory_rl._result.History` named ``progress`` that reads as the 1-D array;
    ``info`` method-specific extras (e.g. ``A``, ``b`` for LSTD, ``policy`` for LSPI).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import approx
    >>> res = approx.lstd(np.eye(2), np.array([1.0, 0.0]), np.eye(2)[[1, 0]], gamma=0.5, device="cpu")   # 2-cycle
    >>> type(res).__name__, res.converged, np.round(res.w, 6).tolist()
    ('LinearResult', True, [1.333333, 0.666667])
    """

    w: np.ndarray
    converged: bool
    n_iter: int
    history: History
    info: dict = field(default_factory=dict)

    _repr_fields = ("method", "converged", "n_iter", "w")

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", as_history(self.history, "progress"))


def model_transitions(mdp: FiniteMDP, policy: Any = None, *, weighting: Any = None) -> dict[str, np.ndarray]:
    r"""Every transition ``(s, a, s')`` of a finite model with its probability weight, as data.

    The weight is ``mu(s) pi(a|s) P(s'|s, a)``, with ``mu = weighting`` (default uniform over
    states) and ``pi = policy`` (default uniform over the available actions). Sums over this data
    are the expectations that the sample-based methods estimate, so every method run on it
    gives its population (infinite-data) answer.

    Returns
    -------
    dict with int arrays ``states``, ``actions``, ``next_states`` and float arrays ``weights``,
    ``rewards`` (``R[s, a]``), all of shape ``(N,)`` with ``N`` the number of non-zero
    transitions of the policy.

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> data = approx.model_transitions(envs.random_mdp(3, 2, seed=0))
    >>> sorted(data), round(float(data["weights"].sum()), 9)
    (['actions', 'next_states', 'rewards', 'states', 'weights'], 1.0)
    """
    S, A = mdp.n_states, mdp.n_actions
    if policy is None:
        pi = np.ones((S, A)) if mdp.action_mask is None else mdp.action_mask.astype(float)
        pi = pi / pi.sum(axis=1, keepdims=True)
    else:
        pi = as_policy(mdp, policy)
        if pi.ndim == 1:
            pi = np.eye(A)[pi]
    mu = np.full(S, 1.0 / S) if weighting is None else as_float_array(weighting, "weighting", ndim=1)
    if mu.shape != (S,) or (mu < 0).any():
        raise InvalidModelError(f"weighting must be non-negative with shape ({S},), got shape {mu.shape}")
    P = np.asarray(mdp.to_dense().P)
    W = mu[:, None, None] * pi[:, :, None] * P
    s, a, s2 = np.nonzero(W)
    return {"states": s, "actions": a, "next_states": s2, "weights": W[s, a, s2],
            "rewards": np.asarray(mdp.R)[s, a]}


def _tensors(dev: Any, dtype: Any, **arrays: Any) -> dict[str, Any]:
    torch = require_torch()
    out = {}
    for name, x in arrays.items():
        if x is None:
            out[name] = None
            continue
        arr = as_float_array(x, name)
        if not np.isfinite(arr).all():
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise InvalidModelError(f"{name}[{', '.join(map(str, idx))}] is not finite")
        out[name] = torch.as_tensor(arr, dtype=dtype, device=dev)
    N = out["phi"].shape[0]
    for name, t in out.items():
        if t is not None and t.shape[0] != N:
            raise InvalidModelError(f"{name} has {t.shape[0]} rows, expected {N} (one per transition)")
    return out


def _next_mask(next_action_mask: Any, shape: tuple[int, ...], dev: Any) -> Any:
    """Validate ``next_action_mask`` (``(N, A)`` bool, at least one true per row) into a tensor."""
    if next_action_mask is None:
        return None
    torch = require_torch()
    mask = np.asarray(next_action_mask, dtype=bool)
    if mask.shape != tuple(shape):
        raise InvalidModelError(f"next_action_mask has shape {mask.shape}, expected {tuple(shape)}")
    if not mask.any(axis=1).all():
        raise InvalidModelError(f"next_action_mask[{int(np.argmin(mask.any(axis=1)))}] allows no action")
    return torch.as_tensor(mask, device=dev)


def _defaults(t: dict[str, Any], torch: Any) -> tuple[Any, Any]:
    N = t["phi"].shape[0]
    ones = torch.ones(N, dtype=t["phi"].dtype, device=t["phi"].device)
    w = ones if t.get("weights") is None else t["weights"]
    cont = ones if t.get("dones") is None else 1.0 - t["dones"]
    return w, cont


def _control_data(dev: Any, dtype: Any, phi_sa: Any, rewards: Any, phi_next_all: Any, dones: Any, weights: Any,
                  next_action_mask: Any) -> tuple[dict[str, Any], Any, Any, Any]:
    """Validated tensors of the Q methods (LSPI, FQI): ``(t, Zw, cont, mask)`` with ``t`` the data
    (``t["phi_next"]`` of shape ``(N, A, d)``), ``Zw[i] = w_i phi(s_i, a_i)``, ``cont[i] = 1 - done_i``
    and the validated ``next_action_mask`` (or None)."""
    torch = require_torch()
    t = _tensors(dev, dtype, phi=phi_sa, rewards=rewards, phi_next=phi_next_all, dones=dones, weights=weights)
    wts, cont = _defaults(t, torch)
    Phi, Phi2 = t["phi"], t["phi_next"]
    if Phi2.ndim != 3 or Phi2.shape[2] != Phi.shape[1]:
        raise InvalidModelError(f"phi_next_all must have shape (N, A, {Phi.shape[1]}), got {tuple(Phi2.shape)}")
    return t, Phi * wts.unsqueeze(1), cont, _next_mask(next_action_mask, Phi2.shape[:2], dev)


def _solve(A: Any, b: Any, ridge: float) -> Any:
    """``A^+ b`` (minimum-norm least squares: finite also when ``A`` is singular), after adding
    ``ridge * I``."""
    torch = require_torch()
    if ridge:
        A = A + ridge * torch.eye(A.shape[0], dtype=A.dtype, device=A.device)
    return torch.linalg.pinv(A) @ b




def _greedy_next(phi_next_all: Any, w: Any, mask: Any = None) -> tuple[Any, Any]:
    """``(argmax_a phi(s', a)^T w, phi(s', that action))`` for every row (lowest index on ties),
    over the actions where ``mask`` (``(N, A)`` bool) is true."""
    q = phi_next_all @ w
    if mask is not None:
        q = q.masked_fill(~mask, float("-inf"))
    actions = q.argmax(dim=1)
    index = actions.view(-1, 1, 1).expand(-1, 1, phi_next_all.shape[2])
    return actions, phi_next_all.gather(1, index).squeeze(1)










