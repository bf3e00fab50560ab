"""Minimax winners: SPO's property tests (Condorcet, rock-paper-scissors, Bradley-Terry) and Hedge self-play."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.games import hedge_self_play, minimax_winner, zero_sum_lp

RPS = np.array([[0.5, 0.0, 1.0], [1.0, 0.5, 0.0], [0.0, 1.0, 0.5]])


def _random_preferences(rng, n):
    upper = rng.random((n, n))
    P = np.triu(upper, 1)
    P = P + np.tril(1.0 - P.T, -1)
    np.fill_diagonal(P, 0.5)
    return P


@settings(max_examples=25)
@given(n=st.integers(2, 12), seed=st.integers(0, 2**32 - 1))
def test_condorcet_winner_gives_the_pure_strategy(n, seed):
    rng = np.random.default_rng(seed)
    P = _random_preferences(rng, n)
    star = int(rng.integers(n))
    beats = 0.5 + rng.uniform(0.01, 0.5, size=n)
    P[star, :], P[:, star] = beats, 1.0 - beats
    P[star, star] = 0.5
    sol = minimax_winner(P)
    np.testing.assert_allclose(sol.strategy, np.eye(n)[star], atol=1e-9)
    assert sol.value == 0.5 and sol.exploitability <= 1e-12


def test_rock_paper_scissors_gives_uniform_value_half():
    sol = minimax_winner(RPS)
    np.testing.assert_allclose(sol.strategy, np.full(3, 1 / 3), atol=1e-12)
    assert sol.value == 0.5
    assert zero_sum_lp(RPS).value == pytest.approx(0.5, abs=1e-12)  # P-game value 1/2
    assert zero_sum_lp(RPS - 0.5).value == pytest.approx(0.0, abs=1e-12)  # M-game value 0


def test_cyclic_five_candidate_tournament():
    n = 5
    P = np.full((n, n), 0.5)
    for i in range(n):
        for k in (1, 2):  # i beats the next two candidates around the cycle
            P[i, (i + k) % n], P[(i + k) % n, i] = 1.0, 0.0
    sol = minimax_winner(P)
    assert (sol.strategy @ P).min() == pytest.approx(0.5, abs=1e-9)
    np.testing.assert_allclose(sol.strategy, np.full(n, 0.2), atol=1e-9)


@settings(max_examples=25)
@given(n=st.integers(2, 15), seed=st.integers(0, 2**32 - 1))
def test_bradley_terry_gives_the_argmax_utility_candidate(n, seed):
    u = np.random.default_rng(seed).normal(size=n) * 3
    if np.sort(u)[-1] - np.sort(u)[-2] < 1e-6:
        return  # a tie at the top: both are minimax winners
    P = expit(u[:, None] - u[None, :])
    np.testing.assert_allclose(minimax_winner(P).strategy, np.eye(n)[int(np.argmax(u))], atol=1e-9)


@settings(max_examples=15)
@given(n=st.integers(2, 20), seed=st.integers(0, 2**32 - 1))
def test_minimax_winner_is_a_symmetric_equilibrium(n, seed):
    P = _random_preferences(np.random.default_rng(seed), n)
    sol = minimax_winner(P)
    assert (sol.strategy @ P).min() >= 0.5 - 1e-9  # M^T p >= 0
    assert sol.exploitability <= 1e-9


@settings(max_examples=10)
@given(n=st.integers(2, 10), seed=st.integers(0, 2**32 - 1), rounds=st.sampled_from([1, 50, 400]))
def test_hedge_meets_its_regret_bound_at_every_round(n, seed, rounds):
    rng = np.random.default_rng(seed)
    P = _random_preferences(rng, n)
    prior = rng.dirichlet(np.ones(n)) + 1e-3
    res = hedge_self_play(P, n_rounds=rounds, p0=prior / prior.sum())
    h = res.history
    assert len(h["exploitability"]) == rounds
    assert (h["exploitability"] <= h["regret_bound"]).all()
    # independent recomputation of max_i (M p_bar_T)_i
    assert res.exploitability == pytest.approx(max(0.0, ((P - 0.5) @ res.strategy).max()), abs=1e-12)


def test_hedge_average_converges_while_the_last_iterate_cycles_on_rps():
    res = hedge_self_play(RPS, n_rounds=4000, eta=0.1, p0=[0.6, 0.3, 0.1])
    h = res.history
    assert h["exploitability"][-1] < 0.05 and h["exploitability"][-1] <= h["regret_bound"][-1]
    np.testing.assert_allclose(res.strategy, np.full(3, 1 / 3), atol=0.05)
    # the last iterate keeps being beaten by a pure strategy: it cycles, it does not converge
    assert h["last_exploitability"][-1000:].min() > 0.1
    assert np.abs(res.last_iterate - 1 / 3).max() > 0.1


def test_default_step_gives_the_sqrt_bound():
    res = hedge_self_play(RPS, n_rounds=500, p0=[0.5, 0.3, 0.2])
    assert res.params["eta"] == pytest.approx(np.sqrt(8 * np.log(3) / 500))
    assert res.exploitability <= res.regret_bound


@pytest.mark.parametrize(
    ("P", "match"),
    [
        (np.full((2, 3), 0.5), "square"),
        ([[0.5, 1.2], [-0.2, 0.5]], r"P\[0, 1\] = 1.2 is not a probability"),
        ([[0.5, 0.7], [0.7, 0.5]], r"P\[0, 1\] \+ P\[1, 0\] = 1.4"),
        ([[0.4, 0.5], [0.5, 0.5]], r"P\[0, 0\] \+ P\[0, 0\] = 0.8"),
        ([[0.5, np.nan], [0.5, 0.5]], r"P\[0, 1\] is nan"),
    ],
)
def test_bad_preference_matrices(P, match):
    with pytest.raises(InvalidModelError, match=match):
        minimax_winner(P)
    with pytest.raises(InvalidModelError, match=match):
        hedge_self_play(P)


def test_bad_hedge_options():
    with pytest.raises(InvalidArgumentError, match="n_rounds"):
        hedge_self_play(RPS, n_rounds=0)
    with pytest.raises(InvalidArgumentError, match="eta"):
        hedge_self_play(RPS, eta=-1.0)
    with pytest.raises(InvalidArgumentError, match=r"p0\[1\] = 0"):
        hedge_self_play(RPS, p0=[0.5, 0.0, 0.5])
    with pytest.raises(InvalidArgumentError, match="solver"):
        minimax_winner(RPS, solver="x")
