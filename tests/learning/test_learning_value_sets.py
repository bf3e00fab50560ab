"""Model-based vs model-free value sets (Young et al. 2023): inclusion, truth, shrinkage, two ways."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.learning import factored_model_class, value_sets
from theory_rl.learning._value_sets import _optimal_q
from theory_rl.models import FiniteMDP
from theory_rl.tabular import value_iteration


def _instance(seed: int, n_factors: int, n_actions: int, parents=None):
    cls = factored_model_class(n_factors, n_actions, parents=parents)
    rng = np.random.default_rng(seed)
    truth = cls.next_states(np.stack([rng.integers(0, c, (1, n_actions)) for c in cls.n_choices], axis=1))[0]
    reward = np.round(rng.random((cls.n_states, n_actions)), 2)
    return cls, truth, reward, rng


def _keys(qs):
    return {q.tobytes() for q in qs}


@given(seed=st.integers(0, 10**6), n_actions=st.integers(1, 3), gamma=st.sampled_from([0.5, 0.9]), n_data=st.integers(1, 10))
def test_mb_is_inside_mf_both_contain_q_star_and_mb_shrinks(seed, n_actions, gamma, n_data):
    cls, truth, reward, rng = _instance(seed, 2, n_actions)
    S = cls.n_states
    s = rng.integers(0, S, n_data)
    a = rng.integers(0, n_actions, n_data)
    D = np.stack([s, a, truth[s, a]], axis=1)
    q_true = np.round(_optimal_q(truth[None], reward, gamma)[0], 8) + 0.0
    prev_mb = prev_mf = None
    for n in range(0, n_data + 1):
        res = value_sets(cls, reward, D[:n], gamma=gamma)
        mb, mf = _keys(res.mb), _keys(res.mf)
        assert res.mb_subset_of_mf and mb <= mf
        assert q_true.tobytes() in mb and q_true.tobytes() in mf
        if prev_mb is not None:
            assert mb <= prev_mb and mf <= prev_mf  # more data never enlarges either set
        prev_mb, prev_mf = mb, mf


def test_the_inclusion_is_strict_on_some_instances():
    """The theorem's point: Bellman consistency keeps values only models that contradict D have.
    With a sparse goal reward (r = 1 in state 3) and 3 transitions, 14 of 20 instances are strict
    (measured); with dense random rewards only 1 of 20, since Q*_M then rarely coincide."""
    strict = 0
    reward = np.zeros((4, 2))
    reward[3] = 1.0
    for seed in range(20):
        cls, truth, _, rng = _instance(seed, 2, 2)
        s = rng.integers(0, 4, 3)
        a = rng.integers(0, 2, 3)
        res = value_sets(cls, reward, np.stack([s, a, truth[s, a]], 1), gamma=0.9)
        strict += len(res.mf) > len(res.mb)
    assert strict >= 8, strict


@given(seed=st.integers(0, 10**6), n_data=st.integers(0, 8))
def test_enumeration_and_constraint_propagation_agree(seed, n_data):
    cls, truth, reward, rng = _instance(seed, 2, 2, parents=((0, 1), (1,)))
    s = rng.integers(0, 4, n_data)
    a = rng.integers(0, 2, n_data)
    D = np.stack([s, a, truth[s, a]], axis=1)
    e = value_sets(cls, reward, D, gamma=0.8, method="enumerate")
    p = value_sets(cls, reward, D, gamma=0.8, method="propagate")
    assert e.n_consistent == p.n_consistent
    assert np.array_equal(e.mb, p.mb) and np.array_equal(e.mf, p.mf)


def test_vectorised_q_star_matches_tabular_value_iteration():
    cls, _, reward, rng = _instance(3, 2, 3)
    choices = np.stack([rng.integers(0, 4, (6, 3)) for _ in range(2)], axis=1)
    nxt = cls.next_states(choices)
    q = _optimal_q(nxt, reward, 0.9)
    for m in range(len(nxt)):
        P = np.zeros((4, 3, 4))
        P[np.arange(4)[:, None], np.arange(3)[None, :], nxt[m]] = 1.0
        ref = value_iteration(FiniteMDP(P=P, R=reward, gamma=0.9), tol=1e-10)
        assert np.allclose(q[m], ref.q, atol=1e-8)


def test_next_states_reads_the_truth_tables():
    cls = factored_model_class(2, 1, parents=((0, 1), (1,)))
    # factor 0 := x0 XOR x1 (truth table rows 00, 10, 01, 11 -> 0, 1, 1, 0 -> 0b0110 = 6); factor 1 := not x1 (0b01 = 1)
    nxt = cls.next_states(np.array([[[6], [1]]]))[0, :, 0]
    assert nxt.tolist() == [2, 3, 1, 0]


def test_options_and_data_are_checked():
    cls = factored_model_class(2, 2)
    r = np.zeros((4, 2))
    with pytest.raises(InvalidArgumentError, match="method"):
        value_sets(cls, r, np.zeros((0, 3), dtype=int), method="lp")
    with pytest.raises(InvalidModelError, match="transitions"):
        value_sets(cls, r, np.array([[0, 2, 0]]))
    with pytest.raises(InvalidModelError, match="reward"):
        value_sets(cls, np.zeros((4, 3)), np.zeros((0, 3), dtype=int))
    with pytest.raises(InvalidModelError, match="parents"):
        factored_model_class(2, 2, parents=((0,), (2,)))
