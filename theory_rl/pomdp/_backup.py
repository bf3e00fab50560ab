r"""Alpha-vector backups: the hot path of every point-based and exact POMDP solver.

Notation (Cassandra, Littman, Zhang 1997; Pineau, Gordon, Thrun 2003): for an alpha set
``Gamma = {alpha_k}`` the projections are

.. math::
    g^{a,o}_k(s) = \gamma \sum_{s'} T[s, a, s'] \, O[a, s', o] \, \alpha_k(s'),

i.e. ``Gamma^{a,o} = gamma * T_a diag(O_a[:, o]) alpha^T``, and the point-based backup at a belief
``b`` is

.. math::
    \operatorname{backup}(b) = \arg\max_a \; b \cdot \Big( R_a + \sum_o \arg\max_{g \in \Gamma^{a,o}} b \cdot g \Big).

:func:`point_backup` never forms the ``A * O * K`` projected vectors (that costs ``S^2 K O A``):
it pushes the beliefs forward instead, ``(b T_a) diag(O_a[:, o]) alpha^T`` scores every vector in
``O(N S^2 + N S O K)`` per action, and only the chosen action's vector is assembled. All actions
are scored in one matrix product (``alpha`` is read from memory once per block of beliefs, not
once per action), restricted to the support of the predicted beliefs (RockSample(7,8) beliefs
put mass on a few hundred of 12,545 states). Both dense and CSR ``T`` work (CSR: ``N nnz``
instead of ``N S^2``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._result import Result
from ..errors import InvalidModelError
from ..models import POMDP

__all__ = ["project", "point_backup", "BackupResult"]

#: Upper bound on the elements of one temporary score block (about 32 MiB of float64).
_BLOCK = 1 << 22


@dataclass(frozen=True, repr=False, eq=False)
class BackupResult(Result):
    """Backed-up vectors at a batch of beliefs (a frozen result; it was a NamedTuple, read by
    attribute everywhere).

    Attributes
    ----------
    alpha : ndarray, shape (N, S)
        The new vector for each belief.
    actions : ndarray of int, shape (N,)
        Its action.
    values : ndarray, shape (N,)
        ``b_n . alpha[n]``, the one-step lookahead value ``max_a Q(b_n, a)``.
    q : ndarray, shape (N, A)
        ``Q(b_n, a) = b_n . R_a + gamma sum_o P(o | b_n, a) V(tau(b_n, a, o))`` for every action.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> res = pomdp.point_backup(tiger, pomdp.blind_lower_bound(tiger).alpha, tiger.b0[None])
    >>> type(res).__name__, res.q.shape
    ('BackupResult', (1, 3))
    """

    alpha: np.ndarray
    actions: np.ndarray
    values: np.ndarray
    q: np.ndarray


def _check_alpha(model: POMDP, alpha: np.ndarray) -> np.ndarray:
    alpha = np.ascontiguousarray(alpha, dtype=np.float64)
    if alpha.ndim != 2 or alpha.shape[1] != model.n_states or alpha.shape[0] == 0:
        raise InvalidModelError(f"alpha has shape {alpha.shape}, expected (K, {model.n_states}) with K >= 1")
    return alpha


def project(model: POMDP, alpha: np.ndarray) -> np.ndarray:
    r"""All projections ``g^{a,o}_k = gamma * T_a diag(O_a[:, o]) alpha_k``.

    Returns
    -------
    ndarray, shape (A, O, K, S)
        ``G[a, o, k, s] = gamma * sum_s' T[s, a, s'] O[a, s', o] alpha[k, s']`` (no reward term;
        exact VI adds ``R[:, a]`` once per cross-sum).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> pomdp.project(tiger, np.zeros((1, 2))).shape
    (3, 2, 1, 2)
    """
    alpha = _check_alpha(model, alpha)
    K, S = alpha.shape
    A, n_obs = model.n_actions, model.n_observations
    out = np.empty((A, n_obs, K, S))
    for a, T_a in enumerate(model.transitions_by_action):
        # W[s', o*K + k] = O[a, s', o] alpha[k, s']
        W = (model.O[a][:, :, None] * alpha.T[:, None, :]).reshape(S, n_obs * K)
        out[a] = (model.gamma * np.asarray(T_a @ W)).reshape(S, n_obs, K).transpose(1, 2, 0)
    return out


def _score(model: POMDP, alpha: np.ndarray, P: np.ndarray, in_support: np.ndarray,
           q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best vector per (action, observation, belief) and the backed-up ``Q`` for a block of
    predictions ``P[s', a, n]``, on the states where some prediction is non-zero."""
    S = P.shape[0]
    K = alpha.shape[0]
    A, n_obs = model.n_actions, model.n_observations
    n = P.shape[2]
    support = np.flatnonzero(in_support)
    if support.size < 0.5 * S:
        P, O_s, alpha_s = P[support], model.O[:, support, :], alpha[:, support]
    else:
        O_s, alpha_s = model.O, alpha
    # joint[s', a, o, n] = O[a, s', o] (b_n T_a)(s')
    joint = O_s.transpose(1, 0, 2)[:, :, :, None] * P[:, :, None, :]
    scores = (alpha_s @ joint.reshape(joint.shape[0], -1)).reshape(K, A, n_obs, n)
    k = np.argmax(scores, axis=0)  # (A, O, n)
    q_new = q + model.gamma * np.take_along_axis(scores, k[None], axis=0)[0].sum(axis=1).T
    return k, q_new


def point_backup(model: POMDP, alpha: np.ndarray, beliefs: np.ndarray) -> BackupResult:
    r"""Point-based Bellman backup of the alpha set at each belief (Pineau, Gordon, Thrun 2003).

    .. math::
        \alpha_b = R_{a^*} + \sum_o g^{a^*, o}_{k^*(a^*, o)}, \quad
        k^*(a, o) = \arg\max_k \, b \cdot g^{a,o}_k, \quad a^* = \arg\max_a Q(b, a).

    Guarantee: ``b . alpha_b = (H V)(b)``, the exact Bellman backup of ``V = max_k alpha_k . b``
    at ``b``, and ``alpha_b . b' <= (H V)(b')`` at every other belief ``b'``, so that every
    vector produced is a valid lower bound when the input set is (Smith & Simmons 2004).

    Parameters
    ----------
    model : POMDP
    alpha : ndarray, shape (K, S)
    beliefs : ndarray, shape (N, S) (or (S,) for one belief)

    Returns
    -------
    BackupResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> alpha = pomdp.blind_lower_bound(tiger).alpha
    >>> res = pomdp.point_backup(tiger, alpha, np.array([[0.5, 0.5], [0.9, 0.1]]))
    >>> res.alpha.shape, res.actions
    ((2, 2), array([0, 0]))
    """
    alpha = _check_alpha(model, alpha)
    B = np.asarray(beliefs, dtype=np.float64)
    if B.ndim == 1:
        B = B[None, :]
    if B.ndim != 2 or B.shape[1] != model.n_states:
        raise InvalidModelError(f"beliefs have shape {np.shape(beliefs)}, expected (N, {model.n_states})")
    N, S = B.shape
    K = alpha.shape[0]
    A, n_obs = model.n_actions, model.n_observations
    gamma = model.gamma
    Tt = model.transpose_by_action
    q = (B @ model.R).copy()  # (N, A)
    best = np.empty((A, n_obs, N), dtype=np.intp)
    step = max(1, _BLOCK // max(1, max(K, S) * A * n_obs))
    for lo in range(0, N, step):
        hi = min(N, lo + step)
        # pred[s', a, n] = (b_n T_a)(s') for every action at once, so alpha is read once per block
        pred = np.stack([np.asarray(Tt[a] @ B[lo:hi].T) for a in range(A)], axis=1)  # (S', A, n)
        nz = pred.any(axis=1)  # (S', n): support of each belief's predictions
        union = nz.any(axis=1)
        if hi - lo > 1 and int(union.sum()) * (hi - lo) > 4 * int(nz.sum()):
            # supports barely overlap: the union would multiply the work, score one by one
            for i in range(hi - lo):
                j = lo + i
                best[:, :, j:j + 1], q[j:j + 1] = _score(model, alpha, pred[:, :, i:i + 1], nz[:, i], q[j:j + 1])
        else:
            best[:, :, lo:hi], q[lo:hi] = _score(model, alpha, pred, union, q[lo:hi])
    act = np.argmax(q, axis=1)
    values = q[np.arange(N), act]

    new = np.empty((N, S))
    T_by = model.transitions_by_action
    for a in np.unique(act):
        idx = np.flatnonzero(act == a)
        Oa = model.O[a]
        U = np.zeros((S, idx.size))  # U[s', n] = sum_o O[a, s', o] alpha[k*(a, o, n), s']
        for o in range(n_obs):
            U += Oa[:, o][:, None] * alpha[best[a, o, idx]].T
        new[idx] = model.R[:, a][None, :] + gamma * np.asarray(T_by[a] @ U).T
    return BackupResult(alpha=new, actions=act.astype(np.int64), values=values, q=q, method="point_backup")
