"""Reference values in closed form, derived by hand, for the solvers the published tables do not
cover (soft VI, MDPO, backward induction, relative value iteration)."""

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp

from theory_rl import envs, tabular
from theory_rl.errors import ConvergenceWarning
from theory_rl.models import FiniteMDP


def single_state(rewards, gamma):
    A = len(rewards)
    return FiniteMDP(np.ones((1, A, 1)), np.asarray(rewards, float)[None, :], gamma)


@pytest.mark.parametrize("tau", [0.1, 1.0, 5.0])
def test_soft_value_iteration_single_state(tau):
    # One state, A self-loops: v = tau log sum_a exp((r_a + gamma v)/tau)  =>  v = tau LSE(r/tau) / (1 - gamma).
    r = np.array([0.0, 0.5, 1.0])
    sol = tabular.soft_value_iteration(single_state(r, 0.9), temperature=tau, tol=1e-12)
    assert sol.v[0] == pytest.approx(tau * logsumexp(r / tau) / 0.1, abs=1e-9)
    np.testing.assert_allclose(sol.policy[0], np.exp(r / tau) / np.exp(r / tau).sum(), atol=1e-9)


@pytest.mark.parametrize("t, K", [(0.3, 5), (1.0, 12)])
def test_mdpo_single_state_closed_form(t, K):
    # One state: Q^pi(a) = r_a + gamma V^pi, the shift cancels in the normalisation, so
    # pi_K(a) ∝ exp(t K r_a) from the uniform start.
    r = np.array([0.2, 0.7, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fixed K on purpose
        sol = tabular.mirror_descent_policy_optimization(single_state(r, 0.8), step_size=t, max_iter=K, tol=1e-15)
    expected = np.exp(t * K * r) / np.exp(t * K * r).sum()
    np.testing.assert_allclose(sol.policy[0], expected, atol=1e-12)
    assert sol.v[0] == pytest.approx(expected @ r / 0.2, abs=1e-12)


def test_backward_induction_shortest_paths():
    # Deterministic 3x4 grid, -1 per step, absorbing goal, gamma = 1: with H >= 5 epochs,
    # v_0(s) = -(Manhattan distance to the goal).
    mdp = envs.gridworld(3, 4, gamma=0.99).replace(gamma=1.0, horizon=8)
    sol = tabular.backward_induction(mdp)
    r, c = np.divmod(np.arange(12), 4)
    np.testing.assert_array_equal(sol.v[0], -((2 - r) + (3 - c)).astype(float))


def test_relative_value_iteration_forest_gain():
    # forest(3) with p = 0 never burns: cutting at the oldest stand pays r2 = 2 and restarts at
    # age 0, so the cycle 0 -> 1 -> 2 -> cut has gain 2/3; waiting forever at age 2 pays r1 = 4
    # each step (gain 4), which is optimal.
    mdp = envs.forest(3, p=0.0, gamma=0.9)
    sol = tabular.relative_value_iteration(mdp, tol=1e-12)
    assert sol.gain == pytest.approx(4.0, abs=1e-10)
    assert sol.policy[2] == 0  # wait at the oldest age
