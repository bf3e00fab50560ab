"""Robust certificates count the rounding of the final backup: with rewards near 1e12 and gamma near
1 the bounds used to collapse to a point (bound 0) 1.3 away from the exact robust value."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

from theory_rl import robust
from theory_rl.errors import ConvergenceWarning
from theory_rl.models import FiniteMDP

SOLVERS = {
    "vi": lambda rmdp, tol: robust.robust_value_iteration(rmdp, tol=tol),
    "ppi": lambda rmdp, tol: robust.robust_policy_iteration(rmdp, tol=tol),
    "evaluation": lambda rmdp, tol: robust.robust_policy_evaluation(rmdp, np.zeros(rmdp.n_states, dtype=int),
                                                                    tol=tol),
}


def _exact_single_state(reward: float, gamma: float) -> Fraction:
    """One absorbing state: every kernel of every set is the self-loop, so V_rob = r / (1 - gamma),
    with gamma the float the model holds (not the decimal it was written as)."""
    return Fraction(reward) / (1 - Fraction(gamma))


@pytest.mark.parametrize("name", sorted(SOLVERS))
@pytest.mark.parametrize("reward, gamma", [(1e12, 0.9999), (1e12, 0.9), (3.0, 1 - 1e-10), (1e6, 0.99)])
@pytest.mark.parametrize("uncertainty", [robust.L1Ball(0.1), robust.LInfBall(0.05), robust.KLBall(0.1),
                                         robust.L1Ball(0.2, rectangularity="s")])
def test_bounds_bracket_the_exact_value_at_the_edges_of_float64(name, reward, gamma, uncertainty):
    mdp = FiniteMDP(np.ones((1, 1, 1)), np.full((1, 1), reward), gamma)
    rmdp = robust.RobustMDP(mdp, uncertainty)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sol = SOLVERS[name](rmdp, 1e-6)
    exact = _exact_single_state(reward, gamma)
    assert Fraction(float(sol.lower[0])) <= exact <= Fraction(float(sol.upper[0]))
    assert Fraction(sol.bound) >= abs(Fraction(float(sol.v[0])) - exact)
    assert sol.bound > 0
    if not sol.converged:  # refused honestly: the certified width is above tol
        assert float(np.max(sol.upper - sol.lower)) > 1e-6


def test_the_issue_case_is_refused_not_certified():
    # robust VI on r = 1e12, gamma = 0.9999 reported converged=True, bound=0 with an error of 1.34
    mdp = FiniteMDP(np.ones((1, 1, 1)), np.full((1, 1), 1e12), 0.9999)
    with pytest.warns(ConvergenceWarning, match="rounding of the final backup"):
        sol = robust.robust_value_iteration(robust.RobustMDP(mdp, robust.L1Ball(0.1)), tol=1e-6)
    assert not sol.converged and sol.bound >= 1.34


def test_ordinary_models_still_certify_tight_tolerances():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(6), size=(6, 3))
    mdp = FiniteMDP(P, rng.normal(size=(6, 3)), 0.9)
    sol = robust.robust_value_iteration(robust.RobustMDP(mdp, robust.L1Ball(0.3)), tol=1e-10)
    assert sol.converged and 0 < sol.bound <= 0.5e-10
