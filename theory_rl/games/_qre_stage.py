r"""Logit quantal response equilibria of batched two-player zero-sum stage games by Newton's
method on the logit equations (moved here from ``theory_rl.robust``, where QARL uses it).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array, check_finite, check_int, check_real, check_tol
from ..errors import InvalidModelError, SolverError

__all__ = ["qre_stage", "newton_logits", "logit_softmax"]


def _softmax(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(softmax(x), log softmax(x))`` along the last axis (shifted by the maximum; plain NumPy,
    several times faster than ``scipy.special.log_softmax`` on the small arrays of a Newton step)."""
    z = x - x.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return np.exp(logp), logp


def qre_stage(
    Q: np.ndarray,
    alpha: float,
    beta: float,
    *,
    tol: float = 1e-11,
    max_iter: int = 200,
    init: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Logit QRE of the stage games ``max_p min_q p^T Q q + alpha H(p) - beta H(q)``, batched
    (McKelvey & Palfrey 1995, Games Econ. Behav. 10:6-38; the stage games of QARL, Reddi, Tölle,
    Peters, Chalvatzaki & D'Eramo 2024, arXiv 2311.01642).

    .. math::
        p = \sigma(Q q / \alpha), \qquad q = \sigma(-Q^\top p / \beta), \qquad
        \sigma(z)_a = e^{z_a} / \textstyle\sum_b e^{z_b}.

    Solves the logit equations in log space, ``x = Q q / alpha + c_1``,
    ``y = -Q^T p / beta + c_2`` with ``p = softmax(x)``, ``q = softmax(y)``, by Newton's method
    with backtracking on the residual (the Jacobian ``[[I, -Q J_q / alpha], [Q^T J_p / beta, I]]``,
    ``J_p = diag p - p p^T``, is non-singular: its Schur complement is ``I`` plus a product of
    two positive semi-definite matrices). Log space keeps probabilities like ``e^{-1000}``
    representable at small temperatures. The saddle point is unique (strong concavity-convexity),
    so any initialisation reaches it. Without a warm start (or where it fails) the solve follows
    the temperatures down from the payoff range by factors of 4 (continuation), which keeps
    Newton inside its region of fast convergence down to temperatures like ``1e-3``.

    Parameters
    ----------
    Q : ndarray, shape (..., A, B)
    alpha, beta : float
        Positive temperatures.
    tol : float
        Stop when the logit residuals (centred) are at most ``tol`` in sup norm.
    init : (x, y), optional
        Starting logits of shapes ``(..., A)`` and ``(..., B)`` (warm start).

    Returns
    -------
    p : ndarray, shape (..., A)
    q : ndarray, shape (..., B)
    value : ndarray, shape (...)
        ``p^T Q q + alpha H(p) - beta H(q)``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import qre_stage
    >>> p, q, v = qre_stage(np.array([[[1.0, -1.0], [-1.0, 1.0]]]), 0.1, 0.1)
    >>> p.round(6).tolist(), q.round(6).tolist()
    ([[0.5, 0.5]], [[0.5, 0.5]])
    """
    # zero temperatures are the unregularised game: matrix_game_lp
    alpha = check_real(alpha, "alpha", low=0.0, low_open=True)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    tol = check_tol(tol)
    Q = as_float_array(Q, "Q")
    if Q.ndim < 2:
        raise InvalidModelError(f"Q has shape {Q.shape}, expected (..., A, B)")
    check_finite(Q, "Q")
    max_iter = check_int(max_iter, "max_iter")
    batch = Q.shape[:-2]
    A, B = Q.shape[-2:]
    Qf = Q.reshape(-1, A, B)
    n = Qf.shape[0]
    if init is not None:
        x = np.array(init[0], dtype=float).reshape(n, A)
        y = np.array(init[1], dtype=float).reshape(n, B)
        x, y, norm = newton_logits(Qf, x, y, alpha, beta, tol, max_iter)
        bad = norm > tol
    else:
        x, y = np.zeros((n, A)), np.zeros((n, B))
        bad = np.ones(n, dtype=bool)
    if bad.any():
        # temperature continuation: solve at temperatures scaled up to the payoff range (where
        # the stage game is well conditioned), then divide them by 4 per step, rescaling the
        # logits (which scale as 1/temperature) as the warm start
        idx = np.flatnonzero(bad)
        Qb = Qf[idx]
        spread = float(np.ptp(Qb)) if Qb.size else 0.0
        scale = max(1.0, spread / min(alpha, beta))
        xb, yb = np.zeros((len(idx), A)), np.zeros((len(idx), B))
        while True:
            xb, yb, nb = newton_logits(Qb, xb, yb, alpha * scale, beta * scale, tol if scale == 1.0 else 1e-6, max_iter)
            if scale == 1.0:
                break
            new_scale = max(1.0, scale / 4.0)
            xb *= scale / new_scale
            yb *= scale / new_scale
            scale = new_scale
        x[idx], y[idx], norm_b = xb, yb, nb
        if (norm_b > max(tol, 1e-8)).any():
            raise SolverError(f"qre_stage: Newton did not reach tol={tol:g} in {max_iter} iterations "
                              f"(largest residual {norm_b.max():.3g})", status="max_iter")
    p, logp = _softmax(x)
    q, logq = _softmax(y)
    value = np.einsum("na,nab,nb->n", p, Qf, q) - alpha * (p * logp).sum(1) + beta * (q * logq).sum(1)
    return p.reshape(*batch, A), q.reshape(*batch, B), value.reshape(batch)


def newton_logits(Qf: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float, beta: float, tol: float,
                  max_iter: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Damped Newton on the centred logit equations (see :func:`qre_stage`); returns
    ``(x, y, residual norms)``."""
    A, B = Qf.shape[1:]
    x, y = x.copy(), y.copy()
    r, p, q, norm = _residual(Qf, x, y, alpha, beta)
    eye_a, eye_b = np.eye(A), np.eye(B)
    Ca = eye_a - 1.0 / A
    Cb = eye_b - 1.0 / B
    for _ in range(max_iter):
        active = norm > tol
        if not active.any():
            break
        idx = np.flatnonzero(active)
        pa, qa, Qa = p[idx], q[idx], Qf[idx]
        Jp = pa[:, :, None] * eye_a - pa[:, :, None] * pa[:, None, :]
        Jq = qa[:, :, None] * eye_b - qa[:, :, None] * qa[:, None, :]
        top = np.concatenate([np.broadcast_to(eye_a, (len(idx), A, A)), -Ca @ Qa @ Jq / alpha], axis=2)
        bot = np.concatenate([Cb @ np.swapaxes(Qa, 1, 2) @ Jp / beta, np.broadcast_to(eye_b, (len(idx), B, B))], axis=2)
        step = -np.linalg.solve(np.concatenate([top, bot], axis=1), r[idx][..., None])[..., 0]
        t = np.ones(len(idx))
        pending = np.ones(len(idx), dtype=bool)
        for _ in range(30):
            xi = x[idx] + t[:, None] * step[:, :A]
            yi = y[idx] + t[:, None] * step[:, A:]
            ni = _residual(Qf[idx], xi, yi, alpha, beta)[3]
            ok = pending & (ni <= (1.0 - 1e-4 * t) * norm[idx])
            x[idx[ok]] = xi[ok]
            y[idx[ok]] = yi[ok]
            pending &= ~ok
            if not pending.any():
                break
            t = np.where(pending, 0.5 * t, t)
        if pending.all():  # no row can decrease its residual any more: rounding floor
            break
        r, p, q, norm = _residual(Qf, x, y, alpha, beta)
    return x, y, norm


def _residual(Qf: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float, beta: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centred logit residuals of :func:`qre_stage` for a batch, with ``p``, ``q`` and the sup norm."""
    p, _ = _softmax(x)
    q, _ = _softmax(y)
    r1 = x - np.einsum("nab,nb->na", Qf, q) / alpha
    r2 = y + np.einsum("nab,na->nb", Qf, p) / beta
    r1 -= r1.mean(axis=1, keepdims=True)
    r2 -= r2.mean(axis=1, keepdims=True)
    r = np.concatenate([r1, r2], axis=1)
    return r, p, q, np.abs(r).max(axis=1)


def logit_softmax(x: np.ndarray) -> np.ndarray:
    """``softmax(x)`` along the last axis (the probabilities of :func:`_softmax`)."""
    return _softmax(x)[0]
