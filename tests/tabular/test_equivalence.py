"""(a) Equivalence: independent methods agree on random small models (hypothesis).

VI (Jacobi and Gauss-Seidel) = PI = MPI = LP primal = LP dual, dense and sparse, with and
without unavailable actions; every reported value is also checked against the exact fixed
point computed by brute force over all deterministic policies where that is affordable.
"""

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from theory_rl import tabular
from theory_rl.checks import assert_bellman_optimal, assert_bounds_bracket, finite_mdps


def brute_force_optimum(mdp):
    """max over all A^S deterministic policies of the exact policy value, computed with a plain
    dense numpy solve (independent of the library's solvers)."""
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.to_dense().P
    mask = np.ones((S, A), bool) if mdp.action_mask is None else mdp.action_mask
    best = np.full(S, -np.inf)
    for pi in itertools.product(*[np.flatnonzero(mask[s]) for s in range(S)]):
        pi = np.array(pi)
        P_pi = P[np.arange(S), pi]
        v = np.linalg.solve(np.eye(S) - mdp.gamma * P_pi, mdp.R[np.arange(S), pi])
        best = np.maximum(best, v)
    return best


def reference(mdp):
    return tabular.policy_iteration(mdp, tol=1e-10).v


@given(finite_mdps(max_states=4, max_actions=3, masked=True))
def test_policy_iteration_equals_brute_force(mdp):
    np.testing.assert_allclose(reference(mdp), brute_force_optimum(mdp), atol=1e-9, rtol=0)


@given(finite_mdps(masked=True), st.sampled_from([1e-4, 1e-7]))
def test_all_solvers_agree(mdp, tol):
    v_star = reference(mdp)
    results = {
        "vi-span": tabular.value_iteration(mdp, tol=tol),
        "vi-sup": tabular.value_iteration(mdp, tol=tol, stopping="sup"),
        "vi-gs": tabular.value_iteration(mdp, tol=tol, variant="gauss-seidel"),
        "mpi": tabular.modified_policy_iteration(mdp, tol=tol),
        "mpi-0": tabular.modified_policy_iteration(mdp, tol=tol, n_eval=0),
        "pi": tabular.policy_iteration(mdp, tol=tol),
        "lp-primal": tabular.linear_programming(mdp, formulation="primal"),
        "lp-dual": tabular.linear_programming(mdp, formulation="dual"),
    }
    scale = 1.0 / (1.0 - mdp.gamma)
    for name, sol in results.items():
        assert sol.converged, name
        # The certified bound holds and is at most tol/2 for the iterative methods.
        err = np.max(np.abs(sol.v - v_star))
        assert err <= sol.bound + 1e-10 * scale, (name, err, sol.bound)
        if name.startswith(("vi", "mpi")):
            assert sol.bound <= tol / 2 * (1 + 1e-9), (name, sol.bound)
        assert_bounds_bracket(sol.lower, v_star, sol.upper, atol=1e-10 * scale)
        # The greedy policy is tol-optimal: its exact value is within tol of v*.
        v_pi = tabular.policy_value(mdp, sol.policy)
        assert np.max(v_star - v_pi) <= tol + 1e-10 * scale, (name, np.max(v_star - v_pi))
    # Exact methods agree to rounding.
    for name in ("lp-primal", "lp-dual"):
        np.testing.assert_allclose(results[name].v, v_star, atol=1e-9 * scale, rtol=0)


@given(finite_mdps(sparse=False, masked=True))
def test_dense_and_sparse_layouts_give_identical_answers(mdp):
    sparse = mdp.to_sparse()
    for solver in (tabular.value_iteration, tabular.modified_policy_iteration, tabular.policy_iteration):
        a, b = solver(mdp, tol=1e-8), solver(sparse, tol=1e-8)
        np.testing.assert_allclose(a.v, b.v, atol=1e-9 / (1 - mdp.gamma), rtol=0)
        assert a.n_iter == b.n_iter or solver is tabular.value_iteration
    np.testing.assert_allclose(
        tabular.q_values(mdp, np.arange(mdp.n_states, dtype=float)),
        tabular.q_values(sparse, np.arange(mdp.n_states, dtype=float)),
        atol=1e-12,
    )
    ga, gb = (tabular.value_iteration(m, tol=1e-8, variant="gauss-seidel") for m in (mdp, sparse))
    np.testing.assert_allclose(ga.v, gb.v, atol=1e-9 / (1 - mdp.gamma), rtol=0)


@given(finite_mdps(masked=True))
def test_lp_occupancy_is_the_optimal_policys_occupancy(mdp):
    S = mdp.n_states
    lp = tabular.linear_programming(mdp)
    pi = lp.policy
    P_pi = mdp.to_dense().P[np.arange(S), pi]
    alpha = lp.info["alpha"]
    # Closed form rho^S = alpha^T (I - gamma P_pi)^{-1}, placed on the policy's actions.
    rho_states = np.linalg.solve((np.eye(S) - mdp.gamma * P_pi).T, alpha)
    np.testing.assert_allclose(lp.occupancy.sum(axis=1), rho_states, atol=1e-9 / (1 - mdp.gamma))
    # HiGHS's raw occupancy satisfies the dual LP's flow constraints.
    raw = lp.info["lp_occupancy"]
    P = mdp.to_dense().P
    flow = raw.sum(axis=1) - mdp.gamma * np.einsum("sa,sat->t", raw, P)
    np.testing.assert_allclose(flow, alpha, atol=1e-6)
    assert (raw >= -1e-12).all()


@given(finite_mdps(masked=True))
def test_policy_evaluation_direct_iterative_and_solvers_agree(mdp):
    rng = np.random.default_rng(0)
    S, A = mdp.n_states, mdp.n_actions
    avail = np.ones((S, A), bool) if mdp.action_mask is None else mdp.action_mask
    pi = rng.random((S, A)) * avail
    pi /= pi.sum(axis=1, keepdims=True)
    direct = tabular.policy_evaluation(mdp, pi)
    iterative = tabular.policy_evaluation(mdp, pi, method="iterative", tol=1e-10)
    sparse = tabular.policy_evaluation(mdp.to_sparse(), pi, linear_solver="iterative")
    # Independent reference: dense numpy solve built here.
    P_pi = np.einsum("sa,sat->st", pi, mdp.to_dense().P)
    r_pi = (pi * mdp.R).sum(axis=1)
    exact = np.linalg.solve(np.eye(S) - mdp.gamma * P_pi, r_pi)
    for sol in (direct, iterative, sparse):
        np.testing.assert_allclose(sol.v, exact, atol=1e-9 / (1 - mdp.gamma), rtol=0)
        assert np.max(np.abs(sol.v - exact)) <= sol.bound + 1e-12 / (1 - mdp.gamma)
    assert_bellman_optimal(mdp, reference(mdp), tol=1e-9 / (1 - mdp.gamma))
