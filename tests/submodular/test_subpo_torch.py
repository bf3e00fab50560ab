"""The torch SubPO on CPU against the exact tabular gradient and the numpy implementation."""

from __future__ import annotations

import numpy as np
import pytest

from theory_rl.envs import chain
from theory_rl.errors import InvalidArgumentError
from theory_rl.submodular import (
    FacilityLocation,
    LogDet,
    WeightedCoverage,
    coverage_gridworld,
    subpo,
    subpo_exact_gradient,
    subpo_torch,
)

pytest.importorskip("torch")


@pytest.mark.parametrize("estimator", ["reward_to_go", "immediate_gain", "additive"])
def test_one_sgd_step_is_the_exact_expected_gradient(estimator):
    mdp = chain(4, slip=0.1)
    F = WeightedCoverage(np.eye(4), weights=[0.0, 1.0, 2.0, 4.0])
    theta0 = 0.5 * np.random.default_rng(0).normal(size=(3, 4, 2))
    res = subpo_torch(mdp, F, horizon=3, estimator=estimator, theta0=theta0, epochs=1, batch_size=200_000, lr=1.0,
                      seed=0, device="cpu")
    exact = subpo_exact_gradient(mdp, F, theta0, horizon=3, estimator=estimator)
    step = res.theta - theta0
    assert np.abs(step - exact).max() < 0.05 * np.abs(exact).max()


@pytest.mark.parametrize("make", [lambda: FacilityLocation(np.random.default_rng(1).random((3, 4))),
                                  lambda: LogDet(np.eye(4) + 0.5, noise=0.5)])
def test_device_and_host_scoring_give_the_exact_gradient(make):
    mdp = chain(4, slip=0.1)
    F = make()
    theta0 = 0.3 * np.random.default_rng(2).normal(size=(2, 4, 2))
    res = subpo_torch(mdp, F, horizon=2, theta0=theta0, epochs=1, batch_size=100_000, seed=1, device="cpu")
    exact = subpo_exact_gradient(mdp, F, theta0, horizon=2)
    assert np.abs(res.theta - theta0 - exact).max() < 0.05 * np.abs(exact).max()


def test_torch_and_numpy_training_reach_similar_coverage():
    mdp, F = coverage_gridworld(4, 4, radius=1, seed=0)
    a = subpo(mdp, F, horizon=6, epochs=60, batch_size=64, lr=2.0, seed=0)
    b = subpo_torch(mdp, F, horizon=6, epochs=60, batch_size=64, lr=2.0, seed=0, device="cpu")
    c = subpo_torch(mdp, F, horizon=6, epochs=60, batch_size=64, lr=0.1, seed=0, device="cpu", optimizer="adam")
    assert abs(a.value - b.value) < 0.1 * a.value
    assert c.value > b.history["mean_return"][0] + 1.0


def test_bad_options():
    with pytest.raises(InvalidArgumentError, match="device"):
        subpo_torch(chain(3), WeightedCoverage(np.eye(3)), horizon=2, device="nope")
    with pytest.raises(InvalidArgumentError, match="theta0"):
        subpo_torch(chain(3), WeightedCoverage(np.eye(3)), horizon=2, theta0=np.zeros((1, 3, 2)))
