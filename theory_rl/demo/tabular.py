"""Demo section for :mod:`theory_rl.tabular`: one gridworld solved four ways with certificates,
Sutton & Barto's Figure 4.1, value iteration's bounds, and entropy regularisation."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np

__all__ = ["run_demo"]

_ARROWS = {0: "^", 1: ">", 2: "v", 3: "<"}


def run_demo(section: Callable[[str], None]) -> None:
    """Print the exact solvers' tour."""
    from .. import envs, tabular
    from ..checks import assert_bellman_optimal
    from ..errors import ConvergenceWarning

    section("A 6x6 slippery gridworld (goal bottom-right), gamma = 0.95, solved four ways")
    mdp = envs.gridworld(6, 6, gamma=0.95, slip=0.1, obstacles=[(1, 1), (2, 3), (3, 3), (4, 1)])
    print(mdp)
    solvers = {
        "value iteration (span stopping)": lambda: tabular.value_iteration(mdp, tol=1e-8),
        "policy iteration (Howard)": lambda: tabular.policy_iteration(mdp, tol=1e-8),
        "modified policy iteration": lambda: tabular.modified_policy_iteration(mdp, tol=1e-8),
        "linear programming (HiGHS)": lambda: tabular.linear_programming(mdp),
    }
    print(f"{'method':34} {'iters':>6} {'certified |v-v*|':>17} {'time':>9}")
    results = {}
    for name, run in solvers.items():
        start = time.perf_counter()
        sol = run()
        results[name] = sol
        print(f"{name:34} {sol.n_iter:>6} {sol.bound:>17.2e} {time.perf_counter() - start:>8.4f}s")
    reference = results["policy iteration (Howard)"].v
    spread = max(np.max(np.abs(s.v - reference)) for s in results.values())
    print(f"largest disagreement between the four answers: {spread:.2e} (each within its certificate)")
    assert_bellman_optimal(mdp, reference, tol=1e-8)

    sol = results["policy iteration (Howard)"]
    print("\noptimal values and policy (# = obstacle, G = goal):")
    blocked = {(1, 1), (2, 3), (3, 3), (4, 1)}
    for r in range(6):
        row_v, row_p = [], []
        for c in range(6):
            s = r * 6 + c
            if (r, c) in blocked:
                row_v.append("    #  ")
                row_p.append("#")
            elif (r, c) == (5, 5):
                row_v.append(f"{sol.v[s]:7.2f}")
                row_p.append("G")
            else:
                row_v.append(f"{sol.v[s]:7.2f}")
                row_p.append(_ARROWS[int(sol.policy[s])])
        print(" ".join(row_v) + "    " + " ".join(row_p))

    section("Sutton & Barto Example 4.1: the random policy's values (Figure 4.1)")
    sb = envs.sutton_barto_gridworld()
    uniform = np.full((sb.n_states, sb.n_actions), 0.25)
    v_random = tabular.policy_evaluation(sb, uniform).v.reshape(4, 4)
    for row in v_random:
        print("  ".join(f"{x:6.1f}" for x in row))

    section("Value iteration's certificate: MacQueen bounds bracket v* at every step")
    forest = envs.forest(8, gamma=0.95)
    v_star = tabular.policy_iteration(forest, tol=1e-12).v
    print(f"{'backups':>8} {'residual':>10} {'bound width':>12} {'true error':>11}")
    for n in (1, 2, 4, 8, 16, 32):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # stopped early on purpose
            sol = tabular.value_iteration(forest, tol=1e-14, max_iter=n)
        width = float(np.max(sol.upper - sol.lower))
        print(f"{n:>8} {sol.residual:>10.2e} {width:>12.2e} {np.max(np.abs(sol.v - v_star)):>11.2e}")

    section("Entropy regularisation and mirror descent (MDPO, Tomar et al. 2022)")
    small = envs.random_mdp(20, 4, seed=7, gamma=0.9)
    v_star = tabular.policy_iteration(small).v
    for tau in (1.0, 0.1, 0.01):
        soft = tabular.soft_value_iteration(small, temperature=tau)
        print(f"soft VI tau={tau:<5} max(v*_tau - v*) = {np.max(soft.v - v_star):.4f}  "
              f"<= tau log|A|/(1-gamma) = {tau * np.log(4) / 0.1:.4f}")
    print(f"\n{'MDPO, K = 50 steps':28} {'certified gap':>13} {'true gap':>10} {'Xiao bound':>11}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of steps on purpose
        for label, options in (("constant t = 0.1", {"step_size": 0.1}), ("constant t = 1", {"step_size": 1.0}),
                               ("geometric t_k = 0.1/gamma^k", {"step_size": 0.1, "schedule": "geometric"})):
            md = tabular.mirror_descent_policy_optimization(small, max_iter=50, tol=1e-12, **options)
            true_gap = float(np.max(v_star - md.v))
            if "schedule" in options:  # Xiao's O(1/K) bound is for constant steps; geometric ones converge linearly
                xiao = "(linear rate)"
            else:
                xiao = f"{(np.log(4) / options['step_size'] + 1 / 0.1) / (50 * 0.1):.2e}"
            print(f"{label:28} {md.bound:>13.2e} {true_gap:>10.2e} {xiao:>13}")
