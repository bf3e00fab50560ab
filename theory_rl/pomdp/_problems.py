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

__all__ = ["PROBLEMS", "PROBLEM_DIR", "PROBLEM_NAMES", "load_problem", "problem_path"]

PROBLEM_DIR = Path(__file__).resolve().parent / "problems"
"""The folder of the packaged files (with their README)."""

PROBLEMS = tuple(sorted(p.name for p in PROBLEM_DIR.iterdir() if p.suffix.lower() in (".pomdp", ".pomdpx")))
"""File names of the packaged problems, e.g. ``"tiger.95.POMDP"``, ``"RockSample_7_8.pomdpx"``."""


PROBLEM_NAMES: dict[str, str] = {
    "tiger": "tiger.95.POMDP",
    "shuttle": "shuttle.95.POMDP",
    "network": "network.POMDP",
    "4x3": "4x3.95.POMDP",
    "cheese": "cheese.95.POMDP",
    "4x4": "4x4.95.POMDP",
    "milos-aaai97": "milos-aaai97.POMDP",
    "tiger-grid": "tiger-grid.POMDP",
    "hallway": "hallway.POMDP",
    "hallway2": "hallway2.POMDP",
    "mit": "mit.POMDP",
    "rock-sample-4-4": "RockSample_4_4.pomdp",
    "rock-sample-7-8": "RockSample_7_8.pomdpx",
    "tag-avoid": "TagAvoid.pomdp",
}
"""Short names of the packaged problems and their files (``"tiger"`` is ``"tiger.95.POMDP"``);
:func:`load_problem` takes either (``_`` may stand for ``-``, any case)."""


def problem_path(name: str) -> Path:
    """The path of the packaged file ``name``: one of :data:`PROBLEMS`, or a short name of
    :data:`PROBLEM_NAMES` (``"tiger"``, ``"rock_sample_4_4"``).

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> pomdp.problem_path("tiger").name
    'tiger.95.POMDP'
    """
    if isinstance(name, str) and name not in PROBLEMS:
        short = name.strip().lower().replace("_", "-")
        if short in PROBLEM_NAMES:
            return PROBLEM_DIR / PROBLEM_NAMES[short]
    check_choice(name, "name", (*PROBLEM_NAMES, *PROBLEMS))
    return PROBLEM_DIR / name


def load_problem(name: str, **options) -> POMDP:
    """Read the packaged problem ``name`` (a file of :data:`PROBLEMS` or a short name of
    :data:`PROBLEM_NAMES`) with :func:`read_pomdp` or :func:`read_pomdpx` (by its extension);
    ``options`` go to the reader. :mod:`theory_rl.envs` has a constructor for each
    (:func:`theory_rl.envs.tiger`, ...).

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem("tiger")
    >>> tiger.n_states, tiger.n_actions, tiger.n_observations, tiger.gamma
    (2, 3, 2, 0.95)
    """
    path = problem_path(name)
    if path.suffix.lower() == ".pomdpx":
        from ._pomdpx import read_pomdpx

        return read_pomdpx(path, **options)
    from ._cassandra import read_pomdp

    return read_pomdp(path, **options)
