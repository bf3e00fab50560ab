"""Forward algorithm: brute-force sums over hidden-state paths, normalisation, Tiger by hand."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidModelError
from theory_rl.pomdp._forward import enumerate_trajectories, trajectory_probability, unnormalized_beliefs


def brute_force(model, actions, observations):
    """Sum over every hidden state path s_0..s_H (independent of the matrix recursion)."""
    T = model.transition_dense()
    total = 0.0
    for path in itertools.product(range(model.n_states), repeat=len(actions) + 1):
        p = model.b0[path[0]]
        for t, (a, o) in enumerate(zip(actions, observations)):
            p *= T[path[t], a, path[t + 1]] * model.O[a, path[t + 1], o]
        total += p
    return total


@given(pomdps(max_states=3, max_actions=2, max_observations=2), st.integers(0, 3), st.integers(0, 2**31))
def test_forward_equals_sum_over_state_paths(model, H, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, model.n_actions, size=(5, H))
    o = rng.integers(0, model.n_observations, size=(5, H))
    got = trajectory_probability(model, a, o)
    want = [brute_force(model, a[i], o[i]) for i in range(5)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@given(pomdps(max_observations=3), st.integers(1, 3))
def test_probabilities_sum_to_one_for_every_action_sequence(model, H):
    a, o = enumerate_trajectories(model.n_actions, model.n_observations, H)
    p = trajectory_probability(model, a, o).reshape((model.n_actions, model.n_observations) * H)
    sums = p.sum(axis=tuple(range(1, 2 * H, 2)))  # sum over all observation axes
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    assert p.min() >= 0


@given(pomdps(sparse=False))
def test_sparse_and_dense_agree(model):
    a, o = enumerate_trajectories(model.n_actions, model.n_observations, 2)
    np.testing.assert_allclose(
        trajectory_probability(model.to_sparse(), a, o), trajectory_probability(model, a, o), atol=1e-14
    )


def test_tiger_by_hand(tiger_model):
    m = tiger_model
    assert trajectory_probability(m, [0], [0]) == pytest.approx(0.5)
    # two listens hear left twice: 0.5 (0.85^2 + 0.15^2)
    assert trajectory_probability(m, [0, 0], [0, 0]) == pytest.approx(0.5 * (0.85**2 + 0.15**2))
    # the belief after hearing left once is (0.85, 0.15) once normalised
    b = unnormalized_beliefs(m, [0], [0])
    np.testing.assert_allclose(b / b.sum(), [0.85, 0.15])
    assert trajectory_probability(m, np.zeros((3, 0), int), np.zeros((3, 0), int)).tolist() == [1.0, 1.0, 1.0]


def test_enumeration_order():
    a, o = enumerate_trajectories(2, 3, 2)
    assert a.shape == (36, 2)
    assert (a[1].tolist(), o[1].tolist()) == ([0, 0], [0, 1])
    assert (a[3].tolist(), o[3].tolist()) == ([0, 1], [0, 0])
    assert enumerate_trajectories(2, 2, 0)[0].shape == (1, 0)


@pytest.mark.parametrize(
    "actions, observations, match",
    [([3], [0], r"actions\[0\] = 3"), ([0], [2], r"observations\[0\] = 2"), ([0, 1], [0], "shape"),
     ([0.5], [0], "integer")],
)
def test_bad_sequences_are_named(actions, observations, match, tiger_model):
    with pytest.raises(InvalidModelError, match=match):
        trajectory_probability(tiger_model, actions, observations)
