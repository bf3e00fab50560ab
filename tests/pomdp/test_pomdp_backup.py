import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl.checks import pomdps
from theory_rl.pomdp import alpha_value, point_backup, project


def _backup_by_enumeration(model, alpha, b):
    """Independent oracle: the Bellman backup of V = max alpha.b at b by explicit belief updates."""
    T = model.transition_dense()
    best = -np.inf
    for a in range(model.n_actions):
        q = b @ model.R[:, a]
        pred = b @ T[:, a, :]
        for o in range(model.n_observations):
            joint = pred * model.O[a, :, o]
            p = joint.sum()
            if p > 0:
                q += model.gamma * p * alpha_value(alpha, joint / p)
        best = max(best, q)
    return best


@given(pomdps(), st.integers(1, 6), st.integers(0, 2**31))
def test_point_backup_equals_the_bellman_backup_and_projections(model, K, seed):
    rng = np.random.default_rng(seed)
    S = model.n_states
    alpha = rng.normal(size=(K, S))
    B = rng.dirichlet(np.ones(S), size=5)
    res = point_backup(model, alpha, B)
    # value at b is the exact Bellman backup there
    for n, b in enumerate(B):
        assert abs(res.values[n] - _backup_by_enumeration(model, alpha, b)) < 1e-9
    np.testing.assert_allclose((res.alpha * B).sum(axis=1), res.values, atol=1e-10)
    np.testing.assert_allclose(res.q.max(axis=1), res.values, atol=1e-12)
    # the vector is R_a + a sum of projections, so it is a lower bound of HV at every other belief
    G = project(model, alpha)
    others = rng.dirichlet(np.ones(S), size=4)
    for b in others:
        hv = _backup_by_enumeration(model, alpha, b)
        assert (res.alpha @ b).max() <= hv + 1e-9
    assert G.shape == (model.n_actions, model.n_observations, K, S)
    # dense and sparse layouts agree
    other = model.to_dense() if model.is_sparse else model.to_sparse()
    res2 = point_backup(other, alpha, B)
    np.testing.assert_allclose(res2.values, res.values, atol=1e-12)


def _dirichlet_pomdp(rng, S, A, n_obs):
    """A dense POMDP with Dirichlet(1) rows of ``T`` and ``O``, normal rewards, ``gamma = 0.9``."""
    from theory_rl.models import POMDP

    T = rng.dirichlet(np.ones(S), size=(S, A))
    O = rng.dirichlet(np.ones(n_obs), size=(A, S))  # noqa: E741
    return POMDP(T, O, rng.normal(size=(S, A)), 0.9)


def test_projection_matches_its_formula(rng):
    S, A, n_obs = 4, 2, 3
    model = _dirichlet_pomdp(rng, S, A, n_obs)
    T, O = model.T, model.O  # noqa: E741
    alpha = rng.normal(size=(5, S))
    G = project(model, alpha)
    for a in range(A):
        for o in range(n_obs):
            expected = 0.9 * T[:, a, :] @ np.diag(O[a, :, o]) @ alpha.T
            np.testing.assert_allclose(G[a, o], expected.T, atol=1e-12)


def test_large_batch_is_chunked_consistently(rng):
    from theory_rl.pomdp import _backup

    S, A, n_obs = 6, 3, 4
    model = _dirichlet_pomdp(rng, S, A, n_obs)
    alpha = rng.normal(size=(9, S))
    B = rng.dirichlet(np.ones(S), size=50)
    full = point_backup(model, alpha, B)
    old = _backup._BLOCK
    try:
        _backup._BLOCK = 64  # forces chunks of a single belief
        chunked = point_backup(model, alpha, B)
    finally:
        _backup._BLOCK = old
    np.testing.assert_array_equal(full.alpha, chunked.alpha)


def test_beliefs_with_disjoint_supports_on_a_sparse_deterministic_model(rng):
    import scipy.sparse as sp

    from theory_rl.models import POMDP

    S, A, n_obs = 40, 3, 2
    T = np.zeros((S, A, S))
    T[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, size=(S, A))] = 1.0
    O = rng.dirichlet(np.ones(n_obs), size=(A, S))  # noqa: E741
    model = POMDP(sp.csr_matrix(T.reshape(S * A, S)), O, rng.normal(size=(S, A)), 0.9)
    alpha = rng.normal(size=(6, S))
    B = np.eye(S)[:12]  # point masses: the per-belief scoring path
    res = point_backup(model, alpha, B)
    for n, b in enumerate(B):
        assert res.values[n] == pytest.approx(_backup_by_enumeration(model, alpha, b), abs=1e-10)
    dense = point_backup(model.to_dense(), alpha, B)
    np.testing.assert_allclose(dense.alpha, res.alpha, atol=1e-12)
