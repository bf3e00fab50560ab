"""Shared input checks, the one home of every argument check in the library.

Model data checks raise :class:`~theory_rl.errors.InvalidModelError` naming the first offending
index, so that a user can find the bad entry without a debugger. Option checks (``check_int``,
``check_real``, ``check_tol``, ``check_max_iter``, ``check_choice``, ``check_bool``, ...) raise
:class:`~theory_rl.errors.InvalidArgumentError` naming the option. :func:`check_allocation`
refuses an allocation estimated above :func:`max_bytes` before anything is allocated.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .errors import InvalidArgumentError, InvalidModelError, SizeLimitError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "resolve_index",
    "resolve_indices",
    "as_float_array",
    "check_allocation",
    "check_bool",
    "check_callback",
    "check_choice",
    "check_distribution",
    "check_int",
    "check_max_iter",
    "check_model_bool",
    "check_model_int",
    "check_optional_int",
    "check_probability",
    "check_real",
    "check_sparse",
    "check_time_limit",
    "check_tol",
    "max_bytes",
    "set_max_bytes",
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


def check_distribution(x: Any, name: str, size: int, *, atol: float = 1e-8) -> np.ndarray:
    """A probability vector of length ``size`` (finite, non-negative, summing to 1 within ``atol``),
    as a float64 array; :class:`InvalidModelError` names the first bad entry."""
    arr = as_float_array(x, name, ndim=1)
    if arr.shape != (size,):
        raise InvalidModelError(f"{name} has shape {arr.shape}, expected ({size},)")
    check_probability_rows(arr[None], name, atol=atol, row_shape=(1,))
    return arr


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
        raise InvalidArgumentError(f"seed must be an int or numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(seed)


# --- option checks ------------------------------------------------------------------------------


def check_int(value: Any, name: str, *, minimum: int | None = 1, maximum: int | None = None) -> int:
    """An integer in ``[minimum, maximum]`` (bools and floats refused), else :class:`InvalidArgumentError`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InvalidArgumentError(f"{name} must be an integer, got {value!r}")
    out = int(value)
    if (minimum is not None and out < minimum) or (maximum is not None and out > maximum):
        lower = "" if minimum is None else f">= {minimum}"
        upper = "" if maximum is None else f"<= {maximum}"
        joined = " and ".join(p for p in (lower, upper) if p)
        raise InvalidArgumentError(f"{name} = {out} must be {joined}")
    return out


def check_optional_int(value: Any, name: str, *, minimum: int | None = 1, maximum: int | None = None) -> int | None:
    """``None`` or :func:`check_int`."""
    return None if value is None else check_int(value, name, minimum=minimum, maximum=maximum)


def check_max_iter(value: Any, name: str = "max_iter") -> int | None:
    """``None`` (the solver's default) or a positive integer: ``max_iter <= 0`` is an error."""
    return check_optional_int(value, name, minimum=1)


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number in the given interval, else :class:`InvalidArgumentError`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InvalidArgumentError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    ok = math.isfinite(out)
    if ok and low is not None:
        ok = out > low if low_open else out >= low
    if ok and high is not None:
        ok = out < high if high_open else out <= high
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise InvalidArgumentError(f"{name} = {value!r} must be a finite number in {left}{lo}, {hi}{right}")
    return out


def check_time_limit(value: Any, name: str = "time_limit", *, allow_zero: bool = False) -> float | None:
    """``None`` (no limit) or a number of seconds ``> 0`` (``>= 0`` with ``allow_zero``); ``inf``
    means no limit, NaN is refused (it would never expire)."""
    if value is None:
        return None
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real)
    ok = ok and (float(value) >= 0.0 if allow_zero else float(value) > 0.0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidArgumentError(f"{name} = {value!r} must be a number of seconds {bound} (inf or None for no limit)")
    return float(value)


def check_probability(value: Any, name: str) -> float:
    """A probability in ``[0, 1]``."""
    return check_real(value, name, low=0.0, high=1.0)


def check_tol(value: Any, name: str = "tol") -> float:
    """A positive finite tolerance."""
    return check_real(value, name, low=0.0, low_open=True)


def check_bool(value: Any, name: str) -> bool:
    """A bool (``numpy.bool_`` accepted). Strings such as ``"no"`` are refused, not read as truthy."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InvalidArgumentError(f"{name} must be True or False, got {value!r}")


def check_model_int(value: Any, name: str, *, minimum: int = 1, optional: bool = False) -> int | None:
    """:func:`check_int` (``optional``: :func:`check_optional_int`) for a field of a model or an
    instance generator's size: its message, raised as :class:`InvalidModelError`."""
    try:
        return (check_optional_int if optional else check_int)(value, name, minimum=minimum)
    except InvalidArgumentError as exc:
        raise InvalidModelError(str(exc)) from None


def check_model_bool(value: Any, name: str) -> bool:
    """:func:`check_bool` for a field of a model, raised as :class:`InvalidModelError` ("no" is not True)."""
    try:
        return check_bool(value, name)
    except InvalidArgumentError as exc:
        raise InvalidModelError(str(exc)) from None


def check_callback(value: Any, name: str = "callback") -> Any:
    """``None`` or a callable."""
    if value is not None and not callable(value):
        raise InvalidArgumentError(f"{name} must be callable, got {value!r}")
    return value


def check_sparse(value: Any, name: str = "sparse") -> bool | None:
    """``None`` (size-dependent default) or a bool."""
    return None if value is None else check_bool(value, name)


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``, else :class:`InvalidArgumentError` listing them."""
    options = tuple(choices)
    try:
        ok = any(value == c and type(value) is type(c) for c in options)
    except Exception:  # arrays and other values that do not compare to a bool
        ok = False
    if not ok:
        listed = ", ".join(repr(c) for c in options)
        raise InvalidArgumentError(f"{name} must be one of {listed}, got {value!r}")
    return value


def resolve_index(value: Any, what: str, n: int, names: Sequence[str] | None) -> int:
    """An action, observation or state given by index or by name, as its index in ``[0, n)``.

    ``names`` are the model's stored names (``action_names``, ``observation_names``,
    ``state_names``; ``None`` where the model has none). A name not among them, an index out of
    range, or anything else raises :class:`InvalidArgumentError` naming ``what`` and listing the
    accepted names.
    """
    if isinstance(value, str):
        if names is not None:
            for i, name in enumerate(names):
                if name == value:
                    return i
            listed = ", ".join(repr(x) for x in names[:20]) + (", ..." if len(names) > 20 else "")
            raise InvalidArgumentError(f"{what} {value!r} is not one of the model's names ({listed})")
        raise InvalidArgumentError(f"{what} {value!r}: the model has no {what} names; give an index in [0, {n})")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise InvalidArgumentError(f"{what} must be an index in [0, {n}) or a name, got {value!r}")
    if not 0 <= int(value) < n:
        raise InvalidArgumentError(f"{what} {int(value)} is not in [0, {n})")
    return int(value)


def resolve_indices(values: Any, what: str, n: int, names: Sequence[str] | None) -> Any:
    """:func:`resolve_index` over an array or sequence of names: an int64 array of indices (a
    numeric array is returned unchanged, for the caller's own checks)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "UO":
        return values
    flat = [resolve_index(v, what, n, names) for v in arr.ravel().tolist()]
    return np.asarray(flat, dtype=np.int64).reshape(arr.shape)


# --- memory guard --------------------------------------------------------------------------------

DEFAULT_MAX_BYTES = 4 * 2**30
"""Default allocation limit: 4 GiB (``THEORY_RL_MAX_BYTES`` or :func:`set_max_bytes` change it)."""

#: the limits set by :func:`set_max_bytes` / :func:`set_max_work` (``None``: environment or default)
_overrides: dict[str, int | None] = {"bytes": None, "work": None}


def _limit_in_force(kind: str, env_var: str, default: int, parse: Callable[[str], int]) -> int:
    """The override of ``kind``, else ``parse`` of the environment variable ``env_var``, else ``default``."""
    override = _overrides[kind]
    if override is not None:
        return override
    env = os.environ.get(env_var)
    return default if env is None or not env.strip() else parse(env)


def _replace_override(kind: str, limit: int | None) -> int | None:
    """Set the override of ``kind`` (``None`` clears it); return the previous one."""
    previous = _overrides[kind]
    _overrides[kind] = None if limit is None else check_int(limit, "limit", minimum=1)
    return previous


def _parse_bytes(text: str) -> int:
    units = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = t[-1:] if t[-1:] in units and t[-1:] != "" else ""
    number = t[: len(t) - len(unit)] if unit else t
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise InvalidArgumentError(f"THEORY_RL_MAX_BYTES = {text!r} is not a size (e.g. 8G, 512M, 1e10)") from None
    if not (math.isfinite(value) and value > 0):
        raise InvalidArgumentError(f"THEORY_RL_MAX_BYTES = {text!r} must be a positive size")
    return int(value)


def max_bytes() -> int:
    """The allocation limit in force: :func:`set_max_bytes`, else ``THEORY_RL_MAX_BYTES``, else 4 GiB.

    Examples
    --------
    >>> import theory_rl
    >>> theory_rl.max_bytes() > 0
    True
    """
    return _limit_in_force("bytes", "THEORY_RL_MAX_BYTES", DEFAULT_MAX_BYTES, _parse_bytes)


def set_max_bytes(limit: int | None) -> int | None:
    """Set the allocation limit in bytes (``None`` restores the environment/default); returns the previous override.

    Examples
    --------
    >>> import theory_rl
    >>> previous = theory_rl.set_max_bytes(16 * 2**30)   # allow models up to 16 GiB
    >>> theory_rl.max_bytes()
    17179869184
    >>> _ = theory_rl.set_max_bytes(previous)
    """
    return _replace_override("bytes", limit)


def _format_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def check_allocation(nbytes: float, what: str) -> None:
    """Refuse an allocation estimated at ``nbytes`` above :func:`max_bytes`.

    ``what`` names the object and its sizes, e.g. ``"dense P of shape (2000, 500, 2000)"``;
    pass the estimate as a Python number computed from the declared sizes (exact integers, so
    it cannot overflow) before allocating anything.

    Raises
    ------
    SizeLimitError
        Naming ``what``, the estimate and the limit, and how to raise the limit.
    """
    limit = max_bytes()
    if nbytes > limit:
        raise SizeLimitError(
            f"{what} needs about {_format_bytes(float(nbytes))}, above the memory limit of "
            f"{_format_bytes(float(limit))} (raise it with theory_rl.set_max_bytes(...) or the "
            "environment variable THEORY_RL_MAX_BYTES)",
            nbytes=float(nbytes),
            limit=limit,
        )


# --- work guard ----------------------------------------------------------------------------------

DEFAULT_MAX_WORK = 2 * 10**10
"""Default work limit in elementary operations (about a minute of numpy; ``THEORY_RL_MAX_WORK`` or
:func:`set_max_work` change it)."""


def _parse_work(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise InvalidArgumentError(f"THEORY_RL_MAX_WORK = {text!r} is not a number (e.g. 1e12)") from None
    if not (math.isfinite(value) and value >= 1):
        raise InvalidArgumentError(f"THEORY_RL_MAX_WORK = {text!r} must be a number >= 1")
    return int(value)


def max_work() -> int:
    """The work limit in force: :func:`set_max_work`, else ``THEORY_RL_MAX_WORK``, else ``2e10``.

    Examples
    --------
    >>> import theory_rl
    >>> theory_rl.max_work() >= 1
    True
    """
    return _limit_in_force("work", "THEORY_RL_MAX_WORK", DEFAULT_MAX_WORK, _parse_work)


def set_max_work(limit: int | None) -> int | None:
    """Set the work limit in elementary operations (``None`` restores the environment/default);
    returns the previous override.

    Examples
    --------
    >>> import theory_rl
    >>> previous = theory_rl.set_max_work(10**12)   # allow longer runs
    >>> theory_rl.max_work()
    1000000000000
    >>> _ = theory_rl.set_max_work(previous)
    """
    return _replace_override("work", limit)


def check_work(n_ops: float, what: str) -> None:
    """Refuse a computation whose loop is estimated at ``n_ops`` elementary operations above
    :func:`max_work`, before it starts (``what`` names the loop and its sizes).

    Raises
    ------
    SizeLimitError
        Naming ``what``, the estimate and the limit, and how to raise the limit (``nbytes`` holds
        the estimated operations).
    """
    limit = max_work()
    if n_ops > limit:
        raise SizeLimitError(
            f"{what} needs about {float(n_ops):.3g} operations, above the work limit of {float(limit):.3g} "
            "(raise it with theory_rl.set_max_work(...) or the environment variable THEORY_RL_MAX_WORK)",
            nbytes=float(n_ops),
            limit=limit,
        )
