"""Sweeps described in a small TOML file (``theory-rl sweep SPEC.toml``)."""

from __future__ import annotations

import datetime
import importlib
import json
import numbers
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._result import Result, to_plain
from .._validation import check_choice, check_int, check_optional_int
from ..errors import InvalidArgumentError, ParseError
from ._rates import RateComparison, RateFit, compare_rate, fit_rate, plot_rate
from ._sweep import BACKENDS, Sweep

__all__ = ["SpecResult", "run_spec", "spec_store"]

_SWEEP_KEYS = {"function", "seeds", "backend", "n_jobs", "store", "seed", "chunk_size", "scheduler"}
_FIT_KEYS = {"x", "y", "theory_exponent", "plot", "title", "by", "xlabel", "ylabel"}

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
plot = "plug_in.png"                                     # the fitted rate goes to plug_in.rate.json (beside the store)
xlabel = "samples per pair n"                            # optional axis labels (default: the column names)
ylabel = "error ||P_hat - P||"
"""


@dataclass(frozen=True, repr=False, eq=False)
class SpecResult(Result):
    """What :func:`run_spec` produced: the table, and the fit, comparison, figure path and the
    path of the fitted rate's JSON (``rate``) when the spec has a ``[fit]`` table (one fit per value
    of ``fit.by`` when given). ``params`` holds the keyword overrides of the call, ``elapsed`` the
    wall-clock seconds of the whole run."""

    table: Any
    store: Path
    fits: dict[str, RateFit]
    comparisons: dict[str, RateComparison]
    plot: Path | None
    rate: Path | None = None


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            from ..errors import DependencyNotInstalled

            raise DependencyNotInstalled("tomli", "sweep") from None
    if path.is_dir():
        raise InvalidArgumentError(f"{path} is a directory, not a TOML spec")
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except UnicodeDecodeError as exc:
        raise ParseError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from None
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


def _key_error(path: Path, key: str, value: Any, expected: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{path}: {key} = {value!r} must be {expected}")


def _checked(path: Path, doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """The [sweep], [grid] and [fit] tables, every key and value checked (errors name the key)."""
    for table in ("sweep", "grid"):
        if not isinstance(doc.get(table), dict):
            raise _field_error(path, table, f"the [{table}] table is missing")
    unknown_tables = sorted(set(doc) - {"sweep", "grid", "fit"})
    if unknown_tables:
        raise _field_error(path, unknown_tables[0], "unknown table (expected [sweep], [grid] and optional [fit])")
    sweep_doc, grid, fit_doc = doc["sweep"], doc["grid"], doc.get("fit")
    unknown = set(sweep_doc) - _SWEEP_KEYS
    if unknown:
        raise _field_error(path, f"sweep.{sorted(unknown)[0]}", f"unknown key (expected {', '.join(sorted(_SWEEP_KEYS))})")
    if "seeds" not in sweep_doc:
        raise _field_error(path, "sweep.seeds", "missing (number of replicates, or a list of replicate labels)")
    seeds = sweep_doc["seeds"]
    if isinstance(seeds, list):
        if not seeds or any(isinstance(r, bool) or not isinstance(r, int) for r in seeds) or len(set(seeds)) != len(seeds):
            raise _key_error(path, "sweep.seeds", seeds, "a non-empty list of distinct integers")
    else:
        check_int(seeds, f"{path}: sweep.seeds", minimum=1)
    if "backend" in sweep_doc:
        check_choice(sweep_doc["backend"], f"{path}: sweep.backend", BACKENDS)
    n_jobs = sweep_doc.get("n_jobs")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0):
        raise _key_error(path, "sweep.n_jobs", n_jobs, "a non-zero integer (-1: all cores)")
    if "seed" in sweep_doc:
        check_int(sweep_doc["seed"], f"{path}: sweep.seed", minimum=0)
    check_optional_int(sweep_doc.get("chunk_size"), f"{path}: sweep.chunk_size", minimum=1)
    for key in ("store", "scheduler", "function"):
        value = sweep_doc.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise _key_error(path, f"sweep.{key}", value, "a non-empty string")
    if not grid:
        raise _field_error(path, "grid", "the [grid] table is empty")
    for key, values in grid.items():
        if isinstance(values, dict) or (isinstance(values, list) and any(isinstance(v, (dict, list)) for v in values)):
            raise _key_error(path, f"grid.{key}", values, "a list of numbers, strings or booleans")
        if isinstance(values, list) and not values:
            raise _key_error(path, f"grid.{key}", values, "a non-empty list")
    if fit_doc is not None:
        if not isinstance(fit_doc, dict):
            raise _field_error(path, "fit", "must be a table")
        unknown = set(fit_doc) - _FIT_KEYS
        if unknown:
            raise _field_error(path, f"fit.{sorted(unknown)[0]}", f"unknown key (expected {', '.join(sorted(_FIT_KEYS))})")
        for key in ("x", "y"):
            if key not in fit_doc:
                raise _field_error(path, f"fit.{key}", "missing")
        for key in ("x", "y", "plot", "title", "by", "xlabel", "ylabel"):
            if key in fit_doc and (not isinstance(fit_doc[key], str) or not fit_doc[key].strip()):
                raise _key_error(path, f"fit.{key}", fit_doc[key], "a non-empty string")
        exponent = fit_doc.get("theory_exponent")
        if exponent is not None and (isinstance(exponent, bool) or not isinstance(exponent, numbers.Real)
                                     or exponent != exponent or abs(exponent) == float("inf")):
            raise _key_error(path, "fit.theory_exponent", exponent, "a finite number")
    return sweep_doc, grid, fit_doc


def spec_store(path: str | os.PathLike[str]) -> Path:
    """The store a TOML spec writes: ``[sweep] store`` relative to the spec's folder, else
    ``<spec stem>.jsonl`` beside it (what :func:`run_spec` and ``theory-rl sweep --repair SPEC``
    use)."""
    path = Path(path)
    sweep_doc, _, _ = _checked(path, _load_toml(path))
    return path.parent / sweep_doc.get("store", f"{path.stem}.jsonl")


def rate_file(store: Path) -> Path:
    """Where :func:`run_spec` writes the fitted rate: ``<store stem>.rate.json`` beside the store."""
    return store.with_name(f"{store.stem}.rate.json")


def _write_rate(path: Path, store: Path, fit_doc: dict[str, Any], fits: dict[str, RateFit],
                comparisons: dict[str, RateComparison], plot_path: Path | None) -> Path:
    """The fitted rate(s) as JSON beside the store (written atomically: a temporary file, then a rename)."""
    doc = {
        "spec": str(path), "store": str(store), "plot": None if plot_path is None else str(plot_path),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "x": fit_doc["x"], "y": fit_doc["y"], "by": fit_doc.get("by"),
        "model": "log y = intercept + slope * log x (least squares, bootstrap CI on the slope)",
        "theory_exponent": fit_doc.get("theory_exponent"),
        "fits": {label: {"slope": fit.slope, "ci_low": fit.ci_low, "ci_high": fit.ci_high, "level": fit.level,
                         "intercept": fit.intercept, "n_points": fit.n_points, "n_dropped": fit.n_dropped,
                         **({"theorem_inside_ci": comparisons[label].inside, "verdict": comparisons[label].verdict}
                            if label in comparisons else {})}
                 for label, fit in fits.items()},
    }
    target = rate_file(store)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(to_plain(doc), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def run_spec(path: str | os.PathLike[str], *, backend: str | None = None, n_jobs: int | None = None,
             scheduler: str | None = None, progress: bool = False, wait: float = 0.0) -> SpecResult:
    """Run the sweep a TOML spec describes, write its store, and fit and plot the rate.

    The spec has a ``[sweep]`` table (``function``, ``seeds``, optional ``backend``, ``n_jobs``,
    ``store``, ``seed``, ``chunk_size``, ``scheduler``), a ``[grid]`` table of parameter lists and
    an optional ``[fit]`` table (``x``, ``y``, ``theory_exponent``, ``plot``, ``title``, and ``by``
    to fit each value of a column separately). Relative paths are relative to the spec file.
    Keyword arguments override the spec; ``wait`` is the seconds to wait for another sweep
    holding the store's lock (see :class:`Sweep`). See ``EXAMPLE`` in this module.

    Raises
    ------
    ParseError
        The file is not TOML, or a table or key is missing or unknown (naming it).
    InvalidArgumentError
        A value of the wrong type or range (``sweep.seeds = 2.5``, ``sweep.chunk_size = -1``), a
        grid key the task function does not accept, or a ``[fit]`` column the table lacks, naming
        the key.
    StoreLockedError
        Another sweep is writing the store.
    """
    start = time.perf_counter()
    path = Path(path)
    sweep_doc, grid, fit_doc = _checked(path, _load_toml(path))
    fn = _import_function(path, sweep_doc.get("function"))
    base = path.parent
    store = base / sweep_doc.get("store", f"{path.stem}.jsonl")
    try:
        sweep = Sweep(fn, grid, sweep_doc["seeds"], store=store,
                      backend=backend or sweep_doc.get("backend", "joblib"),
                      n_jobs=n_jobs if n_jobs is not None else sweep_doc.get("n_jobs"),
                      seed=sweep_doc.get("seed", 0), chunk_size=sweep_doc.get("chunk_size"),
                      scheduler=scheduler or sweep_doc.get("scheduler"), progress=progress, wait=wait)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{path}: {exc}") from None
    table = sweep.run()
    fits: dict[str, RateFit] = {}
    comparisons: dict[str, RateComparison] = {}
    plot_path = rate_path = None
    if fit_doc is not None:
        for key in ("x", "y", "by"):
            if key in fit_doc and fit_doc[key] not in table.columns:
                columns = ", ".join(str(c) for c in table.columns if c not in ("task", "elapsed"))
                raise InvalidArgumentError(f"{path}: fit.{key} = {fit_doc[key]!r} is not a column of the results "
                                           f"(columns: {columns})")
        by = fit_doc.get("by")
        groups = [("all", table)] if by is None else [(str(k), g) for k, g in table.groupby(by)]
        exponent = fit_doc.get("theory_exponent")
        ax = None
        for label, group in groups:
            fits[label] = fit_rate(group, fit_doc["x"], fit_doc["y"])
            if exponent is not None:
                comparisons[label] = compare_rate(fits[label], exponent)
            if "plot" in fit_doc:
                if ax is None:
                    from matplotlib.figure import Figure

                    ax = Figure(figsize=(7.5, 3.8), layout="constrained").subplots()
                title = fit_doc.get("title") or f"{fit_doc['y']} against {fit_doc['x']}: measured and theorem's slopes"
                plot_rate(fits[label], theory_exponent=exponent, ax=ax,
                          label=None if label == "all" else f"{by} = {label}", title=title)
        if ax is not None:
            ax.set_xlabel(f"{fit_doc.get('xlabel', fit_doc['x'])} (log scale)")
            ax.set_ylabel(f"{fit_doc.get('ylabel', fit_doc['y'])} (log scale)")
            plot_path = base / fit_doc["plot"]
            plot_path.parent.mkdir(parents=True, exist_ok=True)
            ax.figure.savefig(plot_path, dpi=90, bbox_inches="tight")
        rate_path = _write_rate(path, store, fit_doc, fits, comparisons, plot_path)
    return SpecResult(table=table, store=store, fits=fits, comparisons=comparisons, plot=plot_path, rate=rate_path,
                      method="run_spec",
                      params={"path": str(path), "backend": backend, "n_jobs": n_jobs, "scheduler": scheduler,
                              "wait": wait},
                      elapsed=time.perf_counter() - start)
