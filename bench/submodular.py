"""Greedy set-function maximisation against apricot, and SubPO against standard RL on coverage.

    .venv/bin/python bench/submodular.py            # full run, writes bench/results/submodular.json
    .venv/bin/python bench/submodular.py --quick    # smaller sizes, writes nothing
    .venv/bin/python bench/submodular.py --history  # part 3 only, added to bench/results/submodular.json

Part 1 (peers): facility location (dense similarity, n = 10^4 ground elements) and max coverage
(binary incidence, n = 10^4 elements x 2,000 items), k = 100. theory_rl's lazy greedy
(``greedy_maximize``) against apricot-select's ``FacilityLocationSelection`` /
``MaxCoverageSelection`` (optimizer "lazy", and apricot's default "two-stage"), after a warm-up
call that compiles apricot's numba kernels. Values are re-scored with theory_rl's function on
both selections. submodlib (the other peer the issue names) is not on the package registry here.

Part 2 (claim): on ``coverage_gridworld`` SubPO (marginal-gain reward-to-go) against standard RL
on the additive reward r(s) = F({s}) ("additive"), the official code's immediate-gain signal,
and the natural-gradient variant; mean F of 2,000 fresh trajectories of each final policy.

Part 3 (policy classes): on ``coverage_gridworld(4, 4, radius=1)``, H = 6, the exact optimum over
history-dependent policies (``subrl_dp``) and greedy's value against SubPO with a Markov policy
(tabular, numpy and torch) and with the torch MLP on the visited set; exact values of the final
policies, as fractions of the optimum.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from theory_rl.submodular import (
    FacilityLocation,
    WeightedCoverage,
    coverage_gridworld,
    greedy_maximize,
    subpo,
    subpo_torch,
    subrl_dp,
    subrl_greedy,
)


def best_time(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def peers(n: int, m: int, k: int, repeats: int) -> list[dict]:
    import apricot

    rng = np.random.default_rng(0)
    rows = []
    X = rng.standard_normal((n, 2))
    sq = (X * X).sum(1)
    K = np.exp(-np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0.0))
    C = (rng.random((n, m)) < 3.0 / m)
    cases = [
        ("facility_location", FacilityLocation(K),
         lambda opt: apricot.FacilityLocationSelection(k, metric="precomputed", optimizer=opt), K),
        ("max_coverage", WeightedCoverage(C),
         lambda opt: apricot.MaxCoverageSelection(k, optimizer=opt), C.astype(np.float64)),
    ]
    for name, F, make_peer, data in cases:
        make_peer("lazy").fit(data[:200, :200] if name == "facility_location" else data[:200])  # numba warm-up
        t_ours, ours = best_time(lambda F=F: greedy_maximize(F, k=k), repeats)
        row = {"objective": name, "n": n, "k": k, "ours_lazy_s": t_ours, "value_ours": ours.value,
               "n_evaluations_lazy": ours.n_evaluations}
        if data.size <= 2e7:  # the vectorised greedy reads the whole matrix k times
            t_vec, vec = best_time(lambda F=F: greedy_maximize(F, k=k, lazy=False), 1)
            row.update(ours_vectorised_s=t_vec, value_ours_vectorised=vec.value)
        for opt in ("lazy", "two-stage"):
            reps = repeats if opt == "lazy" else 1  # apricot's two-stage takes minutes at n = 10^4
            t_peer, sel = best_time(lambda opt=opt, data=data, make_peer=make_peer: make_peer(opt).fit(data), reps)
            row[f"apricot_{opt}_s"] = t_peer
            row[f"value_apricot_{opt}"] = float(F.value(np.asarray(sel.ranking)))
            row[f"ratio_ours_over_apricot_{opt}"] = t_ours / t_peer
        print(json.dumps(row))
        rows.append(row)
    return rows


def claim(size: int, horizon: int, epochs: int, seeds: int) -> list[dict]:
    rows = []
    settings = [("subpo_reward_to_go", {"estimator": "reward_to_go", "lr": 1.0}),
                ("immediate_gain (official code's signal)", {"estimator": "immediate_gain", "lr": 1.0}),
                ("standard RL, additive r(s) = F({s})", {"estimator": "additive", "lr": 1.0}),
                ("subpo natural gradient", {"variant": "natural", "lr": 0.1})]
    for seed in range(seeds):
        mdp, F = coverage_gridworld(size, size, radius=1, seed=seed)
        uniform = subpo(mdp, F, horizon=horizon, epochs=1, lr=1e-12, seed=seed).value
        total = float(F.value(np.ones(F.n, dtype=bool)))
        for name, kw in settings:
            t = time.perf_counter()
            res = subpo(mdp, F, horizon=horizon, epochs=epochs, batch_size=100, seed=seed, **kw)
            rows.append({"method": name, "seed": seed, "value": res.value, "fraction_covered": res.value / total,
                         "uniform_value": uniform, "seconds": time.perf_counter() - t})
            print(json.dumps(rows[-1]))
    return rows


def history_policies(epochs: int, seeds: int) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    mdp, F = coverage_gridworld(4, 4, radius=1, seed=0)
    H = 6
    opt = subrl_dp(mdp, F, horizon=H).value
    rows = [{"method": "optimum (subrl_dp)", "seed": 0, "value": opt, "fraction": 1.0, "seconds": 0.0},
            {"method": "greedy (subrl_greedy)", "seed": 0, "value": subrl_greedy(mdp, F, horizon=H).value}]
    rows[1]["fraction"], rows[1]["seconds"] = rows[1]["value"] / opt, 0.0
    runs = {
        "subpo markov (numpy)": lambda seed: subpo(mdp, F, horizon=H, epochs=epochs, batch_size=64, lr=2.0, seed=seed),
        "subpo_torch markov (Adam)": lambda seed: subpo_torch(mdp, F, horizon=H, epochs=epochs, batch_size=64, lr=0.1,
                                                              optimizer="adam", seed=seed, device="cpu"),
        "subpo_torch visited_set MLP (64, Adam)": lambda seed: subpo_torch(
            mdp, F, horizon=H, policy="visited_set", hidden=(64,), epochs=epochs, batch_size=64, lr=0.01,
            optimizer="adam", seed=seed, device="cpu"),
    }
    for name, fn in runs.items():
        for seed in range(seeds):
            t = time.perf_counter()
            res = fn(seed)
            rows.append({"method": name, "seed": seed, "value": res.value, "fraction": res.value / opt,
                         "seconds": time.perf_counter() - t})
            print(rows[-1], flush=True)
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--history", action="store_true")
    args = ap.parse_args(argv)
    if args.history:
        path = Path(__file__).parent / "results" / "submodular.json"
        out = json.loads(path.read_text())
        out["history_policies"] = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": "OMP_NUM_THREADS=1 python bench/submodular.py --history",
            "rows": history_policies(200, 3),
        }
        path.write_text(json.dumps(out, indent=1))
        print("wrote", path)
        return
    if args.quick:
        peer_rows = peers(2000, 500, 50, 1)
        claim_rows = claim(6, 10, 30, 1)
        return
    t0 = time.time()
    peer_rows = peers(10_000, 2000, 100, 3)
    claim_rows = claim(10, 20, 200, 3)
    out = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, {platform.system()}",
        "python": sys.version.split()[0],
        "command": "python bench/submodular.py",
        "wall_s": time.time() - t0,
        "greedy_vs_apricot": peer_rows,
        "subpo_vs_standard_rl": claim_rows,
    }
    path = Path(__file__).parent / "results" / "submodular.json"
    path.write_text(json.dumps(out, indent=1))
    print("wrote", path)


if __name__ == "__main__":
    main()
