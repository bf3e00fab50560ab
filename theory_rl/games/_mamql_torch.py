r"""MAMQL in torch: MLP marginalised critics on one-hot states, trained on a device (CUDA when present)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._iterative import Timer
from .._result import History
from .._torch import mlp, require_torch, resolve_device, seed_torch, single_thread, to_numpy
from .._validation import check_int, check_real
from ._demonstrations import marginal_occupancy
from ._mamql import MAMQLResult, check_mamql_options, recover_rewards
from ._markov_game import MarkovGame
from ._soft_game import boltzmann

__all__ = ["mamql_torch"]


def _marginalise(torch: Any, T: Any, policies: list[Any], keep: int) -> Any:
    """Contract the action axes ``1..N`` of ``T[s, a_1, ..., a_N, ...]`` with every policy but ``keep``'s."""
    for j in reversed(range(len(policies))):
        if j != keep:
            T = torch.einsum("s...a,sa->s...", T.movedim(1 + j, -1), policies[j])
    return T


def _objective(torch: Any, q: Any, P: Any, gamma: float, rho: Any, tau: float, f: str, alpha: float) -> Any:
    """IQ-Learn's ``J(Q)`` (:func:`iq_learn`) as a differentiable tensor."""
    v = tau * torch.logsumexp(q / tau, dim=1)
    pv = P @ v
    y = q - gamma * pv
    phi = y if f == "identity" else y - y * y / (4.0 * alpha)
    return (rho * (phi - (v[:, None] - gamma * pv))).sum()


def mamql_torch(
    game: MarkovGame,
    d_expert: Any,
    *,
    temperature: float,
    f: str = "chi2",
    alpha: float = 0.5,
    hidden: int = 64,
    lr: float = 0.02,
    max_iter: int = 2000,
    seed: int | np.random.Generator | None = None,
    device: Any = "auto",
) -> MAMQLResult:
    r""":func:`mamql` with neural critics: one MLP per agent, ``Q_i(s, .) = MLP_i(onehot(s))``
    (one hidden ``tanh`` layer of width ``hidden``), trained by Adam on the sum of the agents'
    IQ-Learn objectives

    .. math::
        \max_{\psi_1, \dots, \psi_N} \sum_i
        \mathbb E_{\rho_i}\big[\phi(Q_{\psi_i} - \gamma P_i V_{\psi_i})
            - (V_{\psi_i}(s) - \gamma P_i V_{\psi_i})\big],
        \qquad P_i = \mathbb E_{\pi_{-i}} P,

    where ``pi_-i`` are the others' current Boltzmann policies, held fixed (detached) in each
    step, as MAMQL's critics condition on the others' current policies (Haynam et al. 2025,
    arXiv 2503.04679). Expectations are exact (full batch, the model's ``P`` on the device): the
    same objective as the tabular :func:`mamql` with simultaneous instead of alternating updates,
    so at a stationary point both satisfy the same equations (tested on CPU against the tabular one).
    Rewards are recovered from the final critics exactly as in :func:`mamql`.

    Less than the paper: full-batch expectations from a known model instead of sampled
    replay, one-hot state inputs, no online data collection.

    Parameters
    ----------
    game, d_expert, temperature, f, alpha
        As for :func:`mamql`.
    hidden : int
        Width of the hidden layer.
    lr : float
        Adam's step size.
    max_iter : int
        Adam steps.
    seed : int, Generator or None
        Seeds the network initialisation.
    device : str or torch.device
        ``"auto"``: CUDA when available.

    Returns
    -------
    MAMQLResult
        ``history["loss"]``: ``-sum_i J_i`` per step; ``converged`` is ``True`` when the largest
        gradient entry fell below ``1e-8``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, mamql_torch
    >>> g = MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[1.0, -1.0], [-1.0, 1.0]]], 0.5)
    >>> res = mamql_torch(g, [[[0.4, 0.1], [0.4, 0.1]]], temperature=1.0, f="identity", max_iter=300,
    ...                   seed=0, device="cpu")
    >>> res.policies[1].round(3).tolist()
    [[0.8, 0.2]]
    """
    game, rho, tau, f, alpha = check_mamql_options(game, d_expert, temperature, f, alpha)
    hidden = check_int(hidden, "hidden")
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    steps = check_int(max_iter, "max_iter")
    torch = require_torch()
    dev = resolve_device(device)
    seed_torch(seed)
    with Timer() as timer, single_thread(dev):
        N, S, gamma = game.n_players, game.n_states, game.gamma
        dtype = torch.float64
        P = torch.as_tensor(np.array(game.dense_kernel()), dtype=dtype, device=dev)
        rhos = [torch.as_tensor(marginal_occupancy(rho, i), dtype=dtype, device=dev) for i in range(N)]
        x = torch.eye(S, dtype=dtype, device=dev)
        nets = [mlp(S, n, (hidden,), activation="tanh", device=dev, dtype=dtype) for n in game.n_actions]
        opt = torch.optim.Adam([p for net in nets for p in net.parameters()], lr=lr)
        losses = []
        converged = False
        for _ in range(steps):
            qs = [net(x) for net in nets]
            pis = [torch.softmax(q.detach() / tau, dim=1) for q in qs]
            loss = -sum(_objective(torch, qs[i], _marginalise(torch, P, pis, i), gamma, rhos[i], tau, f, alpha)
                        for i in range(N))
            opt.zero_grad()
            loss.backward()
            grad = max(float(p.grad.abs().max()) for net in nets for p in net.parameters())
            losses.append(float(loss.detach()))
            if grad <= 1e-8:
                converged = True
                break
            opt.step()
        with torch.no_grad():
            critics = tuple(to_numpy(net(x)) for net in nets)
        policies = tuple(boltzmann(q, tau) for q in critics)
        rewards, joint = recover_rewards(game, critics, policies, tau)
    return MAMQLResult(
        policies=policies, critics=critics, rewards=rewards, joint_rewards=joint, converged=converged,
        n_iter=len(losses), history=History({"loss": losses}), method="mamql_torch",
        params={"temperature": tau, "f": f, "alpha": alpha, "hidden": hidden, "lr": lr, "max_iter": steps,
                "device": str(dev)},
        elapsed=timer.elapsed,
    )
