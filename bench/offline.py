"""Offline RL / imitation benchmark for theory_rl.dual: f-DVL and ReCOIL against behaviour cloning
and the exact optimum, on datasets the library generates from tabular MDPs (no download).

Every policy is scored by its exact discounted return from d0 (policy evaluation on the true
model), normalised as ``100 * (J(pi) - J(uniform)) / (J(pi*) - J(uniform))``: 0 is the uniform
random policy, 100 the optimum. Datasets mix expert episodes (the optimal policy with 10% random
actions) and uniformly random episodes. ReCOIL sees the expert episodes as D_E and the whole
dataset as D_S, and ignores rewards.

No number here is compared with the paper's D4RL tables (arXiv 2302.08560): the instances differ.

    .venv/bin/python bench/offline.py            # full run, writes bench/results/offline.json
    .venv/bin/python bench/offline.py --quick    # 2 seeds, one dataset size, writes nothing
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _common import with_provenance  # noqa: E402  (bench/ is sys.path[0] when a script runs)

from theory_rl import __version__, dual, envs, tabular

METHODS = ("expert", "bc", "fdvl-chi2", "fdvl-chi2-greedy", "fdvl-tv", "fdvl-gumbel", "recoil")


def instances(quick: bool):
    out = [("random_mdp(20, 4, gamma=0.9)", lambda seed: envs.random_mdp(20, 4, seed=seed, gamma=0.9)),
           ("garnet(30, 4, 3, gamma=0.9)", lambda seed: envs.garnet(30, 4, 3, seed=seed, gamma=0.9))]
    if not quick:
        out.append(("gridworld(5, 5, slip=0.1, gamma=0.9)", lambda seed: envs.gridworld(5, 5, slip=0.1, gamma=0.9)))
    return out


def run_one(mdp, *, n_episodes: int, expert_fraction: float, seed: int) -> dict[str, float]:
    opt = tabular.policy_iteration(mdp)
    d0 = np.asarray(mdp.d0)
    J = lambda pi: float(d0 @ tabular.policy_value(mdp, pi))  # noqa: E731
    uniform = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    j_star, j_rand = float(d0 @ opt.v), J(uniform)
    data = dual.collect_dataset(mdp, expert_policy=opt.policy, n_episodes=n_episodes, episode_length=30,
                                expert_fraction=expert_fraction, exploration=0.1, seed=seed)
    g = mdp.gamma
    r_span = float(np.ptp(mdp.R)) or 1.0
    scores, times = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dual.DegenerateObjectiveWarning)
        for name in METHODS:
            t0 = time.perf_counter()
            if name == "expert":  # the data-generating expert (optimal + 10% random actions)
                pi = 0.9 * np.eye(mdp.n_actions)[opt.policy] + 0.1 * uniform
            elif name == "bc":
                pi = dual.behaviour_cloning(data)
            elif name == "fdvl-chi2":
                pi = dual.fdvl(data, gamma=g, f="chi2", lam=0.9, beta=3.0 / r_span).policy
            elif name == "fdvl-chi2-greedy":  # same critic, in-sample argmax instead of AWR
                pi = dual.fdvl(data, gamma=g, f="chi2", lam=0.9).greedy_policy
            elif name == "fdvl-tv":
                pi = dual.fdvl(data, gamma=g, f="tv", lam=0.8, beta=3.0 / r_span).policy
            elif name == "fdvl-gumbel":
                pi = dual.fdvl(data, gamma=g, f="gumbel", lam=0.1 * r_span, beta=3.0 / r_span).policy
            else:
                if not data.is_expert.any():
                    scores[name] = float("nan")
                    continue
                expert = data.subset(data.is_expert)
                pi = dual.recoil(expert, data, gamma=g, beta=0.5, f="chi2", lam=0.9, awr_beta=3.0).policy
            times[name] = time.perf_counter() - t0
            scores[name] = 100.0 * (J(pi) - j_rand) / (j_star - j_rand)
    return {"scores": scores, "seconds": times, "n_transitions": len(data),
            "expert_transitions": int(data.is_expert.sum())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 seeds, 20 episodes only; writes nothing")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "offline.json"))
    args = ap.parse_args(argv)
    seeds = args.seeds or (2 if args.quick else 5)
    sizes = (20,) if args.quick else (10, 50)
    fractions = (0.1, 0.5)
    rows = []
    t_start = time.perf_counter()
    for inst_name, make in instances(args.quick):
        for n_ep in sizes:
            for frac in fractions:
                runs = [run_one(make(seed), n_episodes=n_ep, expert_fraction=frac, seed=1000 + seed)
                        for seed in range(seeds)]
                row = {"instance": inst_name, "episodes": n_ep, "expert_fraction": frac, "seeds": seeds,
                       "transitions": runs[0]["n_transitions"]}
                for m in METHODS:
                    vals = np.array([r["scores"][m] for r in runs], dtype=float)
                    row[m] = float(np.nanmean(vals))
                    row[m + "_se"] = float(np.nanstd(vals) / np.sqrt(max(1, np.isfinite(vals).sum())))
                    row[m + "_runs"] = int(np.isfinite(vals).sum())  # ReCOIL needs >= 1 expert episode
                    row[m + "_seconds"] = float(np.mean([r["seconds"].get(m, np.nan) for r in runs]))
                rows.append(row)
                print(f"{inst_name:38s} ep={n_ep:3d} expert={frac:.1f}  " +
                      "  ".join(f"{m}={row[m]:6.1f}±{row[m + '_se']:.1f}" for m in METHODS), flush=True)
    elapsed = time.perf_counter() - t_start
    print()
    print("| instance | episodes | expert frac | " + " | ".join(METHODS) + " |")
    print("|---|---:|---:|" + "---:|" * len(METHODS))
    for r in rows:
        print(f"| {r['instance']} | {r['episodes']} | {r['expert_fraction']} | "
              + " | ".join(f"{r[m]:.1f} ± {r[m + '_se']:.1f}" + ("" if r[m + "_runs"] == r["seeds"] else f" ({r[m + '_runs']})")
                       for m in METHODS) + " |")
    print(f"\nnormalised score: 0 = uniform random policy, 100 = optimal; mean ± s.e. over seeds (ReCOIL: over "
          f"the seeds whose data hold an expert episode); {elapsed:.1f} s")
    if not args.quick:
        meta = {
            "benchmark": "offline", "theory_rl": __version__, "python": sys.version.split()[0],
            "machine": platform.platform(), "elapsed_s": elapsed,
            "paper": "Sikchi, Zheng, Zhang, Niekum, Dual RL, ICLR 2024, arXiv 2302.08560 (no paper numbers compared:"
                     " D4RL is not used)",
            "environments": "theory_rl.envs tabular models (no gym/gymnasium environments)",
            "metric": "100 * (J(pi) - J(uniform)) / (J(pi*) - J(uniform)); J = exact discounted return from d0",
            "dataset": "episodes of 30 steps from d0; expert = optimal policy with 10% random actions; "
                       "the rest uniformly random",
            "settings": {"fdvl-chi2": "lam 0.9", "fdvl-tv": "lam 0.8", "fdvl-gumbel": "temperature 0.1*reward span",
                         "awr_beta": "3 / reward span (f-DVL), 3 (ReCOIL)", "recoil": "beta 0.5, chi2 lam 0.9"},
            "note": "timings taken on a shared 2-core machine under load",
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(with_provenance({"meta": meta, "rows": rows}), indent=1))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
