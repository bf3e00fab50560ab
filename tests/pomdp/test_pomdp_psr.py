"""PSRs: equal to the forward algorithm on every sequence, invariant under similarity transforms,
minimal dimension = rank of the system-dynamics matrix, predictive states are test probabilities."""

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidModelError
from theory_rl.models import POMDP
from theory_rl.pomdp._forward import enumerate_trajectories, trajectory_probability
from theory_rl.pomdp._psr import PSR, independent_columns

small = pomdps(max_states=5, max_observations=3)


def _sizes_ok(model, H):
    return (model.n_actions * model.n_observations) ** H <= 1500


@given(small, st.integers(0, 4), st.booleans())
def test_psr_equals_forward_algorithm_on_every_sequence(model, H, minimal):
    assume(_sizes_ok(model, H))
    psr = PSR.from_pomdp(model, H, minimal=minimal)
    for h in range(H + 1):  # every prefix length, not only H
        a, o = enumerate_trajectories(model.n_actions, model.n_observations, h)
        np.testing.assert_allclose(psr.trajectory_probability(a, o), trajectory_probability(model, a, o),
                                   rtol=0, atol=1e-10)


@given(small, st.integers(1, 4), st.booleans(), st.integers(0, 2**31))
def test_similarity_transform_leaves_probabilities_unchanged(model, H, minimal, seed):
    assume(_sizes_ok(model, H))
    psr = PSR.from_pomdp(model, H, minimal=minimal)
    rng = np.random.default_rng(seed)
    J = [np.eye(d) + 0.5 * rng.normal(size=(d, d)) / np.sqrt(d) for d in psr.dims]
    assume(all(np.linalg.cond(j) < 1e3 for j in J))
    moved = psr.transform(J)
    assert moved.core_tests is None
    assert not np.allclose(moved.operators[0], psr.operators[0])  # the raw operators did change
    a, o = enumerate_trajectories(model.n_actions, model.n_observations, H)
    np.testing.assert_allclose(moved.trajectory_probability(a, o), trajectory_probability(model, a, o),
                               rtol=0, atol=1e-10)


def system_dynamics_matrix(model, H, h):
    """D_h[tau_h, q] = P(tau_h, q) over all histories of length h and all tests of length H - h."""
    A, O = model.n_actions, model.n_observations  # noqa: E741
    a, o = enumerate_trajectories(A, O, H)
    p = trajectory_probability(model, a, o)
    return p.reshape((A * O) ** h, (A * O) ** (H - h))


@given(small, st.integers(1, 4))
def test_dimensions_and_rank_of_system_dynamics_matrix(model, H):
    assume(_sizes_ok(model, H))
    full = PSR.from_pomdp(model, H)
    mini = PSR.from_pomdp(model, H, minimal=True)
    assert full.dims[H] == mini.dims[H] == 1
    for h in range(H + 1):
        D = system_dynamics_matrix(model, H, h)
        s = np.linalg.svd(D, compute_uv=False)
        rank = int((s > 1e-9 * s[0]).sum())
        assert mini.dims[h] == rank
        assert mini.dims[h] <= full.dims[h] <= model.n_states


@given(small, st.integers(1, 3), st.booleans(), st.integers(0, 2**31))
def test_predictive_state_holds_core_test_probabilities(model, H, minimal, seed):
    psr = PSR.from_pomdp(model, H, minimal=minimal)
    rng = np.random.default_rng(seed)
    h = int(rng.integers(0, H + 1))
    a = rng.integers(0, model.n_actions, size=h)
    o = rng.integers(0, model.n_observations, size=h)
    p_hist = trajectory_probability(model, a, o)
    assume(p_hist > 1e-6)
    psi = psr.predictive_state(a, o)
    assert psi.min() >= -1e-9 and psi.max() <= 1 + 1e-9
    for value, q in zip(psi, psr.core_tests[h]):
        qa = [x for x, _ in q]
        qo = [y for _, y in q]
        joint = trajectory_probability(model, np.r_[a, qa].astype(int), np.r_[o, qo].astype(int))
        assert value == pytest.approx(joint / p_hist, abs=1e-9)
    # any test, through its m-vector: P(q | tau_h) = m(q)^T psi(tau_h)
    k = H - h
    qa, qo = rng.integers(0, model.n_actions, size=k), rng.integers(0, model.n_observations, size=k)
    joint = trajectory_probability(model, np.r_[a, qa].astype(int), np.r_[o, qo].astype(int))
    m = psr.m_vector(list(zip(qa, qo)), h)
    assert float(m @ psi) == pytest.approx(joint / p_hist, abs=1e-9)


@given(small, st.integers(1, 3), st.integers(0, 2**31))
def test_one_step_marginalisation(model, H, seed):
    psr = PSR.from_pomdp(model, H, minimal=True)
    rng = np.random.default_rng(seed)
    h = int(rng.integers(0, H))
    a = rng.integers(0, model.n_actions, size=h)
    o = rng.integers(0, model.n_observations, size=h)
    nxt = int(rng.integers(model.n_actions))
    total = sum(psr.trajectory_probability(np.r_[a, nxt].astype(int), np.r_[o, y].astype(int))
                for y in range(model.n_observations))
    # a minimal PSR's parameters come from a rank-revealing factorisation, so each probability
    # carries a few hundred ulps of rounding (hypothesis found 1.4e-12 at H = 1); 1e-10 still
    # catches any real marginalisation error (those are O(1e-2) or larger)
    assert total == pytest.approx(psr.trajectory_probability(a, o), abs=1e-10)


def test_tiger_core_tests(tiger_model):
    """Tiger: listening reveals the state partially, opening resets it; from b0 uniform only the
    empty test is needed (d_0 = 1), later two (the state is binary and listening separates it)."""
    psr = PSR.from_pomdp(tiger_model, 3, minimal=True)
    assert psr.dims == (1, 2, 2, 1)
    assert psr.core_tests[1] == ((), ((0, 0),))  # the empty test and "listen, hear left"
    assert PSR.from_pomdp(tiger_model, 3).core_tests[0] == ((), ((0, 0),))


def test_independent_columns_keeps_the_first_of_dependent_ones():
    V = np.array([[1.0, 2.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    assert independent_columns(V) == [0, 2]
    assert independent_columns(np.zeros((3, 2))) == []


def test_bad_input():
    m = POMDP(np.full((2, 2, 2), 0.5), np.full((2, 2, 2), 0.5), np.zeros((2, 2)), 0.9)
    with pytest.raises(InvalidModelError, match="horizon"):
        PSR.from_pomdp(m, -1)
    psr = PSR.from_pomdp(m, 2)
    with pytest.raises(InvalidModelError, match="exceed"):
        psr.trajectory_probability([0, 0, 0], [0, 0, 0])
    with pytest.raises(InvalidModelError, match="singular"):
        psr.transform([np.zeros((d, d)) for d in psr.dims])
    with pytest.raises(InvalidModelError, match="normalizers"):
        PSR(psr.initial_state, psr.operators, psr.normalizers[:-1])
    with pytest.raises(InvalidModelError, match="last axis"):
        PSR(np.ones(3), psr.operators, psr.normalizers)
    with pytest.raises(InvalidModelError, match="finite"):
        PSR(np.array([np.nan]), psr.operators, psr.normalizers)
    with pytest.raises(InvalidModelError, match="probability"):
        PSR(np.zeros(1), psr.operators, psr.normalizers).predictive_state([0], [0])


def structured_pomdp(seed, S, A=3, n_obs=8):
    """Near-deterministic moves and observations (hallway-like), the regime where core tests nearly
    depend on each other."""
    rng = np.random.default_rng(seed)
    T = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            T[s, a, s] += 0.1
            T[s, a, rng.integers(S)] += 0.8
            T[s, a, rng.integers(S)] += 0.1
    g = rng.integers(n_obs, size=S)
    O = np.zeros((A, S, n_obs))  # noqa: E741
    O[:, np.arange(S), g] = 0.9
    O[:, np.arange(S), (g + 1) % n_obs] += 0.1
    return POMDP(T, O, np.zeros((S, A)), 0.95)


@example(seed=0, S=24, minimal=False)
@example(seed=0, S=24, minimal=True)
@given(seed=st.integers(0, 2**31), S=st.integers(12, 24), minimal=st.booleans())
def test_structured_models_stay_exact(seed, S, minimal):
    """The core tests must be chosen well-conditioned (pivoted QR): taking candidates in the order given
    reached relative errors of 9e-2 on the first example (and 0.1 on hallway.POMDP)."""
    from theory_rl.pomdp._spectral import sample_trajectories

    model = structured_pomdp(seed, S)
    psr = PSR.from_pomdp(model, 4, minimal=minimal)
    a, o = sample_trajectories(model, n_episodes=500, horizon=4, seed=0)
    p = trajectory_probability(model, a, o)
    np.testing.assert_allclose(psr.trajectory_probability(a, o), p, rtol=0, atol=1e-10 * p.max())


def _torch_or_skip():
    return pytest.importorskip("torch")


@given(small, st.integers(1, 4))
def test_torch_operator_products_match_numpy(model, H):
    torch = _torch_or_skip()
    assume(_sizes_ok(model, H))
    from theory_rl.pomdp._psr import psr_trajectory_probability_torch

    psr = PSR.from_pomdp(model, H, minimal=True)
    a, o = enumerate_trajectories(model.n_actions, model.n_observations, H)
    want = psr.trajectory_probability(a, o)
    got32 = psr_trajectory_probability_torch(psr, a, o, device="cpu").numpy()
    got64 = psr_trajectory_probability_torch(psr, a, o, device="cpu", dtype=torch.float64).numpy()
    np.testing.assert_allclose(got32, want, atol=1e-5)
    np.testing.assert_allclose(got64, want, atol=1e-12)


def test_torch_on_cuda_matches_numpy():
    torch = _torch_or_skip()
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from theory_rl.pomdp._psr import psr_trajectory_probability_torch

    model = structured_pomdp(0, 24)
    psr = PSR.from_pomdp(model, 4)
    from theory_rl.pomdp._spectral import sample_trajectories

    a, o = sample_trajectories(model, n_episodes=4096, horizon=4, seed=0)
    got = psr_trajectory_probability_torch(psr, a, o, device="cuda").cpu().numpy()
    np.testing.assert_allclose(got, psr.trajectory_probability(a, o), atol=1e-5)
