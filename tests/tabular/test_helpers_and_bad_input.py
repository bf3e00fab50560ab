"""Public helpers and the errors every solver raises for bad input."""

import numpy as np
import pytest

from theory_rl import tabular
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP


@pytest.fixture
def mdp():
    rng = np.random.default_rng(0)
    return FiniteMDP(rng.dirichlet(np.ones(3), size=(3, 2)), rng.random((3, 2)), 0.9)


def test_helpers_by_hand(mdp):
    v = np.array([1.0, 2.0, 3.0])
    q = tabular.q_values(mdp, v)
    np.testing.assert_allclose(q, mdp.R + 0.9 * np.einsum("sat,t->sa", mdp.P, v))
    np.testing.assert_allclose(tabular.bellman_operator(mdp, v), q.max(axis=1))
    np.testing.assert_array_equal(tabular.greedy_policy(mdp, v), q.argmax(axis=1))
    assert tabular.bellman_residual(mdp, v) == pytest.approx(np.max(np.abs(q.max(axis=1) - v)))
    np.testing.assert_allclose(tabular.bellman_operator(mdp, v, policy=[1, 0, 1]), q[[0, 1, 2], [1, 0, 1]])
    stoch = np.array([[0.25, 0.75]] * 3)
    np.testing.assert_allclose(tabular.bellman_operator(mdp, v, policy=stoch), (q * stoch).sum(axis=1))
    pi = np.array([0, 1, 1])
    v_pi = tabular.policy_value(mdp, pi)
    np.testing.assert_allclose(tabular.bellman_operator(mdp, v_pi, policy=pi), v_pi)


def test_masked_actions_are_never_chosen():
    P = np.full((2, 2, 2), 0.5)
    R = np.array([[0.0, 100.0], [0.0, 100.0]])
    mask = np.array([[True, False], [True, True]])
    mdp = FiniteMDP(P, R, 0.9, action_mask=mask)
    for solver in (tabular.value_iteration, tabular.policy_iteration, tabular.modified_policy_iteration,
                   tabular.linear_programming):
        sol = solver(mdp)
        assert sol.policy[0] == 0 and sol.policy[1] == 1, solver.__name__
        assert sol.q[0, 1] == -np.inf
    soft = tabular.soft_value_iteration(mdp, temperature=1.0)
    assert soft.policy[0, 1] == 0.0
    with pytest.raises(InvalidModelError, match=r"policy\[0\] = 1 is an unavailable action"):
        tabular.policy_value(mdp, [1, 1])


@pytest.mark.parametrize(
    "policy, message",
    [
        ([0, 1], r"policy has shape \(2,\), expected \(3,\) or \(3, 2\)"),
        ([0, 2, 1], r"policy\[1\] = 2 is not an action index in \[0, 2\)"),
        ([0, -1, 1], r"policy\[1\] = -1 is not an action index"),
        ([0.5, 1, 0], "must hold integer action indices"),
        ([[0.5, 0.5], [1.0, 0.1], [0, 1]], r"policy\[1, :\] sums to 1.1"),
        ([[0.5, 0.5], [1.2, -0.2], [0, 1]], r"policy\[1, 1\] = -0.2 is negative"),
        ([[0.5, 0.5], [np.nan, 0.5], [0, 1]], r"policy\[1, 0\] is nan"),
    ],
)
def test_bad_policies(mdp, policy, message):
    with pytest.raises(InvalidModelError, match=message):
        tabular.policy_evaluation(mdp, policy)


@pytest.mark.parametrize("tol", [0.0, -1.0, np.nan, np.inf])
def test_bad_tolerance(mdp, tol):
    with pytest.raises(InvalidArgumentError, match="tol"):
        tabular.value_iteration(mdp, tol=tol)


def test_bad_starting_values(mdp):
    with pytest.raises(InvalidModelError, match=r"v0 has shape \(2,\), expected \(3,\)"):
        tabular.value_iteration(mdp, v0=[0.0, 1.0])
    with pytest.raises(InvalidModelError, match=r"v0\[2\] is nan"):
        tabular.modified_policy_iteration(mdp, v0=[0.0, 1.0, np.nan])
    with pytest.raises(InvalidModelError, match=r"v\[0\] is inf"):
        tabular.bellman_residual(mdp, [np.inf, 0, 0])


def test_bad_option_values(mdp):
    with pytest.raises(ValueError, match="variant"):
        tabular.value_iteration(mdp, variant="async")
    with pytest.raises(ValueError, match="stopping"):
        tabular.value_iteration(mdp, stopping="never")
    with pytest.raises(ValueError, match="formulation"):
        tabular.linear_programming(mdp, formulation="both")
    with pytest.raises(InvalidArgumentError, match="temperature"):
        tabular.soft_value_iteration(mdp, temperature=0.0)


def test_solution_to_dict_is_plain_json(mdp):
    import json

    sol = tabular.value_iteration(mdp)
    doc = json.loads(json.dumps(sol.to_dict()))
    assert doc["method"] == "value_iteration" and len(doc["v"]) == 3 and doc["converged"] is True
    assert repr(sol).startswith("Solution(method='value_iteration', converged=True")


def test_gamma_zero_is_one_step(mdp):
    m0 = mdp.replace(gamma=0.0)
    for solver in (tabular.value_iteration, tabular.policy_iteration, tabular.modified_policy_iteration,
                   tabular.linear_programming):
        np.testing.assert_allclose(solver(m0).v, mdp.R.max(axis=1), atol=1e-12)


def test_lp_failure_is_a_solver_error_with_advice():
    from theory_rl.envs import sutton_barto_gridworld
    from theory_rl.errors import SolverError

    with pytest.raises(SolverError, match="ill-conditioned.*use policy_iteration"):
        tabular.linear_programming(sutton_barto_gridworld(gamma=1 - 1e-12))
