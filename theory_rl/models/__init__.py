"""Validated, frozen model data: :class:`FiniteMDP` (and, as later families land, POMDPs,
PSRs, robust MDPs and coupled restless bandits)."""

from ._finite_mdp import DEFAULT_ATOL, MAX_ATOL, FiniteMDP, load, normalize
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
