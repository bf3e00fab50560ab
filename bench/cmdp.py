"""The constrained MDP numbers: Altman's LP, Lagrangian primal-dual and TSCAC on the synthetic
short-video recommender ``envs.recommendation_cmdp(seed=0, n_responses=2)``.

Run from the repository root::

    .venv/bin/python bench/cmdp.py            # writes bench/results/cmdp.json

TSCAC (Cai et al., 2023, arXiv 2302.01680) takes the stage-two multipliers ``lambda`` as an input;
this script runs it on every ``lambda`` of the 6 x 6 grid ``{0.01, 0.03, 0.1, 0.3, 1, 3}^2`` and
reports the feasible one with the largest main return (and every grid point) next to the LP optimum.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from theory_rl import dual, envs

GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "cmdp.json"))
    args = ap.parse_args()
    start = time.perf_counter()
    cmdp = envs.recommendation_cmdp(seed=0, n_responses=2)
    lp = dual.solve_cmdp_lp(cmdp)
    pd = dual.lagrangian_primal_dual(cmdp, max_iter=300)
    grid = []
    for lam1 in GRID:
        for lam2 in GRID:
            res = dual.tscac(cmdp, [lam1, lam2])
            grid.append({"lambda": [lam1, lam2], "main_return": res.main_return, "feasible": bool(res.feasible),
                         "fraction_of_lp": res.main_return / lp.objective})
            print(f"lambda = [{lam1}, {lam2}]: J1 = {res.main_return:.4f}, feasible = {res.feasible}")
    feasible = [g for g in grid if g["feasible"]]
    best = max(feasible, key=lambda g: g["main_return"]) if feasible else None
    out = {
        "benchmark": "cmdp",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "command": "python bench/cmdp.py",
        "machine": platform.platform(),
        "instance": "envs.recommendation_cmdp(seed=0, n_responses=2)",
        "constraints": list(cmdp.constraint_names),
        "lp": {"objective": lp.objective, "multipliers": [float(x) for x in lp.multipliers],
               "randomized_states": [int(s) for s in lp.randomized_states]},
        "primal_dual": {"objective": pd.objective, "max_iter": 300,
                        "violation_bound": [float(x) for x in pd.info["violation_bound"]]},
        "tscac_grid": grid,
        "tscac_best": best,
        "seconds": time.perf_counter() - start,
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"LP {lp.objective:.4f}, primal-dual {pd.objective:.4f}, best feasible TSCAC {best}")


if __name__ == "__main__":
    main()
