"""The discretised Point Maze: the paper's map, start, goal and dense reward; its four data groups
need stitching (the data's best return is below the optimum); tabular RCSL reaches the data's
best, tabular MBRCSL the optimum."""

from __future__ import annotations

import numpy as np
import pytest

from theory_rl import envs
from theory_rl.errors import InvalidArgumentError
from theory_rl.offline import mbrcsl, rcsl_evaluate, rcsl_fit
from theory_rl.tabular import backward_induction


@pytest.fixture(scope="module")
def maze():
    return envs.point_maze()


@pytest.fixture(scope="module")
def data(maze):
    return envs.point_maze_dataset(maze, n_episodes=100, seed=0)


def _optimum(maze) -> float:
    sol = backward_induction(maze.mdp, horizon=maze.horizon)
    return float(maze.mdp.d0 @ np.asarray(sol.v)[0])


def test_the_map_start_goal_and_reward(maze):
    assert maze.mdp.n_states == 6 * 9 and maze.mdp.n_actions == 5
    s0 = int(np.argmax(maze.mdp.d0))
    assert maze.positions[s0].tolist() == [-0.5, 0.5]  # cell (1, 2): col 2 - 2.5, 1.5 - row 1
    goal = maze.state_of(*maze.goal)
    assert np.allclose(maze.positions[goal], [1.5, -0.5])  # cell (2, 4)
    assert maze.mdp.R[goal, 0] == 1.0  # staying at the goal pays exp(0)
    right = maze.state_of(1.5 + 1 / 3, -0.5)  # the rightmost column of the goal cell: walls beyond
    assert maze.next_state[right, 4] == right
    s = maze.state_of(-0.5, 0.5)
    assert maze.next_state[s, 1] != s and maze.next_state[maze.state_of(-0.5, 0.5 + 1 / 3), 1] == maze.state_of(-0.5, 0.5 + 1 / 3)
    assert np.allclose(np.asarray(maze.mdp.to_dense().P).sum(axis=2), 1.0)


def test_slip_keeps_the_rows_stochastic_and_lowers_the_optimum():
    slippery = envs.point_maze(slip=0.2)
    assert np.allclose(np.asarray(slippery.mdp.to_dense().P).sum(axis=2), 1.0)
    assert _optimum(slippery) < _optimum(envs.point_maze())


def test_the_data_groups_and_the_need_to_stitch(maze, data):
    returns = data.episode_returns.reshape(4, -1)
    assert data.n_episodes == 400 and all(len(a) == maze.horizon for a in data.actions)
    # groups 1-2 stop at (2, 2) (two cells from the goal): about exp(-2) per step
    assert returns[:2].max() < 0.2 * maze.horizon
    assert returns[2].mean() > returns[3].mean() > returns[0].mean()
    assert data.episode_returns.max() < _optimum(maze) - 2.0


def test_tabular_rcsl_reaches_the_datas_best_and_mbrcsl_the_optimum(maze, data):
    rcsl = rcsl_evaluate(rcsl_fit(data), maze.mdp, horizon=maze.horizon, greedy=True).value
    assert rcsl == pytest.approx(data.episode_returns.max())
    res = mbrcsl(data, seed=0)
    value = rcsl_evaluate(res.policy, maze.mdp, horizon=maze.horizon, greedy=True).value
    assert value > rcsl + 2.0
    assert value == pytest.approx(_optimum(maze), abs=0.1)


def test_the_data_are_seeded():
    maze = envs.point_maze(horizon=10)
    a = envs.point_maze_dataset(maze, n_episodes=3, seed=5)
    b = envs.point_maze_dataset(maze, n_episodes=3, seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(a.actions, b.actions))


@pytest.mark.parametrize(("option", "value"), [("resolution", 0), ("horizon", 0), ("slip", 1.5)])
def test_bad_maze_options_are_named(option, value):
    with pytest.raises(InvalidArgumentError, match=option):
        envs.point_maze(**{option: value})


@pytest.mark.parametrize(("option", "value"), [("n_episodes", 0), ("noise", -0.1)])
def test_bad_data_options_are_named(maze, option, value):
    with pytest.raises(InvalidArgumentError, match=option):
        envs.point_maze_dataset(maze, **{option: value})
