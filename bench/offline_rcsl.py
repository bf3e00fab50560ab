"""Timing of the exact (tabular) analyses of theory_rl.offline against the issue's targets.

Targets (issue 21): the history bisimulation metric on about 10^4 histories and the linear
completeness gap with 10^3 states, each under one second. Also timed: tabular RCSL fit and exact
evaluation, tabular MBRCSL. No peer runs here: d3rlpy's baselines are torch learners, which belong
to the torch increment of issue 21 (not built yet).

    .venv/bin/python bench/offline_rcsl.py           # full run, writes bench/results/offline_rcsl.json
    .venv/bin/python bench/offline_rcsl.py --quick   # smaller instances, writes nothing

Single-threaded BLAS is recommended for comparable numbers (OMP_NUM_THREADS=1).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time  # noqa: E402

from theory_rl import __version__  # noqa: E402
from theory_rl.models import POMDP, FiniteMDP  # noqa: E402
from theory_rl.offline import (  # noqa: E402
    collect_trajectories,
    completeness_gap,
    enumerate_histories,
    history_bisimulation_metric,
    mbrcsl,
    rcsl_evaluate,
    rcsl_fit,
)


def tiger(gamma: float = 0.95, accuracy: float = 0.85) -> POMDP:
    """Kaelbling, Littman & Cassandra (1998)'s Tiger: listen, open-left, open-right."""
    T = np.zeros((2, 3, 2))
    T[:, 0, :] = np.eye(2)
    T[:, 1:, :] = 0.5
    obs = np.full((3, 2, 2), 0.5)
    obs[0] = [[accuracy, 1 - accuracy], [1 - accuracy, accuracy]]
    R = np.array([[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]])
    return POMDP(T, obs, R, gamma, b0=np.array([0.5, 0.5]))


def random_mdp(S: int, A: int, seed: int, gamma: float = 0.9) -> FiniteMDP:
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(S, 0.1), size=(S, A))
    return FiniteMDP(P, rng.uniform(-1, 1, (S, A)), gamma)


def deterministic_mdp(S: int, A: int, H: int, seed: int) -> FiniteMDP:
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, size=(S, A))] = 1.0
    return FiniteMDP(P, rng.integers(0, 4, size=(S, A)).astype(float), 1.0, horizon=H, d0=np.eye(S)[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rows = []

    def record(name: str, size: str, seconds: float, target: float | None, **extra: object) -> None:
        rows.append({"analysis": name, "size": size, "seconds": seconds, "target_s": target,
                     "meets_target": None if target is None else seconds < target, **extra})
        print(f"{name:38s} {size:34s} {seconds:9.4f} s  {'' if target is None else ('ok' if seconds < target else 'MISSED')}")

    # 1. history bisimulation metric (Tiger; H = 6 gives 9,331 histories)
    H = 4 if args.quick else 6
    m = tiger()
    tree = enumerate_histories(m, horizon=H)
    t_enum = best_time(lambda: enumerate_histories(m, horizon=H), repeats=3)
    res = history_bisimulation_metric(tree)
    t_metric = best_time(lambda: history_bisimulation_metric(tree), repeats=3)
    record("enumerate_histories", f"Tiger H={H}: {tree.n_histories} histories", t_enum, None)
    record("history_bisimulation_metric (pi*)", f"{tree.n_histories} histories, {res.n_classes} classes",
           t_metric, 1.0, n_histories=tree.n_histories, n_classes=res.n_classes, n_transport=res.n_transport)
    # a belief-based stochastic policy (softmax of the one-step reward): still exact compression
    logits = tree.rewards / 20.0
    soft = np.exp(logits - logits.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)
    res_soft = history_bisimulation_metric(tree, policy=soft)
    t_soft = best_time(lambda: history_bisimulation_metric(tree, policy=soft), repeats=1)
    record("history_bisimulation_metric (softmax)", f"{tree.n_histories} histories, {res_soft.n_classes} classes",
           t_soft, 1.0, n_classes=res_soft.n_classes, n_transport=res_soft.n_transport)
    # without compression (every history its own class): quadratic in histories, small sizes only
    small = enumerate_histories(m, horizon=4)
    raw = history_bisimulation_metric(small, compress=False)
    record("history_bisimulation_metric (no compr.)", f"Tiger H=4: {small.n_histories} histories", raw.elapsed, None,
           n_transport=raw.n_transport)

    # a generic POMDP: beliefs (hence classes) are all distinct, the cost is quadratic in histories
    rng = np.random.default_rng(0)
    generic = POMDP(rng.dirichlet(np.ones(3), size=(3, 2)), rng.dirichlet(np.ones(2), size=(2, 3)),
                    rng.uniform(-1, 1, (3, 2)), 0.9, b0=np.full(3, 1 / 3))
    gtree = enumerate_histories(generic, horizon=3 if args.quick else 5)
    gres = history_bisimulation_metric(gtree)
    record("history_bisimulation_metric (generic)", f"random S=3 A=2 O=2: {gtree.n_histories} hist., {gres.n_classes} cl.",
           gres.elapsed, 1.0, n_classes=gres.n_classes, n_transport=gres.n_transport)

    # 2. completeness gap, 10^3 states
    S = 200 if args.quick else 1000
    mdp = random_mdp(S, 2, seed=0)
    rng = np.random.default_rng(1)
    Phi = rng.normal(size=(2 * S, 50))
    pi = np.full((S, 2), 0.5)
    t_gap = best_time(lambda: completeness_gap(mdp, Phi, policy=pi), repeats=3)
    record("completeness_gap (T^pi)", f"S={S}, A=2, d=50", t_gap, 1.0)
    t_star = best_time(lambda: completeness_gap(mdp, Phi, n_samples=256), repeats=1)
    record("completeness_gap (T*, lower bound)", f"S={S}, A=2, d=50, 256 directions", t_star, None)

    # 3. RCSL and MBRCSL
    det = deterministic_mdp(50, 3, 10, seed=2)
    data = collect_trajectories(det, np.full((50, 3), 1 / 3), n_episodes=2000, horizon=10, seed=3)
    t_fit = best_time(lambda: rcsl_fit(data), repeats=3)
    record("rcsl_fit (Markovian)", f"{data.n_transitions} transitions", t_fit, None)
    t_fit3 = best_time(lambda: rcsl_fit(data, context_len=3), repeats=1)
    record("rcsl_fit (context 3)", f"{data.n_transitions} transitions", t_fit3, None)
    pol = rcsl_fit(data)
    t_eval = best_time(lambda: rcsl_evaluate(pol, det, horizon=10), repeats=3)
    record("rcsl_evaluate (exact)", "S=50, A=3, H=10", t_eval, None)
    t_mb = best_time(lambda: mbrcsl(data, seed=0, max_rollouts=20_000), repeats=1)
    record("mbrcsl (counts)", f"{data.n_transitions} transitions, <= 20000 rollouts", t_mb, None)

    if not args.quick:
        out = Path(__file__).resolve().parent / "results" / "offline_rcsl.json"
        out.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": platform.platform(), "python": platform.python_version(), "theory_rl": __version__,
            "command": "OMP_NUM_THREADS=1 .venv/bin/python bench/offline_rcsl.py", "rows": rows,
        }, indent=2) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
