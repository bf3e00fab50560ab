"""Shapley value iteration against an independent solve, and its certified bounds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl.errors import ConvergenceWarning, InvalidArgumentError, InvalidModelError, SolverError
from theory_rl.games import MarkovGame, shapley_value_iteration


def _val_2x2(M):
    """Value of a 2x2 zero-sum game in closed form (pure saddle point, else the mixed formula)."""
    maximin = M.min(axis=1).max()
    minimax = M.max(axis=0).min()
    if maximin == minimax:
        return maximin
    (a, b), (c, d) = M
    return (a * d - b * c) / (a + d - b - c)


def _independent_value(P, R, gamma, sweeps):
    """Plain value iteration with the closed-form 2x2 stage values (no LP)."""
    v = np.zeros(P.shape[0])
    for _ in range(sweeps):
        Q = R + gamma * P @ v
        v = np.array([_val_2x2(Q[s]) for s in range(len(v))])
    return v


def _random_game(seed, S=2, A=2, B=2, gamma=0.9):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, B, S)) + 0.05
    P /= P.sum(axis=-1, keepdims=True)
    R = rng.standard_normal((S, A, B))
    return P, R, gamma


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), gamma=st.sampled_from([0.0, 0.5, 0.9]))
def test_equals_independent_value_iteration_on_tiny_games(seed, gamma):
    P, R, _ = _random_game(seed, gamma=gamma)
    sol = shapley_value_iteration(MarkovGame.zero_sum(P, R, gamma), tol=1e-11)
    ref = _independent_value(P, R, gamma, sweeps=400)  # gamma^400 < 1e-18
    assert sol.converged
    np.testing.assert_allclose(sol.v, ref, atol=1e-10)
    assert (sol.lower <= ref + 1e-13).all() and (ref - 1e-13 <= sol.upper).all()


def test_bounds_bracket_the_value_at_every_stage_and_tighten(rng):
    P, R, gamma = _random_game(7, S=5, A=3, B=2, gamma=0.95)
    g = MarkovGame.zero_sum(P, R, gamma)
    exact = shapley_value_iteration(g, tol=1e-11).v
    previous = np.inf
    for k in (1, 3, 10):
        with pytest.warns(ConvergenceWarning, match=f"max_iter={k} reached"):
            sol = shapley_value_iteration(g, tol=1e-13, max_iter=k)
        assert not sol.converged and sol.n_iter == k
        assert (sol.lower <= exact + 1e-11).all() and (exact - 1e-11 <= sol.upper).all()
        assert np.abs(sol.v - exact).max() <= sol.bound + 1e-11
        assert sol.bound <= previous
        previous = sol.bound


def test_policies_are_stage_game_equilibria(rng):
    P, R, gamma = _random_game(3, S=4, A=3, B=3, gamma=0.8)
    sol = shapley_value_iteration(MarkovGame.zero_sum(P, R, gamma), tol=1e-10)
    for s in range(4):
        lo = (sol.row_policy[s] @ sol.q[s]).min()
        hi = (sol.q[s] @ sol.col_policy[s]).max()
        assert hi - lo <= 1e-9
        # val(Q_v[s]) = (T v)(s) and ||T v - v*|| <= gamma ||v - v*||
        assert lo == pytest.approx(sol.v[s], abs=(1 + 0.8) * sol.bound + 1e-12)
    np.testing.assert_allclose(sol.row_policy.sum(axis=1), 1.0)


def test_single_player_reduces_to_an_mdp():
    # B = 1: the minimiser has no choice, so the game value is the MDP's optimal value
    from theory_rl.models import FiniteMDP
    from theory_rl.tabular import policy_iteration

    P, R, gamma = _random_game(11, S=4, A=3, B=1, gamma=0.9)
    sol = shapley_value_iteration(MarkovGame.zero_sum(P, R, gamma), tol=1e-11)
    mdp = policy_iteration(FiniteMDP(P[:, :, 0, :], R[:, :, 0], gamma))
    np.testing.assert_allclose(sol.v, mdp.v, atol=1e-10)


def test_errors(rng):
    P, R, gamma = _random_game(1)
    g = MarkovGame.zero_sum(P, R, gamma)
    with pytest.raises(InvalidModelError, match="two-player zero-sum"):
        shapley_value_iteration(MarkovGame(P, np.stack([R, R]), gamma))
    with pytest.raises(InvalidArgumentError, match="tol"):
        shapley_value_iteration(g, tol=0.0)
    with pytest.raises(InvalidArgumentError, match="max_iter"):
        shapley_value_iteration(g, max_iter=0)
    with pytest.raises(InvalidModelError, match="v0 has shape"):
        shapley_value_iteration(g, v0=[0.0])
    with pytest.raises(InvalidArgumentError, match="MarkovGame"):
        shapley_value_iteration(P)
    with pytest.raises(SolverError, match="did not certify"):
        shapley_value_iteration(g, tol=1e-13, max_iter=1, strict=True)


def test_shapley_policies_have_zero_markov_exploitability():
    from theory_rl.games import best_response_mdp, markov_exploitability

    P, R, gamma = _random_game(5, S=4, A=3, B=2, gamma=0.9)
    g = MarkovGame.zero_sum(P, R, gamma)
    sol = shapley_value_iteration(g, tol=1e-10)
    gap = markov_exploitability(g, [sol.row_policy, sol.col_policy])
    assert gap.gap <= 1e-8
    # each player's best response against the other's equilibrium policy earns exactly the game value
    np.testing.assert_allclose(gap.best_response_values[0], sol.v, atol=1e-8)
    np.testing.assert_allclose(gap.best_response_values[1], -sol.v, atol=1e-8)
    # a uniform maximiser is exploitable, and the adversary's gain is what the best-response MDP says
    uniform = np.full((4, 3), 1 / 3)
    worse = markov_exploitability(g, [uniform, sol.col_policy])
    assert worse.gains[1] > 1e-3
    br = best_response_mdp(g, [uniform, sol.col_policy], 1)
    assert br.n_actions == 2 and br.n_states == 4


def test_markov_exploitability_errors():
    from theory_rl.games import markov_exploitability

    P, R, gamma = _random_game(2)
    g = MarkovGame.zero_sum(P, R, gamma)
    with pytest.raises(InvalidArgumentError, match="sequence of 2"):
        markov_exploitability(g, [np.full((2, 2), 0.5)])
    with pytest.raises(InvalidArgumentError, match=r"policies\[1\] has shape"):
        markov_exploitability(g, [np.full((2, 2), 0.5), np.full((2, 3), 1 / 3)])
    with pytest.raises(InvalidArgumentError, match=r"policies\[0\]\[1, :\] sums to 1.5"):
        markov_exploitability(g, [[[0.5, 0.5], [1.0, 0.5]], np.full((2, 2), 0.5)])


def test_equals_robust_nash_value_iteration():
    # QARL's Shapley iteration takes the games type (issue 22); the fixed point is checked
    # independently with scipy's linprog, one matrix game per state: v(s) = val(Q_v(s))
    from scipy.optimize import linprog

    from theory_rl import robust

    P, R, gamma = _random_game(9, S=6, A=3, B=4, gamma=0.9)
    game = MarkovGame.zero_sum(P, R, gamma)
    ours = shapley_value_iteration(game, tol=1e-10)
    theirs = robust.nash_value_iteration(game, tol=1e-10)
    np.testing.assert_allclose(ours.v, theirs.v, atol=1e-9)
    Q = R + gamma * P @ ours.v
    for s in range(6):  # max v s.t. p^T Q[s] >= v, p in the simplex
        res = linprog(np.r_[np.zeros(3), -1.0], A_ub=np.c_[-Q[s].T, np.ones(4)], b_ub=np.zeros(4),
                      A_eq=[np.r_[np.ones(3), 0.0]], b_eq=[1.0], bounds=[(0, None)] * 3 + [(None, None)])
        assert -res.fun == pytest.approx(ours.v[s], abs=1e-8)
    # the deprecated robust.MarkovGame is accepted by the games solvers too
    with pytest.warns(DeprecationWarning, match="games.MarkovGame.zero_sum"):
        old = robust.MarkovGame(P, R, gamma)
    np.testing.assert_array_equal(shapley_value_iteration(old, tol=1e-10).v, ours.v)


def test_sparse_kernel_gives_the_same_solution():
    import scipy.sparse as sp

    from theory_rl.games import markov_exploitability

    P, R, gamma = _random_game(4, S=5, A=2, B=3, gamma=0.9)
    dense = shapley_value_iteration(MarkovGame.zero_sum(P, R, gamma), tol=1e-10)
    game = MarkovGame.zero_sum(sp.csr_matrix(P.reshape(-1, 5)), R, gamma)
    sparse = shapley_value_iteration(game, tol=1e-10)
    np.testing.assert_allclose(sparse.v, dense.v, atol=1e-10)
    assert markov_exploitability(game, [sparse.row_policy, sparse.col_policy]).gap <= 1e-8


@pytest.mark.parametrize("gamma", [0.9, 0.9999])
@pytest.mark.parametrize("scale", [1.0, 1e12])
def test_bounds_contain_the_exact_value_computed_in_rationals(gamma, scale):
    # one state, a 2x2 stage game without a saddle point: v* = val(R) / (1 - gamma), exactly
    from fractions import Fraction

    R = np.array([[3.0, -1.0], [-2.0, 4.0]]) * scale + scale
    g = MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), R[None], gamma)
    sol = shapley_value_iteration(g, tol=1e-6 * scale / (1 - gamma))
    (a, b), (c, d) = (Fraction(float(x)) for x in R[0]), (Fraction(float(x)) for x in R[1])
    exact = (a * d - b * c) / (a + d - b - c) / (1 - Fraction(gamma))
    assert Fraction(float(sol.lower[0])) <= exact <= Fraction(float(sol.upper[0]))


@pytest.mark.parametrize("scale", [1.0, 1e12])
def test_zero_sum_bounds_contain_the_exact_value_in_rationals(scale):
    from fractions import Fraction

    from theory_rl.games import zero_sum_lp

    A = np.array([[3.0, -1.0], [-2.0, 4.0]]) * scale + scale
    sol = zero_sum_lp(A)
    (a, b), (c, d) = (Fraction(float(x)) for x in A[0]), (Fraction(float(x)) for x in A[1])
    exact = (a * d - b * c) / (a + d - b - c)
    assert Fraction(sol.lower) <= exact <= Fraction(sol.upper)
