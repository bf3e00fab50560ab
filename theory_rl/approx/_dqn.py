"""Deep Q-networks: DQN (Mnih et al. 2015) and double DQN (van Hasselt et al. 2016)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._iterative import Timer, iterations
from .._torch import mlp, require_torch, single_thread
from .._validation import check_bool, check_gamma, check_int, check_probability, check_real
from ..errors import InvalidArgumentError
from ._nets import EpisodeTracker, NeuralResult, ReplayBuffer, discrete_agent_setup, linear_schedule

__all__ = ["dqn"]


@renamed_arguments(epsilon="exploration")
def dqn(
    env: Any,
    *,
    gamma: float = 0.99,
    total_steps: int = 50_000,
    double: bool = True,
    hidden: tuple[int, ...] = (64, 64),
    lr: float = 1e-3,
    batch_size: int = 64,
    buffer_size: int = 50_000,
    learning_starts: int = 1000,
    train_every: int = 1,
    target_update: int = 500,
    exploration: tuple[float, float, float] = (1.0, 0.05, 0.3),
    max_grad_norm: float = 10.0,
    seed: Any = None,
    device: Any = "auto",
    callback: Any = None,
    progress: bool = False,
) -> NeuralResult:
    r"""DQN / double DQN on a gymnasium environment with discrete actions.

    An online network ``Q_theta`` is fitted by SGD (Adam, Huber loss) on minibatches from a
    replay buffer, towards targets from a *target network* ``Q_{theta^-}`` copied every
    ``target_update`` steps (Mnih et al. 2015, Nature 518, Algorithm 1):

    .. math::
        y = r + \gamma (1 - \text{term}) \max_{a'} Q_{\theta^-}(s', a') \quad\text{(DQN)},\qquad
        y = r + \gamma (1 - \text{term})\, Q_{\theta^-}\big(s', \arg\max_{a'} Q_\theta(s', a')\big)
        \quad\text{(double DQN)},

    the latter decoupling action selection from evaluation to remove the max operator's
    over-estimation bias (van Hasselt, Guez & Silver 2016, AAAI, arXiv 1509.06461).
    Exploration is epsilon-greedy with epsilon annealed linearly from ``exploration[0]`` to
    ``exploration[1]`` over the first ``exploration[2]`` fraction of ``total_steps``. Time-limit
    truncations bootstrap (only ``terminated`` stops the target), so on
    :class:`~theory_rl.envs.TabularEnv` the fixed point is the model's ``Q*``.

    Not included from the Nature paper: frame stacking/pre-processing (the inputs here are
    state vectors) and reward clipping.

    Parameters
    ----------
    env : gymnasium.Env
        Box observations, Discrete actions.
    gamma, total_steps, double, hidden, lr, batch_size, buffer_size, learning_starts,
    train_every, target_update, exploration, max_grad_norm
        As above (``exploration``, the epsilon-greedy schedule ``(start, end, fraction)``, was
        called ``epsilon`` before 0.2.0; the old name still works until 0.3.0, with a
        ``DeprecationWarning``).
    seed : int or numpy Generator
        Seeds the environment resets, exploration, replay sampling and network initialisation.
    device : str or torch.device
        ``"auto"`` (the default: CUDA when present, else CPU), ``"cpu"`` or ``"cuda"``.
    callback : callable ``(step, q_network) -> None``, optional
        Called every 1000 steps (e.g. to record an evaluation curve).
    progress : bool
        Show a tqdm bar over the environment steps on stderr.

    Returns
    -------
    NeuralResult
        ``networks = {"q": Q_theta, "target": Q_theta^-}``.

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> env = approx.TabularEnv(envs.chain(4), horizon=10)
    >>> res = approx.dqn(env, total_steps=100, learning_starts=20, batch_size=8, hidden=(8,), seed=0, device="cpu")
    >>> len(res.episode_returns) > 0, sorted(res.networks)
    (True, ['q', 'target'])
    """
    torch = require_torch()
    gamma = check_gamma(gamma)
    total_steps = check_int(total_steps, "total_steps")
    batch_size, buffer_size = check_int(batch_size, "batch_size"), check_int(buffer_size, "buffer_size")
    learning_starts = check_int(learning_starts, "learning_starts", minimum=0)
    train_every, target_update = check_int(train_every, "train_every"), check_int(target_update, "target_update")
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    max_grad_norm = check_real(max_grad_norm, "max_grad_norm", low=0.0, low_open=True)
    if not (isinstance(exploration, (tuple, list)) and len(exploration) == 3):
        raise InvalidArgumentError(f"exploration must be (start, end, fraction), got {exploration!r}")
    exploration = (check_probability(exploration[0], "exploration[0]"), check_probability(exploration[1], "exploration[1]"),
                   check_real(exploration[2], "exploration[2]", low=0.0, high=1.0, low_open=True))
    progress = check_bool(progress, "progress")
    dev, rng, obs_dim, n_actions = discrete_agent_setup(env, seed, device, "dqn")
    with Timer() as timer, single_thread(dev):
        q_net = mlp(obs_dim, n_actions, hidden, device=dev)
        target = mlp(obs_dim, n_actions, hidden, device=dev)
        target.load_state_dict(q_net.state_dict())
        opt = torch.optim.Adam(q_net.parameters(), lr=lr)
        buffer = ReplayBuffer(buffer_size, obs_dim, rng)
        eps_of = linear_schedule(exploration[0], exploration[1], exploration[2], total_steps)
        losses = []
        episodes = EpisodeTracker(env, rng)
        for step in iterations(total_steps, progress, "dqn"):
            if rng.random() < eps_of(step):
                action = int(rng.integers(n_actions))
            else:
                with torch.no_grad():
                    action = int(q_net(torch.as_tensor(episodes.obs, dtype=torch.float32, device=dev)).argmax())
            obs, next_obs, reward, term, _ = episodes.step(action)
            buffer.add(np.ravel(obs), action, reward, np.ravel(next_obs), term)
            if step >= learning_starts and step % train_every == 0:
                o, a, r, o2, d = buffer.sample(batch_size, dev)
                with torch.no_grad():
                    q_next = target(o2)
                    if double:
                        best = q_net(o2).argmax(dim=1, keepdim=True)
                        v_next = q_next.gather(1, best).squeeze(1)
                    else:
                        v_next = q_next.max(dim=1).values
                    y = r + gamma * (1.0 - d) * v_next
                q = q_net(o).gather(1, a.view(-1, 1)).squeeze(1)
                loss = torch.nn.functional.smooth_l1_loss(q, y)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(q_net.parameters(), max_grad_norm)
                opt.step()
                if step % 100 == 0:
                    losses.append(float(loss.detach()))
            if step % target_update == 0:
                target.load_state_dict(q_net.state_dict())
            if callback is not None and step % 1000 == 0:
                callback(step, q_net)
    return NeuralResult(
        networks={"q": q_net, "target": target}, episode_returns=np.asarray(episodes.returns),
        episode_steps=np.asarray(episodes.ends), method="double_dqn" if double else "dqn",
        params={"gamma": gamma, "total_steps": total_steps, "double": double, "hidden": list(hidden), "lr": lr,
                "batch_size": batch_size, "target_update": target_update, "device": str(dev)},
        elapsed=timer.elapsed, info={"losses": np.asarray(losses)},
    )
