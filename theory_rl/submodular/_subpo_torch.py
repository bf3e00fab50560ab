r"""SubPO in torch: batched trajectories, marginal gains and the policy update on a device (CUDA when present)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._result import History
from .._torch import require_torch, resolve_device, seed_torch, to_numpy
from .._validation import check_bool, check_choice, check_int, check_real
from ..models import FiniteMDP
from ._exact import _setup, evaluate_subrl_policy
from ._set_functions import FacilityLocation, Modular, SetFunction, WeightedCoverage
from ._subpo import ESTIMATORS, EXACT_VALUE_STATES, SubPOResult

__all__ = ["subpo_torch"]


class _DeviceGains:
    """Incremental marginal gains of a batch of sets on the device (coverage, facility location and
    modular functions); any other set function is scored by its numpy ``start``/``add`` on the host."""

    def __init__(self, objective: SetFunction, device: Any, dtype: Any) -> None:
        torch = require_torch()
        self.objective, self.device, self.dtype = objective, device, dtype
        if isinstance(objective, WeightedCoverage):
            self.kind = "coverage"
            self.cover = torch.as_tensor(objective.cover, device=device)
            self.weights = torch.as_tensor(objective.weights, device=device, dtype=dtype)
        elif isinstance(objective, FacilityLocation):
            self.kind = "facility"
            self.similarity_t = torch.as_tensor(objective.similarity.T, device=device, dtype=dtype)  # (n, m)
        elif isinstance(objective, Modular):
            self.kind = "modular"
            self.weights = torch.as_tensor(objective.weights, device=device, dtype=dtype)
        else:
            self.kind = "host"

    def start(self, batch: int) -> Any:
        torch = require_torch()
        if self.kind == "coverage":
            return torch.zeros((batch, self.cover.shape[1]), dtype=torch.bool, device=self.device)
        if self.kind == "facility":
            return torch.zeros((batch, self.similarity_t.shape[1]), dtype=self.dtype, device=self.device)
        if self.kind == "modular":
            return torch.zeros((batch, self.objective.n), dtype=torch.bool, device=self.device)
        return self.objective.start(batch)

    def add(self, state: Any, elements: Any) -> Any:
        torch = require_torch()
        if self.kind == "coverage":
            rows = self.cover[elements]
            new = rows & ~state
            state |= rows
            return new.to(self.dtype) @ self.weights
        if self.kind == "facility":
            col = self.similarity_t[elements]
            new = torch.maximum(col, state)
            out = (new - state).sum(dim=1)
            state.copy_(new)
            return out
        if self.kind == "modular":
            idx = torch.arange(len(elements), device=self.device)
            out = torch.where(state[idx, elements], torch.zeros_like(self.weights[elements]), self.weights[elements])
            state[idx, elements] = True
            return out
        gains = self.objective.add(state, to_numpy(elements))
        return torch.as_tensor(gains, device=self.device, dtype=self.dtype)


def subpo_torch(mdp: FiniteMDP, objective: SetFunction, *, horizon: int, estimator: str = "reward_to_go",
                lr: float = 1.0, epochs: int = 100, batch_size: int = 100, optimizer: str = "sgd",
                theta0: np.ndarray | None = None, n_samples: int = 2000,
                seed: int | np.random.Generator | None = None, device: Any = "auto",
                progress: bool = False) -> SubPOResult:
    r"""SubPO with a Markov-on-``(s, t)`` softmax policy in torch: the same algorithm as
    :func:`subpo` (``policy="markov"``, ``variant="gradient"``) with sampling, gains and the update on ``device``.

    Each epoch samples ``batch_size`` trajectories on the device, computes the per-step signal
    ``w_i`` of ``estimator`` (see :func:`subpo_gradient`) and steps the optimiser on the surrogate
    ``-(1/N) sum_n sum_i w_i^n log pi_theta(a_i^n | s_i^n, i)``, whose gradient is minus the SubPO
    estimate. With ``optimizer="sgd"`` this is exactly :func:`subpo`'s update
    ``theta <- theta + lr * g``; ``"adam"`` is the official code's optimiser (Prajapat et al. 2024,
    arXiv:2307.13372). Coverage, facility-location and modular objectives are scored on the device;
    other set functions on the host.

    Implemented less than the paper: tabular logits (one per ``(t, s, a)``), no neural policy and no
    entropy bonus; no history-dependent or natural-gradient variant (use :func:`subpo`).

    Parameters
    ----------
    mdp, objective, horizon, estimator, lr, epochs, batch_size, theta0, n_samples, seed, progress :
        As :func:`subpo`.
    optimizer : {"sgd", "adam"}
    device : str or torch.device
        ``"auto"``: CUDA when available, else CPU.

    Returns
    -------
    SubPOResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import chain
    >>> from theory_rl.submodular import Modular, subpo_torch
    >>> res = subpo_torch(chain(4, slip=0.0), Modular(np.ones(4)), horizon=3, epochs=50, seed=0, device="cpu")
    >>> round(res.value, 2) >= 3.9
    True
    """
    start = time.perf_counter()
    torch = require_torch()
    P_np, d0_np, horizon = _setup(mdp, objective, horizon)
    estimator = check_choice(estimator, "estimator", ESTIMATORS)
    optimizer = check_choice(optimizer, "optimizer", ("sgd", "adam"))
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    epochs = check_int(epochs, "epochs")
    batch_size = check_int(batch_size, "batch_size")
    n_samples = check_int(n_samples, "n_samples")
    progress = check_bool(progress, "progress")
    dev = resolve_device(device)
    dtype = torch.float64
    S, A = P_np.shape[0], P_np.shape[1]
    gen_cpu = seed_torch(seed)
    gen = torch.Generator(device=dev)
    gen.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen_cpu)))
    P = torch.tensor(P_np, device=dev, dtype=dtype)  # a copy: the model's arrays are read-only
    d0 = torch.tensor(d0_np, device=dev, dtype=dtype)
    singles = torch.as_tensor(np.asarray(objective.value(np.eye(S, dtype=bool))), device=dev, dtype=dtype)
    init = np.zeros((horizon, S, A)) if theta0 is None else np.asarray(theta0, dtype=np.float64)
    if init.shape != (horizon, S, A):
        from ..errors import InvalidArgumentError

        raise InvalidArgumentError(f"theta0 must have shape {(horizon, S, A)}, got {init.shape}")
    theta = torch.nn.Parameter(torch.as_tensor(init, device=dev, dtype=dtype).clone())
    opt = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)([theta], lr=lr)
    gains_fn = _DeviceGains(objective, dev, dtype)
    t_index = torch.arange(horizon, device=dev)

    def rollout(n: int):
        with torch.no_grad():
            logp_all = torch.log_softmax(theta, dim=-1)
            states = torch.empty((n, horizon + 1), dtype=torch.long, device=dev)
            actions = torch.empty((n, horizon), dtype=torch.long, device=dev)
            states[:, 0] = torch.multinomial(d0.expand(n, S), 1, generator=gen)[:, 0]
            for t in range(horizon):
                probs = logp_all[t, states[:, t]].exp()
                actions[:, t] = torch.multinomial(probs, 1, generator=gen)[:, 0]
                states[:, t + 1] = torch.multinomial(P[states[:, t], actions[:, t]], 1, generator=gen)[:, 0]
            state = gains_fn.start(n)
            first = gains_fn.add(state, states[:, 0])
            gains = torch.stack([gains_fn.add(state, states[:, j + 1]) for j in range(horizon)], dim=1)
        return states, actions, first + gains.sum(dim=1), gains

    means = np.empty(epochs)
    from tqdm.auto import tqdm

    for epoch in tqdm(range(epochs), disable=not progress, desc="subpo_torch"):
        states, actions, total, gains = rollout(batch_size)
        if estimator == "reward_to_go":
            w = gains.flip(1).cumsum(1).flip(1)
        elif estimator == "immediate_gain":
            w = gains
        else:
            w = singles[states[:, 1:]].flip(1).cumsum(1).flip(1)
        logp = torch.log_softmax(theta, dim=-1)[t_index[None, :], states[:, :-1], actions]  # (N, H)
        loss = -(w * logp).sum(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        means[epoch] = float(total.mean())
    theta_np = to_numpy(theta).copy()
    z = np.exp(theta_np - theta_np.max(axis=-1, keepdims=True))
    policy = z / z.sum(axis=-1, keepdims=True)
    if S <= EXACT_VALUE_STATES:
        value = evaluate_subrl_policy(mdp, objective, policy, horizon=horizon)
    else:
        value = float(rollout(n_samples)[2].mean())
    params = {"horizon": horizon, "estimator": estimator, "lr": lr, "epochs": epochs, "batch_size": batch_size,
              "optimizer": optimizer, "device": str(dev)}
    return SubPOResult(theta=theta_np, policy=policy, value=float(value),
                       history=History({"epoch": np.arange(epochs), "mean_return": means}), method="subpo_torch",
                       params=params, elapsed=time.perf_counter() - start)
