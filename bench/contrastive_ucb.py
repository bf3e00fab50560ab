"""Contrastive UCB against UCBVI and the true-feature oracle, and the value-set enumeration size.

    OMP_NUM_THREADS=1 .venv/bin/python bench/contrastive_ucb.py            # writes bench/results/contrastive_ucb.json
    OMP_NUM_THREADS=1 .venv/bin/python bench/contrastive_ucb.py --quick    # K = 300, one seed

Instances: stationary random low-rank MDPs (S = 10, A = 3, d = 5, H = 3; the step kernels are
equal so the library's stationary UCBVI runs on the same problem). Every learner uses the bonus
scale beta = 0.5 (UCBVI: bonus_scale chosen so that its bonus is 0.5 / sqrt(n); also the paper's
UCBVI-CH bonus). Regret is exact (policies evaluated on the true model), per episode and cumulative.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from theory_rl.learning import (
    LowRankMDP,
    contrastive_ucb,
    factored_model_class,
    random_low_rank_mdp,
    ucbvi,
    value_sets,
)
from theory_rl.models import FiniteMDP


def stationary_instance(seed: int, S: int, A: int, d: int, H: int) -> tuple[LowRankMDP, FiniteMDP]:
    one = random_low_rank_mdp(S, A, rank=d, horizon=1, seed=seed)
    rep = lambda x: np.repeat(x, H, axis=0)  # noqa: E731
    m = LowRankMDP(phi=rep(one.phi), mu=rep(one.mu), R=rep(one.R), d0=one.d0)
    return m, FiniteMDP(P=one.P[0], R=one.R[0], gamma=0.9, d0=one.d0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    K = 300 if args.quick else 3000
    seeds = [0] if args.quick else [0, 1]
    S, A, d, H, beta = 10, 3, 5, 3, 0.5
    rows = []
    for seed in seeds:
        m, f = stationary_instance(seed, S, A, d, H)
        L = math.log(5 * S * A * K * H / 0.1)
        runs = {
            "contrastive_ucb (bilinear, d=5)": (contrastive_ucb, m, {"beta": beta}),
            "contrastive_ucb (tabular, d=SA)": (contrastive_ucb, m, {"representation": "tabular", "beta": beta}),
            "oracle: true features (LSVI-UCB form)": (contrastive_ucb, m, {"representation": "true_features", "beta": beta}),
            "ucbvi (bonus 0.5/sqrt(n))": (ucbvi, f, {"horizon": H, "bonus_scale": beta / (7 * H * L)}),
            "ucbvi (paper's UCBVI-CH bonus)": (ucbvi, f, {"horizon": H}),
        }
        for name, (learner, problem, options) in runs.items():
            t0 = time.perf_counter()
            res = learner(problem, n_episodes=K, seed=seed, **options)
            wall = time.perf_counter() - t0
            reg = np.asarray(res.history["regret"])
            marks = [k for k in (100, 300, 1000, 3000) if k <= K]
            slope = float(np.polyfit(np.log(marks), np.log(np.maximum(reg[np.array(marks) - 1], 1e-12)), 1)[0]) if len(marks) > 1 else None
            angle = res.history.get("angle")
            rows.append({"seed": seed, "method": name, "K": K, "regret": float(reg[-1]), "regret_per_episode": float(reg[-1] / K),
                         "regret_at": {str(k): float(reg[k - 1]) for k in marks}, "loglog_slope_100_K": slope,
                         "final_angle": None if angle is None or np.isnan(angle[-1]) else float(angle[-1]),
                         "wall_s": wall, "wall_per_episode_ms": 1e3 * wall / K})
            print(json.dumps(rows[-1]), flush=True)
    # value-set enumeration: 4^(2 A) models (2 binary factors, each reading itself)
    enum = []
    for n_actions in ((3, 4) if args.quick else (3, 4, 5)):
        cls = factored_model_class(2, n_actions)
        rng = np.random.default_rng(0)
        truth = cls.next_states(rng.integers(0, 4, (1, 2, n_actions)))[0]
        r = np.zeros((4, n_actions))
        r[3] = 1.0
        s, a = rng.integers(0, 4, 6), rng.integers(0, n_actions, 6)
        t0 = time.perf_counter()
        res = value_sets(cls, r, np.stack([s, a, truth[s, a]], 1), gamma=0.9)
        enum.append({"n_models": cls.n_models, "n_mb": len(res.mb), "n_mf": len(res.mf), "wall_s": time.perf_counter() - t0})
        print(json.dumps(enum[-1]), flush=True)
    out = Path(__file__).parent / "results" / ("contrastive_ucb_quick.json" if args.quick else "contrastive_ucb.json")
    out.write_text(json.dumps({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                               "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                                           "python": platform.python_version(), "note": "shared 2-core VM, loaded"},
                               "command": "OMP_NUM_THREADS=1 .venv/bin/python " + " ".join(sys.argv),
                               "instance": {"S": S, "A": A, "d": d, "H": H, "beta": beta},
                               "regret": rows, "value_set_enumeration": enum}, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
