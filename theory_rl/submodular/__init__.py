"""Submodular RL: objectives that are set functions of the visited states, not sums of rewards.

- Set functions (:class:`SetFunction`: ``value``, ``gain``, batched ``gains``): :class:`WeightedCoverage`,
  :class:`FacilityLocation`, :class:`LogDet` (experiment design), :class:`GaussianEntropy`,
  :class:`Modular`; checks :func:`is_normalized`, :func:`is_monotone`, :func:`is_submodular`,
  :func:`curvature`; :func:`greedy_maximize` (lazy or vectorised greedy).
- SubRL exactly on small MDPs: :func:`subrl_dp` (optimal history-dependent value, by DP over the
  visited set), :func:`subrl_history` (the same optimum on the tree of ordered state sequences),
  :func:`subrl_markov` (optimal Markov-on-(s, t)), :func:`subrl_greedy`, :func:`subrl_brute_force`
  (deterministic MDPs), :func:`evaluate_subrl_policy`.
- SubPO (Prajapat, Mutný, Zeilinger & Krause 2024, arXiv:2307.13372): :func:`subpo`,
  :func:`subpo_gradient`, :func:`subpo_exact_gradient`, :func:`subpo_objective`, the torch version
  :func:`subpo_torch` (``device="auto"``); the grid tasks
  :func:`coverage_gridworld` and :func:`experiment_design_gridworld`.
"""

from ._exact import (
    SubRLResult,
    evaluate_subrl_policy,
    history_index,
    subrl_brute_force,
    subrl_dp,
    subrl_greedy,
    subrl_history,
    subrl_markov,
)
from ._greedy import GreedyResult, greedy_maximize
from ._properties import all_subsets, curvature, is_monotone, is_normalized, is_submodular
from ._set_functions import FacilityLocation, GaussianEntropy, LogDet, Modular, SetFunction, WeightedCoverage, as_mask
from ._subpo import SubPOResult, softmax_policy, subpo, subpo_exact_gradient, subpo_gradient, subpo_objective
from ._subpo_torch import subpo_torch
from ._tasks import coverage_gridworld, experiment_design_gridworld

__all__ = [
    "FacilityLocation",
    "GaussianEntropy",
    "GreedyResult",
    "LogDet",
    "Modular",
    "SetFunction",
    "SubPOResult",
    "SubRLResult",
    "WeightedCoverage",
    "all_subsets",
    "as_mask",
    "coverage_gridworld",
    "curvature",
    "evaluate_subrl_policy",
    "experiment_design_gridworld",
    "greedy_maximize",
    "history_index",
    "is_monotone",
    "is_normalized",
    "is_submodular",
    "softmax_policy",
    "subpo",
    "subpo_exact_gradient",
    "subpo_gradient",
    "subpo_objective",
    "subpo_torch",
    "subrl_brute_force",
    "subrl_dp",
    "subrl_greedy",
    "subrl_history",
    "subrl_markov",
]
