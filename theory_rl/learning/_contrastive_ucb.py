r"""Contrastive UCB on low-rank MDPs (Qiu, Wang, Bai, Yang & Wang 2022, arXiv:2207.14800)."""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import subspace_angles

from .._iterative import Timer
from .._validation import check_choice, check_distribution, check_int, check_real, rng_from_seed
from ..errors import InvalidArgumentError, InvalidModelError
from ._contrastive import contrastive_fit
from ._low_rank import LowRankMDP, policy_q
from ._result import LearningResult

__all__ = ["contrastive_ucb", "contrastive_ucb_beta"]


def contrastive_ucb_beta(*, rank: int, horizon: int, n_episodes: int, delta: float = 0.1) -> float:
    r"""The bonus scale ``beta = d H sqrt(log(2 d K H / delta))`` used by :func:`contrastive_ucb`.

    This is the elliptical-potential form of LSVI-UCB (Jin, Yang, Wang & Jordan 2020,
    arXiv:1907.05388, ``beta = c d H sqrt(iota)``) with ``c = 1``; Qiu et al. (2022) set ``beta``
    in their theorem with constants we could not check against the paper, so this is a recalled
    form, not theirs verbatim. It is large enough for the optimism test of this library (measured).

    Examples
    --------
    >>> round(contrastive_ucb_beta(rank=2, horizon=3, n_episodes=100, delta=0.1), 3)
    18.388
    """
    d = check_int(rank, "rank", minimum=1)
    H = check_int(horizon, "horizon", minimum=1)
    K = check_int(n_episodes, "n_episodes", minimum=1)
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    return d * H * math.sqrt(math.log(2.0 * d * K * H / delta))


def _greedy(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    tied = q >= q.max(axis=-1, keepdims=True) - 1e-12
    return np.argmax(np.where(tied, rng.random(q.shape), -1.0), axis=-1).astype(np.int64)


def contrastive_ucb(
    model: LowRankMDP,
    *,
    n_episodes: int,
    rank: int | None = None,
    representation: str = "bilinear",
    beta: float | None = None,
    lam: float = 1.0,
    delta: float = 0.1,
    noise: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
) -> LearningResult:
    r"""Contrastive UCB: optimistic planning on features learned by the contrastive loss.

    Qiu, Wang, Bai, Yang & Wang (2022), "Contrastive UCB: Provably efficient contrastive
    self-supervised learning in online reinforcement learning", arXiv:2207.14800, Algorithm 1,
    on a :class:`LowRankMDP` ``P_h(s'|s,a) = phi*_h(s,a)^T mu*_h(s')`` with known rewards and
    unknown ``phi*``, ``mu*``. Episode ``k``:

    1. Per step ``h``, fit the contrastive loss (:func:`contrastive_fit`) on the step-``h`` data
       ``D_h`` with one negative ``s~ ~ P^-`` per positive, giving ``phi_hat_h``,
       ``P_hat_h = phi_hat_h^T mu_hat_h``; ``Sigma_h = lam I + sum_{(s,a) in D_h} phi_hat_h(s,a) phi_hat_h(s,a)^T``.
    2. Optimistic backward induction with the elliptical bonus and clipped values,

       .. math::
           \bar Q_h = \min\big(H - h,\; R_h + \hat P_h \bar V_{h+1} + \beta \|\hat\phi_h(s,a)\|_{\Sigma_h^{-1}}\big),
           \qquad \bar V_h = \max_a \bar Q_h,

       and ``pi^k`` greedy in ``Q_bar`` (ties at random). Its regret ``V*_0(s_0) - V^{pi^k}_0(s_0)``
       is computed exactly on the true model.
    3. Data collection: for each ``h``, roll in with ``pi^k`` from ``s_0 ~ d0`` to ``s_h``, take a
       uniform action ``a_h``, observe ``s_{h+1} ~ P_h`` and add ``(s_h, a_h, s_{h+1})`` to ``D_h``
       (``H`` roll-ins per episode, ``K H^2`` transitions in all, reported as ``n_samples``).

    Guarantee (paper, MDP theorem): with probability ``1 - delta`` the mixture of the ``pi^k`` is
    ``epsilon``-optimal after ``O~(1/epsilon^2)`` episodes, polynomial in ``d``, ``H``, ``|A|`` and the
    log-size of the feature classes (:func:`theory_rl.theory.contrastive_ucb_sample_complexity`).

    Implemented, with deviations stated: a finite state space; the bilinear non-negative
    parameterisation (``representation="bilinear"``) refit at episodes ``1, 2, 4, 8, ...`` (warm
    started; the paper refits every episode), or the tabular one (``"tabular"``, ``d = S A``,
    closed form every episode, where the bonus is ``beta / sqrt(lam + N_h(s, a))``, UCBVI-like);
    ``representation="true_features"`` is the oracle that knows ``phi*`` and fits ``mu`` by ridge
    regression, ``P_hat_h = phi*_h^T Sigma_h^{-1} sum phi*_h(s,a) e_{s'}^T`` (unclipped; the
    model-based form of LSVI-UCB, Jin, Yang, Wang & Jordan 2020, arXiv:1907.05388) with the same bonus;
    ``beta`` defaults to :func:`contrastive_ucb_beta` (a recalled form). Not implemented: the
    Markov-game extension (upper/lower bounds with CCE updates), neural scores.

    Parameters
    ----------
    model : LowRankMDP
        The environment (its ``phi``, ``mu`` are used only to simulate and to score regret).
    n_episodes : int
        ``K``.
    rank : int, optional
        ``d`` of the learned features (bilinear; default the model's rank).
    representation : {"bilinear", "tabular", "true_features"}
    beta : float, optional
        Bonus scale; default :func:`contrastive_ucb_beta` with ``(d, H, K, delta)``.
    lam : float
        Ridge ``lambda`` of ``Sigma_h``.
    delta : float
        Confidence level in the default ``beta``.
    noise : ndarray, shape (S,), optional
        ``P^-`` (default uniform).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    LearningResult
        ``q`` ``(H, S, A)`` the last optimistic ``Q_bar``, ``policy`` ``(H, S)``, history per
        episode: ``step``, ``samples``, ``regret`` (cumulative), ``optimism``
        (``min_s V_bar_0(s) - V*_0(s)``), ``angle`` (largest principal angle between
        ``span(phi_hat_0)`` and ``span(phi*_0)``; NaN for the tabular representation).

    Examples
    --------
    >>> from theory_rl.learning import random_low_rank_mdp
    >>> m = random_low_rank_mdp(4, 2, rank=2, horizon=2, seed=0)
    >>> res = contrastive_ucb(m, n_episodes=30, seed=0)
    >>> res.q.shape, bool(res.history["optimism"].min() >= 0)
    ((2, 4, 2), True)
    """
    if not isinstance(model, LowRankMDP):
        raise InvalidModelError(f"model must be a LowRankMDP, got {type(model).__name__}")
    K = check_int(n_episodes, "n_episodes", minimum=1)
    check_choice(representation, "representation", ("bilinear", "tabular", "true_features"))
    H, S, A = model.horizon, model.n_states, model.n_actions
    if representation == "tabular":
        d = S * A
        if rank is not None:
            raise InvalidArgumentError("rank applies to representation='bilinear' only (tabular has d = S A)")
    elif representation == "true_features":
        d = model.rank
        if rank is not None:
            raise InvalidArgumentError("rank is the model's own for representation='true_features'")
    else:
        d = model.rank if rank is None else check_int(rank, "rank", minimum=1)
    lam = check_real(lam, "lam", low=0.0, low_open=True)
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    beta = contrastive_ucb_beta(rank=d, horizon=H, n_episodes=K, delta=delta) if beta is None else check_real(beta, "beta", low=0.0)
    noise = np.full(S, 1.0 / S) if noise is None else check_distribution(noise, "noise", S)
    rng = rng_from_seed(seed)
    with Timer() as timer:
        q_star = model.optimal_q()
        v_star = q_star[0].max(axis=1)
        v_star0 = float(model.d0 @ v_star)
        v_cap = np.arange(H, 0, -1, dtype=float)
        P_hat = np.broadcast_to(noise, (H, S, A, S)).copy()
        phi_hat = [model.phi[h].reshape(S * A, d) if representation == "true_features" else np.ones((S * A, 1))
                   for h in range(H)]
        n_pos = np.zeros((H, S, A, S))  # positives (s, a, s') per step
        n_neg = np.zeros((H, S, A, S))  # negatives (s, a, s~), one per positive
        visits = np.zeros((H, S, A))
        regret, optimism, angle = np.empty(K), np.empty(K), np.full(K, np.nan)
        total = 0.0
        cdf = model.P.cumsum(axis=-1)
        refit_at = {2**i - 1 for i in range(40)}
        q_bar = np.zeros((H, S, A))
        policy = np.zeros((H, S), dtype=np.int64)
        for k in range(K):
            if k > 0:
                for h in range(H):
                    if representation == "tabular":
                        fit = contrastive_fit(n_pos[h], n_neg[h], noise, parameterisation="tabular")
                        P_hat[h] = fit.P
                    elif representation == "true_features":
                        feats = model.phi[h].reshape(S * A, d)
                        sigma = lam * np.eye(d) + feats.T @ (visits[h].reshape(-1, 1) * feats)
                        mu_hat = np.linalg.solve(sigma, feats.T @ n_pos[h].reshape(S * A, S))
                        P_hat[h] = (feats @ mu_hat).reshape(S, A, S)
                        phi_hat[h] = feats
                    elif k - 1 in refit_at:
                        fit = contrastive_fit(n_pos[h], n_neg[h], noise, rank=d, seed=rng)
                        P_hat[h] = fit.P
                        phi_hat[h] = fit.phi.reshape(S * A, -1)
            # optimistic planning
            r_plus = model.R.copy()
            for h in range(H):
                if representation == "tabular":
                    r_plus[h] += beta / np.sqrt(lam + visits[h])
                else:
                    feats = phi_hat[h]
                    sigma = lam * np.eye(feats.shape[1]) + feats.T @ (visits[h].reshape(-1, 1) * feats)
                    norms = np.einsum("ij,ij->i", feats, np.linalg.solve(sigma, feats.T).T)
                    r_plus[h] += beta * np.sqrt(np.maximum(norms, 0.0)).reshape(S, A)
            q_bar = policy_q(P_hat, r_plus, v_cap)
            policy = _greedy(q_bar, rng)
            optimism[k] = float(np.min(q_bar[0].max(axis=1) - v_star))
            total += v_star0 - float(model.d0 @ model.policy_values(policy)[0])
            regret[k] = total
            if representation == "bilinear" and k > 0:
                angle[k] = float(subspace_angles(phi_hat[0], model.phi[0].reshape(S * A, -1)).max())
            # data collection: H roll-ins, uniform action at the learning step
            for h in range(H):
                s = int(rng.choice(S, p=model.d0))
                for t in range(h):
                    s = min(int(np.searchsorted(cdf[t, s, policy[t, s]], rng.random(), side="right")), S - 1)
                a = int(rng.integers(A))
                s_next = min(int(np.searchsorted(cdf[h, s, a], rng.random(), side="right")), S - 1)
                n_pos[h, s, a, s_next] += 1.0
                n_neg[h, s, a, int(rng.choice(S, p=noise))] += 1.0
                visits[h, s, a] += 1.0
    episodes = np.arange(1, K + 1)
    history = {"step": episodes, "samples": episodes * H * H, "regret": regret, "optimism": optimism, "angle": angle}
    return LearningResult(q=q_bar, policy=policy, history=history, n_samples=K * H * H, method="contrastive_ucb",
                          params={"n_episodes": K, "rank": d, "representation": representation, "beta": beta,
                                  "lam": lam, "delta": delta},
                          elapsed=timer.elapsed)
