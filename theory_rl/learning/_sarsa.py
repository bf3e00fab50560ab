r"""On-policy TD control: SARSA, Expected SARSA (and, with a greedy target, online Q-learning)
and n-step SARSA, Sutton & Barto (2018), Sections 6.4-6.6 and 7.2."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._iterative import Timer
from .._validation import check_choice, check_int, rng_from_seed
from ..models import FiniteMDP
from ._episodes import (
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
from ._result import LearningResult

__all__ = ["expected_sarsa", "n_step_sarsa", "sarsa"]


def _td_control(mdp: FiniteMDP, *, method: str, n: int, n_episodes: Any, step_size: Any, exponent: Any,
                exploration: Any, target: str, q0: Any, q_star: Any, horizon: Any, seed: Any) -> LearningResult:
    """The loop SARSA, Expected SARSA and n-step SARSA share. Behaviour: epsilon-greedy for the
    current ``Q`` (random ties). The update of ``Q(S_tau, A_tau)`` happens at time ``tau + n``
    (``n = 1`` for one-step methods) towards

    ``G = sum_{i=tau+1}^{min(tau+n, T)} gamma^{i-tau-1} R_i + gamma^n B(S_{tau+n}, A_{tau+n})``,

    where ``B`` is ``Q(S', A')`` (``target="sample"``), ``sum_a pi(a|S') Q(S', a)`` for the
    epsilon-greedy ``pi`` (``"expected"``) or ``max_a Q(S', a)`` (``"greedy"``), and 0 after a
    terminal state. ``alpha`` is a float, or a function of the visit count of the updated pair."""
    K = check_episodes(n_episodes)
    alpha_of = visit_step_size(step_size, exponent)
    eps_of = exploration_schedule(exploration)
    sim = Simulator(mdp, horizon)
    rng = rng_from_seed(seed)
    S, A, gamma = sim.S, sim.A, sim.gamma
    q = initial_table(q0, (S, A), "q0", sim.terminal)
    q_star = check_truth(q_star, (S, A), "q_star")
    visits = np.zeros((S, A))
    powers = (gamma ** np.arange(n + 1)).tolist()
    returns, lengths, errors = [], [], []

    def bootstrap(s: int, a: int, eps: float) -> float:
        if sim.terminal[s]:
            return 0.0
        if target == "sample":
            return float(q[s, a])
        row = q[s].tolist()
        top = max(row)
        if target == "greedy":
            return top
        return eps * sum(row) / len(row) + (1.0 - eps) * top  # the greedy mass on tied maxima sums to top

    with Timer() as timer:
        for k in range(1, K + 1):
            eps = eps_of(k)
            s = sim.start(rng)
            a = epsilon_greedy_action(q[s], eps, rng)
            states, actions, rewards = [s], [a], []
            T = 0 if sim.terminal[s] else sim.horizon  # an episode that starts in a terminal state is empty
            t = 0
            ret, discount = 0.0, 1.0
            while T > 0:
                if t < T:
                    r, s_next = sim.step(states[t], actions[t], rng)
                    rewards.append(r)
                    states.append(s_next)
                    ret += discount * r
                    discount *= gamma
                    if sim.terminal[s_next] or t + 1 == sim.horizon:
                        T = t + 1
                        actions.append(0)  # A_T is never used after a terminal state
                        if not sim.terminal[s_next]:  # cut by the horizon: bootstrap from the behaviour's next action
                            actions[-1] = epsilon_greedy_action(q[s_next], eps, rng)
                    else:
                        actions.append(epsilon_greedy_action(q[s_next], eps, rng))
                tau = t - n + 1
                if tau >= 0:
                    end = min(tau + n, T)
                    g = 0.0
                    for i in range(end - 1, tau - 1, -1):
                        g = rewards[i] + gamma * g
                    if tau + n < T:
                        g += powers[n] * bootstrap(states[tau + n], actions[tau + n], eps)
                    elif not sim.terminal[states[T]]:  # cut by the horizon
                        g += powers[T - tau] * bootstrap(states[T], actions[T], eps)
                    s_tau, a_tau = states[tau], actions[tau]
                    visits[s_tau, a_tau] += 1.0
                    q[s_tau, a_tau] += alpha_of(visits[s_tau, a_tau]) * (g - q[s_tau, a_tau])
                if tau == T - 1:
                    break
                t += 1
            returns.append(ret)
            lengths.append(T)
            errors.append(float(np.max(np.abs(q - q_star)[sim.non_terminal])) if q_star is not None else np.nan)
        policy = np.array([greedy_action(q[s], rng) for s in range(S)], dtype=np.int64)
    params = {"n_episodes": K, "step_size": step_size, "exploration": exploration}
    if method == "n_step_sarsa":
        params["n"] = n
    if method == "expected_sarsa":
        params["target_policy"] = "greedy" if target == "greedy" else "epsilon_greedy"
    return LearningResult(q=q, policy=policy, history=episode_history(returns, lengths, error=errors),
                          method=method, n_samples=int(sum(lengths)), elapsed=timer.elapsed, params=params)


_SHARED_PARAMETERS = """Parameters
    ----------
    mdp : FiniteMDP
        Episodic (``terminal`` states, ``gamma = 1`` allowed) or discounted with ``horizon``.
    n_episodes : int
    step_size : float, "linear" or "polynomial"
        ``alpha``: a constant in ``(0, 1]``, or ``1/N(s, a)`` / ``N(s, a)^{-exponent}`` with
        ``N`` the number of updates of the pair so far (Robbins-Monro schedules).
    exponent : float
        Of the ``"polynomial"`` step size, in ``(1/2, 1]``.
    exploration : float or "glie"
        ``epsilon`` of the epsilon-greedy behaviour (uniform action with probability
        ``epsilon``, else greedy with random ties), or ``"glie"``: ``epsilon_k = 1/sqrt(k)`` in
        episode ``k``.
    q0 : array_like or float, optional
        Initial ``Q`` (zeros); terminal entries are 0.
    q_star : array_like, optional
        ``Q*``, only to record ``history["error"]`` (``max |Q - Q*|`` over the non-terminal states).
    horizon : int, optional
        Steps after which an episode is cut (needed without terminal states; episodes of an
        episodic model are cut after 100,000 steps otherwise). A cut episode bootstraps.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    LearningResult
        ``q``, ``policy`` (greedy for ``q``, random ties), ``history`` per episode: ``step``,
        ``samples`` (transitions so far), ``return`` (the discounted return the behaviour
        earned in the episode, the y-axis of S&B Figure 6.4), ``length``, ``error``.
"""


def sarsa(
    mdp: FiniteMDP,
    *,
    n_episodes: int,
    step_size: str | float = 0.5,
    exponent: float = 0.8,
    exploration: str | float = 0.1,
    q0: Any = None,
    q_star: Any = None,
    horizon: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> LearningResult:
    r"""SARSA, on-policy TD control (Rummery & Niranjan 1994; Sutton & Barto 2018, Section 6.4,
    eq. 6.7 and the boxed algorithm).

    .. math::
        Q(S_t, A_t) \leftarrow Q(S_t, A_t) + \alpha\,\big[R_{t+1} + \gamma Q(S_{t+1}, A_{t+1}) - Q(S_t, A_t)\big],

    with ``A_{t+1}`` the epsilon-greedy action actually taken next and ``Q(terminal, .) = 0``.

    Guarantee (Singh, Jaakkola, Littman & Szepesvari 2000, Thm 1): with a GLIE behaviour
    (``exploration="glie"``) and Robbins-Monro step sizes, ``Q -> Q*`` with probability 1 for
    a finite MDP; with a constant ``epsilon`` SARSA learns the values of the epsilon-greedy policy
    it follows, and so takes the safe path in cliff walking (Example 6.6, Figure 6.4: about -25
    per episode, where Q-learning, :func:`expected_sarsa` with ``target_policy="greedy"``, gets
    about -50).

    {parameters}
    Examples
    --------
    >>> from theory_rl import envs, learning
    >>> res = learning.sarsa(envs.cliff_walking(), n_episodes=500, step_size=0.5, exploration=0.1, seed=0)
    >>> print(f"mean return over the last 100 episodes: {res.history['return'][-100:].mean():.0f}")
    mean return over the last 100 episodes: -25
    """
    return _td_control(mdp, method="sarsa", n=1, n_episodes=n_episodes, step_size=step_size, exponent=exponent,
                       exploration=exploration, target="sample", q0=q0, q_star=q_star, horizon=horizon, seed=seed)


def expected_sarsa(
    mdp: FiniteMDP,
    *,
    n_episodes: int,
    step_size: str | float = 0.5,
    exponent: float = 0.8,
    exploration: str | float = 0.1,
    target_policy: str = "epsilon_greedy",
    q0: Any = None,
    q_star: Any = None,
    horizon: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> LearningResult:
    r"""Expected SARSA (van Seijen, van Hasselt, Whiteson & Wiering 2009; Sutton & Barto 2018,
    Section 6.6, eq. 6.9), and online Q-learning (Watkins 1989; Section 6.5, eq. 6.8) as its
    greedy-target case.

    .. math::
        Q(S_t, A_t) \leftarrow Q(S_t, A_t) + \alpha\,\Big[R_{t+1} + \gamma \sum_a \pi(a \mid S_{t+1})
        Q(S_{t+1}, a) - Q(S_t, A_t)\Big].

    ``target_policy="epsilon_greedy"``: ``pi`` is the behaviour itself (on-policy; the update
    removes SARSA's variance from the choice of ``A_{t+1}``). ``target_policy="greedy"``:
    ``pi`` is greedy for ``Q``, the sum is ``max_a Q(S_{t+1}, a)``, and the update is
    Q-learning's, while the behaviour stays epsilon-greedy (off-policy).

    Guarantee: with the greedy target, Q-learning converges to ``Q*`` with probability 1 for any
    behaviour that tries every pair infinitely often and Robbins-Monro step sizes (Watkins & Dayan
    1992; Jaakkola, Jordan & Singh 1994), even with a constant ``epsilon``; the on-policy target
    converges to the values of the best epsilon-greedy policy, and to ``Q*`` under GLIE.

    {parameters}
    Examples
    --------
    >>> from theory_rl import envs, learning
    >>> res = learning.expected_sarsa(envs.cliff_walking(), n_episodes=500, target_policy="greedy", seed=0)
    >>> print(f"Q-learning, last 100 episodes: {res.history['return'][-100:].mean():.0f} per episode")
    Q-learning, last 100 episodes: -38 per episode
    """
    check_choice(target_policy, "target_policy", ("epsilon_greedy", "greedy"))
    target = "greedy" if target_policy == "greedy" else "expected"
    return _td_control(mdp, method="expected_sarsa", n=1, n_episodes=n_episodes, step_size=step_size,
                       exponent=exponent, exploration=exploration, target=target, q0=q0, q_star=q_star,
                       horizon=horizon, seed=seed)


def n_step_sarsa(
    mdp: FiniteMDP,
    *,
    n: int,
    n_episodes: int,
    step_size: str | float = 0.5,
    exponent: float = 0.8,
    exploration: str | float = 0.1,
    q0: Any = None,
    q_star: Any = None,
    horizon: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> LearningResult:
    r"""n-step SARSA (Sutton & Barto 2018, Section 7.2, eq. 7.4 and the boxed algorithm).

    At time ``tau + n`` the pair ``(S_tau, A_tau)`` is updated towards

    .. math::
        G_{\tau:\tau+n} = \sum_{i=\tau+1}^{\min(\tau+n,T)} \gamma^{i-\tau-1} R_i
        + \gamma^n Q(S_{\tau+n}, A_{\tau+n})\,\mathbb 1[\tau + n < T],

    ``Q(S_tau, A_tau) += alpha [G - Q(S_tau, A_tau)]``. ``n = 1`` is :func:`sarsa` (equal to it
    step for step from one seed). Longer ``n`` propagates a reward back ``n`` pairs per episode
    (Figure 7.4).

    Guarantee: as for SARSA, the n-step target obeys the error reduction property (eq. 7.3) for
    the behaviour policy's values; convergence of the control algorithm to ``Q*`` under GLIE is
    not proved in the book.

    {parameters}
    Examples
    --------
    >>> from theory_rl import envs, learning
    >>> res = learning.n_step_sarsa(envs.cliff_walking(), n=4, n_episodes=300, step_size=0.2, seed=0)
    >>> print(f"{res.history['return'][-50:].mean():.0f}")
    -19
    """
    n = check_int(n, "n", minimum=1)
    return _td_control(mdp, method="n_step_sarsa", n=n, n_episodes=n_episodes, step_size=step_size,
                       exponent=exponent, exploration=exploration, target="sample", q0=q0, q_star=q_star,
                       horizon=horizon, seed=seed)


sarsa.__doc__ = sarsa.__doc__.replace("{parameters}", _SHARED_PARAMETERS)
expected_sarsa.__doc__ = expected_sarsa.__doc__.replace("{parameters}", _SHARED_PARAMETERS.replace(
    "    q0 : array_like", '    target_policy : {"epsilon_greedy", "greedy"}\n    q0 : array_like'))
n_step_sarsa.__doc__ = n_step_sarsa.__doc__.replace("{parameters}", _SHARED_PARAMETERS.replace(
    "    n_episodes : int\n", "    n : int\n        Steps before bootstrapping, ``n >= 1``.\n    n_episodes : int\n", 1))
