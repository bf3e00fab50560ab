r"""An exact ReLU network for a tabulated ``Q(s, a)`` of a tiny coRMAB.

Used to plug the exact ``Q*`` of value iteration into the MILP selector:
the selector is then checked against ground truth independently of any learning.

Construction (two hidden layers). With state features ``x = s / 3`` and a table entry
``(s^k, a^m)``, the unit

.. math:: u_{km} = \mathrm{relu}\Big(1 - \sum_{i: a^m_i = 1} (1 - a_i) - \sum_{i: a^m_i = 0} a_i
          - K \sum_j |x_j - x^k_j|\Big)

equals 1 at ``(s, a) = (s^k, a^m)`` and 0 at every other binary action and grid state when
``K >= 3`` (two grid states differ by at least ``1/3`` in some coordinate). The first hidden
layer computes ``|x_j - x^k_j| = relu(x_j - x^k_j) + relu(x^k_j - x_j)`` and passes ``a`` through
(``relu(a) = a`` on ``[0, 1]``); the output is ``sum_{k,m} Q(s^k, a^m) u_{km}``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["table_q_network"]


def table_q_network(q: np.ndarray, states: np.ndarray, actions: np.ndarray, *, n_levels: int = 4,
                    sharpness: float = 6.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Layers ``[(W, b), ...]`` of a ReLU MLP with input ``[a ; s/(n_levels-1)]`` whose output is
    ``q[k, m]`` at ``(states[k], actions[m])`` exactly (``q`` shape (S, M), ``states`` (S, J),
    ``actions`` (M, N) binary). Usable directly with :func:`mip_argmax`.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.combinatorial import forward, table_q_network
    >>> states, actions = np.array([[0], [3]]), np.array([[0], [1]])
    >>> q = np.array([[1.0, 2.0], [5.0, -1.0]])                        # q[state k, action m]
    >>> layers = table_q_network(q, states, actions)
    >>> [round(float(forward(layers, np.concatenate([actions[m], states[k] / 3])[None])[0]), 9)
    ...  for k in range(2) for m in range(2)]
    [1.0, 2.0, 5.0, -1.0]
    """
    q = np.asarray(q, dtype=float)
    X = np.asarray(states, dtype=float) / (n_levels - 1)
    Amat = np.asarray(actions, dtype=float)
    S, J = X.shape
    M, N = Amat.shape
    # hidden 1: [a (N) ; relu(x - x^k) (S*J) ; relu(x^k - x) (S*J)]
    W1 = np.zeros((N + 2 * S * J, N + J))
    b1 = np.zeros(N + 2 * S * J)
    W1[:N, :N] = np.eye(N)
    for k in range(S):
        rows_p = N + k * J + np.arange(J)
        rows_n = N + S * J + k * J + np.arange(J)
        W1[rows_p, N + np.arange(J)] = 1.0
        b1[rows_p] = -X[k]
        W1[rows_n, N + np.arange(J)] = -1.0
        b1[rows_n] = X[k]
    # hidden 2: one unit per (k, m)
    W2 = np.zeros((S * M, N + 2 * S * J))
    b2 = np.zeros(S * M)
    for k in range(S):
        for m in range(M):
            u = k * M + m
            W2[u, :N] = 2.0 * Amat[m] - 1.0          # +a_i where a^m_i = 1, -a_i where a^m_i = 0
            b2[u] = 1.0 - Amat[m].sum()
            W2[u, N + k * J + np.arange(J)] = -sharpness
            W2[u, N + S * J + k * J + np.arange(J)] = -sharpness
    W3 = q.reshape(1, S * M)
    return [(W1, b1), (W2, b2), (W3, np.zeros(1))]
