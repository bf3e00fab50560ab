"""Combinatorial-action RL: coupled restless bandits (coRMAB) and SEQUOIA's Q-network-in-MIP.

Xu, Wilder, Khalil, Tambe, "Reinforcement learning with combinatorial actions for coupled restless
bandits", ICLR 2025, arXiv 2503.01919. Environments and feasible sets (budget / multiple
interventions, path, bipartite matching, capacity; defined in :mod:`theory_rl.models`, their random
instances in :mod:`theory_rl.envs`), the exact ReLU-network MILP encoding with
per-unit interval (optionally LP-tightened) bounds, highspy and Pyomo back ends, SEQUOIA training
(torch) and the paper's baselines.
"""

from .._deprecation import module_getattr
from ..models import Budget, Capacity, Matching, MipModel, Path
from ._argmax import ArgmaxResult, greedy_q_action, mip_argmax, myopic_argmax, select_action
from ._baselines import EvaluationResult, baseline_policies, evaluate, sequoia_policy
from ._cormab import N_LEVELS, CoRMAB, CoRMABEnv, SigmoidCoupling, make_cormab
from ._encoding import EmbeddedNetwork, embed_relu_mlp, forward, interval_bounds, relu_mlp_layers
from ._mip import MipSolution, solve_mip
from ._qtable import table_q_network
from ._sequoia import SequoiaResult, pretrain_myopic, relu_mlp, sequoia_train, warm_start_dataset

# The feasible sets and MipModel live in models (re-exported here unchanged); the paper's random
# instances moved to envs and stay importable from here for one release with a DeprecationWarning.
__getattr__ = module_getattr(
    __name__, {name: f"theory_rl.envs.{name}" for name in ("capacity_instance", "matching_instance", "metro_graph")}
)

__all__ = [
    "N_LEVELS",
    "ArgmaxResult",
    "Budget",
    "Capacity",
    "CoRMAB",
    "CoRMABEnv",
    "EmbeddedNetwork",
    "EvaluationResult",
    "Matching",
    "MipModel",
    "MipSolution",
    "Path",
    "SequoiaResult",
    "SigmoidCoupling",
    "baseline_policies",
    "embed_relu_mlp",
    "evaluate",
    "forward",
    "greedy_q_action",
    "interval_bounds",
    "make_cormab",
    "mip_argmax",
    "myopic_argmax",
    "pretrain_myopic",
    "relu_mlp",
    "relu_mlp_layers",
    "select_action",
    "sequoia_policy",
    "sequoia_train",
    "solve_mip",
    "table_q_network",
    "warm_start_dataset",
]
