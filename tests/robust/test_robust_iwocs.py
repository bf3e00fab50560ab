"""IWOCS (spec section 1.7 items 2-4) and the windy walk."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl.envs import windy_walk
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP
from theory_rl.robust import (
    FiniteSet,
    KLBall,
    L1Ball,
    LInfBall,
    RectangularityWarning,
    RobustMDP,
    SARectFinite,
    iwocs,
    robust_policy_iteration,
    robust_value_iteration,
    worst_case_theta,
)
from theory_rl.robust._iwocs import _policy_value


@st.composite
def finite_rect(draw):
    S = draw(st.integers(2, 4))
    A = draw(st.integers(2, 3))
    K = draw(st.integers(2, 3))
    g = draw(st.floats(0.5, 0.95))
    alpha = draw(st.sampled_from([0.1, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    C = rng.dirichlet(np.full(S, alpha), size=(S, A, K))
    nominal = FiniteMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(size=(S, A)), g)
    return RobustMDP(nominal, SARectFinite(C))


def _v_rob(rmdp, w):
    return float(w @ robust_policy_iteration(rmdp, tol=1e-10).v)


@settings(max_examples=25)
@given(finite_rect(), st.sampled_from(["hull", "minQ"]), st.sampled_from(["s0", "d0"]))
def test_certificate_sandwich_and_upper_non_increasing(rmdp, inner, score):
    res = iwocs(rmdp, inner=inner, score=score, tol=1e-8)
    w = np.full(rmdp.n_states, 1 / rmdp.n_states) if score == "d0" else np.eye(rmdp.n_states)[0]
    v_rob = _v_rob(rmdp, w)
    tol = 1e-9 / (1 - rmdp.gamma)
    for row in res.trace:
        assert row["lower"] <= v_rob + tol and v_rob <= row["upper"] + tol
    uppers = [row["upper"] for row in res.trace]
    assert all(b <= a + tol for a, b in zip(uppers, uppers[1:]))
    assert res.lower <= v_rob + tol <= res.upper + 2 * tol


@settings(max_examples=25)
@given(finite_rect())
def test_hull_terminates_exactly(rmdp):
    """Item 4: terminates, L = V_rob(s0) to 1e-6, no kernel twice, few iterations."""
    res = iwocs(rmdp, tol=1e-9)
    assert res.converged and res.stop_reason == "certificate"
    v_rob = _v_rob(rmdp, np.eye(rmdp.n_states)[0])
    assert res.lower == pytest.approx(v_rob, abs=1e-6)
    flat = res.models.reshape(len(res.models), -1)
    assert all(np.max(np.abs(flat[i] - flat[j])) > 1e-12 for i in range(len(flat)) for j in range(i))
    S, A, K = rmdp.uncertainty.rows(rmdp.nominal).shape[:3]
    assert res.n_iter <= S * A * (K - 1) + 1
    # the policy returned is robust-optimal: its robust value equals V_rob(s0)
    from theory_rl.robust import robust_policy_evaluation

    assert robust_policy_evaluation(rmdp, res.policy, tol=1e-10).v[0] == pytest.approx(v_rob, abs=1e-6)


def test_min_q_can_stall():
    """The paper's min-of-Q inner step stops without closing its certificate on this instance
    (found by search: 6 of 400 such instances stall), while the hull inner step closes it."""
    rng = np.random.default_rng(27)
    S, A, K = 3, 2, 3
    C = rng.dirichlet(np.full(S, 0.1), size=(S, A, K))
    nominal = FiniteMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(size=(S, A)), 0.95)
    rmdp = RobustMDP(nominal, SARectFinite(C))
    stalled = iwocs(rmdp, inner="minQ", tol=1e-8)
    assert stalled.stop_reason == "no new model" and not stalled.converged and stalled.gap > 1.0
    closed = iwocs(rmdp, inner="hull", tol=1e-8)
    assert closed.converged
    v_rob = _v_rob(rmdp, np.eye(S)[0])
    assert stalled.lower <= v_rob + 1e-9 <= stalled.upper + 2e-9
    assert closed.lower == pytest.approx(v_rob, abs=1e-7)


@pytest.mark.parametrize("U", [L1Ball(0.3), LInfBall(0.05), L1Ball(0.3, restrict_to_support=True),
                               L1Ball(0.5, rectangularity="s"), KLBall(0.2)])
def test_convex_sets_close_to_robust_vi(U):
    from theory_rl.envs import random_mdp

    mdp = random_mdp(12, 3, seed=3, gamma=0.9)
    rmdp = RobustMDP(mdp, U)
    if U.rectangularity == "sa":
        res = iwocs(rmdp, tol=1e-6, max_iter=60)
    else:
        with pytest.warns(RectangularityWarning):
            res = iwocs(rmdp, tol=1e-6, max_iter=60)
    v0 = robust_value_iteration(rmdp, tol=1e-11).v[0]
    assert res.lower <= v0 + 1e-8 <= res.upper + 2e-8
    if U.rectangularity == "sa":
        assert res.converged and res.upper - res.lower <= 1e-6


def test_windy_walk_certificate_closes():
    rmdp = windy_walk()
    res = iwocs(rmdp, tol=1e-6)
    s0 = int(np.argmax(rmdp.nominal.d0))
    v_rob = robust_value_iteration(rmdp, tol=1e-11).v[s0]
    assert res.converged and res.certified and res.certified_over == "set"
    assert res.lower == pytest.approx(v_rob, abs=1e-6) and res.upper == pytest.approx(v_rob, abs=1e-6)
    assert res.trace[0]["gap"] > 0.1  # the nominal model's policy is far from robust
    assert res.to_dict()["stop_reason"] == "certificate"


def test_non_rectangular_sets_give_valid_static_bounds():
    rng = np.random.default_rng(0)
    S, A, K = 2, 2, 2
    kernels = rng.dirichlet(np.full(S, 0.3), size=(K, S, A))
    rmdp = RobustMDP(FiniteMDP(kernels[0], rng.uniform(size=(S, A)), 0.9), FiniteSet(kernels))
    with pytest.warns(RectangularityWarning):
        res = iwocs(rmdp, tol=1e-8)
    import itertools

    static = max(min(_policy_value(rmdp, np.array(pi), P)[0] for P in kernels)
                 for pi in itertools.product(range(A), repeat=S))
    assert res.lower <= static + 1e-9 <= res.upper + 2e-9


def test_parametric_windy_walk_grid_and_cma():
    rmdp = windy_walk(n_rows=3, n_cols=4, rectangular=False)
    with pytest.warns(RectangularityWarning):
        grid = iwocs(rmdp, tol=1e-6, oracle="grid", n_grid=2)
    assert not grid.certified and grid.certified_over == "grid" and grid.thetas is not None
    # relative to the 2^4 grid of column winds, the lower bound is a true worst case
    pset = rmdp.uncertainty
    worst = min(_policy_value(rmdp, grid.policy, pset.build(t))[3 * 4 - 4] for t in pset.grid(2))
    assert grid.lower == pytest.approx(worst, abs=1e-10)
    with pytest.warns(RectangularityWarning):
        cma = iwocs(rmdp, tol=1e-6, oracle="cma", budget=60, seed=1, max_iter=3)
    assert not cma.certified and cma.certified_over is None


def test_worst_case_theta_finds_the_minimum():
    from theory_rl.robust import ParametricSet

    pset = ParametricSet([[-1.0, 1.0], [-1.0, 1.0]], lambda th: None)
    f = lambda th: float((th[0] - 0.3) ** 2 + (th[1] + 0.2) ** 2)  # noqa: E731
    theta, val, n = worst_case_theta(pset, f, method="cma", budget=300, seed=0)
    assert val < 1e-4 and n <= 320
    theta, val, n = worst_case_theta(pset, f, method="grid", n_grid=11)
    assert n == 121 and val == pytest.approx(0.01, abs=1e-12)  # nearest grid point (0.2 or 0.4, -0.2)


def test_bad_options():
    rmdp = windy_walk()
    with pytest.raises(InvalidArgumentError, match="inner"):
        iwocs(rmdp, inner="x")
    with pytest.raises(InvalidArgumentError, match="score"):
        iwocs(rmdp, score="x")
    with pytest.raises(InvalidArgumentError, match="s0"):
        iwocs(rmdp, s0=999)
    with pytest.raises(InvalidArgumentError, match="max_iter"):  # was a bare AssertionError
        iwocs(rmdp, max_iter=-1)
    for option, value in (("max_iter", 0), ("tol", 0.0), ("tol", float("nan")), ("oracle", "x"), ("n_grid", 2.5)):
        with pytest.raises(InvalidArgumentError, match=option):
            iwocs(rmdp, **{option: value})
    with pytest.warns(DeprecationWarning, match="'eps' is deprecated .* use 'tol'"):
        assert iwocs(rmdp, eps=1e-3).upper == iwocs(rmdp, tol=1e-3).upper
    with pytest.raises(InvalidModelError):
        windy_walk(n_rows=1)


def _between_grid_points_rmdp():
    """Start state 0; action 0 ("risky") reaches the rewarding absorbing state 1 with probability
    ``p(theta) = 0.2 + (theta - 0.4)^2``, worst at ``theta = 0.4``, which is not on the 3-point grid
    ``{0, 0.5, 1}`` (grid minimum ``p(0.5) = 0.21``); action 1 ("safe") reaches it with
    probability 0.205 whatever ``theta``. State 2 is absorbing with reward 0."""
    from theory_rl.robust import ParametricSet

    def build(theta):
        p = 0.2 + (float(theta[0]) - 0.4) ** 2
        P = np.zeros((3, 2, 3))
        P[0, 0] = [0.0, p, 1.0 - p]
        P[0, 1] = [0.0, 0.205, 0.795]
        P[1, :, 1] = 1.0
        P[2, :, 2] = 1.0
        return P

    R = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    nominal = FiniteMDP(build([0.5]), R, 0.9, d0=np.array([1.0, 0.0, 0.0]))
    return RobustMDP(nominal, ParametricSet([[0.0, 1.0]], build))


def test_grid_oracle_is_not_certified_over_the_box():
    # regression: the grid oracle used to report certified=True although its lower bound is a minimum
    # over the grid only; here it exceeds the true robust value and picks the wrong policy
    rmdp = _between_grid_points_rmdp()
    gamma = rmdp.gamma
    # analytic robust value over the box: V(0) = gamma p / (1 - gamma), worst p = 0.2 (risky), 0.205 (safe)
    v_rob = gamma * 0.205 / (1 - gamma)
    fine = min(_policy_value(rmdp, np.array([0, 0, 0]), rmdp.uncertainty.build([t]))[0]
               for t in np.linspace(0, 1, 1001))
    assert fine == pytest.approx(gamma * 0.2 / (1 - gamma), abs=1e-12)  # the risky action's true worst case
    with pytest.warns(RectangularityWarning):
        res = iwocs(rmdp, tol=1e-9, oracle="grid", n_grid=3)
    assert res.converged and res.policy[0] == 0  # the grid sees risky >= 0.21 > 0.205: wrong action
    assert res.lower > v_rob + 0.004 * gamma / (1 - gamma)  # grid lower bound above the box's robust value
    assert not res.certified and res.certified_over == "grid"
    # over the grid, the certificate holds: V_rob^grid = gamma * 0.21 / (1 - gamma)
    assert res.lower == pytest.approx(gamma * 0.21 / (1 - gamma), abs=1e-9)
    # a grid that contains the worst case (theta = 0.4 on the 6-point grid) finds the safe action
    with pytest.warns(RectangularityWarning):
        res6 = iwocs(rmdp, tol=1e-9, oracle="grid", n_grid=6)
    assert res6.policy[0] == 1 and res6.lower == pytest.approx(v_rob, abs=1e-9)
    assert res6.certified_over == "grid" and not res6.certified
