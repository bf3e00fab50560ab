"""Bad option values raise InvalidArgumentError naming the option, in every family (issue 17 item 8).

Table-driven: each row is a public function, a cheap valid call, and the options to spoil. Each
option gets the bad values of its kind (``None`` where the option is required, ``2.5`` for an
integer, ``"x"`` for a choice or a number, ``-1``, ``0`` for ``max_iter`` and other counts,
``NaN`` for a real). The call must raise :class:`~theory_rl.errors.InvalidArgumentError` whose
message names the option, never a bare ``TypeError``/``ValueError``/``AttributeError``, and never
run on: validation comes before the work.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest

from theory_rl import (
    approx,
    checks,
    combinatorial,
    dual,
    envs,
    families,
    games,
    learning,
    offline,
    pomdp,
    robust,
    submodular,
    theory,
)
from theory_rl.errors import InvalidArgumentError

NAN = float("nan")
COUNT = (None, 2.5, "x", -1, 0)  # an integer >= 1 that has no default of None
OPTIONAL_COUNT = (2.5, "x", -1, 0)  # None is the documented default
COUNT0 = (None, 2.5, "x", -1)  # an integer >= 0
MAX_ITER = (0, -1, 2.5, "x")
TOL = (None, 0.0, -1.0, NAN, "x")
NONNEG = (None, -1.0, NAN, "x")
POSITIVE = (None, 0.0, -1.0, NAN, "x")
PROB = (None, -0.5, 1.5, NAN, "x")
OPEN_PROB = (None, 0.0, 1.0, NAN, "x")
TIME = (0.0, -1.0, NAN, "x")
CHOICE = ("x", None)
BOOL = ("no", None, 2)

DATA = pomdp.PROBLEM_DIR


@cache
def mdp():
    return envs.random_mdp(3, 2, seed=0, gamma=0.9)


@cache
def tiger():
    return pomdp.read_pomdp(DATA / "tiger.95.POMDP")


@cache
def rmdp():
    return envs.windy_walk(n_rows=2, n_cols=3)


@cache
def game():
    rng = np.random.default_rng(0)
    C = rng.dirichlet(np.ones(3), size=(3, 2, 2))
    model = robust.RobustMDP(envs.random_mdp(3, 2, seed=1).replace(P=C[:, :, 0]), robust.SARectFinite(C))
    return robust.markov_game_from_robust(model)


@cache
def offline_data():
    return offline.TrajectoryDataset([[0, 1, 0], [1, 0, 1]], [[0, 1], [1, 0]], [[1.0, 0.0], [0.0, 1.0]],
                                     n_states=2, n_actions=2)


@cache
def dataset():
    return dual.TransitionDataset([0, 1], [0, 0], [0.0, 1.0], [1, 0], [False, False], 2, 1)


@cache
def _offline_data():
    return offline.TrajectoryDataset([[0, 1], [0, 0]], [[1], [0]], [[1.0], [0.0]], n_states=2, n_actions=2)


@cache
def cmdp():
    return envs.recommendation_cmdp(n_engagement_levels=2, n_items=2, seed=0)


@cache
def cormab():
    return combinatorial.make_cormab("budget", 3, 1, seed=0, horizon=2)


def one_variable_mip():
    model = combinatorial.MipModel()
    model.add_vars(1, lb=[0.0], ub=[1.0], integer=True)
    return model


@cache
def batch():
    m = mdp()
    return np.array(m.P)[None], np.array(m.R)[None], np.array([m.gamma])


def _uniform_d():
    return np.full((3, 2), 1 / 6)


@cache
def small_game():
    rng = np.random.default_rng(0)
    return games.MarkovGame(rng.dirichlet(np.ones(2), size=(2, 2, 2)), rng.uniform(-1, 1, (2, 2, 2, 2)), 0.5)


def uniform_policies():
    return [np.full((2, 2), 0.5), np.full((2, 2), 0.5)]


def small_occupancy():
    return np.full((2, 2, 2), 0.125)


class Row(NamedTuple):
    fn: Callable[..., Any]
    call: Callable[[], tuple[tuple, dict]]
    options: dict[str, tuple]


def _m(**kw):
    return lambda: ((mdp(),), kw)


def _walk(**kw):
    return lambda: ((envs.random_walk(3), np.full((5, 2), 0.5)), kw)


ROWS = [
    # learning
    Row(learning.q_learning, _m(max_iter=2, seed=0),
        {"max_iter": COUNT, "step_size": ("x", 0.0, 1.5, NAN), "scale": POSITIVE, "seed": ("x", 2.5)}),
    Row(learning.variance_reduced_q_learning, _m(n_epochs=1, epoch_length=2, recentering_samples=2),
        {"n_epochs": COUNT, "epoch_length": OPTIONAL_COUNT, "recentering_samples": OPTIONAL_COUNT,
         "growth": (None, 0.5, NAN, "x")}),
    Row(learning.plug_in_planning, _m(n_per_pair=2), {"n_per_pair": COUNT, "tol": TOL}),
    Row(learning.sample_transitions, _m(n_per_pair=2), {"n_per_pair": COUNT, "seed": ("x", 2.5)}),
    Row(learning.ucbvi, _m(horizon=2, n_episodes=2),
        {"horizon": COUNT, "n_episodes": COUNT, "delta": OPEN_PROB, "bonus_scale": NONNEG}),
    Row(learning.ucb_q_learning, _m(horizon=2, n_episodes=2),
        {"horizon": COUNT, "n_episodes": COUNT, "delta": OPEN_PROB, "bonus": CHOICE, "c": NONNEG}),
    Row(learning.step_size_schedule, lambda: (("polynomial", 0.9), {}),
        {"exponent": (None, 0.5, 1.5, NAN, "x")}),
    Row(learning.TransitionSampler, _m(), {"allow_masked": BOOL}),
    Row(learning.td_prediction, _walk(n_episodes=1),
        {"n_episodes": COUNT, "step_size": POSITIVE, "updating": CHOICE, "tol": TOL, "max_iter": MAX_ITER,
         "horizon": OPTIONAL_COUNT, "seed": ("x", 2.5)}),
    Row(learning.n_step_td, _walk(n=2, n_episodes=1), {"n": COUNT, "step_size": POSITIVE}),
    Row(learning.td_lambda, _walk(lam=0.5, n_episodes=1),
        {"lam": PROB, "step_size": POSITIVE, "traces": CHOICE, "updating": CHOICE}),
    Row(learning.lambda_return, _walk(lam=0.5, n_episodes=1), {"lam": PROB, "step_size": POSITIVE}),
    Row(learning.mc_prediction, _walk(n_episodes=1),
        {"variant": CHOICE, "step_size": ("x", 0.0, 1.5, NAN), "exponent": (0.5, 1.5, NAN, "x"), "updating": CHOICE}),
    Row(learning.mc_control, _m(n_episodes=1, horizon=2),
        {"n_episodes": COUNT, "variant": CHOICE, "exploration": ("x", -0.5, 1.5, NAN), "horizon": OPTIONAL_COUNT}),
    Row(learning.sarsa, _m(n_episodes=1, horizon=2),
        {"n_episodes": COUNT, "step_size": ("x", 0.0, 1.5, NAN), "exploration": ("x", -0.5, 1.5, NAN),
         "horizon": OPTIONAL_COUNT, "seed": ("x", 2.5)}),
    Row(learning.expected_sarsa, _m(n_episodes=1, horizon=2), {"target_policy": CHOICE}),
    Row(learning.n_step_sarsa, _m(n=2, n_episodes=1, horizon=2), {"n": COUNT}),
    Row(learning.contrastive_ucb, lambda: ((learning.random_low_rank_mdp(3, 2, rank=2, horizon=2, seed=0),), {"n_episodes": 1}),
        {"n_episodes": COUNT, "representation": CHOICE, "negatives": CHOICE, "lam": POSITIVE, "delta": OPEN_PROB,
         "pool_steps": BOOL, "restart": BOOL}),
    Row(learning.contrastive_ucb_game,
        lambda: ((learning.random_low_rank_markov_game(2, 2, rank=2, horizon=1, seed=0),), {"n_episodes": 1}),
        {"n_episodes": COUNT, "representation": CHOICE, "negatives": CHOICE, "beta": NONNEG, "lam": POSITIVE}),
    Row(learning.contrastive_fit_torch, lambda: ((np.ones((2, 1, 2)), np.ones((2, 1, 2)), np.full(2, 0.5)),
                                                 {"rank": 1, "max_iter": 2, "device": "cpu"}),
        {"rank": COUNT, "hidden": OPTIONAL_COUNT, "max_iter": MAX_ITER, "device": ("tpu",)}),
    # dual
    Row(dual.dual_v, lambda: ((mdp(), _uniform_d(), "kl", 0.1), {}),
        {"tol": TOL, "max_iter": MAX_ITER}),
    Row(dual.dual_q, lambda: ((mdp(), _uniform_d(), "kl", 0.1), {}),
        {"tol": TOL, "max_iter": MAX_ITER}),
    Row(dual.recoil_dual_q, lambda: ((mdp(), np.zeros(3, int), _uniform_d(), _uniform_d(), "kl", 0.5), {}),
        {"tol": TOL, "max_iter": MAX_ITER}),
    Row(dual.fdvl, lambda: ((dataset(),), {"gamma": 0.9}),
        {"gamma": (None, 1.0, -0.1, NAN, "x"), "f": CHOICE, "lam": (None, 0.0, 1.5, NAN, "x"), "beta": NONNEG,
         "tol": TOL, "max_iter": MAX_ITER}),
    Row(dual.recoil, lambda: ((dataset(), dataset()), {"gamma": 0.9}),
        {"beta": OPEN_PROB, "tol": TOL, "max_iter": MAX_ITER}),
    Row(dual.lagrangian_primal_dual, lambda: ((cmdp(),), {"max_iter": 2}),
        {"max_iter": COUNT, "step": (0.0, -1.0, NAN, "x"), "average_from": (None, 1.0, -0.1, NAN, "x")}),
    Row(dual.tscac, lambda: ((cmdp(), np.ones(cmdp().n_constraints)), {"max_iter": 1}), {"max_iter": COUNT}),
    Row(dual.collect_dataset,
        lambda: ((mdp(),), {"expert_policy": np.zeros(3, int), "n_episodes": 1, "episode_length": 2,
                            "expert_fraction": 0.5}),
        {"n_episodes": COUNT, "episode_length": COUNT, "expert_fraction": PROB, "exploration": PROB}),
    Row(dual.f_divergence, lambda: ((), {"f": "kl"}), {"f": ("x", None), "strictly_convex": BOOL}),
    Row(dual.occupancy, lambda: ((mdp(), np.zeros(3, int)), {}), {"normalized": BOOL}),
    Row(dual.primal_lp, _m(), {"normalized": BOOL, "highs_method": CHOICE}),
    Row(dual.dual_lp, _m(), {"normalized": BOOL, "highs_method": CHOICE}),
    Row(dual.solve_cmdp_lp, lambda: ((cmdp(),), {}), {"highs_method": CHOICE}),
    Row(dual.tscac_stage_one, lambda: ((cmdp(),), {}), {"temperature": POSITIVE}),
    Row(envs.near_deterministic_mdp, lambda: ((), {}),
        {"n_states": COUNT, "n_actions": COUNT, "slip": PROB}),
    Row(envs.random_shortest_path, lambda: ((), {"n_states": 3, "n_actions": 2}),
        {"n_states": (None, 2.5, "x", -1, 0, 1), "n_actions": COUNT, "all_proper": BOOL, "sparse": BOOL,
         "masked": BOOL}),
    Row(envs.button_grid, lambda: ((), {"grid_size": 2, "n_buttons": 1}),
        {"grid_size": COUNT, "n_buttons": COUNT, "spontaneous": BOOL, "gamma": (None, 1.0, NAN, "x"),
         "sparse": ("no", 2)}),
    Row(envs.proc_maze, lambda: ((), {"grid_size": 3}),
        {"grid_size": COUNT, "spontaneous": BOOL, "gamma": (None, 1.0, NAN, "x"), "sparse": ("no", 2)}),
    Row(envs.recommendation_cmdp, lambda: ((), {}),
        {"n_engagement_levels": COUNT, "n_items": COUNT, "n_responses": COUNT, "gamma": (None, 1.0, NAN, "x"),
         "tightness": PROB}),
    Row(dual.implicit_value, lambda: ((np.zeros((1, 2)), np.ones((1, 2)), "chi2", 0.5), {}), {"n_bisect": COUNT}),
    Row(dual.awr_policy, lambda: ((np.zeros((3, 2)), np.zeros(3), np.full((3, 2), 0.5), 1.0), {}),
        {"clip": POSITIVE}),
    Row(dual.fdvl_torch, lambda: ((np.eye(2), np.zeros(2, int), np.zeros(2), np.eye(2), np.zeros(2)),
                                  {"n_actions": 1, "gamma": 0.9, "n_steps": 1, "device": "cpu"}),
        {"n_steps": COUNT0, "batch_size": OPTIONAL_COUNT, "lr": POSITIVE, "n_actions": COUNT, "device": ("x",)}),
    Row(dual.recoil_torch, lambda: (((np.eye(2), np.zeros(2, int), np.zeros(2), np.eye(2), np.zeros(2)),) * 2,
                                    {"n_actions": 1, "gamma": 0.9, "n_steps": 1, "device": "cpu"}),
        {"n_steps": COUNT0, "lr": POSITIVE, "beta": OPEN_PROB, "device": ("x",)}),
    # offline (torch RCSL and MBRCSL) and the Point Maze
    Row(offline.rcsl_torch, lambda: ((_offline_data(),), {"n_steps": 1, "device": "cpu"}),
        {"context": CHOICE, "context_len": COUNT, "n_steps": COUNT0, "lr": POSITIVE, "batch_size": COUNT,
         "weight_decay": (-1.0, NAN, "x"), "device": ("x",), "seed": ("x", 2.5)}),
    Row(offline.mbrcsl_torch, lambda: ((_offline_data(),), {"n_models": 2, "n_elites": 1, "hidden": (4,),
                                                            "n_steps": 1, "max_rollouts": 1, "device": "cpu"}),
        {"n_models": COUNT, "n_elites": COUNT, "n_steps": COUNT0, "lr": POSITIVE, "batch_size": COUNT,
         "horizon": (0, 2.5, "x"), "n_keep": COUNT, "max_rollouts": COUNT, "rcsl_steps": (-1, 2.5, "x"),
         "device": ("x",)}),
    Row(envs.point_maze, lambda: ((), {}), {"resolution": COUNT, "horizon": COUNT, "slip": PROB}),
    Row(envs.point_maze_dataset, lambda: ((envs.point_maze(horizon=2),), {"n_episodes": 1}),
        {"n_episodes": COUNT, "noise": PROB, "seed": ("x", 2.5)}),
    # pomdp
    Row(pomdp.hsvi2, lambda: ((tiger(),), {"tol": 1e-1, "time_limit": 2.0}),
        {"tol": TOL, "time_limit": TIME, "max_iter": MAX_ITER, "max_depth": OPTIONAL_COUNT,
         "sampling": CHOICE, "clock": CHOICE, "zeta": (None, 1.0, -0.1, NAN), "delta": NONNEG,
         "sweep_fraction": (None, 1.0, -0.1, NAN), "prune_growth": (None, 1.0, NAN, "x")}),
    Row(pomdp.fib_upper_bound, lambda: ((tiger(),), {}),
        {"tol": TOL, "max_iter": MAX_ITER, "time_limit": (-1.0, NAN, "x"), "clock": CHOICE}),
    Row(pomdp.qmdp_upper_bound, lambda: ((tiger(),), {}), {"tol": TOL}),
    Row(pomdp.exact_value_iteration, lambda: ((tiger(),), {"max_iter": 1}),
        {"tol": TOL, "max_iter": MAX_ITER, "lp_tol": NONNEG, "time_limit": TIME, "evaluate_every": OPTIONAL_COUNT,
         "strict": BOOL, "horizon": (2.5, "x", -1)}),
    Row(pomdp.pbvi, lambda: ((tiger(),), {"n_expansions": 1, "max_iter": 2}),
        {"n_expansions": COUNT0, "max_iter": COUNT, "tol": NONNEG, "max_beliefs": COUNT, "time_limit": TIME}),
    Row(pomdp.perseus, lambda: ((tiger(),), {"n_beliefs": 5, "max_iter": 2}),
        {"n_beliefs": COUNT, "walk_length": COUNT, "max_iter": COUNT, "tol": NONNEG, "time_limit": TIME}),
    Row(pomdp.sample_beliefs, lambda: ((tiger(),), {"n_beliefs": 3}), {"n_beliefs": COUNT, "walk_length": COUNT}),
    Row(pomdp.pomcp_plan, lambda: ((tiger(),), {"n_simulations": 5, "n_particles": 5}),
        {"n_simulations": COUNT, "n_particles": COUNT, "c": (-1.0, NAN, "x"), "max_depth": OPTIONAL_COUNT,
         "discount_threshold": (None, 0.0, 1.0, NAN, "x")}),
    Row(pomdp.simulate, lambda: ((tiger(), lambda b: 0), {"horizon": 2, "n_episodes": 2}),
        {"horizon": COUNT, "n_episodes": COUNT, "confidence": OPEN_PROB}),
    Row(pomdp.sample_trajectories, lambda: ((tiger(),), {"n_episodes": 2, "horizon": 2}),
        {"n_episodes": COUNT0, "horizon": COUNT0}),
    Row(pomdp.pomcp_episode, lambda: ((tiger(),), {"n_steps": 1, "n_simulations": 5, "n_particles": 5}),
        {"n_steps": COUNT0, "n_simulations": COUNT, "discount_threshold": (None, 0.0, 1.0, NAN, "x")}),
    Row(pomdp.spectral_psr, lambda: ((np.ones(16) / 4,), {"n_actions": 2, "n_observations": 2, "rank": 1}),
        {"rank": COUNT, "rcond": NONNEG}),
    Row(pomdp.revealing_constant, lambda: ((tiger(),), {}), {"previous_action": (2.5, "x", -1, 9)}),
    Row(pomdp.independent_columns, lambda: ((np.eye(3),), {}), {"rank_tol": NONNEG, "keep_first": BOOL}),
    # robust
    Row(robust.iwocs, lambda: ((rmdp(),), {"max_iter": 1}),
        {"tol": TOL, "max_iter": COUNT, "inner": CHOICE, "score": CHOICE, "oracle": CHOICE, "n_grid": COUNT,
         "budget": COUNT, "s0": (2.5, "x", -1, 999)}),
    Row(robust.score_weights, lambda: ((rmdp(),), {}), {"score": CHOICE, "s0": (2.5, "x", -1, 999)}),
    Row(robust.robust_value_iteration, lambda: ((rmdp(),), {}),
        {"tol": TOL, "max_iter": MAX_ITER, "strict": BOOL, "progress": BOOL}),
    Row(robust.robust_policy_iteration, lambda: ((rmdp(),), {}), {"tol": TOL, "max_iter": COUNT}),
    Row(robust.robust_policy_evaluation, lambda: ((rmdp(), np.zeros(rmdp().n_states, int)), {}),
        {"tol": TOL, "max_iter": COUNT}),
    Row(robust.nash_value_iteration, lambda: ((game(),), {}), {"tol": TOL, "max_iter": MAX_ITER, "strict": BOOL}),
    Row(robust.soft_minimax_value_iteration, lambda: ((game(),), {"alpha": 0.1, "beta": 0.1}),
        {"alpha": POSITIVE, "beta": POSITIVE, "tol": TOL, "max_iter": MAX_ITER}),
    Row(robust.qarl_curriculum, lambda: ((game(),), {"alpha": 0.1, "n_stages": 2}),
        {"alpha": POSITIVE, "beta_end": POSITIVE, "n_stages": COUNT, "tol": TOL}),
    Row(games.qre_stage, lambda: ((np.zeros((2, 2)),), {"alpha": 0.1, "beta": 0.1}),
        {"alpha": POSITIVE, "beta": POSITIVE, "tol": TOL, "max_iter": COUNT}),
    # games: SPO and the reward-model baseline on the 4-leaf decision tree
    Row(games.spo, lambda: ((games.decision_tree_mdp(2, 2),), {"oracle": games.CoverageOracle(), "max_iter": 1,
                                                                "batch_size": 2}),
        {"oracle": (None, "x"), "horizon": OPTIONAL_COUNT, "batch_size": (None, 2.5, "x", 1, 0), "max_iter": COUNT,
         "step_size": POSITIVE, "exact": BOOL, "evaluate": BOOL, "max_trajectories": COUNT, "progress": BOOL,
         "seed": ("x", 2.5)}),
    Row(games.spo_torch, lambda: ((games.decision_tree_mdp(2, 2),), {"oracle": games.CoverageOracle(), "max_iter": 1,
                                                                      "batch_size": 2, "device": "cpu"}),
        {"oracle": (None, "x"), "batch_size": COUNT, "max_iter": COUNT, "hidden": ((0,), (2.5,), "x"), "lr": POSITIVE,
         "n_epochs": COUNT, "clip": POSITIVE, "entropy": NONNEG, "optimizer": CHOICE, "exact": BOOL, "device": ("x", 3)}),
    Row(games.reward_model_rlhf, lambda: ((games.decision_tree_mdp(2, 2),), {"oracle": games.CoverageOracle(),
                                                                              "n_samples": 4}),
        {"oracle": (None, "x"), "n_samples": COUNT, "ridge": NONNEG, "evaluate": BOOL, "behaviour": ("x", np.ones(3))}),
    Row(games.trajectory_game, lambda: ((games.decision_tree_mdp(2, 2),), {"oracle": games.CoverageOracle()}),
        {"oracle": (None, "x"), "horizon": OPTIONAL_COUNT, "max_trajectories": COUNT}),
    Row(games.sample_episodes, lambda: ((games.decision_tree_mdp(2, 2), np.full((7, 2), 0.5)), {"n_episodes": 2}),
        {"n_episodes": COUNT, "horizon": OPTIONAL_COUNT, "seed": ("x", 2.5)}),
    Row(games.batch_win_rates, lambda: ((np.zeros((2, 2), int), np.zeros((2, 1), int)),
                                        {"oracle": games.CoverageOracle()}),
        {"oracle": (None, "x"), "exact": BOOL, "seed": ("x", 2.5)}),
    Row(games.decision_tree_mdp, lambda: ((), {"n_actions": 2, "horizon": 2}),
        {"n_actions": COUNT, "horizon": COUNT}),
    Row(robust.best_response_value, lambda: ((game(), np.full((3, 2), 0.5)), {}), {"tol": TOL}),
    Row(robust.worst_case_theta, lambda: ((robust.ParametricSet([[0.0, 1.0]], lambda t: t), lambda t: float(t[0])),
                                          {}),
        {"method": CHOICE, "n_grid": COUNT, "budget": COUNT}),
    Row(robust.soft_best_response, lambda: ((game(), np.full((3, 2), 0.5)), {"alpha": 0.1, "betas": [0.1]}),
        {"alpha": NONNEG, "betas": (None, [0.0], [NAN], "x", []), "tol": TOL, "max_iter": COUNT}),
    Row(robust.qarl_train, lambda: ((game(), robust.LinearTemperatureSchedule()), {"alpha": 0.1, "max_iter": 1}),
        {"alpha": POSITIVE, "max_iter": COUNT, "protagonist_steps": COUNT, "step_size": (None, 0.0, 1.5, NAN, "x"),
         "n_grid": (None, 2.5, "x", 1), "tol": TOL, "progress": BOOL}),
    # approx
    Row(approx.batched_value_iteration, lambda: (batch(), {}),
        {"tol": TOL, "max_iter": MAX_ITER, "stopping": CHOICE, "strict": BOOL, "device": ("x", 3)}),
    Row(approx.batched_policy_evaluation, lambda: ((*batch(), np.zeros((1, 3), int)), {}),
        {"tol": TOL, "max_iter": MAX_ITER, "method": CHOICE, "strict": BOOL}),
    Row(approx.sample_next_states, _m(n_samples=2, n_models=2), {"n_samples": COUNT, "n_models": COUNT}),
    Row(approx.batched_empirical_planning, _m(n_samples=2, n_models=2),
        {"n_samples": COUNT, "n_models": COUNT, "layout": CHOICE, "tol": TOL}),
    Row(approx.stack_mdps, lambda: (([mdp(), mdp()],), {}), {"layout": CHOICE, "device": ("x", 3)}),
    Row(approx.mdpo_exact_critic, _m(max_iter=1, sgd_steps=1),
        {"max_iter": COUNT, "step_size": POSITIVE, "sgd_steps": COUNT, "device": ("x",)}),
    Row(approx.fitted_q_iteration, lambda: ((np.ones((2, 1)), np.ones(2), np.ones((2, 1, 1))), {"gamma": 0.5}),
        {"tol": TOL, "max_iter": COUNT, "ridge": NONNEG, "strict": BOOL}),
    Row(approx.lspi, lambda: ((np.ones((2, 1)), np.ones(2), np.ones((2, 1, 1))), {"gamma": 0.5}),
        {"max_iter": COUNT, "ridge": NONNEG, "strict": BOOL}),
    Row(approx.lstd, lambda: ((np.eye(2), np.ones(2), np.eye(2)), {"gamma": 0.5}), {"lam": PROB, "ridge": NONNEG}),
    Row(approx.semi_gradient_td, lambda: ((np.eye(2), np.ones(2), np.eye(2)), {"gamma": 0.5, "step_size": 0.1,
                                                                               "n_steps": 1}),
        {"step_size": POSITIVE, "n_steps": COUNT, "mode": CHOICE}),
    Row(approx.TabularEnv, _m(), {"horizon": COUNT, "start": CHOICE}),
    Row(approx.dqn, lambda: ((approx.TabularEnv(mdp()),), {"total_steps": 2, "learning_starts": 1}),
        {"total_steps": COUNT, "batch_size": COUNT, "lr": POSITIVE, "max_grad_norm": POSITIVE,
         "exploration": ("x", (1.0, 0.1), (2.0, 0.1, 0.5), None), "device": ("x",)}),
    Row(approx.dyna_dqn, lambda: ((envs.proc_maze(3, seed=0),), {"n_seeds": 1, "total_steps": 2, "learning_starts": 1,
                                                                  "evaluate_every": 1, "hidden": (4,), "device": "cpu"}),
        {"model": CHOICE, "n_seeds": COUNT, "total_steps": COUNT, "updates_per_step": COUNT, "rollout_length": COUNT,
         "target_update": COUNT, "temperature": POSITIVE, "lr": POSITIVE, "model_lr": POSITIVE, "batch_size": COUNT,
         "buffer_size": COUNT, "learning_starts": COUNT0, "evaluate_every": COUNT, "progress": BOOL,
         "n_latents": COUNT, "latent_classes": (*COUNT, 1), "device": ("x",)}),
    Row(approx.mdpo_on_policy, lambda: ((approx.TabularEnv(mdp()),), {"max_iter": 1, "steps_per_batch": 4,
                                                                      "minibatch_size": 2, "sgd_steps": 1}),
        {"max_iter": COUNT, "steps_per_batch": COUNT, "minibatch_size": COUNT, "sgd_steps": COUNT,
         "schedule": CHOICE, "lr": POSITIVE, "device": ("x",)}),
    Row(approx.mdpo_off_policy, lambda: ((approx.TabularEnv(mdp()),), {"total_steps": 2, "learning_starts": 1}),
        {"total_steps": COUNT, "batch_size": COUNT, "lr": POSITIVE, "tau": PROB, "device": ("x",)}),
    # combinatorial
    Row(combinatorial.evaluate, lambda: ((cormab(), combinatorial.baseline_policies(cormab())["null"]),
                                         {"n_episodes": 1}),
        {"n_episodes": COUNT, "horizon": (2.5, "x", -1, 0), "p_one": PROB}),
    Row(combinatorial.sequoia_train, lambda: ((cormab(),), {"n_episodes": 0, "pretrain_epochs": 0}),
        {"n_episodes": COUNT0, "train_constraint": CHOICE, "n_jobs": COUNT, "torch_threads": (2.5, "x", 0),
         "batch_size": COUNT, "lr": POSITIVE, "progress": BOOL, "published": BOOL, "mip_gap": NONNEG}),
    Row(combinatorial.solve_mip, lambda: ((one_variable_mip(),), {}),
        {"mip_gap": (None, -0.1, 1.0, NAN, "x"), "time_limit": TIME, "relax": BOOL, "threads": (2.5, "x", 0)}),
    # theory
    Row(theory.model_based_generative, lambda: ((4, 2, 0.9, 0.1, 0.1), {}), {}),
    Row(theory.ucbvi_regret, lambda: ((4, 2, 3, 100.0), {}), {"bonus": CHOICE, "delta": OPEN_PROB}),
    Row(theory.episodic_regret_lower_bound, lambda: ((4, 2, 3, 100.0), {}), {"setting": CHOICE}),
    Row(theory.revealing_pac_lower_bound, lambda: ((), {"S": 4, "A": 2, "alpha": 0.5, "epsilon": 0.1}),
        {"S": POSITIVE, "alpha": POSITIVE, "epsilon": POSITIVE, "m": (None, 2.5, "x", 1)}),
    # checks
    Row(checks.assert_bellman_optimal, lambda: ((mdp(), np.zeros(3)), {"tol": 1e9}), {"tol": NONNEG}),
    Row(checks.finite_mdps, lambda: ((), {}),
        {"min_states": (None, 2.5, "x", 0), "max_states": (None, 2.5, "x", 0), "sparse": ("no", 2),
         "masked": BOOL}),
    # submodular
    Row(submodular.subpo, lambda: ((mdp(), submodular.Modular(np.ones(3))), {"horizon": 2, "epochs": 1, "batch_size": 2}),
        {"horizon": COUNT, "policy": CHOICE, "estimator": CHOICE, "variant": CHOICE, "lr": POSITIVE,
         "epochs": COUNT, "batch_size": COUNT, "damping": POSITIVE, "n_samples": COUNT, "progress": BOOL}),
    Row(submodular.subpo_gradient, lambda: ((mdp(), submodular.Modular(np.ones(3)), np.zeros((2, 3, 2))),
                                            {"horizon": 2, "n_samples": 2}),
        {"horizon": COUNT, "policy": CHOICE, "estimator": CHOICE, "n_samples": COUNT, "seed": ("x", 2.5)}),
    Row(submodular.subpo_torch, lambda: ((mdp(), submodular.Modular(np.ones(3))),
                                         {"horizon": 2, "epochs": 1, "batch_size": 2, "device": "cpu"}),
        {"horizon": COUNT, "policy": CHOICE, "estimator": CHOICE, "optimizer": CHOICE, "lr": POSITIVE,
         "epochs": COUNT, "batch_size": COUNT, "n_samples": COUNT, "device": ("x",), "progress": BOOL,
         "hidden": (2.5, "x", (0,), (2.5,))}),
    Row(submodular.subrl_dp, lambda: ((mdp(), submodular.Modular(np.ones(3))), {"horizon": 2}), {"horizon": COUNT}),
    Row(submodular.subrl_history, lambda: ((mdp(), submodular.Modular(np.ones(3))), {"horizon": 2}),
        {"horizon": COUNT}),
    Row(submodular.history_index, lambda: (([0, 1],), {"n_states": 3}), {"n_states": COUNT}),
    Row(submodular.subrl_markov, lambda: ((mdp(), submodular.Modular(np.ones(3))), {"horizon": 2}),
        {"horizon": COUNT, "max_policies": COUNT}),
    # families
    Row(families.evaluate_family, lambda: (({"zero": lambda m, s: np.zeros(m.n_states, dtype=int)},
                                            families.river_swim_family()), {"n_instances": 1, "seeds": 1,
                                                                            "backend": "serial"}),
        {"n_instances": COUNT, "seeds": COUNT, "backend": CHOICE}),
    Row(families.family_statistics, lambda: ((pd.DataFrame(
        {"method": ["a", "a"], "instance": [0, 1], "replicate": [0, 0], "normalized": [0.5, 1.0]}),), {"n_boot": 5}),
        {"score": CHOICE, "n_boot": COUNT, "level": OPEN_PROB, "seed": ("x", 2.5)}),
    Row(families.rank_agreement, lambda: ((pd.Series({"a": 1.0, "b": 2.0}),
                                           pd.Series({"a": 1.0, "b": 3.0})), {}),
        {"atol": NONNEG}),
    Row(families.kmeans_representatives, lambda: ((np.arange(4.0),), {"k": 2}), {"k": COUNT}),
    Row(submodular.greedy_maximize, lambda: ((submodular.Modular(np.ones(3)),), {"k": 2}),
        {"k": COUNT, "lazy": BOOL}),
    # offline (CQL, bisimulation loss, width separation)
    Row(offline.cql, lambda: ((offline_data(),), {"gamma": 0.9}),
        {"gamma": PROB, "alpha": NONNEG, "tol": TOL, "max_iter": MAX_ITER}),
    Row(offline.cql_torch, lambda: ((offline_data(),), {"gamma": 0.9, "n_steps": 2, "device": "cpu"}),
        {"gamma": PROB, "alpha": NONNEG, "encoder": CHOICE, "n_steps": COUNT, "batch_size": COUNT, "lr": POSITIVE,
         "target_update": COUNT, "bisimulation_weight": NONNEG, "bisimulation_target": CHOICE, "norm": CHOICE,
         "device": ("x",)}),
    Row(offline.width_separation, lambda: ((4,), {"widths": (1,), "n_steps": 2, "n_seeds": 1, "device": "cpu"}),
        {"tol": (0.0, -1.0, NAN, "x"), "n_steps": COUNT, "lr": POSITIVE, "n_seeds": COUNT}),
    Row(offline.history_bisimulation_loss,
        lambda: ((offline.enumerate_histories(tiger(), horizon=2), np.zeros((7, 1))), {}), {"norm": CHOICE}),
    Row(offline.sampled_bisimulation_loss, lambda: (tuple(np.zeros((2, 1)) for _ in range(2)) + (np.zeros(2),) * 2
                                                    + tuple(np.zeros((2, 1)) for _ in range(2)), {"gamma": 0.9}),
        {"gamma": PROB, "norm": CHOICE}),
    # games: MAMQL and its baselines (issue 22, part 3)
    Row(games.soft_equilibrium, lambda: ((small_game(),), {"temperature": 1.0}),
        {"temperature": POSITIVE, "damping": (None, 0.0, 1.5, NAN, "x"), "tol": TOL, "max_iter": MAX_ITER,
         "strict": BOOL, "progress": BOOL}),
    Row(games.soft_marginal_critics, lambda: ((small_game(), uniform_policies()), {"temperature": 1.0}),
        {"temperature": POSITIVE, "tol": TOL}),
    Row(games.iq_learn, lambda: ((mdp(), _uniform_d()), {"temperature": 1.0}),
        {"temperature": POSITIVE, "f": CHOICE, "alpha": POSITIVE, "tol": TOL, "max_iter": MAX_ITER}),
    Row(games.mamql, lambda: ((small_game(), small_occupancy()), {"temperature": 1.0, "max_iter": 1}),
        {"temperature": POSITIVE, "f": CHOICE, "alpha": POSITIVE, "tol": TOL, "max_iter": OPTIONAL_COUNT,
         "n_steps": COUNT}),
    Row(games.mamql_torch, lambda: ((small_game(), small_occupancy()), {"temperature": 1.0, "max_iter": 1}),
        {"temperature": POSITIVE, "f": CHOICE, "hidden": COUNT, "lr": POSITIVE, "max_iter": COUNT,
         "device": ("x",)}),
    Row(games.ma_airl, lambda: ((small_game(), small_occupancy()), {"temperature": 1.0, "max_iter": 1}),
        {"temperature": POSITIVE, "step_size": POSITIVE, "n_steps": COUNT, "max_iter": COUNT}),
    Row(games.empirical_occupancy, lambda: ((small_game(), uniform_policies()), {"n_episodes": 2, "horizon": 2}),
        {"n_episodes": COUNT, "horizon": COUNT, "seed": ("x", 2.5)}),
    Row(envs.gems, lambda: ((), {}), {"n_rows": COUNT, "n_cols": COUNT, "slip": PROB}),
]

# Positional formula variables of the theory functions, spoiled by name through the keyword.
THEORY_POSITIONAL = {
    "model_based_generative": ("S", "A", "gamma", "epsilon", "delta"),
}


TORCH_ROWS = (combinatorial.sequoia_train, submodular.subpo_torch, offline.rcsl_torch, offline.mbrcsl_torch,
              offline.cql_torch, offline.width_separation, games.mamql_torch)


def _cases():
    for row in ROWS:
        name = f"{row.fn.__module__.split('.')[1]}.{row.fn.__name__}"
        for option, values in row.options.items():
            for value in values:
                yield pytest.param(row, option, value, id=f"{name}-{option}={value!r}")
        for option in THEORY_POSITIONAL.get(row.fn.__name__, ()):
            for value in (None, 0.0, NAN, "x"):
                yield pytest.param(row, option, value, id=f"{name}-{option}={value!r}")


def test_the_table_reads_every_family():
    families = {row.fn.__module__.split(".")[1] for row in ROWS}
    assert families >= {"learning", "dual", "pomdp", "robust", "approx", "combinatorial", "theory", "checks",
                        "submodular", "families"}


@pytest.mark.parametrize(("row", "option", "value"), list(_cases()))
def test_a_bad_option_raises_invalid_argument_error_naming_it(row, option, value):
    if row.fn.__module__.startswith("theory_rl.approx") or row.fn in TORCH_ROWS:
        pytest.importorskip("torch")
    args, kwargs = row.call()
    positional = THEORY_POSITIONAL.get(row.fn.__name__, ())
    if option in positional:
        args = list(args)
        args[positional.index(option)] = value
    else:
        kwargs = {**kwargs, option: value}
    with pytest.raises(InvalidArgumentError) as err:
        row.fn(*args, **kwargs)
    assert option in str(err.value), f"the message does not name {option!r}: {err.value}"


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.fn.__module__.split('.')[1]}.{r.fn.__name__}" for r in ROWS])
def test_the_valid_call_of_each_row_runs(row):
    # so that every bad-value case above differs from a working call in one option only
    if row.fn.__module__.startswith("theory_rl.approx") or row.fn in TORCH_ROWS:
        pytest.importorskip("torch")
    args, kwargs = row.call()
    import warnings

    from theory_rl.errors import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        row.fn(*args, **kwargs)
