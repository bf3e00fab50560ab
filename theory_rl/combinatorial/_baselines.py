r"""Policies for coRMABs (SEQUOIA and the paper's baselines) and the paper's evaluation metric.

Baselines of Xu et al. 2025 (arXiv 2503.01919, ``algos/baselines.py``): null (no action),
random feasible, sampling (best of ``K`` random feasible actions by one-step value), myopic (the
one-step MILP), iterative myopic (greedy add by immediate gain), iterative DQN (greedy add under
the learned ``Q``), and SEQUOIA (MILP argmax of the learned ``Q``).

Every policy is a callable ``policy(state, rng) -> (action, certificate)``; the environment
checks each action with the feasible set's independent check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._result import Result
from .._validation import check_int, check_probability, check_real, rng_from_seed
from ._argmax import greedy_q_action, mip_argmax, myopic_argmax
from ._cormab import CoRMAB, CoRMABEnv
from ._encoding import relu_mlp_layers

__all__ = ["EvaluationResult", "baseline_policies", "evaluate", "sequoia_policy"]

Policy = Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, Any]]


def baseline_policies(cormab: CoRMAB, *, qnet: Any = None, n_samples: int = 100, solver: str = "highs",
                      mip_gap: float = 0.0) -> dict[str, Policy]:
    """The paper's baselines as policies. ``null`` is omitted where the empty action is infeasible
    (the equality budget of the interventions domain); ``iterative_dqn`` needs ``qnet``.

    Examples
    --------
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("budget", 4, 2, seed=0, horizon=5)
    >>> sorted(combinatorial.baseline_policies(cormab))
    ['iterative_myopic', 'myopic', 'null', 'random', 'sampling']
    """
    c = cormab.constraint
    zero = np.zeros(cormab.n_actions, dtype=np.int8)
    out: dict[str, Policy] = {}
    if c.is_feasible(zero):
        out["null"] = lambda s, rng: (zero, None)
    out["random"] = lambda s, rng: c.sample(rng)

    def sampling(s: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
        draws = [c.sample(rng) for _ in range(n_samples)]
        values = cormab.expected_reward(s, np.stack([d[0] for d in draws]))
        return draws[int(np.argmax(values))]

    out["sampling"] = sampling

    def myopic(s: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
        res = myopic_argmax(cormab, s, solver=solver, mip_gap=mip_gap)
        return res.action, res.certificate

    out["myopic"] = myopic
    out["iterative_myopic"] = lambda s, rng: (c.greedy(lambda a: cormab.expected_reward(s, a)), None)
    if qnet is not None:
        layers = relu_mlp_layers(qnet)
        out["iterative_dqn"] = lambda s, rng: (greedy_q_action(cormab, qnet, s, layers=layers), None)
    return out


def sequoia_policy(cormab: CoRMAB, qnet: Any, *, solver: str = "highs", mip_gap: float = 0.0,
                   time_limit: float | None = None) -> Policy:
    """SEQUOIA at evaluation: the MILP argmax of ``Q`` over the full feasible set, warm-started by
    the greedy action.

    Examples
    --------
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("budget", 4, 2, seed=0, horizon=5)
    >>> qnet = combinatorial.relu_mlp(cormab.n_actions + cormab.n_arms, (8,), seed=0, device="cpu")
    >>> policy = combinatorial.sequoia_policy(cormab, qnet)
    >>> res = combinatorial.evaluate(cormab, policy, n_episodes=2, seed=0)       # the env checks feasibility
    >>> res.episodes
    2
    """
    layers = relu_mlp_layers(qnet)

    def act(s: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
        warm = greedy_q_action(cormab, qnet, s, layers=layers)
        res = mip_argmax(layers, cormab.features(s), cormab.constraint, solver=solver, mip_gap=mip_gap,
                         time_limit=time_limit, warm_start=warm if cormab.constraint.is_feasible(warm) else None,
                         layers=layers)
        return res.action, res.certificate

    return act


@dataclass(frozen=True, repr=False)
class EvaluationResult(Result):
    r"""The paper's metric and the discounted return.

    ``mean_reward``: mean over ``episodes x H`` steps of the expected per-step reward
    ``r(s_t, a_t)`` (Xu et al.'s reported metric; *not* a discounted return); ``stderr``: its
    standard error across episodes (episode means are independent; steps within one are not);
    ``discounted_return``: mean over episodes of ``sum_t gamma^t r(s_t, a_t)``, with
    ``discounted_stderr``; ``per_episode``: the episode means (episodes,).

    Examples
    --------
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("budget", 4, 2, seed=0, horizon=5)
    >>> res = combinatorial.evaluate(cormab, combinatorial.baseline_policies(cormab)["null"], n_episodes=20, seed=0)
    >>> type(res).__name__, res.episodes, res.horizon, bool(res.stderr >= 0)
    ('EvaluationResult', 20, 5, True)
    """

    mean_reward: float
    stderr: float
    discounted_return: float
    discounted_stderr: float
    per_episode: np.ndarray
    episodes: int
    horizon: int
    _repr_fields = ("mean_reward", "stderr", "discounted_return", "episodes")


@renamed_arguments(episodes="n_episodes")
def evaluate(cormab: CoRMAB, policy: Policy, *, n_episodes: int = 50, horizon: int | None = None,
             gamma: float | None = None, seed: Any = 0, p_one: float = 0.2) -> EvaluationResult:
    """Roll ``policy`` for ``n_episodes`` episodes of ``horizon`` (default ``cormab.horizon``) steps
    from the evaluation starts (level 1 w.p. ``p_one``). Episode ``e`` uses the random stream
    ``SeedSequence(seed).spawn(n_episodes)[e]`` for its start and transitions, so two policies
    evaluated with the same ``seed`` face the same starts (common random numbers).

    ``n_episodes`` was called ``episodes`` before 0.2.0 (still accepted until 0.3.0, with a
    ``DeprecationWarning``). Bad option values raise :class:`~theory_rl.errors.InvalidArgumentError`.

    Examples
    --------
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("budget", 4, 2, seed=0, horizon=5)
    >>> policies = combinatorial.baseline_policies(cormab)
    >>> null = combinatorial.evaluate(cormab, policies["null"], n_episodes=30, seed=0)
    >>> myopic = combinatorial.evaluate(cormab, policies["myopic"], n_episodes=30, seed=0)
    >>> bool(myopic.mean_reward >= null.mean_reward)                # common random numbers across policies
    True
    """
    episodes = check_int(n_episodes, "n_episodes", minimum=1)
    H = cormab.horizon if horizon is None else check_int(horizon, "horizon", minimum=1)
    g = cormab.gamma if gamma is None else check_real(gamma, "gamma", low=0.0, high=1.0)
    p_one = check_probability(p_one, "p_one")
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(
        rng_from_seed(seed).integers(2**63) if isinstance(seed, np.random.Generator) else seed)
    means, discounted = np.empty(episodes), np.empty(episodes)
    for e, child in enumerate(root.spawn(episodes)):
        env_rng, pol_rng = (np.random.default_rng(c) for c in child.spawn(2))
        env = CoRMABEnv(cormab, p_one=p_one)
        s, _ = env.reset(seed=env_rng)
        rewards = np.empty(H)
        for t in range(H):
            a, cert = policy(s, pol_rng)
            s, rewards[t], *_ = env.step(a, cert)
        means[e] = rewards.mean()
        discounted[e] = float((g ** np.arange(H) * rewards).sum())

    def se(x: np.ndarray) -> float:
        return float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")

    return EvaluationResult(mean_reward=float(means.mean()), stderr=se(means), discounted_return=float(discounted.mean()),
                            discounted_stderr=se(discounted), per_episode=means, episodes=episodes, horizon=H,
                            method="evaluate", params={"gamma": g, "seed": seed if isinstance(seed, int) else None,
                                                       "p_one": p_one})
