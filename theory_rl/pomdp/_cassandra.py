r"""Cassandra's ``.POMDP`` file format: reader and writer.

The format (A. R. Cassandra, pomdp-solve; also read by APPL SARSOP and ZMDP) is a preamble

.. code-block:: text

    discount: 0.95
    values: reward            # or cost (rewards are negated)
    states: 8                 # a count, or a list of names
    actions: listen open-left open-right
    observations: 2
    start: 0.5 0.5            # or: uniform | <state> | include: s1 s2 | exclude: s1

followed by entries, in any order, later ones overriding earlier ones, unspecified ones zero:

.. code-block:: text

    T: a : s : s' p      T: a : s  <row of S numbers | uniform>      T: a  <S x S matrix | identity | uniform>
    O: a : s' : o p      O: a : s' <row of |O| numbers | uniform>    O: a  <S x |O| matrix | identity | uniform>
    R: a : s : s' : o r  R: a : s : s' <row over o>                   R: a : s  <S x |O| matrix over (s', o)>

Every index is a name, a 0-based number, or the wildcard ``*``. Comments run from ``#`` to the
end of the line; line breaks are whitespace (so a value may sit on the next line); ``R:a`` and
``R : a`` are both accepted. The full reward ``R(a, s, s', o)`` is reduced to the expected reward
``R[s, a] = sum_{s', o} T[s, a, s'] O[a, s', o] R(a, s, s', o)``, exactly the quantity every
solver needs (this loses nothing for the optimal value or any policy's value).

Rows of ``T``, ``O`` and the start vector that miss 1 by more than the model's ``atol`` (1e-8) but
at most ``renormalize_atol`` (1e-5: the classic ``4x4.95.POMDP`` writes fifteen 0.066667 entries
that sum to 1.000005) are renormalised with a :class:`UserWarning` that names them; rows off by
more raise :class:`~theory_rl.errors.ParseError` naming the line of their last entry.

Hostile files. Before allocating, the reader estimates every table it will build from the
declared sizes (dense ``T``: ``A * S * S``, ``O``: ``A * S * |O|``, the per-row bookkeeping, each
reward layer ``R(a, s, s')`` / ``R(a, s, s', o)`` when an entry first needs it, the tokens of the
file, the pending entries of a sparse ``T``) and refuses an estimate above
:func:`theory_rl.max_bytes` with a :class:`~theory_rl.errors.ParseError` at the declaration or
entry that asked for it (the :class:`~theory_rl.errors.SizeLimitError` is its ``__cause__``).
Numbers are ASCII only and at most 100 characters long. Wildcard entries are vectorised, and a
sparse ``T`` (``S > 2000`` or ``sparse=True``) is a log of writes resolved by one sort, so the
work is linear in the file's size and the entries it writes (``T: * : * : * 0`` over 200,000
states is a reset, not 4e10 assignments).
"""

from __future__ import annotations

import gc
import os
import re
import warnings
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from .._validation import check_allocation, max_bytes
from ..errors import InvalidModelError, ParseError, SizeLimitError
from ..models import POMDP

__all__ = ["read_pomdp", "write_pomdp", "parse_pomdp"]

_PREAMBLE = ("discount", "values", "states", "actions", "observations", "start")
_KEYWORDS = frozenset(_PREAMBLE + ("T", "O", "R"))
_TOKEN = re.compile(r"[^\s:#]+|:")
# ASCII digits only: ``\d`` and ``int``/``float`` also accept other scripts' digits
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_INTEGER = re.compile(r"[0-9]+\Z")
#: Numeric tokens longer than this are rejected (Python's ``int`` refuses more than 4300 digits,
#: and no count, index or probability needs more than a few dozen characters).
_MAX_NUMBER_CHARS = 100
#: Transition tables with more than this many entries per action (S * S) are parsed into sparse rows.
_MAX_DENSE_T = 4_000_000
_MAX_STATES = 200_000
#: Rewards R(a, s, s') are tabulated densely per action: up to 2000 states.
_MAX_DENSE_R = 4_000_000
#: Bytes per token while parsing (the token object, its text and position), for the allocation estimate.
_TOKEN_BYTES = 160
#: Bytes per entry of the dense T / O tables (the table, the model's checks' temporaries, a CSR copy
#: of a table below 10% density).
_DENSE_BYTES = 12
#: Bytes per pending sparse transition entry (key, column, value, sequence number and the sort's temporaries).
_EVENT_BYTES = 96
#: Pending sparse entries are merged (later ones override earlier ones) when their count passes this.
_COMPACT_EVENTS = 2_000_000


class _Tok(NamedTuple):
    text: str
    line: int
    column: int


def _tokens(text: str, file: str) -> list[_Tok]:
    n_tokens = (len(text) + 1) // 2  # at most one token in two characters
    if n_tokens * _TOKEN_BYTES > max_bytes():  # count them exactly, without allocating
        n_tokens = sum(1 for _ in _TOKEN.finditer(text))
    _guard(n_tokens * _TOKEN_BYTES, f"the {n_tokens} tokens of a {len(text)}-character file", file, None)
    out: list[_Tok] = []
    append = out.append
    # the tokens hold no reference cycles: pausing the cyclic collector halves the time (it
    # would otherwise walk the growing list again and again)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for lineno, line in enumerate(text.splitlines(), start=1):
            if "#" in line:
                line = line.split("#", 1)[0]
            for m in _TOKEN.finditer(line):
                append(_Tok(m.group(), lineno, m.start() + 1))
    finally:
        if was_enabled:
            gc.enable()
    return out


def _guard(nbytes: int, what: str, file: str, line: int | None, column: int | None = None) -> None:
    """:func:`check_allocation` as a :class:`ParseError` at ``file:line`` (the SizeLimitError is its cause)."""
    try:
        check_allocation(nbytes, what)
    except SizeLimitError as exc:
        raise ParseError(str(exc), file=file, line=line, column=column) from exc


def _statement_starts(toks: list[_Tok]) -> Iterator[int]:
    for i, t in enumerate(toks):
        if t.text in _KEYWORDS:
            nxt = toks[i + 1].text if i + 1 < len(toks) else ""
            if nxt == ":" or (t.text == "start" and nxt in ("include", "exclude")):
                yield i


def _count(sel: int | slice, n: int) -> int:
    return n if isinstance(sel, slice) else 1


def _ids(sel: int | slice, n: int) -> np.ndarray:
    return np.arange(n) if isinstance(sel, slice) else np.array([sel])


class _Reader:
    def __init__(self, text: str, file: str, renormalize_atol: float, sparse: bool | None,
                 renormalize: bool = True) -> None:
        self.file = file
        self.renormalize = renormalize
        self.toks = _tokens(text, file)
        self.renormalize_atol = renormalize_atol
        self.sparse = sparse
        self.discount: float | None = None
        self.values = "reward"
        self.names: dict[str, list[str] | None] = {}
        self.lookup: dict[str, dict[str, int]] = {}
        self.sizes: dict[str, int] = {}
        self.decl_line: dict[str, int] = {}
        self.start: np.ndarray | None = None
        self.start_line = 0
        self.entries_begun = False

    # ------------------------------------------------------------------ errors and atoms
    def error(self, message: str, tok: _Tok | None = None, line: int | None = None) -> ParseError:
        if tok is not None:
            return ParseError(message, file=self.file, line=tok.line, column=tok.column)
        return ParseError(message, file=self.file, line=line)

    def number(self, tok: _Tok, what: str) -> float:
        if not _NUMBER.match(tok.text):
            raise self.error(f"expected {what} (a number), found {_short(tok.text)}", tok)
        if len(tok.text) > _MAX_NUMBER_CHARS:
            raise self.error(f"expected {what}, found a number of {len(tok.text)} characters "
                             f"(at most {_MAX_NUMBER_CHARS})", tok)
        value = float(tok.text)
        if not np.isfinite(value):
            raise self.error(f"expected {what} (a finite number), found {tok.text!r}", tok)
        return value

    def integer(self, tok: _Tok, what: str) -> int:
        """A token that matched ``_INTEGER``, refusing over-long ones (``int`` stops at 4300 digits)."""
        if len(tok.text) > _MAX_NUMBER_CHARS:
            raise self.error(f"expected {what}, found an integer of {len(tok.text)} digits "
                             f"(at most {_MAX_NUMBER_CHARS})", tok)
        return int(tok.text)

    def numbers(self, toks: list[_Tok], count: int, what: str, end: _Tok) -> np.ndarray:
        if len(toks) != count:
            where = toks[count] if len(toks) > count else (toks[-1] if toks else end)
            raise self.error(f"expected {count} numbers for {what}, found {len(toks)}", where)
        return np.array([self.number(t, what) for t in toks], dtype=float)

    def index(self, tok: _Tok | None, kind: str, end: _Tok) -> int | slice:
        """A name, a 0-based index or ``*`` -> the index (``slice(None)`` for ``*``)."""
        if tok is None:
            raise self.error(f"expected a {kind} (name, index or '*')", end)
        n = self.sizes[kind]
        if tok.text == "*":
            return slice(None)
        if _INTEGER.match(tok.text):
            i = self.integer(tok, f"a {kind} index")
            if i >= n:
                raise self.error(f"{kind} index {i} is out of range [0, {n})", tok)
            return i
        lookup = self.lookup.get(kind)
        if lookup is None or tok.text not in lookup:
            raise self.error(f"unknown {kind} {_short(tok.text)}", tok)
        return lookup[tok.text]

    def reserve(self, nbytes: int, what: str, tok: _Tok) -> None:
        """Refuse (ParseError at ``tok``) when what is allocated so far plus ``nbytes`` passes the limit."""
        pending = self.T.n * _EVENT_BYTES if not self.dense_T else 0
        _guard(self.base_bytes + self.extra_bytes + pending + nbytes, what, self.file, tok.line, tok.column)

    # ------------------------------------------------------------------ statements
    def parse(self) -> POMDP:
        toks = self.toks
        starts = list(_statement_starts(toks))
        if not toks:
            raise self.error("the file is empty (expected 'discount:', 'states:', ...)", line=1)
        if not starts or starts[0] != 0:
            raise self.error("expected a keyword (discount, values, states, actions, observations, start, T, O, R) "
                             f"followed by ':', found {_short(toks[0].text)}", toks[0])
        bounds = starts + [len(toks)]
        for i, j in zip(bounds[:-1], bounds[1:]):
            self.statement(toks[i:j], toks[j] if j < len(toks) else toks[-1])
        return self.finish()

    def statement(self, st: list[_Tok], end: _Tok) -> None:
        key = st[0].text
        if key in _PREAMBLE:
            if key == "start" and st[1].text in ("include", "exclude"):
                if len(st) < 3 or st[2].text != ":":
                    raise self.error(f"expected ':' after 'start {st[1].text}'", st[2] if len(st) > 2 else end)
                self.need_sizes(st[0])
                self.start_include(st[1].text, st[3:], st[0], end)
            else:
                getattr(self, f"pre_{key}")(st[2:], st[0], end)
            return
        if not self.entries_begun:
            self.need_sizes(st[0])
            self.begin_entries()
        getattr(self, f"entry_{key}")(st, end)

    def need_sizes(self, tok: _Tok) -> None:
        for kind in ("states", "actions", "observations"):
            if kind not in self.sizes:
                raise self.error(f"'{tok.text}' before the preamble declared '{kind}:'", tok)

    def pre_discount(self, body: list[_Tok], kw: _Tok, end: _Tok) -> None:
        if len(body) != 1:
            raise self.error("expected one number after 'discount:'", body[1] if body else end)
        value = self.number(body[0], "the discount")
        if not 0.0 <= value <= 1.0:
            raise self.error(f"discount {value} is outside [0, 1]", body[0])
        self.discount = value

    def pre_values(self, body: list[_Tok], kw: _Tok, end: _Tok) -> None:
        if len(body) != 1 or body[0].text not in ("reward", "cost"):
            raise self.error("expected 'reward' or 'cost' after 'values:'", body[0] if body else end)
        self.values = body[0].text

    def _sizes(self, kind: str, body: list[_Tok], kw: _Tok, end: _Tok) -> None:
        if self.entries_begun:
            raise self.error(f"'{kind}:' after the first T/O/R entry", kw)
        if kind in self.sizes:
            raise self.error(f"'{kind}:' is declared twice", kw)
        if not body:
            raise self.error(f"expected a count or a list of names after '{kind}:'", end)
        self.decl_line[kind] = kw.line
        if len(body) == 1 and _INTEGER.match(body[0].text):
            n = self.integer(body[0], f"a count after '{kind}:'")
            if not 1 <= n <= _MAX_STATES:
                raise self.error(f"expected a count in [1, {_MAX_STATES}] after '{kind}:', found {n}", body[0])
            self.sizes[kind], self.names[kind] = n, None
            self.check_sizes(kw.line)
            return
        if len(body) > _MAX_STATES:
            raise self.error(f"more than {_MAX_STATES} {kind}", body[_MAX_STATES])
        lookup: dict[str, int] = {}
        for t in body:
            if t.text == ":" or t.text[0].isdigit() or t.text in ("*", "-") or t.text[0] in "+-.":
                raise self.error(f"expected a {kind[:-1]} name (not starting with a digit or sign), "
                                 f"found {_short(t.text)}", t)
            if t.text in lookup:
                raise self.error(f"{kind[:-1]} name {_short(t.text)} is listed twice", t)
            lookup[t.text] = len(lookup)
        self.sizes[kind], self.names[kind], self.lookup[kind] = len(lookup), list(lookup), lookup
        self.check_sizes(kw.line)

    def pre_states(self, body: list[_Tok], kw: _Tok, end: _Tok) -> None:
        self._sizes("states", body, kw, end)

    def pre_actions(self, body: list[_Tok], kw: _Tok, end: _Tok) -> None:
        self._sizes("actions", body, kw, end)

    def pre_observations(self, body: list[_Tok], kw: _Tok, end: _Tok) -> None:
        self._sizes("observations", body, kw, end)

    def pre_start(self, body: list[_Tok], kw: _Tok, end: _Tok) -> None:
        if "states" not in self.sizes:
            raise self.error("'start:' before 'states:'", kw)
        S = self.sizes["states"]
        self.start_line = kw.line
        if len(body) == 1 and body[0].text == "uniform":
            self.start = np.full(S, 1.0 / S)
        elif len(body) == S and all(_NUMBER.match(t.text) for t in body) and not (S == 1 and _INTEGER.match(body[0].text)):
            self.start = self.numbers(body, S, "the start belief", end)
            if self.start.min() < 0:
                raise self.error("the start belief has a negative entry", body[int(np.argmin(self.start))])
        elif len(body) == 1:
            b = np.zeros(S)
            b[self.index(body[0], "states", end)] = 1.0
            self.start = b
        else:
            raise self.error(f"expected {S} probabilities, 'uniform' or one state after 'start:', "
                             f"found {len(body)} tokens", body[0] if body else end)

    def start_include(self, how: str, body: list[_Tok], kw: _Tok, end: _Tok) -> None:
        S = self.sizes["states"]
        if not body:
            raise self.error(f"expected a list of states after 'start {how}:'", end)
        listed = np.zeros(S, dtype=bool)
        for t in body:
            listed[self.index(t, "states", end)] = True
        chosen = listed if how == "include" else ~listed
        if not chosen.any():
            raise self.error(f"'start {how}:' leaves no state with positive probability", kw)
        self.start = chosen / chosen.sum()
        self.start_line = kw.line

    # ------------------------------------------------------------------ entries
    def check_sizes(self, line: int) -> int:
        """Estimate every table the entries and :meth:`finish` build from the sizes declared so far
        (an undeclared count is 1) and refuse above the memory limit at ``line``; returns the bytes."""
        if "states" not in self.sizes or "actions" not in self.sizes:
            return 0
        S, A, n_obs = (self.sizes.get(k, 1) for k in ("states", "actions", "observations"))
        if self.sparse is None:
            self.dense_T = S * S <= _MAX_DENSE_T
        else:
            self.dense_T = not self.sparse
        # per (a, s): T_line, O_line, R2, R, the row sums and scales; the sparse kernel's row resets
        per_row = 6 * 8 + (0 if self.dense_T else 8)
        common = per_row * A * S + _DENSE_BYTES * A * S * n_obs
        nbytes = common + _DENSE_BYTES * A * S * S if self.dense_T else common
        what = f"the tables of a .POMDP model with {S} states, {A} actions and {n_obs} observations"
        try:
            check_allocation(nbytes, what + (" (dense T)" if self.dense_T else " (sparse T)"))
        except SizeLimitError as exc:
            hint = ""
            if self.dense_T and self.sparse is None and common <= max_bytes():
                hint = "; read_pomdp(..., sparse=True) stores T as sparse rows instead"
            raise ParseError(str(exc) + hint, file=self.file, line=line) from exc
        return nbytes

    def begin_entries(self) -> None:
        """Check the allocation estimate (:meth:`check_sizes`) and allocate the tables."""
        S, A, n_obs = (self.sizes[k] for k in ("states", "actions", "observations"))
        nbytes = self.check_sizes(max(self.decl_line.values()))
        self.base_bytes, self.extra_bytes = nbytes, 0
        self.entries_begun = True
        self.T: Any = np.zeros((S, A, S)) if self.dense_T else _SparseT(S, A)
        self.O = np.zeros((A, S, n_obs))
        self.T_line = np.zeros((A, S), dtype=np.int64)  # line of the last entry touching each row
        self.O_line = np.zeros((A, S), dtype=np.int64)
        # rewards in layers (R(a,s) / R(a,s,s') / R(a,s,s',o)), each made only when an entry needs it,
        # so that later entries override earlier ones exactly as in pomdp-solve
        self.R2 = np.zeros((A, S))
        self.R3: dict[int, np.ndarray] = {}
        self.R4: dict[int, np.ndarray] = {}

    def split(self, st: list[_Tok], n_max: int, end: _Tok) -> list[list[_Tok]]:
        """``K : x : y : z rest`` -> [[x], [y], [z, rest...]] (parts after the keyword's colon)."""
        parts: list[list[_Tok]] = []
        for t in st[2:]:
            if t.text == ":":
                parts.append([])
            else:
                if not parts:
                    parts.append([])
                parts[-1].append(t)
        if not parts:
            raise self.error(f"expected an action after '{st[0].text}:'", end)
        if len(parts) > n_max:
            raise self.error(f"'{st[0].text}:' takes at most {n_max} indices separated by ':'", st[0])
        for k, p in enumerate(parts):
            if not p:
                raise self.error(f"expected an index (name, number or '*') in part {k + 1} of '{st[0].text}:'", st[0])
            if k < len(parts) - 1 and len(p) != 1:
                raise self.error(f"expected ':' after {_short(p[0].text)}", p[1])
        return parts

    def probability_block(self, toks: list[_Tok], shape: tuple[int, int], what: str, end: _Tok,
                          identity_ok: bool) -> np.ndarray:
        if len(toks) == 1 and toks[0].text == "uniform":
            return np.full(shape, 1.0 / shape[1])
        if len(toks) == 1 and toks[0].text == "identity":
            if not identity_ok or shape[0] != shape[1]:
                raise self.error(f"'identity' needs a square matrix, {what} is {shape[0]} x {shape[1]}", toks[0])
            return np.eye(shape[0])
        vals = self.numbers(toks, shape[0] * shape[1], what, end).reshape(shape)
        if vals.min() < 0:
            bad = toks[int(np.argmin(vals.ravel()))]
            raise self.error(f"negative probability {bad.text} in {what}", bad)
        return vals

    def entry_T(self, st: list[_Tok], end: _Tok) -> None:
        parts = self.split(st, 3, end)
        S = self.sizes["states"]
        acts = self.index(parts[0][0], "actions", end)
        rows: int | slice = slice(None)
        if len(parts) == 1:
            toks = parts[0][1:]
            if not self.dense_T and len(toks) == 1 and toks[0].text in ("identity", "uniform"):
                if toks[0].text == "identity":  # without a dense S x S block
                    r = np.arange(S)
                    self.sparse_put(acts, "matrix", r, r, np.ones(S), st[0])
                else:
                    self.reserve_events(_count(acts, self.sizes["actions"]) * S * S, st[0])
                    self.sparse_put(acts, "matrix", np.repeat(np.arange(S), S), np.tile(np.arange(S), S),
                                    np.full(S * S, 1.0 / S), st[0])
            else:
                block = self.probability_block(toks, (S, S), f"T: {parts[0][0].text}", end, True)
                if self.dense_T:
                    self.T[:, acts, :] = block[:, None, :] if isinstance(acts, slice) else block
                else:
                    r, c = np.nonzero(block)
                    self.sparse_put(acts, "matrix", r, c, block[r, c], st[0])
        elif len(parts) == 2:
            rows = self.index(parts[1][0], "states", end)
            row = self.probability_block(parts[1][1:], (1, S), f"T: ... : {parts[1][0].text}", end, False)[0]
            if self.dense_T:
                self.T[rows, acts, :] = row
            else:
                row_ids, c = _ids(rows, S), np.flatnonzero(row)
                self.reserve_events(_count(acts, self.sizes["actions"]) * row_ids.size * c.size, st[0])
                self.sparse_put(acts, row_ids, np.repeat(row_ids, c.size), np.tile(c, row_ids.size),
                                np.tile(row[c], row_ids.size), st[0])
        else:
            rows, cols, p = self.single_probability(parts, "states", "a transition probability", end)
            if self.dense_T:
                self.T[rows, acts, cols] = p
            elif isinstance(cols, slice):  # whole rows: reset them, then write p everywhere (if not 0)
                row_ids = _ids(rows, S)
                k = S if p != 0 else 0  # entries per row
                self.reserve_events(_count(acts, self.sizes["actions"]) * row_ids.size * k, st[0])
                reset: Any = "matrix" if isinstance(rows, slice) else row_ids
                self.sparse_put(acts, reset, np.repeat(row_ids, k), np.tile(np.arange(k), row_ids.size),
                                np.full(row_ids.size * k, p), st[0])
            elif not isinstance(rows, slice) and not isinstance(acts, slice):  # one entry: no arrays
                self.T.put_one(rows * self.sizes["actions"] + acts, cols, p)
            else:
                row_ids = _ids(rows, S)
                self.reserve_events(_count(acts, self.sizes["actions"]) * row_ids.size, st[0])
                self.sparse_put(acts, None, row_ids, np.full(row_ids.size, cols), np.full(row_ids.size, p), st[0])
        self.T_line[acts, rows] = st[0].line

    def single_probability(self, parts: list[list[_Tok]], column_kind: str, what: str,
                           end: _Tok) -> tuple[int | slice, int | slice, float]:
        """``(rows, cols, p)`` of a one-number statement ``T/O: action : state : column p``, with
        ``p >= 0`` checked; ``column_kind`` is ``"states"`` (T) or ``"observations"`` (O)."""
        rows = self.index(parts[1][0], "states", end)
        cols = self.index(parts[2][0], column_kind, end)
        p = self.numbers(parts[2][1:], 1, what, end)[0]
        if p < 0:
            raise self.error(f"negative probability {p}", parts[2][1])
        return rows, cols, p

    def reserve_events(self, n: int, tok: _Tok) -> None:
        self.reserve(n * _EVENT_BYTES, f"{n} transition entries (written by this statement)", tok)

    def sparse_put(self, acts: int | slice, reset: Any, r: np.ndarray, c: np.ndarray, v: np.ndarray,
                   tok: _Tok) -> None:
        self.reserve_events(r.size * _count(acts, self.sizes["actions"]), tok)
        self.T.put(_ids(acts, self.sizes["actions"]), reset, r, c, v)

    def entry_O(self, st: list[_Tok], end: _Tok) -> None:
        parts = self.split(st, 3, end)
        S, n_obs = self.sizes["states"], self.sizes["observations"]
        acts = self.index(parts[0][0], "actions", end)
        vals: Any
        if len(parts) == 1:
            vals = self.probability_block(parts[0][1:], (S, n_obs), f"O: {parts[0][0].text}", end, True)
            rows, cols = slice(None), slice(None)
        elif len(parts) == 2:
            rows = self.index(parts[1][0], "states", end)
            vals = self.probability_block(parts[1][1:], (1, n_obs), f"O: ... : {parts[1][0].text}", end, False)[0]
            cols = slice(None)
        else:
            rows, cols, vals = self.single_probability(parts, "observations", "an observation probability", end)
        self.O[acts, rows, cols] = vals
        self.O_line[acts, rows] = st[0].line

    def entry_R(self, st: list[_Tok], end: _Tok) -> None:
        parts = self.split(st, 4, end)
        S, n_obs = self.sizes["states"], self.sizes["observations"]
        if len(parts) < 2:
            raise self.error("expected 'R: action : state ...' (rewards need at least a start state)", st[0])
        acts = self.index(parts[0][0], "actions", end)
        s = self.index(parts[1][0], "states", end)
        if len(parts) == 2:  # matrix over (s', o)
            vals = self.numbers(parts[1][1:], S * n_obs, "R: ... matrix over (end state, observation)", end)
            self.set_reward(acts, s, slice(None), slice(None), vals.reshape(S, n_obs), full=True, tok=st[0])
            return
        s2 = self.index(parts[2][0], "states", end)
        if len(parts) == 3:  # row over o
            vals = self.numbers(parts[2][1:], n_obs, "R: ... row over observations", end)
            self.set_reward(acts, s, s2, slice(None), vals, full=True, tok=st[0])
            return
        o = self.index(parts[3][0], "observations", end)
        value = self.numbers(parts[3][1:], 1, "a reward", end)[0]
        self.set_reward(acts, s, s2, o, value, full=not isinstance(o, slice), tok=st[0])

    def set_reward(self, acts: int | slice, s: Any, s2: Any, o: Any, value: Any, *, full: bool, tok: _Tok) -> None:
        S, A, n_obs = (self.sizes[k] for k in ("states", "actions", "observations"))
        act_ids = range(A) if isinstance(acts, slice) else (acts,)
        if not full and isinstance(s2, slice):
            self.R2[acts, s] = value
            for a in _layers(self.R3, acts):
                self.R3[a][s, :] = value
            for a in _layers(self.R4, acts):
                self.R4[a][s, :, :] = value
            return
        missing = [a for a in act_ids if a not in self.R3]
        if missing:
            if S * S > _MAX_DENSE_R:
                raise self.error("rewards that depend on the next state or the observation are only "
                                 f"supported up to {int(_MAX_DENSE_R ** 0.5)} states", tok)
            nbytes = 8 * S * S * len(missing)
            self.reserve(nbytes, f"rewards R(a, s, s') for {len(missing)} actions of a {S}-state model", tok)
            self.extra_bytes += nbytes
            for a in missing:
                self.R3[a] = np.repeat(self.R2[a][:, None], S, axis=1)
        if not full:
            for a in act_ids:
                self.R3[a][s, s2] = value
            for a in _layers(self.R4, acts):
                self.R4[a][s, s2] = value
            return
        missing = [a for a in act_ids if a not in self.R4]
        if missing:
            # the layers, and one dense S x S copy of a sparse T_a while reducing them
            nbytes = 8 * S * S * n_obs * len(missing) + (8 * S * S if not self.R4 else 0)
            self.reserve(nbytes, f"rewards R(a, s, s', o) for {len(missing)} actions of a model with {S} states "
                         f"and {n_obs} observations", tok)
            self.extra_bytes += nbytes
            for a in missing:
                self.R4[a] = np.repeat(self.R3[a][:, :, None], n_obs, axis=2)
        for a in act_ids:
            self.R4[a][s, s2, o] = value

    # ------------------------------------------------------------------ the model
    def finish(self) -> POMDP:
        for kind in ("states", "actions", "observations"):
            if kind not in self.sizes:
                raise self.error(f"the preamble has no '{kind}:' line", line=1)
        if self.discount is None:
            raise self.error("the preamble has no 'discount:' line", line=1)
        if not self.entries_begun:
            self.begin_entries()
        S, A, n_obs = (self.sizes[k] for k in ("states", "actions", "observations"))
        atol = 1e-8
        T: np.ndarray | None
        if self.dense_T:
            T = self.T  # (S, A, S)
            sums = T.sum(axis=2).T  # (A, S)
        else:
            T = None
            csr = self.T.to_csr()  # (S*A, S), row s*A + a
            sums = np.asarray(csr.sum(axis=1)).reshape(S, A).T
        scale_T = self.row_scale(sums, "T", self.T_line)
        scale_O = self.row_scale(self.O.sum(axis=2), "O", self.O_line)
        self.O *= scale_O[:, :, None]
        O = self.O  # noqa: E741
        if T is not None:
            T *= scale_T.T[:, :, None]
            rows = T.reshape(S * A, S)
            use_sparse = self.sparse if self.sparse is not None else (S >= 500 and np.count_nonzero(rows) < 0.1 * rows.size)
            T_out: Any = sp.csr_matrix(rows) if use_sparse else T
        else:
            csr.data *= np.repeat(scale_T.T.ravel(), np.diff(csr.indptr))
            T_out = csr
        R = np.ascontiguousarray(self.R2.T)  # (S, A); actions with next-state rewards below
        for a in sorted(set(self.R3) | set(self.R4)):
            if a in self.R4:
                Ta = T[:, a, :] if T is not None else T_out[a::A].toarray()
                R[:, a] = np.einsum("st,to,sto->s", Ta, O[a], self.R4[a])
            else:
                Ta = T[:, a, :] if T is not None else T_out[a::A]
                R[:, a] = np.asarray(Ta.multiply(self.R3[a]).sum(axis=1)).ravel() if sp.issparse(Ta) else (Ta * self.R3[a]).sum(axis=1)
        if self.values == "cost":
            R = -R
        b0 = self.start
        if b0 is not None:
            total = b0.sum()
            if abs(total - 1.0) > atol and self.renormalize:
                if abs(total - 1.0) > self.renormalize_atol:
                    raise self.error(f"the start belief sums to {total:.10g} (expected 1 within {self.renormalize_atol:g})",
                                     line=self.start_line)
                warnings.warn(f"{self.file}: the start belief sums to {total:.10g}; renormalised", UserWarning, stacklevel=4)
                b0 = b0 / total
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # infinite expected rewards are reported by the model
                return POMDP(T_out, O, R, self.discount, b0=b0, state_names=self.names["states"],
                             atol=atol if self.renormalize else self.renormalize_atol,
                             action_names=self.names["actions"], observation_names=self.names["observations"])
        except InvalidModelError as exc:
            raise self.error(f"the file describes an invalid model: {exc}", line=1) from None

    def row_scale(self, sums: np.ndarray, name: str, lines: np.ndarray) -> np.ndarray:
        """1/sum for rows to renormalise (warned), 1 for good rows; ParseError for bad ones."""
        off = np.abs(sums - 1.0)
        bad = off > self.renormalize_atol
        if bad.any():
            a, s = (int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
            line = int(lines[a, s]) or None
            what = "no entry sets it" if line is None else "its last entry is on this line"
            raise self.error(f"{name}: {self._name('actions', a)} : {self._name('states', s)} sums to "
                             f"{sums[a, s]:.10g} (expected 1 within {self.renormalize_atol:g}; {what})", line=line)
        fix = off > 1e-8
        scale = np.ones_like(sums)
        if fix.any() and self.renormalize:
            a, s = (int(i) for i in np.unravel_index(int(np.argmax(off)), off.shape))
            warnings.warn(f"{self.file}: {int(fix.sum())} rows of {name} do not sum to 1 within 1e-08 "
                          f"(worst: {name}: {self._name('actions', a)} : {self._name('states', s)} sums to "
                          f"{sums[a, s]:.10g}); renormalised", UserWarning, stacklevel=4)
            scale[fix] = 1.0 / sums[fix]
        return scale

    def _name(self, kind: str, i: int) -> str:
        names = self.names.get(kind)
        return names[i] if names else str(i)


def _short(text: str, n: int = 40) -> str:
    """``repr`` of a token, cut to ``n`` characters (a hostile token may be megabytes long)."""
    return repr(text) if len(text) <= n else repr(text[:n]) + f"... ({len(text)} characters)"


def _layers(layers: dict[int, np.ndarray], acts: int | slice) -> list[int]:
    """The actions among ``acts`` that already have a reward layer."""
    if isinstance(acts, slice):
        return list(layers)
    return [acts] if acts in layers else []


class _SparseT:
    """The transition kernel as a log of writes, resolved with sorts (models too large for dense
    tables while parsing).

    Each statement gets a sequence number; it may reset whole rows or whole matrices (``T: a : s
    <row>``, ``T: a <matrix>``, ``T: a : s : * 0``) and write entries. An entry survives when no
    later statement reset its row or wrote its cell; zeros are dropped. Work and memory are linear
    in the entries written (merged whenever the log doubles), never in ``S * S``.
    Rows are keyed ``s * A + a``: the ``(S*A, S)`` layout of :class:`POMDP`.
    """

    def __init__(self, n_states: int, n_actions: int) -> None:
        self.S, self.A = n_states, n_actions
        self.keys: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.seqs: list[np.ndarray] = []
        self.n = 0  # entries in the log
        self.n_merged = 0  # entries after the last merge
        self.seq = 0
        self.one: list[tuple[int, int, float, int]] = []  # single entries not yet in the arrays
        self.row_reset = np.zeros(n_states * n_actions, dtype=np.int64)  # sequence number of the last reset
        self.matrix_reset = np.zeros(n_actions, dtype=np.int64)

    def put(self, acts: np.ndarray, reset: Any, r: np.ndarray, c: np.ndarray, v: np.ndarray) -> None:
        """Statement: reset ``"matrix"``, rows ``reset`` or nothing (``None``) of each action in
        ``acts``, then write ``T_a[r[k], c[k]] = v[k]``."""
        self.seq += 1
        if isinstance(reset, str):
            self.matrix_reset[acts] = self.seq
        elif reset is not None:
            self.row_reset[(reset[:, None] * self.A + acts[None, :]).ravel()] = self.seq
        if r.size == 0:
            return
        keys = (r.astype(np.int64)[:, None] * self.A + acts[None, :]).ravel()
        self.keys.append(keys)
        self.cols.append(np.repeat(c.astype(np.int64), acts.size))
        self.vals.append(np.repeat(np.asarray(v, dtype=float), acts.size))
        self.seqs.append(np.full(keys.size, self.seq, dtype=np.int64))
        self.n += keys.size
        if self.n > max(_COMPACT_EVENTS, 2 * self.n_merged):
            self.merge()

    def put_one(self, key: int, col: int, value: float) -> None:
        """Statement ``T: a : s : s' p`` (row key ``s * A + a``), buffered in lists."""
        self.seq += 1
        self.one.append((key, col, value, self.seq))
        self.n += 1
        if len(self.one) >= _COMPACT_EVENTS:
            self.flush()
        if self.n > max(_COMPACT_EVENTS, 2 * self.n_merged):
            self.merge()

    def flush(self) -> None:
        if self.one:
            arr = np.array(self.one, dtype=float).T
            self.keys.append(arr[0].astype(np.int64))
            self.cols.append(arr[1].astype(np.int64))
            self.vals.append(arr[2])
            self.seqs.append(arr[3].astype(np.int64))
            self.one = []

    def merge(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Resolve the log to the current non-zeros, sorted by (row key, column)."""
        self.flush()
        if not self.keys:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        key, col = np.concatenate(self.keys), np.concatenate(self.cols)
        val, seq = np.concatenate(self.vals), np.concatenate(self.seqs)
        alive = seq >= np.maximum(self.row_reset[key], self.matrix_reset[key % self.A])
        key, col, val, seq = key[alive], col[alive], val[alive], seq[alive]
        order = np.lexsort((seq, col, key))
        key, col, val = key[order], col[order], val[order]
        last = np.ones(key.size, dtype=bool)
        last[:-1] = (key[1:] != key[:-1]) | (col[1:] != col[:-1])
        keep = last & (val != 0.0)
        key, col, val = key[keep], col[keep], val[keep]
        self.keys, self.cols, self.vals = [key], [col], [val]
        self.seqs = [np.full(key.size, self.seq, dtype=np.int64)]
        self.n = self.n_merged = key.size
        return key, col, val

    def to_csr(self) -> sp.csr_matrix:
        key, col, val = self.merge()
        indptr = np.zeros(self.S * self.A + 1, dtype=np.int64)
        np.cumsum(np.bincount(key, minlength=self.S * self.A), out=indptr[1:])
        return sp.csr_matrix((val, col, indptr), shape=(self.S * self.A, self.S))


def parse_pomdp(text: str, *, file: str = "<string>", renormalize_atol: float = 1e-5,
                sparse: bool | None = None, renormalize: bool = True) -> POMDP:
    """Parse the text of a ``.POMDP`` file (see :func:`read_pomdp`).

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> text = pomdp.problem_path('tiger.95.POMDP').read_text()
    >>> m = pomdp.parse_pomdp(text)
    >>> m.n_states, m.n_actions, m.n_observations, m.gamma
    (2, 3, 2, 0.95)
    """
    return _Reader(text, file, renormalize_atol, sparse, renormalize).parse()


def read_pomdp(path: str | os.PathLike[str], *, renormalize_atol: float = 1e-5, sparse: bool | None = None,
               renormalize: bool = True) -> POMDP:
    """Read a POMDP from a Cassandra ``.POMDP`` file.

    Parameters
    ----------
    path : path-like
    renormalize_atol : float
        Rows of ``T``/``O`` and the start vector that miss 1 by at most this much are renormalised
        with a warning; rows off by more are an error.
    sparse : bool, optional
        Parse ``T`` into sparse rows and return CSR (``True``), parse and return it dense
        (``False``), or decide (default: sparse rows when ``S * S > 4e6``; dense tables
        otherwise, returned as CSR when ``S >= 500`` and fewer than 10% of entries are
        non-zero). ``True`` reads models whose dense ``T`` would pass the memory limit.
    renormalize : bool
        ``False`` keeps the numbers exactly as written (rows off by at most ``renormalize_atol``
        are accepted unchanged and the model gets ``atol=renormalize_atol``): the model that
        tools without renormalisation (pomdp-solve) solve.

    Returns
    -------
    POMDP
        With the file's names; rewards reduced to ``R[s, a]`` (negated for ``values: cost``);
        ``b0`` from ``start`` (uniform when absent).

    Raises
    ------
    ParseError
        With the file, the line (and column) and what was expected, for every malformed file;
        also for a file whose tables would need more than :func:`theory_rl.max_bytes` (the
        message is the :class:`~theory_rl.errors.SizeLimitError`'s, which is the ``__cause__``).

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> m = pomdp.read_pomdp(pomdp.problem_path('tiger.95.POMDP'))
    >>> m.action_names
    ('listen', 'open-left', 'open-right')
    """
    path = os.fspath(path)
    cap = max_bytes() // (_TOKEN_BYTES // 2)  # the largest file whose tokens surely fit the limit
    try:
        with open(path, "rb") as fh:
            data = fh.read(cap + 1)  # never more (a FIFO or /dev/zero would never end)
        if len(data) > cap:  # count the tokens exactly before refusing
            with open(path, "rb") as fh:
                data = fh.read(max_bytes() // 4 + 1)
            _guard(len(data) * 4, f"the text of a file of more than {len(data)} bytes", path, None)
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not a text file ({exc.reason} at byte {exc.start})", file=path) from None
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror}", file=path) from None
    return parse_pomdp(text, file=path, renormalize_atol=renormalize_atol, sparse=sparse, renormalize=renormalize)


def _fmt(x: float) -> str:
    return repr(float(x))


def write_pomdp(model: POMDP, path: str | os.PathLike[str], *, comment: str | None = None) -> None:
    """Write ``model`` as a Cassandra ``.POMDP`` file that :func:`read_pomdp` reads back exactly.

    Rewards are written as ``R: a : s : * : * r`` (the model stores expected rewards
    ``R[s, a]``); probabilities as full matrices for dense models and as ``T: a : s : s' p``
    entries for sparse ones. Numbers are written with ``repr`` (shortest exact round trip).

    Examples
    --------
    >>> import numpy as np
    >>> import os, tempfile
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> path = os.path.join(tempfile.mkdtemp(), 'tiger.POMDP')
    >>> pomdp.write_pomdp(tiger, path)
    >>> back = pomdp.read_pomdp(path)
    >>> bool(np.allclose(back.R, tiger.R))
    True
    """
    S, A, n_obs = model.n_states, model.n_actions, model.n_observations
    names = {"states": model.state_names, "actions": model.action_names, "observations": model.observation_names}
    for kind, ns in names.items():
        for n in ns or ():
            if not n or n[0].isdigit() or n[0] in "+-.*" or re.search(r"[\s:#]", n) or n in _KEYWORDS:
                raise InvalidModelError(f"{kind[:-1]} name {n!r} cannot be written in the .POMDP format")
    st = model.state_names
    an = model.action_names
    on = model.observation_names

    def label(ns: tuple[str, ...] | None, i: int) -> str:
        return ns[i] if ns else str(i)

    out = []
    if comment:
        out += [f"# {line}" for line in comment.splitlines()]
    out.append(f"discount: {_fmt(model.gamma)}")
    out.append("values: reward")
    out.append(f"states: {' '.join(st) if st else S}")
    out.append(f"actions: {' '.join(an) if an else A}")
    out.append(f"observations: {' '.join(on) if on else n_obs}")
    out.append("start:")
    out.append(" ".join(_fmt(x) for x in model.b0))
    out.append("")
    for a in range(A):
        T_a = model.transitions_by_action[a]
        if sp.issparse(T_a):
            coo = T_a.tocoo()
            for s, s2, p in zip(coo.row, coo.col, coo.data):
                out.append(f"T: {label(an, a)} : {label(st, int(s))} : {label(st, int(s2))} {_fmt(p)}")
        else:
            out.append(f"T: {label(an, a)}")
            out += [" ".join(_fmt(x) for x in row) for row in T_a]
        out.append("")
    for a in range(A):
        out.append(f"O: {label(an, a)}")
        out += [" ".join(_fmt(x) for x in row) for row in model.O[a]]
        out.append("")
    for a in range(A):
        for s in range(S):
            out.append(f"R: {label(an, a)} : {label(st, s)} : * : * {_fmt(model.R[s, a])}")
    with open(os.fspath(path), "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
