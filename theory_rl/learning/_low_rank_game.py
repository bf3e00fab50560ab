r"""Contrastive UCB for zero-sum low-rank Markov games (Qiu, Wang, Bai, Yang & Wang 2022, arXiv:2207.14800).

A two-player zero-sum finite-horizon Markov game whose kernel factors through ``d`` features,
``P_h(s' | s, a, b) = phi*_h(s, a, b)^T mu*_h(s')``; the max player (actions ``a``) receives
``R[h, s, a, b] in [0, 1]`` and the min player pays it. The learner treats the joint action
``(a, b)`` as one action of a :class:`LowRankMDP` for representation learning, keeps an upper and a
lower confidence bound, and plays a coarse correlated equilibrium (CCE) of the two bounds at
every state (:func:`theory_rl.games.coarse_correlated_equilibrium`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._iterative import Timer
from .._validation import check_choice, check_distribution, check_int, check_real, rng_from_seed
from ..errors import InvalidArgumentError, InvalidModelError
from ..games import MatrixGame, coarse_correlated_equilibrium, solve_stage_games
from ._contrastive_ucb import StepModels, next_state
from ._low_rank import LowRankMDP, random_low_rank_mdp
from ._result import LearningResult

__all__ = ["LowRankMarkovGame", "contrastive_ucb_game", "random_low_rank_markov_game"]


@dataclass(frozen=True, repr=False, eq=False)
class LowRankMarkovGame:
    r"""A two-player zero-sum finite-horizon Markov game with a rank-``d`` kernel.

    .. math::
        P_h(s' \mid s, a, b) = \phi^*_h(s, a, b)^\top \mu^*_h(s'),

    the max player choosing ``a``, the min player ``b``, the reward ``R[h, s, a, b] in [0, 1]``
    paid by the min player to the max player, start distribution ``d0``. Validation is that of
    :class:`LowRankMDP` on the joint actions (its ``joint``), which names the first bad entry.

    Parameters
    ----------
    phi : array_like, shape (H, S, A, B, d)
    mu : array_like, shape (H, d, S)
    R : array_like, shape (H, S, A, B)
    d0 : array_like, shape (S,)

    Examples
    --------
    >>> g = random_low_rank_markov_game(3, 2, rank=2, horizon=2, seed=0)
    >>> g.joint.n_actions, round(g.nash_value(), 3)
    (4, 0.967)
    """

    phi: np.ndarray
    mu: np.ndarray
    R: np.ndarray
    d0: np.ndarray

    def __post_init__(self) -> None:
        phi = np.asarray(self.phi, dtype=float)
        R = np.asarray(self.R, dtype=float)
        if phi.ndim != 5 or R.ndim != 4 or phi.shape[:4] != R.shape:
            raise InvalidModelError(f"phi must be (H, S, A, B, d) and R (H, S, A, B) over the same (H, S, A, B); "
                                    f"got {phi.shape} and {R.shape}")
        H, S, A, B, d = phi.shape
        joint = LowRankMDP(phi=phi.reshape(H, S, A * B, d), mu=self.mu, R=R.reshape(H, S, A * B), d0=self.d0)
        object.__setattr__(self, "joint", joint)
        object.__setattr__(self, "n_actions", (A, B))

    def __repr__(self) -> str:
        H, S, A, B = self.R.shape
        return f"LowRankMarkovGame(H={H}, S={S}, A={A}, B={B}, d={self.joint.rank})"

    def _kernel(self) -> np.ndarray:
        H, S, _, _ = np.shape(self.R)
        return self.joint.P.reshape(H, S, *self.n_actions, S)

    def nash_value(self) -> float:
        r"""``d0 . V*_0``, the value of the game, by backward induction with a zero-sum stage game
        solved at every ``(h, s)`` (:func:`theory_rl.games.solve_stage_games`).

        Examples
        --------
        >>> g = random_low_rank_markov_game(2, 2, rank=2, horizon=1, seed=3)
        >>> from theory_rl.games import MatrixGame, zero_sum_lp
        >>> float(np.round(g.nash_value() - np.mean([zero_sum_lp(MatrixGame(g.joint.R[0, s].reshape(2, 2))).value for s in range(2)]), 9))
        0.0
        """
        P, R = self._kernel(), np.asarray(self.joint.R).reshape(self._kernel().shape[:-1])
        v = np.zeros(P.shape[1])
        for h in range(P.shape[0] - 1, -1, -1):
            v = solve_stage_games(R[h] + P[h] @ v)[2]
        return float(self.joint.d0 @ v)

    def duality_gap(self, max_policy: np.ndarray, min_policy: np.ndarray) -> float:
        r"""``d0 . (V^{dagger, nu}_0 - V^{mu, dagger}_0) >= 0``: what the best responses to the
        product policy ``(mu, nu)`` gain, computed exactly by backward induction,

        .. math::
            V^{\dagger,\nu}_h(s) = \max_a \sum_b \nu_h(b \mid s)\,[R_h + P_h V^{\dagger,\nu}_{h+1}](s, a, b),

        and symmetrically for the min player. Zero iff ``(mu, nu)`` is a Nash equilibrium.

        Parameters
        ----------
        max_policy : ndarray, shape (H, S, A)
            ``mu_h(a | s)``.
        min_policy : ndarray, shape (H, S, B)
            ``nu_h(b | s)``.

        Examples
        --------
        >>> g = random_low_rank_markov_game(3, 2, rank=2, horizon=2, seed=0)
        >>> uniform = np.full((2, 3, 2), 0.5)
        >>> round(g.duality_gap(uniform, uniform), 3)
        0.487
        """
        P = self._kernel()
        H, S, A, B, _ = P.shape
        R = np.asarray(self.joint.R).reshape(H, S, A, B)
        mu = np.asarray(max_policy, dtype=float)
        nu = np.asarray(min_policy, dtype=float)
        if mu.shape != (H, S, A) or nu.shape != (H, S, B):
            raise InvalidModelError(f"policies must have shapes {(H, S, A)} and {(H, S, B)}; got {mu.shape} and {nu.shape}")
        v_br_max, v_br_min = np.zeros(S), np.zeros(S)
        for h in range(H - 1, -1, -1):
            v_br_max = np.einsum("sab,sb->sa", R[h] + P[h] @ v_br_max, nu[h]).max(axis=1)
            v_br_min = np.einsum("sab,sa->sb", R[h] + P[h] @ v_br_min, mu[h]).min(axis=1)
        return float(self.joint.d0 @ (v_br_max - v_br_min))


def random_low_rank_markov_game(
    n_states: int,
    n_actions: int | tuple[int, int],
    *,
    rank: int,
    horizon: int,
    concentration: float = 1.0,
    seed: int | np.random.Generator | None = None,
) -> LowRankMarkovGame:
    r"""A random zero-sum low-rank Markov game: the features and factors of
    :func:`random_low_rank_mdp` on the joint actions ``(a, b)``, rewards ``U[0, 1]``, ``d0`` uniform.
    ``n_actions`` is ``(A, B)``, or one number for both players.

    Examples
    --------
    >>> g = random_low_rank_markov_game(4, (2, 3), rank=2, horizon=3, seed=0)
    >>> g.n_actions, g.joint.rank
    ((2, 3), 2)
    """
    pair = (n_actions, n_actions) if np.ndim(n_actions) == 0 else tuple(n_actions)
    if len(pair) != 2:
        raise InvalidArgumentError(f"n_actions must be an int or a pair (A, B), got {n_actions!r}")
    A, B = (check_int(x, "n_actions", minimum=1) for x in pair)
    m = random_low_rank_mdp(n_states, A * B, rank=rank, horizon=horizon, concentration=concentration, seed=seed)
    H, S = m.horizon, m.n_states
    return LowRankMarkovGame(phi=m.phi.reshape(H, S, A, B, -1), mu=m.mu, R=m.R.reshape(H, S, A, B), d0=m.d0)


def contrastive_ucb_game(
    game: LowRankMarkovGame,
    *,
    n_episodes: int,
    representation: str = "bilinear",
    rank: int | None = None,
    beta: float = 0.5,
    lam: float = 1.0,
    negatives: str = "expected",
    noise: np.ndarray | None = None,
    device: Any = "auto",
    seed: int | np.random.Generator | None = None,
) -> LearningResult:
    r"""Contrastive UCB for zero-sum low-rank Markov games: upper and lower confidence bounds on
    learned features, CCE policy updates (Qiu, Wang, Bai, Yang & Wang 2022, arXiv:2207.14800, the
    Markov-game algorithm).

    Episode ``k``: per step ``h`` fit the contrastive model ``P_hat_h``, ``phi_hat_h`` on the joint
    actions (as :func:`contrastive_ucb`), bonus ``b_h = beta ||phi_hat_h(s, a, b)||_{Sigma_h^{-1}}``,
    then backward over ``h``

    .. math::
        \bar Q_h = \min\big(H - h,\; R_h + \hat P_h \bar V_{h+1} + b_h\big), \qquad
        \underline Q_h = \max\big(0,\; R_h + \hat P_h \underline V_{h+1} - b_h\big),

        \sigma_h(s) = \mathrm{CCE}\big(\bar Q_h(s, \cdot, \cdot),\; -\underline Q_h(s, \cdot, \cdot)\big), \quad
        \bar V_h(s) = \mathbb E_{\sigma_h(s)} \bar Q_h, \quad \underline V_h(s) = \mathbb E_{\sigma_h(s)} \underline Q_h:

    the max player's payoff is the upper bound, the min player's the negated lower bound, and
    ``sigma_h(s)`` a CCE of that general-sum stage game (an LP,
    :func:`theory_rl.games.coarse_correlated_equilibrium`). Data: for each ``h``, roll in with the
    correlated policy ``sigma`` to ``s_h``, play a uniform joint action, record ``(s_h, (a, b), s_{h+1})``.
    The output policy of an episode is the pair of marginals ``mu_h(s) = sum_b sigma_h(s)``,
    ``nu_h(s) = sum_a sigma_h(s)``; its exact duality gap (:meth:`LowRankMarkovGame.duality_gap`)
    is recorded with the certificate ``V_bar_0 - V_under_0``.

    Guarantee (paper, Markov-game theorem): with probability ``1 - delta`` an ``epsilon``-approximate
    Nash equilibrium after ``O~(1/epsilon^2)`` episodes, polynomial in ``d``, ``H``, ``|A|``, ``|B|`` and
    the log-size of the feature classes.

    Implemented, with deviations stated: finite states; ``beta`` is a user constant (default 0.5,
    the theory value is not implemented); the bilinear features are refit on the schedule of
    :func:`contrastive_ucb`; ``representation="true_features"`` is the oracle that knows ``phi*``.
    Not implemented: the paper's general function classes; the CCE is the welfare-maximising one
    of the LP (any CCE is allowed by the algorithm).

    Parameters
    ----------
    game : LowRankMarkovGame
    n_episodes : int
        ``K``, the number of episodes.
    representation : {"bilinear", "torch", "tabular", "true_features"}
        How ``P_hat`` and the features are estimated (as in :func:`contrastive_ucb`).
    rank : int, optional
        Width ``d`` of learned features; the game's rank when omitted.
    beta : float
        Scale of the bonus ``b_h``.
    lam : float
        The ridge term of the joint-action covariance ``Sigma_h``.
    negatives : {"expected", "sampled"}
        Negatives of the contrastive loss (as in :func:`contrastive_ucb`).
    noise : ndarray, shape (S,), optional
        The noise distribution ``P^-`` of the loss; uniform when omitted.
    device : "auto", "cpu", "cuda", or torch.device
        Where the torch representation is fit.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    LearningResult
        ``q`` ``(H, S, A, B)`` the last upper bound, ``policy`` ``(H, S)`` the max player's most
        likely action; history per episode: ``step``, ``samples``, ``gap`` (exact duality gap of
        the marginals), ``certificate`` (``d0 . (V_bar_0 - V_under_0)``); ``info``: the last
        ``max_policy`` ``(H, S, A)`` and ``min_policy`` ``(H, S, B)``.

    Examples
    --------
    >>> g = random_low_rank_markov_game(3, 2, rank=2, horizon=2, seed=0)
    >>> res = contrastive_ucb_game(g, n_episodes=20, representation="true_features", seed=0)
    >>> bool(res.history["gap"][-1] <= res.history["gap"][0])
    True
    """
    if not isinstance(game, LowRankMarkovGame):
        raise InvalidModelError(f"game must be a LowRankMarkovGame, got {type(game).__name__}")
    K = check_int(n_episodes, "n_episodes", minimum=1)
    check_choice(representation, "representation", ("bilinear", "torch", "tabular", "true_features"))
    check_choice(negatives, "negatives", ("expected", "sampled"))
    m = game.joint
    H, S, AB = m.horizon, m.n_states, m.n_actions
    A, B = game.n_actions
    d = {"tabular": S * AB, "true_features": m.rank}.get(representation, m.rank if rank is None else check_int(rank, "rank", minimum=1))
    beta = check_real(beta, "beta", low=0.0)
    lam = check_real(lam, "lam", low=0.0, low_open=True)
    noise = np.full(S, 1.0 / S) if noise is None else check_distribution(noise, "noise", S)
    rng = rng_from_seed(seed)
    with Timer() as timer:
        models = StepModels(H, S, AB, d, representation=representation, noise=noise, negatives=negatives, lam=lam,
                            true_phi=m.phi if representation == "true_features" else None, device=device, rng=rng)
        gap, certificate = np.empty(K), np.empty(K)
        cdf = m.P.cumsum(axis=-1)
        for k in range(K):
            if k > 0:
                models.refit(k)
            bonus = models.bonus(beta)
            q_up, q_low = np.empty((H, S, AB)), np.empty((H, S, AB))
            sigma = np.empty((H, S, A, B))
            v_up, v_low = np.zeros(S), np.zeros(S)
            for h in range(H - 1, -1, -1):
                q_up[h] = np.minimum(m.R[h] + models.P_hat[h] @ v_up + bonus[h], H - h)
                q_low[h] = np.maximum(m.R[h] + models.P_hat[h] @ v_low - bonus[h], 0.0)
                for s in range(S):
                    upper, lower = q_up[h, s].reshape(A, B), q_low[h, s].reshape(A, B)
                    sigma[h, s] = np.clip(coarse_correlated_equilibrium(MatrixGame(upper, -lower)).distribution, 0.0, None)
                    sigma[h, s] /= sigma[h, s].sum()
                joint = sigma[h].reshape(S, AB)
                v_up, v_low = np.einsum("sj,sj->s", joint, q_up[h]), np.einsum("sj,sj->s", joint, q_low[h])
            max_policy, min_policy = sigma.sum(axis=3), sigma.sum(axis=2)
            gap[k] = game.duality_gap(max_policy, min_policy)
            certificate[k] = float(m.d0 @ (v_up - v_low))
            # data collection: H roll-ins with sigma, uniform joint action at the learning step
            flat = sigma.reshape(H, S, AB).cumsum(axis=-1)
            for h in range(H):
                s = int(rng.choice(S, p=m.d0))
                for t in range(h):
                    s = next_state(cdf[t, s, next_state(flat[t, s], rng)], rng)
                j = int(rng.integers(AB))
                models.add(h, s, j, next_state(cdf[h, s, j], rng))
    episodes = np.arange(1, K + 1)
    history = {"step": episodes, "samples": episodes * H * H, "gap": gap, "certificate": certificate}
    return LearningResult(q=q_up.reshape(H, S, A, B), policy=max_policy.argmax(axis=2).astype(np.int64), history=history,
                          n_samples=K * H * H, method="contrastive_ucb_game",
                          params={"n_episodes": K, "rank": d, "representation": representation, "beta": beta, "lam": lam},
                          info={"max_policy": max_policy, "min_policy": min_policy}, elapsed=timer.elapsed)
