"""``make demo`` section: the learners against the exact answer, at equal sample budgets."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["run_demo"]


def run_demo(section: Callable[[str], None]) -> None:
    from .. import envs, learning, tabular
    from ..envs import hard_instance

    section("Learning from samples: plug-in vs Q-learning vs variance-reduced Q-learning")
    mdp = hard_instance(0.9)
    q_star = tabular.q_values(mdp, tabular.policy_iteration(mdp, tol=1e-12).v)
    n = 8400
    print(f"hard two-state instance (Azar et al. 2013), gamma = 0.9, {n} samples per pair, mean of 5 seeds")
    errors = {"plug-in planning": [], "Q-learning (rescaled linear)": [], "variance-reduced Q-learning": []}
    for seed in range(5):
        errors["plug-in planning"].append(learning.plug_in_planning(mdp, n_per_pair=n, seed=seed, q_star=q_star).final_error)
        errors["Q-learning (rescaled linear)"].append(learning.q_learning(mdp, max_iter=n, seed=seed, q_star=q_star).final_error)
        vr = learning.variance_reduced_q_learning(mdp, n_epochs=3, epoch_length=1400, recentering_samples=200,
                                                  seed=seed, q_star=q_star)
        errors["variance-reduced Q-learning"].append(vr.final_error)
    for name, errs in errors.items():
        print(f"  {name:30} ||Q - Q*||_inf = {np.mean(errs):.4f}")
    print("theory: plug-in and VR-QL need (1-gamma)^-3 samples, Q-learning (1-gamma)^-4 (Li et al. 2021)")

    section("Optimism in the face of uncertainty: UCBVI and UCB Q-learning (regret over T = 7,500 steps)")
    mdp = envs.random_mdp(5, 2, seed=3)
    K, H = 1500, 5
    print(f"random MDP, 5 states, 2 actions, H = {H}, K = {K} episodes; worst possible regret K*H = {K * H}")
    for name, res in (
        ("UCBVI-CH (paper's bonus)", learning.ucbvi(mdp, horizon=H, n_episodes=K, seed=0)),
        ("UCBVI-CH (bonus x 0.02)", learning.ucbvi(mdp, horizon=H, n_episodes=K, bonus_scale=0.02, seed=0)),
        ("UCB-Q Hoeffding (c = 1)", learning.ucb_q_learning(mdp, horizon=H, n_episodes=K, seed=0)),
        ("UCB-Q Bernstein (c = 0.1)", learning.ucb_q_learning(mdp, horizon=H, n_episodes=K, c=0.1,
                                                              bonus="bernstein", seed=0)),
    ):
        regret = res.history["regret"]
        print(f"  {name:27} regret {regret[-1]:7.1f} (last 300 episodes {regret[-1] - regret[-301]:6.1f})   "
              f"min over k of min(Q_k - Q*) = {res.history['optimism'].min():+.3f}")
    print("  the paper's constants keep every Q_k above Q* but explore almost uniformly at this T (linear regret);"
          " the sqrt(T) rate needs T >> H^3 S^3 A")
