"""Tabular RCSL and MBRCSL: exact optimality with an optimal trajectory in the data, the
stitching counterexample, exact evaluation against Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from offline_instances import stitching

from theory_rl.errors import InvalidArgumentError
from theory_rl.models import FiniteMDP
from theory_rl.offline import (
    TrajectoryDataset,
    collect_trajectories,
    count_model,
    mbrcsl,
    rcsl_evaluate,
    rcsl_fit,
)
from theory_rl.tabular import backward_induction


def _deterministic_mdp(rng: np.random.Generator, S: int, A: int, H: int) -> FiniteMDP:
    nxt = rng.integers(0, S, size=(S, A))
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    R = rng.integers(-3, 4, size=(S, A)).astype(float)
    return FiniteMDP(P, R, 1.0, horizon=H)


def _optimal_episode(mdp: FiniteMDP, s0: int, H: int) -> tuple[list[int], list[int], list[float], float]:
    sol = backward_induction(mdp, horizon=H)
    P, R = np.asarray(mdp.P), np.asarray(mdp.R)
    states, actions, rewards = [s0], [], []
    for t in range(H):
        s = states[-1]
        a = int(np.asarray(sol.policy)[t, s])
        actions.append(a)
        rewards.append(float(R[s, a]))
        states.append(int(np.argmax(P[s, a])))
    return states, actions, rewards, float(np.asarray(sol.v)[0, s0])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), S=st.integers(2, 6), A=st.integers(2, 3), H=st.integers(1, 5),
       K=st.sampled_from([1, 3]))
def test_rcsl_with_an_optimal_trajectory_returns_v_star_exactly(seed, S, A, H, K):
    """Deterministic MDP, data = an optimal trajectory + uniform-behaviour noise: RCSL
    conditioned on g0 = V*(s0) returns exactly V*(s0) (Markovian and DT-style contexts)."""
    rng = np.random.default_rng(seed)
    mdp = _deterministic_mdp(rng, S, A, H)
    states, actions, rewards, v_star = _optimal_episode(mdp, 0, H)
    noise = collect_trajectories(mdp.replace(d0=np.eye(S)[0]), np.full((S, A), 1.0 / A), n_episodes=20, horizon=H,
                                 seed=rng)
    data = TrajectoryDataset([states, *noise.states], [actions, *noise.actions], [rewards, *noise.rewards],
                             n_states=S, n_actions=A)
    pi = rcsl_fit(data, context_len=K, use_time=True)
    res = rcsl_evaluate(pi, mdp, horizon=H, target_return=v_star, start=0)
    assert res.value == pytest.approx(v_star, abs=1e-9)


def test_stitching_counterexample_rcsl_fails_mbrcsl_stitches():
    mdp, data = stitching()
    optimum = 11.0  # 0 -> 1 -> 2
    assert float(np.asarray(backward_induction(mdp, horizon=3).v)[0, 0]) == optimum
    pi = rcsl_fit(data)
    for target in (0.0, 1.0, 5.0, 10.0, 11.0, 20.0):
        for fallback in ("nearest", "uniform"):
            for K in (1, 2):  # Markovian RCSL and a Decision-Transformer context: neither stitches
                p = rcsl_fit(data, fallback=fallback, context_len=K)
                assert rcsl_evaluate(p, mdp, horizon=3, target_return=target, start=0).value < optimum - 1
    assert rcsl_evaluate(pi, mdp, horizon=3, start=0).value == 5.0  # conditioned on the best return, 10
    exact = mbrcsl(data, model=mdp, seed=0)
    assert exact.threshold == 10.0 and exact.target_return == optimum and exact.n_kept == 100
    assert rcsl_evaluate(exact.policy, mdp, horizon=3, start=0).value == optimum
    counts = mbrcsl(data, seed=0)  # the count model is exact on the pairs the data saw
    assert rcsl_evaluate(counts.policy, mdp, horizon=3, start=0).value == optimum


def test_mbrcsl_is_seeded_end_to_end():
    mdp, data = stitching()
    a, b = mbrcsl(data, seed=7, n_keep=5, batch_size=8), mbrcsl(data, seed=7, n_keep=5, batch_size=8)
    assert a.n_generated == b.n_generated and a.n_kept == b.n_kept == 5
    assert all(np.array_equal(x, y) for x, y in zip(a.rollouts.states, b.rollouts.states))
    assert all(r.sum() > a.threshold for r in a.rollouts.rewards)


def test_mbrcsl_without_a_better_rollout_falls_back_to_the_data():
    data = TrajectoryDataset([[0, 1]], [[0]], [[1.0]], n_states=2, n_actions=1, terminated=np.array([True]))
    res = mbrcsl(data, seed=0, max_rollouts=50)
    assert res.n_kept == 0 and res.n_generated == 50 and res.target_return == 1.0


def test_count_model_matches_collection_frequencies():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=(3, 2))
    mdp = FiniteMDP(P, rng.normal(size=(3, 2)), 0.9)
    d = collect_trajectories(mdp, np.full((3, 2), 0.5), n_episodes=400, horizon=20, seed=1)
    Phat, rhat, mu, n = count_model(d)
    assert np.all(n > 0) and np.allclose(rhat, np.asarray(mdp.R))
    assert np.max(np.abs(Phat - P)) < 4 * np.sqrt(0.25 / n.min())  # binomial 4-sigma
    assert np.allclose(mu.sum(axis=1), 1.0)


def test_exact_evaluation_matches_monte_carlo_on_a_stochastic_mdp():
    """Equivalence: the exact augmented-state evaluation vs simulating the same policy (99.9% CI)."""
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.full(3, 0.5), size=(3, 2))
    R = rng.integers(0, 3, size=(3, 2)).astype(float)
    mdp = FiniteMDP(P, R, 0.9, d0=np.eye(3)[0])
    data = collect_trajectories(mdp, np.full((3, 2), 0.5), n_episodes=300, horizon=4, seed=2)
    pi = rcsl_fit(data, context_len=2)
    exact = rcsl_evaluate(pi, mdp, horizon=4, target_return=6.0, start=0).value
    sim = np.random.default_rng(4)
    totals = []
    for _ in range(4000):
        states, returns, actions, total = [0], [6.0], [], 0.0
        for t in range(4):
            p = pi.action_distribution(t, states[-2:], returns[-2:], actions[-1:])
            a = int(sim.choice(2, p=p))
            r = R[states[-1], a]
            total += r
            s2 = int(sim.choice(3, p=P[states[-1], a]))
            states.append(s2)
            returns.append(returns[-1] - r)
            actions.append(a)
        totals.append(total)
    totals = np.array(totals)
    assert abs(totals.mean() - exact) < 3.3 * totals.std() / np.sqrt(totals.size) + 1e-9


def test_bad_input():
    mdp, data = stitching()
    with pytest.raises(InvalidArgumentError, match="context_len"):
        rcsl_fit(data, context_len=0)
    with pytest.raises(InvalidArgumentError, match="fallback"):
        rcsl_fit(data, fallback="random")
    with pytest.raises(InvalidArgumentError, match="TrajectoryDataset"):
        rcsl_fit([[0, 1]])
    pi = rcsl_fit(data)
    with pytest.raises(InvalidArgumentError, match="horizon"):
        rcsl_evaluate(pi, mdp, horizon=0)
    with pytest.raises(InvalidArgumentError, match="target_return"):
        rcsl_evaluate(pi, mdp, horizon=2, target_return=float("nan"))
    with pytest.raises(InvalidArgumentError, match="max_contexts"):
        rcsl_evaluate(pi, mdp.replace(d0=None), horizon=3, max_contexts=1)
    with pytest.raises(InvalidArgumentError, match="n_keep"):
        mbrcsl(data, n_keep=0)
