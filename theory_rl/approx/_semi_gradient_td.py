r"""Semi-gradient TD(0) with linear features, ``w <- w + alpha rho (r + gamma phi'^T w - phi^T w) phi``,
sampled or expected updates (Sutton 1988; Sutton & Barto 2018, Sections 9.3 and 11.1); off-policy
with importance ratios it can diverge (Baird 1995, :func:`theory_rl.envs.baird_counterexample`).

Expected updates on :func:`~theory_rl.approx.model_transitions` data reach the TD fixed point.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._iterative import Timer
from .._torch import device_and_dtype, require_torch, to_numpy
from .._validation import (
    as_float_array,
    check_choice,
    check_gamma,
    check_int,
    check_real,
    rng_from_seed,
)
from ..errors import InvalidModelError
from ._linear_common import (
    LinearResult,
    _defaults,
    _tensors,
)

__all__ = ["semi_gradient_td"]


def semi_gradient_td(
    phi: Any,
    rewards: Any,
    phi_next: Any,
    *,
    gamma: float,
    step_size: float,
    n_steps: int,
    dones: Any = None,
    weights: Any = None,
    mode: str = "online",
    w0: Any = None,
    seed: Any = None,
    device: Any = "auto",
    dtype: Any = None,
) -> LinearResult:
    r"""Semi-gradient TD(0) with linear features (Sutton 1988; Sutton & Barto 2018, §9.3, §11.1).

    .. math::
        w \leftarrow w + \alpha\, \rho_i \big(r_i + \gamma \phi(s'_i)^\top w - \phi(s_i)^\top w\big)\, \phi(s_i),

    with ``rho_i = weights[i]`` (importance ratio ``pi/b`` off-policy; 1 on-policy).

    - ``mode="online"``: ``n_steps`` single-transition updates, visiting the rows in order
      (wrapping around): on trajectory data this is TD(0) as run online.
    - ``mode="sampled"``: each step uses a row drawn with probability proportional to
      ``weights`` (then ``rho = 1``): SGD on model data.
    - ``mode="expected"``: ``n_steps`` full-batch expected updates
      ``w += alpha * sum_i rho_i delta_i phi_i`` (the deterministic "expected TD" of Sutton &
      Barto Fig. 11.2). On-policy with one-hot features and a small enough ``alpha`` it
      converges to ``v_pi``; off-policy it can diverge (:func:`~theory_rl.envs.baird_counterexample`).

    Returns
    -------
    LinearResult
        ``history[k] = ||w_k||_2`` after step ``k`` (recorded every step for ``"expected"``, every
        ``max(1, n_steps // 1000)`` steps otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import approx
    >>> phi, reward, phi_next = np.eye(2), np.array([1.0, 0.0]), np.eye(2)[[1, 0]]   # a deterministic 2-cycle
    >>> res = approx.semi_gradient_td(phi, reward, phi_next, gamma=0.5, mode="expected", step_size=0.5, n_steps=500,
    ...                               device="cpu")
    >>> np.round(res.w, 6).tolist()                                    # v0 = 1 + v1 / 2, v1 = v0 / 2
    [1.333333, 0.666667]
    """
    torch = require_torch()
    gamma = check_gamma(gamma)
    check_choice(mode, "mode", ("online", "sampled", "expected"))
    step_size = check_real(step_size, "step_size", low=0.0, low_open=True)
    n_steps = check_int(n_steps, "n_steps")
    dev, dtype = device_and_dtype(device, dtype)
    with Timer() as timer:
        t = _tensors(dev, dtype, phi=phi, rewards=rewards, phi_next=phi_next, dones=dones, weights=weights)
        rho, cont = _defaults(t, torch)
        Phi, Phi2, r = t["phi"], t["phi_next"], t["rewards"]
        N, d = Phi.shape
        w = torch.zeros(d, dtype=dtype, device=dev) if w0 is None else torch.as_tensor(
            as_float_array(w0, "w0", ndim=1), dtype=dtype, device=dev).clone()
        if w.shape != (d,):
            raise InvalidModelError(f"w0 has shape {tuple(w.shape)}, expected ({d},)")
        history = []
        every = 1 if mode == "expected" else max(1, n_steps // 1000)
        if mode == "expected":
            for _ in range(n_steps):
                delta = r + gamma * cont * (Phi2 @ w) - Phi @ w
                w = w + step_size * (Phi.T @ (rho * delta))
                history.append(float(torch.linalg.vector_norm(w)))
        else:
            if mode == "sampled":
                p = to_numpy(rho).astype(float)
                order = rng_from_seed(seed).choice(N, size=n_steps, p=p / p.sum())
                rho_used = np.ones(n_steps)
            else:
                order = np.arange(n_steps) % N
                rho_used = to_numpy(rho)[order]
            # the loop runs on numpy scalars per step: per-transition updates are latency-bound
            Phi_np, Phi2_np, r_np, c_np = (to_numpy(x) for x in (Phi, Phi2, r, cont))
            w_np = to_numpy(w).copy()
            for k, (i, ratio) in enumerate(zip(order, rho_used), start=1):
                delta = r_np[i] + gamma * c_np[i] * Phi2_np[i] @ w_np - Phi_np[i] @ w_np
                w_np += step_size * ratio * delta * Phi_np[i]
                if k % every == 0:
                    history.append(float(np.linalg.norm(w_np)))
            w = torch.as_tensor(w_np, dtype=dtype, device=dev)
    return LinearResult(w=to_numpy(w), converged=bool(np.isfinite(to_numpy(w)).all()), n_iter=n_steps,
                        history=np.asarray(history), method="semi_gradient_td",
                        params={"gamma": gamma, "step_size": step_size, "mode": mode, "device": str(dev)},
                        elapsed=timer.elapsed)
