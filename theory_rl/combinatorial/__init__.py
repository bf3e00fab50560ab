"""Combinatorial-action RL: coupled restless bandits (coRMAB) and SEQUOIA's Q-network-in-MIP.

Xu, Wilder, Khalil, Tambe, "Reinforcement learning with combinatorial actions for coupled restless
bandits", ICLR 2025, arXiv 2503.01919. Environments and feasible sets (budget / multiple
interventions, path, bipartite matching, capacity), the exact ReLU-network MILP encoding with
per-unit interval (optionally LP-tightened) bounds, highspy and Pyomo back ends, SEQUOIA training
(torch) and the paper's baselines.
"""

from ._argmax import ArgmaxResult, greedy_q_action, mip_argmax, myopic_argmax, select_action
from ._baselines import EvaluationResult, baseline_policies, evaluate, sequoia_policy
from ._constraints import Budget, Capacity, Matching, Path, capacity_instance, matching_instance, metro_graph
from ._cormab import N_LEVELS, CoRMAB, CoRMABEnv, SigmoidCoupling, make_cormab
from ._encoding import EmbeddedNetwork, embed_relu_mlp, forward, interval_bounds, relu_mlp_layers
from ._mip import MipModel, MipSolution, solve_mip
from ._qtable import table_q_network
from ._sequoia import SequoiaResult, pretrain_myopic, relu_mlp, sequoia_train, warm_start_dataset

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
    "capacity_instance",
    "embed_relu_mlp",
    "evaluate",
    "forward",
    "greedy_q_action",
    "interval_bounds",
    "make_cormab",
    "matching_instance",
    "metro_graph",
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
