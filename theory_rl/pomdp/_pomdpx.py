r"""SARSOP's POMDPX format (XML, factored): reader that flattens to a :class:`~theory_rl.models.POMDP`, and a
writer for flat models.

A POMDPX file (APPL, "PomdpX File Format", doc/PomdpXDocumentation in AdaCompNUS/sarsop)
declares state variables (``StateVar vnamePrev vnameCurr``), observation variables, one action
variable and reward variables, and gives the dynamics as a dynamic Bayesian network of
conditional probability tables ``CondProb(Var | Parent)`` of type ``TBL``. An ``Instance``
lists one value per parent and per ``Var``: a value name (or 0-based index), ``*`` (every value:
the table entry is repeated) or ``-`` (every value: the ``ProbTable`` lists them in row-major
order). A ``ProbTable`` is numbers, ``uniform`` or ``identity``. Later entries override earlier ones.

Flattening. The joint state is the mixed-radix index over the state variables in declaration
order (the first is most significant),

.. math::
    T[s, a, s'] = \prod_i \Pr(x_i' \mid \mathrm{pa}(x_i')), \qquad
    O[a, s', o] = \prod_j \Pr(o_j \mid \mathrm{pa}(o_j)), \qquad
    R[s, a] = \sum_k \mathbb E\, f_k(\mathrm{pa}(f_k)),

built as sparse row-wise Kronecker products (RockSample(7,8): 12,800 joint states, about one
non-zero per row). Reward functions whose parents include next-state or observation variables
are reduced by expectation under ``T`` and ``O``. Then states that are absorbing under every
action and agree in rewards and observation probabilities are merged (an exact lumping: they
are bisimilar); this is how RockSample(7,8)'s terminal robot position times 256 rock
configurations becomes the single terminal state of the usual 12,545-state model.

Not supported (``ParseError`` says so): decision-diagram tables (``type="DD"``), intra-slice
dependencies (a next-state variable whose parents include another next-state variable).

Hostile files. External entities are never fetched and entity expansion is refused by expat
(XXE and billion laughs give ``ParseError``). Before building anything the reader estimates the
flat model from the declared variables (``T`` has at least one non-zero per row of ``A * N``,
``O`` is dense ``(A, N, n_obs)``), then each table from its variables, then the exact non-zero
count of every action's flattened kernel, and refuses an estimate above
:func:`theory_rl.max_bytes` with a ``ParseError`` at the element that asked for it; the
conditional-probability entries may write at most one table cell per byte of that limit (the
work guard). Counts, indices and numbers are ASCII only, at most 100 characters; a name may be
declared once; a reward variable is never a parent or a ``CondProb`` variable.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import scipy.sparse as sp

from .._validation import check_allocation, max_bytes
from ..errors import InvalidModelError, ParseError, SizeLimitError
from ..models import POMDP

# the .POMDP reader's number grammar (ASCII digits only) and token quoting serve POMDPX too
from ._cassandra import _INTEGER, _MAX_NUMBER_CHARS, _NUMBER, _short

__all__ = ["read_pomdpx", "write_pomdpx"]

_MAX_JOINT = 1_000_000
_MAX_TABLE = 20_000_000
#: Bytes of the element tree per byte of XML, for the allocation estimate before parsing.
_XML_BYTES = 64
#: Bytes per non-zero of the flattened transition kernel while it is built (COO arrays, CSR,
#: the stacking and the reordering copies).
_T_BYTES = 48
#: The CPT entries may write at most this many table cells per byte of the memory limit (the
#: work guard: a few hundred entries each rewriting a 20-million-cell table take minutes).
_CELLS_PER_BYTE = 1


@dataclass
class _Var:
    name: str  # vnamePrev for state variables
    curr: str | None
    values: list[str]


def _parse_xml(data: bytes) -> tuple[ET.Element, dict[int, int]]:
    """Build an ElementTree with expat, remembering each element's line (ElementTree's C parser
    does not expose it). Raises ``xml.parsers.expat.ExpatError``."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    builder = ET.TreeBuilder()
    lines: dict[int, int] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        el = builder.start(tag, attrs)
        lines[id(el)] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.Parse(data, True)
    return builder.close(), lines


class _Reader:
    def __init__(self, path: str, lump: bool) -> None:
        self.path = path
        self.lump = lump
        self._value_index: dict[str, dict[str, int]] = {}
        self.base_bytes = 0
        self.cells_left = 0

    def error(self, message: str, el: ET.Element | None = None) -> ParseError:
        line = self.lines.get(id(el)) if el is not None else None
        return ParseError(message, file=self.path, line=line)

    def guard(self, nbytes: int, what: str, el: ET.Element | None) -> None:
        """:func:`check_allocation` as a :class:`ParseError` at ``el`` (the SizeLimitError is its cause)."""
        try:
            check_allocation(nbytes, what)
        except SizeLimitError as exc:
            raise self.error(str(exc), el) from exc

    def count(self, text: str, what: str, el: ET.Element) -> int:
        """A non-negative integer in ASCII digits (a value index or a count)."""
        if not _INTEGER.match(text) or len(text) > _MAX_NUMBER_CHARS:
            raise self.error(f"expected {what} (at most {_MAX_NUMBER_CHARS} ASCII digits), found {_short(text)}", el)
        return int(text)

    def real(self, text: str, what: str, el: ET.Element) -> float:
        """A finite number in ASCII digits."""
        if not _NUMBER.match(text) or len(text) > _MAX_NUMBER_CHARS:
            raise self.error(f"expected a number in {what}, found {_short(text)}", el)
        value = float(text)
        if not math.isfinite(value):
            raise self.error(f"expected a finite number in {what}, found {_short(text)}", el)
        return value

    # ------------------------------------------------------------------ XML
    def load(self) -> ET.Element:
        from xml.parsers import expat

        self.lines: dict[int, int] = {}
        cap = max_bytes() // _XML_BYTES  # the largest file whose element tree fits the limit
        try:
            with open(self.path, "rb") as fh:
                data = fh.read(cap + 1)  # never more (a FIFO or /dev/zero would never end)
        except OSError as exc:
            raise ParseError(f"cannot read file: {exc.strerror}", file=self.path) from None
        self.guard(len(data) * _XML_BYTES, f"the element tree of a {len(data)}-byte XML file", None)
        try:
            root, self.lines = _parse_xml(data)
        except expat.ExpatError as exc:
            raise ParseError(f"malformed XML: {expat.ErrorString(exc.code)}", file=self.path,
                             line=exc.lineno, column=exc.offset + 1) from None
        except (ValueError, LookupError) as exc:  # e.g. an unknown encoding declaration
            raise ParseError(f"unreadable XML: {exc}", file=self.path) from None
        if root.tag != "pomdpx":
            raise self.error(f"expected the root element <pomdpx>, found <{root.tag}>", root)
        return root

    def child(self, el: ET.Element, tag: str, *, required: bool = True) -> ET.Element | None:
        found = el.find(tag)
        if found is None and required:
            raise self.error(f"<{el.tag}> has no <{tag}>", el)
        return found

    def text(self, el: ET.Element) -> str:
        return (el.text or "").strip()

    # ------------------------------------------------------------------ variables
    def values(self, el: ET.Element) -> list[str]:
        enum = el.find("ValueEnum")
        if enum is not None:
            vals = self.text(enum).split()
            if not vals:
                raise self.error("empty <ValueEnum>", enum)
            if len(set(vals)) != len(vals):
                raise self.error("a value is listed twice in <ValueEnum>", enum)
            return vals
        num = el.find("NumValues")
        if num is not None:
            n = self.count(self.text(num), "a count in <NumValues>", num)
            if not 1 <= n <= _MAX_JOINT:
                raise self.error(f"expected a count in [1, {_MAX_JOINT}] in <NumValues>, found {n}", num)
            prefix = "s" if el.tag == "StateVar" else ("o" if el.tag == "ObsVar" else "a")
            return [f"{prefix}{i}" for i in range(n)]
        raise self.error(f"<{el.tag}> has neither <ValueEnum> nor <NumValues>", el)

    def variables(self, root: ET.Element) -> None:
        var_el = self.child(root, "Variable")
        self.states: list[_Var] = []
        self.obs: list[_Var] = []
        self.action: _Var | None = None
        self.rewards: list[str] = []
        for el in var_el:
            if el.tag == "StateVar":
                prev, curr = el.get("vnamePrev"), el.get("vnameCurr")
                if not prev or not curr:
                    raise self.error("<StateVar> needs vnamePrev and vnameCurr", el)
                self.states.append(_Var(prev, curr, self.values(el)))
            elif el.tag == "ObsVar":
                if not el.get("vname"):
                    raise self.error("<ObsVar> needs vname", el)
                self.obs.append(_Var(el.get("vname"), None, self.values(el)))
            elif el.tag == "ActionVar":
                if self.action is not None:
                    raise self.error("more than one <ActionVar>", el)
                if not el.get("vname"):
                    raise self.error("<ActionVar> needs vname", el)
                self.action = _Var(el.get("vname"), None, self.values(el))
            elif el.tag == "RewardVar":
                if not el.get("vname"):
                    raise self.error("<RewardVar> needs vname", el)
                self.rewards.append(el.get("vname"))
            else:
                raise self.error(f"unexpected <{el.tag}> in <Variable>", el)
        if not self.states or not self.obs or self.action is None:
            raise self.error("<Variable> needs at least one StateVar, one ObsVar and one ActionVar", var_el)
        declared = [(self.action.name, ("action", 0))]
        for i, v in enumerate(self.states):
            declared += [(v.name, ("prev", i)), (v.curr, ("curr", i))]
        declared += [(v.name, ("obs", j)) for j, v in enumerate(self.obs)]
        declared += [(r, ("reward", k)) for k, r in enumerate(self.rewards)]
        self.by_name: dict[str, tuple[str, int]] = {}
        for name, where in declared:
            if name in self.by_name:
                raise self.error(f"variable name {_short(name)} is declared twice", var_el)
            self.by_name[name] = where  # type: ignore[index]
        self.sizes = [len(v.values) for v in self.states]
        self.N = math.prod(self.sizes)
        if self.N > _MAX_JOINT:
            raise self.error(f"the joint state space has {self.N} states (at most {_MAX_JOINT} are flattened)", var_el)
        self.n_obs = math.prod(len(v.values) for v in self.obs)
        self.A = len(self.action.values)
        self.check_flat_sizes(var_el)

    def check_flat_sizes(self, var_el: ET.Element) -> None:
        """Refuse, before building anything, a flat model whose tables pass the memory limit.

        Estimated from the declared variables alone: ``T`` has at least one non-zero per row
        (``A * N`` rows), ``O`` is dense ``(A, N, n_obs)`` (built by a product over observation
        variables: three copies), plus ``R``, ``b0``, the state-variable values of every
        ``(s, a)`` row and the names.
        The work of the flattening is proportional to these sizes, so this also bounds the time.
        """
        N, A, n_obs = self.N, self.A, self.n_obs
        # (the state-variable values and the action of each (s, a) row are gathered once)
        nbytes = ((_T_BYTES + 8 * (len(self.states) + 2)) * A * N + 3 * 8 * A * N * n_obs
                  + 8 * N * (A + 2 + 2 * len(self.states)) + (100 * N if N <= 200_000 else 0) + 64 * n_obs)
        self.guard(nbytes, f"the flat model of {N} joint states, {A} actions and {n_obs} joint observations", var_el)
        self.base_bytes = nbytes
        self.cells_left = _CELLS_PER_BYTE * max_bytes()

    def value_index(self, name: str) -> dict[str, int]:
        """``{value name: index}`` of a variable (built once per variable)."""
        if name not in self._value_index:
            self._value_index[name] = {v: k for k, v in enumerate(self.var_values(name))}
        return self._value_index[name]

    def var_values(self, name: str) -> list[str]:
        kind, i = self.by_name[name]  # reward variables have no values: table() never asks for them
        if kind == "action":
            return self.action.values  # type: ignore[union-attr]
        return self.obs[i].values if kind == "obs" else self.states[i].values

    # ------------------------------------------------------------------ tables
    def table(self, cp: ET.Element, value_tag: str) -> tuple[list[str], list[str], np.ndarray]:
        """A CondProb/Func as a dense array over (parents..., vars...)."""
        var_el = self.child(cp, "Var")
        vars_ = self.text(var_el).split()
        parent_el = self.child(cp, "Parent", required=value_tag == "ProbTable")
        parents = [] if parent_el is None or self.text(parent_el) == "null" else self.text(parent_el).split()
        names = parents + vars_
        if not vars_:
            raise self.error("empty <Var>", var_el)
        for n in names:
            if n not in self.by_name:
                raise self.error(f"unknown variable {_short(n)}", cp)
        for n in parents:
            if self.by_name[n][0] == "reward":
                raise self.error(f"reward variable {_short(n)} cannot be a parent", parent_el)
        if len(set(names)) != len(names):
            raise self.error(f"a variable appears twice in <Parent>/<Var>: {_short(' '.join(names))}", cp)
        if value_tag == "ValueTable":
            if len(vars_) != 1 or self.by_name[vars_[0]][0] != "reward":
                raise self.error("a reward <Func> must have one RewardVar as <Var>", var_el)
            names = parents
        elif any(self.by_name[n][0] == "reward" for n in vars_):
            raise self.error("a <CondProb> cannot have a RewardVar as <Var>", var_el)
        dims = [len(self.var_values(n)) for n in names]
        size = math.prod(dims)
        if size > _MAX_TABLE:
            raise self.error(f"table over {_short(' '.join(names))} has {size} cells (at most {_MAX_TABLE} "
                             "are built densely)", cp)
        self.guard(self.base_bytes + 2 * 8 * size, f"the table over {_short(' '.join(names))} ({size} cells)", cp)
        arr = np.zeros(dims)
        param = self.child(cp, "Parameter")
        kind = param.get("type", "TBL").strip()
        if kind != "TBL":
            raise self.error(f"only TBL parameters are supported, found type={kind!r}", param)
        for entry in param.findall("Entry"):
            inst_el = self.child(entry, "Instance")
            val_el = self.child(entry, value_tag)
            inst = self.text(inst_el).split()
            if len(inst) != len(names):
                raise self.error(f"<Instance> has {len(inst)} values, expected {len(names)} (for {' '.join(names)})", inst_el)
            index: list[Any] = []
            dash_dims: list[int] = []
            for tok, n, d in zip(inst, names, dims):
                if tok in ("*", "-"):
                    index.append(slice(None))
                    if tok == "-":
                        dash_dims.append(d)
                else:
                    vals = self.value_index(n)
                    if tok in vals:
                        index.append(vals[tok])
                    elif _INTEGER.match(tok) and len(tok) <= _MAX_NUMBER_CHARS and int(tok) < d:
                        index.append(int(tok))
                    else:
                        raise self.error(f"{_short(tok)} is not a value of {_short(n)}", inst_el)
            toks = self.text(val_el).split()
            block = self.values_block(toks, dash_dims, val_el)
            # broadcast: '-' axes take the block's axes in order, '*' axes repeat it
            target = arr[tuple(index)]
            self.cells_left -= target.size
            if self.cells_left < 0:
                raise self.error("the table entries write more cells than the work limit allows "
                                 f"({_CELLS_PER_BYTE} per byte of the memory limit, which theory_rl.set_max_bytes "
                                 "raises)", entry)
            kinds = [t for t in inst if t in ("*", "-")]
            shape = [d if t == "-" else 1 for t, d in zip(kinds, target.shape)]
            arr[tuple(index)] = np.broadcast_to(block.reshape(shape), target.shape) if target.ndim else block.reshape(())
        return parents, vars_, arr

    def values_block(self, toks: list[str], dash_dims: list[int], el: ET.Element) -> np.ndarray:
        size = int(np.prod(dash_dims)) if dash_dims else 1
        if len(toks) == 1 and toks[0] == "uniform":
            if not dash_dims:
                raise self.error("'uniform' needs a '-' in the instance", el)
            return np.full(dash_dims, 1.0 / dash_dims[-1])
        if len(toks) == 1 and toks[0] == "identity":
            if len(dash_dims) != 2 or dash_dims[0] != dash_dims[1]:
                raise self.error("'identity' needs two '-' of the same size in the instance", el)
            return np.eye(dash_dims[0])
        if len(toks) != size:
            raise self.error(f"expected {size} numbers in <{el.tag}>, found {len(toks)}", el)
        out = np.array([self.real(t, f"<{el.tag}>", el) for t in toks], dtype=float)
        return out.reshape(dash_dims) if dash_dims else out.reshape(())

    # ------------------------------------------------------------------ flattening
    def digits(self) -> list[np.ndarray]:
        """Value of each state variable at every joint state (mixed radix, first var most significant)."""
        out, rest = [], np.arange(self.N)
        for k in range(len(self.sizes) - 1, -1, -1):
            out.append(rest % self.sizes[k])
            rest = rest // self.sizes[k]
        return out[::-1]

    def gather(self, arr: np.ndarray, parents: list[str], cp: ET.Element, *, action: np.ndarray,
               prev: list[np.ndarray] | None = None, curr: list[np.ndarray] | None = None) -> np.ndarray:
        """``arr[parents at each row ...]`` -> (rows, trailing...): row ``k`` has action ``action[k]``
        and state-variable values ``prev[i][k]`` (or ``curr[i][k]``), all actions in one gather."""
        n_rows = action.size
        cells = n_rows * math.prod(arr.shape[len(parents):])
        self.guard(self.base_bytes + 16 * cells, f"a table at every (state, action) pair ({cells} cells)", cp)
        idx: list[Any] = []
        for p in parents:
            kind, i = self.by_name.get(p, ("?", 0))
            if kind == "action":
                idx.append(action)
            elif kind == "prev" and prev is not None:
                idx.append(prev[i])
            elif kind == "curr" and curr is not None:
                idx.append(curr[i])
            else:
                raise self.error(f"parent {p!r} is not allowed here (intra-slice or observation parents are not supported)", cp)
        return arr[tuple(idx)] if idx else np.broadcast_to(arr, (n_rows, *arr.shape))

    def state_major(self, digits: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Action and state-variable values of row ``s * A + a`` (the layout of ``T`` and ``R``)."""
        s_of = np.repeat(np.arange(self.N), self.A)
        return np.tile(np.arange(self.A), self.N), [d[s_of] for d in digits]

    def cond_tables(self, sec: ET.Element, kind: str,
                    message: str) -> dict[int, tuple[list[str], np.ndarray, ET.Element]]:
        """The ``<CondProb>`` tables of ``sec`` by the index of their one ``<Var>``, a variable of
        ``kind`` (``"curr"`` or ``"obs"``); ``message`` is the error when a table has another."""
        tables: dict[int, tuple[list[str], np.ndarray, ET.Element]] = {}
        for cp in sec.findall("CondProb"):
            parents, vars_, arr = self.table(cp, "ProbTable")
            if len(vars_) != 1 or self.by_name.get(vars_[0], ("", 0))[0] != kind:
                raise self.error(message, cp)
            tables[self.by_name[vars_[0]][1]] = (parents, arr, cp)
        return tables

    def transitions(self, root: ET.Element, digits: list[np.ndarray]) -> sp.csr_matrix:
        sec = self.child(root, "StateTransitionFunction")
        tables = self.cond_tables(sec, "curr", "each transition <CondProb> must have one next-state variable as <Var>")
        for i, v in enumerate(self.states):
            if i not in tables:
                raise self.error(f"no transition table for {v.curr!r}", sec)
        a_of, prev = self.state_major(digits)
        # exact non-zeros of the kernel before building it: per row, the product over the
        # variables of their non-zero counts
        per_row = np.ones(self.N * self.A, dtype=np.int64)
        for i in range(len(self.sizes)):
            parents, arr, cp = tables[i]
            per_row *= np.count_nonzero(self.gather(arr, parents, cp, action=a_of, prev=prev), axis=1)
        per_action = per_row.reshape(self.N, self.A).sum(axis=0)
        a = int(np.argmax(per_action))
        if per_action[a] > _MAX_TABLE:
            raise self.error(f"the flattened transition kernel of action {self.action.values[a]!r} has "  # type: ignore[union-attr]
                             f"{int(per_action[a])} non-zeros (at most {_MAX_TABLE} per action are flattened)", sec)
        total = int(per_action.sum())
        self.guard(self.base_bytes + _T_BYTES * total, f"the flattened transition kernel ({total} non-zeros)", sec)
        # sparse row-wise Kronecker product over the variables, every action at once
        rows = np.arange(self.N * self.A)
        cols, vals = np.zeros(rows.size, dtype=np.int64), np.ones(rows.size)
        for i, n_i in enumerate(self.sizes):
            parents, arr, cp = tables[i]
            F = self.gather(arr, parents, cp, action=a_of, prev=prev)  # (N*A, n_i)
            nnz_next = int(np.count_nonzero(F, axis=1)[rows].sum())  # before building the next product
            self.guard(self.base_bytes + _T_BYTES * nnz_next, f"the flattened transition kernel "
                       f"({nnz_next} non-zeros after {i + 1} variables)", cp)
            F_rows = F[rows]
            r_idx, j = np.nonzero(F_rows)
            rows, cols, vals = rows[r_idx], cols[r_idx] * n_i + j, vals[r_idx] * F_rows[r_idx, j]
        return sp.csr_matrix((vals, (rows, cols)), shape=(self.N * self.A, self.N))

    def observations(self, root: ET.Element, digits: list[np.ndarray]) -> np.ndarray:
        sec = self.child(root, "ObsFunction")
        tables = self.cond_tables(sec, "obs", "each observation <CondProb> must have one observation variable as <Var>")
        a_of = np.repeat(np.arange(self.A), self.N)  # row a * N + s' of O
        s_of = np.tile(np.arange(self.N), self.A)
        curr = [d[s_of] for d in digits]
        O = np.ones((self.A * self.N, 1))  # noqa: E741
        for j in range(len(self.obs)):
            if j not in tables:
                raise self.error(f"no observation table for {self.obs[j].name!r}", sec)
            parents, arr, cp = tables[j]
            F = self.gather(arr, parents, cp, action=a_of, curr=curr)  # (A*N, n_j)
            O = (O[:, :, None] * F[:, None, :]).reshape(self.A * self.N, -1)  # noqa: E741
        return O.reshape(self.A, self.N, -1)

    def rewards_fn(self, root: ET.Element, digits: list[np.ndarray], T: sp.csr_matrix) -> np.ndarray:
        sec = self.child(root, "RewardFunction", required=False)
        R = np.zeros((self.N, self.A))
        if sec is None:
            return R
        rows: tuple[np.ndarray, list[np.ndarray]] | None = None
        for fn in sec.findall("Func"):
            parents, _, arr = self.table(fn, "ValueTable")
            kinds = {self.by_name[p][0] for p in parents}
            if kinds <= {"action", "prev"}:
                a_of, prev = rows = rows or self.state_major(digits)
                R += self.gather(arr, parents, fn, action=a_of, prev=prev).reshape(self.N, self.A)
                continue
            if "obs" in kinds:
                raise self.error("rewards that depend on observations are not supported", fn)
            # depends on the next state: expectation over T's non-zeros
            coo = T.tocoo()
            s, a_idx = np.divmod(coo.row, self.A)
            idx = []
            for p in parents:
                kind, i = self.by_name[p]
                idx.append(a_idx if kind == "action" else (digits[i][s] if kind == "prev" else digits[i][coo.col]))
            np.add.at(R, (s, a_idx), coo.data * arr[tuple(idx)])
        return R

    def initial(self, root: ET.Element) -> np.ndarray:
        sec = self.child(root, "InitialStateBelief", required=False)
        if sec is None:
            return np.full(self.N, 1.0 / self.N)
        b = np.ones([1] * len(self.states))
        covered = set()
        for cp in sec.findall("CondProb"):
            parents, vars_, arr = self.table(cp, "ProbTable")
            if parents:
                raise self.error("initial-belief tables must have <Parent>null</Parent>", cp)
            axes = []
            for n in vars_:
                kind, i = self.by_name.get(n, ("", -1))
                if kind != "prev" or i in covered:
                    raise self.error(f"{n!r} is not a (new) current-state variable", cp)
                axes.append(i)
                covered.add(i)
            # place arr's axes at the variables' positions
            shape = [1] * len(self.states)
            order = np.argsort(axes)
            for k in order:
                shape[axes[k]] = self.sizes[axes[k]]
            b = b * np.transpose(arr, order).reshape(shape)
        for i, n_i in enumerate(self.sizes):
            if i not in covered:
                shape = [1] * len(self.states)
                shape[i] = n_i
                b = b * np.full(shape, 1.0 / n_i)
        return np.broadcast_to(b, self.sizes).reshape(-1).copy()

    # ------------------------------------------------------------------ the model
    def read(self) -> POMDP:
        root = self.load()
        disc = self.child(root, "Discount")
        gamma = self.real(self.text(disc), "<Discount>", disc)
        if not 0.0 <= gamma <= 1.0:
            raise self.error(f"discount {gamma} is outside [0, 1]", disc)
        self.variables(root)
        digits = self.digits()
        T = self.transitions(root, digits)
        O = self.observations(root, digits)  # noqa: E741
        R = self.rewards_fn(root, digits, T)
        b0 = self.initial(root)
        names = _joint_names([v.values for v in self.states]) if self.N <= 200_000 else None
        if self.lump:
            T, O, R, b0, names = _lump_absorbing(T, O, R, b0, names, self.A)  # noqa: E741
        obs_names = _joint_names([v.values for v in self.obs])
        total = b0.sum()
        if abs(total - 1.0) > 1e-8 and abs(total - 1.0) <= 1e-5:
            b0 = b0 / total
        try:
            return POMDP(T, O, R, gamma, b0=b0, state_names=names, action_names=self.action.values,  # type: ignore[union-attr]
                         observation_names=obs_names)
        except InvalidModelError as exc:
            raise ParseError(f"the file describes an invalid model: {exc}", file=self.path) from None


def _joint_names(values: list[list[str]]) -> list[str]:
    """``"v1|v2|..."`` for every joint value, the first variable most significant."""
    names = np.array([""], dtype=object)
    for k, vals in enumerate(values):
        names = (names[:, None] + ("|" if k else "") + np.array(vals, dtype=object)[None, :]).ravel()
    return names.tolist()


def _lump_absorbing(T: sp.csr_matrix, O: np.ndarray, R: np.ndarray, b0: np.ndarray, names: list[str] | None,  # noqa: E741
                    A: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray, list[str] | None]:
    """Merge states that stay put under every action and agree in ``R[s, :]`` and ``O[:, s, :]``."""
    N = R.shape[0]
    diag = np.asarray(T[np.arange(N * A), np.repeat(np.arange(N), A)]).reshape(N, A)
    absorbing = np.flatnonzero((diag == 1.0).all(axis=1))
    if absorbing.size < 2:
        return T, O, R, b0, names
    # equal (R[s, :], O[:, s, :]) rows: each merged into the first such state
    keys = np.concatenate([R[absorbing], O[:, absorbing, :].transpose(1, 0, 2).reshape(absorbing.size, -1)], axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    rep = np.arange(N)
    rep[absorbing] = absorbing[first][inverse.ravel()]
    keep = np.flatnonzero(rep == np.arange(N))
    if keep.size == N:
        return T, O, R, b0, names
    new_index = np.full(N, -1)
    new_index[keep] = np.arange(keep.size)
    target = new_index[rep]
    rows = (keep[:, None] * A + np.arange(A)[None, :]).ravel()
    sub = T[rows].tocoo()
    T2 = sp.csr_matrix((sub.data, (sub.row, target[sub.col])), shape=(keep.size * A, keep.size))
    b2 = np.bincount(target, weights=b0, minlength=keep.size)
    merged = np.bincount(target, minlength=keep.size)
    names2 = None
    if names is not None:
        names2 = [names[s] + (f"(+{merged[k] - 1} merged)" if merged[k] > 1 else "") for k, s in enumerate(keep)]
    return T2, O[:, keep, :], R[keep], b2, names2


def read_pomdpx(path: str | os.PathLike[str], *, lump_absorbing: bool = True) -> POMDP:
    """Read a POMDPX file and flatten it to a :class:`~theory_rl.models.POMDP` with a CSR transition kernel.

    Parameters
    ----------
    path : path-like
    lump_absorbing : bool
        Merge absorbing states with equal rewards and observation rows (exact; see module
        docstring). RockSample(7,8) has 12,545 states with it and 12,800 without.

    Raises
    ------
    ParseError
        Malformed XML (with line and column), missing or unknown elements, values or variables,
        wrong table sizes, unsupported features (with the line of the element), tables or a
        flat model above :func:`theory_rl.max_bytes` (the ``SizeLimitError`` is the ``__cause__``).

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> m = pomdp.read_pomdpx(pomdp.problem_path('Tiger.pomdpx'))
    >>> m.n_states, m.n_actions, m.n_observations
    (2, 3, 2)
    """
    return _Reader(os.fspath(path), lump_absorbing).read()


def _xml_name(n: str) -> str:
    if not n or re.search(r"\s", n):
        raise InvalidModelError(f"name {n!r} cannot be written to POMDPX (empty or has whitespace)")
    return escape(n)


def write_pomdpx(model: POMDP, path: str | os.PathLike[str]) -> None:
    """Write a flat model as POMDPX: one state variable, one observation variable, one action
    variable, one reward function ``R[s, a]``. :func:`read_pomdpx` reads it back exactly
    (numbers are written with ``repr``).

    Examples
    --------
    >>> import numpy as np
    >>> import os, tempfile
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> path = os.path.join(tempfile.mkdtemp(), 'tiger.pomdpx')
    >>> pomdp.write_pomdpx(tiger, path)
    >>> back = pomdp.read_pomdpx(path)
    >>> bool(np.allclose(back.R, tiger.R))
    True
    """
    S, A, n_obs = model.n_states, model.n_actions, model.n_observations

    def names(ns: tuple[str, ...] | None, prefix: str, n: int) -> list[str]:
        return [_xml_name(x) for x in ns] if ns else [f"{prefix}{i}" for i in range(n)]

    sn, an, on = names(model.state_names, "s", S), names(model.action_names, "a", A), names(model.observation_names, "o", n_obs)
    f = repr
    out = ["<?xml version='1.0' encoding='UTF-8'?>", "<pomdpx version='1.0' id='theory_rl'>",
           "<Description>written by theory_rl.pomdp.write_pomdpx</Description>",
           f"<Discount>{f(float(model.gamma))}</Discount>", "<Variable>",
           f"<StateVar vnamePrev='state_0' vnameCurr='state_1' fullyObs='false'><ValueEnum>{' '.join(sn)}</ValueEnum></StateVar>",
           f"<ObsVar vname='obs'><ValueEnum>{' '.join(on)}</ValueEnum></ObsVar>",
           f"<ActionVar vname='action'><ValueEnum>{' '.join(an)}</ValueEnum></ActionVar>",
           "<RewardVar vname='reward'/>", "</Variable>",
           "<InitialStateBelief><CondProb><Var>state_0</Var><Parent>null</Parent><Parameter type='TBL'>",
           f"<Entry><Instance>-</Instance><ProbTable>{' '.join(f(float(x)) for x in model.b0)}</ProbTable></Entry>",
           "</Parameter></CondProb></InitialStateBelief>",
           "<StateTransitionFunction><CondProb><Var>state_1</Var><Parent>action state_0</Parent><Parameter type='TBL'>"]
    for a in range(A):
        T_a = model.transitions_by_action[a]
        coo = sp.coo_matrix(T_a)
        for s, s2, p in zip(coo.row, coo.col, coo.data):
            out.append(f"<Entry><Instance>{an[a]} {sn[s]} {sn[s2]}</Instance><ProbTable>{f(float(p))}</ProbTable></Entry>")
    out.append("</Parameter></CondProb></StateTransitionFunction>")
    out.append("<ObsFunction><CondProb><Var>obs</Var><Parent>action state_1</Parent><Parameter type='TBL'>")
    for a in range(A):
        out.append(f"<Entry><Instance>{an[a]} - -</Instance><ProbTable>"
                   f"{' '.join(f(float(x)) for x in model.O[a].ravel())}</ProbTable></Entry>")
    out.append("</Parameter></CondProb></ObsFunction>")
    out.append("<RewardFunction><Func><Var>reward</Var><Parent>action state_0</Parent><Parameter type='TBL'>")
    for a in range(A):
        out.append(f"<Entry><Instance>{an[a]} -</Instance><ValueTable>"
                   f"{' '.join(f(float(x)) for x in model.R[:, a])}</ValueTable></Entry>")
    out.append("</Parameter></Func></RewardFunction>")
    out.append("</pomdpx>")
    with open(os.fspath(path), "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
