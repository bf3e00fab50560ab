"""zero_sum_lp: equal to nashpy and OpenSpiel on random games, certified brackets, errors."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.games import MatrixGame, exploitability, solve_stage_games, zero_sum_lp


def _nashpy():
    """nashpy (the ``games`` extra), or skip only the tests that compare with it."""
    return pytest.importorskip("nashpy")


def _nashpy_value(A):
    """Value of the zero-sum game through nashpy's support enumeration, or its vertex enumeration
    where support enumeration's tolerances miss the equilibrium (independent of any LP)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eqs = list(_nashpy().Game(A).support_enumeration()) or list(_nashpy().Game(A).vertex_enumeration())
    assert eqs, "nashpy found no equilibrium"
    p, q = eqs[0]
    return float(p @ A @ q)


@given(m=st.integers(1, 5), n=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_value_equals_nashpy_enumeration(m, n, seed):
    A = np.random.default_rng(seed).standard_normal((m, n))
    sol = zero_sum_lp(A)
    assert sol.value == pytest.approx(_nashpy_value(A), abs=1e-9)
    assert sol.lower <= sol.value <= sol.upper
    assert sol.upper - sol.lower <= 1e-9


@given(n=st.integers(2, 30), seed=st.integers(0, 2**32 - 1), solver=st.sampled_from(["simplex", "ipm"]))
def test_value_equals_nashpy_linear_program(n, seed, solver):
    A = np.random.default_rng(seed).integers(-5, 6, size=(n, n + 3)).astype(float)  # degenerate games too
    p, q = _nashpy().Game(A).linear_program()
    peer = float(p @ A @ q)
    sol = zero_sum_lp(A, solver=solver)
    assert sol.value == pytest.approx(peer, abs=1e-8)
    assert sol.lower <= peer + 1e-9 and peer - 1e-9 <= sol.upper
    # the certificate is the duality gap of the returned strategies
    gap = exploitability(MatrixGame(A), [sol.row_strategy, sol.col_strategy])
    assert gap.gap <= sol.upper - sol.lower + 1e-12


def _open_spiel_value(A):
    """Value and strategies from OpenSpiel's zero-sum LP (``lp_solver.solve_zero_sum_matrix_game``,
    cvxpy with ECOS): the ``peers`` extra, or skip only the tests that compare with it."""
    pyspiel = pytest.importorskip("pyspiel")
    pytest.importorskip("ecos")
    from open_spiel.python.algorithms import lp_solver

    game = pyspiel.create_matrix_game(A.tolist(), (-A).tolist())
    p, q, value, _ = lp_solver.solve_zero_sum_matrix_game(game)
    return float(value), np.asarray(p, dtype=float).ravel(), np.asarray(q, dtype=float).ravel()


@given(m=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_value_equals_open_spiel(m, n, seed):
    A = np.random.default_rng(seed).standard_normal((m, n))
    value, p, q = _open_spiel_value(A)
    sol = zero_sum_lp(A)
    # ECOS is an interior-point solver with tolerances near 1e-8: its value agrees to that order, and
    # our certified bracket contains it up to the same tolerance
    assert sol.value == pytest.approx(value, abs=1e-6)
    assert sol.lower - 1e-6 <= value <= sol.upper + 1e-6
    # OpenSpiel's strategies are near-optimal: their payoffs against our optimal strategies bracket v*
    assert float(p @ A @ sol.col_strategy) <= sol.upper + 1e-6
    assert float(sol.row_strategy @ A @ q) >= sol.lower - 1e-6


def test_closed_form_two_by_two_and_saddle_point():
    # no saddle point: v = (ad - bc) / (a + d - b - c)
    a, b, c, d = 3.0, -1.0, -2.0, 4.0
    sol = zero_sum_lp(MatrixGame([[a, b], [c, d]]))
    assert sol.value == pytest.approx((a * d - b * c) / (a + d - b - c), abs=1e-14)
    np.testing.assert_allclose(sol.row_strategy, [(d - c) / (a + d - b - c), (a - b) / (a + d - b - c)], atol=1e-13)
    # saddle point at (1, 0): the row minimum 2 is the column maximum
    sol = zero_sum_lp([[1.0, 0.0], [2.0, 5.0]])
    assert sol.value == pytest.approx(2.0, abs=1e-14)
    np.testing.assert_allclose(sol.row_strategy, [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(sol.col_strategy, [1.0, 0.0], atol=1e-12)


def test_certificate_brackets_without_polish_and_large_payoffs(rng):
    A = rng.standard_normal((40, 25)) * 1e6
    for polish in (False, True):
        sol = zero_sum_lp(A, polish=polish)
        lo = (sol.row_strategy @ A).min()
        hi = (A @ sol.col_strategy).max()
        assert sol.lower <= lo and hi <= sol.upper  # padded outward for rounding
        assert sol.info["polished"] == (polish and sol.info["polished"])
    assert zero_sum_lp(A).upper - zero_sum_lp(A).lower <= 1e-8 * 1e6


def test_stage_games_block_lp_matches_single_lps(rng):
    Q = rng.standard_normal((6, 3, 4))
    p, q, v = solve_stage_games(Q)
    for s in range(6):
        assert v[s] == pytest.approx(zero_sum_lp(Q[s]).value, abs=1e-9)
        assert (p[s] @ Q[s]).min() == pytest.approx(v[s], abs=1e-9)
        assert (Q[s] @ q[s]).max() == pytest.approx(v[s], abs=1e-9)


def test_errors():
    with pytest.raises(InvalidModelError, match="not zero-sum"):
        zero_sum_lp(MatrixGame([[1, 2]], [[1, 2]]))
    with pytest.raises(InvalidModelError, match=r"A\[1, 0\] is nan"):
        zero_sum_lp([[1.0, 2.0], [np.nan, 0.0]])
    with pytest.raises(InvalidArgumentError, match="solver must be one of"):
        zero_sum_lp([[1.0]], solver="dual")
    with pytest.raises(InvalidArgumentError, match="polish must be True or False"):
        zero_sum_lp([[1.0]], polish="yes")
    sol = zero_sum_lp([[7.0]])
    assert sol.value == 7.0 and sol.to_dict()["value"] == 7.0


def test_stage_games_validate_their_input():
    with pytest.raises(InvalidModelError, match="Q must have 3 dimensions"):
        solve_stage_games(np.zeros((2, 2)))
    with pytest.raises(InvalidModelError, match=r"Q\[0, 1, 0\] is nan"):
        solve_stage_games([[[0.0], [np.nan]]])
    with pytest.raises(InvalidArgumentError, match="solver"):
        solve_stage_games(np.zeros((1, 2, 2)), solver="pdlp")


def test_support_guesses_are_verified_not_trusted(rng):
    from theory_rl.games._stage_kernel import solve_small_stage_games, supports_of

    Q = rng.standard_normal((50, 3, 3))
    p, q, v = solve_stage_games(Q)
    rows, cols = supports_of(p, q)
    p2, q2, ok, low2, up2, _, _ = solve_small_stage_games(Q, rows, cols, enumerate_all=False)
    assert ok.all()
    np.testing.assert_allclose(np.einsum("sa,sab,sb->s", p2, Q, q2), v, atol=1e-9)
    np.testing.assert_array_equal(low2, np.einsum("sa,sab->sb", p2, Q).min(axis=1))
    np.testing.assert_array_equal(up2, np.einsum("sab,sb->sa", Q, q2).max(axis=1))
    # wrong guesses (every support shifted by one action) are rejected, never returned as equilibria
    p3, q3, ok3, *_ = solve_small_stage_games(Q, np.roll(rows, 1, axis=1), np.roll(cols, 1, axis=1), enumerate_all=False)
    for s in np.flatnonzero(ok3):
        assert (Q[s] @ q3[s]).max() - (p3[s] @ Q[s]).min() <= 1e-12
    assert not ok3.all()
    # unequal support sizes are not tried without enumeration (left to the LP) ...
    rows[0] = True
    cols[0] = [True, False, False]
    assert not solve_small_stage_games(Q[:1], rows[:1], cols[:1], enumerate_all=False)[2][0]
    # ... and enumeration finds an equilibrium whatever the guess
    assert solve_small_stage_games(Q[:1], rows[:1], cols[:1])[2][0]


@given(A=st.integers(1, 6), B=st.integers(1, 6), seed=st.integers(0, 2**32 - 1), integer=st.booleans())
def test_support_enumeration_equals_the_lp(A, B, seed, integer):
    """Shapley-Snow: every small game (degenerate integer games too) has an equilibrium on square
    supports, and the enumeration's is the LP's value, verified by weak duality."""
    from theory_rl.games._stage_kernel import solve_small_stage_games

    gen = np.random.default_rng(seed)
    Q = gen.integers(-2, 3, size=(4, A, B)).astype(float) if integer else gen.standard_normal((4, A, B))
    p, q, ok, *_ = solve_small_stage_games(Q)
    assert ok.all()
    _, _, v = solve_stage_games(Q)
    low = np.einsum("sa,sab->sb", p, Q).min(axis=1)
    up = np.einsum("sab,sb->sa", Q, q).max(axis=1)
    assert (up - low <= 1e-12).all()
    np.testing.assert_allclose(low, v, atol=1e-9)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
