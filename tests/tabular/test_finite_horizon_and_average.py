"""Backward induction (finite horizon) and relative value iteration (average reward)."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog

from theory_rl import tabular
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP


def brute_force_horizon_value(mdp, H, terminal):
    """max over every non-stationary deterministic policy (A^(S H) of them) of the expected
    return, computed by pushing state distributions forward (independent of the solver)."""
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.to_dense().P
    best = np.full(S, -np.inf)
    for flat in itertools.product(range(A), repeat=S * H):
        rules = np.array(flat).reshape(H, S)
        for s0 in range(S):
            dist = np.zeros(S)
            dist[s0] = 1.0
            total = 0.0
            for t in range(H):
                total += mdp.gamma**t * dist @ mdp.R[np.arange(S), rules[t]]
                dist = dist @ P[np.arange(S), rules[t]]
            total += mdp.gamma**H * dist @ terminal
            best[s0] = max(best[s0], total)
    return best


@given(finite_mdps(max_states=3, max_actions=2, gamma=(0.5, 0.99)), st.integers(1, 3), st.booleans())
def test_backward_induction_equals_brute_force(mdp, H, undiscounted):
    if undiscounted:
        mdp = mdp.replace(gamma=1.0, horizon=H)
    terminal = np.linspace(0, 1, mdp.n_states)
    sol = tabular.backward_induction(mdp, horizon=H, terminal=terminal)
    assert sol.v.shape == (H + 1, mdp.n_states) and sol.policy.shape == (H, mdp.n_states)
    np.testing.assert_allclose(sol.v[0], brute_force_horizon_value(mdp, H, terminal), atol=1e-12)
    np.testing.assert_array_equal(sol.v[H], terminal)


@given(finite_mdps(), st.integers(1, 60))
def test_finite_horizon_values_approach_v_star_geometrically(mdp, H):
    """||v_0^H - v*||_inf <= gamma^H ||v*||_inf with zero terminal reward."""
    v_star = tabular.policy_iteration(mdp, tol=1e-10).v
    v0 = tabular.backward_induction(mdp, horizon=H).v[0]
    assert np.max(np.abs(v0 - v_star)) <= mdp.gamma**H * np.max(np.abs(v_star)) + 1e-9


def test_backward_induction_needs_a_horizon():
    mdp = FiniteMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 0.9)
    with pytest.raises(InvalidModelError, match="horizon"):
        tabular.backward_induction(mdp)
    with pytest.raises(InvalidModelError, match="infinite-horizon solvers need gamma < 1"):
        tabular.value_iteration(FiniteMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 1.0, horizon=3))


def unichain(mdp):
    """Mix every row with the uniform distribution: all policies become irreducible."""
    S, A = mdp.n_states, mdp.n_actions
    P = 0.8 * mdp.to_dense().P + 0.2 / S
    return FiniteMDP(P if not mdp.is_sparse else sp.csr_matrix(P.reshape(S * A, S)), mdp.R, mdp.gamma)


def average_reward_lp_gain(mdp):
    """Puterman (1994) §8.8.1: max sum x r s.t. sum_a x(j,a) - sum_{s,a} P(j|s,a) x(s,a) = 0,
    sum x = 1, x >= 0 (unichain models)."""
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.to_dense().P.reshape(S * A, S)
    E = np.repeat(np.eye(S), A, axis=0)
    A_eq = np.vstack([(E - P).T, np.ones((1, S * A))])
    b_eq = np.r_[np.zeros(S), 1.0]
    res = linprog(-np.asarray(mdp.R).ravel(), A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert res.status == 0
    return -res.fun


@given(finite_mdps())
def test_relative_value_iteration_gain_equals_lp_and_satisfies_optimality_equation(mdp):
    mdp = unichain(mdp)
    sol = tabular.relative_value_iteration(mdp, tol=1e-10)
    assert sol.converged
    g_lp = average_reward_lp_gain(mdp)
    assert sol.info["gain_lower"] - 1e-9 <= g_lp <= sol.info["gain_upper"] + 1e-9
    assert sol.gain == pytest.approx(g_lp, abs=1e-8)
    # g + h(s) = max_a [R(s,a) + sum_s' P(s'|s,a) h(s')]
    np.testing.assert_allclose(sol.gain + sol.v, sol.q.max(axis=1), atol=1e-7)
    assert sol.v[0] == 0.0
    # The greedy policy is gain-optimal: its stationary reward equals g*.
    S = mdp.n_states
    P_pi = mdp.to_dense().P[np.arange(S), sol.policy]
    w, vecs = np.linalg.eig(P_pi.T)
    stat = np.real(vecs[:, np.argmin(np.abs(w - 1))])
    stat /= stat.sum()
    assert stat @ mdp.R[np.arange(S), sol.policy] == pytest.approx(g_lp, abs=1e-8)


@given(finite_mdps(max_states=4))
def test_discounted_values_tend_to_the_gain(mdp):
    """(1 - gamma) v*_gamma -> g* as gamma -> 1 (Blackwell), with error O(1 - gamma)."""
    mdp = unichain(mdp)
    g = tabular.relative_value_iteration(mdp).gain
    errs = [np.max(np.abs((1 - gm) * tabular.policy_iteration(mdp.replace(gamma=gm)).v - g)) for gm in (0.99, 0.9999)]
    assert errs[1] <= 0.02 * errs[0] + 1e-9 or errs[1] < 1e-7


def test_relative_value_iteration_options():
    mdp = FiniteMDP(np.full((2, 1, 2), 0.5), np.array([[1.0], [3.0]]), 0.9)
    sol = tabular.relative_value_iteration(mdp, reference_state=1)
    assert sol.gain == pytest.approx(2.0) and sol.v[1] == 0.0
    with pytest.raises(InvalidArgumentError, match="reference_state"):
        tabular.relative_value_iteration(mdp, reference_state=2)
    with pytest.raises(InvalidArgumentError, match="aperiodicity"):
        tabular.relative_value_iteration(mdp, aperiodicity=0.0)
    # A periodic chain needs the aperiodicity transform: tau = 1 oscillates, tau = 0.5 converges.
    flip = FiniteMDP(np.array([[[0.0, 1.0]], [[1.0, 0.0]]]), np.array([[1.0], [0.0]]), 0.9)
    assert tabular.relative_value_iteration(flip).gain == pytest.approx(0.5)
    with pytest.warns(tabular_warning()):
        assert not tabular.relative_value_iteration(flip, aperiodicity=1.0, max_iter=50).converged


def tabular_warning():
    from theory_rl.errors import ConvergenceWarning

    return ConvergenceWarning
