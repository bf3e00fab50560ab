"""The one home of deprecations: an old name keeps working for one release (deprecated in
:data:`DEPRECATED_IN`, removed in :data:`REMOVED_IN`) with a :class:`DeprecationWarning` that names
the new one.

- :func:`renamed_arguments`: renamed keywords of a function, and options that used to be
  positional and are now keyword-only (``positional=``);
- :func:`module_getattr`: a module ``__getattr__`` serving public names that were renamed or moved
  (to another module of the same subpackage, or to another subpackage), resolved lazily on first
  access so that the old home never imports the new one at load time;
- :func:`renamed_attribute`: a read-only property serving a renamed attribute of a result;
- :func:`warn_deprecated`: the warning itself, for the few call sites that are none of the above
  (a deprecated function, ``result["key"]`` on results that used to be dicts).

Every public function follows one option vocabulary (``tol``, ``max_iter``, ``n_episodes``,
``n_samples``, ``seed``, ``device``, ``time_limit``, ``progress``, ``callback``, ``strict``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from .errors import InvalidArgumentError

__all__ = ["DEPRECATED_IN", "REMOVED_IN", "module_getattr", "renamed_arguments", "renamed_attribute", "warn_deprecated"]

DEPRECATED_IN = "0.2.0"
"""The release in which the old names became deprecated."""

REMOVED_IN = "0.3.0"
"""The release in which the old names stop working."""

F = TypeVar("F", bound=Callable[..., Any])


def warn_deprecated(old: str, new: str, *, stacklevel: int = 2) -> None:
    """Warn that ``old`` is deprecated and names ``new`` instead (``stacklevel`` as in
    :func:`warnings.warn`, counted from the caller of this function).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_deprecated("f(eps=...)", "f(tol=...)")
    >>> print(caught[0].message)
    f(eps=...) is deprecated since 0.2.0 and will be removed in 0.3.0; use f(tol=...)
    """
    warnings.warn(f"{old} is deprecated since {DEPRECATED_IN} and will be removed in {REMOVED_IN}; use {new}",
                  DeprecationWarning, stacklevel=stacklevel + 1)


def module_getattr(module: str, aliases: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving old public names: ``aliases[old] = "package.module.new"``.

    The target is imported on first access of the old name (never when the module loads), so a
    name that moved to another subpackage does not make the old subpackage import the new one
    (``robust`` keeps serving ``windy_walk``, now in ``envs``, which itself builds ``robust``'s
    models). Unknown names raise :class:`AttributeError` as usual.

    Examples
    --------
    >>> import warnings
    >>> __getattr__ = module_getattr("mymodule", {"old_sqrt": "math.sqrt"})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     __getattr__("old_sqrt")(4.0)
    2.0
    >>> print(caught[0].message)
    mymodule.old_sqrt is deprecated since 0.2.0 and will be removed in 0.3.0; use math.sqrt
    """
    targets = dict(aliases)
    for old, target in targets.items():
        if "." not in target:
            raise TypeError(f"{module}.{old}: the target {target!r} must be a dotted 'module.name'")

    def __getattr__(name: str) -> Any:
        target = targets.get(name)
        if target is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        where, _, attr = target.rpartition(".")
        value = getattr(importlib.import_module(where), attr)
        warn_deprecated(f"{module}.{name}", target, stacklevel=2)
        return value

    __getattr__.__deprecated_names__ = targets  # type: ignore[attr-defined]
    return __getattr__


def renamed_attribute(old: str, new: str, doc: str | None = None) -> property:
    """A read-only property ``old`` returning the attribute ``new``, with a DeprecationWarning.

    Examples
    --------
    >>> import warnings
    >>> class Result:
    ...     policy = 3
    ...     pi = renamed_attribute("pi", "policy")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     Result().pi
    3
    >>> print(caught[0].message)
    Result.pi is deprecated since 0.2.0 and will be removed in 0.3.0; use Result.policy
    """

    def getter(self: Any) -> Any:
        cls = type(self).__name__
        warn_deprecated(f"{cls}.{old}", f"{cls}.{new}")
        return getattr(self, new)

    return property(getter, doc=doc or f"Deprecated alias of ``{new}`` (removed in {REMOVED_IN}).")


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
