"""Blind <= V* <= FIB <= QMDP <= MDP, on random models and the shipped files."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.pomdp import (
    PROBLEM_DIR,
    alpha_value,
    blind_lower_bound,
    exact_value_iteration,
    fib_upper_bound,
    qmdp_upper_bound,
    read_pomdp,
)
from theory_rl.tabular import policy_value, value_iteration

DATA = PROBLEM_DIR


def _check_order(model, exact, beliefs):
    blind = blind_lower_bound(model)
    fib = fib_upper_bound(model, tol=1e-9)
    qmdp = qmdp_upper_bound(model, tol=1e-9)
    v_mdp = value_iteration(model.mdp, tol=1e-10).v
    below, above = exact.info["below"], exact.info["above"]
    for b in beliefs:
        v = exact.value_at(b)
        lo, hi = v - below, v + above  # certified interval for V*(b)
        assert alpha_value(blind.alpha, b) <= hi + 1e-7
        assert lo - 1e-7 <= alpha_value(fib.alpha, b)
        assert alpha_value(fib.alpha, b) <= alpha_value(qmdp.alpha, b) + 1e-7
        assert alpha_value(qmdp.alpha, b) <= b @ v_mdp + 1e-6
    return blind, fib, qmdp


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")
@given(pomdps(max_states=3, max_actions=2, max_observations=2, gamma=(0.5, 0.85)), st.integers(0, 2**31))
@settings(max_examples=10)
def test_bound_order_on_random_models(model, seed):
    exact = exact_value_iteration(model, tol=1e-6, time_limit=0.3)
    rng = np.random.default_rng(seed)
    beliefs = np.vstack([rng.dirichlet(np.ones(model.n_states), size=5), np.eye(model.n_states), model.b0])
    _check_order(model, exact, beliefs)


@pytest.mark.parametrize("name", ["tiger.95.POMDP", "cheese.95.POMDP", "4x4.95.POMDP"])
def test_bound_order_on_shipped_files(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        m = read_pomdp(DATA / name)
    exact = exact_value_iteration(m)
    rng = np.random.default_rng(0)
    blind, fib, qmdp = _check_order(m, exact, np.vstack([rng.dirichlet(np.ones(m.n_states), size=20), m.b0]))
    assert blind.lower <= exact.lower and exact.upper <= fib.upper <= qmdp.upper
    # FIB is non-increasing over its iterations, starting at most at QMDP
    assert np.all(np.diff(fib.history["upper"]) <= 1e-12) and fib.history["upper"][0] <= qmdp.upper + 1e-7


@given(pomdps())
def test_blind_vectors_are_the_values_of_always_playing_one_action(model):
    blind = blind_lower_bound(model)
    for a in range(model.n_actions):
        np.testing.assert_allclose(blind.alpha[a], policy_value(model.mdp, np.full(model.n_states, a)), atol=1e-9)
    assert blind.upper == np.inf and blind.lower == pytest.approx(alpha_value(blind.alpha, model.b0))


def test_tiger_known_numbers():
    m = read_pomdp(DATA / "tiger.95.POMDP")
    blind = blind_lower_bound(m)
    np.testing.assert_allclose(blind.alpha[0], [-20.0, -20.0])  # listen forever: -1/(1-0.95)
    qmdp = qmdp_upper_bound(m)
    # QMDP at b0: listen then act on the state: the MDP opens the right door every step, 10/(1-0.95) = 200
    assert qmdp.upper == pytest.approx(max(-1 + 0.95 * 200, 0.5 * (-100 + 10) + 0.95 * 200), abs=1e-6)


def test_bounds_need_discounting():
    m = read_pomdp(DATA / "tiger.95.POMDP").replace(gamma=1.0)
    for fn in (blind_lower_bound, qmdp_upper_bound, fib_upper_bound):
        with pytest.raises(InvalidModelError, match="gamma < 1"):
            fn(m)


def test_fib_reports_non_convergence_and_rejects_bad_options():
    from theory_rl.errors import ConvergenceWarning

    m = read_pomdp(DATA / "tiger.95.POMDP")
    # one sweep from QMDP is far from the FIB fixed point: the result must not claim convergence
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        one = fib_upper_bound(m, tol=1e-9, max_iter=1)
    assert not one.converged and one.n_iter == 1
    assert fib_upper_bound(m, tol=1e-9).converged
    for bad in ({"tol": -1.0}, {"tol": float("nan")}, {"max_iter": 0}, {"max_iter": 2.5}):
        with pytest.raises(InvalidArgumentError, match=next(iter(bad))):
            fib_upper_bound(m, **bad)


def test_fib_stops_at_its_time_limit_with_a_valid_looser_bound():
    import time

    from theory_rl.errors import ConvergenceWarning
    from theory_rl.models import POMDP

    t = read_pomdp(DATA / "tiger.95.POMDP")
    m = POMDP(T=t.T, O=t.O, R=t.R, gamma=0.9999, b0=t.b0)  # about 4 s of sweeps to converge
    for clock in ("wall", "cpu"):
        start = time.perf_counter()
        with pytest.warns(ConvergenceWarning, match="time_limit=0.1s"):
            early = fib_upper_bound(m, time_limit=0.1, clock=clock)
        assert time.perf_counter() - start < 1.5 and not early.converged and early.n_iter >= 1
        assert np.all(np.diff(early.history["upper"]) <= 1e-9)
        assert np.all(early.alpha <= qmdp_upper_bound(m).alpha + 1e-6)  # between QMDP and the FIB fixed point
    for bad in ({"time_limit": -1.0}, {"time_limit": float("nan")}, {"clock": "gpu"}):
        with pytest.raises(InvalidArgumentError, match=next(iter(bad))):
            fib_upper_bound(m, **bad)
