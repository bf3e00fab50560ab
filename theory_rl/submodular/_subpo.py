r"""SubPO: policy gradient on marginal gains for submodular RL (tabular softmax policies).

Prajapat, Mutný, Zeilinger & Krause (2024), "Submodular Reinforcement Learning", ICLR,
arXiv:2307.13372. Symbols: trajectory ``tau = (s_0, a_0, ..., s_H)``, ``tau_{0:j}`` its first
``j + 1`` states, marginal gain ``F(s | X) = F(X ∪ {s}) - F(X)``, policy ``pi_theta(a | x_t)`` with
``x_t = (s_t, t)`` (``"markov"``, Markov on state and time), ``x_t = (s_t, t, X_t)`` (``"visited_set"``,
the visited set ``X_t``, a sufficient statistic of the history for ``F``) or
``x_t = (s_0, ..., s_t)`` (``"history"``, the ordered states, one logit row per sequence).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .._result import History, Result
from .._validation import check_bool, check_choice, check_int, check_real, rng_from_seed
from ..errors import InvalidArgumentError
from ..models import FiniteMDP
from ._exact import MAX_STATES, _check_histories, _setup, evaluate_subrl_policy
from ._set_functions import SetFunction

__all__ = ["SubPOResult", "softmax_policy", "subpo", "subpo_exact_gradient", "subpo_gradient", "subpo_objective"]

ESTIMATORS = ("reward_to_go", "immediate_gain", "additive")
POLICIES = ("markov", "visited_set", "history")
VARIANTS = ("gradient", "natural")
EXACT_VALUE_STATES = 10  # the final value is exact (2**S visited sets) up to this many states


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class SubPOResult(Result):
    """What :func:`subpo` returns.

    Attributes
    ----------
    theta : ndarray
        Softmax logits, ``(H, S, A)`` (Markov), ``(H, S, 2**S, A)`` (visited set) or ``(H, S**H, A)``
        (ordered history, rows :func:`history_index`).
    policy : ndarray
        ``softmax(theta)`` along the last axis.
    value : float
        Exact ``J(theta) = E[F(tau)]`` of the final policy when ``S <= 10`` (for ``"history"``: when
        its trajectories can be enumerated, at most 10^6), else the mean ``F`` of ``n_samples`` fresh
        trajectories.
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


def _theta_shape(S: int, A: int, horizon: int, policy: str) -> tuple[int, ...]:
    if policy == "markov":
        return (horizon, S, A)
    if policy == "visited_set":
        return (horizon, S, 2**S, A)
    return (horizon, S**horizon, A)


def _check_theta(theta, S: int, A: int, horizon: int, policy: str) -> np.ndarray:
    theta = np.asarray(theta, dtype=np.float64)
    shape = _theta_shape(S, A, horizon, policy)
    if theta.shape != shape:
        raise InvalidArgumentError(f"theta must have shape {shape} for policy = {policy!r}, got {theta.shape}")
    return theta


def _prepare(mdp, objective, horizon, policy, estimator):
    P, d0, horizon = _setup(mdp, objective, horizon)
    policy = check_choice(policy, "policy", POLICIES)
    estimator = check_choice(estimator, "estimator", ESTIMATORS)
    if policy == "visited_set" and P.shape[0] > MAX_STATES:
        raise InvalidArgumentError(f"policy = 'visited_set' tabulates 2**S visited sets: S = {P.shape[0]} > {MAX_STATES}")
    if policy == "history":
        _check_histories(P.shape[0], horizon)
    return P, d0, horizon, policy, estimator


def _first_context(s0: np.ndarray, policy: str) -> np.ndarray:
    """The policy input besides ``(t, s_t)`` at ``t = 0``: the visited set ``{s_0}``, the sequence ``(s_0)``, or 0."""
    if policy == "visited_set":
        return np.left_shift(1, s0)
    return s0.copy() if policy == "history" else np.zeros(len(s0), dtype=np.int64)


def _next_context(context: np.ndarray, nxt: np.ndarray, S: int, policy: str) -> np.ndarray:
    if policy == "visited_set":
        return context | np.left_shift(1, nxt)
    return context * S + nxt if policy == "history" else context


def _rows(pi: np.ndarray, t: int, s: np.ndarray, context: np.ndarray, policy: str) -> tuple:
    """The index of ``pi``'s rows ``pi(. | x_t)`` for a batch at time ``t``."""
    time_ = np.full(len(s), t)
    if policy == "markov":
        return (time_, s)
    return (time_, s, context) if policy == "visited_set" else (time_, context)


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
    """``n`` trajectories: states ``(n, H+1)``, actions ``(n, H)``, policy contexts ``(n, H)`` (visited-set
    codes, history indices or zeros)."""
    S, A = P.shape[0], P.shape[1]
    states = np.empty((n, horizon + 1), dtype=np.int64)
    actions = np.empty((n, horizon), dtype=np.int64)
    contexts = np.zeros((n, horizon), dtype=np.int64)
    states[:, 0] = rng.choice(S, size=n, p=d0)
    context = _first_context(states[:, 0], policy)
    cumP = np.cumsum(P, axis=2)
    for t in range(horizon):
        s = states[:, t]
        probs = pi[_rows(pi, t, s, context, policy)]
        contexts[:, t] = context
        a = (rng.random((n, 1)) > np.cumsum(probs, axis=1)).sum(axis=1).clip(max=A - 1)
        actions[:, t] = a
        nxt = (rng.random((n, 1)) > cumP[s, a]).sum(axis=1).clip(max=S - 1)
        states[:, t + 1] = nxt
        context = _next_context(context, nxt, S, policy)
    return states, actions, contexts


def _score_sum(pi, states, actions, contexts, weights, probs_weights, policy):
    """``sum_b probs_weights[b] sum_t weights[b, t] grad_theta log pi(a_t | x_t)`` for softmax logits."""
    grad = np.zeros_like(pi)
    n, H = actions.shape
    for t in range(H):
        idx = _rows(pi, t, states[:, t], contexts[:, t], policy)
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
        Softmax logits, ``(H, S, A)`` for ``policy="markov"``, ``(H, S, 2**S, A)`` for ``"visited_set"``
        (row ``[t, s, X]``, bit ``s'`` of ``X`` set when ``s'`` was visited), ``(H, S**H, A)`` for
        ``"history"`` (row ``[t, history_index((s_0, ..., s_t))]``).
    horizon : int
    policy : {"markov", "visited_set", "history"}
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
    states, actions, contexts = _sample(P, d0, pi, horizon, policy, n_samples, rng)
    w, _ = _signals(objective, states, estimator)
    return _score_sum(pi, states, actions, contexts, w, np.full(n_samples, 1.0 / n_samples), policy)


def _enumerate(P, d0, pi, horizon, policy, max_trajectories):
    states = np.flatnonzero(d0 > 0)[:, None]
    prob = d0[states[:, 0]]
    actions = np.zeros((len(states), 0), dtype=np.int64)
    contexts = np.zeros((len(states), 0), dtype=np.int64)
    context = _first_context(states[:, 0], policy)
    for t in range(horizon):
        s = states[:, t]
        joint = pi[_rows(pi, t, s, context, policy)][:, :, None] * P[s]  # (n, A, S)
        keep = np.argwhere(joint > 0)
        if len(keep) > max_trajectories:
            raise InvalidArgumentError(f"more than max_trajectories = {max_trajectories} trajectories to enumerate")
        rows, a, nxt = keep[:, 0], keep[:, 1], keep[:, 2]
        prob = prob[rows] * joint[rows, a, nxt]
        contexts = np.column_stack([contexts[rows], context[rows]])
        states = np.column_stack([states[rows], nxt])
        actions = np.column_stack([actions[rows], a])
        context = _next_context(context[rows], nxt, P.shape[0], policy)
    return states, actions, contexts, prob


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
    states, actions, contexts, prob = _enumerate(P, d0, pi, horizon, policy, max_trajectories)
    w, _ = _signals(objective, states, estimator)
    return _score_sum(pi, states, actions, contexts, w, prob, policy)


def _exact_value(P, d0, objective, pi, horizon, policy, max_trajectories=1_000_000) -> float:
    """``E[F(tau)]`` by enumerating the trajectories of an ordered-history policy."""
    states, _, _, prob = _enumerate(P, d0, pi, horizon, policy, max_trajectories)
    return float(prob @ _signals(objective, states, "reward_to_go")[1])


def subpo_objective(mdp: FiniteMDP, objective: SetFunction, theta: np.ndarray, *, horizon: int,
                    policy: str = "markov") -> float:
    r"""Exact ``J(theta) = E_{tau ~ pi_theta}[F(tau)]`` of a softmax policy: by propagating the law of
    ``(s_t, X_t)`` (``"markov"``, ``"visited_set"``; ``S <= 16``) or by enumerating the trajectories
    (``"history"``, at most 10^6 of them).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import chain
    >>> from theory_rl.submodular import Modular, subpo_objective
    >>> round(subpo_objective(chain(3, slip=0.0), Modular(np.ones(3)), np.zeros((2, 3, 2)), horizon=2), 4)
    2.0
    >>> round(subpo_objective(chain(3, slip=0.0), Modular(np.ones(3)), np.zeros((2, 9, 2)), horizon=2,
    ...                       policy="history"), 4)
    2.0
    """
    P, d0, horizon, policy, _ = _prepare(mdp, objective, horizon, policy, "reward_to_go")
    theta = _check_theta(theta, P.shape[0], P.shape[1], horizon, policy)
    if policy == "history":
        return _exact_value(P, d0, objective, softmax_policy(theta), horizon, policy)
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

    Implemented less than the paper: tabular softmax policies only here (a neural policy on the
    visited set is :func:`subpo_torch`'s ``policy="visited_set"``; the paper's car-racing and MuJoCo
    Ant runs, with an entropy bonus, are out of scope); plain gradient ascent with a constant step.

    Parameters
    ----------
    mdp : FiniteMDP
    objective : SetFunction
        On the states.
    horizon : int
    policy : {"markov", "visited_set", "history"}
        Markov on ``(s, t)`` (SubPO's class), history-dependent through the visited set
        (``(t, s, X_t)``), or on the ordered states ``(s_0, ..., s_t)`` (one logit row per sequence:
        ``S^H`` rows, ``S^(H+1) <= 2,000,000``). The last two reach the same optimum
        (:func:`subrl_dp` = :func:`subrl_history`), the visited set with far fewer parameters.
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
    shape = _theta_shape(S, A, horizon, policy)
    theta = np.zeros(shape) if theta0 is None else _check_theta(theta0, S, A, horizon, policy).copy()
    rng = rng_from_seed(seed)
    means = np.empty(epochs)
    from tqdm.auto import tqdm

    for epoch in tqdm(range(epochs), disable=not progress, desc="subpo"):
        pi = softmax_policy(theta)
        states, actions, contexts = _sample(P, d0, pi, horizon, policy, batch_size, rng)
        w, total = _signals(objective, states, estimator)
        means[epoch] = total.mean()
        grad = _score_sum(pi, states, actions, contexts, w, np.full(batch_size, 1.0 / batch_size), policy)
        if variant == "natural":
            counts = np.zeros(shape[:-1])
            for t in range(horizon):
                np.add.at(counts, _rows(pi, t, states[:, t], contexts[:, t], policy), 1.0 / batch_size)
            grad = _natural(grad, pi, counts, damping)
        theta = theta + lr * grad
    value = None
    if policy == "history":
        try:
            value = _exact_value(P, d0, objective, softmax_policy(theta), horizon, policy)
        except InvalidArgumentError:  # too many trajectories to enumerate: sampled below
            pass
    elif S <= EXACT_VALUE_STATES:
        value = evaluate_subrl_policy(mdp, objective, softmax_policy(theta), horizon=horizon)
    if value is None:
        states, _, _ = _sample(P, d0, softmax_policy(theta), horizon, policy, n_samples, rng)
        value = float(_signals(objective, states, "reward_to_go")[1].mean())
    params = {"horizon": horizon, "policy": policy, "estimator": estimator, "variant": variant, "lr": lr,
              "epochs": epochs, "batch_size": batch_size, "damping": damping}
    return SubPOResult(theta=theta, policy=softmax_policy(theta), value=float(value),
                       history=History({"epoch": np.arange(epochs), "mean_return": means}), method="subpo",
                       params=params, elapsed=time.perf_counter() - start)
