"""HiGHS settings and status check shared by every linear program solved through scipy's ``linprog``,
the quiet ``highspy.Highs`` constructor shared by the families that use highspy directly, and the
mixed-integer options of the combinatorial family's MILPs (``*_HIGHS_OPTIONS``: its solver and the
feasible sets' per-set choices in :mod:`theory_rl.models`)."""

from __future__ import annotations

import os
import sys
from typing import Any

from .errors import SolverError

__all__ = [
    "DEFAULT_HIGHS_OPTIONS",
    "FAST_HIGHS_OPTIONS",
    "HIGHS_DEFAULT_OPTIONS",
    "HIGHS_OPTIONS",
    "LIGHT_ROOT_HIGHS_OPTIONS",
    "check_highs_result",
    "quiet_highs",
]

HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
"""Feasibility tolerances tighter than HiGHS's default 1e-7: the MDP LPs' values are read as
``v*`` and occupancies, so their error must sit far below the callers' ``tol``."""

# Measured on the trained-network MILPs of bench/mip_speed.py: HiGHS' root restarts and its RINS/RENS
# sub-MIPs cost 5-10x the whole solve on these small models; switching them off changes no answer
# (they are heuristics and presolve re-runs, not part of the optimality proof).
DEFAULT_HIGHS_OPTIONS: dict[str, Any] = {"mip_allow_restart": False, "mip_heuristic_run_rins": False,
                                         "mip_heuristic_run_rens": False}

# On top of the defaults, for the Q-network MILPs (CPU ms per solve, nets trained by myopic pre-training,
# HiGHS 1.16, median over 5-10 states, shared 2-core machine): the root heuristics below are redundant
# next to the root LP + cuts on these models (almost all close at the root node), and HiGHS' presolve
# costs more than it saves on the budget and matching sets (it probes every binary of the big-M rows):
# budget J=100 2x32 72 -> 19, J=20 2x32 73 -> 28, J=40 2x64 180 -> 121; interventions J=40 12 -> 4;
# matching J=40 58 -> 37, J=20 16 -> 11. The capacity set keeps presolve (J=40: 34 with it, 52
# without; 31 with it and the heuristics off), and so does the path set (it removes most of the
# time-expanded arcs; J=40 got slower without it). None of these switches is part of the optimality proof.
LIGHT_ROOT_HIGHS_OPTIONS: dict[str, Any] = {"mip_heuristic_effort": 0.0, "mip_heuristic_run_feasibility_jump": False,
                                            "mip_heuristic_run_root_reduced_cost": False, "mip_detect_symmetry": False}
FAST_HIGHS_OPTIONS: dict[str, Any] = {**LIGHT_ROOT_HIGHS_OPTIONS, "presolve": "off"}

# HiGHS' own defaults for every option set above (to measure against).
HIGHS_DEFAULT_OPTIONS: dict[str, Any] = {"mip_allow_restart": True, "mip_heuristic_run_rins": True,
                                         "mip_heuristic_run_rens": True, "presolve": "choose",
                                         "mip_heuristic_effort": 0.05, "mip_heuristic_run_feasibility_jump": True,
                                         "mip_heuristic_run_root_reduced_cost": True, "mip_detect_symmetry": True}


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
