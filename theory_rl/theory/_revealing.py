"""Bounds for learning in revealing POMDPs (see the package docstring)."""

__all__: list[str] = []
