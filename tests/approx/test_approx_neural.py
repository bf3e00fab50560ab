"""Neural learners on tabular MDPs (one-hot inputs) against the exact solvers, and their
gymnasium plumbing. Kept small: each learner trains for a few thousand steps at most."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import approx, envs, tabular
from theory_rl.approx._nets import greedy_values
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError

torch = pytest.importorskip("torch")
gymnasium = pytest.importorskip("gymnasium")


@pytest.fixture(scope="module")
def small_mdp():
    mdp = envs.random_mdp(4, 2, gamma=0.8, seed=3)
    return mdp, tabular.policy_iteration(mdp)


@pytest.mark.slow
@pytest.mark.parametrize("double", [False, True])
def test_dqn_one_hot_learns_q_star(small_mdp, double):
    mdp, exact = small_mdp
    res = approx.dqn(approx.TabularEnv(mdp, horizon=20, start="uniform"), gamma=mdp.gamma, total_steps=2000,
                     double=double, hidden=(32,), learning_starts=200, target_update=100, lr=3e-3, seed=0)
    q = greedy_values(res.networks["q"], np.eye(4), "cpu")
    scale = 1.0 / (1.0 - mdp.gamma)
    assert np.max(np.abs(q - exact.q)) < 0.05 * scale
    assert np.max(exact.v - tabular.policy_value(mdp, q.argmax(1))) < 1e-9  # the greedy policy is optimal
    assert res.method == ("double_dqn" if double else "dqn") and len(res.episode_returns) > 0
    assert json.loads(json.dumps(res.to_dict()))["params"]["double"] is double


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")  # the exact run stops at K on purpose
@settings(max_examples=8)
@given(finite_mdps(min_states=2, max_states=4, min_actions=2, max_actions=3), st.sampled_from([0.5, 2.0]))
def test_mdpo_linear_softmax_with_exact_critic_is_exact_mdpo(mdp, t):
    """One-hot inputs + linear softmax + exact A^{pi_k}: the neural iterates are the tabular
    MDPO iterates pi_{k+1} ∝ pi_k exp(t A^{pi_k}), up to the optimiser's accuracy."""
    K = 3
    exact = tabular.mirror_descent_policy_optimization(mdp, step_size=t, max_iter=K, tol=1e-14)
    ours = approx.mdpo_exact_critic(mdp, step_size=t, max_iter=K, optimizer="lbfgs", sgd_steps=100, seed=0)
    n = min(len(exact.info["values"]), K + 1)
    scale = 1.0 / (1.0 - mdp.gamma)
    np.testing.assert_allclose(ours.info["values"][:n], exact.info["values"][:n], atol=1e-5 * scale)
    # the exact closed-form step from the neural iterate k gives the neural iterate k+1
    pis = ours.info["policies"]
    for k in range(n - 1):
        v = tabular.policy_value(mdp, pis[k])
        step = tabular.mirror_descent_step(np.log(pis[k]), tabular.q_values(mdp, v), step_size=t)
        np.testing.assert_allclose(pis[k + 1], np.exp(step), atol=1e-5)


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")
def test_mdpo_mlp_with_exact_critic_tracks_exact_mdpo_with_the_annealed_schedule(small_mdp):
    mdp, _ = small_mdp
    K = 4

    def t_of(k):
        return 2.0 * (1.0 - k / K)

    exact = tabular.mirror_descent_policy_optimization(mdp, step_size=t_of, max_iter=K, tol=1e-14)
    ours = approx.mdpo_exact_critic(mdp, step_size=2.0, schedule="annealed", max_iter=K, hidden=(16,),
                                    optimizer="lbfgs", sgd_steps=100, seed=1)
    np.testing.assert_allclose(ours.info["step_sizes"], [t_of(k) for k in range(K)])
    np.testing.assert_allclose(ours.info["values"], exact.info["values"][:K + 1], atol=1e-3)


def test_mdpo_on_policy_one_hot_gets_near_optimal(small_mdp):
    mdp, exact = small_mdp
    res = approx.mdpo_on_policy(approx.TabularEnv(mdp, horizon=20, start="uniform"), gamma=mdp.gamma, max_iter=15,
                                steps_per_batch=256, hidden=(32,), lr=3e-3, seed=0)
    pi = approx.tabular_policy(res.networks["policy"], 4, device="cpu")
    assert np.max(exact.v - tabular.policy_value(mdp, pi)) < 0.02 / (1 - mdp.gamma)
    assert res.info["kl"].shape == (15,) and np.all(res.info["kl"] >= 0)


@pytest.mark.slow
def test_mdpo_off_policy_one_hot_gets_near_optimal(small_mdp):
    mdp, exact = small_mdp
    res = approx.mdpo_off_policy(approx.TabularEnv(mdp, horizon=20, start="uniform"), gamma=mdp.gamma,
                                 total_steps=1200, learning_starts=200, hidden=(32,), lr=3e-3, old_policy_every=100,
                                 seed=0)
    pi = approx.tabular_policy(res.networks["policy"], 4, device="cpu")
    assert np.max(exact.v - tabular.policy_value(mdp, pi)) < 0.02 / (1 - mdp.gamma)


def test_parametric_envs_change_the_physics():
    base = approx.make_parametric_env("CartPole-v1")
    heavy = approx.make_parametric_env("CartPole-v1", {"masspole": 1.0, "length": 1.5})
    assert heavy.unwrapped.polemass_length == pytest.approx(1.5)
    outs = []
    for env in (base, heavy):
        env.reset(seed=0)
        outs.append(env.step(1)[0])
    assert not np.allclose(outs[0], outs[1])
    pend = approx.make_parametric_env("Pendulum-v1", [2.0, 1.0, 9.0], n_discrete_actions=3)
    assert pend.action_space.n == 3 and pend.unwrapped.m == 2.0 and pend.unwrapped.g == 9.0
    with pytest.raises(InvalidModelError, match="no parameter"):
        approx.make_parametric_env("CartPole-v1", {"gravity": 3.0})
    with pytest.raises(InvalidModelError, match="expected"):
        approx.make_parametric_env("Pendulum-v1", [1.0, 1.0])
    with pytest.raises(InvalidModelError, match="Discrete"):
        approx.dqn(gymnasium.make("Pendulum-v1"), total_steps=10)


def test_tabular_env_matches_the_model():
    mdp = envs.random_mdp(3, 2, gamma=0.9, seed=0)
    env = approx.TabularEnv(mdp, horizon=5)
    obs, info = env.reset(seed=1)
    counts = np.zeros(3)
    for _ in range(4000):
        env.reset()
        env.state = 1
        _, r, term, trunc, info = env.step(0)
        counts[info["state"]] += 1
        assert r == mdp.R[1, 0] and not term
    assert np.max(np.abs(counts / 4000 - np.asarray(mdp.P)[1, 0])) < 0.04


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available: the GPU path is tested on CPU only")
def test_dqn_runs_on_gpu(small_mdp):
    mdp, _ = small_mdp
    res = approx.dqn(approx.TabularEnv(mdp), gamma=mdp.gamma, total_steps=300, learning_starts=100, device="cuda")
    assert next(res.networks["q"].parameters()).is_cuda


def test_agent_sizes_and_rates_are_validated():
    # batch_size = 0 trained on empty batches (NaN losses, an untrained network, no error);
    # target_update = 0 failed with ZeroDivisionError; a NaN MDPO step size surfaced as a
    # message about the policy
    mdp = envs.random_mdp(3, 2, seed=0, gamma=0.9)
    env = approx.TabularEnv(mdp, horizon=3)
    for kwargs, match in (({"batch_size": 0}, "batch_size"), ({"target_update": 0}, "target_update"),
                          ({"buffer_size": 0}, "buffer_size"), ({"train_every": 0}, "train_every"),
                          ({"learning_starts": -1}, "learning_starts"), ({"lr": 0.0}, "lr")):
        with pytest.raises(InvalidArgumentError, match=match):
            approx.dqn(env, total_steps=5, **kwargs)
    with pytest.raises((InvalidArgumentError, InvalidModelError), match="step_size"):
        approx.mdpo_exact_critic(mdp, step_size=float("nan"), max_iter=1, sgd_steps=1)
    for kwargs, match in (({"batch_size": 0}, "batch_size"), ({"buffer_size": 0}, "buffer_size")):
        with pytest.raises(InvalidArgumentError, match=match):
            approx.mdpo_off_policy(env, total_steps=5, **kwargs)
    with pytest.raises(InvalidArgumentError, match="minibatch_size"):
        approx.mdpo_on_policy(env, max_iter=1, steps_per_batch=4, minibatch_size=0)


def test_episode_tracker_keeps_the_bookkeeping_of_a_hand_written_loop():
    # the loop dqn and both mdpo variants used to spell out: reset seeded from rng, undiscounted
    # return and global end step of every finished episode, reset observation after an end
    from theory_rl.approx._nets import EpisodeTracker

    mdp = envs.random_mdp(4, 2, gamma=0.9, seed=2)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    env_a, env_b = approx.TabularEnv(mdp, horizon=7), approx.TabularEnv(mdp, horizon=7)
    tracker = EpisodeTracker(env_a, rng_a)
    obs, _ = env_b.reset(seed=int(rng_b.integers(2**31)))
    returns, ends, episode_return = [], [], 0.0
    for step in range(1, 40):
        action = step % 2
        np.testing.assert_array_equal(tracker.obs, obs)
        seen, nxt, r, te, tr = tracker.step(action)
        np.testing.assert_array_equal(seen, obs)
        nxt_b, r_b, te_b, tr_b, _ = env_b.step(action)
        np.testing.assert_array_equal(nxt, nxt_b)
        assert (r, te, tr) == (r_b, te_b, tr_b)
        episode_return += r_b
        obs = nxt_b
        if te_b or tr_b:
            returns.append(episode_return)
            ends.append(step)
            episode_return = 0.0
            obs, _ = env_b.reset(seed=int(rng_b.integers(2**31)))
    assert tracker.returns == returns and tracker.ends == ends and len(ends) == 5  # horizon 7, 39 steps
    assert tracker.steps == 39
