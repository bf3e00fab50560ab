"""POMCP on Tiger: it listens before opening a door, its root value estimate approaches V* as
simulations grow, it is seeded, and it rejects bad input."""


import numpy as np
import pytest

from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.pomdp import PROBLEM_DIR, read_pomdp
from theory_rl.pomdp._pomcp import pomcp_episode, pomcp_plan

DATA = PROBLEM_DIR
V_STAR = 19.3714  # tiger.95, exact


@pytest.fixture(scope="module")
def tiger():
    return read_pomdp(DATA / "tiger.95.POMDP")


def test_pomcp_listens_first_and_before_every_door(tiger):
    listen = tiger.action_names.index("listen")
    assert pomcp_plan(tiger, n_simulations=2000, seed=0).action == listen
    for seed in range(3):
        ep = pomcp_episode(tiger, n_steps=12, n_simulations=2000, seed=seed)
        doors = np.flatnonzero(ep.actions != listen)
        assert doors.size > 0 and doors[0] > 0  # opens a door, and only after listening
        assert np.all(ep.actions[:doors[0]] == listen)


def test_pomcp_value_estimate_approaches_v_star(tiger):
    listen = tiger.action_names.index("listen")
    rollout = np.eye(tiger.n_actions)[listen]  # the "preferred action" rollout
    err = []
    for n in (300, 3000, 30000):
        vals = [pomcp_plan(tiger, n_simulations=n, c=30.0, rollout_policy=rollout, seed=s).value for s in range(3)]
        err.append(abs(np.mean(vals) - V_STAR))
    # measured: mean estimates -45.6, -37.0, -28.0 (the mean backup converges slowly to 19.37)
    assert err[0] > err[1] + 4 > err[2] + 8


def test_pomcp_is_seeded(tiger):
    a = pomcp_plan(tiger, n_simulations=500, seed=11)
    b = pomcp_plan(tiger, n_simulations=500, seed=11)
    assert a.action == b.action and np.array_equal(a.visits, b.visits) and a.value == b.value
    e1 = pomcp_episode(tiger, n_steps=5, n_simulations=300, seed=5)
    e2 = pomcp_episode(tiger, n_steps=5, n_simulations=300, seed=5)
    assert np.array_equal(e1.actions, e2.actions) and e1.discounted_return == e2.discounted_return


def test_pomcp_visits_add_up(tiger):
    plan = pomcp_plan(tiger, n_simulations=777, seed=1)
    assert plan.visits.sum() == 777 and plan.n_nodes <= 778


def test_pomcp_rejects_bad_input(tiger):
    with pytest.raises(InvalidModelError, match="belief"):
        pomcp_plan(tiger, [0.5, 0.6])
    with pytest.raises(InvalidModelError, match="rollout_policy"):
        pomcp_plan(tiger, rollout_policy=[0.5, 0.6, 0.1])
    with pytest.raises(InvalidArgumentError, match="c ="):
        pomcp_plan(tiger, c=-1.0)
    with pytest.raises((InvalidArgumentError, InvalidModelError), match="n_simulations"):
        pomcp_plan(tiger, n_simulations=0)


@pytest.mark.parametrize(("options", "message"),
                         [({"max_depth": 0}, "max_depth"), ({"max_depth": -2}, "max_depth"),
                          ({"max_depth": 2.5}, "max_depth"), ({"n_simulations": 2.5}, "n_simulations"),
                          ({"n_particles": 10.5}, "n_particles")])
def test_pomcp_rejects_non_integer_or_empty_search_sizes(tiger, options, message):
    # max_depth = 0 used to return value = -inf, max_depth = -2 a bare numpy ValueError, and
    # n_simulations = 2.5 ran 2 simulations silently
    with pytest.raises(InvalidArgumentError, match=message):
        pomcp_plan(tiger, tiger.b0, **{"n_simulations": 10, "seed": 0, **options})
    with pytest.raises((InvalidArgumentError, InvalidModelError), match=message):
        pomcp_episode(tiger, n_steps=1, **{"n_simulations": 10, "n_particles": 10, "seed": 0, **options})


BAD_POMCP_OPTIONS = [
    ("n_simulations", -1), ("n_particles", 0), ("n_particles", -4), ("n_steps", -1), ("n_steps", 1.5),
    ("discount_threshold", 0.0), ("discount_threshold", 1.0), ("discount_threshold", float("nan")),
    ("discount_threshold", "tiny"), ("c", float("nan")),
    ("c", float("inf")), ("c", "large"),
]


@pytest.mark.parametrize(("option", "value"), BAD_POMCP_OPTIONS)
def test_pomcp_rejects_every_bad_option_naming_it_and_its_value(tiger, option, value):
    # discount_threshold (was epsilon) = "tiny" and c = "large" used to raise a bare TypeError / ValueError
    options = {"n_simulations": 10, "n_particles": 10, "seed": 0, option: value}
    with pytest.raises(InvalidArgumentError, match=option) as err:
        pomcp_episode(tiger, **({"n_steps": 1} | options))
    assert repr(value) in str(err.value) or option + " must be" in str(err.value)
    if option != "n_steps":
        with pytest.raises((InvalidArgumentError, InvalidModelError), match=option):
            pomcp_plan(tiger, **options)


def test_pomcp_epsilon_is_renamed_discount_threshold(tiger):
    with pytest.warns(DeprecationWarning, match="'epsilon' is deprecated .* use 'discount_threshold'"):
        old = pomcp_plan(tiger, n_simulations=50, epsilon=0.1, seed=3)
    new = pomcp_plan(tiger, n_simulations=50, discount_threshold=0.1, seed=3)
    assert (old.action, old.value) == (new.action, new.value)
