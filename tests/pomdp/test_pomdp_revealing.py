"""Revealing constants: the LP against cvxpy and closed forms, Tiger's 0.7, and every fact of
spec section 2.3 (bounds, monotonicity in m, invariances)."""

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import POMDP
from theory_rl.pomdp._forward import enumerate_trajectories, trajectory_probability, unnormalized_beliefs
from theory_rl.pomdp._revealing import (
    emission_action_matrix,
    is_revealing,
    left_inverse_norm,
    revealing_bounds,
    revealing_constant,
)


def emission_matrices(max_obs=5, max_states=4):
    """Column-stochastic (O, S) emission matrices with O >= S."""

    @st.composite
    def build(draw):
        S = draw(st.integers(1, max_states))
        n = draw(st.integers(S, max_obs))
        conc = draw(st.sampled_from([0.3, 1.0, 3.0]))
        rng = np.random.default_rng(draw(st.integers(0, 2**31)))
        return rng.dirichlet(np.full(n, conc), size=S).T

    return build()


def alpha_of(M):
    """1 / min ||X||_{1->1}, and 0 when M has no left inverse."""
    norm, _ = left_inverse_norm(M)
    return 0.0 if not np.isfinite(norm) else 1.0 / norm


@given(emission_matrices())
def test_lp_equals_cvxpy_induced_norm_minimisation(M):
    n, S = M.shape
    assume(np.linalg.svd(M, compute_uv=False)[-1] > 1e-3)
    norm, X = left_inverse_norm(M)
    np.testing.assert_allclose(X @ M, np.eye(S), atol=1e-7)
    Xv = cp.Variable((S, n))
    prob = cp.Problem(cp.Minimize(cp.norm(Xv, 1)), [Xv @ M == np.eye(S)])  # induced 1-norm: max column sum
    prob.solve(solver=cp.CLARABEL)
    assert norm == pytest.approx(prob.value, rel=1e-5, abs=1e-6)


@given(st.integers(1, 4), st.integers(0, 2**31))
def test_square_invertible_matrix_has_the_unique_inverse(S, seed):
    M = np.random.default_rng(seed).dirichlet(np.ones(S), size=S).T
    assume(np.linalg.cond(M) < 1e6)
    inv = np.linalg.inv(M)
    assert alpha_of(M) == pytest.approx(1.0 / np.abs(inv).sum(axis=0).max(), rel=1e-6)


@given(emission_matrices())
def test_alpha_lies_between_sigma_min_bound_and_min_tv(M):
    lower, upper = revealing_bounds(M)
    alpha = alpha_of(M)
    assert lower - 1e-9 <= alpha <= upper + 1e-7
    assert alpha <= 1 + 1e-9  # fact 1: m = 1 constants never exceed 1


def test_tiger_listen_is_a_binary_symmetric_channel(tiger_model):
    m = tiger_model
    assert revealing_constant(m, previous_action=0) == pytest.approx(0.7, abs=1e-9)
    lower, upper = revealing_bounds(emission_action_matrix(m, previous_action=0))
    assert upper == pytest.approx(0.7)  # facts 2 and 3 coincide at 2p - 1 for a symmetric channel
    assert lower == pytest.approx(0.7 / np.sqrt(2))
    # after opening a door the observation is uninformative: not 1-step revealing ...
    assert revealing_constant(m) == 0.0 and not is_revealing(m, 1, 0.1)
    # ... but two steps reveal the state (open, then listen): alpha_1 = 0 < alpha_2
    assert revealing_constant(m, 2) == pytest.approx(0.7, abs=1e-7)
    assert is_revealing(m, 2, 0.7)


@pytest.mark.parametrize("p", [0.5, 0.6, 0.85, 1.0])
def test_binary_symmetric_channel_closed_form(p):
    M = np.array([[p, 1 - p], [1 - p, p]])
    assert alpha_of(M) == pytest.approx(2 * p - 1, abs=1e-9)


def test_identity_emission_is_fully_revealing_and_duplicates_are_not():
    assert alpha_of(np.eye(3)) == pytest.approx(1.0)
    M = np.array([[0.5, 0.5, 0.2], [0.5, 0.5, 0.8]])
    assert left_inverse_norm(M) == (float("inf"), None)


@given(pomdps(max_states=3, max_actions=2, max_observations=3, sparse=False), st.integers(0, 1))
def test_monotone_in_m(model, prev):
    alphas = [revealing_constant(model, m, previous_action=prev) for m in (1, 2, 3)]
    for a_m, a_next in zip(alphas, alphas[1:]):
        assert a_next >= a_m - 1e-7
    # columns of the m-step matrix sum to A^(m-1), so the same argument as fact 1 caps alpha_m
    for m, a in zip((1, 2, 3), alphas):
        assert a <= model.n_actions ** (m - 1) + 1e-7


@given(pomdps(max_states=3, max_actions=2, max_observations=3, sparse=False), st.integers(1, 3))
def test_emission_action_matrix_against_forward_algorithm(model, m):
    """Column s is the forward probability of (previous action 0, o_1, a_1, o_2, ...) in a model
    whose first transition lands in s deterministically and which then follows the POMDP."""
    A, n_obs, S = model.n_actions, model.n_observations, model.n_states
    M = emission_action_matrix(model, m, previous_action=0)
    np.testing.assert_allclose(M.sum(axis=0), A ** (m - 1))
    a, o = enumerate_trajectories(A, n_obs, m)
    a, o = a[a[:, 0] == 0], o[a[:, 0] == 0]  # rows (o_1, a_1, o_2, ...) in M's order
    for s in range(S):
        land = np.zeros((S, A, S))
        land[:, :, s] = 1.0
        b1 = unnormalized_beliefs(POMDP(land, model.O, model.R, model.gamma), a[:, :1], o[:, :1])
        tail = [trajectory_probability(model.replace(b0=np.eye(S)[s]), a[i, 1:], o[i, 1:]) for i in range(len(a))]
        np.testing.assert_allclose(M[:, s], b1[:, s] * np.asarray(tail), atol=1e-12)


@given(emission_matrices(max_obs=4, max_states=3), st.integers(0, 2**31))
def test_invariances(M, seed):
    rng = np.random.default_rng(seed)
    n, S = M.shape
    base = alpha_of(M)
    alpha = alpha_of
    # permuting states and observations
    assert alpha(M[rng.permutation(n)][:, rng.permutation(S)]) == pytest.approx(base, abs=1e-7)
    # splitting a symbol with a state-independent ratio
    i, r = int(rng.integers(n)), float(rng.uniform(0.1, 0.9))
    split = np.vstack([M, (1 - r) * M[i]])
    split[i] *= r
    assert alpha(split) == pytest.approx(base, abs=1e-7)
    # merging two symbols can only decrease alpha
    if n >= 2:
        merged = np.vstack([M[0] + M[1], M[2:]])
        assert alpha(merged) <= base + 1e-7


def test_time_inhomogeneous_model_picks_the_step(tiger_model):
    m = tiger_model
    blind = m.replace(O=np.full((3, 2, 2), 0.5))
    seq = [m, blind, m]
    assert revealing_constant(seq, 1, h=1, previous_action=0) == pytest.approx(0.7)
    assert revealing_constant(seq, 1, h=2, previous_action=0) == 0.0
    assert revealing_constant(seq, 1, previous_action=0) == 0.0  # min over h
    assert revealing_constant(seq, 2, h=2, previous_action=0) == pytest.approx(0.7, abs=1e-7)
    with pytest.raises(InvalidModelError, match="past the horizon"):
        revealing_constant(seq, 2, h=3)


def test_bad_input(tiger_model):
    m = tiger_model
    with pytest.raises(InvalidModelError, match="m must be"):
        revealing_constant(m, 0)
    with pytest.raises(InvalidArgumentError, match="previous_action"):
        revealing_constant(m, previous_action=5)
    with pytest.raises(InvalidModelError, match="share"):
        revealing_constant([m, POMDP(np.full((3, 3, 3), 1 / 3), np.full((3, 3, 2), 0.5), np.zeros((3, 3)), 0.9)])
    with pytest.raises(InvalidModelError, match="finite"):
        left_inverse_norm(np.array([[np.nan]]))


def test_states_with_one_emission_separated_after_one_step():
    """Spec 2.5: states 0 and 1 share an emission (alpha_1 = 0); state 0 moves to the state that shows
    symbol 2, state 1 stays, so two steps reveal the state (alpha_2 > 0). Hand computation: the
    left inverse reads column 2 from (2, 2), column 0 from (o_1 in {0, 1}, 2), column 1 from the rest,
    and the best one has column norm 1."""
    T = np.zeros((3, 1, 3))
    T[0, 0, 2] = T[1, 0, 1] = T[2, 0, 2] = 1.0
    O = np.array([[[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]])  # noqa: E741
    m = POMDP(T, O, np.zeros((3, 1)), 0.9)
    assert revealing_constant(m, 1) == 0.0
    assert revealing_constant(m, 2) == pytest.approx(1.0, abs=1e-7)
