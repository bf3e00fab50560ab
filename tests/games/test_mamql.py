"""MAMQL: soft marginalised critics, the soft equilibrium, inverse soft-Bellman reward recovery,
the multi-agent loop, its demonstrations and behaviour cloning."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import envs, tabular
from theory_rl.errors import ConvergenceWarning, InvalidArgumentError
from theory_rl.games import (
    MarkovGame,
    behaviour_cloning,
    best_response_mdp,
    empirical_occupancy,
    inverse_soft_bellman,
    joint_occupancy,
    joint_reward_regression,
    mamql,
    soft_equilibrium,
    soft_marginal_critics,
)


def _game(seed, S=4, actions=(2, 3), gamma=0.8, scale=1.0):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, *actions))
    R = rng.uniform(-scale, scale, (len(actions), S, *actions))
    return MarkovGame(P, R, gamma)


def _shaping_residual(mdp, r_hat, r_true):
    """``min_Phi max |r_hat - r_true - (Phi - gamma P Phi)|``: zero iff the rewards differ by shaping."""
    P = np.asarray(mdp.P)
    S, A = r_true.shape
    M = (np.eye(S)[:, None, :] - mdp.gamma * P).reshape(S * A, S)
    d = (r_hat - r_true).ravel()
    phi, *_ = np.linalg.lstsq(M, d, rcond=None)
    return float(np.abs(M @ phi - d).max()), float(np.abs(d).max())


# ------------------------------------------------------------------------------ forward
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(0.2, 5.0), gamma=st.floats(0.3, 0.9))
def test_one_player_soft_equilibrium_is_single_agent_soft_value_iteration(seed, tau, gamma):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(4), size=(4, 3))
    R = rng.uniform(-1, 1, (4, 3))
    game = MarkovGame(P, R[None], gamma)
    sol = soft_equilibrium(game, temperature=tau, tol=1e-11)
    ref = tabular.soft_value_iteration(envs.random_mdp(4, 3, seed=0).replace(P=P, R=R, gamma=gamma),
                                       temperature=tau, tol=1e-11)
    assert sol.converged
    np.testing.assert_allclose(sol.values[0], ref.v, atol=1e-10, rtol=0)
    np.testing.assert_allclose(sol.critics[0], ref.q, atol=1e-10, rtol=0)
    np.testing.assert_allclose(sol.policies[0], ref.policy, atol=1e-10, rtol=0)


def test_marginal_critics_are_the_soft_critics_of_the_best_response_mdps():
    game = _game(1)
    rng = np.random.default_rng(2)
    pis = [rng.dirichlet(np.ones(2), size=4), rng.dirichlet(np.ones(3), size=4)]
    critics = soft_marginal_critics(game, pis, temperature=0.7, tol=1e-11)
    for i in range(2):
        mdp = best_response_mdp(game, pis, i)
        ref = tabular.soft_value_iteration(mdp, temperature=0.7, tol=1e-11).q
        np.testing.assert_allclose(critics[i], ref, atol=1e-10)
        # the defining equation, checked by hand: Q_i = E_{pi_-i}[r_i + gamma P V_i]
        v = 0.7 * np.log(np.exp(critics[i] / 0.7).sum(axis=1))
        q_joint = np.asarray(game.R[i]) + game.gamma * (np.asarray(game.P) @ v)
        by_hand = np.einsum("sab,sb->sa", q_joint, pis[1]) if i == 0 else np.einsum("sab,sa->sb", q_joint, pis[0])
        np.testing.assert_allclose(critics[i], by_hand, atol=1e-9)


def test_soft_equilibrium_is_a_fixed_point_of_soft_best_responses_for_large_temperature():
    game = _game(3, S=5, actions=(3, 2, 2))
    sol = soft_equilibrium(game, temperature=2.0, tol=1e-10)
    assert sol.converged and sol.residual < 1e-10
    for i, pi in enumerate(sol.policies):
        q = soft_marginal_critics(game, sol.policies, temperature=2.0, tol=1e-12)[i]
        np.testing.assert_allclose(pi, np.exp(q / 2.0) / np.exp(q / 2.0).sum(axis=1, keepdims=True), atol=1e-9)


def test_soft_equilibrium_reports_failure_without_hiding_it():
    game = _game(4, scale=20.0, gamma=0.95)
    with pytest.warns(ConvergenceWarning):
        sol = soft_equilibrium(game, temperature=0.01, tol=1e-10, max_iter=5)
    assert not sol.converged and "reason" in sol.info and sol.residual > 1e-10


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(0.1, 3.0))
def test_forward_then_inverse_soft_bellman_returns_the_reward(seed, tau):
    mdp = envs.random_mdp(5, 3, seed=seed, gamma=0.85)
    q = tabular.soft_value_iteration(mdp, temperature=tau, tol=1e-11).q
    np.testing.assert_allclose(inverse_soft_bellman(mdp, q, temperature=tau), mdp.R, atol=1e-9)


def test_inverse_soft_bellman_is_blind_to_a_per_state_constant_only_through_shaping():
    mdp = envs.random_mdp(4, 2, seed=5, gamma=0.9)
    q = np.random.default_rng(0).normal(size=(4, 2))
    shift = np.array([1.0, -2.0, 0.5, 3.0])
    r1 = inverse_soft_bellman(mdp, q, temperature=1.0)
    r2 = inverse_soft_bellman(mdp, q + shift[:, None], temperature=1.0)
    np.testing.assert_allclose(r2 - r1, shift[:, None] - 0.9 * np.asarray(mdp.P) @ shift, atol=1e-12)


# ------------------------------------------------------------------------------ the loop
def test_mamql_with_one_player_is_iq_learn_and_recovers_the_soft_optimal_policy():
    mdp = envs.random_mdp(5, 3, seed=7, gamma=0.9)
    expert = tabular.soft_value_iteration(mdp, temperature=0.5, tol=1e-11)
    game = MarkovGame(np.asarray(mdp.P), np.asarray(mdp.R)[None], 0.9)
    rho = joint_occupancy(game, [expert.policy])
    res = mamql(game, rho, temperature=0.5, f="identity")
    np.testing.assert_allclose(res.policies[0], expert.policy, atol=1e-6)
    resid, raw = _shaping_residual(mdp, res.rewards[0], np.asarray(mdp.R))
    assert resid < 1e-6 < raw  # not the reward itself, the reward up to shaping


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mamql_recovers_the_expert_policies_and_the_rewards_up_to_shaping(seed):
    game = _game(seed)
    expert = soft_equilibrium(game, temperature=1.0).policies
    res = mamql(game, joint_occupancy(game, expert), temperature=1.0, f="identity")
    assert res.converged
    for i in range(2):
        np.testing.assert_allclose(res.policies[i], expert[i], atol=1e-6)
        mdp = best_response_mdp(game, list(expert), i)
        resid, raw = _shaping_residual(mdp, res.rewards[i], np.asarray(mdp.R))
        assert resid < 1e-6 < raw
        # hence the soft-optimal policy of the recovered reward is the expert's (advantages agree)
        again = tabular.soft_value_iteration(mdp.replace(R=res.rewards[i]), temperature=1.0, tol=1e-11)
        np.testing.assert_allclose(again.policy, expert[i], atol=1e-6)
        # and the joint reward averages back to the marginal one
        other = res.policies[1 - i]
        avg = (np.einsum("sab,sb->sa", res.joint_rewards[0], other) if i == 0
               else np.einsum("sab,sa->sb", res.joint_rewards[1], other))
        np.testing.assert_allclose(avg, res.rewards[i], atol=1e-12)
    # the expert is a soft equilibrium of the recovered game
    recovered = MarkovGame(game.P, res.joint_rewards, game.gamma)
    crit = soft_marginal_critics(recovered, list(expert), temperature=1.0, tol=1e-11)
    for q, e in zip(crit, expert):
        np.testing.assert_allclose(np.exp(q) / np.exp(q).sum(axis=1, keepdims=True), e, atol=1e-6)


def test_a_wrong_reward_is_not_equal_up_to_shaping():
    # the shaping check can fail: a reward with a different soft-optimal policy is far from the shaping space
    game = _game(0)
    expert = soft_equilibrium(game, temperature=1.0).policies
    mdp = best_response_mdp(game, list(expert), 0)
    wrong = np.asarray(mdp.R) + np.random.default_rng(0).normal(size=mdp.R.shape)
    assert _shaping_residual(mdp, wrong, np.asarray(mdp.R))[0] > 0.1


def test_chi2_mamql_is_close_to_the_expert_and_pulls_rewards_to_zero():
    game = _game(1)
    expert = soft_equilibrium(game, temperature=1.0).policies
    rho = joint_occupancy(game, expert)
    chi = mamql(game, rho, temperature=1.0, f="chi2", alpha=5.0)
    ident = mamql(game, rho, temperature=1.0, f="identity")
    assert chi.converged
    assert max(float(np.abs(p - e).max()) for p, e in zip(chi.policies, expert)) < 0.1
    w = [rho.sum(axis=(2,)), rho.sum(axis=(1,))]
    chi_norm = sum(float((wi * r**2).sum()) for wi, r in zip(w, chi.rewards))
    id_norm = sum(float((wi * r**2).sum()) for wi, r in zip(w, ident.rewards))
    assert chi_norm < id_norm


def test_mamql_is_deterministic_and_sampled_demonstrations_are_seeded():
    game = _game(2)
    expert = soft_equilibrium(game, temperature=1.0).policies
    a = empirical_occupancy(game, expert, n_episodes=50, horizon=10, seed=3)
    b = empirical_occupancy(game, expert, n_episodes=50, horizon=10, seed=3)
    c = empirical_occupancy(game, expert, n_episodes=50, horizon=10, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    r1, r2 = mamql(game, a, temperature=1.0), mamql(game, a, temperature=1.0)
    for x, y in zip(r1.critics, r2.critics):
        np.testing.assert_array_equal(x, y)


def test_empirical_occupancy_tends_to_the_exact_one():
    game = _game(3, gamma=0.5)
    expert = soft_equilibrium(game, temperature=1.0).policies
    exact = joint_occupancy(game, expert)
    emp = empirical_occupancy(game, expert, n_episodes=20_000, horizon=30, seed=0)
    assert np.abs(emp - exact).max() < 0.01
    assert abs(exact.sum() - 1.0) < 1e-12


def test_behaviour_cloning_is_the_conditional_of_the_occupancy():
    game = _game(4)
    expert = soft_equilibrium(game, temperature=1.0).policies
    bc = behaviour_cloning(joint_occupancy(game, expert))
    for p, e in zip(bc.policies, expert):
        np.testing.assert_allclose(p, e, atol=1e-12)
    rho = np.zeros((2, 2, 2))
    rho[0, 1, 0] = 1.0
    bc = behaviour_cloning(rho)
    assert bc.policies[0].tolist() == [[0.0, 1.0], [0.5, 0.5]] and bc.visited.tolist() == [True, False]


def test_bad_inputs_raise_named_errors():
    game = _game(0)
    expert = [np.full((4, 2), 0.5), np.full((4, 3), 1 / 3)]
    rho = joint_occupancy(game, expert)
    with pytest.raises(InvalidArgumentError, match="temperature"):
        mamql(game, rho, temperature=0.0)
    with pytest.raises(InvalidArgumentError, match="f must be"):
        mamql(game, rho, temperature=1.0, f="kl")
    with pytest.raises(InvalidArgumentError, match="d_expert has shape"):
        mamql(game, rho[:, :, 0], temperature=1.0)
    bad = rho.copy()
    bad[1, 0, 2] = -0.1
    with pytest.raises(InvalidArgumentError, match=r"d_expert\[1, 0, 2\]"):
        mamql(game, bad, temperature=1.0)
    with pytest.raises(InvalidArgumentError, match="sums to 0"):
        mamql(game, np.zeros_like(rho), temperature=1.0)
    with pytest.raises(InvalidArgumentError, match=r"policies\[1\]"):
        soft_marginal_critics(game, [expert[0], np.full((4, 2), 0.5)], temperature=1.0)
    with pytest.raises(InvalidArgumentError, match="damping"):
        soft_equilibrium(game, temperature=1.0, damping=0.0)
    with pytest.raises(InvalidArgumentError, match="q has shape"):
        inverse_soft_bellman(envs.random_mdp(3, 2, seed=0), np.zeros((2, 2)), temperature=1.0)
    with pytest.raises(InvalidArgumentError, match="player"):
        joint_reward_regression(game, np.zeros((4, 2)), expert, 2)
    with pytest.raises(InvalidArgumentError, match="n_episodes"):
        empirical_occupancy(game, expert, n_episodes=0, horizon=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mamql(game, rho, temperature=1.0, max_iter=1)  # a round cap is not an error


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(0.05, 5.0), gamma=st.floats(0.1, 0.9))
def test_one_state_soft_equilibrium_is_the_logit_qre_of_the_stage_game(seed, tau, gamma):
    # an independent method: Newton's method on the logit equations of the matrix game (zero-sum: unique QRE)
    from theory_rl.games import MatrixGame, quantal_response_equilibrium

    A = np.random.default_rng(seed).uniform(-1, 1, (3, 2))
    game = MarkovGame.zero_sum(np.ones((1, 3, 2, 1)), A[None], gamma)
    sol = soft_equilibrium(game, temperature=tau, damping=0.5, tol=1e-10)
    qre = quantal_response_equilibrium(MatrixGame(A), temperature=tau)
    assert sol.converged
    np.testing.assert_allclose(sol.policies[0][0], qre.strategies[0], atol=1e-8)
    np.testing.assert_allclose(sol.policies[1][0], qre.strategies[1], atol=1e-8)
