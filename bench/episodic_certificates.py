"""Episodic (gamma = 1) certificates against exact rational values.

For random small stochastic shortest path models (termination reachable under every policy, with
rewards in [-1, 1]; and only under some, with negative rewards), rewards scaled by 1, 1e6 and 1e12,
every solver's ``lower``/``upper``/``bound`` is compared with ``hat v`` computed by exact policy
iteration over the rationals (Python fractions, the model's floats read exactly). Prints the
number of violated certificates (target 0) and the ratio certificate / true error.

    python bench/episodic_certificates.py [n_models]
"""

from __future__ import annotations

import sys
import warnings
from fractions import Fraction

import numpy as np

from theory_rl import envs, tabular


def exact_optimum(mdp, policy):
    P, R, S, A = mdp.P, mdp.R, mdp.n_states, mdp.n_actions
    N = [int(s) for s in np.flatnonzero(~mdp.terminal)]
    Pf = [[[Fraction(float(x)) for x in P[s, a]] for a in range(A)] for s in range(S)]
    Rf = [[Fraction(float(R[s, a])) for a in range(A)] for s in range(S)]
    pi = list(policy)
    while True:
        n = len(N)
        M = [[(Fraction(1) if i == j else Fraction(0)) - Pf[s][pi[s]][t] for j, t in enumerate(N)] + [Rf[s][pi[s]]]
             for i, s in enumerate(N)]
        for c in range(n):
            p = next(r for r in range(c, n) if M[r][c] != 0)
            M[c], M[p] = M[p], M[c]
            for r in range(n):
                if r != c and M[r][c] != 0:
                    f = M[r][c] / M[c][c]
                    M[r] = [x - f * y for x, y in zip(M[r], M[c])]
        v = [Fraction(0)] * S
        for i, s in enumerate(N):
            v[s] = M[i][n] / M[i][i]
        changed = False
        for s in N:
            q = [Rf[s][a] + sum(p * w for p, w in zip(Pf[s][a], v)) for a in range(A)]
            if q[pi[s]] < max(q):
                pi[s] = q.index(max(q))
                changed = True
        if not changed:
            return v


def main(n_models: int = 60) -> None:
    rng = np.random.default_rng(2026)
    solvers = {
        "value_iteration": lambda m: tabular.value_iteration(m, tol=1e-9 * scale),
        "policy_iteration": lambda m: tabular.policy_iteration(m, tol=1e-9 * scale),
        "modified_policy_iteration": lambda m: tabular.modified_policy_iteration(m, tol=1e-9 * scale),
        "linear_programming": lambda m: tabular.linear_programming(m),
    }
    stats = {name: {"runs": 0, "violations": 0, "converged": 0, "ratios": [], "zero_bounds": 0} for name in solvers}
    for k in range(n_models):
        base = envs.random_shortest_path(int(rng.integers(3, 8)), int(rng.integers(1, 4)), all_proper=bool(k % 2),
                                         seed=rng)
        for scale in (1.0, 1e6, 1e12):
            mdp = base.replace(R=base.R * scale)
            exact = None
            for name, solve in solvers.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    sol = solve(mdp)
                if exact is None:
                    exact = exact_optimum(mdp, sol.policy)
                st = stats[name]
                st["runs"] += 1
                st["converged"] += bool(sol.converged)
                bad = any(not (Fraction(float(sol.lower[s])) <= x <= Fraction(float(sol.upper[s])))
                          for s, x in enumerate(exact) if np.isfinite(sol.lower[s]) and np.isfinite(sol.upper[s]))
                err = max(abs(Fraction(float(sol.v[s])) - x) for s, x in enumerate(exact))
                bad |= err > Fraction(sol.bound)
                st["violations"] += bad
                st["zero_bounds"] += sol.bound == 0 and err > 0
                if err > 0:
                    st["ratios"].append(sol.bound / float(err))
    print(f"{'solver':28s} {'runs':>5s} {'violated':>9s} {'bound=0':>8s} {'converged':>9s} "
          f"{'ratio median':>13s} {'ratio max':>10s}")
    for name, st in stats.items():
        r = np.array(st["ratios"]) if st["ratios"] else np.array([np.nan])
        print(f"{name:28s} {st['runs']:5d} {st['violations']:9d} {st['zero_bounds']:8d} {st['converged']:9d} "
              f"{np.median(r):13.3g} {np.max(r):10.3g}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
