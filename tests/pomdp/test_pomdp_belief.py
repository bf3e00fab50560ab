"""Beliefs: Bayes' rule, the belief MDP, simulation, the belief-tree oracle."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.pomdp import (
    PROBLEM_DIR,
    belief_q_values,
    belief_tree_value,
    belief_update,
    exact_value_iteration,
    observation_probabilities,
    read_pomdp,
    simulate,
    successor_beliefs,
)

DATA = PROBLEM_DIR


def _tiger():
    return read_pomdp(DATA / "tiger.95.POMDP")


def test_tiger_listen_update_by_hand():
    m = _tiger()
    b = belief_update(m, [0.5, 0.5], 0, 0)
    np.testing.assert_allclose(b, [0.85, 0.15])
    b2 = belief_update(m, b, 0, 0)
    np.testing.assert_allclose(b2, [0.85**2 / (0.85**2 + 0.15**2), 0.15**2 / (0.85**2 + 0.15**2)])
    np.testing.assert_allclose(observation_probabilities(m, b, 0), [0.85 * 0.85 + 0.15 * 0.15, 2 * 0.85 * 0.15])


@given(pomdps(), st.integers(0, 2**31))
def test_bayes_rule_and_belief_mdp_consistency(model, seed):
    rng = np.random.default_rng(seed)
    b = rng.dirichlet(np.ones(model.n_states))
    T = model.transition_dense()
    for a in range(model.n_actions):
        probs, nxt = successor_beliefs(model, b, a)
        pred = b @ T[:, a, :]
        # independent formula: P(o | b, a) = sum_{s, s'} b(s) T[s, a, s'] O[a, s', o]
        expected = np.einsum("s,st,to->o", b, T[:, a, :], model.O[a])
        np.testing.assert_allclose(probs, expected, atol=1e-12)
        np.testing.assert_allclose(probs.sum(), 1.0, atol=1e-12)
        # the posterior averages back to the prediction (law of total probability)
        np.testing.assert_allclose(probs @ nxt, pred, atol=1e-12)
        for o in range(model.n_observations):
            if probs[o] > 1e-12:
                np.testing.assert_allclose(belief_update(model, b, a, o), nxt[o], atol=1e-12)
            else:
                with pytest.raises(InvalidModelError, match="has probability 0"):
                    belief_update(model, b, a, o)


def test_zero_probability_observation_is_a_clear_error():
    m = _tiger()
    m2 = m.replace(O=np.stack([np.eye(2), np.full((2, 2), 0.5), np.full((2, 2), 0.5)]))
    with pytest.raises(InvalidModelError, match="observation 'tiger-right' has probability 0 after action 0"):
        belief_update(m2, [1.0, 0.0], 0, 1)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [(([0.5, 0.6], 0, 0), InvalidModelError, "not a probability vector"),
     (([0.5, 0.5], 3, 0), InvalidArgumentError, "action 3"),  # an index or a name: an argument
     (([0.5, 0.5], 0, 2), InvalidArgumentError, "observation 2"),
     (([1.0], 0, 0), InvalidModelError, r"shape \(1,\)")],
)
def test_bad_belief_arguments(args, error, message):
    with pytest.raises(error, match=message):
        belief_update(_tiger(), *args)


def test_belief_q_values_is_one_step_of_the_tree():
    m = _tiger()
    q = belief_q_values(m, m.b0, lambda b: 0.0)
    np.testing.assert_allclose(q, [-1.0, -45.0, -45.0])
    assert belief_tree_value(m, m.b0, 1) == -1.0
    assert belief_tree_value(m, m.b0, 0) == 0.0


def test_simulated_return_of_the_optimal_policy_matches_v_star():
    m = _tiger()
    sol = exact_value_iteration(m)
    sim = simulate(m, sol, horizon=250, n_episodes=4000, seed=3, confidence=0.999)
    assert sim.truncation < 1e-2
    assert sim.contains(sol.value), (sim, sol.value)
    # a callable policy gives the same returns with the same seed
    one = simulate(m, sol, horizon=50, n_episodes=100, seed=4)
    again = simulate(m, lambda b: sol(b), horizon=50, n_episodes=100, seed=4)
    np.testing.assert_array_equal(again.returns, one.returns)


def test_simulation_of_a_blind_policy_matches_its_exact_value():
    m = _tiger()
    sim = simulate(m, lambda b: 0, horizon=300, n_episodes=50, seed=0)
    assert sim.mean == pytest.approx(-(1 - 0.95**300) / 0.05)
    assert sim.std_error == 0.0


def test_simulation_on_a_sparse_model_and_bad_arguments():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        m = read_pomdp(DATA / "4x4.95.POMDP").to_sparse()
    sim = simulate(m, lambda b: 1, horizon=20, n_episodes=30, seed=np.random.default_rng(1))
    assert sim.returns.shape == (30,) and sim.ci[0] <= sim.mean <= sim.ci[1]
    with pytest.raises(InvalidArgumentError, match="horizon"):
        simulate(m, lambda b: 0, horizon=0, n_episodes=3)
    with pytest.raises(InvalidModelError, match="outside"):
        simulate(m, lambda b: 9, horizon=2, n_episodes=3, seed=0)


@pytest.mark.parametrize("horizon", [2.5, -1, True])
def test_belief_tree_value_rejects_a_non_integer_horizon(horizon):
    # 2.5 used to recurse 2.5 -> 1.5 -> 0.5 -> -0.5 and silently return V_3
    with pytest.raises(InvalidModelError, match="horizon"):
        belief_tree_value(_tiger(), [0.5, 0.5], horizon)
