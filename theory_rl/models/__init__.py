"""Validated, frozen model data: :class:`FiniteMDP` (and, as later families land, POMDPs,
PSRs, robust MDPs and coupled restless bandits)."""

from ._finite_mdp import DEFAULT_ATOL, MAX_ATOL, FiniteMDP, load, normalize
from ._pomdp import POMDP

__all__ = ["DEFAULT_ATOL", "MAX_ATOL", "FiniteMDP", "load", "normalize"]
__all__ += ["POMDP"]
