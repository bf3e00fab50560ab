r"""SubPO: policy gradient on marginal gains for submodular RL (tabular softmax policies).

Prajapat, Mutný, Zeilinger & Krause (2024), "Submodular Reinforcement Learning", ICLR,
arXiv:2307.13372. Symbols: trajectory ``tau = (s_0, a_0, ..., s_H)``, ``tau_{0:j}`` its first
``j + 1`` states, marginal gain ``F(s | X) = F(X ∪ {s}) - F(X)``, policy ``pi_theta(a | x_t)`` with
``x_t = (s_t, t)`` (Markov on state and time) or ``x_t = (s_t, t, X_t)`` (history, through the
visited set ``X_t``, a sufficient statistic of the history for ``F``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .._result import History, Result
from .._validation import check_bool, check_choice, check_int, check_real, rng_from_seed
from ..errors import InvalidArgumentError
from ..models import FiniteMDP
from ._exact import MAX_STATES, _setup, evaluate_subrl_policy
from ._set_functions import SetFunction

__all__ = ["SubPOResult", "softmax_policy", "subpo", "subpo_exact_gradient", "subpo_gradient", "subpo_objective"]

ESTIMATORS = ("reward_to_go", "immediate_gain", "additive")
POLICIES = ("markov", "history")
VARIANTS = ("gradient", "natural")
EXACT_VALUE_STATES = 10  # the final value is exact (2**S visited sets) up to this many states


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class SubPOResult(Result):
    """What :func:`subpo` returns.

    Attributes
    ----------
    theta : ndarray
        Softmax logits, ``(H, S, A)`` (Markov) or ``(H, S, 2**S, A)`` (history).
    policy : ndarray
        ``softmax(theta)`` along the last axis.
    value : float
        Exact ``J(theta) = E[F(tau)]`` of the final policy when ``S <= 10``, else the mean ``F`` of
        ``n_samples`` fresh trajectories.
    history : History
        ``epoch`` and ``mean_return`` (mean ``F(tau)`` of each epoch's batch).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, submodular
    >>> mdp = envs.gridworld(2, 2, goal=[], obstacles=None).replace(d0=[1, 0, 0, 0])
    >>> res = submodular.subpo(mdp, submodular.Modular(np.ones(4)), horizon=3, epochs=2, batch_size=10,
    ...                        n_samples=50, seed=0)
    >>> type(res).__name__, res.policy is not None
    ('SubPOResult', True)
    """

    theta: np.ndarray
    policy: np.ndarray
    value: float
    history: History

    _repr_fields = ("value", "method", "elapsed")


def softmax_policy(theta: np.ndarray) -> np.ndarray:
    """``pi(a | x) = exp(theta[x, a]) / sum_b exp(theta[x, b])`` along the last axis.

    Examples
    --------
    >>> softmax_policy(np.zeros((1, 2, 2))).tolist()
    [[[0.5, 0.5], [0.5, 0.5]]]
    """
    theta = np.asarray(theta, dtype=np.float64)
    z = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _check_theta(theta, S: int, A: int, horizon: int, policy: str) -> np.ndarray:
    theta = np.asarray(theta, dtype=np.float64)
    shape = (horizon, S, A) if policy == "markov" else (horizon, S, 2**S, A)
    if theta.shape != shape:
        raise InvalidArgumentError(f"theta must have shape {shape} for policy = {policy!r}, got {theta.shape}")
    return theta


def _prepare(mdp, objective, horizon, policy, estimator):
    P, d0, horizon = _setup(mdp, objective, horizon)
    policy = check_choice(policy, "policy", POLICIES)
    estimator = check_choice(estimator, "estimator", ESTIMATORS)
    if policy == "history" and P.shape[0] > MAX_STATES:
        raise InvalidArgumentError(f"policy = 'history' tabulates 2**S visited sets: S = {P.shape[0]} > {MAX_STATES}")
    return P, d0, horizon, policy, estimator


def _signals(objective: SetFunction, states: np.ndarray, estimator: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-step weights ``w[b, t]`` multiplying ``grad log pi(a_t | x_t)``, and ``F(tau)`` per trajectory.

    ``gains[b, j] = F(s_{j+1} | tau_{0:j})``; ``F(tau) = F({s_0}) + sum_j gains[b, j]`` (telescoping).
    """
    B, H1 = states.shape
    state = objective.start(B)
    first = objective.add(state, states[:, 0])
    gains = np.stack([objective.add(state, states[:, j + 1]) for j in range(H1 - 1)], axis=1)
    total = first + gains.sum(axis=1)
    if estimator == "reward_to_go":
        w = np.cumsum(gains[:, ::-1], axis=1)[:, ::-1]
    elif estimator == "immediate_gain":
        w = gains
    else:  # additive: the standard-RL baseline, r(s) = F({s}) paid on every visit
        singles = np.asarray(objective.value(np.eye(objective.n, dtype=bool)))
        r = singles[states[:, 1:]]
        w = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    return w, total


def _sample(P, d0, pi, horizon, policy, n, rng):
    """``n`` trajectories: states ``(n, H+1)``, actions ``(n, H)``, visited-set codes ``(n, H)``."""
    S, A = P.shape[0], P.shape[1]
    states = np.empty((n, horizon + 1), dtype=np.int64)
    actions = np.empty((n, horizon), dtype=np.int64)
    visited = np.zeros((n, horizon), dtype=np.int64)
    states[:, 0] = rng.choice(S, size=n, p=d0)
    code = np.left_shift(1, states[:, 0]) if policy == "history" else np.zeros(n, dtype=np.int64)
    cumP = np.cumsum(P, axis=2)
    for t in range(horizon):
        s = states[:, t]
        probs = pi[t, s] if policy == "markov" else pi[t, s, code]
        visited[:, t] = code
        a = (rng.random((n, 1)) > np.cumsum(probs, axis=1)).sum(axis=1).clip(max=A - 1)
        actions[:, t] = a
        nxt = (rng.random((n, 1)) > cumP[s, a]).sum(axis=1).clip(max=S - 1)
        states[:, t + 1] = nxt
        if policy == "history":
            code = code | np.left_shift(1, nxt)
    return states, actions, visited


def _score_sum(pi, states, actions, visited, weights, probs_weights, policy):
    """``sum_b probs_weights[b] sum_t weights[b, t] grad_theta log pi(a_t | x_t)`` for softmax logits."""
    grad = np.zeros_like(pi)
    n, H = actions.shape
    for t in range(H):
        s = states[:, t]
        idx = (np.full(n, t), s) if policy == "markov" else (np.full(n, t), s, visited[:, t])
        score = -pi[idx]
        score[np.arange(n), actions[:, t]] += 1.0
        np.add.at(grad, idx, (probs_weights * weights[:, t])[:, None] * score)
    return grad


def subpo_gradient(mdp: FiniteMDP, objective: SetFunction, theta: np.ndarray, *, horizon: int,
                   policy: str = "markov", estimator: str = "reward_to_go", n_samples: int = 1000,
                   seed: int | np.random.Generator | None = None) -> np.ndarray:
    r"""Monte Carlo SubPO gradient from ``n_samples`` trajectories.

    .. math::
        \hat g = \frac1N \sum_{n=1}^N \sum_{i=0}^{H-1} \nabla_\theta \log \pi_\theta(a_i^n \mid x_i^n)\; w_i^n,

    with ``estimator`` choosing ``w_i``:

    - ``"reward_to_go"``: ``w_i = sum_{j >= i} F(s_{j+1} | tau_{0:j})``, SubPO's marginal-gain
      reward-to-go. Unbiased for ``grad E[F(tau)]``: gains before step ``i`` do not depend on ``a_i``
      given the history, so dropping them keeps the mean (Prajapat et al. 2024, arXiv:2307.13372, section 4).
    - ``"immediate_gain"``: ``w_i = F(s_{i+1} | tau_{0:i})``. The official code
      (``manish-pra/non-additive-RL``, ``main.py``) multiplies ``log pi(a_i | x_i)`` by the prefix
      value ``F(tau_{0:i+1})``, whose mean contribution is this immediate gain; it ignores ``a_i``'s
      effect on later gains and is **not** the gradient of ``E[F]`` (a test shows it).
    - ``"additive"``: standard RL on the additive reward ``r(s) = F({s})`` paid on every visit,
      ``w_i = sum_{j >= i} r(s_{j+1})`` (the paper's "SRL" baseline); REINFORCE on that reward.
      For modular ``F`` on trajectories without revisits it equals ``"reward_to_go"``.

    Parameters
    ----------
    mdp : FiniteMDP
    objective : SetFunction
        On the states.
    theta : ndarray
        Softmax logits, ``(H, S, A)`` for ``policy="markov"`` or ``(H, S, 2**S, A)`` for ``"history"``.
    horizon : int
    policy : {"markov", "history"}
    estimator : {"reward_to_go", "immediate_gain", "additive"}
    n_samples : int
    seed : int or Generator, optional

    Returns
    -------
    ndarray, shape of ``theta``

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import chain
    >>> from theory_rl.submodular import Modular, subpo_gradient
    >>> mdp = chain(3, slip=0.0)
    >>> g = subpo_gradient(mdp, Modular(np.ones(3)), np.zeros((2, 3, 2)), horizon=2, n_samples=2000, seed=0)
    >>> g.shape, bool(g[0, 0, 0] > 0)  # moving forward covers more states
    ((2, 3, 2), True)
    """
    P, d0, horizon, policy, estimator = _prepare(mdp, objective, horizon, policy, estimator)
    theta = _check_theta(theta, P.shape[0], P.shape[1], horizon, policy)
    n_samples = check_int(n_samples, "n_samples")
    rng = rng_from_seed(seed)
    pi = softmax_policy(theta)
    states, actions, visited = _sample(P, d0, pi, horizon, policy, n_samples, rng)
    w, _ = _signals(objective, states, estimator)
    return _score_sum(pi, states, actions, visited, w, np.full(n_samples, 1.0 / n_samples), policy)


def _enumerate(P, d0, pi, horizon, policy, max_trajectories):
    states = np.flatnonzero(d0 > 0)[:, None]
    prob = d0[states[:, 0]]
    actions = np.zeros((len(states), 0), dtype=np.int64)
    visited = np.zeros((len(states), 0), dtype=np.int64)
    code = np.left_shift(1, states[:, 0]) if policy == "history" else np.zeros(len(states), dtype=np.int64)
    for t in range(horizon):
        s = states[:, t]
        probs = pi[t, s] if policy == "markov" else pi[t, s, code]  # (n, A)
        joint = probs[:, :, None] * P[s]  # (n, A, S)
        keep = np.argwhere(joint > 0)
        if len(keep) > max_trajectories:
            raise InvalidArgumentError(f"more than max_trajectories = {max_trajectories} trajectories to enumerate")
        rows, a, nxt = keep[:, 0], keep[:, 1], keep[:, 2]
        prob = prob[rows] * joint[rows, a, nxt]
        visited = np.column_stack([visited[rows], code[rows]])
        states = np.column_stack([states[rows], nxt])
        actions = np.column_stack([actions[rows], a])
        code = code[rows] | np.left_shift(1, nxt) if policy == "history" else code[rows]
    return states, actions, visited, prob


def subpo_exact_gradient(mdp: FiniteMDP, objective: SetFunction, theta: np.ndarray, *, horizon: int,
                         policy: str = "markov", estimator: str = "reward_to_go",
                         max_trajectories: int = 1_000_000) -> np.ndarray:
    r"""The exact mean of :func:`subpo_gradient`'s estimator, by enumerating every trajectory.

    .. math:: \mathbb E[\hat g] = \sum_\tau p_\theta(\tau) \sum_i \nabla_\theta\log\pi_\theta(a_i\mid x_i)\, w_i(\tau).

    For ``estimator="reward_to_go"`` this is :math:`\nabla_\theta J(\theta)` (compare finite
    differences of :func:`subpo_objective`); for ``"immediate_gain"`` it generally is not.
    Tiny MDPs only: the number of trajectories grows like ``(S A)^H``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import chain
    >>> from theory_rl.submodular import Modular, subpo_exact_gradient
    >>> g = subpo_exact_gradient(chain(3, slip=0.0), Modular(np.ones(3)), np.zeros((2, 3, 2)), horizon=2)
    >>> round(float(g[0, 0, 0]), 4)
    0.25
    """
    P, d0, horizon, policy, estimator = _prepare(mdp, objective, horizon, policy, estimator)
    theta = _check_theta(theta, P.shape[0], P.shape[1], horizon, policy)
    max_trajectories = check_int(max_trajectories, "max_trajectories")
    pi = softmax_policy(theta)
    states, actions, visited, prob = _enumerate(P, d0, pi, horizon, policy, max_trajectories)
    w, _ = _signals(objective, states, estimator)
    return _score_sum(pi, states, actions, visited, w, prob, policy)


def subpo_objective(mdp: FiniteMDP, objective: SetFunction, theta: np.ndarray, *, horizon: int,
                    policy: str = "markov") -> float:
    r"""Exact ``J(theta) = E_{tau ~ pi_theta}[F(tau)]`` of a softmax policy (``S <= 16``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import chain
    >>> from theory_rl.submodular import Modular, subpo_objective
    >>> round(subpo_objective(chain(3, slip=0.0), Modular(np.ones(3)), np.zeros((2, 3, 2)), horizon=2), 4)
    2.0
    """
    P, _, horizon, policy, _ = _prepare(mdp, objective, horizon, policy, "reward_to_go")
    theta = _check_theta(theta, P.shape[0], P.shape[1], horizon, policy)
    return evaluate_subrl_policy(mdp, objective, softmax_policy(theta), horizon=horizon)


def _natural(grad, pi, counts, damping):
    r"""Block-diagonal Fisher preconditioning ``(d_x (diag pi_x - pi_x pi_x^T) + lambda I)^{-1} g_x`` per
    policy input ``x`` (Sherman-Morrison; ``d_x`` the batch's visit frequency of ``x``)."""
    d = counts[..., None]
    D = d * pi + damping  # diagonal of d diag(pi) + lambda I
    Dg = grad / D
    Dp = pi / D
    coef = (d[..., 0] * (pi * Dg).sum(-1)) / (1.0 - d[..., 0] * (pi * Dp).sum(-1))
    return Dg + coef[..., None] * Dp


def subpo(mdp: FiniteMDP, objective: SetFunction, *, horizon: int, policy: str = "markov",
          estimator: str = "reward_to_go", variant: str = "gradient", lr: float = 1.0, epochs: int = 100,
          batch_size: int = 100, damping: float = 1e-2, theta0: np.ndarray | None = None, n_samples: int = 2000,
          seed: int | np.random.Generator | None = None, progress: bool = False) -> SubPOResult:
    r"""SubPO: gradient ascent on ``J(theta) = E[F(tau)]`` with marginal-gain signals (tabular softmax).

    Each epoch samples ``batch_size`` trajectories and steps
    ``theta <- theta + lr * g`` with ``g`` the :func:`subpo_gradient` estimate
    (``variant="gradient"``), or ``theta <- theta + lr * F_hat^{-1} g`` with the block-diagonal
    Fisher of the softmax policy, ``F_x = d_x (diag pi_x - pi_x pi_x^T)`` for each input ``x``
    visited with batch frequency ``d_x``, damped by ``damping`` (``variant="natural"``, the paper's
    natural-gradient variant in its tabular form; Kakade 2001).

    Assumptions and guarantee (Prajapat et al. 2024, arXiv:2307.13372, section 5): ``F`` monotone,
    normalised, submodular; finite horizon ``H``. In general MDPs SubPO reaches a stationary point
    of ``J`` over the policy class (no approximation factor: the problem is hard to approximate).
    When the MDP is bandit-like (every state reachable in one step) greedy marginal-gain
    maximisation recovers the ``1 - 1/e`` factor of submodular maximisation; see :func:`subrl_greedy`.

    Implemented less than the paper: tabular softmax policies only (the paper also uses neural
    policies, with Adam and an entropy bonus, on car racing and MuJoCo Ant, which are out of scope
    here); plain gradient ascent with a constant step.

    Parameters
    ----------
    mdp : FiniteMDP
    objective : SetFunction
        On the states.
    horizon : int
    policy : {"markov", "history"}
        Markov on ``(s, t)`` (SubPO's class) or history-dependent through the visited set.
    estimator : {"reward_to_go", "immediate_gain", "additive"}
        See :func:`subpo_gradient`; ``"additive"`` is the standard-RL baseline.
    variant : {"gradient", "natural"}
    lr : float
    epochs : int
    batch_size : int
    damping : float
        Fisher damping of the natural variant.
    theta0 : ndarray, optional
        Initial logits (zeros: the uniform policy).
    n_samples : int
        Trajectories for the final value when ``S > 10``.
    seed : int or Generator, optional
    progress : bool
        tqdm bar over epochs.

    Returns
    -------
    SubPOResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import chain
    >>> from theory_rl.submodular import Modular, subpo
    >>> res = subpo(chain(4, slip=0.0), Modular(np.ones(4)), horizon=3, epochs=50, seed=0)
    >>> round(res.value, 2) >= 3.9  # all four states covered
    True
    """
    start = time.perf_counter()
    P, d0, horizon, policy, estimator = _prepare(mdp, objective, horizon, policy, estimator)
    variant = check_choice(variant, "variant", VARIANTS)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    epochs = check_int(epochs, "epochs")
    batch_size = check_int(batch_size, "batch_size")
    damping = check_real(damping, "damping", low=0.0, low_open=True)
    n_samples = check_int(n_samples, "n_samples")
    progress = check_bool(progress, "progress")
    S, A = P.shape[0], P.shape[1]
    shape = (horizon, S, A) if policy == "markov" else (horizon, S, 2**S, A)
    theta = np.zeros(shape) if theta0 is None else _check_theta(theta0, S, A, horizon, policy).copy()
    rng = rng_from_seed(seed)
    means = np.empty(epochs)
    from tqdm.auto import tqdm

    for epoch in tqdm(range(epochs), disable=not progress, desc="subpo"):
        pi = softmax_policy(theta)
        states, actions, visited = _sample(P, d0, pi, horizon, policy, batch_size, rng)
        w, total = _signals(objective, states, estimator)
        means[epoch] = total.mean()
        grad = _score_sum(pi, states, actions, visited, w, np.full(batch_size, 1.0 / batch_size), policy)
        if variant == "natural":
            counts = np.zeros(shape[:-1])
            for t in range(horizon):
                idx = (np.full(batch_size, t), states[:, t]) if policy == "markov" else (
                    np.full(batch_size, t), states[:, t], visited[:, t])
                np.add.at(counts, idx, 1.0 / batch_size)
            grad = _natural(grad, pi, counts, damping)
        theta = theta + lr * grad
    if S <= EXACT_VALUE_STATES:
        value = evaluate_subrl_policy(mdp, objective, softmax_policy(theta), horizon=horizon)
    else:
        states, _, _ = _sample(P, d0, softmax_policy(theta), horizon, policy, n_samples, rng)
        value = float(_signals(objective, states, "reward_to_go")[1].mean())
    params = {"horizon": horizon, "policy": policy, "estimator": estimator, "variant": variant, "lr": lr,
              "epochs": epochs, "batch_size": batch_size, "damping": damping}
    return SubPOResult(theta=theta, policy=softmax_policy(theta), value=float(value),
                       history=History({"epoch": np.arange(epochs), "mean_return": means}), method="subpo",
                       params=params, elapsed=time.perf_counter() - start)
