r"""Gems: a two-agent general-sum grid game (the first benchmark of MAMQL, re-created)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_allocation, check_gamma, check_int, check_real
from ..errors import InvalidArgumentError

if TYPE_CHECKING:  # pragma: no cover
    from ..games import MarkovGame

__all__ = ["gems", "DEFAULT_GEMS"]

DEFAULT_GEMS = ((0, 2, 1.0, -0.5), (2, 0, 0.5, 0.5))
"""Default gems ``(row, col, reward to the collector, reward to the other agent)``: a contested
gem (what one agent takes, the other loses) and a shared one."""

_MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])  # stay, up, down, left, right


def gems(
    *,
    n_rows: int = 3,
    n_cols: int = 3,
    gems: Sequence[tuple[int, int, float, float]] = DEFAULT_GEMS,
    starts: Sequence[tuple[int, int]] = ((0, 0), (2, 2)),
    slip: float = 0.1,
    gamma: float = 0.9,
) -> MarkovGame:
    r"""The Gems grid game of MAMQL's experiments (Haynam, Khoja, Kumar, Myers & Bıyık 2025,
    arXiv 2503.04679), re-created as a two-player :class:`~theory_rl.games.MarkovGame`.

    Two agents move simultaneously on an ``n_rows x n_cols`` grid (actions stay, up, down, left,
    right; a move off the grid stays put; with probability ``slip`` an agent's action is replaced
    by a uniformly random one). Gems lie on cells; a gem is collected when an agent enters its cell
    (both agents collect it when they enter together), pays ``(collector, other)`` rewards and
    disappears. The state is ``(position of agent 0, position of agent 1, set of remaining gems)``,
    ``S = (n_rows n_cols)^2 2^G``, indexed ``((p_0 C + p_1) 2^G + mask)`` with ``C = n_rows n_cols``
    and ``p = row * n_cols + col``; once every gem is gone the agents wander without reward. The
    game starts at ``starts`` with every gem present.

    What is guessed: the paper's text describing Gems was not available to us, only that it is a
    grid world in which agents collect gems with general-sum rewards. The layout, the gem values
    (by default a contested gem worth ``+1`` to its collector and ``-0.5`` to the other agent, and
    a shared gem worth ``+0.5`` to both), the slip probability, the simultaneous-move and
    collection rules and the discount are ours.

    Parameters
    ----------
    n_rows, n_cols : int
    gems : sequence of (row, col, collector_reward, other_reward)
    starts : two (row, col)
    slip : float
        Probability in ``[0, 1]`` that an action is replaced by a uniform random one.
    gamma : float

    Returns
    -------
    theory_rl.games.MarkovGame

    Examples
    --------
    >>> from theory_rl import envs
    >>> g = envs.gems()
    >>> g.n_players, g.n_states, g.n_actions
    (2, 324, (5, 5))
    """
    from ..games import MarkovGame  # games never imports envs

    rows = check_int(n_rows, "n_rows")
    cols = check_int(n_cols, "n_cols")
    p_slip = check_real(slip, "slip", low=0.0, high=1.0)
    gamma = check_gamma(gamma)
    table = _check_gems(gems, rows, cols)
    if len(starts) != 2:
        raise InvalidArgumentError(f"starts must hold two (row, col) cells, got {starts!r}")
    for k, (r, c) in enumerate(starts):
        if not (0 <= r < rows and 0 <= c < cols):
            raise InvalidArgumentError(f"starts[{k}] = {(r, c)!r} is off the {rows} x {cols} grid")
    C, G = rows * cols, len(table)
    S = C * C * 2**G
    check_allocation(8.0 * S * 25 * S * 2, f"the Gems game with {S} states (dense P)")
    s = np.arange(S)
    mask, pair = s % 2**G, s // 2**G
    pos = np.stack([pair // C, pair % C])                                  # (2, S) cell indices
    rc = np.stack([pos // cols, pos % cols], axis=-1)                      # (2, S, 2)
    gem_cell = np.array([r * cols + c for r, c, _, _ in table])
    values = np.array([[v_own, v_other] for _, _, v_own, v_other in table])
    P = np.zeros((S, 5, 5, S))
    R = np.zeros((2, S, 5, 5))
    choice = (1.0 - p_slip) * np.eye(5) + p_slip / 5.0                     # choice[a, m] = Pr(move m | action a)
    for m0 in range(5):
        for m1 in range(5):
            nxt = [_move(rc[k], _MOVES[m], rows, cols) for k, m in enumerate((m0, m1))]
            hit = [(nxt[k][:, None] == gem_cell[None, :]) & (((mask[:, None] >> np.arange(G)) & 1) == 1)
                   for k in range(2)]                                      # (S, G): agent k collects gem g
            reward = np.zeros((2, S))
            for k in range(2):
                reward[k] = (hit[k] * values[:, 0]).sum(axis=1) + (hit[1 - k] & ~hit[k]) @ values[:, 1]
            taken = (hit[0] | hit[1]) @ (1 << np.arange(G))
            ns = ((nxt[0] * C + nxt[1]) * 2**G) + (mask & ~taken)
            w = choice[:, m0][:, None] * choice[:, m1][None, :]           # (5, 5) Pr(moves | actions)
            np.add.at(P, (s[:, None, None], np.arange(5)[None, :, None], np.arange(5)[None, None, :],
                          ns[:, None, None]), w[None])
            R += reward[:, :, None, None] * w[None, None]
    d0 = np.zeros(S)
    p0, p1 = (r * cols + c for r, c in starts)
    d0[(p0 * C + p1) * 2**G + 2**G - 1] = 1.0
    return MarkovGame(P, R, gamma, d0)


def _move(rc: np.ndarray, step: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Cell index after ``step`` from ``rc[s] = (row, col)``, staying put off the grid."""
    r, c = rc[:, 0] + step[0], rc[:, 1] + step[1]
    off = (r < 0) | (r >= rows) | (c < 0) | (c >= cols)
    r, c = np.where(off, rc[:, 0], r), np.where(off, rc[:, 1], c)
    return r * cols + c


def _check_gems(gems: Sequence, rows: int, cols: int) -> list[tuple[int, int, float, float]]:
    out = []
    try:
        items = list(gems)
    except TypeError:
        raise InvalidArgumentError(f"gems must be a sequence of (row, col, collector, other), got {gems!r}") from None
    if not items or len(items) > 6:
        raise InvalidArgumentError(f"gems must hold 1 to 6 gems, got {len(items)}")
    for k, g in enumerate(items):
        try:
            r, c, own, other = g
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"gems[{k}] = {g!r} must be (row, col, collector, other)") from None
        if not (0 <= r < rows and 0 <= c < cols):
            raise InvalidArgumentError(f"gems[{k}] at {(r, c)!r} is off the {rows} x {cols} grid")
        out.append((int(r), int(c), check_real(own, f"gems[{k}] collector reward"),
                    check_real(other, f"gems[{k}] other reward")))
    if len({(r, c) for r, c, _, _ in out}) != len(out):
        raise InvalidArgumentError("gems must lie on distinct cells")
    return out
