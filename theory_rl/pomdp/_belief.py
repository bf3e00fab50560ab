r"""Beliefs: Bayes updates, observation probabilities, the belief MDP, simulation, and a
brute-force belief-tree value (the oracle for exact solvers).

With Cassandra's convention (``O[a, s', o]`` depends on the action and the arrival state):

.. math::
    \Pr(o \mid b, a) = \sum_{s'} O[a, s', o] \sum_s T[s, a, s'] b(s), \qquad
    \tau(b, a, o)(s') = \frac{O[a, s', o] \sum_s T[s, a, s'] b(s)}{\Pr(o \mid b, a)}.

The belief MDP has states ``b``, rewards ``rho(b, a) = b . R[:, a]`` and successor beliefs
``tau(b, a, o)`` with probabilities ``Pr(o | b, a)`` (Kaelbling, Littman, Cassandra 1998,
"Planning and acting in partially observable stochastic domains", AIJ 101).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy import stats

from .._result import Result
from .._sampling import sample_rows
from .._validation import check_int, check_real, resolve_index, resolve_indices, rng_from_seed
from ..errors import InvalidModelError
from ..models import POMDP

__all__ = [
    "belief_update",
    "observation_probabilities",
    "successor_beliefs",
    "belief_q_values",
    "belief_tree_value",
    "simulate",
    "SimulationResult",
]


def _check_belief(model: POMDP, b: Any, name: str = "b") -> np.ndarray:
    arr = np.asarray(b, dtype=np.float64)
    if arr.shape != (model.n_states,):
        raise InvalidModelError(f"{name} has shape {arr.shape}, expected ({model.n_states},)")
    if not np.isfinite(arr).all() or arr.min() < 0 or abs(arr.sum() - 1.0) > 1e-6:
        raise InvalidModelError(f"{name} is not a probability vector (min {arr.min():.3g}, sum {arr.sum():.10g})")
    return arr


def _check_action(model: POMDP, a: Any) -> int:
    """An action index, or a name of ``model.action_names``, as its index."""
    return resolve_index(a, "action", model.n_actions, model.action_names)


def _check_observation(model: POMDP, o: Any) -> int:
    """An observation index, or a name of ``model.observation_names``, as its index."""
    return resolve_index(o, "observation", model.n_observations, model.observation_names)


def _predict(model: POMDP, b: np.ndarray, a: int) -> np.ndarray:
    """``(b T_a)(s') = sum_s b(s) T[s, a, s']``."""
    return np.asarray(model.transpose_by_action[a] @ b)


def observation_probabilities(model: POMDP, b: np.ndarray, a: int) -> np.ndarray:
    """``Pr(o | b, a)`` for every observation, shape ``(O,)``; ``a`` an index or an action name.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> np.round(pomdp.observation_probabilities(tiger, tiger.b0, "listen"), 4)
    array([0.5, 0.5])
    """
    b = _check_belief(model, b)
    a = _check_action(model, a)
    return _predict(model, b, a) @ model.O[a]


def belief_update(model: POMDP, b: np.ndarray, a: int | str, o: int | str) -> np.ndarray:
    r"""Bayes' rule ``tau(b, a, o)`` (module docstring):
    ``b'(s') = O[a, s', o] sum_s b(s) T[s, a, s'] / Pr(o | b, a)``.

    ``a`` and ``o`` are indices or the model's names (``action_names``, ``observation_names``).

    Raises
    ------
    InvalidModelError
        If ``o`` has probability zero after ``a`` from ``b`` (the posterior is undefined), or if
        ``b`` is not a probability vector of length ``S``.
    InvalidArgumentError
        If ``a`` or ``o`` is out of range or not one of the model's names.

    Examples
    --------
    >>> from theory_rl import envs, pomdp
    >>> tiger = envs.tiger()
    >>> b = pomdp.belief_update(tiger, tiger.b0, "listen", "tiger-left")
    >>> [round(float(x), 2) for x in b]
    [0.85, 0.15]
    """
    b = _check_belief(model, b)
    a = _check_action(model, a)
    o = _check_observation(model, o)
    joint = _predict(model, b, a) * model.O[a][:, o]
    p = joint.sum()
    if not p > 0:
        name = model.observation_names[o] if model.observation_names else o
        raise InvalidModelError(
            f"observation {name!r} has probability 0 after action {a} from this belief: the update is undefined"
        )
    return joint / p


def successor_beliefs(model: POMDP, b: np.ndarray, a: int) -> tuple[np.ndarray, np.ndarray]:
    """The belief MDP's transition from ``b`` under ``a`` (an index or an action name).

    Returns
    -------
    probs : ndarray, shape (O,)
        ``Pr(o | b, a)``.
    beliefs : ndarray, shape (O, S)
        ``tau(b, a, o)``; for an observation of probability zero the row is the prediction
        ``b T_a`` (any belief would do: it is weighted by zero).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> probs, beliefs = pomdp.successor_beliefs(tiger, tiger.b0, 0)
    >>> np.round(probs, 4), np.round(beliefs, 4)
    (array([0.5, 0.5]), array([[0.85, 0.15],
           [0.15, 0.85]]))
    """
    b = _check_belief(model, b)
    a = _check_action(model, a)
    pred = _predict(model, b, a)
    joint = model.O[a].T * pred[None, :]  # (O, S')
    probs = joint.sum(axis=1)
    out = np.where(probs[:, None] > 0, joint / np.where(probs > 0, probs, 1.0)[:, None], pred[None, :])
    return probs, out


def belief_q_values(model: POMDP, b: np.ndarray, value: Callable[[np.ndarray], float]) -> np.ndarray:
    r"""One belief-MDP backup at ``b``:
    ``Q(b, a) = b . R[:, a] + gamma sum_o Pr(o | b, a) V(tau(b, a, o))``, shape ``(A,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> np.round(pomdp.belief_q_values(tiger, tiger.b0, lambda b: 0.0), 4)
    array([ -1., -45., -45.])
    """
    b = _check_belief(model, b)
    q = b @ model.R
    for a in range(model.n_actions):
        probs, nxt = successor_beliefs(model, b, a)
        q[a] += model.gamma * sum(p * value(nb) for p, nb in zip(probs, nxt) if p > 0)
    return q


def belief_tree_value(model: POMDP, b: np.ndarray, horizon: int) -> float:
    r"""``V_h(b)`` by brute-force expectimax over the belief tree (``(A O)^h`` leaves):
    ``V_0 = 0``, ``V_h(b) = max_a Q_{h}(b, a)``. The independent oracle for exact solvers on
    tiny models and horizons.

    Raises
    ------
    InvalidModelError
        If ``horizon`` is not an integer ``>= 0``.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> print(f"{pomdp.belief_tree_value(tiger, tiger.b0, 1):.4f}")
    -1.0000
    """
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 0:
        raise InvalidModelError(f"horizon = {horizon!r} must be an integer >= 0")
    if horizon == 0:
        return 0.0
    return float(belief_q_values(model, b, lambda nb: belief_tree_value(model, nb, horizon - 1)).max())


@dataclass(frozen=True, repr=False, eq=False)
class SimulationResult(Result):
    """Discounted returns of simulated episodes.

    Attributes
    ----------
    returns : ndarray, shape (n_episodes,)
        ``sum_{t < horizon} gamma^t r_t`` per episode.
    mean, std_error : float
    ci : tuple of float
        Normal-approximation confidence interval of the mean at level ``confidence``.
    truncation : float
        ``gamma^horizon * max|R| / (1 - gamma)``: how far the infinite-horizon value can be from
        the expected truncated return (``inf`` for ``gamma = 1``).
    confidence : float
    params : dict

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> sim = pomdp.simulate(tiger, pomdp.exact_value_iteration(tiger), horizon=50, n_episodes=100, seed=0)
    >>> type(sim).__name__, sim.returns.shape
    ('SimulationResult', (100,))
    """

    returns: np.ndarray
    mean: float
    std_error: float
    ci: tuple[float, float]
    truncation: float
    confidence: float

    _repr_fields = ("mean", "std_error", "ci", "truncation")

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the interval widened by the truncation error."""
        return self.ci[0] - self.truncation <= value <= self.ci[1] + self.truncation


def _policy_actions(model: POMDP, policy: Any, beliefs: np.ndarray) -> np.ndarray:
    """The policy's action at each belief, as indices (a policy may return the model's action names)."""
    if hasattr(policy, "action_at"):
        acts = policy.action_at(beliefs)
    else:
        acts = [policy(b) for b in beliefs]
    return np.asarray(resolve_indices(acts, "the policy's action", model.n_actions, model.action_names),
                      dtype=np.int64)


def simulate(
    model: POMDP,
    policy: Any,
    *,
    horizon: int,
    n_episodes: int,
    seed: int | np.random.Generator | None = None,
    b0: np.ndarray | None = None,
    confidence: float = 0.95,
) -> SimulationResult:
    r"""Run a belief-based policy on the POMDP and report the discounted returns.

    All episodes run in lockstep: states are sampled from ``b0``, then ``T`` and ``O``; the
    agent's belief is updated exactly by :func:`belief_update`.

    Parameters
    ----------
    policy : callable or POMDPSolution
        ``policy(b) -> action`` (an index or one of the model's action names); an object with
        ``action_at(beliefs)`` (e.g. a :class:`POMDPSolution`) is called once per step on the
        whole batch.
    horizon, n_episodes : int
    seed : int or Generator
    b0 : ndarray (S,), optional
        Start belief (and the distribution of the start state); default ``model.b0``.
    confidence : float
        Level of the interval ``mean +- z * std_error``.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> sol = pomdp.exact_value_iteration(tiger)
    >>> sim = pomdp.simulate(tiger, sol, horizon=60, n_episodes=200, seed=0)
    >>> bool(sim.ci[0] <= sim.mean <= sim.ci[1])
    True
    """
    horizon = check_int(horizon, "horizon", minimum=1)
    n_episodes = check_int(n_episodes, "n_episodes", minimum=1)
    confidence = check_real(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    rng = rng_from_seed(seed)
    start = model.b0 if b0 is None else _check_belief(model, b0, "b0")
    S, A = model.n_states, model.n_actions
    N = int(n_episodes)
    states = rng.choice(S, size=N, p=start / start.sum())
    beliefs = np.tile(start, (N, 1))
    returns = np.zeros(N)
    disc = 1.0
    rows_of = model.T if model.is_sparse else model.T.reshape(S * A, S)
    for _ in range(int(horizon)):
        acts = _policy_actions(model, policy, beliefs)
        if acts.min() < 0 or acts.max() >= A:
            raise InvalidModelError(f"the policy returned an action outside [0, {A})")
        returns += disc * model.R[states, acts]
        disc *= model.gamma
        rows = rows_of[states * A + acts]
        rows = rows.toarray() if sp.issparse(rows) else rows
        nxt = sample_rows(rng, rows)
        obs = sample_rows(rng, model.O[acts, nxt])
        for a in np.unique(acts):
            idx = np.flatnonzero(acts == a)
            pred = np.asarray(model.transpose_by_action[a] @ beliefs[idx].T).T  # (n, S')
            joint = pred * model.O[a][:, obs[idx]].T
            beliefs[idx] = joint / joint.sum(axis=1, keepdims=True)
        states = nxt
    mean = float(returns.mean())
    se = float(returns.std(ddof=1) / np.sqrt(N)) if N > 1 else float("inf")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    g = model.gamma
    trunc = float("inf") if g >= 1 else float(g ** horizon * np.abs(model.R).max() / (1 - g))
    return SimulationResult(
        returns=returns, mean=mean, std_error=se, ci=(mean - z * se, mean + z * se), truncation=trunc,
        confidence=confidence, params={"horizon": int(horizon), "n_episodes": N}, method="simulate",
    )
