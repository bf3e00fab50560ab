"""envs.gems (MAMQL's grid game, re-created) and envs.from_pettingzoo (sampled tabulation)."""

import numpy as np
import pytest

from theory_rl import envs
from theory_rl.errors import InvalidArgumentError
from theory_rl.games import MarkovGame


def _index(rows_cols, p0, p1, mask, G):
    C = rows_cols[0] * rows_cols[1]
    return ((p0 * C) + p1) * 2**G + mask


def test_gems_dynamics_and_rewards_by_hand():
    g = envs.gems(slip=0.0)
    assert isinstance(g, MarkovGame) and g.shape == (324, 5, 5)
    start = _index((3, 3), 0, 8, 3, 2)
    assert g.initial_distribution[start] == 1.0
    # agent 0 moves right (0,0)->(0,1), agent 1 moves up (2,2)->(1,2): no gem, deterministic
    nxt = _index((3, 3), 1, 5, 3, 2)
    assert g.P[start, 4, 1, nxt] == 1.0 and g.R[:, start, 4, 1].tolist() == [0.0, 0.0]
    # from (0,1) agent 0 moves right onto the contested gem at (0,2): +1 to it, -0.5 to the other
    s = _index((3, 3), 1, 8, 3, 2)
    assert g.R[:, s, 4, 0].tolist() == [1.0, -0.5]
    assert g.P[s, 4, 0, _index((3, 3), 2, 8, 2, 2)] == 1.0  # gem 0 gone (bit 0 cleared)
    # both enter the shared gem at (2,0) together: both collect it
    s = _index((3, 3), 3, 7, 3, 2)
    assert g.R[:, s, 2, 3].tolist() == [0.5, 0.5]  # each is a collector; neither is "the other"


def test_gems_slip_spreads_probability_and_bad_arguments_are_named():
    g = envs.gems(slip=0.5)
    row = g.P[0, 0, 0]
    assert abs(row.sum() - 1.0) < 1e-12 and (row > 0).sum() > 1
    for kwargs, word in [({"slip": 1.5}, "slip"), ({"gems": [(5, 0, 1.0, 0.0)]}, r"gems\[0\]"),
                         ({"gems": [(0, 0, 1.0, 0.0), (0, 0, 1.0, 0.0)]}, "distinct"),
                         ({"starts": [(0, 0)]}, "starts"), ({"n_rows": 0}, "n_rows"), ({"gems": []}, "gems")]:
        with pytest.raises(InvalidArgumentError, match=word):
            envs.gems(**kwargs)


def test_from_pettingzoo_tabulates_rock_paper_scissors():
    rps = pytest.importorskip("pettingzoo.classic.rps_v2", exc_type=ImportError)
    g = envs.from_pettingzoo(rps.parallel_env(max_cycles=10), n_samples=3000, seed=0)
    assert g.n_players == 2 and g.n_actions == (3, 3) and g.n_states == 10 and g.is_zero_sum
    # the reward is rock-paper-scissors in every state; the next state records the moves played
    rps_payoff = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])
    for s in range(g.n_states):
        assert np.array_equal(g.R[0, s], rps_payoff)
    assert np.allclose(g.P.max(axis=-1), 1.0)  # deterministic: the same next state every time
    again = envs.from_pettingzoo(rps.parallel_env(max_cycles=10), n_samples=3000, seed=0)
    assert np.array_equal(again.P, g.P)


def test_from_pettingzoo_refuses_what_it_cannot_read():
    with pytest.raises(InvalidArgumentError, match="ParallelEnv"):
        envs.from_pettingzoo(object())
    with pytest.raises(InvalidArgumentError, match="n_samples"):
        envs.from_pettingzoo(object(), n_samples=0)
