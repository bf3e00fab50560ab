"""Action masks and the optimistic ("nature helps") backup of RobustMDP, each checked against an
independent method: an enlarged ordinary MDP solved by policy iteration, per-row LPs (HiGHS),
and the same model with masked actions replaced by copies of available ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from theory_rl import robust, tabular
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP
from theory_rl.robust._operator import RobustOperator


def _random_mdp(rng, S, A, gamma=0.9, mask=None):
    P = rng.dirichlet(np.full(S, 0.7), size=(S, A))
    R = rng.normal(size=(S, A))
    return FiniteMDP(P, R, gamma, action_mask=mask)


def _random_mask(rng, S, A):
    mask = rng.random((S, A)) < 0.6
    mask[np.arange(S), rng.integers(0, A, S)] = True
    return mask


def _max_inner_lp(p_hat, v, radius):
    """max <p, v> over the simplex with ||p - p_hat||_1 <= radius (variables p, t with |p - p_hat| <= t)."""
    S = p_hat.size
    c = np.concatenate([-v, np.zeros(S)])
    eye = np.eye(S)
    A_ub = np.block([[eye, -eye], [-eye, -eye], [np.zeros((1, S)), np.ones((1, S))]])
    b_ub = np.concatenate([p_hat, -p_hat, [radius]])
    A_eq = np.concatenate([np.ones(S), np.zeros(S)])[None, :]
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * (2 * S), method="highs")
    assert res.status == 0
    return -res.fun


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3))
def test_optimistic_finite_set_equals_the_enlarged_mdp(seed, S, A, K):
    # nature choosing among K candidate rows per (s, a) to help the agent is an MDP with A*K actions
    rng = np.random.default_rng(seed)
    C = rng.dirichlet(np.ones(S), size=(S, A, K))
    nominal = _random_mdp(rng, S, A)
    rmdp = robust.RobustMDP(nominal, robust.SARectFinite(C), nature="optimistic")
    sol = robust.robust_value_iteration(rmdp, tol=1e-10)
    enlarged = FiniteMDP(C.reshape(S, A * K, S), np.repeat(nominal.R, K, axis=1), nominal.gamma)
    exact = tabular.policy_iteration(enlarged, tol=1e-12).v
    np.testing.assert_allclose(sol.v, exact, atol=1e-8)
    assert np.all(sol.lower <= exact + 1e-9) and np.all(exact <= sol.upper + 1e-9)
    pessimistic = robust.robust_value_iteration(robust.RobustMDP(nominal, robust.SARectFinite(C)), tol=1e-10)
    assert np.all(pessimistic.v <= sol.v + 1e-8)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 5), st.integers(1, 3), st.sampled_from(["sa", "s"]))
def test_optimistic_l1_backup_equals_per_row_lps(seed, S, A, rect):
    rng = np.random.default_rng(seed)
    nominal = _random_mdp(rng, S, A)
    radius = rng.uniform(0.0, 1.5, size=(S, A) if rect == "sa" else (S,))
    rmdp = robust.RobustMDP(nominal, robust.L1Ball(radius, rectangularity=rect), nature="optimistic")
    v = rng.normal(size=S)
    op = RobustOperator(rmdp)
    tv, _, _ = op.backup(v)
    expected = np.empty(S)
    for s in range(S):
        xi = radius[s] if rect == "s" else None
        expected[s] = max(
            nominal.R[s, a] + nominal.gamma * _max_inner_lp(nominal.P[s, a], v, xi if xi is not None else radius[s, a])
            for a in range(A))
    np.testing.assert_allclose(tv, expected, atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 5), st.integers(2, 3),
       st.sampled_from(["l1", "linf", "kl", "finite"]), st.sampled_from(["adversarial", "optimistic"]))
def test_masked_actions_are_never_chosen_and_change_nothing_else(seed, S, A, kind, nature):
    # A masked action replaced by a copy of an available action (same reward, same set around the
    # same nominal row) leaves every sa-rectangular robust value unchanged: max over equal q's.
    rng = np.random.default_rng(seed)
    mask = _random_mask(rng, S, A)
    P = rng.dirichlet(np.full(S, 0.7), size=(S, A))
    R = rng.normal(size=(S, A))
    first = mask.argmax(axis=1)
    P_copy, R_copy = P.copy(), R.copy()
    for s, a in zip(*np.nonzero(~mask)):
        P_copy[s, a], R_copy[s, a] = P[s, first[s]], R[s, first[s]]
        P[s, a] = 0.0  # masked rows may be all zero
        R[s, a] = 0.0
    masked = FiniteMDP(P, R, 0.9, action_mask=mask)
    copied = FiniteMDP(P_copy, R_copy, 0.9)
    if kind == "finite":
        C = rng.dirichlet(np.ones(S), size=(S, A, 2))
        for s, a in zip(*np.nonzero(~mask)):
            C[s, a] = C[s, first[s]]
        sets = robust.SARectFinite(C), robust.SARectFinite(C)
    else:
        make = {"l1": robust.L1Ball, "linf": robust.LInfBall, "kl": robust.KLBall}[kind]
        sets = make(0.3), make(0.3)
    a = robust.robust_value_iteration(robust.RobustMDP(masked, sets[0], nature=nature), tol=1e-10)
    b = robust.robust_value_iteration(robust.RobustMDP(copied, sets[1], nature=nature), tol=1e-10)
    np.testing.assert_allclose(a.v, b.v, atol=1e-8)
    assert mask[np.arange(S), a.policy].all()
    assert np.all(np.isneginf(a.q[~mask]))
    ppi = robust.robust_policy_iteration(robust.RobustMDP(masked, sets[0], nature=nature), tol=1e-10)
    np.testing.assert_allclose(ppi.v, b.v, atol=1e-7)
    assert mask[np.arange(S), ppi.policy].all()


def test_mask_and_nature_errors():
    rng = np.random.default_rng(0)
    mask = np.array([[True, False], [True, True]])
    masked = _random_mdp(rng, 2, 2, mask=mask)
    with pytest.raises(InvalidModelError, match="sa-rectangular uncertainty sets only"):
        robust.RobustMDP(masked, robust.L1Ball(0.2, rectangularity="s"))
    with pytest.raises(InvalidArgumentError, match="nature must be 'adversarial' or 'optimistic'"):
        robust.RobustMDP(_random_mdp(rng, 2, 2), robust.L1Ball(0.2), nature="helpful")
    rmdp = robust.RobustMDP(masked, robust.L1Ball(0.2))
    with pytest.raises(InvalidModelError):
        robust.robust_policy_evaluation(rmdp, np.array([1, 0]))  # action 1 is unavailable at state 0
    with pytest.raises(InvalidModelError, match="adversarial RobustMDP without action masks"):
        robust.iwocs(rmdp)
    with pytest.raises(InvalidModelError, match="adversarial RobustMDP without action masks"):
        robust.iwocs(robust.RobustMDP(_random_mdp(rng, 2, 2), robust.L1Ball(0.2), nature="optimistic"))
