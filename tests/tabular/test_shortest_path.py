"""Episodic (stochastic shortest path) models: gamma = 1 with terminal states.

VI = PI = LP on random small SSPs (termination reachable under every policy, and only under
some), every certificate checked against the exact value computed in rational arithmetic
(Python fractions, exact policy iteration on the model as stored), and the error paths.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import envs, tabular
from theory_rl.errors import ConvergenceWarning, InvalidArgumentError, InvalidModelError, SolverError
from theory_rl.models import FiniteMDP
from theory_rl.tabular._shortest_path import _Episodic, _steps_bound

SOLVERS = [tabular.value_iteration, tabular.policy_iteration, tabular.linear_programming]


# ----------------------------------------------------------------------------- exact arithmetic
def _solve_exact(M, b):
    """Gaussian elimination over the rationals."""
    n = len(b)
    M = [row[:] + [b[i]] for i, row in enumerate(M)]
    for c in range(n):
        p = next(r for r in range(c, n) if M[r][c] != 0)
        M[c], M[p] = M[p], M[c]
        for r in range(n):
            if r != c and M[r][c] != 0:
                f = M[r][c] / M[c][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    return [M[i][n] / M[i][i] for i in range(n)]


def exact_policy_value(mdp, policy):
    """v_pi of a deterministic proper policy, exactly, for P and R as stored (floats are rationals)."""
    P, R = mdp.to_dense().P, mdp.R
    N = [int(s) for s in np.flatnonzero(~mdp.terminal)]
    M = [[(Fraction(1) if i == j else Fraction(0)) - Fraction(float(P[s, policy[s], t])) for j, t in enumerate(N)]
         for i, s in enumerate(N)]
    b = [Fraction(float(R[s, policy[s]])) for s in N]
    x = _solve_exact(M, b)
    v = [Fraction(0)] * mdp.n_states
    for s, val in zip(N, x):
        v[s] = val
    return v


def exact_optimum(mdp, policy):
    """hat v (the best proper policy's value) by exact policy iteration from a proper policy."""
    P, R = mdp.to_dense().P, mdp.R
    S, A = mdp.n_states, mdp.n_actions
    mask = np.ones((S, A), bool) if mdp.action_mask is None else mdp.action_mask
    pi = np.array(policy)
    Pf = [[[Fraction(float(x)) for x in P[s, a]] for a in range(A)] for s in range(S)]
    Rf = [[Fraction(float(R[s, a])) for a in range(A)] for s in range(S)]
    for _ in range(100):
        v = exact_policy_value(mdp, pi)
        changed = False
        for s in np.flatnonzero(~mdp.terminal):
            q = {a: Rf[s][a] + sum(p * w for p, w in zip(Pf[s][a], v)) for a in np.flatnonzero(mask[s])}
            best = max(q.values())
            if q[pi[s]] < best:
                pi[s] = next(a for a in q if q[a] == best)
                changed = True
        if not changed:
            return v, pi
    raise AssertionError("exact policy iteration did not stop")


def _le(a, b):
    """a <= b exactly, for floats (possibly infinite) and fractions."""
    if isinstance(a, float) and np.isinf(a):
        return a < 0
    if isinstance(b, float) and np.isinf(b):
        return b > 0
    return Fraction(a) <= Fraction(b)


def assert_bounds_hold(sol, exact):
    for s, x in enumerate(exact):
        assert _le(float(sol.lower[s]), x) and _le(x, float(sol.upper[s])), (s, sol.lower[s], x, sol.upper[s])


def assert_brackets(sol, exact):
    assert_bounds_hold(sol, exact)
    for s, x in enumerate(exact):
        assert abs(Fraction(float(sol.v[s])) - x) <= Fraction(sol.bound), (s, sol.v[s], x, sol.bound)


# ----------------------------------------------------------------------------- random SSPs
@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_states=st.integers(2, 7),
    n_actions=st.integers(1, 3),
    all_proper=st.booleans(),
    sparse=st.booleans(),
    masked=st.booleans(),
)
def test_vi_pi_lp_agree_and_certificates_bracket_the_exact_value(seed, n_states, n_actions, all_proper, sparse, masked):
    mdp = envs.random_shortest_path(n_states, n_actions, seed=seed, all_proper=all_proper, sparse=sparse, masked=masked)
    pi = tabular.policy_iteration(mdp, tol=1e-9)
    exact, _ = exact_optimum(mdp, pi.policy)
    v_exact = np.array([float(x) for x in exact])
    for sol in (pi, tabular.value_iteration(mdp, tol=1e-9), tabular.linear_programming(mdp),
                tabular.linear_programming(mdp, formulation="dual"), tabular.modified_policy_iteration(mdp, tol=1e-9),
                tabular.modified_policy_iteration(mdp, tol=1e-9, n_eval=2, v0=np.zeros(n_states))):
        assert sol.converged, sol.info.get("reason")
        assert sol.bound <= 1e-9
        assert_brackets(sol, exact)
        np.testing.assert_allclose(sol.v, v_exact, rtol=0, atol=1e-9)
        # the returned policy is proper and within the certified gap of optimal
        v_pol = exact_policy_value(mdp, sol.policy)
        gap = max(float(x - y) for x, y in zip(exact, v_pol))
        assert gap <= sol.info["policy_gap_bound"] + 1e-300
    # terminal states are worth 0 exactly
    np.testing.assert_array_equal(pi.v[mdp.terminal], 0.0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_iter=st.integers(1, 6), all_proper=st.booleans())
def test_unfinished_value_iteration_still_brackets(seed, n_iter, all_proper):
    # stopped after a few backups the bounds are wide (or infinite), but never wrong
    mdp = envs.random_shortest_path(5, 2, seed=seed, all_proper=all_proper)
    exact, _ = exact_optimum(mdp, tabular.policy_iteration(mdp).policy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sol = tabular.value_iteration(mdp, tol=1e-14, max_iter=n_iter)
    assert_bounds_hold(sol, exact)
    if np.isfinite(sol.bound):
        assert_brackets(sol, exact)


def test_rounding_is_part_of_the_bound():
    # rewards of 1e12 per step: values ~1e13, whose float spacing is 2e-3; the bound must cover
    # the rounding and never be 0
    mdp = envs.random_shortest_path(6, 2, seed=7, all_proper=False)
    big = mdp.replace(R=mdp.R * 1e12)
    for solver in SOLVERS:
        sol = solver(big, **({} if solver is tabular.linear_programming else {"tol": 1.0}))
        exact, _ = exact_optimum(big, sol.policy)
        assert sol.bound > 0
        assert_brackets(sol, exact)
        assert sol.bound < 1.0  # still tight relative to 1e13


def test_policy_evaluation_exact_and_certified():
    mdp = envs.random_shortest_path(6, 3, seed=3, all_proper=True)
    pi = tabular.proper_policy(mdp)
    exact = exact_policy_value(mdp, pi)
    for method in ("direct", "iterative"):
        sol = tabular.policy_evaluation(mdp, pi, method=method, tol=1e-11)
        assert sol.converged and sol.bound <= 1e-11
        assert_brackets(sol, exact)
    # a stochastic policy: the mixture's chain
    probs = np.full((6, 3), 1 / 3)
    sol = tabular.policy_evaluation(mdp, probs)
    N = np.flatnonzero(~mdp.terminal)
    P_pi = np.einsum("sa,sat->st", probs, mdp.P)[np.ix_(N, N)]
    v_mc = np.zeros(6)
    v_mc[N] = np.linalg.solve(np.eye(N.size) - P_pi, (probs * mdp.R).sum(axis=1)[N])
    np.testing.assert_allclose(sol.v, v_mc, atol=1e-12)
    assert (sol.lower <= sol.v).all() and (sol.v <= sol.upper).all() and sol.bound > 0


def test_dense_and_sparse_agree():
    d = envs.random_shortest_path(7, 3, seed=11, all_proper=False)
    s = d.to_sparse()
    for solver in SOLVERS:
        a, b = solver(d), solver(s)
        np.testing.assert_allclose(a.v, b.v, atol=1e-12)
        np.testing.assert_array_equal(a.v[d.terminal], 0.0)


def test_proper_policy_is_proper_and_pi_starts_from_it():
    mdp = envs.random_shortest_path(7, 3, seed=5, all_proper=False)
    pi = tabular.proper_policy(mdp)
    sol = tabular.policy_evaluation(mdp, pi)  # raises if improper
    assert np.isfinite(sol.v).all()
    # an improper starting policy is refused, a proper one accepted
    bad = np.full(7, 1)
    ep = _Episodic(mdp)
    from theory_rl.tabular._shortest_path import _improper_state

    if _improper_state(ep, bad) is not None:
        with pytest.raises(InvalidArgumentError, match="policy0 is improper"):
            tabular.policy_iteration(mdp, policy0=bad)
    np.testing.assert_allclose(tabular.policy_iteration(mdp, policy0=pi).v, tabular.policy_iteration(mdp).v, atol=1e-12)


def test_steps_bound_is_an_upper_bound():
    mdp = envs.random_shortest_path(6, 2, seed=9, all_proper=False)
    ep = _Episodic(mdp)
    pi = tabular.proper_policy(mdp)
    Q, _ = ep.chain(pi)
    mt = _steps_bound(ep, Q)
    N = np.flatnonzero(~mdp.terminal)
    ones = np.where(mdp.terminal[:, None], 0.0, np.ones((6, 2)))
    exact = exact_policy_value(mdp.replace(R=ones, action_mask=None), pi)
    assert all(Fraction(float(mt[i])) >= exact[s] for i, s in enumerate(N))


# ----------------------------------------------------------------------------- models and errors
def _chain_model(**kw):
    # 0 -> 1 -> 2 (terminal); action 1 of state 0 stays put
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = P[0, 1, 0] = 1
    P[1, :, 2] = 1
    P[2, :, 2] = 1
    R = np.array([[-1.0, -1.0], [-2.0, -3.0], [0.0, 0.0]])
    return FiniteMDP(P, R, 1.0, terminal=[2], **kw)


def test_terminal_field_validation():
    m = _chain_model()
    assert m.is_shortest_path and m.terminal.tolist() == [False, False, True]
    assert not m.terminal.flags.writeable and "1 terminal" in repr(m)
    P, R = np.asarray(m.P), np.asarray(m.R)
    assert FiniteMDP(P, R, 1.0, terminal=np.array([False, False, True])).terminal.tolist() == [False, False, True]
    with pytest.raises(InvalidModelError, match="gamma = 1 needs terminal states"):
        FiniteMDP(P, R, 1.0)
    with pytest.raises(InvalidModelError, match="gamma = 1 needs terminal states"):
        FiniteMDP(P, R, 1.0, terminal=[])
    with pytest.raises(InvalidModelError, match=r"terminal state 1: R\[1, 0\]"):
        FiniteMDP(P, R, 1.0, terminal=[1, 2])
    R2 = R.copy()
    R2[0] = 0
    with pytest.raises(InvalidModelError, match=r"terminal state 0: P\[0, 0, :\] is not a self-loop"):
        FiniteMDP(P, R2, 1.0, terminal=[0, 2])
    with pytest.raises(InvalidModelError, match=r"P\[0, 0, :\] is not a self-loop"):
        FiniteMDP(sp.csr_matrix(P.reshape(6, 3)), R2, 1.0, terminal=[0, 2])
    with pytest.raises(InvalidModelError, match="outside"):
        FiniteMDP(P, R, 1.0, terminal=[3])
    with pytest.raises(InvalidModelError, match="boolean mask or integer"):
        FiniteMDP(P, R, 1.0, terminal=[0.5])
    with pytest.raises(InvalidModelError, match="shape"):
        FiniteMDP(P, R, 1.0, terminal=np.array([True, False]))
    # a masked action of a terminal state need not loop
    P3 = P.copy()
    P3[2, 1] = [1, 0, 0]
    mask = np.array([[True, True], [True, True], [True, False]])
    assert FiniteMDP(P3, R, 1.0, terminal=[2], action_mask=mask).is_shortest_path
    # discounted models may record terminal states; they stay discounted; a finite horizon
    # makes a finite-horizon model (backward_induction), not an episodic one
    assert not m.replace(gamma=0.9).is_shortest_path
    assert not m.replace(horizon=3).is_shortest_path
    np.testing.assert_array_equal(tabular.backward_induction(m.replace(horizon=1)).v[0], [-1.0, -2.0, 0.0])


@pytest.mark.parametrize("ext", ["json", "npz"])
def test_terminal_saved_and_loaded(tmp_path, ext):
    m = _chain_model()
    m.save(tmp_path / f"m.{ext}")
    back = FiniteMDP.load(tmp_path / f"m.{ext}")
    assert back.terminal.tolist() == m.terminal.tolist() and back.gamma == 1.0


def test_small_chain_values_and_solvers():
    m = _chain_model()
    for solver in SOLVERS:
        sol = solver(m)
        np.testing.assert_allclose(sol.v, [-3.0, -2.0, 0.0], rtol=0, atol=1e-14)
        assert sol.policy[0] == 0 and sol.converged


def test_no_proper_policy_names_a_state():
    # state 1 only loops on itself: termination is unreachable from it
    P = np.zeros((3, 1, 3))
    P[0, 0, 2] = P[1, 0, 1] = P[2, 0, 2] = 1
    m = FiniteMDP(P, [[-1.0], [-1.0], [0.0]], 1.0, terminal=[2], state_names=["a", "b", "end"])
    for solver in SOLVERS + [tabular.proper_policy]:
        with pytest.raises(InvalidModelError, match=r"no proper policy: from state 1 \(b\) no policy reaches"):
            solver(m)
    # state 0 reaches the end with probability 1/2 and is otherwise trapped in state 1
    P = np.zeros((3, 1, 3))
    P[0, 0, 1] = P[0, 0, 2] = 0.5
    P[1, 0, 1] = P[2, 0, 2] = 1
    m = FiniteMDP(P, [[-1.0], [-1.0], [0.0]], 1.0, terminal=[2])
    with pytest.raises(InvalidModelError, match="from state 0 every policy has a positive probability of never"):
        tabular.value_iteration(m)


def test_improper_policy_evaluation_is_an_error():
    m = _chain_model()
    with pytest.raises(InvalidArgumentError, match="improper: from state 0 it never reaches a terminal state"):
        tabular.policy_evaluation(m, np.array([1, 0, 0]))
    with pytest.raises(InvalidArgumentError, match="improper"):
        tabular.policy_evaluation(m, np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]))
    # a stochastic policy that leaves the loop with positive probability is proper
    sol = tabular.policy_evaluation(m, np.array([[0.5, 0.5], [1.0, 0.0], [1.0, 0.0]]))
    np.testing.assert_allclose(sol.v, [-4.0, -2.0, 0.0], atol=1e-12)  # v0 = -1 + (v0 + v1)/2


def test_positive_reward_cycle_breaks_the_assumption_clearly():
    # the loop of state 0 pays +1 forever: the episodic problem has no finite optimum
    P = np.zeros((2, 2, 2))
    P[0, 0, 1] = P[0, 1, 0] = 1
    P[1, :, 1] = 1
    m = FiniteMDP(P, [[-1.0, 1.0], [0.0, 0.0]], 1.0, terminal=[1])
    with pytest.raises(InvalidModelError, match="improper policy.*earns -inf"):
        tabular.policy_iteration(m)
    with pytest.raises(SolverError, match="never terminates earns positive reward"):
        tabular.linear_programming(m)
    with pytest.warns(ConvergenceWarning):
        sol = tabular.value_iteration(m, max_iter=50)
    assert not sol.converged


def test_zero_reward_loop_gives_the_best_proper_value():
    # staying forever earns 0 (assumption (B) fails); policy iteration returns the best proper
    # policy's value, -1, which solves Bellman's equation, but the tie with the zero-reward loop
    # leaves no upper bound: it says so instead of certifying
    P = np.zeros((2, 2, 2))
    P[0, 0, 1] = P[0, 1, 0] = 1
    P[1, :, 1] = 1
    m = FiniteMDP(P, [[-1.0, 0.0], [0.0, 0.0]], 1.0, terminal=[1])
    with pytest.warns(ConvergenceWarning, match="ties with the greedy one"):
        sol = tabular.policy_iteration(m)
    np.testing.assert_array_equal(sol.v, [-1.0, 0.0])
    assert sol.policy[0] == 0 and not sol.converged and sol.bound == np.inf
    assert -1.0 - 1e-12 < sol.lower[0] <= -1.0


def test_bad_options():
    m = _chain_model()
    with pytest.raises(InvalidArgumentError, match="v0"):
        tabular.value_iteration(m, v0=np.array([0.0, 0.0, 1.0]))
    with pytest.raises(InvalidArgumentError, match="gauss-seidel"):
        tabular.value_iteration(m, variant="gauss-seidel")
    with pytest.raises(InvalidArgumentError, match="variant"):
        tabular.value_iteration(m, variant="x")
    with pytest.raises(InvalidArgumentError, match="max_iter"):
        tabular.value_iteration(m, max_iter=0)
    with pytest.raises(InvalidArgumentError, match="tol"):
        tabular.policy_iteration(m, tol=-1)
    with pytest.raises(InvalidArgumentError, match="formulation"):
        tabular.linear_programming(m, formulation="x")
    with pytest.raises(InvalidArgumentError, match="deterministic"):
        tabular.policy_iteration(m, policy0=np.full((3, 2), 0.5))
    with pytest.raises(InvalidModelError, match="gamma = 0.9"):
        tabular.shortest_path_value_iteration(m.replace(gamma=0.9))


def test_value_iteration_from_a_given_start_and_callback():
    mdp = envs.random_shortest_path(6, 2, seed=21, all_proper=False)
    v_star = tabular.policy_iteration(mdp).v
    sol = tabular.value_iteration(mdp, v0=np.where(mdp.terminal, 0.0, -50.0), tol=1e-10)
    assert sol.converged and np.max(np.abs(sol.v - v_star)) <= sol.bound
    seen = []
    with pytest.warns(ConvergenceWarning, match="callback"):
        tabular.value_iteration(mdp, callback=lambda n, v, r: seen.append(n) or n >= 2)
    assert seen == [1, 2]


def test_gridworld_lp_occupancy_counts_expected_visits():
    # from the uniform start over the 16 cells, expected visits per non-terminal cell under the
    # optimal policy: at most the number of cells routed through it
    from theory_rl.envs import sutton_barto_gridworld

    sol = tabular.linear_programming(sutton_barto_gridworld())
    occ = sol.occupancy
    assert occ.shape == (16, 4) and (occ >= 0).all()
    assert occ[[0, 15]].sum() == 0
    # total expected steps from d0 = sum of visits = mean distance to a terminal corner
    r, c = np.divmod(np.arange(16), 4)
    np.testing.assert_allclose(occ.sum(), np.minimum(r + c, 6 - r - c).mean(), atol=1e-12)


def test_issue_17_modified_policy_iteration_on_the_gridworld():
    # issue 17, item 1: on main, modified_policy_iteration(sutton_barto_gridworld()) returned
    # v[:4] = [84, 83, 82, 81] with converged=True and bound 0 (gamma = 1 - 1e-12 emulation)
    from theory_rl.envs import sutton_barto_gridworld

    sol = tabular.modified_policy_iteration(sutton_barto_gridworld())
    r, c = np.divmod(np.arange(16), 4)
    expected = -np.minimum(r + c, 6 - r - c).astype(float)
    assert sol.converged and 0 < sol.bound < 1e-10
    np.testing.assert_allclose(sol.v, expected, rtol=0, atol=1e-12)
    assert (sol.lower <= expected).all() and (expected <= sol.upper).all()
    with pytest.raises(InvalidArgumentError, match="n_eval"):
        tabular.modified_policy_iteration(sutton_barto_gridworld(), n_eval=-1)


def _brute_force_has_proper(mdp):
    """Whether some deterministic stationary policy is proper (absorption from every state), by
    enumeration and matrix powers (independent of the graph search)."""
    import itertools

    S, A = mdp.n_states, mdp.n_actions
    P = mdp.to_dense().P
    mask = np.ones((S, A), bool) if mdp.action_mask is None else mdp.action_mask
    N = np.flatnonzero(~mdp.terminal)
    for pi in itertools.product(*[np.flatnonzero(mask[s]) for s in range(S)]):
        # proper iff the chain restricted to the non-terminal states has spectral radius < 1
        Qp = P[np.arange(S), np.array(pi)][np.ix_(N, N)]
        if N.size == 0 or np.max(np.abs(np.linalg.eigvals(Qp))) < 1 - 1e-9:
            return True
    return False


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_states=st.integers(2, 5), n_actions=st.integers(1, 3))
def test_proper_policy_exists_iff_found(seed, n_states, n_actions):
    # sparse random supports with many self-loops: sometimes no proper policy exists
    rng = np.random.default_rng(seed)
    S, A = n_states, n_actions
    P = np.zeros((S, A, S))
    for s in range(1, S):
        for a in range(A):
            support = rng.random(S) < 0.3
            if not support.any():
                support[s] = True
            P[s, a, support] = rng.random(support.sum()) + 0.1
            P[s, a] /= P[s, a].sum()
    P[0, :, 0] = 1.0
    R = -np.ones((S, A))
    R[0] = 0.0
    mdp = FiniteMDP(P, R, 1.0, terminal=[0])
    expected = _brute_force_has_proper(mdp)
    if expected:
        pi = tabular.proper_policy(mdp)
        Qp = P[np.arange(S), pi][1:, 1:]
        assert np.max(np.abs(np.linalg.eigvals(Qp)), initial=0.0) < 1 - 1e-9
    else:
        with pytest.raises(InvalidModelError, match="no proper policy: from state"):
            tabular.proper_policy(mdp)
