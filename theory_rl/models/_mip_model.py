r"""A solver-neutral mixed-integer linear program: the data a MILP back end is handed.

:class:`MipModel` stores ``max c^T x + c0`` subject to ``row_lo <= A x <= row_hi``,
``lb <= x <= ub``, ``x_i`` integer for marked columns, in numpy arrays (rows added in bulk, the
matrix assembled once as CSC). The feasible sets of a coupled restless bandit add their rows to one
(:class:`Budget`, :class:`Path`, :class:`Matching`, :class:`Capacity`);
:func:`theory_rl.combinatorial.solve_mip` solves it with HiGHS or through Pyomo.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["MipModel"]


def _concat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


class MipModel:
    """``max c^T x + offset`` s.t. ``row_lo <= A x <= row_hi``, bounds, integrality (mutable
    while built; solved by :func:`theory_rl.combinatorial.solve_mip`).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.combinatorial import MipModel, solve_mip
    >>> model = MipModel()
    >>> x = model.add_vars(3, integer=True)                            # binaries by default bounds [0, 1]
    >>> _ = model.add_row(x, np.ones(3), -np.inf, 2.0)                # x0 + x1 + x2 <= 2
    >>> model.add_objective(x, [3.0, 1.0, 2.0])
    >>> solve_mip(model).x.round().astype(int).tolist()
    [1, 0, 1]
    """

    def __init__(self) -> None:
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.n_vars = 0
        self.n_rows = 0
        self._rows: list[np.ndarray] = []
        self._cols: list[np.ndarray] = []
        self._vals: list[np.ndarray] = []
        self.row_lo: list[float] = []
        self.row_hi: list[float] = []
        self.cost: dict[int, float] = {}
        self.offset = 0.0

    def add_vars(self, n: int, *, lb: Any = 0.0, ub: Any = 1.0, integer: bool = False) -> np.ndarray:
        """Add ``n`` columns; returns their indices (int64 array)."""
        idx = np.arange(self.n_vars, self.n_vars + n, dtype=np.int64)
        self.lb.append(np.broadcast_to(np.asarray(lb, dtype=float), (n,)).copy())
        self.ub.append(np.broadcast_to(np.asarray(ub, dtype=float), (n,)).copy())
        self.integer.append(np.full(n, integer, dtype=bool))
        self.n_vars += n
        return idx

    def add_row(self, cols: Any, coefs: Any, lo: float, hi: float) -> int:
        """Add ``lo <= sum_k coefs[k] x[cols[k]] <= hi`` (``coefs`` may be a scalar)."""
        cols = np.asarray(cols, dtype=np.int64).ravel()
        vals = np.broadcast_to(np.asarray(coefs, dtype=float), cols.shape)
        self._rows.append(np.full(len(cols), self.n_rows, dtype=np.int64))
        self._cols.append(cols)
        self._vals.append(np.array(vals))
        self.row_lo.append(float(lo))
        self.row_hi.append(float(hi))
        self.n_rows += 1
        return self.n_rows - 1

    def add_rows(self, matrix: sp.spmatrix | np.ndarray, cols: np.ndarray, lo: Any, hi: Any) -> None:
        """Add ``lo <= matrix @ x[cols] <= hi`` for a block ``matrix`` of shape (m, len(cols))."""
        coo = sp.coo_matrix(matrix)
        m = coo.shape[0]
        self._rows.append(coo.row.astype(np.int64) + self.n_rows)
        self._cols.append(np.asarray(cols, dtype=np.int64)[coo.col])
        self._vals.append(coo.data.astype(float))
        self.row_lo.extend(np.broadcast_to(np.asarray(lo, dtype=float), (m,)).tolist())
        self.row_hi.extend(np.broadcast_to(np.asarray(hi, dtype=float), (m,)).tolist())
        self.n_rows += m

    def add_objective(self, cols: Any, coefs: Any, constant: float = 0.0) -> None:
        """Add ``sum coefs[k] x[cols[k]] + constant`` to the (maximised) objective."""
        cols = np.asarray(cols, dtype=np.int64).ravel()
        for c, v in zip(cols.tolist(), np.broadcast_to(np.asarray(coefs, dtype=float), cols.shape).tolist()):
            self.cost[c] = self.cost.get(c, 0.0) + v
        self.offset += float(constant)

    def row_block(self) -> dict[str, np.ndarray]:
        """The rows added so far as COO triplets ``rows, cols, vals`` (duplicates not summed) and
        their bounds ``lo, hi`` (m,). A model used only to collect rows over local column numbers
        gives a template that :meth:`add_rows` can place into other models."""
        return {"rows": _concat(self._rows, np.int64), "cols": _concat(self._cols, np.int64),
                "vals": _concat(self._vals, float),
                "lo": np.asarray(self.row_lo, dtype=float), "hi": np.asarray(self.row_hi, dtype=float)}

    def arrays(self) -> dict[str, Any]:
        """``c, lb, ub, integer`` (n,), ``A`` CSC (m, n), ``row_lo, row_hi`` (m,), ``offset``."""
        n = self.n_vars
        c = np.zeros(n)
        if self.cost:
            c[np.fromiter(self.cost.keys(), dtype=np.int64)] = np.fromiter(self.cost.values(), dtype=float)
        block = self.row_block()
        A = sp.csc_matrix((block["vals"], (block["rows"], block["cols"])), shape=(self.n_rows, n))
        A.sum_duplicates()
        return {"c": c, "lb": _concat(self.lb, float), "ub": _concat(self.ub, float),
                "integer": _concat(self.integer, bool), "A": A, "row_lo": block["lo"], "row_hi": block["hi"],
                "offset": self.offset}
