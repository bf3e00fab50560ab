"""Options peers' users expect: finite-horizon PBVI (AI-Toolbox's PBVI horizon) and a FIB starting
vector (AI-Toolbox's FastInformedBound), checked against exact finite-horizon value iteration and
the default FIB."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import pomdp
from theory_rl.checks import pomdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import POMDP


@pytest.mark.parametrize("gamma", [1.0, 0.95])
@pytest.mark.parametrize("horizon", [1, 2, 3, 4, 5])
def test_finite_horizon_pbvi_equals_exact_on_tiger(tiger_arrays, gamma, horizon):
    # Tiger's reachable beliefs are few: six expansions hold all of them up to depth 4, so the
    # point backups are exact where the exact H-step value needs them.
    tiger = POMDP(*tiger_arrays, gamma, np.array([0.5, 0.5]))
    exact = pomdp.finite_horizon_value(tiger, horizon)
    sol = pomdp.pbvi(tiger, horizon=horizon, n_expansions=6, seed=0)
    assert sol.converged and sol.n_iter == horizon and len(sol.info["stages"]) == horizon
    assert sol.lower == pytest.approx(exact.lower, abs=1e-9)
    # the MDP's H-step value (the agent told the state): listen costs, opening wins +10 each step
    assert sol.upper == pytest.approx(sum(10 * gamma**t for t in range(horizon)), rel=1e-12)


def test_finite_horizon_pbvi_stages_are_the_shorter_horizons(tiger_arrays):
    tiger = POMDP(*tiger_arrays, 1.0, np.array([0.5, 0.5]))
    sol = pomdp.pbvi(tiger, horizon=4, n_expansions=6, seed=0)
    for t, (alpha, actions) in enumerate(sol.info["stages"], start=1):
        assert float((alpha @ tiger.b0).max()) == pytest.approx(pomdp.finite_horizon_value(tiger, t).lower, abs=1e-9)
        assert actions.shape == (alpha.shape[0],)
    np.testing.assert_allclose(sol.history["lower"], [-1.0, -2.0, 2.72, 2.42125], atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(pomdps(max_states=4, max_actions=3, max_observations=3, gamma=(0.5, 0.99)), st.integers(1, 3),
       st.integers(0, 3), st.integers(0, 2**31))
def test_finite_horizon_pbvi_brackets_the_exact_value(model, horizon, n_expansions, seed):
    exact = pomdp.finite_horizon_value(model, horizon)
    sol = pomdp.pbvi(model, horizon=horizon, n_expansions=n_expansions, seed=seed)
    scale = 1.0 + np.abs(model.R).max() * horizon
    assert sol.lower <= exact.lower + 1e-9 * scale
    assert exact.lower <= sol.upper + 1e-9 * scale
    # with B = {b0} alone (no expansion) the first backup is still exact at b0
    if horizon == 1:
        assert sol.lower == pytest.approx(exact.lower, abs=1e-9 * scale)


def test_finite_horizon_pbvi_rejects_bad_horizon(tiger_arrays):
    tiger = POMDP(*tiger_arrays, 0.95)
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(InvalidArgumentError, match="horizon"):
            pomdp.pbvi(tiger, horizon=bad)
    with pytest.raises(InvalidModelError, match="gamma < 1"):
        pomdp.pbvi(POMDP(*tiger_arrays, 1.0))  # gamma = 1 needs a horizon


def test_fib_from_a_starting_vector_reaches_the_same_bound(tiger_arrays):
    tiger = POMDP(*tiger_arrays, 0.95)
    default = pomdp.fib_upper_bound(tiger, tol=1e-9)
    exact = pomdp.exact_value_iteration(tiger, tol=1e-6)
    # from below (zeros: not an upper bound) the result carries the certified shift
    low = pomdp.fib_upper_bound(tiger, tol=1e-9, q0=np.zeros((2, 3)))
    assert not low.info["monotone"] and low.info["shift"] > 0
    # from far above (an upper bound): the iterates decrease, no shift needed
    high = pomdp.fib_upper_bound(tiger, tol=1e-9, q0=np.full((2, 3), 1000.0))
    assert high.info["monotone"] and high.info["shift"] == 0.0
    assert np.all(np.diff(high.history["upper"]) <= 1e-12)
    for sol in (low, high):
        assert sol.upper == pytest.approx(default.upper, abs=1e-7)
        assert sol.upper >= exact.upper - 1e-6  # an upper bound on V*(b0)
        np.testing.assert_allclose(sol.alpha, default.alpha, atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(pomdps(max_states=4, max_actions=3, max_observations=3, gamma=(0.5, 0.9)), st.integers(0, 2**31))
def test_fib_from_any_starting_vector_is_an_upper_bound_at_every_stop(model, seed):
    # stopped early (max_iter = 3) from a random q0 the result must still bound the FIB fixed point
    rng = np.random.default_rng(seed)
    q0 = rng.normal(scale=10.0, size=(model.n_states, model.n_actions))
    fixed = pomdp.fib_upper_bound(model, tol=1e-10)
    with pytest.warns(Warning):
        early = pomdp.fib_upper_bound(model, max_iter=3, q0=q0)
    assert np.all(early.alpha >= fixed.alpha - 1e-8)


def test_fib_rejects_bad_starting_vector(tiger_arrays):
    tiger = POMDP(*tiger_arrays, 0.95)
    with pytest.raises(InvalidModelError, match=r"q0 has shape \(3, 2\), expected \(S, A\) = \(2, 3\)"):
        pomdp.fib_upper_bound(tiger, q0=np.zeros((3, 2)))
    with pytest.raises(InvalidModelError, match=r"q0\[0, 1\] is nan"):
        pomdp.fib_upper_bound(tiger, q0=np.array([[0.0, np.nan, 0.0], [0.0, 0.0, 0.0]]))
