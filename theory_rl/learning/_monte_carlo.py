r"""Monte Carlo prediction (first-visit and every-visit) and Monte Carlo control (exploring starts
and on-policy epsilon-soft), Sutton & Barto (2018), Sections 5.1, 5.3 and 5.4."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._iterative import Timer
from .._validation import check_choice, check_int, check_tol, rng_from_seed
from ..models import FiniteMDP
from ._episodes import (
    Episode,
    PredictionRun,
    Simulator,
    check_episodes,
    check_truth,
    episode_history,
    epsilon_greedy_action,
    exploration_schedule,
    greedy_action,
    initial_table,
    visit_step_size,
)
from ._result import LearningResult, PredictionResult
from ._td import batch_fixed_point

__all__ = ["mc_control", "mc_prediction"]


def first_visits(states: np.ndarray) -> np.ndarray:
    """Mask of the first occurrence of each value in ``states`` (the times ``t`` of first visits)."""
    _, first = np.unique(states, return_index=True)
    mask = np.zeros(states.size, bool)
    mask[first] = True
    return mask


def mc_prediction(
    mdp: FiniteMDP,
    policy: Any,
    *,
    n_episodes: int,
    variant: str = "first_visit",
    step_size: str | float = "linear",
    exponent: float = 0.8,
    updating: str = "offline",
    v0: Any = None,
    v_true: Any = None,
    horizon: int | None = None,
    tol: float = 1e-10,
    max_iter: int = 100_000,
    seed: int | np.random.Generator | None = None,
) -> PredictionResult:
    r"""Monte Carlo prediction of ``v_pi`` (Sutton & Barto 2018, Section 5.1, first-visit MC
    prediction box; constant-``alpha`` MC, eq. 6.1; batch updating, Section 6.3).

    At the end of an episode, the return ``G_t = sum_{k=t}^{T-1} gamma^{k-t} R_{k+1}`` of each
    visit ``t`` to ``S_t`` (only the first visit of each state with ``variant="first_visit"``)
    is a sample of ``v_pi(S_t)``:

    - ``step_size="linear"``: ``V(s)`` is the average of all returns collected at ``s`` (the
      book's box);
    - a float ``alpha`` or ``"polynomial"`` (``alpha_n = n^{-exponent}``, ``n`` the visit count):
      ``V(s) += sum_visits alpha_n [G_t - V(s)]`` with ``V`` from the episode's start (offline
      constant-``alpha`` MC, eq. 6.1; every-visit with a float ``alpha`` equals offline TD(1),
      :func:`td_lambda` with ``lam=1``, exactly);
    - ``updating="batch"`` (Section 6.3): after each episode all returns seen so far are presented
      again until the change is below ``tol``; the fixed point is the sample average of the returns.

    Guarantee (Section 5.1): first-visit MC averages independent, unbiased samples of
    ``v_pi(s)``, so ``V(s)`` is unbiased with standard error ``sigma(s)/sqrt(N(s))``
    (law of large numbers); every-visit MC is biased for finite ``N`` but also converges
    (Singh & Sutton 1996). An episode cut by ``horizon`` contributes its truncated return
    (biased by at most ``gamma^H max|R| / (1 - gamma)``).

    Parameters
    ----------
    mdp, policy, n_episodes, v0, v_true, horizon, tol, max_iter, seed
        As for :func:`td_prediction`.
    variant : {"first_visit", "every_visit"}
    step_size : "linear", "polynomial" or float
    exponent : float
        Of the ``"polynomial"`` step size, in ``(1/2, 1]``.
    updating : {"offline", "batch"}
        ``"batch"`` with a string ``step_size`` uses ``alpha = 1`` (one sweep reaches the averages).

    Returns
    -------
    PredictionResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, learning
    >>> res = learning.mc_prediction(envs.random_walk(5), np.full((7, 2), 0.5), n_episodes=400, seed=0)
    >>> np.round(res.v[1:6], 2).tolist()  # true values 0.17, 0.33, 0.5, 0.67, 0.83
    [0.13, 0.33, 0.47, 0.64, 0.81]
    """
    run = PredictionRun(mdp, policy, n_episodes=n_episodes, horizon=horizon, v0=v0, v_true=v_true, seed=seed)
    check_choice(variant, "variant", ("first_visit", "every_visit"))
    check_choice(updating, "updating", ("offline", "batch"))
    alpha_of = visit_step_size(step_size, exponent)
    batch_alpha = 1.0 if isinstance(step_size, str) else alpha_of(1)  # batch: a sample-average step converges in one sweep
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    gamma, v = run.gamma, run.v
    S = v.size
    counts = np.zeros(S)
    sums = np.zeros(S)
    seen_states: list[np.ndarray] = []
    seen_returns: list[np.ndarray] = []
    with Timer() as timer:
        for ep in run:
            states = ep.states[:-1]
            g = ep.discounted_returns(gamma)
            if variant == "first_visit":
                keep = first_visits(states)
                states, g = states[keep], g[keep]
            if updating == "batch":
                seen_states.append(states)
                seen_returns.append(g)
                all_g = np.concatenate(seen_returns)
                batch_fixed_point(v, lambda val, g_all=all_g: g_all, np.concatenate(seen_states), batch_alpha, tol,
                                  max_iter)
            elif step_size == "linear":
                counts += np.bincount(states, minlength=S)
                sums += np.bincount(states, weights=g, minlength=S)
                visited = counts > 0
                v[visited] = sums[visited] / counts[visited]
            else:
                start = v.copy()
                increment = np.zeros(S)
                for s, ret in zip(states, g):
                    counts[s] += 1.0
                    increment[s] += alpha_of(counts[s]) * (ret - start[s])
                v += increment
    return run.result("mc_prediction", {"variant": variant, "step_size": step_size, "updating": updating},
                      timer.elapsed)


def _control_episode(sim: Simulator, q: np.ndarray, epsilon: float, exploring: bool,
                     rng: np.random.Generator) -> Episode:
    """An episode of the epsilon-greedy policy for ``q`` (greedy with random ties when
    ``epsilon = 0``); with ``exploring``, ``(S_0, A_0)`` is uniform over the non-terminal states
    and all actions (exploring starts, S&B 5.3)."""
    if exploring:
        s = int(sim.non_terminal[rng.integers(sim.non_terminal.size)])
        a = int(rng.integers(sim.A))
    else:
        s = sim.start(rng)
        a = epsilon_greedy_action(q[s], epsilon, rng)
    return sim.rollout(s, lambda state: epsilon_greedy_action(q[state], epsilon, rng), rng, first_action=a)


def mc_control(
    mdp: FiniteMDP,
    *,
    n_episodes: int,
    variant: str = "exploring_starts",
    exploration: str | float = 0.1,
    q0: Any = None,
    q_star: Any = None,
    horizon: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> LearningResult:
    r"""First-visit Monte Carlo control (Sutton & Barto 2018, Section 5.3, Monte Carlo ES box;
    Section 5.4, on-policy first-visit MC control for epsilon-soft policies box).

    Each episode follows the epsilon-greedy policy for the current ``Q`` (greedy with random ties
    for ``variant="exploring_starts"``); then for each first visit ``t`` of a pair,
    ``Q(S_t, A_t)`` becomes the average of all returns collected after that pair:

    .. math::
        Q(s, a) = \frac{1}{N(s, a)} \sum_{i=1}^{N(s,a)} G^{(i)}(s, a),
        \qquad \pi(s) = \arg\max_a Q(s, a).

    - ``"exploring_starts"`` (5.3): ``(S_0, A_0)`` uniform over the non-terminal states and all
      actions, then greedy. Convergence to ``Q*`` is an open problem in general (the book, 5.3);
      it holds for the tests' small models. With ``gamma = 1`` a greedy policy can loop for ever,
      so pass a ``horizon``.
    - ``"epsilon_soft"`` (5.4): ``S_0 ~ d0`` and epsilon-greedy actions, with ``exploration``
      a constant ``epsilon`` (convergence to the best epsilon-soft policy, Section 5.4) or
      ``"glie"`` (``epsilon_k = 1/sqrt(k)``; greedy in the limit with infinite exploration, so ``Q ->
      Q*``; Singh, Jaakkola, Littman & Szepesvari 2000, "Convergence results for single-step
      on-policy reinforcement-learning algorithms", Machine Learning 38).

    Parameters
    ----------
    mdp : FiniteMDP
        Episodic (``terminal`` states) or discounted with ``horizon``.
    n_episodes : int
    variant : {"exploring_starts", "epsilon_soft"}
    exploration : float or "glie"
        ``epsilon`` of the epsilon-soft variant (ignored with exploring starts).
    q0 : array_like, optional
        Initial ``Q`` ``(S, A)`` (zeros); entries never visited keep it.
    q_star : array_like, optional
        ``Q*``, only to record ``history["error"] = max_{s,a} |Q - Q*|`` over the non-terminal states.
    horizon : int, optional
        As for :func:`td_prediction`.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    LearningResult
        ``q``, ``policy`` (greedy), ``history`` per episode (``step``, ``samples``, ``return``,
        ``length``, ``error``).

    Examples
    --------
    >>> from theory_rl import envs, learning, tabular
    >>> grid = envs.sutton_barto_gridworld()
    >>> res = learning.mc_control(grid, n_episodes=3000, horizon=50, seed=0)
    >>> v_greedy = tabular.policy_evaluation(grid, res.policy).v
    >>> print(f"max gap to v*: {abs(v_greedy - tabular.value_iteration(grid).v).max():.1f}")
    max gap to v*: 0.0
    """
    K = check_episodes(n_episodes)
    check_choice(variant, "variant", ("exploring_starts", "epsilon_soft"))
    eps_of = exploration_schedule(exploration)
    sim = Simulator(mdp, horizon)
    rng = rng_from_seed(seed)
    S, A = sim.S, sim.A
    q = initial_table(q0, (S, A), "q0", sim.terminal)
    q_star = check_truth(q_star, (S, A), "q_star")
    exploring = variant == "exploring_starts"
    sums, counts = np.zeros(S * A), np.zeros(S * A)
    returns, lengths, errors = [], [], []
    with Timer() as timer:
        for k in range(1, K + 1):
            ep = _control_episode(sim, q, 0.0 if exploring else eps_of(k), exploring, rng)
            pairs = ep.states[:-1] * A + ep.actions
            g = ep.discounted_returns(sim.gamma)
            keep = first_visits(pairs)
            sums += np.bincount(pairs[keep], weights=g[keep], minlength=S * A)
            counts += np.bincount(pairs[keep], minlength=S * A)
            visited = counts > 0
            q.reshape(-1)[visited] = sums[visited] / counts[visited]
            returns.append(float(g[0]) if g.size else 0.0)
            lengths.append(int(ep.actions.size))
            errors.append(float(np.max(np.abs(q - q_star)[sim.non_terminal])) if q_star is not None else np.nan)
        policy = np.array([greedy_action(q[s], rng) for s in range(S)], dtype=np.int64)
    return LearningResult(q=q, policy=policy, history=episode_history(returns, lengths, error=errors),
                          method="mc_control", n_samples=int(sum(lengths)), elapsed=timer.elapsed,
                          params={"n_episodes": K, "variant": variant, "exploration": exploration})
