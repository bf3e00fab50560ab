r"""Linear value-function approximation: LSTD(0)/LSTD(lambda), LSPI, fitted Q-iteration and
semi-gradient TD, on torch (float64 by default), plus Baird's counterexample.

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

from .._iterative import Timer, finish_iterative
from .._result import History, Result, ResultMixin, as_history
from .._torch import device_and_dtype, require_torch, to_numpy
from .._validation import (
    as_float_array,
    check_bool,
    check_choice,
    check_gamma,
    check_int,
    check_real,
    check_tol,
    rng_from_seed,
)
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ..tabular import as_policy

__all__ = [
    "BairdCounterexample",
    "LinearResult",
    "baird_counterexample",
    "fitted_q_iteration",
    "lspi",
    "lstd",
    "model_transitions",
    "semi_gradient_td",
]


@dataclass(frozen=True, repr=False, eq=False)
class LinearResult(Result):
    """Weights of a linear approximation ``v(s) = phi(s)^T w`` (or ``q(s, a) = phi(s, a)^T w``).

    ``history`` holds the method's progress measure per iteration (documented by each method), a
    one-column :class:`~theory_rl._result.History` named ``progress`` that reads as the 1-D array;
    ``info`` method-specific extras (e.g. ``A``, ``b`` for LSTD, ``policy`` for LSPI).
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


def _greedy_next(phi_next_all: Any, w: Any, mask: Any = None) -> tuple[Any, Any]:
    """``(argmax_a phi(s', a)^T w, phi(s', that action))`` for every row (lowest index on ties),
    over the actions where ``mask`` (``(N, A)`` bool) is true."""
    q = phi_next_all @ w
    if mask is not None:
        q = q.masked_fill(~mask, float("-inf"))
    actions = q.argmax(dim=1)
    index = actions.view(-1, 1, 1).expand(-1, 1, phi_next_all.shape[2])
    return actions, phi_next_all.gather(1, index).squeeze(1)


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
      converges to ``v_pi``; off-policy it can diverge (:func:`baird_counterexample`).

    Returns
    -------
    LinearResult
        ``history[k] = ||w_k||_2`` after step ``k`` (recorded every step for ``"expected"``, every
        ``max(1, n_steps // 1000)`` steps otherwise).
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


@dataclass(frozen=True, repr=False, eq=False)
class BairdCounterexample(ResultMixin):
    r"""Baird's (1995) seven-state star MDP (Sutton & Barto 2018, Example 11.1).

    Actions: ``0 = dashed`` (to one of the upper states 0..5, uniformly), ``1 = solid`` (to the
    lower state 6). All rewards are 0, so ``v_pi = 0`` and ``w = 0`` represents it exactly.
    Features (8 of them): ``phi(i) = 2 e_i + e_7`` for ``i < 6``, ``phi(6) = e_6 + 2 e_7``.
    Behaviour ``b``: dashed w.p. 6/7 (so its state distribution is uniform); target ``pi``: solid.
    """

    mdp: FiniteMDP
    features: np.ndarray
    behavior: np.ndarray
    target: np.ndarray
    w0: np.ndarray

    _repr_fields = ("features",)

    def trajectory(self, n_steps: int, *, seed: Any = None) -> dict[str, np.ndarray]:
        """``n_steps`` behaviour-policy transitions with ``phi``, ``phi_next``, ``rewards`` and the
        importance ratios ``rho = pi(a|s)/b(a|s)`` (7 for solid, 0 for dashed)."""
        rng = rng_from_seed(seed)
        s = np.empty(n_steps + 1, dtype=np.int64)
        s[0] = rng.integers(7)
        a = (rng.random(n_steps) < self.behavior[0, 1]).astype(np.int64)
        upper = rng.integers(0, 6, size=n_steps)
        s[1:] = np.where(a == 1, 6, upper)
        rho = self.target[s[:-1], a] / self.behavior[s[:-1], a]
        return {"phi": self.features[s[:-1]], "phi_next": self.features[s[1:]], "rewards": np.zeros(n_steps),
                "weights": rho, "states": s[:-1], "actions": a}


def baird_counterexample(*, gamma: float = 0.99) -> BairdCounterexample:
    """Baird's counterexample: off-policy semi-gradient TD diverges on it (see :class:`BairdCounterexample`)."""
    P = np.zeros((7, 2, 7))
    P[:, 0, :6] = 1.0 / 6.0
    P[:, 1, 6] = 1.0
    features = np.zeros((7, 8))
    features[np.arange(6), np.arange(6)] = 2.0
    features[:6, 7] = 1.0
    features[6, 6], features[6, 7] = 1.0, 2.0
    behavior = np.tile([6.0 / 7.0, 1.0 / 7.0], (7, 1))
    target = np.tile([0.0, 1.0], (7, 1))
    return BairdCounterexample(mdp=FiniteMDP(P, np.zeros((7, 2)), gamma), features=features, behavior=behavior,
                               target=target, w0=np.array([1, 1, 1, 1, 1, 1, 10, 1], dtype=float))
