"""Spectral PSR learning: error against sample size, with the log-log slope (theory: -1/2).

Run from the repository root::

    .venv/bin/python bench/psr.py            # full sweep (about a minute on one core)
    .venv/bin/python bench/psr.py --quick    # smaller sweep, a few seconds

A random POMDP (S = 3, A = 2, O = 2, seeded) is sampled for H = 4 steps under the uniform
exploration policy; the transformed PSR of ``theory_rl.pomdp.spectral_psr`` (Boots, Siddiqi,
Gordon 2011, time-indexed, importance-weighted) is learned from ``n`` episodes, and its error is
the mean over the ``A^H`` action sequences of the total-variation distance between the learned
and the true ``P(o_{1:H} | do a_{1:H})`` (the truth from the forward algorithm). The raw
importance-weighted frequency table is reported next to it (same data, no low-rank step).
The slope is the least-squares fit of log(mean error) against log(n).

Second table: revealing constants ``alpha_m`` (LP through HiGHS, minimum over the
previous action) of Tiger's *listen* channel (0.7 exactly), of a 3-state example whose states 0 and 1
share an emission but separate after one step (``alpha_1 = 0 < alpha_2``), and of the shipped
Cassandra files with at most 16 states (``m <= 3``; ``--quick``: ``m <= 2``), with LP times.
Results go to ``bench/results/psr.json`` (``--quick``: ``bench/results/psr_quick.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
from _common import with_provenance  # noqa: E402  (bench/ is sys.path[0] when a script runs)
from joblib import Parallel, delayed

from theory_rl.models import POMDP
from theory_rl.pomdp import read_pomdp
from theory_rl.pomdp._forward import enumerate_trajectories, trajectory_probability
from theory_rl.pomdp._revealing import revealing_constant
from theory_rl.pomdp._spectral import empirical_trajectory_table, sample_trajectories, spectral_psr

HERE = os.path.dirname(os.path.abspath(__file__))
PROBLEMS = os.path.join(HERE, "..", "..", "shared", "pomdp_benchmarks")


def instance(seed: int = 0, S: int = 3, A: int = 2, n_obs: int = 2) -> POMDP:
    rng = np.random.default_rng(seed)
    return POMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.dirichlet(np.ones(n_obs), size=(A, S)),
                 np.zeros((S, A)), 0.9)


def one_run(model: POMDP, H: int, n: int, seed: int) -> dict:
    A, n_obs = model.n_actions, model.n_observations
    a, o = enumerate_trajectories(A, n_obs, H)
    truth = trajectory_probability(model, a, o)
    t0 = time.perf_counter()
    sa, so = sample_trajectories(model, n_episodes=n, horizon=H, seed=seed)
    table = empirical_trajectory_table(sa, so, n_actions=A, n_observations=n_obs)
    learned = spectral_psr(table, n_actions=A, n_observations=n_obs, rank=model.n_states)
    q = learned.trajectory_probability(a, o)
    elapsed = time.perf_counter() - t0
    scale = 0.5 / A**H
    return {"n": n, "seed": seed, "spectral_tv": float(scale * np.abs(q - truth).sum()),
            "empirical_tv": float(scale * np.abs(table - truth).sum()), "seconds": elapsed}


def slope(ns: np.ndarray, errs: np.ndarray) -> float:
    return float(np.polyfit(np.log(ns), np.log(errs), 1)[0])


def separating_example() -> POMDP:
    """States 0 and 1 emit the same uniform symbol over {0, 1}; state 2 emits symbol 2. State 0 moves
    to 2, states 1 and 2 stay: one step later the observation tells 0 from 1."""
    T = np.zeros((3, 1, 3))
    T[0, 0, 2] = T[1, 0, 1] = T[2, 0, 2] = 1.0
    O = np.array([[[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]])  # noqa: E741
    return POMDP(T, O, np.zeros((3, 1)), 0.9)


def revealing_table(max_m: int) -> list[dict]:
    import warnings

    T = np.zeros((2, 3, 2))
    T[:, 0, :] = np.eye(2)
    T[:, 1:, :] = 0.5
    O = np.full((3, 2, 2), 0.5)  # noqa: E741
    O[0] = [[0.85, 0.15], [0.15, 0.85]]
    cases = [("Tiger, after listen", POMDP(T, O, np.zeros((2, 3)), 0.95), 0),
             ("separating example", separating_example(), None)]
    for name in ["tiger.95", "shuttle.95", "network", "4x3.95", "cheese.95", "4x4.95"]:
        path = os.path.join(PROBLEMS, f"{name}.POMDP")
        if os.path.exists(path):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # files whose rows sum to 1 +- 1e-6 are renormalised
                cases.append((name, read_pomdp(path), None))
    rows = []
    for name, model, prev in cases:
        row = {"model": name, "S": model.n_states, "A": model.n_actions, "O": model.n_observations}
        for m in range(1, max_m + 1):
            t0 = time.perf_counter()
            row[f"alpha_{m}"] = revealing_constant(model, m, previous_action=prev)
            row[f"seconds_{m}"] = time.perf_counter() - t0
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sweep (CI smoke run)")
    ap.add_argument("--jobs", type=int, default=1, help="joblib workers")
    ap.add_argument("--out", default=None, help="JSON file to write")
    args = ap.parse_args()
    H = 4
    if args.quick:
        ns, seeds = [1_000, 4_000, 16_000, 64_000], range(4)
    else:
        ns, seeds = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000], range(10)
    model = instance()
    t0 = time.perf_counter()
    rows = Parallel(n_jobs=args.jobs)(delayed(one_run)(model, H, n, s) for n in ns for s in seeds)
    total = time.perf_counter() - t0
    by_n = {n: [r for r in rows if r["n"] == n] for n in ns}
    spec = np.array([np.mean([r["spectral_tv"] for r in by_n[n]]) for n in ns])
    emp = np.array([np.mean([r["empirical_tv"] for r in by_n[n]]) for n in ns])
    print(f"Spectral PSR (Boots-Siddiqi-Gordon 2011 TPSR), S=3 A=2 O=2 H={H}, {len(seeds)} seeds per n")
    print(f"{'n':>9} {'spectral TV':>12} {'empirical TV':>13} {'ratio':>6}")
    for n, e_s, e_e in zip(ns, spec, emp):
        print(f"{n:>9} {e_s:>12.5f} {e_e:>13.5f} {e_s / e_e:>6.2f}")
    s_spec, s_emp = slope(np.array(ns, float), spec), slope(np.array(ns, float), emp)
    print(f"log-log slope: spectral {s_spec:.3f}, empirical table {s_emp:.3f} (theory -0.5); {total:.1f} s")
    max_m = 2 if args.quick else 3
    rev = revealing_table(max_m)
    print("\nRevealing constants alpha_m (min over the previous action; LP seconds in brackets)")
    print(f"{'model':>22} {'S':>3} {'A':>2} {'O':>2} " + " ".join(f"{'alpha_' + str(m):>16}" for m in range(1, max_m + 1)))
    for r in rev:
        cells = " ".join(f"{r[f'alpha_{m}']:>8.4f} ({r[f'seconds_{m}']:>5.2f})" for m in range(1, max_m + 1))
        print(f"{r['model']:>22} {r['S']:>3} {r['A']:>2} {r['O']:>2} {cells}")
    out = args.out or os.path.join(HERE, "results", "psr_quick.json" if args.quick else "psr.json")
    doc = {"revealing": rev, "benchmark": "psr", "quick": args.quick, "H": H, "S": 3, "A": 2, "O": 2, "ns": ns,
           "spectral_tv": spec.tolist(), "empirical_tv": emp.tolist(), "slope_spectral": s_spec,
           "slope_empirical": s_emp, "seconds": total, "runs": rows, "machine": platform.platform()}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        json.dump(with_provenance(doc), fh, indent=1)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
