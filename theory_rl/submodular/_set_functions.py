r"""Set functions on a finite ground set ``{0, ..., n-1}``, vectorised over batches of sets.

A set is a boolean mask of shape ``(n,)``; a batch of sets is a mask of shape ``(B, n)``.
Every function here is normalised (``F(empty) = 0``) and submodular; all but
:class:`GaussianEntropy` with a small noise are monotone (see :func:`is_monotone`).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from .._validation import as_float_array, check_real
from ..errors import InvalidArgumentError, InvalidModelError

__all__ = ["FacilityLocation", "GaussianEntropy", "LogDet", "Modular", "SetFunction", "WeightedCoverage", "as_mask"]


def as_mask(x: Any, n: int) -> np.ndarray:
    """A boolean mask ``(n,)`` or ``(B, n)`` from a mask, or from a sequence of element indices.

    Examples
    --------
    >>> from theory_rl.submodular import as_mask
    >>> as_mask([0, 2], 4).tolist()
    [True, False, True, False]
    """
    arr = np.asarray(x)
    if arr.dtype == bool:
        if arr.shape[-1:] != (n,) or arr.ndim > 2:
            raise InvalidArgumentError(f"a set mask must have shape (n,) or (B, n) with n = {n}, got {arr.shape}")
        return arr
    idx = arr.astype(np.int64).ravel() if arr.size else np.zeros(0, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n or not np.array_equal(idx, arr.ravel())):
        raise InvalidArgumentError(f"set elements must be integers in [0, {n}), got {x!r}")
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return mask


class SetFunction:
    r"""A set function ``F : 2^V -> R`` on ``V = {0, ..., n-1}``.

    Subclasses implement :meth:`value` on a batch of masks; :meth:`gain` and the incremental
    pair :meth:`start`/:meth:`add` (used to score many trajectories at once) follow from it,
    and subclasses with a cheaper incremental form override them.

    The marginal gain is :math:`F(e \mid X) = F(X \cup \{e\}) - F(X)`.

    Examples
    --------
    >>> from theory_rl import submodular
    >>> F = submodular.WeightedCoverage([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]])
    >>> isinstance(F, submodular.SetFunction)
    True
    >>> X = submodular.as_mask([0], 3)
    >>> float(F.value(X)), float(F.gain(1, X))      # F({0}) and F(1 | {0})
    (2.0, 1.0)
    """

    n: int

    def value(self, sets: Any) -> np.ndarray | float:
        """``F(X)`` for a mask ``(n,)`` (a float), a batch ``(B, n)`` (an array ``(B,)``) or an index list."""
        mask = as_mask(sets, self.n)
        out = self._values(np.atleast_2d(mask))
        return float(out[0]) if mask.ndim == 1 else out

    def _values(self, masks: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def gain(self, element: int, sets: Any) -> np.ndarray | float:
        """``F(element | X)`` for one set or a batch of sets."""
        mask = as_mask(sets, self.n)
        with_e = np.array(mask, copy=True)
        with_e[..., int(element)] = True
        return self.value(with_e) - self.value(mask)

    def gains(self, sets: Any) -> np.ndarray:
        """``F(e | X)`` for every element ``e``: shape ``(n,)`` for one set, ``(B, n)`` for a batch."""
        mask = as_mask(sets, self.n)
        batch = np.atleast_2d(mask)
        out = self._all_gains(batch)
        return out[0] if mask.ndim == 1 else out

    def _all_gains(self, masks: np.ndarray) -> np.ndarray:
        base = self._values(masks)
        B, n = masks.shape
        grown = np.repeat(masks[:, None, :], n, axis=1)
        grown[:, np.arange(n), np.arange(n)] = True
        return self._values(grown.reshape(B * n, n)).reshape(B, n) - base[:, None]

    # incremental scoring: a state per set in the batch, and the gain of adding one element to each
    def start(self, batch: int) -> Any:
        """The state of ``batch`` empty sets (see :meth:`add`)."""
        return np.zeros((batch, self.n), dtype=bool)

    def add(self, state: Any, elements: np.ndarray) -> np.ndarray:
        """Add ``elements[b]`` to set ``b`` of the batch in place; return the gains ``(B,)``."""
        rows = np.arange(len(elements))
        before = self._values(state)
        state[rows, elements] = True
        return self._values(state) - before

    def peek(self, state: Any, element: int) -> float:
        """The gain of adding ``element`` to the single set held in ``state`` (a batch of one), without adding it."""
        trial = np.array(state, copy=True)
        return float(self.add(trial, np.array([int(element)]))[0])

    def peek_many(self, state: Any, elements: np.ndarray) -> np.ndarray:
        """:meth:`peek` for several elements at once: shape ``(len(elements),)``."""
        return np.array([self.peek(state, int(e)) for e in elements])


class Modular(SetFunction):
    r"""A modular (additive) function ``F(X) = sum_{e in X} w_e``: the standard-RL special case.

    Parameters
    ----------
    weights : array_like of shape (n,)

    Examples
    --------
    >>> F = Modular([1.0, 2.0, 3.0])
    >>> F.value([0, 2]), F.gain(1, [0, 2])
    (4.0, 2.0)
    """

    def __init__(self, weights: Any) -> None:
        self.weights = as_float_array(weights, "weights", ndim=1)
        self.n = self.weights.size

    def _values(self, masks: np.ndarray) -> np.ndarray:
        return masks @ self.weights

    def _all_gains(self, masks: np.ndarray) -> np.ndarray:
        return np.where(masks, 0.0, self.weights[None, :])

    def add(self, state: Any, elements: np.ndarray) -> np.ndarray:
        rows = np.arange(len(elements))
        out = np.where(state[rows, elements], 0.0, self.weights[elements])
        state[rows, elements] = True
        return out

    def peek(self, state: Any, element: int) -> float:
        return 0.0 if state[0, element] else float(self.weights[element])

    def peek_many(self, state: Any, elements: np.ndarray) -> np.ndarray:
        return np.where(state[0, elements], 0.0, self.weights[elements])


class WeightedCoverage(SetFunction):
    r"""Weighted coverage ``F(X) = sum_u w_u [exists e in X : C[e, u]]``.

    Monotone, normalised and submodular for ``w >= 0`` (Krause & Golovin 2014, "Submodular
    function maximization", section 1.1).

    Parameters
    ----------
    cover : array_like of bool, shape (n, m)
        ``cover[e, u]`` is True when element ``e`` covers item ``u``.
    weights : array_like of shape (m,), optional
        Non-negative item weights (ones when omitted).

    Examples
    --------
    >>> F = WeightedCoverage([[1, 1, 0], [0, 1, 1]], weights=[1.0, 2.0, 4.0])
    >>> F.value([0]), F.value([0, 1]), F.gain(1, [0])
    (3.0, 7.0, 4.0)
    """

    def __init__(self, cover: Any, *, weights: Any = None) -> None:
        self.cover = np.asarray(cover).astype(bool)
        if self.cover.ndim != 2:
            raise InvalidModelError(f"cover must have shape (n, m), got {self.cover.shape}")
        self.n, m = self.cover.shape
        self.weights = np.ones(m) if weights is None else as_float_array(weights, "weights", ndim=1)
        if self.weights.shape != (m,) or (self.weights < 0).any():
            raise InvalidModelError(f"weights must be non-negative with shape ({m},)")
        self._cover_f = self.cover.astype(np.float64)

    def _values(self, masks: np.ndarray) -> np.ndarray:
        covered = (masks.astype(np.float64) @ self._cover_f) > 0
        return covered @ self.weights

    def _all_gains(self, masks: np.ndarray) -> np.ndarray:
        uncovered = (masks.astype(np.float64) @ self._cover_f) <= 0
        return (uncovered * self.weights) @ self._cover_f.T

    def start(self, batch: int) -> Any:
        return np.zeros((batch, self.cover.shape[1]), dtype=bool)

    def add(self, state: Any, elements: np.ndarray) -> np.ndarray:
        new = self.cover[elements] & ~state
        state |= self.cover[elements]
        return new @ self.weights

    def peek(self, state: Any, element: int) -> float:
        return float((self.cover[element] & ~state[0]) @ self.weights)

    def peek_many(self, state: Any, elements: np.ndarray) -> np.ndarray:
        return (self.cover[elements] & ~state[0]) @ self.weights


class FacilityLocation(SetFunction):
    r"""Facility location ``F(X) = sum_u max_{e in X} K[u, e]`` (0 for the empty set).

    Monotone, normalised and submodular for ``K >= 0`` (Krause & Golovin 2014).

    Parameters
    ----------
    similarity : array_like of shape (m, n)
        ``similarity[u, e] >= 0``: how well element ``e`` serves item ``u``.

    Examples
    --------
    >>> F = FacilityLocation([[1.0, 0.5], [0.2, 0.9]])
    >>> F.value([0]), F.value([0, 1]), round(F.gain(1, [0]), 3)
    (1.2, 1.9, 0.7)
    """

    def __init__(self, similarity: Any) -> None:
        self.similarity = as_float_array(similarity, "similarity", ndim=2)
        if (self.similarity < 0).any():
            raise InvalidModelError("similarity must be non-negative")
        self.n = self.similarity.shape[1]
        self._by_element = np.ascontiguousarray(self.similarity.T)  # (n, m): one element's column, contiguous

    def _values(self, masks: np.ndarray) -> np.ndarray:
        out = np.empty(len(masks))
        for b, mask in enumerate(masks):  # a (B, m, n) temporary would be too large for big ground sets
            out[b] = self.similarity[:, mask].max(axis=1).sum() if mask.any() else 0.0
        return out

    def _all_gains(self, masks: np.ndarray) -> np.ndarray:
        out = np.empty(masks.shape)
        everything = np.arange(self.n)
        for b, mask in enumerate(masks):
            best = self.similarity[:, mask].max(axis=1) if mask.any() else np.zeros(self.similarity.shape[0])
            out[b] = _facility_gains(self._by_element, everything, best)
        return out

    def start(self, batch: int) -> Any:
        return np.zeros((batch, self.similarity.shape[0]))

    def add(self, state: Any, elements: np.ndarray) -> np.ndarray:
        column = self._by_element[elements]  # (B, m)
        new = np.maximum(column, state)
        out = (new - state).sum(axis=1)
        state[...] = new
        return out

    def peek(self, state: Any, element: int) -> float:
        return float(_facility_gains(self._by_element, np.array([int(element)]), state[0])[0])

    def peek_many(self, state: Any, elements: np.ndarray) -> np.ndarray:
        return _facility_gains(self._by_element, np.asarray(elements, dtype=np.int64), state[0])


@numba.njit(cache=False)
def _facility_gains(by_element: np.ndarray, elements: np.ndarray, best: np.ndarray) -> np.ndarray:  # pragma: no cover
    """``sum_u max(by_element[e, u] - best[u], 0)`` for each ``e`` in ``elements``: one pass, no temporaries."""
    out = np.zeros(elements.shape[0])
    for i in range(elements.shape[0]):
        row = by_element[elements[i]]
        total = 0.0
        for u in range(row.shape[0]):
            d = row[u] - best[u]
            if d > 0.0:
                total += d
        out[i] = total
    return out


def _check_psd(kernel: np.ndarray, name: str) -> None:
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise InvalidModelError(f"{name} must be a square matrix, got shape {kernel.shape}")
    if not np.allclose(kernel, kernel.T, atol=1e-10):
        raise InvalidModelError(f"{name} must be symmetric")
    if np.linalg.eigvalsh(kernel).min() < -1e-9 * max(1.0, float(np.abs(kernel).max())):
        raise InvalidModelError(f"{name} must be positive semidefinite")


def _logdet_batch(matrix: np.ndarray, masks: np.ndarray, diagonal: float) -> np.ndarray:
    """``log det(diagonal * I + matrix[X, X])`` for each mask (``0`` for the empty set), batched by set size."""
    B, n = masks.shape
    out = np.empty(B)
    sizes = masks.sum(axis=1)
    for k in np.unique(sizes):
        rows = np.flatnonzero(sizes == k)
        if k == 0:
            out[rows] = 0.0
            continue
        idx = np.nonzero(masks[rows])[1].reshape(len(rows), k)
        sub = matrix[idx[:, :, None], idx[:, None, :]] + diagonal * np.eye(k)
        out[rows] = np.linalg.slogdet(sub)[1]
    return out


class LogDet(SetFunction):
    r"""Log-determinant (Bayesian experiment design, information gain of a Gaussian process):

    .. math:: F(X) = \tfrac12 \log\det(I + \sigma^{-2} K_{XX}) = I(y_X; f),

    the mutual information between noisy observations ``y_X = f_X + eps`` (``eps ~ N(0, sigma^2 I)``)
    and the latent ``f ~ N(0, K)``. Monotone, normalised and submodular for PSD ``K``
    (Krause, Singh & Guestrin 2008, JMLR 9; Srinivas et al. 2010, arXiv:0912.3995).

    Parameters
    ----------
    kernel : array_like of shape (n, n)
        Positive semidefinite prior covariance ``K``.
    noise : float
        Observation noise variance ``sigma^2 > 0``.

    Examples
    --------
    >>> F = LogDet([[1.0, 0.5], [0.5, 1.0]], noise=1.0)
    >>> round(F.value([0]), 4), round(F.value([0, 1]), 4)
    (0.3466, 0.6609)
    """

    def __init__(self, kernel: Any, *, noise: float = 1.0) -> None:
        self.kernel = as_float_array(kernel, "kernel", ndim=2)
        _check_psd(self.kernel, "kernel")
        self.noise = check_real(noise, "noise", low=0.0, low_open=True)
        self.n = self.kernel.shape[0]

    def _values(self, masks: np.ndarray) -> np.ndarray:
        return 0.5 * _logdet_batch(self.kernel / self.noise, masks, 1.0)


class GaussianEntropy(SetFunction):
    r"""Differential entropy of noisy Gaussian observations at the chosen points:

    .. math:: F(X) = \tfrac12 \log\det\big(2\pi e\,(\Sigma_{XX} + \sigma^2 I)\big),\qquad F(\emptyset) = 0.

    Submodular for any PSD ``Sigma`` (conditioning reduces entropy); monotone exactly when every
    conditional variance plus ``sigma^2`` is at least ``1 / (2 pi e)``, which holds for
    ``sigma^2 >= 1/(2 pi e) ~ 0.0585`` (Krause, Singh & Guestrin 2008, JMLR 9, section 2).

    Parameters
    ----------
    cov : array_like of shape (n, n)
        Positive semidefinite covariance ``Sigma``.
    noise : float
        Observation noise variance ``sigma^2 > 0``.

    Examples
    --------
    >>> F = GaussianEntropy([[1.0, 0.0], [0.0, 1.0]], noise=0.0585)
    >>> round(F.value([0]), 4), round(F.value([0, 1]) - 2 * F.value([0]), 12)
    (1.4474, 0.0)
    """

    def __init__(self, cov: Any, *, noise: float = 0.1) -> None:
        self.cov = as_float_array(cov, "cov", ndim=2)
        _check_psd(self.cov, "cov")
        self.noise = check_real(noise, "noise", low=0.0, low_open=True)
        self.n = self.cov.shape[0]

    def _values(self, masks: np.ndarray) -> np.ndarray:
        scale = 2.0 * math.pi * math.e
        sizes = masks.sum(axis=1)
        return 0.5 * (_logdet_batch(self.cov, masks, self.noise) + sizes * math.log(scale))
