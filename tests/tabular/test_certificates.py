"""Certificates that never lie: the reproductions of issue 17 (items 1-4 and 8) as regression
tests, each checked against the model's exact rational solution (``fractions``)."""

from __future__ import annotations

import time
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import envs, tabular
from theory_rl.errors import ConvergenceWarning, InvalidArgumentError, SolverError
from theory_rl.models import FiniteMDP
from theory_rl.tabular._exact import exact_policy_value, exact_solution

SOLVERS = {
    "vi-span": lambda m, **kw: tabular.value_iteration(m, **kw),
    "vi-sup": lambda m, **kw: tabular.value_iteration(m, stopping="sup", **kw),
    "gs-span": lambda m, **kw: tabular.value_iteration(m, variant="gauss-seidel", **kw),
    "gs-sup": lambda m, **kw: tabular.value_iteration(m, variant="gauss-seidel", stopping="sup", **kw),
    "mpi": lambda m, **kw: tabular.modified_policy_iteration(m, **kw),
    "pi": lambda m, **kw: tabular.policy_iteration(m, **kw),
    "lp": lambda m, **kw: tabular.linear_programming(m, **kw),
}


def quiet(solver, mdp, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return solver(mdp, *args, **kw)


def exact_error(v, v_star) -> Fraction:
    return max(abs(Fraction(float(x)) - y) for x, y in zip(v, v_star, strict=True))


def assert_honest(sol, mdp, exact, tol):
    """Every claim of ``sol`` holds for the exact ``v*``: ``|v - v*| <= bound``, ``lower <= v* <=
    upper``, the policy within ``policy_gap_bound`` of optimal, and ``converged`` only with
    ``bound <= tol``."""
    assert sol.bound > 0
    assert exact_error(sol.v, exact.v) <= Fraction(sol.bound), (sol.method, float(exact_error(sol.v, exact.v)), sol.bound)
    if sol.lower is not None:
        for lo, x, hi in zip(sol.lower, exact.v, sol.upper, strict=True):
            assert Fraction(float(lo)) <= x <= Fraction(float(hi))
    gap_bound = sol.info.get("policy_gap_bound")
    if gap_bound is not None:
        v_pi = exact_policy_value(mdp, sol.policy)
        assert max(a - b for a, b in zip(exact.v, v_pi, strict=True)) <= Fraction(gap_bound)
    if sol.converged:
        assert sol.bound <= tol
    else:
        assert sol.info.get("reason")


# ------------------------------------------------------------------------------- item 1
@pytest.mark.parametrize("gamma", [1 - 1e-12, 1 - 1e-8])
def test_mpi_on_the_gridworld_near_gamma_one_does_not_certify_a_wrong_value(gamma):
    # main: converged=True, bound=0.0, v[:4] = [84, 83, 82, 81] (gamma = 1 - 1e-12) or an error of
    # 0.74 (1 - 1e-8); the true values are about [0, -1, -2, -3]
    mdp = envs.sutton_barto_gridworld(gamma=gamma)
    # (from v0 = min R / (1 - gamma) the absorbing corners need ~1e8 sweeps: max_iter keeps it short)
    sol = quiet(tabular.modified_policy_iteration, mdp, max_iter=300)
    r, c = np.divmod(np.arange(16), 4)
    v_star = -np.minimum(r + c, 6 - r - c).astype(float)  # v* up to (1 - gamma) * 6^2
    err = np.max(np.abs(sol.v - v_star))
    assert err <= sol.bound + 1e-6
    assert not (sol.converged and sol.bound == 0.0)
    if not sol.converged:
        assert sol.info["reason"]


def test_sup_rule_near_gamma_one_stops_quickly_with_the_reason():
    # main: runs for minutes (here: all of max_iter); now it stops at the rounding floor
    mdp = envs.sutton_barto_gridworld(gamma=1 - 1e-10)
    start = time.perf_counter()
    with pytest.warns(ConvergenceWarning, match="float64 cannot certify"):
        sol = tabular.value_iteration(mdp, stopping="sup", max_iter=200_000)
    assert time.perf_counter() - start < 10
    assert not sol.converged and sol.n_iter < 1000
    assert "rounding floor" in sol.info["reason"]
    r, c = np.divmod(np.arange(16), 4)
    assert np.max(np.abs(sol.v + np.minimum(r + c, 6 - r - c))) <= sol.bound


# ------------------------------------------------------------------------------- item 2
def test_bounds_on_huge_rewards_cover_the_exact_value():
    # main: bound = 0 and lower == upper == v, but v is ~1e4 from v* = 1e12 / (1 - 0.9999)
    mdp = FiniteMDP(np.ones((1, 1, 1)), np.full((1, 1), 1e12), 0.9999)
    exact = exact_solution(mdp)
    assert exact.v[0] == Fraction(1e12) / (1 - Fraction(0.9999))
    for name, solver in SOLVERS.items():
        sol = quiet(solver, mdp)
        assert_honest(sol, mdp, exact, 1e-6)
        if sol.lower is not None:
            assert sol.lower[0] < sol.upper[0], name


@pytest.mark.parametrize("name", ["pi", "lp"])
def test_exact_solvers_on_river_swim_bound_their_error(name):
    # main: bound 0 with an error of 1.9e-9
    mdp = envs.river_swim(6, gamma=0.9999)
    sol = quiet(SOLVERS[name], mdp)
    assert_honest(sol, mdp, exact_solution(mdp), 1e-6)


@pytest.mark.parametrize(("seed", "gamma"), [(0, 0.99), (2, 0.999)])
def test_value_iteration_on_near_deterministic_models_bounds_its_error(seed, gamma):
    # main (seed 0, gamma 0.99, span rule): bound 4.9794006e-7 against an error of 4.9794037e-7;
    # (2, 0.999, span rule): 4.5e-13 against 1.8e-11
    mdp = envs.near_deterministic_mdp(5, 2, slip=1e-9, gamma=gamma, seed=seed)
    exact = exact_solution(mdp)
    for name in ("vi-span", "vi-sup", "gs-span", "gs-sup", "mpi"):
        assert_honest(quiet(SOLVERS[name], mdp), mdp, exact, 1e-6)


# ------------------------------------------------------------------------------- item 3
@pytest.mark.parametrize("name", list(SOLVERS))
def test_a_certified_policy_is_optimal_or_its_gap_bound_says_it_may_not_be(name):
    # main (gamma 0.9999): Gauss-Seidel VI and MPI return action 0 with policy_gap_bound 0, but
    # action 1 is better by 1 / (1 - gamma) at every state
    mdp = FiniteMDP(np.ones((1, 2, 1)), np.array([[1e12, 1e12 + 1]]), 0.9999)
    exact = exact_solution(mdp)
    assert exact.policy == [1]
    sol = quiet(SOLVERS[name], mdp)
    assert_honest(sol, mdp, exact, 1e-6)
    if sol.info["policy_gap_bound"] < 1:  # small enough to separate the two actions
        assert sol.policy[0] == 1


# ------------------------------------------------------------------------------- item 4
def test_gamma_zero_is_solved_by_every_rule():
    # main: value_iteration(chain(gamma=0), stopping="sup") raises ZeroDivisionError
    mdp = envs.chain(gamma=0.0)
    exact = exact_solution(mdp)
    for name, solver in SOLVERS.items():
        sol = solver(mdp)
        assert sol.converged, name
        np.testing.assert_array_equal(sol.v, mdp.R.max(axis=1))
        assert_honest(sol, mdp, exact, 1e-6)


# ------------------------------------------------------------------------------- the certificate
@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    S=st.integers(1, 4),
    A=st.integers(1, 3),
    gamma=st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.9999, 1 - 1e-10]),
    scale=st.sampled_from([1.0, 1e6, 1e12]),
    sparsity=st.sampled_from([0.0, 0.5, 0.9]),
)
def test_certificates_hold_on_random_models_against_exact_rationals(seed, S, A, gamma, scale, sparsity):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) >= sparsity)
    P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(S, size=(S, A))] += 1.0
    P /= P.sum(axis=2, keepdims=True)
    mdp = FiniteMDP(P, scale * rng.uniform(-1, 1, (S, A)), gamma)
    exact = exact_solution(mdp)
    for name, solver in SOLVERS.items():
        # unconverged results must be honest too: max_iter keeps gamma near 1 short
        options = {} if name in ("pi", "lp") else {"max_iter": 300}
        try:
            sol = quiet(solver, mdp, **options)
        except SolverError as exc:  # HiGHS refuses gamma near 1: the library's error, not a wrong answer
            assert name == "lp" and "ill-conditioned" in str(exc)
            continue
        assert_honest(sol, mdp, exact, 1e-6)
    cert = tabular.certify(tabular.BellmanOperator(mdp), rng.normal(size=S) * scale)
    for lo, x, hi in zip(cert.lower, exact.v, cert.upper, strict=True):
        assert Fraction(float(lo)) <= x <= Fraction(float(hi))


def test_rows_that_do_not_sum_to_one_exactly_are_accounted_for():
    # rows off by 5e-9 (within the models' atol): the certificate bounds the stored model's v*
    P = np.zeros((2, 1, 2))
    P[0, 0, 0], P[1, 0, 1] = 1.0 - 5e-9, 1.0 + 5e-9
    mdp = FiniteMDP(P, np.array([[1.0], [-1.0]]), 0.9)
    exact = exact_solution(mdp)
    for solver in SOLVERS.values():
        assert_honest(quiet(solver, mdp), mdp, exact, 1e-6)


def test_ordinary_models_keep_tiny_certificates():
    mdp = envs.random_mdp(20, 3, seed=0, gamma=0.9)
    sol = tabular.value_iteration(mdp, tol=1e-8)
    assert sol.converged and sol.info["rounding_floor"] < 1e-11
    assert tabular.policy_iteration(mdp, tol=1e-10).converged


def test_policy_evaluation_bounds_cover_rounding():
    mdp = envs.river_swim(6, gamma=0.9999)
    pi = np.zeros(6, dtype=np.int64)
    exact = exact_policy_value(mdp, pi)
    for method in ("direct", "iterative"):
        sol = quiet(tabular.policy_evaluation, mdp, pi, method=method, tol=1e-6)
        assert exact_error(sol.v, exact) <= Fraction(sol.bound)
        assert sol.converged == (sol.bound <= 1e-6)


# ------------------------------------------------------------------------------- item 8
BAD_OPTIONS = [
    (tabular.value_iteration, {"tol": None}, "tol"),
    (tabular.value_iteration, {"tol": 0.0}, "tol"),
    (tabular.value_iteration, {"max_iter": 2.5}, "max_iter"),
    (tabular.value_iteration, {"max_iter": 0}, "max_iter"),
    (tabular.value_iteration, {"max_iter": -3}, "max_iter"),
    (tabular.value_iteration, {"variant": "x"}, "variant"),
    (tabular.value_iteration, {"stopping": "x"}, "stopping"),
    (tabular.value_iteration, {"strict": "no"}, "strict"),
    (tabular.value_iteration, {"callback": 3}, "callback"),
    (tabular.modified_policy_iteration, {"max_iter": 0}, "max_iter"),
    (tabular.modified_policy_iteration, {"tol": None}, "tol"),
    (tabular.modified_policy_iteration, {"n_eval": -1}, "n_eval"),
    (tabular.modified_policy_iteration, {"n_eval": 2.5}, "n_eval"),
    (tabular.modified_policy_iteration, {"n_eval": "x"}, "n_eval"),
    (tabular.policy_iteration, {"max_iter": 0}, "max_iter"),
    (tabular.policy_iteration, {"max_iter": 2.5}, "max_iter"),
    (tabular.policy_iteration, {"tol": None}, "tol"),
    (tabular.policy_iteration, {"linear_solver": "x"}, "linear_solver"),
    (tabular.policy_iteration, {"policy0": [0, 1]}, "policy0"),
    (tabular.policy_iteration, {"policy0": [0, 9, 0, 0, 0]}, "policy0"),
    (tabular.policy_iteration, {"policy0": np.full((5, 2), 0.5)}, "policy0"),
    (tabular.linear_programming, {"formulation": "x"}, "formulation"),
    (tabular.linear_programming, {"highs_method": "x"}, "highs_method"),
    (tabular.linear_programming, {"tol": -1.0}, "tol"),
    (tabular.soft_value_iteration, {"temperature": 1.0, "tol": None}, "tol"),
    (tabular.soft_value_iteration, {"temperature": 1.0, "max_iter": 0}, "max_iter"),
    (tabular.soft_value_iteration, {"temperature": 0.0}, "temperature"),
    (tabular.relative_value_iteration, {"max_iter": 0}, "max_iter"),
    (tabular.relative_value_iteration, {"tol": None}, "tol"),
    (tabular.relative_value_iteration, {"aperiodicity": 0.0}, "aperiodicity"),
    (tabular.relative_value_iteration, {"reference_state": 99}, "reference_state"),
    (tabular.backward_induction, {"horizon": 2.5}, "horizon"),
    (tabular.backward_induction, {"horizon": 0}, "horizon"),
]


@pytest.mark.parametrize(("solver", "options", "name"), BAD_OPTIONS,
                         ids=[f"{s.__name__}-{'-'.join(map(str, o.items()))}" for s, o, _ in BAD_OPTIONS])
def test_bad_options_raise_the_library_error_naming_the_option(solver, options, name):
    mdp = envs.chain(5, gamma=0.9)
    with pytest.raises(InvalidArgumentError, match=name):
        solver(mdp, **options)


@pytest.mark.parametrize("options", [{"method": "x"}, {"linear_solver": "x"}, {"tol": None}, {"max_iter": 0}])
def test_bad_policy_evaluation_options(options):
    mdp = envs.chain(5, gamma=0.9)
    with pytest.raises(InvalidArgumentError, match=next(iter(options))):
        tabular.policy_evaluation(mdp, np.zeros(5, dtype=int), **options)


# ------------------------------------------------------------------------------- the study, small
@pytest.mark.parametrize("gamma", [0.0, 0.9, 0.9999, 1 - 1e-10])
def test_certificate_study_quick_version_finds_no_violation(gamma):
    """A few instances of ``bench/certificates.py`` (the full study lives there): every solver and
    stopping rule, against the exact rational solution."""
    models = [
        FiniteMDP(np.ones((1, 1, 1)), np.full((1, 1), 1e12), gamma),
        FiniteMDP(np.ones((1, 2, 1)), np.array([[1e12, 1e12 + 1]]), gamma),
        envs.near_deterministic_mdp(5, 2, slip=1e-9, gamma=gamma, seed=0),
    ]
    for mdp in models:
        exact = exact_solution(mdp)
        for name, solver in SOLVERS.items():
            try:
                sol = quiet(solver, mdp, **({} if name in ("pi", "lp") else {"max_iter": 2_000}))
            except SolverError as exc:
                assert name == "lp" and "ill-conditioned" in str(exc)
                continue
            assert_honest(sol, mdp, exact, 1e-6)
