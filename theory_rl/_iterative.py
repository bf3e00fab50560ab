"""Machinery shared by every iterative solver: the timer, the default iteration cap, the
iteration loop with its optional progress bar, and the not-converged warning."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .errors import ConvergenceWarning, SolverError

__all__ = ["Callback", "Timer", "finish_iterative", "iteration_cap", "iterations", "notebook_aware_tqdm", "progress_bar", "progress_range",
           "span_certified", "stop_reason"]


def span_certified(d: np.ndarray, gamma: float, tol: float) -> bool:
    r"""The span stopping rule of value iteration on a ``gamma``-contraction, given one backup's
    increment ``d = T v - v``:

    .. math:: \frac{\gamma}{1 - \gamma}\,(\max_s d(s) - \min_s d(s)) \le \text{tol}
       \quad\text{or}\quad \gamma = 0,

    under which ``T v + gamma/(1-gamma) [min d, max d]`` brackets ``v*`` in an interval of width at
    most ``tol`` (Puterman 1994, Sec. 6.6.3)."""
    return bool(gamma == 0.0 or gamma / (1.0 - gamma) * (float(d.max()) - float(d.min())) <= tol)


def iteration_cap(gamma: float, tol: float, first_residual: float, *, minimum: int = 10) -> int:
    r"""Iterations after which the sup-norm rule must have fired, from ``||d_n|| <= gamma^n ||d_0||``:
    ``n >= log(tol (1-gamma) / (2 gamma ||d_0||)) / log(gamma)``; used as the default ``max_iter``
    (plus a margin for rounding)."""
    if gamma == 0.0 or first_residual == 0.0:
        return minimum
    # in logarithms: 2 * gamma * ||d_0|| underflows to 0 for subnormal gamma (a ZeroDivisionError before)
    log_target = math.log(tol) + math.log1p(-gamma) - math.log(2.0 * gamma) - math.log(first_residual)
    if log_target >= 0.0:
        return minimum
    return max(minimum, int(math.ceil(log_target / math.log(gamma) * 1.1)) + 10)


def notebook_aware_tqdm() -> Any:
    """tqdm's notebook widget inside a Jupyter kernel with ipywidgets installed, else the text bar
    (never ``TqdmWarning: IProgress not found``: without ipywidgets a notebook gets the text bar)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and "IPKernelApp" in shell.config:
            import ipywidgets  # noqa: F401 - the widget tqdm.notebook needs
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm
    except Exception:  # no IPython, no kernel, no widgets: the text bar
        pass
    from tqdm.std import tqdm as text_tqdm

    return text_tqdm


class _NoBar:
    """The bar of ``progress=False``: every call does nothing."""

    n = 0

    def update(self, n: float = 1) -> None:
        pass

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def progress_bar(progress: bool, *, total: float | None, desc: str, unit: str = "it") -> Any:
    """A tqdm bar on stderr when ``progress`` is true (notebook-aware), else a bar that does
    nothing; use as a context manager, ``bar.update(n)``, ``bar.set_postfix_str(text)``.
    ``total=None`` counts without a known end (anytime solvers stopped by a gap or a time limit)."""
    if not progress:
        return _NoBar()
    return notebook_aware_tqdm()(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)


def progress_range(n: int, progress: bool, desc: str, unit: str = "it") -> Iterator[int]:
    """``range(n)`` with a tqdm bar on stderr when ``progress`` is true (notebook-aware)."""
    if progress:
        yield from notebook_aware_tqdm()(range(n), desc=desc, unit=unit, leave=False, dynamic_ncols=True)
    else:
        yield from range(n)


def iterations(max_iter: int, progress: bool, desc: str) -> Iterator[int]:
    """``range(1, max_iter + 1)`` with an optional tqdm bar."""
    if progress:
        yield from notebook_aware_tqdm()(range(1, max_iter + 1), desc=desc, leave=False)
    else:
        yield from range(1, max_iter + 1)


def stop_reason(converged: bool, reason: str | None, n_iter: int, cap: int | None) -> str | None:
    """Why an iterative solver stopped: ``reason`` when converged or given, else
    ``"max_iter=<cap> reached"`` when ``n_iter >= cap`` and ``"stopped by the callback"`` otherwise."""
    if converged or reason is not None:
        return reason
    return f"max_iter={cap} reached" if cap is not None and n_iter >= cap else "stopped by the callback"


def finish_iterative(
    *,
    method: str,
    converged: bool,
    strict: bool,
    n_iter: int,
    cap: int | None,
    tol: float,
    reason: str | None = None,
) -> None:
    """Warn (or raise, with ``strict``) when the stopping rule did not fire.

    ``reason`` defaults to ``"max_iter=<cap> reached"`` when ``n_iter >= cap`` and to
    ``"stopped by the callback"`` otherwise.
    """
    if converged:
        return
    reason = stop_reason(converged, reason, n_iter, cap)
    message = f"{method} did not certify tol={tol:g} after {n_iter} iterations: {reason}"
    if strict:
        raise SolverError(message, status="max_iter")
    warnings.warn(message, ConvergenceWarning, stacklevel=3)


class Timer:
    """``with Timer() as t: ...; t.elapsed``."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self.elapsed = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        self.elapsed = time.perf_counter() - self._start

    def now(self) -> float:
        return time.perf_counter() - self._start


Callback = Callable[[int, np.ndarray, float], "bool | None"]
