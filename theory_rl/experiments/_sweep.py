"""Resumable, seeded parameter sweeps on one machine (joblib) or a cluster (Dask)."""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import numbers
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._iterative import notebook_aware_tqdm
from .._result import to_plain
from .._validation import check_bool, check_choice, check_int, check_optional_int
from ..errors import InvalidArgumentError
from ._store import ResultStore, flatten_record

__all__ = ["Sweep", "Task", "task_seed"]

BACKENDS = ("serial", "joblib", "dask")
SCHEDULER_ENV = "THEORY_RL_DASK_SCHEDULER"


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def task_seed(params: Mapping[str, Any], replicate: int, *, root: int = 0) -> int:
    """The seed a task receives: ``SeedSequence`` keyed by a stable hash of the parameters.

    ``SeedSequence(entropy=[root, h_0, ..., h_7], spawn_key=(replicate,))`` where ``h_i`` are
    the eight 32-bit words of ``sha256(canonical JSON of params)``; the first 63 bits of its state
    are the seed. It depends on nothing but ``(params, replicate, root)`` - not on the order,
    the worker or the backend that runs the task - and tasks with equal parameters in different
    sweeps share seeds (common random numbers).
    """
    digest = hashlib.sha256(_canonical(dict(params)).encode()).digest()
    words = np.frombuffer(digest, dtype=">u4").astype(np.uint64).tolist()
    ss = np.random.SeedSequence(entropy=[int(root), *words], spawn_key=(int(replicate),))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True)
class Task:
    """One ``fn(**params, seed=seed)`` call; ``key`` hashes the function name, the parameters,
    the replicate and the root seed."""

    key: str
    params: dict[str, Any]
    replicate: int
    seed: int


def _function_name(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def _check_value(name: str, value: Any) -> Any:
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise InvalidArgumentError(f"grid[{name!r}] holds {value!r}: parameters must be finite")
        return float(value)
    raise InvalidArgumentError(
        f"grid[{name!r}] holds {value!r} of type {type(value).__name__}: parameters must be JSON scalars "
        "(int, float, str, bool, None) so that task hashes are stable")


def _expand_grid(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(grid, Mapping):
        names = list(grid)
        values = []
        for name in names:
            vals = grid[name]
            if isinstance(vals, (str, bytes)) or not isinstance(vals, Iterable):
                vals = [vals]
            vals = [_check_value(name, v) for v in vals]
            if not vals:
                raise InvalidArgumentError(f"grid[{name!r}] is empty")
            values.append(vals)
        points = [dict(zip(names, combo)) for combo in itertools.product(*values)]
    else:
        points = []
        for i, point in enumerate(grid):
            if not isinstance(point, Mapping):
                raise InvalidArgumentError(f"grid[{i}] must be a dict of parameters, got {type(point).__name__}")
            points.append({k: _check_value(f"{i}].[{k}", v) for k, v in point.items()})
    for point in points:
        if "seed" in point:
            raise InvalidArgumentError("'seed' cannot be a grid parameter: the sweep derives each task's seed")
    return points


def _replicates(seeds: Any) -> list[int]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return list(range(check_int(seeds, "seeds", minimum=1)))
    if isinstance(seeds, (str, bytes, Mapping)) or not isinstance(seeds, Iterable):
        raise InvalidArgumentError(f"seeds = {seeds!r} must be a number of replicates (>= 1) or a list of "
                                   "distinct integer labels")
    replicates = list(seeds)
    for r in replicates:
        if isinstance(r, bool) or not isinstance(r, numbers.Integral):
            raise InvalidArgumentError(f"seeds = {seeds!r}: replicate label {r!r} is not an integer")
    replicates = [int(r) for r in replicates]
    if len(set(replicates)) != len(replicates) or not replicates:
        raise InvalidArgumentError(f"seeds = {seeds!r} must be a non-empty list of distinct integers")
    return replicates


def _check_signature(fn: Callable[..., Any], points: list[dict[str, Any]]) -> None:
    """Every grid key is an argument of ``fn``, ``fn`` takes ``seed``, and the grid gives every
    required argument (checked here, not as a ``TypeError`` inside a worker)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    named = {name for name, p in params.items()
             if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    name = getattr(fn, "__name__", repr(fn))
    if "seed" not in named:
        raise InvalidArgumentError(f"{name} takes no 'seed' argument: a sweep calls fn(**params, seed=...)")
    required = {n for n in named if params[n].default is inspect.Parameter.empty and n != "seed"}
    accepted = ", ".join(sorted(named - {"seed"}))
    for point in points:
        unknown = sorted(set(point) - named)
        if unknown:
            raise InvalidArgumentError(f"grid key {unknown[0]!r} is not an argument of {name} (it takes {accepted})")
        missing = sorted(required - set(point))
        if missing:
            raise InvalidArgumentError(f"{name} needs {missing[0]!r}, which the grid does not give (it takes {accepted})")


def _plain_result(value: Any) -> dict[str, Any]:
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    value = to_plain(value)
    return value if isinstance(value, dict) else {"value": value}


def _run_chunk(fn: Callable[..., Any], chunk: list[Task], threads: int | None = 1) -> list[tuple[str, dict[str, Any], float]]:
    """Run tasks in a worker; returns ``(key, result, elapsed)`` for each (module level: picklable).

    ``threads`` caps numba's thread pool while the tasks run (restored afterwards): parallel
    kernels on tiny models in one process per core otherwise spend their time synchronising
    threads (measured 80x slower per plug-in task on a loaded 2-core machine).
    """
    import numba

    previous = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        out = []
        for task in chunk:
            start = time.perf_counter()
            result = fn(**task.params, seed=task.seed)
            out.append((task.key, _plain_result(result), time.perf_counter() - start))
        return out
    finally:
        numba.set_num_threads(previous)


class Sweep:
    r"""Run ``fn(**params, seed=...)`` for every grid point and replicate, resumably, in parallel.

    Parameters
    ----------
    fn : callable
        ``fn(**params, seed=int) -> dict`` of JSON scalars (or an object with ``to_dict()``). It
        must be importable by the workers (a module-level function) for the joblib and Dask
        backends.
    grid : dict of name -> list, or list of dicts
        The Cartesian product of a dict's lists, or explicit parameter dicts. Values are JSON
        scalars.
    seeds : int or sequence of int
        Number of replicates per grid point, or the replicate labels themselves.
    store : path, optional
        JSON-lines file (:class:`ResultStore`). Tasks already recorded there are skipped, so
        rerunning an interrupted sweep finishes it without redoing or duplicating a task.
        Without a store, results are kept in memory only.
    backend : {"joblib", "dask", "serial"}
        ``joblib`` (loky processes on this machine); ``dask`` (a ``distributed`` cluster:
        ``client`` if given, else the scheduler at ``scheduler`` or ``$THEORY_RL_DASK_SCHEDULER``,
        else a ``LocalCluster`` of ``n_jobs`` single-threaded worker processes); ``serial``.
    n_jobs : int, optional
        Worker processes (joblib's meaning; default all cores).
    seed : int
        Root entropy of every task seed (see :func:`task_seed`).
    chunk_size : int, optional
        Tasks per dispatched call (default: enough chunks for ~20 per worker, at most 50 tasks
        each). A killed sweep loses at most the chunks in flight.
    progress : bool
        tqdm bar over tasks, with the rate and ETA (off by default; ``theory-rl sweep`` shows it).
    client, scheduler :
        A ``distributed.Client``, or a scheduler address such as ``"tcp://10.0.0.1:8786"``.
    threads_per_task : int or None
        numba threads each task may use (default 1: parallelism comes from the workers);
        ``None`` leaves numba's setting alone.
    wait : float
        Seconds to wait when another sweep holds the store's lock (default 0: raise
        :class:`StoreLockedError` at once). See :class:`StoreLock`.

    Notes
    -----
    A task's result depends only on ``(fn, params, replicate, seed)``: the table from
    :meth:`run` is sorted in grid order, so serial, joblib and Dask runs give identical tables
    apart from the ``elapsed`` column. A task that raises stops the sweep; tasks finished before
    it stay in the store.

    One sweep at a time writes a store: :meth:`run` holds the store's exclusive lock
    (:class:`StoreLock`, ``<store>.lock``) from reading the finished tasks to writing the last
    one, so two sweeps started on one store never run a task twice; the second fails at once
    with :class:`StoreLockedError` naming the holder, or, with ``wait``, waits for the first and
    then runs only what is left.

    Raises
    ------
    InvalidArgumentError
        A bad option (``seeds = 2.5``, ``chunk_size = -1``, ...), a grid value that is not a JSON
        scalar, or a grid key ``fn`` does not accept (or a required argument of ``fn`` the grid
        does not give), naming it.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
        seeds: int | Sequence[int],
        *,
        store: str | os.PathLike[str] | None = None,
        backend: str = "joblib",
        n_jobs: int | None = None,
        seed: int = 0,
        chunk_size: int | None = None,
        progress: bool = False,
        client: Any = None,
        scheduler: str | None = None,
        threads_per_task: int | None = 1,
        wait: float = 0.0,
    ) -> None:
        if not callable(fn):
            raise InvalidArgumentError(f"fn must be callable, got {fn!r}")
        check_choice(backend, "backend", BACKENDS)
        replicates = _replicates(seeds)
        if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0):
            raise InvalidArgumentError(f"n_jobs = {n_jobs!r} must be a non-zero integer or None")
        chunk_size = check_optional_int(chunk_size, "chunk_size", minimum=1)
        threads_per_task = check_optional_int(threads_per_task, "threads_per_task", minimum=1)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise InvalidArgumentError(f"seed = {seed!r} must be an integer >= 0 (the root entropy of the task seeds)")
        progress = check_bool(progress, "progress")
        if isinstance(wait, bool) or not isinstance(wait, numbers.Real) or not float(wait) >= 0:
            raise InvalidArgumentError(f"wait = {wait!r} must be a number of seconds >= 0")
        if scheduler is not None and not isinstance(scheduler, str):
            raise InvalidArgumentError(f"scheduler = {scheduler!r} must be an address string such as 'tcp://host:8786'")
        points = _expand_grid(grid)
        _check_signature(fn, points)
        self.fn = fn
        self.points = points
        self.replicates = replicates
        self.store = ResultStore(store) if store is not None else None
        self.backend = backend
        self.n_jobs = None if n_jobs is None else int(n_jobs)
        self.seed = int(seed)
        self.wait = float(wait)
        self.chunk_size = chunk_size
        self.progress = progress
        self.client = client
        self.scheduler = scheduler
        self.threads_per_task = threads_per_task
        self._memory: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ tasks
    def tasks(self) -> list[Task]:
        """Every task, in grid order (grid point major, replicate minor)."""
        name = _function_name(self.fn)
        out = []
        for params in self.points:
            for r in self.replicates:
                key = hashlib.sha256(_canonical({"fn": name, "params": params, "replicate": r,
                                                 "root": self.seed}).encode()).hexdigest()[:32]
                out.append(Task(key=key, params=params, replicate=r,
                                seed=task_seed(params, r, root=self.seed)))
        return out

    def _done(self) -> dict[str, dict[str, Any]]:
        if self.store is None:
            return dict(self._memory)
        return {r["task"]: r for r in self.store.records()}

    def pending(self) -> list[Task]:
        """Tasks not yet recorded."""
        done = self._done()
        return [t for t in self.tasks() if t.key not in done]

    # ------------------------------------------------------------------ running
    def _workers(self) -> int:
        if self.n_jobs is None or self.n_jobs < 0:
            return os.cpu_count() or 1
        return self.n_jobs

    def _chunks(self, pending: list[Task]) -> list[list[Task]]:
        size = self.chunk_size
        if size is None:
            size = max(1, min(50, len(pending) // (20 * self._workers())))
        return [pending[i:i + size] for i in range(0, len(pending), size)]

    def _results(self, chunks: list[list[Task]]) -> Iterator[list[tuple[str, dict[str, Any], float]]]:
        if self.backend == "serial" or not chunks:
            for chunk in chunks:
                yield _run_chunk(self.fn, chunk, self.threads_per_task)
        elif self.backend == "joblib":
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=self.n_jobs if self.n_jobs is not None else -1,
                                return_as="generator_unordered", batch_size=1)
            yield from parallel(delayed(_run_chunk)(self.fn, chunk, self.threads_per_task) for chunk in chunks)
        else:
            yield from self._dask_results(chunks)

    def _dask_results(self, chunks: list[list[Task]]) -> Iterator[list[tuple[str, dict[str, Any], float]]]:
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError:  # pragma: no cover - dask is a dev dependency here
            from ..errors import DependencyNotInstalled

            raise DependencyNotInstalled("distributed", "dask") from None
        own: list[Any] = []
        client = self.client
        address = self.scheduler or os.environ.get(SCHEDULER_ENV)
        if client is None and address:
            client = Client(address)
            own.append(client)
        elif client is None:
            cluster = LocalCluster(n_workers=self._workers(), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
            own.extend([client, cluster])
        try:
            futures = client.map(_run_chunk, [self.fn] * len(chunks), chunks,
                                 [self.threads_per_task] * len(chunks), pure=False)
            for future in as_completed(futures):
                yield future.result()
        finally:
            for obj in own:
                obj.close()

    def run(self):
        """Run the pending tasks and return the whole table (pandas DataFrame, grid order).

        Columns: ``task`` (hash), the parameters, ``replicate``, ``seed``, the result's keys and
        ``elapsed`` (seconds in ``fn``).
        """
        if self.store is None:
            return self._run()
        with self.store.lock(wait=self.wait):
            return self._run()

    def _run(self):
        tasks = self.tasks()
        done = self._done()
        pending = [t for t in tasks if t.key not in done]
        by_key = {t.key: t for t in pending}
        bar = notebook_aware_tqdm()(total=len(tasks), initial=len(tasks) - len(pending), desc=f"sweep {self.fn.__name__}",
                   unit="task", disable=not self.progress, smoothing=0.05)
        appender = self.store.open() if self.store is not None else None
        try:
            if appender is not None:
                appender.__enter__()
            for chunk_result in self._results(self._chunks(pending)):
                for key, result, elapsed in chunk_result:
                    task = by_key[key]
                    record = {"task": key, "function": _function_name(self.fn), "params": task.params,
                              "replicate": task.replicate, "seed": task.seed, "result": result,
                              "elapsed": elapsed}
                    if appender is not None:
                        appender.write(record)
                    else:
                        self._memory[key] = record
                    bar.update(1)
        finally:
            if appender is not None:
                appender.__exit__(None, None, None)
            bar.close()
        return self.table()

    def table(self):
        """The recorded results of this sweep's tasks as a DataFrame, in grid order."""
        import pandas as pd

        done = self._done()
        rows = [flatten_record(done[t.key]) for t in self.tasks() if t.key in done]
        return pd.DataFrame(rows)
