"""theory_rl: reinforcement-learning algorithms whose answers are checked against theory.

Subpackages are imported on first use (``theory_rl.tabular``, ``theory_rl.models``, ...), so
``import theory_rl`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._validation import max_bytes, max_work, set_max_bytes, set_max_work

__version__ = "0.1.0"

_SUBPACKAGES = (
    "approx",
    "checks",
    "combinatorial",
    "dual",
    "envs",
    "errors",
    "experiments",
    "families",
    "games",
    "learning",
    "models",
    "offline",
    "plot",
    "pomdp",
    "robust",
    "submodular",
    "tabular",
    "theory",
)

__all__ = ["__version__", "max_bytes", "max_work", "set_max_bytes", "set_max_work", *_SUBPACKAGES]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
