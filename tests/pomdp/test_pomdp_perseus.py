"""Perseus: the stage guarantee V_{n+1}(b) >= V_n(b) on B, lower bound below the exact value,
convergence to the exact value on Tiger, and seeding."""


import numpy as np
import pytest
from hypothesis import given, settings

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.pomdp import PROBLEM_DIR, read_pomdp
from theory_rl.pomdp._bounds import blind_lower_bound
from theory_rl.pomdp._exact import exact_value_iteration
from theory_rl.pomdp._perseus import perseus, sample_beliefs
from theory_rl.pomdp._solution import alpha_value

DATA = PROBLEM_DIR


@pytest.mark.parametrize(("name", "ref", "n"), [("tiger.95.POMDP", 19.3714, 200), ("cheese.95.POMDP", 3.4862, 500)])
def test_perseus_converges_to_exact_value_from_below(name, ref, n):
    model = read_pomdp(DATA / name)
    sol = perseus(model, n_beliefs=n, seed=0)
    assert sol.converged
    assert ref - 2e-3 <= sol.lower <= ref + 5e-5 <= sol.upper
    assert sol.lower >= alpha_value(blind_lower_bound(model).alpha, model.b0)
    # the stage guarantee on every b in B, and hence monotone at b0 (b0 is B[0])
    assert np.all(sol.history["min_gain"] >= 0.0)
    assert np.all(np.diff(sol.history["lower"]) >= 0.0)
    assert np.array_equal(sol.info["beliefs"][0], model.b0)


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")
def test_perseus_is_seeded_and_sampler_gives_beliefs():
    model = read_pomdp(DATA / "4x4.95.POMDP")
    B = sample_beliefs(model, n_beliefs=50, seed=1)
    assert B.shape == (50, 16) and np.allclose(B.sum(axis=1), 1.0) and B.min() >= 0
    assert np.array_equal(B, sample_beliefs(model, n_beliefs=50, seed=1))
    a = perseus(model, n_beliefs=60, seed=2, max_iter=5)
    b = perseus(model, n_beliefs=60, seed=2, max_iter=5)
    assert np.array_equal(a.alpha, b.alpha)


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")
@settings(max_examples=10, deadline=None)
@given(pomdps(max_states=3, max_actions=2, max_observations=2, gamma=(0.5, 0.85)))
def test_perseus_vectors_never_exceed_exact_value(model):
    exact = exact_value_iteration(model, tol=1e-6, time_limit=2)
    sol = perseus(model, n_beliefs=30, seed=1, max_iter=200)
    B = sol.info["beliefs"]
    tol = 1e-7 * (1 + np.abs(model.R).max() / (1 - model.gamma))
    assert np.all(alpha_value(sol.alpha, B) <= alpha_value(exact.alpha, B) + exact.info["above"] + tol)
    assert np.all(sol.history["min_gain"] >= 0.0)


def test_perseus_rejects_bad_input():
    model = read_pomdp(DATA / "tiger.95.POMDP")
    with pytest.raises(InvalidArgumentError, match="n_beliefs"):
        sample_beliefs(model, n_beliefs=0)
    with pytest.raises(InvalidModelError, match="beliefs"):
        perseus(model, beliefs=np.ones((2, 3)) / 3)


@pytest.mark.parametrize(("options", "message"),
                         [({"n_beliefs": 2.5}, "n_beliefs"), ({"n_beliefs": 5, "walk_length": 1.5}, "walk_length"),
                          ({"n_beliefs": True}, "n_beliefs")])
def test_sample_beliefs_rejects_non_integer_sizes(options, message):
    # n_beliefs = 2.5 used to return 3 beliefs silently
    model = read_pomdp(DATA / "tiger.95.POMDP")
    with pytest.raises(InvalidArgumentError, match=message):
        sample_beliefs(model, seed=0, **options)
    with pytest.raises((InvalidArgumentError, InvalidModelError), match=message):
        perseus(model, seed=0, max_iter=1, **options)


BAD_PERSEUS_OPTIONS = [
    ("n_beliefs", -5), ("walk_length", 0), ("walk_length", -1), ("max_iter", 0), ("max_iter", -1), ("max_iter", 1.5),
    ("tol", -1.0), ("tol", float("inf")), ("time_limit", 0), ("time_limit", -2.0), ("time_limit", "1s"),
]


@pytest.mark.parametrize(("option", "value"), BAD_PERSEUS_OPTIONS)
def test_perseus_rejects_every_bad_count_and_size_naming_option_and_value(option, value):
    # max_iter = -1 used to return the blind bound with only a ConvergenceWarning
    model = read_pomdp(DATA / "tiger.95.POMDP")
    with pytest.raises((InvalidArgumentError, InvalidModelError), match=option) as err:
        perseus(model, **{"seed": 0, "n_beliefs": 20, option: value})
    assert repr(value) in str(err.value) or option + " must be" in str(err.value)


def test_perseus_names_the_bad_row_of_given_beliefs():
    model = read_pomdp(DATA / "tiger.95.POMDP")
    with pytest.raises(InvalidModelError, match=r"beliefs\[1, 0\] = -0.1 is negative"):
        perseus(model, beliefs=np.array([[0.5, 0.5], [-0.1, 1.1]]))
    with pytest.raises(InvalidModelError, match=r"beliefs\[0, 1\] is nan"):
        perseus(model, beliefs=np.array([[0.5, np.nan]]))
    with pytest.raises(InvalidModelError, match=r"beliefs\[1, :\] sums to 0.9"):
        perseus(model, beliefs=np.array([[0.5, 0.5], [0.4, 0.5]]))
