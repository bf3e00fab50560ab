r"""Spectral learning of a finite-horizon PSR from sampled trajectories.

Method: the transformed-PSR (TPSR) estimator of Boots, Siddiqi, Gordon (2011, "Closing the
learning-planning loop with predictive state representations", IJRR; arXiv 0912.2385), Algorithm 1
with indicator features of histories and tests, written for a finite horizon with one set of
operators per step (the time-indexed form of the PSR in :mod:`._psr`). Actions are handled by
importance weighting with the known exploration policy (Bowling et al. 2006; Boots et al. 2011,
section 4), so that the estimated quantities are the *interventional* probabilities
``P(o_{1:H} | do a_{1:H})``.

With ``P_h[q, tau] = P(tau_h, q)`` (tests ``q`` = all futures of length ``H - h``, histories
``tau`` of length ``h``) and ``P_{h,ao}[q, tau] = P(tau_{h-1}, a, o, q)``:

.. math::
    U_h = \text{top-}d_h \text{ left singular vectors of } \hat P_h, \qquad
    b_0 = U_0^\top \hat P_0, \qquad
    B_h(a, o) = U_h^\top \hat P_{h,ao} \, (U_{h-1}^\top \hat P_{h-1})^+ ,

``U_H = [1]`` (the empty test) and ``phi_h = U_h^T e_h`` where ``e_h`` sums the tests of one fixed
action sequence (so ``phi_h^T b_h = P(tau_h)``). With exact probabilities and ``d_h >= rank(P_h)``
this reproduces the true trajectory probabilities (tested to 1e-10); from ``n`` sampled
trajectories every entry of ``\hat P`` has error ``O(n^{-1/2})`` and so do the learned
probabilities (first-order perturbation of the SVD; measured in ``bench/psr.py``).

Cost: the estimator works on the full table of ``(A O)^H`` trajectories, so it is meant for
small ``A O`` and ``H`` (the regime of the consistency experiment, not large-scale learning).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._validation import as_float_array, check_finite, check_int, check_real, rng_from_seed
from ..errors import InvalidModelError
from ..models import POMDP
from ._psr import PSR

__all__ = ["sample_trajectories", "empirical_trajectory_table", "spectral_psr"]


def _policy_table(policy: Any, horizon: int, n_actions: int) -> np.ndarray:
    """Open-loop exploration policy as an ``(H, A)`` table of action probabilities."""
    if policy is None:
        return np.full((horizon, n_actions), 1.0 / n_actions)
    pi = as_float_array(policy, "policy", ndim=(1, 2))
    check_finite(pi, "policy")
    if pi.ndim == 1:
        pi = np.broadcast_to(pi, (horizon, pi.shape[0]))
    if pi.shape != (horizon, n_actions):
        raise InvalidModelError(f"policy has shape {pi.shape}, expected ({n_actions},) or ({horizon}, {n_actions})")
    if pi.min() <= 0:
        idx = tuple(int(i) for i in np.argwhere(pi <= 0)[0])
        raise InvalidModelError(
            f"policy{list(idx)} = {pi[idx]:.3g}: every action needs positive probability (importance weights)"
        )
    sums = pi.sum(axis=1)
    if np.abs(sums - 1).max() > 1e-8:
        h = int(np.argmax(np.abs(sums - 1)))
        raise InvalidModelError(f"policy[{h}, :] sums to {sums[h]:.10g} (expected 1)")
    return np.ascontiguousarray(pi)


@renamed_arguments(n="n_episodes", positional=("n_episodes", "horizon"))
def sample_trajectories(
    model: POMDP, *, n_episodes: int, horizon: int, policy: Any = None, seed: int | np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``n_episodes`` independent episodes of ``horizon`` steps from ``b0`` under an open-loop
    (blind) exploration policy.

    Parameters
    ----------
    model : POMDP
    n_episodes, horizon : int
        ``>= 0``. Keyword-only; ``n_episodes`` was the positional ``n`` before 0.2.0 (the old
        name and positional use still work until 0.3.0, with a ``DeprecationWarning``).
    policy : array_like of shape (A,) or (H, A), optional
        ``policy[h, a]`` = probability of action ``a`` at step ``h + 1`` (uniform when omitted);
        every entry must be positive.
    seed : int or Generator

    Returns
    -------
    actions, observations : ndarray of int, shape (n_episodes, H)

    Notes
    -----
    Vectorised over episodes (inverse-CDF sampling); ``T`` is densified, so models up to a few
    thousand states.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> actions, observations = pomdp.sample_trajectories(tiger, n_episodes=5, horizon=3, seed=0)
    >>> actions.shape, observations.shape
    ((5, 3), (5, 3))
    """
    n = check_int(n_episodes, "n_episodes", minimum=0)
    horizon = check_int(horizon, "horizon", minimum=0)
    rng = rng_from_seed(seed)
    A = model.n_actions
    pi = _policy_table(policy, horizon, A)
    T_cum = np.cumsum(model.transition_dense(), axis=2)  # (S, A, S)
    O_cum = np.cumsum(model.O, axis=2)  # (A, S, O)
    pi_cum = np.cumsum(pi, axis=1)
    b_cum = np.cumsum(model.b0)
    actions = np.empty((n, horizon), dtype=np.intp)
    observations = np.empty((n, horizon), dtype=np.intp)

    def draw(cum: np.ndarray) -> np.ndarray:
        u = rng.random(cum.shape[0])[:, None]
        return np.minimum((u >= cum).sum(axis=1), cum.shape[1] - 1)

    s = draw(np.broadcast_to(b_cum, (n, b_cum.shape[0])))
    for t in range(horizon):
        a = draw(np.broadcast_to(pi_cum[t], (n, A)))
        s = draw(T_cum[s, a])
        observations[:, t] = draw(O_cum[a, s])
        actions[:, t] = a
    return actions, observations


def empirical_trajectory_table(
    actions: Any, observations: Any, *, n_actions: int, n_observations: int, policy: Any = None
) -> np.ndarray:
    r"""Importance-weighted estimate of ``P(o_{1:H} | do a_{1:H})`` for every trajectory.

    .. math:: \hat P(\tau_H) = \frac1n \sum_{i=1}^n \frac{\mathbb 1[\tau^i = \tau_H]}{\prod_h \pi_h(a^i_h)}

    (unbiased for any open-loop policy with full support). Returned flat, in the order of
    :func:`~theory_rl.pomdp.enumerate_trajectories` (reshapes to ``(A, O) * H``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> acts, obs = pomdp.sample_trajectories(tiger, n_episodes=20000, horizon=2, seed=0)
    >>> est = pomdp.empirical_trajectory_table(acts, obs, n_actions=3, n_observations=2)
    >>> exact = pomdp.trajectory_probability(tiger, *pomdp.enumerate_trajectories(3, 2, 2))
    >>> bool(np.abs(est - exact).max() < 0.05)
    True
    """
    a = np.asarray(actions)
    o = np.asarray(observations)
    if a.ndim != 2 or a.shape != o.shape:
        raise InvalidModelError(f"actions and observations must both have shape (n, H); got {a.shape}, {o.shape}")
    n, H = a.shape
    if n == 0:
        raise InvalidModelError("no trajectories")
    for name, arr, bound in (("actions", a, n_actions), ("observations", o, n_observations)):
        if not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= bound:
            raise InvalidModelError(f"{name} must be integers in [0, {bound})")
    pi = _policy_table(policy, H, n_actions)
    weights = 1.0 / np.prod(pi[np.arange(H), a], axis=1)
    AO = n_actions * n_observations
    code = np.zeros(n, dtype=np.int64)
    for t in range(H):
        code = code * AO + a[:, t] * n_observations + o[:, t]
    return np.bincount(code, weights=weights, minlength=AO**H) / n


def spectral_psr(
    table: Any, *, n_actions: int, n_observations: int, rank: int, rcond: float = 1e-10
) -> PSR:
    r"""Learn a transformed PSR from a table of trajectory probabilities (module docstring):
    the TPSR estimator of Boots, Siddiqi, Gordon, "Closing the learning-planning loop with
    predictive state representations", IJRR 2011, arXiv 0912.2385.

    Parameters
    ----------
    table : array_like, shape ((A O)^H,)
        ``P(o_{1:H} | do a_{1:H})`` for every trajectory, exact or estimated
        (:func:`empirical_trajectory_table`).
    n_actions, n_observations : int
    rank : int
        Upper bound ``d`` on the PSR dimension (for a POMDP, ``S`` suffices); each step keeps
        ``min(rank, numerical rank of P_h at rcond)`` singular directions.
    rcond : float
        Relative cut-off for singular values (numerical rank and pseudo-inverses).

    Returns
    -------
    PSR
        With ``core_tests = None`` (a transformed PSR: coordinates are not test probabilities).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> acts, obs = pomdp.enumerate_trajectories(3, 2, 2)
    >>> table = pomdp.trajectory_probability(tiger, acts, obs)
    >>> learned = pomdp.spectral_psr(table, n_actions=3, n_observations=2, rank=2)
    >>> bool(np.allclose(learned.trajectory_probability(acts, obs), table))
    True
    """
    A, O = int(n_actions), int(n_observations)  # noqa: E741
    AO = A * O
    p = as_float_array(table, "table", ndim=1)
    check_finite(p, "table")
    H = round(np.log(p.shape[0]) / np.log(AO)) if AO > 1 else 0
    if AO < 1 or AO**H != p.shape[0]:
        raise InvalidModelError(f"table has {p.shape[0]} entries, which is not (A*O)^H for A*O = {AO}")
    rcond = check_real(rcond, "rcond", low=0.0)
    rank = check_int(rank, "rank", minimum=1)

    def P(h: int) -> np.ndarray:
        """``P_h[q, tau]``: tests (length H-h) by histories (length h)."""
        return p.reshape(AO**h, AO ** (H - h)).T

    U: list[np.ndarray] = []
    for h in range(H + 1):
        if h == H:
            U.append(np.ones((1, 1)))
            continue
        u, s, _ = np.linalg.svd(P(h), full_matrices=False)
        keep = int(min(rank, (s > rcond * max(s[0], 1e-300)).sum())) if s.size else 0
        U.append(u[:, : max(keep, 1)])
    psi0 = U[0].T @ P(0)[:, 0]
    ops = []
    for h in range(1, H + 1):
        denom = np.linalg.pinv(U[h - 1].T @ P(h - 1), rcond=rcond)  # (H_{h-1}, d_{h-1})
        # P_{h,ao}[q, tau] = P(tau_{h-1}, a, o, q): rows tau (AO^{h-1}), then (a, o), then q
        joint = p.reshape(AO ** (h - 1), A, O, AO ** (H - h))
        ops.append(np.einsum("qd,taoq,tk->aodk", U[h], joint, denom))
    phis = []
    for h in range(H + 1):
        if h == H:
            phis.append(np.ones(1))
            continue
        # tests of length H-h whose actions are all 0, summed over their observations
        e = np.zeros((A, O) * (H - h))
        e[(0, slice(None)) * (H - h)] = 1.0
        phis.append(U[h].T @ e.ravel())
    return PSR(psi0, tuple(ops), tuple(phis), None)
