"""HiGHS settings and status check shared by every linear program solved through scipy's ``linprog``,
and the quiet ``highspy.Highs`` constructor shared by the families that use highspy directly."""

from __future__ import annotations

import os
import sys
from typing import Any

from .errors import SolverError

__all__ = ["HIGHS_OPTIONS", "check_highs_result", "quiet_highs"]

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


_HIGHS_STARTED = False


def quiet_highs(highspy: Any) -> Any:
    """A ``highspy.Highs`` object with ``output_flag`` off. HiGHS prints a banner to the C-level
    stdout when the first one is made; that one is made with file descriptor 1 pointed at
    ``os.devnull`` (where there is no file descriptor 1, as in some embedded interpreters, it is
    made as is)."""
    global _HIGHS_STARTED
    if not _HIGHS_STARTED:
        sys.stdout.flush()
        try:
            saved = os.dup(1)
        except OSError:
            saved = None
        _HIGHS_STARTED = True
        if saved is not None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
            h.setOptionValue("output_flag", False)
            return h
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h
