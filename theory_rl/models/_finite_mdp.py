"""Finite Markov decision processes: the data every tabular solver reads."""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from .._validation import (
    as_float_array,
    check_finite,
    check_gamma,
    check_probability_rows,
    check_row_sums,
)
from ..errors import InvalidModelError, ParseError

__all__ = ["FiniteMDP", "normalize", "load", "DEFAULT_ATOL"]

#: Tolerance on row sums of stochastic matrices (DESIGN.md section 3): data written with
#: six or eight significant digits must load, while real mistakes (a row summing to 0.97) fail.
DEFAULT_ATOL = 1e-8

_FORMAT_NAME = "theory_rl.FiniteMDP"
_FORMAT_VERSION = 1


def _read_only(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


def _as_csr(P: Any) -> sp.csr_matrix:
    csr = sp.csr_matrix(P, dtype=np.float64)
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
    if csr.indices.dtype != np.int32 and csr.shape[1] < 2**31 - 1 and csr.nnz < 2**31 - 1:
        csr = sp.csr_matrix(
            (csr.data, csr.indices.astype(np.int32), csr.indptr.astype(np.int32)), shape=csr.shape
        )
    return csr


# ----------------------------------------------------------------------------- fast validation
# Validating a large kernel reads as much memory as one Bellman backup, so it is done in one
# pass: each block of rows (about 1-2 MiB) is reduced for its row sums, its minimum (and for CSR
# its column-index range) while it sits in cache, on all cores for large inputs (numpy releases
# the GIL in these reductions). Only when this finds a problem do the entry-by-entry checks run,
# to name the first offending entry exactly as before. Measured on a 2-core machine: dense
# 2000 x 10 x 2000 20 -> 12 ms, CSR with 10M nonzeros 36 -> 15 ms.
_DENSE_BLOCK = 1 << 17  # float64 elements per block
_CSR_BLOCK = 1 << 18  # nonzeros per block
_PARALLEL_MIN = 1 << 21  # below this many elements one thread is faster than starting a pool


def _all_parts(n: int, size: int, fn: Any) -> bool:
    """``all(fn(lo, hi))`` over contiguous parts of ``range(n)``, in threads when ``size`` is large."""
    n_threads = min(os.cpu_count() or 1, 8) if size >= _PARALLEL_MIN else 1
    if n_threads <= 1 or n < 2 * n_threads:
        return bool(fn(0, n))
    from concurrent.futures import ThreadPoolExecutor

    bounds = np.linspace(0, n, n_threads + 1).astype(np.int64)
    with ThreadPoolExecutor(n_threads) as pool:
        return all(pool.map(fn, bounds[:-1], bounds[1:]))


def _sums_ok(sums: np.ndarray, atol: float, skip: np.ndarray | None) -> bool:
    good = np.abs(sums - 1.0) <= atol  # False for NaN and inf
    if good.all():
        return True
    return skip is not None and bool((good | (skip & (sums == 0.0))).all())


def _dense_rows_ok(rows: np.ndarray, atol: float, skip: np.ndarray | None) -> bool:
    """Whether every row is non-negative, finite and sums to 1 within ``atol`` (or is an all-zero
    row that ``skip`` marks), in one pass."""
    n_rows, n_cols = rows.shape
    step = max(1, _DENSE_BLOCK // max(n_cols, 1))

    def part(r0: int, r1: int) -> bool:
        for b in range(r0, r1, step):
            e = min(r1, b + step)
            blk = rows[b:e]
            if not (blk.min() >= 0 and _sums_ok(blk.sum(axis=1), atol, None if skip is None else skip[b:e])):
                return False
        return True

    return rows.size == 0 or _all_parts(n_rows, rows.size, part)


def _csr_rows_ok(P: sp.csr_matrix, n_cols: int, atol: float, skip: np.ndarray | None) -> bool:
    """The same for a CSR matrix, which must also have a non-decreasing ``indptr`` and column
    indices in ``[0, n_cols)``; one pass over ``data``/``indices``."""
    n_rows = P.shape[0]
    data, indices, indptr = P.data, P.indices, P.indptr
    nnz = int(indptr[-1] - indptr[0]) if n_rows else 0
    step = max(1, int(_CSR_BLOCK * n_rows // max(nnz, 1)))

    def part(r0: int, r1: int) -> bool:
        for b in range(r0, r1, step):
            e = min(r1, b + step)
            ptr = indptr[b:e + 1]
            lengths = np.diff(ptr)
            if lengths.min() < 0:
                return False
            k0, k1 = int(ptr[0]), int(ptr[-1])
            sums = np.zeros(e - b)
            if k1 > k0:
                seg = data[k0:k1]
                ix = indices[k0:k1]
                if not (seg.min() >= 0 and ix.min() >= 0 and ix.max() < n_cols):
                    return False
                starts = ptr[:-1] - k0
                n_valid = int(np.searchsorted(starts, k1 - k0, side="left"))  # the rest are empty
                np.add.reduceat(seg, starts[:n_valid], out=sums[:n_valid])
                sums[:n_valid][lengths[:n_valid] == 0] = 0.0  # reduceat gives seg[start] there
            if not _sums_ok(sums, atol, None if skip is None else skip[b:e]):
                return False
        return True

    return n_rows == 0 or _all_parts(n_rows, max(nnz, n_rows), part)


def _names(names: Sequence[str] | None, n: int, what: str) -> tuple[str, ...] | None:
    if names is None:
        return None
    out = tuple(str(x) for x in names)
    if len(out) != n:
        raise InvalidModelError(f"{what} has {len(out)} entries, expected {n}")
    return out


_Model = TypeVar("_Model", bound="TabularModel")


class TabularModel:
    """What the finite models (:class:`FiniteMDP`, :class:`~theory_rl.models.POMDP`) share: the
    sizes read off ``R[s, a]`` and validated copies. Subclasses are frozen dataclasses with ``R``."""

    R: np.ndarray

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return self.R.shape[0]

    @property
    def n_actions(self) -> int:
        """Number of actions ``A``."""
        return self.R.shape[1]

    def replace(self: _Model, **changes: Any) -> _Model:
        """A copy with some fields changed (validated again), e.g. ``model.replace(gamma=0.99)``."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, eq=False, repr=False)
class FiniteMDP(TabularModel):
    r"""A finite, discounted (or finite-horizon) Markov decision process.

    .. math::
        M = (\mathcal S, \mathcal A, P, R, \gamma, d_0), \qquad
        P[s, a, s'] = \Pr(s_{t+1} = s' \mid s_t = s, a_t = a), \quad R[s, a] = \mathbb E[r_t \mid s, a].

    Parameters
    ----------
    P : array_like of shape (S, A, S), or scipy.sparse matrix of shape (S*A, S)
        Transition kernel. The sparse layout stores ``P[s, a, :]`` in row ``s*A + a`` and is kept
        in CSR form; dense input is kept dense. Rows must be probability vectors within ``atol``.
    R : array_like of shape (S, A) or (S, A, S)
        Expected reward. ``R[s, a, s']`` is reduced to ``R[s, a] = sum_s' P[s, a, s'] R[s, a, s']``.
    gamma : float
        Discount factor in ``[0, 1)``; ``gamma = 1`` is allowed only with a finite ``horizon``.
    d0 : array_like of shape (S,), optional
        Initial-state distribution (uniform when omitted). Used by the LP objective and by
        occupancy measures.
    horizon : int, optional
        Number of decision epochs for finite-horizon problems (see
        :func:`theory_rl.tabular.backward_induction`).
    action_mask : array_like of bool, shape (S, A), optional
        ``True`` where the action is available. Every state needs at least one. Rows of ``P``
        for unavailable actions may be all zero.
    state_names, action_names : sequence of str, optional
        Labels used when printing.
    atol : float
        Tolerance for the row-sum check (default ``1e-8``).

    Raises
    ------
    InvalidModelError
        Naming the first offending entry, e.g. ``P[3, 1, :] sums to 0.97 (expected 1 within 1e-08)``.

    Notes
    -----
    Arrays are stored as float64 and exposed read-only. Dense input that is already float64 and
    C-contiguous is not copied, so mutating the caller's array afterwards changes the model: don't.
    """

    P: np.ndarray | sp.csr_matrix
    R: np.ndarray
    gamma: float
    d0: np.ndarray | None = None
    horizon: int | None = None
    action_mask: np.ndarray | None = None
    state_names: tuple[str, ...] | None = None
    action_names: tuple[str, ...] | None = None
    atol: float = DEFAULT_ATOL

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        atol = float(self.atol)
        if not (np.isfinite(atol) and atol >= 0):
            raise InvalidModelError(f"atol = {self.atol!r} must be a finite number >= 0")
        set_(self, "atol", atol)

        R = as_float_array(self.R, "R", ndim=(2, 3))
        S, A = R.shape[0], R.shape[1]
        if S == 0:
            raise InvalidModelError(f"the model has no states (R has shape {R.shape})")
        if A == 0:
            raise InvalidModelError(f"empty action set: R has shape {R.shape}")

        if sp.issparse(self.P):
            P = _as_csr(self.P)
            if P.shape != (S * A, S):
                raise InvalidModelError(
                    f"sparse P has shape {P.shape}, expected (S*A, S) = ({S * A}, {S}) for R of shape {R.shape}"
                )
            rows = P
        else:
            P = as_float_array(self.P, "P", ndim=3)
            if P.shape != (S, A, S):
                raise InvalidModelError(f"P has shape {P.shape}, expected (S, A, S) = ({S}, {A}, {S}) from R")
            rows = P.reshape(S * A, S)

        mask = None
        if self.action_mask is not None:
            mask = np.asarray(self.action_mask)
            if mask.dtype != bool:
                raise InvalidModelError(f"action_mask must be boolean, got dtype {mask.dtype}")
            if mask.shape != (S, A):
                raise InvalidModelError(f"action_mask has shape {mask.shape}, expected ({S}, {A})")
            empty = ~mask.any(axis=1)
            if empty.any():
                s = int(np.argmax(empty))
                raise InvalidModelError(f"empty action set: action_mask[{s}, :] has no available action")
            mask = _read_only(np.ascontiguousarray(mask))

        skip = None if mask is None else ~mask.ravel()
        # one fast pass; only if it finds a problem, the checks that name the first bad entry
        if sp.issparse(P):
            if not _csr_rows_ok(P, S, atol, skip):
                _check_csr(P, S, A, atol, skip)
        elif not _dense_rows_ok(rows, atol, skip):
            check_probability_rows(rows, "P", atol=atol, row_shape=(S, A), skip=skip)

        if R.ndim == 3:
            if R.shape != (S, A, S):
                raise InvalidModelError(f"R has shape {R.shape}, expected (S, A) or (S, A, S)")
            check_finite(R, "R")
            R = np.asarray((P.multiply(R.reshape(S * A, S)) if sp.issparse(P) else rows * R.reshape(S * A, S)).sum(axis=1)).reshape(S, A)
        check_finite(R, "R")

        horizon = self.horizon
        if horizon is not None:
            if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
                raise InvalidModelError(f"horizon = {horizon!r} must be a positive integer")
            horizon = int(horizon)
        gamma = check_gamma(self.gamma, allow_one=horizon is not None)

        if self.d0 is None:
            d0 = np.full(S, 1.0 / S)
        else:
            d0 = as_float_array(self.d0, "d0", ndim=1)
            if d0.shape != (S,):
                raise InvalidModelError(f"d0 has shape {d0.shape}, expected ({S},)")
            check_probability_rows(d0[None, :], "d0", atol=atol, row_shape=(1,))

        set_(self, "P", P if sp.issparse(P) else _read_only(P))
        set_(self, "R", _read_only(R))
        set_(self, "gamma", gamma)
        set_(self, "d0", _read_only(d0))
        set_(self, "horizon", horizon)
        set_(self, "action_mask", mask)
        set_(self, "state_names", _names(self.state_names, S, "state_names"))
        set_(self, "action_names", _names(self.action_names, A, "action_names"))

    # ------------------------------------------------------------------ shape information
    @property
    def is_sparse(self) -> bool:
        """Whether ``P`` is stored as a CSR matrix of shape ``(S*A, S)``."""
        return sp.issparse(self.P)

    @property
    def nnz(self) -> int:
        """Number of stored transition probabilities."""
        return int(self.P.nnz) if self.is_sparse else int(self.P.size)

    @property
    def transition_matrix(self) -> np.ndarray | sp.csr_matrix:
        """``P`` as a 2-D ``(S*A, S)`` operator (a view for dense models): row ``s*A + a``."""
        return self.P if self.is_sparse else self.P.reshape(self.n_states * self.n_actions, self.n_states)

    # ------------------------------------------------------------------ conversions
    def to_dense(self) -> FiniteMDP:
        """The same model with ``P`` stored as a dense ``(S, A, S)`` array."""
        if not self.is_sparse:
            return self
        S, A = self.n_states, self.n_actions
        return self.replace(P=self.P.toarray().reshape(S, A, S))

    def to_sparse(self) -> FiniteMDP:
        """The same model with ``P`` stored as CSR ``(S*A, S)``."""
        if self.is_sparse:
            return self
        return self.replace(P=sp.csr_matrix(self.transition_matrix))

    # ------------------------------------------------------------------ printing
    def __repr__(self) -> str:
        layout = f"sparse, nnz={self.nnz}" if self.is_sparse else "dense"
        extra = "" if self.horizon is None else f", horizon={self.horizon}"
        if self.action_mask is not None:
            extra += f", {int((~self.action_mask).sum())} masked actions"
        return (
            f"FiniteMDP(S={self.n_states}, A={self.n_actions}, gamma={self.gamma:g}, {layout}"
            f"{extra}, R in [{self.R.min():.4g}, {self.R.max():.4g}])"
        )

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to ``path``: ``.npz`` (compressed, no pickle) or ``.json``.

        JSON is meant for small models that people read or put under version control.
        """
        path = os.fspath(path)
        fields = self._fields()
        if path.endswith(".json"):
            doc = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in fields.items()}
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
        elif path.endswith(".npz"):
            arrays = {k: np.asarray(v if v is not None else np.zeros(0)) for k, v in fields.items()}
            np.savez_compressed(path, **arrays)
        else:
            raise ValueError(f"{path}: unknown extension (use .npz or .json)")

    def _fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": _FORMAT_NAME, "version": _FORMAT_VERSION}
        if self.is_sparse:
            out.update(
                P_data=self.P.data, P_indices=self.P.indices, P_indptr=self.P.indptr,
                P_shape=np.asarray(self.P.shape),
            )
        else:
            out["P"] = np.asarray(self.P)
        out.update(R=np.asarray(self.R), gamma=self.gamma, d0=np.asarray(self.d0))
        out["horizon"] = self.horizon
        out["action_mask"] = None if self.action_mask is None else np.asarray(self.action_mask)
        out["state_names"] = None if self.state_names is None else np.asarray(self.state_names)
        out["action_names"] = None if self.action_names is None else np.asarray(self.action_names)
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FiniteMDP:
        """Read a model written by :meth:`save`. See :func:`theory_rl.models.load`."""
        return load(path)

    # ------------------------------------------------------------------ peers' layouts
    @classmethod
    def from_state_action_pairs(cls, R: Any, Q: Any, s_indices: Any, a_indices: Any, beta: float,
                                **options: Any) -> FiniteMDP:
        """QuantEcon's state-action-pair formulation. See :func:`theory_rl.models.from_state_action_pairs`."""
        from ._peers import from_state_action_pairs

        return from_state_action_pairs(R, Q, s_indices, a_indices, beta, **options)

    @classmethod
    def from_quantecon(cls, R: Any, Q: Any, beta: float, s_indices: Any = None, a_indices: Any = None,
                       **options: Any) -> FiniteMDP:
        """The arguments of QuantEcon's ``DiscreteDP``. See :func:`theory_rl.models.from_quantecon`."""
        from ._peers import from_quantecon

        return from_quantecon(R, Q, beta, s_indices, a_indices, **options)

    @classmethod
    def from_mdptoolbox(cls, P: Any, R: Any, discount: float, **options: Any) -> FiniteMDP:
        """pymdptoolbox's ``(P, R, discount)``. See :func:`theory_rl.models.from_mdptoolbox`."""
        from ._peers import from_mdptoolbox

        return from_mdptoolbox(P, R, discount, **options)


def _check_csr(P: sp.csr_matrix, S: int, A: int, atol: float, skip: np.ndarray | None) -> None:
    """The sparse checks one at a time, raising on the first problem with its index."""
    if P.nnz and (P.indices.min() < 0 or P.indices.max() >= S or np.any(np.diff(P.indptr) < 0)):
        bad = (P.indices < 0) | (P.indices >= S)
        k = int(np.argmax(bad))
        row = int(np.searchsorted(P.indptr, k, side="right") - 1)
        raise InvalidModelError(
            f"sparse P is malformed: row {row} (P[{row // A}, {row % A}, :]) has column index "
            f"{int(P.indices[k])} outside [0, {S}), or indptr decreases"
        )
    check_finite(P.data, "P.data")
    if P.nnz and P.data.min() < 0:
        k = int(np.argmax(P.data < 0))
        row = int(np.searchsorted(P.indptr, k, side="right") - 1)
        raise InvalidModelError(
            f"P[{row // A}, {row % A}, {int(P.indices[k])}] = {P.data[k]:.6g} is negative "
            "(probabilities must be >= 0)"
        )
    sums = np.asarray(P.sum(axis=1)).ravel()
    check_row_sums(sums, "P", atol=atol, row_shape=(S, A), skip=skip)


def normalize(P: Any, *, n_actions: int | None = None) -> np.ndarray | sp.csr_matrix:
    """Rescale every row of a transition kernel to sum to one: ``P[s, a, :] / sum(P[s, a, :])``.

    Parameters
    ----------
    P : array_like of shape (..., S) or scipy.sparse matrix
        Non-negative weights. The last axis (dense) or each row (sparse) is normalised.
    n_actions : int, optional
        Only used to name offending rows of a sparse ``(S*A, S)`` matrix as ``P[s, a, :]``.

    Returns
    -------
    ndarray or csr_matrix
        A new array of the same layout. The input is not modified.

    Raises
    ------
    InvalidModelError
        If an entry is negative or non-finite, or a row sums to zero (it cannot be normalised).
    """
    if sp.issparse(P):
        csr = _as_csr(P).copy()
        check_finite(csr.data, "P.data")
        if csr.nnz and csr.data.min() < 0:
            raise InvalidModelError(f"P.data[{int(np.argmax(csr.data < 0))}] is negative")
        sums = np.asarray(csr.sum(axis=1)).ravel()
        if (sums == 0).any():
            row = int(np.argmax(sums == 0))
            where = f"P[{row // n_actions}, {row % n_actions}, :]" if n_actions else f"row {row}"
            raise InvalidModelError(f"{where} sums to 0 and cannot be normalised")
        csr.data /= np.repeat(sums, np.diff(csr.indptr))
        return csr
    arr = as_float_array(P, "P")
    check_finite(arr, "P")
    if arr.size and arr.min() < 0:
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(arr < 0)), arr.shape))
        raise InvalidModelError(f"P{list(idx)} is negative")
    sums = arr.sum(axis=-1, keepdims=True)
    if (sums == 0).any():
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(sums == 0)), sums.shape[:-1]))
        raise InvalidModelError(f"P[{', '.join(map(str, idx))}, :] sums to 0 and cannot be normalised")
    return arr / sums


def load(path: str | os.PathLike[str]) -> FiniteMDP:
    """Read a :class:`FiniteMDP` from a ``.npz`` or ``.json`` file written by :meth:`FiniteMDP.save`.

    ``.npz`` files are opened with ``allow_pickle=False``: an object array inside is rejected,
    never executed.

    Raises
    ------
    ParseError
        The file is unreadable, has the wrong format tag, or lacks a field (named in the error).
    InvalidModelError
        The fields are readable but describe an invalid model (message prefixed by the file).
    """
    path = os.fspath(path)
    if path.endswith(".json"):
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ParseError(exc.msg, file=path, line=exc.lineno, column=exc.colno) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ParseError(f"cannot read file: {exc}", file=path) from None
        if not isinstance(doc, dict):
            raise ParseError("expected a JSON object at the top level", file=path)
        get = doc.get
        keys = set(doc)
    elif path.endswith(".npz"):
        if not zipfile.is_zipfile(path):
            raise ParseError("not a readable .npz archive (not a zip file)", file=path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                doc = {k: npz[k] for k in npz.files}
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ParseError(f"not a readable .npz archive ({exc})", file=path) from None
        except ValueError as exc:  # object arrays are refused without allow_pickle
            raise ParseError(f"refused to load: {exc}", file=path) from None
        keys = set(doc)

        def get(key: str, default: Any = None) -> Any:
            value = doc.get(key, default)
            if isinstance(value, np.ndarray):
                if value.size == 0 and value.dtype == np.float64 and key not in ("R", "d0", "P", "P_data"):
                    return None
                if value.ndim == 0:
                    return value.item()
            return value
    else:
        raise ParseError("unknown extension (expected .npz or .json)", file=path)

    if get("format") != _FORMAT_NAME:
        raise ParseError(f"expected format {_FORMAT_NAME!r}, got {get('format')!r}", file=path, field="format")
    try:
        if "P" in keys:
            P = get("P")
        else:
            missing = [k for k in ("P_data", "P_indices", "P_indptr", "P_shape") if k not in keys]
            if missing:
                raise ParseError("no transition kernel stored", file=path, field=missing[0] if len(missing) < 4 else "P")
            shape = tuple(int(x) for x in np.asarray(get("P_shape")).ravel())
            P = sp.csr_matrix((np.asarray(get("P_data"), dtype=float), np.asarray(get("P_indices")), np.asarray(get("P_indptr"))), shape=shape)
        for key in ("R", "gamma"):
            if key not in keys:
                raise ParseError("required field is missing", file=path, field=key)
        mask = get("action_mask")
        return FiniteMDP(
            P=P,
            R=get("R"),
            gamma=get("gamma"),
            d0=get("d0"),
            horizon=get("horizon"),
            action_mask=None if mask is None else np.asarray(mask, dtype=bool),
            state_names=get("state_names"),
            action_names=get("action_names"),
        )
    except InvalidModelError as exc:
        raise InvalidModelError(f"{path}: {exc}") from None
    except ParseError:
        raise
    except (TypeError, ValueError, IndexError) as exc:
        raise ParseError(f"malformed field: {exc}", file=path) from None
