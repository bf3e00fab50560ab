"""Pieces shared by the iterative solvers: the span-seminorm certificate, default iteration
caps, the not-converged warning, and progress bars."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..errors import ConvergenceWarning, InvalidModelError
from ._bellman import BellmanOperator

__all__ = ["Certificate", "certify", "iteration_cap", "finish_iterative", "iterations", "check_tol"]


@dataclass(frozen=True)
class Certificate:
    r"""MacQueen/Porteus bounds from one backup ``(v, T v)`` (Puterman 1994, Thm 6.6.3).

    With ``d = T v - v`` and ``c = gamma / (1 - gamma)``,

    .. math::
        T v + c \min_s d(s) \;\le\; v^* \;\le\; T v + c \max_s d(s),

    and the same lower bound holds for ``v_pi`` of any policy greedy for ``v``, so that policy is
    ``c * span(d)``-optimal. Valid for every ``v``, whatever produced it, which is why every
    solver here ends with this check. ``value`` is the midpoint, within ``c*span(d)/2`` of ``v*``.
    Only ``T v``, the policy and the two extremes of ``d`` are stored; the bound vectors are
    formed when asked for (the solvers' loops need only the scalars).
    """

    tv: np.ndarray
    policy: np.ndarray
    d_min: float
    d_max: float
    c: float

    @property
    def lower(self) -> np.ndarray:
        return self.tv + self.c * self.d_min

    @property
    def upper(self) -> np.ndarray:
        return self.tv + self.c * self.d_max

    @property
    def residual(self) -> float:
        """``||T v - v||_inf``."""
        return max(abs(self.d_min), abs(self.d_max))

    @property
    def span(self) -> float:
        return self.d_max - self.d_min

    @property
    def value(self) -> np.ndarray:
        return 0.5 * (self.lower + self.upper)

    @property
    def bound(self) -> float:
        """Certified ``||value - v*||_inf``."""
        return float(0.5 * np.max(self.upper - self.lower))

    @property
    def policy_gap(self) -> float:
        """Certified ``||v* - v_pi||_inf`` for the greedy policy."""
        return float(np.max(self.upper - self.lower))


def certify(op: BellmanOperator, v: np.ndarray) -> Certificate:
    """One backup of ``v`` and the bounds it certifies (see :class:`Certificate`)."""
    tv, policy, lo, hi = op.backup_span(v)
    return Certificate(tv=tv, policy=policy.copy(), d_min=lo, d_max=hi, c=op.gamma / (1.0 - op.gamma))


def check_tol(tol: float) -> float:
    tol = float(tol)
    if not (tol > 0 and math.isfinite(tol)):
        raise InvalidModelError(f"tol = {tol!r} must be a positive finite number")
    return tol


def iteration_cap(gamma: float, tol: float, first_residual: float, *, minimum: int = 10) -> int:
    r"""Iterations after which the sup-norm rule must have fired, from ``||d_n|| <= gamma^n ||d_0||``:
    ``n >= log(tol (1-gamma) / (2 gamma ||d_0||)) / log(gamma)``; used as the default ``max_iter``
    (plus a margin for rounding)."""
    if gamma == 0.0 or first_residual == 0.0:
        return minimum
    target = tol * (1.0 - gamma) / (2.0 * gamma * first_residual)
    if target >= 1.0:
        return minimum
    return max(minimum, int(math.ceil(math.log(target) / math.log(gamma) * 1.1)) + 10)


def iterations(max_iter: int, progress: bool, desc: str) -> Iterator[int]:
    """``range(1, max_iter + 1)`` with an optional tqdm bar."""
    if progress:
        yield from tqdm(range(1, max_iter + 1), desc=desc, leave=False)
    else:
        yield from range(1, max_iter + 1)


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
    if reason is None:
        reason = f"max_iter={cap} reached" if cap is not None and n_iter >= cap else "stopped by the callback"
    message = f"{method} did not certify tol={tol:g} after {n_iter} iterations: {reason}"
    if strict:
        from ..errors import SolverError

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
