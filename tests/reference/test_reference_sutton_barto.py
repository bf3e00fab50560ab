"""Published values of Sutton & Barto's gridworlds (Example 4.1 / Figure 4.1, Example 6.6)."""

from __future__ import annotations

import warnings

import numpy as np

from theory_rl.envs import cliff_walking, sutton_barto_gridworld
from theory_rl.errors import ConvergenceWarning
from theory_rl.tabular import policy_evaluation, policy_iteration, value_iteration


def _optimal_policy(mdp):
    # gamma is within 1e-9..1e-12 of 1 here. policy_iteration certifies with MacQueen bounds whose
    # factor gamma/(1-gamma) amplifies rounding in T v - v by up to 1e12, so it can report
    # converged=False (ConvergenceWarning) although its policy is stable and optimal; we only take
    # the policy from it and evaluate that policy exactly below.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return policy_iteration(mdp).policy


def test_figure_4_1_equiprobable_random_policy():
    # Sutton & Barto (2018), Figure 4.1 (k = infinity): v_pi of the equiprobable random policy
    # on the 4x4 grid of Example 4.1.
    expected = np.array(
        [
            [0, -14, -20, -22],
            [-14, -18, -20, -20],
            [-20, -20, -18, -14],
            [-22, -20, -14, 0],
        ],
        dtype=float,
    )
    mdp = sutton_barto_gridworld()
    sol = policy_evaluation(mdp, np.full((16, 4), 0.25))
    np.testing.assert_allclose(sol.v.reshape(4, 4), expected, atol=1e-6)


def test_figure_4_1_optimal_values():
    # Sutton & Barto (2018), Figure 4.1 (greedy policy at k = infinity is optimal): v*(s) is minus
    # the number of steps to the nearest terminal corner, -min(r + c, 6 - r - c).
    r, c = np.divmod(np.arange(16), 4)
    expected = -np.minimum(r + c, 6 - r - c).astype(float)
    mdp = sutton_barto_gridworld()
    v = policy_evaluation(mdp, _optimal_policy(mdp)).v
    np.testing.assert_allclose(v, expected, atol=1e-6)
    # value iteration reaches the exact fixed point on this deterministic grid (at gamma = 1 - 1e-12
    # float64 cannot certify tol=1e-6: it stops at its rounding floor and says so)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_allclose(value_iteration(mdp).v, expected, atol=1e-6)


def test_example_6_6_cliff_walking_optimal_return():
    # Sutton & Barto (2018), Example 6.6: the optimal path from the start runs along the cliff,
    # up, 11 x right, down: 13 moves at -1 each, return -13 (gamma = 1 - 1e-9 changes it by 8e-8).
    gamma = 1.0 - 1e-9
    mdp = cliff_walking(gamma=gamma)
    start = 36
    v = policy_evaluation(mdp, _optimal_policy(mdp)).v
    assert abs(v[start] - (-13.0)) < 1e-6
    np.testing.assert_allclose(v[start], -sum(gamma**t for t in range(13)), atol=1e-9)
    with warnings.catch_warnings():  # see test_figure_4_1_optimal_values
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_allclose(value_iteration(mdp).v[start], -13.0, atol=1e-6)
    # along the row above the cliff, cell (2, c) is 12 - c moves from the goal
    np.testing.assert_allclose(v[24:36], -(12 - np.arange(12)), atol=1e-6)
