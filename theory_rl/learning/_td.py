r"""Temporal-difference prediction: TD(0) (online and batch) and n-step TD, Sutton & Barto
(2018), Sections 6.1, 6.3 and 7.1."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._iterative import Timer
from .._validation import check_choice, check_int, check_real, check_tol
from ..models import FiniteMDP
from ._episodes import Episode, PredictionRun
from ._result import PredictionResult

__all__ = ["n_step_td", "td_prediction"]


def _transitions(episodes: list[Episode]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All transitions ``(S_t, R_{t+1}, S_{t+1})`` of the episodes, concatenated."""
    s = np.concatenate([ep.states[:-1] for ep in episodes])
    r = np.concatenate([ep.rewards for ep in episodes])
    s_next = np.concatenate([ep.states[1:] for ep in episodes])
    return s, r, s_next


def batch_fixed_point(v: np.ndarray, targets, states: np.ndarray, step_size: float, tol: float,
                      max_iter: int) -> int:
    """Batch updating (S&B 6.3): ``V(s) += alpha * mean over the visits of s of (target - V(s))``
    until the largest change is below ``tol`` or ``max_iter`` sweeps; ``targets(v)`` gives one
    target per visit. Updates ``v`` in place and returns the number of sweeps."""
    S = v.size
    counts = np.bincount(states, minlength=S).astype(float)
    seen = counts > 0
    for sweep in range(1, max_iter + 1):
        sums = np.bincount(states, weights=targets(v) - v[states], minlength=S)
        delta = np.zeros(S)
        delta[seen] = step_size * sums[seen] / counts[seen]
        v += delta
        if np.max(np.abs(delta)) < tol:
            return sweep
    return max_iter


def td_prediction(
    mdp: FiniteMDP,
    policy: Any,
    *,
    n_episodes: int,
    step_size: float = 0.1,
    updating: str = "online",
    v0: Any = None,
    v_true: Any = None,
    horizon: int | None = None,
    tol: float = 1e-10,
    max_iter: int = 100_000,
    seed: int | np.random.Generator | None = None,
) -> PredictionResult:
    r"""Tabular TD(0) prediction of ``v_pi`` from episodes of ``policy`` (Sutton & Barto 2018,
    *Reinforcement Learning: An Introduction*, 2nd ed., Section 6.1, eq. 6.2; batch updating
    Section 6.3).

    After each step ``S_t, A_t, R_{t+1}, S_{t+1}``:

    .. math::
        V(S_t) \leftarrow V(S_t) + \alpha\,\big[R_{t+1} + \gamma V(S_{t+1}) - V(S_t)\big]
        \qquad (V(\text{terminal}) = 0).

    ``updating="batch"`` (Section 6.3): after each episode, all transitions seen so far are
    presented again and again, ``V(s) += alpha * mean_{visits of s} [R + gamma V(S') - V(s)]``
    (the book sums the increments with a small ``alpha``; averaging them per state has the same
    fixed point and converges for every ``alpha`` in ``(0, 1]``), until the largest change is below
    ``tol`` (at most ``max_iter`` sweeps per episode).

    Guarantee: for a fixed policy, online TD(0) converges to ``v_pi`` with probability 1 under
    the Robbins-Monro conditions on ``alpha`` (Sutton 1988; Dayan 1992; Section 6.2) and, with a
    constant ``alpha``, in the mean. Batch TD(0) converges to the *certainty-equivalence*
    estimate: ``v_pi`` of the maximum-likelihood model of the data (Section 6.3), which the tests
    check against :func:`theory_rl.tabular.policy_evaluation` on the empirical model; batch Monte
    Carlo converges to the sample averages of the returns instead.

    Parameters
    ----------
    mdp : FiniteMDP
        Episodic (``terminal`` states, ``gamma = 1`` allowed) or discounted with ``horizon``.
    policy : array_like
        Action indices ``(S,)`` or probabilities ``(S, A)``: the policy evaluated.
    n_episodes : int
    step_size : float
        ``alpha`` in ``(0, 1]``.
    updating : {"online", "batch"}
    v0 : array_like or float, optional
        Initial ``V`` (0; the book's random walk starts at 0.5). Terminal entries are set to 0.
    v_true : array_like, optional
        ``v_pi``, only to record ``history["rms_error"]``.
    horizon : int, optional
        Steps after which an episode is cut (needed without terminal states; without it an
        episode of an episodic model is cut after 100,000 steps). TD bootstraps from the last
        state of a cut episode.
    tol, max_iter
        Batch updating's stopping rule (ignored online).
    seed : int or numpy.random.Generator, optional
        The episodes depend on ``seed`` alone (not on the learner), so prediction learners given one
        seed learn from the same episodes.

    Returns
    -------
    PredictionResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, learning
    >>> walk = envs.random_walk(5)
    >>> res = learning.td_prediction(walk, np.full((7, 2), 0.5), n_episodes=100, updating="batch",
    ...                              v0=0.5, v_true=np.arange(7) / 6 * (np.arange(7) < 6), seed=0)
    >>> print(f"RMS error after 100 episodes: {res.final_rms_error:.2f}")
    RMS error after 100 episodes: 0.04
    """
    run = PredictionRun(mdp, policy, n_episodes=n_episodes, horizon=horizon, v0=v0, v_true=v_true, seed=seed)
    alpha = check_real(step_size, "step_size", low=0.0, high=1.0, low_open=True)
    check_choice(updating, "updating", ("online", "batch"))
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    gamma, v = run.gamma, run.v
    with Timer() as timer:
        for ep in run:
            if updating == "online":
                s_list, r_list = ep.states, ep.rewards
                for t in range(r_list.size):
                    s, s_next = s_list[t], s_list[t + 1]
                    v[s] += alpha * (r_list[t] + gamma * v[s_next] - v[s])
            else:
                s, r, s_next = _transitions(run.episodes)
                batch_fixed_point(v, lambda val, r=r, s_next=s_next: r + gamma * val[s_next], s, alpha, tol, max_iter)
    return run.result("td_prediction", {"step_size": alpha, "updating": updating}, timer.elapsed)


def n_step_td(
    mdp: FiniteMDP,
    policy: Any,
    *,
    n: int,
    n_episodes: int,
    step_size: float = 0.1,
    v0: Any = None,
    v_true: Any = None,
    horizon: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> PredictionResult:
    r"""n-step TD prediction (Sutton & Barto 2018, Section 7.1, eqs. 7.1-7.2 and the boxed
    algorithm).

    At time ``tau + n`` (or at the end of the episode), the state ``S_tau`` is updated towards
    the n-step return

    .. math::
        G_{\tau:\tau+n} = \sum_{i=\tau+1}^{\min(\tau+n, T)} \gamma^{i-\tau-1} R_i
        + \gamma^n V(S_{\tau+n})\,\mathbb 1[\tau + n < T],
        \qquad V(S_\tau) \leftarrow V(S_\tau) + \alpha\,[G_{\tau:\tau+n} - V(S_\tau)],

    with ``V`` as it is at time ``tau + n`` (updated online). ``n = 1`` is TD(0)
    (:func:`td_prediction`, equal to it step for step); for ``n >= T`` every target is the full
    return, so when no state repeats within an episode the episode's updates equal constant-
    ``alpha`` every-visit Monte Carlo (:func:`mc_prediction`). Intermediate ``n`` does best on
    the 19-state random walk (Figure 7.2). A cut episode bootstraps from its last state.

    Guarantee: the error reduction property (eq. 7.3),
    ``max_s |E_pi[G_{t:t+n} | S_t = s] - v_pi(s)| <= gamma^n max_s |V(s) - v_pi(s)|``.

    Parameters
    ----------
    mdp, policy, n_episodes, step_size, v0, v_true, horizon, seed
        As for :func:`td_prediction`.
    n : int
        Steps before bootstrapping, ``n >= 1``.

    Returns
    -------
    PredictionResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, learning
    >>> walk = envs.random_walk(19, left_reward=-1.0)
    >>> truth = np.r_[0.0, np.arange(-9, 10) / 10, 0.0]
    >>> errors = [learning.n_step_td(walk, np.full((21, 2), 0.5), n=n, n_episodes=10, step_size=0.4,
    ...                              v_true=truth, seed=1).final_rms_error for n in (1, 4)]
    >>> bool(errors[1] < errors[0])
    True
    """
    run = PredictionRun(mdp, policy, n_episodes=n_episodes, horizon=horizon, v0=v0, v_true=v_true, seed=seed)
    alpha = check_real(step_size, "step_size", low=0.0, high=1.0, low_open=True)
    n = check_int(n, "n", minimum=1)
    gamma, v = run.gamma, run.v
    powers = gamma ** np.arange(n + 1)
    with Timer() as timer:
        for ep in run:
            states, rewards = ep.states, ep.rewards
            T = rewards.size
            for tau in range(T):
                end = min(tau + n, T)
                g = float(powers[: end - tau] @ rewards[tau:end])
                if tau + n < T:
                    g += powers[n] * v[states[tau + n]]
                elif not ep.terminated:  # the horizon cut the episode: bootstrap from S_T
                    g += gamma ** (T - tau) * v[states[T]]
                s = states[tau]
                v[s] += alpha * (g - v[s])
    return run.result("n_step_td", {"n": n, "step_size": alpha}, timer.elapsed)
