"""Sample-based learners for finite MDPs, each with the rate its theorem predicts.

Generative model (a fresh next state for any queried pair): :func:`sample_transitions`,
:func:`empirical_model`, :func:`plug_in_planning` (Azar, Munos & Kappen 2013; Agarwal, Kakade &
Yang 2020), synchronous :func:`q_learning` (Even-Dar & Mansour 2003; Li et al. 2021) and
:func:`variance_reduced_q_learning` (Wainwright 2019). Online, episodic, with regret guarantees:
:func:`ucbvi` (Azar, Osband & Munos 2017) and :func:`ucb_q_learning` (Jin et al. 2018).

Every learner is seeded (``seed=`` int or ``numpy.random.Generator``), works on whole
``(S, A)`` tables at once, and returns a :class:`LearningResult` with the learned Q, its greedy
policy and the per-step trace a rate plot needs. The predicted rates are functions in
:mod:`theory_rl.theory`.
"""

from ._contrastive import ContrastiveResult, contrastive_counts, contrastive_fit, feature_span_angles
from ._contrastive_ucb import contrastive_ucb, contrastive_ucb_beta
from ._episodic import episodic_optimal_q, ucb_q_learning, ucbvi
from ._low_rank import LowRankMDP, random_low_rank_mdp
from ._plug_in import plug_in_planning
from ._q_learning import q_learning, step_size_schedule, variance_reduced_q_learning
from ._result import LearningResult
from ._sampling import TransitionSampler, empirical_model, sample_transitions
from ._value_sets import FactoredModelClass, ValueSetResult, factored_model_class, value_sets

__all__ = [
    "FactoredModelClass",
    "ValueSetResult",
    "factored_model_class",
    "value_sets",
    "ContrastiveResult",
    "LowRankMDP",
    "contrastive_counts",
    "contrastive_fit",
    "contrastive_ucb",
    "contrastive_ucb_beta",
    "feature_span_angles",
    "random_low_rank_mdp",
    "LearningResult",
    "TransitionSampler",
    "empirical_model",
    "episodic_optimal_q",
    "plug_in_planning",
    "q_learning",
    "sample_transitions",
    "step_size_schedule",
    "ucb_q_learning",
    "ucbvi",
    "variance_reduced_q_learning",
]
