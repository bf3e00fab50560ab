"""QRE, exploitability, correlated and coarse correlated equilibria."""

import doctest
import importlib
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl.errors import ConvergenceWarning, InvalidArgumentError
from theory_rl.games import (
    MatrixGame,
    NormalFormGame,
    coarse_correlated_equilibrium,
    correlated_equilibrium,
    deviation_gains,
    exploitability,
    qre_stage,
    quantal_response_equilibrium,
    zero_sum_lp,
)


def _nashpy():
    """nashpy (the ``games`` extra), or skip only the tests that compare with it."""
    return pytest.importorskip("nashpy")


# --- exploitability -------------------------------------------------------------------------------


def test_exploitability_by_hand():
    pd = MatrixGame([[3, 0], [5, 1]], [[3, 5], [0, 1]])
    cooperate = exploitability(pd, [[1, 0], [1, 0]])
    np.testing.assert_allclose(cooperate.gains, [2.0, 2.0])
    assert cooperate.gap == 4.0 and cooperate.best_responses == (1, 1)
    np.testing.assert_allclose(cooperate.payoffs, [3.0, 3.0])
    assert exploitability(pd, [[0, 1], [0, 1]]).gap == 0.0


@given(m=st.integers(1, 6), n=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_zero_sum_gap_is_the_duality_gap(m, n, seed):
    A = np.random.default_rng(seed).standard_normal((m, n))
    rng = np.random.default_rng(seed + 1)
    p, q = rng.dirichlet(np.ones(m)), rng.dirichlet(np.ones(n))
    gap = exploitability(MatrixGame(A), [p, q])
    assert gap.gap == pytest.approx((A @ q).max() - (p @ A).min(), abs=1e-12)
    assert (gap.gains >= -gap.rounding).all()
    sol = zero_sum_lp(A)
    assert exploitability(MatrixGame(A), [sol.row_strategy, sol.col_strategy]).gap <= sol.upper - sol.lower


def test_exploitability_three_players_zero_at_pure_nash():
    U = np.zeros((3, 2, 2, 2))
    for i in range(3):  # coordination: everyone gets 1 when all match
        U[i, 0, 0, 0] = U[i, 1, 1, 1] = 1.0
    g = NormalFormGame(U)
    assert exploitability(g, [[1, 0]] * 3).gap == 0.0
    np.testing.assert_allclose(exploitability(g, [[1, 0], [1, 0], [0, 1]]).gains, [0.0, 0.0, 1.0])


def test_exploitability_errors():
    with pytest.raises(InvalidArgumentError, match="MatrixGame or NormalFormGame"):
        exploitability(np.eye(2), [[1, 0], [1, 0]])
    with pytest.raises(InvalidArgumentError, match=r"strategies\[1\] sums to 2"):
        exploitability(MatrixGame(np.eye(2)), [[1, 0], [1, 1]])
    with pytest.raises(InvalidArgumentError, match=r"strategies\[0\]\[0\] = nan"):
        exploitability(MatrixGame(np.eye(2)), [[np.nan, 1], [1, 0]])


# --- QRE ------------------------------------------------------------------------------------------


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), players=st.integers(2, 3))
def test_qre_residual_below_1e10_for_small_precision(seed, players):
    rng = np.random.default_rng(seed)
    shape = tuple(int(a) for a in rng.integers(2, 4, size=players))
    g = NormalFormGame(rng.uniform(-1, 1, size=(players, *shape)))
    tau = 2.0 * players  # precision lambda = 1/tau small: the logit map is a contraction
    sol = quantal_response_equilibrium(g, temperature=tau, tol=1e-12)
    assert sol.converged and sol.residual < 1e-10
    # a QRE is the Nash equilibrium of the entropy-regularised game: gains <= tau log A_i
    gains = exploitability(g, sol.strategies).gains
    assert (gains <= tau * np.log(shape) + 1e-9).all()
    # the independent check: x_i = softmax(u_i(., x_-i) / tau)
    for x, d in zip(sol.strategies, g.deviation_payoffs(sol.strategies)):
        z = np.exp(d / tau - (d / tau).max())
        np.testing.assert_allclose(x, z / z.sum(), atol=1e-10)


# the damped map cycles on this zero-sum game below tau ~ 1 (before the fix: 100,000 iterations,
# residual ~0.87, a profile that is not the logit fixed point)
_CYCLING_2X3 = np.array([[0.0, 1.0, 5.0], [3.0, 1.0, 0.0]])


@pytest.mark.parametrize("tau", [0.5, 0.01])
def test_qre_zero_sum_converges_where_the_damped_map_cycles(tau):
    sol = quantal_response_equilibrium(MatrixGame(_CYCLING_2X3), temperature=tau)
    assert sol.converged and sol.residual < 1e-10 and sol.n_iter < 100
    assert sol.info["solver"] == "newton"
    p, q, _ = qre_stage(_CYCLING_2X3[None], tau, tau)
    np.testing.assert_allclose(sol.strategies[0], p[0], atol=1e-10)
    np.testing.assert_allclose(sol.strategies[1], q[0], atol=1e-10)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), log_tau=st.floats(np.log(0.01), np.log(10.0)))
def test_qre_zero_sum_equals_the_stage_solver(seed, log_tau):
    rng = np.random.default_rng(seed)
    m, n = (int(k) for k in rng.integers(1, 5, size=2))
    A = rng.uniform(-1, 1, size=(m, n)) * rng.choice([1.0, 5.0])
    tau = float(np.exp(log_tau))
    sol = quantal_response_equilibrium(MatrixGame(A), temperature=tau)
    assert sol.converged and sol.residual < 1e-10
    p, q, _ = qre_stage(A[None], tau, tau)
    np.testing.assert_allclose(sol.strategies[0], p[0], atol=1e-9)
    np.testing.assert_allclose(sol.strategies[1], q[0], atol=1e-9)
    # independent check of the fixed point: p = softmax(A q / tau), q = softmax(-A^T p / tau)
    x, y = sol.strategies
    z = np.exp(A @ y / tau - (A @ y / tau).max())
    np.testing.assert_allclose(x, z / z.sum(), atol=1e-10)


def test_qre_newton_options_callback_strict_and_warm_start():
    from theory_rl.errors import SolverError

    g = MatrixGame(_CYCLING_2X3)
    seen = []
    with pytest.warns(ConvergenceWarning, match="stopped by the callback"):
        sol = quantal_response_equilibrium(g, temperature=0.01, callback=lambda k, x, r: seen.append(r) or k == 3)
    assert not sol.converged and sol.n_iter == 3 and seen == list(sol.history["residual"])
    with pytest.raises(SolverError, match="max_iter=2"):
        quantal_response_equilibrium(g, temperature=0.01, max_iter=2, strict=True)
    exact = quantal_response_equilibrium(g, temperature=0.01)
    # a warm start at the answer converges at once; a bad one (a pure profile) still reaches it
    assert quantal_response_equilibrium(g, temperature=0.01, x0=exact.strategies).n_iter <= 1
    far = quantal_response_equilibrium(g, temperature=0.01, x0=[[1.0, 0.0], [0.0, 0.0, 1.0]])
    assert far.converged
    np.testing.assert_allclose(far.strategies[0], exact.strategies[0], atol=1e-10)


def test_qre_damped_map_reports_a_cycle_honestly():
    # general-sum (B = -A + 0.01, a constant shift: the same QRE as the zero-sum game) takes the
    # damped path, which cycles here; it must not claim convergence
    g = MatrixGame(_CYCLING_2X3, -_CYCLING_2X3 + 0.01)
    with pytest.warns(ConvergenceWarning, match="max_iter=300 reached"):
        sol = quantal_response_equilibrium(g, temperature=0.5, max_iter=300)
    assert not sol.converged and sol.residual > 1e-3 and sol.info == {"solver": "damped", "reason": "max_iter=300 reached"}
    assert sol.residual == pytest.approx(max(
        np.abs(np.exp(d / 0.5) / np.exp(d / 0.5).sum() - x).sum()
        for x, d in zip(sol.strategies, g.to_normal_form().deviation_payoffs(sol.strategies))))


def test_qre_approaches_nash_as_temperature_falls():
    A = np.array([[3.0, -1.0], [-2.0, 4.0]])
    # the damping must shrink with the temperature (the zero-sum map rotates; damping tames it)
    runs = [quantal_response_equilibrium(MatrixGame(A), temperature=tau, damping=alpha, tol=1e-10)
            for tau, alpha in ((5.0, 0.5), (1.0, 0.1), (0.5, 0.05))]
    nash_gap = [exploitability(MatrixGame(A), r.strategies).gap for r in runs]
    assert nash_gap[0] > nash_gap[1] > nash_gap[2]
    assert nash_gap[2] <= 0.5 * 2 * math.log(2)


def test_qre_warns_when_not_converged_and_checks_options():
    g = MatrixGame([[1, -1], [-1, 1]])
    with pytest.warns(ConvergenceWarning, match="max_iter=2 reached"):
        sol = quantal_response_equilibrium(g, temperature=0.1, x0=[[0.9, 0.1], [0.2, 0.8]], max_iter=2)
    assert not sol.converged and sol.n_iter == 2
    with pytest.raises(InvalidArgumentError, match="temperature"):
        quantal_response_equilibrium(g, temperature=0.0)
    with pytest.raises(InvalidArgumentError, match="damping"):
        quantal_response_equilibrium(g, temperature=1.0, damping=1.5)
    with pytest.raises(InvalidArgumentError, match=r"x0\[1\] has shape"):
        quantal_response_equilibrium(g, temperature=1.0, x0=[[0.5, 0.5], [1.0]])


# --- CE / CCE -------------------------------------------------------------------------------------


def _nash_equilibria(A, B):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(_nashpy().Game(A, B).support_enumeration()) or list(_nashpy().Game(A, B).vertex_enumeration())


@settings(max_examples=25)
@given(m=st.integers(2, 3), n=st.integers(2, 3), seed=st.integers(0, 2**32 - 1))
def test_ce_contains_nash_and_dominates_its_welfare(m, n, seed):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((m, n)), rng.standard_normal((m, n))
    g = MatrixGame(A, B)
    ce = correlated_equilibrium(g)
    cce = coarse_correlated_equilibrium(g)
    assert ce.max_gain <= 1e-9 and cce.max_gain <= 1e-9
    # every CE is a CCE, so the best CCE is at least as good
    assert (deviation_gains(g, ce.distribution, coarse=True) <= 1e-9).all()
    assert cce.welfare >= ce.welfare - 1e-8
    for p, q in _nash_equilibria(A, B):
        mu = np.outer(p, q)
        assert (deviation_gains(g, mu) <= 1e-9).all()  # the Nash profile satisfies the CE constraints
        assert ce.welfare >= float(p @ (A + B) @ q) - 1e-8


def test_chicken_ce_beats_every_nash_welfare():
    A = np.array([[6.0, 2.0], [7.0, 0.0]])
    g = MatrixGame(A, A.T)
    ce = correlated_equilibrium(g)
    assert ce.welfare == pytest.approx(10.5, abs=1e-9)  # Aumann's traffic-light CE
    np.testing.assert_allclose(ce.distribution, [[0.5, 0.25], [0.25, 0.0]], atol=1e-9)
    # Nash: (C, D) and (D, C) with welfare 9, and the mixed (2/3, 1/3) with 28/3
    assert max(float(p @ (A + A.T) @ q) for p, q in _nash_equilibria(A, A.T)) == pytest.approx(28 / 3)


def test_three_player_ce_and_custom_objective(rng):
    g = NormalFormGame(rng.standard_normal((3, 2, 3, 2)))
    ce = correlated_equilibrium(g)
    assert ce.distribution.shape == (2, 3, 2) and ce.max_gain <= 1e-9
    assert ce.distribution.sum() == pytest.approx(1.0)
    # minimising welfare (weights -sum_i u_i) gives the worst CE, no better than the best
    worst = correlated_equilibrium(g, objective=-np.asarray(g.payoffs).sum(axis=0))
    assert worst.objective == "custom" and worst.welfare <= ce.welfare + 1e-9


def test_correlated_errors():
    g = MatrixGame(np.eye(2))
    with pytest.raises(InvalidArgumentError, match="objective must be 'welfare'"):
        correlated_equilibrium(g, objective="egalitarian")
    with pytest.raises(InvalidArgumentError, match="objective has shape"):
        coarse_correlated_equilibrium(g, objective=np.ones(3))
    with pytest.raises(InvalidArgumentError, match="distribution has shape"):
        deviation_gains(g, np.ones(4) / 4)


# --- docstring examples ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    ["_matrix_game", "_normal_form", "_markov_game", "_zero_sum", "_shapley", "_qre", "_exploitability",
     "_correlated", "_minimax_winner", "_markov_exploitability"],
)
def test_docstring_examples(module):
    mod = importlib.import_module(f"theory_rl.games.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_correlated_size_guard():
    import theory_rl
    from theory_rl.errors import SizeLimitError

    g = NormalFormGame(np.zeros((3, 6, 6, 6)))
    previous = theory_rl.set_max_bytes(100_000)
    try:
        with pytest.raises(SizeLimitError, match="coarse correlated-equilibrium LP"):
            coarse_correlated_equilibrium(g)
    finally:
        theory_rl.set_max_bytes(previous)
