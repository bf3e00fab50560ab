r"""Low-rank finite-horizon MDPs: ``P_h(s' | s, a) = phi*_h(s, a)^T mu*_h(s')``.

The model class of representation learning in RL (Jiang et al. 2017; Agarwal, Kakade,
Krishnamurthy & Sun 2020, FLAMBE, arXiv:2006.10814; Qiu, Wang, Bai, Yang & Wang 2022, Contrastive
UCB, arXiv:2207.14800): a tabular, step-dependent kernel whose ``(S A) x S`` matrix at every step
has rank at most ``d``. The features ``phi*`` are unknown to a learner; here they are stored so
that learned features can be compared with them (principal angles) and the optimum computed
exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_int, check_real, rng_from_seed
from ..errors import InvalidModelError
from ..models import FiniteMDP

__all__ = ["LowRankMDP", "random_low_rank_mdp"]

_ATOL = 1e-8


def _array(x: Any, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidModelError(f"{name} could not be read as a real array: {exc}") from None
    if arr.ndim != ndim:
        raise InvalidModelError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        idx = ", ".join(str(int(i)) for i in bad[0])
        raise InvalidModelError(f"{name}[{idx}] = {arr[tuple(bad[0])]} is not finite")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, repr=False, eq=False)
class LowRankMDP:
    r"""A finite-horizon MDP whose step-``h`` kernel factors through ``d`` features.

    .. math::
        P_h(s' \mid s, a) = \phi^*_h(s, a)^\top \mu^*_h(s'), \qquad h = 0, \dots, H-1,

    with known rewards ``R[h, s, a] in [0, 1]`` and start distribution ``d0``. Validation checks
    that every ``P_h(. | s, a)`` is a probability vector (entries ``>= -1e-8``, sums within
    ``1e-8`` of one) and names the first offending entry.

    Parameters
    ----------
    phi : array_like, shape (H, S, A, d)
        ``phi*_h(s, a)``.
    mu : array_like, shape (H, d, S)
        ``mu*_h(s')`` as columns: ``mu[h, :, s']``.
    R : array_like, shape (H, S, A)
        Rewards in ``[0, 1]``.
    d0 : array_like, shape (S,)
        Start distribution.

    Examples
    --------
    >>> m = random_low_rank_mdp(4, 2, rank=2, horizon=3, seed=0)
    >>> m.horizon, m.n_states, m.n_actions, m.rank
    (3, 4, 2, 2)
    >>> bool(np.allclose(m.P.sum(axis=-1), 1.0))
    True
    """

    phi: np.ndarray
    mu: np.ndarray
    R: np.ndarray
    d0: np.ndarray

    def __post_init__(self) -> None:
        phi = _array(self.phi, "phi", 4)
        mu = _array(self.mu, "mu", 3)
        R = _array(self.R, "R", 3)
        d0 = _array(self.d0, "d0", 1)
        H, S, A, d = phi.shape
        if mu.shape != (H, d, S):
            raise InvalidModelError(f"mu has shape {mu.shape}, expected (H, d, S) = {(H, d, S)} from phi")
        if R.shape != (H, S, A):
            raise InvalidModelError(f"R has shape {R.shape}, expected (H, S, A) = {(H, S, A)}")
        if d0.shape != (S,):
            raise InvalidModelError(f"d0 has shape {d0.shape}, expected (S,) = {(S,)}")
        bad = np.argwhere((R < 0.0) | (R > 1.0))
        if bad.size:
            h, s, a = (int(i) for i in bad[0])
            raise InvalidModelError(f"R[{h}, {s}, {a}] = {R[h, s, a]:.6g} must lie in [0, 1]")
        if (d0 < -_ATOL).any() or abs(d0.sum() - 1.0) > _ATOL:
            raise InvalidModelError(f"d0 must be a probability vector (sum {d0.sum():.6g}, min {d0.min():.6g})")
        P = np.einsum("hsad,hdt->hsat", phi, mu)
        neg = np.argwhere(P < -_ATOL)
        if neg.size:
            h, s, a, t = (int(i) for i in neg[0])
            raise InvalidModelError(f"P[{h}, {s}, {a}, {t}] = phi[{h}, {s}, {a}] . mu[{h}, :, {t}] = {P[h, s, a, t]:.6g} < 0")
        sums = P.sum(axis=-1)
        off = np.argwhere(np.abs(sums - 1.0) > _ATOL)
        if off.size:
            h, s, a = (int(i) for i in off[0])
            raise InvalidModelError(f"P[{h}, {s}, {a}, :] = phi[{h}, {s}, {a}] @ mu[{h}] sums to {sums[h, s, a]:.9g}, not 1")
        P = np.clip(P, 0.0, None)
        P /= P.sum(axis=-1, keepdims=True)
        P.flags.writeable = False
        for name, value in (("phi", phi), ("mu", mu), ("R", R), ("d0", d0), ("P", P)):
            object.__setattr__(self, name, value)

    P: np.ndarray = dataclasses.field(init=False)

    @property
    def horizon(self) -> int:
        """``H``."""
        return int(self.phi.shape[0])

    @property
    def n_states(self) -> int:
        """``S``."""
        return int(self.phi.shape[1])

    @property
    def n_actions(self) -> int:
        """``A``."""
        return int(self.phi.shape[2])

    @property
    def rank(self) -> int:
        """``d``."""
        return int(self.phi.shape[3])

    def __repr__(self) -> str:
        return f"LowRankMDP(H={self.horizon}, S={self.n_states}, A={self.n_actions}, d={self.rank})"

    def optimal_q(self) -> np.ndarray:
        r"""``Q*_h(s, a)`` by backward induction, shape ``(H, S, A)``:
        ``Q*_h = R_h + P_h V*_{h+1}``, ``V*_h = max_a Q*_h``, ``V*_H = 0``.

        Examples
        --------
        >>> m = random_low_rank_mdp(3, 2, rank=2, horizon=2, seed=1)
        >>> q = m.optimal_q()
        >>> q.shape, bool((q[0] >= q[1]).all())
        ((2, 3, 2), True)
        """
        return policy_q(self.P, self.R, None)

    def policy_values(self, policy: np.ndarray) -> np.ndarray:
        """``V^pi_h(s)`` of a deterministic non-stationary ``policy[h, s]``, shape ``(H + 1, S)``.

        Examples
        --------
        >>> m = random_low_rank_mdp(3, 2, rank=2, horizon=2, seed=1)
        >>> greedy = m.optimal_q().argmax(axis=2)
        >>> bool(np.allclose(m.policy_values(greedy)[0], m.optimal_q()[0].max(axis=1)))
        True
        """
        H, S = self.horizon, self.n_states
        pol = np.asarray(policy, dtype=np.int64)
        if pol.shape != (H, S) or pol.min() < 0 or pol.max() >= self.n_actions:
            raise InvalidModelError(f"policy must be an (H, S) = {(H, S)} array of actions in [0, {self.n_actions})")
        v = np.zeros((H + 1, S))
        states = np.arange(S)
        for h in range(H - 1, -1, -1):
            v[h] = self.R[h, states, pol[h]] + self.P[h, states, pol[h]] @ v[h + 1]
        return v

    def to_finite_mdp(self) -> FiniteMDP:
        r"""The same problem as a stationary :class:`~theory_rl.models.FiniteMDP` on the
        time-augmented states ``(h, s)`` (index ``h S + s``) plus one absorbing, reward-free end
        state (index ``H S``); ``gamma = 1``, ``horizon = H`` and ``d0`` on the ``h = 0`` block.
        ``V*`` of state ``(0, s)`` equals ``V*_0(s)``.

        Examples
        --------
        >>> from theory_rl.tabular import backward_induction
        >>> m = random_low_rank_mdp(3, 2, rank=2, horizon=2, seed=1)
        >>> f = m.to_finite_mdp()
        >>> f.n_states, f.horizon
        (7, 2)
        >>> v = backward_induction(f).v
        >>> bool(np.allclose(v[0, :3], m.optimal_q()[0].max(axis=1)))
        True
        """
        H, S, A = self.horizon, self.n_states, self.n_actions
        n = H * S + 1
        P = np.zeros((n, A, n))
        R = np.zeros((n, A))
        for h in range(H):
            rows = slice(h * S, (h + 1) * S)
            R[rows] = self.R[h]
            if h + 1 < H:
                P[rows, :, (h + 1) * S:(h + 2) * S] = self.P[h]
            else:
                P[rows, :, H * S] = 1.0
        P[H * S, :, H * S] = 1.0
        d0 = np.zeros(n)
        d0[:S] = self.d0
        return FiniteMDP(P=P, R=R, gamma=1.0, horizon=H, d0=d0)

    @classmethod
    def from_finite_mdp(cls, mdp: FiniteMDP, horizon: int) -> LowRankMDP:
        """The ``H``-step problem of a stationary :class:`~theory_rl.models.FiniteMDP` (rewards in
        ``[0, 1]``) in the full-rank factorisation ``d = S A``: ``phi_h(s, a) = e_{(s, a)}`` and
        ``mu_h = P`` as an ``(S A) x S`` matrix. ``d0`` defaults to uniform.

        Examples
        --------
        >>> from theory_rl.envs import random_mdp
        >>> m = LowRankMDP.from_finite_mdp(random_mdp(3, 2, seed=0), horizon=2)
        >>> m.rank
        6
        """
        H = check_int(horizon, "horizon", minimum=1)
        S, A = mdp.n_states, mdp.n_actions
        P = np.asarray(mdp.to_dense().P, dtype=float).reshape(S * A, S)
        phi = np.broadcast_to(np.eye(S * A).reshape(S, A, S * A), (H, S, A, S * A))
        d0 = np.full(S, 1.0 / S) if mdp.d0 is None else np.asarray(mdp.d0, dtype=float)
        R = np.broadcast_to(np.asarray(mdp.R, dtype=float), (H, S, A))
        return cls(phi=phi, mu=np.broadcast_to(P, (H, S * A, S)), R=R, d0=d0)


def policy_q(P: np.ndarray, R: np.ndarray, v_cap: np.ndarray | None) -> np.ndarray:
    """Backward induction on ``P[h, s, a, s']``, ``R[h, s, a]``; with ``v_cap`` (shape ``(H,)``)
    the values are clipped at ``v_cap[h]`` (the optimistic planner's ``min(H - h, .)``)."""
    H, S, A = R.shape
    q = np.empty((H, S, A))
    v_next = np.zeros(S)
    for h in range(H - 1, -1, -1):
        q[h] = R[h] + P[h] @ v_next
        if v_cap is not None:
            np.minimum(q[h], v_cap[h], out=q[h])
        v_next = q[h].max(axis=1)
    return q


def random_low_rank_mdp(
    n_states: int,
    n_actions: int,
    *,
    rank: int,
    horizon: int,
    concentration: float = 1.0,
    seed: int | np.random.Generator | None = None,
) -> LowRankMDP:
    r"""A random low-rank MDP with simplex features (a latent-variable model).

    ``phi_h(s, a) ~ Dirichlet(concentration 1_d)`` and each ``mu_h[j, :] ~ Dirichlet(concentration 1_S)``,
    so ``P_h(. | s, a) = sum_j phi_h(s, a)_j mu_h[j, :]`` is a mixture of ``d`` next-state
    distributions (rank ``d`` almost surely when ``d <= min(S A, S)``); rewards ``U[0, 1]``, ``d0`` uniform.

    Examples
    --------
    >>> m = random_low_rank_mdp(5, 3, rank=2, horizon=4, seed=0)
    >>> int(np.linalg.matrix_rank(m.P[0].reshape(15, 5)))
    2
    """
    S = check_int(n_states, "n_states", minimum=1)
    A = check_int(n_actions, "n_actions", minimum=1)
    d = check_int(rank, "rank", minimum=1)
    H = check_int(horizon, "horizon", minimum=1)
    alpha = check_real(concentration, "concentration", low=0.0, low_open=True)
    rng = rng_from_seed(seed)
    phi = rng.dirichlet(np.full(d, alpha), size=(H, S, A))
    mu = rng.dirichlet(np.full(S, alpha), size=(H, d))
    R = rng.random((H, S, A))
    return LowRankMDP(phi=phi, mu=mu, R=R, d0=np.full(S, 1.0 / S))
