r"""Result base classes: the fields every result shares, one history table type, and the
behaviour every result has (full-precision ``repr``, ``_repr_html_``, ``to_dict``, ``to_frame``).

The rule (DESIGN.md section 4, written out in ``docs/results.md``):

- every public solver, learner or trainer returns a frozen dataclass, never a dict;
- a planner whose answer carries a certificate (a certified bound, a duality or optimality gap,
  lower/upper bounds) returns a ``*Solution``, a subclass of :class:`CertifiedSolution`;
  learners, trainers, simulations and every answer without a certificate return a ``*Result``,
  a subclass of :class:`Result` that is not a :class:`CertifiedSolution`;
- shared names mean one thing: ``v`` is a value *function* (an array over states), ``q`` action
  values, ``policy`` the agent's policy (indices ``(S,)`` or probabilities ``(S, A)``),
  ``history`` a :class:`History` (per-iteration columns), ``method``/``params``/``elapsed`` what
  ran, with which options and for how many wall-clock seconds;
- the value-function planners share one block of fields, :class:`ValueSolution`.

``tests/test_results.py`` enforces the rule on every public name of the package.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Iterator, Mapping
from pathlib import PurePath
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from ._deprecation import warn_deprecated

__all__ = [
    "CertifiedSolution",
    "html_summary",
    "History",
    "LegacyKeysMixin",
    "Result",
    "ResultMixin",
    "TraceHistoryMixin",
    "ValueSolution",
    "as_history",
    "to_plain",
]

_ARRAY_PREVIEW = 8  # arrays with at most this many entries are shown in full by repr and HTML


# --------------------------------------------------------------------------------------- History
class History(NDArrayOperatorsMixin):
    r"""A read-only per-iteration table: named 1-D numpy columns of equal length.

    ``h["lower"]`` is a column (a read-only array of length ``n_rows``), ``h.columns`` the
    names, ``h.to_frame()`` a pandas DataFrame, ``h.to_dict()`` plain lists. ``len(h)`` is the
    number of rows (as for a DataFrame), ``keys()``/``items()``/``get()`` read the columns as a
    dict does.

    As an array (``np.asarray(h)``, integer or slice indexing ``h[-1]``, ``h[1:]``, arithmetic,
    comparisons, plotting) a one-column history is that column, shape ``(n_rows,)``: a solver
    with one progress measure (value iteration's residuals) reads as the array it always was.
    A table of several columns is the ``(n_rows, n_columns)`` stack, in column order.

    Parameters
    ----------
    columns : mapping of str to array_like, or ``History``
        Each value is converted to a 1-D numpy array; all must have the same length.

    Examples
    --------
    >>> h = History({"lower": [0.0, 0.5], "upper": [2.0, 1.0]})
    >>> h.n_rows, h.columns
    (2, ('lower', 'upper'))
    >>> float(h["upper"][-1] - h["lower"][-1])
    0.5
    >>> r = History({"residual": [1.0, 0.5, 0.25]})
    >>> float(r[-1]), bool((r[1:] <= 0.5 * r[:-1] + 1e-12).all())
    (0.25, True)
    """

    __slots__ = ("_columns", "_n_rows")

    def __init__(self, columns: Mapping[str, Any] | History | None = None) -> None:
        cols: dict[str, np.ndarray] = {}
        n_rows: int | None = None
        for name, values in dict(columns or {}).items():
            arr = np.array(values, copy=True)
            if arr.ndim == 0:
                arr = arr.reshape(1)
            if arr.ndim != 1:
                raise ValueError(f"history column {name!r} must be one-dimensional, got shape {arr.shape}")
            if n_rows is not None and arr.shape[0] != n_rows:
                raise ValueError(f"history column {name!r} has {arr.shape[0]} rows, expected {n_rows} "
                                 "(every column has one entry per iteration)")
            n_rows = arr.shape[0]
            arr.flags.writeable = False
            cols[str(name)] = arr
        self._columns = cols
        self._n_rows = 0 if n_rows is None else n_rows

    @classmethod
    def from_rows(cls, rows: list[Mapping[str, Any]]) -> History:
        """A table from a list of per-iteration records (missing entries become ``None``)."""
        names: list[str] = []
        for row in rows:
            names.extend(k for k in row if k not in names)
        out = {}
        for name in names:
            values = [row.get(name) for row in rows]
            try:
                arr = np.asarray(values)
            except ValueError:  # ragged entries (vectors of different lengths)
                arr = None
            if arr is None or arr.ndim != 1:
                arr = np.empty(len(values), dtype=object)
                for i, v in enumerate(values):
                    arr[i] = v
            out[name] = arr
        return cls(out)

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(self._columns)

    @property
    def n_rows(self) -> int:
        """Number of iterations recorded."""
        return self._n_rows

    def keys(self):  # noqa: ANN201 - a dict's keys view
        return self._columns.keys()

    def values(self):  # noqa: ANN201
        return self._columns.values()

    def items(self):  # noqa: ANN201
        return self._columns.items()

    def get(self, name: str, default: Any = None) -> Any:
        return self._columns.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return self._n_rows

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        cols = list(self._columns.values())
        if len(cols) == 1:
            arr = cols[0]
        elif not cols:
            arr = np.empty(0)
        else:
            arr = np.column_stack(cols)
        return np.array(arr, dtype=dtype, copy=True)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        args = [np.asarray(x) if isinstance(x, History) else x for x in inputs]
        return getattr(ufunc, method)(*args, **kwargs)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return self._columns[key]
            except KeyError:
                raise KeyError(f"history has no column {key!r} (columns: {list(self._columns)})") from None
        return np.asarray(self)[key]

    def to_dict(self) -> dict[str, list[Any]]:
        """The columns as plain lists."""
        return {k: to_plain(v) for k, v in self._columns.items()}

    def to_frame(self) -> Any:
        """The table as a :class:`pandas.DataFrame` (one row per iteration)."""
        pd = _require_pandas()
        return pd.DataFrame({k: v for k, v in self._columns.items()})

    def __repr__(self) -> str:
        return f"History(n_rows={self._n_rows}, columns={list(self._columns)})"


# ---------------------------------------------------------------------------------- plain values
def _require_pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:  # pandas is in the sweep extra
        from .errors import DependencyNotInstalled

        raise DependencyNotInstalled("pandas", "sweep") from None
    return pd


def to_plain(value: Any) -> Any:
    """Convert numpy scalars/arrays, histories, results and nested containers to plain JSON types
    (non-finite floats become the strings ``"inf"``, ``"-inf"``, ``"nan"``)."""
    if isinstance(value, ResultMixin):
        return value.to_dict()
    if isinstance(value, History):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [to_plain(v) for v in value.tolist()]
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return to_plain(value.tolist())
        return value.tolist()
    if isinstance(value, np.generic):
        return to_plain(value.item())
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "columns") and hasattr(value, "to_dict"):  # a pandas DataFrame: its columns as lists
        return to_plain(value.to_dict(orient="list"))
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor (torch is never imported here)
        return to_plain(value.detach().cpu().numpy())
    return value


def _format(value: Any) -> str:
    """One value at full precision (``repr`` of floats round-trips); large arrays as a summary."""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, np.ndarray):
        if value.size <= _ARRAY_PREVIEW and value.dtype != object:
            return np.array2string(value, precision=17, separator=", ", floatmode="unique")
        return f"<array shape={value.shape} dtype={value.dtype}>"
    if isinstance(value, ResultMixin):
        return f"<{type(value).__name__}>"
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # a tensor
        return f"<{type(value).__name__} shape={tuple(value.shape)} dtype={value.dtype}>"
    if isinstance(value, (str, type(None), History, PurePath)):
        return repr(value)
    if isinstance(value, (dict, list, tuple)):
        text = repr(to_plain(value)) if _is_plain(value) else ""
        if text and len(text) <= 200:
            return text
        return f"<{type(value).__name__} of {len(value)}>"
    return f"<{type(value).__name__}>"


def _is_plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return isinstance(value, (str, int, float, bool, type(None), np.generic))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, int, float, type(None), np.generic))


def _names_preview(names: Any) -> str:
    names = list(names)
    shown = ", ".join(str(n) for n in names[:_ARRAY_PREVIEW])
    return shown if len(names) <= _ARRAY_PREVIEW else f"{shown}, ... ({len(names)} in all)"


def html_summary(title: str, rows: Mapping[str, Any]) -> str:
    """An HTML table for Jupyter (models' ``_repr_html_``): one row per entry, numbers at full
    precision (floats round-trip), small arrays in full, large ones as their shape, sequences of
    names as their first few."""
    cells = []
    for name, value in rows.items():
        if value is None:
            continue
        if isinstance(value, str):
            text = value
        elif isinstance(value, (tuple, list)) and value and all(isinstance(v, str) for v in value):
            text = _names_preview(value)
        else:
            text = _format(value)
        cells.append(f"<tr><th style='text-align:left'>{html.escape(str(name))}</th>"
                     f"<td style='text-align:left'><code>{html.escape(text)}</code></td></tr>")
    return f"<table><caption>{html.escape(title)}</caption>{''.join(cells)}</table>"


# ------------------------------------------------------------------------------------ the mixin
class ResultMixin:
    """What every result (and every record shown like one) can do.

    ``repr`` shows the fields named in ``_repr_fields`` (default: every scalar field) at full
    precision (floats round-trip); ``_repr_html_`` is a table of every field for Jupyter;
    :meth:`to_dict` gives plain JSON types (for the experiment store and the CLI);
    :meth:`to_frame` a one-row :class:`pandas.DataFrame` of the scalar fields and options, ready to
    concatenate over runs. Fields named in ``_dict_exclude`` (live objects such as torch modules
    or models) are left out of :meth:`to_dict` and :meth:`to_frame`.
    """

    _repr_fields: tuple[str, ...] = ()
    _dict_exclude: tuple[str, ...] = ()

    def _field_names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self)]  # type: ignore[arg-type]

    def to_dict(self, *, tidy: bool = False) -> dict[str, Any]:
        """All fields as plain JSON types (lists, floats, ints, strings, None), nested as the
        fields are (``params`` a dict, ``history`` a dict of columns).

        With ``tidy=True``, the one row of :meth:`to_frame` as columns of length one (every scalar
        field, each scalar option as ``params.<name>``), which ``pandas.DataFrame`` accepts as is:
        ``pd.DataFrame(result.to_dict(tidy=True))``; several runs concatenate with
        ``pd.DataFrame([r.to_dict(tidy=True) for r in runs])`` after ``explode``, or simply
        ``pd.concat([r.to_frame() for r in runs])``.
        """
        if tidy:
            return {name: [value] for name, value in self._row().items()}
        return {name: to_plain(getattr(self, name)) for name in self._field_names() if name not in self._dict_exclude}

    def _row(self) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name in self._field_names():
            if name in self._dict_exclude:
                continue
            value = getattr(self, name)
            if name == "params" and isinstance(value, dict):
                row.update({f"params.{k}": (v.item() if isinstance(v, np.generic) else v)
                            for k, v in value.items() if _is_scalar(v)})
            elif _is_scalar(value):
                row[name] = value.item() if isinstance(value, np.generic) else value
        return row

    def to_frame(self) -> Any:
        """A one-row :class:`pandas.DataFrame`: every scalar field, and each scalar option as
        ``params.<name>``. Per-iteration tables are ``result.history.to_frame()``."""
        pd = _require_pandas()
        return pd.DataFrame([self._row()])

    def __repr__(self) -> str:
        names = self._repr_fields or tuple(n for n in self._field_names() if _is_scalar(getattr(self, n)))
        parts = [f"{name}={_format(getattr(self, name))}" for name in names]
        return f"{type(self).__name__}({', '.join(parts)})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
            f"<td style='text-align:left'><code>{html.escape(_format(getattr(self, name)))}</code></td></tr>"
            for name in self._field_names()
        )
        return f"<table><caption>{html.escape(type(self).__name__)}</caption>{rows}</table>"


# ------------------------------------------------------------------------------------ the bases
@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class Result(ResultMixin):
    """Base of every result: what ran (``method``), with which options (``params``, plain JSON
    types) and for how long (``elapsed``, wall-clock seconds in the call; NaN where the call does
    not measure it). Keyword-only fields, so subclasses keep their own field order. A subclass's
    name ends in ``Result`` unless it is a :class:`CertifiedSolution`."""

    method: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    elapsed: float = math.nan


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class CertifiedSolution(Result):
    """Base of a planner's answer that carries a certificate (certified bound, bounds, a solver's
    optimality status or gap, documented by each subclass). A subclass's name ends in
    ``Solution``."""


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class ValueSolution(CertifiedSolution):
    r"""The block of fields every value-function planner returns (tabular, robust, games).

    Attributes
    ----------
    v : ndarray
        Value estimate, shape ``(S,)`` (see each subclass for other shapes).
    q : ndarray or None
        Action values from the last backup.
    policy : ndarray
        Action indices ``(S,)`` or probabilities ``(S, A)``.
    converged : bool
        Whether the stopping rule certified the answer.
    n_iter : int
        Iterations performed.
    residual : float
        ``||T v_n - v_n||_inf`` at the last backup.
    bound : float
        Certified bound on ``||v - v*||_inf``.
    lower, upper : ndarray or None
        Elementwise certified bounds ``lower <= v* <= upper`` where the method gives them.
    history : History
        Per-iteration progress (an array given at construction becomes a one-column table named
        ``residual``, which reads as that array).
    method, params, elapsed
        As for :class:`Result`.
    """

    v: Any
    q: Any
    policy: Any
    converged: bool
    n_iter: int
    residual: float
    bound: float
    lower: Any = None
    upper: Any = None
    history: History = dataclasses.field(default_factory=History)

    _repr_fields = ("method", "converged", "n_iter", "residual", "bound", "elapsed")

    def __post_init__(self) -> None:
        if not isinstance(self.history, History):
            object.__setattr__(self, "history", as_history(self.history, "residual"))


def as_history(value: Any, column: str) -> History:
    """``value`` as a :class:`History`: a mapping becomes its columns, a list of dicts its rows,
    a 1-D array one column named ``column``, a 2-D array its columns ``column_0, ...``."""
    if isinstance(value, History):
        return value
    if value is None:
        return History()
    if isinstance(value, Mapping):
        return History(value)
    if isinstance(value, list) and value and all(isinstance(r, Mapping) for r in value):
        return History.from_rows(value)
    arr = np.asarray(value)
    if arr.ndim == 2:
        return History({f"{column}_{j}": arr[:, j] for j in range(arr.shape[1])})
    return History({column: arr.reshape(-1)})


# ------------------------------------------------------------------------- deprecation helpers
class LegacyKeysMixin:
    """``result["key"]`` for results that replaced a dict return: reads the attribute, with a
    :class:`DeprecationWarning` (removed in :data:`theory_rl._deprecation.REMOVED_IN`)."""

    def __getitem__(self, key: str) -> Any:
        if not isinstance(key, str) or key not in {f.name for f in dataclasses.fields(self)}:  # type: ignore[arg-type]
            raise KeyError(key)
        warn_deprecated(f"{type(self).__name__}[{key!r}] (a result object, not a dict)", f"result.{key}")
        return getattr(self, key)


class TraceHistoryMixin:
    """``history`` for results that record ``trace``, a list of per-iteration dicts: the same
    records as a :class:`History` table (one column per key)."""

    @property
    def history(self) -> History:
        """``trace`` as a :class:`History` (one row per record, one column per key)."""
        return History.from_rows(list(self.trace))  # type: ignore[attr-defined]
