"""Sweeps described in a small TOML file (``theory-rl sweep SPEC.toml``)."""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._result import Result
from ..errors import ParseError
from ._rates import RateComparison, RateFit, compare_rate, fit_rate, plot_rate
from ._sweep import Sweep

__all__ = ["SpecResult", "run_spec"]

_SWEEP_KEYS = {"function", "seeds", "backend", "n_jobs", "store", "seed", "chunk_size", "scheduler"}
_FIT_KEYS = {"x", "y", "theory_exponent", "plot", "title", "by"}

EXAMPLE = """\
[sweep]
function = "theory_rl.experiments.tasks:plug_in_error"   # module:function, called fn(**params, seed=...)
seeds = 10                                               # replicates per grid point
backend = "joblib"                                       # "joblib", "dask" or "serial"
n_jobs = 2
store = "plug_in.jsonl"                                  # relative to this file

[grid]                                                   # Cartesian product of these lists
env = ["river_swim"]
gamma = [0.9]
n = [10, 30, 100, 300, 1000]

[fit]                                                    # optional
x = "n"
y = "error"
theory_exponent = -0.5
plot = "plug_in.png"
"""


@dataclass(frozen=True, repr=False, eq=False)
class SpecResult(Result):
    """What :func:`run_spec` produced: the table, and the fit, comparison and figure path when the
    spec has a ``[fit]`` table (one fit per value of ``fit.by`` when given). ``params`` holds the
    keyword overrides of the call, ``elapsed`` the wall-clock seconds of the whole run."""

    table: Any
    store: Path
    fits: dict[str, RateFit]
    comparisons: dict[str, RateComparison]
    plot: Path | None


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            from ..errors import DependencyNotInstalled

            raise DependencyNotInstalled("tomli", "sweep") from None
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+), column (\d+)", str(exc))
        line, column = (int(match.group(1)), int(match.group(2))) if match else (None, None)
        raise ParseError(f"{path}: {exc}", file=str(path), line=line, column=column) from None


def _field_error(path: Path, field: str, message: str) -> ParseError:
    return ParseError(f"{path}: {field}: {message}", file=str(path), field=field)


def _import_function(path: Path, spec: Any):
    if not isinstance(spec, str) or ":" not in spec:
        raise _field_error(path, "sweep.function", f"expected 'module:function', got {spec!r}")
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _field_error(path, "sweep.function", f"cannot import {module_name!r} ({exc})") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise _field_error(path, "sweep.function", f"{module_name!r} has no function {name!r}")
    return fn


def run_spec(path: str | os.PathLike[str], *, backend: str | None = None, n_jobs: int | None = None,
             scheduler: str | None = None, progress: bool = True) -> SpecResult:
    """Run the sweep a TOML spec describes, write its store, and fit and plot the rate.

    The spec has a ``[sweep]`` table (``function``, ``seeds``, optional ``backend``, ``n_jobs``,
    ``store``, ``seed``, ``chunk_size``, ``scheduler``), a ``[grid]`` table of parameter lists and
    an optional ``[fit]`` table (``x``, ``y``, ``theory_exponent``, ``plot``, ``title``, and ``by``
    to fit each value of a column separately). Relative paths are relative to the spec file.
    Keyword arguments override the spec. See ``EXAMPLE`` in this module.
    """
    start = time.perf_counter()
    path = Path(path)
    doc = _load_toml(path)
    for table in ("sweep", "grid"):
        if not isinstance(doc.get(table), dict):
            raise _field_error(path, table, f"the [{table}] table is missing")
    sweep_doc, fit_doc = doc["sweep"], doc.get("fit")
    unknown = set(sweep_doc) - _SWEEP_KEYS
    if unknown:
        raise _field_error(path, f"sweep.{sorted(unknown)[0]}", f"unknown key (expected {', '.join(sorted(_SWEEP_KEYS))})")
    if fit_doc is not None:
        unknown = set(fit_doc) - _FIT_KEYS
        if unknown:
            raise _field_error(path, f"fit.{sorted(unknown)[0]}", f"unknown key (expected {', '.join(sorted(_FIT_KEYS))})")
        for key in ("x", "y"):
            if key not in fit_doc:
                raise _field_error(path, f"fit.{key}", "missing")
    if "seeds" not in sweep_doc:
        raise _field_error(path, "sweep.seeds", "missing (number of replicates, or a list of replicate labels)")
    fn = _import_function(path, sweep_doc.get("function"))
    base = path.parent
    store = base / sweep_doc.get("store", f"{path.stem}.jsonl")
    sweep = Sweep(fn, doc["grid"], sweep_doc["seeds"], store=store,
                  backend=backend or sweep_doc.get("backend", "joblib"),
                  n_jobs=n_jobs if n_jobs is not None else sweep_doc.get("n_jobs"),
                  seed=sweep_doc.get("seed", 0), chunk_size=sweep_doc.get("chunk_size"),
                  scheduler=scheduler or sweep_doc.get("scheduler"), progress=progress)
    table = sweep.run()
    fits: dict[str, RateFit] = {}
    comparisons: dict[str, RateComparison] = {}
    plot_path = None
    if fit_doc is not None:
        groups = [("all", table)] if "by" not in fit_doc else [(str(k), g) for k, g in table.groupby(fit_doc["by"])]
        ax = None
        for label, group in groups:
            fits[label] = fit_rate(group, fit_doc["x"], fit_doc["y"])
            exponent = fit_doc.get("theory_exponent")
            if exponent is not None:
                comparisons[label] = compare_rate(fits[label], exponent)
            if "plot" in fit_doc:
                if ax is None:
                    from matplotlib.figure import Figure

                    ax = Figure(figsize=(5.0, 3.6)).subplots()
                plot_rate(fits[label], theory_exponent=exponent, ax=ax,
                          label=None if label == "all" else label, title=fit_doc.get("title"))
        if ax is not None:
            plot_path = base / fit_doc["plot"]
            ax.figure.tight_layout()
            ax.figure.savefig(plot_path, dpi=90)
    return SpecResult(table=table, store=store, fits=fits, comparisons=comparisons, plot=plot_path, method="run_spec",
                      params={"path": str(path), "backend": backend, "n_jobs": n_jobs, "scheduler": scheduler},
                      elapsed=time.perf_counter() - start)
