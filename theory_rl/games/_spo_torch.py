r"""SPO with a neural policy and PPO-style clipped updates (torch; CUDA when present)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._iterative import Timer, iterations
from .._torch import require_torch, resolve_device, seed_torch, single_thread, to_numpy
from .._validation import check_choice, check_int, check_real, rng_from_seed
from ._preferences import PreferenceOracle, batch_win_rates
from ._spo import Evaluator, SPOResult, check_spo_options, conditional_q
from ._trajectory_game import sample_episodes, trajectory_game

__all__ = ["spo_torch"]


def _policy_net(n_inputs: int, hidden: tuple[int, ...], n_actions: int, device: Any) -> Any:
    """An MLP (tanh) on the one-hot of ``(t, s)``; the output layer starts at zero (uniform policy)."""
    torch = require_torch()
    layers: list[Any] = []
    width = n_inputs
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.Tanh()]
        width = h
    out = torch.nn.Linear(width, n_actions, bias=bool(hidden))
    torch.nn.init.zeros_(out.weight)
    if out.bias is not None:
        torch.nn.init.zeros_(out.bias)
    return torch.nn.Sequential(*layers, out).to(device=device, dtype=torch.float64)


def spo_torch(mdp: Any, *, oracle: PreferenceOracle, horizon: int | None = None, batch_size: int = 16,
              max_iter: int = 100, hidden: tuple[int, ...] = (32,), lr: float = 0.05, n_epochs: int = 4,
              clip: float = 0.2, entropy: float = 0.0, optimizer: str = "adam", exact: bool = False, evaluate: bool = True,
              max_trajectories: int = 5000, seed: Any = None, device: Any = "auto") -> SPOResult:
    r"""SPO with a neural policy ``pi_theta(a | s, t)`` and PPO-style clipped updates on batch win rates.

    Each iteration samples ``B`` trajectories from ``pi_theta``, rewards trajectory ``i`` with its
    win rate ``r_i`` against the batch (:func:`batch_win_rates`) at the last step, and takes
    ``n_epochs`` gradient steps on PPO's clipped surrogate (Schulman et al. 2017, arXiv 1707.06347)

    .. math::
        L(\theta) = \frac{1}{B} \sum_{i, t} \min\big(\rho_{it} \hat A_i,\
        \operatorname{clip}(\rho_{it}, 1 - \epsilon, 1 + \epsilon) \hat A_i\big), \qquad
        \rho_{it} = \frac{\pi_\theta(a_{it} | s_{it}, t)}{\pi_{\theta_k}(a_{it} | s_{it}, t)}, \quad
        \hat A_i = r_i - \tfrac12,

    the baseline ``1/2`` being the batch mean exactly (``sum_i r_i = B/2``), as in SPO (Swamy, Dann,
    Kidambi, Wu & Agarwal 2024, arXiv 2401.04056, Alg. 1, with PPO as the policy optimiser). With
    ``exact=True`` the sum over the batch becomes the expectation over the enumerated trajectories
    with exact win rates, so the first gradient is the exact policy gradient of
    ``E_{xi ~ pi_theta}[Pr(xi beats pi_{theta_k})]``. The input is the one-hot of ``(t, s)``; with
    ``hidden=()`` the network is a table of logits (the tabular softmax policy of :func:`spo`).
    The output layer starts at zero: the first policy is uniform, as in :func:`spo`.

    Implemented: the PPO-style update without a value network or GAE (the reward is one number per
    trajectory and its baseline is known); the paper's SAC variant and reward spreading are not.

    Parameters
    ----------
    mdp, oracle, horizon, batch_size, max_iter
        As in :func:`spo` (``max_iter`` batches of ``batch_size`` episodes).
    hidden : tuple of int
        Hidden widths (``()`` for the tabular softmax).
    lr : float
        Learning rate.
    n_epochs : int
        Gradient steps per batch.
    clip : float
        PPO's ``epsilon > 0``.
    entropy : float
        Weight ``>= 0`` of PPO's entropy bonus ``sum_t H(pi_theta(.|s_t, t))`` (per trajectory, averaged
        like the surrogate); 0 by default. Without it plain policy-gradient steps tend to drive the
        last iterate to a deterministic policy on intransitive preferences.
    optimizer : {"adam", "sgd"}
    exact, evaluate, max_trajectories, seed
        As in :func:`spo` (``exact``: expectations over the enumerated trajectories).
    device : "auto", str or torch.device

    Returns
    -------
    SPOResult
        As :func:`spo`; ``average_policy`` averages the occupancies of the iterates.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import FiniteMDP
    >>> from theory_rl.games import BradleyTerryOracle, spo_torch
    >>> mdp = FiniteMDP(P=np.ones((1, 3, 1)), R=np.zeros((1, 3)), gamma=1.0, horizon=1)
    >>> res = spo_torch(mdp, oracle=BradleyTerryOracle(np.array([[0.0, 1.0, 0.5]]), temperature=0.1),
    ...                 max_iter=30, batch_size=8, seed=0, device="cpu")
    >>> int(res.policy[0, 0].argmax()), bool(res.policy[0, 0, 1] > 0.9)
    (1, True)
    """
    torch = require_torch()
    H, B, T, exact, evaluate, cap = check_spo_options(mdp, oracle, horizon, batch_size, max_iter, exact, evaluate,
                                                      max_trajectories)
    hidden_sizes = _check_hidden(hidden)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    epochs = check_int(n_epochs, "n_epochs")
    clip = check_real(clip, "clip", low=0.0, low_open=True)
    entropy = check_real(entropy, "entropy", low=0.0)
    optimizer = check_choice(optimizer, "optimizer", ("adam", "sgd"))
    rng = rng_from_seed(seed)
    dev = resolve_device(device)
    S, A = mdp.n_states, mdp.n_actions
    with Timer() as timer, single_thread(dev):
        seed_torch(rng)
        game = trajectory_game(mdp, oracle=oracle, horizon=H, max_trajectories=cap) if (exact or evaluate) else None
        tracker = Evaluator(game if evaluate else None, (H, S, A))
        net = _policy_net(H * S, hidden_sizes, A, dev)
        opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(net.parameters(), lr=lr)
        inputs = torch.eye(H * S, dtype=torch.float64, device=dev)
        mask = None if mdp.action_mask is None else torch.as_tensor(np.asarray(mdp.action_mask, bool), device=dev)

        def log_table() -> Any:
            logits = net(inputs).reshape(H, S, A)
            if mask is not None:
                logits = logits.masked_fill(~mask, -torch.inf)
            return torch.log_softmax(logits, dim=-1)

        for _ in iterations(T, False, "spo_torch"):
            with torch.no_grad():
                policy = to_numpy(log_table().exp())
            if exact:
                weights = game.distribution(policy)
                states, actions, reward = game.states, game.actions, game.preferences @ weights
                queries = 0
            else:
                states, actions = sample_episodes(mdp, policy, n_episodes=B, horizon=H, seed=rng)
                reward = batch_win_rates(states, actions, oracle=oracle, seed=rng)
                weights = np.full(B, 1.0 / B)
                queries = B * (B - 1) // 2
            tracker.record(policy, conditional_q(states, actions, weights, reward, (H, S, A))[1], queries)
            idx = torch.as_tensor(np.arange(H) * S + states[:, :-1], device=dev)  # (n, H) rows of the table
            act = torch.as_tensor(actions, device=dev)
            adv = torch.as_tensor(reward - 0.5, device=dev)[:, None]
            w = torch.as_tensor(weights, device=dev)[:, None]
            with torch.no_grad():
                old = log_table().reshape(H * S, A)[idx, act]
            for _ in range(epochs):
                table = log_table().reshape(H * S, A)
                new = table[idx, act]
                ratio = torch.exp(new - old)
                surrogate = torch.minimum(ratio * adv, ratio.clamp(1.0 - clip, 1.0 + clip) * adv)
                loss = -(w * surrogate).sum()
                if entropy > 0:
                    visited = table[idx]  # (n, H, A): the log-policies at the visited (t, s)
                    bonus = -(visited.exp() * visited.masked_fill(~torch.isfinite(visited), 0.0)).sum(-1)
                    loss = loss - entropy * (w * bonus).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            final = to_numpy(log_table().exp())
    return tracker.result(final, {}, method="spo_torch", elapsed=timer.elapsed,
                          params={"horizon": H, "batch_size": B, "max_iter": T, "hidden": hidden_sizes, "lr": lr,
                                  "n_epochs": epochs, "clip": clip, "entropy": entropy, "optimizer": optimizer, "exact": exact,
                                  "device": str(dev)})


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    try:
        sizes = tuple(hidden)
    except TypeError:
        sizes = (hidden,)
    return tuple(check_int(h, "hidden") for h in sizes)
