"""ButtonGrid (Young, Ramesh, Kirsch & Schmidhuber 2023): toggle every button, then collect."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_bool, check_int, check_real, check_sparse, rng_from_seed
from ._common import build_mdp, check_model_size, csr_kernel, use_sparse
from ._factored_task import FactoredTask

__all__ = ["button_grid"]

# action -> (d_row, d_col): 0 no-op, 1 up, 2 left, 3 down, 4 right (the authors' order)
GRID_MOVES = np.array([[0, 0], [-1, 0], [0, -1], [1, 0], [0, 1]], dtype=np.int64)


def button_grid(grid_size: int = 4, n_buttons: int = 2, *, spontaneous: bool = True, gamma: float = 0.9,
                sparse: bool | None = None, seed: Any = None) -> FactoredTask:
    r"""ButtonGrid as an exact :class:`~theory_rl.models.FiniteMDP` (continuing, discounted).

    Young, Ramesh, Kirsch & Schmidhuber (2023), "The benefits of model-based generalization in
    reinforcement learning", ICML 2023, arXiv:2211.02222, Section 5 (rules as in the authors'
    released ``environments.py``). An ``n x n`` grid holds ``G`` buttons at distinct cells drawn
    from ``seed``; the state is the agent's cell and the ``G`` button bits,
    ``s = (row * n + col) * 2^G + sum_i b_i 2^i``. Actions: 0 no-op, 1 up, 2 left, 3 down,
    4 right (moves off the grid leave the agent in place). One step from state ``s``:

    - the reward is ``1`` if every button is on *before* the step, else ``0``;
    - the agent moves; if it moved onto button ``i``, bit ``i`` toggles;
    - with probability ``q = 1 / (10 n^2)`` (``spontaneous=True``) every button turns on;
    - if the reward was paid, the episode resets instead: a uniformly random cell, all buttons off.

    So the return needs the agent to visit each button an odd number of times, a combinatorial
    condition on ``2^G`` button patterns that a factored model captures per button.

    Deviations from the paper (ours): the layout is drawn once from ``seed`` and kept at every
    reset (the paper draws new button cells and a new start at every reset, so its state includes
    the layout); default size 4 x 4 with 2 buttons (the paper: 10 x 10 with 3).

    Parameters
    ----------
    grid_size : int
        ``n`` (2 to 16).
    n_buttons : int
        ``G`` (1 to 8, at most ``n^2``).
    spontaneous : bool
    gamma : float
    sparse : bool, optional
        CSR kernel (default: above 4,096 states).
    seed : int or numpy Generator, optional
        Draws the button cells.

    Returns
    -------
    FactoredTask
        ``observations[s]``: the paper's ``n x n x 3`` image (channels: agent, button on, button
        off) flattened row-major with the channel last; ``factors``: ``(row, col, b_0, ...)``;
        ``layout[r, c]``: the button at the cell, ``-1`` where there is none.

    Examples
    --------
    >>> from theory_rl.tabular import value_iteration
    >>> task = button_grid(3, 1, spontaneous=False, gamma=0.9, seed=0)
    >>> task.mdp.n_states, task.mdp.n_actions
    (18, 5)
    >>> round(float(value_iteration(task.mdp, tol=1e-10).v.max()), 4)
    3.8432
    """
    n = check_int(grid_size, "grid_size", minimum=2, maximum=16)
    G = check_int(n_buttons, "n_buttons", minimum=1, maximum=min(8, n * n))
    spontaneous = check_bool(spontaneous, "spontaneous")
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    sparse = check_sparse(sparse)
    rng = rng_from_seed(seed)
    cells, n_bits = n * n, 2**G
    S, A = cells * n_bits, len(GRID_MOVES)
    dense = not use_sparse(sparse, S, 4096)
    check_model_size("button_grid", S, A, sparse=not dense, entries_per_row=cells + 1)
    buttons = rng.choice(cells, size=G, replace=False)
    layout = np.full(cells, -1, dtype=np.int64)
    layout[buttons] = np.arange(G)

    states = np.arange(S, dtype=np.int64)
    pos, bits = states // n_bits, states % n_bits
    row, col = pos // n, pos % n
    success = bits == n_bits - 1
    new_row = np.clip(row[:, None] + GRID_MOVES[None, :, 0], 0, n - 1)
    new_col = np.clip(col[:, None] + GRID_MOVES[None, :, 1], 0, n - 1)
    new_pos = new_row * n + new_col  # (S, A)
    pressed = layout[new_pos]
    toggled = (new_pos != pos[:, None]) & (pressed >= 0)
    new_bits = np.where(toggled, bits[:, None] ^ (1 << np.maximum(pressed, 0)), bits[:, None])
    moved_to = new_pos * n_bits + new_bits
    q = 1.0 / (10 * cells) if spontaneous else 0.0

    rows_sa = np.arange(S * A, dtype=np.int64)
    live = ~np.repeat(success, A)
    rows = [rows_sa[live], rows_sa[live]]
    cols = [moved_to.ravel()[live], (new_pos * n_bits + n_bits - 1).ravel()[live]]
    vals = [np.full(live.sum(), 1.0 - q), np.full(live.sum(), q)]
    reset_rows = rows_sa[~live]  # after the reward: uniform cell, buttons off
    rows.append(np.repeat(reset_rows, cells))
    cols.append(np.tile(np.arange(cells, dtype=np.int64) * n_bits, len(reset_rows)))
    vals.append(np.full(len(reset_rows) * cells, 1.0 / cells))
    P = csr_kernel(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), S, A)
    R = np.repeat(success.astype(float)[:, None], A, axis=1)
    d0 = np.zeros(S)
    d0[np.arange(cells) * n_bits] = 1.0 / cells
    mdp = build_mdp(P, R, gamma, sparse=not dense, d0=d0)

    button_bits = (bits[:, None] >> np.arange(G)[None, :]) & 1  # (S, G)
    obs = np.zeros((S, cells, 3), dtype=np.float32)
    obs[states, pos, 0] = 1.0
    obs[:, buttons, 1] = button_bits
    obs[:, buttons, 2] = 1 - button_bits
    factors = np.column_stack([row, col, button_bits]).astype(np.int64)
    names = ("row", "col", *(f"button_{i}" for i in range(G)))
    return FactoredTask(mdp=mdp, observations=obs.reshape(S, cells * 3), factors=factors, factor_names=names,
                        layout=layout.reshape(n, n))
