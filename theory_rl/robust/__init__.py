"""Robust MDPs: uncertainty sets, fast robust Bellman operators, robust value/policy iteration
with certified bounds, IWOCS (incremental worst-case search), and QARL's entropy-regularised
adversarial games.

- Sets (:mod:`._sets`): :class:`L1Ball` (sa- or s-rectangular), :class:`LInfBall`,
  :class:`KLBall`, :class:`IntervalSet`, :class:`SARectFinite`, :class:`FiniteSet`,
  :class:`ParametricSet`; bound to a nominal model by :class:`RobustMDP`.
- Solvers: :func:`robust_value_iteration`, :func:`robust_policy_iteration` (partial policy
  iteration, Ho, Petrik & Wiesemann 2021), :func:`robust_policy_evaluation` (the adversary's
  best response), :func:`inner_problem`; all return :class:`RobustSolution`.
- :func:`iwocs` (Zouitine, Geist & Rachelson 2024) with :class:`IwocsSolution`;
  :func:`worst_case_theta` (grid / CMA-ES search over a parameter box, shared with deep IWOCS);
  the paper's tabular benchmark is :func:`theory_rl.envs.windy_walk`.
- QARL (Reddi et al. 2024) on :class:`theory_rl.games.MarkovGame` (two-player zero-sum, from
  ``MarkovGame.zero_sum``), with the stage games of :mod:`theory_rl.games` (:func:`~theory_rl.games.qre_stage`,
  :func:`~theory_rl.games.solve_stage_games`): :func:`soft_minimax_value_iteration`,
  :func:`nash_value_iteration`, :func:`best_response_value`, :func:`qarl_curriculum`, :func:`markov_game_from_robust`;
  the self-paced temperature curriculum :func:`qarl_train` with :class:`GammaTemperatureTeacher`,
  :class:`PointTemperatureTeacher`, :class:`LinearTemperatureSchedule`, :func:`soft_best_response`,
  :func:`gamma_kl`, :func:`clipped_gamma_weights`.
"""

from .._deprecation import module_getattr
from ._iwocs import IwocsSolution, iwocs, score_weights, worst_case_theta
from ._operator import inner_problem
from ._qarl import (
    GameSolution,
    QarlResult,
    best_response_value,
    markov_game_from_robust,
    nash_value_iteration,
    qarl_curriculum,
    soft_minimax_value_iteration,
)
from ._qarl import (
    MarkovGame as MarkovGame,
)
from ._qarl import (
    matrix_game_lp as matrix_game_lp,
)
from ._qarl_curriculum import (
    GammaTemperatureTeacher,
    LinearTemperatureSchedule,
    PointTemperatureTeacher,
    QarlTrainingResult,
    clipped_gamma_weights,
    gamma_kl,
    qarl_train,
    soft_best_response,
)
from ._sets import (
    FiniteSet,
    IntervalSet,
    KLBall,
    L1Ball,
    LInfBall,
    ParametricSet,
    RectangularityWarning,
    RobustMDP,
    SARectFinite,
    UncertaintySet,
)
from ._solvers import RobustSolution, robust_policy_evaluation, robust_policy_iteration, robust_value_iteration

# Renamed or moved names, importable for one release with a DeprecationWarning (the envs ones
# resolved lazily: robust never imports envs, which builds robust's models). MarkovGame (warns
# when constructed) and matrix_game_lp (warns when called) stay importable, out of __all__:
# QARL's game pieces now live in theory_rl.games.
__getattr__ = module_getattr(__name__, {
    "IwocsResult": "theory_rl.robust.IwocsSolution",
    "qre_stage": "theory_rl.games.qre_stage",
    "windy_walk": "theory_rl.envs.windy_walk",
    "windy_walk_kernel": "theory_rl.envs.windy_walk_kernel",
})

__all__ = [
    "FiniteSet",
    "GameSolution",
    "GammaTemperatureTeacher",
    "IntervalSet",
    "IwocsSolution",
    "KLBall",
    "L1Ball",
    "LInfBall",
    "LinearTemperatureSchedule",
    "ParametricSet",
    "PointTemperatureTeacher",
    "QarlResult",
    "QarlTrainingResult",
    "RectangularityWarning",
    "RobustMDP",
    "RobustSolution",
    "SARectFinite",
    "UncertaintySet",
    "best_response_value",
    "clipped_gamma_weights",
    "gamma_kl",
    "inner_problem",
    "iwocs",
    "markov_game_from_robust",
    "nash_value_iteration",
    "qarl_curriculum",
    "qarl_train",
    "robust_policy_evaluation",
    "robust_policy_iteration",
    "robust_value_iteration",
    "score_weights",
    "soft_best_response",
    "soft_minimax_value_iteration",
    "worst_case_theta",
]

