"""SPO against reward-model RLHF under transitive, intransitive and noisy preferences (issue 22 claims).

    OMP_NUM_THREADS=1 .venv/bin/python bench/spo.py            # writes bench/results/spo.json
    OMP_NUM_THREADS=1 .venv/bin/python bench/spo.py --quick    # 2 seeds, smaller budgets

The paper's headline (Swamy et al. 2024, arXiv 2401.04056): SPO learns more sample-efficiently than
reward-model RLHF and stays robust to intransitive and noisy preferences. Measured here on the
depth-3 ternary decision tree (27 trajectories, every distribution over them a mixture of policies),
so the minimax winner over trajectories and the exploitability max_pi Pr(pi beats p) - 1/2 of any
trajectory distribution p are exact. Preferences: (a) transitive Bradley-Terry on a random reward
(temperature 0.5), (b) the majority of three random objectives (no Condorcet winner; the minimax
winner mixes several trajectories), (c) the noiseless comparison of (a)'s utilities flipped with
probability 0.3. Both methods get the same number of preference queries: SPO (B = 16 trajectories
per batch, B(B-1)/2 = 120 queries per iteration, mirror step 0.3; the torch version with a 32-unit
MLP, PPO updates with Adam at lr 0.003 and entropy bonus 0.02) is scored by the exploitability of its average trajectory
distribution after each iteration; reward-model RLHF (queries between trajectories of the uniform
policy, Bradley-Terry fit by L-BFGS, ridge 1e-3, then backward induction) is fitted afresh at each
budget (its exploitability is that of its one policy). For SPO the table gives the exploitability of
the average (the quantity the theory bounds) and of the last iterate. SPO's step and batch were picked among 5 settings on instance (b) at one budget; the
baseline's ridge was not tuned. Means over seeds with 95% Student-t intervals (clipped to [0, 1/2]).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from theory_rl.games import (
    BradleyTerryOracle,
    MajorityOracle,
    NoisyOracle,
    decision_tree_mdp,
    reward_model_rlhf,
    spo,
    spo_torch,
    trajectory_game,
)

B, STEP, LR, ENTROPY = 16, 0.3, 0.003, 0.02


def instances(mdp):
    S, A = mdp.n_states, mdp.n_actions
    reward = np.random.default_rng(11).normal(size=(S, A))
    majority = MajorityOracle(np.random.default_rng(7).normal(size=(3, S, A)))
    return {
        "transitive (Bradley-Terry)": BradleyTerryOracle(reward, temperature=0.5),
        "intransitive (majority of 3 objectives)": majority,
        "noisy (flip 0.3)": NoisyOracle(BradleyTerryOracle(reward, temperature=0.0), noise=0.3),
    }


def ci(values: list[float]) -> tuple[float, float, float]:
    x = np.asarray(values, float)
    m = float(x.mean())
    if len(x) < 2 or x.std() == 0:
        return m, m, m
    h = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return m, max(0.0, m - h), min(0.5, m + h)  # exploitability lies in [0, 1/2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seeds = [0, 1] if args.quick else [0, 1, 2, 3, 4]
    torch_seeds = seeds[:2] if args.quick else seeds[:3]
    budgets = [1000, 4000, 16000] if args.quick else [1000, 4000, 16000, 64000]
    per_iter = B * (B - 1) // 2
    mdp = decision_tree_mdp(3, 3)
    rows = []
    for name, oracle in instances(mdp).items():
        game = trajectory_game(mdp, oracle=oracle)
        mw = game.minimax_winner()
        support = int((mw.strategy > 1e-9).sum())
        curves: dict[str, dict[int, list[float]]] = {"spo": {}, "spo_torch": {}, "reward_model_rlhf": {}}
        last: dict[str, dict[int, list[float]]] = {"spo": {}, "spo_torch": {}, "reward_model_rlhf": {}}
        wins: dict[str, dict[int, list[float]]] = {"spo": {}, "spo_torch": {}, "reward_model_rlhf": {}}
        seconds: dict[str, list[float]] = {"spo": [], "spo_torch": [], "reward_model_rlhf": []}
        for method, runner, run_seeds in (("spo", spo, seeds), ("spo_torch", spo_torch, torch_seeds)):
            for seed in run_seeds:
                kwargs = {"step_size": STEP} if method == "spo" else {"lr": LR, "hidden": (32,), "entropy": ENTROPY,
                                                                            "device": "cpu"}
                t0 = time.perf_counter()
                res = runner(mdp, oracle=oracle, batch_size=B, max_iter=budgets[-1] // per_iter, seed=seed, **kwargs)
                seconds[method].append(time.perf_counter() - t0)
                for q in budgets:
                    k = q // per_iter - 1
                    curves[method].setdefault(q, []).append(float(res.history["exploitability"][k]))
                    last[method].setdefault(q, []).append(float(res.history["last_exploitability"][k]))
                    wins[method].setdefault(q, []).append(float(res.history["win_rate"][k]))
        for seed in seeds:
            for q in budgets:
                t0 = time.perf_counter()
                res = reward_model_rlhf(mdp, oracle=oracle, n_samples=q, seed=seed)
                seconds["reward_model_rlhf"].append(time.perf_counter() - t0)
                curves["reward_model_rlhf"].setdefault(q, []).append(res.exploitability)
                last["reward_model_rlhf"].setdefault(q, []).append(res.exploitability)
                wins["reward_model_rlhf"].setdefault(q, []).append(res.win_rate)
        for method, by_q in curves.items():
            for q, values in by_q.items():
                m, lo, hi = ci(values)
                rows.append({"preferences": name, "method": method, "queries": q, "n_seeds": len(values),
                             "exploitability_mean": m, "exploitability_ci95": [lo, hi],
                             "last_iterate_exploitability_mean": float(np.mean(last[method][q])),
                             "win_rate_vs_minimax_winner_mean": float(np.mean(wins[method][q])),
                             "minimax_winner_support": support, "seconds_per_run": float(np.mean(seconds[method]))})
                print(json.dumps(rows[-1]), flush=True)
    out = Path(__file__).parent / "results" / ("spo_quick.json" if args.quick else "spo.json")
    out.write_text(json.dumps({
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "memory_GiB": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                    "python": platform.python_version(), "note": "shared 2-core VM, loaded"},
        "command": "OMP_NUM_THREADS=1 .venv/bin/python " + " ".join(sys.argv),
        "instance": {"mdp": "decision_tree_mdp(3, 3)", "n_trajectories": 27, "batch_size": B,
                     "queries_per_spo_iteration": per_iter, "spo_step_size": STEP, "spo_torch_lr": LR, "spo_torch_entropy": ENTROPY,
                     "spo_torch_hidden": [32], "rlhf_ridge": 1e-3, "rlhf_behaviour": "uniform"},
        "rows": rows}, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
