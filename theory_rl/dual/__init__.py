r"""Dual reinforcement learning and constrained MDPs.

- Occupancy measures in both scalings (normalised ``d``, sum 1; unnormalised ``rho``, sum
  ``1/(1-gamma)``) and the occupancy LP pair (:func:`occupancy`, :func:`primal_lp`, :func:`dual_lp`).
- f-divergences and their conjugates, the regularised primal (cvxpy) and its dual-V / dual-Q
  forms with primal recovery (Sikchi, Zheng, Zhang, Niekum, ICLR 2024, arXiv 2302.08560).
- f-DVL (offline RL) and ReCOIL (offline imitation), tabular and torch (``device=``), on finite
  datasets the library generates (:func:`collect_dataset`).
- Constrained MDPs: Altman's LP (:func:`solve_cmdp_lp`), a Lagrangian primal-dual method with a
  certified rate, and TSCAC (Cai et al., WWW 2023, arXiv 2302.01680) on a synthetic
  recommendation CMDP.

How known methods map onto the dual forms (the paper's Table 1, recalled and
Props. 2-4):

=========================  ==============================  ===============================================
method                     form                            f / distributions
=========================  ==============================  ===============================================
XQL                        dual-V, semi-gradient target    reverse-KL-type f: Gumbel loss
CQL                        dual-Q                          Pearson chi^2, ``d^O`` = data (really ATAC's max-min)
AlgaeDICE                  dual-Q                          general f
OptiDICE                   dual-V                          general f
ValueDICE                  dual-Q for imitation            KL, reward 0, ``d^O`` = expert
IQ-Learn                   dual-Q for imitation            chi^2-type, expert data
SMODICE (OPOLO objective)  dual-V for imitation            KL to ``d^S`` that must cover ``d^E``
IQL                        not an exact instance           expectile = in-sample implicit maximiser
=========================  ==============================  ===============================================

Reviewers' caveats (OpenReview, ICLR 2024): the CQL row derives ATAC's objective (Cheng et al.
2022) rather than CQL's; the imitation results use a ``d0 = d^E`` step; the ``(f')^{-1}``
positivity argument fails for non-strictly-convex ``f`` such as ``|x - 1|``; the imitation
"suboptimal" data still hold about 200 expert trajectories.
"""

from .._deprecation import module_getattr
from ._cmdp import CMDP, CMDPSolution, lagrangian_primal_dual, solve_cmdp_lp
from ._dataset import TransitionDataset, behaviour_cloning, collect_dataset
from ._divergences import DIVERGENCES, FDivergence, f_divergence
from ._fdvl import FDVLResult, NeuralDVLResult, awr_policy, fdvl, fdvl_torch, one_hot_features
from ._implicit import DegenerateObjectiveWarning, implicit_loss, implicit_value
from ._lp import OccupancyLPSolution, dual_lp, primal_lp
from ._occupancy import flow_residual, occupancy, policy_from_occupancy
from ._recoil import (
    RecoilDualQSolution,
    RecoilResult,
    RecoilSolution,
    mixture_divergence,
    recoil,
    recoil_dual_q,
    recoil_exact,
    recoil_torch,
)
from ._regularized import RegularizedSolution, dual_q, dual_v, regularized_policy_value, regularized_primal
from ._tscac import TSCACResult, tscac, tscac_project, tscac_stage_one, tscac_stage_two

# Renamed names, importable for one release with a DeprecationWarning.
__getattr__ = module_getattr(__name__, {
    "OccupancyLP": "theory_rl.dual.OccupancyLPSolution",
    "recommendation_cmdp": "theory_rl.envs.recommendation_cmdp",
})

__all__ = [
    "CMDP",
    "CMDPSolution",
    "DIVERGENCES",
    "DegenerateObjectiveWarning",
    "FDVLResult",
    "FDivergence",
    "NeuralDVLResult",
    "OccupancyLPSolution",
    "RecoilDualQSolution",
    "RecoilResult",
    "RecoilSolution",
    "RegularizedSolution",
    "TSCACResult",
    "TransitionDataset",
    "awr_policy",
    "behaviour_cloning",
    "collect_dataset",
    "dual_lp",
    "dual_q",
    "dual_v",
    "f_divergence",
    "fdvl",
    "fdvl_torch",
    "flow_residual",
    "implicit_loss",
    "implicit_value",
    "lagrangian_primal_dual",
    "mixture_divergence",
    "occupancy",
    "one_hot_features",
    "policy_from_occupancy",
    "primal_lp",
    "recoil",
    "recoil_dual_q",
    "recoil_exact",
    "recoil_torch",
    "regularized_policy_value",
    "regularized_primal",
    "solve_cmdp_lp",
    "tscac",
    "tscac_project",
    "tscac_stage_one",
    "tscac_stage_two",
]
