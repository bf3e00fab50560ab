"""RiverSwim and the DFR chain: optimal values by brute force over all deterministic policies."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from theory_rl.envs import chain, river_swim
from theory_rl.tabular import policy_iteration, value_iteration


def _brute_force(mdp):
    """max over all A^S deterministic policies of the exactly solved v_pi (plain numpy)."""
    S, A = mdp.n_states, mdp.n_actions
    P, R = np.asarray(mdp.P), np.asarray(mdp.R)
    best_v, best_pi = None, None
    all_v = []
    for pi in itertools.product(range(A), repeat=S):
        pi = np.array(pi)
        v = np.linalg.solve(np.eye(S) - mdp.gamma * P[np.arange(S), pi], R[np.arange(S), pi])
        all_v.append(v)
        if best_v is None or v.sum() > best_v.sum():
            best_v, best_pi = v, pi
    upper = np.max(all_v, axis=0)
    # an optimal deterministic policy is optimal in every state at once (Puterman 1994, Thm 6.2.10)
    np.testing.assert_allclose(best_v, upper, atol=1e-10)
    return best_v, best_pi


@pytest.mark.parametrize(
    "mdp",
    [
        # Strehl & Littman (2008) RiverSwim, Osband et al. (2013, arXiv:1306.0940) parameters
        river_swim(),
        river_swim(6, gamma=0.99),
        river_swim(5, gamma=0.5),
        # Dearden, Friedman & Russell (1998) chain
        chain(),
        chain(gamma=0.9),
        chain(5, gamma=0.5, slip=0.2),
        chain(6, gamma=0.95, slip=0.4),
    ],
    ids=["river6-0.95", "river6-0.99", "river5-0.5", "chain5-0.99", "chain5-0.9", "chain5-0.5", "chain6-0.95-0.4"],
)
def test_policy_iteration_equals_brute_force(mdp):
    v_star, pi_star = _brute_force(mdp)
    sol = policy_iteration(mdp, tol=1e-10)
    np.testing.assert_allclose(sol.v, v_star, atol=1e-8)
    vi = value_iteration(mdp, tol=1e-8)
    np.testing.assert_allclose(vi.v, v_star, atol=1e-8)


def test_river_swim_optimal_policy_swims_right():
    # With gamma = 0.95 the small left reward (0.005 per step, at most 0.1 discounted) loses to the
    # right end's reward 1: the optimal policy swims right in every state.
    v_star, pi_star = _brute_force(river_swim())
    np.testing.assert_array_equal(pi_star, np.ones(6, dtype=int))
    assert v_star[0] > 0.005 / (1 - 0.95)


def test_chain_optimal_policy_advances():
    # Dearden et al. (1998): with gamma = 0.99 the optimal policy always takes action a (advance);
    # the myopic action b (reward 2) is the trap.
    mdp = chain()
    v_star, pi_star = _brute_force(mdp)
    np.testing.assert_array_equal(pi_star, np.zeros(5, dtype=int))
    S = mdp.n_states
    always_b = np.linalg.solve(np.eye(S) - mdp.gamma * np.asarray(mdp.P)[:, 1], np.asarray(mdp.R)[:, 1])
    assert v_star[0] > always_b[0] + 1.0
