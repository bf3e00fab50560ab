"""Example environments: validated :class:`~theory_rl.models.FiniteMDP` instances and the other
families' benchmarks.

Random models (:func:`random_mdp`, :func:`garnet`), the textbook and benchmark instances
(:func:`forest`, :func:`gridworld`, :func:`sutton_barto_gridworld`, :func:`cliff_walking`,
:func:`river_swim`, :func:`chain`, Sutton & Barto's :func:`random_walk`), the lower-bound instance :func:`hard_instance`, Baird's
counterexample :func:`baird_counterexample`, Young et al.'s factored tasks :func:`pan_flute`, :func:`button_grid` and :func:`proc_maze` (the latter two as :class:`FactoredTask`), the Point Maze stitching task of Zhou et al. (2024) re-created on a lattice (:func:`point_maze`, :func:`point_maze_dataset`), the robust benchmark :func:`windy_walk` (a
:class:`~theory_rl.robust.RobustMDP`), TSCAC's recommendation CMDP :func:`recommendation_cmdp` (a
:class:`~theory_rl.dual.CMDP`), the coupled restless bandits' feasible-set instances
(:func:`metro_graph`, :func:`matching_instance`, :func:`capacity_instance`), :func:`from_gymnasium` for gymnasium's toy-text environments,
the classic POMDP benchmarks (:func:`tiger`, :func:`shuttle`, :func:`hallway`,
:func:`rock_sample_4_4`, :func:`tag_avoid`, ... read from the files shipped with
:mod:`theory_rl.pomdp`), the neural methods' gymnasium environments
(:func:`TabularEnv`, :func:`make_parametric_env`, :func:`rollout_returns`), and the small models that
stress certificates (:func:`near_deterministic_mdp`, :func:`random_shortest_path`). :func:`make` builds any of them
from a string such as ``"gridworld:n_rows=10,n_cols=10"`` (the command line and the sweep tasks
use it). Every generator is vectorised (no Python loop over states), every random one
takes ``seed`` (an int or a ``numpy.random.Generator``), and bad arguments raise
:class:`~theory_rl.errors.InvalidArgumentError` (or :class:`~theory_rl.errors.InvalidModelError`
for model data) naming the argument. A model whose construction is estimated above
:func:`theory_rl.max_bytes` is refused with :class:`~theory_rl.errors.SizeLimitError` before
anything is drawn (``docs/limits.md``).
"""

from ._baird import BairdCounterexample, baird_counterexample
from ._button_grid import button_grid
from ._classic import chain, forest, river_swim
from ._cormab_instances import capacity_instance, matching_instance, metro_graph
from ._factored_task import FactoredTask
from ._gems import gems
from ._gridworld import cliff_walking, gridworld, sutton_barto_gridworld
from ._gym_envs import PARAMETER_BOXES, TabularEnv, discretize_actions, make_parametric_env, rollout_returns
from ._gymnasium import from_gymnasium
from ._lower_bound import hard_instance
from ._pan_flute import pan_flute
from ._pettingzoo import from_pettingzoo
from ._point_maze import PointMaze, point_maze, point_maze_dataset
from ._pomdp_classics import (
    cheese,
    hallway,
    hallway2,
    maze_4x3,
    maze_4x4,
    milos_aaai97,
    mit,
    network,
    rock_sample_4_4,
    rock_sample_7_8,
    shuttle,
    tag_avoid,
    tiger,
    tiger_grid,
)
from ._proc_maze import proc_maze
from ._random import garnet, random_mdp
from ._random_walk import random_walk
from ._recommendation import recommendation_cmdp
from ._registry import make, registered
from ._stress import near_deterministic_mdp, random_shortest_path
from ._windy_walk import windy_walk, windy_walk_kernel

__all__ = [
    "BairdCounterexample",
    "baird_counterexample",
    "button_grid",
    "FactoredTask",
    "PARAMETER_BOXES",
    "TabularEnv",
    "capacity_instance",
    "chain",
    "cliff_walking",
    "discretize_actions",
    "forest",
    "from_gymnasium",
    "from_pettingzoo",
    "gems",
    "garnet",
    "gridworld",
    "hard_instance",
    "make",
    "make_parametric_env",
    "matching_instance",
    "metro_graph",
    "near_deterministic_mdp",
    "pan_flute",
    "PointMaze",
    "point_maze",
    "point_maze_dataset",
    "proc_maze",
    "random_mdp",
    "random_shortest_path",
    "random_walk",
    "recommendation_cmdp",
    "registered",
    "river_swim",
    "rollout_returns",
    "sutton_barto_gridworld",
    "windy_walk",
    "windy_walk_kernel",
    # the classic POMDP benchmarks (files shipped with theory_rl.pomdp)
    "cheese",
    "hallway",
    "hallway2",
    "maze_4x3",
    "maze_4x4",
    "milos_aaai97",
    "mit",
    "network",
    "rock_sample_4_4",
    "rock_sample_7_8",
    "shuttle",
    "tag_avoid",
    "tiger",
    "tiger_grid",
]
