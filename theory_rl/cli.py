"""Command line: ``theory-rl solve MODEL ...``, ``theory-rl sweep SPEC.toml`` and ``theory-rl demo``
(also ``python -m theory_rl``).

MODEL is a model file written by :meth:`FiniteMDP.save` (``.npz`` or ``.json``) or a built-in
instance ``NAME[:key=value,...]`` read by :func:`theory_rl.envs.make`, e.g.
``gridworld:n_rows=10,n_cols=10`` or ``forest:n_states=1000``. Every error from the invocation
(a bad option, model spec, file or sweep spec, a model above the memory limit, a store another
sweep holds) prints one line, ``theory-rl: error: ...``, to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ._deprecation import warn_deprecated
from ._validation import check_max_iter, check_tol
from .errors import ConvergenceWarning, InvalidArgumentError, TheoryRLError

__all__ = ["build_parser", "load_model", "main"]

_METHODS = {
    "vi": "value_iteration",
    "gs": "value_iteration",
    "pi": "policy_iteration",
    "mpi": "modified_policy_iteration",
    "lp": "linear_programming",
}


class _UsageError(Exception):
    """An argparse usage error, turned into one line by :func:`main`."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``error`` raises instead of printing the usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def load_model(spec: str, *, gamma: float | None = None):
    """Deprecated alias of :func:`theory_rl.envs.make` (kept for one release).

    Examples
    --------
    >>> import warnings
    >>> from theory_rl.cli import load_model
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter('ignore', DeprecationWarning)
    ...     mdp = load_model('chain:n_states=4', gamma=0.5)
    >>> mdp.n_states, mdp.gamma
    (4, 0.5)
    """
    warn_deprecated("theory_rl.cli.load_model", "theory_rl.envs.make")
    from .envs import make

    return make(spec, gamma=gamma)


_POMDP_METHODS = ("sarsop", "hsvi2")


def _model(spec: str, gamma: float | None):
    from .envs import make
    from .models import POMDP, FiniteMDP

    model = make(spec, gamma=gamma)
    if not isinstance(model, (FiniteMDP, POMDP)):
        raise InvalidArgumentError(f"model {spec!r} is a {type(model).__name__}; `theory-rl solve` solves finite "
                                   "MDPs and POMDPs")
    return model


def _print_json(doc: dict[str, Any], sol: Any, dropped: tuple[str, ...]) -> int:
    """Write ``doc`` with the solution's fields, less the ``dropped`` ones, as one JSON line."""
    doc.update(sol.to_dict())
    for key in dropped:
        doc.pop(key, None)
    json.dump(doc, sys.stdout)
    sys.stdout.write("\n")
    return 0


def _solve_pomdp(model: Any, args: argparse.Namespace) -> int:
    from . import pomdp

    method = "sarsop" if args.method is None else args.method
    if method not in _POMDP_METHODS:
        raise InvalidArgumentError(f"--method {method!r} solves MDPs; for the POMDP {args.model!r} use one of "
                                   f"{', '.join(_POMDP_METHODS)}")
    tol = 1e-3 if args.tol is None else check_tol(args.tol, "--tol")
    options: dict[str, Any] = {"tol": tol, "time_limit": 10.0 if args.time_limit is None else args.time_limit,
                               "max_iter": check_max_iter(args.max_iter, "--max-iter"), "progress": True}
    sol = getattr(pomdp, method)(model, **options)
    if args.json:
        doc = {"model": repr(model), "n_states": model.n_states, "n_actions": model.n_actions,
               "n_observations": model.n_observations, "gamma": model.gamma}
        return _print_json(doc, sol, () if args.full else ("alpha", "actions", "history", "info"))
    print(repr(model))
    print(f"method      {sol.method}")
    print(f"converged   {sol.converged} after {sol.n_iter} trials in {sol.elapsed:.4g} s")
    print(f"certified   {sol.lower!r} <= V*(b0) <= {sol.upper!r}   (gap {sol.gap:.3g}, tol {tol:g})")
    actions = model.action_names or tuple(str(a) for a in range(model.n_actions))
    print(f"policy      {sol.n_vectors} alpha vectors; at b0: {actions[int(pomdp.alpha_action(sol.alpha, sol.actions, model.b0))]}")
    return 0


def _solve(args: argparse.Namespace) -> int:
    from . import tabular
    from .models import POMDP

    model = _model(args.model, args.gamma)
    if isinstance(model, POMDP):
        return _solve_pomdp(model, args)
    if args.method is None:
        args.method = "pi"
    if args.method not in _METHODS:
        raise InvalidArgumentError(f"--method {args.method!r} solves POMDPs; for the MDP {args.model!r} use one of "
                                   f"{', '.join(sorted(_METHODS))}")
    if args.time_limit is not None:
        raise InvalidArgumentError("--time-limit applies to the POMDP solvers only")
    tol = 1e-6 if args.tol is None else check_tol(args.tol, "--tol")
    max_iter = check_max_iter(args.max_iter, "--max-iter")
    mdp = model
    solver = getattr(tabular, _METHODS[args.method])
    options: dict[str, Any] = {}
    if args.method != "lp":
        options["tol"] = tol
    if args.method == "gs":
        options["variant"] = "gauss-seidel"
    if max_iter is not None and args.method != "lp":  # the LP has no iteration cap (HiGHS runs to optimality)
        options["max_iter"] = max_iter
    if "progress" in inspect.signature(solver).parameters and sys.stderr.isatty():
        options["progress"] = True  # a bar on a terminal; piped or captured output stays one line per warning
    sol = solver(mdp, **options)
    if args.json:
        doc = {"model": repr(mdp), "n_states": mdp.n_states, "n_actions": mdp.n_actions, "gamma": mdp.gamma}
        return _print_json(doc, sol, () if args.full else ("q", "lower", "upper", "history", "occupancy", "info"))
    print(repr(mdp))
    print(f"method      {sol.method}{' (Gauss-Seidel)' if args.method == 'gs' else ''}")
    print(f"converged   {sol.converged} after {sol.n_iter} iterations in {sol.elapsed:.4g} s")
    print(f"certified   ||v - v*||_inf <= {sol.bound:.3g}   (Bellman residual {sol.residual:.3g})")
    names = mdp.state_names or tuple(str(s) for s in range(mdp.n_states))
    actions = mdp.action_names or tuple(str(a) for a in range(mdp.n_actions))
    shown = mdp.n_states if args.full else min(mdp.n_states, 20)
    print(f"{'state':>12} {'v':>14}  policy")
    for s in range(shown):
        print(f"{names[s]:>12} {sol.v[s]:>14.8g}  {actions[int(sol.policy[s])]}")
    if shown < mdp.n_states:
        print(f"... {mdp.n_states - shown} more states (use --full or --json)")
    return 0


def _repair(args: argparse.Namespace) -> int:
    from .experiments import repair_store, spec_store

    for name in ("backend", "n_jobs", "scheduler"):
        if getattr(args, name) is not None:
            raise InvalidArgumentError(f"--{name.replace('_', '-')} does not apply to --repair")
    target = Path(args.spec)
    store = spec_store(target) if target.suffix == ".toml" else target
    report = repair_store(store)
    if not report.dropped:
        print(f"store       {report.path}: {report.kept} records, nothing to repair")
        return 0
    for line, reason in zip(report.dropped, report.reasons):
        print(f"dropped     line {line}: {reason}")
    print(f"store       {report.path}: kept {report.kept} records, dropped {len(report.dropped)} line(s); "
          f"the original is in {report.backup}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    if args.repair:
        return _repair(args)
    from .experiments import run_spec

    result = run_spec(args.spec, backend=args.backend, n_jobs=args.n_jobs, scheduler=args.scheduler,
                      progress=not args.no_progress, wait=args.wait)
    print(f"store       {result.store} ({len(result.table)} tasks)")
    for label, fit in result.fits.items():
        line = (f"fit {label:>8}  slope of log {fit.y_name} vs log {fit.x_name}: {fit.slope:.3f} "
                f"[{fit.ci_low:.3f}, {fit.ci_high:.3f}] ({fit.level:.0%} bootstrap CI, {fit.n_points} points)")
        comparison = result.comparisons.get(label)
        if comparison is not None:
            line += f"; theorem {comparison.theory:g}: {comparison.verdict}"
        print(line)
    if result.plot is not None:
        print(f"plot        {result.plot}")
    if result.rate is not None:
        print(f"rate        {result.rate}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.sections or None)
    return 0


def _wait_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``theory-rl`` argument parser (its errors raise instead of exiting; see :func:`main`).

    Examples
    --------
    >>> from theory_rl.cli import build_parser
    >>> args = build_parser().parse_args(['solve', 'forest:n_states=10', '--method', 'vi'])
    >>> args.command, args.method
    ('solve', 'vi')
    """
    parser = _Parser(prog="theory-rl", description=__doc__.split("\n\n")[0])
    from . import __version__

    parser.add_argument("--version", action="version", version=f"theory_rl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{solve,sweep,demo}")
    solve = sub.add_parser("solve", help="solve a finite MDP or POMDP and print a certified answer")
    solve.add_argument("model", help="a .npz/.json model file, or NAME[:key=value,...] (see theory_rl.envs.make; "
                                     "the classic POMDPs: tiger, shuttle, hallway, rock_sample_4_4, ...)")
    solve.add_argument("--method", choices=sorted(_METHODS) + list(_POMDP_METHODS), default=None,
                       help="MDPs: vi: value iteration, gs: Gauss-Seidel VI, pi: policy iteration (default), "
                            "mpi: modified PI, lp: linear programming (HiGHS); POMDPs: sarsop (default), hsvi2")
    solve.add_argument("--gamma", type=float, default=None, help="override the model's discount factor")
    solve.add_argument("--tol", type=float, default=None,
                       help="certified optimality target (default 1e-6; POMDPs: the gap at b0, default 1e-3)")
    solve.add_argument("--max-iter", type=int, default=None)
    solve.add_argument("--time-limit", type=float, default=None,
                       help="seconds for a POMDP solver (default 10); compilation is not counted")
    solve.add_argument("--json", action="store_true", help="print machine-readable JSON")
    solve.add_argument("--full", action="store_true", help="print every state (and every field with --json)")
    solve.set_defaults(func=_solve)
    sweep = sub.add_parser(
        "sweep", help="run a resumable parameter sweep described in a TOML file",
        description="Run the sweep in SPEC.toml ([sweep], [grid], optional [fit]; see "
                    "theory_rl.experiments.run_spec), append each finished task to the store, fit the rate "
                    "and write the plot. Rerunning resumes. One sweep at a time writes a store: a second one "
                    "on the same store stops with an error (or waits, with --wait). --repair drops the "
                    "corrupted lines of a store (naming them) and keeps a backup.")
    sweep.add_argument("spec", help="the TOML spec (with --repair: the store, or the spec whose store to repair)")
    sweep.add_argument("--backend", choices=("joblib", "dask", "serial"), default=None, help="override the spec")
    sweep.add_argument("--n-jobs", type=int, default=None, help="override the spec's worker count")
    sweep.add_argument("--scheduler", default=None,
                       help="Dask scheduler address (also $THEORY_RL_DASK_SCHEDULER) for backend dask")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("--wait", type=_wait_seconds, default=0.0, metavar="SECONDS",
                       help="wait up to SECONDS for another sweep writing the same store (default 0: fail at once)")
    sweep.add_argument("--repair", action="store_true",
                       help="drop corrupted lines of the store (saying which), keeping a backup, and exit")
    sweep.set_defaults(func=_sweep)
    demo = sub.add_parser("demo", help="show the library at work")
    demo.add_argument("sections", nargs="*", metavar="SECTION",
                      help="run only these sections (tabular, learning, pomdp, robust, combinatorial, dual, "
                           "experiments, approx); default all")
    demo.set_defaults(func=_demo)
    return parser


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 2000 else text[:2000] + " ..."


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 after a one-line error on stderr).

    Examples
    --------
    >>> from theory_rl.cli import main
    >>> main(['solve', 'chain:n_states=3', '--gamma', '0.9', '--method', 'lp'])  # doctest: +ELLIPSIS
    FiniteMDP(S=3, A=2, gamma=0.9, dense, R in [0.4, 8.4])
    method      linear_programming
    converged   True after 4 iterations in ... s
    certified   ||v - v*||_inf <= ...   (Bellman residual ...)
           state              v  policy
               0         45.472  a
               1         51.232  a
               2         59.232  a
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        with warnings.catch_warnings(record=True) as caught:  # shown as one line each, not file:line + source
            warnings.simplefilter("always", ConvergenceWarning)  # reported (the output says converged False)
            try:
                return int(args.func(args))
            finally:
                for w in caught:
                    print(f"theory-rl: warning: {w.category.__name__}: {_one_line(w.message)}", file=sys.stderr)
    except BrokenPipeError:  # the reader went away (``theory-rl solve ... | head``): stop quietly
        try:  # point stdout at /dev/null so that the flush at exit does not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # a stdout without a file descriptor (captured)
            pass
        return 141
    except (_UsageError, TheoryRLError, ValueError, OSError, argparse.ArgumentTypeError) as exc:
        print(f"theory-rl: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except RecursionError:
        print("theory-rl: error: the input is nested too deeply to read (RecursionError)", file=sys.stderr)
        return 2
    except MemoryError as exc:
        print(f"theory-rl: error: out of memory ({_one_line(exc)}); the model is too large for this machine",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("theory-rl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
