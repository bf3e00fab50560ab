"""Shared behaviour of result dataclasses: JSON-ready ``to_dict`` and a short ``__repr__``."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["ResultMixin", "to_plain"]


def to_plain(value: Any) -> Any:
    """Convert numpy scalars/arrays and nested containers to plain JSON types."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


class ResultMixin:
    """``to_dict()`` for the experiment store and a one-line ``__repr__`` for notebooks."""

    _repr_fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON types (lists, floats, ints, strings, None)."""
        return {f.name: to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def __repr__(self) -> str:
        parts = []
        for name in self._repr_fields:
            value = getattr(self, name)
            if isinstance(value, float):
                parts.append(f"{name}={value:.3g}")
            elif isinstance(value, np.ndarray):
                parts.append(f"{name}=<array {value.shape}>")
            else:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"
