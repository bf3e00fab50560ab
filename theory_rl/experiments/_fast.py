"""The ``THEORY_RL_FAST`` switch."""

from __future__ import annotations

import os

__all__ = ["fast_mode"]


def fast_mode() -> bool:
    """Whether ``THEORY_RL_FAST`` asks for reduced budgets (set to anything but ``""``/``0``/``false``).

    Notebooks read it to shrink their problem sizes and iteration counts; the test suite sets it
    when it executes them, so that every notebook runs top to bottom in seconds.

    Examples
    --------
    >>> import os
    >>> from theory_rl.experiments import fast_mode
    >>> saved = os.environ.get("THEORY_RL_FAST")
    >>> os.environ["THEORY_RL_FAST"] = "1"
    >>> fast_mode()
    True
    >>> os.environ["THEORY_RL_FAST"] = "0"
    >>> fast_mode()
    False
    >>> _ = os.environ.pop("THEORY_RL_FAST") if saved is None else os.environ.update(THEORY_RL_FAST=saved)
    """
    return os.environ.get("THEORY_RL_FAST", "").strip().lower() not in ("", "0", "false", "no")
