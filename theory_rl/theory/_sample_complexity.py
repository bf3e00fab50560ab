"""Sample-complexity and regret bounds for tabular RL (see the package docstring)."""

__all__: list[str] = []
