"""theory_rl.approx benchmarks: batched value iteration throughput, neural learners against the
exact optimum on tabular problems, and gymnasium learning curves / Deep IWOCS.

Run from the repository root::

    .venv/bin/python bench/approx.py --quick        # a few minutes on 2 cores
    .venv/bin/python bench/approx.py                # the recorded run
    .venv/bin/python bench/approx.py --parts throughput tabular

Parts:

- ``throughput``: one batched call of :func:`theory_rl.approx.batched_value_iteration` (tol 1e-6)
  against :func:`theory_rl.tabular.value_iteration` looping over the batch (same answers,
  checked; torch and numba each on one thread, see ``_numpy_loop``), in MDPs/s; and one batched backup's effective bandwidth (bytes of ``P`` read / time)
  next to the machine's measured read bandwidth. CPU always, CUDA when present (with the device's
  name; no GPU was available for the recorded run).
- ``empirical``: :func:`theory_rl.approx.batched_empirical_planning`, 500 empirical models per
  sample size, and the log-log slope of the value error (theory: -1/2).
- ``tabular``: DQN, double DQN, on-/off-policy MDPO and MDPO with the exact critic on random
  MDPs with one-hot inputs, 5 seeds: ``V^pi(d0)`` of the learned policy against ``V*(d0)``.
- ``gym``: CartPole-v1 learning curves for the four sample-based learners, 5 seeds, mean and a
  95% t-interval (bench/figures/approx_cartpole.png).
- ``iwocs``: Deep IWOCS (double DQN critics, CMA-ES search) on CartPole (pole mass, length) and
  Pendulum (mass, length, gravity), evaluated as the worst case over the RRLS 10^d grid against
  the nominal-only learner (bench/figures/approx_iwocs.png).

Results go to bench/results/approx.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Bandwidth, best_time, with_provenance  # noqa: E402

from theory_rl import approx, envs, tabular  # noqa: E402
from theory_rl.errors import ConvergenceWarning  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "approx.json")
FIGURES = os.path.join(HERE, "figures")


def ci95(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the half-width of a 95% Student-t interval along ``axis``."""
    from scipy import stats

    x = np.asarray(x, dtype=float)
    n = x.shape[axis]
    mean = x.mean(axis=axis)
    if n < 2:
        return mean, np.zeros_like(mean)
    return mean, stats.t.ppf(0.975, n - 1) * x.std(axis=axis, ddof=1) / np.sqrt(n)


# ------------------------------------------------------------------------------- throughput
def _numpy_loop(mdps: list) -> tuple[list, float]:
    """``tabular.value_iteration`` over ``mdps`` (tol 1e-6) and its wall time, with numba on one
    thread: on small models its parallel kernels spend far more on thread hand-offs than on
    arithmetic (measured on the loaded 2-core machine: 1 s against 1.2 ms per S=10 solve), so one
    thread is the numpy solver's best setting for a loop over many small models."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        tabular.value_iteration(mdps[0])
        start = time.perf_counter()
        ref = [tabular.value_iteration(m, tol=1e-6) for m in mdps]
        return ref, time.perf_counter() - start
    finally:
        numba.set_num_threads(previous)


def throughput(quick: bool, devices: list[str]) -> list[dict[str, Any]]:
    import torch

    configs = [(1000, 10, 4), (100, 100, 4), (8, 500, 4)] if not quick else [(300, 10, 4), (30, 100, 4)]
    gpu_only = [(64, 1000, 4), (16, 2000, 4)] if not quick else []  # gigabytes per backup: seconds on a GPU only
    bw = Bandwidth(256 * 2**20)
    rows = []
    for B, S, A in configs + gpu_only:
        on = [d for d in devices if d == "cuda" or (B, S, A) not in gpu_only]
        if not on:
            continue
        mdps = [envs.random_mdp(S, A, gamma=0.95, seed=i) for i in range(B)]
        n_np = min(B, 50 if quick else 200, max(4, 2 * 10**7 // (S * S * A)))
        ref, t_np = _numpy_loop(mdps[:n_np])
        t_np *= B / n_np
        for device in on:
            for dtype in (torch.float64, torch.float32):
                batch = approx.stack_mdps(mdps, device=device, dtype=dtype)
                tol = 1e-6 if dtype == torch.float64 else 1e-3
                sol = approx.batched_value_iteration(batch, tol=tol)
                t_vi = best_time(lambda batch=batch, tol=tol: approx.batched_value_iteration(batch, tol=tol), 3)
                v = torch.zeros((B, S), dtype=dtype, device=device)

                def backup(batch=batch, v=v, device=device):
                    out = batch.q(v).amax(2)
                    if device == "cuda":
                        torch.cuda.synchronize()
                    return out

                t_backup = best_time(backup, 5)
                gbps = batch.nbytes_per_backup() / t_backup / 1e9
                err = max(float(np.max(np.abs(sol.v[b].cpu().numpy() - ref[b].v))) for b in range(n_np))
                row = {"B": B, "S": S, "A": A, "device": device,
                       "device_name": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or "cpu",
                       "dtype": str(dtype).replace("torch.", ""), "tol": tol,
                       "batched_seconds": t_vi, "batched_mdps_per_s": B / t_vi,
                       "numpy_loop_seconds": t_np, "numpy_mdps_per_s": B / t_np, "numpy_loop_measured_on": n_np,
                       "speedup_vs_numpy_loop": t_np / t_vi, "backup_ms": t_backup * 1e3, "backup_GBps": gbps,
                       "max_abs_diff_vs_numpy": err, "mean_iterations": float(sol.n_iter.float().mean())}
                if device == "cpu":
                    row["machine_read_GBps"] = bw.measure(3)
                else:  # device-to-device copy of 1 GiB: read + write bandwidth the card reaches
                    big = torch.empty(2**27, dtype=torch.float64, device=device)

                    def copy(big=big):
                        big.clone()
                        torch.cuda.synchronize()

                    row["machine_read_GBps"] = 2 * big.nbytes / best_time(copy, 5) / 1e9
                row["fraction_of_read_bandwidth"] = gbps / row["machine_read_GBps"]
                rows.append(row)
                print(f"B={B:5d} S={S:4d} A={A} {device} {row['dtype']:>7}: batched {B / t_vi:9.0f} MDPs/s "
                      f"(numpy loop {B / t_np:7.0f}/s, x{t_np / t_vi:6.1f}); backup {gbps:6.2f} GB/s"
                      + f" = {row['fraction_of_read_bandwidth']:.0%} of measured bw"
                      + f"; max|diff| {err:.1e}")
    if "cpu" not in devices:
        return rows
    # sparse layout on a larger GARNET batch
    S, A, K, B = (2000, 4, 5, 16) if not quick else (1000, 4, 5, 4)
    mdps = [envs.garnet(S, A, K, gamma=0.95, seed=i).to_sparse() for i in range(B)]
    batch = approx.stack_mdps(mdps, layout="sparse")
    t_vi = best_time(lambda: approx.batched_value_iteration(batch, tol=1e-6), 2)
    ref, t_np = _numpy_loop(mdps)
    sol = approx.batched_value_iteration(batch, tol=1e-6)
    err = max(float(np.max(np.abs(sol.v[b].numpy() - ref[b].v))) for b in range(B))
    rows.append({"B": B, "S": S, "A": A, "K": K, "device": "cpu", "layout": "sparse", "dtype": "float64",
                 "batched_seconds": t_vi, "batched_mdps_per_s": B / t_vi, "numpy_loop_seconds": t_np,
                 "speedup_vs_numpy_loop": t_np / t_vi, "max_abs_diff_vs_numpy": err})
    print(f"sparse GARNET B={B} S={S} A={A} K={K}: batched {t_vi:.2f} s, numpy loop {t_np:.2f} s "
          f"(x{t_np / t_vi:.2f}); max|diff| {err:.1e}")
    return rows


# -------------------------------------------------------------------------------- empirical
def empirical_part(quick: bool) -> dict[str, Any]:
    """Generative-model sample complexity in one call per n: ``||v_hat* - v*||`` against ``n``
    (``B`` data sets each) and its log-log slope (theory: ``n^{-1/2}``, Azar et al. 2013)."""
    mdp = envs.random_mdp(20, 4, gamma=0.9, seed=0)
    B = 100 if quick else 500
    ns = [10, 30, 100, 300, 1000]
    rows = []
    for n in ns:
        start = time.perf_counter()
        res = approx.batched_empirical_planning(mdp, n_samples=n, n_models=B, seed=n, tol=1e-8)
        rows.append({"n": n, "B": B, "value_error_mean": float(res.value_error.mean()),
                     "policy_error_mean": float(res.policy_error.mean()), "seconds": time.perf_counter() - start})
        print(f"n={n:5d}: {B} empirical models in {rows[-1]['seconds']:.2f} s; mean ||v_hat - v*|| = "
              f"{rows[-1]['value_error_mean']:.4f}, mean ||v* - v^pi_hat|| = {rows[-1]['policy_error_mean']:.4f}")
    slope = float(np.polyfit(np.log(ns), np.log([r["value_error_mean"] for r in rows]), 1)[0])
    print(f"log-log slope of the value error: {slope:.3f} (theory -0.5)")
    return {"mdp": "random_mdp(20, 4, gamma=0.9, seed=0)", "rows": rows, "value_error_slope": slope}


# ---------------------------------------------------------------------------------- tabular
def _tabular_learners(mdp: Any, steps: int) -> dict[str, Any]:
    """The four sample-based learners on ``mdp`` with one-hot inputs: ``seed -> trained network``."""
    env_kwargs = {"horizon": 30, "start": "uniform"}
    return {
        "dqn": lambda seed: approx.dqn(approx.TabularEnv(mdp, **env_kwargs), gamma=mdp.gamma, total_steps=steps,
                                       double=False, hidden=(32,), learning_starts=200, target_update=100,
                                       lr=3e-3, seed=seed).networks["q"],
        "double_dqn": lambda seed: approx.dqn(approx.TabularEnv(mdp, **env_kwargs), gamma=mdp.gamma,
                                              total_steps=steps, hidden=(32,), learning_starts=200,
                                              target_update=100, lr=3e-3, seed=seed).networks["q"],
        "mdpo_on_policy": lambda seed: approx.mdpo_on_policy(
            approx.TabularEnv(mdp, **env_kwargs), gamma=mdp.gamma, max_iter=steps // 256, steps_per_batch=256,
            hidden=(32,), lr=3e-3, seed=seed).networks["policy"],
        "mdpo_off_policy": lambda seed: approx.mdpo_off_policy(
            approx.TabularEnv(mdp, **env_kwargs), gamma=mdp.gamma, total_steps=steps // 2, learning_starts=200,
            hidden=(32,), lr=3e-3, old_policy_every=100, seed=seed).networks["policy"],
    }


def tabular_part(quick: bool, seeds: int) -> list[dict[str, Any]]:
    mdps = [envs.random_mdp(6, 3, gamma=0.9, seed=s) for s in (0, 1)][: 1 if quick else 2]
    steps = 2000 if quick else 4000
    rows = []
    for i, mdp in enumerate(mdps):
        exact = tabular.policy_iteration(mdp)
        d0 = np.full(mdp.n_states, 1.0 / mdp.n_states)
        v_star = float(d0 @ exact.v)
        learners = _tabular_learners(mdp, steps)
        for name, learn in learners.items():
            values = []
            start = time.perf_counter()
            for seed in range(seeds):
                net = learn(seed)
                if name.endswith("dqn"):
                    from theory_rl.approx._nets import greedy_values

                    pi = greedy_values(net, np.eye(mdp.n_states), "cpu").argmax(1)
                else:
                    pi = approx.tabular_policy(net, mdp.n_states, device="cpu")
                values.append(float(d0 @ tabular.policy_value(mdp, pi)))
            mean, half = ci95(np.array(values))
            rows.append({"mdp": i, "method": name, "v_star": v_star, "values": values, "mean": float(mean),
                         "ci95": float(half), "ratio": float(mean / v_star),
                         "env_steps": steps if name != "mdpo_off_policy" else steps // 2,
                         "seconds_per_seed": (time.perf_counter() - start) / seeds})
            print(f"MDP {i} {name:16} V(d0) = {mean:.3f} ± {half:.3f} vs V*(d0) = {v_star:.3f} "
                  f"(ratio {mean / v_star:.3f})")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ref = tabular.mirror_descent_policy_optimization(mdp, step_size=1.0, max_iter=10, tol=1e-14)
        ours = approx.mdpo_exact_critic(mdp, step_size=1.0, max_iter=10, hidden=(32,), optimizer="lbfgs",
                                        sgd_steps=100, seed=0)
        dev = float(np.max(np.abs(ours.info["values"] - ref.info["values"][:11])))
        rows.append({"mdp": i, "method": "mdpo_exact_critic_vs_exact_mdpo", "max_value_deviation": dev})
        print(f"MDP {i} MDPO (MLP, exact critic) vs exact tabular MDPO, 10 steps: max |dV| = {dev:.1e}")
    return rows


# -------------------------------------------------------------------------------------- gym
def _binned(result: Any, grid: np.ndarray) -> np.ndarray:
    """Mean return of the training episodes ending in each window of ``grid`` (carried forward)."""
    ends, rets = result.episode_steps, result.episode_returns
    out = np.full(len(grid), np.nan)
    lo = 0
    for j, hi in enumerate(grid):
        sel = (ends > lo) & (ends <= hi)
        if sel.any():
            out[j] = rets[sel].mean()
        elif j:
            out[j] = out[j - 1]
        lo = hi
    return out


def gym_part(quick: bool, seeds: int) -> dict[str, Any]:
    import gymnasium

    steps = 4000 if quick else 8000
    grid = np.linspace(steps / 20, steps, 20)
    methods = {
        "dqn": lambda env, seed: approx.dqn(env, total_steps=steps, double=False, learning_starts=500,
                                            target_update=250, seed=seed),
        "double_dqn": lambda env, seed: approx.dqn(env, total_steps=steps, learning_starts=500, target_update=250,
                                                   seed=seed),
        "mdpo_on_policy": lambda env, seed: approx.mdpo_on_policy(env, max_iter=steps // 512,
                                                                  steps_per_batch=512, lr=3e-3, seed=seed),
        "mdpo_off_policy": lambda env, seed: approx.mdpo_off_policy(env, total_steps=steps, learning_starts=500,
                                                                    seed=seed),
    }
    curves: dict[str, Any] = {"steps": grid.tolist()}
    for name, run in methods.items():
        start = time.perf_counter()
        runs = np.stack([_binned(run(gymnasium.make("CartPole-v1"), seed), grid) for seed in range(seeds)])
        mean, half = ci95(runs)
        curves[name] = {"mean": mean.tolist(), "ci95": half.tolist(), "final_mean": float(mean[-1]),
                        "final_ci95": float(half[-1]), "seconds_per_seed": (time.perf_counter() - start) / seeds}
        print(f"CartPole {name:16}: last-window return {mean[-1]:.1f} ± {half[-1]:.1f} "
              f"({(time.perf_counter() - start) / seeds:.0f} s/seed)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    for name in methods:
        m, h = np.array(curves[name]["mean"]), np.array(curves[name]["ci95"])
        ax.plot(grid, m, label=name)
        ax.fill_between(grid, m - h, m + h, alpha=0.2)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("training episode return")
    ax.set_title(f"CartPole-v1, {seeds} seeds, mean and 95% CI")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(FIGURES, "approx_cartpole.png"))
    plt.close(fig)
    return curves


# ------------------------------------------------------------------------------------ iwocs
def iwocs_part(quick: bool, seeds: int) -> list[dict[str, Any]]:
    from theory_rl.approx._iwocs import monte_carlo_return

    setups = {
        "CartPole-v1": {"learner_kwargs": {"total_steps": 3000 if quick else 8000, "learning_starts": 500,
                                           "target_update": 250}, "n_grid": 4 if quick else 10},
        "Pendulum-v1": {"learner_kwargs": {"total_steps": 2000 if quick else 6000, "learning_starts": 500,
                                           "target_update": 250, "gamma": 0.98}, "n_grid": 3 if quick else 10},
    }
    rows = []
    for env_id, cfg in setups.items():
        pset = approx.gym_parametric_set(env_id)
        for seed in range(seeds):
            start = time.perf_counter()
            res = approx.deep_iwocs(pset, learner_kwargs=cfg["learner_kwargs"],
                                    evaluate=monte_carlo_return(pset, n_episodes=2, seed=seed), max_iter=2,
                                    search_budget=12 if quick else 24, n_grid_eval=cfg["n_grid"], seed=seed)
            rows.append({"env": env_id, "seed": seed, "worst_iwocs": res.grid.worst, "mean_iwocs": res.grid.mean,
                         "worst_nominal": res.grid_nominal.worst, "mean_nominal": res.grid_nominal.mean,
                         "n_models": len(res.thetas), "thetas": res.thetas.tolist(), "grid_points": len(res.grid.values),
                         "seconds": time.perf_counter() - start, "grid_values_iwocs": res.grid.values.tolist(),
                         "grid_values_nominal": res.grid_nominal.values.tolist(), "grid": res.grid.thetas.tolist()})
            print(f"{env_id} seed {seed}: worst over {len(res.grid.values)} grid models: IWOCS "
                  f"{res.grid.worst:.1f} (mean {res.grid.mean:.1f}) vs nominal-only "
                  f"{res.grid_nominal.worst:.1f} (mean {res.grid_nominal.mean:.1f}); "
                  f"{len(res.thetas)} models, {time.perf_counter() - start:.0f} s")
    plot_iwocs(rows)
    return rows


def plot_iwocs(rows: list[dict[str, Any]]) -> None:
    """Bars: mean over seeds of the worst and mean grid return; dots: the seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs_ = list(dict.fromkeys(r["env"] for r in rows))
    fig, axes = plt.subplots(1, len(envs_), figsize=(3.6 * len(envs_), 3.4), dpi=100, squeeze=False)
    for ax, env_id in zip(axes[0], envs_):
        sel = [r for r in rows if r["env"] == env_id]
        x = np.arange(2)
        for k, key in enumerate(("worst", "mean")):
            vals = np.array([[r[f"{key}_nominal"], r[f"{key}_iwocs"]] for r in sel])
            ax.bar(x + 0.38 * k, vals.mean(axis=0), 0.36, label=f"{key} over grid", color=f"C{k}", alpha=0.7)
            for v in vals:
                ax.plot(x + 0.38 * k, v, "k.", ms=6)
        ax.set_xticks(x + 0.19, ["nominal DQN", "deep IWOCS"])
        ax.set_title(f"{env_id}: {len(sel[0]['grid'])} grid models, {len(sel)} seeds (dots)", fontsize=8)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(FIGURES, "approx_iwocs.png"))
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--parts", nargs="+", default=["throughput", "empirical", "tabular", "gym", "iwocs"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--iwocs-seeds", type=int, default=2)
    parser.add_argument("--output", default=RESULTS)
    parser.add_argument("--devices", nargs="+", default=None,
                        help="throughput devices (default: cpu, and cuda when present)")
    parser.add_argument("--plot-only", action="store_true", help="redraw the Deep IWOCS figure from --output")
    args = parser.parse_args()
    if args.plot_only:
        with open(args.output) as f:
            plot_iwocs(json.load(f)["iwocs"])
        return
    import torch

    # one torch thread throughout: fastest for the small networks (approx._torch.single_thread) and,
    # on a shared machine, for the batched planner too (threads spin against other processes)
    torch.set_num_threads(1)
    os.makedirs(FIGURES, exist_ok=True)
    out: dict[str, Any] = {}
    if os.path.exists(args.output):
        with open(args.output) as f:
            out = json.load(f)
    out["machine"] = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
                      "cpu_count": os.cpu_count(), "cuda": torch.cuda.is_available(),
                      "load_average_at_start": os.getloadavg(), "quick": args.quick}
    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    runners = {"throughput": lambda: throughput(args.quick, devices), "empirical": lambda: empirical_part(args.quick),
               "tabular": lambda: tabular_part(args.quick, args.seeds),
               "gym": lambda: gym_part(args.quick, args.seeds), "iwocs": lambda: iwocs_part(args.quick, args.iwocs_seeds)}
    for part in args.parts:
        start = time.perf_counter()
        out[part] = runners[part]()
        out.setdefault("seconds", {})[part] = time.perf_counter() - start
        os.makedirs(os.path.dirname(args.output), exist_ok=True)
        with open(args.output, "w") as f:
            json.dump(with_provenance(out), f, indent=1)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
