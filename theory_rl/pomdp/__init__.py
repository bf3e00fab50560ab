"""POMDPs: file formats (Cassandra ``.POMDP``, SARSOP ``.pomdpx``), beliefs, bounds, exact value
iteration with incremental pruning, point-based and online solvers, PSRs.

Every offline solver returns a :class:`POMDPSolution` (alpha vectors, ``lower``/``upper`` at b0).
"""

from ._backup import BackupResult, point_backup, project
from ._belief import (
    SimulationResult,
    belief_q_values,
    belief_tree_value,
    belief_update,
    observation_probabilities,
    simulate,
    successor_beliefs,
)
from ._bounds import blind_lower_bound, fib_upper_bound, qmdp_upper_bound
from ._cassandra import parse_pomdp, read_pomdp, write_pomdp
from ._exact import exact_value_iteration, finite_horizon_value, prune
from ._forward import enumerate_trajectories, trajectory_probability, unnormalized_beliefs
from ._history_tree import (
    FiniteJointClass,
    evaluate_tree_policy,
    history_tree_max,
    max_tv_policy,
    plan_on_history_tree,
)
from ._hsvi import hsvi2
from ._omle import OMLEResult, omle
from ._pbvi import pbvi, sample_successor
from ._perseus import perseus, sample_beliefs
from ._pomcp import EpisodeResult, PlanResult, pomcp_episode, pomcp_plan
from ._pomdpx import read_pomdpx, write_pomdpx
from ._problems import PROBLEM_DIR, PROBLEM_NAMES, PROBLEMS, load_problem, problem_path
from ._psr import PSR, independent_columns, psr_trajectory_probability_torch
from ._revealing import (
    emission_action_matrix,
    is_revealing,
    left_inverse_norm,
    revealing_bounds,
    revealing_constant,
)
from ._sarsop import sarsop
from ._sawtooth import sawtooth_upper_bound
from ._solution import POMDPSolution, alpha_action, alpha_argmax, alpha_value
from ._spectral import empirical_trajectory_table, sample_trajectories, spectral_psr
from ._umt_psr import (
    UMTPSRResult,
    bracketing_cover,
    future_m_vectors,
    shared_dynamics_class,
    umt_psr,
    umt_psr_downstream,
    well_conditioning_gamma,
)

__all__ = [
    "PROBLEMS",
    "PROBLEM_DIR",
    "PROBLEM_NAMES",
    "load_problem",
    "problem_path",
    "BackupResult",
    "SimulationResult",
    "belief_q_values",
    "belief_tree_value",
    "belief_update",
    "blind_lower_bound",
    "fib_upper_bound",
    "observation_probabilities",
    "qmdp_upper_bound",
    "simulate",
    "successor_beliefs",
    "POMDPSolution",
    "alpha_action",
    "alpha_argmax",
    "alpha_value",
    "exact_value_iteration",
    "finite_horizon_value",
    "prune",
    "parse_pomdp",
    "read_pomdp",
    "write_pomdp",
    "read_pomdpx",
    "write_pomdpx",
    "point_backup",
    "project",
]
__all__ += [  # PSRs, spectral learning, revealing constants, UMT-PSR
    "PSR",
    "independent_columns",
    "psr_trajectory_probability_torch",
    "enumerate_trajectories",
    "trajectory_probability",
    "unnormalized_beliefs",
    "empirical_trajectory_table",
    "sample_trajectories",
    "spectral_psr",
    "emission_action_matrix",
    "is_revealing",
    "left_inverse_norm",
    "revealing_bounds",
    "revealing_constant",
    "FiniteJointClass",
    "OMLEResult",
    "UMTPSRResult",
    "evaluate_tree_policy",
    "history_tree_max",
    "max_tv_policy",
    "omle",
    "plan_on_history_tree",
    "shared_dynamics_class",
    "umt_psr",
    "umt_psr_downstream",
    "bracketing_cover",
    "future_m_vectors",
    "well_conditioning_gamma",
]
__all__ += [  # point-based and online solvers
    "hsvi2",
    "sarsop",
    "sawtooth_upper_bound",
    "pbvi",
    "sample_successor",
    "perseus",
    "sample_beliefs",
    "PlanResult",
    "EpisodeResult",
    "pomcp_plan",
    "pomcp_episode",
]
