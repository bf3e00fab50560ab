"""The width separation: Q* and RCSL's policy need constant width, the Bellman image of a
constant-width member needs width linear in |S| (exact lower bound and a fitted network)."""

from __future__ import annotations

import numpy as np
import pytest

from theory_rl.errors import InvalidArgumentError
from theory_rl.offline import (
    TrajectoryDataset,
    local_extrema,
    rcsl_evaluate,
    rcsl_fit,
    width_separation,
    width_separation_mdp,
)
from theory_rl.tabular import backward_induction

pytest.importorskip("torch")


def test_the_mdp_has_linear_q_star_and_rcsl_is_optimal():
    n = 12
    m = width_separation_mdp(n, seed=1)
    # Q* by backward induction over the two steps: Q*_1 = a, Q*_0 = 2a + 1
    q = backward_induction(m).q[0]
    np.testing.assert_allclose(q[:n], np.tile([1.0, 3.0], (n, 1)), atol=1e-9)
    np.testing.assert_allclose(q[n:2 * n], np.tile([0.0, 1.0], (n, 1)), atol=1e-9)
    # RCSL on all 4n trajectories conditioned on the best return 3 is optimal
    P = m.transition_matrix.toarray().reshape(2 * n + 1, 2, 2 * n + 1) if hasattr(m.transition_matrix, "toarray") \
        else np.asarray(m.transition_matrix).reshape(2 * n + 1, 2, 2 * n + 1)
    states, actions, rewards = [], [], []
    for s in range(n):
        s1 = int(P[s, 0].argmax())
        for a0 in (0, 1):
            for a1 in (0, 1):
                states.append([s, s1, 2 * n])
                actions.append([a0, a1])
                rewards.append([2.0 * a0, 1.0 * a1])
    d = TrajectoryDataset(states, actions, rewards, n_states=2 * n + 1, n_actions=2, terminated=np.ones(4 * n, bool))
    assert rcsl_evaluate(rcsl_fit(d), m, horizon=2).value == pytest.approx(3.0)


def test_local_extrema_counts_alternations():
    assert local_extrema([0, 1, 2, 3]) == 0
    assert local_extrema([0, 2, 1, 3, 0]) == 3
    with pytest.raises(InvalidArgumentError, match="1-D"):
        local_extrema(np.zeros((2, 2)))


def test_widths_bellman_grows_linearly_rcsl_stays_constant():
    small, big = width_separation(8, n_steps=300, device="cpu"), width_separation(32, n_steps=300, device="cpu")
    for r in (small, big):
        assert r.bellman_lower <= r.bellman_width <= r.bellman_upper
        assert r.rcsl_width == 1
    # lower bounds (proofs) grow about like 2n/3
    assert big.bellman_lower >= 3 * small.bellman_lower
    assert big.bellman_lower >= 0.5 * 32
