"""Robust VI / PPI / robust policy evaluation: equivalences, the theorems, reference values."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl.checks import robust_mdps
from theory_rl.envs import windy_walk
from theory_rl.errors import ConvergenceWarning, InvalidArgumentError
from theory_rl.models import FiniteMDP
from theory_rl.robust import (
    FiniteSet,
    KLBall,
    L1Ball,
    LInfBall,
    RectangularityWarning,
    RobustMDP,
    SARectFinite,
    robust_policy_evaluation,
    robust_policy_iteration,
    robust_value_iteration,
)
from theory_rl.robust._iwocs import _policy_value
from theory_rl.robust._operator import RobustOperator
from theory_rl.tabular import policy_iteration, q_values, value_iteration

RECT = ("l1", "l1s", "linf", "kl", "interval", "sarect")


def _scale(rmdp):
    return 1.0 / (1.0 - rmdp.gamma)


@settings(max_examples=30)
@given(robust_mdps(kinds=RECT, max_states=5, max_actions=3))
def test_vi_ppi_and_evaluation_agree_and_bracket(rmdp):
    tol = 1e-8
    vi = robust_value_iteration(rmdp, tol=tol)
    ppi = robust_policy_iteration(rmdp, tol=tol)
    assert vi.converged and ppi.converged
    # both certificates hold the true value: the intervals overlap, the answers agree within them
    eps = 1e-10 * _scale(rmdp)  # floating-point rounding of the certificates
    assert np.all(vi.lower <= ppi.upper + eps) and np.all(ppi.lower <= vi.upper + eps)
    assert np.max(np.abs(vi.v - ppi.v)) <= vi.bound + ppi.bound + eps
    assert vi.bound <= tol / 2 + eps and np.all(vi.upper - vi.lower <= tol + eps)
    # the returned policy is tol-optimal: its robust value (adversary PI) reaches the lower bound
    ev = robust_policy_evaluation(rmdp, vi.policy, tol=1e-10)
    assert np.all(ev.upper >= vi.lower - eps)
    # static = dynamic: the worst kernel is one kernel of the set realising the robust value
    U = rmdp.uncertainty
    assert U.contains(rmdp.nominal, ev.worst_kernel, atol=1e-7)
    v_static = RobustOperator(rmdp).evaluate(ev.policy, ev.worst_kernel)
    np.testing.assert_allclose(v_static, ev.v, atol=1e-7 * _scale(rmdp))


@settings(max_examples=25)
@given(robust_mdps(kinds=("l1", "linf", "kl", "interval", "sarect"), max_states=5, max_actions=3))
def test_saddle_point(rmdp):
    """Spec 1.7 item 7: V^{pi_rob}_{T*} = V*_{T*} = V_rob for sa-rectangular sets."""
    sol = robust_policy_iteration(rmdp, tol=1e-10)
    T_star = sol.worst_kernel
    mdp_star = rmdp.with_kernel(T_star)
    v_star = policy_iteration(mdp_star, tol=1e-10).v
    v_pi = _policy_value(rmdp, sol.policy, T_star)
    atol = 1e-7 * _scale(rmdp)
    np.testing.assert_allclose(v_pi, sol.v, atol=atol)
    np.testing.assert_allclose(v_star, sol.v, atol=atol)


@st.composite
def finite_rect(draw, max_states=3):
    S = draw(st.integers(2, max_states))
    A = 2
    K = 2
    g = draw(st.floats(0.5, 0.95))
    alpha = draw(st.sampled_from([0.1, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    C = rng.dirichlet(np.full(S, alpha), size=(S, A, K))
    nominal = FiniteMDP(C[:, :, 0], rng.uniform(size=(S, A)), g)
    return RobustMDP(nominal, SARectFinite(C))


@settings(max_examples=10)
@given(finite_rect())
def test_q_rob_is_min_over_static_q(rmdp):
    """Spec 1.7 item 1: Q_rob = min_T Q*_T, enumerating every kernel (at most 64)."""
    sol = robust_value_iteration(rmdp, tol=1e-11)
    qs = []
    for P in rmdp.uncertainty.enumerate_kernels(limit=64):
        mdp = rmdp.with_kernel(P)
        qs.append(q_values(mdp, policy_iteration(mdp, tol=1e-11).v))
    np.testing.assert_allclose(sol.q, np.min(qs, axis=0), atol=1e-8 * _scale(rmdp))


@settings(max_examples=25)
@given(finite_rect(), st.integers(0, 2**32 - 1))
def test_static_equals_dynamic_for_a_fixed_policy(rmdp, seed):
    """Spec 1.7 item 5: min_T V^pi_T (enumerated) = robust policy evaluation, for stochastic pi."""
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(rmdp.n_actions), size=rmdp.n_states)
    ev = robust_policy_evaluation(rmdp, pi, tol=1e-11)
    op = RobustOperator(rmdp)
    static = np.min([op.evaluate(pi, P) for P in rmdp.uncertainty.enumerate_kernels(limit=64)], axis=0)
    np.testing.assert_allclose(ev.v, static, atol=1e-8 * _scale(rmdp))


def test_negative_control_non_rectangular_set_warns_and_differs():
    """Spec 1.7 item 6: for a non-rectangular finite set the static robust value can be strictly
    higher than robust DP's value (the hull's), and the library says so."""
    rng = np.random.default_rng(0)  # instance found by search: a strict gap of 0.054
    S, A, K = 2, 2, 2
    kernels = rng.dirichlet(np.full(S, 0.3), size=(K, S, A))
    nominal = FiniteMDP(kernels[0], rng.uniform(size=(S, A)), 0.9)
    rmdp = RobustMDP(nominal, FiniteSet(kernels))
    assert not rmdp.is_sa_rectangular
    with pytest.warns(RectangularityWarning, match="hull"):
        hull_value = robust_value_iteration(rmdp, tol=1e-10).v[0]
    static = max(min(_policy_value(rmdp, np.array(pi), P)[0] for P in kernels)
                 for pi in itertools.product(range(A), repeat=S))
    assert static > hull_value + 0.05


@settings(max_examples=25)
@given(robust_mdps(kinds=RECT, max_states=5, max_actions=3), st.integers(0, 2**32 - 1))
def test_robust_operator_is_monotone_gamma_contraction(rmdp, seed):
    rng = np.random.default_rng(seed)
    op = RobustOperator(rmdp)
    u, w = rng.normal(size=(2, rmdp.n_states)) * 3
    tu, tw = op.backup(u)[0], op.backup(w)[0]
    assert np.max(np.abs(tu - tw)) <= rmdp.gamma * np.max(np.abs(u - w)) + 1e-10
    hi = np.maximum(u, w)
    assert np.all(op.backup(hi)[0] >= np.maximum(tu, tw) - 1e-10)
    np.testing.assert_allclose(op.backup(u + 2.5)[0], tu + rmdp.gamma * 2.5, atol=1e-10)


@settings(max_examples=20)
@given(robust_mdps(kinds=("l1", "linf", "kl", "l1s"), max_states=5, max_actions=3))
def test_zero_radius_is_the_nominal_mdp(rmdp):
    U = rmdp.uncertainty
    zero = type(U)(0.0, rectangularity="s") if U.rectangularity == "s" else type(U)(0.0)
    sol = robust_value_iteration(RobustMDP(rmdp.nominal, zero), tol=1e-9)
    ref = value_iteration(rmdp.nominal, tol=1e-9)
    np.testing.assert_allclose(sol.v, ref.v, atol=1e-8 * _scale(rmdp))


@settings(max_examples=20)
@given(robust_mdps(kinds=("l1", "l1s"), max_states=5, max_actions=3))
def test_whole_simplex_closed_form(rmdp):
    """L1 radius 2 (per action; 2A for s-rectangular) without support restriction is the whole
    simplex: nature sends everything to the worst state, so
    V(s) = max_a r(s,a) + gamma m/(1-gamma) with m = min_s max_a r(s,a)."""
    A = rmdp.n_actions
    U = L1Ball(2.0) if rmdp.uncertainty.rectangularity == "sa" else L1Ball(2.0 * A, rectangularity="s")
    sol = robust_value_iteration(RobustMDP(rmdp.nominal, U), tol=1e-10)
    R, g = rmdp.nominal.R, rmdp.gamma
    m = R.max(axis=1).min()
    np.testing.assert_allclose(sol.v, R.max(axis=1) + g * m / (1 - g), atol=1e-8 * _scale(rmdp))


def test_robust_value_between_min_and_nominal_and_decreasing_in_radius():
    from theory_rl.envs import random_mdp

    mdp = random_mdp(20, 3, seed=4, gamma=0.9)
    nominal = value_iteration(mdp, tol=1e-10).v
    prev = nominal
    for radius in (0.05, 0.2, 0.5, 1.0):
        for U in (L1Ball(radius), LInfBall(radius / 4), KLBall(radius)):
            v = robust_value_iteration(RobustMDP(mdp, U), tol=1e-10).v
            assert np.all(v <= nominal + 1e-9)
        v = robust_value_iteration(RobustMDP(mdp, L1Ball(radius)), tol=1e-10).v
        assert np.all(v <= prev + 1e-9)
        prev = v


def test_s_rectangular_is_between_sa_and_nominal():
    """Budget kappa shared by the actions of a state (s-rect) is weaker for nature than kappa per
    action (sa-rect): V_sa <= V_s <= V_nominal; the s-rect optimal policy is randomised."""
    from theory_rl.envs import random_mdp

    mdp = random_mdp(15, 3, seed=7, gamma=0.9)
    v_sa = robust_value_iteration(RobustMDP(mdp, L1Ball(0.4)), tol=1e-10).v
    sol_s = robust_value_iteration(RobustMDP(mdp, L1Ball(0.4, rectangularity="s")), tol=1e-10)
    v_nom = value_iteration(mdp, tol=1e-10).v
    assert np.all(v_sa <= sol_s.v + 1e-9) and np.all(sol_s.v <= v_nom + 1e-9)
    assert sol_s.policy.ndim == 2 and ((sol_s.policy > 1e-9).sum(axis=1) > 1).any()
    ev = robust_policy_evaluation(RobustMDP(mdp, L1Ball(0.4, rectangularity="s")), sol_s.policy, tol=1e-10)
    np.testing.assert_allclose(ev.v, sol_s.v, atol=1e-7)


def test_windy_walk_reference_value():
    """Measured reference (this library, robust PI and VI agree to 1e-10): robust value of the
    default windy walk at S. Regression guard for the environment and the solvers."""
    rmdp = windy_walk()
    s0 = int(np.argmax(rmdp.nominal.d0))
    vi = robust_value_iteration(rmdp, tol=1e-11)
    ppi = robust_policy_iteration(rmdp, tol=1e-11)
    assert vi.v[s0] == pytest.approx(0.534946378825, abs=1e-9)
    assert ppi.v[s0] == pytest.approx(vi.v[s0], abs=1e-10)
    nominal = policy_iteration(rmdp.nominal, tol=1e-11).v[s0]
    assert nominal > vi.v[s0] + 0.05  # the wind costs something


def test_not_converging_warns():
    rmdp = windy_walk()
    with pytest.warns(ConvergenceWarning):
        sol = robust_value_iteration(rmdp, tol=1e-12, max_iter=2)
    assert not sol.converged
    d = sol.to_dict()
    assert d["method"] == "robust_value_iteration" and isinstance(d["v"], list)
    assert "robust_value_iteration" in repr(sol)


def test_iteration_limits_are_validated():
    # max_iter = 0 reached `tv` before assignment (UnboundLocalError) in PPI and the evaluation;
    # a negative or fractional limit slipped through (or failed inside range()) in VI
    from theory_rl.errors import InvalidModelError

    rmdp = RobustMDP(FiniteMDP(np.full((2, 2, 2), 0.5), np.eye(2), 0.9), L1Ball(0.1))
    with pytest.raises(InvalidArgumentError, match="max_iter"):
        robust_policy_iteration(rmdp, max_iter=0)
    with pytest.raises((InvalidArgumentError, InvalidModelError), match="max_iter"):
        robust_policy_evaluation(rmdp, np.zeros(2, int), max_iter=0)
    for bad in (-3, 2.5):
        with pytest.raises(InvalidArgumentError, match="max_iter"):
            robust_value_iteration(rmdp, max_iter=bad)


def test_kl_newton_failures_warn_instead_of_passing_silently(monkeypatch):
    """A KL row that hits the Newton cap returns an inexact value while the certificate assumes
    exact backups: the solvers only recorded the count in ``info``; now they warn (the count is
    forced here, as no known row still fails)."""
    rmdp = RobustMDP(FiniteMDP(np.full((2, 2, 2), 0.5), np.eye(2), 0.9), KLBall(0.1))
    sigma = RobustOperator.sigma

    def failing_sigma(self, v, *, rows=False):
        out = sigma(self, v, rows=rows)
        self.kl_fails += 1
        return out

    monkeypatch.setattr(RobustOperator, "sigma", failing_sigma)
    with pytest.warns(ConvergenceWarning, match="KL inner problems"):
        sol = robust_value_iteration(rmdp, tol=1e-8)
    assert sol.info["kl_newton_failures"] > 0
    with pytest.warns(ConvergenceWarning, match="KL inner problems"):
        robust_policy_iteration(rmdp, tol=1e-8)
    with pytest.warns(ConvergenceWarning, match="KL inner problems"):
        robust_policy_evaluation(rmdp, np.zeros(2, dtype=int), tol=1e-8)
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        robust_value_iteration(rmdp, tol=1e-8)  # no failure, no warning
