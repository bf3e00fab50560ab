"""Experiment tooling. Today: the fast-mode switch that notebooks and the test suite share.
(Resumable sweeps and rate fits are planned here; see DESIGN.md section 8.)"""

from ._fast import fast_mode

__all__ = ["fast_mode"]
