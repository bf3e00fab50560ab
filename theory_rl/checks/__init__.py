"""Public test helpers: hypothesis strategies that build valid models, and assertions that
check an answer against theory. Usable in your own test suites (needs ``theory_rl[checks]``
for the strategies)."""

from ._assertions import assert_bellman_optimal, assert_bounds_bracket, assert_policy_value
from ._combinatorial import cormabs
from ._pomdp import pomdps
from ._robust import robust_mdps, uncertainty_sets
from ._strategies import finite_mdps, register_profiles

__all__ = [
    "assert_bellman_optimal",
    "assert_bounds_bracket",
    "assert_policy_value",
    "cormabs",
    "finite_mdps",
    "pomdps",
    "register_profiles",
    "robust_mdps",
    "uncertainty_sets",
]
