"""POMDP benchmark: our certified HSVI2 interval at b0 and CPU time on every file in
the packaged problems (theory_rl/pomdp/problems/) against SARSOP's measured values, and pomdp_py (exact values on Tiger, POMCP on
RockSample(4,4)) run in the same process.

    .venv/bin/python bench/pomdp.py            # full run (60 s per hard problem, ~15 min)
    .venv/bin/python bench/pomdp.py --quick    # 5 s per hard problem, fewer POMCP episodes
    .venv/bin/python bench/pomdp.py --files TagAvoid.pomdp RockSample_4_4.pomdp --note "loaded"
                                               # rerun some rows, replace them in the JSON
                                               # (with --quick: printed only)

Every solve gets a CPU-time budget (hsvi2(clock="cpu"): process_time, not wall time), so a
loaded machine slows the run but does not shrink the budget.

Prints the tables and writes bench/results/pomdp.json. SARSOP numbers are from
theory_rl/pomdp/problems/README.md (APPL pomdpsol, its own CPU seconds, loaded 2-core machine).
"""

from __future__ import annotations

import os

# one BLAS / numba thread, as SARSOP: idle worker threads spinning would be billed to
# process_time() (numba's parallel value iteration inside the QMDP bound took 0.38 CPU-s on
# RockSample(4,4) with its thread pool on a loaded machine, 0.002 s single-threaded)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _common import with_provenance  # noqa: E402  (bench/ is sys.path[0] when a script runs)

from theory_rl.errors import ConvergenceWarning  # noqa: E402
from theory_rl.pomdp import (  # noqa: E402
    PROBLEM_DIR,  # noqa: E402
    finite_horizon_value,
    hsvi2,
    pomcp_episode,
    read_pomdp,
    read_pomdpx,
)

DATA = PROBLEM_DIR
RESULTS = Path(__file__).resolve().parent / "results" / "pomdp.json"

# file -> (SARSOP lower, SARSOP upper, SARSOP CPU seconds, kind); kind "solve": SARSOP reached
# the 1e-3 gap in that time (target: ours <= 10x, stretch 2x); "anytime": SARSOP's 60 s interval
# (target: our 60 s lower bound within 2% of SARSOP's). Cheese and 4x4 are listed as "< 1 s".
SARSOP = {
    "tiger.95.POMDP": (19.3711, 19.3721, 0.1, "solve"),
    "Tiger.pomdpx": (19.3711, 19.3721, 0.1, "solve"),
    "shuttle.95.POMDP": (32.8890, 32.8897, 0.01, "solve"),
    "cheese.95.POMDP": (3.48525, 3.48624, 1.0, "solve"),
    "4x3.95.POMDP": (1.88988, 1.89085, 0.7, "solve"),
    "4x4.95.POMDP": (3.73234, 3.73333, 1.0, "solve"),
    "RockSample_4_4.pomdp": (17.9245, 17.9245, 0.3, "solve"),
    "network.POMDP": (293.185, 293.345, 60.0, "anytime"),
    "milos-aaai97.POMDP": (49.62, 70.61, 60.0, "anytime"),
    "tiger-grid.POMDP": (2.247, 2.533, 60.0, "anytime"),
    "hallway.POMDP": (0.992, 1.206, 60.0, "anytime"),
    "hallway2.POMDP": (0.353, 0.905, 60.0, "anytime"),
    "mit.POMDP": (0.793, 0.885, 60.0, "anytime"),
    "TagAvoid.pomdp": (-6.20, -1.80, 60.0, "anytime"),
    "RockSample_7_8.pomdpx": (21.11, 24.64, 60.0, "anytime"),
}


def _read(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the renormalisation notes of 4x4 / TagAvoid
        return read_pomdpx(path) if path.suffix == ".pomdpx" else read_pomdp(path)


def bench_hsvi(quick: bool, only: list[str] | None = None, note: str = "") -> list[dict]:
    hard_limit = 5.0 if quick else 60.0
    _ = hsvi2(_read(DATA / "tiger.95.POMDP"), tol=1e-2)  # compile the kernels outside the clock
    rows = []
    files = sorted(p for p in DATA.iterdir() if p.suffix in (".POMDP", ".pomdp", ".pomdpx"))
    if only:
        unknown = sorted(set(only) - {p.name for p in files})
        if unknown:
            raise SystemExit(f"unknown files {unknown}; choose from {[p.name for p in files]}")
        files = [p for p in files if p.name in only]
    for path in files:
        lo_s, hi_s, t_s, kind = SARSOP[path.name]
        model = _read(path)
        limit = 60.0 if kind == "solve" else hard_limit
        cpu0 = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sol = hsvi2(model, tol=1e-3, time_limit=limit, clock="cpu")
        cpu = time.process_time() - cpu0
        row = {
            "file": path.name, "S": model.n_states, "A": model.n_actions, "O": model.n_observations,
            "gamma": model.gamma, "lower": sol.lower, "upper": sol.upper, "gap": sol.gap, "cpu_s": cpu,
            "wall_s": sol.elapsed, "trials": sol.n_iter, "backups": sol.info["n_backups"],
            "n_vectors": sol.n_vectors, "n_points": sol.info["n_points"], "converged": sol.converged,
            "sarsop_lower": lo_s, "sarsop_upper": hi_s, "sarsop_cpu_s": t_s, "kind": kind, "time_limit": limit,
            # both intervals contain V*(b0), so they must intersect
            "consistent_with_sarsop": bool(sol.lower <= hi_s + 1e-4 and lo_s <= sol.upper + 1e-4),
            "clock": "cpu (process_time)", "note": note,
        }
        if kind == "solve":
            row["cpu_ratio"] = cpu / t_s
            row["target_met"] = bool(sol.converged and cpu <= 10 * t_s)
        else:
            row["lower_vs_sarsop"] = (sol.lower - lo_s) / abs(lo_s)
            row["target_met"] = bool(row["lower_vs_sarsop"] >= -0.02 and limit >= 60)
        rows.append(row)
        print(_hsvi_line(row), flush=True)
    return rows


def _hsvi_line(r: dict) -> str:
    ours = f"[{r['lower']:.5g}, {r['upper']:.5g}]"
    theirs = f"[{r['sarsop_lower']:.5g}, {r['sarsop_upper']:.5g}]"
    if r["kind"] == "solve":
        extra = f"cpu {r['cpu_s']:7.2f}s  SARSOP {r['sarsop_cpu_s']:.2f}s  ratio {r['cpu_ratio']:6.1f}x"
    else:
        extra = f"cpu {r['cpu_s']:7.2f}s  LB vs SARSOP 60 s: {100 * r['lower_vs_sarsop']:+6.1f}%"
    return (f"{r['file']:22} {r['S']:6d}/{r['A']:2d}/{r['O']:2d}  ours {ours:24} gap {r['gap']:8.2g}  "
            f"SARSOP {theirs:22} {extra}  consistent={r['consistent_with_sarsop']} target={r['target_met']}")


def bench_pomdp_py_tiger(quick: bool) -> list[dict]:
    """pomdp_py's exact belief-tree value (``pomdp_py.algorithms.value_function.value``) and its
    ``ValueIteration`` planner vs our incremental pruning, finite horizons on Tiger (gamma 0.95)."""
    import pomdp_py
    from pomdp_py.algorithms.value_function import value
    from pomdp_py.problems.tiger.tiger_problem import make_tiger

    model = _read(DATA / "tiger.95.POMDP")
    tiger = make_tiger()
    agent = tiger.agent
    S, A, Z = list(agent.all_states), list(agent.all_actions), list(agent.all_observations)
    b = {s: 0.5 for s in S}
    rows = []
    for h in range(1, (4 if quick else 5) + 1):
        t0 = time.process_time()
        theirs = value(b, S, A, Z, agent.transition_model, agent.observation_model, agent.reward_model, 0.95,
                       horizon=h)
        t_theirs = time.process_time() - t0
        t_vi = None
        if h <= 3:  # ValueIteration enumerates all policy trees: A^(O^h) of them, beyond reach at h = 4
            t0 = time.process_time()
            planner = pomdp_py.ValueIteration(horizon=h, discount_factor=0.95)
            planner.plan(agent)
            t_vi = time.process_time() - t0
        t0 = time.process_time()
        ours = finite_horizon_value(model, h)
        t_ours = time.process_time() - t0
        row = {"horizon": h, "ours": ours.lower, "ours_vectors": ours.n_vectors, "ours_cpu_s": t_ours,
               "pomdp_py_value": theirs, "pomdp_py_value_cpu_s": t_theirs, "pomdp_py_vi_plan_cpu_s": t_vi,
               "agree": bool(abs(theirs - ours.lower) < 1e-6)}
        rows.append(row)
        vi = "not run (policy-tree enumeration)" if t_vi is None else f"{t_vi:.3f}s"
        print(f"Tiger h={h}: ours {ours.lower:10.5f} ({ours.n_vectors:3d} vectors, {t_ours:.3f}s)   pomdp_py value "
              f"{theirs:10.5f} ({t_theirs:.3f}s), ValueIteration.plan {vi}   agree={row['agree']}", flush=True)
    return rows


def bench_pomcp(quick: bool) -> dict:
    """POMCP on RockSample(4,4): ours on the ZMDP instance file, pomdp_py's POMCP on its own
    RockSample(4,4) generator (random rock positions: a different instance with the same rules)."""
    import pomdp_py
    from pomdp_py.problems.rocksample.rocksample_problem import create_instance

    n_sims = 500 if quick else 2000
    n_episodes = 2 if quick else 5
    n_steps = 30
    model = _read(DATA / "RockSample_4_4.pomdp")
    ours_ret, ours_time, ours_steps = [], 0.0, 0
    for ep in range(n_episodes):
        t0 = time.process_time()
        res = pomcp_episode(model, n_steps=n_steps, n_simulations=n_sims, seed=ep)
        ours_time += time.process_time() - t0
        ours_steps += n_steps
        ours_ret.append(res.discounted_return)
    theirs_ret, theirs_time, theirs_steps = [], 0.0, 0
    for ep in range(n_episodes):
        random.seed(ep)
        problem = create_instance(4, 4)
        planner = pomdp_py.POMCP(max_depth=30, discount_factor=0.95, num_sims=n_sims, exploration_const=20,
                                 rollout_policy=problem.agent.policy_model, num_visits_init=1)
        total, disc = 0.0, 1.0
        for _ in range(n_steps):
            t0 = time.process_time()
            action = planner.plan(problem.agent)
            theirs_time += time.process_time() - t0
            theirs_steps += 1
            reward = problem.env.state_transition(action, execute=True)
            obs = problem.env.provide_observation(problem.agent.observation_model, action)
            problem.agent.update_history(action, obs)
            planner.update(problem.agent, action, obs)
            total += disc * reward
            disc *= 0.95
            if problem.in_exit_area(problem.env.state.position):
                break
        theirs_ret.append(total)
    out = {
        "n_simulations": n_sims, "episodes": n_episodes,
        "ours_mean_return": float(np.mean(ours_ret)), "ours_cpu_s_per_step": ours_time / ours_steps,
        "pomdp_py_mean_return": float(np.mean(theirs_ret)), "pomdp_py_cpu_s_per_step": theirs_time / theirs_steps,
    }
    out["speedup"] = out["pomdp_py_cpu_s_per_step"] / out["ours_cpu_s_per_step"]
    print(f"POMCP RockSample(4,4), {n_sims} simulations/step: ours {out['ours_cpu_s_per_step'] * 1e3:.1f} ms/step "
          f"(mean discounted return {out['ours_mean_return']:.2f}; V*(b0) = 17.92 on this instance), pomdp_py "
          f"{out['pomdp_py_cpu_s_per_step'] * 1e3:.1f} ms/step (return {out['pomdp_py_mean_return']:.2f} on its "
          f"random instances): {out['speedup']:.0f}x", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per hard problem, fewer POMCP episodes")
    parser.add_argument("--files", nargs="+", metavar="FILE",
                        help="rerun only these HSVI2 rows and replace them in the results file (no pomdp_py runs)")
    parser.add_argument("--note", default="", help="stored with each row, e.g. the machine's load")
    args = parser.parse_args()
    print("== HSVI2/SARSOP certified interval at b0 vs SARSOP (file S/A/O), CPU-time budgets")
    hsvi_rows = bench_hsvi(args.quick, args.files, args.note)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if args.files:
        if args.quick:
            print("\n--quick with --files: rows printed only, the results file is left as it is")
            return
        old = json.loads(RESULTS.read_text())
        rerun = {r["file"] for r in hsvi_rows}
        old["hsvi2"] = sorted([r for r in old["hsvi2"] if r["file"] not in rerun] + hsvi_rows, key=lambda r: r["file"])
        RESULTS.write_text(json.dumps(with_provenance(old), indent=1))
        print(f"\nreplaced {sorted(rerun)} in {RESULTS}")
        return
    print("\n== Tiger finite horizon: incremental pruning vs pomdp_py")
    tiger_rows = bench_pomdp_py_tiger(args.quick)
    print("\n== POMCP vs pomdp_py's POMCP")
    pomcp = bench_pomcp(args.quick)
    RESULTS.write_text(json.dumps(with_provenance({"quick": args.quick, "hsvi2": hsvi_rows, "tiger_pomdp_py": tiger_rows,
                                   "pomcp": pomcp}), indent=1))
    print(f"\nwritten {RESULTS}")


if __name__ == "__main__":
    main()
