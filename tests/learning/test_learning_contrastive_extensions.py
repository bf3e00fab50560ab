"""Contrastive UCB extensions: the torch NCE fit, the Markov-game version, the variance-reduced
negatives, and the validation of their options."""

from __future__ import annotations

import numpy as np
import pytest

from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.learning import (
    LowRankMarkovGame,
    contrastive_fit,
    contrastive_fit_torch,
    contrastive_ucb,
    contrastive_ucb_game,
    random_low_rank_markov_game,
    random_low_rank_mdp,
)

torch = pytest.importorskip("torch")


def _counts(seed: int = 0, n: float = 40.0):
    m = random_low_rank_mdp(6, 3, rank=2, horizon=1, seed=seed)
    rng = np.random.default_rng(seed)
    n_pos = rng.poisson(n * m.P[0]).astype(float)
    n_neg = rng.poisson(np.full((6, 3, 6), n / 6)).astype(float)
    return m, n_pos, n_neg, np.full(6, 1 / 6)


def test_torch_fit_reaches_the_bilinear_minimum_on_one_hot_inputs():
    """Linear nets on one-hot inputs are the non-negative rank-d bilinear class: the same loss at
    the optimum as L-BFGS-B (measured to 1e-8), and the same model estimate."""
    m, n_pos, n_neg, noise = _counts()
    ref = min((contrastive_fit(n_pos, n_neg, noise, rank=2, seed=s) for s in range(2)), key=lambda f: f.loss)
    with torch.random.fork_rng():
        fit = contrastive_fit_torch(n_pos, n_neg, noise, rank=2, device="cpu", seed=0)
    assert fit.loss == pytest.approx(ref.loss, abs=1e-6)
    assert np.abs(fit.P - ref.P).max() < 1e-3
    # the tabular closed form is the minimum over all scores: no rank-d fit goes below it
    tab = contrastive_fit(n_pos, n_neg, noise, parameterisation="tabular")
    assert tab.loss <= fit.loss + 1e-12
    # a hidden layer keeps the minimum (the net can represent the bilinear optimum's scores)
    with torch.random.fork_rng():
        deep = contrastive_fit_torch(n_pos, n_neg, noise, rank=2, hidden=16, device="cpu", seed=0)
    assert deep.loss == pytest.approx(ref.loss, abs=1e-4)


def test_torch_fit_recovers_the_kernel_from_expected_counts():
    """Population counts (n+ = n P, n- = n P^-): the minimiser is f* = P / P^-, so P_hat = P."""
    m = random_low_rank_mdp(5, 2, rank=2, horizon=1, seed=4)
    noise = np.full(5, 0.2)
    with torch.random.fork_rng():
        fit = contrastive_fit_torch(100 * m.P[0], np.full((5, 2, 5), 20.0), noise, rank=2, device="cpu", seed=1)
    assert np.abs(fit.P - m.P[0]).max() < 1e-3
    with pytest.raises(InvalidArgumentError, match="rank"):
        contrastive_fit_torch(100 * m.P[0], np.full((5, 2, 5), 20.0), noise, rank=0)
    with pytest.raises(InvalidArgumentError, match="device"):
        contrastive_fit_torch(100 * m.P[0], np.full((5, 2, 5), 20.0), noise, rank=2, device="tpu")


def test_expected_negatives_reduce_the_model_error():
    """The loss with the negatives' expectation under the known P^- (n- = N(s, a) P^-) has the
    same population minimiser as sampled negatives and a smaller error at equal data (measured
    L1 0.20 against 0.31 at n = 3000 on a d = 5 instance); here averaged over 4 data sets."""
    m = random_low_rank_mdp(8, 3, rank=3, horizon=1, seed=2)
    P, noise = m.P[0], np.full(8, 1 / 8)
    err = {"expected": [], "sampled": []}
    for seed in range(4):
        rng = np.random.default_rng(seed)
        n_pos = rng.multinomial(40, P.reshape(-1, 8) / P.reshape(-1, 8).sum(1, keepdims=True)).reshape(8, 3, 8).astype(float)
        sampled = rng.multinomial(40, noise, size=24).reshape(8, 3, 8).astype(float)
        for name, negs in (("expected", np.full((8, 3, 8), 40 / 8)), ("sampled", sampled)):
            fit = contrastive_fit(n_pos, negs, noise, rank=3, seed=0)
            err[name].append(np.abs(fit.P - P).sum(-1).mean())
    assert np.mean(err["expected"]) < np.mean(err["sampled"]), err


def test_torch_representation_runs_inside_contrastive_ucb():
    m = random_low_rank_mdp(4, 2, rank=2, horizon=2, seed=0)
    with torch.random.fork_rng():
        res = contrastive_ucb(m, n_episodes=4, representation="torch", beta=0.5, device="cpu", seed=0)
    assert res.params["representation"] == "torch" and np.isfinite(res.history["angle"][1:]).all()
    with pytest.raises(InvalidArgumentError, match="negatives"):
        contrastive_ucb(m, n_episodes=2, negatives="many")


def test_game_duality_gap_and_nash_value_are_exact():
    """duality_gap is zero at the Nash policies of a one-step game (stage LPs) and positive
    elsewhere; nash_value lies between the two best-response values of any policy pair."""
    from theory_rl.games import solve_stage_games

    g = random_low_rank_markov_game(3, 2, rank=2, horizon=1, seed=5)
    p, q, v = solve_stage_games(g.joint.R[0].reshape(3, 2, 2))
    assert g.duality_gap(p[None], q[None]) == pytest.approx(0.0, abs=1e-8)
    assert g.nash_value() == pytest.approx(float(g.joint.d0 @ v))
    assert g.duality_gap(np.full((1, 3, 2), 0.5), np.full((1, 3, 2), 0.5)) > 1e-3
    with pytest.raises(InvalidModelError, match="phi"):
        LowRankMarkovGame(phi=np.ones((1, 2, 2, 2)), mu=np.ones((1, 1, 2)), R=np.zeros((1, 2, 2)), d0=[0.5, 0.5])
    with pytest.raises(InvalidModelError, match="R"):
        LowRankMarkovGame(phi=np.ones((1, 2, 2, 2, 1)), mu=np.full((1, 1, 2), 0.5), R=np.full((1, 2, 2, 2), 2.0), d0=[0.5, 0.5])


def test_game_duality_gap_shrinks_with_true_features():
    """Upper/lower bounds on phi* with CCE updates: the exact duality gap of the marginals
    shrinks (measured 0.013 over episodes 1-5, 0.003 over 51-60), the certificate
    V_bar_0 - V_under_0 shrinks (0.33 -> 0.07) and bounds the gap on every episode here."""
    g = random_low_rank_markov_game(3, 2, rank=2, horizon=2, seed=0)
    res = contrastive_ucb_game(g, n_episodes=60, representation="true_features", beta=0.1, seed=0)
    gap, cert = res.history["gap"], res.history["certificate"]
    assert gap[-10:].mean() < gap[:5].mean() / 2, (gap[:5], gap[-10:])
    assert cert[-1] < cert[0] / 3
    assert (gap >= -1e-9).all() and (cert >= gap - 1e-9).all()
    mu, nu = res.info["max_policy"], res.info["min_policy"]
    assert np.allclose(mu.sum(-1), 1) and np.allclose(nu.sum(-1), 1)
    with pytest.raises(InvalidModelError, match="LowRankMarkovGame"):
        contrastive_ucb_game(g.joint, n_episodes=2)
    with pytest.raises(InvalidArgumentError, match="beta"):
        contrastive_ucb_game(g, n_episodes=2, beta=-1.0)
