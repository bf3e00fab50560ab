"""Experiments that check a theorem's rate: resumable seeded sweeps, rate fits, plots.

- :class:`Sweep` runs ``fn(**params, seed=...)`` over a grid and replicates with joblib (one
  machine) or Dask (a ``distributed`` cluster), writing each finished task to an append-only
  JSON-lines :class:`ResultStore`; rerunning resumes. :func:`load_results` reads a store into
  pandas. One sweep at a time writes a store (:class:`StoreLock`); :func:`repair_store` drops
  a store's corrupted lines, keeping a backup (``theory-rl sweep --repair STORE``).
- :func:`fit_rate` (log-log slope with a bootstrap CI), :func:`compare_rate` (is the theorem's
  exponent inside it?) and :func:`plot_rate` (matplotlib).
- :func:`run_spec` runs a sweep described in TOML (``theory-rl sweep SPEC.toml``).
- :func:`fast_mode` reads ``THEORY_RL_FAST`` (notebooks and tests shrink their budgets).
- ``theory_rl.experiments.tasks``: the reproductions' task functions.
"""

from ._fast import fast_mode
from ._rates import RateComparison, RateFit, compare_rate, fit_rate, plot_rate
from ._spec import SpecResult, run_spec, spec_store
from ._store import ResultStore, StoreLock, StoreLockedError, StoreRepair, load_results, repair_store
from ._sweep import Sweep, Task, task_seed

__all__ = [
    "RateComparison",
    "RateFit",
    "ResultStore",
    "SpecResult",
    "StoreLock",
    "StoreLockedError",
    "StoreRepair",
    "Sweep",
    "Task",
    "compare_rate",
    "fast_mode",
    "fit_rate",
    "load_results",
    "plot_rate",
    "repair_store",
    "run_spec",
    "spec_store",
    "task_seed",
]
