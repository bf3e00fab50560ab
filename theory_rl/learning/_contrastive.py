r"""Contrastive (binary noise-contrastive) estimation of a low-rank transition kernel.

Qiu, Wang, Bai, Yang & Wang 2022, "Contrastive UCB: Provably efficient contrastive self-supervised
learning in online reinforcement learning", arXiv:2207.14800 (the contrastive loss of their
Section 3), after Gutmann & Hyvarinen 2010 (noise-contrastive estimation). Positives are observed
transitions ``(s, a, s')``, ``s' ~ P(. | s, a)``; negatives pair the same ``(s, a)`` with
``s~ ~ P^-``, a known noise distribution with full support. A score ``f(s, a, s') > 0`` is fit by
the logistic loss of telling them apart,

.. math::
    L(f) = -\sum_{\text{pos}} \log\frac{f(s,a,s')}{1 + f(s,a,s')}
           - \sum_{\text{neg}} \log\frac{1}{1 + f(s,a,\tilde s)},

whose population minimiser with ``k`` negatives per positive is ``f* = P(s'|s,a) / (k P^-(s'))``.
So ``P^-(s') f(s, a, s')``, renormalised over ``s'``, estimates ``P``; and with the bilinear score
``f = phi(s, a)^T psi(s')`` the span of ``phi`` estimates the span of the true features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from .._iterative import Timer
from .._result import Result
from .._validation import check_choice, check_distribution, check_int, check_optional_int, rng_from_seed
from ..errors import InvalidArgumentError, InvalidModelError

__all__ = ["ContrastiveResult", "contrastive_counts", "contrastive_fit", "feature_span_angles"]

_EPS = 1e-12


@dataclass(frozen=True, repr=False, eq=False)
class ContrastiveResult(Result):
    r"""What :func:`contrastive_fit` returns.

    Attributes
    ----------
    score : ndarray, shape (S, A, S)
        The fitted ``f(s, a, s')`` (``inf`` where the tabular minimiser is unbounded).
    phi : ndarray, shape (S, A, d)
        Learned features, rescaled to the simplex: ``P_hat(s' | s, a) = phi[s, a] @ mu[:, s']``.
    mu : ndarray, shape (d, S)
        Learned next-state factors, each row a distribution.
    P : ndarray, shape (S, A, S)
        The renormalised model estimate (``P^-`` on pairs without data).
    loss : float
        ``L(f)`` divided by the number of positives.
    n_iter : int
        L-BFGS-B iterations (0 for the closed form).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import learning
    >>> pos, neg = learning.contrastive_counts(np.array([[0, 0, 1], [1, 0, 1]]), np.array([[0, 0, 0], [1, 0, 0]]), 2, 1)
    >>> fit = learning.contrastive_fit(pos, neg, np.array([0.5, 0.5]), parameterisation="tabular")
    >>> type(fit).__name__, fit.P.shape
    ('ContrastiveResult', (2, 1, 2))
    """

    score: np.ndarray
    phi: np.ndarray
    mu: np.ndarray
    P: np.ndarray
    loss: float
    n_iter: int

    _repr_fields = ("method", "loss", "n_iter", "elapsed")


def contrastive_counts(
    positives: np.ndarray, negatives: np.ndarray, n_states: int, n_actions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Count tables ``(n_pos, n_neg)``, each ``(S, A, S)``, of ``(s, a, s')`` triples (rows of
    integer arrays of shape ``(n, 3)``), validated against ``S`` and ``A``.

    Examples
    --------
    >>> pos, neg = contrastive_counts(np.array([[0, 1, 1]]), np.array([[0, 1, 0], [0, 1, 1]]), 2, 2)
    >>> int(pos[0, 1, 1]), int(neg[0, 1].sum())
    (1, 2)
    """
    out = []
    for name, data in (("positives", positives), ("negatives", negatives)):
        arr = np.asarray(data)
        if arr.ndim != 2 or arr.shape[1] != 3 or not np.issubdtype(arr.dtype, np.integer):
            raise InvalidModelError(f"{name} must be an integer array of (s, a, s') rows, shape (n, 3); got {arr.dtype} {arr.shape}")
        bad = np.argwhere((arr < 0) | (arr >= np.array([n_states, n_actions, n_states])))
        if bad.size:
            i, j = (int(x) for x in bad[0])
            raise InvalidModelError(f"{name}[{i}, {j}] = {arr[i, j]} is out of range for S = {n_states}, A = {n_actions}")
        out.append(np.bincount(np.ravel_multi_index(arr.T, (n_states, n_actions, n_states)),
                               minlength=n_states * n_actions * n_states).reshape(n_states, n_actions, n_states).astype(float))
    return out[0], out[1]


def _nce_loss(f: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    return float(np.sum(pos * np.log1p(1.0 / np.maximum(f, _EPS))) + np.sum(neg * np.log1p(f)))


def _normalised(phi: np.ndarray, psi: np.ndarray, noise: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(phi, mu)`` with ``mu`` rows distributions and ``phi`` rows on the simplex, such that
    ``phi @ mu`` is the row-normalised ``P^- * (phi psi^T)``; unseen rows get ``P^-``."""
    mu = psi.T * noise[None, :]
    z = mu.sum(axis=1)
    keep = z > _EPS
    mu = np.where(keep[:, None], mu / np.where(keep, z, 1.0)[:, None], noise[None, :])
    phi = phi * np.where(keep, z, 0.0)[None, :]
    rows = phi.sum(axis=1)
    ok = seen & (rows > _EPS)
    phi = np.where(ok[:, None], phi / np.where(ok, rows, 1.0)[:, None], 1.0 / phi.shape[1])
    if not ok.all():  # pairs without data: the noise distribution itself
        mu = np.vstack([mu, noise[None, :]])
        phi = np.hstack([phi, np.zeros((phi.shape[0], 1))])
        phi[~ok] = 0.0
        phi[~ok, -1] = 1.0
    return phi, mu


def check_counts(n_pos: np.ndarray, n_neg: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(n_pos, n_neg, noise)``: two non-negative ``(S, A, S)`` count tables and a
    full-support ``P^-`` over ``S`` states."""
    pos = np.asarray(n_pos, dtype=float)
    neg = np.asarray(n_neg, dtype=float)
    if pos.ndim != 3 or pos.shape != neg.shape or pos.shape[0] != pos.shape[2]:
        raise InvalidModelError(f"n_pos and n_neg must both have shape (S, A, S); got {pos.shape} and {neg.shape}")
    if (pos < 0).any() or (neg < 0).any():
        raise InvalidModelError("n_pos and n_neg must be non-negative counts")
    noise = check_distribution(noise, "noise", pos.shape[0])
    if (noise <= 0).any():
        raise InvalidModelError(f"noise[{int(np.argmin(noise))}] = 0: P^- needs full support")
    return pos, neg, noise


def nce_loss_value(F: np.ndarray, G: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """The bilinear loss ``L(F G^T)`` on ``(S A, S)`` count matrices (the objective L-BFGS-B minimises)."""
    f = F @ G.T
    fe = f + _EPS
    return float(np.sum(pos * (np.log1p(fe) - np.log(fe))) + np.sum(neg * np.log1p(f)))


def bilinear_result(F: np.ndarray, G: np.ndarray, pos: np.ndarray, neg: np.ndarray, noise: np.ndarray,
                    n_iter: int, method: str, params: dict, elapsed: float) -> ContrastiveResult:
    """The :class:`ContrastiveResult` of a bilinear score ``f = F G^T`` (``F`` ``(S A, d)``, ``G`` ``(S, d)``)."""
    S, A, _ = pos.shape
    seen = (pos.sum(axis=2) + neg.sum(axis=2)).reshape(S * A) > 0
    P2, N2 = pos.reshape(S * A, S), neg.reshape(S * A, S)
    phi, mu = _normalised(F, G, noise, seen)
    n = max(float(pos.sum()), 1.0)
    return ContrastiveResult(score=(F @ G.T).reshape(S, A, S), phi=phi.reshape(S, A, -1), mu=mu,
                             P=(phi @ mu).reshape(S, A, S), loss=nce_loss_value(F, G, P2, N2) / n, n_iter=n_iter,
                             method=method, params=params, elapsed=elapsed)


def contrastive_fit(
    n_pos: np.ndarray,
    n_neg: np.ndarray,
    noise: np.ndarray,
    *,
    parameterisation: str = "bilinear",
    rank: int | None = None,
    max_iter: int | None = 500,
    init: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int | np.random.Generator | None = None,
) -> ContrastiveResult:
    r"""Minimise the binary NCE loss over a tabular or a rank-``d`` bilinear score.

    With count tables ``n_pos[s, a, s']`` (positives) and ``n_neg[s, a, s']`` (negatives drawn
    from ``noise = P^-``), the loss of Qiu et al. (2022, arXiv:2207.14800, Section 3; their
    ``f`` is our score) is, cell by cell,

    .. math::
        L(f) = \sum_{s,a,s'} n^+(s,a,s') \log\big(1 + 1/f(s,a,s')\big) + n^-(s,a,s') \log\big(1 + f(s,a,s')\big).

    - ``parameterisation="tabular"``: one free ``f`` per cell; the minimiser is closed form,
      ``f = n^+ / n^-`` (``inf`` where ``n^- = 0 < n^+``, where the empirical loss has no
      minimiser; those cells then count with ``n^- = 1/2``, our choice, in the model estimate).
      As the data grow it converges to ``P / (k P^-)`` and the model estimate to ``P`` at the rate
      ``n^{-1/2}`` (measured in the tests).
    - ``parameterisation="bilinear"``: ``f(s, a, s') = phi(s, a)^T psi(s')`` with ``phi, psi >= 0``
      of width ``rank`` (non-negativity keeps ``f`` positive; it holds for the true factors
      ``phi*``, ``mu* / P^-`` of a latent-variable model), fit by L-BFGS-B from a seeded random
      start (or ``init = (phi (S A, d), psi (S, d))``). The problem is non-convex: a local minimum.

    The model estimate is ``P_hat(s' | s, a) ∝ P^-(s') f(s, a, s')``; the factors are rescaled so
    that ``P_hat = phi @ mu`` with simplex ``phi`` rows and distribution ``mu`` rows.

    Implemented: the MLE-free contrastive loss and its model estimate for a finite state space.
    Not implemented: the paper's general function classes and neural scores.

    Parameters
    ----------
    n_pos, n_neg : ndarray, shape (S, A, S)
        Counts (see :func:`contrastive_counts`).
    noise : ndarray, shape (S,)
        ``P^-``, with full support.
    parameterisation : {"bilinear", "tabular"}
    rank : int, optional
        ``d`` (bilinear only; required there).
    max_iter : int, optional
        L-BFGS-B iteration cap.
    init : tuple of ndarray, optional
        Warm start ``(phi, psi)``.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    ContrastiveResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> P = np.array([[[0.9, 0.1]], [[0.2, 0.8]]])            # S = 2, A = 1
    >>> s = rng.integers(0, 2, 4000); nxt = (rng.random(4000) < P[s, 0, 1]).astype(int)
    >>> pos = np.stack([s, 0 * s, nxt], axis=1); neg = np.stack([s, 0 * s, rng.integers(0, 2, 4000)], axis=1)
    >>> n_pos, n_neg = contrastive_counts(pos, neg, 2, 1)
    >>> fit = contrastive_fit(n_pos, n_neg, np.array([0.5, 0.5]), parameterisation="tabular")
    >>> np.round(fit.P[:, 0], 1)
    array([[0.9, 0.1],
           [0.2, 0.8]])
    """
    pos, neg, noise = check_counts(n_pos, n_neg, noise)
    S, A, _ = pos.shape
    check_choice(parameterisation, "parameterisation", ("bilinear", "tabular"))
    max_iter = check_optional_int(max_iter, "max_iter", minimum=1)
    rng = rng_from_seed(seed)
    params = {"parameterisation": parameterisation, "rank": rank, "max_iter": max_iter}
    if parameterisation == "bilinear":
        if rank is None:
            raise InvalidArgumentError("rank is required for the bilinear parameterisation")
        d = check_int(rank, "rank", minimum=1)
        if init is None:
            x0 = np.concatenate([rng.random(S * A * d), rng.random(S * d) / noise.repeat(d) / S])
        else:
            a0, b0 = (np.asarray(x, dtype=float) for x in init)
            if a0.shape != (S * A, d) or b0.shape != (S, d):
                raise InvalidArgumentError(f"init must be (phi (S A, d), psi (S, d)) = ({(S * A, d)}, {(S, d)})")
            x0 = np.concatenate([a0.ravel(), b0.ravel()])
        P2, N2 = pos.reshape(S * A, S), neg.reshape(S * A, S)

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            F, G = x[: S * A * d].reshape(S * A, d), x[S * A * d:].reshape(S, d)
            f = F @ G.T
            g = -P2 / (f + _EPS) + (P2 + N2) / (1.0 + f)
            return nce_loss_value(F, G, P2, N2), np.concatenate([(g @ G).ravel(), (g.T @ F).ravel()])

        with Timer() as timer:
            opt = scipy.optimize.minimize(objective, x0, jac=True, method="L-BFGS-B",
                                          bounds=[(0.0, None)] * x0.size, options={"maxiter": max_iter or 15000})
        F, G = opt.x[: S * A * d].reshape(S * A, d), opt.x[S * A * d:].reshape(S, d)
        return bilinear_result(F, G, pos, neg, noise, int(opt.nit), "contrastive_fit", params, timer.elapsed)
    if rank is not None:
        raise InvalidArgumentError("rank applies to the bilinear parameterisation only (tabular has d = S A)")
    seen = (pos.sum(axis=2) + neg.sum(axis=2)).reshape(S * A) > 0
    with Timer() as timer:
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(pos > 0, pos / neg, 0.0)
            model_score = np.where(pos > 0, pos / np.where(neg > 0, neg, 0.5), 0.0)
        psi = model_score.reshape(S * A, S).T.copy()
        loss = _nce_loss(np.where(np.isinf(score), 1e300, score), pos, neg)
        phi, mu = _normalised(np.eye(S * A), psi, noise, seen & (model_score.reshape(S * A, S).sum(axis=1) > 0))
    n = max(float(pos.sum()), 1.0)
    return ContrastiveResult(score=score, phi=phi.reshape(S, A, -1), mu=mu, P=(phi @ mu).reshape(S, A, S), loss=loss / n,
                             n_iter=0, method="contrastive_fit", params=params, elapsed=timer.elapsed)


def feature_span_angles(phi_hat: np.ndarray, phi_star: np.ndarray) -> np.ndarray:
    r"""Principal angles (radians, largest first) between the column spans of two feature maps
    ``phi[s, a, :]`` viewed as ``(S A) x d`` matrices (Bjorck & Golub 1973, via
    :func:`scipy.linalg.subspace_angles`); all zero iff the learned features span the true ones.

    Examples
    --------
    >>> phi = np.random.default_rng(0).random((3, 2, 2))
    >>> mixed = phi @ np.array([[2.0, 1.0], [1.0, 3.0]])     # same span, other basis
    >>> float(np.round(feature_span_angles(mixed, phi).max(), 8))
    0.0
    """
    a = np.asarray(phi_hat, dtype=float)
    b = np.asarray(phi_star, dtype=float)
    if a.ndim != 3 or b.ndim != 3 or a.shape[:2] != b.shape[:2]:
        raise InvalidModelError(f"features must be (S, A, d) arrays over the same pairs; got {a.shape} and {b.shape}")
    return scipy.linalg.subspace_angles(a.reshape(-1, a.shape[2]), b.reshape(-1, b.shape[2]))
