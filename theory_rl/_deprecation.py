"""Renamed arguments, kept working for one release with a :class:`DeprecationWarning`.

Every public function follows one option vocabulary (``tol``, ``max_iter``, ``n_episodes``,
``n_samples``, ``seed``, ``device``, ``time_limit``, ``progress``, ``callback``, ``strict``).
When a name changes, the old keyword keeps working for one release through
:func:`renamed_arguments`, which warns and names the new keyword; an option that used to be
positional and is now keyword-only is handled the same way (``positional=``).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .errors import InvalidArgumentError

__all__ = ["DEPRECATED_IN", "REMOVED_IN", "renamed_arguments"]

DEPRECATED_IN = "0.2.0"
"""The release in which the old names became deprecated."""

REMOVED_IN = "0.3.0"
"""The release in which the old names stop working."""

F = TypeVar("F", bound=Callable[..., Any])


def renamed_arguments(*, positional: Sequence[str] = (), **renames: str) -> Callable[[F], F]:
    """Decorator: accept old keyword names (and old positional use) with a DeprecationWarning.

    Parameters
    ----------
    positional : sequence of str
        Keyword-only options of the new signature that used to be accepted by position, in
        their old order after the new signature's positional parameters. A call that still
        passes them by position works, with a warning naming the keyword to use.
    **renames : str
        ``old="new"`` pairs: the keyword ``old`` is passed on as ``new``, with a warning.
        Passing both raises :class:`~theory_rl.errors.InvalidArgumentError`.

    Returns
    -------
    callable
        A decorator. The decorated function keeps the new signature (``inspect.signature``
        shows it) and records the renames in ``__renamed_arguments__``.

    Examples
    --------
    >>> import warnings
    >>> @renamed_arguments(eps="tol")
    ... def solve(x, *, tol=1e-6):
    ...     return tol
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     solve(1, eps=0.5)
    0.5
    >>> print(caught[0].message)
    solve: the keyword 'eps' is deprecated since 0.2.0 and will be removed in 0.3.0; use 'tol'
    """
    positional = tuple(positional)

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        params = signature.parameters
        for old, new in renames.items():
            if new not in params:
                raise TypeError(f"{fn.__qualname__} has no parameter {new!r} to rename {old!r} to")
            if old in params:
                raise TypeError(f"{fn.__qualname__} still has the old parameter {old!r}")
        for name in positional:
            if name not in params or params[name].kind is not inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"{fn.__qualname__}: {name!r} must be a keyword-only parameter")
        n_positional = sum(
            p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for p in params.values()
        )
        where = fn.__qualname__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise InvalidArgumentError(
                            f"{where}: got both {old!r} (deprecated) and {new!r}; pass only {new!r}"
                        )
                    warnings.warn(
                        f"{where}: the keyword {old!r} is deprecated since {DEPRECATED_IN} and will be "
                        f"removed in {REMOVED_IN}; use {new!r}",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            if positional and len(args) > n_positional:
                extra = args[n_positional:]
                args = args[:n_positional]
                if len(extra) > len(positional):
                    raise TypeError(
                        f"{where} takes at most {n_positional + len(positional)} positional arguments "
                        f"({n_positional + len(extra)} given)"
                    )
                for name, value in zip(positional, extra):
                    if name in kwargs:
                        raise TypeError(f"{where} got multiple values for argument {name!r}")
                    warnings.warn(
                        f"{where}: passing {name!r} by position is deprecated since {DEPRECATED_IN} and "
                        f"will be removed in {REMOVED_IN}; pass {name}=... by keyword",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[name] = value
            return fn(*args, **kwargs)

        wrapper.__renamed_arguments__ = dict(renames)  # type: ignore[attr-defined]
        wrapper.__formerly_positional__ = positional  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
