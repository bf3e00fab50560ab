"""Set functions: the properties the guarantees assume, greedy's factor, lazy = vectorised greedy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl.errors import InvalidArgumentError
from theory_rl.submodular import (
    FacilityLocation,
    GaussianEntropy,
    LogDet,
    Modular,
    SetFunction,
    WeightedCoverage,
    all_subsets,
    curvature,
    greedy_maximize,
    is_monotone,
    is_normalized,
    is_submodular,
)


def _functions(seed: int, n: int = 6) -> list[SetFunction]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    K = np.exp(-((X[:, None] - X[None]) ** 2).sum(-1))
    return [
        WeightedCoverage(rng.random((n, 8)) < 0.3, weights=rng.random(8)),
        FacilityLocation(rng.random((5, n))),
        LogDet(K, noise=0.5),
        GaussianEntropy(K, noise=0.2),
        Modular(rng.random(n)),
    ]


class Squared(SetFunction):
    """|X|^2: monotone, supermodular (not submodular)."""

    n = 4

    def _values(self, masks):
        return masks.sum(axis=1).astype(float) ** 2


@pytest.mark.parametrize("seed", [0, 1])
def test_shipped_functions_are_normalised_monotone_submodular(seed):
    for F in _functions(seed):
        assert is_normalized(F), F
        assert is_monotone(F), F
        assert is_submodular(F), F
        assert is_submodular(F, n_samples=500, seed=seed), F


def test_the_checks_reject_what_they_should():
    assert not is_submodular(Squared())
    assert not is_submodular(Squared(), n_samples=2000, seed=0)
    assert is_monotone(Squared())
    assert not is_monotone(GaussianEntropy(0.01 * np.eye(3), noise=0.01))
    shifted = Modular([1.0, 2.0])
    shifted._values = lambda masks: masks @ np.array([1.0, 2.0]) + 1.0
    assert not is_normalized(shifted)
    with pytest.raises(InvalidArgumentError, match="n_samples"):
        is_submodular(Modular(np.ones(20)))


def test_gains_values_and_the_incremental_state_agree():
    for F in _functions(3):
        masks = all_subsets(F.n)
        values = F.value(masks)
        gains = F.gains(masks)
        grown = masks[:, None, :] | np.eye(F.n, dtype=bool)[None]
        expected = F.value(grown.reshape(-1, F.n)).reshape(len(masks), F.n) - values[:, None]
        np.testing.assert_allclose(gains, expected, atol=1e-10)
        order = np.random.default_rng(0).integers(0, F.n, size=(7, F.n + 2))
        state = F.start(7)
        total = np.zeros(7)
        for j in range(order.shape[1]):
            peeks = [F.peek(state[b:b + 1], order[b, j]) for b in range(7)]
            added = F.add(state, order[:, j])
            np.testing.assert_allclose(added, peeks, atol=1e-10)
            total += added
        visited = np.zeros((7, F.n), dtype=bool)
        visited[np.arange(7)[:, None], order] = True
        np.testing.assert_allclose(total, F.value(visited), atol=1e-9)


def test_logdet_is_the_gaussian_information_gain():
    """log det(I + K/s2) = H(y_X) - H(y_X | f): the entropy difference, an independent formula."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 5))
    K = A @ A.T
    X = [0, 2, 3]
    h_y = 0.5 * np.linalg.slogdet(2 * math.pi * math.e * (K[np.ix_(X, X)] + 0.3 * np.eye(3)))[1]
    h_noise = 0.5 * 3 * math.log(2 * math.pi * math.e * 0.3)
    assert LogDet(K, noise=0.3).value(X) == pytest.approx(h_y - h_noise, rel=1e-12)
    assert GaussianEntropy(K, noise=0.3).value(X) == pytest.approx(h_y, rel=1e-12)


def test_curvature_values():
    assert curvature(Modular([1.0, 3.0])) == 0.0
    assert curvature(WeightedCoverage([[1, 1], [1, 0]])) == 1.0
    F = WeightedCoverage([[1, 1, 0], [0, 1, 1]])  # gains of the last element: 1 of 2
    assert curvature(F) == pytest.approx(0.5)


def _opt(F: SetFunction, k: int) -> float:
    return max(F.value(list(c)) for c in itertools.combinations(range(F.n), k))


@given(seed=st.integers(0, 10_000), k=st.integers(1, 4))
def test_greedy_attains_the_nemhauser_factor_and_lazy_equals_vectorised(seed, k):
    for F in _functions(seed, n=7)[:3]:
        lazy = greedy_maximize(F, k=k)
        full = greedy_maximize(F, k=k, lazy=False)
        assert lazy.value == pytest.approx(full.value, abs=1e-9)
        assert lazy.value == pytest.approx(F.value(lazy.selected), abs=1e-9)
        assert lazy.n_evaluations <= full.n_evaluations
        c = curvature(F)
        factor = (1 - math.exp(-c)) / c if c > 1e-12 else 1.0
        assert lazy.value >= factor * _opt(F, k) - 1e-9


def test_greedy_is_optimal_for_modular_and_can_be_suboptimal_otherwise():
    assert greedy_maximize(Modular([3.0, 1.0, 2.0]), k=2).selected.tolist() == [0, 2]
    # the classic bad case: greedy takes the big set first and loses to two disjoint ones
    F = WeightedCoverage([[0, 1, 1, 0, 1, 1], [1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]])
    res = greedy_maximize(F, k=2)
    assert (res.value, _opt(F, 2)) == (5.0, 6.0)
    assert res.value >= (1 - 1 / math.e) * _opt(F, 2)
