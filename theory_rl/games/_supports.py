"""Many small zero-sum games solved on guessed supports (the equalising equations), verified
by weak duality; what fails the check goes back to the LP."""

from __future__ import annotations

import numpy as np

from ._common import UNIT_ROUNDOFF

__all__ = ["solve_on_supports", "supports_of"]


def supports_of(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean supports ``(S, A)`` and ``(S, B)`` of the strategies (relative threshold 1e-12)."""
    return p > 1e-12 * p.max(axis=1, keepdims=True), q > 1e-12 * q.max(axis=1, keepdims=True)


def solve_on_supports(
    Q: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""For each stage game ``Q[s]`` whose guessed supports ``I_s``, ``J_s`` have equal size ``k``,
    solve the equalising equations (Shapley & Snow 1950)

    .. math::
        Q[s]_{I J}\, q_J = v \mathbf 1, \quad p_I^\top Q[s]_{I J} = v \mathbf 1^\top, \quad
        \mathbf 1^\top p_I = \mathbf 1^\top q_J = 1,

    batched over the states with the same ``k``, and accept the state when ``p, q >= 0`` and the
    weak-duality gap ``max_a (Q q)_a - min_b (p^T Q)_b`` is at rounding level (then ``(p, q)`` is an
    equilibrium of ``Q[s]``, whatever the guess was). Returns ``p (S, A)``, ``q (S, B)`` (zero rows
    where not accepted) and the boolean ``accepted (S,)``.
    """
    S, A, B = Q.shape
    p = np.zeros((S, A))
    q = np.zeros((S, B))
    accepted = np.zeros(S, dtype=bool)
    k_rows, k_cols = rows.sum(axis=1), cols.sum(axis=1)
    for k in np.unique(k_rows[(k_rows == k_cols) & (k_rows > 0)]):
        G = np.flatnonzero((k_rows == k) & (k_cols == k))
        ri = np.argsort(~rows[G], axis=1, kind="stable")[:, :k]  # (g, k) indices of the support
        ci = np.argsort(~cols[G], axis=1, kind="stable")[:, :k]
        sub = np.take_along_axis(np.take_along_axis(Q[G], ri[:, :, None], axis=1), ci[:, None, :], axis=2)
        rhs = np.zeros((len(G), k + 1, 1))
        rhs[:, k] = 1.0
        sol = []
        for M in (sub, sub.transpose(0, 2, 1)):  # (q, v) from Q_IJ q = v 1, then (p, v) from Q_IJ^T p = v 1
            K = np.zeros((len(G), k + 1, k + 1))
            K[:, :k, :k] = M
            K[:, :k, k] = -1.0
            K[:, k, :k] = 1.0
            ok = np.abs(np.linalg.det(K)) > 1e-12 * np.maximum(np.abs(M).reshape(len(G), -1).max(axis=1), 1.0) ** k
            K[~ok] = np.eye(k + 1)
            sol.append((np.linalg.solve(K, rhs)[:, :k, 0], ok))
        (qs, ok_q), (ps, ok_p) = sol
        good = ok_q & ok_p & (ps.min(axis=1) >= 0) & (qs.min(axis=1) >= 0)
        pg = np.zeros((len(G), A))
        qg = np.zeros((len(G), B))
        np.put_along_axis(pg, ri, np.clip(ps, 0.0, None), axis=1)
        np.put_along_axis(qg, ci, np.clip(qs, 0.0, None), axis=1)
        pg /= np.maximum(pg.sum(axis=1, keepdims=True), 1e-300)
        qg /= np.maximum(qg.sum(axis=1, keepdims=True), 1e-300)
        Qg = Q[G]
        low = np.einsum("ga,gab->gb", pg, Qg).min(axis=1)
        up = np.einsum("gab,gb->ga", Qg, qg).max(axis=1)
        scale = np.abs(Qg).reshape(len(G), -1).max(axis=1)
        good &= up - low <= 64.0 * (A + B) * UNIT_ROUNDOFF * np.maximum(scale, 1e-300)
        p[G[good]], q[G[good]] = pg[good], qg[good]
        accepted[G[good]] = True
    return p, q, accepted
