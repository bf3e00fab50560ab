"""Validated, frozen model data: :class:`FiniteMDP` (and, as later families land, POMDPs,
PSRs, robust MDPs and coupled restless bandits), and the feasible sets of a coupled restless
bandit (:class:`Budget`, :class:`Path`, :class:`Matching`, :class:`Capacity`) with the
solver-neutral :class:`MipModel` they add their rows to (both families below them use them:
``combinatorial`` optimises over them, ``envs`` draws the paper's instances)."""

from ._feasible_sets import Budget, Capacity, Matching, Path
from ._finite_mdp import DEFAULT_ATOL, MAX_ATOL, FiniteMDP, load, normalize
from ._mip_model import MipModel
from ._peers import from_mdptoolbox, from_quantecon, from_state_action_pairs
from ._pomdp import POMDP

__all__ = [
    "DEFAULT_ATOL",
    "MAX_ATOL",
    "FiniteMDP",
    "from_mdptoolbox",
    "from_quantecon",
    "from_state_action_pairs",
    "load",
    "normalize",
]
__all__ += ["POMDP"]
__all__ += ["Budget", "Capacity", "Matching", "MipModel", "Path"]
