"""The library's exceptions and warnings.

Every error raised for bad user input is a subclass of both :class:`TheoryRLError` and
:class:`ValueError`, so ``except ValueError`` keeps working for callers that do not know this
library, and ``except TheoryRLError`` catches everything the library raises on purpose.
"""

from __future__ import annotations

__all__ = [
    "TheoryRLError",
    "InvalidModelError",
    "InvalidArgumentError",
    "SizeLimitError",
    "ParseError",
    "SolverError",
    "DependencyNotInstalled",
    "ConvergenceWarning",
]


class TheoryRLError(Exception):
    """Base class of every exception that theory_rl raises deliberately.

    Examples
    --------
    >>> from theory_rl import errors
    >>> issubclass(errors.InvalidArgumentError, errors.TheoryRLError)
    True
    >>> issubclass(errors.InvalidModelError, ValueError)
    True
    """


class InvalidModelError(TheoryRLError, ValueError):
    """Model data that breaks the model's definition.

    The message names the first offending entry, e.g.
    ``P[3, 1, :] sums to 0.97 (expected 1 within 1e-08)``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import errors, models
    >>> P = np.full((2, 1, 2), 0.6)
    >>> try:
    ...     models.FiniteMDP(P=P, R=np.zeros((2, 1)), gamma=0.9)
    ... except errors.InvalidModelError as err:
    ...     print(type(err).__name__)
    InvalidModelError
    """


class InvalidArgumentError(TheoryRLError, ValueError):
    """A bad option value (``tol``, ``max_iter``, ``seed``, ``device``, a choice string, ...).

    The message names the option and the value, e.g. ``max_iter = 2.5 must be an integer``.

    Examples
    --------
    >>> from theory_rl import envs, errors, tabular
    >>> try:
    ...     tabular.value_iteration(envs.chain(3), tol=-1.0)
    ... except errors.InvalidArgumentError as err:
    ...     print('tol' in str(err), isinstance(err, ValueError))
    True True
    """


class SizeLimitError(TheoryRLError, ValueError):
    """An allocation estimated above the memory limit, refused before anything is allocated.

    The limit is :func:`theory_rl.max_bytes` (default 4 GiB); raise it with
    :func:`theory_rl.set_max_bytes` or the environment variable ``THEORY_RL_MAX_BYTES``.
    ``nbytes`` holds the estimate and ``limit`` the limit in force.

    Examples
    --------
    >>> from theory_rl import envs, errors
    >>> try:
    ...     envs.random_mdp(10**6, 2)
    ... except errors.SizeLimitError as err:
    ...     print(err.nbytes > err.limit)
    True
    """

    def __init__(self, message: str, *, nbytes: float, limit: int) -> None:
        self.nbytes = nbytes
        self.limit = limit
        super().__init__(message)


class ParseError(TheoryRLError, ValueError):
    """A malformed model file.

    Parameters
    ----------
    message : str
        What was expected and what was found.
    file : str, optional
        The file being read.
    line, column : int, optional
        1-based position of the offending token, where the format has lines.
    field : str, optional
        The record or field at fault, for formats without lines (``.npz`` keys, JSON keys).

    Examples
    --------
    >>> from theory_rl import errors, pomdp
    >>> try:
    ...     pomdp.parse_pomdp('discount: 0.9\\nstates: 2\\nactions: 1\\nobservations: 1\\nT: 0 : 0 : 0 2.0\\n')
    ... except errors.ParseError as err:
    ...     print(type(err).__name__)
    ParseError
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        where = []
        if file is not None:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class SolverError(TheoryRLError, RuntimeError):
    """A numerical back end failed (LP/MIP infeasible, unbounded, or an internal error).

    ``status`` holds the back end's own status code or message.

    Examples
    --------
    >>> from theory_rl import envs, errors, tabular
    >>> try:
    ...     tabular.value_iteration(envs.chain(5, gamma=0.99), tol=1e-12, max_iter=2, strict=True)
    ... except errors.SolverError as err:
    ...     print(type(err).__name__)
    SolverError
    """

    def __init__(self, message: str, *, status: object = None) -> None:
        self.status = status
        super().__init__(message if status is None else f"{message} (status: {status})")


class DependencyNotInstalled(TheoryRLError, ImportError):
    """An optional dependency is missing; the message names the extra that installs it.

    Examples
    --------
    >>> from theory_rl import errors
    >>> issubclass(errors.DependencyNotInstalled, ImportError)
    True
    """

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{package} is required for this feature: pip install 'theory_rl[{extra}]'"
        )


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at ``max_iter`` before its stopping rule certified the answer.

    Examples
    --------
    >>> import warnings
    >>> from theory_rl import envs, errors, tabular
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter('always')
    ...     sol = tabular.value_iteration(envs.chain(5, gamma=0.99), tol=1e-12, max_iter=2)
    >>> sol.converged, caught[0].category is errors.ConvergenceWarning
    (False, True)
    """
