"""dyna_dqn (Young et al. 2023): the perfect-model agent reaches the exact optimum, the curves are
exact policy values, seeds are reproducible and independent, the models do what they say."""

from __future__ import annotations

import numpy as np
import pytest

from theory_rl import approx, envs, tabular
from theory_rl.errors import InvalidArgumentError, InvalidModelError

torch = pytest.importorskip("torch")

FAST = {"hidden": (32,), "lr": 3e-3, "target_update": 10, "updates_per_step": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def maze():
    return envs.proc_maze(3, spontaneous=False, gamma=0.9, seed=0)


def test_the_perfect_model_agent_reaches_the_optimal_return(maze):
    """Dyna with the true kernel on a tiny maze: every seed's greedy policy is optimal, d0.V^pi = d0.V*
    (value iteration), within 300 environment steps."""
    res = approx.dyna_dqn(maze, model="perfect", n_seeds=3, total_steps=300, learning_starts=50,
                          evaluate_every=100, seed=0, **FAST)
    v_star = tabular.value_iteration(maze.mdp, tol=1e-12).v
    assert res.optimal_return == pytest.approx(float(maze.mdp.d0 @ v_star), abs=1e-9)
    assert np.allclose(res.returns[:, -1], res.optimal_return, atol=1e-6)
    assert (res.returns[:, 0] < res.optimal_return - 1e-3).any()  # it was not optimal from the start
    pi = res.q.argmax(axis=2)
    q_star = tabular.value_iteration(maze.mdp, tol=1e-12).q
    open_ = np.flatnonzero(maze.mdp.d0 > 0)
    assert np.allclose(q_star[open_[None, :], pi[:, open_]], q_star[open_].max(axis=1)[None, :], atol=1e-9)


def test_curves_are_exact_values_of_the_greedy_policies(maze):
    res = approx.dyna_dqn(maze, model="replay", n_seeds=2, total_steps=60, learning_starts=20, evaluate_every=60,
                          seed=1, **FAST)
    for k in range(2):
        sol = tabular.policy_evaluation(maze.mdp, res.q[k].argmax(axis=1))
        assert res.returns[k, -1] == pytest.approx(float(maze.mdp.d0 @ sol.v), abs=1e-8)
    assert res.returns.shape == res.online_reward.shape == (2, 1)
    assert np.all(res.online_reward == -1.0)  # every step of the maze pays -1


def test_seeds_are_reproducible_and_independent():
    task = envs.button_grid(3, 1, seed=0)
    kw = dict(model="learned", n_seeds=3, total_steps=60, learning_starts=20, evaluate_every=30, **FAST)
    a, b = approx.dyna_dqn(task, seed=5, **kw), approx.dyna_dqn(task, seed=5, **kw)
    assert np.array_equal(a.returns, b.returns) and np.array_equal(a.q, b.q)
    assert not np.allclose(a.q[0], a.q[1])  # separate networks, not copies
    c = approx.dyna_dqn(task, seed=6, **kw)
    assert not np.array_equal(a.q, c.q)


def test_the_tabular_model_agent_reaches_the_optimum_on_a_deterministic_maze():
    """On a deterministic maze the last-seen model is exact on the visited pairs, so its agent also
    reaches the optimum."""
    maze = envs.proc_maze(3, spontaneous=False, gamma=0.9, seed=2)
    res = approx.dyna_dqn(maze, model="tabular", n_seeds=2, total_steps=400, learning_starts=50,
                          evaluate_every=200, seed=0, **FAST)
    assert np.allclose(res.returns[:, -1], res.optimal_return, atol=1e-6)


def test_continuing_task_online_reward_counts_the_button_rewards():
    task = envs.button_grid(2, 1, seed=0)
    res = approx.dyna_dqn(task, model="perfect", n_seeds=2, total_steps=200, learning_starts=20,
                          evaluate_every=100, seed=0, **FAST)
    assert ((res.online_reward >= 0) & (res.online_reward <= 0.5)).all()  # a reward at most every 2nd step
    assert res.online_reward[:, -1].mean() > 0.1
    assert np.allclose(res.returns[:, -1], res.optimal_return, atol=1e-6)


def test_bad_arguments_are_named(maze):
    with pytest.raises(InvalidModelError, match="FactoredTask"):
        approx.dyna_dqn(maze.mdp)
    for option, value in [("model", "dreamer"), ("n_seeds", 0), ("rollout_length", 0), ("temperature", 0.0),
                          ("model_lr", -1.0), ("evaluate_every", 0), ("updates_per_step", 1.5)]:
        with pytest.raises(InvalidArgumentError, match=option):
            approx.dyna_dqn(maze, **{option: value})
