"""Batched exact planners on torch against the numpy solvers of theory_rl.tabular."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from theory_rl import approx, envs, tabular
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="module")
def _numpy_solver_on_one_thread():
    """The numpy reference solves thousands of tiny models here; numba's parallel kernels spend more
    on thread hand-offs than on arithmetic for them (and spin on a shared machine), so the
    references run on one numba thread. Restored afterwards."""
    numba = pytest.importorskip("numba")
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)


def batches(masked=False):
    def build(shape):
        S, A = shape
        return st.lists(finite_mdps(min_states=S, max_states=S, min_actions=A, max_actions=A, masked=masked),
                        min_size=1, max_size=5)

    return st.tuples(st.integers(1, 6), st.integers(1, 4)).flatmap(build)


@given(batches(masked=True), st.sampled_from(["dense", "sparse"]), st.sampled_from(["span", "sup"]))
def test_batched_vi_equals_numpy_per_instance(mdps, layout, stopping):
    batch = approx.stack_mdps(mdps, layout=layout)
    sol = approx.batched_value_iteration(batch, tol=1e-10, stopping=stopping)
    for b, mdp in enumerate(mdps):
        ref = tabular.value_iteration(mdp, tol=1e-10, stopping=stopping)
        ours = sol.instance(b)
        # both are certified within tol/2 of v*, and follow the same iterates
        np.testing.assert_allclose(ours.v, ref.v, rtol=0, atol=1e-10)
        assert abs(ours.n_iter - ref.n_iter) <= 1
        assert ours.converged and ours.bound <= 0.5e-10 + 1e-15
        assert np.all(ours.lower <= ref.v + 1e-9) and np.all(ref.v <= ours.upper + 1e-9)
        exact = tabular.policy_iteration(mdp)
        assert np.max(exact.v - tabular.policy_value(mdp, ours.policy)) <= 1e-10 + 1e-12


@given(batches())
def test_batched_vi_follows_numpy_iterates_at_loose_tol(mdps):
    """At tol=1e-3 the two solvers stop after the same number of backups with the same answer
    (the midpoint of the same MacQueen bounds), not merely two answers within tol."""
    sol = approx.batched_value_iteration(approx.stack_mdps(mdps), tol=1e-3)
    for b, mdp in enumerate(mdps):
        ref = tabular.value_iteration(mdp, tol=1e-3)
        if ref.n_iter == int(sol.n_iter[b]):
            np.testing.assert_allclose(sol.v[b].cpu().numpy(), ref.v, rtol=0, atol=1e-10)
            np.testing.assert_array_equal(sol.policy[b].cpu().numpy(), ref.policy)


@given(batches(masked=True), st.sampled_from(["dense", "sparse"]), st.booleans(), st.integers(0, 2**31))
def test_batched_policy_evaluation_equals_linear_solve(mdps, layout, stochastic, seed):
    rng = np.random.default_rng(seed)
    B, S, A = len(mdps), mdps[0].n_states, mdps[0].n_actions
    masks = np.stack([m.action_mask if m.action_mask is not None else np.ones((S, A), bool) for m in mdps])
    if stochastic:
        policy = rng.random((B, S, A)) * masks
        policy /= policy.sum(-1, keepdims=True)
    else:
        policy = np.array([[rng.choice(np.flatnonzero(masks[b, s])) for s in range(S)] for b in range(B)])
    sol = approx.batched_policy_evaluation(approx.stack_mdps(mdps, layout=layout), policy=policy, tol=1e-11)
    for b, mdp in enumerate(mdps):
        ref = tabular.policy_value(mdp, policy[b])
        np.testing.assert_allclose(sol.v[b].cpu().numpy(), ref, rtol=0, atol=1e-10)
        assert float(sol.bound[b]) <= 1e-10
        np.testing.assert_allclose(sol.q[b].cpu().numpy(), tabular.q_values(mdp, ref), rtol=0, atol=1e-9)


def test_batched_vi_raw_arrays_and_per_model_gamma():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(5), size=(3, 5, 2))
    R = rng.random((3, 5, 2))
    gamma = np.array([0.0, 0.5, 0.95])
    sol = approx.batched_value_iteration(P, R, gamma, tol=1e-9)
    for b in range(3):
        ref = tabular.policy_iteration(FiniteMDP(P[b], R[b], gamma[b]))
        np.testing.assert_allclose(sol.v[b].cpu().numpy(), ref.v, atol=1e-9)
    assert int(sol.n_iter[0]) == 1  # gamma = 0: the first backup is exact
    d = sol.to_dict()
    assert d["method"] == "batched_value_iteration" and len(d["v"]) == 3


def test_sparse_layout_on_a_large_sparse_model_matches_numpy():
    mdps = [envs.garnet(400, 3, 5, gamma=0.9, seed=s).to_sparse() for s in range(3)]
    sol = approx.batched_value_iteration(approx.stack_mdps(mdps, layout="sparse"), tol=1e-8)
    assert sol.params["layout"] == "sparse"
    for b, mdp in enumerate(mdps):
        np.testing.assert_allclose(sol.v[b].cpu().numpy(), tabular.value_iteration(mdp, tol=1e-8).v, atol=1e-8)


def test_float32_batch_is_certified_to_float32_accuracy():
    mdps = [envs.random_mdp(20, 4, gamma=0.9, seed=s) for s in range(4)]
    sol = approx.batched_value_iteration(approx.stack_mdps(mdps, dtype=torch.float32), tol=1e-3)
    for b, mdp in enumerate(mdps):
        assert np.max(np.abs(sol.v[b].cpu().numpy() - tabular.policy_iteration(mdp).v)) <= 1e-3


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")
def test_max_iter_reports_unconverged_models():
    mdps = [envs.random_mdp(6, 2, gamma=0.99, seed=s) for s in range(2)]
    sol = approx.batched_value_iteration(approx.stack_mdps(mdps), tol=1e-12, max_iter=3)
    assert not bool(sol.converged.any()) and (sol.n_iter == 3).all()
    with pytest.warns(Warning, match="did not certify"):
        approx.batched_value_iteration(approx.stack_mdps(mdps), tol=1e-12, max_iter=3)


def test_bad_input_names_the_entry():
    P = np.full((2, 3, 2, 3), 1 / 3)
    R = np.zeros((2, 3, 2))
    bad = P.copy()
    bad[1, 2, 0] = [0.5, 0.2, 0.2]
    with pytest.raises(InvalidModelError, match=r"P\[1, 2, 0, :\] sums to 0.9"):
        approx.batched_value_iteration(bad, R, 0.9)
    with pytest.raises(InvalidModelError, match=r"gamma\[1\] = 1.0"):
        approx.batched_value_iteration(P, R, [0.5, 1.0])
    with pytest.raises(InvalidModelError, match="expected"):
        approx.batched_value_iteration(P[:, :, :, :2], R, 0.9)
    with pytest.raises(InvalidModelError, match=r"next_states\[0, 0, 0, 0\] = 7"):
        approx.batched_value_iteration(np.ones((1, 3, 2, 1)), np.zeros((1, 3, 2)), 0.9,
                                       next_states=np.full((1, 3, 2, 1), 7))
    with pytest.raises(InvalidModelError, match=r"policy\[0, 1\] = 5"):
        approx.batched_policy_evaluation(P, R, 0.9, policy=np.array([[0, 5, 0], [0, 0, 0]]))
    with pytest.raises(InvalidArgumentError, match="not a torch device"):
        approx.batched_value_iteration(P, R, 0.9, device="tpu:x")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised when CUDA is absent")
def test_asking_for_cuda_without_it_is_an_error():
    with pytest.raises(InvalidArgumentError, match="CUDA is not available"):
        approx.batched_value_iteration(np.full((1, 2, 1, 2), 0.5), np.zeros((1, 2, 1)), 0.9, device="cuda")


# ---------------------------------------------------------------------------- empirical planning
def test_samples_follow_the_kernel():
    mdp = envs.random_mdp(5, 2, gamma=0.9, seed=4)
    samples = approx.sample_next_states(mdp, n_samples=40_000, n_models=1, seed=0)
    freq = np.stack([[np.bincount(samples[0, s, a], minlength=5) for a in range(2)] for s in range(5)]) / 40_000
    # 5 sigma of a binomial proportion with n = 40000
    assert np.max(np.abs(freq - np.asarray(mdp.P))) <= 5 * 0.5 / np.sqrt(40_000)
    zero = np.asarray(mdp.P) == 0
    assert not freq[zero].any()


def test_samples_are_the_learning_samplers_draws_and_masked_rows_give_the_placeholder():
    from theory_rl import learning

    mdp = envs.random_mdp(5, 3, seed=6)
    # one implementation of s' ~ P(.|s, a): the batched call is the learners' sampler
    np.testing.assert_array_equal(approx.sample_next_states(mdp, n_samples=9, n_models=1, seed=3)[0],
                                  learning.sample_transitions(mdp, n_per_pair=9, seed=3))
    mask = np.ones((5, 3), dtype=bool)
    mask[2, 1] = False
    P = np.array(mdp.P)
    P[2, 1] = 0.0
    masked = FiniteMDP(P, mdp.R, mdp.gamma, action_mask=mask)
    for model in (masked, masked.to_sparse()):
        samples = approx.sample_next_states(model, n_samples=50, n_models=2, seed=1)
        assert (samples[:, 2, 1] == 0).all()
        np.testing.assert_array_equal(samples[:, mask], approx.sample_next_states(mdp, n_samples=50, n_models=2, seed=1)[:, mask])
    res = approx.batched_empirical_planning(masked, n_samples=20, n_models=2, seed=0, tol=1e-10)
    assert np.all(res.plan.policy.cpu().numpy()[:, 2] != 1)  # the unavailable action is never chosen


def test_empirical_planning_equals_tabular_vi_on_the_empirical_model():
    mdp = envs.random_mdp(6, 3, gamma=0.9, seed=1)
    res = approx.batched_empirical_planning(mdp, n_samples=7, n_models=4, seed=11, tol=1e-10)
    samples = approx.sample_next_states(mdp, n_samples=7, n_models=4, seed=11)  # same seed, same data
    for b in range(4):
        counts = np.stack([[np.bincount(samples[b, s, a], minlength=6) for a in range(3)] for s in range(6)])
        hat = FiniteMDP(counts / 7.0, mdp.R, mdp.gamma)
        ref = tabular.value_iteration(hat, tol=1e-10)
        np.testing.assert_allclose(res.plan.v[b].cpu().numpy(), ref.v, atol=1e-10)
        true_value = tabular.policy_value(mdp, res.plan.policy[b].cpu().numpy())
        np.testing.assert_allclose(res.policy_values[b], true_value, atol=1e-9)
    assert np.all(res.policy_error >= -1e-9)
    sparse = approx.batched_empirical_planning(mdp, n_samples=7, n_models=4, seed=11, tol=1e-10, layout="sparse")
    np.testing.assert_allclose(sparse.plan.v.cpu().numpy(), res.plan.v.cpu().numpy(), atol=1e-10)


def test_empirical_planning_error_shrinks_with_samples_and_works_on_csr():
    mdp = envs.random_mdp(8, 2, gamma=0.8, seed=2).to_sparse()
    assert sp.issparse(mdp.P)
    small = approx.batched_empirical_planning(mdp, n_samples=5, n_models=30, seed=0)
    large = approx.batched_empirical_planning(mdp, n_samples=2000, n_models=30, seed=0)
    assert large.value_error.mean() < 0.5 * small.value_error.mean()
    # simulation-lemma scale: ||v_hat - v*|| <= gamma ||(P_hat - P) v*|| / (1 - gamma)^... sanity
    assert large.value_error.max() < 0.1 / (1 - mdp.gamma)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available: the GPU path is tested on CPU only")
def test_gpu_equals_cpu():
    mdps = [envs.random_mdp(30, 4, gamma=0.95, seed=s) for s in range(16)]
    cpu = approx.batched_value_iteration(approx.stack_mdps(mdps), tol=1e-10)
    gpu = approx.batched_value_iteration(approx.stack_mdps(mdps, device="cuda"), tol=1e-10, device="cuda")
    np.testing.assert_allclose(gpu.v.cpu().numpy(), cpu.v.cpu().numpy(), atol=1e-10)


@given(finite_mdps(min_states=2, max_states=5, sparse=False), st.integers(1, 6), st.integers(0, 2**31))
def test_empirical_models_are_probability_kernels_supported_on_the_true_one(mdp, n, seed):
    samples = approx.sample_next_states(mdp, n_samples=n, n_models=3, seed=seed)
    P = np.asarray(mdp.P)
    S, A = mdp.n_states, mdp.n_actions
    assert samples.shape == (3, S, A, n)
    for b in range(3):
        hat = np.stack([[np.bincount(samples[b, s, a], minlength=S) for a in range(A)] for s in range(S)]) / n
        np.testing.assert_allclose(hat.sum(-1), 1.0)
        assert not hat[P == 0].any()  # never a transition the model does not have
    again = approx.sample_next_states(mdp, n_samples=n, n_models=3, seed=seed)
    np.testing.assert_array_equal(samples, again)


def test_batched_results_are_json_ready():
    import json

    mdps = [envs.random_mdp(3, 2, gamma=0.5, seed=s) for s in range(2)]
    sol = approx.batched_value_iteration(approx.stack_mdps(mdps), device="auto" if not torch.cuda.is_available() else "cpu")
    json.dumps(sol.to_dict())
    res = approx.batched_empirical_planning(mdps[0], 3, 2, seed=0)
    assert json.loads(json.dumps(res.to_dict()))["n_samples"] == 3


def test_bad_option_strings_raise_the_library_error():
    # these option checks raised a bare ValueError (DESIGN: every bad input is a theory_rl error)
    mdp = envs.random_mdp(3, 2, seed=0)
    batch = approx.stack_mdps([mdp])
    cases = [
        (lambda: approx.stack_mdps([mdp], layout="csr"), "layout"),
        (lambda: approx.batched_value_iteration(batch, stopping="l2"), "stopping"),
        (lambda: approx.batched_policy_evaluation(batch, np.zeros((1, 3), int), method="lu"), "method"),
        (lambda: approx.batched_empirical_planning(mdp, n_samples=2, n_models=1, layout="csr"), "layout"),
        (lambda: approx.semi_gradient_td(np.eye(2), np.ones(2), np.eye(2), gamma=0.5, step_size=0.1,
                                                 n_steps=1, mode="batch"), "mode"),
    ]
    for call, match in cases:
        with pytest.raises(InvalidArgumentError, match=match):
            call()


def test_batched_iteration_limits_are_validated():
    # max_iter = 0 or -1 was accepted: VI still did one backup (n_iter 1 > max_iter)
    batch = approx.stack_mdps([envs.random_mdp(3, 2, seed=0, gamma=0.9)])
    for bad in (0, -1, 2.5):
        with pytest.raises(InvalidArgumentError, match="max_iter"):
            approx.batched_value_iteration(batch, max_iter=bad)
        with pytest.raises(InvalidArgumentError, match="max_iter"):
            approx.batched_policy_evaluation(batch, np.zeros((1, 3), int), method="iterative", max_iter=bad)
