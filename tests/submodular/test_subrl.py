"""Exact SubRL and SubPO: DP = brute force, history >= Markov >= greedy, greedy's factor in bandit
MDPs, the telescoping identity, modular F = REINFORCE, reward-to-go = finite differences while the
immediate-gain signal is not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl.envs import chain, random_mdp
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP
from theory_rl.submodular import (
    LogDet,
    Modular,
    WeightedCoverage,
    coverage_gridworld,
    history_index,
    subpo,
    subpo_exact_gradient,
    subpo_gradient,
    subpo_objective,
    subrl_brute_force,
    subrl_dp,
    subrl_greedy,
    subrl_history,
    subrl_markov,
)
from theory_rl.submodular._subpo import _sample, _signals, softmax_policy


def _deterministic(seed: int, S: int, A: int) -> FiniteMDP:
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, size=(S, A))] = 1.0
    return FiniteMDP(P=P, R=np.zeros((S, A)), gamma=0.9, d0=rng.dirichlet(np.ones(S)))


def _coverage(seed: int, S: int) -> WeightedCoverage:
    rng = np.random.default_rng(seed + 1)
    return WeightedCoverage(rng.random((S, 6)) < 0.4, weights=rng.random(6))


def _logdet(seed: int, S: int) -> LogDet:
    X = np.random.default_rng(seed + 2).normal(size=(S, 2))
    return LogDet(np.exp(-((X[:, None] - X[None]) ** 2).sum(-1)), noise=0.3)


def _bandit(S: int, d0) -> FiniteMDP:
    """The action picks the next state: P(. | s, a) = delta_a."""
    P = np.broadcast_to(np.eye(S)[None], (S, S, S)).copy()
    return FiniteMDP(P=P, R=np.zeros((S, S)), gamma=0.9, d0=d0)


@given(seed=st.integers(0, 10_000), S=st.integers(2, 5), A=st.integers(2, 3), H=st.integers(1, 4))
def test_dp_equals_brute_force_on_deterministic_mdps(seed, S, A, H):
    mdp = _deterministic(seed, S, A)
    for F in (_coverage(seed, S), _logdet(seed, S)):
        assert subrl_dp(mdp, F, horizon=H).value == pytest.approx(subrl_brute_force(mdp, F, horizon=H).value, abs=1e-9)


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), S=st.integers(2, 4), H=st.integers(1, 3))
def test_history_ge_markov_ge_greedy_and_markov_ge_any_softmax_policy(seed, S, H):
    mdp = random_mdp(S, 2, seed=seed)
    F = _coverage(seed, S)
    history = subrl_dp(mdp, F, horizon=H).value
    markov = subrl_markov(mdp, F, horizon=H).value
    greedy = subrl_greedy(mdp, F, horizon=H).value
    assert history >= markov - 1e-9
    assert history >= greedy - 1e-9  # greedy is history-dependent: Markov >= greedy is no theorem here
    theta = np.random.default_rng(seed).normal(size=(H, S, 2))
    assert markov >= subpo_objective(mdp, F, theta, horizon=H) - 1e-9


@given(seed=st.integers(0, 10_000), S=st.integers(2, 4), H=st.integers(1, 3))
def test_one_start_state_deterministic_history_equals_markov_ge_greedy(seed, S, H):
    mdp = _deterministic(seed, S, 2).replace(d0=np.eye(S)[0])
    F = _coverage(seed, S)
    markov = subrl_markov(mdp, F, horizon=H).value
    assert subrl_dp(mdp, F, horizon=H).value == pytest.approx(markov, abs=1e-12)
    assert markov >= subrl_greedy(mdp, F, horizon=H).value - 1e-12


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), S=st.integers(2, 4), H=st.integers(1, 3))
def test_ordered_history_equals_visited_set_ge_markov_on_random_mdps(seed, S, H):
    """The ordered-history optimum (tree of state sequences) = the visited-set DP >= Markov, and the
    returned sequence policy attains it; any softmax policy of each class stays below its optimum."""
    mdp = random_mdp(S, 2, seed=seed)
    for F in (_coverage(seed, S), _logdet(seed, S)):
        hist = subrl_history(mdp, F, horizon=H)
        visited = subrl_dp(mdp, F, horizon=H).value
        assert hist.value == pytest.approx(visited, abs=1e-9)
        assert visited >= subrl_markov(mdp, F, horizon=H).value - 1e-9
        near_deterministic = 60.0 * np.eye(2)[hist.policy]  # logits of the optimal sequence policy
        assert subpo_objective(mdp, F, near_deterministic, horizon=H, policy="history") == pytest.approx(
            hist.value, abs=1e-9)
        rng = np.random.default_rng(seed)
        for policy, shape in (("history", (H, S**H, 2)), ("visited_set", (H, S, 2**S, 2))):
            J = subpo_objective(mdp, F, rng.normal(size=shape), horizon=H, policy=policy)
            assert J <= hist.value + 1e-9


def test_greedy_beats_the_best_markov_policy_somewhere():
    """Greedy sees the visited set, Markov policies do not: neither dominates (so the chain
    history >= Markov >= greedy holds only where Markov = history, e.g. one start and deterministic moves)."""
    diffs = []
    for seed in range(4):
        mdp = random_mdp(3, 2, seed=seed)
        F = _coverage(seed, 3)
        diffs.append(subrl_greedy(mdp, F, horizon=3).value - subrl_markov(mdp, F, horizon=3).value)
    assert max(diffs) > 1e-2  # measured: 0.016 on seed 3


def _walk_mdp(adjacency: list[list[int]], start: int) -> FiniteMDP:
    """The reduction behind Theorem 1: a graph walk as a deterministic MDP; action k moves to the k-th
    neighbour (the last action stays), so H steps = the walks of length <= H (orienteering with budget H)."""
    S = len(adjacency)
    A = max(len(n) for n in adjacency) + 1
    P = np.zeros((S, A, S))
    for s, nbrs in enumerate(adjacency):
        for a in range(A):
            P[s, a, nbrs[a] if a < len(nbrs) else s] = 1.0
    return FiniteMDP(P=P, R=np.zeros((S, A)), gamma=0.9, d0=np.eye(S)[start])


def _best_walk(adjacency, F, start, budget):
    """Submodular orienteering by depth-first enumeration of walks (independent of the library's solvers)."""
    best = 0.0
    stack = [(start, frozenset([start]), budget)]
    while stack:
        node, seen, left = stack.pop()
        mask = np.zeros(len(adjacency), dtype=bool)
        mask[list(seen)] = True
        best = max(best, float(F.value(mask)))
        if left:
            stack.extend((n, seen | {n}, left - 1) for n in adjacency[node])
    return best


@pytest.mark.parametrize("budget", [2, 3, 4, 5])
def test_theorem_1_reduction_orienteering_is_subrl_and_greedy_has_no_constant_factor(budget):
    """Theorem 1 (Prajapat et al. 2024) reduces submodular orienteering to SubRL on a deterministic MDP:
    the SubRL optimum is the best walk's value. Its factor is asymptotic (no finite instance shows it);
    what a finite instance shows is that greedy, optimal on bandit MDPs up to 1 - 1/e, has no constant
    factor on walks: a lure next to the start (value 1) and a jackpot (value M) at the end of a path
    of ``budget`` empty nodes."""
    M = 10.0 * budget
    path = list(range(2, 2 + budget))  # node 1 is the lure, path[-1] the jackpot
    adjacency = [[1, path[0]], [0]] + [[p - 1 if p > 2 else 0, p + 1] for p in path[:-1]] + [[path[-2]]]
    weights = np.zeros(len(adjacency))
    weights[1], weights[path[-1]] = 1.0, M
    F = WeightedCoverage(np.eye(len(adjacency), dtype=bool), weights=weights)
    mdp = _walk_mdp(adjacency, start=0)
    opt = subrl_dp(mdp, F, horizon=budget).value
    assert opt == pytest.approx(_best_walk(adjacency, F, 0, budget), abs=1e-12) == pytest.approx(M)
    assert subrl_history(mdp, F, horizon=budget).value == pytest.approx(opt, abs=1e-12)
    greedy = subrl_greedy(mdp, F, horizon=budget).value
    assert greedy == pytest.approx(1.0)  # takes the lure, the jackpot is then out of reach
    assert greedy / opt == pytest.approx(1 / M)  # -> 0 as the instance grows


@given(seed=st.integers(0, 10_000))
@settings(max_examples=10)
def test_theorem_1_reduction_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    S = 6
    adjacency = [sorted({int(j) for j in rng.choice(S, size=2, replace=False) if j != i}) or [(i + 1) % S]
                 for i in range(S)]
    F = _coverage(seed, S)
    mdp = _walk_mdp(adjacency, start=0)
    assert subrl_dp(mdp, F, horizon=4).value == pytest.approx(_best_walk(adjacency, F, 0, 4), abs=1e-12)


def test_history_index_and_subpo_with_ordered_history():
    assert history_index([1, 0, 2], n_states=3) == 11 and history_index([0], n_states=3) == 0
    with pytest.raises(InvalidArgumentError, match="states"):
        history_index([3], n_states=3)
    mdp = chain(3, slip=0.2)
    F = WeightedCoverage(np.eye(3), weights=[0.0, 1.0, 3.0])
    res = subpo(mdp, F, horizon=3, policy="history", epochs=80, batch_size=64, lr=2.0, seed=0)
    assert res.theta.shape == (3, 27, 2)
    opt = subrl_history(mdp, F, horizon=3).value
    assert res.value > 0.9 * opt and res.value <= opt + 1e-9
    with pytest.raises(InvalidArgumentError, match="histories"):
        subrl_history(random_mdp(12, 2, seed=0), Modular(np.ones(12)), horizon=6)


def test_history_beats_markov_strictly_somewhere():
    """Markov-on-(s, t) policies lose to history-dependent ones on some instance (the paper's point)."""
    gaps = []
    for seed in range(12):
        mdp = random_mdp(3, 2, seed=seed)
        F = _coverage(seed, 3)
        gaps.append(subrl_dp(mdp, F, horizon=3).value - subrl_markov(mdp, F, horizon=3).value)
    assert max(gaps) > 1e-3 and min(gaps) > -1e-9


@given(seed=st.integers(0, 10_000), S=st.integers(3, 6), H=st.integers(1, 4))
def test_greedy_attains_one_minus_one_over_e_in_bandit_mdps(seed, S, H):
    d0 = np.random.default_rng(seed).dirichlet(np.ones(S))
    mdp = _bandit(S, d0)
    for F in (_coverage(seed, S), _logdet(seed, S)):
        opt = subrl_dp(mdp, F, horizon=H).value
        greedy = subrl_greedy(mdp, F, horizon=H).value
        assert greedy >= (1 - 1 / math.e) * opt - 1e-9


def test_telescoping_identity_on_sampled_trajectories():
    mdp = random_mdp(5, 3, seed=0)
    F = _coverage(0, 5)
    pi = softmax_policy(np.random.default_rng(0).normal(size=(6, 5, 3)))
    states, _, _ = _sample(np.asarray(mdp.P), np.asarray(mdp.d0), pi, 6, "markov", 300, np.random.default_rng(1))
    w, total = _signals(F, states, "reward_to_go")
    masks = np.zeros((300, 5), dtype=bool)
    masks[np.arange(300)[:, None], states] = True
    np.testing.assert_allclose(total, F.value(masks), rtol=0, atol=1e-12)  # exact up to rounding
    first = F.value(np.eye(5, dtype=bool)[states[:, 0]])
    np.testing.assert_allclose(first + w[:, 0], F.value(masks), rtol=0, atol=1e-12)


def _finite_difference(mdp, F, theta, H, policy="markov", h=1e-6):
    grad = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        up, down = theta.copy(), theta.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (subpo_objective(mdp, F, up, horizon=H, policy=policy)
                     - subpo_objective(mdp, F, down, horizon=H, policy=policy)) / (2 * h)
    return grad


@pytest.mark.parametrize("policy", ["markov", "visited_set", "history"])
def test_reward_to_go_is_the_gradient_and_immediate_gain_is_not(policy):
    mdp = chain(4, slip=0.1)
    F = WeightedCoverage(np.eye(4), weights=[0.0, 1.0, 2.0, 4.0])  # the far states are worth more
    H = 3
    shape = {"markov": (H, 4, 2), "visited_set": (H, 4, 16, 2), "history": (H, 4**H, 2)}[policy]
    theta = 0.5 * np.random.default_rng(0).normal(size=shape)
    fd = _finite_difference(mdp, F, theta, H, policy)
    rtg = subpo_exact_gradient(mdp, F, theta, horizon=H, policy=policy)
    imm = subpo_exact_gradient(mdp, F, theta, horizon=H, policy=policy, estimator="immediate_gain")
    np.testing.assert_allclose(rtg, fd, atol=1e-7)
    scale = np.abs(fd).max()
    assert np.abs(imm - fd).max() > 0.3 * scale  # myopic: misses a_0's effect on later gains
    # the Monte Carlo estimate is unbiased: its mean over many samples matches the exact gradient
    mc = subpo_gradient(mdp, F, theta, horizon=H, policy=policy, n_samples=100_000, seed=1)
    assert np.abs(mc - fd).max() < 0.05 * scale


def test_modular_objective_reduces_to_reinforce():
    """Modular F on trajectories that never revisit a state: SubPO's signal = REINFORCE on r(s) = w_s."""
    S = 4
    P = np.zeros((S, 2, S))
    P[np.arange(S), :, np.minimum(np.arange(S) + 1, S - 1)] = 0.5  # move right (stuck at the end)
    P[np.arange(S), :, np.minimum(np.arange(S) + 2, S - 1)] += 0.5
    mdp = FiniteMDP(P=P, R=np.zeros((S, 2)), gamma=0.9, d0=np.eye(S)[0])
    F = Modular([0.3, 1.0, 2.0, 4.0])
    theta = np.random.default_rng(0).normal(size=(1, S, 2))
    a = subpo_exact_gradient(mdp, F, theta, horizon=1)
    b = subpo_exact_gradient(mdp, F, theta, horizon=1, estimator="additive")
    np.testing.assert_allclose(a, b, atol=1e-14)
    # REINFORCE by hand: grad = sum_a pi(a) Q(a) (e_a - pi), Q(a) = E[w_{s'}], here the same for both actions
    pi = softmax_policy(theta)[0, 0]
    q = np.array([0.5 * 1.0 + 0.5 * 2.0] * 2)
    np.testing.assert_allclose(a[0, 0], pi * (q - pi @ q), atol=1e-14)


def test_subpo_learns_on_the_coverage_grid():
    mdp, F = coverage_gridworld(4, 4, radius=1, seed=0)
    H = 6
    sub = subpo(mdp, F, horizon=H, epochs=60, batch_size=64, lr=2.0, seed=0)
    nat = subpo(mdp, F, horizon=H, epochs=60, batch_size=64, lr=0.2, seed=0, variant="natural")
    uniform = subpo(mdp, F, horizon=H, epochs=1, lr=1e-12, seed=1).value  # the uniform policy, sampled
    assert sub.value > uniform + 1.0 and nat.value > uniform + 1.0
    assert sub.history["mean_return"][-10:].mean() > sub.history["mean_return"][:10].mean()


def test_errors():
    mdp = chain(3)
    with pytest.raises(InvalidArgumentError, match="estimator"):
        subpo_gradient(mdp, Modular(np.ones(3)), np.zeros((2, 3, 2)), horizon=2, estimator="x")
    with pytest.raises(InvalidArgumentError, match="theta"):
        subpo_gradient(mdp, Modular(np.ones(3)), np.zeros((2, 3, 3)), horizon=2)
    with pytest.raises(InvalidArgumentError, match="4 elements"):
        subrl_dp(mdp, Modular(np.ones(4)), horizon=2)
    with pytest.raises(InvalidModelError, match="point mass"):
        subrl_brute_force(random_mdp(3, 2, seed=0), Modular(np.ones(3)), horizon=2)
