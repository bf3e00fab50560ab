"""HSVI2 with certified bounds: brackets around exact values (random tiny POMDPs and the
classic files), monotone anytime bounds, the bound ordering, and the policy's simulated value."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidModelError
from theory_rl.pomdp import read_pomdp
from theory_rl.pomdp._belief import simulate
from theory_rl.pomdp._bounds import blind_lower_bound, fib_upper_bound, qmdp_upper_bound
from theory_rl.pomdp._exact import exact_value_iteration
from theory_rl.pomdp._hsvi import hsvi2, sawtooth_upper_bound
from theory_rl.pomdp._solution import alpha_value

DATA = Path(__file__).resolve().parents[1] / "data" / "pomdp"

# V*(b0) of the files: exact incremental pruning (pomdp-solve; shared/pomdp_benchmarks/README.md)
REFERENCE = {"tiger.95.POMDP": 19.3714, "cheese.95.POMDP": 3.4862, "4x4.95.POMDP": 3.7324}
# SARSOP's certified intervals (same README): a correct V* lies in both ours and theirs
SARSOP = {"shuttle.95.POMDP": (32.8890, 32.8897), "4x3.95.POMDP": (1.88988, 1.89085)}


@pytest.fixture(scope="module")
def tiger():
    return read_pomdp(DATA / "tiger.95.POMDP")


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_hsvi2_brackets_exact_reference_values(name):
    sol = hsvi2(read_pomdp(DATA / name), target_gap=1e-3, time_limit=60)
    assert sol.converged and sol.gap <= 1e-3
    # the reference is rounded to 4 decimals
    assert sol.lower <= REFERENCE[name] + 5e-5
    assert sol.upper >= REFERENCE[name] - 5e-5


@pytest.mark.parametrize("name", sorted(SARSOP))
def test_hsvi2_interval_overlaps_sarsop(name):
    sol = hsvi2(read_pomdp(DATA / name), target_gap=1e-3, time_limit=60)
    lo, hi = SARSOP[name]
    assert sol.converged
    assert sol.lower <= hi + 1e-9 and lo <= sol.upper + 1e-9


@pytest.mark.parametrize("sweep_fraction", [0.0, 0.5])  # plain HSVI2, and with lower-bound sweeps
def test_hsvi2_history_is_monotone_and_ends_at_the_result(tiger, sweep_fraction):
    sol = hsvi2(tiger, target_gap=1e-4, sweep_fraction=sweep_fraction)
    lo, hi = sol.history["lower"], sol.history["upper"]
    assert np.all(np.diff(lo) >= 0) and np.all(np.diff(hi) <= 0)
    assert lo[-1] == sol.lower and hi[-1] == sol.upper
    assert len(lo) == sol.n_iter + 1  # the initial bounds, then one entry per trial
    assert sol.value == sol.lower == pytest.approx(float(alpha_value(sol.alpha, tiger.b0)))


def test_bound_ordering_qmdp_fib_hsvi_blind(tiger):
    sol = hsvi2(tiger, target_gap=1e-3)
    b0 = tiger.b0
    qmdp = alpha_value(qmdp_upper_bound(tiger).alpha, b0)
    fib = alpha_value(fib_upper_bound(tiger).alpha, b0)
    blind = alpha_value(blind_lower_bound(tiger).alpha, b0)
    assert qmdp >= fib >= sol.upper >= REFERENCE["tiger.95.POMDP"] - 5e-5
    assert REFERENCE["tiger.95.POMDP"] + 5e-5 >= sol.lower >= blind
    assert sol.history["upper"][0] <= fib + 1e-9 and sol.history["lower"][0] == pytest.approx(blind)


def test_alpha_policy_simulated_value_matches_lower(tiger):
    sol = hsvi2(tiger, target_gap=1e-3)
    sim = simulate(tiger, sol, horizon=300, n_episodes=4000, seed=7, confidence=0.999)
    # the policy's value is >= lower and <= V* <= upper; the estimate is within its CI of both
    assert sim.ci[0] - sim.truncation <= sol.lower <= sim.ci[1] + sim.truncation


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")
@settings(max_examples=12, deadline=None)
@given(pomdps(max_states=3, max_actions=2, max_observations=2, gamma=(0.5, 0.85)))
def test_hsvi2_brackets_exact_value_on_random_pomdps(model):
    # the exact solver's interval is certified also when it stops on time
    exact = exact_value_iteration(model, tol=1e-6, time_limit=2)
    sol = hsvi2(model, target_gap=1e-4, time_limit=20)
    assert sol.converged
    tol = 1e-6 * (1 + abs(exact.lower))
    assert sol.lower <= exact.upper + tol and exact.lower - tol <= sol.upper
    # at other beliefs: alpha vectors stay below V*, the sawtooth above
    rng = np.random.default_rng(0)
    B = rng.dirichlet(np.ones(model.n_states), size=20)
    v = alpha_value(exact.alpha, B)
    below, above = exact.info["below"], exact.info["above"]
    assert np.all(alpha_value(sol.alpha, B) <= v + above + tol)
    assert np.all(sawtooth_upper_bound(sol, B) >= v - below - tol)


def test_hsvi2_stops_on_time_or_iterations_with_a_warning(tiger):
    from theory_rl.errors import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        sol = hsvi2(tiger, target_gap=1e-9, max_iter=2)
    assert not sol.converged and sol.n_iter == 2
    assert sol.lower <= REFERENCE["tiger.95.POMDP"] + 5e-5 <= sol.upper + 1e-4


def test_hsvi2_rejects_bad_input(tiger):
    with pytest.raises(InvalidModelError, match="target_gap"):
        hsvi2(tiger, target_gap=-1.0)
    with pytest.raises(InvalidModelError, match="zeta"):
        hsvi2(tiger, zeta=1.5)
    with pytest.raises(InvalidModelError, match="sweep_fraction"):
        hsvi2(tiger, sweep_fraction=1.0)
    with pytest.raises(InvalidModelError, match="b0"):
        hsvi2(tiger, b0=[0.7, 0.7])
    with pytest.raises(InvalidModelError, match="POMDP"):
        hsvi2("tiger")
    sol = hsvi2(tiger, target_gap=1e-2)
    with pytest.raises(InvalidModelError, match="beliefs"):
        sawtooth_upper_bound(sol, np.ones(3) / 3)


@pytest.mark.slow
def test_hsvi2_rocksample_4_4_converges_to_sarsop_value():
    sol = hsvi2(read_pomdp(DATA / "RockSample_4_4.pomdp"), target_gap=1e-3, time_limit=60)
    assert sol.converged
    assert sol.lower <= 17.9245 + 5e-5 <= sol.upper + 1e-4


@pytest.mark.parametrize(
    ("beliefs", "message"),
    [([2.0, 2.0], r"beliefs\[0, :\] sums to 4"), ([1.5, -0.5], r"beliefs\[0, 1\] = -0.5"),
     ([[0.5, 0.5], [np.nan, 1.0]], r"beliefs\[1, 0\] is nan")],
)
def test_sawtooth_upper_bound_rejects_non_beliefs(tiger, beliefs, message):
    # the sawtooth is certified only on the simplex; off it, it used to return a number silently
    sol = hsvi2(tiger, target_gap=1e-1)
    with pytest.raises(InvalidModelError, match=message):
        sawtooth_upper_bound(sol, beliefs)
