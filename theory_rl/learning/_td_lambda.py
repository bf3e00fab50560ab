r"""TD(lambda): the backward view with eligibility traces and the offline lambda-return (the
forward view), Sutton & Barto (2018), Sections 12.1-12.2 (tabular case)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._iterative import Timer
from .._validation import check_choice, check_real
from ..models import FiniteMDP
from ._episodes import Episode, PredictionRun
from ._result import PredictionResult

__all__ = ["lambda_return", "td_lambda"]


def lambda_returns(ep: Episode, v: np.ndarray, gamma: float, lam: float, v_end: float) -> np.ndarray:
    r"""``G^lambda_t`` for ``t = 0 .. T-1`` with the values ``v`` (held fixed), by the recursion
    ``G^lambda_t = R_{t+1} + gamma [(1 - lambda) V(S_{t+1}) + lambda G^lambda_{t+1}]``,
    ``G^lambda_T = V(S_T)`` (``v_end``: 0 at a terminal state)."""
    T = ep.rewards.size
    g = np.empty(T)
    nxt = v_end
    v_next = v_end
    for t in range(T - 1, -1, -1):
        nxt = ep.rewards[t] + gamma * ((1.0 - lam) * v_next + lam * nxt)
        g[t] = nxt
        v_next = v[ep.states[t]]
    return g


def td_lambda(
    mdp: FiniteMDP,
    policy: Any,
    *,
    lam: float,
    n_episodes: int,
    step_size: float = 0.1,
    traces: str = "accumulating",
    updating: str = "online",
    v0: Any = None,
    v_true: Any = None,
    horizon: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> PredictionResult:
    r"""Tabular TD(lambda) with eligibility traces, the backward view (Sutton 1988; Sutton &
    Barto 2018, Section 12.2, eqs. 12.5-12.7; replacing traces: Singh & Sutton 1996,
    "Reinforcement learning with replacing eligibility traces", Machine Learning 22:123-158).

    With ``e_{-1} = 0`` at the start of each episode, at every step

    .. math::
        \delta_t = R_{t+1} + \gamma V(S_{t+1}) - V(S_t), \qquad
        e_t = \gamma\lambda\, e_{t-1} + \mathbf 1_{S_t} \ \text{(accumulating)}, \quad
        e_t(S_t) = 1 \ \text{(replacing)},

    .. math::
        V \leftarrow V + \alpha\, \delta_t\, e_t .

    ``updating="online"`` applies each increment at once; ``"offline"`` computes every
    ``delta_t`` with the values of the episode's start and adds the sum of the increments at its
    end. ``lam = 0`` is TD(0); ``lam = 1`` with offline updating is every-visit constant-``alpha``
    Monte Carlo.

    Guarantee (Sutton 1988; Section 12.1-12.2): with offline updating and accumulating traces the
    sum of an episode's increments equals that of the offline lambda-return algorithm
    (:func:`lambda_return`, the forward view) exactly; the tests check this to 1e-12 on random
    episodes. TD(lambda) converges to ``v_pi`` with probability 1 for decreasing step sizes
    (Dayan 1992; Jaakkola, Jordan & Singh 1994). A cut episode bootstraps from its last state.

    Parameters
    ----------
    mdp, policy, n_episodes, step_size, v0, v_true, horizon, seed
        As for :func:`td_prediction`.
    lam : float
        ``lambda`` in ``[0, 1]``.
    traces : {"accumulating", "replacing"}
    updating : {"online", "offline"}

    Returns
    -------
    PredictionResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, learning
    >>> walk = envs.random_walk(5)
    >>> kw = dict(n_episodes=20, step_size=0.1, seed=3)
    >>> backward = learning.td_lambda(walk, np.full((7, 2), 0.5), lam=0.8, updating="offline", **kw).v
    >>> forward = learning.lambda_return(walk, np.full((7, 2), 0.5), lam=0.8, **kw).v
    >>> bool(np.max(np.abs(backward - forward)) < 1e-12)
    True
    """
    run = PredictionRun(mdp, policy, n_episodes=n_episodes, horizon=horizon, v0=v0, v_true=v_true, seed=seed)
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    alpha = check_real(step_size, "step_size", low=0.0, high=1.0, low_open=True)
    check_choice(traces, "traces", ("accumulating", "replacing"))
    check_choice(updating, "updating", ("online", "offline"))
    gamma, v = run.gamma, run.v
    decay = gamma * lam
    with Timer() as timer:
        for ep in run:
            e = np.zeros_like(v)
            values = v if updating == "online" else v.copy()  # the values the TD errors use
            increment = v if updating == "online" else np.zeros_like(v)
            states, rewards = ep.states, ep.rewards
            for t in range(rewards.size):
                s, s_next = states[t], states[t + 1]
                delta = rewards[t] + gamma * values[s_next] - values[s]
                e *= decay
                if traces == "accumulating":
                    e[s] += 1.0
                else:
                    e[s] = 1.0
                increment += (alpha * delta) * e
            if updating == "offline":
                v += increment
    return run.result("td_lambda", {"lam": lam, "step_size": alpha, "traces": traces, "updating": updating},
                      timer.elapsed)


def lambda_return(
    mdp: FiniteMDP,
    policy: Any,
    *,
    lam: float,
    n_episodes: int,
    step_size: float = 0.1,
    v0: Any = None,
    v_true: Any = None,
    horizon: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> PredictionResult:
    r"""The offline lambda-return algorithm, the forward view of TD(lambda) (Sutton & Barto
    2018, Section 12.1, eqs. 12.2-12.4, tabular case).

    At the end of each episode, with ``V`` held at its value from the episode's start,

    .. math::
        G^\lambda_t = (1-\lambda) \sum_{n=1}^{T-t-1} \lambda^{n-1} G_{t:t+n} + \lambda^{T-t-1} G_t,
        \qquad V(s) \leftarrow V(s) + \alpha \sum_{t:\,S_t = s} \big[G^\lambda_t - V(S_t)\big],

    computed backwards by ``G^lambda_t = R_{t+1} + gamma [(1-lambda) V(S_{t+1}) + lambda
    G^lambda_{t+1}]``. ``lam = 0`` gives the one-step TD target, ``lam = 1`` the Monte Carlo
    return. An episode cut by ``horizon`` uses the truncated lambda-return (eq. 12.9) with
    ``V(S_T)`` for the remainder.

    Guarantee (Section 12.2): the sum of the increments equals that of offline TD(lambda) with
    accumulating traces (:func:`td_lambda`), exactly. Only offline updating is implemented (the
    online lambda-return and true online TD(lambda) of Section 12.5 are not).

    Parameters
    ----------
    mdp, policy, n_episodes, step_size, v0, v_true, horizon, seed
        As for :func:`td_prediction`.
    lam : float
        ``lambda`` in ``[0, 1]``.

    Returns
    -------
    PredictionResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, learning
    >>> res = learning.lambda_return(envs.random_walk(5), np.full((7, 2), 0.5), lam=0.5, n_episodes=50,
    ...                              step_size=0.1, v0=0.5, seed=0)
    >>> np.round(res.v[1:6], 1).tolist()  # true values 1/6, ..., 5/6
    [0.4, 0.5, 0.7, 0.7, 0.8]
    """
    run = PredictionRun(mdp, policy, n_episodes=n_episodes, horizon=horizon, v0=v0, v_true=v_true, seed=seed)
    lam = check_real(lam, "lam", low=0.0, high=1.0)
    alpha = check_real(step_size, "step_size", low=0.0, high=1.0, low_open=True)
    gamma, v = run.gamma, run.v
    with Timer() as timer:
        for ep in run:
            g = lambda_returns(ep, v, gamma, lam, run.bootstrap(ep))
            states = ep.states[:-1]
            v += alpha * np.bincount(states, weights=g - v[states], minlength=v.size)
    return run.result("lambda_return", {"lam": lam, "step_size": alpha}, timer.elapsed)
