"""Command line: ``theory-rl solve MODEL ...``, ``theory-rl sweep SPEC.toml`` and ``theory-rl demo``
(also ``python -m theory_rl``).

MODEL is a model file written by :meth:`FiniteMDP.save` (``.npz`` or ``.json``) or a built-in
instance ``NAME[:key=value,...]`` from :mod:`theory_rl.envs`, e.g. ``gridworld:n_rows=10,n_cols=10``
or ``forest:n_states=1000``. Errors print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from .errors import TheoryRLError

__all__ = ["main", "load_model"]

_METHODS = {
    "vi": "value_iteration",
    "gs": "value_iteration",
    "pi": "policy_iteration",
    "mpi": "modified_policy_iteration",
    "lp": "linear_programming",
}

_BUILTINS = ("random_mdp", "garnet", "forest", "gridworld", "sutton_barto_gridworld", "cliff_walking",
             "river_swim", "chain")


def _parse_value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    return text


def load_model(spec: str, *, gamma: float | None = None):
    """A :class:`~theory_rl.models.FiniteMDP` from a file path or ``NAME[:key=value,...]``."""
    from . import envs, models

    if spec.endswith((".npz", ".json")) or os.path.sep in spec:
        mdp = models.load(spec)
    else:
        name, _, arg_text = spec.partition(":")
        name = name.replace("-", "_")
        if name not in _BUILTINS:
            raise ValueError(f"unknown model {spec!r}: give a .npz/.json file or one of {', '.join(_BUILTINS)}")
        kwargs = {}
        for item in filter(None, arg_text.split(",")):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"malformed model argument {item!r} (expected key=value)")
            kwargs[key.strip()] = _parse_value(value.strip())
        if gamma is not None:
            kwargs["gamma"] = gamma
        try:
            return getattr(envs, name)(**kwargs)
        except TypeError as exc:
            raise ValueError(f"bad arguments for {name}: {exc}") from None
    return mdp if gamma is None else mdp.replace(gamma=gamma)


def _solve(args: argparse.Namespace) -> int:
    from . import tabular

    mdp = load_model(args.model, gamma=args.gamma)
    solver = getattr(tabular, _METHODS[args.method])
    options: dict[str, Any] = {}
    if args.method != "lp":
        options["tol"] = args.tol
    if args.method == "gs":
        options["variant"] = "gauss-seidel"
    if args.max_iter is not None and args.method != "lp":
        options["max_iter"] = args.max_iter
    sol = solver(mdp, **options)
    if args.json:
        doc = {"model": repr(mdp), "n_states": mdp.n_states, "n_actions": mdp.n_actions, "gamma": mdp.gamma}
        doc.update(sol.to_dict())
        if not args.full:
            for key in ("q", "lower", "upper", "history", "occupancy", "info"):
                doc.pop(key, None)
        json.dump(doc, sys.stdout)
        sys.stdout.write("\n")
        return 0
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


def _sweep(args: argparse.Namespace) -> int:
    from .experiments import run_spec

    result = run_spec(args.spec, backend=args.backend, n_jobs=args.n_jobs, scheduler=args.scheduler,
                      progress=not args.no_progress)
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
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    run_demo()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="theory-rl", description=__doc__.split("\n\n")[0])
    from . import __version__

    parser.add_argument("--version", action="version", version=f"theory_rl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    solve = sub.add_parser("solve", help="solve a finite MDP and print a certified answer")
    solve.add_argument("model", help="a .npz/.json model file, or NAME[:key=value,...] from theory_rl.envs")
    solve.add_argument("--method", choices=sorted(_METHODS), default="pi",
                       help="vi: value iteration, gs: Gauss-Seidel VI, pi: policy iteration, "
                            "mpi: modified PI, lp: linear programming (HiGHS)")
    solve.add_argument("--gamma", type=float, default=None, help="override the model's discount factor")
    solve.add_argument("--tol", type=float, default=1e-6, help="certified optimality target (default 1e-6)")
    solve.add_argument("--max-iter", type=int, default=None)
    solve.add_argument("--json", action="store_true", help="print machine-readable JSON")
    solve.add_argument("--full", action="store_true", help="print every state (and every field with --json)")
    solve.set_defaults(func=_solve)
    sweep = sub.add_parser("sweep", help="run a resumable parameter sweep described in a TOML file",
                           description="Run the sweep in SPEC.toml ([sweep], [grid], optional [fit]; see "
                                       "theory_rl.experiments._spec.EXAMPLE), append each finished task to the "
                                       "store, fit the rate and write the plot. Rerunning resumes.")
    sweep.add_argument("spec", help="the TOML spec")
    sweep.add_argument("--backend", choices=("joblib", "dask", "serial"), default=None, help="override the spec")
    sweep.add_argument("--n-jobs", type=int, default=None, help="override the spec's worker count")
    sweep.add_argument("--scheduler", default=None,
                       help="Dask scheduler address (also $THEORY_RL_DASK_SCHEDULER) for backend dask")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.set_defaults(func=_sweep)
    demo = sub.add_parser("demo", help="show the library at work")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (TheoryRLError, ValueError, OSError) as exc:
        print(f"theory-rl: error: {exc}", file=sys.stderr)
        return 2



if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
