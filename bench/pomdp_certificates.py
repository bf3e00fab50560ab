"""Numerical study: do the POMDP bounds ever lie in float64? (issue 17)

Small POMDPs whose optimal value at ``b0`` is computable exactly over the rationals
(:mod:`theory_rl.pomdp._exact_rational`, every float64 entry read as the rational it is):

- one state, rewards ``1e12`` (and two actions ``1e12``, ``1e12 + 1``), ``gamma`` 0.9 and 0.9999:
  ``V* = max R / (1 - gamma)``;
- blind-optimal problems: three states, one transition kernel for every action, action 0's
  rewards above action 1's everywhere (so always playing 0 is optimal whatever is observed),
  rewards offset by 0, 1e6 or 1e12, informative or near-deterministic observations
  (``1 - 1e-9``), ``gamma`` 0.95 and 0.9999: ``V* = b0 . (I - gamma T_0)^{-1} R_0``;
- Tiger with a horizon of 3 and 4 (``gamma`` 0.95 and 1; rewards as published and times 1e10):
  ``V*_H`` by the exact recursion over un-normalised beliefs.

Every bound-reporting POMDP solver runs on each (blind, QMDP and FIB bounds, HSVI2 with both
trial rules, exact value iteration, PBVI, Perseus; with a horizon, PBVI and exact value
iteration). A *violation* is ``V*`` below ``lower`` or above ``upper``, or ``converged=True``
with ``upper - lower > tol`` (for the solvers whose ``converged`` says that: HSVI2, SARSOP,
discounted exact value iteration). For lower bounds that also report the raw value (``value``), the
ratio ``(value - lower) / |value - V*|`` measures how pessimistic the float64 allowance is.
Not a timed benchmark; writes ``bench/results/pomdp_certificates.json``::

    python bench/pomdp_certificates.py
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import warnings
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from theory_rl import pomdp  # noqa: E402
from theory_rl.errors import ConvergenceWarning, TheoryRLError  # noqa: E402
from theory_rl.models import POMDP  # noqa: E402
from theory_rl.pomdp._exact_rational import exact_blind_value, exact_finite_horizon_value  # noqa: E402

TOL = 1e-3


def one_state(rewards: list[float], gamma: float) -> POMDP:
    A = len(rewards)
    return POMDP(np.ones((1, A, 1)), np.ones((A, 1, 1)), np.array([rewards], dtype=float), gamma)


def blind_optimal(seed: int, offset: float, gamma: float, obs_noise: float | None) -> POMDP:
    """Three states, one kernel for both actions, action 0 better by 1 everywhere."""
    rng = np.random.default_rng(seed)
    S, A = 3, 2
    T1 = rng.dirichlet(np.ones(S), size=S)
    T = np.repeat(T1[:, None, :], A, axis=1)
    if obs_noise is None:
        O = rng.dirichlet(np.ones(2), size=(A, S))  # noqa: E741
    else:  # near-deterministic: the state's parity, wrong with probability obs_noise
        O = np.empty((A, S, 2))  # noqa: E741
        O[:, :, 0] = [1.0 - obs_noise if s % 2 == 0 else obs_noise for s in range(S)]
        O[:, :, 1] = 1.0 - O[:, :, 0]
    base = offset + rng.uniform(0, 10, size=S)
    R = np.column_stack([base + 1.0, base])
    return POMDP(T, O, R, gamma, b0=rng.dirichlet(np.ones(S)))


def tiger(gamma: float, scale: float) -> POMDP:
    T = np.zeros((2, 3, 2))
    T[:, 0, :] = np.eye(2)
    T[:, 1:, :] = 0.5
    O = np.full((3, 2, 2), 0.5)  # noqa: E741
    O[0] = [[0.85, 0.15], [0.15, 0.85]]
    R = np.array([[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]]) * scale
    return POMDP(T, O, R, gamma)


def instances() -> list[tuple[str, POMDP, Fraction, int | None]]:
    out: list[tuple[str, POMDP, Fraction, int | None]] = []
    for gamma in (0.9, 0.9999):
        for rewards in ([1e12], [1e12, 1e12 + 1]):
            m = one_state(rewards, gamma)
            out.append((f"one-state R={rewards}", m, exact_blind_value(m, len(rewards) - 1), None))
    for gamma in (0.95, 0.9999):
        for offset in (0.0, 1e6, 1e12):
            for noise in (None, 1e-9):
                m = blind_optimal(7, offset, gamma, noise)
                name = f"blind-optimal offset={offset:g} obs={'random' if noise is None else '1-1e-9'}"
                out.append((name, m, exact_blind_value(m, 0), None))
    for gamma in (0.95, 1.0):
        for scale in (1.0, 1e10):
            for horizon in (3, 4):
                m = tiger(gamma, scale)
                out.append((f"tiger x{scale:g} H={horizon}", m, exact_finite_horizon_value(m, horizon), horizon))
    return out


INFINITE = {
    "blind": lambda m: pomdp.blind_lower_bound(m),
    "QMDP": lambda m: pomdp.qmdp_upper_bound(m),
    "FIB": lambda m: pomdp.fib_upper_bound(m),
    "HSVI2 (hsvi)": lambda m: pomdp.hsvi2(m, tol=TOL, sampling="hsvi", time_limit=10, max_iter=300),
    "SARSOP": lambda m: pomdp.sarsop(m, tol=TOL, time_limit=10, max_iter=300),
    "exact VI": lambda m: pomdp.exact_value_iteration(m, tol=TOL, max_iter=200, time_limit=10),
    "PBVI": lambda m: pomdp.pbvi(m, tol=TOL, n_expansions=3, seed=0),
    "Perseus": lambda m: pomdp.perseus(m, tol=TOL, n_beliefs=30, seed=0, time_limit=10),
}
GAP_SOLVERS = ("HSVI2 (hsvi)", "SARSOP", "exact VI")
FINITE = {
    "PBVI (horizon)": lambda m, h: pomdp.pbvi(m, horizon=h, n_expansions=6, seed=0),
    "exact VI (horizon)": lambda m, h: pomdp.exact_value_iteration(m, horizon=h),
}


def check(name: str, solver: str, gamma: float, run: Any, exact: Fraction) -> dict[str, Any]:
    rec: dict[str, Any] = {"instance": name, "gamma": gamma, "solver": solver, "exact": float(exact)}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            sol = run()
    except TheoryRLError as exc:
        rec.update(outcome="library error", error=f"{type(exc).__name__}: {exc}"[:200], violations=[])
        return rec
    lower, upper = float(sol.lower), float(sol.upper)
    violations = []
    if math.isfinite(lower) and Fraction(lower) > exact:
        violations.append("V* < lower")
    if math.isfinite(upper) and Fraction(upper) < exact:
        violations.append("V* > upper")
    bounded = math.isfinite(lower) and math.isfinite(upper)
    # converged means upper - lower <= tol only for the searches and discounted exact VI (PBVI, Perseus:
    # the improvement phase stopped; the cheap bounds and finite horizons: the computation finished)
    if solver in GAP_SOLVERS and sol.converged and bounded and upper - lower > sol.params.get("tol", math.inf):
        violations.append("converged with gap > tol")
    rec.update(outcome="converged" if sol.converged else "not converged", lower=lower, upper=upper,
               lower_slack=float(exact - Fraction(lower)) if math.isfinite(lower) else None,
               upper_slack=float(Fraction(upper) - exact) if math.isfinite(upper) else None,
               violations=violations, reason=str(sol.info.get("stop_reason", ""))[:200])
    value = float(sol.value)
    if math.isfinite(lower) and math.isfinite(value) and value >= lower:
        err = abs(float(Fraction(value) - exact))
        rec["raw_error"] = err
        rec["allowance"] = value - lower
        rec["ratio"] = (value - lower) / err if err > 0 else None
    return rec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "pomdp_certificates.json"))
    args = parser.parse_args(argv)
    records = []
    for name, model, exact, horizon in instances():
        solvers = INFINITE if horizon is None else FINITE
        for solver, fn in solvers.items():
            if horizon is None:
                rec = check(name, solver, model.gamma, lambda fn=fn, m=model: fn(m), exact)
            else:
                rec = check(name, solver, model.gamma, lambda fn=fn, m=model, h=horizon: fn(m, h), exact)
            records.append(rec)
            flag = " VIOLATION " + ", ".join(rec["violations"]) if rec["violations"] else ""
            lo_s, up_s = rec.get("lower_slack"), rec.get("upper_slack")
            print(f"{name:45s} g={model.gamma:<7g} {solver:18s} {rec['outcome']:14s} "
                  f"V*-lower={'-' if lo_s is None else f'{lo_s:.3g}':>10} "
                  f"upper-V*={'-' if up_s is None else f'{up_s:.3g}':>10}{flag}")
    ratios = [r["ratio"] for r in records if r.get("ratio")]
    summary = {
        "runs": len(records),
        "instances": len({(r["instance"], r["gamma"]) for r in records}),
        "violations": sum(bool(r["violations"]) for r in records),
        "converged": sum(r["outcome"] == "converged" for r in records),
        "not_converged": sum(r["outcome"] == "not converged" for r in records),
        "library_errors": sum(r["outcome"] == "library error" for r in records),
        "raw_values_above_exact": sum(1 for r in records if r.get("raw_error") is not None
                                      and Fraction(r["lower"]) + Fraction(r["allowance"]) > Fraction(r["exact"])),
        "allowance_over_raw_error_median": float(np.median(ratios)) if ratios else None,
        "allowance_over_raw_error_max": max(ratios) if ratios else None,
        "allowance_over_raw_error_min": min(ratios) if ratios else None,
    }
    by_solver = {}
    for solver in [*INFINITE, *FINITE]:
        rows = [r for r in records if r["solver"] == solver]
        rs = [r["ratio"] for r in rows if r.get("ratio")]
        by_solver[solver] = {
            "runs": len(rows), "violations": sum(bool(r["violations"]) for r in rows),
            "converged": sum(r["outcome"] == "converged" for r in rows),
            "not_converged": sum(r["outcome"] == "not converged" for r in rows),
            "library_errors": sum(r["outcome"] == "library error" for r in rows),
            "ratio_median": float(np.median(rs)) if rs else None, "ratio_max": max(rs) if rs else None,
        }
    doc = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
        "command": "python bench/pomdp_certificates.py", "tol": TOL, "summary": summary, "by_solver": by_solver,
        "runs": records,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1))
    print(json.dumps({"summary": summary, "by_solver": by_solver}, indent=1))
    return 1 if summary["violations"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
