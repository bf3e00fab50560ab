"""PBVI: its alpha vectors are a lower bound (exact values, random POMDPs), the value at b0 never
decreases, and it starts from and stays above the blind-policy bound."""


import numpy as np
import pytest
from hypothesis import given, settings

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.pomdp import PROBLEM_DIR, read_pomdp
from theory_rl.pomdp._bounds import blind_lower_bound
from theory_rl.pomdp._exact import exact_value_iteration
from theory_rl.pomdp._pbvi import pbvi
from theory_rl.pomdp._solution import alpha_value

DATA = PROBLEM_DIR
REFERENCE = {"tiger.95.POMDP": 19.3714, "cheese.95.POMDP": 3.4862}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_pbvi_lower_bound_below_exact_value_and_close(name):
    model = read_pomdp(DATA / name)
    sol = pbvi(model, n_expansions=6, seed=0)
    assert sol.lower <= REFERENCE[name] + 5e-5 <= sol.upper
    assert sol.lower >= REFERENCE[name] - 0.05  # a few expansions already get close
    blind = alpha_value(blind_lower_bound(model).alpha, model.b0)
    assert sol.lower >= blind
    assert np.all(np.diff(sol.history["lower"]) >= -1e-12)
    assert sol.history["lower"][0] == pytest.approx(blind)


def test_pbvi_is_seeded():
    model = read_pomdp(DATA / "cheese.95.POMDP")
    a, b = pbvi(model, n_expansions=3, seed=3), pbvi(model, n_expansions=3, seed=3)
    assert np.array_equal(a.alpha, b.alpha) and np.array_equal(a.info["beliefs"], b.info["beliefs"])


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")
@settings(max_examples=10, deadline=None)
@given(pomdps(max_states=3, max_actions=2, max_observations=2, gamma=(0.5, 0.85)))
def test_pbvi_vectors_never_exceed_exact_value(model):
    exact = exact_value_iteration(model, tol=1e-6, time_limit=2)
    sol = pbvi(model, n_expansions=3, seed=1)
    B = np.vstack([model.b0, np.random.default_rng(0).dirichlet(np.ones(model.n_states), size=20)])
    tol = 1e-7 * (1 + np.abs(model.R).max() / (1 - model.gamma))
    assert np.all(alpha_value(sol.alpha, B) <= alpha_value(exact.alpha, B) + exact.info["above"] + tol)
    assert sol.lower <= sol.upper + tol


def test_pbvi_rejects_bad_input():
    model = read_pomdp(DATA / "tiger.95.POMDP")
    with pytest.raises(InvalidModelError, match="POMDP"):
        pbvi(np.zeros(3))
    with pytest.raises(InvalidModelError, match="gamma"):
        pbvi(model.replace(gamma=1.0))


BAD_PBVI_OPTIONS = [
    ("n_expansions", -1), ("n_expansions", 2.5), ("n_expansions", True), ("max_iter", 0), ("max_iter", -3),
    ("max_iter", 1.0), ("max_beliefs", 0), ("max_beliefs", -10), ("tol", -1e-3), ("tol", float("nan")),
    ("tol", "small"), ("time_limit", 0.0), ("time_limit", -1.0), ("time_limit", float("nan")), ("time_limit", None),
]


@pytest.mark.parametrize(("option", "value"), BAD_PBVI_OPTIONS)
def test_pbvi_rejects_every_bad_count_and_size_naming_option_and_value(option, value):
    # n_expansions = -1 or n_backups = -3 used to return the blind bound with only a ConvergenceWarning
    model = read_pomdp(DATA / "tiger.95.POMDP")
    with pytest.raises(InvalidArgumentError, match=option) as err:
        pbvi(model, seed=0, **{option: value})
    assert repr(value) in str(err.value) or option + " must be" in str(err.value)


def test_pbvi_accepts_the_edges_of_its_option_ranges():
    model = read_pomdp(DATA / "tiger.95.POMDP")
    sol = pbvi(model, n_expansions=0, max_iter=300, max_beliefs=1, tol=1e-6, time_limit=float("inf"), seed=0)
    assert sol.info["beliefs"].shape == (1, 2) and sol.converged  # only b0: the best one-point bound
    assert sol.params["n_expansions"] == 0
