"""SARSA, Expected SARSA (Q-learning as its greedy target), n-step SARSA and Monte Carlo control
(Sutton & Barto 2018, Sections 5.3-5.4, 6.4-6.6, 7.2)."""

from __future__ import annotations

import numpy as np
from episodic_instances import random_episodic_mdp
from hypothesis import given
from hypothesis import strategies as st

from theory_rl import envs, learning, tabular


def small_mdp():
    return envs.random_mdp(4, 2, seed=3, gamma=0.8)


def epsilon_greedy_optimal_q(mdp, epsilon: float) -> np.ndarray:
    """The fixed point of ``Q = R + gamma P [eps mean_a Q + (1 - eps) max_a Q]``: the values of the
    best epsilon-greedy policy, which on-policy Expected SARSA learns (a contraction, iterated)."""
    P, R, g = np.asarray(mdp.P), np.asarray(mdp.R), mdp.gamma
    q = np.zeros_like(R)
    for _ in range(2000):
        q = R + g * P @ (epsilon * q.mean(axis=1) + (1 - epsilon) * q.max(axis=1))
    return q


# ----------------------------------------------------------------------------- (a) equivalences
@given(st.builds(random_episodic_mdp, st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 3)),
       st.floats(0.05, 1.0), st.integers(0, 10_000))
def test_greedy_behaviour_makes_sarsa_expected_sarsa_and_q_learning_one_update(mdp, alpha, seed):
    """With epsilon = 0, Q(S', A') for the greedy A' is max_a Q(S', a), the expectation under the
    (greedy) behaviour: the three updates coincide, step for step from one seed."""
    kw = dict(n_episodes=5, step_size=alpha, exploration=0.0, seed=seed, horizon=50)
    q = learning.sarsa(mdp, **kw).q
    np.testing.assert_allclose(learning.expected_sarsa(mdp, **kw).q, q, atol=1e-12)
    np.testing.assert_allclose(learning.expected_sarsa(mdp, target_policy="greedy", **kw).q, q, atol=1e-12)


@given(st.builds(random_episodic_mdp, st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 3)),
       st.floats(0.05, 1.0), st.floats(0.0, 1.0), st.integers(0, 10_000))
def test_one_step_sarsa_is_n_step_sarsa_with_n_one(mdp, alpha, epsilon, seed):
    kw = dict(n_episodes=5, step_size=alpha, exploration=epsilon, seed=seed, horizon=50)
    np.testing.assert_allclose(learning.n_step_sarsa(mdp, n=1, **kw).q, learning.sarsa(mdp, **kw).q, atol=1e-12)


# ----------------------------------------------------------------------------- (b) properties
def test_q_learning_target_learns_q_star_and_the_on_policy_target_the_epsilon_greedy_values():
    """With a constant epsilon = 0.3, after 1500 episodes of 30 steps (measured on seeds 0-2: 0.054
    to 0.059 and 0.023 to 0.028), the greedy target (Q-learning) is within 0.1 of Q* and the
    on-policy Expected SARSA target within 0.06 of the best epsilon-greedy policy's values, which
    are 0.20 away from Q*: each is more than 0.15 from the other's limit."""
    mdp = small_mdp()
    q_star = tabular.value_iteration(mdp, tol=1e-12).q
    q_eps = epsilon_greedy_optimal_q(mdp, 0.3)
    assert np.max(np.abs(q_eps - q_star)) > 0.15
    kw = dict(n_episodes=1500, horizon=30, exploration=0.3, step_size="polynomial", seed=0)
    q_learning = learning.expected_sarsa(mdp, target_policy="greedy", **kw).q
    on_policy = learning.expected_sarsa(mdp, **kw).q
    assert np.max(np.abs(q_learning - q_star)) < 0.1 and np.max(np.abs(q_learning - q_eps)) > 0.15
    assert np.max(np.abs(on_policy - q_eps)) < 0.06 and np.max(np.abs(on_policy - q_star)) > 0.15


def test_sarsa_with_a_glie_schedule_converges_to_q_star():
    """Singh et al. (2000), Thm 1: GLIE exploration and Robbins-Monro steps. Measured against the
    exact Q*: max error 0.11 after 3000 episodes, from 0.83 after 100 (what is left is the bias of
    on-policy targets under the exploration still present, epsilon_k = 1/sqrt(k))."""
    mdp = small_mdp()
    q_star = tabular.value_iteration(mdp, tol=1e-12).q
    res = learning.sarsa(mdp, n_episodes=3000, horizon=15, exploration="glie", step_size="polynomial", q_star=q_star,
                         seed=0)
    err = res.history["error"]
    assert err[-1] < 0.15 < 0.5 < err[99]
    np.testing.assert_array_equal(res.policy, q_star.argmax(axis=1))


def test_monte_carlo_exploring_starts_finds_the_optimal_policy_of_the_gridworld():
    """Example 4.1's 4 x 4 gridworld: exploring starts reach every pair, so the greedy policy is
    optimal and its values are close to v*."""
    grid = envs.sutton_barto_gridworld()
    v_star = tabular.value_iteration(grid, tol=1e-12).v
    res = learning.mc_control(grid, n_episodes=3000, horizon=50, seed=1)
    np.testing.assert_allclose(tabular.policy_evaluation(grid, res.policy).v, v_star, atol=1e-9)
    assert np.max(np.abs(res.q.max(axis=1) - v_star)) < 0.5


def test_epsilon_soft_monte_carlo_control_with_glie_ends_greedy_optimal():
    mdp = small_mdp()
    q_star = tabular.value_iteration(mdp, tol=1e-12).q
    res = learning.mc_control(mdp, n_episodes=1500, variant="epsilon_soft", exploration="glie", horizon=30, seed=0)
    np.testing.assert_array_equal(res.policy, q_star.argmax(axis=1))
    constant = learning.mc_control(mdp, n_episodes=1500, variant="epsilon_soft", exploration=0.3, horizon=30, seed=0)
    gap = np.abs(res.q.max(axis=1) - q_star.max(axis=1)).max()
    assert gap < np.abs(constant.q.max(axis=1) - q_star.max(axis=1)).max()  # exploration that decays helps


def test_monte_carlo_control_exploring_starts_approaches_q_star():
    mdp = small_mdp()
    q_star = tabular.value_iteration(mdp, tol=1e-12).q
    res = learning.mc_control(mdp, n_episodes=1500, horizon=30, q_star=q_star, seed=0)
    assert res.history["error"][-1] < 0.15 < res.history["error"][0]


# ------------------------------------------------------------------------- (c) reference values
def test_cliff_walking_sarsa_takes_the_safe_path_and_q_learning_the_optimal_one():
    """Example 6.6 / Figure 6.4 (alpha = 0.5, epsilon = 0.1): the book's curves sit near -25
    (SARSA) and -50 (Q-learning) per episode. Measured here (8 seeds, episodes 301-500): -27.2
    and -47.6 (Expected SARSA -21.1). Tested on 4 seeds with a tolerance of about 10."""
    cliff = envs.cliff_walking()
    kw = dict(n_episodes=500, step_size=0.5, exploration=0.1)
    sarsa = np.mean([learning.sarsa(cliff, seed=s, **kw).history["return"][300:].mean() for s in range(4)])
    q_learning = np.mean([learning.expected_sarsa(cliff, target_policy="greedy", seed=s, **kw).history["return"][300:]
                          .mean() for s in range(4)])
    assert -40.0 < sarsa < -17.0
    assert -62.0 < q_learning < -42.0
    greedy = learning.expected_sarsa(cliff, target_policy="greedy", seed=0, **kw).policy
    next_state = np.asarray(cliff.P).argmax(axis=2)  # deterministic moves
    s, steps = 36, 0
    while s != 47 and steps < 100:
        s, steps = next_state[s, greedy[s]], steps + 1
    assert steps == 13  # Q-learning's greedy policy walks the edge of the cliff: the optimal path


def test_an_episode_that_starts_in_a_terminal_state_is_empty():
    """The 4 x 4 gridworld's d0 is uniform over all 16 cells, two of them terminal."""
    grid = envs.sutton_barto_gridworld()
    res = learning.sarsa(grid, n_episodes=200, seed=0)
    lengths = res.history["length"]
    assert (lengths == 0).any() and (res.history["return"][lengths == 0] == 0).all()
    assert np.all(res.q[[0, 15]] == 0.0) and res.n_samples == lengths.sum()
