"""from_gymnasium option and table checks (issue 17, item 8)."""

import pytest

from theory_rl.envs import from_gymnasium
from theory_rl.errors import InvalidArgumentError, InvalidModelError

gymnasium = pytest.importorskip("gymnasium")


class _Space:
    def __init__(self, n):
        self.n = n


class _Env:
    def __init__(self, table):
        self.P = table
        self.observation_space = _Space(len(table))
        self.action_space = _Space(1)


def test_fractional_next_state_is_refused_not_truncated():
    table = {0: {0: [(1.0, 1.5, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, False)]}}
    with pytest.raises(InvalidModelError, match=r"env.unwrapped.P\[0\]\[0\]\[0\] = \(1.0, 1.5, 0.0, False\)"):
        from_gymnasium(_Env(table))
    table[0][0] = [(1.0, 1.0, 0.0, False)]  # an integral float is a state index
    assert from_gymnasium(_Env(table)).n_states == 2


def test_unknown_environment_id():
    with pytest.raises(InvalidArgumentError, match="NoSuchEnv-v0"):
        from_gymnasium("NoSuchEnv-v0")
