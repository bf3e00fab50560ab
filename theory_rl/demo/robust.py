"""``make demo`` section for :mod:`theory_rl.robust`: IWOCS closing its certificate on the windy
walk, the robust operators against one another, and QARL's soft game."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["run_demo"]

_ARROWS = "^v<>"


def _grid(policy: np.ndarray, n_rows: int, n_cols: int) -> list[str]:
    lines = []
    for r in range(n_rows):
        row = []
        for c in range(n_cols):
            s = r * n_cols + c
            if r == n_rows - 1 and c == 0:
                row.append("S")
            elif r == n_rows - 1 and c == n_cols - 1:
                row.append("G")
            elif r == n_rows - 1:
                row.append("X")
            else:
                row.append(_ARROWS[int(policy[s])])
        lines.append(" ".join(row))
    return lines


def run_demo(section: Callable[[str], None]) -> None:
    from ..envs import random_mdp, windy_walk
    from ..robust import (
        GammaTemperatureTeacher,
        L1Ball,
        RobustMDP,
        iwocs,
        markov_game_from_robust,
        qarl_curriculum,
        qarl_train,
        robust_policy_evaluation,
        robust_policy_iteration,
        robust_value_iteration,
    )
    from ..tabular import policy_iteration

    section("Robust MDPs: IWOCS on the windy walk (Zouitine, Geist & Rachelson 2024)")
    n_rows, n_cols = 4, 6
    rmdp = windy_walk(n_rows=n_rows, n_cols=n_cols, nominal_wind=0.0, max_wind=0.4, gamma=0.95)
    s0 = int(np.argmax(rmdp.nominal.d0))
    print("4x6 grid, start S, goal G, cliff X; a gust pushes the agent one cell down with a probability")
    print("anywhere in [0, 0.4] at every step (sa-rectangular); the nominal model is calm.")
    start = time.perf_counter()
    res = iwocs(rmdp, tol=1e-6)
    print(f"\n{'iter':>4} {'lower L_i':>12} {'upper U_i':>12} {'gap':>10}")
    for row in res.trace:
        print(f"{row['iteration']:>4} {row['lower']:>12.8f} {row['upper']:>12.8f} {row['upper'] - row['lower']:>10.2e}")
    print(f"certificate closed: {res.converged} ({res.stop_reason}), {len(res.models)} static models solved, "
          f"{time.perf_counter() - start:.2f} s")
    vi = robust_value_iteration(rmdp, tol=1e-10)
    print(f"robust value iteration at S: {vi.v[s0]:.8f} (IWOCS lower bound {res.lower:.8f})")
    nominal = policy_iteration(rmdp.nominal, tol=1e-10)
    nominal_worst = robust_policy_evaluation(rmdp, nominal.policy).v[s0]
    print(f"nominal-optimal policy: {nominal.v[s0]:.4f} under the nominal wind, {nominal_worst:.4f} in the worst case;"
          f" robust policy: {res.lower:.4f} guaranteed")
    left, right = _grid(nominal.policy, n_rows, n_cols), _grid(res.policy, n_rows, n_cols)
    print(f"\n{'nominal policy':<{2 * n_cols + 4}}robust policy (IWOCS)")
    for a, b in zip(left, right):
        print(f"{a:<{2 * n_cols + 4}}{b}")

    section("Robust Bellman operators: compiled inner problems, certified solvers")

    mdp = random_mdp(200, 5, seed=0, gamma=0.95)
    print(f"{'set':34} {'method':8} {'iters':>6} {'certified width':>16} {'V(0)':>9} {'time':>8}")
    for name, U in (("sa-rect L1, kappa=0.2", L1Ball(0.2)),
                    ("sa-rect L1 on the support (craam2)", L1Ball(0.2, restrict_to_support=True)),
                    ("s-rect L1, kappa=0.2", L1Ball(0.2, rectangularity="s"))):
        r = RobustMDP(mdp, U)
        for label, solver in (("VI", robust_value_iteration), ("PPI", robust_policy_iteration)):
            t0 = time.perf_counter()
            sol = solver(r, tol=1e-8)
            width = float(np.max(sol.upper - sol.lower))
            print(f"{name:34} {label:8} {sol.n_iter:>6} {width:>16.1e} {sol.v[0]:>9.5f} {time.perf_counter() - t0:>7.3f}s")

    section("QARL: an entropy-regularised adversary, hardened by a temperature curriculum")
    small = windy_walk(n_rows=3, n_cols=4)
    game = markov_game_from_robust(small)
    cur = qarl_curriculum(game, alpha=0.01, beta_start=0.05, beta_end=0.001, n_stages=4)
    print("adversary temperature beta:   " + "  ".join(f"{b:.4f}" for b in cur.betas))
    print("exploitability of the QRE policy (vs Nash): " + "  ".join(f"{e:.4f}" for e in cur.exploitability))
    print(f"Nash value (Shapley VI with one HiGHS LP per sweep): {cur.nash_value:.5f}")
    teacher = GammaTemperatureTeacher(initial_concentration=50.0, target_concentration=1.0, rate=1000.0, max_kl=2.0,
                                      performance_lower_bound=cur.nash_value - 0.05, concentration_lower_bound=0.5)
    sp = qarl_train(game, teacher, alpha=0.01, max_iter=10)
    print("\nself-paced curriculum: beta ~ Gamma(k, rate 1000), k from 50 to 1 under KL(p'||p) <= 2 and E[J] >= Nash - 0.05;")
    print("the protagonist learns by backtracked NPG steps against exact soft best responses")
    print(f"{'it':>3} {'mean beta':>10} {'E_p[J]':>8} {'KL(p||target)':>14} {'exploitability':>15}  teacher")
    for k in range(len(sp.status)):
        print(f"{k:>3} {sp.mean_temperatures[k]:>10.5f} {sp.expected_performance[k]:>8.4f} {sp.kl_to_target[k]:>14.4f} "
              f"{sp.exploitability[k]:>15.5f}  {sp.status[k]}")
