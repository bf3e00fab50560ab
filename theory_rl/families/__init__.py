"""Evaluate on a family of MDPs, not on one instance (Jayawardana, Tang, Li, Suo & Wu 2022,
"The Impact of Task Underspecification in Evaluating Deep RL", NeurIPS, arXiv:2210.08607).

- :class:`MDPFamily` (parameter space, seeded sampler, ``make(phi)``, nominal member) and the
  library's families :func:`gridworld_family`, :func:`river_swim_family`, :func:`random_mdp_family`.
- :func:`evaluate_family`: every method on every sampled member through the sweep engine
  (:class:`theory_rl.experiments.Sweep`: joblib or Dask, resumable), a tidy table.
- :func:`family_statistics` (mean/IQM with stratified-bootstrap intervals and the probability of
  improvement, through ``rliable``), :func:`rank_agreement` (Kendall tau, rank flips between the
  point MDP and the family), :func:`kmeans_representatives` and :func:`representative_error`.
"""

from ._evaluate import evaluate_family, policy_return
from ._family import MDPFamily, gridworld_family, random_mdp_family, river_swim_family
from ._stats import (
    FamilyStatsResult,
    RankAgreementResult,
    family_statistics,
    kmeans_representatives,
    rank_agreement,
    representative_error,
    score_matrix,
)

__all__ = [
    "FamilyStatsResult",
    "MDPFamily",
    "RankAgreementResult",
    "evaluate_family",
    "family_statistics",
    "gridworld_family",
    "kmeans_representatives",
    "policy_return",
    "random_mdp_family",
    "rank_agreement",
    "representative_error",
    "river_swim_family",
    "score_matrix",
]
