"""Spectral PSR learning: exact on exact data (any POMDP), consistent on samples (error falls
with n), unbiased importance weighting, seeded sampler with the model's law."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import POMDP
from theory_rl.pomdp._forward import enumerate_trajectories, trajectory_probability
from theory_rl.pomdp._spectral import empirical_trajectory_table, sample_trajectories, spectral_psr


def random_pomdp(seed, S=3, A=2, O=2):  # noqa: E741
    rng = np.random.default_rng(seed)
    return POMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.dirichlet(np.ones(O), size=(A, S)),
                 np.zeros((S, A)), 0.9)


@given(pomdps(max_states=4, max_observations=3), st.integers(1, 3))
def test_exact_table_gives_exact_probabilities(model, H):
    A, O = model.n_actions, model.n_observations  # noqa: E741
    assume((A * O) ** H <= 2000)
    a, o = enumerate_trajectories(A, O, H)
    p = trajectory_probability(model, a, o)
    psr = spectral_psr(p, n_actions=A, n_observations=O, rank=model.n_states)
    for h in range(H + 1):  # prefixes too, through the learned normalizers
        ah, oh = enumerate_trajectories(A, O, h)
        np.testing.assert_allclose(psr.trajectory_probability(ah, oh), trajectory_probability(model, ah, oh),
                                   atol=1e-9)


def tv_error(model, H, n, seed, policy=None):
    A, O = model.n_actions, model.n_observations  # noqa: E741
    a, o = enumerate_trajectories(A, O, H)
    p = trajectory_probability(model, a, o)
    sa, so = sample_trajectories(model, n_episodes=n, horizon=H, policy=policy, seed=seed)
    table = empirical_trajectory_table(sa, so, n_actions=A, n_observations=O, policy=policy)
    q = spectral_psr(table, n_actions=A, n_observations=O, rank=model.n_states).trajectory_probability(a, o)
    return 0.5 * np.abs(q - p).sum() / A**H  # mean TV over action sequences


def test_error_decreases_with_sample_size():
    model = random_pomdp(0)
    small = np.mean([tv_error(model, 3, 1_000, s) for s in range(4)])
    large = np.mean([tv_error(model, 3, 100_000, s) for s in range(4)])
    # n^{-1/2}: a 100x larger sample should cut the error about 10x; demand at least 4x
    assert large < small / 4
    assert large < 0.02


def test_non_uniform_exploration_policy_is_importance_weighted():
    model = random_pomdp(1)
    policy = np.array([[0.8, 0.2], [0.3, 0.7], [0.5, 0.5]])
    assert tv_error(model, 3, 200_000, 0, policy=policy) < 0.02


def test_sampler_matches_the_model_law_and_is_seeded():
    model = random_pomdp(2)
    a1, o1 = sample_trajectories(model, n_episodes=50_000, horizon=2, seed=7)
    a2, o2 = sample_trajectories(model, n_episodes=50_000, horizon=2, seed=np.random.default_rng(7))
    assert (a1 == a2).all() and (o1 == o2).all()
    table = empirical_trajectory_table(a1, o1, n_actions=2, n_observations=2)
    a, o = enumerate_trajectories(2, 2, 2)
    p = trajectory_probability(model, a, o)
    # each importance-weighted cell has standard deviation <= sqrt(p * A^H / n); 5 sigma
    assert np.all(np.abs(table - p) <= 5 * np.sqrt(p * 4 / 50_000) + 1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"policy": [1.0, 0.0]}, "positive probability"), ({"policy": [0.6, 0.6]}, "sums to"),
     ({"policy": [[0.5, 0.5]]}, "shape")],
)
def test_bad_policy(kwargs, match):
    with pytest.raises(InvalidModelError, match=match):
        sample_trajectories(random_pomdp(0), n_episodes=10, horizon=3, **kwargs)


def test_bad_tables():
    with pytest.raises(InvalidModelError, match="not \\(A\\*O\\)\\^H"):
        spectral_psr(np.ones(5), n_actions=2, n_observations=2, rank=2)
    with pytest.raises(InvalidArgumentError, match="rank"):
        spectral_psr(np.ones(16) / 4, n_actions=2, n_observations=2, rank=0)
    with pytest.raises(InvalidModelError, match="observations"):
        empirical_trajectory_table(np.zeros((2, 2), int), np.full((2, 2), 5), n_actions=2, n_observations=2)
