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
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import InvalidModelError, ParseError
from ..models import POMDP

__all__ = ["read_pomdp", "write_pomdp", "parse_pomdp"]

_PREAMBLE = ("discount", "values", "states", "actions", "observations", "start")
_KEYWORDS = frozenset(_PREAMBLE + ("T", "O", "R"))
_TOKEN = re.compile(r"[^\s:#]+|:")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"\d+$")
#: Transition tables with more than this many entries per action (S * S) are parsed into sparse rows.
_MAX_DENSE_T = 4_000_000
_MAX_STATES = 200_000
_MAX_ENTRIES = 20_000_000
#: Rewards R(a, s, s') are tabulated densely per action: up to 2000 states.
_MAX_DENSE_R = 4_000_000


@dataclass(frozen=True)
class _Tok:
    text: str
    line: int
    column: int


def _tokens(text: str) -> list[_Tok]:
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0]
        for m in _TOKEN.finditer(line):
            out.append(_Tok(m.group(), lineno, m.start() + 1))
    return out


def _statement_starts(toks: list[_Tok]) -> Iterator[int]:
    for i, t in enumerate(toks):
        if t.text in _KEYWORDS:
            nxt = toks[i + 1].text if i + 1 < len(toks) else ""
            if nxt == ":" or (t.text == "start" and nxt in ("include", "exclude")):
                yield i


class _Reader:
    def __init__(self, text: str, file: str, renormalize_atol: float, sparse: bool | None,
                 renormalize: bool = True) -> None:
        self.file = file
        self.renormalize = renormalize
        self.toks = _tokens(text)
        self.renormalize_atol = renormalize_atol
        self.sparse = sparse
        self.discount: float | None = None
        self.values = "reward"
        self.names: dict[str, list[str] | None] = {}
        self.sizes: dict[str, int] = {}
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
            raise self.error(f"expected {what} (a number), found {tok.text!r}", tok)
        value = float(tok.text)
        if not np.isfinite(value):
            raise self.error(f"expected {what} (a finite number), found {tok.text!r}", tok)
        return value

    def numbers(self, toks: list[_Tok], count: int, what: str, end: _Tok) -> np.ndarray:
        if len(toks) != count:
            where = toks[count] if len(toks) > count else (toks[-1] if toks else end)
            raise self.error(f"expected {count} numbers for {what}, found {len(toks)}", where)
        return np.array([self.number(t, what) for t in toks], dtype=float)

    def index(self, tok: _Tok | None, kind: str, end: _Tok) -> np.ndarray | slice:
        """A name, a 0-based index or ``*`` -> the indices it stands for."""
        if tok is None:
            raise self.error(f"expected a {kind} (name, index or '*')", end)
        n = self.sizes[kind]
        if tok.text == "*":
            return slice(None)
        if _INTEGER.match(tok.text):
            i = int(tok.text)
            if i >= n:
                raise self.error(f"{kind} index {i} is out of range [0, {n})", tok)
            return np.array([i])
        names = self.names.get(kind)
        if names is None or tok.text not in names:
            raise self.error(f"unknown {kind} {tok.text!r}", tok)
        return np.array([names.index(tok.text)])

    # ------------------------------------------------------------------ statements
    def parse(self) -> POMDP:
        toks = self.toks
        starts = list(_statement_starts(toks))
        if not toks:
            raise self.error("the file is empty (expected 'discount:', 'states:', ...)", line=1)
        if not starts or starts[0] != 0:
            raise self.error("expected a keyword (discount, values, states, actions, observations, start, T, O, R) "
                             f"followed by ':', found {toks[0].text!r}", toks[0])
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
        try:
            getattr(self, f"entry_{key}")(st, end)
        except OverflowError as exc:  # an entry that would not fit in memory
            raise self.error(str(exc), st[0]) from None

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
        if len(body) == 1 and _INTEGER.match(body[0].text):
            n = int(body[0].text)
            if not 1 <= n <= _MAX_STATES:
                raise self.error(f"expected a count in [1, {_MAX_STATES}] after '{kind}:', found {n}", body[0])
            self.sizes[kind], self.names[kind] = n, None
            return
        names = []
        for t in body:
            if t.text == ":" or t.text[0].isdigit() or t.text in ("*", "-") or t.text[0] in "+-.":
                raise self.error(f"expected a {kind[:-1]} name (not starting with a digit or sign), found {t.text!r}", t)
            if t.text in names:
                raise self.error(f"{kind[:-1]} name {t.text!r} is listed twice", t)
            names.append(t.text)
        if len(names) > _MAX_STATES:
            raise self.error(f"more than {_MAX_STATES} {kind}", body[_MAX_STATES])
        self.sizes[kind], self.names[kind] = len(names), names

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
    def begin_entries(self) -> None:
        S, A, n_obs = (self.sizes[k] for k in ("states", "actions", "observations"))
        if A * S * max(n_obs, 1) > _MAX_ENTRIES:
            raise self.error(f"model too large to read: {S} states x {A} actions x {n_obs} observations", line=1)
        self.entries_begun = True
        self.dense_T = S * S <= _MAX_DENSE_T
        self.T = [np.zeros((S, S)) if self.dense_T else _SparseRows(S) for _ in range(A)]
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
                raise self.error(f"expected ':' after {p[0].text!r}", p[1])
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
        acts = self.action_list(parts[0][0], end)
        if len(parts) == 1:
            toks = parts[0][1:]
            if not self.dense_T and len(toks) == 1 and toks[0].text in ("identity", "uniform"):
                if toks[0].text == "uniform":
                    raise self.error(f"a uniform {S} x {S} transition matrix is too large to store", toks[0])
                for a in acts:  # sparse identity, without a dense S x S block
                    self.T[a].rows = [{i: 1.0} for i in range(S)]
                    self.T_line[a, :] = st[0].line
                return
            block = self.probability_block(toks, (S, S), f"T: {parts[0][0].text}", end, True)
            rows, cols, vals = slice(None), slice(None), block
        elif len(parts) == 2:
            rows = self.index(parts[1][0], "states", end)
            vals = self.probability_block(parts[1][1:], (1, S), f"T: ... : {parts[1][0].text}", end, False)
            cols = slice(None)
        else:
            rows = self.index(parts[1][0], "states", end)
            cols = self.index(parts[2][0], "states", end)
            vals = self.numbers(parts[2][1:], 1, "a transition probability", end)[0]
            if vals < 0:
                raise self.error(f"negative probability {vals}", parts[2][1])
        for a in acts:
            if self.dense_T:
                self.T[a][_grid(rows, cols)] = vals
            else:
                self.T[a].set(rows, cols, vals)
            self.T_line[a, rows] = st[0].line

    def entry_O(self, st: list[_Tok], end: _Tok) -> None:
        parts = self.split(st, 3, end)
        S, n_obs = self.sizes["states"], self.sizes["observations"]
        acts = self.action_list(parts[0][0], end)
        if len(parts) == 1:
            vals = self.probability_block(parts[0][1:], (S, n_obs), f"O: {parts[0][0].text}", end, True)
            rows, cols = slice(None), slice(None)
        elif len(parts) == 2:
            rows = self.index(parts[1][0], "states", end)
            vals = self.probability_block(parts[1][1:], (1, n_obs), f"O: ... : {parts[1][0].text}", end, False)
            cols = slice(None)
        else:
            rows = self.index(parts[1][0], "states", end)
            cols = self.index(parts[2][0], "observations", end)
            vals = self.numbers(parts[2][1:], 1, "an observation probability", end)[0]
            if vals < 0:
                raise self.error(f"negative probability {vals}", parts[2][1])
        for a in acts:
            self.O[a][_grid(rows, cols)] = vals
            self.O_line[a, rows] = st[0].line

    def entry_R(self, st: list[_Tok], end: _Tok) -> None:
        parts = self.split(st, 4, end)
        S, n_obs = self.sizes["states"], self.sizes["observations"]
        if len(parts) < 2:
            raise self.error("expected 'R: action : state ...' (rewards need at least a start state)", st[0])
        acts = self.action_list(parts[0][0], end)
        s = self.index(parts[1][0], "states", end)
        if len(parts) == 2:  # matrix over (s', o)
            vals = self.numbers(parts[1][1:], S * n_obs, "R: ... matrix over (end state, observation)", end)
            self.set_reward(acts, s, slice(None), slice(None), vals.reshape(S, n_obs), full=True)
            return
        s2 = self.index(parts[2][0], "states", end)
        if len(parts) == 3:  # row over o
            vals = self.numbers(parts[2][1:], n_obs, "R: ... row over observations", end)
            self.set_reward(acts, s, s2, slice(None), vals, full=True)
            return
        o = self.index(parts[3][0], "observations", end)
        value = self.numbers(parts[3][1:], 1, "a reward", end)[0]
        self.set_reward(acts, s, s2, o, value, full=not isinstance(o, slice))

    def set_reward(self, acts: list[int], s: Any, s2: Any, o: Any, value: Any, *, full: bool) -> None:
        for a in acts:
            if not full and isinstance(s2, slice):
                self.R2[a, s] = value
                if a in self.R3:
                    self.R3[a][s, :] = value
                if a in self.R4:
                    self.R4[a][s, :, :] = value
                continue
            if a not in self.R3:
                if self.sizes["states"] ** 2 > _MAX_DENSE_R:
                    raise OverflowError("rewards that depend on the next state or the observation are only "
                                        f"supported up to {int(_MAX_DENSE_R ** 0.5)} states")
                self.R3[a] = np.repeat(self.R2[a][:, None], self.sizes["states"], axis=1)
            if not full:
                self.R3[a][_grid(s, s2)] = value
                if a in self.R4:
                    self.R4[a][_grid(s, s2)] = value
                continue
            if a not in self.R4:
                if self.sizes["states"] ** 2 * self.sizes["observations"] > _MAX_ENTRIES:
                    raise OverflowError("observation-dependent rewards are too large to store for this model")
                self.R4[a] = np.repeat(self.R3[a][:, :, None], self.sizes["observations"], axis=2)
            self.R4[a][_grid(s, s2, o)] = value

    def action_list(self, tok: _Tok, end: _Tok) -> list[int]:
        sel = self.index(tok, "actions", end)
        return list(range(self.sizes["actions"])) if isinstance(sel, slice) else [int(sel[0])]

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
        if self.dense_T:
            T = np.stack(self.T, axis=1)  # (S, A, S)
            sums = T.sum(axis=2).T  # (A, S)
        else:
            csr = [t.to_csr() for t in self.T]
            sums = np.stack([np.asarray(t.sum(axis=1)).ravel() for t in csr])
        scale_T = self.row_scale(sums, "T", self.T_line)
        scale_O = self.row_scale(self.O.sum(axis=2), "O", self.O_line)
        O = self.O * scale_O[:, :, None]  # noqa: E741
        if self.dense_T:
            T *= scale_T.T[:, :, None]
            rows = T.reshape(S * A, S)
            use_sparse = self.sparse if self.sparse is not None else (S >= 500 and np.count_nonzero(rows) < 0.1 * rows.size)
            T_out: Any = sp.csr_matrix(rows) if use_sparse else T
        else:
            for a in range(A):
                csr[a] = sp.csr_matrix(sp.diags(scale_T[a]) @ csr[a])
            # row s*A + a of the (S*A, S) layout
            order = (np.arange(A)[None, :] * S + np.arange(S)[:, None]).ravel()
            T_out = sp.csr_matrix(sp.vstack(csr).tocsr()[order])
            T = None
        R = np.empty((S, A))
        for a in range(A):
            if a in self.R4:
                Ta = T[:, a, :] if T is not None else T_out[a::A].toarray()
                R[:, a] = np.einsum("st,to,sto->s", Ta, O[a], self.R4[a])
            elif a in self.R3:
                Ta = T[:, a, :] if T is not None else T_out[a::A]
                R[:, a] = np.asarray(Ta.multiply(self.R3[a]).sum(axis=1)).ravel() if sp.issparse(Ta) else (Ta * self.R3[a]).sum(axis=1)
            else:
                R[:, a] = self.R2[a]
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


def _grid(*idx: Any) -> tuple[Any, ...]:
    """Each index is a slice (``*``) or a one-element array: basic indexing, so that a row or
    a matrix broadcasts over the wildcard axes."""
    return tuple(x if isinstance(x, slice) else int(x[0]) for x in idx)


class _SparseRows:
    """An ``S x S`` matrix as one ``{column: value}`` dict per row (models too large for dense
    tables while parsing): whole-matrix and whole-row entries replace rows, single entries set
    one value, so writing never touches the implicit zeros."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.rows: list[dict[int, float]] = [{} for _ in range(n)]

    def set(self, rows: Any, cols: Any, vals: Any) -> None:
        row_ids = range(self.n) if isinstance(rows, slice) else [int(rows[0])]
        n_cols = self.n if isinstance(cols, slice) else 1
        if len(row_ids) * n_cols > _MAX_ENTRIES and (np.ndim(vals) > 0 or float(vals) != 0.0):
            raise OverflowError(f"this entry would store {len(row_ids) * n_cols} transition probabilities")
        if np.ndim(vals) == 0:
            col_ids = range(self.n) if isinstance(cols, slice) else [int(cols[0])]
            v = float(vals)
            for r in row_ids:
                row = self.rows[r]
                for c in col_ids:
                    if v != 0.0:
                        row[c] = v
                    else:
                        row.pop(c, None)
            return
        block = np.asarray(vals).reshape(-1, self.n)  # (1, S) row or (S, S) matrix
        if block.shape[0] == 1:
            nz = np.flatnonzero(block[0])
            template = dict(zip(nz.tolist(), block[0, nz].tolist()))
            for r in row_ids:
                self.rows[r] = dict(template)
            return
        for r in range(self.n):
            nz = np.flatnonzero(block[r])
            self.rows[r] = dict(zip(nz.tolist(), block[r, nz].tolist()))

    def to_csr(self) -> sp.csr_matrix:
        lengths = np.fromiter((len(r) for r in self.rows), dtype=np.int64, count=self.n)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        cols = np.fromiter((c for r in self.rows for c in r), dtype=np.int64, count=int(indptr[-1]))
        data = np.fromiter((v for r in self.rows for v in r.values()), dtype=float, count=int(indptr[-1]))
        out = sp.csr_matrix((data, cols, indptr), shape=(self.n, self.n))
        out.sort_indices()
        return out


def parse_pomdp(text: str, *, file: str = "<string>", renormalize_atol: float = 1e-5,
                sparse: bool | None = None, renormalize: bool = True) -> POMDP:
    """Parse the text of a ``.POMDP`` file (see :func:`read_pomdp`)."""
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
        Store ``T`` as CSR (``True``), dense (``False``), or decide from its size and density
        (default: CSR when ``S >= 500`` and fewer than 10% of entries are non-zero).
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
        With the file, the line (and column) and what was expected, for every malformed file.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
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
