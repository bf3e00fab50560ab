r"""Online episodic learners with regret guarantees: UCBVI and optimistic Q-learning.

Setting (Azar, Osband & Munos 2017; Jin, Allen-Zhu, Bubeck & Jordan 2018): ``K`` episodes of
``H`` steps on a :class:`~theory_rl.models.FiniteMDP` whose transitions ``P`` are unknown and
whose rewards ``R[s, a] in [0, 1]`` are known; ``mdp.gamma`` is ignored (undiscounted episodes).
Episode ``k`` starts in ``s_1^k ~ d0``. The regret after ``K`` episodes (``T = K H`` steps) is

.. math::
    \mathrm{Regret}(K) = \sum_{k=1}^K \big(V^*_1(s_1^k) - V^{\pi_k}_1(s_1^k)\big),

computed exactly here: ``V^{pi_k}`` is evaluated on the true model by backward induction, so
the trace has no Monte-Carlo noise from the rewards of the episode itself.
"""

from __future__ import annotations

import math

import numpy as np

from .._iterative import Timer, progress_range
from .._validation import check_bool, check_choice, check_int, check_real, rng_from_seed
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ..tabular import backward_induction
from ._result import LearningResult
from ._sampling import TransitionSampler, check_learnable

__all__ = ["episodic_optimal_q", "ucb_q_learning", "ucbvi"]


def _check_episodic(mdp: FiniteMDP, horizon: int, n_episodes: int, delta: float) -> tuple[int, int, float]:
    H = check_int(horizon, "horizon", minimum=1)
    K = check_int(n_episodes, "n_episodes", minimum=1)
    check_learnable(mdp)
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    R = np.asarray(mdp.R)
    if R.min() < 0.0 or R.max() > 1.0:
        idx = tuple(int(i) for i in np.argwhere((R < 0) | (R > 1))[0])
        raise InvalidModelError(f"R[{idx[0]}, {idx[1]}] = {R[idx]:.6g}: the regret bounds assume rewards in [0, 1]")
    return H, K, float(delta)


def episodic_optimal_q(mdp: FiniteMDP, horizon: int) -> np.ndarray:
    """``Q*_h(s, a)`` of the undiscounted ``H``-step problem, shape ``(H, S, A)`` (backward induction)."""
    check_learnable(mdp)
    H = check_int(horizon, "horizon", minimum=1)
    return backward_induction(mdp.replace(gamma=1.0, horizon=H)).q


def _greedy_random_ties(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``argmax`` over the last axis with ties broken uniformly at random (exactly: only tied
    maxima compete), so that an all-``H`` optimistic table explores instead of always taking action 0."""
    tied = q == q.max(axis=-1, keepdims=True)
    return np.argmax(np.where(tied, rng.random(q.shape), -1.0), axis=-1).astype(np.int64)


def _policy_values(P2, R: np.ndarray, policy: np.ndarray) -> np.ndarray:
    """``V^pi_h`` for a non-stationary deterministic ``policy[h, s]``, shape ``(H+1, S)``."""
    H, S = policy.shape
    A = R.shape[1]
    v = np.zeros((H + 1, S))
    states = np.arange(S)
    for h in range(H - 1, -1, -1):
        rows = states * A + policy[h]
        v[h] = R[states, policy[h]] + P2[rows] @ v[h + 1]
    return v


class _EpisodeRunner:
    """Draws start states and transitions, scores each episode's policy exactly and keeps the
    per-episode trace (cumulative regret, optimism) shared by the episodic learners."""

    def __init__(self, mdp: FiniteMDP, H: int, K: int, rng: np.random.Generator) -> None:
        self.sampler = TransitionSampler(mdp)
        self.rng = rng
        self.H, self.K = H, K
        self.regret = np.empty(K)
        self.optimism = np.empty(K)
        self._total = 0.0
        self.R = np.asarray(mdp.R, dtype=float)
        self.P2 = mdp.transition_matrix
        self.d0 = np.full(mdp.n_states, 1.0 / mdp.n_states) if mdp.d0 is None else np.asarray(mdp.d0)
        self.q_star = episodic_optimal_q(mdp, H)
        self.v_star = self.q_star[0].max(axis=1)
        self._last_policy: np.ndarray | None = None
        self._last_v1 = self.v_star

    def start(self) -> int:
        return int(self.rng.choice(self.d0.size, p=self.d0))

    def begin_episode(self, k: int, q: np.ndarray) -> tuple[np.ndarray, int]:
        """Episode ``k``'s greedy policy for the optimistic ``q[h, s, a]`` (random ties) and its
        start state ``s1 ~ d0``; records the optimism ``min_{h,s,a} q - Q*`` and the cumulative regret."""
        policy = _greedy_random_ties(q, self.rng)
        s1 = self.start()
        self.optimism[k] = float(np.min(q - self.q_star))
        self._total += self.episode_regret(policy, s1)
        self.regret[k] = self._total
        return policy, s1

    def trace(self) -> dict[str, np.ndarray]:
        """``step`` (episode), ``samples`` (``T`` so far), ``regret`` (cumulative), ``optimism``."""
        episodes = np.arange(1, self.K + 1)
        return {"step": episodes, "samples": episodes * self.H, "regret": self.regret, "optimism": self.optimism}

    def episode_regret(self, policy: np.ndarray, s1: int) -> float:
        """``V*_1(s1) - V^pi_1(s1)``; the evaluation is reused while the policy does not change."""
        if self._last_policy is None or not np.array_equal(policy, self._last_policy):
            self._last_policy = policy.copy()
            self._last_v1 = _policy_values(self.P2, self.R, policy)[0]
        return float(self.v_star[s1] - self._last_v1[s1])


def ucbvi(
    mdp: FiniteMDP,
    *,
    horizon: int,
    n_episodes: int,
    delta: float = 0.1,
    bonus_scale: float = 1.0,
    seed: int | np.random.Generator | None = None,
    progress: bool = False,
) -> LearningResult:
    r"""UCBVI with Chernoff-Hoeffding bonuses (UCBVI-CH; Azar, Osband & Munos 2017,
    "Minimax regret bounds for reinforcement learning", arXiv:1703.05449, Algorithms 1 and 2).

    Before episode ``k``, with visit counts ``N_k(s, a)`` and the empirical kernel
    ``P_hat_k = N_k(s, a, .)/N_k(s, a)`` of all transitions seen so far, optimistic value
    iteration runs backwards from ``V_{k,H+1} = 0``:

    .. math::
        Q_{k,h}(s,a) = \min\Big(Q_{k-1,h}(s,a),\; H,\; R(s,a) + \hat P_k V_{k,h+1}(s,a) + b_k(s,a)\Big)
        \quad (N_k(s,a) > 0), \qquad Q_{k,h}(s,a) = H \ \text{otherwise},

    .. math::
        b_k(s, a) = 7 H L \sqrt{1 / N_k(s,a)}, \qquad L = \ln(5 S A T / \delta),

    and the episode follows the greedy policy ``pi_k(s, h) = argmax_a Q_{k,h}(s, a)`` (ties broken
    uniformly at random; the paper leaves them open).

    Guarantee (Thm 1): with probability ``1 - delta``,
    ``Regret(K) <= 20 H L sqrt(S A T) + 250 H^2 S^2 A L^2`` (constants as we recall them from the
    paper; see :func:`theory_rl.theory.ucbvi_regret`), i.e. ``O~(H sqrt(SAT))``, and on that event
    ``Q_{k,h} >= Q*_h`` (optimism, used in the proof and recorded here as ``trace["optimism"]``).

    Implemented: UCBVI-CH exactly as above. Not implemented: the Bernstein-Freedman bonus
    (UCBVI-BF, Thm 2, ``O~(sqrt(HSAT))``). ``bonus_scale`` multiplies ``b_k``; ``1`` is the
    paper's; smaller values void the guarantee (say so wherever you use them).

    When it learns, with the paper's bonus (measured): ``Q`` stays at ``H`` until a pair has
    about ``(7L)^2 ~ 10^4`` visits, so regret is linear before that. With ``H = 1`` and a gap of 1
    the regret is exactly ``floor((7L)^2) + 1`` and then flat (tested, K = 60,000); a 2-state
    chain with ``H = 2`` turns flat between T = 2e5 and 4e5. Thm 1's bound exceeds ``T`` (is
    vacuous) until T = 2.0e6 (S = A = 2, H = 1) and 9.1e6 (S = A = 2, H = 2).

    Parameters
    ----------
    mdp : FiniteMDP
        Rewards in ``[0, 1]``; ``gamma`` is ignored.
    horizon : int
        ``H``.
    n_episodes : int
        ``K`` (``T = K H``).
    delta : float
        Confidence level in the bonus.
    bonus_scale : float
    seed : int or numpy.random.Generator, optional
    progress : bool
        Show a tqdm bar over the episodes on stderr.

    Returns
    -------
    LearningResult
        ``q`` of shape ``(H, S, A)`` (the last episode's optimistic Q), ``policy`` ``(H, S)``,
        ``trace`` per episode: ``step`` (episode), ``samples`` (``T`` so far), ``regret``
        (cumulative), ``optimism`` (``min_{h,s,a} Q_{k,h} - Q*_h``).
    """
    H, K, delta = _check_episodic(mdp, horizon, n_episodes, delta)
    bonus_scale = check_real(bonus_scale, "bonus_scale", low=0.0)
    progress = check_bool(progress, "progress")
    rng = rng_from_seed(seed)
    with Timer() as timer:
        S, A, T = mdp.n_states, mdp.n_actions, K * H
        run = _EpisodeRunner(mdp, H, K, rng)
        R = run.R
        L = math.log(5.0 * S * A * T / delta)
        counts = np.zeros((S * A, S))
        visits = np.zeros(S * A)
        q = np.full((H, S, A), float(H))
        for k in progress_range(K, progress, "ucbvi", "episode"):
            seen = visits > 0
            n_safe = np.maximum(visits, 1.0)
            bonus = bonus_scale * 7.0 * H * L / np.sqrt(n_safe)
            v_next = np.zeros(S)
            for h in range(H - 1, -1, -1):
                backup = R.ravel() + (counts @ v_next) / n_safe + bonus
                candidate = np.where(seen, np.minimum(backup, H), float(H)).reshape(S, A)
                q[h] = np.minimum(q[h], candidate)
                v_next = q[h].max(axis=1)
            policy, s = run.begin_episode(k, q)
            for h in range(H):
                a = int(policy[h, s])
                s_next = run.sampler.step(s, a, rng)
                counts[s * A + a, s_next] += 1.0
                visits[s * A + a] += 1.0
                s = s_next
    return LearningResult(
        q=q, policy=np.asarray(policy, dtype=np.int64), history=run.trace(), method="ucbvi", params={"horizon": H, "n_episodes": K, "delta": delta, "bonus_scale": bonus_scale,
                                "bonus": "hoeffding"},
        n_samples=T, elapsed=timer.elapsed)


def ucb_q_learning(
    mdp: FiniteMDP,
    *,
    horizon: int,
    n_episodes: int,
    bonus: str = "hoeffding",
    c: float = 1.0,
    delta: float = 0.1,
    seed: int | np.random.Generator | None = None,
    progress: bool = False,
) -> LearningResult:
    r"""Q-learning with UCB exploration (Jin, Allen-Zhu, Bubeck & Jordan 2018, "Is Q-learning
    provably efficient?", arXiv:1807.03765, Algorithms 1 and 2).

    Tables ``Q_h(s, a) = H`` and ``N_h(s, a) = 0`` for ``h = 1..H``. At step ``h`` of an episode the
    agent takes ``a = argmax_a' Q_h(s, a')`` (ties broken uniformly at random), sees ``s'``, and with ``t = ++N_h(s, a)``,
    ``alpha_t = (H + 1)/(H + t)``, ``iota = log(S A T / delta)``:

    .. math::
        Q_h(s,a) \leftarrow (1-\alpha_t) Q_h(s,a) + \alpha_t \big[R(s,a) + V_{h+1}(s') + b_t\big],
        \qquad V_h(s) = \min\big(H, \max_{a'} Q_h(s, a')\big).

    - ``bonus="hoeffding"`` (UCB-H, Algorithm 1): ``b_t = c sqrt(H^3 iota / t)``. Thm 1: regret
      ``O(sqrt(H^4 S A T iota))`` with probability ``1 - delta``.
    - ``bonus="bernstein"`` (UCB-B, Algorithm 2): with ``W_t`` the empirical variance of the ``t``
      values ``V_{h+1}(s')`` seen at ``(s, a, h)``,
      ``beta_t = min(c (sqrt(H (W_t + H) iota / t) + sqrt(H^7 S A) iota / t), c sqrt(H^3 iota / t))``
      and ``b_t = (beta_t - (1 - alpha_t) beta_{t-1}) / (2 alpha_t)``. Thm 2: regret
      ``O(sqrt(H^3 S A T iota) + sqrt(H^9 S^3 A^3) iota^2)``.

    The paper's ``c`` (``c_1``, ``c_2`` for UCB-B) are unspecified absolute constants; one ``c``
    (default 1) is used for all of them. Jin et al. allow step-dependent transitions ``P_h``; a
    stationary ``P`` is a special case. Optimism ``Q_h >= Q*_h`` holds with high probability for a
    large enough ``c`` (their Lemma 4.3) and is recorded as ``trace["optimism"]``. For UCB-H,
    Azuma-Hoeffding with a union bound over ``(s, a, h, t)`` and their Lemma 4.1 give optimism with
    probability ``1 - delta`` once ``c >= sqrt(ln(2SAT/delta) / ln(SAT/delta))`` (just above 1; our
    derivation, checked in ``tests/learning/test_learning_episodic.py``, where ``c = 0`` is shown to
    break it).

    Parameters
    ----------
    mdp : FiniteMDP
        Rewards in ``[0, 1]``; ``gamma`` is ignored.
    horizon, n_episodes : int
        ``H`` and ``K``.
    bonus : {"hoeffding", "bernstein"}
    c : float
    delta : float
    seed : int or numpy.random.Generator, optional
    progress : bool
        Show a tqdm bar over the episodes on stderr.

    Returns
    -------
    LearningResult
        As for :func:`ucbvi`.
    """
    H, K, delta = _check_episodic(mdp, horizon, n_episodes, delta)
    check_choice(bonus, "bonus", ("hoeffding", "bernstein"))
    c = check_real(c, "c", low=0.0)
    progress = check_bool(progress, "progress")
    rng = rng_from_seed(seed)
    with Timer() as timer:
        S, A, T = mdp.n_states, mdp.n_actions, K * H
        run = _EpisodeRunner(mdp, H, K, rng)
        R = run.R
        iota = math.log(S * A * T / delta)
        q = np.full((H, S, A), float(H))
        v = np.zeros((H + 1, S))
        v[:H] = H
        n = np.zeros((H, S, A), dtype=np.int64)
        mu = np.zeros((H, S, A))  # running sums of V_{h+1}(s') (Bernstein)
        sigma = np.zeros((H, S, A))  # running sums of V_{h+1}(s')^2
        beta_prev = np.zeros((H, S, A))
        lower_term = math.sqrt(H**7 * S * A) * iota
        for k in progress_range(K, progress, "ucb_q_learning", "episode"):
            policy, s = run.begin_episode(k, q)
            for h in range(H):
                a = int(policy[h, s])
                s_next = run.sampler.step(s, a, rng)
                n[h, s, a] += 1
                t = int(n[h, s, a])
                alpha = (H + 1.0) / (H + t)
                v_next = float(v[h + 1, s_next])
                if bonus == "hoeffding":
                    b = c * math.sqrt(H**3 * iota / t)
                else:
                    mu[h, s, a] += v_next
                    sigma[h, s, a] += v_next * v_next
                    w = max(0.0, sigma[h, s, a] / t - (mu[h, s, a] / t) ** 2)
                    beta = min(c * (math.sqrt(H * (w + H) * iota / t) + lower_term / t), c * math.sqrt(H**3 * iota / t))
                    b = (beta - (1.0 - alpha) * beta_prev[h, s, a]) / (2.0 * alpha)
                    beta_prev[h, s, a] = beta
                q[h, s, a] = (1.0 - alpha) * q[h, s, a] + alpha * (R[s, a] + v_next + b)
                v[h, s] = min(float(H), float(q[h, s].max()))
                s = s_next
    return LearningResult(
        q=q, policy=np.asarray(q.argmax(axis=2), dtype=np.int64), history=run.trace(), method="ucb_q_learning", params={"horizon": H, "n_episodes": K, "bonus": bonus, "c": c, "delta": delta},
        n_samples=T, elapsed=timer.elapsed)
