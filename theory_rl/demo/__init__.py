"""``make demo`` / ``theory-rl demo``: the library at work on small, classic problems.

One module per family (``tabular``, ``learning``, ``pomdp``, ``robust``, ``combinatorial``,
``dual``, ``experiments``, ``approx``), each with ``run_demo(section)`` where ``section(title)``
prints a heading. The demos call the library through its public names; the library never
imports them.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from ..errors import InvalidArgumentError

__all__ = ["SECTIONS", "run_demo"]

SECTIONS = ("tabular", "learning", "pomdp", "robust", "combinatorial", "dual", "experiments", "approx")
"""The demo sections, in the order :func:`run_demo` runs them."""


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 76 - len(title)))


def run_demo(sections: Sequence[str] | None = None) -> None:
    """Print the tour: the exact solvers with their certificates, then every family's section.

    Parameters
    ----------
    sections : sequence of str, optional
        Names from :data:`SECTIONS` to run (in the tour's order); default all.

    Raises
    ------
    InvalidArgumentError
        An unknown section name.
    """
    chosen = SECTIONS if sections is None else tuple(sections)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        raise InvalidArgumentError(f"unknown demo section {unknown[0]!r}: expected one of {', '.join(SECTIONS)}")
    for name in SECTIONS:
        if name in chosen:
            importlib.import_module(f"{__name__}.{name}").run_demo(_section)
    print("\nEvery number above is checked by the test suite against an independent method.")
