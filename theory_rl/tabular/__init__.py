"""Exact solvers for finite MDPs.

Every solver returns a :class:`Solution` whose ``bound`` is certified by the theorem named in
its docstring (MacQueen/Porteus bounds for the discounted solvers, Odoni's bounds for the
average-reward solver), widened by a forward error bound of the floating-point operations
actually performed (:func:`certify`), so that it holds for the exact solution of the model as
stored; where float64 cannot certify ``tol`` a solver says so (``converged=False`` with
``info["reason"]``). The floating-point model is in ``docs/certificates.md``.
"""

from ._average_reward import relative_value_iteration
from ._bellman import (
    BellmanOperator,
    as_policy,
    as_value,
    bellman_operator,
    bellman_residual,
    check_index_range,
    effective_rewards,
    greedy_policy,
    policy_value,
    q_values,
    solve_policy_system,
)
from ._certificate import Certificate, certify
from ._finite_horizon import backward_induction
from ._linear_programming import linear_programming
from ._mdpo import mirror_descent_policy_optimization, mirror_descent_step
from ._policy_iteration import modified_policy_iteration, policy_evaluation, policy_iteration
from ._shortest_path import (
    proper_policy,
    shortest_path_linear_programming,
    shortest_path_modified_policy_iteration,
    shortest_path_policy_evaluation,
    shortest_path_policy_iteration,
    shortest_path_value_iteration,
)
from ._soft import soft_value_iteration
from ._solution import Solution
from ._solve import SOLVERS, solve
from ._value_iteration import value_iteration

__all__ = [
    "BellmanOperator",
    "Certificate",
    "SOLVERS",
    "Solution",
    "as_policy",
    "as_value",
    "certify",
    "check_index_range",
    "effective_rewards",
    "solve_policy_system",
    "backward_induction",
    "bellman_operator",
    "bellman_residual",
    "greedy_policy",
    "linear_programming",
    "mirror_descent_policy_optimization",
    "mirror_descent_step",
    "modified_policy_iteration",
    "policy_evaluation",
    "policy_iteration",
    "policy_value",
    "proper_policy",
    "q_values",
    "relative_value_iteration",
    "shortest_path_linear_programming",
    "shortest_path_modified_policy_iteration",
    "shortest_path_policy_evaluation",
    "shortest_path_policy_iteration",
    "shortest_path_value_iteration",
    "soft_value_iteration",
    "solve",
    "value_iteration",
]
