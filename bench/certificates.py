"""Numerical study: do the tabular certificates ever lie? (issue 17)

For a set of edge instances (gamma in {0, 0.9, 0.9999, 1 - 1e-10}, rewards up to 1e12,
near-deterministic P, S = 1, absorbing states, rows that do not sum to one exactly) this runs every
tabular solver and stopping rule and compares each answer with the model's exact rational
solution (``fractions``: Gaussian elimination over the rationals and policy iteration over the
rationals, :mod:`theory_rl.tabular._exact`). A *violation* is any of

- ``|v - v*| > bound`` (or ``v*`` outside ``[lower, upper]``),
- a policy whose exact gap ``max_s v*(s) - v_pi(s)`` exceeds its ``policy_gap_bound``,
- ``converged=True`` with ``bound > tol``,
- an exception that is not one of the library's errors.

It also reports the ratio ``bound / true error`` (the certificate's pessimism). Not a timed
benchmark; results go to ``bench/results/certificates.json`` and ``.md``::

    python bench/certificates.py            # full study (about a minute)
    python bench/certificates.py --quick    # a few instances
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from theory_rl import envs, tabular  # noqa: E402
from theory_rl.errors import ConvergenceWarning, TheoryRLError  # noqa: E402
from theory_rl.models import FiniteMDP  # noqa: E402
from theory_rl.tabular._exact import exact_policy_value, exact_solution  # noqa: E402

TOL = 1e-6
GAMMAS = (0.0, 0.9, 0.9999, 1 - 1e-10)
MAX_ITER = 300_000  # iterative solvers: caps the sup rule at gamma = 0.9999 (about 2e5 backups)

SOLVERS = {
    "VI span": lambda m: tabular.value_iteration(m, tol=TOL, max_iter=MAX_ITER),
    "VI sup": lambda m: tabular.value_iteration(m, tol=TOL, stopping="sup", max_iter=MAX_ITER),
    "GS span": lambda m: tabular.value_iteration(m, tol=TOL, variant="gauss-seidel", max_iter=MAX_ITER),
    "GS sup": lambda m: tabular.value_iteration(m, tol=TOL, variant="gauss-seidel", stopping="sup", max_iter=MAX_ITER),
    "MPI": lambda m: tabular.modified_policy_iteration(m, tol=TOL, max_iter=20_000),
    "PI": lambda m: tabular.policy_iteration(m, tol=TOL),
    "LP primal": lambda m: tabular.linear_programming(m, tol=TOL),
    "LP dual": lambda m: tabular.linear_programming(m, tol=TOL, formulation="dual"),
}


def random_model(seed: int, gamma: float, scale: float, S: int = 4, A: int = 3) -> FiniteMDP:
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S))
    P /= P.sum(axis=2, keepdims=True)
    return FiniteMDP(P, scale * rng.uniform(-1, 1, (S, A)), gamma)


def off_by_rounding(gamma: float) -> FiniteMDP:
    """Rows that sum to 1 -+ 5e-9 (inside the models' atol): the stored model is what is certified."""
    P = np.zeros((2, 1, 2))
    P[0, 0, 0], P[1, 0, 1] = 1.0 - 5e-9, 1.0 + 5e-9
    return FiniteMDP(P, np.array([[1.0], [-1.0]]), gamma)


def instances(quick: bool) -> list[tuple[str, float, FiniteMDP]]:
    out = []
    gammas = (0.9, 0.9999) if quick else GAMMAS
    for g in gammas:
        out.append(("S=1, R=1e12", g, FiniteMDP(np.ones((1, 1, 1)), np.full((1, 1), 1e12), g)))
        out.append(("S=1, R=[1e12, 1e12+1]", g, FiniteMDP(np.ones((1, 2, 1)), np.array([[1e12, 1e12 + 1]]), g)))
        out.append(("near-deterministic P (eps 1e-9)", g, envs.near_deterministic_mdp(5, 2, slip=1e-9, gamma=g, seed=0)))
        if quick:
            continue
        out.append(("river_swim(6)", g, envs.river_swim(6, gamma=g)))
        out.append(("gridworld 4x4 (absorbing)", g, envs.sutton_barto_gridworld(gamma=g) if g > 0 else
                    envs.sutton_barto_gridworld(gamma=0.5).replace(gamma=0.0)))
        out.append(("random 4x3, R up to 1e12", g, random_model(1, g, 1e12)))
        out.append(("random 4x3, R in [-1, 1]", g, random_model(2, g, 1.0)))
        if g < 1 - 1e-9:
            out.append(("rows summing to 1 -+ 5e-9", g, off_by_rounding(g)))
    return out


def frac_err(v: np.ndarray, exact: list[Fraction]) -> Fraction:
    return max(abs(Fraction(float(x)) - y) for x, y in zip(v, exact, strict=True))


def run_one(name: str, gamma: float, mdp: FiniteMDP, solver: str, exact: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"instance": name, "gamma": gamma, "solver": solver}
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sol = SOLVERS[solver](mdp)
    except TheoryRLError as exc:
        record.update(outcome="library error", error_type=type(exc).__name__, message=str(exc)[:200],
                      seconds=time.perf_counter() - start, violations=[])
        return record
    except Exception as exc:  # noqa: BLE001 - a violation to report, not to hide
        record.update(outcome="crash", error_type=type(exc).__name__, message=str(exc)[:200],
                      seconds=time.perf_counter() - start, violations=["crash"])
        return record
    seconds = time.perf_counter() - start
    error = frac_err(sol.v, exact.v)
    violations = []
    if error > Fraction(sol.bound):
        violations.append("error > bound")
    if sol.lower is not None and any(not (Fraction(float(lo)) <= x <= Fraction(float(hi)))
                                     for lo, x, hi in zip(sol.lower, exact.v, sol.upper, strict=True)):
        violations.append("v* outside [lower, upper]")
    gap = max(a - b for a, b in zip(exact.v, exact_policy_value(mdp, sol.policy), strict=True))
    gap_bound = sol.info.get("policy_gap_bound")
    if gap_bound is not None and gap > Fraction(gap_bound):
        violations.append("policy gap > policy_gap_bound")
    if sol.converged and sol.bound > TOL:
        violations.append("converged with bound > tol")
    record.update(
        outcome="converged" if sol.converged else "not converged", n_iter=int(sol.n_iter), bound=float(sol.bound),
        true_error=float(error), ratio=(float(Fraction(sol.bound) / error) if error > 0 else None),
        policy_gap_bound=None if gap_bound is None else float(gap_bound), true_policy_gap=float(gap),
        reason=sol.info.get("reason"), seconds=seconds, violations=violations,
    )
    return record


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    ratios = [r["ratio"] for r in records if r.get("ratio") is not None]
    certified = [r["ratio"] for r in records if r.get("ratio") is not None and r["outcome"] == "converged"]
    return {
        "runs": len(records),
        "instances": len({(r["instance"], r["gamma"]) for r in records}),
        "violations": sum(bool(r["violations"]) for r in records),
        "converged": sum(r["outcome"] == "converged" for r in records),
        "not_converged": sum(r["outcome"] == "not converged" for r in records),
        "library_errors": sum(r["outcome"] == "library error" for r in records),
        "exact_answers": sum(r.get("true_error") == 0.0 for r in records),
        "ratio_median_all": float(np.median(ratios)) if ratios else None,
        "ratio_max_all": max(ratios) if ratios else None,
        "ratio_median_converged": float(np.median(certified)) if certified else None,
        "ratio_max_converged": max(certified) if certified else None,
        "ratio_max_converged_error_above_1e-13": max(
            (r["ratio"] for r in records if r.get("ratio") is not None and r["outcome"] == "converged"
             and r["true_error"] > 1e-13), default=None),
    }


def by_solver(records: list[dict[str, Any]]) -> str:
    """One markdown row per solver: runs, outcomes, violations, bound/error ratios."""
    lines = ["| solver | runs | converged | refused / not converged | library error | violations | "
             "bound/error median (converged) | max (converged) | median (all) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for solver in SOLVERS:
        rows = [r for r in records if r["solver"] == solver]
        conv = [r["ratio"] for r in rows if r["outcome"] == "converged" and r.get("ratio") is not None]
        every = [r["ratio"] for r in rows if r.get("ratio") is not None]

        def med(x: list[float]) -> str:
            return f"{np.median(x):.3g}" if x else "-"

        lines.append(
            f"| {solver} | {len(rows)} | {sum(r['outcome'] == 'converged' for r in rows)} | "
            f"{sum(r['outcome'] == 'not converged' for r in rows)} | {sum(r['outcome'] == 'library error' for r in rows)} | "
            f"{sum(bool(r['violations']) for r in rows)} | {med(conv)} | {f'{max(conv):.3g}' if conv else '-'} | {med(every)} |"
        )
    return "\n".join(lines) + "\n"


def markdown(records: list[dict[str, Any]], summary: dict[str, Any], command: str) -> str:
    lines = [
        f"Certificate study ({summary['runs']} runs on {summary['instances']} instances, tol = {TOL:g}): "
        f"**{summary['violations']} violations**; {summary['converged']} converged, "
        f"{summary['not_converged']} refused/unconverged with a reason, {summary['library_errors']} library errors.",
        "",
        f"Command: `{command}`",
        "",
        by_solver(records),
        "| instance | gamma | solver | outcome | bound | true error | bound/error | gap bound | true gap | violations |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(x: Any) -> str:
        if x is None:
            return "-"
        if isinstance(x, float):
            return f"{x:.3g}"
        return str(x)

    for r in records:
        outcome = r["outcome"] if r["outcome"] != "library error" else f"{r['error_type']}"
        lines.append(
            f"| {r['instance']} | {r['gamma']:.10g} | {r['solver']} | {outcome} | {fmt(r.get('bound'))} | "
            f"{fmt(r.get('true_error'))} | {fmt(r.get('ratio'))} | {fmt(r.get('policy_gap_bound'))} | "
            f"{fmt(r.get('true_policy_gap'))} | {', '.join(r['violations']) or '0'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few instances only")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "certificates"),
                        help="output path without extension (.json and .md are written)")
    args = parser.parse_args(argv)
    records = []
    for name, gamma, mdp in instances(args.quick):
        exact = exact_solution(mdp)
        for solver in SOLVERS:
            rec = run_one(name, gamma, mdp, solver, exact)
            records.append(rec)
            flag = " VIOLATION " + ", ".join(rec["violations"]) if rec["violations"] else ""
            print(f"{name:34s} gamma={gamma:<13.10g} {solver:9s} {rec['outcome']:14s} "
                  f"bound={rec.get('bound', math.nan):.3g} err={rec.get('true_error', math.nan):.3g}{flag}")
    summary = summarise(records)
    command = "python bench/certificates.py" + (" --quick" if args.quick else "")
    doc = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
        "command": command, "tol": TOL, "summary": summary, "runs": records,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(doc, indent=1))
    out.with_suffix(".md").write_text(markdown(records, summary, command))
    print(json.dumps(summary, indent=1))
    return 1 if summary["violations"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
