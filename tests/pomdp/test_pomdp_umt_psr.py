"""UMT-PSR and OMLE on finite classes: the tree recursions against brute force over all
deterministic policies, the confidence set keeps the truth (binomial test), the optimistic TV sum
vanishes, multi-task learning needs fewer episodes per task, downstream OMLE on the reduced class."""

import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.stats import binom

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import POMDP
from theory_rl.pomdp import (
    FiniteJointClass,
    bracketing_cover,
    evaluate_tree_policy,
    future_m_vectors,
    history_tree_max,
    max_tv_policy,
    omle,
    plan_on_history_tree,
    shared_dynamics_class,
    umt_psr,
    umt_psr_downstream,
    well_conditioning_gamma,
)
from theory_rl.pomdp._forward import enumerate_trajectories, trajectory_probability
from theory_rl.pomdp._psr import PSR

S, A, O, H = 3, 2, 2, 3  # noqa: E741


def kernel(g):
    T = np.zeros((S, A, S))
    for a, ga in enumerate(g):
        T[:2, a] = [(1 - ga) / 2, (1 - ga) / 2, ga]
        stay = min(ga + 0.2, 0.95)
        T[2, a] = [(1 - stay) / 2, (1 - stay) / 2, stay]
    return T


def emission(q):
    E = np.empty((A, S, O))
    E[:, :2] = [q, 1 - q]
    E[:, 2] = [1 - q, q]
    return E


KERNELS = [kernel(g) for g in [(0.6, 0.4), (0.4, 0.6), (0.7, 0.3), (0.3, 0.7)]]
REWARD = np.array([[0.0, 1.0], [0.0, 1.0]])


def shared_instance(N, seed):
    qs = np.random.default_rng(seed).uniform(0.7, 0.9, size=N)
    cls, cands = shared_dynamics_class(KERNELS, [[emission(q), emission(q - 0.15)] for q in qs], horizon=H)
    return cls, cands, [cands[n][0] for n in range(N)]


def all_policies(n_actions, n_obs, horizon):
    """Every deterministic history-dependent policy as a tuple of per-level action arrays."""
    sizes = [(n_actions * n_obs) ** h for h in range(horizon)]
    for flat in itertools.product(range(n_actions), repeat=sum(sizes)):
        out, i = [], 0
        for s in sizes:
            out.append(np.array(flat[i : i + s]))
            i += s
        yield tuple(out)


def weight(policy, n_actions, n_obs, horizon):
    """pi(tau) = prod_h 1[a_h = policy(tau_{h-1})] computed directly, trajectory by trajectory."""
    a, o = enumerate_trajectories(n_actions, n_obs, horizon)
    w = np.ones(a.shape[0])
    for i in range(a.shape[0]):
        code = 0
        for h in range(horizon):
            if policy[h][code] != a[i, h]:
                w[i] = 0.0
            code = code * n_actions * n_obs + a[i, h] * n_obs + o[i, h]
    return w


@given(st.integers(1, 2), st.integers(0, 2**31))
def test_tree_recursion_equals_brute_force_over_policies(horizon, seed):
    rng = np.random.default_rng(seed)
    leaf = rng.normal(size=(2 * 2) ** horizon)
    value, pol = history_tree_max(leaf, 2, 2)
    brute = max(float(weight(p, 2, 2, horizon) @ leaf) for p in all_policies(2, 2, horizon))
    assert value == pytest.approx(brute, abs=1e-12)
    assert float(weight(pol, 2, 2, horizon) @ leaf) == pytest.approx(value, abs=1e-12)


@given(st.integers(0, 2**31))
def test_max_tv_is_the_tv_of_the_policy_laws(seed):
    rng = np.random.default_rng(seed)
    models = [POMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.dirichlet(np.ones(O), size=(A, S)),
                    np.zeros((S, A)), 1.0) for _ in range(2)]
    a, o = enumerate_trajectories(A, O, 2)
    p, q = (trajectory_probability(m, a, o) for m in models)
    tv, pol = max_tv_policy(p, q, A, O)
    w = weight(pol, A, O, 2)
    assert tv == pytest.approx(0.5 * np.abs(w * p - w * q).sum(), abs=1e-12)  # TV of the two trajectory laws
    assert tv == pytest.approx(max(0.5 * np.abs(weight(x, A, O, 2) * (p - q)).sum() for x in all_policies(A, O, 2)))
    assert 0 <= tv <= 1


def test_plan_value_is_the_value_of_its_policy():
    _, cands, truth = shared_instance(1, 0)
    a, o = enumerate_trajectories(A, O, H)
    p = trajectory_probability(truth[0], a, o)
    value, pol = plan_on_history_tree(p, REWARD)
    assert evaluate_tree_policy(p, REWARD, pol) == pytest.approx(value)
    # the optimal policy always takes action 0 (reaches the goal with 0.6 > 0.4)
    assert all((level == 0).all() for level in pol)


def test_confidence_set_keeps_the_truth_binomial():
    delta, runs = 0.1, 20
    failures = 0
    for seed in range(runs):
        cls, _, truth = shared_instance(2, seed)
        res = umt_psr(truth, cls, rewards=[REWARD] * 2, max_iter=8, delta=delta, seed=seed, true_index=0)
        failures += not all(e["true_in_set"] for e in res.trace)
    # under the theorem failures ~ Bin(runs, <= delta); reject at level 1e-3
    assert failures <= binom.ppf(0.999, runs, delta)


def test_optimistic_tv_vanishes_and_output_is_optimal():
    cls, _, truth = shared_instance(2, 1)
    res = umt_psr(truth, cls, rewards=[REWARD] * 2, max_iter=300, seed=1, true_index=0)
    tvs = np.array([e["tv_sum"] for e in res.trace])
    # B_k is not monotone, so neither is the TV sum; its late values are a small fraction of the first
    assert tvs[0] > 0.5 and tvs[-50:].max() < 0.2 * tvs[0]
    assert res.model_index in res.confidence_set and res.episodes_per_task == 300 * H
    a, o = enumerate_trajectories(A, O, H)
    for n in range(2):
        p = trajectory_probability(truth[n], a, o)
        assert plan_on_history_tree(p, REWARD)[0] - evaluate_tree_policy(p, REWARD, res.policies[n]) <= 0.05


def episodes_to_eps(N, seed, k_max=30, eps=0.05):
    cls, _, truth = shared_instance(N, seed)
    res = umt_psr(truth, cls, rewards=[REWARD] * N, max_iter=k_max, seed=seed)
    a, o = enumerate_trajectories(A, O, H)
    tables = [trajectory_probability(t, a, o) for t in truth]
    gaps = []
    for e in res.trace:
        g = []
        for n in range(N):
            policy = plan_on_history_tree(cls.tables[n][cls.members[e["mle"], n]], REWARD)[1]
            g.append(plan_on_history_tree(tables[n], REWARD)[0] - evaluate_tree_policy(tables[n], REWARD, policy))
        gaps.append(np.mean(g))
    bad = np.flatnonzero(np.array(gaps) > eps)
    return H * (1 + (0 if bad.size == 0 else bad[-1] + 1))


def test_multi_task_needs_fewer_episodes_per_task():
    single = np.mean([episodes_to_eps(1, s) for s in range(6)])
    multi = np.mean([episodes_to_eps(4, s) for s in range(6)])
    assert multi < single


def test_downstream_omle_on_the_reduced_class():
    cls, cands, truth = shared_instance(2, 3)
    up = umt_psr(truth, cls, rewards=[REWARD] * 2, max_iter=30, seed=3)
    upstream_models = [cands[n][cls.members[up.model_index, n]] for n in range(2)]
    new_E = [emission(0.85), emission(0.7)]
    candidates = [POMDP(T, E, np.zeros((S, A)), 1.0) for T in KERNELS for E in new_E]
    new_task = candidates[0]

    def same_kernel(c, ups):
        return np.allclose(c.T, ups[0].T)

    res, kept = umt_psr_downstream(new_task, candidates, upstream_models, similar=same_kernel, reward=REWARD,
                                   horizon=H, max_iter=20, seed=0)
    assert kept == [0, 1]  # the upstream estimate found the true kernel, so 2 of 8 candidates remain
    a, o = enumerate_trajectories(A, O, H)
    p = trajectory_probability(new_task, a, o)
    assert plan_on_history_tree(p, REWARD)[0] - evaluate_tree_policy(p, REWARD, res.policy) <= 1e-12
    with pytest.raises(InvalidModelError, match="similarity"):
        umt_psr_downstream(new_task, candidates, upstream_models, similar=lambda c, u: False, reward=REWARD,
                           horizon=H, max_iter=1)


def test_omle_keeps_truth_and_converges():
    _, cands, truth = shared_instance(1, 5)
    cls = FiniteJointClass.from_models([[c] for c in cands[0]], H)
    res = omle(truth[0], cls.tables[0], reward=REWARD, max_iter=40, seed=5)
    assert 0 in res.confidence_set
    a, o = enumerate_trajectories(A, O, H)
    p = trajectory_probability(truth[0], a, o)
    assert plan_on_history_tree(p, REWARD)[0] - evaluate_tree_policy(p, REWARD, res.policy) <= 0.05


def test_class_construction_and_bad_input():
    cls, cands, truth = shared_instance(2, 0)
    assert cls.size == 4 * 2 * 2 and cls.n_tasks == 2 and cls.horizon == H
    assert [t.shape[0] for t in cls.tables] == [8, 8]  # shared objects are tabulated once
    laws = cls.tables[0].reshape((8,) + (A, O) * H).sum(axis=(2, 4, 6))  # sum over o_1, o_2, o_3
    np.testing.assert_allclose(laws, 1.0)  # one probability law per candidate and action sequence
    with pytest.raises(InvalidModelError, match="members"):
        FiniteJointClass(cls.tables, np.zeros((3, 1), int), A, O)
    with pytest.raises(InvalidModelError, match="outside"):
        FiniteJointClass(cls.tables, np.full((1, 2), 9), A, O)
    with pytest.raises(InvalidModelError, match="simulators"):
        umt_psr(truth[:1], cls, rewards=[REWARD], max_iter=1)
    with pytest.raises(InvalidArgumentError, match="max_iter"):
        umt_psr(truth, cls, rewards=[REWARD] * 2, max_iter=0)
    with pytest.raises(InvalidModelError, match="rewards\\[1\\]"):
        umt_psr(truth, cls, rewards=[REWARD, np.zeros(3)], max_iter=1)
    with pytest.raises(InvalidModelError, match="equally long"):
        FiniteJointClass.from_models([[cands[0][0]], [cands[0][0], cands[1][0]]], H)


@given(pomdps(max_states=3, max_actions=2, max_observations=2), st.integers(0, 2**31))
def test_future_m_vectors_give_future_probabilities(model, seed):
    psr = PSR.from_pomdp(model, 3)
    rng = np.random.default_rng(seed)
    h = int(rng.integers(0, 4))
    a = rng.integers(0, model.n_actions, size=h)
    o = rng.integers(0, model.n_observations, size=h)
    assume(trajectory_probability(model, a, o) > 1e-6)
    fa, fo = enumerate_trajectories(model.n_actions, model.n_observations, 3 - h)
    joint = trajectory_probability(model, np.hstack([np.tile(a, (len(fa), 1)), fa]).astype(int),
                                   np.hstack([np.tile(o, (len(fo), 1)), fo]).astype(int))
    np.testing.assert_allclose(future_m_vectors(psr, h) @ psr.predictive_state(a, o),
                               joint / trajectory_probability(model, a, o), atol=1e-10)


@given(pomdps(max_states=3, max_actions=2, max_observations=2), st.booleans(), st.integers(0, 2**31))
def test_well_conditioning_gamma_against_brute_force(model, minimal, seed):
    psr = PSR.from_pomdp(model, 2, minimal=minimal)
    gamma = well_conditioning_gamma(psr)
    nA, nO = model.n_actions, model.n_observations
    worst = 0.0
    for h in range(3):
        m = future_m_vectors(psr, h)
        pols = list(all_policies(nA, nO, 2 - h)) if h < 2 else [()]
        for x in np.vstack([np.eye(psr.dims[h]), -np.eye(psr.dims[h])]):
            for p in pols:
                w = weight(p, nA, nO, 2 - h) if h < 2 else np.ones(1)
                worst = max(worst, float(w @ np.abs(m @ x)))
            if h < 2:
                worst = max(worst, max(np.abs(psr.operators[h][a] @ x).sum() for a in range(nA)))
    assert gamma == pytest.approx(1.0 / worst)
    rng = np.random.default_rng(seed)  # and the inequality holds at random x, not only at +-e_i
    for h in range(2):
        x = rng.normal(size=psr.dims[h])
        for p in all_policies(nA, nO, 2 - h):
            lhs = weight(p, nA, nO, 2 - h) @ np.abs(future_m_vectors(psr, h) @ x)
            assert lhs <= np.abs(x).sum() / gamma + 1e-9


def test_bracketing_cover():
    cls, _, _ = shared_instance(2, 0)
    funcs = np.stack([cls.tables[n][cls.members[:, n]] for n in range(2)], axis=1)
    for eta in (0.0, 0.3, 1.0, 10.0):
        groups = bracketing_cover(cls, eta)
        assert sorted(np.concatenate(groups).tolist()) == list(range(cls.size))  # a partition
        assert len(groups) <= cls.size
        for g in groups:
            width = (funcs[g].max(axis=0) - funcs[g].min(axis=0)).sum(axis=0)
            assert history_tree_max(width, A, O)[0] <= eta + 1e-12
    assert len(bracketing_cover(cls, 0.0)) == cls.size  # all members differ
    assert len(bracketing_cover(cls, 2.0 * H)) == 1  # widths never exceed N = 2 laws' total mass
    assert len(bracketing_cover(cls, 1.0)) <= len(bracketing_cover(cls, 0.3))


def test_class_from_psrs_equals_class_from_pomdps():
    """Candidates may be PSRs (any coordinates); their tables and core actions come from the PSR."""
    _, cands, _ = shared_instance(1, 0)
    rng = np.random.default_rng(0)
    psrs = []
    for c in cands[0][:3]:
        psr = PSR.from_pomdp(c, H)
        psrs.append(psr.transform([np.eye(d) + 0.3 * rng.normal(size=(d, d)) / d for d in psr.dims]))
    from_pomdps = FiniteJointClass.from_models([[c] for c in cands[0][:3]], H)
    from_psrs = FiniteJointClass.from_models([[p] for p in psrs], H)
    np.testing.assert_allclose(from_psrs.tables[0], from_pomdps.tables[0], atol=1e-10)
    # transformed PSRs have no core tests, so every action sequence is used for exploration
    assert len(from_psrs.core_actions[0]) == A**H
    assert set(from_pomdps.core_actions[1]) <= set(itertools.chain(*(
        itertools.product(range(A), repeat=k) for k in range(H))))
