"""Checks and floating-point error pads shared by the games modules."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._highs import quiet_highs
from .._validation import as_float_array, check_allocation, check_finite
from ..errors import DependencyNotInstalled, InvalidArgumentError, InvalidModelError

__all__ = ["UNIT_ROUNDOFF", "payoff_array", "player_payoffs", "read_only", "check_strategy", "dot_pad", "new_highs"]

UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2.0
"""``u = 2^-53``: the relative error of one float64 operation."""


def read_only(arr: np.ndarray) -> np.ndarray:
    """A read-only view (the models are frozen; their arrays must be too)."""
    view = arr.view()
    view.flags.writeable = False
    return view


def payoff_array(x: Any, name: str, *, ndim: int | None = None) -> np.ndarray:
    """A finite float64 array, refused before conversion when it would exceed the memory limit."""
    try:
        raw = np.asarray(x)
    except Exception as exc:  # ragged nested lists
        raise InvalidModelError(f"{name} could not be read as an array: {exc}") from None
    check_allocation(8 * int(np.prod(raw.shape, dtype=object)), f"{name} of shape {raw.shape} (float64)")
    arr = as_float_array(raw, name, ndim=ndim)
    if 0 in arr.shape:
        raise InvalidModelError(f"{name} has shape {arr.shape}: every player needs at least one action")
    check_finite(arr, name)
    return arr


def player_payoffs(x: Any, name: str, *, lead: tuple[str, ...] = (), what: str = "payoff tensor") -> np.ndarray:
    """:func:`payoff_array` of layout ``(N, *lead, A_1, ..., A_N)``: one ``what`` per player, with as
    many action axes as players (``lead`` names the axes between, e.g. ``("S",)``)."""
    arr = payoff_array(x, name)
    n_lead = len(lead)
    if arr.ndim < 2 + n_lead or arr.shape[0] != arr.ndim - 1 - n_lead:
        layout = ", ".join(("N", *lead, "A_1", "...", "A_N"))
        raise InvalidModelError(
            f"{name} has shape {arr.shape}, expected ({layout}): one {what} per player, "
            "with as many action axes as players"
        )
    return arr


def check_strategy(x: Any, name: str, n: int, *, atol: float = 1e-8) -> np.ndarray:
    """A mixed strategy: ``n`` non-negative finite numbers summing to 1 within ``atol``.

    Raises :class:`InvalidArgumentError` naming ``name`` and the first bad entry (a strategy is
    an argument of the solver, not model data)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except Exception:
        raise InvalidArgumentError(f"{name} must be a vector of {n} probabilities, got {x!r}") from None
    if arr.shape != (n,):
        raise InvalidArgumentError(f"{name} has shape {arr.shape}, expected ({n},)")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidArgumentError(f"{name}[{i}] = {float(arr[i])!r} is not a probability (expected a finite number >= 0)")
    total = float(arr.sum())
    if abs(total - 1.0) > atol:
        raise InvalidArgumentError(f"{name} sums to {total:.10g} (expected 1 within {atol:g})")
    return arr


def dot_pad(n_terms: int, scale: float) -> float:
    r"""Bound on the rounding error of a float64 dot product of ``n_terms`` terms whose absolute
    values sum to at most ``scale`` (Higham 2002, *Accuracy and Stability of Numerical
    Algorithms*, eq. 3.5: ``|fl(x^T y) - x^T y| <= gamma_n |x|^T |y|``, ``gamma_n = n u/(1 - n u)``),
    doubled to cover the normalisation of a strategy and the final subtraction."""
    n = n_terms + 2
    return 2.0 * n * UNIT_ROUNDOFF / (1.0 - n * UNIT_ROUNDOFF) * scale


def new_highs() -> Any:
    """A quiet ``highspy.Highs`` object (:func:`theory_rl._highs.quiet_highs`)."""
    try:
        import highspy
    except ImportError:  # pragma: no cover - installed with the games, mip and pomdp extras
        raise DependencyNotInstalled("theory_rl.games needs highspy: pip install theory_rl[games]") from None
    return quiet_highs(highspy)
