"""random_mdp, garnet and the vectorised samplers behind them."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from theory_rl.envs import garnet, random_mdp
from theory_rl.envs._common import sample_distinct
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP


def _same(m1: FiniteMDP, m2: FiniteMDP) -> bool:
    P1 = m1.P.toarray() if m1.is_sparse else np.asarray(m1.P)
    P2 = m2.P.toarray() if m2.is_sparse else np.asarray(m2.P)
    return np.array_equal(P1, P2) and np.array_equal(m1.R, m2.R) and m1.gamma == m2.gamma


# ----------------------------------------------------------------------------- random_mdp
def test_random_mdp_dense_shape_and_validity():
    m = random_mdp(7, 3, seed=0, gamma=0.8)
    assert isinstance(m, FiniteMDP) and not m.is_sparse
    assert m.P.shape == (7, 3, 7) and m.R.shape == (7, 3) and m.gamma == 0.8
    np.testing.assert_allclose(m.P.sum(axis=2), 1.0, atol=1e-12)
    assert (m.P > 0).all()  # Dirichlet(1) rows have full support almost surely
    assert (m.R >= 0).all() and (m.R <= 1).all()


@pytest.mark.parametrize("k", [1, 2, 5, 9, 10])
def test_random_mdp_sparse_exact_nnz_distinct_sorted(k):
    S, A = 10, 4
    m = random_mdp(S, A, seed=3, nnz_per_row=k)
    assert m.is_sparse and m.P.shape == (S * A, S)
    assert m.nnz == S * A * k
    assert np.array_equal(np.diff(m.P.indptr), np.full(S * A, k))
    cols = m.P.indices.reshape(S * A, k)
    assert (np.diff(cols, axis=1) > 0).all()  # distinct and sorted
    np.testing.assert_allclose(np.asarray(m.P.sum(axis=1)).ravel(), 1.0, atol=1e-12)


def test_random_mdp_seed_reproduces_and_differs():
    for kw in ({}, {"nnz_per_row": 3}):
        a = random_mdp(12, 2, seed=42, **kw)
        b = random_mdp(12, 2, seed=42, **kw)
        c = random_mdp(12, 2, seed=43, **kw)
        assert _same(a, b)
        assert not _same(a, c)
        g1 = random_mdp(12, 2, seed=np.random.default_rng(5), **kw)
        g2 = random_mdp(12, 2, seed=np.random.default_rng(5), **kw)
        assert _same(g1, g2)


def test_random_mdp_generator_is_advanced():
    rng = np.random.default_rng(0)
    a = random_mdp(5, 2, seed=rng)
    b = random_mdp(5, 2, seed=rng)
    assert not _same(a, b)


def test_random_mdp_dense_and_sparse_forms_agree():
    m = random_mdp(30, 3, seed=1, nnz_per_row=4)
    d = m.to_dense()
    assert not d.is_sparse
    np.testing.assert_array_equal(d.P.reshape(90, 30), m.P.toarray())
    np.testing.assert_array_equal(d.R, m.R)
    # full support sparse == a valid dense model
    full = random_mdp(6, 2, seed=2, nnz_per_row=6)
    assert full.nnz == 6 * 2 * 6 and (full.to_dense().P > 0).all()


def test_random_mdp_reward_range_and_alpha():
    m = random_mdp(20, 3, seed=0, reward_range=(-2.0, -1.0))
    assert (m.R >= -2).all() and (m.R <= -1).all()
    const = random_mdp(4, 2, seed=0, reward_range=(3.0, 3.0))
    assert (const.R == 3.0).all()
    # tiny alpha: near-deterministic rows, still valid
    peaked = random_mdp(50, 2, seed=0, alpha=0.001)
    assert peaked.P.max(axis=2).mean() > 0.85  # k * alpha = 0.05
    flat = random_mdp(50, 2, seed=0, alpha=1e4)
    np.testing.assert_allclose(flat.P, 1 / 50, atol=5e-3)
    sparse_peaked = random_mdp(50, 2, seed=0, alpha=0.01, nnz_per_row=5)
    np.testing.assert_allclose(np.asarray(sparse_peaked.P.sum(axis=1)).ravel(), 1.0, atol=1e-12)


def test_random_mdp_dirichlet_mean():
    # E[P(s'|s,a)] = 1/k under a symmetric Dirichlet on k points.
    m = random_mdp(20_000, 1, seed=11, nnz_per_row=4, alpha=0.5)
    w = m.P.data.reshape(-1, 4)
    np.testing.assert_allclose(w.mean(axis=0), 0.25, atol=0.01)
    # Var of one coordinate of Dir(alpha,...,alpha) on k points: (k-1)/(k^2 (k alpha + 1))
    np.testing.assert_allclose(w[:, 0].var(), 3 / (16 * 3), rtol=0.1)


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        ((0, 2), {}, "n_states"),
        ((2, 0), {}, "n_actions"),
        ((2.5, 2), {}, "n_states"),
        ((True, 2), {}, "n_states"),
        ((3, 2), {"nnz_per_row": 0}, "nnz_per_row"),
        ((3, 2), {"nnz_per_row": 4}, "nnz_per_row"),
        ((3, 2), {"nnz_per_row": 1.5}, "nnz_per_row"),
        ((3, 2), {"alpha": 0.0}, "alpha"),
        ((3, 2), {"alpha": float("nan")}, "alpha"),
        ((3, 2), {"reward_range": (1.0, 0.0)}, "reward_range"),
        ((3, 2), {"reward_range": 1.0}, "reward_range"),
        ((3, 2), {"reward_range": (0.0, float("inf"))}, "reward_range"),
        ((3, 2), {"seed": "abc"}, "seed"),
        ((3, 2), {"gamma": 1.0}, "gamma"),
        ((3, 2), {"gamma": -0.1}, "gamma"),
    ],
)
def test_random_mdp_bad_arguments(args, kwargs, name):
    with pytest.raises((InvalidArgumentError, InvalidModelError), match=name):
        random_mdp(*args, **kwargs)


# ----------------------------------------------------------------------------- garnet
@pytest.mark.parametrize("b", [1, 2, 3, 8])
def test_garnet_structure(b):
    S, A = 8, 3
    m = garnet(S, A, b, seed=7, gamma=0.95)
    assert m.is_sparse and m.P.shape == (S * A, S) and m.gamma == 0.95
    assert np.array_equal(np.diff(m.P.indptr), np.full(S * A, b))
    cols = m.P.indices.reshape(S * A, b)
    assert (np.diff(cols, axis=1) > 0).all()
    np.testing.assert_allclose(np.asarray(m.P.sum(axis=1)).ravel(), 1.0, atol=1e-12)
    assert (m.R >= 0).all() and (m.R <= 1).all()
    if b == 1:
        assert (m.P.data == 1.0).all()


def test_garnet_probabilities_are_uniform_spacings():
    # Gaps of sorted uniforms: each gap ~ Beta(1, b-1), mean 1/b.
    m = garnet(3000, 1, 3, seed=0)
    w = m.P.data.reshape(-1, 3)
    np.testing.assert_allclose(w.mean(axis=0), 1 / 3, atol=0.02)
    assert stats.kstest(w[:, 1], stats.beta(1, 2).cdf).pvalue > 1e-3


def test_garnet_seed_and_dense_agree():
    a, b = garnet(15, 2, 4, seed=9), garnet(15, 2, 4, seed=9)
    assert _same(a, b)
    assert not _same(a, garnet(15, 2, 4, seed=10))
    d = a.to_dense()
    np.testing.assert_array_equal(d.P.reshape(30, 15), a.P.toarray())


@pytest.mark.parametrize(
    ("args", "name"),
    [((0, 2, 1), "n_states"), ((4, 0, 1), "n_actions"), ((4, 2, 0), "branching"), ((4, 2, 5), "branching")],
)
def test_garnet_bad_arguments(args, name):
    with pytest.raises(InvalidArgumentError, match=name):
        garnet(*args)


# ----------------------------------------------------------------------------- sampler
@pytest.mark.parametrize(("n", "k"), [(20, 2), (5, 2), (9, 4), (20, 18), (6, 1)])
def test_sample_distinct_is_uniform_over_subsets(n, k):
    # (20, 2): rejection regime; (5, 2), (9, 4): Floyd; (20, 18): random keys; (6, 1): k = 1.
    subsets = {c: i for i, c in enumerate(itertools.combinations(range(n), k))}
    rows = 200 * len(subsets)
    out = sample_distinct(np.random.default_rng(123), rows, k, n)
    assert out.shape == (rows, k)
    assert (np.diff(out, axis=1) > 0).all()
    counts = np.bincount([subsets[tuple(r)] for r in out.tolist()], minlength=len(subsets))
    assert stats.chisquare(counts).pvalue > 1e-4


def test_sample_distinct_full_support():
    out = sample_distinct(np.random.default_rng(0), 3, 5, 5)
    np.testing.assert_array_equal(out, np.tile(np.arange(5), (3, 1)))


# ----------------------------------------------------------------------------- size
def test_large_sparse_random_builds_fast():
    # brief: S = 100,000, A = 10, 10 nonzeros per row in about a second (generous bound for CI)
    t0 = time.perf_counter()
    m = random_mdp(100_000, 10, seed=0, nnz_per_row=10)
    elapsed = time.perf_counter() - t0
    assert m.nnz == 10_000_000 and m.P.shape == (1_000_000, 100_000)
    assert elapsed < 5.0, elapsed
    assert isinstance(m.P, sp.csr_matrix)
