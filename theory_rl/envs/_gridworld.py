"""Gridworlds: a general (optionally slippery) gridworld, Sutton & Barto's Example 4.1 grid,
and cliff walking (Example 6.6), the last two episodic (``gamma = 1`` with terminal states) by default."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_gamma, check_int, check_probability, check_real, check_sparse
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ._common import build_mdp, check_model_size, csr_kernel, use_sparse

__all__ = ["gridworld", "sutton_barto_gridworld", "cliff_walking"]

#: Action order shared by every gridworld here (and by gymnasium's CliffWalking).
ACTION_NAMES = ("up", "right", "down", "left")
_DROW = np.array([-1, 0, 1, 0])
_DCOL = np.array([0, 1, 0, -1])


def _cells(value: Any, name: str, n_rows: int, n_cols: int) -> np.ndarray:
    """Boolean ``(n_rows, n_cols)`` mask from a boolean array of that shape, one ``(r, c)`` pair,
    or a sequence of pairs."""
    mask = np.zeros((n_rows, n_cols), dtype=bool)
    arr = np.asarray(value)
    if arr.dtype == bool:
        if arr.shape != (n_rows, n_cols):
            raise InvalidModelError(f"{name} as a boolean mask must have shape ({n_rows}, {n_cols}), got {arr.shape}")
        return arr.copy()
    if arr.size == 0:
        return mask
    if not np.issubdtype(arr.dtype, np.integer):
        raise InvalidModelError(f"{name} must hold integer (row, col) pairs, got {value!r}")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InvalidModelError(f"{name} must be a (row, col) pair or a sequence of pairs, got {value!r}")
    bad = (arr[:, 0] < 0) | (arr[:, 0] >= n_rows) | (arr[:, 1] < 0) | (arr[:, 1] >= n_cols)
    if bad.any():
        r, c = arr[int(np.argmax(bad))]
        raise InvalidModelError(f"{name} cell ({r}, {c}) is outside the {n_rows}x{n_cols} grid")
    mask[arr[:, 0], arr[:, 1]] = True
    return mask


def _next_cells(n_rows: int, n_cols: int, blocked: np.ndarray) -> np.ndarray:
    """``nxt[s, m]``: the cell reached from ``s`` by move ``m`` (up, right, down, left); moves off
    the grid or into a ``blocked`` cell leave ``s`` unchanged. Shape ``(S, 4)``, int64."""
    r, c = np.divmod(np.arange(n_rows * n_cols, dtype=np.int64), n_cols)
    nr = r[:, None] + _DROW[None, :]
    nc = c[:, None] + _DCOL[None, :]
    inside = (nr >= 0) & (nr < n_rows) & (nc >= 0) & (nc < n_cols)
    target = np.where(inside, nr * n_cols + nc, 0)
    ok = inside & ~blocked.ravel()[target]
    return np.where(ok, target, np.arange(n_rows * n_cols)[:, None])


def _slip_kernel(nxt: np.ndarray, slip: float, fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of ``P[s, a] = (1-slip) delta_{nxt[s,a]} + slip/4 sum_m delta_{nxt[s,m]}`` for
    rows whose state is not ``fixed`` (those get a self-loop)."""
    s = np.flatnonzero(~fixed)
    rows = (4 * s[:, None] + np.arange(4)[None, :]).ravel()
    parts_r = [rows]
    parts_c = [nxt[s].ravel()]
    parts_v = [np.full(rows.size, 1.0 - slip)]
    if slip > 0:
        parts_r.append(np.repeat(rows, 4))
        parts_c.append(np.repeat(nxt[s], 4, axis=0).ravel())
        parts_v.append(np.full(rows.size * 4, slip / 4.0))
    f = np.flatnonzero(fixed)
    parts_r.append((4 * f[:, None] + np.arange(4)[None, :]).ravel())
    parts_c.append(np.repeat(f, 4))
    parts_v.append(np.ones(4 * f.size))
    return np.concatenate(parts_r), np.concatenate(parts_c), np.concatenate(parts_v)


def _state_names(n_rows: int, n_cols: int) -> tuple[str, ...]:
    return tuple(f"({r},{c})" for r in range(n_rows) for c in range(n_cols))


def gridworld(
    n_rows: int,
    n_cols: int,
    *,
    gamma: float = 0.99,
    slip: float = 0.0,
    goal: Any = None,
    step_reward: float = -1.0,
    goal_reward: float = 0.0,
    obstacles: Any = None,
    sparse: bool | None = None,
) -> FiniteMDP:
    r"""A rectangular gridworld with four moves, optional slip, obstacles and absorbing goals.

    Cell ``(r, c)`` is state ``s = r * n_cols + c``. Actions are ``0 = up`` (row - 1),
    ``1 = right`` (col + 1), ``2 = down`` (row + 1), ``3 = left`` (col - 1). A move that would
    leave the grid or enter an obstacle leaves the agent in place. With ``nxt(s, m)`` the cell
    that move ``m`` reaches and slip probability ``sigma``:

    .. math::
        P(\cdot \mid s, a) = (1 - \sigma)\, \delta_{nxt(s, a)} + \frac{\sigma}{4} \sum_{m=0}^{3} \delta_{nxt(s, m)},

    i.e. with probability ``sigma`` a uniformly random move (possibly the intended one) happens
    instead. Goal cells are absorbing, :math:`P(s \mid s, a) = 1`, with
    :math:`R(s, a) = r_{goal}`; every other transition pays :math:`R(s, a) = r_{step}`
    (including the one that enters a goal, as in Sutton & Barto's Example 4.1). Obstacle cells
    keep their state index but are unreachable: they are absorbing with reward 0 and
    initial probability 0 (``d0`` is uniform over the non-obstacle cells).

    Obstacle cells, and goal cells when ``r_goal = 0``, are marked ``terminal``. With
    ``gamma = 1`` (which needs ``r_goal = 0`` and at least one goal) the model is episodic, a
    stochastic shortest path problem: ``v(s)`` is the expected total reward until a goal is
    reached (see :class:`~theory_rl.models.FiniteMDP`).

    Parameters
    ----------
    n_rows, n_cols : int
        Grid size, each ``>= 1``.
    gamma : float
        Discount factor in ``[0, 1)``, or ``1`` for the episodic model.
    slip : float
        ``sigma`` in ``[0, 1]``.
    goal : (int, int) or sequence of (int, int) or bool array (n_rows, n_cols), optional
        Absorbing goal cell(s); default the bottom-right cell ``(n_rows-1, n_cols-1)``. Pass an
        empty list for a grid without goals.
    step_reward, goal_reward : float
        ``r_step`` and ``r_goal`` above.
    obstacles : (int, int) or sequence of (int, int) or bool array (n_rows, n_cols), optional
        Walls. Must not overlap a goal, and not cover the whole grid.
    sparse : bool, optional
        CSR ``(S*4, S)`` if true, dense ``(S, 4, S)`` if false; ``None`` means sparse when
        ``S > 2000``. A 200 x 200 grid builds in well under a second.

    Returns
    -------
    FiniteMDP
        ``action_names = ("up", "right", "down", "left")``; ``state_names`` ``"(r,c)"`` when
        ``S <= 10,000``.

    References
    ----------
    R. S. Sutton, A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed., MIT Press
    2018, Example 4.1 (Section 4.1), of which this is the generalisation; the slip model is
    the "epsilon-random move" noise used, e.g., by gymnasium's slippery toy-text grids in a
    different form (there: the intended or a perpendicular move, each w.p. 1/3).

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.gridworld(3, 4, gamma=0.9, slip=0.1, obstacles=[(1, 1)])
    >>> mdp.n_states, mdp.n_actions
    (12, 4)
    >>> sol = tabular.value_iteration(mdp, tol=1e-8)
    >>> print(f"{sol.v.min():.3f}")
    -4.355
    """
    R_, C_ = check_int(n_rows, "n_rows"), check_int(n_cols, "n_cols")
    S = R_ * C_
    slip = check_probability(slip, "slip")
    step_reward = check_real(step_reward, "step_reward")
    goal_reward = check_real(goal_reward, "goal_reward")
    sparse = use_sparse(check_sparse(sparse), S, 2000)
    check_model_size("gridworld", S, 4, sparse=sparse, entries_per_row=5)
    goals = _cells((R_ - 1, C_ - 1) if goal is None else goal, "goal", R_, C_)
    walls = np.zeros((R_, C_), bool) if obstacles is None else _cells(obstacles, "obstacles", R_, C_)
    if (goals & walls).any():
        r, c = np.argwhere(goals & walls)[0]
        raise InvalidModelError(f"obstacles cell ({r}, {c}) is also a goal")
    if walls.all():
        raise InvalidModelError("obstacles cover every cell of the grid")
    nxt = _next_cells(R_, C_, walls)
    fixed = (goals | walls).ravel()
    rows, cols, vals = _slip_kernel(nxt, slip, fixed)
    P = csr_kernel(rows, cols, vals, S, 4)
    Rw = np.full((S, 4), step_reward)
    Rw[goals.ravel()] = goal_reward
    Rw[walls.ravel()] = 0.0
    d0 = None
    if walls.any():
        d0 = (~walls.ravel()).astype(float)
        d0 /= d0.sum()
    names = _state_names(R_, C_) if S <= 10_000 else None
    gamma = check_gamma(gamma, allow_one=True)
    if gamma == 1.0 and (goal_reward != 0 or not goals.any()):
        raise InvalidModelError(
            f"gamma = 1 (episodic) needs at least one goal and goal_reward = 0 (got {goal_reward:g}, "
            f"{int(goals.sum())} goals): the goals are the terminal states"
        )
    terminal = (walls | goals).ravel() if goal_reward == 0 else walls.ravel()
    return build_mdp(P, Rw, gamma, sparse=sparse, d0=d0, state_names=names, action_names=ACTION_NAMES,
                     terminal=terminal)


def sutton_barto_gridworld(*, gamma: float = 1.0) -> FiniteMDP:
    r"""The 4 x 4 gridworld of Sutton & Barto (2018), Example 4.1: an episodic, undiscounted task.

    Cells ``(0, 0)`` and ``(3, 3)`` (states 0 and 15) are terminal: absorbing with reward 0, and
    marked ``terminal``. Every move from any other cell pays -1; moves are deterministic (up,
    right, down, left, as in :func:`gridworld`) and moves off the grid leave the state unchanged.

    With the default ``gamma = 1`` the model is a stochastic shortest path problem
    (:class:`~theory_rl.models.FiniteMDP` with ``terminal``) and the tabular solvers compute the
    undiscounted values exactly; ``gamma < 1`` gives the discounted variant (same terminal mask).

    Known values (Sutton & Barto, Figure 4.1): under the equiprobable random policy

    .. math::
        v_\pi = \begin{pmatrix} 0 & -14 & -20 & -22 \\ -14 & -18 & -20 & -20 \\
                                -20 & -20 & -18 & -14 \\ -22 & -20 & -14 & 0 \end{pmatrix},

    and optimally :math:`v_*(r, c) = -\min(r + c,\; 6 - r - c)`, minus the number of steps to the
    nearest terminal corner.

    Parameters
    ----------
    gamma : float
        ``1`` (default, episodic) or a discount factor in ``[0, 1)``.

    References
    ----------
    R. S. Sutton, A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed., MIT Press
    2018, Example 4.1 and Figure 4.1 (Section 4.1).

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> tabular.policy_iteration(envs.sutton_barto_gridworld()).v.reshape(4, 4)[0].tolist()
    [0.0, -1.0, -2.0, -3.0]
    """
    m = gridworld(4, 4, gamma=0.5, goal=[(0, 0), (3, 3)], step_reward=-1.0, goal_reward=0.0, sparse=False)
    terminal = np.zeros(16, bool)
    terminal[[0, 15]] = True
    return m.replace(gamma=check_gamma(gamma, allow_one=True), terminal=terminal)


def cliff_walking(*, gamma: float = 1.0) -> FiniteMDP:
    r"""Cliff walking, Sutton & Barto (2018), Example 6.6.

    A 4 x 12 grid; the agent starts at ``(3, 0)`` (state 36, ``d0 = delta_36``), the goal is
    ``(3, 11)`` (state 47) and the cells ``(3, 1), ..., (3, 10)`` are the cliff. Moves (up,
    right, down, left) are deterministic; off-grid moves leave the state unchanged. Every move
    pays -1, except a move into the cliff, which pays -100 and sends the agent back to the start.
    The goal is absorbing with reward 0. Cliff cells are never occupied: they keep their state
    indices (so ``s = 12 r + c`` as in gymnasium's ``CliffWalking``) but are absorbing, reward 0,
    and unreachable. The goal and the cliff cells are marked ``terminal``.

    With the default ``gamma = 1`` the model is episodic (a stochastic shortest path problem,
    see :class:`~theory_rl.models.FiniteMDP`) and the solvers return the undiscounted values
    exactly: the optimal return from the start is -13 (up, 11 moves right, down).

    Parameters
    ----------
    gamma : float
        ``1`` (default, episodic) or a discount factor in ``[0, 1)``.

    References
    ----------
    R. S. Sutton, A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed., MIT Press
    2018, Example 6.6 (Section 6.5).

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.cliff_walking()
    >>> mdp.n_states, mdp.gamma
    (48, 1.0)
    >>> sol = tabular.policy_iteration(mdp)
    >>> print(f"{sol.v[36]:.1f}")
    -13.0
    """
    n_rows, n_cols = 4, 12
    S = n_rows * n_cols
    start, goal_s = 3 * n_cols, S - 1
    cliff = np.zeros((n_rows, n_cols), bool)
    cliff[3, 1:-1] = True
    nxt = _next_cells(n_rows, n_cols, np.zeros_like(cliff))
    falls = cliff.ravel()[nxt]
    Rw = np.where(falls, -100.0, -1.0)
    nxt = np.where(falls, start, nxt)
    fixed = cliff.ravel().copy()
    fixed[goal_s] = True
    rows, cols, vals = _slip_kernel(nxt, 0.0, fixed)
    P = csr_kernel(rows, cols, vals, S, 4)
    Rw[fixed] = 0.0
    d0 = np.zeros(S)
    d0[start] = 1.0
    return build_mdp(
        P, Rw, check_gamma(gamma, allow_one=True), sparse=False, d0=d0, state_names=_state_names(n_rows, n_cols),
        action_names=ACTION_NAMES, terminal=fixed,
    )
