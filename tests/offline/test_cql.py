"""Tabular CQL: alpha = 0 is plug-in value iteration, the paper's closed-form update at the fixed
point (independent root finder), Theorem 3.2's lower bound on the empirical policy value, and CQL
on enumerated histories and on a lookup encoder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from offline_instances import tiger
from scipy.optimize import fsolve

from theory_rl.errors import InvalidArgumentError
from theory_rl.models import FiniteMDP
from theory_rl.offline import (
    TrajectoryDataset,
    belief_grouping,
    collect_trajectories,
    count_model,
    cql,
    encode_states,
    enumerate_histories,
    history_dataset,
)
from theory_rl.tabular import policy_value, value_iteration


def _covered_data(seed: int, S: int, A: int) -> TrajectoryDataset:
    """Uniform-behaviour data on a random MDP, long enough that every (s, a) is seen."""
    rng = np.random.default_rng(seed)
    mdp = FiniteMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(-1, 1, (S, A)), 0.9)
    while True:
        d = collect_trajectories(mdp, np.full((S, A), 1.0 / A), n_episodes=30, horizon=12, seed=rng)
        if (d.counts() > 0).all():
            return d


def _empirical_mdp(d: TrajectoryDataset, gamma: float) -> FiniteMDP:
    P, r, _, _ = count_model(d)
    return FiniteMDP(P, r, gamma)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), S=st.integers(2, 5), A=st.integers(1, 3))
def test_alpha_zero_is_plug_in_value_iteration(seed, S, A):
    d = _covered_data(seed, S, A)
    res = cql(d, gamma=0.9, alpha=0.0, tol=1e-12)
    q_star = value_iteration(_empirical_mdp(d, 0.9), tol=1e-12).q
    assert res.converged
    np.testing.assert_allclose(res.q, q_star, atol=1e-9)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), S=st.integers(2, 4), A=st.integers(2, 3), alpha=st.floats(0.05, 5.0))
def test_fixed_point_satisfies_the_papers_closed_form(seed, S, A, alpha):
    """Q = B Q - alpha (softmax(Q) / pi_beta - 1), checked by an independent root finder."""
    d = _covered_data(seed, S, A)
    res = cql(d, gamma=0.9, alpha=alpha, tol=1e-12)
    P, r, mu, _ = count_model(d)

    def residual(x):
        q = x.reshape(S, A)
        p = np.exp(q - q.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return (q - (r + 0.9 * P @ q.max(axis=1)) + alpha * (p / mu - 1)).ravel()

    np.testing.assert_allclose(residual(res.q.ravel()), 0.0, atol=1e-8)
    root = fsolve(residual, res.q.ravel(), xtol=1e-13)
    np.testing.assert_allclose(root.reshape(S, A), res.q, atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), S=st.integers(2, 5), A=st.integers(2, 3), alpha=st.floats(0.01, 10.0))
def test_theorem_3_2_policy_evaluation_is_a_lower_bound(seed, S, A, alpha):
    """Kumar et al. 2020, Thm 3.2 with B-hat = B: V-hat^pi <= V^pi (empirical MDP) for any alpha > 0,
    with the exact gap alpha (I - gamma P^pi)^{-1} sum_a pi (pi / pi_beta - 1)."""
    d = _covered_data(seed, S, A)
    rng = np.random.default_rng(seed + 1)
    pi = rng.dirichlet(np.ones(A), size=S)
    res = cql(d, gamma=0.9, alpha=alpha, policy=pi, tol=1e-13)
    emp = _empirical_mdp(d, 0.9)
    v_pi = policy_value(emp, pi)
    assert np.all(res.v <= v_pi + 1e-9)
    _, _, mu, _ = count_model(d)
    P = emp.transition_matrix
    P = (P.toarray() if hasattr(P, "toarray") else np.asarray(P)).reshape(S, A, S)
    P_pi = np.einsum("sa,sat->st", pi, P)
    chi = (pi * (pi / mu - 1)).sum(axis=1)
    assert np.all(chi >= -1e-12)
    gap = alpha * np.linalg.solve(np.eye(S) - 0.9 * P_pi, chi)
    np.testing.assert_allclose(v_pi - res.v, gap, atol=1e-8)
    # alpha = 0: exact evaluation
    np.testing.assert_allclose(cql(d, gamma=0.9, alpha=0.0, policy=pi, tol=1e-13).v, v_pi, atol=1e-9)


def test_unseen_actions_and_states():
    """An action the data never take is pushed to -inf; a state never acted in has value 0."""
    d = TrajectoryDataset([[0, 1], [0, 1]], [[0], [0]], [[1.0], [1.0]], n_states=2, n_actions=2)
    res = cql(d, gamma=0.5, alpha=1.0)
    assert res.q[0, 1] == -np.inf and res.q[0, 0] == pytest.approx(1.0) and res.v[1] == 0.0
    with pytest.raises(InvalidArgumentError, match="support"):
        cql(d, gamma=0.5, policy=np.full((2, 2), 0.5))
    with pytest.raises(InvalidArgumentError, match="gamma"):
        cql(d, gamma=1.0)
    with pytest.raises(InvalidArgumentError, match="alpha"):
        cql(d, gamma=0.5, alpha=-1.0)


def test_reference_two_action_bandit():
    """One state, pi_beta = (1/2, 1/2), rewards (1, 0), alpha = 1/2: q solves q = y - alpha (2 softmax(q) - 1);
    measured q = (0.83742, 0.16258) (difference 0.6748 = the root of x = 1 - tanh(x / 2))."""
    d = TrajectoryDataset([[0, 1], [0, 1]], [[0], [1]], [[1.0], [0.0]], n_states=2, n_actions=2)
    q = cql(d, gamma=0.9, alpha=0.5).q[0]
    x = q[0] - q[1]
    assert x == pytest.approx(1 - np.tanh(x / 2), abs=1e-12)
    assert q == pytest.approx([0.837416, 0.162584], abs=1e-6)


def test_cql_on_histories_and_on_the_belief_grouping_encoder():
    """Tiger, horizon 4: CQL on history ids (|H| rows) and on the belief groups (|Z| rows)."""
    m = tiger()
    tree = enumerate_histories(m, horizon=4)
    d = collect_trajectories(m, np.full((2, 3), 1 / 3), n_episodes=300, horizon=3, seed=0)
    hd = history_dataset(d, tree)
    on_h = cql(hd, gamma=0.95, alpha=1.0)
    groups = belief_grouping(tree)
    on_z = cql(encode_states(hd, groups), gamma=0.95, alpha=1.0)
    assert on_h.q.shape[0] == tree.n_histories and on_z.q.shape[0] == groups.max() + 1 < tree.n_histories / 5
    assert on_h.converged and on_z.converged
    with pytest.raises(InvalidArgumentError, match="leaves the history tree"):
        history_dataset(d, enumerate_histories(m, horizon=3))
