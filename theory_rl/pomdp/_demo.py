"""``make demo`` section for POMDPs: Tiger solved exactly, RockSample(4,4) with certified bounds."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["run_demo"]

_BENCH_DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "pomdp"


def _tiger():
    """Kaelbling, Littman & Cassandra's Tiger (gamma = 0.95): listen (-1, 85% accurate) or open
    a door (+10 / -100); opening resets the tiger uniformly."""
    from ..models import POMDP

    T = np.empty((2, 3, 2))
    T[:, 0, :] = np.eye(2)
    T[:, 1:, :] = 0.5
    O = np.full((3, 2, 2), 0.5)  # noqa: E741
    O[0] = [[0.85, 0.15], [0.15, 0.85]]
    R = np.array([[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]])
    return POMDP(T, O, R, 0.95, np.array([0.5, 0.5]), state_names=("tiger-left", "tiger-right"),
                 action_names=("listen", "open-left", "open-right"), observation_names=("tiger-left", "tiger-right"))


def run_demo(section: Callable[[str], None]) -> None:
    from ..errors import ConvergenceWarning
    from . import exact_value_iteration, hsvi2, pbvi, perseus, pomcp_plan, read_pomdp

    section("POMDP: Tiger solved exactly (incremental pruning) and by point-based solvers")
    tiger = _tiger()
    start = time.perf_counter()
    exact = exact_value_iteration(tiger, tol=1e-6)
    print(f"exact VI (incremental pruning, HiGHS LPs): V*(b0) in [{exact.lower:.6f}, {exact.upper:.6f}], "
          f"{exact.n_vectors} vectors, {time.perf_counter() - start:.2f}s  (pomdp-solve: 19.3714, 9 vectors)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        runs = {
            "HSVI2 (certified interval)": lambda: hsvi2(tiger, target_gap=1e-4),
            "PBVI (lower bound)": lambda: pbvi(tiger, seed=0),
            "Perseus (lower bound)": lambda: perseus(tiger, n_beliefs=200, seed=0),
        }
        for name, run in runs.items():
            sol = run()
            print(f"{name:28} [{sol.lower:.5f}, {sol.upper:.5f}]  {sol.n_vectors:3d} vectors  {sol.elapsed:.2f}s")
    plan = pomcp_plan(tiger, n_simulations=5000, seed=0)
    print(f"POMCP at b0 (5000 simulations): {tiger.action_names[plan.action]!r}, "
          f"root visits {dict(zip(tiger.action_names, plan.visits.tolist()))}")

    section("POMDP: RockSample(4,4) (257 states) with certified anytime bounds (HSVI2)")
    path = _BENCH_DATA / "RockSample_4_4.pomdp"
    if not path.exists():
        print(f"(skipped: {path} is not in this checkout)")
        return
    model = read_pomdp(path)
    print(model)
    sol = hsvi2(model, target_gap=1e-3, time_limit=15)
    hist = sol.history
    for i in np.unique(np.linspace(0, len(hist["lower"]) - 1, 6).astype(int)):
        print(f"  t={hist['time'][i]:6.2f}s  trials={i:4d}  V*(b0) in [{hist['lower'][i]:.4f}, {hist['upper'][i]:.4f}]")
    print(f"final: [{sol.lower:.4f}, {sol.upper:.4f}] (gap {max(sol.gap, 0.0):.1e}), {sol.n_vectors} vectors; "
          "SARSOP: 17.9245")
