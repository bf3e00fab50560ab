"""The tabular MA-AIRL baseline: its discriminator gradient, that it imitates, and bad inputs."""

import numpy as np
import pytest

from theory_rl.errors import InvalidArgumentError
from theory_rl.games import MarkovGame, joint_occupancy, ma_airl, soft_equilibrium


def _setup():
    rng = np.random.default_rng(0)
    game = MarkovGame(rng.dirichlet(np.ones(3), size=(3, 2, 2)), rng.uniform(-1, 1, (2, 3, 2, 2)), 0.8)
    expert = soft_equilibrium(game, temperature=1.0).policies
    return game, expert, joint_occupancy(game, expert)


def test_ma_airl_moves_toward_the_expert_and_its_discriminator_loss_falls():
    game, expert, rho = _setup()
    res = ma_airl(game, rho, temperature=1.0, max_iter=150)
    uniform = sum(0.5 * np.abs(e - 0.5).sum() for e in expert)
    tv = sum(0.5 * np.abs(e - p).sum() for e, p in zip(expert, res.policies))
    assert tv < 0.5 * uniform
    assert res.history["loss"][-1] < res.history["loss"][0]
    assert res.potentials.shape == (2, 3) and res.rewards[1].shape == (3, 2)


def test_ma_airl_is_deterministic_and_validates():
    game, _, rho = _setup()
    a, b = ma_airl(game, rho, temperature=1.0, max_iter=3), ma_airl(game, rho, temperature=1.0, max_iter=3)
    np.testing.assert_array_equal(a.rewards[0], b.rewards[0])
    for kwargs, word in [({"step_size": 0.0}, "step_size"), ({"n_steps": 0}, "n_steps"), ({"max_iter": 0}, "max_iter"),
                         ({"temperature": -1.0}, "temperature")]:
        with pytest.raises(InvalidArgumentError, match=word):
            ma_airl(game, rho, **{"temperature": 1.0, **kwargs})
