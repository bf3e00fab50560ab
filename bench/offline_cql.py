"""Wall time per gradient step: our torch CQL (theory_rl.offline.cql_torch) against d3rlpy's
DiscreteCQL at equal network sizes on CPU (issue 21's target: ours <= 1.0x d3rlpy's); the growth of
Tiger's histories |H_t| against its belief groups |Z_t|; tabular CQL on history ids and on the groups.

Same data (uniform-behaviour episodes on a random 50-state, 4-action MDP, one-hot 50-d inputs),
the same Q-network (50 -> 64 -> 64 -> 4, ReLU), batch 256, Adam, alpha = 1, one thread. Each
library's step count is timed around its own training call (d3rlpy: ``fit`` with progress,
logging and saving off), after a warm-up call; d3rlpy's own ``time_algorithm_update`` (its update
without batch sampling) is reported beside it, a stricter comparison (ours includes sampling).

    OMP_NUM_THREADS=1 .venv/bin/python bench/offline_cql.py   # writes bench/results/offline_cql.json
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from theory_rl import __version__, envs
from theory_rl.models import FiniteMDP
from theory_rl.offline import (
    belief_grouping,
    collect_trajectories,
    cql,
    cql_torch,
    encode_states,
    enumerate_histories,
    history_bisimulation_metric,
    history_dataset,
)

HIDDEN = (64, 64)
BATCH = 256
STEPS = 2000


def ours(data, steps: int) -> float:
    res = cql_torch(data, gamma=0.99, alpha=1.0, hidden=HIDDEN, n_steps=steps, batch_size=BATCH, lr=3e-4,
                    target_update=100, seed=0, device="cpu")
    return res.seconds_per_step


def d3rlpy_cql(data, S: int, steps: int) -> tuple[float, str]:
    import d3rlpy
    from d3rlpy.logging import NoopAdapterFactory

    s, a, r, _ = data.transitions()
    obs = np.eye(S, dtype=np.float32)[np.concatenate([x for x in data.states])]
    # episodes: observations include the final state of each episode; actions/rewards padded with 0 there
    acts = np.concatenate([np.append(x, 0) for x in data.actions]).astype(np.int64)
    rews = np.concatenate([np.append(x, 0.0) for x in data.rewards]).astype(np.float32)
    ends = np.cumsum([x.size for x in data.states]) - 1
    timeouts = np.zeros(len(obs), dtype=np.float32)
    timeouts[ends] = 1.0
    dataset = d3rlpy.dataset.MDPDataset(obs, acts, rews, np.zeros(len(obs), dtype=np.float32), timeouts)
    cql = d3rlpy.algos.DiscreteCQLConfig(
        encoder_factory=d3rlpy.models.VectorEncoderFactory(hidden_units=list(HIDDEN)), batch_size=BATCH,
        learning_rate=3e-4, alpha=1.0, gamma=0.99, target_update_interval=100,
    ).create(device="cpu")
    kw = {"show_progress": False, "logger_adapter": NoopAdapterFactory(), "save_interval": 10**9}
    cql.fit(dataset, n_steps=50, n_steps_per_epoch=50, **kw)  # warm-up (builds the networks)
    t0 = time.perf_counter()
    metrics = cql.fit(dataset, n_steps=steps, n_steps_per_epoch=steps, **kw)[-1][1]
    return (time.perf_counter() - t0) / steps, metrics["time_algorithm_update"], d3rlpy.__version__


def histories_versus_groups(max_horizon: int) -> list[dict]:
    """Tiger: histories |H_t| per depth against belief groups |Z_t| and exact bisimulation classes."""
    rows = []
    tree = enumerate_histories(envs.tiger(), horizon=max_horizon)
    groups = belief_grouping(tree)
    metric = history_bisimulation_metric(tree)
    for t in range(max_horizon):
        idx = tree.at_depth(t)
        rows.append({"depth": t, "histories": int(idx.size), "belief_groups": int(np.unique(groups[idx]).size),
                     "bisimulation_classes": int(np.unique(metric.labels[idx]).size)})
    return rows


def tabular_cql_times() -> list[dict]:
    """Tabular CQL on Tiger data: on history ids (|H| rows) and on the belief groups (|Z| rows)."""
    m = envs.tiger()
    tree = enumerate_histories(m, horizon=6)
    data = collect_trajectories(m, np.full((2, 3), 1 / 3), n_episodes=5000, horizon=5, seed=0)
    hd = history_dataset(data, tree)
    groups = belief_grouping(tree)
    out = []
    for name, d in (("history ids", hd), ("belief groups", encode_states(hd, groups))):
        t0 = time.perf_counter()
        res = cql(d, gamma=0.95, alpha=1.0)
        out.append({"encoder": name, "rows": d.n_states, "acted_rows": int((res.counts.sum(axis=1) > 0).sum()),
                    "seconds": time.perf_counter() - t0, "n_iter": res.n_iter})
    return out


def main() -> None:
    torch.set_num_threads(1)
    S, A = 50, 4
    rng = np.random.default_rng(0)
    mdp = FiniteMDP(rng.dirichlet(np.full(S, 0.1), size=(S, A)), rng.uniform(-1, 1, (S, A)), 0.99)
    data = collect_trajectories(mdp, np.full((S, A), 1 / A), n_episodes=200, horizon=50, seed=1)
    ours(data, 50)  # warm-up
    rows = []
    for rep in range(2):
        t_ours = ours(data, STEPS)
        t_d3, t_update, version = d3rlpy_cql(data, S, STEPS)
        rows.append({"repeat": rep, "ours_ms_per_step": 1e3 * t_ours, "d3rlpy_ms_per_step": 1e3 * t_d3,
                     "d3rlpy_update_only_ms": 1e3 * t_update, "ratio_ours_over_d3rlpy": t_ours / t_d3,
                     "ratio_ours_over_d3rlpy_update_only": t_ours / t_update})
        print(rows[-1])
    best = {key: min(r[key] for r in rows) for key in ("ours_ms_per_step", "d3rlpy_ms_per_step", "d3rlpy_update_only_ms")}
    best["ratio_ours_over_d3rlpy"] = best["ours_ms_per_step"] / best["d3rlpy_ms_per_step"]
    best["ratio_ours_over_d3rlpy_update_only"] = best["ours_ms_per_step"] / best["d3rlpy_update_only_ms"]
    print("best of repeats:", best)
    growth = histories_versus_groups(8)
    print(growth)
    tab = tabular_cql_times()
    print(tab)
    out = Path(__file__).resolve().parent / "results" / "offline_cql.json"
    out.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.platform(), "python": platform.python_version(), "theory_rl": __version__,
        "torch": torch.__version__, "d3rlpy": version,
        "command": "OMP_NUM_THREADS=1 .venv/bin/python bench/offline_cql.py",
        "setting": {"states": S, "actions": A, "transitions": data.n_transitions, "hidden": list(HIDDEN),
                    "batch_size": BATCH, "steps": STEPS, "device": "cpu", "threads": 1},
        "rows": rows, "best": best, "histories_versus_groups": growth, "tabular_cql": tab,
    }, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
