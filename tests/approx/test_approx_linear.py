"""Linear function approximation: exact tabular answers with one-hot features, the projected
fixed point with general features, and Baird's counterexample."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import approx, envs, tabular
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError

pytest.importorskip("torch")


def _random_policy(mdp, seed):
    rng = np.random.default_rng(seed)
    pi = rng.random((mdp.n_states, mdp.n_actions)) + 0.05
    return pi / pi.sum(1, keepdims=True)


def _state_data(mdp, pi, features, mu=None):
    d = approx.model_transitions(mdp, pi, weighting=mu)
    return features[d["states"]], d["rewards"], features[d["next_states"]], d["weights"]


def _sa_data(mdp):
    d = approx.model_transitions(mdp)
    S, A = mdp.n_states, mdp.n_actions
    onehot = np.eye(S * A).reshape(S, A, S * A)
    mask = np.ones((S, A), bool) if mdp.action_mask is None else mdp.action_mask
    return (onehot[d["states"], d["actions"]], d["rewards"], onehot[d["next_states"]], d["weights"],
            mask[d["next_states"]])


@given(finite_mdps(min_states=2), st.integers(0, 2**31))
def test_lstd_one_hot_is_the_policy_value(mdp, seed):
    pi = _random_policy(mdp, seed)
    phi, r, phi2, w = _state_data(mdp, pi, np.eye(mdp.n_states))
    res = approx.lstd(phi, r, phi2, gamma=mdp.gamma, weights=w)
    np.testing.assert_allclose(res.w, tabular.policy_value(mdp, pi), atol=1e-9)


@given(finite_mdps(min_states=3), st.integers(1, 3), st.integers(0, 2**31))
def test_lstd_general_features_equal_the_closed_form(mdp, d, seed):
    """Phi w = Pi_D T_pi Phi w, i.e. w = (Phi^T D (I - gamma P_pi) Phi)^{-1} Phi^T D r_pi."""
    rng = np.random.default_rng(seed)
    S = mdp.n_states
    d = min(d, S - 1)
    Phi = rng.normal(size=(S, d))
    mu = rng.dirichlet(np.ones(S)) + 0.01
    mu /= mu.sum()
    pi = _random_policy(mdp, seed)
    phi, r, phi2, w = _state_data(mdp, pi, Phi, mu)
    res = approx.lstd(phi, r, phi2, gamma=mdp.gamma, weights=w)
    P_pi = np.einsum("sa,sat->st", pi, np.asarray(mdp.to_dense().P))
    r_pi = (pi * mdp.R).sum(1)
    D = np.diag(mu)
    M = Phi.T @ D @ (np.eye(S) - mdp.gamma * P_pi) @ Phi
    closed = np.linalg.solve(M, Phi.T @ D @ r_pi)
    scale = max(1.0, np.abs(closed).max())
    assert np.max(np.abs(res.w - closed)) <= 1e-7 * scale * np.linalg.cond(M)
    # the fixed-point property itself: the TD error is D-orthogonal to the features
    v = Phi @ res.w
    assert np.max(np.abs(Phi.T @ D @ (r_pi + mdp.gamma * P_pi @ v - v))) <= 1e-8 * scale * np.linalg.cond(M)


def test_lstd_lambda_from_a_trajectory_approaches_the_lambda_closed_form():
    mdp = envs.random_mdp(5, 2, gamma=0.8, seed=3)
    pi = _random_policy(mdp, 0)
    P_pi = np.einsum("sa,sat->st", pi, np.asarray(mdp.P))
    r_pi = (pi * mdp.R).sum(1)
    rng = np.random.default_rng(1)
    n = 60_000
    s = np.empty(n + 1, dtype=int)
    s[0] = 0
    u = rng.random(n)
    cdf = np.cumsum(P_pi, 1)
    for t in range(n):
        s[t + 1] = min(np.searchsorted(cdf[s[t]], u[t], side="right"), 4)
    Phi = np.random.default_rng(2).normal(size=(5, 3))
    # stationary distribution of P_pi
    evals, evecs = np.linalg.eig(P_pi.T)
    mu = np.real(evecs[:, np.argmin(np.abs(evals - 1))])
    mu /= mu.sum()
    D = np.diag(mu)
    for lam in (0.0, 0.5, 0.9):
        res = approx.lstd(Phi[s[:-1]], r_pi[s[:-1]], Phi[s[1:]], gamma=mdp.gamma, lam=lam)
        Kinv = np.linalg.inv(np.eye(5) - mdp.gamma * lam * P_pi)
        A = Phi.T @ D @ Kinv @ (np.eye(5) - mdp.gamma * P_pi) @ Phi
        closed = np.linalg.solve(A, Phi.T @ D @ Kinv @ r_pi)
        assert np.max(np.abs(Phi @ res.w - Phi @ closed)) < 0.05 * np.abs(Phi @ closed).max()
    # lambda = 1 is Monte-Carlo regression; one-hot features at any lambda give v_pi
    res = approx.lstd(np.eye(5)[s[:-1]], r_pi[s[:-1]], np.eye(5)[s[1:]], gamma=mdp.gamma, lam=0.7)
    np.testing.assert_allclose(res.w, tabular.policy_value(mdp, pi), rtol=0.05)


@settings(max_examples=20)
@given(finite_mdps(min_states=2, max_states=5, max_actions=3, masked=True, reward_range=(-1.0, 0.5)))
def test_lspi_and_fqi_one_hot_reach_q_star(mdp):
    """Masked models with negative rewards too: an unavailable action (never in the data, so its
    one-hot Q stays 0) must not win the greedy step."""
    exact = tabular.policy_iteration(mdp)
    phi, r, phi2, w, mask = _sa_data(mdp)
    available = np.isfinite(exact.q)
    res = approx.lspi(phi, r, phi2, gamma=mdp.gamma, weights=w, next_action_mask=mask)
    assert res.converged
    np.testing.assert_allclose(res.w.reshape(exact.q.shape)[available], exact.q[available], atol=1e-8)
    fqi = approx.fitted_q_iteration(phi, r, phi2, gamma=mdp.gamma, weights=w, tol=1e-9, next_action_mask=mask)
    assert fqi.converged
    np.testing.assert_allclose(fqi.w.reshape(exact.q.shape)[available], exact.q[available], atol=1e-9)
    # LSPI is policy iteration here: from theta = 0 its first greedy policy is the first available
    # action, and from that same start it needs no more improvement steps than PI (+1 to confirm)
    first_available = np.argmax(available, axis=1)
    same_start = tabular.policy_iteration(mdp, policy0=first_available)
    assert res.n_iter <= same_start.n_iter + 2


def test_semi_gradient_td_one_hot_converges_to_v_pi():
    mdp = envs.random_mdp(6, 2, gamma=0.8, seed=5)
    pi = _random_policy(mdp, 1)
    phi, r, phi2, w = _state_data(mdp, pi, np.eye(6))
    v_pi = tabular.policy_value(mdp, pi)
    expected = approx.semi_gradient_td(phi, r, phi2, gamma=mdp.gamma, weights=w, step_size=2.0, n_steps=2000,
                                       mode="expected")
    np.testing.assert_allclose(expected.w, v_pi, atol=1e-8)
    sampled = approx.semi_gradient_td(phi, r, phi2, gamma=mdp.gamma, weights=w, step_size=0.02, n_steps=30_000,
                                      mode="sampled", seed=0)
    assert np.max(np.abs(sampled.w - v_pi)) < 0.1 * np.abs(v_pi).max()


def test_baird_counterexample_td_diverges_lstd_stays_finite():
    baird = envs.baird_counterexample()
    data = baird.trajectory(1000, seed=0)
    td = approx.semi_gradient_td(data["phi"], data["rewards"], data["phi_next"], gamma=0.99, step_size=0.01,
                                 n_steps=1000, weights=data["weights"], w0=baird.w0)
    assert td.history[-1] > 10 * np.linalg.norm(baird.w0)
    # the expected update (Sutton & Barto Fig. 11.2, right): uniform state distribution, target chain
    d = approx.model_transitions(baird.mdp, baird.target, weighting=np.full(7, 1 / 7))
    exp_td = approx.semi_gradient_td(baird.features[d["states"]], d["rewards"], baird.features[d["next_states"]],
                                     gamma=0.99, step_size=0.01, n_steps=1000, weights=d["weights"], w0=baird.w0,
                                     mode="expected")
    assert np.all(np.diff(exp_td.history[200:]) > 0) and exp_td.history[-1] > 20 * np.linalg.norm(baird.w0)
    lstd = approx.lstd(data["phi"], data["rewards"], data["phi_next"], gamma=0.99, weights=data["weights"])
    assert np.isfinite(lstd.w).all()
    np.testing.assert_allclose(baird.features @ lstd.w, 0.0, atol=1e-10)  # v_pi = 0 exactly


def test_linear_bad_input():
    with pytest.raises(InvalidModelError, match="rows"):
        approx.lstd(np.ones((3, 2)), np.ones(2), np.ones((3, 2)), gamma=0.9)
    with pytest.raises(InvalidModelError, match=r"phi\[1, 0\] is not finite"):
        approx.lstd(np.array([[1.0], [np.nan]]), np.ones(2), np.ones((2, 1)), gamma=0.9)
    with pytest.raises(InvalidModelError, match="gamma"):
        approx.lstd(np.ones((2, 1)), np.ones(2), np.ones((2, 1)), gamma=1.5)
    with pytest.raises(InvalidModelError, match="lam = 0 only"):
        approx.lstd(np.ones((2, 1)), np.ones(2), np.ones((2, 1)), gamma=0.5, lam=0.5, weights=np.ones(2))
    with pytest.raises(InvalidModelError, match=r"phi_next_all must have shape"):
        approx.lspi(np.ones((2, 3)), np.ones(2), np.ones((2, 3)), gamma=0.9)
    with pytest.raises(InvalidModelError, match=r"next_action_mask\[1\] allows no action"):
        approx.lspi(np.ones((2, 3)), np.ones(2), np.ones((2, 2, 3)), gamma=0.9,
                    next_action_mask=np.array([[True, False], [False, False]]))


def test_lstd_and_fqi_stop_bootstrapping_at_terminal_transitions():
    # 0 -> 1 -> terminal, reward 1 per step: v(0) = 1 + gamma, v(1) = 1
    phi, phi2 = np.eye(2), np.array([[0.0, 1.0], [0.0, 0.0]])
    res = approx.lstd(phi, np.ones(2), phi2, gamma=0.9, dones=np.array([0.0, 1.0]))
    np.testing.assert_allclose(res.w, [1.9, 1.0], atol=1e-12)
    # the same with a bogus next feature on the terminal row: it must be ignored
    res = approx.lstd(phi, np.ones(2), np.array([[0.0, 1.0], [5.0, 5.0]]), gamma=0.9, dones=np.array([0.0, 1.0]))
    np.testing.assert_allclose(res.w, [1.9, 1.0], atol=1e-12)
    onehot = np.eye(2)[:, None, :]  # one action
    fqi = approx.fitted_q_iteration(phi, np.ones(2), np.stack([onehot[1], 5 * onehot[0]]), gamma=0.9,
                                    dones=np.array([0.0, 1.0]))
    np.testing.assert_allclose(fqi.w, [1.9, 1.0], atol=1e-8)


def test_linear_results_are_json_ready():
    import json

    phi = np.eye(2)
    res = approx.lstd(phi, np.ones(2), phi, gamma=0.5)
    assert json.loads(json.dumps(res.to_dict()))["method"] == "lstd"
    assert "LinearResult(method='lstd'" in repr(res)


def test_linear_options_are_validated():
    # lstd with ridge = -0.5 made A = 0.5 I - 0.5 I singular and returned w = 0 marked converged
    # (the answer is w = 2); semi_gradient_td with n_steps = -1 returned w0 marked converged
    phi, nxt = np.eye(2), np.eye(2)[:, None, :]
    with pytest.raises(InvalidArgumentError, match="ridge"):
        approx.lstd(phi, np.ones(2), phi, gamma=0.5, ridge=-0.5)
    with pytest.raises((InvalidArgumentError, InvalidModelError), match="n_steps"):
        approx.semi_gradient_td(phi, np.ones(2), phi, gamma=0.5, step_size=0.1, n_steps=-1)
    for fn in (approx.lspi, approx.fitted_q_iteration):
        with pytest.raises(InvalidArgumentError, match="max_iter"):
            fn(phi, np.ones(2), nxt, gamma=0.5, max_iter=0)
        with pytest.raises(InvalidArgumentError, match="ridge"):
            fn(phi, np.ones(2), nxt, gamma=0.5, ridge=float("nan"))
    with pytest.raises(InvalidArgumentError, match="tol"):
        approx.fitted_q_iteration(phi, np.ones(2), nxt, gamma=0.5, tol=-1.0)
