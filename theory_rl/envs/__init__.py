"""Classic finite MDPs as validated :class:`~theory_rl.models.FiniteMDP` instances.

Random models (:func:`random_mdp`, :func:`garnet`), the textbook and benchmark instances
(:func:`forest`, :func:`gridworld`, :func:`sutton_barto_gridworld`, :func:`cliff_walking`,
:func:`river_swim`, :func:`chain`), the lower-bound instance :func:`hard_instance`, and
:func:`from_gymnasium` for gymnasium's toy-text environments. :func:`make` builds any of them
from a string such as ``"gridworld:n_rows=10,n_cols=10"`` (the command line and the sweep tasks
use it). Every generator is vectorised (no Python loop over states), every random one
takes ``seed`` (an int or a ``numpy.random.Generator``), and bad arguments raise
:class:`~theory_rl.errors.InvalidModelError` naming the argument.
"""

from ._classic import chain, forest, river_swim
from ._gridworld import cliff_walking, gridworld, sutton_barto_gridworld
from ._gymnasium import from_gymnasium
from ._lower_bound import hard_instance
from ._random import garnet, random_mdp
from ._registry import make, registered

__all__ = [
    "chain",
    "cliff_walking",
    "forest",
    "from_gymnasium",
    "garnet",
    "gridworld",
    "hard_instance",
    "make",
    "random_mdp",
    "registered",
    "river_swim",
    "sutton_barto_gridworld",
]
