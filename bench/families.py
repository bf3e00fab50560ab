"""Rank the library's learners on the point MDP and on its family (task underspecification, in the small).

    PYTHONPATH=. .venv/bin/python bench/families.py                    # 200 instances x 3 seeds, writes results/families.json
    PYTHONPATH=. .venv/bin/python bench/families.py --instances 1000 --seeds 10   # the issue's full size
    PYTHONPATH=. .venv/bin/python bench/families.py --quick            # 20 x 2, writes nothing

Methods, each given the same generative budget where it has one: plug-in planning (5 samples per
pair), synchronous Q-learning (5 iterations, i.e. 5 samples per pair), variance-reduced
Q-learning (1 epoch), and value iteration stopped after 5 backups (a planner with the true
model but a truncated budget). The family is ``gridworld_family()`` (size 4-7, slip 0-0.4,
gamma 0.9-0.99, reward noise 0-0.5, random obstacle layouts); the nominal member is the open
5x5 grid, gamma 0.95, no slip, no noise. Every task runs through ``theory_rl.experiments.Sweep``
(joblib, resumable store under /tmp). Reports: family mean/IQM with 95% stratified-bootstrap
CIs, probability of improvement, Kendall tau and rank flips between the nominal and the family
rankings, k-means representatives' J_fam error as k grows, wall time and the projected time of
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

from theory_rl.families import (
    evaluate_family,
    family_statistics,
    gridworld_family,
    rank_agreement,
    representative_error,
)
from theory_rl.learning import plug_in_planning, q_learning, variance_reduced_q_learning
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


METHODS = {"plug_in": plug_in, "q_learning": qlearning, "vr_q_learning": vr_qlearning, "vi_5_backups": truncated_vi}


def run(n_instances: int, seeds: int, n_jobs: int, store: str | None) -> dict:
    fam = gridworld_family()
    t0 = time.perf_counter()
    df = evaluate_family(METHODS, fam, n_instances=n_instances, seeds=seeds, seed=0, backend="joblib",
                         n_jobs=n_jobs, store=store)
    wall = time.perf_counter() - t0
    stats = family_statistics(df, n_boot=2000, seed=0)
    nominal = df[df["instance"] == -1].groupby("method")["normalized"].mean()
    family = df[df["instance"] >= 0].groupby("method")["normalized"].mean()
    agree = rank_agreement(nominal, family)
    phis = df[(df["instance"] >= 0) & (df["method"] == "plug_in") & (df["replicate"] == 0)]
    phis = phis.sort_values("instance")
    per_instance = df[df["instance"] >= 0].groupby(["method", "instance"])["normalized"].mean()
    ks = sorted({k for k in (1, 2, 5, 10, 20, 50, n_instances) if k <= n_instances})
    errors = {m: representative_error(phis[["size", "slip", "gamma", "reward_noise"]], per_instance[m].to_numpy(),
                                      ks=ks, seed=0)["error"].tolist() for m in METHODS}
    n_tasks = len(df)
    return {
        "n_instances": n_instances, "seeds": seeds, "n_jobs": n_jobs, "tasks": n_tasks, "wall_s": wall,
        "seconds_per_task": wall / n_tasks,
        "projected_wall_s_1000x10": wall / n_tasks * (1001 * 10 * len(METHODS)),
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
    ap.add_argument("--instances", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args(argv)
    if args.quick:
        print(json.dumps(run(20, 2, args.n_jobs, None), indent=1, default=str))
        return
    store = f"/tmp/theory_rl_families_{args.instances}x{args.seeds}.jsonl"
    out = run(args.instances, args.seeds, args.n_jobs, store)
    out.update({
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "python": sys.version.split()[0],
        "command": f"python bench/families.py --instances {args.instances} --seeds {args.seeds} --n-jobs {args.n_jobs}",
    })
    print(json.dumps(out, indent=1, default=str))
    path = Path(__file__).parent / "results" / "families.json"
    path.write_text(json.dumps(out, indent=1, default=str))
    print("wrote", path)


if __name__ == "__main__":
    main()
