"""f-DVL: implicit maximisers and the tabular/torch algorithm (spec section 3.5, 3.7.6).

(a) equivalence: TV at lam = 1 equals value iteration on the empirical MDP restricted to the
dataset's actions; Gumbel equals soft value iteration on the empirical MDP with reward
r + b log mu; torch on one-hot features reproduces the tabular fixed point; (b) properties: the
closed-form implicit maximisers (TV quantile, Gumbel log-sum-exp), the certified contraction
bound, the chi-square/TV lam = 1 degeneracy is reported; (c) reference: a two-action state.
"""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from theory_rl import dual, envs, tabular
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP

rows = st.integers(1, 4).flatmap(lambda k: st.tuples(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=k, max_size=k),
    st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k)))


@given(rows, st.floats(0.55, 0.99))
def test_tv_implicit_value_is_the_quantile(row, lam):
    q, w = np.array([row[0]]), np.array([row[1]])
    lower, upper = dual.implicit_value(q, w, "tv", lam)
    p = w[0] / w[0].sum()
    level = (1 - lam) / lam
    above = lambda v: p[q[0] > v].sum()  # noqa: E731
    at_or_above = lambda v: p[q[0] >= v].sum()  # noqa: E731
    assert above(lower[0] + 1e-9) <= level + 1e-9 <= at_or_above(lower[0] - 1e-9) + 1e-9
    # the smallest such V is a data point: the closed-form weighted quantile
    cands = np.sort(q[0])
    closed = cands[np.argmax([above(v) <= level + 1e-12 for v in cands])]
    assert lower[0] == pytest.approx(closed, abs=1e-9)


@given(rows, st.floats(0.1, 5.0))
def test_gumbel_implicit_value_is_log_sum_exp(row, lam):
    q, w = np.array([row[0]]), np.array([row[1]])
    lower, upper = dual.implicit_value(q, w, "gumbel", lam)
    expected = lam * logsumexp(q[0] / lam, b=w[0] / w[0].sum())
    assert lower[0] == pytest.approx(expected, abs=1e-9)
    assert upper[0] == pytest.approx(expected, abs=1e-9)


@given(rows, st.floats(0.05, 1.0))
def test_chi2_implicit_value_minimises_the_loss(row, lam):
    q, w = np.array(row[0]), np.array(row[1])
    lower, upper = dual.implicit_value(q[None], w[None], "chi2", lam)
    loss = lambda v: float(w @ dual.implicit_loss(q - v, "chi2", lam))  # noqa: E731
    grid = np.linspace(q.min() - 2 / lam - 1, q.max() + 5, 4001)
    best = min(loss(v) for v in grid)
    assert loss(lower[0]) <= best + 1e-9
    assert loss(upper[0]) <= best + 1e-9
    for eps in (1e-4, 1e-2):
        assert loss(lower[0] - eps) > loss(lower[0]) - 1e-12


def test_lam_one_degeneracy_is_reported():
    q = np.array([[1.0, 2.0, 2.5]])
    w = np.ones((1, 3))
    lo, hi = dual.implicit_value(q, w, "chi2", 1.0)
    assert lo[0] == pytest.approx(2.5) and hi[0] == pytest.approx(1.0 + 4.0)  # flat on [max Q, min Q + 4]
    lo, hi = dual.implicit_value(q, w, "tv", 1.0)
    assert lo[0] == pytest.approx(2.5) and hi[0] == np.inf
    mdp = envs.random_mdp(4, 2, seed=0, gamma=0.8)
    data = _data(mdp, 0)
    with pytest.warns(dual.DegenerateObjectiveWarning, match="non-unique minimiser"):
        res = dual.fdvl(data, gamma=0.8, f="chi2", lam=1.0)
    assert res.degenerate_states.size > 0
    assert np.all(res.v_upper[res.degenerate_states] > res.v[res.degenerate_states])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dual.fdvl(data, gamma=0.8, f="chi2", lam=0.9).degenerate_states.size == 0


def test_tv_quantile_tends_to_the_in_support_max():
    q = np.array([[0.0, 1.0, 3.0, 7.0]])
    w = np.array([[0.4, 0.3, 0.2, 0.1]])
    values = [dual.implicit_value(q, w, "tv", lam)[0][0] for lam in (0.6, 0.8, 0.9, 0.95, 1.0)]
    assert values == sorted(values) and values[-1] == 7.0


def _data(mdp, seed, n_episodes=40):
    expert = tabular.policy_iteration(mdp).policy
    return dual.collect_dataset(mdp, expert_policy=expert, n_episodes=n_episodes, episode_length=25,
                                expert_fraction=0.5, seed=seed)  # d0 is random: episodes start everywhere


def _empirical_mdp(data, gamma, reward):
    S, A = data.n_states, data.n_actions
    seen = data.counts() > 0
    assert seen.any(axis=1).all(), "precondition: every state has data"
    P = np.where(seen[:, :, None], data.next_state_matrix().toarray().reshape(S, A, S), 1.0 / S)
    return FiniteMDP(P, np.where(seen, reward, 0.0), gamma, action_mask=seen)


def _covered(data):
    return (data.counts() > 0).any(axis=1).all()


@settings(max_examples=10)
@given(finite_mdps(min_states=2, max_states=5, min_actions=2, max_actions=3, sparse=False, gamma=(0.5, 0.85)),
       st.integers(0, 1000))
def test_tv_lam_one_is_in_sample_value_iteration(mdp, seed):
    data = _data(mdp, seed)
    assume(_covered(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dual.DegenerateObjectiveWarning)
        res = dual.fdvl(data, gamma=mdp.gamma, f="tv", lam=1.0, tol=1e-10)
    emp = _empirical_mdp(data, mdp.gamma, data.mean_rewards())
    ref = tabular.value_iteration(emp, tol=1e-11)
    np.testing.assert_allclose(res.v, ref.v, atol=1e-9)
    assert res.bound <= 1e-10


@settings(max_examples=10)
@given(finite_mdps(min_states=2, max_states=5, min_actions=2, max_actions=3, sparse=False, gamma=(0.5, 0.85)),
       st.integers(0, 1000), st.sampled_from([0.3, 1.0]))
def test_gumbel_is_soft_value_iteration_with_behaviour_prior(mdp, seed, temperature):
    data = _data(mdp, seed)
    assume(_covered(data))
    res = dual.fdvl(data, gamma=mdp.gamma, f="gumbel", lam=temperature, tol=1e-10)
    mu = data.empirical_behaviour()
    reward = data.mean_rewards() + temperature * np.log(np.where(mu > 0, mu, 1.0))
    ref = tabular.soft_value_iteration(_empirical_mdp(data, mdp.gamma, reward), temperature=temperature, tol=1e-11)
    np.testing.assert_allclose(res.v, ref.v, atol=1e-8 / (1 - mdp.gamma))


def test_certified_bound_holds():
    mdp = envs.random_mdp(6, 3, seed=5, gamma=0.9)
    data = _data(mdp, 5)
    exact = dual.fdvl(data, gamma=0.9, f="chi2", lam=0.7, tol=1e-12)
    rough = dual.fdvl(data, gamma=0.9, f="chi2", lam=0.7, tol=1e-2)
    assert np.max(np.abs(rough.v - exact.v)) <= rough.bound + 1e-12
    assert rough.n_iter < exact.n_iter
    # the AWR policy is a distribution supported on the dataset's actions
    mu = data.empirical_behaviour()
    np.testing.assert_allclose(exact.policy.sum(axis=1), 1.0)
    assert np.all(exact.policy[mu == 0] == 0)


def test_single_state_reference():
    # one state, two actions with rewards 0 and 1, behaviour 50/50, gamma = 0.5:
    # TV at lam -> 1 takes the in-support max: V = 1 + 0.5 V, V = 2.
    data = dual.TransitionDataset([0, 0], [0, 1], [0.0, 1.0], [0, 0], [False, False], 1, 2)
    with pytest.warns(dual.DegenerateObjectiveWarning):
        res = dual.fdvl(data, gamma=0.5, f="tv", lam=1.0, tol=1e-12)
    assert res.v[0] == pytest.approx(2.0, abs=1e-10)
    assert res.greedy_policy[0] == 1
    # Gumbel temperature b: V = b log(0.5 e^{0.5 V / b} + 0.5 e^{(1 + 0.5 V)/b})  =>  V = 2 b log((1 + e^{1/b}) / 2)
    res = dual.fdvl(data, gamma=0.5, f="gumbel", lam=0.5, tol=1e-12)
    assert res.v[0] == pytest.approx(2 * 0.5 * np.log((1 + np.exp(2.0)) / 2), abs=1e-9)


@pytest.mark.parametrize(("f", "lam", "lr"), [("gumbel", 1.0, 0.03), ("chi2", 0.3, 0.1)])
def test_torch_on_one_hot_features_reproduces_tabular(f, lam, lr):
    # Adam's step size was picked per loss (measured: both reach 1e-10 of the fixed point in 800 steps)
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    mdp = envs.random_mdp(4, 2, seed=6, gamma=0.7)
    data = _data(mdp, 6, n_episodes=8)
    ref = dual.fdvl(data, gamma=0.7, f=f, lam=lam, tol=1e-10)
    S = data.n_states
    out = dual.fdvl_torch(dual.one_hot_features(data.states, S), data.actions, data.rewards,
                          dual.one_hot_features(data.next_states, S), data.dones, n_actions=2, gamma=0.7, f=f,
                          lam=lam, n_steps=800, lr=lr, seed=0, device="cpu")
    v = out.v_net(torch.eye(S, dtype=torch.float64)).detach().numpy().ravel()
    q = out.q_net(torch.eye(S, dtype=torch.float64)).detach().numpy()
    np.testing.assert_allclose(v, ref.v, atol=1e-6)
    seen = data.counts() > 0
    np.testing.assert_allclose(q[seen], ref.q[seen], atol=1e-6)


def test_bad_input():
    with pytest.raises(InvalidModelError, match=r"next_states\[1\] = 7"):
        dual.TransitionDataset([0, 1], [0, 0], [0.0, 0.0], [1, 7], [False, False], 2, 1)
    with pytest.raises(InvalidModelError, match="rewards has shape"):
        dual.TransitionDataset([0, 1], [0, 0], [0.0], [1, 0], [False, False], 2, 1)
    data = dual.TransitionDataset([0, 1], [0, 0], [0.0, 1.0], [1, 0], [False, False], 2, 1)
    with pytest.raises(InvalidArgumentError, match=r"lam \(of the TV loss\) = 0.5 must be .* in \(0.5, 1\]"):
        dual.fdvl(data, gamma=0.9, f="tv", lam=0.5)
    with pytest.raises(InvalidArgumentError, match="f must be one of"):
        dual.fdvl(data, gamma=0.9, f="hinge")
    with pytest.raises(InvalidArgumentError, match="gamma"):
        dual.fdvl(data, gamma=1.0)
    # the README's --f=reverse-KL spelling is accepted (the official code's comparison is case-sensitive)
    assert dual.fdvl(data, gamma=0.9, f="reverse-KL", lam=1.0).converged


def test_collected_dataset_statistics():
    mdp = envs.random_mdp(4, 3, seed=7, gamma=0.9)
    expert = tabular.policy_iteration(mdp).policy
    pure = dual.collect_dataset(mdp, expert_policy=expert, n_episodes=20, episode_length=20, expert_fraction=1.0,
                                seed=0)
    assert pure.is_expert.all() and np.array_equal(pure.actions, expert[pure.states])
    assert np.array_equal(pure.rewards, mdp.R[pure.states, pure.actions])
    assert not pure.dones.any() and pure.initial_states.size == 20
    rand = dual.collect_dataset(mdp, expert_policy=expert, n_episodes=400, episode_length=50, expert_fraction=0.0,
                                seed=1)
    n = rand.counts()
    # empirical kernel and behaviour converge to P and the uniform policy (4-sigma binomial bands)
    P_hat = rand.next_state_matrix().toarray().reshape(4, 3, 4)
    band = 4 * np.sqrt(0.25 / n)[:, :, None]
    assert np.all(np.abs(P_hat - mdp.P) <= band)
    assert np.all(np.abs(rand.empirical_behaviour() - 1 / 3) <= 4 * np.sqrt(0.25 / n.sum(axis=1, keepdims=True)))
    np.testing.assert_allclose(dual.behaviour_cloning(rand), rand.empirical_behaviour())


def test_torch_bad_actions_are_named():
    # an action outside [0, n_actions) reached torch's gather: a bare RuntimeError on CPU (a
    # device-side assert on CUDA); it must be the library's error naming the transition
    pytest.importorskip("torch")
    obs = np.eye(3)
    for actions, index in (([0, 1, 2], 2), ([0, -1, 1], 1)):
        with pytest.raises(InvalidModelError, match=rf"actions\[{index}\] = -?\d is not an action index in \[0, 2\)"):
            dual.fdvl_torch(obs, np.array(actions), np.ones(3), obs, np.zeros(3), n_actions=2, gamma=0.9, n_steps=1)
    with pytest.raises(InvalidArgumentError, match="n_actions"):
        dual.fdvl_torch(obs, np.zeros(3, int), np.ones(3), obs, np.zeros(3), n_actions=0, gamma=0.9, n_steps=1)
    with pytest.raises((InvalidArgumentError, InvalidModelError), match="n_steps"):
        dual.fdvl_torch(obs, np.zeros(3, int), np.ones(3), obs, np.zeros(3), n_actions=2, gamma=0.9, n_steps=-1)


def test_implicit_value_rejects_bad_weights_and_values():
    # a NaN weight gave V = 4 for Q = (1, 2, 3) (outside [min Q, max Q]) and a negative weight
    # entered the objective silently; Q must be finite where the weight is positive
    q = np.array([[1.0, 2.0, 3.0]])
    for w, match in ((np.array([[1.0, np.nan, 1.0]]), r"weights\[0, 1\] is nan"),
                     (np.array([[1.0, -1.0, 1.0]]), r"weights\[0, 1\] = -1 is negative"),
                     (np.ones((2, 3)), "shape")):
        for f, lam in (("tv", 0.7), ("chi2", 0.7), ("gumbel", 0.5)):
            with pytest.raises(InvalidModelError, match=match):
                dual.implicit_value(q, w, f, lam)
    with pytest.raises(InvalidModelError, match=r"q\[0, 2\] is nan"):
        dual.implicit_value(np.array([[1.0, 2.0, np.nan]]), np.ones((1, 3)), "tv", 0.7)
    # NaN where the weight is zero stays allowed (documented: unseen pairs)
    lower, _ = dual.implicit_value(np.array([[1.0, 2.0, np.nan]]), np.array([[1.0, 1.0, 0.0]]), "gumbel", 0.5)
    assert lower[0] == pytest.approx(0.5 * logsumexp(np.array([1.0, 2.0]) / 0.5, b=[0.5, 0.5]))
