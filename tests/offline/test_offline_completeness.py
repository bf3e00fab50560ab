"""Bellman completeness of linear classes: exact gap, realizability, linear FQI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from offline_instances import tsitsiklis_van_roy

from theory_rl.errors import ConvergenceWarning, InvalidModelError, SolverError
from theory_rl.models import FiniteMDP
from theory_rl.offline import completeness_gap, fitted_q_iteration_linear, realizability_error
from theory_rl.tabular import policy_value, value_iteration


def _random_mdp(rng: np.random.Generator, S: int, A: int, gamma: float = 0.8) -> FiniteMDP:
    P = rng.dirichlet(np.full(S, 0.7), size=(S, A))
    return FiniteMDP(P, rng.uniform(-1, 1, (S, A)), gamma)


def _operator(mdp: FiniteMDP, pi: np.ndarray) -> np.ndarray:
    """M[(s, a), (s', a')] = P(s' | s, a) pi(a' | s'): P^pi acting on Q-functions."""
    S, A = mdp.n_states, mdp.n_actions
    P = np.asarray(mdp.P).reshape(S * A, S)
    return (P[:, :, None] * pi[None, :, :]).reshape(S * A, S * A)


def _krylov(M: np.ndarray, v: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Orthonormal basis of span{v, Mv, M^2 v, ...}: an M-invariant subspace containing v."""
    basis: list[np.ndarray] = []
    x = v
    for _ in range(M.shape[0]):
        for b in basis:
            x = x - (b @ x) * b
        n = np.linalg.norm(x)
        if n < tol:
            break
        basis.append(x / n)
        x = M @ basis[-1]
    return np.array(basis).T


def _in_span(Phi: np.ndarray, Y: np.ndarray) -> bool:
    coef = np.linalg.lstsq(Phi, Y, rcond=None)[0]
    return bool(np.max(np.abs(Phi @ coef - Y)) < 1e-8)


# --------------------------------------------------------------------------- the constructed instance
def test_realizable_but_incomplete_fqi_diverges():
    mdp, Phi = tsitsiklis_van_roy(0.9)
    assert realizability_error(mdp, Phi) == 0.0  # Q* = 0 is in F
    gap = completeness_gap(mdp, Phi, policy=[0, 0])
    assert gap.gap == pytest.approx(0.36, abs=1e-12)  # 0.9 * ||(0.8, -0.4)||_mu * ||(1, 2)||_mu^-1
    assert gap.reward_residual == 0.0 and gap.transition_gap == pytest.approx(0.36, abs=1e-12)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        res = fitted_q_iteration_linear(mdp, Phi, w0=[1.0], max_iter=1000)
    assert res.diverged and not res.converged
    ratios = res.history["w_norm"][1:6] / res.history["w_norm"][:5]
    assert np.allclose(ratios, 6 * 0.9 / 5)  # Pi T Phi w = (6 gamma / 5) Phi w
    with pytest.raises(SolverError):
        fitted_q_iteration_linear(mdp, Phi, w0=[1.0], strict=True)


def test_adding_the_missing_direction_closes_the_gap_and_fqi_converges():
    mdp, Phi = tsitsiklis_van_roy(0.9)
    Phi2 = np.column_stack([Phi, [1.0, 1.0]])  # the direction P phi / 2 that the class missed
    assert completeness_gap(mdp, Phi2, policy=[0, 0]).gap == pytest.approx(0.0, abs=1e-12)
    res = fitted_q_iteration_linear(mdp, Phi2, w0=[1.0, 1.0])
    assert res.converged and not res.diverged
    assert np.max(np.abs(res.q)) < 1e-9


def test_fqi_below_the_divergence_threshold_converges():
    mdp, Phi = tsitsiklis_van_roy(0.8)  # 6 * 0.8 / 5 < 1
    res = fitted_q_iteration_linear(mdp, Phi, w0=[1.0])
    assert res.converged and abs(res.w[0]) < 1e-8


# --------------------------------------------------------------------------- the iff, over random instances
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), S=st.integers(2, 5), A=st.integers(1, 3), case=st.sampled_from(["krylov", "random", "no_reward"]))
def test_gap_is_zero_iff_reward_and_transitions_stay_in_span(seed, S, A, case):
    rng = np.random.default_rng(seed)
    mdp = _random_mdp(rng, S, A)
    pi = rng.dirichlet(np.ones(A), size=S)
    M = _operator(mdp, pi)
    r = np.asarray(mdp.R).reshape(-1)
    if case == "krylov":  # M-invariant and contains r: complete
        Phi = _krylov(M, r) @ rng.normal(size=(_krylov(M, r).shape[1],) * 2)
    elif case == "no_reward":  # M-invariant (an eigen-direction set of M: the constants) but r outside
        Phi = np.ones((S * A, 1))
    else:
        Phi = rng.normal(size=(S * A, rng.integers(1, S * A)))
    weights = rng.uniform(0.1, 1.0, S * A)
    gap = completeness_gap(mdp, Phi, policy=pi, weights=weights).gap
    complete = _in_span(Phi, r) and _in_span(Phi, M @ Phi)
    assert (gap < 1e-8) == complete, (gap, complete)
    if case == "krylov":
        assert complete
    # the gap depends on the class only, not on its parametrisation
    G = rng.normal(size=(Phi.shape[1], Phi.shape[1])) + 3 * np.eye(Phi.shape[1])
    assert completeness_gap(mdp, Phi @ G, policy=pi, weights=weights).gap == pytest.approx(gap, abs=1e-8)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), S=st.integers(2, 4), A=st.integers(1, 3))
def test_complete_class_fqi_equals_policy_evaluation(seed, S, A):
    """Equivalence: with a T^pi-complete class, projected FQI converges to the exact Q^pi."""
    rng = np.random.default_rng(seed)
    mdp = _random_mdp(rng, S, A, gamma=0.7)
    pi = rng.dirichlet(np.ones(A), size=S)
    Phi = _krylov(_operator(mdp, pi), np.asarray(mdp.R).reshape(-1))
    res = fitted_q_iteration_linear(mdp, Phi, policy=pi, tol=1e-12)
    v = policy_value(mdp, pi)
    q = np.asarray(mdp.R) + 0.7 * np.asarray(mdp.P) @ v
    assert res.converged and np.max(np.abs(res.q - q)) < 1e-8


def test_t_star_gap_bounds():
    rng = np.random.default_rng(0)
    mdp = _random_mdp(rng, 3, 2)
    Phi = rng.normal(size=(6, 2))
    res = completeness_gap(mdp, Phi, seed=0)
    assert res.operator == "T_star"
    assert 0 < res.lower <= res.upper + 1e-12
    full = completeness_gap(mdp, np.eye(6))
    assert full.upper == pytest.approx(0.0, abs=1e-12) and full.lower == pytest.approx(0.0, abs=1e-12)
    # one action: T* is T^pi, and the bounds meet the exact T^pi gap
    one = FiniteMDP(rng.dirichlet(np.ones(3), size=(3, 1)), rng.normal(size=(3, 1)), 0.9)
    F1 = rng.normal(size=(3, 1))
    exact = completeness_gap(one, F1, policy=[0, 0, 0]).gap
    star = completeness_gap(one, F1)
    assert star.upper == pytest.approx(exact, rel=1e-9) and star.lower == pytest.approx(exact, rel=1e-9)


def test_realizability_error_is_the_weighted_distance_to_q_star():
    rng = np.random.default_rng(1)
    mdp = _random_mdp(rng, 3, 2)
    q = np.asarray(value_iteration(mdp, tol=1e-12).q).reshape(-1)
    assert realizability_error(mdp, q[:, None]) == pytest.approx(0.0, abs=1e-9)
    e = np.zeros(6)
    e[0] = 1.0
    # a single unit feature: the residual is q with its first entry removed, under mu = 1/6
    assert realizability_error(mdp, e[:, None]) == pytest.approx(np.sqrt(np.sum(q[1:] ** 2) / 6), rel=1e-8)


def test_bad_input():
    mdp, Phi = tsitsiklis_van_roy()
    with pytest.raises(InvalidModelError, match="Phi has 3 rows"):
        completeness_gap(mdp, np.ones((3, 1)), policy=[0, 0])
    with pytest.raises(InvalidModelError, match=r"weights\[1\] = 0.0 must be positive"):
        completeness_gap(mdp, Phi, policy=[0, 0], weights=[1.0, 0.0])
    with pytest.raises(InvalidModelError, match="w0 has shape"):
        fitted_q_iteration_linear(mdp, Phi, w0=[1.0, 2.0])
    with pytest.raises(InvalidModelError, match="Phi"):
        completeness_gap(mdp, [[np.nan], [1.0]], policy=[0, 0])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), S=st.integers(2, 4), A=st.integers(1, 2))
def test_gap_value_equals_brute_force_over_the_unit_ball(seed, S, A):
    """Equivalence: the SVD value vs the residual of explicit members (t, w) of the unit ball,
    projected by weighted least squares; no member exceeds it and the best comes within 2%."""
    rng = np.random.default_rng(seed)
    mdp = _random_mdp(rng, S, A)
    pi = rng.dirichlet(np.ones(A), size=S)
    Phi = rng.normal(size=(S * A, 1))
    mu = rng.uniform(0.2, 1.0, S * A)
    mu /= mu.sum()
    gap = completeness_gap(mdp, Phi, policy=pi, weights=mu).gap
    M, r = _operator(mdp, pi), np.asarray(mdp.R).reshape(-1)
    norm_phi = np.sqrt(mu @ Phi[:, 0] ** 2)
    theta = np.linspace(0, 2 * np.pi, 20001)
    t, w = np.cos(theta), np.sin(theta) / norm_phi  # t^2 + ||Phi w||_mu^2 = 1
    Y = np.outer(r, t) + 0.8 * (M @ Phi) @ w[None, :]
    sw = np.sqrt(mu)[:, None]
    coef = np.linalg.lstsq(sw * Phi, sw * Y, rcond=None)[0]
    resid = np.sqrt(mu @ (Y - Phi @ coef) ** 2)
    assert resid.max() <= gap + 1e-10
    assert resid.max() >= 0.98 * gap
