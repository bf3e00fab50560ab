r"""The two back ends of a solver-neutral mixed-integer linear program.

A :class:`~theory_rl.models.MipModel` stores ``max c^T x + c0`` subject to ``row_lo <= A x <= row_hi``,
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

from .._highs import DEFAULT_HIGHS_OPTIONS, quiet_highs
from .._result import CertifiedSolution
from .._validation import check_bool, check_optional_int, check_real, check_time_limit
from ..errors import DependencyNotInstalled, InvalidArgumentError, SolverError
from ..models import MipModel

__all__ = ["MipSolution", "solve_mip"]


@dataclass(frozen=True, repr=False)
class MipSolution(CertifiedSolution):
    """A solved MIP: ``x`` (n,), ``objective`` (incl. offset), and the back end's statistics;
    ``elapsed``: wall seconds in :func:`solve_mip` (model hand-over included), ``solve_seconds``:
    wall seconds inside the solver's own run (highspy back end; NaN for Pyomo).

    Examples
    --------
    >>> from theory_rl.combinatorial import MipModel, solve_mip
    >>> model = MipModel()
    >>> x = model.add_vars(3, integer=True)
    >>> model.add_objective(x, [1.0, -2.0, 3.0])                      # no rows: each binary on its own
    >>> sol = solve_mip(model)
    >>> type(sol).__name__, sol.status, sol.objective, sol.backend
    ('MipSolution', 'Optimal', 4.0, 'highs')
    """

    x: np.ndarray
    objective: float
    status: str
    backend: str
    mip_gap: float
    nodes: int
    solve_seconds: float = float("nan")
    _repr_fields = ("objective", "status", "backend", "elapsed")


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
    and ``options`` (HiGHS option names, on top of ``DEFAULT_HIGHS_OPTIONS``) apply to the
    highspy back end; Pyomo gets the gap and the time limit in its solver's own option names.

    Raises
    ------
    SolverError
        Infeasible, unbounded, or no solution within ``time_limit`` (``status`` holds the back
        end's own status).
    DependencyNotInstalled
        highspy/Pyomo or the named solver is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.combinatorial import MipModel, solve_mip
    >>> model = MipModel()
    >>> x = model.add_vars(2, ub=3.0, integer=True)
    >>> _ = model.add_row(x, [2.0, 3.0], -np.inf, 7.0)                 # 2 x0 + 3 x1 <= 7, integers in [0, 3]
    >>> model.add_objective(x, [1.0, 1.0])
    >>> solve_mip(model).objective, round(solve_mip(model, relax=True).objective, 6)   # MILP 3, LP 3 + 1/3
    (3.0, 3.333333)
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
