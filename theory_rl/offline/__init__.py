"""Offline RL, the exact tabular core: trajectory datasets, Bellman completeness of linear
classes, return-conditioned supervised learning (RCSL, MBRCSL) and the history bisimulation
metric of partially observed problems.

Papers: Zhou, Zhu, Zhou, Cui, Gupta & Du, "Free from Bellman Completeness: Trajectory Stitching
via Model-based Return-conditioned Supervised Learning", ICLR 2024 (arXiv 2310.19308); Hong,
Dragan & Levine, "Offline RL with Observation Histories: Analyzing and Improving Sample
Complexity", ICLR 2024 (arXiv 2310.20663). The core is tabular and exact; the torch versions of
RCSL (:func:`rcsl_torch`: an MLP and a causal transformer) and MBRCSL (:func:`mbrcsl_torch`: a
Gaussian dynamics ensemble with elites and a categorical behaviour policy) are tested against it.

Conservative Q-learning and the history-bisimulation loss (Kumar, Zhou, Tucker & Levine 2020,
arXiv 2006.04779; Hong, Dragan & Levine 2024): :func:`cql` (tabular, on states, history ids or
a lookup encoder's latents), :func:`cql_torch` (MLP or GRU history encoder, with the sampled
bisimulation loss of weight ``bisimulation_weight``), :func:`history_bisimulation_loss` (exact,
lookup encoder), :func:`bisimulation_fixed_point`, :func:`sampled_bisimulation_loss`,
:func:`model_bisimulation_loss`. The width
separation between Bellman completeness and RCSL: :func:`width_separation_mdp`,
:func:`width_separation`, :func:`local_extrema`.
"""

from ._bisimulation import BisimulationMetricResult, history_bisimulation_metric, wasserstein
from ._completeness import (
    CompletenessResult,
    FQIResult,
    completeness_gap,
    fitted_q_iteration_linear,
    realizability_error,
)
from ._dataset import Coverage, TrajectoryDataset, collect_trajectories, coverage
from ._histories import HistoryTree, belief_grouping, enumerate_histories
from ._mbrcsl import MBRCSLResult, count_model, mbrcsl
from ._mbrcsl_torch import MBRCSLTorchResult, mbrcsl_torch
from ._rcsl import RCSLEvaluationResult, RCSLResult, rcsl_evaluate, rcsl_fit
from ._rcsl_torch import RCSLTorchResult, rcsl_torch

__all__ = [
    "BisimulationMetricResult",
    "HistoryTree",
    "belief_grouping",
    "enumerate_histories",
    "history_bisimulation_metric",
    "wasserstein",
    "CompletenessResult",
    "Coverage",
    "FQIResult",
    "MBRCSLResult",
    "MBRCSLTorchResult",
    "RCSLEvaluationResult",
    "RCSLResult",
    "RCSLTorchResult",
    "TrajectoryDataset",
    "collect_trajectories",
    "completeness_gap",
    "count_model",
    "coverage",
    "fitted_q_iteration_linear",
    "mbrcsl",
    "mbrcsl_torch",
    "rcsl_evaluate",
    "rcsl_fit",
    "rcsl_torch",
    "realizability_error",
]

# --- OFFB: CQL, the history-bisimulation loss, the width separation (issue 21, part B) ---
from ._cql import CQLResult, cql, encode_states, history_dataset  # noqa: E402

__all__ += ["CQLResult", "cql", "encode_states", "history_dataset"]
from ._bisimulation_loss import (  # noqa: E402
    bisimulation_fixed_point,
    history_bisimulation_loss,
    model_bisimulation_loss,
    sampled_bisimulation_loss,
)
from ._cql_torch import CQLTorchResult, cql_torch  # noqa: E402

__all__ += ["CQLTorchResult", "bisimulation_fixed_point", "cql_torch", "history_bisimulation_loss",
            "model_bisimulation_loss", "sampled_bisimulation_loss"]
from ._width_separation import (  # noqa: E402
    WidthSeparationResult,
    local_extrema,
    width_separation,
    width_separation_mdp,
)

__all__ += ["WidthSeparationResult", "local_extrema", "width_separation", "width_separation_mdp"]
