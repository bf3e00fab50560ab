"""PanFlute (Young, Ramesh, Kirsch & Schmidhuber 2023): a combinatorial but factored timing task."""

from __future__ import annotations

import numpy as np

from .._validation import check_bool, check_int, check_real, check_sparse
from ..models import FiniteMDP
from ._common import build_mdp, check_model_size, csr_kernel, use_sparse

__all__ = ["pan_flute"]


def pan_flute(n_pipes: int = 3, *, spontaneous: bool = True, gamma: float = 0.9, sparse: bool | None = None) -> FiniteMDP:
    r"""PanFlute as an exact :class:`~theory_rl.models.FiniteMDP` (continuing, discounted).

    Young, Ramesh, Kirsch & Schmidhuber (2023), "The benefits of model-based generalization in
    reinforcement learning", ICML 2023, arXiv:2211.02222, Section 5 (rules as in the authors'
    released ``environments.py``). ``n`` pipes, pipe ``i`` holds ``i + 1`` binary cells; the
    state is all ``n (n + 3) / 2`` cells (cell ``j`` of pipe ``i`` is bit ``i (i + 1) / 2 + j`` of
    the state index). Action ``a in {0..n-1}``:

    - the reward is the product of the last cells of all pipes *before* the step;
    - every pipe shifts by one cell (the last cell is dropped) and cell 0 of pipe ``i`` becomes
      ``[i == a]``;
    - with probability ``1/n^2`` (``spontaneous=True``) the last cell of every pipe is then set to 1.

    A reward at step ``t`` needs ``a_{t-1-i} = i`` for every pipe ``i``, so rewards are at least
    ``n`` steps apart; from the empty state without spontaneous activation
    ``V*(0) = gamma^n / (1 - gamma^n)`` (our derivation; tested against value iteration).

    Implemented: the environment's exact kernel (``2^(n(n+3)/2)`` states, two successors per
    pair), starting with every pipe empty (``d0`` on state 0). Not implemented: the paper's observation encoding as a gymnasium environment of its own
    (wrap this model with :class:`TabularEnv`) and its agents.

    Parameters
    ----------
    n_pipes : int
        ``n`` (1 to 5; 5 pipes have 2^20 states).
    spontaneous : bool
    gamma : float
    sparse : bool, optional
        CSR kernel (default: above 4,096 states).

    Examples
    --------
    >>> m = pan_flute(3, spontaneous=False, gamma=0.9)
    >>> m.n_states, m.n_actions
    (512, 3)
    >>> from theory_rl.tabular import value_iteration
    >>> round(float(value_iteration(m, tol=1e-10).v[0]), 6), round(0.9**3 / (1 - 0.9**3), 6)
    (2.690037, 2.690037)
    """
    n = check_int(n_pipes, "n_pipes", minimum=1, maximum=5)
    spontaneous = check_bool(spontaneous, "spontaneous")
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    sparse = check_sparse(sparse)
    n_bits = n * (n + 3) // 2
    S, A = 2**n_bits, n
    dense = not use_sparse(sparse, S, 4096)
    check_model_size("pan_flute", S, A, sparse=not dense, entries_per_row=2)
    offsets = np.array([i * (i + 1) // 2 for i in range(n)], dtype=np.int64)
    lengths = np.arange(1, n + 1, dtype=np.int64)
    last_bits = offsets + lengths - 1
    last_mask = int(np.sum(np.int64(1) << last_bits))
    states = np.arange(S, dtype=np.int64)
    reward = np.all(((states[:, None] >> last_bits[None, :]) & 1) == 1, axis=1).astype(float)
    # shift every pipe by one: cell j <- cell j - 1 within the pipe, cell 0 cleared
    keep = 0
    for i in range(n):
        keep |= ((1 << int(lengths[i])) - 1) << int(offsets[i])
    cell0 = 0
    for i in range(n):
        cell0 |= 1 << int(offsets[i])
    shifted = (states << 1) & keep & ~cell0
    nxt = shifted[:, None] | (np.int64(1) << offsets)[None, :]  # (S, A): action a injects into pipe a
    q = 1.0 / n**2 if spontaneous else 0.0
    rows = np.arange(S * A, dtype=np.int64)
    cols = np.concatenate([nxt.ravel(), (nxt | last_mask).ravel()])
    vals = np.concatenate([np.full(S * A, 1.0 - q), np.full(S * A, q)])
    P = csr_kernel(np.concatenate([rows, rows]), cols, vals, S, A)
    R = np.repeat(reward[:, None], A, axis=1)
    d0 = np.zeros(S)
    d0[0] = 1.0  # every pipe empty, as the authors' reset
    return build_mdp(P, R, gamma, sparse=not dense, d0=d0)
