"""Preference oracles over trajectories, SPO's batch win rates and the enumerated trajectory game."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from theory_rl import envs
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.games import (
    BradleyTerryOracle,
    CoverageOracle,
    MajorityOracle,
    NoisyOracle,
    batch_win_rates,
    decision_tree_mdp,
    minimax_winner,
    sample_episodes,
    trajectory_game,
)
from theory_rl.models import FiniteMDP

CYCLE = np.array([[[3.0, 2.0, 1.0]], [[1.0, 3.0, 2.0]], [[2.0, 1.0, 3.0]]])  # Condorcet's paradox over 3 actions
BANDIT = FiniteMDP(P=np.ones((1, 3, 1)), R=np.zeros((1, 3)), gamma=1.0, horizon=1)


def _oracles(rng, S, A):
    bt = BradleyTerryOracle(rng.normal(size=(S, A)), temperature=float(rng.uniform(0.1, 2)))
    return [bt, BradleyTerryOracle(rng.normal(size=(S, A)), temperature=0.0), MajorityOracle(rng.normal(size=(3, S, A))),
            NoisyOracle(bt, noise=0.3), CoverageOracle(), CoverageOracle(temperature=0.5)]


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 9), H=st.integers(1, 4))
def test_every_oracle_is_antisymmetric_with_ties_split(seed, n, H):
    rng = np.random.default_rng(seed)
    mdp = envs.random_mdp(4, 3, seed=int(rng.integers(1000)), gamma=0.9)
    batch = sample_episodes(mdp, np.full((4, 3), 1 / 3), n_episodes=n, horizon=H, seed=rng)
    for oracle in _oracles(rng, 4, 3):
        W = oracle.matrix(batch, batch)
        np.testing.assert_allclose(W + W.T, 1.0, atol=1e-12)
        np.testing.assert_allclose(np.diag(W), 0.5)
        np.testing.assert_allclose(oracle.pairwise(batch, batch), 0.5)
        assert ((W >= 0) & (W <= 1)).all()


def test_bradley_terry_probability_is_the_logistic_of_the_utility_gap():
    R = np.array([[0.2, 1.0], [0.0, -0.5]])
    oracle = BradleyTerryOracle(R, temperature=0.7)
    a, b = ([0, 1, 0], [1, 1]), ([0, 0, 1], [0, 0])
    assert oracle.probability(a, b) == pytest.approx(expit(((1.0 - 0.5) - (0.2 + 0.2)) / 0.7), abs=1e-15)
    assert BradleyTerryOracle(R, temperature=0.0).probability(a, a) == 0.5


def test_noisy_oracle_flips_and_keeps_the_minimax_winner():
    game = trajectory_game(decision_tree_mdp(3, 2), oracle=MajorityOracle(np.random.default_rng(5).normal(size=(3, 13, 3))))
    noisy = trajectory_game(decision_tree_mdp(3, 2),
                            oracle=NoisyOracle(MajorityOracle(np.random.default_rng(5).normal(size=(3, 13, 3))), noise=0.3))
    np.testing.assert_allclose(noisy.preferences - 0.5, 0.4 * (game.preferences - 0.5), atol=1e-15)
    np.testing.assert_allclose(noisy.minimax_winner().strategy, game.minimax_winner().strategy, atol=1e-8)


def test_coverage_counts_distinct_states_and_is_not_a_sum_of_rewards():
    rng = np.random.default_rng(0)
    states = rng.integers(0, 4, size=(30, 5))
    actions = rng.integers(0, 2, size=(30, 4))
    counts = CoverageOracle().features(states, actions)
    assert counts.tolist() == [len(set(row)) for row in states.tolist()]
    a = ([0, 1, 2], [0, 0])
    b = ([0, 1, 0], [0, 0])
    c = ([1, 0, 1], [0, 0])
    d = ([2, 0, 0], [0, 0])
    oracle = CoverageOracle()
    assert oracle.probability(a, b) == 1.0 and oracle.probability(b, c) == 0.5 and oracle.probability(c, d) == 0.5
    # with one action, a reward r(s) summed over s_0, s_1 (the states acted in) would need b ~ c: r0 + r1 = r1 + r0,
    # c ~ d: r1 + r0 = r2 + r0, so r1 = r2, and a > b: r0 + r1 > r0 + r1, impossible.


def test_condorcet_cycle_over_trajectories_gives_the_uniform_minimax_winner_value_half():
    game = trajectory_game(BANDIT, oracle=MajorityOracle(CYCLE))
    rps = np.array([[0.5, 1.0, 0.0], [0.0, 0.5, 1.0], [1.0, 0.0, 0.5]])
    np.testing.assert_array_equal(game.preferences, rps)
    sol = game.minimax_winner()
    np.testing.assert_allclose(sol.strategy, np.full(3, 1 / 3), atol=1e-9)
    assert sol.value == 0.5
    assert game.exploitability(sol.strategy) == pytest.approx(0.0, abs=1e-12)
    assert game.exploitability(np.eye(3)[0]) == pytest.approx(0.5)


@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), A=st.integers(2, 3), H=st.integers(1, 3))
def test_bradley_terry_trajectory_game_is_won_by_the_best_trajectory(seed, A, H):
    mdp = decision_tree_mdp(A, H)
    R = np.random.default_rng(seed).normal(size=(mdp.n_states, A))
    oracle = BradleyTerryOracle(R, temperature=1.0)
    game = trajectory_game(mdp, oracle=oracle)
    u = oracle.features(game.states, game.actions)
    top = np.sort(u)
    if len(u) > 1 and top[-1] - top[-2] < 1e-9:
        return
    sol = game.minimax_winner()
    np.testing.assert_allclose(sol.strategy, np.eye(len(u))[np.argmax(u)], atol=1e-8)  # the Condorcet winner


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), B=st.integers(2, 20), exact=st.booleans())
def test_batch_win_rates_sum_to_half_the_batch(seed, B, exact):
    rng = np.random.default_rng(seed)
    mdp = envs.random_mdp(3, 2, seed=int(rng.integers(1000)), gamma=0.9)
    states, actions = sample_episodes(mdp, np.full((3, 2), 0.5), n_episodes=B, horizon=3, seed=rng)
    for oracle in _oracles(rng, 3, 2):
        r = batch_win_rates(states, actions, oracle=oracle, seed=rng, exact=exact)
        assert r.sum() == pytest.approx(B / 2, abs=1e-12)
        assert ((r >= 0) & (r <= 1)).all()


def test_sampled_win_rates_average_to_the_exact_ones():
    rng = np.random.default_rng(1)
    states, actions = sample_episodes(decision_tree_mdp(3, 2), np.full((13, 3), 1 / 3), n_episodes=6, seed=rng)
    oracle = NoisyOracle(MajorityOracle(rng.normal(size=(3, 13, 3))), noise=0.2)
    exact = batch_win_rates(states, actions, oracle=oracle, exact=True)
    draws = np.mean([batch_win_rates(states, actions, oracle=oracle, seed=k) for k in range(1500)], axis=0)
    np.testing.assert_allclose(draws, exact, atol=0.03)  # each a mean of 5 draws: sd <= 0.5/sqrt(5 * 1500) < 0.006


def test_sampled_episodes_follow_the_trajectory_distribution():
    mdp = envs.random_mdp(2, 2, seed=3, gamma=0.9).replace(horizon=2)
    policy = np.random.default_rng(0).dirichlet(np.ones(2), size=(2, 2))
    game = trajectory_game(mdp, oracle=CoverageOracle())
    p = game.distribution(policy)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    states, actions = sample_episodes(mdp, policy, n_episodes=40000, seed=0)
    index = {tuple(s) + tuple(a): i for i, (s, a) in enumerate(zip(game.states.tolist(), game.actions.tolist()))}
    freq = np.bincount([index[tuple(s) + tuple(a)] for s, a in zip(states.tolist(), actions.tolist())],
                       minlength=game.n_trajectories) / 40000
    np.testing.assert_allclose(freq, p, atol=0.01)


def test_best_response_over_histories_dominates_every_markov_policy():
    mdp = envs.random_mdp(2, 2, seed=4, gamma=0.9).replace(horizon=2)
    game = trajectory_game(mdp, oracle=MajorityOracle(np.random.default_rng(2).normal(size=(3, 2, 2))))
    assert not game.tree
    q = game.distribution(np.full((2, 2, 2), 0.5))
    best_markov = max(float(game.distribution(np.eye(2)[np.array(d).reshape(2, 2)]) @ game.preferences @ q)
                      for d in itertools.product(range(2), repeat=4))
    br = game.best_response_value(q)
    assert br >= best_markov - 1e-12
    tree = trajectory_game(decision_tree_mdp(2, 3), oracle=MajorityOracle(np.random.default_rng(2).normal(size=(3, 15, 2))))
    q = tree.distribution(np.full((3, 15, 2), 0.5))
    assert tree.tree and tree.pure
    assert tree.best_response_value(q) == pytest.approx(float((tree.preferences @ q).max()), abs=1e-14)


def test_bad_oracles_and_batches():
    with pytest.raises(InvalidModelError, match="reward"):
        BradleyTerryOracle(np.array([[np.nan, 1.0]]))
    with pytest.raises(InvalidArgumentError, match="temperature"):
        BradleyTerryOracle(np.zeros((1, 2)), temperature=-1.0)
    with pytest.raises(InvalidModelError, match="rewards"):
        MajorityOracle(np.zeros((2, 3)))
    with pytest.raises(InvalidArgumentError, match="noise"):
        NoisyOracle(CoverageOracle(), noise=0.7)
    with pytest.raises(InvalidArgumentError, match="oracle"):
        NoisyOracle("rater", noise=0.1)
    oracle = BradleyTerryOracle(np.zeros((2, 2)))
    with pytest.raises(InvalidArgumentError, match=r"states\[0, 1\] = 5"):
        oracle.probability(([0, 5], [0]), ([0, 0], [0]))
    with pytest.raises(InvalidArgumentError, match="actions"):
        oracle.matrix(([0, 0], [0.5]), ([0, 0], [0]))
    with pytest.raises(InvalidArgumentError, match="shape"):
        oracle.matrix(([0, 0, 0], [0]), ([0, 0], [0]))
    with pytest.raises(InvalidArgumentError, match="batch"):
        batch_win_rates([[0, 0]], [[0]], oracle=oracle)
    with pytest.raises(InvalidArgumentError, match="oracle"):
        batch_win_rates([[0, 0], [0, 1]], [[0], [1]], oracle=np.eye(2))
    with pytest.raises(InvalidArgumentError, match="max_trajectories"):
        trajectory_game(decision_tree_mdp(3, 4), oracle=oracle, max_trajectories=10)
    with pytest.raises(InvalidModelError, match="pure"):
        trajectory_game(envs.random_mdp(2, 2, seed=0, gamma=0.9), oracle=CoverageOracle(), horizon=2).minimax_winner()


def test_prefer_is_seeded_and_follows_the_probability():
    oracle = BradleyTerryOracle(np.array([[0.0, 1.0]]), temperature=1.0)
    a, b = ([0, 0], [1]), ([0, 0], [0])
    rng = np.random.default_rng(0)
    answers = [oracle.prefer(a, b, rng) for _ in range(5000)]
    assert np.mean(answers) == pytest.approx(expit(1.0), abs=0.025)  # 4 sd
    assert oracle.prefer(a, b, 7) == oracle.prefer(a, b, 7)
    assert minimax_winner(trajectory_game(BANDIT, oracle=oracle.__class__(np.array([[0.0, 1.0, 0.5]]))).preferences).strategy[1] == pytest.approx(1.0)
