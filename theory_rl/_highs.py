"""HiGHS settings and status check shared by every linear program solved through scipy's ``linprog``."""

from __future__ import annotations

from .errors import SolverError

__all__ = ["HIGHS_OPTIONS", "check_highs_result"]

HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
"""Feasibility tolerances tighter than HiGHS's default 1e-7: the MDP LPs' values are read as
``v*`` and occupancies, so their error must sit far below the callers' ``tol``."""


def check_highs_result(res: object, gamma: float) -> None:
    """Raise :class:`SolverError` unless ``linprog`` reports an optimal solution (status 0); near
    ``gamma = 1`` the message says the LP is ill-conditioned."""
    if getattr(res, "status", None) != 0:
        hint = ""
        if 1.0 - gamma < 1e-6:
            hint = (f"; with 1 - gamma = {1 - gamma:.1e} the LP is ill-conditioned beyond HiGHS's "
                    "tolerances (use policy_iteration)")
        raise SolverError(f"HiGHS did not solve the MDP linear program: {getattr(res, 'message', '')}{hint}",
                          status=getattr(res, "status", None))
