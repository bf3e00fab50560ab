"""``make demo`` section for POMDPs: Tiger solved exactly, RockSample(4,4) with certified bounds."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np

__all__ = ["run_demo"]



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
    from ..pomdp import exact_value_iteration, hsvi2, pbvi, perseus, pomcp_plan, read_pomdp

    section("POMDP: Tiger solved exactly (incremental pruning) and by point-based solvers")
    tiger = _tiger()
    start = time.perf_counter()
    exact = exact_value_iteration(tiger, tol=1e-6)
    print(f"exact VI (incremental pruning, HiGHS LPs): V*(b0) in [{exact.lower:.6f}, {exact.upper:.6f}], "
          f"{exact.n_vectors} vectors, {time.perf_counter() - start:.2f}s  (pomdp-solve: 19.3714, 9 vectors)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        runs = {
            "HSVI2 (certified interval)": lambda: hsvi2(tiger, tol=1e-4),
            "PBVI (lower bound)": lambda: pbvi(tiger, seed=0),
            "Perseus (lower bound)": lambda: perseus(tiger, n_beliefs=200, seed=0),
        }
        for name, run in runs.items():
            sol = run()
            print(f"{name:28} [{sol.lower:.5f}, {sol.upper:.5f}]  {sol.n_vectors:3d} vectors  {sol.elapsed:.2f}s")
    plan = pomcp_plan(tiger, n_simulations=5000, seed=0)
    print(f"POMCP at b0 (5000 simulations): {tiger.action_names[plan.action]!r}, "
          f"root visits {dict(zip(tiger.action_names, plan.visits.tolist()))}")

    _psr_demo(section, tiger)

    section("POMDP: RockSample(4,4) (257 states) with certified anytime bounds (HSVI2)")
    from ..pomdp import problem_path

    path = problem_path("RockSample_4_4.pomdp")
    if not path.exists():
        print(f"(skipped: {path} is not in this checkout)")
        return
    model = read_pomdp(path)
    print(model)
    sol = hsvi2(model, tol=1e-3, time_limit=15)
    hist = sol.history
    for i in np.unique(np.linspace(0, len(hist["lower"]) - 1, 6).astype(int)):
        print(f"  t={hist['time'][i]:6.2f}s  trials={i:4d}  V*(b0) in [{hist['lower'][i]:.4f}, {hist['upper'][i]:.4f}]")
    print(f"final: [{sol.lower:.4f}, {sol.upper:.4f}] (gap {max(sol.gap, 0.0):.1e}), {sol.n_vectors} vectors; "
          "SARSOP: 17.9245")


def _psr_demo(section: Callable[[str], None], tiger) -> None:
    """Tiger as a PSR (equal to the forward algorithm), its revealing constants, and a spectral PSR
    learned from sampled episodes."""
    from ..pomdp import (
        PSR,
        empirical_trajectory_table,
        enumerate_trajectories,
        revealing_constant,
        sample_trajectories,
        spectral_psr,
        trajectory_probability,
    )

    section("PSRs and revealing constants (Tiger)")
    psr = PSR.from_pomdp(tiger, 4, minimal=True)
    actions, observations = enumerate_trajectories(3, 2, 4)
    err = np.abs(psr.trajectory_probability(actions, observations) - trajectory_probability(tiger, actions, observations))
    print(f"PSR of Tiger, H=4: dimensions {psr.dims}; max |PSR - forward algorithm| over {len(actions)} "
          f"sequences = {err.max():.1e}")
    print(f"revealing constant after 'listen': {revealing_constant(tiger, previous_action=0):.4f} (2p - 1 = 0.7); "
          f"alpha_1 = {revealing_constant(tiger):.1f} (opening a door reveals nothing), "
          f"alpha_2 = {revealing_constant(tiger, 2):.4f}")
    sampled_a, sampled_o = sample_trajectories(tiger, n_episodes=100_000, horizon=3, seed=0)
    table = empirical_trajectory_table(sampled_a, sampled_o, n_actions=3, n_observations=2)
    learned = spectral_psr(table, n_actions=3, n_observations=2, rank=2)
    a3, o3 = enumerate_trajectories(3, 2, 3)
    tv = 0.5 * np.abs(learned.trajectory_probability(a3, o3) - trajectory_probability(tiger, a3, o3)).sum() / 27
    print(f"spectral PSR (Boots, Siddiqi, Gordon 2011) from 100,000 episodes: mean TV to the truth {tv:.4f}")
