"""``make demo`` section for :mod:`theory_rl.approx`: batched value iteration on torch checked
against the numpy solvers, and MDPO with a neural policy following exact tabular MDPO."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np


def run_demo(section: Callable[[str], None]) -> None:
    from .. import approx, envs, tabular
    from ..errors import ConvergenceWarning

    section("approx: batched value iteration on torch (CPU) vs the numpy solver")
    B, S, A, gamma, tol = 1000, 8, 3, 0.8, 1e-6
    mdps = [envs.random_mdp(S, A, gamma=gamma, seed=i) for i in range(B)]
    batch = approx.stack_mdps(mdps, device="cpu")
    start = time.perf_counter()
    sol = approx.batched_value_iteration(batch, tol=tol)
    t_batch = time.perf_counter() - start
    # independent numpy check of all B plans: exact v^pi by a stacked linear solve, then one
    # numpy Bellman backup certifies ||v* - v^pi|| <= gamma/(1-gamma) max(T v^pi - v^pi) (MacQueen)
    P = np.stack([np.asarray(m.P) for m in mdps])
    R = np.stack([np.asarray(m.R) for m in mdps])
    pol = sol.policy.numpy()
    rows = np.arange(S)
    P_pi = P[np.arange(B)[:, None], rows[None, :], pol]
    r_pi = R[np.arange(B)[:, None], rows[None, :], pol]
    v_pi = np.linalg.solve(np.eye(S) - gamma * P_pi, r_pi[..., None])[..., 0]
    backup = (R + gamma * np.einsum("bsat,bt->bsa", P, v_pi)).max(axis=2)
    gap = float(np.max(gamma / (1 - gamma) * (backup - v_pi).max(axis=1)))
    err = float(np.max(np.abs(sol.v.numpy() - v_pi)))
    n_vi = 50
    tabular.value_iteration(mdps[0], tol=tol)  # compile the numpy solver's kernels outside the timing
    start = time.perf_counter()
    vi = [tabular.value_iteration(m, tol=tol) for m in mdps[:n_vi]]
    t_vi = (time.perf_counter() - start) * B / n_vi
    same = max(float(np.max(np.abs(sol.v[b].numpy() - vi[b].v))) for b in range(n_vi))
    iters = sum(int(sol.n_iter[b]) == vi[b].n_iter for b in range(n_vi))
    print(f"{B} random MDPs (S={S}, A={A}, gamma={gamma}), tol={tol:g}: one batched call {t_batch:.2f} s on CPU")
    print(f"  numpy check of all {B}: greedy policies are {gap:.1e}-optimal (<= tol); "
          f"max |v_batched - v^pi| = {err:.1e}")
    print(f"  against numpy value_iteration on the first {n_vi}: max |diff| = {same:.1e}, "
          f"same iteration count {iters}/{n_vi}")
    print(f"  numpy value_iteration looping over all {B}: about {t_vi:.1f} s (extrapolated from {n_vi}, "
          "default numba threads; bench/approx.py times it on one thread, its fastest setting here)")

    section("approx: neural MDPO (one-hot inputs, exact critic) follows exact tabular MDPO")
    mdp = envs.random_mdp(5, 3, gamma=0.9, seed=7)
    K = 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = tabular.mirror_descent_policy_optimization(mdp, step_size=1.0, max_iter=K, tol=1e-14)
    for hidden in ((), (32,)):
        res = approx.mdpo_exact_critic(mdp, step_size=1.0, max_iter=K, hidden=hidden, optimizer="lbfgs",
                                       sgd_steps=100, seed=0)
        dev = np.max(np.abs(res.info["values"] - ref.info["values"][:K + 1]), axis=1)
        name = "linear softmax" if not hidden else f"MLP {hidden}"
        print(f"  {name:>15}: max_s |V^pi_k - V^pi_k(exact MDPO)| for k=0..{K}: "
              + " ".join(f"{d:.0e}" for d in dev))
    v_star = tabular.policy_iteration(mdp).v
    print(f"  exact MDPO gap to v* after {K} steps: {np.max(v_star - ref.info['values'][K]):.3f} "
          f"(it goes to 0 as O(1/K), Xiao 2022)")
