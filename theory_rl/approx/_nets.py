"""Pieces the neural methods share: a replay buffer, the result record, and observation helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._result import Result
from .._torch import require_torch, resolve_device, seed_torch, to_numpy
from .._validation import rng_from_seed
from ..errors import InvalidModelError

__all__ = ["ReplayBuffer", "EpisodeTracker", "NeuralResult", "linear_schedule", "greedy_values"]


class ReplayBuffer:
    """A ring buffer of transitions ``(obs, action, reward, next_obs, terminated)`` in numpy."""

    def __init__(self, capacity: int, obs_dim: int, rng: np.random.Generator) -> None:
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.size, self._next, self.rng = capacity, 0, 0, rng

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        i = self._next
        self.obs[i], self.actions[i], self.rewards[i], self.next_obs[i], self.dones[i] = obs, action, reward, next_obs, terminated
        self._next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, device: Any) -> tuple[Any, ...]:
        torch = require_torch()
        idx = self.rng.integers(0, self.size, size=batch_size)
        return tuple(torch.as_tensor(x[idx], device=device) for x in
                     (self.obs, self.actions, self.rewards, self.next_obs, self.dones))


class EpisodeTracker:
    """Steps a gymnasium environment for a learner and keeps the episode bookkeeping.

    The environment is reset (seed drawn from ``rng``) at the start and whenever an episode is
    terminated or truncated; each finished episode's undiscounted return goes to ``returns`` and
    the global step count at which it ended to ``ends``. ``obs`` is the current observation.
    """

    def __init__(self, env: Any, rng: np.random.Generator) -> None:
        self.env, self.rng = env, rng
        self.returns: list[float] = []
        self.ends: list[int] = []
        self.steps = 0
        self._episode_return = 0.0
        self.obs = self._reset()

    def _reset(self) -> Any:
        obs, _ = self.env.reset(seed=int(self.rng.integers(2**31)))
        return obs

    def step(self, action: int) -> tuple[Any, Any, float, bool, bool]:
        """Take ``action``: ``(obs, next_obs, reward, terminated, truncated)`` of the transition
        (``next_obs`` is the environment's, not the reset one that replaces it after an episode)."""
        obs = self.obs
        next_obs, reward, terminated, truncated, _ = self.env.step(action)
        self._episode_return += reward
        self.steps += 1
        self.obs = next_obs
        if terminated or truncated:
            self.returns.append(self._episode_return)
            self.ends.append(self.steps)
            self._episode_return = 0.0
            self.obs = self._reset()
        return obs, next_obs, reward, terminated, truncated


def discrete_agent_setup(env: Any, seed: Any, device: Any, method: str) -> tuple[Any, np.random.Generator, int, int]:
    """Common start of the discrete-action agents: check that ``env`` has a Discrete action space
    (naming ``method`` if not), then ``(device, rng, obs_dim, n_actions)`` with torch seeded from ``rng``."""
    if not hasattr(env.action_space, "n"):
        raise InvalidModelError(f"{method} needs a Discrete action space")
    dev = resolve_device(device)
    rng = rng_from_seed(seed)
    seed_torch(rng)
    return dev, rng, int(np.prod(env.observation_space.shape)), int(env.action_space.n)


def linear_schedule(start: float, end: float, fraction: float, total: int) -> Any:
    """``k -> start + (end - start) * min(1, k / (fraction * total))``."""
    span = max(1.0, fraction * total)
    return lambda k: start + (end - start) * min(1.0, k / span)


@dataclass(frozen=True, repr=False, eq=False)
class NeuralResult(Result):
    """What a neural learner returns.

    Attributes
    ----------
    networks : dict
        The trained torch modules (e.g. ``{"q": ..., "target": ...}`` or ``{"policy": ..., "value": ...}``).
    episode_returns : ndarray
        Undiscounted return of every finished (or truncated) training episode.
    episode_steps : ndarray
        The environment step at which each of those episodes ended (learning-curve x axis).
    method : str
    params : dict
    elapsed : float
    info : dict
        Method-specific extras (documented by each learner).

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> env = approx.TabularEnv(envs.chain(4), horizon=10)
    >>> res = approx.dqn(env, total_steps=50, learning_starts=20, batch_size=8, hidden=(8,), seed=0, device="cpu")
    >>> type(res).__name__, sorted(res.networks)
    ('NeuralResult', ['q', 'target'])
    """

    networks: dict
    episode_returns: np.ndarray
    episode_steps: np.ndarray
    info: dict = field(default_factory=dict)

    _repr_fields = ("method", "elapsed")

    def to_dict(self, *, tidy: bool = False) -> dict[str, Any]:
        from .._result import to_plain

        if tidy:
            return super().to_dict(tidy=True)
        return {"method": self.method, "params": to_plain(self.params), "elapsed": self.elapsed,
                "episode_returns": self.episode_returns.tolist(), "episode_steps": self.episode_steps.tolist(),
                "info": to_plain({k: v for k, v in self.info.items() if not hasattr(v, "parameters")})}


def greedy_values(net: Any, observations: np.ndarray, device: Any) -> np.ndarray:
    """``net(observations)`` as numpy (no gradient), e.g. ``Q(s, .)`` for one-hot states."""
    torch = require_torch()
    p = next(net.parameters())
    with torch.no_grad():
        return to_numpy(net(torch.as_tensor(observations, device=device, dtype=p.dtype)))


@renamed_arguments(positional=("device",))
def tabular_policy(net: Any, n_states: int, *, device: Any = "auto") -> np.ndarray:
    """``pi(a|s)`` of a softmax policy network on one-hot states, shape ``(S, A)``, as float64
    rows summing to 1 (ready for :func:`theory_rl.tabular.policy_value`). ``device`` (``"auto"``:
    CUDA when present) is keyword-only; passing it by position still works until 0.3.0, with a
    ``DeprecationWarning``.

    Examples
    --------
    >>> import torch
    >>> from theory_rl import approx
    >>> net = torch.nn.Linear(3, 2)                                   # logits of 2 actions from one-hot states
    >>> pi = approx.tabular_policy(net, 3, device="cpu")
    >>> pi.shape, bool(abs(pi.sum() - 3.0) < 1e-12)
    ((3, 2), True)
    """
    logits = greedy_values(net, np.eye(n_states), resolve_device(device)).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)
