"""Occupancy measures and the occupancy LP pair (spec section 3.7, items 1-3).

(a) equivalence: primal LP = dual LP = (1-gamma) <d0, V*> with V* from value iteration, in both
scalings; (b) theorem properties: occupancy sums and flow constraints, complementary slackness,
policy recovery; (c) reference: a two-state chain solved by hand.
"""

import numpy as np
import pytest
from hypothesis import given, settings

from theory_rl import dual, tabular
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidModelError
from theory_rl.models import FiniteMDP


def _random_policy(mdp, seed):
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
    if mdp.action_mask is not None:
        pi = pi * mdp.action_mask
        pi /= pi.sum(axis=1, keepdims=True)
    return pi


@settings(max_examples=25)
@given(finite_mdps(min_states=2, max_states=6, max_actions=4, masked=True))
def test_primal_equals_dual_equals_value_iteration(mdp):
    vstar = tabular.policy_iteration(mdp, tol=1e-10).v
    scale = 1.0 / (1.0 - mdp.gamma)
    for normalized in (True, False):
        c = (1.0 - mdp.gamma) if normalized else 1.0
        p = dual.primal_lp(mdp, normalized=normalized)
        d = dual.dual_lp(mdp, normalized=normalized)
        target = c * float(mdp.d0 @ vstar)
        assert p.objective == pytest.approx(target, abs=1e-8 * scale)
        assert d.objective == pytest.approx(target, abs=1e-8 * scale)
        # the LP's dual variables are the other LP's solution
        np.testing.assert_allclose(p.occupancy.sum(), 1.0 if normalized else scale, atol=1e-8 * scale)
        np.testing.assert_allclose(dual.flow_residual(mdp, p.occupancy, normalized=normalized), 0, atol=1e-8)
        np.testing.assert_allclose(dual.flow_residual(mdp, d.occupancy, normalized=normalized), 0, atol=1e-8)
        np.testing.assert_allclose(-p.dual_variables, p.v)
        # every dual-feasible V is >= V*; equal where d0 > 0
        assert np.all(d.v >= vstar - 1e-7 * scale)
        reached = mdp.d0 > 1e-9
        np.testing.assert_allclose(d.v[reached], vstar[reached], atol=1e-7 * scale)


@given(finite_mdps(min_states=2, max_states=6, max_actions=4, masked=True))
def test_occupancy_closed_form_properties(mdp):
    pi = _random_policy(mdp, 0)
    d = dual.occupancy(mdp, pi, normalized=True)
    rho = dual.occupancy(mdp, pi, normalized=False)
    assert d.sum() == pytest.approx(1.0, abs=1e-10)
    assert rho.sum() == pytest.approx(1.0 / (1.0 - mdp.gamma), rel=1e-10)
    np.testing.assert_allclose(d, (1 - mdp.gamma) * rho, atol=1e-14)
    np.testing.assert_allclose(dual.flow_residual(mdp, d, normalized=True), 0, atol=1e-10)
    np.testing.assert_allclose(dual.flow_residual(mdp, rho, normalized=False), 0, atol=1e-10)
    v_pi = tabular.policy_value(mdp, pi)
    assert float(np.sum(d * mdp.R)) == pytest.approx((1 - mdp.gamma) * float(mdp.d0 @ v_pi), abs=1e-10)


@settings(max_examples=25)
@given(finite_mdps(min_states=2, max_states=6, max_actions=4, masked=True))
def test_complementary_slackness_and_policy_recovery(mdp):
    vstar = tabular.policy_iteration(mdp, tol=1e-10).v
    qstar = tabular.q_values(mdp, vstar)
    scale = 1.0 / (1.0 - mdp.gamma)
    for method in ("highs-ds", "highs-ipm"):  # a vertex and an interior (possibly mixed) optimum
        sol = dual.primal_lp(mdp, highs_method=method)
        support = sol.occupancy > 1e-9
        s, a = np.nonzero(support)
        np.testing.assert_allclose(qstar[s, a], vstar[s], atol=1e-6 * scale)
        v_pol = tabular.policy_value(mdp, sol.policy)
        visited = support.any(axis=1)
        np.testing.assert_allclose(v_pol[visited], vstar[visited], atol=1e-6 * scale)
        assert float(mdp.d0 @ v_pol) == pytest.approx(float(mdp.d0 @ vstar), abs=1e-6 * scale)


def test_two_state_reference():
    # state 0: action 0 stays (r=0), action 1 moves to 1 (r=0); state 1 absorbing with r=1.
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    R = np.array([[0.0, 0.0], [1.0, 1.0]])
    mdp = FiniteMDP(P, R, 0.9, d0=[1.0, 0.0])
    sol = dual.primal_lp(mdp, normalized=False)
    # V*(0) = 0.9 / 0.1 = 9 ; rho(0, 1) = 1, rho(1, .) = 0.9 / 0.1 = 9 in total
    assert sol.objective == pytest.approx(9.0, abs=1e-9)
    assert sol.occupancy[0].tolist() == pytest.approx([0.0, 1.0], abs=1e-9)
    assert sol.occupancy[1].sum() == pytest.approx(9.0, abs=1e-9)
    assert dual.occupancy(mdp, np.array([1, 0]), normalized=True)[0, 1] == pytest.approx(0.1)


def test_bad_input():
    mdp = FiniteMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), 0.9)
    with pytest.raises(InvalidModelError, match=r"policy\[1\] = 5"):
        dual.occupancy(mdp, np.array([0, 5]))
    with pytest.raises(InvalidModelError, match="occupancy has shape"):
        dual.flow_residual(mdp, np.zeros((3, 2)), normalized=True)
