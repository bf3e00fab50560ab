"""Does model-generated experience beat replay alone in the factored tasks, low-data regime?

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python bench/model_based_generalization.py          # writes bench/results/model_based_generalization.json
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python bench/model_based_generalization.py --quick  # 60 steps, 2 seeds (a smoke run)
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python bench/model_based_generalization.py --long   # ProcMaze, 1,000 steps, ER and the latent agents: ..._long.json

Young, Ramesh, Kirsch & Schmidhuber (2023, arXiv:2211.02222), Figure 4's claim: in ButtonGrid,
ProcMaze and PanFlute (combinatorial but factored), DQN trained on experience from a learned model
learns faster online than DQN on replay alone, most clearly in the low-data regime. The paper's
agents (ER, simple model, perfect model, categorical-latent and Gaussian-latent models) with the
paper's low-data settings (10 updates per environment step, a target copy every 10 steps,
rollouts of 10 steps from 32 replayed states, ER batches of 320, model step size 2e-4, Adam with
beta2 0.99 and eps 1e-5) and, per agent and task, the step size and softmax temperature the
authors tuned for that cell (TUNED below, from the README of their code supplement,
github.com/kenjyoung/Model_Generalization_Code_supplement, table "Optimal Hyperparameters for
Figure 4"). Smaller than the paper: one seeded layout per task (ButtonGrid 4 x 4 with 2 buttons,
ProcMaze 5 x 5, PanFlute with 3 pipes), 5 seeds batched in one network call, 600 environment
steps, learning from step 100 (the paper: 30 seeds, 10^5 steps, learning from step 1,000, a new
layout at every reset); one hidden layer of 64 ELU units (the paper: three of 200); latents of
8 categorical variables with 8 classes, or 8 Gaussians (the paper: 32 x 32 and 32). Curves are
exact: each seed's greedy policy is evaluated on the task's model every 50 steps, and normalised
as (V^pi - V^uniform) / (V* - V^uniform) on d0. The score of a run is the area under its
normalised curve (the mean over the evaluations); the claim is read as a 95% interval on the
difference of mean areas (model agent minus replay, Welch, over seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from theory_rl import approx, envs

sys.path.insert(0, str(Path(__file__).parent))
from _common import with_provenance  # noqa: E402

AGENTS = ("replay", "learned", "perfect", "categorical_latent", "gaussian_latent")
LABELS = {"replay": "ER (replay only)", "learned": "simple model (observations)", "perfect": "perfect model",
          "categorical_latent": "categorical latent model", "gaussian_latent": "Gaussian latent model"}
# (agent, environment, regime) -> (Q step size, softmax temperature): the authors' tuned values
# (README of github.com/kenjyoung/Model_Generalization_Code_supplement, "Optimal Hyperparameters
# for Figure 4"); "learned" is their "Simple Model".
TUNED = {
    ("learned", "ProcMaze", "high"): (2e-4, 0.8), ("learned", "ProcMaze", "low"): (2.5e-5, 0.4),
    ("learned", "ButtonGrid", "high"): (2e-4, 1.6), ("learned", "ButtonGrid", "low"): (5e-5, 0.4),
    ("learned", "PanFlute", "high"): (1e-4, 0.4), ("learned", "PanFlute", "low"): (2e-4, 0.2),
    ("perfect", "ProcMaze", "high"): (1e-4, 0.4), ("perfect", "ProcMaze", "low"): (4e-4, 0.4),
    ("perfect", "ButtonGrid", "high"): (2e-4, 0.0125), ("perfect", "ButtonGrid", "low"): (2e-4, 0.0125),
    ("perfect", "PanFlute", "high"): (2e-4, 0.1), ("perfect", "PanFlute", "low"): (1e-4, 0.1),
    ("replay", "ProcMaze", "high"): (5e-5, 0.1), ("replay", "ProcMaze", "low"): (2.5e-5, 1.6),
    ("replay", "ButtonGrid", "high"): (5e-5, 0.0125), ("replay", "ButtonGrid", "low"): (2.5e-5, 0.1),
    ("replay", "PanFlute", "high"): (1e-4, 0.1), ("replay", "PanFlute", "low"): (3.125e-6, 0.8),
    ("categorical_latent", "ProcMaze", "high"): (2e-4, 1.6), ("categorical_latent", "ProcMaze", "low"): (1e-4, 0.8),
    ("categorical_latent", "ButtonGrid", "high"): (1e-4, 0.05), ("categorical_latent", "ButtonGrid", "low"): (2e-4, 0.1),
    ("categorical_latent", "PanFlute", "high"): (8e-4, 0.05), ("categorical_latent", "PanFlute", "low"): (1.6e-3, 0.05),
    ("gaussian_latent", "ProcMaze", "high"): (3.125e-6, 12.8), ("gaussian_latent", "ProcMaze", "low"): (3.125e-6, 0.8),
    ("gaussian_latent", "ButtonGrid", "high"): (1.25e-5, 0.1), ("gaussian_latent", "ButtonGrid", "low"): (2.5e-5, 0.8),
    ("gaussian_latent", "PanFlute", "high"): (2e-4, 0.1), ("gaussian_latent", "PanFlute", "low"): (2e-4, 0.1),
}
REGIME = "low"


def pan_flute_task(n_pipes: int) -> envs.FactoredTask:
    """PanFlute with the authors' observation: the pipes' cells concatenated (bit i of the state)."""
    mdp = envs.pan_flute(n_pipes)
    n_bits = n_pipes * (n_pipes + 3) // 2
    bits = ((np.arange(mdp.n_states)[:, None] >> np.arange(n_bits)[None, :]) & 1).astype(np.int64)
    return envs.FactoredTask(mdp=mdp, observations=bits.astype(np.float32), factors=bits,
                             factor_names=tuple(f"cell_{i}" for i in range(n_bits)), layout=np.zeros((1, 1), np.int64))


def uniform_return(task: envs.FactoredTask) -> float:
    m = task.mdp.to_dense()
    P, R = np.asarray(m.P).mean(axis=1), np.asarray(m.R).mean(axis=1)
    v = np.linalg.solve(np.eye(m.n_states) - m.gamma * P, R)
    return float(m.d0 @ v)


def interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and a 95% normal-approximation interval over seeds (axis 0)."""
    mean, se = x.mean(axis=0), x.std(axis=0, ddof=1) / np.sqrt(len(x))
    return mean, mean - 1.96 * se, mean + 1.96 * se


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--long", action="store_true", help="ProcMaze only, 1,000 steps, ER and the two latent agents")
    args = ap.parse_args()
    torch.set_num_threads(1)
    n_seeds, steps = (2, 60) if args.quick else (5, 1000 if args.long else 600)
    agents = ("replay", "categorical_latent", "gaussian_latent") if args.long else AGENTS
    options = {"n_seeds": n_seeds, "total_steps": steps, "updates_per_step": 10, "target_update": 10,
               "rollout_length": 10, "hidden": (64,), "model_lr": 2e-4, "batch_size": 32,
               "learning_starts": 20 if args.quick else 100, "evaluate_every": 20 if args.quick else 50,
               "n_latents": 8, "latent_classes": 8, "device": "cpu"}
    tasks = {"ButtonGrid 4x4, 2 buttons": ("ButtonGrid", envs.button_grid(4, 2, seed=1)),
             "ProcMaze 5x5": ("ProcMaze", envs.proc_maze(5, seed=1)),
             "PanFlute, 3 pipes": ("PanFlute", pan_flute_task(3))}
    if args.long:
        tasks = {"ProcMaze 5x5": tasks["ProcMaze 5x5"]}
    results, curves = [], {}
    for name, (family, task) in tasks.items():
        base = uniform_return(task)
        for agent in agents:
            lr, temperature = TUNED[(agent, family, REGIME)]
            t0, c0 = time.perf_counter(), time.process_time()
            res = approx.dyna_dqn(task, model=agent, seed=0, lr=lr, temperature=temperature, **options)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            norm = (res.returns - base) / (res.optimal_return - base)
            auc = norm.mean(axis=1)
            curves[(name, agent)] = (res.steps, norm)
            m, lo, hi = interval(auc)
            results.append({"task": name, "agent": agent, "label": LABELS[agent], "lr": lr, "temperature": temperature,
                            "auc_mean": float(m), "auc_low": float(lo), "auc_high": float(hi),
                            "final_mean": float(norm[:, -1].mean()), "auc_per_seed": auc.tolist(),
                            "optimal_return": res.optimal_return, "uniform_return": base,
                            "wall_s": wall, "cpu_s": cpu, "steps": res.steps.tolist(),
                            "curve_mean": norm.mean(axis=0).tolist(), "curve_per_seed": norm.tolist()})
            print(json.dumps({k: v for k, v in results[-1].items()
                              if k not in ("steps", "curve_mean", "curve_per_seed", "auc_per_seed")}),
                  flush=True)
    claims = []
    for name in tasks:
        ref = np.array(next(r["auc_per_seed"] for r in results if r["task"] == name and r["agent"] == "replay"))
        for agent in agents[1:]:
            x = np.array(next(r["auc_per_seed"] for r in results if r["task"] == name and r["agent"] == agent))
            diff = x.mean() - ref.mean()
            se = np.sqrt(x.var(ddof=1) / len(x) + ref.var(ddof=1) / len(ref))
            claims.append({"task": name, "agent": agent, "auc_minus_replay": float(diff),
                           "low": float(diff - 1.96 * se), "high": float(diff + 1.96 * se),
                           "verdict": "better" if diff - 1.96 * se > 0 else ("worse" if diff + 1.96 * se < 0 else "no difference")})
            print(json.dumps(claims[-1]), flush=True)
    suffix = "_quick" if args.quick else ("_long" if args.long else "")
    figure(curves, tasks, agents, Path(__file__).parent / "figures" / f"model_based_generalization{suffix}.png")
    doc = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                       "memory_GiB": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
                       "note": "shared 2-core VM, loaded; torch.set_num_threads(1)"},
           "regime": REGIME, "tuned_source": "README of github.com/kenjyoung/Model_Generalization_Code_supplement",
           "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()},
           "tasks": list(tasks), "results": results, "claims": claims,
           "total_wall_s": float(sum(r["wall_s"] for r in results)),
           "total_cpu_s": float(sum(r["cpu_s"] for r in results))}
    out = Path(__file__).parent / "results" / f"model_based_generalization{suffix}.json"
    out.write_text(json.dumps(with_provenance(doc), indent=1))
    print("wrote", out)


def figure(curves: dict, tasks: dict, agents: tuple[str, ...], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 3.8), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), tasks):
        for agent in agents:
            steps, norm = curves[(name, agent)]
            m, lo, hi = interval(norm)
            ax.plot(steps, m, label=LABELS[agent])
            ax.fill_between(steps, lo, hi, alpha=0.2)
        ax.set_title(name)
        ax.set_xlabel("environment steps")
        ax.axhline(1.0, color="k", lw=0.5, ls=":")
    np.atleast_1d(axes)[0].set_ylabel("normalised return of the greedy policy")
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=len(agents))  # below the panels, over no curve
    fig.suptitle("Low-data regime (10 updates per step, tuned step sizes and temperatures), mean and 95% CI over seeds",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
