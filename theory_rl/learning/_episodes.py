r"""Episodes from a :class:`~theory_rl.models.FiniteMDP`: the simulator, behaviour policies and
step-size and exploration schedules shared by the learners of Sutton & Barto (2018), Chapters 5-7
and 12.

An episode ``S_0, A_0, R_1, S_1, ..., S_T`` starts in ``S_0 ~ d0`` (or at a given pair, for
exploring starts) and ends when it enters a ``terminal`` state of the model or after ``horizon``
steps. The reward of step ``t`` is the model's expected reward ``R[S_t, A_t]``. An episode cut by
the horizon in a non-terminal state is *truncated*: the temporal-difference learners bootstrap
from the value of its last state, the Monte Carlo learners use the truncated return.
"""

from __future__ import annotations

import numbers
from bisect import bisect_right
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from .._validation import check_choice, check_int, check_optional_int, check_real, rng_from_seed
from ..errors import InvalidArgumentError, InvalidModelError
from ..models import FiniteMDP
from ._result import PredictionResult
from ._sampling import check_learnable

__all__ = ["Episode"]

MAX_STEPS = 100_000  # the cap on one episode of an episodic model when no horizon is given


class Episode(NamedTuple):
    """One episode: ``states`` ``(T + 1,)`` (``S_0 .. S_T``), ``actions`` ``(T,)``, ``rewards``
    ``(T,)`` (``R_{t+1}``, received after ``A_t``), and whether ``S_T`` is a terminal state
    (``False`` when the horizon cut the episode). The prediction learners return the episodes they
    learned from (``PredictionResult.episodes``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, learning
    >>> ep = learning.mc_prediction(envs.random_walk(5), np.full((7, 2), 0.5), n_episodes=1, seed=0).episodes[0]
    >>> ep.states.tolist(), ep.terminated
    ([3, 2, 1, 0], True)
    >>> ep.discounted_returns(1.0).tolist()  # G_t from each visited state: the walk left on the left
    [0.0, 0.0, 0.0]
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool

    def discounted_returns(self, gamma: float) -> np.ndarray:
        """``G_t = sum_{k >= t} gamma^(k-t) R_{k+1}`` for ``t = 0 .. T-1`` (no bootstrap)."""
        g = np.empty(self.rewards.size)
        acc = 0.0
        for t in range(self.rewards.size - 1, -1, -1):
            acc = self.rewards[t] + gamma * acc
            g[t] = acc
        return g


class Simulator:
    """Samples episodes of ``mdp`` step by step (one uniform per stochastic step)."""

    def __init__(self, mdp: FiniteMDP, horizon: int | None) -> None:
        check_learnable(mdp)
        self.mdp = mdp
        self.S, self.A = mdp.n_states, mdp.n_actions
        self.gamma = float(mdp.gamma)
        self.R = np.asarray(mdp.R, dtype=float)
        self.terminal = np.zeros(self.S, bool) if mdp.terminal is None else np.asarray(mdp.terminal, bool)
        horizon = check_optional_int(horizon, "horizon", minimum=1)
        if horizon is None and not self.terminal.any():
            raise InvalidArgumentError("horizon is needed for a model without terminal states (each episode is cut "
                                       "after horizon steps)")
        self.horizon = MAX_STEPS if horizon is None else horizon
        P = sp.csr_matrix(mdp.transition_matrix)
        P.sort_indices()
        P.eliminate_zeros()
        # per row s*A + a: the successors and their cumulative probabilities, as Python lists (a
        # step is one uniform and one bisection; a deterministic row draws nothing)
        self._successors = [P.indices[P.indptr[r]:P.indptr[r + 1]].tolist() for r in range(P.shape[0])]
        self._cdf = [np.cumsum(P.data[P.indptr[r]:P.indptr[r + 1]]).tolist() for r in range(P.shape[0])]
        self._R = self.R.tolist()
        d0 = np.asarray(mdp.d0, dtype=float)
        if d0[self.terminal].sum() >= 1.0 - 1e-12:
            raise InvalidModelError("d0 puts all its mass on terminal states: every episode would be empty")
        self._d0_cdf = np.cumsum(d0)
        self.non_terminal = np.flatnonzero(~self.terminal)

    def start(self, rng: np.random.Generator) -> int:
        """``S_0 ~ d0``."""
        return min(int(np.searchsorted(self._d0_cdf, rng.random() * self._d0_cdf[-1], side="right")), self.S - 1)

    def step(self, s: int, a: int, rng: np.random.Generator) -> tuple[float, int]:
        """``(R[s, a], S')`` with ``S' ~ P(. | s, a)``."""
        r = s * self.A + a
        successors = self._successors[r]
        if len(successors) == 1:
            return self._R[s][a], successors[0]
        cdf = self._cdf[r]
        return self._R[s][a], successors[min(bisect_right(cdf, rng.random() * cdf[-1]), len(successors) - 1)]

    def episode(self, policy_cdf: np.ndarray, rng: np.random.Generator) -> Episode:
        """An episode of the fixed policy whose action CDF per state is ``policy_cdf[s]``."""
        return self.rollout(self.start(rng), lambda s: sample_action(policy_cdf[s], rng), rng)

    def rollout(self, s: int, choose: Callable[[int], int], rng: np.random.Generator, *,
                first_action: int | None = None) -> Episode:
        """The episode from ``S_0 = s`` that takes ``A_t = choose(S_t)`` (``A_0 = first_action``
        when given), until a terminal state or ``horizon`` steps."""
        states, actions, rewards = [s], [], []
        while not self.terminal[s] and len(actions) < self.horizon:
            a = first_action if first_action is not None and not actions else choose(s)
            r, s = self.step(s, a, rng)
            actions.append(a)
            rewards.append(r)
            states.append(s)
        return Episode(np.asarray(states, np.int64), np.asarray(actions, np.int64), np.asarray(rewards, float),
                       bool(self.terminal[s]))


def sample_action(cdf: np.ndarray, rng: np.random.Generator) -> int:
    return min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), cdf.size - 1)


def policy_cdf(mdp: FiniteMDP, policy: Any) -> np.ndarray:
    """The action CDF ``(S, A)`` of a deterministic ``policy[s]`` or stochastic ``policy[s, a]``."""
    S, A = mdp.n_states, mdp.n_actions
    arr = np.asarray(policy)
    if arr.shape == (S,) and np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0 or arr.max() >= A:
            s = int(np.argmax((arr < 0) | (arr >= A)))
            raise InvalidModelError(f"policy[{s}] = {int(arr[s])} is not an action in [0, {A})")
        probs = np.zeros((S, A))
        probs[np.arange(S), arr] = 1.0
    elif arr.shape == (S, A) and np.issubdtype(arr.dtype, np.number):
        probs = arr.astype(float)
        bad = ~np.isfinite(probs) | (probs < 0)
        if bad.any():
            s, a = (int(i) for i in np.argwhere(bad)[0])
            raise InvalidModelError(f"policy[{s}, {a}] = {probs[s, a]!r} is not a probability")
        sums = probs.sum(axis=1)
        if np.any(np.abs(sums - 1.0) > 1e-8):
            s = int(np.argmax(np.abs(sums - 1.0)))
            raise InvalidModelError(f"policy[{s}, :] sums to {sums[s]:.6g} (expected 1)")
    else:
        raise InvalidModelError(f"policy must be action indices of shape ({S},) or probabilities of shape ({S}, {A}), "
                                f"got shape {arr.shape}")
    return np.cumsum(probs, axis=1)


def initial_table(value: Any, shape: tuple[int, ...], name: str, terminal: np.ndarray) -> np.ndarray:
    """``v0``/``q0`` (zeros when ``None``), copied, with the terminal states' entries set to 0
    (Sutton & Barto: the value of a terminal state is 0)."""
    if value is None:
        return np.zeros(shape)
    arr = np.array(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(shape, float(arr))
    if arr.shape != shape:
        raise InvalidModelError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidModelError(f"{name} has non-finite entries")
    arr[terminal] = 0.0
    return arr


def check_truth(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    if arr.shape != shape:
        raise InvalidModelError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


def visit_step_size(step_size: str | float, exponent: float) -> Callable[[float], float]:
    r"""``alpha(n)`` as a function of the visit count ``n >= 1`` of the entry being updated:
    a float in ``(0, 1]`` (constant), ``"linear"`` (``1/n``: the sample average) or
    ``"polynomial"`` (``n^{-exponent}``, ``exponent`` in ``(1/2, 1]``; both satisfy the
    Robbins-Monro conditions ``sum alpha = inf``, ``sum alpha^2 < inf``, S&B eq. 2.7)."""
    omega = check_real(exponent, "exponent", low=0.5, high=1.0, low_open=True)
    if isinstance(step_size, numbers.Real) and not isinstance(step_size, (bool, np.bool_)):
        alpha = check_real(step_size, "step_size", low=0.0, high=1.0, low_open=True)
        return lambda n: alpha
    check_choice(step_size, "step_size", ("linear", "polynomial"))
    if step_size == "linear":
        return lambda n: 1.0 / n
    return lambda n: n ** (-omega)


def exploration_schedule(exploration: str | float) -> Callable[[int], float]:
    r"""``epsilon_k`` for episode ``k = 1, 2, ...``: a float in ``[0, 1]`` (constant) or
    ``"glie"``, ``epsilon_k = 1/sqrt(k)`` (greedy in the limit with infinite exploration, Singh,
    Jaakkola, Littman & Szepesvari 2000: ``epsilon_k -> 0`` while ``sum_k epsilon_k = inf``)."""
    if isinstance(exploration, numbers.Real) and not isinstance(exploration, (bool, np.bool_)):
        eps = check_real(exploration, "exploration", low=0.0, high=1.0)
        return lambda k: eps
    check_choice(exploration, "exploration", ("glie",))
    return lambda k: k ** -0.5


def greedy_action(q_row: np.ndarray, rng: np.random.Generator) -> int:
    """``argmax_a q_row[a]``, ties broken uniformly at random."""
    row = q_row.tolist()
    top = max(row)
    best = [a for a, x in enumerate(row) if x == top]
    return best[0] if len(best) == 1 else best[int(rng.integers(len(best)))]


def epsilon_greedy_action(q_row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """With probability ``epsilon`` a uniform action, else a greedy one (random ties)."""
    if epsilon > 0.0 and rng.random() < epsilon:
        return int(rng.integers(len(q_row)))
    return greedy_action(q_row, rng)


def rms_error(v: np.ndarray, v_true: np.ndarray | None, non_terminal: np.ndarray) -> float:
    """RMS of ``v - v_true`` over the non-terminal states (S&B Figures 6.2, 7.2, 12.3); NaN without a truth."""
    if v_true is None:
        return float("nan")
    d = (v - v_true)[non_terminal]
    return float(np.sqrt(np.mean(d * d)))


def episode_history(returns: list[float], lengths: list[int], **extra: list[float]) -> dict[str, np.ndarray]:
    """The per-episode history: ``step`` (episode), ``samples`` (transitions so far), ``return``
    (discounted return from ``S_0``), ``length`` and any error columns given."""
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    out = {"step": np.arange(1, lengths_arr.size + 1), "samples": np.cumsum(lengths_arr),
           "return": np.asarray(returns, dtype=float), "length": lengths_arr}
    out.update({name: np.asarray(col, dtype=float) for name, col in extra.items()})
    return out


def check_episodes(n_episodes: Any) -> int:
    return check_int(n_episodes, "n_episodes", minimum=1)


class PredictionRun:
    """The bookkeeping every prediction learner shares: checks, the episodes of the fixed policy
    (drawn from ``seed`` alone, so that learners called with one seed see the same episodes), the
    value table and the per-episode history."""

    def __init__(self, mdp: FiniteMDP, policy: Any, *, n_episodes: Any, horizon: Any, v0: Any, v_true: Any,
                 seed: Any) -> None:
        self.sim = Simulator(mdp, horizon)
        self.n_episodes = check_episodes(n_episodes)
        self.cdf = policy_cdf(mdp, policy)
        self.v = initial_table(v0, (self.sim.S,), "v0", self.sim.terminal)
        self.v_true = check_truth(v_true, (self.sim.S,), "v_true")
        self.rng = rng_from_seed(seed)
        self.gamma = self.sim.gamma
        self.episodes: list[Episode] = []
        self._returns: list[float] = []
        self._lengths: list[int] = []
        self._errors: list[float] = []

    def __iter__(self):  # noqa: ANN204 - yields the episodes one by one
        for _ in range(self.n_episodes):
            ep = self.sim.episode(self.cdf, self.rng)
            self.episodes.append(ep)
            yield ep
            self._returns.append(float(ep.discounted_returns(self.gamma)[0]) if ep.rewards.size else 0.0)
            self._lengths.append(int(ep.actions.size))
            self._errors.append(rms_error(self.v, self.v_true, self.sim.non_terminal))

    def result(self, method: str, params: dict[str, Any], elapsed: float) -> PredictionResult:
        history = episode_history(self._returns, self._lengths, rms_error=self._errors)
        return PredictionResult(v=self.v.copy(), history=history, n_samples=int(sum(self._lengths)),
                                episodes=tuple(self.episodes), method=method,
                                params={"n_episodes": self.n_episodes, **params}, elapsed=elapsed)

    def bootstrap(self, ep: Episode) -> float:
        """``V(S_T)``: 0 at a terminal state, the current estimate where the horizon cut the episode."""
        return 0.0 if ep.terminated else float(self.v[ep.states[-1]])
