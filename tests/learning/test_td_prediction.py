"""TD(0), n-step TD, TD(lambda), the lambda-return and Monte Carlo prediction (Sutton & Barto
2018, Chapters 5-7 and 12): the equivalences between the views, batch fixed points, and the
book's random-walk reference values."""

from __future__ import annotations

import numpy as np
import pytest
from episodic_instances import random_episodic_mdp
from hypothesis import given
from hypothesis import strategies as st

from theory_rl import envs, learning, tabular
from theory_rl.models import FiniteMDP

WALK_TRUTH = np.r_[0.0, np.arange(1, 6) / 6, 0.0]  # Example 6.2
UNIFORM7 = np.full((7, 2), 0.5)


def random_policy(seed: int, mdp: FiniteMDP) -> np.ndarray:
    return np.random.default_rng(seed + 1).dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)


models = st.builds(random_episodic_mdp, st.integers(0, 10_000), st.integers(1, 5), st.integers(1, 3))


# ----------------------------------------------------------------------------- (a) equivalences
@given(models, st.floats(0.0, 1.0), st.floats(0.01, 1.0), st.integers(0, 10_000), st.booleans())
def test_offline_td_lambda_equals_the_offline_lambda_return(mdp, lam, alpha, seed, discounted):
    """Backward view (accumulating traces, offline) = forward view, exactly (S&B 12.1-12.2),
    also with discounting and episodes cut by the horizon (the truncated lambda-return)."""
    kw = dict(lam=lam, n_episodes=6, step_size=alpha, v0=np.random.default_rng(seed).normal(size=mdp.n_states),
              seed=seed)
    if discounted:
        mdp, kw["horizon"] = mdp.replace(gamma=0.9), 3
    pi = random_policy(seed, mdp)
    backward = learning.td_lambda(mdp, pi, updating="offline", **kw).v
    forward = learning.lambda_return(mdp, pi, **kw).v
    np.testing.assert_allclose(backward, forward, rtol=0, atol=1e-12)


def test_the_views_differ_online_and_with_replacing_traces():
    """The equality above is specific to offline updating with accumulating traces: it cannot
    hold by accident."""
    walk, kw = envs.random_walk(5), dict(lam=0.9, n_episodes=10, step_size=0.3, v0=0.5, seed=0)
    forward = learning.lambda_return(walk, UNIFORM7, **kw).v
    for options in ({"updating": "online"}, {"updating": "offline", "traces": "replacing"}):
        assert np.max(np.abs(learning.td_lambda(walk, UNIFORM7, **options, **kw).v - forward)) > 1e-3


@given(models, st.floats(0.01, 1.0), st.integers(0, 10_000))
def test_td_lambda_zero_and_one_step_td_equal_td0(mdp, alpha, seed):
    pi = random_policy(seed, mdp)
    kw = dict(n_episodes=5, step_size=alpha, seed=seed)
    td0 = learning.td_prediction(mdp, pi, **kw).v
    for traces in ("accumulating", "replacing"):
        np.testing.assert_allclose(learning.td_lambda(mdp, pi, lam=0.0, traces=traces, **kw).v, td0, atol=1e-12)
    np.testing.assert_allclose(learning.n_step_td(mdp, pi, n=1, **kw).v, td0, atol=1e-12)


@given(models, st.floats(0.01, 1.0), st.integers(0, 10_000))
def test_offline_td_one_equals_every_visit_monte_carlo(mdp, alpha, seed):
    pi = random_policy(seed, mdp)
    kw = dict(n_episodes=5, step_size=alpha, seed=seed)
    td1 = learning.td_lambda(mdp, pi, lam=1.0, updating="offline", **kw).v
    mc = learning.mc_prediction(mdp, pi, variant="every_visit", **kw).v
    np.testing.assert_allclose(td1, mc, atol=1e-12)


@given(st.builds(random_episodic_mdp, st.integers(0, 10_000), st.integers(1, 5), st.integers(1, 3), dag=st.just(True)),
       st.floats(0.01, 1.0), st.integers(0, 10_000))
def test_n_step_td_with_n_at_least_the_episode_length_is_monte_carlo(mdp, alpha, seed):
    """No state repeats in an episode of a DAG model, so the online n-step updates (all made after
    termination when n >= T) equal constant-alpha Monte Carlo."""
    pi = random_policy(seed, mdp)
    kw = dict(n_episodes=5, step_size=alpha, seed=seed)
    n_step = learning.n_step_td(mdp, pi, n=mdp.n_states, **kw)
    assert max(ep.actions.size for ep in n_step.episodes) <= mdp.n_states
    np.testing.assert_allclose(n_step.v, learning.mc_prediction(mdp, pi, variant="every_visit", **kw).v, atol=1e-12)


def certainty_equivalence(episodes, S: int, terminal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``v_pi`` of the maximum-likelihood Markov reward process of the transitions (S&B 6.3),
    by a linear solve; and which states were visited."""
    counts, rewards = np.zeros((S, S)), np.zeros(S)
    for ep in episodes:
        for t in range(ep.actions.size):
            counts[ep.states[t], ep.states[t + 1]] += 1
            rewards[ep.states[t]] += ep.rewards[t]
    n = counts.sum(axis=1)
    seen = (n > 0) & ~terminal
    P = counts[np.ix_(seen, seen)] / n[seen, None]
    v = np.zeros(S)
    v[seen] = np.linalg.solve(np.eye(seen.sum()) - P, rewards[seen] / n[seen])
    return v, seen


@given(models, st.integers(0, 10_000))
def test_batch_td0_converges_to_the_certainty_equivalence_estimate(mdp, seed):
    pi = random_policy(seed, mdp)
    res = learning.td_prediction(mdp, pi, n_episodes=8, step_size=1.0, updating="batch", tol=1e-13, seed=seed)
    expected, seen = certainty_equivalence(res.episodes, mdp.n_states, np.asarray(mdp.terminal))
    np.testing.assert_allclose(res.v[seen], expected[seen], atol=1e-8)


def test_batch_td0_agrees_with_policy_evaluation_on_the_empirical_model():
    """The same fixed point from the library's own planner on the walk's empirical model."""
    walk = envs.random_walk(5)
    res = learning.td_prediction(walk, UNIFORM7, n_episodes=20, step_size=0.5, updating="batch", tol=1e-13, seed=4)
    counts = np.zeros((7, 2, 7))
    for ep in res.episodes:
        np.add.at(counts, (ep.states[:-1], ep.actions, ep.states[1:]), 1)
    n = counts.sum(axis=2)
    P = np.where(n[..., None] > 0, counts / np.maximum(n, 1)[..., None], np.eye(7)[:, None, :])
    empirical = walk.replace(P=P)
    pi_hat = np.where(n.sum(axis=1, keepdims=True) > 0, n / np.maximum(n.sum(axis=1, keepdims=True), 1), 0.5)
    v_ce = tabular.policy_evaluation(empirical, pi_hat, tol=1e-13).v
    np.testing.assert_allclose(res.v, v_ce, atol=1e-8)
    assert np.max(np.abs(v_ce - WALK_TRUTH)) > 1e-3  # the data's model, not the true one


@pytest.mark.parametrize("variant", ["first_visit", "every_visit"])
def test_batch_monte_carlo_is_the_sample_average_of_the_returns(variant):
    walk = envs.random_walk(5)
    res = learning.mc_prediction(walk, UNIFORM7, n_episodes=15, variant=variant, step_size=0.3, updating="batch",
                                 tol=1e-13, seed=2)
    returns: dict[int, list[float]] = {}
    for ep in res.episodes:
        g = np.cumsum(ep.rewards[::-1])[::-1]
        seen = set()
        for t, s in enumerate(ep.states[:-1]):
            if variant == "every_visit" or s not in seen:
                returns.setdefault(int(s), []).append(g[t])
            seen.add(s)
    for s, gs in returns.items():
        assert res.v[s] == pytest.approx(np.mean(gs), abs=1e-9)
    linear = learning.mc_prediction(walk, UNIFORM7, n_episodes=15, variant=variant, seed=2).v
    np.testing.assert_allclose(linear, res.v, atol=1e-9)  # the book's averaging box, incrementally


def test_batch_td_and_batch_mc_reach_different_answers():
    """S&B Example 6.4: the two batch methods disagree on the same data (so neither test above
    passes by accident)."""
    walk = envs.random_walk(5)
    td = learning.td_prediction(walk, UNIFORM7, n_episodes=10, step_size=1.0, updating="batch", seed=7).v
    mc = learning.mc_prediction(walk, UNIFORM7, n_episodes=10, updating="batch", seed=7).v
    assert np.max(np.abs(td - mc)) > 1e-2


# ----------------------------------------------------------------------------- (b) properties
def test_first_visit_monte_carlo_is_unbiased():
    """After one episode, V(s) for a visited s is the first-visit return, an unbiased sample of
    v_pi(s) (S&B 5.1): the mean over 600 seeds is within 4 standard errors of 1/6, ..., 5/6."""
    walk = envs.random_walk(5)
    samples: dict[int, list[float]] = {s: [] for s in range(1, 6)}
    for seed in range(600):
        res = learning.mc_prediction(walk, UNIFORM7, n_episodes=1, seed=seed)
        for s in set(res.episodes[0].states[:-1].tolist()):
            samples[s].append(res.v[s])
    for s, values in samples.items():
        values = np.asarray(values)
        assert abs(values.mean() - WALK_TRUTH[s]) <= 4 * values.std(ddof=1) / np.sqrt(values.size) + 1e-12


def test_td_errors_vanish_at_the_true_values():
    """Started at v_pi, TD(0)'s expected update is zero: the mean change over many episodes is
    small, while a start away from v_pi moves towards it."""
    walk = envs.random_walk(5)
    at_truth = learning.td_prediction(walk, UNIFORM7, n_episodes=400, step_size=0.01, v0=WALK_TRUTH,
                                      v_true=WALK_TRUTH, seed=0)
    assert at_truth.final_rms_error < 0.03
    from_half = learning.td_prediction(walk, UNIFORM7, n_episodes=400, step_size=0.01, v0=0.5,
                                       v_true=WALK_TRUTH, seed=0)
    assert from_half.history["rms_error"][-1] < 0.5 * from_half.history["rms_error"][0]


# ------------------------------------------------------------------------- (c) reference values
def test_random_walk_true_values():
    """Example 6.2 (1/6 ... 5/6) and Example 7.1 (-0.9 ... 0.9)."""
    v5 = tabular.policy_evaluation(envs.random_walk(5), UNIFORM7, tol=1e-12).v
    np.testing.assert_allclose(v5, WALK_TRUTH, atol=1e-9)
    v19 = tabular.policy_evaluation(envs.random_walk(19, left_reward=-1.0), np.full((21, 2), 0.5), tol=1e-12).v
    np.testing.assert_allclose(v19[1:20], np.arange(-9, 10) / 10, atol=1e-9)


def _mean_rms(fn, n_runs: int, episodes: slice) -> float:
    return float(np.mean([fn(seed).history["rms_error"][episodes].mean() for seed in range(n_runs)]))


def test_td_beats_monte_carlo_on_the_random_walk():
    """Example 6.2, right panel (20 runs, mean over episodes 51-100; measured: TD(0) with
    alpha = 0.1 at 0.048, every-visit MC at alpha = 0.01, 0.02, 0.03 at 0.114, 0.090, 0.099): TD
    is below the best constant-alpha MC curve, as in the book."""
    walk = envs.random_walk(5)
    kw = dict(n_episodes=100, v0=0.5, v_true=WALK_TRUTH)
    td = _mean_rms(lambda s: learning.td_prediction(walk, UNIFORM7, step_size=0.1, seed=s, **kw), 20, slice(50, 100))
    mc = _mean_rms(lambda s: learning.mc_prediction(walk, UNIFORM7, step_size=0.02, variant="every_visit", seed=s,
                                                    **kw), 20, slice(50, 100))
    assert 0.03 < td < 0.08
    assert mc > td + 0.02


def test_batch_td_beats_batch_monte_carlo_on_the_random_walk():
    """Figure 6.2 (batch training): batch TD below batch MC over episodes 21-40 (20 runs;
    measured 0.075 against 0.104)."""
    walk = envs.random_walk(5)
    kw = dict(n_episodes=40, v0=0.5, v_true=WALK_TRUTH, updating="batch", tol=1e-6)
    td = _mean_rms(lambda s: learning.td_prediction(walk, UNIFORM7, step_size=1.0, seed=s, **kw), 20, slice(20, 40))
    mc = _mean_rms(lambda s: learning.mc_prediction(walk, UNIFORM7, variant="every_visit", seed=s, **kw), 20,
                   slice(20, 40))
    assert td < mc


def test_intermediate_n_is_best_on_the_19_state_walk():
    """Figure 7.2: the RMS error over the first 10 episodes (10 runs, the best alpha of a small
    grid for each n) is smallest for an intermediate n (the book: n = 4; measured 0.358, 0.295,
    0.393 for n = 1, 4, 32)."""
    walk = envs.random_walk(19, left_reward=-1.0)
    truth = np.r_[0.0, np.arange(-9, 10) / 10, 0.0]
    pi = np.full((21, 2), 0.5)
    best = {}
    for n in (1, 4, 32):
        runs = {alpha: [learning.n_step_td(walk, pi, n=n, n_episodes=10, step_size=alpha, v_true=truth, seed=s)
                        for s in range(10)] for alpha in (0.1, 0.3, 0.6, 0.9)}
        best[n] = min(np.mean([r.history["rms_error"].mean() for r in rs]) for rs in runs.values())
    assert best[4] < best[1] and best[4] < best[32]
