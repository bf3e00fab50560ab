"""gridworld, sutton_barto_gridworld and cliff_walking."""

from __future__ import annotations

import time

import numpy as np
import pytest

from theory_rl.envs import cliff_walking, gridworld, sutton_barto_gridworld
from theory_rl.errors import InvalidArgumentError, InvalidModelError

UP, RIGHT, DOWN, LEFT = range(4)


def _succ(m, s, a):
    P = m.to_dense().P
    return {int(t): float(P[s, a, t]) for t in np.flatnonzero(P[s, a])}


def test_gridworld_deterministic_moves_and_goal():
    m = gridworld(3, 4, gamma=0.9)
    assert m.P.shape == (12, 4, 12) and not m.is_sparse and m.gamma == 0.9
    s = 1 * 4 + 2  # cell (1, 2)
    assert _succ(m, s, UP) == {2: 1.0}
    assert _succ(m, s, RIGHT) == {7: 1.0}
    assert _succ(m, s, DOWN) == {10: 1.0}
    assert _succ(m, s, LEFT) == {5: 1.0}
    # walls of the grid: stay in place
    assert _succ(m, 0, UP) == {0: 1.0} and _succ(m, 0, LEFT) == {0: 1.0}
    assert _succ(m, 3, RIGHT) == {3: 1.0}
    # default goal: bottom-right, absorbing with goal_reward
    g = 11
    for a in range(4):
        assert _succ(m, g, a) == {g: 1.0}
    np.testing.assert_array_equal(m.R[g], 0.0)
    np.testing.assert_array_equal(m.R[np.arange(12) != g], -1.0)
    assert m.state_names[s] == "(1,2)" and m.action_names == ("up", "right", "down", "left")


def test_gridworld_slip():
    slip = 0.2
    m = gridworld(3, 3, slip=slip, goal=(0, 0))
    s = 4  # centre: four distinct neighbours
    succ = _succ(m, s, RIGHT)
    assert succ == pytest.approx({5: 1 - slip + slip / 4, 1: slip / 4, 7: slip / 4, 3: slip / 4})
    # corner (2, 2): up and left move, right and down stay
    succ = _succ(m, 8, UP)
    assert succ == pytest.approx({5: 1 - slip + slip / 4, 7: slip / 4, 8: slip / 2})
    full = gridworld(3, 3, slip=1.0)
    P = full.P
    for a in range(1, 4):
        np.testing.assert_allclose(P[:, a], P[:, 0])


def test_gridworld_obstacles_goals_and_rewards():
    walls = [(0, 1), (1, 1)]
    m = gridworld(3, 3, obstacles=walls, goal=[(0, 2), (2, 2)], step_reward=-0.5, goal_reward=2.0)
    assert _succ(m, 0, RIGHT) == {0: 1.0}  # into a wall: stay
    assert _succ(m, 3, RIGHT) == {3: 1.0}
    assert _succ(m, 6, RIGHT) == {7: 1.0}
    for w in (1, 4):  # wall cells: absorbing, reward 0, never started in
        assert _succ(m, w, DOWN) == {w: 1.0}
        np.testing.assert_array_equal(m.R[w], 0.0)
        assert m.d0[w] == 0.0
    np.testing.assert_allclose(m.d0.sum(), 1.0)
    for g in (2, 8):
        np.testing.assert_array_equal(m.R[g], 2.0)
    np.testing.assert_array_equal(m.R[[0, 3, 5, 6, 7]], -0.5)
    mask = np.zeros((3, 3), bool)
    mask[0, 1] = mask[1, 1] = True
    same = gridworld(3, 3, obstacles=mask, goal=[(0, 2), (2, 2)], step_reward=-0.5, goal_reward=2.0)
    np.testing.assert_array_equal(same.P, m.P)
    no_goal = gridworld(2, 2, goal=[])
    assert (no_goal.R == -1).all()


def test_gridworld_dense_sparse_agree_and_threshold():
    kw = dict(slip=0.3, obstacles=[(1, 1), (2, 3)], goal=(4, 0))
    d = gridworld(5, 6, sparse=False, **kw)
    s = gridworld(5, 6, sparse=True, **kw)
    assert s.is_sparse and not d.is_sparse
    np.testing.assert_array_equal(s.to_dense().P, d.P)
    np.testing.assert_array_equal(s.R, d.R)
    assert not gridworld(40, 50).is_sparse and gridworld(41, 50).is_sparse
    assert gridworld(100, 100).state_names is not None
    assert gridworld(100, 101).state_names is None


def test_gridworld_200x200_is_fast():
    gridworld(5, 5)
    t0 = time.perf_counter()
    m = gridworld(200, 200, slip=0.1)
    elapsed = time.perf_counter() - t0
    assert m.is_sparse and m.n_states == 40_000 and m.n_actions == 4
    assert elapsed < 3.0, elapsed  # well under a second locally; generous for CI
    np.testing.assert_allclose(np.asarray(m.P.sum(axis=1)).ravel(), 1.0, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_rows": 0}, "n_rows"),
        ({"n_cols": -1}, "n_cols"),
        ({"slip": 1.5}, "slip"),
        ({"goal": (5, 0)}, "goal"),
        ({"goal": (0.5, 1)}, "goal"),
        ({"goal": [(0, 0, 1)]}, "goal"),
        ({"goal": np.zeros((2, 2), bool)}, "goal"),
        ({"obstacles": [(2, 2)]}, "obstacles"),  # the default goal
        ({"obstacles": np.ones((3, 3), bool), "goal": []}, "obstacles"),
        ({"obstacles": [(-1, 0)]}, "obstacles"),
        ({"step_reward": float("inf")}, "step_reward"),
        ({"goal_reward": None}, "goal_reward"),
        ({"sparse": 1}, "sparse"),
        ({"gamma": 1.0, "goal": []}, "gamma"),
        ({"gamma": 1.0, "goal_reward": 1.0}, "gamma"),
        ({"gamma": 1.5}, "gamma"),
    ],
)
def test_gridworld_bad_arguments(kwargs, name):
    args = {"n_rows": 3, "n_cols": 3}
    args.update(kwargs)
    with pytest.raises((InvalidArgumentError, InvalidModelError), match=name):
        gridworld(args.pop("n_rows"), args.pop("n_cols"), **args)


def test_sutton_barto_gridworld_definition():
    m = sutton_barto_gridworld()
    assert m.P.shape == (16, 4, 16) and m.gamma == 1.0 and m.is_shortest_path
    np.testing.assert_array_equal(np.flatnonzero(m.terminal), [0, 15])
    for t in (0, 15):
        np.testing.assert_array_equal(m.P[t, :, t], 1.0)
        np.testing.assert_array_equal(m.R[t], 0.0)
    np.testing.assert_array_equal(m.R[1:15], -1.0)
    assert _succ(m, 1, LEFT) == {0: 1.0} and _succ(m, 7, DOWN) == {11: 1.0}
    assert set(np.unique(m.P)) == {0.0, 1.0}
    discounted = sutton_barto_gridworld(gamma=0.9)
    assert discounted.gamma == 0.9 and not discounted.is_shortest_path
    np.testing.assert_array_equal(discounted.P, m.P)
    np.testing.assert_array_equal(discounted.R, m.R)


@pytest.mark.parametrize("make", [sutton_barto_gridworld, cliff_walking])
@pytest.mark.parametrize("gamma", [1.5, -0.1, float("nan"), "x"])
def test_episodic_grids_bad_gamma(make, gamma):
    with pytest.raises(InvalidModelError, match="gamma"):
        make(gamma=gamma)


def test_cliff_walking_definition():
    m = cliff_walking()
    start, goal = 36, 47
    assert m.P.shape == (48, 4, 48) and m.gamma == 1.0 and m.is_shortest_path
    np.testing.assert_array_equal(np.flatnonzero(m.terminal), list(range(37, 48)))  # the cliff and the goal
    assert cliff_walking(gamma=0.99).gamma == 0.99
    np.testing.assert_array_equal(m.d0, np.eye(48)[start])
    assert _succ(m, start, RIGHT) == {start: 1.0} and m.R[start, RIGHT] == -100.0
    assert _succ(m, start, UP) == {24: 1.0} and m.R[start, UP] == -1.0
    assert _succ(m, 24 + 5, DOWN) == {start: 1.0} and m.R[29, DOWN] == -100.0
    assert _succ(m, 35, DOWN) == {goal: 1.0} and m.R[35, DOWN] == -1.0
    for a in range(4):
        assert _succ(m, goal, a) == {goal: 1.0}
    np.testing.assert_array_equal(m.R[goal], 0.0)
    for c in range(37, 47):  # cliff cells: unreachable, absorbing, reward 0
        np.testing.assert_array_equal(m.P[c, :, c], 1.0)
        np.testing.assert_array_equal(m.R[c], 0.0)
        assert m.P[:, :, c][np.arange(48) != c].sum() == 0.0


def test_gridworld_episodic_slippery():
    # gamma = 1: goals (and walls) are terminal; with slip, VI = PI = LP and the expected number
    # of steps to the goal is what the -1 rewards add up to
    from theory_rl import tabular

    m = gridworld(5, 6, gamma=1.0, slip=0.3, obstacles=[(1, 1), (2, 3)], goal=(4, 0))
    assert m.is_shortest_path
    np.testing.assert_array_equal(np.flatnonzero(m.terminal), [7, 15, 24])
    sols = [solver(m, tol=1e-9) if solver is not tabular.linear_programming else solver(m)
            for solver in (tabular.value_iteration, tabular.policy_iteration, tabular.linear_programming)]
    for sol in sols:
        assert sol.converged and sol.bound <= 1e-9
        np.testing.assert_allclose(sol.v, sols[1].v, atol=2e-9)
    steps = sols[1].info["expected_steps"]
    np.testing.assert_allclose(sols[1].v, -steps, rtol=1e-9)  # every move pays -1
    assert gridworld(3, 3).terminal.tolist() == [False] * 8 + [True]
    assert not gridworld(3, 3, goal_reward=1.0).terminal.any()
