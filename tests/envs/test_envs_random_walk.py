"""Sutton & Barto's random walk (Examples 6.2 and 7.1)."""

import numpy as np
import pytest

from theory_rl import envs, tabular
from theory_rl.errors import InvalidArgumentError


@pytest.mark.parametrize("n", [1, 5, 19])
@pytest.mark.parametrize("left_reward", [0.0, -1.0])
def test_values_of_the_random_policy_are_the_gamblers_ruin_probabilities(n, left_reward):
    walk = envs.random_walk(n, left_reward=left_reward)
    v = tabular.policy_evaluation(walk, np.full((n + 2, 2), 0.5), tol=1e-12).v
    i = np.arange(1, n + 1)
    np.testing.assert_allclose(v[1:-1], i / (n + 1) + (1 - i / (n + 1)) * left_reward, atol=1e-9)
    assert v[0] == v[-1] == 0.0


def test_layout_start_and_registry():
    walk = envs.random_walk(5)
    assert walk.n_states == 7 and walk.is_shortest_path
    assert walk.d0[3] == 1.0 and walk.terminal.tolist() == [True] + [False] * 5 + [True]
    assert envs.make("random_walk:n_states=19,left_reward=-1").R[1, 0] == -1.0


def test_bad_arguments_name_themselves():
    for kwargs, name in (({"n_states": 0}, "n_states"), ({"left_reward": float("nan")}, "left_reward"),
                         ({"gamma": 1.5}, "gamma")):
        with pytest.raises((InvalidArgumentError, ValueError), match=name):
            envs.random_walk(**kwargs)
