"""Classic finite MDPs as validated :class:`~theory_rl.models.FiniteMDP` instances.

Random models (:func:`random_mdp`, :func:`garnet`), the textbook and benchmark instances
(:func:`forest`, :func:`gridworld`, :func:`sutton_barto_gridworld`, :func:`cliff_walking`,
:func:`river_swim`, :func:`chain`), and :func:`from_gymnasium` for gymnasium's toy-text
environments. Every generator is vectorised (no Python loop over states), every random one
takes ``seed`` (an int or a ``numpy.random.Generator``), and bad arguments raise
:class:`~theory_rl.errors.InvalidArgumentError` (or :class:`~theory_rl.errors.InvalidModelError`
for model data) naming the argument. A model whose construction is estimated above
:func:`theory_rl.max_bytes` is refused with :class:`~theory_rl.errors.SizeLimitError` before
anything is drawn (``docs/limits.md``).
"""

from ._classic import chain, forest, river_swim
from ._gridworld import cliff_walking, gridworld, sutton_barto_gridworld
from ._gymnasium import from_gymnasium
from ._random import garnet, random_mdp

__all__ = [
    "chain",
    "cliff_walking",
    "forest",
    "from_gymnasium",
    "garnet",
    "gridworld",
    "random_mdp",
    "river_swim",
    "sutton_barto_gridworld",
]
