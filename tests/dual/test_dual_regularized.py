"""f-divergence conjugates and the regularised primal / dual-V / dual-Q (spec sections 3.3, 3.7.4-5).

(a) equivalence: cvxpy primal = scipy dual-V = scipy dual-Q (strong duality), closed-form
policy values; (b) theorem properties: recovered w* satisfies the flow constraints, the value
tends to the LP optimum as alpha -> 0 and never exceeds it, convexity (restarts agree), the
dual-Q inner minimum is a lower bound for every policy; (c) references: conjugates against the
numerical supremum, KL's closed-form regularised optimum for a one-state MDP.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from theory_rl import dual
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP


def numerical_sup(f, y, lo, hi):
    res = minimize_scalar(lambda x: -(x * y - f(x)), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-12})
    return -res.fun, res.x


@pytest.mark.parametrize("name", ["kl", "chi2", "tv"])
def test_conjugates_match_numerical_supremum(name):
    div = dual.f_divergence(name)
    for y in np.linspace(-3.0, 3.0, 25):
        sup_p, x_p = numerical_sup(div.f, y, 0.0, 60.0)
        if np.isfinite(div.conjugate_positive(y)):
            assert div.conjugate_positive(y) == pytest.approx(sup_p, abs=1e-7)
            if div.ratio_positive is not None:
                assert div.ratio_positive(y) == pytest.approx(x_p, abs=1e-5)
        else:  # unbounded: the sup grows with the search interval
            assert numerical_sup(div.f, y, 0.0, 120.0)[0] > sup_p + 1.0
        lo = 1e-12 if name == "kl" else -60.0  # KL's f is +inf for x < 0
        sup, _ = numerical_sup(div.f, y, lo, 60.0)
        if np.isfinite(div.conjugate(y)):
            assert div.conjugate(y) == pytest.approx(sup, abs=1e-7)
        else:
            assert numerical_sup(div.f, y, lo * 2, 120.0)[0] > sup + 1.0


def test_conjugate_derivatives_by_finite_differences():
    y = np.linspace(-3.0, 3.0, 31) + 0.0123
    h = 1e-6
    for name in ("kl", "chi2"):
        div = dual.f_divergence(name)
        for conj, grad, curv in ((div.conjugate, div.ratio, div.curvature),
                                 (div.conjugate_positive, div.ratio_positive, div.curvature_positive)):
            np.testing.assert_allclose((conj(y + h) - conj(y - h)) / (2 * h), grad(y), atol=1e-6)
            np.testing.assert_allclose((grad(y + h) - grad(y - h)) / (2 * h), curv(y), atol=1e-5)


def _offline(mdp, seed):
    rng = np.random.default_rng(seed)
    d = rng.dirichlet(np.ones(mdp.n_states * mdp.n_actions)).reshape(mdp.n_states, mdp.n_actions)
    return 0.9 * d + 0.1 / d.size


@settings(max_examples=15)
@given(finite_mdps(min_states=2, max_states=5, max_actions=3, sparse=False),
       st.sampled_from(["kl", "chi2"]), st.sampled_from([0.05, 0.3, 1.0]))
def test_regularised_strong_duality_and_flow(mdp, f, alpha):
    d_off = _offline(mdp, 1)
    scale = 1.0 / (1.0 - mdp.gamma)
    prim = dual.regularized_primal(mdp, d_off, f, alpha)
    dv = dual.dual_v(mdp, d_off, f, alpha)
    dq = dual.dual_q(mdp, d_off, f, alpha)
    assert dv.converged and dq.converged
    assert dv.value == pytest.approx(prim.value, abs=1e-6 * scale)
    assert dq.value == pytest.approx(dv.value, abs=1e-8 * scale)
    # the recovered ratio w* satisfies the flow constraints, and is a distribution
    assert dv.flow_residual < 1e-8
    assert dv.occupancy.sum() == pytest.approx(1.0, abs=1e-8)
    np.testing.assert_allclose(dv.occupancy, prim.occupancy, atol=1e-5)
    if f == "kl":  # strictly convex dual: the multipliers of cvxpy's flow rows are the dual-V minimiser
        well_posed = dv.occupancy.sum(axis=1) > 1e-2  # (barely visited states pin V only weakly)
        np.testing.assert_allclose(prim.v[well_posed], dv.v[well_posed], atol=1e-4 * scale)
    # the recovered policy's closed-form regularised value attains the optimum
    assert dual.regularized_policy_value(mdp, d_off, f, alpha, dv.policy) == pytest.approx(dv.value, abs=1e-8 * scale)
    # never above the LP optimum
    assert dv.value <= dual.primal_lp(mdp).objective + 1e-9


@settings(max_examples=10)
@given(finite_mdps(min_states=2, max_states=5, max_actions=3, sparse=False), st.sampled_from(["kl", "chi2"]))
def test_value_tends_to_lp_optimum_as_alpha_vanishes(mdp, f):
    d_off = _offline(mdp, 2)
    lp = dual.primal_lp(mdp).objective
    values = [dual.dual_v(mdp, d_off, f, a).value for a in (1.0, 0.1, 0.01, 0.001)]
    gaps = lp - np.array(values)
    assert np.all(gaps >= -1e-9)
    assert np.all(np.diff(gaps) <= 1e-9)  # monotone in alpha
    # E_d[r] - alpha D <= LP* and D(d*_alpha||d^O) <= D(d_LP||d^O) gives gap <= alpha * D(d_LP||d^O)
    d_lp = dual.primal_lp(mdp).occupancy
    bound = dual.f_divergence(f).divergence(d_lp.ravel(), d_off.ravel())
    assert gaps[-1] <= 0.001 * bound + 1e-9


@settings(max_examples=10)
@given(finite_mdps(min_states=2, max_states=5, max_actions=3), st.sampled_from(["kl", "chi2"]))
def test_random_restarts_agree(mdp, f):
    d_off = _offline(mdp, 3)
    base = dual.dual_v(mdp, d_off, f, 0.1)
    scale = 1.0 / (1.0 - mdp.gamma)
    for seed in range(3):
        assert dual.dual_v(mdp, d_off, f, 0.1, seed=seed).value == pytest.approx(base.value, abs=1e-9 * scale)
        assert dual.dual_q(mdp, d_off, f, 0.1, seed=seed).value == pytest.approx(base.value, abs=1e-9 * scale)


@settings(max_examples=10)
@given(finite_mdps(min_states=2, max_states=5, max_actions=3, masked=True), st.sampled_from(["kl", "chi2"]),
       st.integers(0, 1000))
def test_dual_q_inner_minimum_is_the_policys_regularised_value(mdp, f, seed):
    d_off = _offline(mdp, 4)
    if mdp.action_mask is not None:
        d_off = d_off * mdp.action_mask
        d_off /= d_off.sum()
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
    if mdp.action_mask is not None:
        pi = pi * mdp.action_mask
        pi /= pi.sum(axis=1, keepdims=True)
    inner = dual.dual_q(mdp, d_off, f, 0.2, policy=pi)
    scale = 1.0 / (1.0 - mdp.gamma)
    assert inner.value == pytest.approx(dual.regularized_policy_value(mdp, d_off, f, 0.2, pi), abs=1e-8 * scale)
    np.testing.assert_allclose(inner.occupancy, dual.occupancy(mdp, pi), atol=1e-9)
    assert inner.value <= dual.dual_v(mdp, d_off, f, 0.2).value + 1e-9 * scale


def test_one_state_kl_closed_form():
    # One state, self-loops: d(a) is any distribution; max E_d[r] - alpha KL(d||d0) is
    # alpha log sum_a d0(a) exp(r(a)/alpha), attained at d ∝ d0 exp(r/alpha) (Gibbs variational principle).
    r = np.array([[0.0, 0.5, 1.0]])
    mdp = FiniteMDP(np.ones((1, 3, 1)), r, 0.7)
    d_off = np.array([[0.2, 0.3, 0.5]])
    alpha = 0.25
    sol = dual.dual_v(mdp, d_off, "kl", alpha)
    expected = alpha * np.log(np.sum(d_off * np.exp(r / alpha)))
    assert sol.value == pytest.approx(expected, abs=1e-12)
    gibbs = d_off * np.exp(r / alpha)
    np.testing.assert_allclose(sol.occupancy, gibbs / gibbs.sum(), atol=1e-10)


def test_bad_input_and_caveats():
    mdp = FiniteMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), 0.9)
    good = np.full((2, 2), 0.25)
    with pytest.raises(InvalidArgumentError, match="not strictly convex"):
        dual.dual_v(mdp, good, "tv", 0.1)
    with pytest.raises(InvalidModelError, match=r"d_offline\[1, 0\]"):
        dual.dual_v(mdp, np.array([[0.5, 0.5], [0.0, 0.0]]), "kl", 0.1)
    with pytest.raises(InvalidModelError, match="sums to"):
        dual.dual_v(mdp, np.full((2, 2), 0.3), "kl", 0.1)
    with pytest.raises(InvalidArgumentError, match="alpha"):
        dual.regularized_primal(mdp, good, "kl", 0.0)
    with pytest.raises(InvalidArgumentError, match="f must be one of"):
        dual.f_divergence("hellinger")
    # TV works in the primal (cvxpy), where no (f')^-1 is needed
    assert dual.regularized_primal(mdp, good, "tv", 0.1).flow_residual < 1e-7
