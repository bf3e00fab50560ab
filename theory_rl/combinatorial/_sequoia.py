r"""SEQUOIA training: DQN whose greedy step is a MILP over the combinatorial feasible set.

Xu, Wilder, Khalil, Tambe, "Reinforcement learning with combinatorial actions for coupled
restless bandits", ICLR 2025, arXiv 2503.01919.

Pipeline (paper's symbols: ``Q_theta`` policy net, ``Q_theta-`` target net, ``F(s)`` feasible set):

1. **Warm-start data.** "Strategic" states (all arms at level 0, all at 3, one-hot, one-cold)
   crossed with the empty action, single-arm actions and 10 random feasible actions; plus
   ``50 H`` random states where ``B`` arms sit at the top level, each with the action on those
   arms (when feasible) and 10 random feasible actions. Target: the one-step expected reward
   ``r(s, a)``. Only *feasible* actions are used (the published code also feeds infeasible ones).
2. **Myopic pre-training.** MSE regression, AdamW (amsgrad), per-epoch LR decay.
3. **DQN.** ``epsilon``-greedy with ``eps_t = 0.05 + 0.85 exp(-t/1000)``, the greedy action being
   ``argmax_{a in F(s)} Q_theta(s, a)`` by :func:`mip_argmax`; target
   ``y = r + gamma Q_theta-(s', a*(s'))`` with ``a*(s') = argmax_{a in F(s')} Q_theta-(s', a)``
   by the same MILP (memoised per ``s'`` for as long as the target net is unchanged); Huber loss
   weighted by prioritised-replay importance weights; gradient value clipping at 5.

Differences from the published code, on purpose (``published=True`` restores its settings):

* the target net is **hard-updated every ``target_update_every`` steps** (default 100 = 5
  episodes, the published memo-refresh period) so that the bootstrap really uses the learned
  ``Q``; the code's soft update with ``tau = 1e-6`` keeps the target at the pre-trained myopic net;
* replay **priorities are updated** to ``|TD error| + 1e-3`` after every batch (the code never
  updates them, so its prioritised replay is near-uniform);
* the full feasible set is imposed during training too (the code imposes only the budget row in
  the path domain while training); ``train_constraint="budget"`` reproduces that.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._iterative import notebook_aware_tqdm
from .._result import Result
from .._torch import mlp, resolve_device, seed_torch
from .._validation import check_bool, check_choice, check_int, check_probability, check_real, rng_from_seed
from ..models import Budget
from ._argmax import mip_argmax
from ._cormab import N_LEVELS, CoRMAB
from ._encoding import relu_mlp_layers

__all__ = ["SequoiaResult", "pretrain_myopic", "relu_mlp", "sequoia_train", "warm_start_dataset"]


@contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``torch.set_num_threads(n)`` and restore the previous count (``None``: leave it).
    These networks are tiny: on 2 shared cores torch's intra-op threads only spin (10 pre-training
    epochs took 37 CPU-s with 2 threads and 3.1 CPU-s with 1)."""
    import torch

    if n is None:
        yield
        return
    n = check_int(n, "torch_threads", minimum=1)  # 0: bare RuntimeError, 2.5: ran 2
    saved = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def _argmax_actions(layers: list[tuple[np.ndarray, np.ndarray]], states: np.ndarray, feasible: Any, solver: str,
                    mip_gap: float, time_limit: float | None) -> list[np.ndarray]:
    """``argmax_{a in F} Q(s, a)`` for each row of ``states`` (levels, not features); a joblib worker."""
    return [mip_argmax(layers, s / (N_LEVELS - 1), feasible, solver=solver, mip_gap=mip_gap, time_limit=time_limit,
                       layers=layers).action for s in states]


def relu_mlp(n_inputs: int, hidden: tuple[int, ...] = (16, 32), *, device: Any = "auto", seed: int | None = None) -> Any:
    """``torch.nn.Sequential(Linear, ReLU, ..., Linear(., 1))`` on ``device`` (the paper: 16 -> 32).

    Examples
    --------
    >>> from theory_rl import combinatorial
    >>> net = combinatorial.relu_mlp(6, (16, 32), seed=0, device="cpu")
    >>> [tuple(w.shape) for w, _ in combinatorial.relu_mlp_layers(net)]
    [(16, 6), (32, 16), (1, 32)]
    """
    if seed is not None:
        seed_torch(seed)
    return mlp(n_inputs, 1, hidden, device=resolve_device(device))


def warm_start_dataset(cormab: CoRMAB, *, n_random_states: int | None = None, n_random_actions: int = 10,
                       seed: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The warm-start regression data ``(states (n, J), actions (n, N), r(s, a) (n,))`` of step 1.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("budget", 4, 2, seed=0, horizon=5)
    >>> S, A, r = combinatorial.warm_start_dataset(cormab, n_random_states=5, seed=0)
    >>> S.shape[1], A.shape[1], bool(np.allclose(r, [cormab.expected_reward(s, a) for s, a in zip(S, A)]))
    (4, 4, True)
    """
    rng = rng_from_seed(seed)
    J, N, top = cormab.n_arms, cormab.n_actions, N_LEVELS - 1
    c = cormab.constraint
    states = [np.zeros(J, dtype=np.int64), np.full(J, top, dtype=np.int64)]
    for j in range(J):
        hot = np.zeros(J, dtype=np.int64)
        hot[j] = top
        states += [hot, top - hot]
    starters = [np.zeros(N, dtype=np.int8)] + [np.eye(N, dtype=np.int8)[i] for i in range(N)]
    starters = [a for a in starters if c.is_feasible(a)]
    S, A = [], []
    for s in states:
        acts = starters + [c.sample(rng)[0] for _ in range(n_random_actions)]
        S += [s] * len(acts)
        A += acts
    budget = int(getattr(c, "budget", 1))
    for _ in range(50 * cormab.horizon if n_random_states is None else n_random_states):
        s = rng.integers(0, N_LEVELS, size=J)
        hot = rng.choice(J, size=min(budget, J), replace=False)
        s[hot] = top
        acts = [c.sample(rng)[0] for _ in range(n_random_actions)]
        if N == J:
            match = np.zeros(N, dtype=np.int8)
            match[hot] = 1
            if c.is_feasible(match):
                acts.append(match)
        S += [s] * len(acts)
        A += acts
    S_arr, A_arr = np.asarray(S, dtype=np.int64), np.asarray(A, dtype=np.int8)
    r = np.array([cormab.expected_reward(s, a) for s, a in zip(S_arr, A_arr)])
    return S_arr, A_arr, r


def pretrain_myopic(cormab: CoRMAB, data: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, *,
                    hidden: tuple[int, ...] = (16, 32), epochs: int = 300, batch_size: int = 32, lr: float = 2.5e-4,
                    lr_decay: float = 0.9, device: Any = "auto", seed: Any = None,
                    torch_threads: int | None = 1) -> tuple[Any, list[float]]:
    """Step 2: regress ``Q(s, a) ~ r(s, a)`` on the warm-start data (default
    :func:`warm_start_dataset`) with MSE, AdamW (amsgrad), per-epoch LR decay ``lr_decay``.
    Returns the network (on ``device``) and the per-epoch training loss. ``torch_threads``: torch's
    intra-op thread count while training (restored afterwards; ``None`` leaves it alone).

    Examples
    --------
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("budget", 4, 2, seed=0, horizon=5)
    >>> net, losses = combinatorial.pretrain_myopic(cormab, hidden=(8,), epochs=5, seed=0, device="cpu")
    >>> len(losses), bool(losses[-1] < losses[0])
    (5, True)
    """
    with _torch_threads(torch_threads):
        return _pretrain(cormab, data, hidden=hidden, epochs=epochs, batch_size=batch_size, lr=lr,
                         lr_decay=lr_decay, device=device, seed=seed)


def _pretrain(cormab: CoRMAB, data: Any, *, hidden: tuple[int, ...], epochs: int, batch_size: int, lr: float,
              lr_decay: float, device: Any, seed: Any) -> tuple[Any, list[float]]:
    import torch

    rng = rng_from_seed(seed)
    seed_torch(rng)
    S, A, r = warm_start_dataset(cormab, seed=rng) if data is None else data
    net = relu_mlp(cormab.n_actions + cormab.n_arms, hidden, device=device)
    dev = next(net.parameters()).device
    X = torch.as_tensor(np.hstack([A, S / (N_LEVELS - 1)]).astype(np.float32), device=dev)
    Y = torch.as_tensor(np.asarray(r, dtype=np.float32), device=dev)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, amsgrad=True)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=lr_decay)
    losses = []
    for _ in range(epochs):
        perm = torch.as_tensor(rng.permutation(len(Y)), device=dev)
        total = 0.0
        for k in range(0, len(Y), batch_size):
            idx = perm[k:k + batch_size]
            loss = torch.nn.functional.mse_loss(net(X[idx]).squeeze(-1), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(Y))
        sched.step()
    return net, losses


@dataclass(frozen=True, repr=False)
class SequoiaResult(Result):
    """``qnet`` (trained torch module, eval mode), ``pretrain_loss`` and ``td_loss`` histories,
    ``n_mip_solves``, ``params``.

    Examples
    --------
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("budget", 4, 2, seed=0, horizon=5)
    >>> res = combinatorial.sequoia_train(cormab, hidden=(8,), n_episodes=1, pretrain_epochs=2, n_random_states=4,
    ...                                    batch_size=4, seed=0, device="cpu")
    >>> type(res).__name__, len(res.pretrain_loss), res.n_mip_solves > 0
    ('SequoiaResult', 2, True)
    """

    qnet: Any
    pretrain_loss: np.ndarray
    td_loss: np.ndarray
    episode_reward: np.ndarray
    n_mip_solves: int
    _repr_fields = ("n_mip_solves", "elapsed")

    def to_dict(self, *, tidy: bool = False) -> dict[str, Any]:
        d = super().to_dict(tidy=tidy)
        if not tidy:
            d["qnet"] = repr(self.qnet)
        return d


class _Replay:
    """Proportional prioritised replay (Schaul et al. 2016), numpy arrays, optional priority updates."""

    def __init__(self, size: int, J: int, N: int, *, alpha: float, rng: np.random.Generator) -> None:
        self.s = np.zeros((size, J), dtype=np.int64)
        self.a = np.zeros((size, N), dtype=np.float32)
        self.r = np.zeros(size)
        self.s2 = np.zeros((size, J), dtype=np.int64)
        self.prio = np.zeros(size)
        self.size, self.n, self.ptr, self.alpha, self.rng = size, 0, 0, alpha, rng

    def add(self, s: np.ndarray, a: np.ndarray, r: float, s2: np.ndarray) -> None:
        i = self.ptr
        self.s[i], self.a[i], self.r[i], self.s2[i] = s, a, r, s2
        self.prio[i] = self.prio[: self.n].max() if self.n else 1.0
        self.ptr = (self.ptr + 1) % self.size
        self.n = min(self.n + 1, self.size)

    def sample(self, batch: int, beta: float) -> tuple[np.ndarray, np.ndarray]:
        p = self.prio[: self.n] ** self.alpha
        p /= p.sum()
        idx = self.rng.choice(self.n, size=batch, p=p)
        w = (self.n * p[idx]) ** (-beta)
        return idx, w / w.max()


@renamed_arguments(episodes="n_episodes")
def sequoia_train(cormab: CoRMAB, *, hidden: tuple[int, ...] = (16, 32), n_episodes: int = 100,
                  gamma: float | None = None, batch_size: int = 32, buffer_size: int = 10_000,
                  pretrain_epochs: int = 300, pretrain_batch: int = 32, pretrain_lr: float = 2.5e-4,
                  lr: float = 2.5e-4, lr_decay: float = 0.9, target_update_every: int = 100, tau: float | None = None,
                  prioritized: bool = True, update_priorities: bool = True, per_alpha: float = 0.6,
                  per_beta: float = 0.4, warm_fraction: float = 0.1, train_constraint: str = "full",
                  published: bool = False, solver: str = "highs", mip_gap: float = 0.0,
                  time_limit: float | None = None, n_random_states: int | None = None, device: Any = "auto",
                  seed: Any = None, progress: bool = False, n_jobs: int = 1,
                  torch_threads: int | None = 1) -> SequoiaResult:
    r"""Train a SEQUOIA Q-network on ``cormab`` (see the module docstring for the algorithm):
    Xu, Wilder, Khalil, Tambe, "Reinforcement learning with combinatorial actions for coupled
    restless bandits", ICLR 2025, arXiv 2503.01919.

    Parameters
    ----------
    hidden : tuple of int
        Hidden widths (paper: (16, 32)).
    n_episodes : int
        DQN episodes of ``cormab.horizon`` steps (paper: 100), ``>= 0`` (0: pre-training only).
        Called ``episodes`` before 0.2.0 (still accepted until 0.3.0, with a ``DeprecationWarning``).
    target_update_every, tau : int, float
        Hard target update period in steps (default), or a soft update ``tau`` every step when
        ``tau`` is given.
    prioritized, update_priorities : bool
        Prioritised replay, and whether priorities follow the TD errors.
    train_constraint : {"full", "budget"}
        Feasible set during training ("budget": only ``sum a <= B``, as the published path code).
    published : bool
        The published settings: ``tau = 1e-6``, priorities never updated, ``mip_gap = 0.02``,
        target argmax memo cleared every 5 episodes rather than on target updates.
    device : str or torch.device
        Where the networks live (the MILP runs on CPU): ``"auto"`` (the default: CUDA when
        present, else CPU), ``"cpu"`` or ``"cuda"``.
    n_jobs : int
        Solve a batch's distinct, not yet memoised target MILPs in ``n_jobs`` joblib worker
        processes (1: in this process). Processes, not threads: HiGHS keeps one process-wide
        thread scheduler that every solve here resizes. Same answers, in the same order.
    torch_threads : int or None
        torch's intra-op thread count during training (restored afterwards).

    Returns
    -------
    SequoiaResult
        ``params["timings"]``: CPU seconds of this process in pre-training, in policy and target
        MILPs, the number of target MILPs solved and of memo hits (with ``n_jobs > 1`` the target
        solves run in the workers, and their time is the wall time waited).

    Notes
    -----
    The target argmaxes ``a*(s')`` are memoised by ``s'`` for as long as the target net is
    unchanged (cleared at every hard update, so the memo is exact), as the published code does
    with its 5-episode refresh; ``published=True`` keeps that refresh period.

    Examples
    --------
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("budget", 4, 2, seed=0, horizon=5)
    >>> res = combinatorial.sequoia_train(cormab, hidden=(8,), n_episodes=2, pretrain_epochs=5, n_random_states=4,
    ...                                    batch_size=4, seed=0, device="cpu")
    >>> len(res.episode_reward), res.params["n_episodes"]
    (2, 2)
    """
    episodes = check_int(n_episodes, "n_episodes", minimum=0)
    for name, value in (("batch_size", batch_size), ("buffer_size", buffer_size), ("pretrain_batch", pretrain_batch),
                        ("target_update_every", target_update_every)):
        check_int(value, name, minimum=1)
    check_int(pretrain_epochs, "pretrain_epochs", minimum=0)
    for name, value in (("lr", lr), ("pretrain_lr", pretrain_lr)):
        check_real(value, name, low=0.0, low_open=True)
    for name, value in (("lr_decay", lr_decay), ("per_alpha", per_alpha), ("per_beta", per_beta),
                        ("warm_fraction", warm_fraction)):
        check_probability(value, name)
    for name, value in (("prioritized", prioritized), ("update_priorities", update_priorities),
                        ("published", published), ("progress", progress)):
        check_bool(value, name)
    check_real(mip_gap, "mip_gap", low=0.0)
    check_choice(train_constraint, "train_constraint", ("full", "budget"))
    check_int(n_jobs, "n_jobs", minimum=1)
    with _torch_threads(torch_threads):
        return _train(cormab, hidden=hidden, episodes=episodes, gamma=gamma, batch_size=batch_size,
                      buffer_size=buffer_size, pretrain_epochs=pretrain_epochs, pretrain_batch=pretrain_batch,
                      pretrain_lr=pretrain_lr, lr=lr, lr_decay=lr_decay, target_update_every=target_update_every,
                      tau=tau, prioritized=prioritized, update_priorities=update_priorities, per_alpha=per_alpha,
                      per_beta=per_beta, warm_fraction=warm_fraction, train_constraint=train_constraint,
                      published=published, solver=solver, mip_gap=mip_gap, time_limit=time_limit,
                      n_random_states=n_random_states, device=device, seed=seed, progress=progress,
                      n_jobs=n_jobs)


def _train(cormab: CoRMAB, *, hidden: tuple[int, ...], episodes: int, gamma: float | None, batch_size: int,
           buffer_size: int, pretrain_epochs: int, pretrain_batch: int, pretrain_lr: float, lr: float,
           lr_decay: float, target_update_every: int, tau: float | None, prioritized: bool, update_priorities: bool,
           per_alpha: float, per_beta: float, warm_fraction: float, train_constraint: str, published: bool,
           solver: str, mip_gap: float, time_limit: float | None, n_random_states: int | None, device: Any,
           seed: Any, progress: bool, n_jobs: int) -> SequoiaResult:
    import torch

    start = time.perf_counter()
    rng = rng_from_seed(seed)
    seed_torch(rng)
    if published:
        tau, update_priorities, mip_gap = 1e-6, False, 0.02
    g = cormab.gamma if gamma is None else float(gamma)
    J, N = cormab.n_arms, cormab.n_actions
    c_eval = cormab.constraint
    c_train = c_eval if train_constraint == "full" else Budget(int(c_eval.budget), N,
                                                               bool(getattr(c_eval, "equality", False)))
    # 1-2: warm start and myopic pre-training
    Sw, Aw, rw = warm_start_dataset(cormab, n_random_states=n_random_states, seed=rng)
    cpu0 = time.process_time()
    net, pre_loss = _pretrain(cormab, (Sw, Aw, rw), hidden=hidden, epochs=pretrain_epochs,
                              batch_size=pretrain_batch, lr=pretrain_lr, lr_decay=lr_decay, device=device, seed=rng)
    timings = {"pretrain_cpu_s": time.process_time() - cpu0, "policy_mip_cpu_s": 0.0, "target_mip_s": 0.0,
               "n_target_solves": 0, "n_memo_hits": 0}
    dev = next(net.parameters()).device

    def tensor(x: np.ndarray) -> Any:
        return torch.as_tensor(np.asarray(x, dtype=np.float32), device=dev)

    def inputs(S: np.ndarray, A: np.ndarray) -> Any:
        return tensor(np.hstack([A, S / (N_LEVELS - 1)]))

    # 3: DQN
    target = relu_mlp(N + J, hidden, device=device)
    target.load_state_dict(net.state_dict())
    replay = _Replay(buffer_size, J, N, alpha=per_alpha if prioritized else 0.0, rng=rng)
    n_seed = min(int(warm_fraction * buffer_size), int(warm_fraction * len(Sw)))
    for i in rng.choice(len(Sw), size=n_seed, replace=False):
        replay.add(Sw[i], Aw[i], rw[i], cormab.sample_next(Sw[i], Aw[i], rng))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, amsgrad=True)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=lr_decay)
    memo: dict[bytes, np.ndarray] = {}
    n_solves = 0
    td_loss, ep_reward = [], []

    def argmax(layers: Any, s: np.ndarray) -> np.ndarray:
        nonlocal n_solves
        n_solves += 1
        return mip_argmax(layers, s / (N_LEVELS - 1), c_train, solver=solver, mip_gap=mip_gap,
                          time_limit=time_limit, layers=layers).action

    parallel = None
    if n_jobs > 1:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=int(n_jobs), backend="loky")

    def fill_memo(layers: Any, states: np.ndarray) -> None:
        """Solve the target MILP at every distinct state of ``states`` missing from the memo."""
        nonlocal n_solves
        keys = [row.tobytes() for row in states]
        todo: dict[bytes, np.ndarray] = {}
        for k, row in zip(keys, states):
            if k not in memo and k not in todo:
                todo[k] = row
        timings["n_memo_hits"] += len(keys) - len(todo)
        if not todo:
            return
        rows = np.stack(list(todo.values()))
        t0 = time.process_time() if parallel is None else time.perf_counter()
        if parallel is None or len(rows) < 2:
            acts = _argmax_actions(layers, rows, c_train, solver, mip_gap, time_limit)
        else:
            chunks = np.array_split(rows, min(int(n_jobs), len(rows)))
            acts = [a for part in parallel(delayed(_argmax_actions)(layers, ch, c_train, solver, mip_gap, time_limit)
                                           for ch in chunks) for a in part]
        timings["target_mip_s"] += (time.process_time() if parallel is None else time.perf_counter()) - t0
        n_solves += len(rows)
        timings["n_target_solves"] += len(rows)
        memo.update(zip(todo.keys(), acts))

    target_layers = relu_mlp_layers(target)  # float64 copies on the CPU, where the MILP runs
    step = 0
    bar = range(episodes)
    if progress:
        bar = notebook_aware_tqdm()(bar, desc="SEQUOIA episodes", leave=False)
    for episode in bar:
        s = cormab.initial_state(rng, p_one=0.5)
        total = 0.0
        if published and episode % 5 == 0:
            memo.clear()
        for _t in range(cormab.horizon):
            eps = 0.05 + 0.85 * math.exp(-step / 1000.0)
            if rng.random() < eps:
                a = c_train.sample(rng)[0]
            else:
                t0 = time.process_time()
                a = argmax(relu_mlp_layers(net), s)
                timings["policy_mip_cpu_s"] += time.process_time() - t0
            r = float(cormab.expected_reward(s, a))
            s2 = cormab.sample_next(s, a, rng)
            replay.add(s, a, r, s2)
            total += r
            s = s2
            step += 1
            if replay.n < batch_size:
                continue
            idx, w = replay.sample(batch_size, per_beta)
            nxt = replay.s2[idx]
            fill_memo(target_layers, nxt)
            a_star = np.stack([memo[row.tobytes()] for row in nxt]).astype(np.float32)
            with torch.no_grad():
                y = tensor(replay.r[idx]) + g * target(inputs(nxt, a_star)).squeeze(-1)
            q = net(inputs(replay.s[idx], replay.a[idx])).squeeze(-1)
            td = q - y
            loss = (tensor(w) * torch.nn.functional.smooth_l1_loss(q, y, reduction="none")).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_value_(net.parameters(), 5.0)
            opt.step()
            td_loss.append(float(loss.detach()))
            if prioritized and update_priorities:
                replay.prio[idx] = np.abs(td.detach().cpu().numpy()) + 1e-3
            if tau is not None:
                with torch.no_grad():
                    for pt, pn in zip(target.parameters(), net.parameters()):
                        pt.mul_(1.0 - tau).add_(tau * pn)
                if not published:  # the target moved: memoised argmaxes are stale
                    memo.clear()
                target_layers = relu_mlp_layers(target)
            elif step % target_update_every == 0:
                target.load_state_dict(net.state_dict())
                target_layers = relu_mlp_layers(target)
                memo.clear()
        ep_reward.append(total / cormab.horizon)
        sched.step()
    net.eval()
    params = {"hidden": list(hidden), "n_episodes": episodes, "gamma": g, "batch_size": batch_size,
              "buffer_size": buffer_size, "pretrain_epochs": pretrain_epochs, "lr": lr, "lr_decay": lr_decay,
              "target_update_every": None if tau is not None else target_update_every, "tau": tau,
              "prioritized": prioritized, "update_priorities": update_priorities,
              "train_constraint": train_constraint, "published": published, "solver": solver, "mip_gap": mip_gap,
              "device": str(device), "n_jobs": int(n_jobs), "torch_threads": torch.get_num_threads(),
              "timings": timings}
    return SequoiaResult(qnet=net.cpu(), pretrain_loss=np.asarray(pre_loss), td_loss=np.asarray(td_loss),
                         episode_reward=np.asarray(ep_reward), n_mip_solves=n_solves, method="sequoia_train",
                         elapsed=time.perf_counter() - start, params=params)
