"""Example environments: validated :class:`~theory_rl.models.FiniteMDP` instances and the other
families' benchmarks.

Random models (:func:`random_mdp`, :func:`garnet`), the textbook and benchmark instances
(:func:`forest`, :func:`gridworld`, :func:`sutton_barto_gridworld`, :func:`cliff_walking`,
:func:`river_swim`, :func:`chain`), the lower-bound instance :func:`hard_instance`, Baird's
counterexample :func:`baird_counterexample`, Young et al.'s factored timing task :func:`pan_flute`, the robust benchmark :func:`windy_walk` (a
:class:`~theory_rl.robust.RobustMDP`), TSCAC's recommendation CMDP :func:`recommendation_cmdp` (a
:class:`~theory_rl.dual.CMDP`), :func:`from_gymnasium` for gymnasium's toy-text environments, and
the neural methods' gymnasium environments
(:func:`TabularEnv`, :func:`make_parametric_env`, :func:`rollout_returns`). :func:`make` builds any of them
from a string such as ``"gridworld:n_rows=10,n_cols=10"`` (the command line and the sweep tasks
use it). Every generator is vectorised (no Python loop over states), every random one
takes ``seed`` (an int or a ``numpy.random.Generator``), and bad arguments raise
:class:`~theory_rl.errors.InvalidArgumentError` (or :class:`~theory_rl.errors.InvalidModelError`
for model data) naming the argument. A model whose construction is estimated above
:func:`theory_rl.max_bytes` is refused with :class:`~theory_rl.errors.SizeLimitError` before
anything is drawn (``docs/limits.md``).
"""

from ._baird import BairdCounterexample, baird_counterexample
from ._classic import chain, forest, river_swim
from ._gridworld import cliff_walking, gridworld, sutton_barto_gridworld
from ._gym_envs import PARAMETER_BOXES, TabularEnv, discretize_actions, make_parametric_env, rollout_returns
from ._gymnasium import from_gymnasium
from ._lower_bound import hard_instance
from ._pan_flute import pan_flute
from ._random import garnet, random_mdp
from ._recommendation import recommendation_cmdp
from ._registry import make, registered
from ._windy_walk import windy_walk, windy_walk_kernel

__all__ = [
    "BairdCounterexample",
    "baird_counterexample",
    "PARAMETER_BOXES",
    "TabularEnv",
    "chain",
    "cliff_walking",
    "discretize_actions",
    "forest",
    "from_gymnasium",
    "garnet",
    "gridworld",
    "hard_instance",
    "make",
    "make_parametric_env",
    "pan_flute",
    "random_mdp",
    "recommendation_cmdp",
    "registered",
    "river_swim",
    "rollout_returns",
    "sutton_barto_gridworld",
    "windy_walk",
    "windy_walk_kernel",
]
