"""Assertion helpers for tests (ours and users'): each raises ``AssertionError`` with the
largest violation and where it happens."""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_arguments
from .._validation import check_real
from ..models import FiniteMDP

__all__ = ["assert_bellman_optimal", "assert_policy_value", "assert_bounds_bracket"]


@renamed_arguments(positional=("tol",))
def assert_bellman_optimal(mdp: FiniteMDP, v: np.ndarray, *, tol: float) -> None:
    r"""Assert ``||v - v*||_inf <= tol``, certified from ``v`` alone by the MacQueen bounds

    .. math:: T v + c \min(Tv - v) \le v^* \le T v + c \max(Tv - v), \quad c = \gamma / (1-\gamma).

    ``tol`` (finite, ``>= 0``) is keyword-only; passing it by position still works until 0.3.0,
    with a ``DeprecationWarning``.

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> from theory_rl.checks import assert_bellman_optimal
    >>> mdp = envs.random_mdp(4, 2, seed=0)
    >>> assert_bellman_optimal(mdp, tabular.value_iteration(mdp, tol=1e-10).v, tol=1e-8)   # passes silently
    >>> try:
    ...     assert_bellman_optimal(mdp, tabular.value_iteration(mdp, tol=1e-10).v + 0.1, tol=1e-8)
    ... except AssertionError:
    ...     print("not optimal")
    not optimal
    """
    from ..tabular import BellmanOperator, as_value, certify

    tol = check_real(tol, "tol", low=0.0)
    cert = certify(BellmanOperator(mdp), as_value(mdp, v))
    v = np.asarray(v, dtype=float)
    err = np.maximum(v - cert.lower, cert.upper - v)
    worst = int(np.argmax(err))
    if err[worst] > tol:
        raise AssertionError(
            f"v is not within {tol:g} of v*: at state {worst}, v = {v[worst]:.10g} but "
            f"v* lies in [{cert.lower[worst]:.10g}, {cert.upper[worst]:.10g}]"
        )


@renamed_arguments(positional=("tol",))
def assert_policy_value(mdp: FiniteMDP, policy: np.ndarray, v: np.ndarray, *, tol: float) -> None:
    r"""Assert ``||v - v_pi||_inf <= tol`` with ``v_pi = (I - gamma P_pi)^{-1} r_pi`` solved exactly.

    ``tol`` (finite, ``>= 0``) is keyword-only; passing it by position still works until 0.3.0,
    with a ``DeprecationWarning``.

    Examples
    --------
    >>> from theory_rl import checks, envs, tabular
    >>> mdp = envs.random_mdp(4, 2, seed=0)
    >>> sol = tabular.policy_iteration(mdp, tol=1e-10)
    >>> checks.assert_policy_value(mdp, sol.policy, sol.v, tol=1e-8)                    # passes silently
    """
    from ..tabular import policy_value

    tol = check_real(tol, "tol", low=0.0)
    exact = policy_value(mdp, policy)
    err = np.abs(np.asarray(v, dtype=float) - exact)
    worst = int(np.argmax(err))
    if err[worst] > tol:
        raise AssertionError(
            f"v differs from v_pi by {err[worst]:.3g} > {tol:g} at state {worst} "
            f"(v = {v[worst]:.10g}, v_pi = {exact[worst]:.10g})"
        )


def assert_bounds_bracket(lower: np.ndarray, exact: np.ndarray, upper: np.ndarray, *, atol: float = 1e-9) -> None:
    """Assert ``lower - atol <= exact <= upper + atol`` elementwise.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.checks import assert_bounds_bracket
    >>> assert_bounds_bracket(np.array([0.0, 1.0]), np.array([0.5, 1.0]), np.array([1.0, 1.5]))
    >>> try:
    ...     assert_bounds_bracket(np.array([0.0]), np.array([2.0]), np.array([1.0]))
    ... except AssertionError:
    ...     print("outside")
    outside
    """
    atol = check_real(atol, "atol", low=0.0)
    lower, exact, upper = (np.asarray(x, dtype=float) for x in (lower, exact, upper))
    below = lower - atol - exact
    above = exact - upper - atol
    for name, gap in (("lower bound exceeds", below), ("upper bound is below", above)):
        if np.any(gap > 0):
            i = int(np.argmax(gap))
            raise AssertionError(
                f"{name} the exact value at index {i}: lower={lower.ravel()[i]:.10g}, "
                f"exact={exact.ravel()[i]:.10g}, upper={upper.ravel()[i]:.10g}"
            )
