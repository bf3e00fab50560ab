"""Finite discounted Markov (stochastic) games with N players."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._result import html_summary
from .._validation import (
    as_float_array,
    check_allocation,
    check_distribution,
    check_gamma,
    check_probability_rows,
    check_row_sums,
)
from ..errors import InvalidArgumentError, InvalidModelError
from ._common import payoff_array, player_payoffs, read_only

__all__ = ["MarkovGame", "as_markov_game"]

_ATOL = 1e-8


@dataclass(frozen=True, eq=False, repr=False)
class MarkovGame:
    r"""A finite discounted Markov game (Shapley 1953) with ``N`` players acting simultaneously.

    .. math::
        P[s, a_1, \dots, a_N, s'] = \Pr(s_{t+1} = s' \mid s_t = s, a_t = (a_1, \dots, a_N)), \qquad
        R[i, s, a_1, \dots, a_N] = \mathbb E[r^i_t \mid s, a],

    each player ``i`` maximising :math:`\mathbb E \sum_t \gamma^t r^i_t` from :math:`s_0 \sim d_0`.
    The two-player zero-sum case (``R[1] = -R[0]``) is what :func:`shapley_value_iteration`
    solves; :meth:`zero_sum` builds it from the maximiser's reward alone. It is also the game type
    of QARL's solvers in :mod:`theory_rl.robust` (whose former two-player ``MarkovGame``,
    ``R[s, a, b]``, is deprecated and accepted here through its ``to_markov_game()``).

    Parameters
    ----------
    P : array_like, shape (S, A_1, ..., A_N, S), or scipy.sparse matrix of shape (S * A_1 * ... * A_N, S)
        Transition kernel; every ``P[s, a, :]`` is a probability vector within ``atol = 1e-8``.
        The sparse layout stores ``P[s, a_1, ..., a_N, :]`` in the row of the C-order flat index of
        ``(s, a_1, ..., a_N)`` and is kept in CSR form (as :class:`~theory_rl.models.FiniteMDP` does).
    R : array_like, shape (N, S, A_1, ..., A_N)
        Expected reward of each player.
    gamma : float
        Discount factor in ``[0, 1)``.
    d0 : array_like, shape (S,), optional
        Initial-state distribution (uniform when omitted).

    Raises
    ------
    InvalidModelError
        Shapes that disagree, a negative or non-finite entry, a row of ``P`` not summing to 1
        (named ``P[s, a_1, ..., a_N, :]``), or ``gamma`` outside ``[0, 1)``.
    SizeLimitError
        When ``P`` would exceed :func:`theory_rl.max_bytes`.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame
    >>> P = np.full((2, 2, 2, 2), 0.5)                      # S = 2, two players with 2 actions each
    >>> R = np.array([[[1.0, -1.0], [-1.0, 1.0]]] * 2)      # matching pennies in both states
    >>> g = MarkovGame.zero_sum(P, R, 0.9)
    >>> g.n_players, g.n_states, g.n_actions
    (2, 2, (2, 2))
    """

    P: np.ndarray
    R: np.ndarray
    gamma: float
    d0: np.ndarray | None = None

    def __post_init__(self) -> None:
        R = player_payoffs(self.R, "R", lead=("S",), what="reward array")
        S = R.shape[1]
        actions = R.shape[2:]
        expected = (S, *actions, S)
        if sp.issparse(self.P):
            P = _sparse_kernel(self.P, S, actions)
        else:
            raw = np.asarray(self.P)
            if raw.shape != expected:
                raise InvalidModelError(f"P has shape {raw.shape}, expected (S, A_1, ..., A_N, S) = {expected}")
            check_allocation(8 * int(np.prod(expected, dtype=object)), f"dense P of shape {expected} (float64)")
            P = read_only(as_float_array(raw, "P"))
            check_probability_rows(P.reshape(-1, S), "P", atol=_ATOL, row_shape=(S, *actions))
        gamma = check_gamma(self.gamma)
        d0 = None if self.d0 is None else read_only(check_distribution(self.d0, "d0", S, atol=_ATOL))
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "R", read_only(R))
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "d0", d0)

    @classmethod
    def zero_sum(cls, P: Any, R: Any, gamma: float, d0: Any = None) -> MarkovGame:
        """Two-player zero-sum game from the maximiser's reward ``R[s, a, b]`` (the minimiser gets ``-R``)."""
        R0 = payoff_array(R, "R", ndim=3)
        return cls(P, np.stack([R0, -R0]), gamma, d0)

    @property
    def n_players(self) -> int:
        """Number of players ``N``."""
        return int(self.R.shape[0])

    @property
    def shape(self) -> tuple[int, ...]:
        """``(S, A_1, ..., A_N)``: ``(S, A, B)`` for a two-player game."""
        return tuple(int(k) for k in self.R.shape[1:])

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return int(self.R.shape[1])

    @property
    def n_actions(self) -> tuple[int, ...]:
        """``(A_1, ..., A_N)``."""
        return tuple(int(a) for a in self.R.shape[2:])

    @property
    def is_zero_sum(self) -> bool:
        """Two players with ``R[1] == -R[0]`` exactly."""
        return self.n_players == 2 and bool(np.array_equal(self.R[1], -self.R[0]))

    @property
    def initial_distribution(self) -> np.ndarray:
        """``d0``, or the uniform distribution when it was omitted."""
        return np.full(self.n_states, 1.0 / self.n_states) if self.d0 is None else np.asarray(self.d0)

    @property
    def is_sparse(self) -> bool:
        """Whether ``P`` is stored as a CSR matrix of shape ``(S * A_1 * ... * A_N, S)``."""
        return sp.issparse(self.P)

    def dense_kernel(self) -> np.ndarray:
        """``P`` as a dense ``(S, A_1, ..., A_N, S)`` array (size-guarded when ``P`` is sparse)."""
        if not self.is_sparse:
            return np.asarray(self.P)
        shape = (self.n_states, *self.n_actions, self.n_states)
        check_allocation(8 * int(np.prod(shape, dtype=object)), f"dense P of shape {shape} (float64)")
        return self.P.toarray().reshape(shape)

    def q(self, v: np.ndarray, player: int = 0) -> np.ndarray:
        """``Q_i[s, a] = R[i, s, a] + gamma * sum_s' P[s, a, s'] v(s')``, shape ``(S, A_1, ..., A_N)``."""
        return self.R[player] + self.gamma * (self.P @ v).reshape(self.R.shape[1:])

    def _repr_html_(self) -> str:
        """A table for Jupyter: players, states, actions, ``gamma`` and the reward range at full precision."""
        return html_summary("MarkovGame", {
            "players": self.n_players, "S (states)": self.n_states, "actions": self.n_actions, "gamma": self.gamma,
            "min R": float(np.min(self.R)), "max R": float(np.max(self.R)),
        })

    def __repr__(self) -> str:
        return (f"MarkovGame(n_players={self.n_players}, n_states={self.n_states}, "
                f"n_actions={self.n_actions}, gamma={self.gamma:g})")


def as_markov_game(game: Any) -> MarkovGame:
    """A :class:`MarkovGame` from one, or from anything with ``to_markov_game()`` (the deprecated
    ``theory_rl.robust.MarkovGame``)."""
    if isinstance(game, MarkovGame):
        return game
    convert = getattr(game, "to_markov_game", None)
    if convert is None:
        raise InvalidArgumentError(f"game must be a theory_rl.games.MarkovGame, got {type(game).__name__}")
    return convert()


def _sparse_kernel(P: Any, S: int, actions: tuple[int, ...]) -> sp.csr_matrix:
    """Validated read-only CSR copy of a sparse kernel, errors naming ``P[s, a_1, ..., a_N, s']``."""
    rows = S * int(np.prod(actions, dtype=object))
    if P.ndim != 2 or P.shape != (rows, S):
        raise InvalidModelError(
            f"sparse P has shape {P.shape}, expected (S * A_1 * ... * A_N, S) = ({rows}, {S})")
    check_allocation(16 * int(P.nnz) + 8 * (rows + 1), f"sparse P with {P.nnz} nonzeros")
    if np.iscomplexobj(P.data) or not (np.issubdtype(P.dtype, np.integer) or np.issubdtype(P.dtype, np.floating)):
        raise InvalidModelError(f"P must hold real numbers, got dtype {P.dtype}")
    csr = sp.csr_matrix(P, dtype=np.float64)
    csr.sum_duplicates()
    csr.sort_indices()
    bad = ~np.isfinite(csr.data) | (csr.data < 0)
    if bad.any():
        k = int(np.argmax(bad))
        row = int(np.searchsorted(csr.indptr, k, side="right") - 1)
        where = ", ".join(str(int(i)) for i in (*np.unravel_index(row, (S, *actions)), csr.indices[k]))
        raise InvalidModelError(f"P[{where}] = {csr.data[k]:.6g} (expected a finite probability >= 0)")
    check_row_sums(np.asarray(csr.sum(axis=1)).ravel(), "P", atol=_ATOL, row_shape=(S, *actions))
    for arr in (csr.data, csr.indices, csr.indptr):
        arr.flags.writeable = False
    return csr
