"""Tabular IQ-Learn: its gradient, the telescoping identity, expert recovery and bad inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import envs, tabular
from theory_rl.errors import InvalidArgumentError
from theory_rl.games import iq_learn
from theory_rl.games._iq_learn import iq_objective


@pytest.mark.parametrize("f", ["identity", "chi2"])
def test_the_gradient_matches_finite_differences(f):
    mdp = envs.random_mdp(4, 3, seed=1, gamma=0.9)
    rng = np.random.default_rng(0)
    rho = rng.dirichlet(np.ones(12)).reshape(4, 3)
    q = rng.normal(size=(4, 3))
    _, g = iq_objective(q, np.asarray(mdp.P), 0.9, rho, 0.7, f, 0.5)
    num = np.zeros_like(q)
    for idx in np.ndindex(q.shape):
        e = np.zeros_like(q)
        e[idx] = 1e-6
        hi = iq_objective(q + e, np.asarray(mdp.P), 0.9, rho, 0.7, f, 0.5)[0]
        lo = iq_objective(q - e, np.asarray(mdp.P), 0.9, rho, 0.7, f, 0.5)[0]
        num[idx] = (hi - lo) / 2e-6
    np.testing.assert_allclose(g, num, atol=1e-8)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(0.2, 3.0))
def test_identity_objective_telescopes_to_the_log_likelihood(seed, tau):
    mdp = envs.random_mdp(4, 2, seed=seed, gamma=0.8)
    rng = np.random.default_rng(seed)
    rho = rng.dirichlet(np.ones(8)).reshape(4, 2)
    q = rng.normal(size=(4, 2))
    J, _ = iq_objective(q, np.asarray(mdp.P), 0.8, rho, tau, "identity", 1.0)
    log_pi = q / tau - np.log(np.exp(q / tau).sum(axis=1, keepdims=True))
    assert J == pytest.approx(tau * float((rho * log_pi).sum()), abs=1e-10)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(0.3, 3.0))
def test_identity_iq_learn_on_exact_occupancy_recovers_the_soft_optimal_expert(seed, tau):
    mdp = envs.random_mdp(5, 3, seed=seed, gamma=0.85)
    expert = tabular.soft_value_iteration(mdp, temperature=tau, tol=1e-10).policy
    # the exact discounted occupancy of the expert from the uniform start
    P_pi = np.einsum("sat,sa->st", np.asarray(mdp.P), expert)
    d = 0.15 * np.linalg.solve(np.eye(5) - 0.85 * P_pi.T, np.full(5, 0.2))
    res = iq_learn(mdp, d[:, None] * expert, temperature=tau, f="identity")
    np.testing.assert_allclose(res.policy, expert, atol=1e-6)
    # and a uniform critic is worse
    flat = iq_objective(np.zeros((5, 3)), np.asarray(mdp.P), 0.85, d[:, None] * expert / d.sum(), tau, "identity", 1)
    assert res.objective >= flat[0]


def test_unvisited_states_keep_the_start_critic_with_identity():
    mdp = envs.random_mdp(3, 2, seed=0, gamma=0.9)
    rho = np.array([[0.3, 0.7], [0.0, 0.0], [0.0, 0.0]])
    q0 = np.array([[0.0, 0.0], [1.0, 2.0], [0.5, 0.5]])
    res = iq_learn(mdp, rho, temperature=1.0, f="identity", q0=q0)
    np.testing.assert_allclose(res.policy[0], [0.3, 0.7], atol=1e-6)
    np.testing.assert_allclose(res.q[1:], q0[1:], atol=1e-12)


def test_chi2_shrinks_the_recovered_reward():
    mdp = envs.random_mdp(4, 2, seed=3, gamma=0.9)
    expert = tabular.soft_value_iteration(mdp, temperature=0.3, tol=1e-10).policy
    rho = np.full((4, 1), 0.25) * expert
    strong = iq_learn(mdp, rho, temperature=0.3, f="chi2", alpha=0.05)
    weak = iq_learn(mdp, rho, temperature=0.3, f="chi2", alpha=50.0)
    assert (rho * strong.rewards**2).sum() < (rho * weak.rewards**2).sum()
    assert np.abs(weak.policy - expert).max() < np.abs(strong.policy - expert).max()


def test_bad_inputs():
    mdp = envs.random_mdp(3, 2, seed=0)
    rho = np.full((3, 2), 1 / 6)
    for kwargs, word in [({"temperature": -1.0}, "temperature"), ({"temperature": 1.0, "alpha": 0.0}, "alpha"),
                         ({"temperature": 1.0, "f": "x"}, "f must be"), ({"temperature": 1.0, "tol": 0.0}, "tol"),
                         ({"temperature": 1.0, "q0": np.zeros(3)}, "q0")]:
        with pytest.raises(InvalidArgumentError, match=word):
            iq_learn(mdp, rho, **kwargs)
    with pytest.raises(InvalidArgumentError, match="d_expert has shape"):
        iq_learn(mdp, np.ones(3), temperature=1.0)
    with pytest.raises(InvalidArgumentError, match="FiniteMDP"):
        iq_learn("mdp", rho, temperature=1.0)
