"""N-player normal-form (strategic-form) games: one payoff tensor per player."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._result import html_summary
from ..errors import InvalidArgumentError
from ._common import check_strategy, player_payoffs, read_only

__all__ = ["NormalFormGame", "as_normal_form", "against_others"]


@dataclass(frozen=True, eq=False, repr=False)
class NormalFormGame:
    r"""A finite game in normal form with ``N`` players.

    .. math::
        G = (N, (\mathcal A_i)_{i \le N}, (u_i)_{i \le N}), \qquad
        u_i(a_1, \dots, a_N) = \text{payoffs}[i, a_1, \dots, a_N],

    every player maximising its own expected payoff under mixed strategies
    :math:`x_i \in \Delta(\mathcal A_i)`: :math:`u_i(x) = \sum_a u_i(a) \prod_j x_j(a_j)`.

    Parameters
    ----------
    payoffs : array_like, shape (N, A_1, ..., A_N)
        ``payoffs[i, a_1, ..., a_N]`` is player ``i``'s payoff; a sequence of ``N`` arrays of shape
        ``(A_1, ..., A_N)`` is stacked. Finite numbers; every ``A_i >= 1``.

    Raises
    ------
    InvalidModelError
        A shape that does not match the number of players, or a non-finite payoff (named by index).
    SizeLimitError
        When the payoff tensor would exceed :func:`theory_rl.max_bytes`.

    Examples
    --------
    >>> from theory_rl.games import NormalFormGame
    >>> pd = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]])   # prisoner's dilemma
    >>> pd.n_players, pd.n_actions
    (2, (2, 2))
    >>> pd.expected_payoffs([[0, 1], [0, 1]]).tolist()             # (defect, defect)
    [1.0, 1.0]
    """

    payoffs: np.ndarray

    def __post_init__(self) -> None:
        U = player_payoffs(self.payoffs, "payoffs")
        object.__setattr__(self, "payoffs", read_only(U))

    @property
    def n_players(self) -> int:
        """Number of players ``N``."""
        return self.payoffs.shape[0]

    @property
    def n_actions(self) -> tuple[int, ...]:
        """``(A_1, ..., A_N)``."""
        return tuple(int(a) for a in self.payoffs.shape[1:])

    def check_profile(self, strategies: Sequence[Any], name: str = "strategies") -> list[np.ndarray]:
        """Validate a mixed-strategy profile: one probability vector of length ``A_i`` per player."""
        if isinstance(strategies, np.ndarray) and strategies.dtype != object and strategies.ndim == 2:
            strategies = list(strategies)
        if not isinstance(strategies, (list, tuple)) or len(strategies) != self.n_players:
            raise InvalidArgumentError(f"{name} must be a sequence of {self.n_players} mixed strategies")
        return [check_strategy(x, f"{name}[{i}]", n) for i, (x, n) in enumerate(zip(strategies, self.n_actions))]

    def deviation_payoffs(self, strategies: Sequence[Any]) -> list[np.ndarray]:
        r"""``[u_i(a_i, x_{-i}) for a_i in A_i]`` for each player: the payoff of each pure action
        against the others' mixed strategies (shapes ``(A_i,)``)."""
        xs = self.check_profile(strategies)
        return [against_others(self.payoffs[i], xs, i) for i in range(self.n_players)]

    def expected_payoffs(self, strategies: Sequence[Any]) -> np.ndarray:
        """``u_i(x)`` for every player, shape ``(N,)``."""
        xs = self.check_profile(strategies)
        return np.array([float(xs[i] @ against_others(self.payoffs[i], xs, i)) for i in range(self.n_players)])

    def _repr_html_(self) -> str:
        """A table for Jupyter: players, actions and the payoff range at full precision."""
        return html_summary("NormalFormGame", {
            "players": self.n_players, "actions": self.n_actions, "min payoff": float(np.min(self.payoffs)),
            "max payoff": float(np.max(self.payoffs)),
        })

    def __repr__(self) -> str:
        return f"NormalFormGame(n_players={self.n_players}, n_actions={self.n_actions})"


def against_others(U_i: np.ndarray, xs: Sequence[np.ndarray], i: int) -> np.ndarray:
    """Contract every axis of ``U_i`` but axis ``i`` with the other players' strategies."""
    T = U_i
    for j in reversed(range(len(xs))):
        if j != i:
            T = np.tensordot(T, xs[j], axes=([j], [0]))
    return T


def as_normal_form(game: Any) -> NormalFormGame:
    """A :class:`NormalFormGame` from a normal-form or matrix game (anything with ``to_normal_form``)."""
    if isinstance(game, NormalFormGame):
        return game
    convert = getattr(game, "to_normal_form", None)
    if convert is None:
        hint = " (for a MarkovGame use markov_exploitability)" if type(game).__name__ == "MarkovGame" else ""
        raise InvalidArgumentError(f"game must be a MatrixGame or NormalFormGame, got {type(game).__name__}{hint}")
    return convert()
