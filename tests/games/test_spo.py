"""SPO (tabular): Hedge equivalence, the regret certificate, convergence under transitive and
intransitive preferences, against the reward-model RLHF baseline."""

import numpy as np
import pytest

from theory_rl import envs
from theory_rl.errors import InvalidArgumentError
from theory_rl.games import (
    BradleyTerryOracle,
    MajorityOracle,
    NoisyOracle,
    decision_tree_mdp,
    hedge_self_play,
    reward_model_rlhf,
    spo,
    trajectory_game,
)
from theory_rl.models import FiniteMDP

RPS_REWARDS = np.array([[[3.0, 2.0, 1.0]], [[1.0, 3.0, 2.0]], [[2.0, 1.0, 3.0]]])


def _intransitive():
    """Three objectives on the depth-3 ternary tree (27 trajectories); the minimax winner mixes 5."""
    mdp = decision_tree_mdp(3, 3)
    return mdp, MajorityOracle(np.random.default_rng(7).normal(size=(3, mdp.n_states, 3)))


@pytest.mark.parametrize("p0_seed", [0, 1])
def test_exact_spo_on_one_step_is_hedge_self_play(p0_seed):
    rng = np.random.default_rng(p0_seed)
    n = 4
    u = rng.normal(size=(3, 1, n))
    bandit = FiniteMDP(P=np.ones((1, n, 1)), R=np.zeros((1, n)), gamma=1.0, horizon=1)
    oracle = MajorityOracle(u)
    res = spo(bandit, oracle=oracle, exact=True, max_iter=200, step_size=0.3)
    P = trajectory_game(bandit, oracle=oracle).preferences
    hedge = hedge_self_play(P, n_rounds=200, eta=0.3)
    np.testing.assert_allclose(res.average_distribution, hedge.strategy, atol=1e-12)
    np.testing.assert_allclose(res.history["exploitability"], hedge.history["exploitability"], atol=1e-12)
    np.testing.assert_allclose(res.history["regret_bound"], hedge.history["regret_bound"], atol=1e-12)


def test_exact_spo_meets_the_regret_bound_at_every_iteration_on_a_tree():
    mdp, oracle = _intransitive()
    res = spo(mdp, oracle=oracle, exact=True, max_iter=300, step_size=0.5)
    h = res.history
    assert (h["exploitability"] <= h["regret_bound"] + 1e-12).all()
    assert h["exploitability"][-1] < 0.04 < 0.3 < h["exploitability"][0]
    assert h["win_rate"][-1] == pytest.approx(0.5, abs=0.04)
    # the average approaches the minimax winner; the last iterate need not
    mw = trajectory_game(mdp, oracle=oracle).minimax_winner().strategy
    assert (mw > 1e-6).sum() >= 3
    assert np.abs(res.average_distribution - mw).sum() < 0.15


def test_sampled_spo_converges_to_the_reward_optimal_policy_under_bradley_terry():
    mdp = decision_tree_mdp(2, 3)
    R = np.random.default_rng(3).normal(size=(mdp.n_states, 2))
    oracle = BradleyTerryOracle(R, temperature=0.2)
    res = spo(mdp, oracle=oracle, max_iter=150, batch_size=8, step_size=1.0, seed=0)
    game = trajectory_game(mdp, oracle=oracle)
    best = int(np.argmax(oracle.features(game.states, game.actions)))
    assert game.distribution(res.policy)[best] > 0.9
    assert res.exploitability < 0.1 and res.n_queries == 150 * 28


def test_sampled_spo_approaches_the_minimax_winner_where_the_reward_model_does_not():
    mdp, oracle = _intransitive()
    res = spo(mdp, oracle=oracle, max_iter=300, batch_size=32, step_size=0.3, seed=1)
    e = res.history["exploitability"]
    assert e[-1] < 0.15 < 0.3 < e[0]
    # the fitted reward's optimal policy is deterministic: one trajectory, which some trajectory beats
    # (the majority relation has no Condorcet winner here), so its exploitability is 1/2 at any budget;
    # bench/spo.py gives it SPO's budget (here 148,800 queries)
    rlhf = reward_model_rlhf(mdp, oracle=oracle, n_samples=20_000, seed=1)
    assert rlhf.exploitability == pytest.approx(0.5)
    assert rlhf.exploitability > 3 * res.exploitability


def test_reward_model_recovers_bradley_terry_rewards_on_stochastic_transitions():
    mdp = envs.random_mdp(3, 2, seed=0, gamma=0.9).replace(horizon=2)
    R = np.random.default_rng(0).normal(size=(3, 2))
    res = reward_model_rlhf(mdp, oracle=BradleyTerryOracle(R, temperature=0.5), n_samples=4000, seed=0, ridge=1e-6)
    # visit counts of a horizon-2 episode sum to 2: rewards are identified up to one constant
    np.testing.assert_allclose(res.reward - res.reward.mean(), (R - R.mean()) / 0.5, atol=0.25)
    assert np.isnan(res.win_rate) and res.exploitability >= 0


def test_noisy_preferences_keep_spo_on_the_minimax_winner():
    mdp, oracle = _intransitive()
    res = spo(mdp, oracle=NoisyOracle(oracle, noise=0.2), exact=True, max_iter=300, step_size=0.5)
    # a flip probability below 1/2 scales the game by 1 - 2 noise: same minimax winner
    assert trajectory_game(mdp, oracle=oracle).exploitability(res.average_distribution) < 0.05


def test_seeded_runs_repeat():
    mdp, oracle = _intransitive()
    a = spo(mdp, oracle=oracle, max_iter=5, batch_size=4, seed=3)
    b = spo(mdp, oracle=oracle, max_iter=5, batch_size=4, seed=3)
    c = spo(mdp, oracle=oracle, max_iter=5, batch_size=4, seed=4)
    np.testing.assert_array_equal(a.policy, b.policy)
    assert not np.array_equal(a.policy, c.policy)
    r1 = reward_model_rlhf(mdp, oracle=oracle, n_samples=50, seed=3)
    r2 = reward_model_rlhf(mdp, oracle=oracle, n_samples=50, seed=3)
    np.testing.assert_array_equal(r1.reward, r2.reward)


def test_spo_without_evaluation_on_a_larger_model():
    mdp = envs.random_mdp(20, 3, seed=0, gamma=0.9)
    res = spo(mdp, oracle=BradleyTerryOracle(mdp.R, temperature=0.1), horizon=6, max_iter=3, batch_size=4, evaluate=False)
    assert np.isnan(res.exploitability) and res.average_distribution is None
    np.testing.assert_allclose(res.average_policy.sum(axis=2), 1.0)


def test_bad_options():
    mdp, oracle = _intransitive()
    with pytest.raises(InvalidArgumentError, match="oracle"):
        spo(mdp, oracle=np.eye(2))
    with pytest.raises(InvalidArgumentError, match="horizon"):
        spo(envs.random_mdp(2, 2, seed=0, gamma=0.9), oracle=oracle)
    with pytest.raises(InvalidArgumentError, match="mdp"):
        spo(np.eye(2), oracle=oracle)
    with pytest.raises(InvalidArgumentError, match="behaviour"):
        reward_model_rlhf(mdp, oracle=oracle, behaviour=np.ones((2, 2)))
