"""Game models: validation names the bad entry, size guards fire before allocating, arrays are frozen."""

import numpy as np
import pytest

import theory_rl
from theory_rl.errors import InvalidArgumentError, InvalidModelError, SizeLimitError
from theory_rl.games import MarkovGame, MatrixGame, NormalFormGame


def test_matrix_game_defaults_to_zero_sum_and_is_read_only():
    g = MatrixGame([[1, 2], [3, 4]])
    assert g.zero_sum and g.shape == (2, 2)
    np.testing.assert_array_equal(g.B, -g.A)
    with pytest.raises(ValueError):
        g.A[0, 0] = 5.0
    assert not MatrixGame([[1, 2]], [[1, 2]]).zero_sum
    assert "zero-sum" in repr(g)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([[1.0, np.nan]],), r"A\[0, 1\] is nan"),
        (([[1.0, 2.0]], [[1.0, np.inf]]), r"B\[0, 1\] is inf"),
        (([[1.0, 2.0]], [[1.0], [2.0]]), "B has shape"),
        ((np.zeros((0, 3)),), "at least one action"),
        (([1.0, 2.0],), "2 dimensions"),
        (([["a", "b"]],), "real numbers"),
        (([[1, 2], [3]],), "could not be read"),
    ],
)
def test_matrix_game_rejects_bad_payoffs(args, match):
    with pytest.raises(InvalidModelError, match=match):
        MatrixGame(*args)


def test_normal_form_game_shapes_and_payoffs():
    U = np.random.default_rng(0).standard_normal((3, 2, 3, 4))
    g = NormalFormGame(U)
    assert g.n_players == 3 and g.n_actions == (2, 3, 4)
    xs = [np.full(n, 1.0 / n) for n in g.n_actions]
    np.testing.assert_allclose(g.expected_payoffs(xs), U.reshape(3, -1).mean(axis=1), atol=1e-14)
    dev = g.deviation_payoffs(xs)
    np.testing.assert_allclose(dev[1], U[1].mean(axis=(0, 2)), atol=1e-14)
    np.testing.assert_allclose(dev[2], U[2].mean(axis=(0, 1)), atol=1e-14)
    assert MatrixGame([[1, 2]], [[3, 4]]).to_normal_form().n_actions == (1, 2)


def test_normal_form_game_errors():
    with pytest.raises(InvalidModelError, match=r"expected \(N, A_1, ..., A_N\)"):
        NormalFormGame(np.zeros((3, 2, 2)))
    U = np.zeros((2, 2, 2))
    U[1, 1, 0] = np.nan
    with pytest.raises(InvalidModelError, match=r"payoffs\[1, 1, 0\] is nan"):
        NormalFormGame(U)
    g = NormalFormGame(np.zeros((2, 2, 3)))
    with pytest.raises(InvalidArgumentError, match="sequence of 2"):
        g.expected_payoffs([[0.5, 0.5]])
    with pytest.raises(InvalidArgumentError, match=r"strategies\[1\] has shape"):
        g.expected_payoffs([[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(InvalidArgumentError, match=r"strategies\[0\]\[1\] = -0.5"):
        g.expected_payoffs([[1.5, -0.5], [1, 0, 0]])
    with pytest.raises(InvalidArgumentError, match=r"strategies\[1\] sums to 0.9"):
        g.expected_payoffs([[0.5, 0.5], [0.3, 0.3, 0.3]])


def _kernel(S, shape, rng):
    P = rng.random((S, *shape, S))
    return P / P.sum(axis=-1, keepdims=True)


def test_markov_game_valid_and_zero_sum(rng):
    P = _kernel(3, (2, 4), rng)
    R = rng.standard_normal((3, 2, 4))
    g = MarkovGame.zero_sum(P, R, 0.9, d0=[0.2, 0.3, 0.5])
    assert g.is_zero_sum and g.n_players == 2 and g.n_states == 3 and g.n_actions == (2, 4)
    v = rng.standard_normal(3)
    np.testing.assert_allclose(g.q(v), R + 0.9 * np.einsum("sabt,t->sab", P, v), atol=1e-13)
    three = MarkovGame(_kernel(2, (2, 2, 2), rng), rng.standard_normal((3, 2, 2, 2, 2)), 0.5)
    assert three.n_players == 3 and not three.is_zero_sum
    np.testing.assert_allclose(three.initial_distribution, [0.5, 0.5])
    with pytest.raises(ValueError):
        g.P[0, 0, 0, 0] = 1.0


def test_markov_game_names_the_bad_entry(rng):
    P = _kernel(3, (2, 2), rng)
    R = rng.standard_normal((2, 3, 2, 2))
    bad = P.copy()
    bad[2, 1, 0, :] *= 0.97
    with pytest.raises(InvalidModelError, match=r"P\[2, 1, 0, :\] sums to 0.97"):
        MarkovGame(bad, R, 0.9)
    bad = P.copy()
    bad[1, 0, 1, 2] = -0.1
    with pytest.raises(InvalidModelError, match=r"P\[1, 0, 1, 2\] = -0.1 is negative"):
        MarkovGame(bad, R, 0.9)
    with pytest.raises(InvalidModelError, match="P has shape"):
        MarkovGame(P[:, :, :1], R, 0.9)
    with pytest.raises(InvalidModelError, match=r"R has shape"):
        MarkovGame(P, R[0], 0.9)
    with pytest.raises(InvalidModelError, match="gamma"):
        MarkovGame(P, R, 1.0)
    with pytest.raises(InvalidModelError, match="d0 has shape"):
        MarkovGame(P, R, 0.9, d0=[1.0])
    with pytest.raises(InvalidModelError, match=r"d0\[0, :\] sums to 0.5"):
        MarkovGame(P, R, 0.9, d0=[0.25, 0.25, 0.0])
    R_bad = R.copy()
    R_bad[1, 2, 0, 1] = np.inf
    with pytest.raises(InvalidModelError, match=r"R\[1, 2, 0, 1\] is inf"):
        MarkovGame(P, R_bad, 0.9)


def test_size_guard_fires_before_allocating():
    previous = theory_rl.set_max_bytes(10_000)
    try:
        # a zero-stride view of 10^12 entries: converting it would need 8 TB
        huge = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(10**6, 10**6), strides=(0, 0))
        with pytest.raises(SizeLimitError, match="A of shape"):
            MatrixGame(huge)
        S = 30
        P = np.lib.stride_tricks.as_strided(np.full(1, 1.0 / S), shape=(S, 3, 3, S), strides=(0, 0, 0, 0))
        with pytest.raises(SizeLimitError, match="dense P of shape"):
            MarkovGame(P, np.zeros((2, S, 3, 3)), 0.9)
    finally:
        theory_rl.set_max_bytes(previous)


def test_games_is_a_public_subpackage():
    import theory_rl.games as games

    assert "games" in theory_rl.__all__
    assert set(games.__all__) <= set(dir(games))


def test_sparse_kernel_equals_dense_and_names_bad_entries(rng):
    import scipy.sparse as sp

    P = _kernel(3, (2, 2), rng)
    R = rng.standard_normal((3, 2, 2))
    flat = sp.csr_matrix(P.reshape(-1, 3))
    dense, sparse = MarkovGame.zero_sum(P, R, 0.9), MarkovGame.zero_sum(flat, R, 0.9)
    assert sparse.is_sparse and not dense.is_sparse
    v = rng.standard_normal(3)
    np.testing.assert_allclose(sparse.q(v), dense.q(v), atol=1e-14)
    np.testing.assert_array_equal(sparse.dense_kernel(), P)
    with pytest.raises(ValueError):
        sparse.P.data[0] = 2.0
    bad = flat.tolil()
    bad[5, 2] = -0.25  # row 5 = (s=1, a=0, b=1)
    with pytest.raises(InvalidModelError, match=r"P\[1, 0, 1, 2\] = -0.25"):
        MarkovGame.zero_sum(bad.tocsr(), R, 0.9)
    short = flat.tolil()
    short[7, :] = short[7, :] * 0.5
    with pytest.raises(InvalidModelError, match=r"P\[1, 1, 1, :\] sums to 0.5"):
        MarkovGame.zero_sum(short.tocsr(), R, 0.9)
    with pytest.raises(InvalidModelError, match="sparse P has shape"):
        MarkovGame.zero_sum(flat[:6], R, 0.9)
    with pytest.raises(InvalidModelError, match="real numbers"):
        MarkovGame.zero_sum(flat.astype(complex), R, 0.9)
