"""Two-player (bimatrix) games; zero-sum when ``B = -A``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._result import html_summary
from ..errors import InvalidModelError
from ._common import payoff_array, read_only
from ._normal_form import NormalFormGame

__all__ = ["MatrixGame"]


@dataclass(frozen=True, eq=False, repr=False)
class MatrixGame:
    r"""A two-player game in matrix form: the row player picks ``i``, the column player ``j``.

    .. math::
        u_1(p, q) = p^\top A q, \qquad u_2(p, q) = p^\top B q, \qquad p \in \Delta_m,\; q \in \Delta_n.

    Both players maximise their own payoff. With ``B`` omitted the game is zero-sum,
    ``B = -A``: the row player maximises and the column player minimises ``p^T A q``.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Row player's payoffs.
    B : array_like, shape (m, n), optional
        Column player's payoffs (default ``-A``).

    Raises
    ------
    InvalidModelError
        Empty, non-2-D or non-finite payoffs (the first bad entry is named), or ``B`` of another shape.

    Examples
    --------
    >>> from theory_rl.games import MatrixGame
    >>> rps = MatrixGame([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])
    >>> rps.zero_sum, rps.shape
    (True, (3, 3))
    """

    A: np.ndarray
    B: np.ndarray | None = None

    def __post_init__(self) -> None:
        A = payoff_array(self.A, "A", ndim=2)
        if self.B is None:
            B = -A
        else:
            B = payoff_array(self.B, "B", ndim=2)
            if B.shape != A.shape:
                raise InvalidModelError(f"B has shape {B.shape}, expected the shape of A, {A.shape}")
        object.__setattr__(self, "A", read_only(A))
        object.__setattr__(self, "B", read_only(B))

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``: the row player's and the column player's number of actions."""
        return (int(self.A.shape[0]), int(self.A.shape[1]))

    @property
    def zero_sum(self) -> bool:
        """Whether ``B == -A`` exactly."""
        return bool(np.array_equal(np.asarray(self.B), -self.A))

    def to_normal_form(self) -> NormalFormGame:
        """The same game as a two-player :class:`NormalFormGame` (payoffs ``[A, B]``)."""
        return NormalFormGame(np.stack([self.A, self.B]))

    def _repr_html_(self) -> str:
        """A table for Jupyter: the shape, the kind and the payoff matrices (full precision when small)."""
        return html_summary("MatrixGame", {
            "shape": self.shape, "kind": "zero-sum" if self.zero_sum else "general-sum",
            "A (row player)": np.asarray(self.A), "B (column player)": np.asarray(self.B),
        })

    def __repr__(self) -> str:
        kind = "zero-sum" if self.zero_sum else "general-sum"
        return f"MatrixGame(shape={self.shape}, {kind})"


def zero_sum_payoffs(game: Any) -> np.ndarray:
    """The row player's payoff matrix of a zero-sum game given as a :class:`MatrixGame` or a matrix."""
    if isinstance(game, MatrixGame):
        if not game.zero_sum:
            raise InvalidModelError("the game is not zero-sum (B != -A); use correlated_equilibrium or exploitability")
        return np.asarray(game.A)
    return payoff_array(game, "A", ndim=2)
