r"""A solver-neutral mixed-integer linear program and its two back ends.

:class:`MipModel` stores ``max c^T x + c0`` subject to ``row_lo <= A x <= row_hi``,
``lb <= x <= ub``, ``x_i`` integer for marked columns, in numpy arrays (rows added in bulk, the
matrix assembled once as CSC). :func:`solve_mip` hands it to

* ``solver="highs"`` (default): ``highspy`` directly, one ``passModel`` call, optional (partial)
  warm start through ``setSolution``;
* any other name: Pyomo with that solver (``"appsi_highs"``, ``"gurobi"``, ``"scip"``,
  ``"cbc"``, ``"glpk"``, ...). The tests check that both back ends return the same optimum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._highs import quiet_highs
from .._result import CertifiedSolution
from .._validation import check_bool, check_optional_int, check_real, check_time_limit
from ..errors import DependencyNotInstalled, InvalidArgumentError, SolverError

__all__ = ["DEFAULT_HIGHS_OPTIONS", "FAST_HIGHS_OPTIONS", "HIGHS_DEFAULT_OPTIONS", "LIGHT_ROOT_HIGHS_OPTIONS", "MipModel", "MipSolution", "solve_mip"]


def _concat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


class MipModel:
    """``max c^T x + offset`` s.t. ``row_lo <= A x <= row_hi``, bounds, integrality (mutable
    while built; solved by :func:`solve_mip`)."""

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


@dataclass(frozen=True, repr=False)
class MipSolution(CertifiedSolution):
    """A solved MIP: ``x`` (n,), ``objective`` (incl. offset), and the back end's statistics;
    ``elapsed``: wall seconds in :func:`solve_mip` (model hand-over included), ``solve_seconds``:
    wall seconds inside the solver's own run (highspy back end; NaN for Pyomo)."""

    x: np.ndarray
    objective: float
    status: str
    backend: str
    mip_gap: float
    nodes: int
    solve_seconds: float = float("nan")
    _repr_fields = ("objective", "status", "backend", "elapsed")


# Measured on the trained-network MILPs of bench/mip_speed.py: HiGHS' root restarts and its RINS/RENS
# sub-MIPs cost 5-10x the whole solve on these small models; switching them off changes no answer
# (they are heuristics and presolve re-runs, not part of the optimality proof).
DEFAULT_HIGHS_OPTIONS: dict[str, Any] = {"mip_allow_restart": False, "mip_heuristic_run_rins": False,
                                         "mip_heuristic_run_rens": False}

# On top of the defaults, for the Q-network MILPs (CPU ms per solve, nets trained by myopic pre-training,
# HiGHS 1.16, median over 5-10 states, shared 2-core machine): the root heuristics below are redundant
# next to the root LP + cuts on these models (almost all close at the root node), and HiGHS' presolve
# costs more than it saves on the budget and matching sets (it probes every binary of the big-M rows):
# budget J=100 2x32 72 -> 19, J=20 2x32 73 -> 28, J=40 2x64 180 -> 121; interventions J=40 12 -> 4;
# matching J=40 58 -> 37, J=20 16 -> 11. The capacity set keeps presolve (J=40: 34 with it, 52
# without; 31 with it and the heuristics off), and so does the path set (it removes most of the
# time-expanded arcs; J=40 got slower without it). None of these switches is part of the optimality proof.
LIGHT_ROOT_HIGHS_OPTIONS: dict[str, Any] = {"mip_heuristic_effort": 0.0, "mip_heuristic_run_feasibility_jump": False,
                                            "mip_heuristic_run_root_reduced_cost": False, "mip_detect_symmetry": False}
FAST_HIGHS_OPTIONS: dict[str, Any] = {**LIGHT_ROOT_HIGHS_OPTIONS, "presolve": "off"}

# HiGHS' own defaults for every option set above (to measure against).
HIGHS_DEFAULT_OPTIONS: dict[str, Any] = {"mip_allow_restart": True, "mip_heuristic_run_rins": True,
                                         "mip_heuristic_run_rens": True, "presolve": "choose",
                                         "mip_heuristic_effort": 0.05, "mip_heuristic_run_feasibility_jump": True,
                                         "mip_heuristic_run_root_reduced_cost": True, "mip_detect_symmetry": True}


def _highs_options(h: Any, mip_gap: float, time_limit: float | None, threads: int | None,
                   options: dict[str, Any] | None = None) -> None:
    h.setOptionValue("output_flag", False)
    for key, value in {**DEFAULT_HIGHS_OPTIONS, **(options or {})}.items():
        h.setOptionValue(key, value)
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("mip_abs_gap", 1e-9 if mip_gap == 0 else 1e-6)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        # HiGHS keeps one process-wide thread pool, sized by the first run: a later run asking for
        # another size returns "Not Set" without solving (seen after exact POMDP pruning, which
        # runs HiGHS with its default). Resizing the pool costs ~0.03 ms.
        type(h).resetGlobalScheduler(True)
        h.setOptionValue("threads", int(threads))


def _solve_highs(model: MipModel, *, mip_gap: float, time_limit: float | None, warm_start: dict[int, float] | None,
                 relax: bool = False, threads: int | None = 1, options: dict[str, Any] | None = None) -> MipSolution:
    try:
        import highspy
    except ImportError:  # pragma: no cover
        raise DependencyNotInstalled("highspy", "mip") from None
    start = time.perf_counter()
    arr = model.arrays()
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_vars
    lp.num_row_ = model.n_rows
    lp.col_cost_ = arr["c"]
    lp.col_lower_ = arr["lb"]
    lp.col_upper_ = arr["ub"]
    lp.row_lower_ = arr["row_lo"]
    lp.row_upper_ = arr["row_hi"]
    lp.offset_ = float(arr["offset"])
    lp.sense_ = highspy.ObjSense.kMaximize
    A = arr["A"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data
    lp.a_matrix_.num_col_ = model.n_vars
    lp.a_matrix_.num_row_ = model.n_rows
    if not relax and arr["integer"].any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                           for b in arr["integer"]]
    h = quiet_highs(highspy)  # no banner (HiGHS prints one on the first Highs() of a process)
    _highs_options(h, mip_gap, time_limit, threads, options)
    h.passModel(lp)
    if warm_start:
        idx = np.fromiter(warm_start.keys(), dtype=np.int32)
        h.setSolution(len(idx), idx, np.fromiter(warm_start.values(), dtype=float))
    run_start = time.perf_counter()
    h.run()
    run_seconds = time.perf_counter() - run_start
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value, dtype=float)
    ok = status in ("Optimal",) or (status == "Time limit reached" and info.primal_solution_status == 2)
    if not ok or len(x) != model.n_vars:
        raise SolverError("HiGHS found no solution", status=status)
    return MipSolution(x=x, objective=float(info.objective_function_value), status=status, backend="highs",
                       mip_gap=float(getattr(info, "mip_gap", 0.0)) if not relax else 0.0,
                       nodes=int(getattr(info, "mip_node_count", 0)), method="solve_mip", elapsed=time.perf_counter() - start,
                       solve_seconds=run_seconds)


_GAP_OPTION = {"appsi_highs": "mip_rel_gap", "highs": "mip_rel_gap", "gurobi": "MIPGap", "gurobi_direct": "MIPGap",
               "gurobi_persistent": "MIPGap", "scip": "limits/gap", "cbc": "ratioGap", "glpk": "mipgap",
               "cplex": "mipgap"}
_TIME_OPTION = {"appsi_highs": "time_limit", "highs": "time_limit", "gurobi": "TimeLimit", "gurobi_direct": "TimeLimit",
                "gurobi_persistent": "TimeLimit", "scip": "limits/time", "cbc": "seconds", "glpk": "tmlim",
                "cplex": "timelimit"}


def _solve_pyomo(model: MipModel, *, solver: str, mip_gap: float, time_limit: float | None) -> MipSolution:
    try:
        import pyomo.environ as pyo
        from pyomo.core.expr.numeric_expr import LinearExpression
    except ImportError:  # pragma: no cover
        raise DependencyNotInstalled("pyomo", "mip") from None
    start = time.perf_counter()
    arr = model.arrays()
    n = model.n_vars
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(n))
    for i in range(n):
        v = m.x[i]
        v.domain = pyo.Integers if arr["integer"][i] else pyo.Reals
        v.setlb(None if not np.isfinite(arr["lb"][i]) else float(arr["lb"][i]))
        v.setub(None if not np.isfinite(arr["ub"][i]) else float(arr["ub"][i]))
    csr = arr["A"].tocsr()
    m.rows = pyo.ConstraintList()
    for r in range(model.n_rows):
        sl = slice(csr.indptr[r], csr.indptr[r + 1])
        expr = LinearExpression(constant=0.0, linear_coefs=csr.data[sl].tolist(),
                                linear_vars=[m.x[int(j)] for j in csr.indices[sl]])
        lo, hi = arr["row_lo"][r], arr["row_hi"][r]
        if lo == hi:
            m.rows.add(expr == float(lo))
        else:
            m.rows.add((float(lo) if np.isfinite(lo) else None, expr, float(hi) if np.isfinite(hi) else None))
    nz = np.flatnonzero(arr["c"])
    m.obj = pyo.Objective(expr=LinearExpression(constant=float(arr["offset"]), linear_coefs=arr["c"][nz].tolist(),
                                                linear_vars=[m.x[int(j)] for j in nz]), sense=pyo.maximize)
    opt = pyo.SolverFactory(solver)
    if opt is None or not opt.available(exception_flag=False):
        raise DependencyNotInstalled(f"the {solver!r} solver for Pyomo", "mip")
    key = _GAP_OPTION.get(solver)
    if key is not None:
        opt.options[key] = float(mip_gap)
    if time_limit is not None and _TIME_OPTION.get(solver) is not None:
        opt.options[_TIME_OPTION[solver]] = float(time_limit)
    try:
        res = opt.solve(m)
    except Exception as exc:  # Pyomo raises when it cannot load a solution (infeasible, no incumbent)
        raise SolverError(f"Pyomo/{solver} found no solution", status=str(exc)) from None
    term = str(res.solver.termination_condition)
    if term not in ("optimal", "maxTimeLimit"):
        raise SolverError(f"Pyomo/{solver} found no solution", status=term)
    x = np.array([pyo.value(m.x[i]) for i in range(n)], dtype=float)
    return MipSolution(x=x, objective=float(pyo.value(m.obj)), status=term, backend=f"pyomo/{solver}",
                       mip_gap=float(mip_gap), nodes=-1, method="solve_mip", elapsed=time.perf_counter() - start)


def solve_mip(model: MipModel, *, solver: str = "highs", mip_gap: float = 0.0, time_limit: float | None = None,
              warm_start: dict[int, float] | None = None, relax: bool = False,
              threads: int | None = 1, options: dict[str, Any] | None = None) -> MipSolution:
    """Maximise ``model`` with ``solver`` ("highs" = highspy directly; any other name = Pyomo's
    ``SolverFactory(solver)``). ``relax=True`` drops integrality (highspy only). ``threads``
    (default 1: these models are small, and HiGHS' worker threads only spin on a shared machine)
    and ``options`` (HiGHS option names, on top of :data:`DEFAULT_HIGHS_OPTIONS`) apply to the
    highspy back end; Pyomo gets the gap and the time limit in its solver's own option names.

    Raises
    ------
    SolverError
        Infeasible, unbounded, or no solution within ``time_limit`` (``status`` holds the back
        end's own status).
    DependencyNotInstalled
        highspy/Pyomo or the named solver is missing.
    """
    mip_gap = check_real(mip_gap, "mip_gap", low=0.0, high=1.0, high_open=True)
    time_limit = check_time_limit(time_limit)
    relax = check_bool(relax, "relax")
    threads = check_optional_int(threads, "threads", minimum=1)
    if solver == "highs":
        return _solve_highs(model, mip_gap=mip_gap, time_limit=time_limit, warm_start=warm_start, relax=relax,
                            threads=threads, options=options)
    if relax:
        raise InvalidArgumentError("relax=True is supported by the highspy back end (solver='highs') only")
    return _solve_pyomo(model, solver=solver, mip_gap=mip_gap, time_limit=time_limit)
