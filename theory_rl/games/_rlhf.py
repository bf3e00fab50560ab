r"""The reward-model RLHF baseline: fit a Bradley-Terry reward to preference queries, then plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_expit

from .._iterative import Timer
from .._result import Result
from .._validation import check_bool, check_int, check_real, rng_from_seed
from ..tabular import backward_induction
from ._preferences import PreferenceOracle, check_oracle
from ._spo import Evaluator
from ._trajectory_game import check_horizon, markov_policy, sample_episodes, trajectory_game

__all__ = ["RewardModelResult", "reward_model_rlhf"]


@dataclass(frozen=True, repr=False, eq=False)
class RewardModelResult(Result):
    r"""Result of :func:`reward_model_rlhf`.

    Attributes
    ----------
    policy : ndarray, shape (H, S, A)
        The deterministic policy optimal for the fitted reward (one-hot rows).
    reward : ndarray, shape (S, A)
        The fitted Bradley-Terry reward ``r_hat(s, a)``.
    exploitability : float
        ``max_pi Pr(pi beats p_policy) - 1/2`` (``nan`` when not evaluated).
    win_rate : float
        ``Pr(policy beats p*)`` against the minimax winner over trajectories (``nan`` unless the
        trajectories are the pure strategies).
    n_queries : int
        Preference queries used to fit the reward.
    method, params, elapsed

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import BradleyTerryOracle, decision_tree_mdp, reward_model_rlhf
    >>> mdp = decision_tree_mdp(2, 2)
    >>> res = reward_model_rlhf(mdp, oracle=BradleyTerryOracle(np.arange(14.0).reshape(7, 2)), n_samples=200, seed=0)
    >>> type(res).__name__, res.reward.shape, res.policy[0, 0].tolist()
    ('RewardModelResult', (7, 2), [0.0, 1.0])
    """

    policy: np.ndarray
    reward: np.ndarray
    exploitability: float
    win_rate: float
    n_queries: int
    _repr_fields = ("n_queries", "exploitability", "win_rate", "elapsed")


def reward_model_rlhf(mdp: Any, *, oracle: PreferenceOracle, horizon: int | None = None, n_samples: int = 1000,
                      behaviour: Any = None, ridge: float = 1e-3, evaluate: bool = True,
                      max_trajectories: int = 5000, seed: Any = None) -> RewardModelResult:
    r"""Reward-model RLHF: fit a Bradley-Terry reward to preference queries, then optimise it.

    .. math::
        \hat w \in \arg\min_w \; -\sum_{i} \Big[y_i \log \sigma\big(w^\top (\phi(\xi_i) - \phi(\xi'_i))\big)
        + (1 - y_i) \log \sigma\big(w^\top (\phi(\xi'_i) - \phi(\xi_i))\big)\Big] + \tfrac{\lambda}{2} \|w\|^2,

    with ``phi(xi)[s, a]`` the visit counts of ``(s, a)`` along ``xi``, so that ``w^T phi(xi) =
    sum_t r_hat(s_t, a_t)`` (Christiano et al. 2017, arXiv 1706.03741; Ouyang et al. 2022,
    arXiv 2203.02155). The ``n_samples`` pairs ``(xi_i, xi'_i)`` are drawn from ``behaviour`` (uniform
    by default) and labelled once each by ``oracle``; the logistic regression is solved by
    L-BFGS (scipy) and ``r_hat`` is maximised over ``H`` steps by
    :func:`theory_rl.tabular.backward_induction`. The baseline SPO is compared with (Swamy et al.
    2024, arXiv 2401.04056): under intransitive preferences no reward explains the answers, and the
    optimal policy of ``r_hat`` is deterministic, so it cannot be a mixed minimax winner.

    This is the one-shot (offline) variant: the queries come from one behaviour policy, not from
    rounds of the learner's own policies.

    Parameters
    ----------
    mdp, oracle, horizon
        The model, the rater and ``H``, as in :func:`spo`.
    n_samples : int
        Preference queries (pairs of trajectories compared).
    behaviour : array_like, shape (H, S, A) or (S, A), optional
        Policy that samples the compared trajectories (uniform by default).
    ridge : float
        ``lambda >= 0``, the L2 weight (it fixes the scale when the data are separable).
    evaluate : bool
        Enumerate the trajectories and measure the exploitability and win rate of the policy.
    max_trajectories : int
        The enumeration's cap (see :func:`trajectory_game`).
    seed : int, Generator or None

    Returns
    -------
    RewardModelResult

    Examples
    --------
    One decision among three answers, rated by a Bradley-Terry rater whose reward prefers answer 1:

    >>> import numpy as np
    >>> from theory_rl.games import BradleyTerryOracle, decision_tree_mdp, reward_model_rlhf
    >>> reward = np.zeros((4, 3))
    >>> reward[0] = [0.0, 1.0, 0.5]
    >>> res = reward_model_rlhf(decision_tree_mdp(3, 1), oracle=BradleyTerryOracle(reward), n_samples=300, seed=0)
    >>> res.policy[0, 0].tolist(), round(res.exploitability, 6)
    ([0.0, 1.0, 0.0], 0.0)
    """
    H = check_horizon(mdp, horizon)
    check_oracle(oracle)
    n = check_int(n_samples, "n_samples")
    lam = check_real(ridge, "ridge", low=0.0)
    evaluate = check_bool(evaluate, "evaluate")
    cap = check_int(max_trajectories, "max_trajectories")
    rng = rng_from_seed(seed)
    S, A = mdp.n_states, mdp.n_actions
    if behaviour is None:
        mask = np.ones((S, A), bool) if mdp.action_mask is None else np.asarray(mdp.action_mask, bool)
        behaviour = mask / mask.sum(axis=1, keepdims=True)
    pi_b = markov_policy(behaviour, mdp, H, "behaviour")
    with Timer() as timer:
        game = trajectory_game(mdp, oracle=oracle, horizon=H, max_trajectories=cap) if evaluate else None
        s1, a1 = sample_episodes(mdp, pi_b, n_episodes=n, horizon=H, seed=rng)
        s2, a2 = sample_episodes(mdp, pi_b, n_episodes=n, horizon=H, seed=rng)
        p = oracle.pairwise((s1, a1), (s2, a2))
        y = (rng.random(n) < p).astype(float)
        X, counts = _labelled_differences(s1, a1, s2, a2, y, S, A)

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = X @ w
            grad = -(X.T @ (counts * np.exp(log_expit(-z)))) + lam * w
            return float(-(counts * log_expit(z)).sum() + 0.5 * lam * w @ w), grad

        w = minimize(loss, np.zeros(S * A), jac=True, method="L-BFGS-B").x
        reward = w.reshape(S, A)
        plan = backward_induction(mdp.replace(R=reward, gamma=1.0, horizon=H, terminal=None))
        policy = np.zeros((H, S, A))
        policy[np.arange(H)[:, None], np.arange(S)[None, :], plan.policy] = 1.0
        tracker = Evaluator(game, (H, S, A))
        tracker.record(policy, np.zeros((H, S, A)), n)
    exploit = tracker.rows["exploitability"][0]
    return RewardModelResult(policy=policy, reward=reward, exploitability=exploit,
                             win_rate=tracker.rows["win_rate"][0], n_queries=n, method="reward_model_rlhf",
                             params={"horizon": H, "n_samples": n, "ridge": lam}, elapsed=timer.elapsed)


def _labelled_differences(s1: np.ndarray, a1: np.ndarray, s2: np.ndarray, a2: np.ndarray, y: np.ndarray,
                          S: int, A: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows ``(2 y - 1) (phi(xi) - phi(xi'))`` and how often each occurs.

    ``phi(xi)[s * A + a]`` counts the visits of ``(s, a)``; on small models most queries repeat a few
    pairs, so the logistic loss is a weighted sum over the distinct labelled pairs."""
    n = s1.shape[0]
    rows = np.vstack([np.column_stack([s1, a1]), np.column_stack([s2, a2])])
    radix = np.array([S] * s1.shape[1] + [A] * a1.shape[1], dtype=object)
    if np.prod(radix) < 2**62:  # one integer per trajectory: a fast 1-D unique
        place = np.cumprod(np.concatenate([[1], radix[:-1]])).astype(np.int64)
        _, first_rows, ids = np.unique(rows @ place, return_index=True, return_inverse=True)
        unique = rows[first_rows]
    else:
        unique, ids = np.unique(rows, axis=0, return_inverse=True)
    ids = ids.ravel()
    H = a1.shape[1]
    m = unique.shape[0]
    flat = (unique[:, :H] * A + unique[:, H + 1:]) + (np.arange(m) * S * A)[:, None]
    phi = np.bincount(flat.ravel(), minlength=m * S * A).reshape(m, S * A).astype(float)
    keys, counts = np.unique((ids[:n] * m + ids[n:]) * 2 + y.astype(np.int64), return_counts=True)
    first, second, label = keys // 2 // m, keys // 2 % m, keys % 2
    return (2.0 * label - 1.0)[:, None] * (phi[first] - phi[second]), counts.astype(float)
