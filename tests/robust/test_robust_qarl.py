"""QARL's soft game (spec section 5.4)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl.errors import InvalidModelError
from theory_rl.models import FiniteMDP
from theory_rl.robust import (
    MarkovGame,
    best_response_value,
    markov_game_from_robust,
    matrix_game_lp,
    nash_value_iteration,
    qarl_curriculum,
    qre_stage,
    robust_value_iteration,
    soft_minimax_value_iteration,
    windy_walk,
)
from theory_rl.tabular import soft_value_iteration


@st.composite
def games(draw, max_states=4, min_b=2):
    S = draw(st.integers(2, max_states))
    A = draw(st.integers(2, 3))
    B = draw(st.integers(min_b, 3))
    g = draw(st.floats(0.5, 0.9))
    alpha = draw(st.sampled_from([0.1, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return MarkovGame(rng.dirichlet(np.full(S, alpha), size=(S, A, B)), rng.uniform(size=(S, A, B)), g)


temps = st.sampled_from([0.01, 0.05, 0.3, 1.0])


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), temps, temps)
def test_stage_qre_fixed_point_value_and_uniqueness(seed, alpha, beta):
    rng = np.random.default_rng(seed)
    Q = rng.normal(size=(5, 3, 4)) * 3
    p, q, val = qre_stage(Q, alpha, beta)
    logit_p = np.exp(np.einsum("nab,nb->na", Q, q) / alpha - np.einsum("nab,nb->na", Q, q).max(1, keepdims=True) / alpha)
    logit_q = np.exp(-np.einsum("nab,na->nb", Q, p) / beta + np.einsum("nab,na->nb", Q, p).min(1, keepdims=True) / beta)
    np.testing.assert_allclose(p, logit_p / logit_p.sum(1, keepdims=True), atol=1e-8)
    np.testing.assert_allclose(q, logit_q / logit_q.sum(1, keepdims=True), atol=1e-8)

    def H(x):
        return -np.sum(np.where(x > 0, x * np.log(np.where(x > 0, x, 1)), 0), axis=1)

    np.testing.assert_allclose(val, np.einsum("na,nab,nb->n", p, Q, q) + alpha * H(p) - beta * H(q), atol=1e-9)
    # another initialisation reaches the same equilibrium
    p2, q2, _ = qre_stage(Q, alpha, beta, init=(rng.normal(size=(5, 3)) * 5, rng.normal(size=(5, 4)) * 5))
    np.testing.assert_allclose(p2, p, atol=1e-8)
    np.testing.assert_allclose(q2, q, atol=1e-8)
    # saddle point: no unilateral deviation improves the regularised payoff
    for _ in range(5):
        p_dev = rng.dirichlet(np.ones(3), size=5)
        q_dev = rng.dirichlet(np.ones(4), size=5)
        f_p = np.einsum("na,nab,nb->n", p_dev, Q, q) + alpha * H(p_dev) - beta * H(q)
        f_q = np.einsum("na,nab,nb->n", p, Q, q_dev) + alpha * H(p) - beta * H(q_dev)
        assert np.all(f_p <= val + 1e-9) and np.all(f_q >= val - 1e-9)


@settings(max_examples=15)
@given(games(), temps, temps, st.integers(0, 2**32 - 1))
def test_soft_operator_contracts(game, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    u, w = rng.normal(size=(2, game.shape[0])) * 2
    tu = qre_stage(game.q(u), alpha, beta)[2]
    tw = qre_stage(game.q(w), alpha, beta)[2]
    assert np.max(np.abs(tu - tw)) <= game.gamma * np.max(np.abs(u - w)) + 1e-9


@settings(max_examples=8)
@given(games(max_states=3), st.sampled_from([0.05, 0.3]), st.sampled_from([0.05, 0.3]))
def test_sandwich_around_nash_and_monotonicity(game, alpha, beta):
    S, A, B = game.shape
    nash = nash_value_iteration(game, tol=1e-9)
    soft = soft_minimax_value_iteration(game, alpha=alpha, beta=beta, tol=1e-9)
    c = 1.0 / (1.0 - game.gamma)
    assert np.all(nash.v - beta * np.log(B) * c - 1e-8 <= soft.v)
    assert np.all(soft.v <= nash.v + alpha * np.log(A) * c + 1e-8)
    more_alpha = soft_minimax_value_iteration(game, alpha=2 * alpha, beta=beta, tol=1e-9)
    more_beta = soft_minimax_value_iteration(game, alpha=alpha, beta=2 * beta, tol=1e-9)
    assert np.all(more_alpha.v >= soft.v - 1e-8) and np.all(more_beta.v <= soft.v + 1e-8)
    # exploitability: the QRE policy's unregularised worst case is at most the Nash value
    assert np.all(best_response_value(game, soft.pi) <= nash.v + 1e-8)


@settings(max_examples=5)
@given(games(max_states=3))
def test_limits_zero_temperature_is_nash(game):
    nash = nash_value_iteration(game, tol=1e-10)
    gaps, exploit = [], []
    for t in (0.3, 0.03, 0.003):
        soft = soft_minimax_value_iteration(game, alpha=t, beta=t, tol=1e-10)
        gaps.append(np.max(np.abs(soft.v - nash.v)))
        exploit.append(np.max(nash.v - best_response_value(game, soft.pi)))
    S, A, B = game.shape
    bound = 0.003 * max(np.log(A), np.log(B)) / (1 - game.gamma)
    assert gaps[-1] <= bound + 1e-8
    assert exploit[-1] <= 10 * bound + 1e-6 and min(exploit) >= -1e-8


@settings(max_examples=15)
@given(st.integers(0, 2**32 - 1))
def test_stage_lp_agrees_with_small_temperature_qre(seed):
    """At each state: the LP's matrix-game value is a saddle value (max_a (Q q)_a = min_b (Q^T p)_b)
    and the QRE value approaches it within alpha log|A| + beta log|B|."""
    rng = np.random.default_rng(seed)
    Q = rng.uniform(size=(6, 3, 3)) * 4
    p, q, val = matrix_game_lp(Q)
    np.testing.assert_allclose(np.einsum("nab,nb->na", Q, q).max(1), val, atol=1e-7)
    np.testing.assert_allclose(np.einsum("nab,na->nb", Q, p).min(1), val, atol=1e-7)
    t = 1e-3
    _, _, soft = qre_stage(Q, t, t)
    assert np.all(np.abs(soft - val) <= t * np.log(3) + 1e-9)


@settings(max_examples=8)
@given(games(min_b=1), st.sampled_from([0.1, 0.5]))
def test_single_adversary_action_is_soft_vi(game, alpha):
    S, A, B = game.shape
    one = MarkovGame(game.P[:, :, :1], game.R[:, :, :1], game.gamma)
    soft = soft_minimax_value_iteration(one, alpha=alpha, beta=0.7, tol=1e-10)
    ref = soft_value_iteration(FiniteMDP(one.P[:, :, 0], one.R[:, :, 0], game.gamma), temperature=alpha, tol=1e-10)
    np.testing.assert_allclose(soft.v, ref.v, atol=1e-8)


def test_curriculum_hardens_the_adversary_and_bad_input():
    rmdp = windy_walk(n_rows=3, n_cols=4)
    game = markov_game_from_robust(rmdp)
    res = qarl_curriculum(game, alpha=0.01, beta_start=0.05, beta_end=0.001, n_stages=6)
    assert res.betas[0] == pytest.approx(0.05) and res.betas[-1] == pytest.approx(0.001) and np.all(np.diff(res.betas) <= 0)
    # V_{alpha,beta} is non-increasing in beta (item 6): the adversary's entropy term -beta H(q)
    # is a bonus to the minimiser, so lowering beta raises the regularised value
    assert np.all(np.diff(res.values) >= -1e-9)
    assert np.all(res.exploitability >= -1e-8)
    assert np.all(res.robust_values <= res.nash_value + 1e-8)
    # the simultaneous-move game is no harder than the sa-rectangular robust MDP (nature sees a)
    s0 = int(np.argmax(rmdp.nominal.d0))
    assert res.nash_value >= robust_value_iteration(rmdp, tol=1e-10).v[s0] - 1e-8
    with pytest.raises(InvalidModelError):
        qre_stage(np.zeros((2, 2)), 0.0, 1.0)
    with pytest.raises(InvalidModelError, match="shape"):
        MarkovGame(np.full((2, 2, 2, 3), 1 / 3), np.zeros((2, 2, 2)), 0.9)
    with pytest.raises(InvalidModelError, match="beta"):
        qarl_curriculum(game, alpha=0.1, beta_start=0.001, beta_end=0.01)


def test_game_inputs_are_validated():
    # a wrong-shaped pi reached np.einsum (bare ValueError), a NaN payoff gave NaN strategies
    # without an error, and negative iteration limits or a wrong-shaped v0 were accepted
    from theory_rl.robust import RobustMDP, SARectFinite

    rng = np.random.default_rng(0)
    C = rng.dirichlet(np.ones(3), size=(3, 2, 2))
    rmdp = RobustMDP(FiniteMDP(C[:, :, 0], rng.uniform(size=(3, 2)), 0.9), SARectFinite(C))
    game = markov_game_from_robust(rmdp)
    with pytest.raises(InvalidModelError, match="pi has shape"):
        best_response_value(game, np.full((3, 5), 0.2))
    with pytest.raises(InvalidModelError, match=r"pi\[1, :\]"):
        best_response_value(game, np.array([[0.5, 0.5], [0.9, 0.9], [1.0, 0.0]]))
    with pytest.raises(InvalidModelError, match=r"Q\[0, 0, 1\] is nan"):
        qre_stage(np.array([[[1.0, np.nan], [0.0, 1.0]]]), 0.1, 0.1)
    with pytest.raises(InvalidModelError, match="max_iter"):
        soft_minimax_value_iteration(game, alpha=0.1, beta=0.1, max_iter=-1)
    with pytest.raises(InvalidModelError, match="max_iter"):
        nash_value_iteration(game, max_iter=-1)
    with pytest.raises(InvalidModelError, match="v0"):
        nash_value_iteration(game, v0=np.zeros(2))
