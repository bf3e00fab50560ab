"""The occupancy and CMDP LPs' answers are checked a posteriori in float64 (issue 17).

HiGHS meets its constraints only to its feasibility tolerance; the certified numbers are bounds
from one rounding-aware Bellman backup (``lower``/``upper``/``bound`` of the occupancy LPs) and
from certified policy evaluations (``info`` of the CMDP LP), compared here with exact rationals.
Before, neither LP reported anything but HiGHS's values (these tests fail with AttributeError /
KeyError there).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import dual, envs
from theory_rl.checks import finite_mdps
from theory_rl.models import FiniteMDP
from theory_rl.tabular._exact import exact_solution


def exact_optimum(mdp: FiniteMDP, normalized: bool) -> Fraction:
    v = exact_solution(mdp).v
    scale = (1 - Fraction(mdp.gamma)) if normalized else Fraction(1)
    return scale * sum((Fraction(float(p)) * x for p, x in zip(mdp.d0, v)), Fraction(0))


def exact_returns(mdp: FiniteMDP, policy: np.ndarray, rewards: np.ndarray) -> Fraction:
    """``<d0, (I - gamma P_pi)^{-1} r_pi>`` over the rationals for a stochastic ``policy (S, A)``."""
    S, A = mdp.n_states, mdp.n_actions
    P = np.asarray(mdp.P)
    g = Fraction(mdp.gamma)
    pi = [[Fraction(float(policy[s, a])) for a in range(A)] for s in range(S)]
    rows = []
    for s in range(S):
        row = [-g * sum((pi[s][a] * Fraction(float(P[s, a, t])) for a in range(A)), Fraction(0)) for t in range(S)]
        row[s] += 1
        row.append(sum((pi[s][a] * Fraction(float(rewards[s, a])) for a in range(A)), Fraction(0)))
        rows.append(row)
    for c in range(S):
        p = next(r for r in range(c, S) if rows[r][c] != 0)
        rows[c], rows[p] = rows[p], rows[c]
        for r in range(S):
            if r != c and rows[r][c] != 0:
                f = rows[r][c] / rows[c][c]
                rows[r] = [x - f * y for x, y in zip(rows[r], rows[c])]
    return sum((Fraction(float(d)) * rows[s][S] / rows[s][s] for s, d in enumerate(mdp.d0)), Fraction(0))


EDGES = [
    FiniteMDP(np.ones((1, 1, 1)), np.full((1, 1), 1e12), 0.9999),
    FiniteMDP(np.ones((1, 2, 1)), np.array([[1e12, 1e12 + 1]]), 0.9999),
    envs.river_swim(6, gamma=0.9999),
    envs.river_swim(6, gamma=0.9),
]


@pytest.mark.parametrize("solve", [dual.primal_lp, dual.dual_lp])
@pytest.mark.parametrize("normalized", [True, False])
def test_occupancy_lp_bounds_bracket_the_exact_optimum(solve, normalized):
    for mdp in EDGES:
        sol = solve(mdp, normalized=normalized)
        exact = exact_optimum(mdp, normalized)
        assert Fraction(sol.lower) <= exact <= Fraction(sol.upper)
        assert abs(Fraction(sol.objective) - exact) <= Fraction(sol.bound)
        assert sol.bound > 0  # rounding (and HiGHS's tolerance) never certify 0


@settings(max_examples=15, deadline=None)
@given(finite_mdps(min_states=1, max_states=4, min_actions=1, max_actions=3))
def test_occupancy_lp_bounds_hold_on_random_models(mdp):
    sol = dual.primal_lp(mdp, normalized=False)
    exact = exact_optimum(mdp, False)
    assert Fraction(sol.lower) <= exact <= Fraction(sol.upper)


def binding_cmdp(seed: int, scale: float) -> dual.CMDP:
    rng = np.random.default_rng(seed)
    S, A = 4, 2
    mdp = FiniteMDP(rng.dirichlet(np.ones(S), size=(S, A)), scale * rng.uniform(0, 1, size=(S, A)), 0.99)
    Rc = scale * rng.uniform(0, 1, size=(1, S, A))
    pi = rng.dirichlet(np.ones(A), size=S)
    c = dual.CMDP(mdp, Rc, np.zeros(1)).returns(pi)[1]
    return dual.CMDP(mdp, Rc, c)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("scale", [1.0, 1e9])
def test_cmdp_lp_certificates_bracket_the_returned_policy_exactly(seed, scale):
    cmdp = binding_cmdp(seed, scale)
    sol = dual.solve_cmdp_lp(cmdp)
    lo, hi = sol.info["objective_bounds"]
    j0 = exact_returns(cmdp.mdp, sol.policy, np.asarray(cmdp.mdp.R))
    assert Fraction(lo) <= j0 <= Fraction(hi)
    j1 = exact_returns(cmdp.mdp, sol.policy, cmdp.constraint_rewards[0])
    c_lo, c_hi = sol.info["constraint_bounds"][0]
    assert Fraction(c_lo) <= j1 <= Fraction(c_hi)
    # the flag says feasible only when the exact returns meet the threshold
    if sol.info["feasibility_certified"]:
        assert j1 >= Fraction(float(cmdp.thresholds[0]))
    assert Fraction(float(cmdp.thresholds[0])) - j1 <= Fraction(sol.info["max_violation_bound"])
    # the Lagrangian bound is above the (near-optimal, near-feasible) policy's value
    assert sol.info["optimum_upper_bound"] >= lo
    assert sol.info["optimality_gap_bound"] >= 0


def test_cmdp_lp_optimum_upper_bound_is_a_true_bound_for_a_slack_constraint():
    # a constraint any policy meets: the CMDP optimum is the MDP optimum, known exactly
    mdp = envs.river_swim(4, gamma=0.9)
    cmdp = dual.CMDP(mdp, np.zeros((1, mdp.n_states, mdp.n_actions)), np.array([-1.0]))
    sol = dual.solve_cmdp_lp(cmdp)
    assert sol.info["feasibility_certified"]
    exact = exact_optimum(mdp, False)
    assert Fraction(sol.info["objective_bounds"][0]) <= exact <= Fraction(sol.info["optimum_upper_bound"])


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_cmdp_constraint_bounds_hold_on_random_binding_instances(seed):
    cmdp = binding_cmdp(seed, 1.0)
    sol = dual.solve_cmdp_lp(cmdp)
    c_lo, c_hi = sol.info["constraint_bounds"][0]
    j1 = exact_returns(cmdp.mdp, sol.policy, cmdp.constraint_rewards[0])
    assert Fraction(c_lo) <= j1 <= Fraction(c_hi)
