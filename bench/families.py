"""Rank the library's learners on the point MDP and on its family (task underspecification, in the small).

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/families.py   # writes results/families.json
    PYTHONPATH=. .venv/bin/python bench/families.py --quick             # 20 x 2, five learners, writes nothing

Three studies on ``gridworld_family()`` (size 4-7, slip 0-0.4, gamma 0.9-0.99, reward noise 0-0.5,
random obstacle layouts; nominal: the open 5x5 grid, gamma 0.95, no slip, no noise), each task
through ``theory_rl.experiments.Sweep`` (serial on one core by default; resumable stores under /tmp):

- five learners, ``--instances`` x ``--seeds`` (1,000 x 2): plug-in planning (5 samples per pair),
  synchronous Q-learning (5 iterations, i.e. 5 samples per pair), variance-reduced Q-learning
  (1 epoch), value iteration stopped after 5 backups (true model, truncated budget) and UCBVI-CH
  (5 S A transitions in episodes of 20, tuned bonus: see ``ucbvi_episodic``);
- the four fast ones at the issue's full size, ``--instances`` x ``--full-seeds`` (1,000 x 10);
- the five plus double DQN (``theory_rl.approx.dqn``, 3,000 steps) on ``--dqn-instances`` x 2 (20 x 2).

Reports for each: family mean/IQM with 95% stratified-bootstrap CIs (rliable), probability of
improvement, Kendall tau and rank flips between the nominal and the family rankings, k-means
representatives' J_fam error as k grows, time per task by method and the projected time of
1,000 instances x 10 seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from theory_rl.families import (
    evaluate_family,
    family_statistics,
    gridworld_family,
    rank_agreement,
    representative_error,
)
from theory_rl.learning import plug_in_planning, q_learning, ucbvi, variance_reduced_q_learning
from theory_rl.tabular import value_iteration


def plug_in(mdp, seed):
    return plug_in_planning(mdp, n_per_pair=5, seed=seed)


def qlearning(mdp, seed):
    return q_learning(mdp, max_iter=5, seed=seed)


def vr_qlearning(mdp, seed):
    return variance_reduced_q_learning(mdp, n_epochs=1, epoch_length=4, recentering_samples=1, seed=seed)


def truncated_vi(mdp, seed):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return value_iteration(mdp, max_iter=5).policy


UCBVI_HORIZON = 20
UCBVI_BONUS = 0.05


def ucbvi_episodic(mdp, seed):
    """UCBVI-CH with horizon 20 and ``5 S A`` transitions (the others' budget) on the rewards rescaled to
    ``[0, 1]`` (a positive affine map of every reward, the absorbing goal's included: the same optimal
    finite-horizon policies); its first-step policy
    is scored on the discounted member. ``bonus_scale = 0.05``: with the paper's bonus nothing is
    learned below ~1e4 visits per pair, so this voids UCBVI's regret guarantee (a tuned baseline)."""
    R = np.asarray(mdp.R, dtype=float)
    span = R.max() - R.min()
    # the goal stays absorbing but is no longer flagged terminal (terminal states must earn 0): it earns the
    # rescaled 0, i.e. more than every step elsewhere, as it did (0 > -1) before the shift
    scaled = mdp.replace(R=(R - R.min()) / span if span > 0 else np.zeros_like(R),
                         terminal=np.zeros(mdp.n_states, dtype=bool))
    n_episodes = max(1, -(-5 * mdp.n_states * mdp.n_actions // UCBVI_HORIZON))
    res = ucbvi(scaled, horizon=UCBVI_HORIZON, n_episodes=n_episodes, bonus_scale=UCBVI_BONUS, seed=seed)
    return np.asarray(res.policy)[0]


DQN_STEPS = 3000


def dqn_small(mdp, seed):
    """Double DQN from ``theory_rl.approx`` on one-hot states, 3,000 steps (episodes of 50), greedy policy."""
    import torch

    from theory_rl.approx import TabularEnv, dqn

    torch.set_num_threads(1)
    env = TabularEnv(mdp, horizon=50)
    res = dqn(env, gamma=mdp.gamma, total_steps=DQN_STEPS, hidden=(64,), learning_starts=500, batch_size=32,
              target_update=250, seed=seed, device="cpu")
    with torch.no_grad():
        q = res.networks["q"](torch.eye(mdp.n_states, dtype=torch.float32))
    return q.argmax(dim=1).numpy()


METHODS = {"plug_in": plug_in, "q_learning": qlearning, "vr_q_learning": vr_qlearning, "vi_5_backups": truncated_vi,
           "ucbvi": ucbvi_episodic}
WITH_DQN = {**METHODS, "dqn": dqn_small}
FAST = {k: METHODS[k] for k in ("plug_in", "q_learning", "vr_q_learning", "vi_5_backups")}  # fit 1,000 x 10


def study(methods: dict, n_instances: int, seeds: int, backend: str, n_jobs: int, store: str | None) -> dict:
    fam = gridworld_family()
    from_store = Path(store).read_text().count("\n") if store and Path(store).exists() else 0
    t0 = time.perf_counter()
    df = evaluate_family(methods, fam, n_instances=n_instances, seeds=seeds, seed=0, backend=backend,
                         n_jobs=n_jobs, store=store)
    wall = time.perf_counter() - t0
    stats = family_statistics(df, n_boot=2000, seed=0)
    nominal = df[df["instance"] == -1].groupby("method")["normalized"].mean()
    family = df[df["instance"] >= 0].groupby("method")["normalized"].mean()
    agree = rank_agreement(nominal, family, atol=1e-9)
    phis = df[(df["instance"] >= 0) & (df["method"] == "plug_in") & (df["replicate"] == 0)]
    phis = phis.sort_values("instance")
    per_instance = df[df["instance"] >= 0].groupby(["method", "instance"])["normalized"].mean()
    ks = sorted({k for k in (1, 2, 5, 10, 20, 50, n_instances) if k <= n_instances})
    errors = {m: representative_error(phis[["size", "slip", "gamma", "reward_noise"]], per_instance[m].to_numpy(),
                                      ks=ks, seed=0)["error"].tolist() for m in methods}
    n_tasks = len(df)
    return {
        "methods": sorted(methods), "n_instances": n_instances, "seeds": seeds, "backend": backend,
        "n_jobs": n_jobs if backend != "serial" else 1, "tasks": n_tasks, "tasks_from_store": from_store,
        "wall_s": wall, "task_seconds_total": float(df["elapsed"].sum()),
        "seconds_per_task": df["elapsed"].mean() if from_store else wall / n_tasks,
        "projected_wall_s_1000x10": (df["elapsed"].mean() if from_store else wall / n_tasks) * 1001 * 10 * len(methods),
        "task_seconds_by_method": df.groupby("method")["elapsed"].mean().round(5).to_dict(),
        "family_table": stats.table.round(4).to_dict("records"),
        "probability_of_improvement_row_beats_column": stats.improvement.round(4).to_dict("index"),
        "nominal_mean": nominal.round(4).to_dict(), "family_mean": family.round(4).to_dict(),
        "kendall_tau": agree.tau, "rank_flips": agree.rank_flips, "point_ties": agree.point_ties,
        "n_pairs": agree.n_pairs,
        "nominal_ranking": agree.point_ranking, "family_ranking": agree.family_ranking,
        "kmeans_ks": ks, "kmeans_abs_error": errors,
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--full-seeds", type=int, default=10)
    ap.add_argument("--dqn-instances", type=int, default=20)
    ap.add_argument("--backend", default="serial", choices=["serial", "joblib"])
    ap.add_argument("--n-jobs", type=int, default=1)
    args = ap.parse_args(argv)
    if args.quick:
        print(json.dumps(study(METHODS, 20, 2, args.backend, args.n_jobs, None), indent=1, default=str))
        return
    store = f"/tmp/theory_rl_families_{args.instances}x{args.seeds}.jsonl"
    out = study(METHODS, args.instances, args.seeds, args.backend, args.n_jobs, store)
    out["fast_full"] = study(FAST, args.instances, args.full_seeds, args.backend, args.n_jobs,
                             f"/tmp/theory_rl_families_fast_{args.instances}x{args.full_seeds}.jsonl")
    out["with_dqn"] = study(WITH_DQN, args.dqn_instances, 2, args.backend, args.n_jobs,
                            f"/tmp/theory_rl_families_dqn_{args.dqn_instances}x2.jsonl")
    out.update({
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "python": sys.version.split()[0],
        "command": f"OMP_NUM_THREADS=1 python bench/families.py --instances {args.instances} --seeds {args.seeds} "
                   f"--full-seeds {args.full_seeds} --dqn-instances {args.dqn_instances} --backend {args.backend} --n-jobs {args.n_jobs}",
    })
    print(json.dumps(out, indent=1, default=str))
    path = Path(__file__).parent / "results" / "families.json"
    path.write_text(json.dumps(out, indent=1, default=str))
    print("wrote", path)


if __name__ == "__main__":
    main()
