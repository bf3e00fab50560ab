"""Finite Markov decision processes: the data every tabular solver reads."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from .._result import html_summary
from .._validation import (
    check_allocation,
    check_finite,
    check_gamma,
    check_optional_int,
    check_probability_rows,
    check_real,
    check_row_sums,
)
from ..errors import InvalidArgumentError, InvalidModelError, ParseError
from ._files import read_json, read_npz

__all__ = ["FiniteMDP", "normalize", "load", "DEFAULT_ATOL", "MAX_ATOL"]

#: Tolerance on row sums of stochastic matrices (DESIGN.md section 3): data written with
#: six or eight significant digits must load, while real mistakes (a row summing to 0.97) fail.
DEFAULT_ATOL = 1e-8

#: Largest accepted ``atol``: a looser tolerance would let rows summing to 1.5 pass as
#: probability vectors. Data that misses 1 by more must be fixed (:func:`normalize`).
MAX_ATOL = 1e-3

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


def _is_real_dtype(dtype: np.dtype) -> bool:
    """Integers and floats; not bool, complex, strings or objects."""
    return dtype.kind != "b" and (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating))


def _real_array(x: Any, name: str, *, ndim: tuple[int, ...]) -> np.ndarray:
    """``x`` as a C-contiguous float64 array of one of the dimensions ``ndim``.

    The float64 copy (when ``x`` is not one already, e.g. a zero-stride ``np.broadcast_to`` view
    of a huge shape) is estimated from the declared shape and refused above the memory limit
    before it is made.
    """
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged nested lists and the like
            raise InvalidModelError(f"{name} could not be read as an array: {exc}") from None
    if not _is_real_dtype(arr.dtype):
        raise InvalidModelError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim not in ndim:
        want = " or ".join(str(d) for d in ndim)
        raise InvalidModelError(f"{name} must have {want} dimensions, got shape {arr.shape}")
    if arr.dtype != np.float64 or not arr.flags.c_contiguous:
        check_allocation(8 * math.prod(arr.shape), f"a float64 copy of {name} of shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _compressed_problem(
    indptr: Any, indices: Any, n_major: int, n_minor: int, n_stored: int, *, major: str = "row"
) -> tuple[str, str] | None:
    """The first structural defect of compressed sparse arrays, as ``(field, message)``, or ``None``.

    ``indptr`` must be an integer array of length ``n_major + 1`` that starts at 0, never
    decreases and ends at the number of stored entries; ``indices`` integers in ``[0, n_minor)``.
    These are checked before scipy reads them: its C++ routines raise ``RuntimeError`` (or read
    out of bounds) on a decreasing ``indptr``, and it truncates fractional indices.
    """
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    for field, arr in (("indptr", indptr), ("indices", indices)):
        if arr.ndim != 1:
            return field, f"must be 1-D, got shape {arr.shape}"
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            return field, f"must hold integers, got dtype {arr.dtype}"
    if indptr.shape[0] != n_major + 1:
        return "indptr", f"has length {indptr.shape[0]}, expected {n_major + 1} (rows + 1)"
    if indices.shape[0] != n_stored:
        return "indices", f"has length {indices.shape[0]}, expected {n_stored} (one per stored value)"
    if int(indptr[0]) != 0:
        return "indptr", f"must start at 0, got {int(indptr[0])}"
    steps = np.diff(indptr)
    if steps.size and steps.min() < 0:
        r = int(np.argmax(steps < 0))
        return "indptr", f"decreases at {major} {r}: indptr[{r + 1}] = {int(indptr[r + 1])} < indptr[{r}] = {int(indptr[r])}"
    if int(indptr[-1]) != n_stored:
        return "indptr", f"ends at {int(indptr[-1])}, expected {n_stored} (the number of stored values)"
    if indices.size and (indices.min() < 0 or indices.max() >= n_minor):
        k = int(np.argmax((indices < 0) | (indices >= n_minor)))
        r = int(np.searchsorted(indptr, k, side="right") - 1)
        minor = "column" if major == "row" else "row"
        return "indices", f"{major} {r} has {minor} index {int(indices[k])} outside [0, {n_minor})"
    return None


def _sparse_kernel(P: Any, S: int, A: int, R_shape: tuple[int, ...]) -> sp.csr_matrix:
    """A scipy.sparse ``P`` checked from its declared shape, dtype and structure, then as CSR.

    Everything is checked before scipy converts anything: the shape (a ``(10**10, 3)`` matrix
    is refused before its ``indptr`` is allocated), the dtype (complex values would lose their
    imaginary part), the compressed structure, and the memory the CSR copy and the validation
    take (estimated from the declared sizes).
    """
    if P.ndim != 2:
        raise InvalidModelError(f"sparse P must be 2-D (S*A, S), got {P.ndim}-D shape {P.shape}")
    if tuple(P.shape) != (S * A, S):
        raise InvalidModelError(
            f"sparse P has shape {tuple(P.shape)}, expected (S*A, S) = ({S * A}, {S}) for R of shape {R_shape}"
        )
    return _checked_csr(P, A)


def _checked_csr(P: Any, n_actions: int | None) -> sp.csr_matrix:
    """Any 2-D scipy.sparse matrix as canonical CSR, after the dtype, structure and size checks
    (rows are named ``P[s, a, :]`` when ``n_actions`` is given)."""
    if P.ndim != 2:
        raise InvalidModelError(f"sparse P must be 2-D (S*A, S), got {P.ndim}-D shape {P.shape}")
    if not _is_real_dtype(P.dtype):
        raise InvalidModelError(f"sparse P must hold real numbers, got dtype {P.dtype}")
    n_rows, n_cols = (int(n) for n in P.shape)
    fmt = P.format
    if fmt in ("csr", "csc"):
        n_major, n_minor = (n_rows, n_cols) if fmt == "csr" else (n_cols, n_rows)
        data = np.asarray(P.data)
        if data.ndim != 1:
            raise InvalidModelError(f"sparse P is malformed: P.data must be 1-D, got shape {data.shape}")
        problem = _compressed_problem(P.indptr, P.indices, n_major, n_minor, data.shape[0],
                                      major="row" if fmt == "csr" else "column")
        if problem is not None:
            field, message = problem
            if fmt == "csr" and field == "indices":  # "row r has ..." -> "row r (P[s, a, :]) has ..."
                r = int(message.split()[1])
                where = f" (P[{r // n_actions}, {r % n_actions}, :])" if n_actions else ""
                message = message.replace(f"row {r} ", f"row {r}{where} ", 1)
                raise InvalidModelError(f"sparse P is malformed: {message}")
            raise InvalidModelError(f"sparse P is malformed: P.{field} {message}")
        stored = data.shape[0]
    else:
        stored = int(P.nnz)
    # CSR copy (float64 data, int64 indices: 16 B per entry, twice when duplicates are summed)
    # plus indptr and the row sums of the validation (8 B per row each)
    check_allocation(
        2 * 16 * stored + 3 * 8 * (n_rows + 1),
        f"sparse P of shape ({n_rows}, {n_cols}) with {stored} stored entries (CSR copy and row sums)",
    )
    try:
        return _as_csr(P)
    except (ValueError, RuntimeError, IndexError, TypeError, OverflowError) as exc:
        raise InvalidModelError(f"sparse P could not be read: {exc}") from None


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


def _csr_rows_ok(P: sp.csr_matrix, atol: float, skip: np.ndarray | None) -> bool:
    """The same for a canonical CSR matrix (its structure, a non-decreasing ``indptr`` and column
    indices in ``[0, n_cols)``, was checked by :func:`_checked_csr`); one pass over ``data``."""
    n_rows = P.shape[0]
    data, indptr = P.data, P.indptr
    nnz = int(indptr[-1] - indptr[0]) if n_rows else 0
    step = max(1, int(_CSR_BLOCK * n_rows // max(nnz, 1)))

    def part(r0: int, r1: int) -> bool:
        for b in range(r0, r1, step):
            e = min(r1, b + step)
            ptr = indptr[b:e + 1]
            lengths = np.diff(ptr)
            k0, k1 = int(ptr[0]), int(ptr[-1])
            sums = np.zeros(e - b)
            if k1 > k0:
                seg = data[k0:k1]
                if not seg.min() >= 0:
                    return False
                starts = ptr[:-1] - k0
                n_valid = int(np.searchsorted(starts, k1 - k0, side="left"))  # the rest are empty
                np.add.reduceat(seg, starts[:n_valid], out=sums[:n_valid])
                sums[:n_valid][lengths[:n_valid] == 0] = 0.0  # reduceat gives seg[start] there
            if not _sums_ok(sums, atol, None if skip is None else skip[b:e]):
                return False
        return True

    return n_rows == 0 or _all_parts(n_rows, max(nnz, n_rows), part)


def _names(names: Iterable[Any] | None, n: int, what: str) -> tuple[str, ...] | None:
    """``None`` or ``n`` labels: a list, tuple or 1-D array of strings (a single string is refused,
    not split into characters); the length is checked before more than ``n + 1`` are read."""
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not isinstance(names, Iterable) or isinstance(names, dict):
        raise InvalidArgumentError(f"{what} must be a sequence of {n} strings, got {names!r:.80}")
    if isinstance(names, np.ndarray) and names.ndim != 1:
        raise InvalidArgumentError(f"{what} must be 1-D, got an array of shape {names.shape}")
    out = tuple(itertools.islice(names, n + 1))
    for i, x in enumerate(out):
        if not isinstance(x, str):
            raise InvalidArgumentError(f"{what}[{i}] = {x!r:.80} is not a string")
    if len(out) != n:
        count = f"{len(out)}" if len(out) <= n else f"more than {n}"
        raise InvalidModelError(f"{what} has {count} entries, expected {n}")
    return tuple(str(x) for x in out)


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
        Discount factor in ``[0, 1)``; ``gamma = 1`` is allowed only with a finite ``horizon``
        or with ``terminal`` states (a stochastic shortest path model, see below).
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
        Labels used when printing (a list, tuple or 1-D array of strings; a single string is
        refused, not split into characters).
    atol : float
        Tolerance for the row-sum check (default ``1e-8``, at most :data:`MAX_ATOL` ``= 1e-3``).
    terminal : array_like of bool, shape (S,), or sequence of int, optional
        Terminal states, as a boolean mask or as state indices; stored as a read-only boolean
        mask of shape ``(S,)``. Every available action of a terminal state must be an exact
        self-loop, ``P[s, a, s] = 1`` (no mass elsewhere), with ``R[s, a] = 0``: reaching one
        ends the episode. With ``gamma = 1``, no ``horizon`` and at least one terminal state, the model is an
        episodic, *stochastic shortest path* problem (Bertsekas & Tsitsiklis 1991): the value is
        the expected total reward until termination, ``v(s) = E[sum_{t < tau} R(s_t, a_t)]``,
        and the tabular solvers (value iteration, policy evaluation and iteration, linear
        programming) dispatch to their shortest-path versions (see
        :func:`theory_rl.tabular.shortest_path_value_iteration`). With ``gamma < 1`` the mask is
        only recorded.

    Raises
    ------
    InvalidModelError
        Naming the first offending entry, e.g. ``P[3, 1, :] sums to 0.97 (expected 1 within 1e-08)``;
        for sparse ``P`` also a malformed structure (``indptr`` decreasing, not starting at 0 or
        not ending at the number of stored values; column indices out of range), a non-real
        dtype (complex values are refused, not truncated) or a shape other than ``(S*A, S)``.
    InvalidArgumentError
        ``atol`` outside ``[0, MAX_ATOL]``, names that are not a sequence of strings.
    SizeLimitError
        A copy or temporary estimated above :func:`theory_rl.max_bytes` (a float64 copy of a
        non-float64 or zero-stride ``P``, the CSR copy of a sparse ``P``, the reduction of
        ``R[s, a, s']``), refused before it is made; see ``docs/limits.md``.

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
    terminal: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        atol = check_real(self.atol, "atol", low=0.0, high=MAX_ATOL)
        set_(self, "atol", atol)

        R = _real_array(self.R, "R", ndim=(2, 3))
        S, A = R.shape[0], R.shape[1]
        if S == 0:
            raise InvalidModelError(f"the model has no states (R has shape {R.shape})")
        if A == 0:
            raise InvalidModelError(f"empty action set: R has shape {R.shape}")

        if sp.issparse(self.P):
            P = _sparse_kernel(self.P, S, A, R.shape)
            rows = P
        else:
            shape = getattr(self.P, "shape", None)  # declared shape: checked before any copy
            if isinstance(shape, tuple) and len(shape) == 3 and shape != (S, A, S):
                raise InvalidModelError(f"P has shape {shape}, expected (S, A, S) = ({S}, {A}, {S}) from R")
            P = _real_array(self.P, "P", ndim=(3,))
            if P.shape != (S, A, S):
                raise InvalidModelError(f"P has shape {P.shape}, expected (S, A, S) = ({S}, {A}, {S}) from R")
            rows = P.reshape(S * A, S)
            # validation temporaries: only the error path builds an (S, A, S) boolean mask
            check_allocation(math.prod(P.shape) + 16 * S * A, f"validating dense P of shape {P.shape}")
        if R.ndim == 3 and R.shape == (S, A, S):  # the reduction multiplies P and R entrywise
            temp = 24 * P.nnz if sp.issparse(P) else 8 * S * A * S
            check_allocation(temp, f"reducing R of shape {R.shape} to R[s, a]")

        mask = None
        if self.action_mask is not None:
            mask = np.asarray(self.action_mask)
            if mask.dtype != bool:
                raise InvalidModelError(
                    f"action_mask must be boolean (True = available), got dtype {mask.dtype}"
                )
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
            if not _csr_rows_ok(P, atol, skip):
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
        terminal = None if self.terminal is None else _terminal_mask(self.terminal, S)
        if terminal is not None:
            _check_terminal(P, R, mask, terminal, A)
        gamma = check_gamma(self.gamma, allow_one=True)
        if gamma == 1.0 and horizon is None and (terminal is None or not terminal.any()):
            raise InvalidModelError(
                "gamma = 1 needs terminal states (terminal=..., an episodic stochastic shortest path "
                "model) or a finite horizon"
            )

        if self.d0 is None:
            d0 = np.full(S, 1.0 / S)
        else:
            d0 = _real_array(self.d0, "d0", ndim=(1,))
            if d0.shape != (S,):
                raise InvalidModelError(f"d0 has shape {d0.shape}, expected ({S},)")
            check_probability_rows(d0[None, :], "d0", atol=atol, row_shape=(1,))

        set_(self, "P", P if sp.issparse(P) else _read_only(P))
        set_(self, "R", _read_only(R))
        set_(self, "gamma", gamma)
        set_(self, "d0", _read_only(d0))
        set_(self, "horizon", horizon)
        set_(self, "action_mask", mask)
        set_(self, "terminal", terminal)
        set_(self, "state_names", _names(self.state_names, S, "state_names"))
        set_(self, "action_names", _names(self.action_names, A, "action_names"))

    # ------------------------------------------------------------------ shape information
    @property
    def is_sparse(self) -> bool:
        """Whether ``P`` is stored as a CSR matrix of shape ``(S*A, S)``."""
        return sp.issparse(self.P)

    @property
    def is_shortest_path(self) -> bool:
        """Whether this is an episodic (stochastic shortest path) model: ``gamma = 1`` with
        ``terminal`` states and no finite ``horizon``."""
        return self.gamma == 1.0 and self.terminal is not None and self.horizon is None

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
        check_allocation(9 * S * A * S, f"to_dense: dense P of shape ({S}, {A}, {S})")
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
        if self.terminal is not None:
            extra += f", {int(self.terminal.sum())} terminal"
        return (
            f"FiniteMDP(S={self.n_states}, A={self.n_actions}, gamma={self.gamma:g}, {layout}"
            f"{extra}, R in [{self.R.min():.4g}, {self.R.max():.4g}])"
        )

    def _repr_html_(self) -> str:
        """A table for Jupyter: sizes, ``gamma`` and the reward range at full precision, the
        start distribution, terminal states and names."""
        return html_summary("FiniteMDP", {
            "S (states)": self.n_states, "A (actions)": self.n_actions, "gamma": self.gamma,
            "horizon": self.horizon, "P": f"sparse CSR, nnz={self.nnz}" if self.is_sparse else "dense (S, A, S)",
            "min R[s, a]": float(self.R.min()), "max R[s, a]": float(self.R.max()), "d0": self.d0,
            "terminal states": None if self.terminal is None else np.flatnonzero(self.terminal),
            "masked actions": None if self.action_mask is None else int((~self.action_mask).sum()),
            "state_names": self.state_names, "action_names": self.action_names,
        })

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to ``path``: ``.npz`` (compressed, no pickle) or ``.json``.

        JSON is meant for small models that people read or put under version control.
        """
        path = _file_path(path)
        fields = self._fields()
        if path.endswith(".json"):
            n_numbers = sum(v.size for v in fields.values() if isinstance(v, np.ndarray))
            check_allocation(40 * n_numbers, f"writing {n_numbers} numbers as JSON (Python lists first)")
            doc = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in fields.items()}
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
        elif path.endswith(".npz"):
            arrays = {k: np.asarray(v if v is not None else np.zeros(0)) for k, v in fields.items()}
            np.savez_compressed(path, **arrays)
        else:
            raise InvalidArgumentError(f"{path}: unknown extension (use .npz or .json)")

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
        out["terminal"] = None if self.terminal is None else np.asarray(self.terminal)
        out["state_names"] = None if self.state_names is None else np.asarray(self.state_names)
        out["action_names"] = None if self.action_names is None else np.asarray(self.action_names)
        out["atol"] = self.atol
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


def _terminal_mask(value: Any, S: int) -> np.ndarray:
    """A read-only boolean ``(S,)`` mask from a boolean mask or a sequence of state indices."""
    arr = np.asarray(value)
    if arr.dtype == bool:
        if arr.shape != (S,):
            raise InvalidModelError(f"terminal as a boolean mask has shape {arr.shape}, expected ({S},)")
        return _read_only(np.ascontiguousarray(arr))
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise InvalidModelError(f"terminal must be a boolean mask or integer state indices, got dtype {arr.dtype}")
    if arr.ndim > 1:
        raise InvalidModelError(f"terminal indices must be one-dimensional, got shape {arr.shape}")
    idx = arr.astype(np.int64).ravel()
    bad = (idx < 0) | (idx >= S)
    if bad.any():
        raise InvalidModelError(f"terminal state index {int(idx[np.argmax(bad)])} is outside [0, {S})")
    out = np.zeros(S, dtype=bool)
    out[idx] = True
    return _read_only(out)


def _check_terminal(P: np.ndarray | sp.csr_matrix, R: np.ndarray, mask: np.ndarray | None,
                    terminal: np.ndarray, A: int) -> None:
    """Every available action of a terminal state is an exact self-loop with reward 0 (vectorised
    over the terminal states' rows; raises naming the first offending pair)."""
    states = np.flatnonzero(terminal)
    if states.size == 0:
        return
    avail = np.ones((states.size, A), bool) if mask is None else mask[states]
    bad_r = avail & (R[states] != 0)
    if bad_r.any():
        i, a = np.argwhere(bad_r)[0]
        s = int(states[i])
        raise InvalidModelError(f"terminal state {s}: R[{s}, {a}] = {R[s, a]:.6g} (terminal states earn 0)")
    rows = (states[:, None] * A + np.arange(A)[None, :]).ravel()
    if sp.issparse(P):
        sub = P[rows]
        counts = np.diff(sub.indptr)
        first = np.where(counts > 0, sub.indices[np.minimum(sub.indptr[:-1], max(sub.nnz - 1, 0))], -1)
        loops = (counts == 1) & (first == np.repeat(states, A))
        loops &= np.asarray(sub.max(axis=1).todense()).ravel() > 0
    else:
        sub = P[states]  # (k, A, S)
        counts = np.count_nonzero(sub, axis=2).ravel()
        diag = sub[np.arange(states.size), :, states].ravel()
        loops = (counts == 1) & (diag > 0)
    bad = avail.ravel() & ~loops
    if bad.any():
        k = int(np.argmax(bad))
        s, a = int(states[k // A]), k % A
        raise InvalidModelError(
            f"terminal state {s}: P[{s}, {a}, :] is not a self-loop (it must put probability 1 on {s}); "
            "terminal states are absorbing"
        )


def _check_csr(P: sp.csr_matrix, S: int, A: int, atol: float, skip: np.ndarray | None) -> None:
    """The sparse value checks one at a time, raising on the first problem with its index (the
    structure was checked by :func:`_sparse_kernel`)."""
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
    n_actions = check_optional_int(n_actions, "n_actions")
    if sp.issparse(P):
        csr = _checked_csr(P, n_actions).copy()
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
    arr = _real_array(P, "P", ndim=tuple(range(1, 33)))
    check_allocation(8 * arr.size, f"the normalised copy of P of shape {arr.shape}")
    check_finite(arr, "P")
    if arr.size and arr.min() < 0:
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(arr < 0)), arr.shape))
        raise InvalidModelError(f"P{list(idx)} is negative")
    sums = arr.sum(axis=-1, keepdims=True)
    if (sums == 0).any():
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(sums == 0)), sums.shape[:-1]))
        raise InvalidModelError(f"P[{', '.join(map(str, idx))}, :] sums to 0 and cannot be normalised")
    return arr / sums


def _file_path(path: Any) -> str:
    try:
        return os.fspath(path)
    except TypeError:
        raise InvalidArgumentError(f"path must be a str or os.PathLike, got {path!r:.80}") from None


#: Each stored field: the dtype kind it must have ("real": integers or floats, "int", "bool",
#: "str") and its allowed numbers of dimensions. Any other field is an error.
_FILE_FIELDS: dict[str, tuple[str, tuple[int, ...]]] = {
    "format": ("str", (0,)),
    "version": ("int", (0,)),
    "P": ("real", (3,)),
    "P_data": ("real", (1,)),
    "P_indices": ("int", (1,)),
    "P_indptr": ("int", (1,)),
    "P_shape": ("int", (1,)),
    "R": ("real", (2, 3)),
    "gamma": ("real", (0,)),
    "d0": ("real", (1,)),
    "horizon": ("int", (0,)),
    "action_mask": ("bool", (2,)),
    "terminal": ("bool", (1,)),
    "state_names": ("str", (1,)),
    "action_names": ("str", (1,)),
    "atol": ("real", (0,)),
}
_KINDS = {"real": "iuf", "int": "iu", "bool": "b", "str": "U"}
_KIND_WORDS = {"real": "real numbers", "int": "integers", "bool": "booleans (true/false)", "str": "strings"}
#: Fields that may be absent (``.npz`` stores an absent one as an empty float64 array).
_OPTIONAL_FIELDS = ("version", "d0", "horizon", "action_mask", "terminal", "state_names", "action_names", "atol")


def _file_field(doc: dict[str, Any], key: str, path: str, *, from_json: bool) -> Any:
    """Field ``key`` checked against :data:`_FILE_FIELDS`: an array, a Python scalar, or ``None``."""
    if key not in doc:
        if key in _OPTIONAL_FIELDS:
            return None
        raise ParseError("required field is missing", file=path, field=key)
    value = doc[key]
    if from_json:
        if value is None and key in _OPTIONAL_FIELDS:
            return None
        if key in ("gamma", "atol", "version", "horizon") and isinstance(value, bool):
            raise ParseError(f"expected a number, got {value!r}", file=path, field=key)
        try:
            value = np.asarray(value)
        except (ValueError, TypeError) as exc:  # ragged nested lists
            raise ParseError(f"not a regular array: {exc}", file=path, field=key) from None
    elif key in _OPTIONAL_FIELDS and value.dtype == np.float64 and value.shape == (0,):
        return None
    kind, ndims = _FILE_FIELDS[key]
    if value.dtype.kind not in _KINDS[kind]:
        raise ParseError(f"must hold {_KIND_WORDS[kind]}, got dtype {value.dtype}", file=path, field=key)
    if value.ndim not in ndims:
        want = " or ".join(str(d) for d in ndims)
        raise ParseError(f"must have {want} dimensions, got shape {value.shape}", file=path, field=key)
    return value.item() if value.ndim == 0 else value


def _file_kernel(get: Any, keys: set[str], path: str) -> Any:
    """Dense ``P`` or a CSR matrix from ``P_data``/``P_indices``/``P_indptr``/``P_shape``, its
    structure checked (monotone ``indptr`` from 0 to nnz, integral in-range indices) before use."""
    sparse_keys = ("P_data", "P_indices", "P_indptr", "P_shape")
    present = [k for k in sparse_keys if k in keys]
    if "P" in keys:
        if present:
            raise ParseError("both a dense P and sparse P_* fields are stored", file=path, field=present[0])
        return get("P")
    if len(present) < 4:
        missing = [k for k in sparse_keys if k not in keys]
        raise ParseError("no transition kernel stored", file=path, field=missing[0] if present else "P")
    shape = get("P_shape")
    if shape.shape != (2,) or shape.min() < 0:
        raise ParseError(f"must be two sizes (S*A, S), got {shape.tolist()}", file=path, field="P_shape")
    n_rows, n_cols = (int(n) for n in shape)
    data = get("P_data")
    problem = _compressed_problem(get("P_indptr"), get("P_indices"), n_rows, n_cols, data.shape[0])
    if problem is not None:
        field, message = problem
        raise ParseError(message, file=path, field=f"P_{field}")
    return sp.csr_matrix((data, get("P_indices"), get("P_indptr")), shape=(n_rows, n_cols))


def _file_shapes(P: Any, R: np.ndarray, fields: dict[str, Any], path: str) -> None:
    """Every stored array against the sizes ``S, A`` that ``R`` declares (``ParseError`` naming
    the field; the values are then the constructor's to check)."""
    S, A = R.shape[:2]
    expected = {"P": (S, A, S), "P_shape": (S * A, S), "d0": (S,), "action_mask": (S, A), "terminal": (S,),
                "state_names": (S,), "action_names": (A,)}
    if R.ndim == 3 and R.shape[2] != S:
        raise ParseError(f"has shape {R.shape}, expected (S, A) or (S, A, S)", file=path, field="R")
    shapes = {"P_shape" if sp.issparse(P) else "P": P.shape}
    shapes.update({k: v.shape for k, v in fields.items() if isinstance(v, np.ndarray)})
    for key, shape in shapes.items():
        if tuple(shape) != expected[key]:
            what = "declares" if key == "P_shape" else "has shape"
            raise ParseError(f"{what} {tuple(shape)}, expected {expected[key]} from R of shape {R.shape}",
                             file=path, field=key)


def load(path: str | os.PathLike[str]) -> FiniteMDP:
    """Read a :class:`FiniteMDP` from a ``.npz`` or ``.json`` file written by :meth:`FiniteMDP.save`.

    Every field is checked before use: its dtype (``P_indices`` integers, ``action_mask``
    booleans, names strings, never objects), its number of dimensions, the sparse structure
    (``P_indptr`` starts at 0, never decreases and ends at the number of stored values;
    ``P_indices`` in range), the format tag and ``version`` (1; a file without one is read as
    version 1); unknown fields are refused. ``.npz`` members are read header first (size capped,
    the declared shape guarded by :func:`theory_rl.max_bytes`), never unpickled; JSON nested
    deeper than 64 levels is refused before it is decoded.

    Raises
    ------
    ParseError
        The file is unreadable or a field is missing, unknown or malformed (named in the error).
    InvalidModelError
        The fields are readable but describe an invalid model (message prefixed by the file).
    SizeLimitError
        The arrays the file declares need more memory than :func:`theory_rl.max_bytes`.
    """
    path = _file_path(path)
    if path.endswith(".json"):
        doc = read_json(path)
        from_json = True
    elif path.endswith(".npz"):
        doc = read_npz(path)
        from_json = False
    else:
        raise ParseError("unknown extension (expected .npz or .json)", file=path)
    keys = set(doc)
    unknown = sorted(keys - set(_FILE_FIELDS))
    if unknown:
        raise ParseError("unknown field", file=path, field=unknown[0])

    def get(key: str) -> Any:
        return _file_field(doc, key, path, from_json=from_json)

    if get("format") != _FORMAT_NAME:
        raise ParseError(f"expected format {_FORMAT_NAME!r}, got {get('format')!r}", file=path, field="format")
    version = get("version")
    if version is not None and version != _FORMAT_VERSION:
        raise ParseError(f"unknown version {version!r} (this library reads version {_FORMAT_VERSION})",
                         file=path, field="version")
    P = _file_kernel(get, keys, path)
    R = get("R")
    fields = {key: get(key) for key in ("d0", "horizon", "action_mask", "terminal", "state_names", "action_names",
                                        "atol")}
    _file_shapes(P, R, fields, path)
    atol = fields.pop("atol")
    try:
        return FiniteMDP(P=P, R=R, gamma=get("gamma"), atol=DEFAULT_ATOL if atol is None else atol, **fields)
    except InvalidModelError as exc:
        raise InvalidModelError(f"{path}: {exc}") from None
    except InvalidArgumentError as exc:
        raise ParseError(str(exc), file=path) from None
