"""Inner problems of the robust Bellman operator against independent LP / convex solvers."""

import warnings

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog, minimize_scalar
from scipy.special import logsumexp

from theory_rl.checks import robust_mdps
from theory_rl.errors import InvalidModelError
from theory_rl.models import FiniteMDP
from theory_rl.robust import (
    FiniteSet,
    IntervalSet,
    KLBall,
    L1Ball,
    LInfBall,
    ParametricSet,
    RectangularityWarning,
    RobustMDP,
    SARectFinite,
    _kernels,
    inner_problem,
    robust_value_iteration,
)
from theory_rl.robust._operator import RobustOperator

values = st.integers(0, 2**32 - 1).map(lambda s: np.random.default_rng(s))


def _v(rng, S):
    v = rng.normal(size=S) * 3
    if rng.uniform() < 0.3:  # ties
        v = np.round(v)
    return v


def _lp_l1(p, v, radius, restrict):
    n = len(p)
    c = np.r_[v, np.zeros(n)]
    eye = np.eye(n)
    A_ub = np.block([[eye, -eye], [-eye, -eye], [np.zeros((1, n)), np.ones((1, n))]])
    b_ub = np.r_[p, -p, radius]
    A_eq = np.r_[np.ones(n), np.zeros(n)][None]
    bounds = [(0, 0 if restrict and pj <= 0 else None) for pj in p] + [(0, None)] * n
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=bounds, method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        # q = p is feasible, but with these tolerances HiGHS' presolve declared a row with entries
        # of 1e-9..1e-11 infeasible (hypothesis found it): solve again without presolve
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=bounds, method="highs",
                      options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10,
                               "presolve": False})
    assert res.status == 0
    return res.fun


def _lp_box(v, lo, hi):
    # HiGHS' default feasibility tolerance (1e-7) let it return a value 3e-8 below the optimum on
    # a row with p_j ~ 4e-9 (hypothesis found it); tightened as in _lp_l1
    res = linprog(v, A_eq=np.ones((1, len(v))), b_eq=[1.0], bounds=list(zip(lo, hi)), method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    assert res.status == 0
    return res.fun


def _check_rows(rmdp, v, sigma, rows, *, set_atol=1e-8):
    """The minimisers lie in the set (within ``set_atol``) and attain the values."""
    np.testing.assert_allclose(np.einsum("sat,t->sa", rows, v), sigma, atol=1e-10)
    assert rmdp.uncertainty.contains(rmdp.nominal, rows, atol=set_atol)


@settings(max_examples=25)
@given(robust_mdps(kinds=("l1",), max_states=5, max_actions=3), values)
def test_sa_l1_equals_linprog(rmdp, rng):
    v = _v(rng, rmdp.n_states)
    sigma, rows = inner_problem(rmdp, v)
    U = rmdp.uncertainty
    radii = U.radii(rmdp.nominal)
    P = rmdp.nominal.P
    ref = np.array([[_lp_l1(P[s, a], v, radii[s, a], U.restrict_to_support) for a in range(rmdp.n_actions)]
                    for s in range(rmdp.n_states)])
    np.testing.assert_allclose(sigma, ref, atol=1e-8 * (1 + np.abs(v).max()))
    _check_rows(rmdp, v, sigma, rows)


@settings(max_examples=25)
@given(robust_mdps(kinds=("linf", "interval"), max_states=5, max_actions=3), values)
def test_box_sets_equal_linprog(rmdp, rng):
    v = _v(rng, rmdp.n_states)
    sigma, rows = inner_problem(rmdp, v)
    U = rmdp.uncertainty
    P = rmdp.nominal.P
    if isinstance(U, LInfBall):
        r = U.radii(rmdp.nominal)[..., None]
        lo = np.maximum(0, P - r)
        hi = np.minimum(1, P + r)
        if U.restrict_to_support:
            hi = np.where(P > 0, hi, 0.0)
    else:
        lo, hi = U.bounds(rmdp.nominal)
    ref = np.array([[_lp_box(v, lo[s, a], hi[s, a]) for a in range(rmdp.n_actions)] for s in range(rmdp.n_states)])
    np.testing.assert_allclose(sigma, ref, atol=1e-9 * (1 + np.abs(v).max()))
    _check_rows(rmdp, v, sigma, rows)


def _box_ref(rmdp, v):
    U = rmdp.uncertainty
    P = rmdp.nominal.P
    if isinstance(U, LInfBall):
        r = U.radii(rmdp.nominal)[..., None]
        lo, hi = np.maximum(0, P - r), np.minimum(1, P + r)
        if U.restrict_to_support:
            hi = np.where(P > 0, hi, 0.0)
    else:
        lo, hi = U.bounds(rmdp.nominal)
    return np.array([[_lp_box(v, lo[s, a], hi[s, a]) for a in range(rmdp.n_actions)] for s in range(rmdp.n_states)])


@settings(max_examples=25)
@given(robust_mdps(kinds=("linf", "interval"), max_states=6, max_actions=3), values)
def test_box_values_from_any_warm_start_equal_linprog(rmdp, rng):
    """The value-only path (threshold form started at the previous backup's rank) equals
    ``linprog`` whatever the start: a cold one, random garbage, and a previous backup of an
    unrelated value vector."""
    op = RobustOperator(rmdp)
    S = rmdp.n_states
    for start in ("cold", "garbage", "other_v"):
        if start == "garbage":
            op.k_warm[:] = rng.integers(-5, S + 5, size=op.k_warm.size)
        elif start == "other_v":
            op.sigma(-_v(rng, S))
        v = _v(rng, S)
        sigma, _ = op.sigma(v)
        ref = _box_ref(rmdp, v).ravel()
        np.testing.assert_allclose(sigma, ref, atol=1e-9 * (1 + np.abs(v).max()), err_msg=start)
        assert np.all((op.k_warm >= 0) & (op.k_warm < S))
        # a second backup warm-started from this one, after a small change of v, still exact
        v2 = v + rng.normal(size=S) * 1e-3
        sigma2, _ = op.sigma(v2)
        np.testing.assert_allclose(sigma2, _box_ref(rmdp, v2).ravel(), atol=1e-9 * (1 + np.abs(v2).max()))


@settings(max_examples=15)
@given(robust_mdps(kinds=("kl",), max_states=5, max_actions=3), values)
def test_sa_kl_equals_cvxpy(rmdp, rng):
    v = _v(rng, rmdp.n_states)
    sigma, rows = inner_problem(rmdp, v)
    P = rmdp.nominal.P.reshape(-1, rmdp.n_states)
    delta = rmdp.uncertainty.radii(rmdp.nominal).ravel()
    support = P > 0
    # the exponential cone is solved to ~1e-7; at delta ~ 0 the interior-point answer degrades,
    # where the exact answer is the nominal expectation, and rows with probabilities below 1e-4
    # make it lose digits (there the weak-duality check below is the reference). Such rows are
    # left out of the cvxpy problem altogether: solved jointly with them, Clarabel's answer on the
    # well-conditioned rows was 4e-4 off (hypothesis found it; the 1-D dual below agreed with us
    # to 1e-13)
    tiny = (delta < 1e-4).reshape(sigma.shape)
    ok_rows = (delta >= 1e-4) & (np.where(support, P, 1.0).min(axis=1) >= 1e-4)
    if ok_rows.any():
        Pk, sk = P[ok_rows], support[ok_rows]
        Q = cp.Variable(Pk.shape, nonneg=True)
        cons = [cp.sum(Q, axis=1) == 1, Q[~sk] == 0] if (~sk).any() else [cp.sum(Q, axis=1) == 1]
        kl = cp.sum(cp.multiply(sk, cp.kl_div(Q, np.where(sk, Pk, 1.0))), axis=1)
        cons.append(kl <= delta[ok_rows])
        prob = cp.Problem(cp.Minimize(cp.sum(Q @ v)), cons)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "may be inaccurate"
            prob.solve(solver=cp.CLARABEL)
        np.testing.assert_allclose(sigma.ravel()[ok_rows], Q.value @ v, atol=1e-5 * (1 + np.abs(v).max()))
    # an independent 1-D solve of the dual, max over beta of v_min - beta (log E_p exp(-w/beta) + delta)
    # (scipy's bounded scalar search in log beta): equal to 1e-8 wherever delta is not tiny
    for i in np.flatnonzero(delta >= 1e-4):
        p, sup = P[i], support[i]
        vmin = v[sup].min()

        def neg_dual(log_beta, p=p, sup=sup, vmin=vmin, d=delta[i]):
            beta = np.exp(log_beta)
            return -(vmin - beta * (logsumexp(-(v[sup] - vmin) / beta, b=p[sup]) + d))

        best = minimize_scalar(neg_dual, bounds=(-25.0, 12.0), method="bounded", options={"xatol": 1e-12})
        assert sigma.ravel()[i] == pytest.approx(-best.fun, abs=1e-8 * (1 + np.ptp(v)))
    # weak duality: -beta log E_p exp(-v/beta) - beta delta <= min for every beta > 0, with
    # equality at the optimum; a fine grid of beta comes within 1e-4
    vmin = np.array([v[row > 0].min() for row in P])
    betas = np.logspace(-4, 3, 4000)
    w = np.where(support, v[None, :] - vmin[:, None], 0.0)
    with np.errstate(under="ignore"):
        Z = np.einsum("it,itb->ib", P, np.exp(-w[:, :, None] / betas[None, None, :]))
    dual = vmin[:, None] - betas[None, :] * (np.log(Z) + delta[:, None])
    best = dual.max(axis=1).reshape(sigma.shape)
    assert np.all(best <= sigma + 1e-9)
    assert np.all((sigma - best)[~tiny] <= 1e-3 * (1 + np.ptp(v)))
    nominal = (P @ v).reshape(sigma.shape)
    assert np.all(sigma <= nominal + 1e-12)
    assert np.all(nominal[tiny] - sigma[tiny] <= np.sqrt(2 * delta.reshape(sigma.shape)[tiny]) * np.ptp(v) + 1e-12)
    _check_rows(rmdp, v, sigma, rows, set_atol=1e-7)


@settings(max_examples=20)
@given(robust_mdps(kinds=("l1s",), max_states=4, max_actions=3), values)
def test_s_rectangular_l1_equals_cvxpy_and_policy_is_optimal(rmdp, rng):
    v = _v(rng, rmdp.n_states)
    op = RobustOperator(rmdp)
    tv, policy, q = op.backup(v)
    assert q is None and policy.shape == (rmdp.n_states, rmdp.n_actions)
    np.testing.assert_allclose(policy.sum(1), 1.0, atol=1e-12)
    U = rmdp.uncertainty
    kappa = U.radii(rmdp.nominal)
    P, R, g = rmdp.nominal.P, rmdp.nominal.R, rmdp.gamma
    S, A = rmdp.n_states, rmdp.n_actions
    for s in range(S):
        X = cp.Variable((A, S), nonneg=True)
        t = cp.Variable()
        cons = [cp.sum(X, axis=1) == 1, cp.sum(cp.abs(X - P[s])) <= kappa[s]]
        if U.restrict_to_support and (P[s] <= 0).any():
            cons.append(X[P[s] <= 0] == 0)
        cons += [t >= R[s, a] + g * X[a] @ v for a in range(A)]
        cp.Problem(cp.Minimize(t), cons).solve(solver=cp.CLARABEL)
        assert tv[s] == pytest.approx(t.value, abs=1e-6 * (1 + np.abs(v).max()))
    # the randomised policy attains the value against the adversary's best response
    np.testing.assert_allclose(op.policy_backup(v, policy), tv, atol=1e-9 * (1 + np.abs(v).max()))
    kernel = op.worst_kernel(v, policy)
    assert U.contains(rmdp.nominal, kernel, atol=1e-8)
    attained = np.einsum("sa,sa->s", policy, R + g * np.einsum("sat,t->sa", kernel, v))
    np.testing.assert_allclose(attained, tv, atol=1e-9 * (1 + np.abs(v).max()))


@settings(max_examples=25)
@given(robust_mdps(kinds=("l1s",), max_states=6, max_actions=4), values)
def test_s_rectangular_warm_starts_give_the_cold_answer(rmdp, rng):
    """The s-rectangular kernel's warm start (one Newton step from the previous backup's depth
    ``max_a f_a(0) - u*``, accepted only where ``g`` is provably linear) returns the cold sweep's
    value (checked against cvxpy above) from the previous backup of a nearby, a shifted or an
    unrelated vector, and from garbage depths; its randomised policy attains the value."""
    S = rmdp.n_states
    v = _v(rng, S)
    cold, _, _ = RobustOperator(rmdp).backup(v)
    op = RobustOperator(rmdp)
    scale = 1 + np.abs(v).max()
    for start in ("same", "nearby", "shifted", "unrelated", "garbage"):
        if start == "garbage":
            op.depth[:] = rng.choice([0.0, 1e-12, 0.3, 5.0, 1e300, -1.0, np.nan], size=S)
        else:
            prev = {"same": v, "nearby": v + rng.normal(size=S) * 1e-3, "shifted": v + 2.5,
                    "unrelated": _v(rng, S)}[start]
            op.backup(prev)
        tv, policy, _ = op.backup(v)
        np.testing.assert_allclose(tv, cold, atol=1e-10 * scale, err_msg=start)
        np.testing.assert_allclose(op.policy_backup(v, policy), tv, atol=1e-9 * scale, err_msg=start)
        assert np.all(op.depth >= -1e-12)


@settings(max_examples=20)
@given(robust_mdps(kinds=("l1s",), max_states=4, max_actions=3), values, values)
def test_s_rectangular_policy_evaluation_equals_linprog(rmdp, rng, rng2):
    v = _v(rng, rmdp.n_states)
    S, A = rmdp.n_states, rmdp.n_actions
    pi = rng2.dirichlet(np.ones(A), size=S)
    out = RobustOperator(rmdp).policy_backup(v, pi)
    U = rmdp.uncertainty
    kappa = U.radii(rmdp.nominal)
    P, R, g = rmdp.nominal.P, rmdp.nominal.R, rmdp.gamma
    for s in range(S):
        X = cp.Variable((A, S), nonneg=True)
        cons = [cp.sum(X, axis=1) == 1, cp.sum(cp.abs(X - P[s])) <= kappa[s]]
        if U.restrict_to_support and (P[s] <= 0).any():
            cons.append(X[P[s] <= 0] == 0)
        obj = sum(pi[s, a] * (R[s, a] + g * X[a] @ v) for a in range(A))
        prob = cp.Problem(cp.Minimize(obj), cons)
        prob.solve(solver=cp.CLARABEL)
        assert out[s] == pytest.approx(prob.value, abs=1e-6 * (1 + np.abs(v).max()))


@settings(max_examples=20)
@given(robust_mdps(kinds=("sarect", "finite"), max_states=5, max_actions=3), values)
def test_finite_candidates_inner_is_min_over_candidates(rmdp, rng):
    v = _v(rng, rmdp.n_states)
    U = rmdp.uncertainty
    C = U.rows(rmdp.nominal) if isinstance(U, SARectFinite) else U.kernels.transpose(1, 2, 0, 3)
    if U.is_sa_rectangular:
        sigma, _ = inner_problem(rmdp, v)
    else:
        with pytest.warns(RectangularityWarning):
            sigma, _ = inner_problem(rmdp, v)
    np.testing.assert_allclose(sigma, np.einsum("sakt,t->sak", C, v).min(-1), atol=1e-12)


@settings(max_examples=20)
@given(robust_mdps(kinds=("kl",), max_states=6, max_actions=3), values)
def test_kl_values_do_not_depend_on_the_warm_start(rmdp, rng):
    """The value-only KL path (dual value after a warm-started Newton step) agrees with the
    written-rows path from a cold start, whatever ``t`` the previous backup left: garbage
    (0, tiny, huge, inf, nan, negative) or the root of an unrelated value vector; and rows with
    full support (shared ``w = v - min v``) agree with the per-row support pass."""
    op = RobustOperator(rmdp)
    S = rmdp.n_states
    v = _v(rng, S)
    ref, rows = RobustOperator(rmdp).sigma(v, rows=True)
    scale = 1 + np.abs(v).max()
    np.testing.assert_allclose(np.einsum("it,t->i", rows.reshape(-1, S), v), ref, atol=1e-10 * scale)
    garbage = np.array([0.0, 1e-300, 1e300, np.inf, np.nan, -1.0, 1e-3, 1e3])
    for start in ("garbage", "other_v", "same"):
        if start == "garbage":
            op.t_warm[:] = rng.choice(garbage, size=op.t_warm.size)
        elif start == "other_v":
            op.sigma(-3 * _v(rng, S))
        sigma, _ = op.sigma(v)
        np.testing.assert_allclose(sigma, ref, atol=1e-10 * scale, err_msg=start)
    # the per-row support pass on full rows gives the same values as the shared shift
    op.full_support[:] = False
    op.t_warm[:] = 0.0
    np.testing.assert_allclose(op.sigma(v)[0], ref, atol=1e-10 * scale)
    assert op.kl_fails == 0


def test_l1_closed_form_by_hand():
    # p = (0.5, 0.3, 0.2), v = (0, 1, 2), kappa = 0.4: move 0.2 from state 2 to state 0
    P = np.array([[[0.5, 0.3, 0.2]]] * 3).reshape(3, 1, 3)
    mdp = FiniteMDP(P, np.zeros((3, 1)), 0.9)
    sigma, rows = inner_problem(RobustMDP(mdp, L1Ball(0.4)), np.array([0.0, 1.0, 2.0]))
    assert sigma[0, 0] == pytest.approx(0.3)
    np.testing.assert_allclose(rows[0, 0], [0.7, 0.3, 0.0])
    # restricted to a support without the lowest state: mass goes to the lowest *supported* one
    P2 = np.array([[[0.0, 0.6, 0.4]]] * 3).reshape(3, 1, 3)
    sig2, rows2 = inner_problem(RobustMDP(FiniteMDP(P2, np.zeros((3, 1)), 0.9), L1Ball(0.4, restrict_to_support=True)),
                                np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(rows2[0, 0], [0.0, 0.8, 0.2])
    assert sig2[0, 0] == pytest.approx(1.2)
    sig3, _ = inner_problem(RobustMDP(FiniteMDP(P2, np.zeros((3, 1)), 0.9), L1Ball(0.4)), np.array([0.0, 1.0, 2.0]))
    assert sig3[0, 0] == pytest.approx(1.4 - 0.4)  # 0.2 mass from state 2 to state 0


def test_kl_saturates_at_the_lowest_support_value():
    P = np.array([[[0.5, 0.5, 0.0]], [[0.5, 0.5, 0.0]], [[0.5, 0.5, 0.0]]])
    mdp = FiniteMDP(P, np.zeros((3, 1)), 0.9)
    v = np.array([1.0, 2.0, -5.0])  # state 2 is off the support: a KL ball cannot reach it
    sigma, rows = inner_problem(RobustMDP(mdp, KLBall(np.log(2) + 1e-9)), v)
    assert sigma[0, 0] == pytest.approx(1.0)
    np.testing.assert_allclose(rows[0, 0], [1.0, 0.0, 0.0])


def test_tilt_exp_is_accurate():
    x = -np.r_[np.linspace(0, 700, 20001), np.logspace(-12, 2, 500)]
    out = np.empty_like(x)
    _kernels.exp_nonpositive(x, out, np.empty(x.size, dtype=np.int64))
    np.testing.assert_allclose(out, np.exp(x), rtol=2e-15, atol=0)


def test_bad_sets_are_rejected():
    mdp = FiniteMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), 0.9)
    with pytest.raises(InvalidModelError, match="negative"):
        RobustMDP(mdp, L1Ball(-0.1))
    with pytest.raises(InvalidModelError, match="shape"):
        RobustMDP(mdp, L1Ball(np.ones(3)))
    with pytest.raises(InvalidModelError, match="rectangularity"):
        L1Ball(0.1, rectangularity="x")
    with pytest.raises(InvalidModelError, match=r"lo > hi|nominal"):
        RobustMDP(mdp, IntervalSet(np.full((2, 2, 2), 0.6), np.full((2, 2, 2), 0.7)))
    with pytest.raises(InvalidModelError, match=r"candidates\[1, 0, 0, :\] sums"):
        C = np.full((2, 2, 1, 2), 0.5)
        C[1, 0, 0] = [0.5, 0.4]
        RobustMDP(mdp, SARectFinite(C))
    with pytest.raises(InvalidModelError, match="differ in shape"):
        FiniteSet([np.full((2, 2, 2), 0.5), np.full((3, 2, 3), 1 / 3)])
    with pytest.raises(InvalidModelError, match="low"):
        ParametricSet([[1.0, 0.0]], lambda th: None)
    with pytest.raises(InvalidModelError, match="FiniteMDP"):
        RobustMDP("not a model", L1Ball(0.1))
    with pytest.raises(InvalidModelError, match="to_finite"):
        RobustOperator(RobustMDP(mdp, ParametricSet([[0.0, 1.0]], lambda th: np.full((2, 2, 2), 0.5))))


@settings(max_examples=20)
@given(robust_mdps(max_states=4, max_actions=3, kinds=("l1", "l1s", "linf", "kl", "interval", "sarect")), values)
def test_samples_belong_to_the_set(rmdp, rng):
    P = rmdp.uncertainty.sample(rmdp.nominal, seed=rng)
    assert rmdp.uncertainty.contains(rmdp.nominal, P, atol=1e-8)


def test_s_rectangular_l1_regression_newton_stopped_early():
    """An instance (found by a random search against a ``linprog`` of the s-rectangular LP) where
    the former Newton iteration on the budget function stopped 0.005 above the robust value; the
    sweep gives the LP's value 311/350."""
    rows = np.array([[0.32, 0.1, 0.52, 0.06], [0.45, 0.1, 0.05, 0.4]])
    P = np.broadcast_to(rows, (4, 2, 4)).copy()
    R = np.broadcast_to([0.55, 0.49], (4, 2)).copy()
    rmdp = RobustMDP(FiniteMDP(P, R, 0.9), L1Ball(1.0, rectangularity="s"))
    op = RobustOperator(rmdp)
    v = np.array([2.0, 2.0, -1.0, 3.0])
    tv, policy, _ = op.backup(v)
    np.testing.assert_allclose(tv, 311 / 350, rtol=1e-13)
    np.testing.assert_allclose(op.policy_backup(v, policy), tv, rtol=1e-13)


@settings(max_examples=25)
@given(robust_mdps(kinds=("l1", "linf", "kl"), max_states=6, max_actions=3), values)
def test_csr_nominal_values_equal_the_dense_ones_without_densifying(rmdp, rng):
    """A CSR nominal model: the L1, L-inf and KL values come from the stored rows (the dense operator's
    values are checked against linprog/cvxpy above), no dense copy of P is kept, and the rows
    (when asked for) and robust value iteration agree with the dense model's."""
    sparse = RobustMDP(rmdp.nominal.to_sparse(), rmdp.uncertainty)
    op_s, op_d = RobustOperator(sparse), RobustOperator(rmdp)
    assert op_s.csr is not None
    S = rmdp.n_states
    for _ in range(3):
        v = _v(rng, S)
        scale = 1 + np.abs(v).max()
        np.testing.assert_allclose(op_s.sigma(v)[0], op_d.sigma(v)[0], atol=1e-11 * scale)
        tv_s, pol_s, _ = op_s.backup(v)
        np.testing.assert_allclose(tv_s, op_d.backup(v)[0], atol=1e-11 * scale)
    assert op_s._P2 is None
    sig, rows = inner_problem(sparse, v)
    np.testing.assert_allclose(sig.ravel(), op_d.sigma(v)[0], atol=1e-10 * scale)
    _check_rows(sparse, v, sig, rows, set_atol=1e-7)
    vi_s = robust_value_iteration(sparse, tol=1e-8)
    vi_d = robust_value_iteration(rmdp, tol=1e-8)
    np.testing.assert_allclose(vi_s.v, vi_d.v, atol=1e-7 / (1 - rmdp.gamma))


def test_kl_tiny_radius_with_a_far_tiny_mass_regression():
    """delta = 1e-12 on a row with mass 1e-17 at its lowest value (found by comparing the dense
    and CSR kernels): the former small-delta shortcut t = sqrt(2 delta / Var) was 3% off there
    and returned a value 1.8e-6 below the minimum (an infeasible tilt). The minimum is within
    1e-12 of the 1-D dual's maximum, and weak duality bounds it from below."""
    p = np.array([0.0, 0.0, 8.01478759e-09, 0.0, 5.35816797e-14, 0.0, 1.02104685e-17, 0.0,
                  3.33930603e-05, 4.52039884e-06, 0.0, 0.0])
    p[10] = 1.0 - p.sum()
    v = np.array([-1.0, 3.0, 1.0, 3.0, 2.0, -4.0, -3.0, -1.0, 1.0, 1.0, 1.0, -0.0])
    P = np.broadcast_to(p, (12, 1, 12)).copy()
    rmdp = RobustMDP(FiniteMDP(P, np.zeros((12, 1)), 0.9), KLBall(1e-12))
    sup = p > 0
    vmin = v[sup].min()

    def neg_dual(log_beta):
        beta = np.exp(log_beta)
        return -(vmin - beta * (logsumexp(-(v[sup] - vmin) / beta, b=p[sup]) + 1e-12))

    best = -minimize_scalar(neg_dual, bounds=(-5.0, 5.0), method="bounded", options={"xatol": 1e-14}).fun
    for rows in (False, True):
        sigma = RobustOperator(rmdp).sigma(v, rows=rows)[0]
        assert np.all(sigma >= best - 1e-12) and np.all(sigma <= p @ v + 1e-15)
    sparse = RobustOperator(RobustMDP(rmdp.nominal.to_sparse(), KLBall(1e-12)))
    assert np.all(np.abs(sparse.sigma(v)[0] - best) <= 1e-12)


def test_kl_cold_start_lost_to_cancellation_regression():
    """A row with mass 8e-20 at its lowest value (found by comparing the dense and CSR kernels):
    Var_p(w) cancels to 0, the cold start was t = 4e148, and halving the bracket never came back
    within 60 steps (the dense kernel returned v_min = 0 and counted a failure). Now both kernels
    reach the 1-D dual's maximum."""
    p = np.array([0.0, 0.0, 1.17909987e-02, 8.13587029e-20, 0.0, 0.0, 0.0, 0.0])
    p[7] = 1.0 - p.sum()
    v = np.array([-1.0, 5.0, 3.0, 0.0, -4.0, 1.0, -3.0, 3.0])
    P = np.broadcast_to(p, (8, 1, 8)).copy()
    rmdp = RobustMDP(FiniteMDP(P, np.zeros((8, 1)), 0.9), KLBall(1e-3))
    sup = p > 0

    def neg_dual(log_beta):
        beta = np.exp(log_beta)
        return -(-beta * (logsumexp(-v[sup] / beta, b=p[sup]) + 1e-3))  # v_min = 0 on the support

    best = -minimize_scalar(neg_dual, bounds=(-8.0, 4.0), method="bounded", options={"xatol": 1e-14}).fun
    for model in (rmdp, RobustMDP(rmdp.nominal.to_sparse(), KLBall(1e-3))):
        op = RobustOperator(model)
        np.testing.assert_allclose(op.sigma(v)[0], best, atol=1e-10)
        assert op.kl_fails == 0


@settings(max_examples=10)
@given(robust_mdps(kinds=("kl",), max_states=6, max_actions=3), values,
       st.sampled_from([1e-300, 1e-200, 1e-100, 1e100, 1e160, 1e300]))
def test_kl_values_are_invariant_to_the_scale_of_v_regression(rmdp, rng, scale):
    """sigma(c v) = c sigma(v): the KL problem is positively homogeneous in v. The Newton
    iteration used absolute constants (stop at |g| <= 1e-13 (1 + max w) t, a variance floor of
    1e-300): at |v| ~ 1e-100 any t passed the stopping test and the values were 7% off with no
    failure counted; at 1e160 E w^2 overflowed and every row returned NaN. Reference: the
    1-D dual (scipy) at scale 1, for the dense and CSR kernels, value-only and with rows."""
    v = _v(rng, rmdp.n_states)
    P, delta = rmdp.nominal.P, rmdp.uncertainty.radii(rmdp.nominal)
    ref = np.array([[_kl_dual(P[s, a], v, delta[s, a]) for a in range(rmdp.n_actions)]
                    for s in range(rmdp.n_states)]).ravel()
    tol = 1e-9 * (1 + np.ptp(v))
    for model in (rmdp, RobustMDP(rmdp.nominal.to_sparse(), rmdp.uncertainty)):
        for rows in (False, True):
            op = RobustOperator(model)
            if rows and model.nominal.is_sparse:
                continue
            sigma, kernel = op.sigma(v * scale, rows=rows)
            assert op.kl_fails == 0
            np.testing.assert_allclose(sigma / scale, ref, atol=tol, err_msg=f"scale {scale:g}, rows {rows}")
            if rows:
                np.testing.assert_allclose(np.einsum("sat,t->sa", kernel, v).ravel(), ref, atol=tol)


def _kl_dual(p, v, delta):
    """``max_beta v_min - beta (log E_p exp(-(v - v_min)/beta) + delta)`` (weak duality, exact at the
    optimum), or the closed-form endpoints."""
    sup = p > 0
    vs, ps = v[sup], p[sup]
    vmin = vs.min()
    if delta <= 0 or np.all(vs <= vmin):
        return p @ v
    if delta >= -np.log(ps[vs <= vmin].sum()):
        return vmin
    if delta <= 1e-10:
        # the dual's optimum is at beta ~ sqrt(Var / 2 delta), where evaluating it loses
        # beta * 1e-16 to rounding: use the expansion E_p v - sqrt(2 delta Var_p v) + O(delta)
        return p @ v - np.sqrt(2.0 * delta * (ps @ (vs - ps @ vs) ** 2))

    def neg_dual(log_beta):
        beta = np.exp(log_beta)
        return -(vmin - beta * (logsumexp(-(vs - vmin) / beta, b=ps) + delta))

    res = minimize_scalar(neg_dual, bounds=(-30.0, 30.0), method="bounded", options={"xatol": 1e-12})
    return max(-res.fun, vmin)


def test_s_rectangular_newton_step_is_taken_and_exact():
    """The warm start's acceptance rule, tested on the kernel itself (the backup tests pass even
    if the step were never accepted): from a level at or near the cold sweep's ``u*`` (where the
    budget function is linear around ``u*``) the Newton step is accepted for most states and
    then equals ``u*``; from far levels (above every action, below every floor, between) it is
    either rejected (nan) or still ``u*``."""
    from theory_rl.envs import random_mdp

    accepted = total = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        S, A = 8, 3
        mdp = random_mdp(S, A, seed=seed, gamma=0.9)
        restrict = bool(seed % 2)
        kappa = rng.uniform(0.05, 1.5, size=S)
        op = RobustOperator(RobustMDP(mdp, L1Ball(kappa, rectangularity="s", restrict_to_support=restrict)))
        v = rng.normal(size=S) * 3
        u_star = op.backup(v)[0]
        order = np.argsort(v, kind="stable")
        P2, r = op.P2, op.r
        f_top = np.array([[r[s * A + a] + op.gamma * P2[s * A + a] @ v for a in range(A)] for s in range(S)])
        kstop = np.array([[_kernels._support_floor(P2[s * A + a], order, restrict) for a in range(A)]
                          for s in range(S)], dtype=np.int64)
        for s in range(S):
            vmin = v[order[kstop[s]]]
            scratch = [np.empty(A) for _ in range(4)]
            for ug in (u_star[s], u_star[s] + 1e-9, u_star[s] - 1e-9, f_top[s].max(), f_top[s].min(), -1e9, 1e9,
                       u_star[s] + rng.normal() * 0.1):
                u1 = _kernels._s_l1_at_level(P2, s, v, order, op.gamma, A, kappa[s], ug, f_top[s].copy(), kstop[s],
                                             vmin, *scratch)
                near = abs(ug - u_star[s]) <= 1e-9
                total += near
                if u1 == u1:
                    accepted += near
                    assert u1 == pytest.approx(u_star[s], abs=1e-10), (seed, s, ug)
    assert accepted >= 0.5 * total  # the step is really taken where g is linear around u*
