"""FrozenLake 4x4 (slippery), gamma = 0.99: the optimal value of the start state."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from theory_rl.envs import from_gymnasium
from theory_rl.tabular import linear_programming, policy_iteration, value_iteration

gym = pytest.importorskip("gymnasium")

# Measured (gymnasium 1.4.0, FrozenLake-v1 default 4x4 map, is_slippery=True, gamma = 0.99):
# policy_iteration's v*(0) = 0.542025932000473, cross-checked by a dense numpy linear solve of the
# optimal policy (same digits), value_iteration, linear_programming and pymdptoolbox's
# PolicyIteration (0.542025932000473). The often-quoted "about 0.54" is this number.
FROZEN_LAKE_4X4_V0 = 0.542025932000473


@pytest.fixture(scope="module")
def mdp():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    return from_gymnasium(env, gamma=0.99)


def test_start_state_value_policy_iteration_and_linear_solve(mdp):
    sol = policy_iteration(mdp, tol=1e-10)
    assert sol.converged
    assert abs(sol.v[0] - FROZEN_LAKE_4X4_V0) < 1e-6
    # independent check: plain numpy solve of (I - gamma P_pi) v = r_pi for the returned policy
    S = mdp.n_states
    P_pi = np.asarray(mdp.P)[np.arange(S), sol.policy]
    r_pi = np.asarray(mdp.R)[np.arange(S), sol.policy]
    v = np.linalg.solve(np.eye(S) - mdp.gamma * P_pi, r_pi)
    assert abs(v[0] - FROZEN_LAKE_4X4_V0) < 1e-6
    # and v is a fixed point of the Bellman optimality operator
    q = np.asarray(mdp.R) + mdp.gamma * np.einsum("sat,t->sa", np.asarray(mdp.P), v)
    np.testing.assert_allclose(q.max(axis=1), v, atol=1e-10)


def test_start_state_value_other_solvers(mdp):
    assert abs(value_iteration(mdp, tol=1e-9).v[0] - FROZEN_LAKE_4X4_V0) < 1e-6
    assert abs(linear_programming(mdp).v[0] - FROZEN_LAKE_4X4_V0) < 1e-6


def test_start_state_value_pymdptoolbox(mdp):
    mdptoolbox_mdp = pytest.importorskip("mdptoolbox.mdp")
    ref = mdptoolbox_mdp.PolicyIteration(np.transpose(np.asarray(mdp.P), (1, 0, 2)), np.asarray(mdp.R), 0.99)
    ref.run()
    assert abs(ref.V[0] - FROZEN_LAKE_4X4_V0) < 1e-6
