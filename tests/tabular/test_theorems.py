"""(b) The properties the theorems state, on hypothesis models."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl import tabular
from theory_rl.checks import assert_bounds_bracket, finite_mdps
from theory_rl.errors import ConvergenceWarning, SolverError

values = st.builds(
    lambda seed, scale: np.random.default_rng(seed).normal(size=64) * scale,
    st.integers(0, 2**31), st.sampled_from([0.1, 1.0, 100.0]),
)


@given(finite_mdps(masked=True), values, values)
def test_bellman_operator_is_a_gamma_contraction(mdp, u, w):
    u, w = u[: mdp.n_states], w[: mdp.n_states]
    lhs = np.max(np.abs(tabular.bellman_operator(mdp, u) - tabular.bellman_operator(mdp, w)))
    assert lhs <= mdp.gamma * np.max(np.abs(u - w)) * (1 + 1e-12) + 1e-12


@given(finite_mdps(masked=True), values, st.integers(0, 2**31))
def test_bellman_operators_are_monotone(mdp, u, seed):
    u = u[: mdp.n_states]
    w = u + np.abs(np.random.default_rng(seed).normal(size=mdp.n_states))
    assert (tabular.bellman_operator(mdp, w) >= tabular.bellman_operator(mdp, u) - 1e-12).all()
    pi = tabular.greedy_policy(mdp, u)
    assert (tabular.bellman_operator(mdp, w, policy=pi) >= tabular.bellman_operator(mdp, u, policy=pi) - 1e-12).all()


@given(finite_mdps(masked=True), values)
def test_macqueen_bounds_bracket_v_star_from_any_v(mdp, v):
    from theory_rl.tabular import BellmanOperator, certify

    v = v[: mdp.n_states]
    v_star = tabular.policy_iteration(mdp, tol=1e-10).v
    cert = certify(BellmanOperator(mdp), v)
    scale = 1 / (1 - mdp.gamma)
    assert_bounds_bracket(cert.lower, v_star, cert.upper, atol=1e-10 * scale)
    # ... and the greedy policy's value too (it is c*span(T v - v)-optimal).
    v_pi = tabular.policy_value(mdp, cert.policy)
    assert_bounds_bracket(cert.lower, v_pi, v_star, atol=1e-10 * scale)
    # The contraction bound ||v - v*|| <= ||Tv - v|| / (1 - gamma).
    assert np.max(np.abs(v - v_star)) <= tabular.bellman_residual(mdp, v) * scale * (1 + 1e-9) + 1e-10


@given(finite_mdps(), st.sampled_from([1e-2, 1e-5]))
def test_sup_norm_stopping_rule_certifies_greedy_policy(mdp, tol):
    """Puterman Thm 6.3.1: ||v_{n+1} - v_n|| < tol (1-gamma)/(2 gamma) => greedy policy tol-optimal."""
    sol = tabular.value_iteration(mdp, tol=tol, stopping="sup")
    assert sol.history[-1] < tol * (1 - mdp.gamma) / (2 * mdp.gamma) or sol.n_iter == 1
    v_star = tabular.policy_iteration(mdp).v
    assert np.max(v_star - tabular.policy_value(mdp, sol.policy)) <= tol
    # Span stopping never needs more backups than sup stopping (span <= 2 sup).
    assert tabular.value_iteration(mdp, tol=tol).n_iter <= sol.n_iter


@given(finite_mdps())
def test_value_iteration_residuals_contract_geometrically(mdp):
    sol = tabular.value_iteration(mdp, tol=1e-10, stopping="sup")
    h = sol.history
    assert (h[1:] <= mdp.gamma * h[:-1] * (1 + 1e-9) + 1e-13).all()


@given(finite_mdps(masked=True))
def test_policy_iteration_improves_monotonically_and_terminates(mdp):
    values_seen = []

    def record(k, v, residual):
        values_seen.append(v.copy())

    sol = tabular.policy_iteration(mdp, callback=record)
    assert sol.converged
    for a, b in zip(values_seen, values_seen[1:]):
        assert (b >= a - 1e-10 / (1 - mdp.gamma)).all()
    S, A = mdp.n_states, mdp.n_actions
    assert sol.n_iter <= A**S + 1  # finitely many policies, none visited twice


@given(finite_mdps())
def test_mpi_from_default_start_increases_monotonically(mdp):
    """Puterman Thm 6.5.5: with T v0 >= v0, MPI iterates increase to v*."""
    iterates = []
    tabular.modified_policy_iteration(mdp, tol=1e-9, n_eval=3, callback=lambda k, v, r: iterates.append(v.copy()))
    v_star = tabular.policy_iteration(mdp).v
    for a, b in zip(iterates, iterates[1:]):
        assert (b >= a - 1e-10 / (1 - mdp.gamma)).all()
    for v in iterates:
        assert (v <= v_star + 1e-9 / (1 - mdp.gamma)).all()


@given(finite_mdps(masked=True))
def test_lp_objective_equals_weighted_optimal_value(mdp):
    sol = tabular.linear_programming(mdp)
    v_star = tabular.policy_iteration(mdp, tol=1e-10).v
    alpha = sol.info["alpha"]
    scale = 1 / (1 - mdp.gamma)
    assert sol.info["objective"] == pytest.approx(alpha @ v_star, abs=1e-6 * scale)
    # Normalised occupancy d = (1-gamma) rho sums to 1 and <d, R> = (1-gamma) <alpha, v*>.
    d = (1 - mdp.gamma) * sol.occupancy
    assert d.sum() == pytest.approx(1.0, abs=1e-9)
    assert (d * np.asarray(mdp.R)).sum() == pytest.approx((1 - mdp.gamma) * alpha @ v_star, abs=1e-9)


@given(finite_mdps(masked=True), st.sampled_from([1.0, 0.1, 0.01]))
def test_soft_value_iteration_sandwich(mdp, tau):
    """v* <= v*_tau <= v* + tau log|A| / (1 - gamma) (entropy bonus is in [0, tau log A])."""
    soft = tabular.soft_value_iteration(mdp, temperature=tau, tol=1e-9)
    v_star = tabular.policy_iteration(mdp, tol=1e-10).v
    n_avail = mdp.n_actions if mdp.action_mask is None else mdp.action_mask.sum(axis=1).max()
    slack = 1e-8 / (1 - mdp.gamma)
    assert (soft.v >= v_star - slack).all()
    assert (soft.v <= v_star + tau * np.log(n_avail) / (1 - mdp.gamma) + slack).all()
    # The softmax policy's regularised value is the fixed point it certifies.
    from theory_rl.tabular import BellmanOperator
    from theory_rl.tabular._mdpo import regularized_policy_value

    v_pi = regularized_policy_value(BellmanOperator(mdp), soft.policy, tau)
    np.testing.assert_allclose(v_pi, soft.v, atol=1e-7 / (1 - mdp.gamma))


@given(finite_mdps(min_actions=2))
def test_soft_value_iteration_tends_to_hard_as_temperature_vanishes(mdp):
    v_star = tabular.policy_iteration(mdp).v
    errors = [np.max(tabular.soft_value_iteration(mdp, temperature=t, tol=1e-10).v - v_star) for t in (1.0, 1e-2, 1e-4)]
    assert errors[2] <= 1e-4 * np.log(mdp.n_actions) / (1 - mdp.gamma) + 1e-8
    assert errors[0] >= errors[1] - 1e-9 >= errors[2] - 2e-9


def test_convergence_warning_and_strict(rng):
    from theory_rl.envs import random_mdp

    mdp = random_mdp(20, 3, seed=1, gamma=0.99)
    with pytest.warns(ConvergenceWarning, match="after 3 iterations: max_iter=3 reached"):
        sol = tabular.value_iteration(mdp, tol=1e-9, max_iter=3)
    assert not sol.converged and sol.n_iter == 3
    # Even unconverged, the reported bounds are valid.
    v_star = tabular.policy_iteration(mdp).v
    assert_bounds_bracket(sol.lower, v_star, sol.upper, atol=1e-9)
    assert np.max(np.abs(sol.v - v_star)) <= sol.bound + 1e-9
    with pytest.raises(SolverError, match="max_iter"):
        tabular.value_iteration(mdp, tol=1e-9, max_iter=3, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tabular.value_iteration(mdp, tol=1e-6).converged


def test_callback_can_stop_early():
    from theory_rl.envs import random_mdp

    mdp = random_mdp(10, 2, seed=3, gamma=0.9)
    calls = []
    with pytest.warns(ConvergenceWarning):
        sol = tabular.value_iteration(mdp, tol=1e-10, callback=lambda n, v, r: calls.append(n) or n >= 2)
    assert calls == [1, 2] and not sol.converged
