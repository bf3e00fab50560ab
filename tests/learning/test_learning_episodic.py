"""Online episodic learners: UCBVI (Azar, Osband & Munos 2017) and UCB Q-learning (Jin et al. 2018)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import envs, learning, tabular
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidModelError
from theory_rl.learning._episodic import _policy_values

LEARNERS = {
    "ucbvi": lambda mdp, H, K, seed: learning.ucbvi(mdp, horizon=H, n_episodes=K, seed=seed),
    "ucb_h": lambda mdp, H, K, seed: learning.ucb_q_learning(mdp, horizon=H, n_episodes=K, seed=seed),
    "ucb_b": lambda mdp, H, K, seed: learning.ucb_q_learning(mdp, horizon=H, n_episodes=K, bonus="bernstein",
                                                             seed=seed),
}


@given(finite_mdps(max_states=5, max_actions=3), st.integers(1, 6))
def test_policy_evaluation_matches_backward_induction(mdp, H):
    # independent method: backward induction on the model restricted to the greedy actions of Q*
    q_star = learning.episodic_optimal_q(mdp, H)
    v_star = tabular.backward_induction(mdp.replace(gamma=1.0, horizon=H)).v
    policy = q_star.argmax(axis=2)
    np.testing.assert_allclose(_policy_values(mdp.transition_matrix, np.asarray(mdp.R), policy), v_star, atol=1e-9)


@settings(max_examples=15)
@pytest.mark.parametrize("name", sorted(LEARNERS))
@given(mdp=finite_mdps(max_states=4, max_actions=3), H=st.integers(1, 4), seed=st.integers(0, 1000))
def test_regret_is_nonnegative_and_nondecreasing(name, mdp, H, seed):
    res = LEARNERS[name](mdp, H, 30, seed)
    regret = res.trace["regret"]
    assert regret[0] >= -1e-9 and np.all(np.diff(regret) >= -1e-9)
    assert regret[-1] <= 30 * H + 1e-9
    assert res.q.shape == (H, mdp.n_states, mdp.n_actions) and res.n_samples == 30 * H


@settings(max_examples=10)
@given(mdp=finite_mdps(max_states=3, max_actions=2), seed=st.integers(0, 1000))
def test_ucbvi_is_optimistic(mdp, seed):
    # Azar et al. (2017), Lemma 18 / proof of Thm 1: Q_{k,h} >= Q*_h for all k, h on the good event
    # (probability >= 1 - delta); with delta = 0.1 a violation in 10 random instances would be a bug.
    res = learning.ucbvi(mdp, horizon=3, n_episodes=150, seed=seed)
    assert res.trace["optimism"].min() >= -1e-9
    # With the paper's constants the bonus 7HL/sqrt(N) exceeds H at every visit count reached
    # here, so Q == H everywhere and the check above cannot fail. The proof needs only
    # b(s, a) >= |(P_hat - P) V*_{h+1}|(s, a) (induction on h); Hoeffding with a union bound over
    # (s, a, h, N <= T) gives that with probability 1 - delta for b = H sqrt(ln(2SAHT/delta)/(2N)),
    # a bonus small enough that Q falls well below H, so optimism is really exercised.
    S, A, H, K, delta = mdp.n_states, mdp.n_actions, 3, 150, 0.1
    T = K * H
    scale = math.sqrt(math.log(2 * S * A * H * T / delta) / 2) / (7 * math.log(5 * S * A * T / delta))
    tight = learning.ucbvi(mdp, horizon=H, n_episodes=K, delta=delta, bonus_scale=scale, seed=seed)
    assert tight.q.min() < H - 0.5  # not saturated
    assert tight.trace["optimism"].min() >= -1e-9


@settings(max_examples=10)
@given(mdp=finite_mdps(max_states=3, max_actions=2), seed=st.integers(0, 1000))
def test_ucb_hoeffding_q_learning_is_optimistic(mdp, seed):
    # Jin et al. (2018), Lemma 4.3: Q^k_h >= Q*_h with probability 1 - p (with c = 1 here).
    res = learning.ucb_q_learning(mdp, horizon=3, n_episodes=150, seed=seed)
    assert res.trace["optimism"].min() >= -1e-9


def test_single_action_means_zero_regret():
    mdp = envs.random_mdp(4, 1, seed=0)
    for name, run in LEARNERS.items():
        assert run(mdp, 3, 20, 0).trace["regret"][-1] == pytest.approx(0.0, abs=1e-12), name


def test_regret_grows_sublinearly_with_small_bonuses():
    # With the paper's constants the bonus 7HL/sqrt(N) exceeds H until N > (7L)^2 visits, so
    # for small T the regret is linear (pre-asymptotic). With a scaled bonus the learner stops
    # exploring sooner; the last tenth of the episodes must then cost much less than the first
    # (measured on this seed: 29.6 in the last 200 episodes vs 145.1 in the first 200).
    mdp = envs.random_mdp(5, 2, seed=3)
    res = learning.ucbvi(mdp, horizon=5, n_episodes=2000, bonus_scale=0.02, seed=1)
    regret = res.trace["regret"]
    assert regret[-1] - regret[-200] < 0.25 * regret[199]


def test_seeded_and_bad_input():
    mdp = envs.random_mdp(4, 2, seed=0)
    a = learning.ucbvi(mdp, horizon=3, n_episodes=20, seed=5)
    b = learning.ucbvi(mdp, horizon=3, n_episodes=20, seed=5)
    np.testing.assert_array_equal(a.trace["regret"], b.trace["regret"])
    with pytest.raises(InvalidModelError, match="horizon"):
        learning.ucbvi(mdp, horizon=0, n_episodes=3)
    with pytest.raises(InvalidModelError, match=r"R\[0, 0\]"):
        learning.ucbvi(mdp.replace(R=np.full((4, 2), 2.0)), horizon=2, n_episodes=3)
    with pytest.raises(InvalidModelError, match="bonus"):
        learning.ucb_q_learning(mdp, horizon=2, n_episodes=3, bonus="kl")
    with pytest.raises(InvalidModelError, match="delta"):
        learning.ucb_q_learning(mdp, horizon=2, n_episodes=3, delta=1.5)
