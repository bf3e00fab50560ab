r"""Discounted occupancy measures of a finite MDP, in both scalings.

Two scalings are in use in the literature, and every function here names the one it returns:

- unnormalised ``rho_pi(s, a) = sum_t gamma^t Pr(s_t = s, a_t = a)``, summing to ``1/(1-gamma)``
  (Altman 1999, the constrained-MDP LP);
- normalised ``d_pi = (1 - gamma) rho_pi``, summing to 1 (Dual RL, the DICE family).

Closed form: the state occupancy is ``rho_pi^S = d0^T (I - gamma P_pi)^{-1}`` and
``rho_pi(s, a) = rho_pi^S(s) pi(a|s)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._validation import as_float_array, check_bool, check_finite
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ..tabular import BellmanOperator, as_policy, effective_rewards, solve_policy_system

__all__ = ["flow_matrix", "flow_residual", "occupancy", "policy_from_occupancy", "scale_of"]


def scale_of(mdp: FiniteMDP, normalized: bool) -> float:
    """Mass of the initial distribution in the flow constraints: ``1 - gamma`` (normalised ``d``)
    or ``1`` (unnormalised ``rho``)."""
    return 1.0 - mdp.gamma if check_bool(normalized, "normalized") else 1.0


def flow_matrix(mdp: FiniteMDP) -> sp.csr_matrix:
    r"""The flow operator ``M`` of shape ``(S, S*A)``, column ``s*A + a``:

    .. math:: (M x)(s') = \sum_a x(s', a) - \gamma \sum_{s, a} P(s' \mid s, a)\, x(s, a),

    so that an occupancy satisfies ``M rho = d0`` (unnormalised) or ``M d = (1-gamma) d0``.
    """
    op = BellmanOperator(mdp)
    S, A = op.S, op.A
    E = sp.csr_matrix((np.ones(S * A), (np.arange(S * A) // A, np.arange(S * A))), shape=(S, S * A))
    return (E - op.gamma * sp.csr_matrix(op.P2).T).tocsr()


def occupancy(mdp: FiniteMDP, policy: np.ndarray, *, normalized: bool = True) -> np.ndarray:
    r"""Discounted occupancy measure of a stationary policy, in closed form.

    .. math::
        \rho_\pi^S = d_0^\top (I - \gamma P_\pi)^{-1}, \qquad \rho_\pi(s,a) = \rho_\pi^S(s)\,\pi(a|s),
        \qquad d_\pi = (1-\gamma)\,\rho_\pi .

    Parameters
    ----------
    mdp : FiniteMDP
        Discounted model (``gamma < 1``); ``mdp.d0`` is the start distribution.
    policy : ndarray, shape (S,) of action indices or (S, A) of probabilities
    normalized : bool
        ``True`` returns ``d_pi`` (sums to 1); ``False`` returns ``rho_pi`` (sums to ``1/(1-gamma)``).

    Returns
    -------
    ndarray, shape (S, A)

    Examples
    --------
    >>> from theory_rl import dual, envs, tabular
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> d = dual.occupancy(mdp, [[0.5, 0.5]] * 3)
    >>> d.shape, round(float(d.sum()), 9)
    ((3, 2), 1.0)
    """
    op = BellmanOperator(mdp)
    pi = as_policy(mdp, policy)
    P_pi, _ = op.policy_chain(pi)
    P_T = P_pi.T.tocsr() if sp.issparse(P_pi) else np.asarray(P_pi).T
    state = solve_policy_system(P_T, np.asarray(mdp.d0, dtype=float), mdp.gamma)
    probs = pi if pi.ndim == 2 else np.eye(op.A)[pi]
    rho = np.maximum(state, 0.0)[:, None] * probs
    return rho * scale_of(mdp, normalized)


def _checked_occupancy(mdp: FiniteMDP, occupancy_measure: np.ndarray) -> np.ndarray:
    """``occupancy_measure`` as a finite float array of shape ``(S, A)``, else :class:`InvalidModelError`."""
    S, A = mdp.n_states, mdp.n_actions
    x = as_float_array(occupancy_measure, "occupancy", ndim=2)
    if x.shape != (S, A):
        raise InvalidModelError(f"occupancy has shape {x.shape}, expected ({S}, {A})")
    check_finite(x, "occupancy")
    return x


def flow_residual(mdp: FiniteMDP, occupancy_measure: np.ndarray, *, normalized: bool) -> np.ndarray:
    r"""Residual of the flow (Bellman-flow) constraints, shape ``(S,)``:

    .. math:: \sum_a x(s,a) - \gamma \sum_{s',a'} P(s|s',a')\, x(s',a') - c\, d_0(s),

    with ``c = 1 - gamma`` for a normalised ``d`` and ``c = 1`` for an unnormalised ``rho``. It is
    zero exactly when ``x`` is the occupancy of some stationary policy (and ``x >= 0``).

    Examples
    --------
    >>> from theory_rl import dual, envs, tabular
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> sol = dual.primal_lp(mdp)
    >>> bool(abs(dual.flow_residual(mdp, sol.occupancy, normalized=True)).max() < 1e-8)
    True
    """
    x = _checked_occupancy(mdp, occupancy_measure)
    return flow_matrix(mdp) @ x.ravel() - scale_of(mdp, normalized) * np.asarray(mdp.d0)


def policy_from_occupancy(mdp: FiniteMDP, occupancy_measure: np.ndarray, *, fallback: np.ndarray | None = None) -> np.ndarray:
    r"""``pi(a|s) = x(s,a) / sum_a x(s,a)`` (either scaling), shape ``(S, A)``.

    Where ``sum_a x(s, a) = 0`` the state is never visited and any policy is optimal there; the
    row of ``fallback`` (shape ``(S, A)``) is used, or the uniform distribution over available
    actions when no fallback is given.

    Examples
    --------
    >>> from theory_rl import dual, envs, tabular
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> sol = dual.primal_lp(mdp)
    >>> dual.policy_from_occupancy(mdp, sol.occupancy).argmax(axis=1).tolist() == tabular.policy_iteration(mdp).policy.tolist()
    True
    """
    x = _checked_occupancy(mdp, occupancy_measure)
    x = np.maximum(x, 0.0)
    mass = x.sum(axis=1, keepdims=True)
    if fallback is None:
        avail = np.isfinite(effective_rewards(mdp)).reshape(x.shape).astype(float)
        fallback = avail / avail.sum(axis=1, keepdims=True)
    out = np.where(mass > 0, x / np.where(mass > 0, mass, 1.0), fallback)
    return out
