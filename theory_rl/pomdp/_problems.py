"""The classic POMDP benchmark files shipped with the package (Cassandra's ``.POMDP`` collection,
RockSample, TagAvoid, Tiger in POMDPX), by name.

The files are data copied unchanged from their public sources; ``problems/README.md`` lists each
one's origin, sizes and the reference values measured on it (SARSOP and Cassandra's
``pomdp-solve``).
"""

from __future__ import annotations

from pathlib import Path

from .._validation import check_choice
from ..models import POMDP

__all__ = ["PROBLEMS", "PROBLEM_DIR", "load_problem", "problem_path"]

PROBLEM_DIR = Path(__file__).resolve().parent / "problems"
"""The folder of the packaged files (with their README)."""

PROBLEMS = tuple(sorted(p.name for p in PROBLEM_DIR.iterdir() if p.suffix.lower() in (".pomdp", ".pomdpx")))
"""File names of the packaged problems, e.g. ``"tiger.95.POMDP"``, ``"RockSample_7_8.pomdpx"``."""


def problem_path(name: str) -> Path:
    """The path of the packaged file ``name`` (one of :data:`PROBLEMS`).

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> pomdp.problem_path('tiger.95.POMDP').name
    'tiger.95.POMDP'
    """
    check_choice(name, "name", PROBLEMS)
    return PROBLEM_DIR / name


def load_problem(name: str, **options) -> POMDP:
    """Read the packaged problem ``name`` with :func:`read_pomdp` or :func:`read_pomdpx` (by its
    extension); ``options`` go to the reader.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem("tiger.95.POMDP")
    >>> tiger.n_states, tiger.n_actions, tiger.n_observations, tiger.gamma
    (2, 3, 2, 0.95)
    """
    path = problem_path(name)
    if path.suffix.lower() == ".pomdpx":
        from ._pomdpx import read_pomdpx

        return read_pomdpx(path, **options)
    from ._cassandra import read_pomdp

    return read_pomdp(path, **options)
