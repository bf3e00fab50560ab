"""Low-rank MDPs and contrastive (NCE) estimation: validation, equivalence, rates, spans."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.learning import (
    LowRankMDP,
    contrastive_counts,
    contrastive_fit,
    feature_span_angles,
    random_low_rank_mdp,
)
from theory_rl.tabular import backward_induction


def _sample(m: LowRankMDP, h: int, n: int, k: int, noise: np.ndarray, rng: np.random.Generator):
    """``n`` positives at step ``h`` from uniform (s, a) and ``k`` noise negatives each."""
    S, A = m.n_states, m.n_actions
    s = rng.integers(0, S, n)
    a = rng.integers(0, A, n)
    cdf = m.P[h, s, a].cumsum(axis=1)
    nxt = np.minimum((rng.random((n, 1)) > cdf).sum(axis=1), S - 1)
    pos = np.stack([s, a, nxt], axis=1)
    neg = np.stack([np.repeat(s, k), np.repeat(a, k), rng.choice(S, n * k, p=noise)], axis=1)
    return contrastive_counts(pos, neg, S, A)


# ----------------------------------------------------------------------------------- the model
def test_validation_names_the_entry():
    m = random_low_rank_mdp(3, 2, rank=2, horizon=2, seed=0)
    mu = np.array(m.mu)
    mu[1, 0, 2] += 0.5
    with pytest.raises(InvalidModelError, match=r"P\[1, \d, \d, :\] .* sums to"):
        LowRankMDP(phi=m.phi, mu=mu, R=m.R, d0=m.d0)
    mu = np.array(m.mu)
    mu[0, :, 0] -= 5.0
    mu[0, :, 1] += 5.0
    with pytest.raises(InvalidModelError, match=r"P\[0, 0, 0, 0\] = .* < 0"):
        LowRankMDP(phi=m.phi, mu=mu, R=m.R, d0=m.d0)
    R = np.array(m.R)
    R[1, 2, 0] = 1.5
    with pytest.raises(InvalidModelError, match=r"R\[1, 2, 0\]"):
        LowRankMDP(phi=m.phi, mu=m.mu, R=R, d0=m.d0)
    with pytest.raises(InvalidModelError, match="mu has shape"):
        LowRankMDP(phi=m.phi, mu=m.mu[:, :1], R=m.R, d0=m.d0)
    with pytest.raises(InvalidArgumentError, match="rank"):
        random_low_rank_mdp(3, 2, rank=0, horizon=2)


def test_generator_is_seeded_and_low_rank():
    a, b = random_low_rank_mdp(6, 3, rank=2, horizon=3, seed=5), random_low_rank_mdp(6, 3, rank=2, horizon=3, seed=5)
    assert np.array_equal(a.P, b.P)
    assert not np.array_equal(a.P, random_low_rank_mdp(6, 3, rank=2, horizon=3, seed=6).P)
    for h in range(3):
        assert np.linalg.matrix_rank(a.P[h].reshape(18, 6), tol=1e-10) == 2


@given(S=st.integers(2, 5), A=st.integers(1, 3), d=st.integers(1, 4), H=st.integers(1, 4), seed=st.integers(0, 10**6))
def test_backward_induction_equals_the_time_augmented_finite_mdp(S, A, d, H, seed):
    m = random_low_rank_mdp(S, A, rank=d, horizon=H, seed=seed)
    q = m.optimal_q()
    v_aug = backward_induction(m.to_finite_mdp()).v[0]
    assert np.allclose(v_aug[:S], q[0].max(axis=1), atol=1e-10)
    # the greedy policy's exact value is V* (Bellman optimality of backward induction)
    assert np.allclose(m.policy_values(q.argmax(axis=2))[0], q[0].max(axis=1), atol=1e-10)


# ------------------------------------------------------------------------------------ NCE
def test_tabular_nce_minimiser_converges_at_rate_n_to_minus_half():
    """Empirical minimiser -> P/(k P^-); the renormalised model's L1 error fits a slope ~ -1/2."""
    m = random_low_rank_mdp(4, 2, rank=2, horizon=1, seed=3)
    noise = np.array([0.1, 0.2, 0.3, 0.4])
    rng = np.random.default_rng(0)
    ns = np.array([500, 2000, 8000, 32000, 128000])
    errors = []
    for n in ns:
        reps = []
        for _ in range(4):
            pos, neg = _sample(m, 0, int(n), 3, noise, rng)
            fit = contrastive_fit(pos, neg, noise, parameterisation="tabular")
            reps.append(np.abs(fit.P - m.P[0]).sum(axis=2).max())
        errors.append(np.mean(reps))
    slope = np.polyfit(np.log(ns), np.log(errors), 1)[0]
    assert -0.65 < slope < -0.35, (slope, errors)
    # the score itself estimates P / (k P^-)
    pos, neg = _sample(m, 0, 200000, 3, noise, rng)
    f = contrastive_fit(pos, neg, noise, parameterisation="tabular").score
    assert np.allclose(f, m.P[0] / (3 * noise), atol=0.08)


def test_bilinear_nce_recovers_the_feature_span():
    """Rank-d fit: principal angles to span(phi*) shrink with the data, model error too."""
    m = random_low_rank_mdp(6, 3, rank=2, horizon=1, seed=1)
    noise = np.full(6, 1 / 6)
    rng = np.random.default_rng(2)
    angles, errs = [], []
    for n in (1000, 100000):
        pos, neg = _sample(m, 0, n, 1, noise, rng)
        fit = contrastive_fit(pos, neg, noise, rank=2, seed=0)
        angles.append(feature_span_angles(fit.phi, m.phi[0]).max())
        errs.append(np.abs(fit.P - m.P[0]).sum(axis=2).max())
    assert angles[1] < 0.1 < angles[0] or angles[1] < angles[0] / 3, angles
    assert errs[1] < 0.1 and errs[1] < errs[0], errs
    # the factorisation is consistent: phi rows on the simplex, mu rows distributions
    assert np.allclose(fit.phi.sum(axis=2), 1) and np.allclose(fit.mu.sum(axis=1), 1)
    assert (fit.phi >= 0).all() and np.allclose((fit.phi.reshape(18, -1) @ fit.mu).reshape(6, 3, 6), fit.P)


def test_bilinear_full_rank_matches_the_tabular_minimiser():
    """With d = S (the score matrix's full column rank) the bilinear loss reaches the closed form's."""
    m = random_low_rank_mdp(3, 2, rank=3, horizon=1, seed=4)
    noise = np.full(3, 1 / 3)
    pos, neg = _sample(m, 0, 3000, 2, noise, np.random.default_rng(1))
    tab = contrastive_fit(pos, neg, noise, parameterisation="tabular")
    bil = contrastive_fit(pos, neg, noise, rank=3, seed=0, max_iter=5000)
    assert bil.loss == pytest.approx(tab.loss, abs=1e-5)
    assert np.allclose(bil.P, tab.P, atol=1e-2)


def test_contrastive_options_are_checked():
    pos = np.zeros((2, 1, 2))
    with pytest.raises(InvalidArgumentError, match="parameterisation"):
        contrastive_fit(pos, pos, [0.5, 0.5], parameterisation="neural")
    with pytest.raises(InvalidArgumentError, match="rank"):
        contrastive_fit(pos, pos, [0.5, 0.5])
    with pytest.raises(InvalidModelError, match="noise"):
        contrastive_fit(pos, pos, [1.0, 0.0], parameterisation="tabular")
    with pytest.raises(InvalidModelError, match=r"positives\[0, 1\]"):
        contrastive_counts(np.array([[0, 5, 0]]), np.array([[0, 0, 0]]), 2, 1)


@given(seed=st.integers(0, 10**6), k=st.integers(1, 3))
def test_tabular_minimiser_is_a_minimum_of_the_nce_loss(seed, k):
    """The closed form beats every positive perturbation of the score (cells with both counts)."""
    from theory_rl.learning._contrastive import _nce_loss

    rng = np.random.default_rng(seed)
    m = random_low_rank_mdp(3, 2, rank=2, horizon=1, seed=seed)
    noise = rng.dirichlet(np.ones(3)) * 0.7 + 0.1
    noise /= noise.sum()
    pos, neg = _sample(m, 0, 300, k, noise, rng)
    both = (pos > 0) & (neg > 0)
    f = contrastive_fit(pos, neg, noise, parameterisation="tabular").score
    f = np.where(both, f, 1.0)
    pos, neg = np.where(both, pos, 0.0), np.where(both, neg, 0.0)
    best = _nce_loss(f, pos, neg)
    for _ in range(5):
        g = f * np.exp(0.3 * rng.standard_normal(f.shape))
        assert _nce_loss(g, pos, neg) >= best - 1e-9
