"""Published values of Sutton & Barto's gridworlds (Example 4.1 / Figure 4.1, Example 6.6), solved
as the episodic, undiscounted (gamma = 1) tasks they are: exact values, every solver certified."""

from __future__ import annotations

import numpy as np
import pytest

from theory_rl.envs import cliff_walking, sutton_barto_gridworld
from theory_rl.tabular import linear_programming, policy_evaluation, policy_iteration, value_iteration

SOLVERS = [value_iteration, policy_iteration, linear_programming]

# Sutton & Barto (2018), Figure 4.1 (k = infinity): v_pi of the equiprobable random policy on the
# 4x4 grid of Example 4.1.
FIGURE_4_1 = np.array(
    [
        [0, -14, -20, -22],
        [-14, -18, -20, -20],
        [-20, -20, -18, -14],
        [-22, -20, -14, 0],
    ],
    dtype=float,
)


def test_figure_4_1_equiprobable_random_policy():
    mdp = sutton_barto_gridworld()
    assert mdp.gamma == 1.0
    sol = policy_evaluation(mdp, np.full((16, 4), 0.25))
    np.testing.assert_allclose(sol.v.reshape(4, 4), FIGURE_4_1, rtol=0, atol=1e-12)
    # the certificate brackets the published (exact, integer) values
    assert (sol.lower <= FIGURE_4_1.ravel()).all() and (FIGURE_4_1.ravel() <= sol.upper).all()
    assert 0 < sol.bound < 1e-10


@pytest.mark.parametrize("solver", SOLVERS)
def test_figure_4_1_optimal_values(solver):
    # Sutton & Barto (2018), Figure 4.1 (greedy policy at k = infinity is optimal): v*(s) is minus
    # the number of steps to the nearest terminal corner, -min(r + c, 6 - r - c).
    r, c = np.divmod(np.arange(16), 4)
    expected = -np.minimum(r + c, 6 - r - c).astype(float)
    sol = solver(sutton_barto_gridworld())
    assert sol.converged
    np.testing.assert_allclose(sol.v, expected, rtol=0, atol=1e-12)
    assert (sol.lower <= expected).all() and (expected <= sol.upper).all()
    assert sol.bound < 1e-10
    np.testing.assert_allclose(policy_evaluation(sutton_barto_gridworld(), sol.policy).v, expected, atol=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_example_6_6_cliff_walking_optimal_return(solver):
    # Sutton & Barto (2018), Example 6.6: the optimal path from the start runs along the cliff,
    # up, 11 x right, down: 13 moves at -1 each, return -13.
    mdp = cliff_walking()
    start = 36
    sol = solver(mdp)
    assert sol.converged
    assert abs(sol.v[start] - (-13.0)) < 1e-12
    assert sol.lower[start] <= -13.0 <= sol.upper[start]
    # along the row above the cliff, cell (2, c) is 12 - c moves from the goal
    np.testing.assert_allclose(sol.v[24:36], -(12 - np.arange(12)), atol=1e-12)
    # the optimal path, followed from the start
    s, path = start, []
    while s != 47:
        a = int(sol.policy[s])
        path.append(a)
        s = int(np.argmax(mdp.P[s, a]))
    assert path == [0] + [1] * 11 + [2]
