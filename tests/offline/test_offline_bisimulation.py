"""Exact history bisimulation metric: pseudometric axioms, the value bound, belief grouping,
agreement of two solvers and two transport programs, the |H| versus |Z| growth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from offline_instances import tiger
from scipy.stats import wasserstein_distance

from theory_rl.errors import InvalidArgumentError
from theory_rl.models import POMDP
from theory_rl.offline import (
    belief_grouping,
    enumerate_histories,
    history_bisimulation_metric,
    wasserstein,
)
from theory_rl.pomdp import belief_tree_value


def _random_pomdp(rng: np.random.Generator, S: int = 2, A: int = 2, O: int = 2) -> POMDP:  # noqa: E741
    return POMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.dirichlet(np.ones(O), size=(A, S)),
                 rng.uniform(-1, 1, (S, A)), 0.9, b0=rng.dirichlet(np.ones(S)))


@pytest.fixture(scope="module")
def tiger_metric():
    tree = enumerate_histories(tiger(), horizon=4)
    return tree, history_bisimulation_metric(tree)


def test_pseudometric_axioms(tiger_metric):
    tree, d = tiger_metric
    for t in range(tree.horizon):
        D = d.matrix(t)
        assert np.array_equal(D, D.T)
        assert np.all(np.diag(D) == 0) and np.all(D >= 0)
        # triangle inequality D[i, k] <= D[i, j] + D[j, k] for every j
        assert np.all(D[:, None, :] <= D[:, :, None] + D[None, :, :] + 1e-8)


def test_optimal_values_are_lipschitz_in_the_metric(tiger_metric):
    """|V*(h) - V*(h')| <= d(h, h') (reward constant 1, transport constant gamma)."""
    tree, d = tiger_metric
    for t in range(tree.horizon):
        idx = tree.at_depth(t)
        v = d.value[idx]
        assert np.all(np.abs(v[:, None] - v[None, :]) <= d.matrix(t) + 1e-9)
    # V*(b0) equals the brute-force belief-tree expectimax of theory_rl.pomdp
    assert d.value[0] == pytest.approx(belief_tree_value(tiger(), np.array([0.5, 0.5]), 4), rel=1e-12)


def test_identical_beliefs_are_at_distance_zero_with_equal_values(tiger_metric):
    tree, d = tiger_metric
    groups = belief_grouping(tree)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        assert np.all(d.distance(members[:, None], members[None, :]) <= 1e-9)
        assert np.ptp(d.value[members]) <= 1e-9
    assert d.n_classes <= groups.max() + 1  # the exact quotient is no finer than the belief grouping


def test_history_count_grows_exponentially_belief_groups_linearly():
    tree = enumerate_histories(tiger(), horizon=6)
    groups = belief_grouping(tree)
    for t in range(6):
        idx = tree.at_depth(t)
        assert idx.size == 6**t  # (|A||O|)^t histories: every observation has positive probability
        assert np.unique(groups[idx]).size <= 2 * t + 1  # the listen-count lattice


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), H=st.integers(1, 3))
def test_two_solvers_and_two_transport_programs_agree(seed, H):
    """Direct backward solve (primal LP, exact compression) = Picard iteration (dual LP, no
    compression), for a random stochastic policy on a random POMDP."""
    rng = np.random.default_rng(seed)
    tree = enumerate_histories(_random_pomdp(rng), horizon=H)
    pi = rng.dirichlet(np.ones(2), size=tree.n_histories)
    a = history_bisimulation_metric(tree, policy=pi)
    b = history_bisimulation_metric(tree, policy=pi, solver="iteration", transport="dual", compress=False)
    for t in range(H):
        assert np.allclose(a.matrix(t), b.matrix(t), atol=1e-8, rtol=0)
        idx = tree.at_depth(t)
        assert np.all(np.abs(a.value[idx][:, None] - a.value[idx][None, :]) <= a.matrix(t) + 1e-9)
        D = a.matrix(t)
        assert np.all(D[:, None, :] <= D[:, :, None] + D[None, :, :] + 1e-8)
    assert b.params["n_iter"] <= H + 1


def test_tiger_backward_equals_iteration():
    tree = enumerate_histories(tiger(), horizon=3)
    a = history_bisimulation_metric(tree)
    b = history_bisimulation_metric(tree, solver="iteration", transport="dual")
    for t in range(3):
        assert np.allclose(a.matrix(t), b.matrix(t), atol=1e-8, rtol=0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), m=st.integers(1, 5), n=st.integers(1, 5))
def test_wasserstein_matches_the_1d_closed_form(seed, m, n):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=m), rng.normal(size=n)
    p, q = rng.dirichlet(np.ones(m)), rng.dirichlet(np.ones(n))
    cost = np.abs(x[:, None] - y[None, :])
    ref = wasserstein_distance(x, y, p, q)
    assert wasserstein(p, q, cost) == pytest.approx(ref, abs=1e-8)
    assert wasserstein(p, q, cost, form="dual") == pytest.approx(ref, abs=1e-8)


def test_bad_input():
    tree = enumerate_histories(tiger(), horizon=2)
    with pytest.raises(InvalidArgumentError, match="solver"):
        history_bisimulation_metric(tree, solver="lp")
    with pytest.raises(InvalidArgumentError, match="policy must have shape"):
        history_bisimulation_metric(tree, policy=np.ones((2, 3)) / 3)
    with pytest.raises(InvalidArgumentError, match="equal length"):
        history_bisimulation_metric(tree).distance(0, 1)
    with pytest.raises(InvalidArgumentError, match="max_histories"):
        enumerate_histories(tiger(), horizon=8, max_histories=1000)
    with pytest.raises(InvalidArgumentError, match="horizon"):
        enumerate_histories(tiger(), horizon=0)
    with pytest.raises(InvalidArgumentError, match="POMDP"):
        enumerate_histories("tiger", horizon=2)
    with pytest.raises(InvalidArgumentError, match="same positive mass"):
        wasserstein(np.array([1.0]), np.array([0.5]), np.zeros((1, 1)))
    with pytest.raises(InvalidArgumentError, match="cost has shape"):
        wasserstein(np.array([1.0]), np.array([1.0]), np.zeros((2, 1)))
    with pytest.raises(InvalidArgumentError, match="non-negative"):
        wasserstein(np.array([1.0]), np.array([1.0]), -np.ones((1, 1)))
