"""The public test helpers: strategies cover the edge cases, assertions catch wrong answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import tabular
from theory_rl.checks import assert_bellman_optimal, assert_bounds_bracket, assert_policy_value, finite_mdps
from theory_rl.models import FiniteMDP


@given(finite_mdps(sparse=True, masked=True, gamma=(0.1, 0.2), max_states=3))
def test_strategy_respects_its_arguments(mdp):
    assert mdp.is_sparse and 0.1 <= mdp.gamma <= 0.2 and 1 <= mdp.n_states <= 3
    assert mdp.action_mask is None or mdp.action_mask.any(axis=1).all()


def test_strategy_reaches_deterministic_and_masked_models():
    seen = {"deterministic": False, "masked": False, "dense": False, "sparse": False}

    @given(finite_mdps(masked=True, min_actions=2))
    @settings(max_examples=200, database=None)
    def collect(mdp):
        P = mdp.to_dense().P
        seen["deterministic"] |= bool(np.all((P == 0) | (P == 1)))
        seen["masked"] |= mdp.action_mask is not None and not mdp.action_mask.all()
        seen["dense" if not mdp.is_sparse else "sparse"] = True

    collect()
    assert all(seen.values()), seen


@pytest.fixture
def mdp():
    rng = np.random.default_rng(1)
    return FiniteMDP(rng.dirichlet(np.ones(4), size=(4, 2)), rng.random((4, 2)), 0.9)


def test_assert_bellman_optimal_accepts_v_star_and_rejects_a_perturbation(mdp):
    v_star = tabular.policy_iteration(mdp).v
    assert_bellman_optimal(mdp, v_star, tol=1e-9)
    wrong = v_star.copy()
    wrong[2] += 1e-3
    with pytest.raises(AssertionError, match="at state 2"):
        assert_bellman_optimal(mdp, wrong, tol=1e-4)


def test_assert_policy_value(mdp):
    pi = np.array([0, 1, 0, 1])
    v = tabular.policy_value(mdp, pi)
    assert_policy_value(mdp, pi, v, tol=1e-10)
    with pytest.raises(AssertionError, match="at state 0"):
        assert_policy_value(mdp, pi, v + np.array([1e-3, 0, 0, 0]), tol=1e-6)


def test_assert_bounds_bracket():
    assert_bounds_bracket([0, 0], [0.5, 1.0], [1, 1])
    with pytest.raises(AssertionError, match="upper bound is below the exact value at index 1"):
        assert_bounds_bracket([0, 0], [0.5, 1.1], [1, 1])
    with pytest.raises(AssertionError, match="lower bound exceeds the exact value at index 0"):
        assert_bounds_bracket([0.6, 0], [0.5, 1.0], [1, 1])


@given(st.data())
def test_strategy_models_are_solvable(data):
    mdp = data.draw(finite_mdps())
    assert tabular.value_iteration(mdp).converged
