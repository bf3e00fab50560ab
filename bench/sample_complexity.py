"""Do the learners' errors scale as their theorems say?  Three reproductions, measured slopes
with bootstrap CIs beside the theorems' exponents.

Run from the repository root::

    .venv/bin/python bench/sample_complexity.py --quick     # about a minute on 2 cores
    .venv/bin/python bench/sample_complexity.py             # full grids, a few minutes
    .venv/bin/python bench/sample_complexity.py --big       # + the 2,000-task sweep, killed and resumed
    .venv/bin/python bench/sample_complexity.py --big-only  # just that sweep (updates the results file)

1. Plug-in planning with a generative model (Agarwal, Kakade & Yang 2020, Thm 1):
   ``||Q_hat - Q*||_inf`` vs ``n`` samples per pair (theorem: slope -1/2) on RiverSwim and a random
   MDP, and vs ``1 - gamma`` at fixed ``n`` (theorem: -3/2) on RiverSwim and on the hard
   two-state instance of Azar, Munos & Kappen (2013).
2. Synchronous Q-learning (Li et al. 2021: error ~ (1-gamma)^{-2} T^{-1/2}) against
   variance-reduced Q-learning (Wainwright 2019: ~ (1-gamma)^{-3/2} n^{-1/2}) at a fixed budget of
   samples per pair, ``1 - gamma`` swept.
3. Regret of UCBVI-CH (Azar, Osband & Munos 2017) and UCB-Q (Jin et al. 2018) vs ``T``
   (theorem: slope 1/2) on RiverSwim.

Every grid runs through :class:`theory_rl.experiments.Sweep` (joblib, 2 workers). Results go to
``bench/results/sample_complexity.json``, figures to ``bench/figures/sample_complexity_*.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import with_provenance  # noqa: E402  (bench/ is sys.path[0] when a script runs)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from theory_rl.experiments import Sweep, compare_rate, fit_rate, plot_rate  # noqa: E402
from theory_rl.experiments.tasks import generative_error, plug_in_error, regret  # noqa: E402
from theory_rl.theory import ucbvi_regret  # noqa: E402

RANDOM = "random_mdp:n_states=20,n_actions=4,seed=0"


def sweep(fn, grid, seeds, store_dir, name, n_jobs):
    start = time.perf_counter()
    store = Path(store_dir) / f"{name}.jsonl"
    df = Sweep(fn, grid, seeds, store=store, backend="joblib", n_jobs=n_jobs, progress=True).run()
    return df, time.perf_counter() - start


def row(label, fit, theory, note=""):
    c = compare_rate(fit, theory)
    return {"experiment": label, "measured": round(fit.slope, 3), "ci": [round(fit.ci_low, 3), round(fit.ci_high, 3)],
            "theory": theory, "inside_ci": c.inside, "verdict": c.verdict, "points": fit.n_points, "note": note}


def figure(n_panels):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * n_panels, 3.4))
    return fig, fig.subplots(1, n_panels, squeeze=False)[0]


def save(fig, name):
    path = ROOT / "bench" / "figures" / f"sample_complexity_{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    return str(path.relative_to(ROOT))


def reproduction_1(quick, store_dir, n_jobs):
    seeds = 8 if quick else 30
    ns = [10, 30, 100, 300, 1000, 3000] if quick else [10, 30, 100, 300, 1000, 3000, 10000, 30000]
    df, t1 = sweep(plug_in_error, {"env": ["river_swim", RANDOM], "gamma": [0.9], "n": ns}, seeds, store_dir,
                   "r1_n", n_jobs)
    gammas = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98] if quick else [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99]
    dg, t2 = sweep(plug_in_error, {"env": ["hard", "river_swim"], "gamma": gammas, "n": [1000]}, seeds, store_dir,
                   "r1_gamma", n_jobs)
    rows, (fig, axes) = [], figure(2)
    for env, label in (("river_swim", "RiverSwim(6)"), (RANDOM, "random 20x4")):
        fit = fit_rate(df[df.env == env], "n", "error")
        rows.append(row(f"1. plug-in, {label}, gamma=0.9: slope in n", fit, -0.5))
        plot_rate(fit, theory_exponent=-0.5, ax=axes[0], label=label)
    axes[0].set_title("plug-in: error vs n per pair", fontsize=9)
    for env, label, note in (
        ("hard", "hard 2-state", "the lower-bound instance: the theorem's worst case is attained"),
        ("river_swim", "RiverSwim(6)",
         "a benign instance: Var(V*) is far below its worst case, so the dependence is milder than the bound"),
    ):
        fit = fit_rate(dg[dg.env == env], "one_minus_gamma", "error")
        rows.append(row(f"1. plug-in, {label}, n=1000: slope in 1-gamma", fit, -1.5, note))
        plot_rate(fit, theory_exponent=-1.5, ax=axes[1], label=label)
    axes[1].set_title("plug-in: error vs 1-gamma (n = 1000)", fontsize=9)
    return rows, save(fig, "1_plug_in"), {"tasks": len(df) + len(dg), "seconds": round(t1 + t2, 1)}


def reproduction_2(quick, store_dir, n_jobs):
    seeds = 6 if quick else 16
    n = 20000 if quick else 50000
    gammas = [0.7, 0.8, 0.9, 0.95] if quick else [0.6, 0.7, 0.8, 0.9, 0.95, 0.975]
    df, t = sweep(generative_error, {"env": ["hard"], "gamma": gammas, "n": [n],
                                     "method": ["q_learning", "vr_q_learning", "plug_in"]}, seeds, store_dir,
                  "r2_gamma", n_jobs)
    rows, (fig, axes) = [], figure(1)
    theory = {"q_learning": (-2.0, "Li et al. 2021 Thm 1-2: (1-gamma)^-4 samples, i.e. error ~ (1-gamma)^-2"),
              "vr_q_learning": (-1.5, "Wainwright 2019 Thm 2: (1-gamma)^-3 samples"),
              "plug_in": (-1.5, "Agarwal et al. 2020 Thm 1: (1-gamma)^-3 samples")}
    for method, (exponent, note) in theory.items():
        fit = fit_rate(df[df.method == method], "one_minus_gamma", "error")
        rows.append(row(f"2. {method}, hard instance, n={n}/pair: slope in 1-gamma", fit, exponent, note))
        plot_rate(fit, theory_exponent=exponent, ax=axes[0], label=method)
    axes[0].set_title(f"error vs 1-gamma at n = {n} samples per pair", fontsize=9)
    return rows, save(fig, "2_q_learning"), {"tasks": len(df), "seconds": round(t, 1)}


def reproduction_3(quick, store_dir, n_jobs):
    seeds = 4 if quick else 8
    episodes = [100, 200, 400, 800, 1600] if quick else [200, 400, 800, 1600, 3200, 6400, 12800]
    H = 10
    grid = [{"env": "river_swim", "episodes": k, "horizon": H, "method": m, "bonus_scale": b, "c": c}
            for k in episodes
            for (m, b, c) in (("ucbvi", 1.0, 1.0), ("ucbvi", 0.02, 1.0), ("ucb_h", 1.0, 0.1), ("ucb_b", 1.0, 0.1))]
    df, t = sweep(regret, grid, seeds, store_dir, "r3_regret", n_jobs)
    rows, (fig, axes) = [], figure(1)
    for (m, b, c), label, note in (
        (("ucbvi", 1.0, 1.0), "UCBVI-CH (paper's bonus)",
         "bonus 7HL/sqrt(N) > H until N > (7L)^2 ~ 10^4 visits: still exploring uniformly, regret linear"),
        (("ucbvi", 0.02, 1.0), "UCBVI-CH (bonus x 0.02)", "scaled bonus: guarantee void, rate visible"),
        (("ucb_h", 1.0, 0.1), "UCB-Hoeffding (c=0.1)", "Jin et al.'s c is unspecified"),
        (("ucb_b", 1.0, 0.1), "UCB-Bernstein (c=0.1)", "Jin et al.'s c is unspecified"),
    ):
        sub = df[(df.method == m) & (df.bonus_scale == b) & (df.c == c)]
        fit = fit_rate(sub, "T", "regret")
        if m == "ucbvi" and b == 1.0:  # the theorem's bound, with its constants, must hold
            worst = max(r / ucbvi_regret(6, 2, H, t, 0.1).value for r, t in zip(sub.regret, sub["T"]))
            note += f"; max regret / Thm 1 bound = {worst:.1e} (must be <= 1)"
        rows.append(row(f"3. {label}, RiverSwim(6), H={H}: slope in T", fit, 0.5, note))
        plot_rate(fit, theory_exponent=0.5, ax=axes[0], label=label)
    axes[0].set_title(f"regret vs T on RiverSwim(6), H = {H}", fontsize=8)
    return rows, save(fig, "3_regret"), {"tasks": len(df), "seconds": round(t, 1)}


def big_sweep(store_dir, n_jobs, kill_at):
    """Reproduction 1 as 2,000 tasks (2 models x 10 n x 100 seeds) in a subprocess, killed with
    SIGKILL once ``kill_at`` tasks are in the store, then resumed here; counts lost and duplicated tasks."""
    store = Path(store_dir) / "big.jsonl"
    if store.exists():
        store.unlink()
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            f"from bench.sample_complexity import run_big\nrun_big({str(store)!r}, {int(n_jobs)})\n")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code])
    while proc.poll() is None:
        if store.exists() and store.read_bytes().count(b"\n") >= kill_at:
            proc.kill()  # SIGKILL: no cleanup, loky workers orphaned, possibly a torn last line
            break
        time.sleep(0.05)
    proc.wait()
    first = time.perf_counter() - start
    before = store.read_bytes().count(b"\n") if store.exists() else 0
    start = time.perf_counter()
    df = run_big(store, n_jobs)
    second = time.perf_counter() - start
    lines = [json.loads(x) for x in store.read_text().splitlines()]
    fits = {env: fit_rate(df[df.env == env], "n", "error") for env in df.env.unique()}
    return {"tasks": len(df), "killed_after_s": round(first, 1), "finished_before_kill": before,
            "resume_s": round(second, 1), "total_s": round(first + second, 1),
            "records_in_store": len(lines), "unique_tasks_in_store": len({r["task"] for r in lines}),
            "slopes": {env: [round(f.slope, 3), round(f.ci_low, 3), round(f.ci_high, 3)] for env, f in fits.items()}}


def run_big(store, n_jobs):
    grid = {"env": ["river_swim", RANDOM], "gamma": [0.9], "n": [int(x) for x in np.geomspace(10, 10000, 10)]}
    return Sweep(plug_in_error, grid, 100, store=store, backend="joblib", n_jobs=n_jobs, progress=True).run()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller grids and fewer seeds")
    parser.add_argument("--big", action="store_true", help="also run the 2,000-task sweep with a kill and resume")
    parser.add_argument("--kill-at", type=int, default=600, help="finished tasks after which the big sweep is killed")
    parser.add_argument("--big-only", action="store_true",
                        help="run only the big sweep and update its entry in an existing results file")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--store-dir", default=None, help="keep the stores here (default: a temporary folder)")
    parser.add_argument("--only", type=int, choices=(1, 2, 3), action="append", help="run only these reproductions")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "sample_complexity.json"))
    args = parser.parse_args(argv)
    only = set() if args.big_only else set(args.only or (1, 2, 3))
    args.big = args.big or args.big_only
    with tempfile.TemporaryDirectory() as tmp:
        store_dir = args.store_dir or tmp
        Path(store_dir).mkdir(parents=True, exist_ok=True)
        doc = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                           "load_average_at_start": os.getloadavg()[0]},
               "quick": args.quick, "rows": [], "figures": {}, "timing": {}}
        if args.big_only and Path(args.out).exists():
            doc = json.loads(Path(args.out).read_text())
        for number, fn in ((1, reproduction_1), (2, reproduction_2), (3, reproduction_3)):
            if number in only:
                rows, fig, timing = fn(args.quick, store_dir, args.n_jobs)
                doc["rows"] += rows
                doc["figures"][str(number)] = fig
                doc["timing"][str(number)] = timing
        if args.big:
            load = os.getloadavg()[0]
            doc["big_sweep"] = big_sweep(store_dir, args.n_jobs, args.kill_at)
            doc["big_sweep"]["load_average"] = [round(load, 1), round(os.getloadavg()[0], 1)]
        if not args.big_only:
            doc["machine"]["load_average_at_end"] = os.getloadavg()[0]
    print(f"\n{'experiment':70} {'measured':>9} {'95% CI':>17} {'theorem':>8}  verdict")
    for r in doc["rows"]:
        print(f"{r['experiment']:70} {r['measured']:>9.3f} [{r['ci'][0]:>6.3f}, {r['ci'][1]:>6.3f}] "
              f"{r['theory']:>8.2f}  {r['verdict']}")
    if "big_sweep" in doc:
        print("\n2,000-task sweep:", json.dumps(doc["big_sweep"]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(with_provenance(doc), fh, indent=1)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
