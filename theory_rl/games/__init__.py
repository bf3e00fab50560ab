r"""Games: matrix, normal-form and Markov games, their equilibria, and minimax winners.

Models (frozen, validated like :class:`~theory_rl.models.FiniteMDP`): :class:`MatrixGame`
(two players, zero-sum when ``B = -A``), :class:`NormalFormGame` (``N`` players, one payoff
tensor each), :class:`MarkovGame` (``P[s, a_1..a_N, s']``, ``R[i, s, a_1..a_N]``).

Solvers, each with a certificate: :func:`zero_sum_lp` (value and both optimal strategies by
one HiGHS LP, bracketed by weak duality), :func:`shapley_value_iteration` (zero-sum Markov games,
contraction bounds with LP error and rounding), :func:`quantal_response_equilibrium` (Newton for
two-player zero-sum games, damped logit fixed point otherwise; residual), :func:`qre_stage` (batched
entropy-regularised zero-sum stage games, QARL's), :func:`exploitability` (Nash gap of any mixed profile) and :func:`markov_exploitability` (of any
stationary joint policy of a Markov game, best responses by policy iteration),
:func:`correlated_equilibrium` and :func:`coarse_correlated_equilibrium` (LPs with an objective),
:func:`minimax_winner` (maximal lottery of a preference matrix) and :func:`hedge_self_play`
(SPO's self-play reduction with its regret certificate).

MAMQL (Haynam et al. 2025, arXiv 2503.04679): :func:`soft_marginal_critics`,
:func:`soft_equilibrium` (multi-agent soft Q-iteration with a best-response residual),
:func:`inverse_soft_bellman`, :func:`iq_learn` (tabular IQ-Learn), :func:`mamql` and
:func:`mamql_torch`, :func:`joint_reward_regression`, the expert data (:func:`joint_occupancy`,
:func:`empirical_occupancy`) and the baselines :func:`behaviour_cloning` and :func:`ma_airl`.

Not yet here (issue 22): SPO on MDPs and its preference oracles over trajectories, the
reward-model RLHF baseline, OpenSpiel comparisons and the notebook.

QARL (:mod:`theory_rl.robust`) uses :class:`MarkovGame` (two-player zero-sum),
:func:`qre_stage` and :func:`solve_stage_games` from here; ``games`` does not import ``robust``.
"""

from ._correlated import CorrelatedSolution, coarse_correlated_equilibrium, correlated_equilibrium, deviation_gains
from ._decision_tree import decision_tree_mdp
from ._demonstrations import (
    BehaviourCloningResult,
    behaviour_cloning,
    empirical_occupancy,
    joint_occupancy,
)
from ._exploitability import NashGap, exploitability
from ._iq_learn import IQLearnResult, iq_learn
from ._ma_airl import MAAIRLResult, ma_airl
from ._mamql import MAMQLResult, joint_reward_regression, mamql
from ._mamql_torch import mamql_torch
from ._markov_exploitability import MarkovNashGap, best_response_mdp, markov_exploitability
from ._markov_game import MarkovGame
from ._matrix_game import MatrixGame
from ._minimax_winner import HedgeResult, MinimaxWinnerSolution, hedge_self_play, minimax_winner, preference_matrix
from ._normal_form import NormalFormGame
from ._preferences import (
    BradleyTerryOracle,
    CoverageOracle,
    MajorityOracle,
    NoisyOracle,
    PreferenceOracle,
    batch_win_rates,
)
from ._qre import QRESolution, quantal_response_equilibrium
from ._qre_stage import qre_stage
from ._rlhf import RewardModelResult, reward_model_rlhf
from ._shapley import ShapleySolution, shapley_value_iteration
from ._soft_game import SoftEquilibriumSolution, inverse_soft_bellman, soft_equilibrium, soft_marginal_critics
from ._spo import SPOResult, spo
from ._spo_torch import spo_torch
from ._trajectory_game import TrajectoryGame, sample_episodes, trajectory_game
from ._zero_sum import ZeroSumSolution, solve_stage_games, zero_sum_lp

__all__ = [
    "MatrixGame",
    "NormalFormGame",
    "MarkovGame",
    "ZeroSumSolution",
    "zero_sum_lp",
    "solve_stage_games",
    "ShapleySolution",
    "shapley_value_iteration",
    "QRESolution",
    "quantal_response_equilibrium",
    "qre_stage",
    "NashGap",
    "exploitability",
    "MarkovNashGap",
    "markov_exploitability",
    "best_response_mdp",
    "CorrelatedSolution",
    "correlated_equilibrium",
    "coarse_correlated_equilibrium",
    "deviation_gains",
    "MinimaxWinnerSolution",
    "minimax_winner",
    "HedgeResult",
    "hedge_self_play",
    "preference_matrix",
    "PreferenceOracle",
    "BradleyTerryOracle",
    "MajorityOracle",
    "NoisyOracle",
    "CoverageOracle",
    "batch_win_rates",
    "TrajectoryGame",
    "trajectory_game",
    "sample_episodes",
    "SPOResult",
    "decision_tree_mdp",
    "spo",
    "spo_torch",
    "RewardModelResult",
    "reward_model_rlhf",
    "soft_marginal_critics",
    "SoftEquilibriumSolution",
    "soft_equilibrium",
    "inverse_soft_bellman",
    "IQLearnResult",
    "iq_learn",
    "MAMQLResult",
    "mamql",
    "mamql_torch",
    "joint_reward_regression",
    "joint_occupancy",
    "empirical_occupancy",
    "BehaviourCloningResult",
    "behaviour_cloning",
    "MAAIRLResult",
    "ma_airl",
]
