"""Demo section of :mod:`theory_rl.dual` (called by ``make demo``)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np

__all__ = ["run_demo"]


def run_demo(section: Callable[[str], None]) -> None:
    """Occupancy LPs, a regularised dual, a CMDP two ways, TSCAC, and f-DVL/ReCOIL offline."""
    from .. import dual, envs, tabular

    section("Dual RL: the occupancy LP and its dual (random 8-state MDP, gamma = 0.9)")
    mdp = envs.random_mdp(8, 3, seed=0, gamma=0.9)
    vstar = tabular.policy_iteration(mdp).v
    p, d = dual.primal_lp(mdp), dual.dual_lp(mdp)
    print(f"max_d <d, r> = {p.objective:.10f}   min_V (1-g)<d0, V> = {d.objective:.10f}   "
          f"(1-g)<d0, V*_PI> = {(1 - mdp.gamma) * mdp.d0 @ vstar:.10f}")
    print(f"normalised d* sums to {p.occupancy.sum():.12f}; unnormalised rho* sums to "
          f"{dual.primal_lp(mdp, normalized=False).occupancy.sum():.6f} = 1/(1-gamma)")
    print(f"V read from the LP's dual variables vs V*: max gap {np.abs(p.v - vstar).max():.1e}")

    section("Regularised dual-V (KL): strong duality with the cvxpy primal, and alpha -> 0")
    d_off = np.full((8, 3), 1 / 24)
    for alpha in (1.0, 0.1, 0.01):
        prim = dual.regularized_primal(mdp, d_off, "kl", alpha)
        dv = dual.dual_v(mdp, d_off, "kl", alpha)
        print(f"alpha={alpha:<5} primal (cvxpy) {prim.value:.8f}  dual-V (scipy) {dv.value:.8f}  "
              f"LP* - value {p.objective - dv.value:.2e}  flow residual of w* {dv.flow_residual:.1e}")

    section("A constrained MDP (synthetic short-video recommendation): Altman's LP, primal-dual, TSCAC")
    cmdp = envs.recommendation_cmdp(seed=0, n_responses=2)
    lp = dual.solve_cmdp_lp(cmdp)
    print(f"LP: watch time J1 = {lp.objective:.4f}; {', '.join(cmdp.constraint_names)} = "
          f"{np.round(lp.constraint_values, 4)} >= {np.round(cmdp.thresholds, 4)}; lambda* = "
          f"{np.round(lp.multipliers, 4)}; randomises in states {lp.randomized_states.tolist()} (<= m = 2)")
    t0 = time.perf_counter()
    pd = dual.lagrangian_primal_dual(cmdp, max_iter=300)
    print(f"primal-dual (300 best responses, {time.perf_counter() - t0:.1f}s): J1 = {pd.objective:.4f}, "
          f"constraints {np.round(pd.constraint_values, 4)}, certified violation <= "
          f"{np.round(pd.info['violation_bound'], 4)}, lambda_bar = {np.round(pd.multipliers, 3)}")
    res = dual.tscac(cmdp, [0.1, 0.03])
    print(f"TSCAC (lambda = [0.1, 0.03], exact critics): J1 = {res.main_return:.4f} "
          f"({100 * res.main_return / lp.objective:.0f}% of the LP optimum), feasible = {res.feasible}")

    section("Offline RL on a dataset the library generates (10% expert episodes, 30 episodes)")
    mdp = envs.random_mdp(20, 4, seed=1, gamma=0.9)
    opt = tabular.policy_iteration(mdp)
    data = dual.collect_dataset(mdp, expert_policy=opt.policy, n_episodes=30, episode_length=30,
                                expert_fraction=0.1, exploration=0.1, seed=3)
    J = lambda pi: float(mdp.d0 @ tabular.policy_value(mdp, pi))  # noqa: E731
    uniform = np.full((20, 4), 0.25)
    score = lambda pi: 100 * (J(pi) - J(uniform)) / (mdp.d0 @ opt.v - J(uniform))  # noqa: E731
    print(data)
    print(f"{'policy':34} normalised score (0 = random, 100 = optimal)")
    print(f"{'behaviour cloning':34} {score(dual.behaviour_cloning(data)):6.1f}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dual.DegenerateObjectiveWarning)
        for f, lam in (("chi2", 0.9), ("tv", 0.8), ("gumbel", 0.1)):
            r = dual.fdvl(data, gamma=0.9, f=f, lam=lam, beta=3.0)
            print(f"{'f-DVL ' + f + ' (AWR)':34} {score(r.policy):6.1f}   in-sample greedy {score(r.greedy_policy):6.1f}")
        if data.is_expert.any():
            rc = dual.recoil(data.subset(data.is_expert), data, gamma=0.9, beta=0.5)
            print(f"{'ReCOIL (no rewards)':34} {score(rc.policy):6.1f}")
        r1 = dual.fdvl(data, gamma=0.9, f="chi2", lam=1.0)
    print(f"chi2 at lam = 1 (the locomotion recipe): non-unique V-step minimiser at "
          f"{r1.degenerate_states.size}/20 states, reported in FDVLResult.degenerate_states")
