"""Function approximation on torch, each method checked against the exact tabular solver.

- Batched exact planning: :func:`batched_value_iteration`, :func:`batched_policy_evaluation`
  (``B`` MDPs per call, dense or padded-sparse layout, the numpy solver's certified stopping
  rule per model) and :func:`batched_empirical_planning` (generative-model sample-complexity
  sweeps in one call).
- Linear methods: :func:`lstd` (LSTD(0)/LSTD(lambda)), :func:`lspi`, :func:`fitted_q_iteration`,
  :func:`semi_gradient_td`, with :func:`model_transitions` (a finite model as weighted data) and
  :func:`baird_counterexample`.
- Neural methods: :func:`dqn` (DQN / double DQN), :func:`mdpo_on_policy`,
  :func:`mdpo_off_policy`, :func:`mdpo_exact_critic`, :func:`deep_iwocs`.

torch is imported on first use inside each function, never by ``import theory_rl.approx``;
every function takes ``device=`` (``"auto"``, the default: CUDA when present, else CPU; or ``"cpu"``, ``"cuda"``).
"""

from ..envs import PARAMETER_BOXES, TabularEnv, make_parametric_env
from ._batched import BatchedMDPs, BatchedSolution, batched_policy_evaluation, batched_value_iteration, stack_mdps
from ._dqn import dqn
from ._empirical import EmpiricalPlanningResult, batched_empirical_planning, sample_next_states
from ._iwocs import (
    DeepIwocsResult,
    GridEvaluationResult,
    deep_iwocs,
    gym_parametric_set,
    min_over_critics,
    monte_carlo_return,
    robust_grid_evaluation,
)
from ._linear import (
    BairdCounterexample,
    LinearResult,
    baird_counterexample,
    fitted_q_iteration,
    lspi,
    lstd,
    model_transitions,
    semi_gradient_td,
)
from ._mdpo import mdpo_exact_critic, mdpo_off_policy, mdpo_on_policy
from ._nets import NeuralResult, tabular_policy

__all__ = [
    "PARAMETER_BOXES",
    "BairdCounterexample",
    "BatchedMDPs",
    "BatchedSolution",
    "DeepIwocsResult",
    "GridEvaluationResult",
    "EmpiricalPlanningResult",
    "LinearResult",
    "NeuralResult",
    "TabularEnv",
    "baird_counterexample",
    "batched_empirical_planning",
    "batched_policy_evaluation",
    "batched_value_iteration",
    "deep_iwocs",
    "dqn",
    "fitted_q_iteration",
    "gym_parametric_set",
    "lspi",
    "lstd",
    "make_parametric_env",
    "mdpo_exact_critic",
    "mdpo_off_policy",
    "mdpo_on_policy",
    "min_over_critics",
    "model_transitions",
    "monte_carlo_return",
    "robust_grid_evaluation",
    "sample_next_states",
    "semi_gradient_td",
    "stack_mdps",
    "tabular_policy",
]
