"""The peers' own examples through FiniteMDP.from_quantecon / from_state_action_pairs /
from_mdptoolbox and tabular.solve, compared with the numbers the peers publish (QuantEcon's
test_ddp.py, pymdptoolbox's docstrings), and with the peers themselves on random models."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import tabular
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP

# --- QuantEcon: Puterman (2005) §3.1, the model of test_ddp.TestDiscreteDP ------------------------
BETA = 0.95
R_PRODUCT = [[5, 10], [-1, -np.inf]]
Q_PRODUCT = np.array([[[0.5, 0.5], [0, 1]], [[0, 1], [0, 1]]], dtype=float)
S_IDX, A_IDX = [0, 0, 1], [0, 1, 0]
R_SA = [5, 10, -1]
Q_SA = [[0.5, 0.5], [0, 1], [0, 1]]
# Puterman Example 6.2.1 (beta > 10/11), as test_ddp.py states it
V_STAR = [(5 - 5.5 * BETA) / ((1 - 0.5 * BETA) * (1 - BETA)), -1 / (1 - BETA)]
SIGMA_STAR = [0, 0]


def puterman_models():
    return [
        FiniteMDP.from_quantecon(R_PRODUCT, Q_PRODUCT, BETA),
        FiniteMDP.from_state_action_pairs(R_SA, sp.lil_matrix(np.array(Q_SA)), S_IDX, A_IDX, BETA),
        FiniteMDP.from_state_action_pairs(R_SA, Q_SA, S_IDX, A_IDX, BETA),
    ]


@pytest.mark.parametrize("method", ["vi", "pi", "mpi", "lp"])
def test_quantecon_puterman_example(method):
    epsilon = 1e-2
    for mdp in puterman_models():
        assert mdp.action_mask.tolist() == [[True, True], [True, False]]
        res = tabular.solve(mdp, method=method, **({} if method in ("pi", "lp") else {"epsilon": epsilon}))
        if method in ("pi", "lp"):
            np.testing.assert_allclose(res.v, V_STAR, rtol=1e-12)
        else:
            assert np.abs(res.v - V_STAR).max() < epsilon / 2
        assert res.policy.tolist() == SIGMA_STAR


def test_quantecon_v_init_and_k0():
    mdp = puterman_models()[0]
    assert tabular.solve(mdp, method="pi", v_init=[0, 1]).policy.tolist() == SIGMA_STAR
    res = tabular.solve(mdp, method="mpi", epsilon=1e-2, k=0, v_init=[0, 1])
    assert np.abs(res.v - V_STAR).max() < 1e-2 / 2
    assert res.params["n_eval"] == 0 and res.params["tol"] == 1e-2


def test_quantecon_beta_zero():
    # test_ddp.test_ddp_beta_0
    R = np.array([[0, 1], [1, 0], [0, 1]], dtype=float)
    Q = np.full((3, 2, 3), 1 / 3)
    mdp = FiniteMDP.from_quantecon(R, Q, 0.0)
    for method in ("vi", "pi", "mpi", "lp"):
        res = tabular.solve(mdp, method=method, v_init=[0, 0, 0])
        assert res.policy.tolist() == [1, 0, 1]
        np.testing.assert_allclose(res.v, [1, 1, 1], atol=1e-12)


def test_quantecon_sorting():
    # test_ddp.test_ddp_sorting: shuffled pairs give the same model
    Q = [(1, 0), (1 / 2, 1 / 2), (0, 1)]
    a = FiniteMDP.from_state_action_pairs([0, 1, 2], Q, [0, 0, 1], [0, 1, 0], 0.95)
    b = FiniteMDP.from_state_action_pairs([0, 2, 1], [(1, 0), (0, 1), (1 / 2, 1 / 2)], [0, 1, 0], [0, 0, 1], 0.95)
    c = FiniteMDP.from_state_action_pairs([0, 2, 1], sp.csr_matrix([(1, 0), (0, 1), (1 / 2, 1 / 2)]),
                                          [0, 1, 0], [0, 0, 1], 0.95)
    for m in (b, c):
        np.testing.assert_array_equal(m.R, a.R)
        np.testing.assert_array_equal(m.to_dense().P, a.P)
        np.testing.assert_array_equal(m.action_mask, a.action_mask)
    assert c.is_sparse


def test_quantecon_finite_horizon_inventory():
    # test_ddp.TestFiniteHorizon: Puterman (2005) §3.2/§4.6.1, single-product inventory, beta = 1, T = 3
    s_indices = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
    a_indices = [0, 1, 2, 3, 0, 1, 2, 0, 1, 0]
    R = [0., -1., -2., -5., 5., 0., -3., 6., -1., 5.]
    Q = [[1., 0., 0., 0.], [0.75, 0.25, 0., 0.], [0.25, 0.5, 0.25, 0.], [0., 0.25, 0.5, 0.25],
         [0.75, 0.25, 0., 0.], [0.25, 0.5, 0.25, 0.], [0., 0.25, 0.5, 0.25],
         [0.25, 0.5, 0.25, 0.], [0., 0.25, 0.5, 0.25], [0., 0.25, 0.5, 0.25]]
    mdp = FiniteMDP.from_state_action_pairs(R, Q, s_indices, a_indices, 1, horizon=3)
    res = tabular.solve(mdp)
    assert res.method == "backward_induction"
    vs_expected = [[67 / 16, 129 / 16, 194 / 16, 227 / 16], [2, 25 / 4, 10, 21 / 2], [0, 5, 6, 5], [0, 0, 0, 0]]
    np.testing.assert_allclose(res.v, vs_expected, rtol=1e-12)
    assert res.policy.tolist() == [[3, 0, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0]]


def test_quantecon_error_cases():
    # test_ddp: a state whose every reward is -inf; no feasible action; duplicates; out of range
    R = np.array([[0, 1], [0, -np.inf], [-np.inf, -np.inf]])
    Q = np.full((3, 2, 3), 1 / 3)
    with pytest.raises(InvalidModelError, match="state 2 has no feasible action"):
        FiniteMDP.from_quantecon(R, Q, 0.95)
    with pytest.raises(InvalidModelError, match="state 2 has no feasible action"):
        FiniteMDP.from_state_action_pairs(R.ravel(), sp.csr_matrix(Q.reshape(6, 3)), [0, 0, 1, 1, 2, 2],
                                          [0, 1, 0, 1, 0, 1], 0.95)
    Q4 = [(1 / 3, 1 / 3, 1 / 3)] * 4
    with pytest.raises(InvalidModelError, match="state 1 has no feasible action"):
        FiniteMDP.from_state_action_pairs([1, 0, 0, 1], Q4, [0, 0, 2, 2], [0, 1, 0, 1], 0.95)
    with pytest.raises(InvalidModelError, match="state 2 has no feasible action"):
        FiniteMDP.from_state_action_pairs([1, 0, 0, 1], Q4, [1, 0, 1, 0], [0, 0, 1, 1], 0.95)
    with pytest.raises(InvalidModelError, match=r"pair \(1, 0\) is listed twice \(entries 0 and 1\)"):
        FiniteMDP.from_state_action_pairs([1., 2., 3., 4.], [(0.5, 0.5), (1., 0.), (0.25, 0.75), (0.6, 0.4)],
                                          [1, 1, 0, 0], [0, 0, 0, 1], 0.95)
    with pytest.raises(InvalidModelError, match=r"s_indices\[1\] = 2 is out of range for 2 states"):
        FiniteMDP.from_state_action_pairs([1.0, 2.0], [(1.0, 0.0), (0.0, 1.0)], [0, 2], [0, 0], 0.95)
    with pytest.raises(InvalidModelError, match=r"s_indices\[0\] = -1 is negative"):
        FiniteMDP.from_state_action_pairs([1.0, 2.0], [(1.0, 0.0), (0.0, 1.0)], [-1, 0], [0, 0], 0.95)
    with pytest.raises(InvalidModelError, match=r"a_indices\[1\] = -1 is negative"):
        FiniteMDP.from_state_action_pairs([1.0, 2.0], [(1.0, 0.0), (0.0, 1.0)], [0, 1], [0, -1], 0.95)
    with pytest.raises(InvalidModelError, match="a_indices has shape"):
        FiniteMDP.from_state_action_pairs([1.0, 2.0], [(1.0, 0.0), (0.0, 1.0)], [0, 1], [0], 0.95)
    with pytest.raises(InvalidModelError, match="integer indices"):
        FiniteMDP.from_state_action_pairs([1.0, 2.0], [(1.0, 0.0), (0.0, 1.0)], [0, 0.5], [0, 0], 0.95)
    with pytest.raises(InvalidModelError, match=r"R\[1\] is nan"):
        FiniteMDP.from_state_action_pairs([1.0, np.nan], [(1.0, 0.0), (0.0, 1.0)], [0, 1], [0, 0], 0.95)
    with pytest.raises(InvalidModelError, match=r"P\[1, 0, :\] sums to"):
        FiniteMDP.from_state_action_pairs([1.0, 2.0], [(1.0, 0.0), (0.5, 0.2)], [0, 1], [0, 0], 0.95)


def test_solve_rejects_bad_method_and_options():
    mdp = puterman_models()[0]
    with pytest.raises(InvalidArgumentError, match="method must be one of"):
        tabular.solve(mdp, method="newton")
    with pytest.raises(InvalidArgumentError, match="policy_iteration does not take 'n_eval'"):
        tabular.solve(mdp, method="pi", k=3)
    with pytest.raises(InvalidArgumentError, match="tol or QuantEcon's epsilon"):
        tabular.solve(mdp, method="vi", tol=1e-3, epsilon=1e-3)


# --- pymdptoolbox: the numbers its docstrings publish ---------------------------------------------
FOREST_P = np.array([[[0.1, 0.9, 0], [0.1, 0, 0.9], [0.1, 0, 0.9]], [[1, 0, 0], [1, 0, 0], [1, 0, 0]]])
FOREST_R = np.array([[0, 0], [0, 1], [4, 2]], dtype=float)
SMALL_P = np.array([[[0.5, 0.5], [0.8, 0.2]], [[0, 1], [0.1, 0.9]]])
SMALL_R = np.array([[5, 10], [-1, 2]], dtype=float)


def test_mdptoolbox_forest_policy_iteration():
    # mdptoolbox.mdp.PolicyIteration(P, R, 0.9) docstring: V = (26.244, 29.484, 33.484), policy (0, 0, 0)
    res = tabular.solve(FiniteMDP.from_mdptoolbox(FOREST_P, FOREST_R, 0.9), method="pi")
    np.testing.assert_allclose(res.v, [26.244000000000014, 29.484000000000016, 33.484000000000016], rtol=1e-13)
    assert res.policy.tolist() == [0, 0, 0]


def test_mdptoolbox_small_example_value_iteration():
    # mdptoolbox.mdp.ValueIteration(P, R, 0.9) docstring: V = (40.0486..., 33.6537...), policy (1, 0),
    # 26 iterations. Its span rule certifies the policy, not V: the published V is an iterate 2.39
    # below v* = (42.4419, 36.0465) (from policy (1, 0): v = r + 0.9 P v, solved exactly here).
    from fractions import Fraction as F

    g = F(9, 10)
    # v0 = 10 + g (0.2 v0 + 0.8 v1)... for policy (1, 0): state 0 takes action 1, state 1 action 0
    # v0 = 10 + g v1 ; v1 = -1 + g (0.8 v0 + 0.2 v1)
    v1 = (F(-1) + g * F(8, 10) * 10) / (1 - g * F(2, 10) - g * g * F(8, 10))
    v_star = [float(10 + g * v1), float(v1)]
    published = np.array([40.048625392716815, 33.65371175967546])
    assert (published < v_star).all() and np.abs(published - v_star).max() > 2.39
    for P in (SMALL_P, [sp.csr_matrix(SMALL_P[0]), sp.csr_matrix(SMALL_P[1])]):
        mdp = FiniteMDP.from_mdptoolbox(P, SMALL_R, 0.9)
        exact = tabular.solve(mdp, method="pi")
        assert exact.policy.tolist() == [1, 0]
        np.testing.assert_allclose(exact.v, v_star, rtol=1e-14)
        vi = tabular.solve(mdp, method="vi", epsilon=0.01)
        assert vi.policy.tolist() == [1, 0]
        assert np.abs(vi.v - v_star).max() <= vi.bound


def test_mdptoolbox_finite_horizon_forest():
    # mdptoolbox.mdp.FiniteHorizon(P, R, 0.9, 3) docstring: V[:, 0] = (2.6973, 5.9373, 9.9373) ...
    mdp = FiniteMDP.from_mdptoolbox(FOREST_P, FOREST_R, 0.9, horizon=3)
    res = tabular.solve(mdp)
    theirs_v = np.array([[2.6973, 0.81, 0., 0.], [5.9373, 3.24, 1., 0.], [9.9373, 7.24, 4., 0.]])
    np.testing.assert_allclose(res.v.T, theirs_v, atol=5e-5)  # they print 4 decimals
    # their policy array is (S, N), column t the decision rule at epoch t
    assert res.policy.T.tolist() == [[0, 0, 0], [0, 0, 1], [0, 0, 0]]


def test_mdptoolbox_relative_value_iteration():
    # mdptoolbox.mdp.RelativeValueIteration(P, R) docstrings: forest gain 3.24, policy (0, 0, 0);
    # small example gain 3.8852352464118312, policy (1, 0)
    forest = tabular.solve(FiniteMDP.from_mdptoolbox(FOREST_P, FOREST_R, 0.99), method="rvi", tol=1e-10)
    assert forest.gain == pytest.approx(3.24, abs=1e-9)
    assert forest.policy.tolist() == [0, 0, 0]
    # The small example's exact gain is 35/9 (policy (1, 0): stationary law (4/9, 5/9), rewards
    # (10, -1)); pymdptoolbox publishes its RVI iterate 3.88524, within its epsilon = 0.01.
    small = tabular.solve(FiniteMDP.from_mdptoolbox(SMALL_P, SMALL_R, 0.99), method="rvi", tol=1e-10)
    assert small.gain == pytest.approx(35 / 9, abs=1e-9)
    assert abs(small.gain - 3.8852352464118312) < 0.01
    assert small.policy.tolist() == [1, 0]


def test_mdptoolbox_reward_layouts_agree():
    expected = FiniteMDP.from_mdptoolbox(FOREST_P, FOREST_R, 0.9).R
    # (A, S, S) transition rewards equal to R[s, a] on every successor reduce to R[s, a]
    R3 = np.broadcast_to(FOREST_R.T[:, :, None], (2, 3, 3)).copy()
    np.testing.assert_allclose(FiniteMDP.from_mdptoolbox(FOREST_P, R3, 0.9).R, expected)
    np.testing.assert_allclose(FiniteMDP.from_mdptoolbox(FOREST_P, list(R3), 0.9).R, expected)
    np.testing.assert_allclose(FiniteMDP.from_mdptoolbox(FOREST_P, [sp.csr_matrix(m) for m in R3], 0.9).R, expected)
    state_r = FiniteMDP.from_mdptoolbox(FOREST_P, [1.0, 2.0, 3.0], 0.9).R
    np.testing.assert_array_equal(state_r, [[1, 1], [2, 2], [3, 3]])
    with pytest.raises(InvalidModelError, match=r"R has shape \(2,\), expected \(3,\)"):
        FiniteMDP.from_mdptoolbox(FOREST_P, [1.0, 2.0], 0.9)
    with pytest.raises(InvalidModelError, match="every P\\[a\\] must be a square"):
        FiniteMDP.from_mdptoolbox([np.eye(2), np.eye(3)], [0.0, 0.0], 0.9)
    with pytest.raises(InvalidModelError, match=r"P has shape \(2, 3\), expected \(A, S, S\)"):
        FiniteMDP.from_mdptoolbox(np.eye(2, 3), [0.0, 0.0], 0.9)


# --- the peers themselves, on random models --------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 6), m=st.integers(1, 4), sparse=st.booleans())
def test_quantecon_discretedp_agrees_on_random_pair_models(seed, n, m, sparse):
    ddp_mod = pytest.importorskip("quantecon.markov")
    rng = np.random.default_rng(seed)
    feasible = rng.random((n, m)) < 0.7
    feasible[np.arange(n), rng.integers(0, m, n)] = True
    s_idx, a_idx = np.nonzero(feasible)
    order = rng.permutation(s_idx.size)
    s_idx, a_idx = s_idx[order], a_idx[order]
    R = rng.normal(size=s_idx.size)
    Q = rng.dirichlet(np.ones(n), size=s_idx.size)
    Qin = sp.csr_matrix(Q) if sparse else Q
    ddp = ddp_mod.DiscreteDP(R, Qin, 0.9, s_idx, a_idx)
    theirs = ddp.solve(method="policy_iteration")
    ours = tabular.solve(FiniteMDP.from_state_action_pairs(R, Qin, s_idx, a_idx, 0.9), method="pi", tol=1e-10)
    np.testing.assert_allclose(ours.v, theirs.v, atol=1e-9)
    q = ours.q
    # same optimal actions up to ties
    assert np.all(q[np.arange(n), theirs.sigma] >= q.max(axis=1) - 1e-9)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 6), m=st.integers(1, 3))
def test_mdptoolbox_agrees_on_random_models(seed, n, m):
    mdptoolbox = pytest.importorskip("mdptoolbox.mdp")
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(n), size=(m, n))
    R = rng.normal(size=(n, m))
    pi = mdptoolbox.PolicyIteration(P, R, 0.9)
    pi.run()
    ours = tabular.solve(FiniteMDP.from_mdptoolbox(P, R, 0.9), method="pi", tol=1e-10)
    np.testing.assert_allclose(ours.v, pi.V, atol=1e-8)
