"""ProcMaze (Young, Ramesh, Kirsch & Schmidhuber 2023): a procedurally generated depth-first maze."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_bool, check_int, check_real, check_sparse, rng_from_seed
from ._button_grid import GRID_MOVES
from ._common import build_mdp, check_model_size, csr_kernel, use_sparse
from ._factored_task import FactoredTask

__all__ = ["proc_maze"]


def _dfs_maze(n: int, rng: np.random.Generator) -> np.ndarray:
    """``wall[r, c]``: a randomised depth-first maze whose corridors are cells. A closed cell may be
    opened when exactly one of its grid neighbours is open, so the open cells form a tree."""
    wall = np.ones((n, n), dtype=bool)
    start = (int(rng.integers(n)), int(rng.integers(n)))
    wall[start] = False
    stack = [start]
    while stack:
        r, c = stack.pop()
        candidates = []
        for dr, dc in GRID_MOVES[1:]:
            rr, cc = r + dr, c + dc
            if 0 <= rr < n and 0 <= cc < n and wall[rr, cc]:
                around = [(rr + a, cc + b) for a, b in GRID_MOVES[1:] if 0 <= rr + a < n and 0 <= cc + b < n]
                if sum(not wall[p] for p in around) == 1:
                    candidates.append((int(rr), int(cc)))
        if candidates:
            chosen = candidates[int(rng.integers(len(candidates)))]
            wall[chosen] = False
            stack += [(r, c), chosen]
    return wall


def proc_maze(grid_size: int = 4, *, spontaneous: bool = True, gamma: float = 0.9, sparse: bool | None = None,
              seed: Any = None) -> FactoredTask:
    r"""ProcMaze as an exact :class:`~theory_rl.models.FiniteMDP` (episodic, discounted).

    Young, Ramesh, Kirsch & Schmidhuber (2023), "The benefits of model-based generalization in
    reinforcement learning", ICML 2023, arXiv:2211.02222, Section 5 (rules as in the authors'
    released ``environments.py``). A randomised depth-first search carves corridors of cells in
    an ``n x n`` grid of walls (a closed cell opens when exactly one of its neighbours is open);
    the goal is a uniformly random open cell. States are the ``n^2`` cells (``s = row * n + col``;
    wall cells are unreachable), actions 0 no-op, 1 up, 2 left, 3 down, 4 right. Each step pays
    ``-1``; a move into a wall or off the grid leaves the agent in place; then with probability
    ``p = 0.1 / ((n + 1) ceil(n / 2) - (n mod 2))`` (``spontaneous=True``; one tenth of the
    inverse of the worst-case solve time) the agent is teleported to the goal. The goal is
    terminal (``mdp.terminal``, an absorbing zero-reward state), so ``V*(s) = -(1 - gamma^d) /
    (1 - gamma)`` without teleports, ``d`` the maze distance to the goal.

    Deviations from the paper (ours): the maze is drawn once from ``seed`` and kept at every
    reset (the paper draws a new maze at every reset); the episode ends on arriving at the goal
    (the paper's agent observes the goal and pays one more ``-1``); the start is uniform over the
    open cells other than the goal; default size 4 (the paper: 4 in its released configuration,
    10 in the figures).

    Parameters
    ----------
    grid_size : int
        ``n`` (2 to 32).
    spontaneous : bool
    gamma : float
    sparse : bool, optional
        CSR kernel (default: above 4,096 states).
    seed : int or numpy Generator, optional
        Draws the maze and the goal.

    Returns
    -------
    FactoredTask
        ``observations[s]``: the paper's ``n x n x 4`` image (channels: agent, goal, wall, open)
        flattened row-major with the channel last; ``factors``: ``(row, col)``;
        ``layout[r, c]``: 0 open, 1 wall, 2 goal.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.tabular import value_iteration
    >>> task = proc_maze(4, spontaneous=False, gamma=0.9, seed=0)
    >>> print(task.layout)
    [[2 0 0 0]
     [1 0 1 0]
     [0 0 1 0]
     [1 0 0 1]]
    >>> v = value_iteration(task.mdp, tol=1e-10).v
    >>> round(float(v[3 * 4 + 2]), 4), round(-(1 - 0.9**5) / (1 - 0.9), 4)   # five steps from (3, 2)
    (-4.0951, -4.0951)
    """
    n = check_int(grid_size, "grid_size", minimum=2, maximum=32)
    spontaneous = check_bool(spontaneous, "spontaneous")
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    sparse = check_sparse(sparse)
    rng = rng_from_seed(seed)
    S, A = n * n, len(GRID_MOVES)
    dense = not use_sparse(sparse, S, 4096)
    check_model_size("proc_maze", S, A, sparse=not dense, entries_per_row=2)
    wall = _dfs_maze(n, rng)
    open_cells = np.flatnonzero(~wall.ravel())
    goal = int(open_cells[rng.integers(len(open_cells))])

    states = np.arange(S, dtype=np.int64)
    row, col = states // n, states % n
    new_row = np.clip(row[:, None] + GRID_MOVES[None, :, 0], 0, n - 1)
    new_col = np.clip(col[:, None] + GRID_MOVES[None, :, 1], 0, n - 1)
    target = new_row * n + new_col
    nxt = np.where(wall.ravel()[target], states[:, None], target)
    nxt[goal] = goal
    p = 0.1 / ((n + 1) * math.ceil(n / 2) - n % 2) if spontaneous else 0.0
    p_sa = np.full((S, A), p)
    p_sa[goal] = 0.0
    rows = np.arange(S * A, dtype=np.int64)
    P = csr_kernel(np.concatenate([rows, rows]), np.concatenate([nxt.ravel(), np.full(S * A, goal)]),
                   np.concatenate([1.0 - p_sa.ravel(), p_sa.ravel()]), S, A)
    R = np.full((S, A), -1.0)
    R[goal] = 0.0
    starts = open_cells[open_cells != goal]
    d0 = np.zeros(S)
    d0[starts if len(starts) else goal] = 1.0 / max(len(starts), 1)
    terminal = np.zeros(S, dtype=bool)
    terminal[goal] = True
    mdp = build_mdp(P, R, gamma, sparse=not dense, d0=d0, terminal=terminal)

    obs = np.zeros((S, S, 4), dtype=np.float32)
    obs[states, states, 0] = 1.0
    obs[:, goal, 1] = 1.0
    obs[:, :, 2] = wall.ravel()
    obs[:, :, 3] = ~wall.ravel()
    layout = wall.astype(np.int64).ravel()
    layout[goal] = 2
    return FactoredTask(mdp=mdp, observations=obs.reshape(S, S * 4), factors=np.column_stack([row, col]),
                        factor_names=("row", "col"), layout=layout.reshape(n, n))
