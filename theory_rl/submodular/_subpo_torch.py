r"""SubPO in torch: batched trajectories, marginal gains and the policy update on a device (CUDA when present)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._result import History
from .._torch import mlp, require_torch, resolve_device, seed_torch, to_numpy
from .._validation import check_bool, check_choice, check_int, check_real
from ..errors import InvalidArgumentError
from ..models import FiniteMDP
from ._exact import MAX_STATES, _setup, evaluate_subrl_policy
from ._set_functions import FacilityLocation, Modular, SetFunction, WeightedCoverage
from ._subpo import ESTIMATORS, EXACT_VALUE_STATES, SubPOResult, softmax_policy

__all__ = ["subpo_torch"]

TORCH_POLICIES = ("markov", "visited_set")


def _features(t: Any, s: Any, mask: Any, horizon: int) -> Any:
    """The visited-set policy's input ``[onehot(s_t), mask(X_t), onehot(t)]``, shape ``(..., 2S + H)``."""
    torch = require_torch()
    S = mask.shape[-1]
    dtype = torch.float64
    onehot_s = torch.nn.functional.one_hot(s, S).to(dtype)
    onehot_t = torch.nn.functional.one_hot(torch.as_tensor(t, device=mask.device).expand(s.shape), horizon).to(dtype)
    return torch.cat([onehot_s, mask.to(dtype), onehot_t], dim=-1)


def _logits_table(net: Any, S: int, horizon: int) -> Any:
    """The network's logits on every input ``(t, s, X)``: ``(H, S, 2**S, A)`` (``S <= 16``)."""
    torch = require_torch()
    device = next(net.parameters()).device
    X = torch.arange(2**S, device=device)
    masks = ((X[:, None] >> torch.arange(S, device=device)[None, :]) & 1).bool()  # (2^S, S)
    rows = []
    for t in range(horizon):
        s = torch.arange(S, device=device)[:, None].expand(S, 2**S)
        rows.append(net(_features(t, s, masks[None].expand(S, 2**S, S), horizon)))
    return torch.stack(rows)


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


def subpo_torch(mdp: FiniteMDP, objective: SetFunction, *, horizon: int, policy: str = "markov",
                estimator: str = "reward_to_go", hidden: tuple[int, ...] = (64,), lr: float = 1.0, epochs: int = 100,
                batch_size: int = 100, optimizer: str = "sgd", theta0: np.ndarray | None = None, n_samples: int = 2000,
                seed: int | np.random.Generator | None = None, device: Any = "auto",
                progress: bool = False) -> SubPOResult:
    r"""SubPO in torch: the same algorithm as :func:`subpo` (``variant="gradient"``) with sampling, gains
    and the update on ``device``, for a tabular Markov-on-``(s, t)`` softmax policy or a neural
    history-dependent one.

    ``policy="markov"``: logits ``theta[t, s, a]``, as :func:`subpo`. ``policy="visited_set"``: an MLP
    (``hidden`` widths, tanh) maps ``[onehot(s_t), mask(X_t), onehot(t)]`` (``2S + H`` inputs, ``X_t``
    the visited set, a sufficient statistic of the history for ``F``) to the ``A`` logits, the
    history-dependent policy class of the paper's "NM" runs in a form that scales to large ``S``.

    Each epoch samples ``batch_size`` trajectories on the device, computes the per-step signal
    ``w_i`` of ``estimator`` (see :func:`subpo_gradient`) and steps the optimiser on the surrogate
    ``-(1/N) sum_n sum_i w_i^n log pi_theta(a_i^n | s_i^n, i)``, whose gradient is minus the SubPO
    estimate. With ``optimizer="sgd"`` this is exactly :func:`subpo`'s update
    ``theta <- theta + lr * g``; ``"adam"`` is the official code's optimiser (Prajapat et al. 2024,
    arXiv:2307.13372). Coverage, facility-location and modular objectives are scored on the device;
    other set functions on the host.

    Implemented less than the paper: no entropy bonus and no natural-gradient variant (use
    :func:`subpo`); the neural policy sees the visited set, not the ordered history (use
    ``subpo(policy="history")`` for that, tabular); no recurrent network.

    Parameters
    ----------
    mdp, objective, horizon, estimator, lr, epochs, batch_size, n_samples, seed, progress :
        As :func:`subpo`.
    policy : {"markov", "visited_set"}
    hidden : tuple of int
        Hidden widths of the ``"visited_set"`` MLP (``()``: log-linear in the inputs).
    theta0 : ndarray, optional
        Initial logits ``(H, S, A)`` (``"markov"`` only; the MLP starts from torch's default
        initialisation, seeded).
    optimizer : {"sgd", "adam"}
    device : str or torch.device
        ``"auto"``: CUDA when available, else CPU.

    Returns
    -------
    SubPOResult
        For ``"visited_set"``: ``theta`` the network's parameters, flattened; ``policy`` the tabulated
        ``(H, S, 2**S, A)`` probabilities when ``S <= 10`` (else empty, shape ``(0,)``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import chain
    >>> from theory_rl.submodular import Modular, subpo_torch
    >>> res = subpo_torch(chain(4, slip=0.0), Modular(np.ones(4)), horizon=3, epochs=50, seed=0, device="cpu")
    >>> round(res.value, 2) >= 3.9
    True
    >>> res = subpo_torch(chain(4, slip=0.0), Modular(np.ones(4)), horizon=3, policy="visited_set", hidden=(16,),
    ...                   epochs=60, lr=0.05, optimizer="adam", seed=0, device="cpu")
    >>> res.policy.shape, round(res.value, 1) >= 3.5
    ((3, 4, 16, 2), True)
    """
    start = time.perf_counter()
    torch = require_torch()
    P_np, d0_np, horizon = _setup(mdp, objective, horizon)
    estimator = check_choice(estimator, "estimator", ESTIMATORS)
    policy = check_choice(policy, "policy", TORCH_POLICIES)
    optimizer = check_choice(optimizer, "optimizer", ("sgd", "adam"))
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    epochs = check_int(epochs, "epochs")
    batch_size = check_int(batch_size, "batch_size")
    n_samples = check_int(n_samples, "n_samples")
    progress = check_bool(progress, "progress")
    if not isinstance(hidden, (tuple, list)):
        raise InvalidArgumentError(f"hidden must be a tuple of layer widths, got {hidden!r}")
    hidden = tuple(check_int(h, "hidden") for h in hidden)
    dev = resolve_device(device)
    dtype = torch.float64
    S, A = P_np.shape[0], P_np.shape[1]
    gen_cpu = seed_torch(seed)
    gen = torch.Generator(device=dev)
    gen.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen_cpu)))
    P = torch.tensor(P_np, device=dev, dtype=dtype)  # a copy: the model's arrays are read-only
    d0 = torch.tensor(d0_np, device=dev, dtype=dtype)
    singles = torch.as_tensor(np.asarray(objective.value(np.eye(S, dtype=bool))), device=dev, dtype=dtype)
    if policy == "markov":
        init = np.zeros((horizon, S, A)) if theta0 is None else np.asarray(theta0, dtype=np.float64)
        if init.shape != (horizon, S, A):
            raise InvalidArgumentError(f"theta0 must have shape {(horizon, S, A)}, got {init.shape}")
        theta = torch.nn.Parameter(torch.as_tensor(init, device=dev, dtype=dtype).clone())
        params = [theta]

        def logits(t: int, s: Any, mask: Any) -> Any:
            return theta[t, s]
    else:
        if theta0 is not None:
            raise InvalidArgumentError("theta0 applies to policy = 'markov' only")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen_cpu)))
            net = mlp(2 * S + horizon, A, hidden, activation="tanh", device=dev, dtype=torch.float64)
        params = list(net.parameters())

        def logits(t: int, s: Any, mask: Any) -> Any:
            return net(_features(t, s, mask, horizon))
    opt = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(params, lr=lr)
    gains_fn = _DeviceGains(objective, dev, dtype)

    def rollout(n: int):
        states = torch.empty((n, horizon + 1), dtype=torch.long, device=dev)
        actions = torch.empty((n, horizon), dtype=torch.long, device=dev)
        masks = torch.zeros((n, horizon, S), dtype=torch.bool, device=dev)  # X_t before the action at t
        rows = torch.arange(n, device=dev)
        with torch.no_grad():
            states[:, 0] = torch.multinomial(d0.expand(n, S), 1, generator=gen)[:, 0]
            mask = torch.zeros((n, S), dtype=torch.bool, device=dev)
            for t in range(horizon):
                mask[rows, states[:, t]] = True
                masks[:, t] = mask
                probs = torch.softmax(logits(t, states[:, t], mask), dim=-1)
                actions[:, t] = torch.multinomial(probs, 1, generator=gen)[:, 0]
                states[:, t + 1] = torch.multinomial(P[states[:, t], actions[:, t]], 1, generator=gen)[:, 0]
            state = gains_fn.start(n)
            first = gains_fn.add(state, states[:, 0])
            gains = torch.stack([gains_fn.add(state, states[:, j + 1]) for j in range(horizon)], dim=1)
        return states, actions, masks, first + gains.sum(dim=1), gains

    means = np.empty(epochs)
    from tqdm.auto import tqdm

    for epoch in tqdm(range(epochs), disable=not progress, desc="subpo_torch"):
        states, actions, masks, total, gains = rollout(batch_size)
        if estimator == "reward_to_go":
            w = gains.flip(1).cumsum(1).flip(1)
        elif estimator == "immediate_gain":
            w = gains
        else:
            w = singles[states[:, 1:]].flip(1).cumsum(1).flip(1)
        logp = torch.stack([torch.log_softmax(logits(t, states[:, t], masks[:, t]), dim=-1)
                            .gather(1, actions[:, t:t + 1])[:, 0] for t in range(horizon)], dim=1)  # (N, H)
        loss = -(w * logp).sum(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        means[epoch] = float(total.mean())
    if policy == "markov":
        theta_np = to_numpy(theta).copy()
        table = softmax_policy(theta_np)
    else:
        theta_np = to_numpy(torch.cat([p.detach().reshape(-1) for p in params])).copy()
        table = np.empty(0)
        if S <= min(EXACT_VALUE_STATES, MAX_STATES):
            with torch.no_grad():
                table = to_numpy(torch.softmax(_logits_table(net, S, horizon), dim=-1)).copy()
    if S <= EXACT_VALUE_STATES:
        value = evaluate_subrl_policy(mdp, objective, table, horizon=horizon)
    else:
        value = float(rollout(n_samples)[3].mean())
    run_params = {"horizon": horizon, "policy": policy, "estimator": estimator, "lr": lr, "epochs": epochs,
                  "batch_size": batch_size, "optimizer": optimizer, "device": str(dev)}
    if policy == "visited_set":
        run_params["hidden"] = list(hidden)
    return SubPOResult(theta=theta_np, policy=table, value=float(value),
                       history=History({"epoch": np.arange(epochs), "mean_return": means}), method="subpo_torch",
                       params=run_params, elapsed=time.perf_counter() - start)
