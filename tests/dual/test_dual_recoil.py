"""ReCOIL (spec section 3.6).

(a) equivalence: the dual-Q inner minimum (scipy) equals -D_f(mix_pi || mix_E) in closed form;
the exact program (cvxpy) attains 0 at the expert; torch on one-hot features reproduces the
tabular dataset ReCOIL; (b) properties: objective 0 iff d_pi = d_E, the joint-convexity bound
<= beta D_f(d_E || d_pi) in both orders, greedy policy = deterministic expert on supp d_E;
(c) reference: the implicit reward is 2 on expert-only pairs and 0 on suboptimal-only pairs.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import dual, envs, tabular
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError


def _setup(mdp, seed):
    rng = np.random.default_rng(seed)
    expert = tabular.policy_iteration(mdp).policy
    d_e = dual.occupancy(mdp, expert)
    d_s = rng.dirichlet(np.ones(mdp.n_states * mdp.n_actions)).reshape(mdp.n_states, mdp.n_actions)
    d_s = 0.9 * d_s + 0.1 / d_s.size
    pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
    return expert, d_e, d_s, pi


@settings(max_examples=15)
@given(finite_mdps(min_states=2, max_states=5, min_actions=2, max_actions=3, sparse=False),
       st.sampled_from(["kl", "chi2"]), st.floats(0.1, 0.9), st.integers(0, 100))
def test_dual_q_inner_minimum_is_minus_mixture_divergence(mdp, f, beta, seed):
    expert, d_e, d_s, pi = _setup(mdp, seed)
    inner = dual.recoil_dual_q(mdp, pi, d_e, d_s, f, beta)
    closed = dual.mixture_divergence(mdp, pi, d_e, d_s, f, beta, policy_first=True)
    assert inner.gradient_norm < 1e-7
    assert inner.value == pytest.approx(-closed, abs=1e-7 * (1 + closed))


@given(finite_mdps(min_states=2, max_states=5, min_actions=2, max_actions=3), st.sampled_from(["kl", "chi2", "tv"]),
       st.floats(0.1, 0.9), st.integers(0, 100))
def test_objective_zero_iff_expert_and_joint_convexity_bound(mdp, f, beta, seed):
    expert, d_e, d_s, pi = _setup(mdp, seed)
    div = dual.f_divergence(f)
    for first in (True, False):
        assert dual.mixture_divergence(mdp, expert, d_e, d_s, f, beta, policy_first=first) == pytest.approx(0, abs=1e-12)
        d_pi = dual.occupancy(mdp, pi)
        val = dual.mixture_divergence(mdp, pi, d_e, d_s, f, beta, policy_first=first)
        differs = np.abs(d_pi - d_e).max() > 1e-6
        assert (val > 1e-14) == differs or not differs
        full = div.divergence(d_pi.ravel(), d_e.ravel()) if first else div.divergence(d_e.ravel(), d_pi.ravel())
        if np.isfinite(full) and (d_e > 0).all() and (d_pi > 0).all():
            assert val <= beta * full + 1e-10


@pytest.mark.parametrize("f", ["kl", "chi2", "tv"])
@pytest.mark.parametrize("seed", [0, 1])
def test_exact_recoil_recovers_a_deterministic_expert(f, seed):
    mdp = envs.random_mdp(5, 3, seed=seed, gamma=0.8)
    expert, d_e, d_s, _ = _setup(mdp, seed)
    sol = dual.recoil_exact(mdp, d_e, d_s, f, 0.5)
    assert sol.objective == pytest.approx(0.0, abs=1e-6)
    supp = d_e.sum(axis=1) > 1e-9
    np.testing.assert_array_equal(sol.greedy_policy[supp], expert[supp])


def _datasets(mdp, seed):
    expert = tabular.policy_iteration(mdp).policy
    e = dual.collect_dataset(mdp, expert_policy=expert, n_episodes=4, episode_length=25, expert_fraction=1.0,
                             seed=seed)
    s = dual.collect_dataset(mdp, expert_policy=expert, n_episodes=20, episode_length=25, expert_fraction=0.0,
                             seed=seed + 1)
    return expert, e, s


def test_implicit_reward_reference():
    # state 0: expert took action 0 only; suboptimal data took action 1 only.
    e = dual.TransitionDataset([0], [0], [0.0], [0], [False], 1, 2)
    s = dual.TransitionDataset([0], [1], [0.0], [0], [False], 1, 2)
    res = dual.recoil(e, s, gamma=0.5, beta=0.5, f="gumbel", lam=1e-3, tol=1e-12)
    # Q(0,0) = 2 + 0.5 V, Q(0,1) = 0 + 0.5 V; V -> max Q as the temperature -> 0: V = 4
    assert res.q[0, 0] - res.q[0, 1] == pytest.approx(2.0, abs=1e-9)
    assert res.v[0] == pytest.approx(4.0, abs=0.01)
    assert res.greedy_policy[0] == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dataset_recoil_imitates_the_expert_on_its_states(seed):
    mdp = envs.random_mdp(6, 3, seed=seed, gamma=0.8)
    expert, e, s = _datasets(mdp, seed)
    res = dual.recoil(e, s, gamma=0.8, beta=0.5, f="chi2", lam=0.7)
    expert_states = np.unique(e.states)
    np.testing.assert_array_equal(res.greedy_policy[expert_states], expert[expert_states])
    # and behaviour cloning on the suboptimal (random) data does worse than ReCOIL's AWR policy
    j = lambda pi: float(mdp.d0 @ tabular.policy_value(mdp, pi))  # noqa: E731
    assert j(res.policy) > j(dual.behaviour_cloning(s))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dataset_recoil_with_the_initial_state_term_still_imitates(seed):
    # with the paper's initial-state term (d0 uniform here: every state is an initial state, so every
    # state's Q is capped) the greedy policy still equals the expert on its states; measured AWR values:
    # 3.82 / 3.08 / 4.02 with the term vs 3.87 / 3.11 / 4.04 without (expert 3.89 / 3.12 / 4.05)
    mdp = envs.random_mdp(6, 3, seed=seed, gamma=0.8)
    expert, e, s = _datasets(mdp, seed)
    res = dual.recoil(e, s, gamma=0.8, beta=0.5, f="chi2", lam=0.7, d0=np.asarray(mdp.d0))
    expert_states = np.unique(e.states)
    np.testing.assert_array_equal(res.greedy_policy[expert_states], expert[expert_states])
    assert res.converged and res.params["initial_term"]


def test_torch_on_one_hot_features_reproduces_tabular():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    mdp = envs.random_mdp(4, 2, seed=3, gamma=0.7)
    _, e, s = _datasets(mdp, 3)
    ref = dual.recoil(e, s, gamma=0.7, beta=0.5, f="gumbel", lam=1.0, tol=1e-10)

    def batch(d):
        return (dual.one_hot_features(d.states, 4), d.actions, d.rewards, dual.one_hot_features(d.next_states, 4),
                d.dones)

    out = dual.recoil_torch(batch(e), batch(s), n_actions=2, gamma=0.7, beta=0.5, f="gumbel", lam=1.0,
                            n_steps=800, lr=0.03, seed=0, device="cpu")
    v = out.v_net(torch.eye(4, dtype=torch.float64)).detach().numpy().ravel()
    np.testing.assert_allclose(v, ref.v, atol=1e-5)


def test_bad_input():
    mdp = envs.random_mdp(3, 2, seed=0)
    d = np.full((3, 2), 1 / 6)
    with pytest.raises(InvalidArgumentError, match="beta"):
        dual.mixture_divergence(mdp, np.zeros(3, int), d, d, "kl", 1.0)
    with pytest.raises(InvalidModelError, match="summing to 1"):
        dual.recoil_exact(mdp, d * 2, d, "kl", 0.5)
    zero = d.copy()
    zero[0, 0], zero[0, 1] = 0.0, 2 / 6
    with pytest.raises(InvalidModelError, match=r"d_suboptimal\[0, 0\] = 0"):
        dual.recoil_dual_q(mdp, np.zeros(3, int), d, zero, "kl", 0.5)
    e = dual.TransitionDataset([0], [0], [0.0], [0], [False], 1, 2)
    s = dual.TransitionDataset([0], [0], [0.0], [0], [False], 2, 2)
    with pytest.raises(InvalidModelError, match="suboptimal data has"):
        dual.recoil(e, s, gamma=0.5)


def test_torch_bad_batches_are_named():
    # out-of-range actions and expert/suboptimal feature dimensions that differ reached torch
    # as bare RuntimeErrors
    pytest.importorskip("torch")
    good = (np.eye(3), np.array([0, 1, 0]), np.zeros(3), np.eye(3), np.zeros(3))
    bad_action = (np.eye(3), np.array([0, 1, 5]), np.zeros(3), np.eye(3), np.zeros(3))
    with pytest.raises(InvalidModelError, match=r"actions\[2\] = 5 is not an action index in \[0, 2\)"):
        dual.recoil_torch(good, bad_action, n_actions=2, gamma=0.7, n_steps=1)
    wide = (np.eye(3, 4), np.array([0, 1, 0]), np.zeros(3), np.eye(3, 4), np.zeros(3))
    with pytest.raises(InvalidModelError, match="feature"):
        dual.recoil_torch(good, wide, n_actions=2, gamma=0.7, n_steps=1)


def _initial_term_instance():
    """Three states, two actions; hand-picked (by a search over random datasets) so that the
    initial-state term reorders the actions at the initial state 2."""
    def data(rows):
        s, a, s1 = zip(*rows)
        return dual.TransitionDataset(list(s), list(a), [0.0] * len(s), list(s1), [False] * len(s), 3, 2)

    e = data([(2, 0, 0), (2, 1, 2), (1, 0, 1), (0, 0, 2)])
    s = data([(2, 0, 0), (2, 1, 2), (1, 1, 2), (0, 0, 2), (2, 1, 1)])
    return e, s, np.array([0.7, 0.2, 0.1])


def _q_step_pieces(e, s, beta, gamma, v):
    """Term-free Q-step ``Q_0 = r_ReCOIL + gamma V̄`` and the mixture ``m`` from the datasets."""
    from theory_rl.dual._recoil import _recoil_tables

    reward, mix, N, seen = _recoil_tables(e, s, beta)
    q0 = (reward.ravel() + gamma * (N @ v)).reshape(mix.shape)
    return q0, mix, seen


def test_initial_state_term_is_the_max_over_pi_of_the_q_step():
    # the derivation in dual/_recoil.py: at an initial state s, with kappa = beta (1-gamma) d0(s), the
    # Q-step's minimum over Q for a policy pi(.|s) is sum_a [kappa pi_a gamma V̄_a - (kappa pi_a - beta dE_a)^2 / m_a];
    # maximising it over pi and reading Q off the first-order condition gives the library's capped Q
    e, s, d0 = _initial_term_instance()
    beta, gamma = 0.5, 0.5
    res = dual.recoil(e, s, gamma=gamma, beta=beta, lam=0.9, tol=1e-12, d0=d0)
    _, mix, seen = _q_step_pieces(e, s, beta, gamma, res.v)
    from theory_rl.dual._recoil import _recoil_tables

    reward, _, N, _ = _recoil_tables(e, s, beta)
    vbar = (N @ res.v).reshape(3, 2)
    d_e = e.counts() / len(e)
    for state in range(3):
        acts = np.flatnonzero(seen[state])
        kappa = beta * (1 - gamma) * d0[state]
        m, de, vb = mix[state, acts], d_e[state, acts], vbar[state, acts]
        if acts.size == 1:
            pis = np.ones((1, 1))
        else:  # a fine grid over the simplex of the seen actions (two of them here)
            t = np.linspace(0, 1, 200001)
            pis = np.stack([t, 1 - t], axis=1)
        g = (kappa * pis * gamma * vb - (kappa * pis - beta * de) ** 2 / m).sum(axis=1)
        pi = pis[int(np.argmax(g))]
        q_expected = gamma * vb - 2 * (kappa * pi - beta * de) / m  # Q = gamma V̄ - y*, y* = 2 (kappa pi - beta dE) / m
        np.testing.assert_allclose(res.q[state, acts], q_expected, atol=2e-5)


def test_initial_state_term_changes_the_greedy_action_at_an_initial_state():
    e, s, d0 = _initial_term_instance()
    beta, gamma = 0.5, 0.5
    with_term = dual.recoil(e, s, gamma=gamma, beta=beta, lam=0.9, tol=1e-12, d0=d0)
    without = dual.recoil(e, s, gamma=gamma, beta=beta, lam=0.9, tol=1e-12)
    # state 2 is an initial state (d0 = 0.1): removing the term flips its greedy action
    assert with_term.greedy_policy[2] == 1 and without.greedy_policy[2] == 0
    assert with_term.q[2, 1] - with_term.q[2, 0] > 0.2 and without.q[2, 0] - without.q[2, 1] > 0.05
    # the water level: Q = min(nu, Q_0) with sum_a m (Q_0 - nu)_+ = 2 beta (1-gamma) d0(s) at every initial state
    q0, mix, seen = _q_step_pieces(e, s, beta, gamma, with_term.v)
    for state in range(3):
        acts = np.flatnonzero(seen[state])
        nu = with_term.q[state, acts].max()
        np.testing.assert_allclose(with_term.q[state, acts], np.minimum(nu, q0[state, acts]), atol=1e-9)
        excess = (mix[state, acts] * np.maximum(q0[state, acts] - nu, 0)).sum()
        assert excess == pytest.approx(2 * beta * (1 - gamma) * d0[state], abs=1e-9)
    # without the term the Q-step is Q_0 itself (the term is not a change of scale of V)
    q0_free, _, seen = _q_step_pieces(e, s, beta, gamma, without.v)
    np.testing.assert_allclose(without.q[seen], q0_free[seen], atol=1e-9)
    assert with_term.converged and with_term.bound <= 1e-10


def test_initial_state_term_bad_d0():
    e, s, _ = _initial_term_instance()
    with pytest.raises(InvalidModelError, match="d0"):
        dual.recoil(e, s, gamma=0.5, d0=np.array([0.5, 0.5]))
    with pytest.raises(InvalidModelError, match="d0"):
        dual.recoil(e, s, gamma=0.5, d0=np.array([0.5, 0.6, 0.0]))
