"""forest, river_swim and chain."""

from __future__ import annotations

import time

import mdptoolbox.example
import numpy as np
import pytest

from theory_rl.envs import chain, forest, river_swim
from theory_rl.errors import InvalidArgumentError, InvalidModelError


# ----------------------------------------------------------------------------- forest
@pytest.mark.parametrize("S", [2, 3, 4, 10, 57])
@pytest.mark.parametrize(("r1", "r2", "p"), [(4, 2, 0.1), (7.5, 1.25, 0.3), (1, 1, 0.0), (3, 5, 1.0)])
def test_forest_matches_pymdptoolbox(S, r1, r2, p):
    # mdptoolbox.example.forest returns P[a, s, s'] (A, S, S); ours is P[s, a, s'].
    P_ref, R_ref = mdptoolbox.example.forest(S=S, r1=r1, r2=r2, p=p)
    for sparse in (False, True):
        m = forest(S, r1=r1, r2=r2, p=p, sparse=sparse)
        assert m.is_sparse == sparse
        P = m.to_dense().P
        np.testing.assert_array_equal(P, np.transpose(P_ref, (1, 0, 2)))
        np.testing.assert_array_equal(m.R, R_ref)
    assert m.action_names == ("wait", "cut")


def test_forest_matches_pymdptoolbox_sparse_form():
    S = 1500
    Psp, R_ref = mdptoolbox.example.forest(S=S, is_sparse=True)
    m = forest(S)
    assert m.is_sparse  # sparse=None: CSR above 1000 states
    for a in range(2):
        np.testing.assert_array_equal(m.P[a::2].toarray(), Psp[a].toarray())
    np.testing.assert_array_equal(m.R, R_ref)


def test_forest_defaults_and_sparse_threshold():
    m = forest()
    assert m.n_states == 3 and m.n_actions == 2 and m.gamma == 0.9 and not m.is_sparse
    assert not forest(1000).is_sparse and forest(1001).is_sparse
    assert forest(5, sparse=True).is_sparse and not forest(2000, sparse=False).is_sparse


def test_forest_million_states_is_fast():
    forest(10)  # warm imports
    t0 = time.perf_counter()
    m = forest(1_000_000)
    elapsed = time.perf_counter() - t0
    assert m.is_sparse and m.n_states == 1_000_000 and m.nnz == 3_000_000
    assert elapsed < 3.0, elapsed  # "well under a second" locally; generous for loaded CI


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_states": 1}, "n_states"),
        ({"n_states": 3.0}, "n_states"),
        ({"p": 1.5}, "p"),
        ({"p": -0.1}, "p"),
        ({"r1": float("nan")}, "r1"),
        ({"r2": "2"}, "r2"),
        ({"sparse": "yes"}, "sparse"),
        ({"gamma": 1.0}, "gamma"),
    ],
)
def test_forest_bad_arguments(kwargs, name):
    with pytest.raises((InvalidArgumentError, InvalidModelError), match=name):
        forest(**kwargs)


# ----------------------------------------------------------------------------- river swim
def test_river_swim_definition():
    # Osband, Russo & Van Roy (2013), arXiv:1306.0940, Figure 2.
    m = river_swim()
    P = m.P
    assert P.shape == (6, 2, 6) and m.gamma == 0.95
    for s in range(6):
        np.testing.assert_array_equal(P[s, 0], np.eye(6)[max(s - 1, 0)])
    np.testing.assert_allclose(P[0, 1, :2], [0.4, 0.6])
    for s in range(1, 5):
        np.testing.assert_allclose(P[s, 1, s - 1 : s + 2], [0.05, 0.6, 0.35])
    np.testing.assert_allclose(P[5, 1, 4:], [0.4, 0.6])
    R = np.zeros((6, 2))
    R[0, 0], R[5, 1] = 0.005, 1.0
    np.testing.assert_array_equal(m.R, R)
    np.testing.assert_array_equal(m.d0, np.eye(6)[0])
    assert m.action_names == ("left", "right")


@pytest.mark.parametrize("n", [2, 3, 12])
def test_river_swim_sizes(n):
    m = river_swim(n, gamma=0.9)
    assert m.P.shape == (n, 2, n)
    np.testing.assert_allclose(m.P.sum(axis=2), 1.0, atol=1e-12)
    assert m.R[n - 1, 1] == 1.0 and m.R[0, 0] == 0.005


@pytest.mark.parametrize(("kwargs", "name"), [({"n_states": 1}, "n_states"), ({"gamma": 1.5}, "gamma")])
def test_river_swim_bad_arguments(kwargs, name):
    with pytest.raises((InvalidArgumentError, InvalidModelError), match=name):
        river_swim(**kwargs)


# ----------------------------------------------------------------------------- chain
def test_chain_definition():
    # Dearden, Friedman & Russell (1998), Figure 1: a advances (10 at the end), b returns (2); slip 0.2.
    m = chain()
    P, R = m.P, m.R
    assert P.shape == (5, 2, 5) and m.gamma == 0.99
    for s in range(5):
        ahead = min(s + 1, 4)
        expect_a = 0.8 * np.eye(5)[ahead] + 0.2 * np.eye(5)[0]
        expect_b = 0.8 * np.eye(5)[0] + 0.2 * np.eye(5)[ahead]
        np.testing.assert_allclose(P[s, 0], expect_a, atol=1e-15)
        np.testing.assert_allclose(P[s, 1], expect_b, atol=1e-15)
    np.testing.assert_allclose(R[:4, 0], 0.2 * 2)
    np.testing.assert_allclose(R[4, 0], 0.8 * 10 + 0.2 * 2)
    np.testing.assert_allclose(R[:4, 1], 0.8 * 2)
    np.testing.assert_allclose(R[4, 1], 0.8 * 2 + 0.2 * 10)
    np.testing.assert_array_equal(m.d0, np.eye(5)[0])


def test_chain_without_slip_is_deterministic():
    m = chain(4, slip=0.0)
    assert set(np.unique(m.P)) <= {0.0, 1.0}
    np.testing.assert_array_equal(m.R[:, 0], [0, 0, 0, 10])
    np.testing.assert_array_equal(m.R[:, 1], [2, 2, 2, 2])
    swapped = chain(4, slip=1.0)
    np.testing.assert_array_equal(swapped.P[:, 0], m.P[:, 1])
    np.testing.assert_array_equal(swapped.R[:, 0], m.R[:, 1])


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"n_states": 1}, "n_states"), ({"slip": 1.2}, "slip"), ({"slip": None}, "slip")]
)
def test_chain_bad_arguments(kwargs, name):
    with pytest.raises(InvalidArgumentError, match=name):
        chain(**kwargs)
