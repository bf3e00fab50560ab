"""The certificate stress models: near-deterministic MDPs and random stochastic shortest paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl import envs, tabular


@given(seed=st.integers(0, 2**32 - 1), n_states=st.integers(1, 6), n_actions=st.integers(1, 3),
       slip=st.sampled_from([0.0, 1e-9, 0.25]))
def test_near_deterministic_rows_put_one_minus_slip_on_one_successor(seed, n_states, n_actions, slip):
    mdp = envs.near_deterministic_mdp(n_states, n_actions, slip=slip, gamma=0.9, seed=seed)
    P = np.asarray(mdp.P)
    np.testing.assert_allclose(P.sum(axis=2), 1.0, atol=1e-15)
    top = np.sort(P, axis=2)[:, :, ::-1]
    if n_states == 1:
        np.testing.assert_array_equal(P, 1.0)
    else:
        np.testing.assert_array_equal(top[:, :, 0], 1.0 - slip)
        np.testing.assert_array_equal(top[:, :, 1], slip)
        # the slip goes to the next state (mod S) after the main successor
        main = P.argmax(axis=2)
        s, a = np.meshgrid(np.arange(n_states), np.arange(n_actions), indexing="ij")
        np.testing.assert_array_equal(P[s, a, (main + 1) % n_states], slip)
    assert ((mdp.R >= 0) & (mdp.R <= 1)).all()


def test_near_deterministic_draws_successors_then_rewards_from_the_seed():
    # the draw order documented: S*A successors state by state, then the S*A rewards
    rng = np.random.default_rng(4)
    targets = np.array([[rng.integers(5) for _ in range(2)] for _ in range(5)])
    rewards = rng.uniform(0, 1, (5, 2))
    mdp = envs.near_deterministic_mdp(5, 2, slip=1e-9, gamma=0.99, seed=4)
    np.testing.assert_array_equal(np.asarray(mdp.P).argmax(axis=2), targets)
    np.testing.assert_array_equal(mdp.R, rewards)
    assert mdp.gamma == 0.99


def _expected_steps(P, term, policy):
    """Expected steps to termination under ``policy`` by a dense solve of (I - P_NN) t = 1; inf when
    the policy is improper (the chain restricted to the non-terminal states has spectral radius 1)."""
    N = np.flatnonzero(~term)
    if len(N) == 0:
        return 0.0
    P_pi = P[np.arange(len(term)), policy][np.ix_(N, N)]
    if np.max(np.abs(np.linalg.eigvals(P_pi)), initial=0.0) > 1 - 1e-12:
        return np.inf
    return np.linalg.solve(np.eye(len(N)) - P_pi, np.ones(len(N))).max()


@given(seed=st.integers(0, 2**32 - 1), n_states=st.integers(2, 6), n_actions=st.integers(1, 3),
       all_proper=st.booleans(), masked=st.booleans())
def test_random_shortest_path_has_the_promised_proper_and_improper_policies(seed, n_states, n_actions, all_proper,
                                                                          masked):
    mdp = envs.random_shortest_path(n_states, n_actions, all_proper=all_proper, masked=masked, seed=seed)
    P, term = np.asarray(mdp.P), mdp.terminal
    assert mdp.gamma == 1.0 and 1 <= term.sum() <= 2 and (mdp.R[term] == 0).all()
    np.testing.assert_array_equal(P[term][:, :, term].sum(axis=2), 1.0)  # terminal states absorb
    policies = [np.full(n_states, a) for a in range(n_actions)]
    mask = mdp.action_mask if mdp.action_mask is not None else np.ones((n_states, n_actions), bool)
    assert mask[:, 0].all()
    if all_proper:
        assert (mdp.R >= -1).all() and (mdp.R <= 1).all()
        rng = np.random.default_rng(seed)
        policies += [rng.integers(n_actions, size=n_states) for _ in range(5)]
        assert all(np.isfinite(_expected_steps(P, term, pi)) for pi in policies)
    else:
        assert (mdp.R[~term] <= -0.01).all()
        assert np.isfinite(_expected_steps(P, term, policies[0]))  # action 0 is proper
        if n_actions > 1 and (~term).sum() > 0:
            # action 1 never reaches a terminal state: improper wherever it is played everywhere
            assert (P[~term, 1][:, term] == 0).all()
            assert _expected_steps(P, term, policies[1]) == np.inf


def test_random_shortest_path_sparse_and_dense_are_the_same_model_and_solve_alike():
    dense = envs.random_shortest_path(6, 3, all_proper=False, masked=True, seed=3)
    sparse = envs.random_shortest_path(6, 3, all_proper=False, masked=True, sparse=True, seed=3)
    np.testing.assert_array_equal(sparse.P.toarray().reshape(6, 3, 6), dense.P)
    np.testing.assert_array_equal(sparse.action_mask, dense.action_mask)
    a = tabular.shortest_path_policy_iteration(dense, tol=1e-10)
    b = tabular.shortest_path_value_iteration(sparse, tol=1e-10)
    np.testing.assert_array_equal(a.policy, b.policy)
    np.testing.assert_allclose(a.v, b.v, atol=1e-8)


def test_random_shortest_path_reference_instance():
    # measured (the generator as it was in this package's SSP tests, seed 0, S = 5, A = 2, all proper):
    # terminal states 2 and 4, and these optimal values
    mdp = envs.random_shortest_path(5, 2, all_proper=True, seed=0)
    assert np.flatnonzero(mdp.terminal).tolist() == [2, 4]
    sol = tabular.shortest_path_policy_iteration(mdp, tol=1e-12)
    np.testing.assert_allclose(sol.v, [0.809785246456, 1.494331745115, 0.0, 1.568012957689, 0.0], atol=1e-9)


@pytest.mark.parametrize("n_states", [1, 0])
def test_random_shortest_path_needs_two_states(n_states):
    from theory_rl.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="n_states"):
        envs.random_shortest_path(n_states, 2)
