"""Online episodic learners: UCBVI (Azar, Osband & Munos 2017) and UCB Q-learning (Jin et al. 2018)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import envs, learning, tabular
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.learning._episodic import _policy_values
from theory_rl.models import FiniteMDP

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
    regret = res.history["regret"]
    assert regret[0] >= -1e-9 and np.all(np.diff(regret) >= -1e-9)
    assert regret[-1] <= 30 * H + 1e-9
    assert res.q.shape == (H, mdp.n_states, mdp.n_actions) and res.n_samples == 30 * H


@settings(max_examples=10)
@given(mdp=finite_mdps(max_states=3, max_actions=2), seed=st.integers(0, 1000))
def test_ucbvi_is_optimistic(mdp, seed):
    # Azar et al. (2017), Lemma 18 / proof of Thm 1: Q_{k,h} >= Q*_h for all k, h on the good event
    # (probability >= 1 - delta); with delta = 0.1 a violation in 10 random instances would be a bug.
    res = learning.ucbvi(mdp, horizon=3, n_episodes=150, seed=seed)
    assert res.history["optimism"].min() >= -1e-9
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
    assert tight.history["optimism"].min() >= -1e-9


def jin_weights(H, t):
    """``alpha_t^i = alpha_i prod_{j=i+1}^t (1 - alpha_j)``, ``alpha_j = (H + 1)/(H + j)``, ``i = 1..t``."""
    alpha = (H + 1.0) / (H + np.arange(1, t + 1))
    tail = np.concatenate((np.cumprod((1.0 - alpha)[::-1])[::-1][1:], [1.0]))
    return alpha * tail


def ucb_h_optimism_constant(S, A, H, K, delta):
    r"""The ``c`` for which ``b_t = c sqrt(H^3 iota / t)``, ``iota = ln(SAT/delta)``, makes UCB-H
    optimistic with probability ``1 - delta`` (Jin et al. 2018, proof of Lemma 4.3, constants ours).

    ``Q^k_h - Q*_h = sum_i alpha_t^i [(V^{k_i}_{h+1} - V*_{h+1})(s') + X_i + b_i]`` with
    ``X_i = V*_{h+1}(s'_i) - P V*_{h+1}(s, a)`` martingale differences in an interval of length
    ``H``. Azuma-Hoeffding with a union bound over the ``S A H K = S A T`` tuples ``(s, a, h, t)``:
    ``|sum_i alpha_t^i X_i| <= H sqrt(sum_i (alpha_t^i)^2 ln(2SAT/delta) / 2) <= sqrt(H^3 ln(2SAT/delta) / t)``
    (``sum_i (alpha_t^i)^2 <= 2H/t``), while ``sum_i alpha_t^i b_i >= c sqrt(H^3 iota / t)``
    (``sum_i alpha_t^i / sqrt(i) >= 1/sqrt(t)``; both facts are Lemma 4.1, checked below). By
    induction over ``h`` (``V^k >= V*``) optimism then holds once ``c^2 iota >= ln(2SAT/delta)``.
    """
    T = K * H
    return math.sqrt(math.log(2 * S * A * T / delta) / math.log(S * A * T / delta))


@pytest.mark.parametrize("H", [1, 2, 3, 5])
def test_jin_learning_rate_facts_used_by_the_optimism_constant(H):
    # Jin et al. (2018), Lemma 4.1 (a), (b): computed, not assumed
    for t in range(1, 400):
        w = jin_weights(H, t)
        assert w.sum() == pytest.approx(1.0)  # alpha_1 = 1, so alpha_t^0 = 0
        assert np.sum(w**2) <= 2 * H / t + 1e-12
        assert 1 / math.sqrt(t) - 1e-12 <= np.sum(w / np.sqrt(np.arange(1, t + 1))) <= 2 / math.sqrt(t) + 1e-12


@settings(max_examples=10)
@given(mdp=finite_mdps(max_states=3, max_actions=2), seed=st.integers(0, 1000))
def test_ucb_hoeffding_q_learning_is_optimistic_with_the_lemma_constant(mdp, seed):
    # Jin et al. (2018), Lemma 4.3: Q^k_h >= Q*_h for all k, h, s, a on an event of probability
    # 1 - delta, for the c derived above (1.03 here). H = 2 and 600 episodes so that the tables
    # leave their initial value H (see the next test): the check is not saturated.
    S, A, H, K, delta = mdp.n_states, mdp.n_actions, 2, 600, 0.1
    c = ucb_h_optimism_constant(S, A, H, K, delta)
    res = learning.ucb_q_learning(mdp, horizon=H, n_episodes=K, c=c, delta=delta, seed=seed)
    assert res.history["optimism"].min() >= -1e-9


def test_ucb_hoeffding_optimism_check_fails_without_the_bonus():
    # Negative control: the same check on the same runs catches a missing (c = 0) or a far too
    # small bonus. Measured on these instances: with the lemma's c = 1.03 the smallest margin
    # min(Q - Q*) is 0.22 to 0.84 (so Q came well below H = 2: the bonus, not the initial
    # value, carries optimism); with c = 0 it is -0.27, -0.25, -0.30, -0.46; c = 0.05 still keeps it.
    H, K, delta = 2, 600, 0.1
    for instance in range(4):
        mdp = envs.random_mdp(3, 2, seed=instance)
        c = ucb_h_optimism_constant(3, 2, H, K, delta)
        with_bonus = learning.ucb_q_learning(mdp, horizon=H, n_episodes=K, c=c, delta=delta, seed=0)
        margin = with_bonus.history["optimism"]
        assert margin.min() >= -1e-9 and margin.min() < H / 2
        without = learning.ucb_q_learning(mdp, horizon=H, n_episodes=K, c=0.0, delta=delta, seed=0)
        assert without.history["optimism"].min() < -0.1, instance
        # and the violation is not a start-up effect: it persists to the last episode's table
        assert np.min(without.q - learning.episodic_optimal_q(mdp, H)) < 0.0


def test_single_action_means_zero_regret():
    mdp = envs.random_mdp(4, 1, seed=0)
    for name, run in LEARNERS.items():
        assert run(mdp, 3, 20, 0).history["regret"][-1] == pytest.approx(0.0, abs=1e-12), name


def _two_action_instance():
    """State 0 (the start): action 0 pays 1 and stays, action 1 pays 0 and moves to state 1; state 1
    pays 0. With H = 1 every episode is one step from state 0: gap 1 between the two actions."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, 0, 0] = P[1, 1, 1] = 1.0
    return FiniteMDP(P, np.array([[1.0, 0.0], [0.0, 0.0]]), 0.9, d0=np.array([1.0, 0.0]))


def test_ucbvi_with_the_papers_bonus_stops_exploring_and_regret_flattens():
    # UCBVI-CH with the paper's bonus b = 7 H L / sqrt(N), L = ln(5 S A T / delta) (Azar et al. 2017,
    # Algorithm 1 with the Chernoff-Hoeffding bonus), no rescaling. With H = 1 and a gap of 1,
    # Q(0, 1) = min(1, 7 L / sqrt(N)) ties with Q(0, 0) = 1 until N > (7 L)^2 and is below it forever
    # after (Q only decreases), so the regret is exactly floor((7 L)^2) + 1 and then flat: sublinear.
    mdp = _two_action_instance()
    K = 60_000
    res = learning.ucbvi(mdp, horizon=1, n_episodes=K, seed=0)
    L = math.log(5 * 2 * 2 * K / 0.1)
    regret = res.trace["regret"]
    assert regret[-1] == math.floor((7 * L) ** 2) + 1  # 13020 here
    assert regret[-1] == regret[int(0.6 * K)]  # the last 40% of the episodes cost nothing
    assert res.policy[0, 0] == 0
    # Theorem 1's bound holds at every episode (it is vacuous here: above T until T ~ 2e6, see ucbvi's docstring)
    T = res.trace["samples"]
    bound = 20 * 1 * L * np.sqrt(2 * 2 * T) + 250 * 1 * 2**2 * 2 * L**2
    assert np.all(regret <= bound)


def test_regret_grows_sublinearly_with_small_bonuses():
    # With the paper's constants the bonus 7HL/sqrt(N) exceeds H until N > (7L)^2 visits, so
    # for small T the regret is linear (pre-asymptotic). With a scaled bonus the learner stops
    # exploring sooner; the last tenth of the episodes must then cost much less than the first
    # (measured on this seed: 29.6 in the last 200 episodes vs 145.1 in the first 200).
    mdp = envs.random_mdp(5, 2, seed=3)
    res = learning.ucbvi(mdp, horizon=5, n_episodes=2000, bonus_scale=0.02, seed=1)
    regret = res.history["regret"]
    assert regret[-1] - regret[-200] < 0.25 * regret[199]


def test_seeded_and_bad_input():
    mdp = envs.random_mdp(4, 2, seed=0)
    a = learning.ucbvi(mdp, horizon=3, n_episodes=20, seed=5)
    b = learning.ucbvi(mdp, horizon=3, n_episodes=20, seed=5)
    np.testing.assert_array_equal(a.history["regret"], b.history["regret"])
    with pytest.raises(InvalidArgumentError, match="horizon"):
        learning.ucbvi(mdp, horizon=0, n_episodes=3)
    with pytest.raises(InvalidModelError, match=r"R\[0, 0\]"):
        learning.ucbvi(mdp.replace(R=np.full((4, 2), 2.0)), horizon=2, n_episodes=3)
    with pytest.raises(InvalidArgumentError, match="bonus"):
        learning.ucb_q_learning(mdp, horizon=2, n_episodes=3, bonus="kl")
    with pytest.raises(InvalidArgumentError, match="delta"):
        learning.ucb_q_learning(mdp, horizon=2, n_episodes=3, delta=1.5)
