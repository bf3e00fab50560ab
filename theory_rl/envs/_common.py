"""Samplers and kernel assembly shared by the environment generators."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_allocation
from ..models import FiniteMDP

__all__ = [
    "check_model_size",
    "use_sparse",
    "sample_distinct",
    "sample_simplex",
    "csr_kernel",
    "build_mdp",
]


def check_model_size(what: str, n_states: int, n_actions: int, *, sparse: bool, entries_per_row: int,
                     bytes_per_entry: int = 40) -> None:
    """Refuse a model whose construction is estimated above :func:`theory_rl.max_bytes`, before
    anything is drawn or allocated.

    The estimate, from the declared sizes with Python integers (no overflow): the sparse build
    (coordinate triplets or sampled supports and weights, then the CSR copy) takes about
    ``bytes_per_entry`` bytes per stored entry, ``S*A*entries_per_row`` of them, plus 32 bytes
    per row (indptr, rewards, row sums); a dense ``P`` adds ``8*S*A*S`` bytes and its validation
    ``S*A*S`` more (a boolean mask on the error path).
    """
    rows = n_states * n_actions
    nbytes = bytes_per_entry * rows * entries_per_row + 32 * rows
    layout = f"sparse P ({rows} x {n_states}, {entries_per_row} entries per row)"
    if not sparse:
        nbytes += 9 * rows * n_states
        layout = f"dense P of shape ({n_states}, {n_actions}, {n_states})"
    check_allocation(nbytes, f"{what} with S = {n_states}, A = {n_actions}: {layout}")


def use_sparse(sparse: bool | None, n_states: int, threshold: int) -> bool:
    """Resolve ``sparse=None`` to ``n_states > threshold``."""
    return n_states > threshold if sparse is None else sparse


def sample_distinct(rng: np.random.Generator, n_rows: int, k: int, n: int) -> np.ndarray:
    """``n_rows`` independent uniformly random ``k``-subsets of ``{0, ..., n-1}``, each row sorted.

    Vectorised over rows; every ``k``-subset is equally likely in all three regimes:

    - ``k*k < n/2``: draw ``k`` i.i.d. uniform indices per row and redraw (whole) the rows that
      contain a repeat. Rejection sampling, accepted with probability ``>= exp(-k^2/(2n)) > 0.77``.
    - ``k*k/2 < 8n``: R. W. Floyd's algorithm (J. Bentley, "Programming pearls: a sample of
      brilliance", CACM 30(9):754-757, 1987) on all rows at once, looping over the ``k`` draws
      only: for ``j = n-k, ..., n-1`` draw ``t ~ U{0..j}`` and add ``t``, or ``j`` if ``t`` was
      already chosen.
    - otherwise: the ``k`` smallest of ``n`` i.i.d. uniform keys per row, in row blocks.
    """
    out_dtype = np.int32 if n < 2**31 - 1 else np.int64
    if k == n:
        return np.broadcast_to(np.arange(n, dtype=out_dtype), (n_rows, n)).copy()
    if k == 1:
        return rng.integers(0, n, size=(n_rows, 1), dtype=out_dtype)
    if k * k < n / 2:
        out = rng.integers(0, n, size=(n_rows, k), dtype=out_dtype)
        out.sort(axis=1)
        bad = np.flatnonzero((out[:, 1:] == out[:, :-1]).any(axis=1))
        while bad.size:
            new = rng.integers(0, n, size=(bad.size, k), dtype=out_dtype)
            new.sort(axis=1)
            out[bad] = new
            bad = bad[(new[:, 1:] == new[:, :-1]).any(axis=1)]
        return out
    if k * k / 2 < 8 * n:
        chosen = np.empty((n_rows, k), dtype=np.int64)
        for i, j in enumerate(range(n - k, n)):
            t = rng.integers(0, j + 1, size=n_rows)
            if i:
                dup = (chosen[:, :i] == t[:, None]).any(axis=1)
                t = np.where(dup, j, t)
            chosen[:, i] = t
        chosen.sort(axis=1)
        return chosen.astype(out_dtype)
    out = np.empty((n_rows, k), dtype=out_dtype)
    block = max(1, (1 << 22) // n)
    for start in range(0, n_rows, block):
        stop = min(n_rows, start + block)
        keys = rng.random((stop - start, n))
        idx = np.argpartition(keys, k - 1, axis=1)[:, :k]
        idx.sort(axis=1)
        out[start:stop] = idx
    return out


def sample_simplex(rng: np.random.Generator, n_rows: int, k: int, alpha: float) -> np.ndarray:
    """``n_rows`` i.i.d. draws from the symmetric Dirichlet(``alpha``) on ``k`` points, shape (n_rows, k).

    Normalised Gamma(``alpha``) variables (vectorised); for ``alpha < 0.1``, where those can all
    underflow to zero, numpy's stick-breaking ``Generator.dirichlet``.
    """
    if k == 1:
        return np.ones((n_rows, 1))
    if alpha < 0.1:
        return rng.dirichlet(np.full(k, alpha), size=n_rows)
    w = rng.standard_gamma(alpha, size=(n_rows, k))
    sums = w.sum(axis=1, keepdims=True)
    bad = sums[:, 0] <= 0
    if bad.any():  # astronomically rare for alpha >= 0.1; keep the rows valid anyway
        w[bad] = rng.dirichlet(np.full(k, alpha), size=int(bad.sum()))
        sums[bad] = 1.0
    w /= sums
    return w


def csr_kernel(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_states: int, n_actions: int) -> sp.csr_matrix:
    """CSR ``(S*A, S)`` from coordinate triplets (duplicates summed, explicit zeros dropped)."""
    P = sp.csr_matrix(
        (np.asarray(vals, dtype=np.float64), (np.asarray(rows), np.asarray(cols))),
        shape=(n_states * n_actions, n_states),
    )
    P.sum_duplicates()
    P.eliminate_zeros()
    return P


def build_mdp(P: sp.csr_matrix, R: np.ndarray, gamma: float, *, sparse: bool, **fields: Any) -> FiniteMDP:
    """A validated :class:`FiniteMDP` from a CSR kernel, densified to ``(S, A, S)`` unless ``sparse``."""
    S, A = R.shape
    if not sparse:
        P = P.toarray().reshape(S, A, S)
    return FiniteMDP(P=P, R=R, gamma=gamma, **fields)
