"""Sample-based learners for finite MDPs, each with the rate its theorem predicts.

Generative model (a fresh next state for any queried pair): :func:`sample_transitions`,
:func:`empirical_model`, :func:`plug_in_planning` (Azar, Munos & Kappen 2013; Agarwal, Kakade &
Yang 2020), synchronous :func:`q_learning` (Even-Dar & Mansour 2003; Li et al. 2021) and
:func:`variance_reduced_q_learning` (Wainwright 2019). Online, episodic, with regret guarantees:
:func:`ucbvi` (Azar, Osband & Munos 2017) and :func:`ucb_q_learning` (Jin et al. 2018).
From episodes, as in Sutton & Barto (2018): prediction with :func:`td_prediction` (TD(0),
online and batch), :func:`n_step_td`, :func:`td_lambda` (eligibility traces) and
:func:`lambda_return` (its forward view), :func:`mc_prediction`; control with :func:`sarsa`,
:func:`expected_sarsa` (online Q-learning as its greedy-target case), :func:`n_step_sarsa` and
:func:`mc_control` (exploring starts, epsilon-soft). Prediction learners return a
:class:`PredictionResult` (``v`` and the episodes they saw).

Every learner is seeded (``seed=`` int or ``numpy.random.Generator``), works on whole
``(S, A)`` tables at once, and returns a :class:`LearningResult` with the learned Q, its greedy
policy and the per-step trace a rate plot needs. The predicted rates are functions in
:mod:`theory_rl.theory`.
"""

from ._contrastive import ContrastiveResult, contrastive_counts, contrastive_fit, feature_span_angles
from ._contrastive_torch import contrastive_fit_torch
from ._contrastive_ucb import contrastive_ucb, contrastive_ucb_beta
from ._episodes import Episode
from ._episodic import episodic_optimal_q, ucb_q_learning, ucbvi
from ._low_rank import LowRankMDP, random_low_rank_mdp
from ._low_rank_game import LowRankMarkovGame, contrastive_ucb_game, random_low_rank_markov_game
from ._monte_carlo import mc_control, mc_prediction
from ._plug_in import plug_in_planning
from ._q_learning import q_learning, step_size_schedule, variance_reduced_q_learning
from ._result import LearningResult, PredictionResult
from ._sampling import TransitionSampler, empirical_model, sample_transitions
from ._sarsa import expected_sarsa, n_step_sarsa, sarsa
from ._td import n_step_td, td_prediction
from ._td_lambda import lambda_return, td_lambda
from ._value_sets import FactoredModelClass, ValueSetResult, factored_model_class, value_sets

__all__ = [
    "ContrastiveResult",
    "Episode",
    "FactoredModelClass",
    "LowRankMDP",
    "LowRankMarkovGame",
    "ValueSetResult",
    "contrastive_counts",
    "contrastive_fit",
    "contrastive_fit_torch",
    "contrastive_ucb",
    "contrastive_ucb_beta",
    "contrastive_ucb_game",
    "factored_model_class",
    "feature_span_angles",
    "random_low_rank_markov_game",
    "random_low_rank_mdp",
    "value_sets",
    "LearningResult",
    "PredictionResult",
    "TransitionSampler",
    "empirical_model",
    "episodic_optimal_q",
    "expected_sarsa",
    "lambda_return",
    "mc_control",
    "mc_prediction",
    "n_step_sarsa",
    "n_step_td",
    "plug_in_planning",
    "q_learning",
    "sample_transitions",
    "sarsa",
    "step_size_schedule",
    "td_lambda",
    "td_prediction",
    "ucb_q_learning",
    "ucbvi",
    "variance_reduced_q_learning",
]
