"""Environments for the neural methods: a finite MDP as a gymnasium environment with one-hot
observations, CartPole / Pendulum with settable physical parameters (for Deep IWOCS), and Monte
Carlo returns of a policy in an environment."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._validation import as_float_array, check_bool, check_choice, check_int, check_real, rng_from_seed
from ..errors import DependencyNotInstalled, InvalidModelError
from ..models import FiniteMDP

__all__ = ["PARAMETER_BOXES", "TabularEnv", "discretize_actions", "make_parametric_env", "rollout_returns"]


def _gym() -> Any:
    try:
        import gymnasium
    except ImportError:  # pragma: no cover
        raise DependencyNotInstalled("gymnasium", "envs") from None
    return gymnasium


def TabularEnv(mdp: FiniteMDP, *, horizon: int = 50, start: str = "d0", observations: Any = None,  # noqa: N802 - a class factory
               episodic: bool = False) -> Any:
    r"""A :class:`~theory_rl.models.FiniteMDP` as a ``gymnasium.Env`` with one-hot observations.

    ``step(a)`` pays ``R[s, a]`` and draws ``s' ~ P(.|s, a)``; an episode is cut (``truncated``,
    never ``terminated``) after ``horizon`` steps, so a learner that bootstraps on truncation
    estimates the infinite-horizon discounted values of the model. ``start="d0"`` draws
    ``s_0 ~ d0``, ``"uniform"`` uniformly (better coverage for the tabular tests).
    ``observations`` (shape ``(S, d)``) replaces the one-hot vector of state ``s`` by
    ``observations[s]`` (e.g. a factored encoding, see :class:`~theory_rl.envs.FactoredTask`); ``episodic=True``
    ends the episode (``terminated``) on arriving at a state of ``mdp.terminal``.
    The class is built on first use so that gymnasium stays an optional import.

    Examples
    --------
    >>> from theory_rl import envs
    >>> env = envs.TabularEnv(envs.chain(3, gamma=0.9), horizon=5)
    >>> obs, info = env.reset(seed=0)
    >>> obs
    array([1., 0., 0.], dtype=float32)
    >>> obs, reward, terminated, truncated, info = env.step(0)
    >>> obs.shape, terminated
    ((3,), False)
    """
    gym = _gym()
    check_choice(start, "start", ("d0", "uniform"))
    horizon = check_int(horizon, "horizon", minimum=1)
    episodic = check_bool(episodic, "episodic")
    S = mdp.n_states
    if observations is None:
        table = np.eye(S, dtype=np.float32)
    else:
        table = np.ascontiguousarray(as_float_array(observations, "observations", ndim=2), dtype=np.float32)
        if table.shape[0] != S:
            raise InvalidModelError(f"observations has {table.shape[0]} rows, expected one per state ({S})")
    stop = np.zeros(S, dtype=bool) if (not episodic or mdp.terminal is None) else np.asarray(mdp.terminal)
    if mdp.gamma >= 1.0:
        raise InvalidModelError("TabularEnv needs a discounted model (gamma < 1)")

    class _TabularEnv(gym.Env):
        metadata: dict = {"render_modes": []}

        def __init__(self) -> None:
            S, A = mdp.n_states, mdp.n_actions
            self.mdp, self.horizon = mdp, int(horizon)
            low, high = float(min(table.min(), 0.0)), float(max(table.max(), 1.0))
            self.observation_space = gym.spaces.Box(low, high, shape=(table.shape[1],), dtype=np.float32)
            self.action_space = gym.spaces.Discrete(A)
            self._cdf = np.cumsum(np.asarray(mdp.to_dense().P), axis=2)
            self._cdf[..., -1] = 1.0
            self._d0 = np.full(S, 1.0 / S) if (start == "uniform" or mdp.d0 is None) else np.asarray(mdp.d0)
            self._eye = table
            self._rng = np.random.default_rng()
            self.state, self._t = 0, 0

        def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
            super().reset(seed=seed)
            if seed is not None:
                self._rng = np.random.default_rng(seed)
            self.state = int(self._rng.choice(len(self._d0), p=self._d0))
            self._t = 0
            return self._eye[self.state].copy(), {"state": self.state}  # a new array per call (gymnasium rule)

        def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
            s, a = self.state, int(action)
            if self.mdp.action_mask is not None and not self.mdp.action_mask[s, a]:
                raise InvalidModelError(f"action {a} is unavailable in state {s}")
            reward = float(self.mdp.R[s, a])
            self.state = int(np.searchsorted(self._cdf[s, a], self._rng.random(), side="right"))
            self._t += 1
            done = bool(stop[self.state])
            return (self._eye[self.state].copy(), reward, done, self._t >= self.horizon and not done,
                    {"state": self.state})

    return _TabularEnv()


# Parameter boxes. CartPole and Pendulum are not in RRLS/M2TD3 (their sets are for MuJoCo tasks,
# see the paper); these ranges are ours: gymnasium's defaults sit inside each box.
PARAMETER_BOXES: dict[str, dict[str, tuple[float, float]]] = {
    "CartPole-v1": {"masspole": (0.05, 1.0), "length": (0.25, 1.5)},
    "Pendulum-v1": {"m": (0.5, 2.0), "l": (0.5, 1.5), "g": (5.0, 15.0)},
}


def discretize_actions(env: Any, n: int) -> Any:
    """Wrap a 1-D continuous action space into ``n`` equally spaced actions (for the discrete-action
    learners on Pendulum).

    Examples
    --------
    >>> import gymnasium as gym
    >>> from theory_rl import envs
    >>> env = envs.discretize_actions(gym.make('Pendulum-v1'), 5)
    >>> env.action_space
    Discrete(5)
    """
    gym = _gym()
    low, high = float(env.action_space.low[0]), float(env.action_space.high[0])
    torques = np.linspace(low, high, int(n))

    class _Discrete(gym.ActionWrapper):
        def __init__(self, inner: Any) -> None:
            super().__init__(inner)
            self.action_space = gym.spaces.Discrete(len(torques))

        def action(self, action: int) -> np.ndarray:
            return np.array([torques[int(action)]], dtype=np.float32)

    return _Discrete(env)


def make_parametric_env(env_id: str, params: Any = None, *, n_discrete_actions: int = 5) -> Any:
    """A gymnasium environment with its physical parameters set.

    ``params``: a mapping ``{name: value}`` or a vector in the order of
    ``PARAMETER_BOXES[env_id]``; ``None`` keeps the defaults. CartPole's derived quantities
    (``total_mass``, ``polemass_length``) are recomputed. Pendulum's torque is discretised into
    ``n_discrete_actions`` actions (the learners here are discrete-action).

    Examples
    --------
    >>> from theory_rl import envs
    >>> env = envs.make_parametric_env('CartPole-v1', {'masspole': 0.2})
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (4,)
    """
    gym = _gym()
    if env_id not in PARAMETER_BOXES:
        raise InvalidModelError(f"env_id must be one of {sorted(PARAMETER_BOXES)}, got {env_id!r}")
    names = list(PARAMETER_BOXES[env_id])
    env = gym.make(env_id)
    core = env.unwrapped
    if params is not None:
        if not isinstance(params, dict):
            vec = as_float_array(params, "params", ndim=1)
            if vec.shape != (len(names),):
                raise InvalidModelError(f"params has shape {vec.shape}, expected ({len(names)},) for {names}")
            params = dict(zip(names, vec))
        for name, value in params.items():
            if name not in names:
                raise InvalidModelError(f"{env_id} has no parameter {name!r} (known: {names})")
            if not (np.isfinite(value) and value > 0):
                raise InvalidModelError(f"params[{name!r}] = {value!r} must be a positive number")
            setattr(core, name, float(value))
        if env_id.startswith("CartPole"):
            core.total_mass = core.masspole + core.masscart
            core.polemass_length = core.masspole * core.length
    if env_id.startswith("Pendulum"):
        env = discretize_actions(env, n_discrete_actions)
    return env


@renamed_arguments(positional=("n_episodes",))
def rollout_returns(env: Any, act: Any, *, n_episodes: int, seed: Any = None, gamma: float = 1.0) -> np.ndarray:
    """Returns of ``n_episodes`` episodes of ``act(obs) -> action`` (discounted when ``gamma < 1``).

    ``n_episodes`` is keyword-only (passing it by position still works until 0.3.0, with a
    ``DeprecationWarning``).

    Examples
    --------
    >>> import gymnasium as gym
    >>> from theory_rl import envs
    >>> env = gym.make('CartPole-v1')
    >>> returns = envs.rollout_returns(env, lambda obs: int(obs[2] > 0), n_episodes=3, seed=0)
    >>> returns.shape, bool((returns > 0).all())
    ((3,), True)
    """
    n_episodes = check_int(n_episodes, "n_episodes")
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0)
    rng = rng_from_seed(seed)
    out = np.empty(n_episodes)
    for i in range(n_episodes):
        obs, _ = env.reset(seed=int(rng.integers(2**31)))
        total, discount, done = 0.0, 1.0, False
        while not done:
            obs, r, term, trunc, _ = env.step(act(obs))
            total += discount * r
            discount *= gamma
            done = term or trunc
        out[i] = total
    return out
