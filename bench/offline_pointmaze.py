"""The Point Maze stitching study of Zhou et al. (2024, arXiv 2310.19308) on the library's
discretised re-creation of the map (`envs.point_maze`), and the peer speed of torch RCSL.

Methods (5 seeds; one dataset of 4 x 250 episodes per seed; every network reads the (x, y)
position of the lattice point):

- ours: MBRCSL (`offline.mbrcsl_torch`: 7-member Gaussian ensemble, 5 elites, categorical
  behaviour policy, rollouts kept above the data's best return, MLP RCSL), RCSL (`rcsl_torch`,
  MLP) and DT (`rcsl_torch`, causal transformer, context 5), conditioned on the data's best
  return (MBRCSL: the best kept rollout's);
- d3rlpy: DiscreteBC, DiscreteCQL, DiscreteDecisionTransformer and IQL (continuous-only in
  d3rlpy: actions as +-0.9 one-hot vectors, the greedy action the argmax of its output);
- exact references: the optimum (backward induction), the data's best return, tabular RCSL and
  tabular MBRCSL (counts).

All policies act greedily; the maze and its start are deterministic, so one rollout per policy
is its exact return. Networks and step budgets are smaller than the paper's (its RCSL is 2 x 1024
for 100 epochs, its ensemble 4 x 200; here 2,000 steps for the ensemble and the behaviour policy,
1,000 for every other network): see BUDGET.

Peer speed: wall time per gradient step on the maze data, at equal network sizes, measured as
(best time of a long fit - best time of a short fit) / (difference in steps), after a warm-up fit, so
set-up costs cancel.

    OMP_NUM_THREADS=1 .venv/bin/python bench/offline_pointmaze.py          # writes bench/results/offline_pointmaze.json
    OMP_NUM_THREADS=1 .venv/bin/python bench/offline_pointmaze.py --quick  # 1 seed, tiny budgets, writes nothing

Seeds in parallel processes: e.g. ``--seeds 0,1 --runs-out a.json`` and ``--seeds 2,3 --runs-out b.json``,
then ``--runs-in a.json b.json`` tabulates them, times the peers and writes the results file
(wall_s then sums the processes' times).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from theory_rl import __version__, envs
from theory_rl.offline import mbrcsl, mbrcsl_torch, rcsl_evaluate, rcsl_fit, rcsl_torch
from theory_rl.tabular import backward_induction

BUDGET = {"steps": 1000, "model_steps": 2000, "batch_size": 128, "dt_batch_size": 64, "mlp": (64, 64),
          "ensemble": (64, 64), "dt_width": 32, "dt_context": 5, "n_episodes": 250}
QUICK = {"steps": 100, "model_steps": 100, "batch_size": 64, "dt_batch_size": 32, "mlp": (32, 32), "ensemble": (16,),
         "dt_width": 16, "dt_context": 3, "n_episodes": 20}


def _d3rlpy() -> Any:
    logging.getLogger("d3rlpy").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    import d3rlpy
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    return d3rlpy


def d3rlpy_dataset(d3rlpy: Any, data: Any, positions: np.ndarray, *, continuous: bool = False) -> Any:
    s, a, r, _ = data.transitions()
    ends = np.cumsum([len(x) for x in data.actions]) - 1
    timeouts = np.zeros(s.shape[0], dtype=np.float32)
    timeouts[ends] = 1.0
    actions = (0.9 * (2 * np.eye(data.n_actions)[a] - 1)).astype(np.float32) if continuous else a
    return d3rlpy.dataset.MDPDataset(positions[s].astype(np.float32), actions, r.astype(np.float32),
                                     np.zeros(s.shape[0], dtype=np.float32), timeouts=timeouts,
                                     action_space=d3rlpy.ActionSpace.CONTINUOUS if continuous else None)


def fit_d3rlpy(algo: Any, dataset: Any, n_steps: int) -> float:
    d3rlpy = _d3rlpy()
    t0 = time.perf_counter()
    algo.fit(dataset, n_steps=n_steps, n_steps_per_epoch=n_steps, show_progress=False, save_interval=10**9,
             logger_adapter=d3rlpy.logging.NoopAdapterFactory(), experiment_name="bench", with_timestamp=False)
    return time.perf_counter() - t0


def rollout(maze: Any, act: Any) -> float:
    """Greedy return from the (deterministic) start; ``act(s, reward_before)`` gives the action."""
    s = int(np.argmax(maze.mdp.d0))
    total, reward = 0.0, 0.0
    R = np.asarray(maze.mdp.R)
    for _ in range(maze.horizon):
        a = int(act(s, reward))
        reward = float(R[s, a])
        total += reward
        s = int(maze.next_state[s, a])
    return total


def d3rlpy_algos(d3rlpy: Any, b: dict, H: int) -> dict[str, Any]:
    vec = d3rlpy.models.VectorEncoderFactory
    return {
        "BC (d3rlpy)": (d3rlpy.algos.DiscreteBCConfig(batch_size=b["batch_size"], learning_rate=1e-3,
                                                      encoder_factory=vec(list(b["mlp"]))), False),
        "CQL (d3rlpy)": (d3rlpy.algos.DiscreteCQLConfig(batch_size=b["batch_size"], learning_rate=1e-3, gamma=0.99,
                                                        encoder_factory=vec(list(b["mlp"]))), False),
        "IQL (d3rlpy)": (d3rlpy.algos.IQLConfig(batch_size=b["batch_size"], gamma=0.99,
                                                actor_encoder_factory=vec(list(b["mlp"])),
                                                critic_encoder_factory=vec(list(b["mlp"])),
                                                value_encoder_factory=vec(list(b["mlp"]))), True),
        "DT (d3rlpy)": (d3rlpy.algos.DiscreteDecisionTransformerConfig(
            batch_size=b["dt_batch_size"], learning_rate=1e-3, context_size=b["dt_context"], max_timestep=H + 1,
            num_heads=1, num_layers=1, encoder_factory=vec([b["dt_width"]]), attn_dropout=0.0, resid_dropout=0.0,
            embed_dropout=0.0, warmup_tokens=0), False),
    }


def study(seed: int, b: dict) -> dict[str, float]:
    d3rlpy = _d3rlpy()
    maze = envs.point_maze()
    pos = maze.positions
    data = envs.point_maze_dataset(maze, n_episodes=b["n_episodes"], seed=seed)
    H, best = maze.horizon, float(data.episode_returns.max())
    out: dict[str, float] = {"data best": best}
    out["optimum"] = float(maze.mdp.d0 @ np.asarray(backward_induction(maze.mdp, horizon=H).v)[0])
    out["RCSL (tabular)"] = rcsl_evaluate(rcsl_fit(data), maze.mdp, horizon=H, greedy=True).value
    tab = mbrcsl(data, seed=seed)
    out["MBRCSL (tabular)"] = rcsl_evaluate(tab.policy, maze.mdp, horizon=H, greedy=True).value
    common = dict(features=pos, n_steps=b["steps"], batch_size=b["batch_size"], device="cpu", seed=seed)
    res = mbrcsl_torch(data, n_models=7, n_elites=5, hidden=b["ensemble"], rcsl_hidden=b["mlp"], lr=1e-3,
                       horizon=H, rcsl_steps=b["steps"], **{**common, "n_steps": b["model_steps"]})
    out["MBRCSL (ours)"] = rcsl_evaluate(res.policy, maze.mdp, horizon=H, greedy=True).value
    out["MBRCSL kept"] = float(res.n_kept)
    out["MBRCSL target"] = res.target_return
    pi = rcsl_torch(data, hidden=b["mlp"], **common)
    out["RCSL (ours)"] = rcsl_evaluate(pi, maze.mdp, horizon=H, greedy=True).value
    dt = rcsl_torch(data, context="transformer", context_len=b["dt_context"], hidden=(b["dt_width"],),
                    **{**common, "batch_size": b["dt_batch_size"]})
    out["DT (ours)"] = rcsl_evaluate(dt, maze.mdp, horizon=H, greedy=True).value
    d3rlpy.seed(seed)
    for name, (config, continuous) in d3rlpy_algos(d3rlpy, b, H).items():
        algo = config.create(device="cpu:0")
        fit_d3rlpy(algo, d3rlpy_dataset(d3rlpy, data, pos, continuous=continuous), b["steps"])
        if name.startswith("DT"):
            actor = algo.as_stateful_wrapper(target_return=best,
                                             action_sampler=d3rlpy.algos.GreedyTransformerActionSampler())
            out[name] = rollout(maze, lambda s, r, actor=actor: actor.predict(pos[s].astype(np.float32), r))
        elif continuous:
            out[name] = rollout(maze, lambda s, r, algo=algo: np.argmax(algo.predict(pos[s][None].astype(np.float32))[0]))
        else:
            out[name] = rollout(maze, lambda s, r, algo=algo: algo.predict(pos[s][None].astype(np.float32))[0])
    return out


def per_step(fit: Any, short: int, long: int) -> float:
    """Seconds per step: a warm-up fit, then the best of two short and two long fits (the loaded
    machine's noise only adds time)."""
    fit(short)
    t_short = min(fit(short) for _ in range(2))
    t_long = min(fit(long) for _ in range(2))
    return (t_long - t_short) / (long - short)


def speed(b: dict, quick: bool) -> list[dict]:
    d3rlpy = _d3rlpy()
    maze = envs.point_maze()
    data = envs.point_maze_dataset(maze, n_episodes=b["n_episodes"], seed=0)
    pos = maze.positions
    short, long = (20, 120) if quick else (50, 350)
    rows = []
    for width in ((64, 64), (256, 256)):
        def ours(n: int, width: tuple = width) -> float:
            return rcsl_torch(data, features=pos, hidden=width, n_steps=n, batch_size=256, device="cpu", seed=0).elapsed

        def peer(n: int, width: tuple = width) -> float:
            algo = d3rlpy.algos.DiscreteBCConfig(batch_size=256, encoder_factory=d3rlpy.models.VectorEncoderFactory(
                list(width))).create(device="cpu:0")
            return fit_d3rlpy(algo, d3rlpy_dataset(d3rlpy, data, pos), n)

        a, p = per_step(ours, short, long), per_step(peer, short, long)
        rows.append({"learner": f"RCSL MLP {width} vs DiscreteBC", "ours_ms": 1e3 * a, "peer_ms": 1e3 * p,
                     "ratio": a / p})
        print(f"{rows[-1]['learner']:42s} ours {1e3 * a:7.3f} ms  d3rlpy {1e3 * p:7.3f} ms  ratio {a / p:.2f}")
    for width, K in ((32, 5), (64, 10)):
        def ours_dt(n: int, width: int = width, K: int = K) -> float:
            return rcsl_torch(data, features=pos, context="transformer", context_len=K, hidden=(width,), n_steps=n,
                              batch_size=64, device="cpu", seed=0).elapsed

        def peer_dt(n: int, width: int = width, K: int = K) -> float:
            algo = d3rlpy.algos.DiscreteDecisionTransformerConfig(
                batch_size=64, context_size=K, max_timestep=maze.horizon + 1, num_heads=1, num_layers=1,
                encoder_factory=d3rlpy.models.VectorEncoderFactory([width]), attn_dropout=0.0, resid_dropout=0.0,
                embed_dropout=0.0).create(device="cpu:0")
            return fit_d3rlpy(algo, d3rlpy_dataset(d3rlpy, data, pos), n)

        a, p = per_step(ours_dt, short, long), per_step(peer_dt, short, long)
        rows.append({"learner": f"DT width {width}, context {K} vs DiscreteDT", "ours_ms": 1e3 * a, "peer_ms": 1e3 * p,
                     "ratio": a / p})
        print(f"{rows[-1]['learner']:42s} ours {1e3 * a:7.3f} ms  d3rlpy {1e3 * p:7.3f} ms  ratio {a / p:.2f}")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds of the study")
    ap.add_argument("--runs-out", help="write the seeds' returns to this file and stop (to run seeds in parallel)")
    ap.add_argument("--runs-in", nargs="*", default=[], help="read the seeds' returns from these files")
    args = ap.parse_args()
    torch.set_num_threads(1)
    b = QUICK if args.quick else BUDGET
    seeds = [0] if args.quick else [int(x) for x in args.seeds.split(",")]
    t0 = time.perf_counter()
    runs = []
    for path in args.runs_in:
        part = json.loads(Path(path).read_text())
        runs += part["runs"]
        t0 -= part["wall_s"]
    for seed in [] if args.runs_in else seeds:
        runs.append(study(seed, b))
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.2f}" for k, v in runs[-1].items()), flush=True)
    if args.runs_out:
        Path(args.runs_out).write_text(json.dumps({"runs": runs, "wall_s": time.perf_counter() - t0}))
        return
    if args.runs_in:
        seeds = list(range(len(runs)))
    names = list(runs[0])
    table = {k: {"mean": float(np.mean([r[k] for r in runs])), "std": float(np.std([r[k] for r in runs])),
                 "runs": [r[k] for r in runs]} for k in names}
    for k, v in table.items():
        print(f"{k:20s} {v['mean']:8.2f} +- {v['std']:.2f}")
    rows = speed(b, args.quick)
    if not args.quick:
        out = Path(__file__).resolve().parent / "results" / "offline_pointmaze.json"
        out.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": platform.platform(), "python": platform.python_version(), "theory_rl": __version__,
            "torch": torch.__version__, "d3rlpy": _d3rlpy().__version__,
            "command": "OMP_NUM_THREADS=1 .venv/bin/python bench/offline_pointmaze.py"
                       + (" (the seeds in parallel processes with --seeds/--runs-out, then --runs-in)" if args.runs_in else ""),
            "budget": {k: list(v) if isinstance(v, tuple) else v for k, v in b.items()}, "seeds": seeds,
            "returns": table, "speed": rows, "wall_s": time.perf_counter() - t0,
        }, indent=2) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
