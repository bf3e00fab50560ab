"""Function approximation on torch, each method checked against the exact tabular solver.

- Batched exact planning: :func:`batched_value_iteration`, :func:`batched_policy_evaluation`
  (``B`` MDPs per call, dense or padded-sparse layout, the numpy solver's certified stopping
  rule per model) and :func:`batched_empirical_planning` (generative-model sample-complexity
  sweeps in one call).
- Linear methods: :func:`lstd` (LSTD(0)/LSTD(lambda)), :func:`lspi`, :func:`fitted_q_iteration`,
  :func:`semi_gradient_td`, with :func:`model_transitions` (a finite model as weighted data); Baird's
  counterexample is :func:`theory_rl.envs.baird_counterexample`.
- Neural methods: :func:`dqn` (DQN / double DQN), :func:`dyna_dqn` (DQN on replayed or
  model-generated experience, seeds batched; Young et al. 2023), :func:`mdpo_on_policy`,
  :func:`mdpo_off_policy`, :func:`mdpo_exact_critic`, :func:`deep_iwocs`.

torch is imported on first use inside each function, never by ``import theory_rl.approx``;
every function takes ``device=`` (``"auto"``, the default: CUDA when present, else CPU; or ``"cpu"``, ``"cuda"``).
"""

from .._deprecation import module_getattr
from ..envs import PARAMETER_BOXES, TabularEnv, make_parametric_env
from ._batched import BatchedMDPs, BatchedSolution, batched_policy_evaluation, batched_value_iteration, stack_mdps
from ._dqn import dqn
from ._dyna import DynaResult, dyna_dqn
from ._empirical import EmpiricalPlanningResult, batched_empirical_planning, sample_next_states
from ._fqi import fitted_q_iteration
from ._iwocs import (
    DeepIwocsResult,
    GridEvaluationResult,
    deep_iwocs,
    gym_parametric_set,
    min_over_critics,
    monte_carlo_return,
    robust_grid_evaluation,
)
from ._linear_common import LinearResult, model_transitions
from ._lspi import lspi
from ._lstd import lstd
from ._mdpo import mdpo_exact_critic, mdpo_off_policy, mdpo_on_policy
from ._nets import NeuralResult, tabular_policy
from ._semi_gradient_td import semi_gradient_td

__all__ = [
    "PARAMETER_BOXES",
    "BatchedMDPs",
    "BatchedSolution",
    "DeepIwocsResult",
    "DynaResult",
    "GridEvaluationResult",
    "EmpiricalPlanningResult",
    "LinearResult",
    "NeuralResult",
    "TabularEnv",
    "batched_empirical_planning",
    "batched_policy_evaluation",
    "batched_value_iteration",
    "deep_iwocs",
    "dqn",
    "dyna_dqn",
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

# Moved names, importable for one release with a DeprecationWarning.
__getattr__ = module_getattr(__name__, {
    "BairdCounterexample": "theory_rl.envs.BairdCounterexample",
    "baird_counterexample": "theory_rl.envs.baird_counterexample",
})
