"""from_gymnasium: reading toy-text P tables."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from theory_rl.envs import cliff_walking, from_gymnasium
from theory_rl.errors import DependencyNotInstalled, InvalidArgumentError, InvalidModelError

gym = pytest.importorskip("gymnasium")


def _make(*ids, **kwargs):
    """The first registered id among ``ids`` (versions differ between gymnasium releases)."""
    for env_id in ids:
        if env_id in gym.envs.registry:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return gym.make(env_id, **kwargs)
    pytest.skip(f"none of {ids} is registered in gymnasium {gym.__version__}")


def _table_kernel(env):
    """Independent dense reading of the P table (no absorbing conversion)."""
    base = env.unwrapped
    S, A = base.observation_space.n, base.action_space.n
    P = np.zeros((S, A, S))
    R = np.zeros((S, A))
    for s in range(S):
        for a in range(A):
            for p, t, r, _ in base.P[s][a]:
                P[s, a, t] += p
                R[s, a] += p * r
    return P, R


@pytest.mark.parametrize(
    ("ids", "kwargs", "shape"),
    [
        (("FrozenLake-v1",), {}, (16, 4)),
        (("FrozenLake-v1",), {"is_slippery": False}, (16, 4)),
        (("FrozenLake-v1",), {"map_name": "8x8"}, (64, 4)),
        (("FrozenLake8x8-v1",), {"is_slippery": False}, (64, 4)),
        (("Taxi-v3", "Taxi-v4"), {}, (500, 6)),
        (("CliffWalking-v1", "CliffWalking-v0"), {}, (48, 4)),
    ],
)
def test_toy_text_envs_import(ids, kwargs, shape):
    env = _make(*ids, **kwargs)
    m = from_gymnasium(env, gamma=0.95)
    S, A = shape
    assert (m.n_states, m.n_actions) == shape and m.gamma == 0.95
    P_tab, R_tab = _table_kernel(env)
    P = m.to_dense().P
    terminal = np.zeros(S, bool)
    for s in range(S):
        for a in range(A):
            for _, t, _, done in env.unwrapped.P[s][a]:
                terminal[t] |= bool(done)
    assert terminal.any()
    # non-terminal rows: the table, duplicates summed, expected rewards
    np.testing.assert_allclose(P[~terminal], P_tab[~terminal], atol=1e-15)
    np.testing.assert_allclose(m.R[~terminal], R_tab[~terminal], atol=1e-12)
    # terminal states: absorbing, reward 0
    for t in np.flatnonzero(terminal):
        np.testing.assert_array_equal(P[t, :, t], 1.0)
        np.testing.assert_array_equal(m.R[t], 0.0)
    np.testing.assert_allclose(m.d0, env.unwrapped.initial_state_distrib)


def test_frozen_lake_details():
    m = from_gymnasium(_make("FrozenLake-v1"), gamma=0.99)
    # slippery: LEFT from the start cell hits the wall twice (left, up) and slides down once
    np.testing.assert_allclose(m.P[0, 0, [0, 4]], [2 / 3, 1 / 3])
    # holes (5, 7, 11, 12) and the goal (15) are terminal: absorbing, zero reward
    for t in (5, 7, 11, 12, 15):
        np.testing.assert_array_equal(m.P[t, :, t], 1.0)
        np.testing.assert_array_equal(m.R[t], 0.0)
    # reward +1 is paid on entering the goal: from 14, RIGHT (2) reaches 15 w.p. 1/3
    assert m.R[14, 2] == pytest.approx(1 / 3)
    np.testing.assert_array_equal(m.d0, np.eye(16)[0])


def test_frozen_lake_deterministic_optimal_value():
    # Non-slippery 4x4: the shortest safe path takes 6 moves, reward 1 on the last one,
    # so v*(start) = gamma^5 (with gamma^0 for the first move).
    from theory_rl.tabular import policy_iteration

    m = from_gymnasium(_make("FrozenLake-v1", is_slippery=False), gamma=0.9)
    sol = policy_iteration(m, tol=1e-10)
    assert sol.v[0] == pytest.approx(0.9**5, abs=1e-9)


def test_cliff_walking_matches_builtin():
    # gymnasium's CliffWalking and cliff_walking() agree on every state an agent can occupy.
    m = from_gymnasium(_make("CliffWalking-v1", "CliffWalking-v0"), gamma=0.99)
    ours = cliff_walking(gamma=0.99)
    occupiable = np.ones(48, bool)
    occupiable[37:47] = False
    np.testing.assert_array_equal(m.P[occupiable], ours.P[occupiable])
    np.testing.assert_array_equal(m.R[occupiable], ours.R[occupiable])
    np.testing.assert_array_equal(m.d0, ours.d0)


def test_accepts_env_id_string_and_sparse_flag():
    m = from_gymnasium("FrozenLake-v1", gamma=0.9)
    assert m.n_states == 16
    s = from_gymnasium("FrozenLake-v1", gamma=0.9, sparse=True)
    assert s.is_sparse
    np.testing.assert_array_equal(s.to_dense().P, m.P)
    with pytest.raises(InvalidArgumentError, match="sparse"):
        from_gymnasium("FrozenLake-v1", sparse="no")


class _FakeSpace:
    def __init__(self, n):
        self.n = n


class _FakeEnv:
    """A 3-state toy env: 0 -> 1 (reward 1), 1 -> 2 terminating (reward 5) or back to 0."""

    def __init__(self, table=None):
        self.observation_space = _FakeSpace(3)
        self.action_space = _FakeSpace(2)
        self.P = table or {
            0: {0: [(1.0, 1, 1.0, False)], 1: [(0.5, 0, 0.0, False), (0.5, 0, 2.0, False)]},
            1: {0: [(0.25, 2, 5.0, True), (0.75, 0, -1.0, False)], 1: [(1.0, 1, 0.0, False)]},
            2: {0: [(1.0, 0, 100.0, False)], 1: [(1.0, 1, 100.0, False)]},
        }

    @property
    def unwrapped(self):
        return self


def test_termination_convention_on_custom_table():
    m = from_gymnasium(_FakeEnv(), gamma=0.5)
    P = m.P
    np.testing.assert_array_equal(P[0, 1], [1.0, 0.0, 0.0])  # duplicate outcomes summed
    assert m.R[0, 1] == pytest.approx(1.0)  # 0.5*0 + 0.5*2
    np.testing.assert_allclose(P[1, 0], [0.75, 0.0, 0.25])  # terminating transition keeps its target
    assert m.R[1, 0] == pytest.approx(0.25 * 5 - 0.75)  # terminal reward counted on entry
    np.testing.assert_array_equal(P[2], [[0, 0, 1], [0, 0, 1]])  # table rows of 2 overridden
    np.testing.assert_array_equal(m.R[2], 0.0)
    np.testing.assert_allclose(m.d0, 1 / 3)  # no initial_state_distrib: uniform


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({0: {0: [(1.0, 0)], 1: [(1.0, 0, 0, False)]}}, r"P\[0\]\[0\]\[0\]"),
        ({0: {0: [(1.0, 7, 0.0, False)], 1: [(1.0, 0, 0, False)]}}, "next_state 7"),
        ({0: {0: [(1.0, 0, 0.0, False)]}}, "action 1"),
        ({0: {0: [(0.5, 0, 0.0, False)], 1: [(1.0, 0, 0, False)]}}, r"P\[0, 0, :\] sums to 0.5"),
    ],
)
def test_malformed_tables(table, match):
    env = _FakeEnv()
    env.observation_space = _FakeSpace(1)
    env.P = table
    with pytest.raises(InvalidModelError, match=match):
        from_gymnasium(env)


def test_env_without_table():
    class NoTable:
        pass

    with pytest.raises(InvalidModelError, match="env"):
        from_gymnasium(NoTable())
    env = _FakeEnv()
    env.observation_space = _FakeSpace(4)
    with pytest.raises(InvalidModelError, match="observation_space"):
        from_gymnasium(env)


def test_missing_gymnasium(monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # makes `import gymnasium` fail
    with pytest.raises(DependencyNotInstalled, match=r"theory_rl\[gym\]"):
        from_gymnasium(_FakeEnv())
