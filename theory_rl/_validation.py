"""Shared input checks. Each raises :class:`~theory_rl.errors.InvalidModelError` naming the
first offending index, so that a user can find the bad entry without a debugger."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .errors import InvalidModelError

__all__ = [
    "as_float_array",
    "check_finite",
    "check_gamma",
    "check_probability_rows",
    "check_row_sums",
    "first_index",
    "format_index",
    "rng_from_seed",
]


def format_index(name: str, index: tuple[int, ...], *, trailing_slice: bool = False) -> str:
    """``format_index("P", (3, 1), trailing_slice=True) -> "P[3, 1, :]"``."""
    parts = [str(int(i)) for i in index]
    if trailing_slice:
        parts.append(":")
    return f"{name}[{', '.join(parts)}]"


def first_index(mask: np.ndarray) -> tuple[int, ...]:
    """Multi-index of the first ``True`` entry of ``mask`` in C order."""
    flat = int(np.argmax(mask.ravel()))
    return tuple(int(i) for i in np.unravel_index(flat, mask.shape))


def as_float_array(x: Any, name: str, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Convert ``x`` to a float64 array, rejecting strings, objects and complex numbers."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise InvalidModelError(f"{name} could not be read as an array: {exc}") from None
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidModelError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise InvalidModelError(f"{name} must have {want} dimensions, got shape {arr.shape}")
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if any entry of ``arr`` is NaN or infinite, naming the first one."""
    if not np.isfinite(arr).all():
        idx = first_index(~np.isfinite(arr))
        raise InvalidModelError(f"{format_index(name, idx)} is {float(arr[idx])} (expected a finite number)")


def check_probability_rows(
    rows: np.ndarray,
    name: str,
    *,
    atol: float,
    row_shape: tuple[int, ...],
    skip: np.ndarray | None = None,
) -> None:
    """Check that each row of the 2-D array ``rows`` is a probability vector.

    ``row_shape`` gives the leading shape that flat row indices are reported in (e.g. ``(S, A)``
    so that row ``s*A + a`` is reported as ``P[s, a, :]``). Rows where ``skip`` is true may be
    all zero (invalid actions) but must still be non-negative.
    """
    sums = rows.sum(axis=1)
    if not np.isfinite(sums).all():
        check_finite(rows.reshape(*row_shape, rows.shape[1]), name)
    if rows.size and rows.min() < 0:
        idx = first_index(rows.reshape(*row_shape, rows.shape[1]) < 0)
        raise InvalidModelError(
            f"{format_index(name, idx)} = {rows.reshape(*row_shape, rows.shape[1])[idx]:.6g} "
            "is negative (probabilities must be >= 0)"
        )
    check_row_sums(sums, name, atol=atol, row_shape=row_shape, skip=skip)


def check_row_sums(
    sums: np.ndarray, name: str, *, atol: float, row_shape: tuple[int, ...], skip: np.ndarray | None = None
) -> None:
    """Raise if a row sum is not 1 within ``atol`` (rows marked by ``skip`` may sum to 0),
    naming the first such row as ``name[i, j, :]`` with ``(i, j)`` unravelled in ``row_shape``."""
    bad = np.abs(sums - 1.0) > atol
    if skip is not None:
        bad &= ~(skip & (sums == 0.0))
    if bad.any():
        flat = int(np.argmax(bad))
        idx = np.unravel_index(flat, row_shape)
        raise InvalidModelError(
            f"{format_index(name, idx, trailing_slice=True)} sums to {sums[flat]:.10g} "
            f"(expected 1 within {atol:g})"
        )


def check_gamma(gamma: Any, *, allow_one: bool = False) -> float:
    """Validate a discount factor: ``0 <= gamma < 1`` (``<= 1`` when ``allow_one``)."""
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise InvalidModelError(f"gamma must be a real number, got {gamma!r}")
    g = float(gamma)
    upper_ok = g <= 1.0 if allow_one else g < 1.0
    if not (np.isfinite(g) and g >= 0.0 and upper_ok):
        interval = "[0, 1]" if allow_one else "[0, 1) (gamma = 1 needs a finite horizon)"
        raise InvalidModelError(f"gamma = {gamma!r} is outside {interval}")
    return g


def rng_from_seed(seed: int | np.random.Generator | None) -> np.random.Generator:
    """``numpy.random.default_rng`` that also passes a Generator through unchanged."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.random.SeedSequence))):
        raise InvalidModelError(f"seed must be an int or numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(seed)
