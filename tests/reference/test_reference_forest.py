"""pymdptoolbox's forest example: our solvers against mdptoolbox and against exact values."""

from __future__ import annotations

from fractions import Fraction

import mdptoolbox.example
import mdptoolbox.mdp
import numpy as np
import pytest

from theory_rl.envs import forest
from theory_rl.tabular import linear_programming, policy_iteration, value_iteration

# Measured with pymdptoolbox 4.0b3: mdptoolbox.mdp.PolicyIteration(*mdptoolbox.example.forest(), 0.9)
# gives policy (0, 0, 0) and V = (26.244, 29.484, 33.484) (V[2] - V[1] = r1 = 4).
MDPTOOLBOX_POLICY = (0, 0, 0)
MDPTOOLBOX_V = (26.244, 29.484, 33.484)


def _exact_wait_values(S=3, r1=4, p=Fraction(1, 10), gamma=Fraction(9, 10)):
    """v of the always-wait policy in exact rational arithmetic (Gaussian elimination)."""
    n = S
    M = [[Fraction(0)] * n + [Fraction(0)] for _ in range(n)]
    for s in range(n):
        M[s][s] += 1
        M[s][0] -= gamma * p
        M[s][min(s + 1, n - 1)] -= gamma * (1 - p)
        M[s][n] = Fraction(r1) if s == n - 1 else Fraction(0)
    for i in range(n):
        piv = next(k for k in range(i, n) if M[k][i] != 0)
        M[i], M[piv] = M[piv], M[i]
        for k in range(n):
            if k != i and M[k][i] != 0:
                f = M[k][i] / M[i][i]
                M[k] = [a - f * b for a, b in zip(M[k], M[i])]
    return [M[i][n] / M[i][i] for i in range(n)]


def test_exact_values_are_the_documented_ones():
    exact = _exact_wait_values()
    assert exact == [Fraction(26244, 1000), Fraction(29484, 1000), Fraction(33484, 1000)]


def test_mdptoolbox_policy_iteration_reference():
    P, R = mdptoolbox.example.forest()
    pi = mdptoolbox.mdp.PolicyIteration(P, R, 0.9)
    pi.run()
    assert tuple(pi.policy) == MDPTOOLBOX_POLICY
    np.testing.assert_allclose(pi.V, MDPTOOLBOX_V, atol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
def test_our_solvers_match_mdptoolbox_and_exact(sparse):
    exact = np.array([float(x) for x in _exact_wait_values()])
    mdp = forest(3, gamma=0.9, sparse=sparse)
    pi = policy_iteration(mdp, tol=1e-10)
    vi = value_iteration(mdp, tol=1e-10)
    lp = linear_programming(mdp)
    for sol in (pi, vi, lp):
        assert tuple(sol.policy) == MDPTOOLBOX_POLICY, sol.method
        np.testing.assert_allclose(sol.v, exact, atol=1e-8, err_msg=sol.method)
        np.testing.assert_allclose(sol.v, MDPTOOLBOX_V, atol=1e-8, err_msg=sol.method)
        assert np.all(sol.lower <= exact + 1e-9) and np.all(exact <= sol.upper + 1e-9)


@pytest.mark.parametrize(("S", "gamma", "p"), [(10, 0.95, 0.1), (50, 0.9, 0.05)])
def test_larger_forest_matches_mdptoolbox(S, gamma, p):
    P, R = mdptoolbox.example.forest(S=S, p=p)
    ref = mdptoolbox.mdp.PolicyIteration(P, R, gamma)
    ref.run()
    sol = policy_iteration(forest(S, p=p, gamma=gamma), tol=1e-10)
    np.testing.assert_allclose(sol.v, ref.V, atol=1e-7)
    np.testing.assert_array_equal(sol.policy, ref.policy)
