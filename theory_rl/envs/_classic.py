"""Classic small benchmark MDPs: forest management, RiverSwim, and the Dearden-Friedman-Russell chain."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._validation import check_int, check_probability, check_real, check_sparse
from ..models import FiniteMDP
from ._common import build_mdp, check_model_size, csr_kernel, use_sparse

__all__ = ["forest", "river_swim", "chain"]


def forest(
    n_states: int = 3,
    *,
    r1: float = 4.0,
    r2: float = 2.0,
    p: float = 0.1,
    gamma: float = 0.9,
    sparse: bool | None = None,
) -> FiniteMDP:
    r"""The forest-management MDP of pymdptoolbox (``mdptoolbox.example.forest``).

    States ``s = 0, ..., S-1`` are the age classes of a forest (``S-1`` the oldest). Each year
    the manager waits (action 0) or cuts (action 1); with probability ``p`` a fire resets the
    forest to age 0:

    .. math::
        P(\cdot \mid s, \text{wait}) = p\,\delta_0 + (1-p)\,\delta_{\min(s+1,\,S-1)}, \qquad
        P(\cdot \mid s, \text{cut}) = \delta_0,

    .. math::
        R(s, \text{wait}) = r_1 \mathbb 1[s = S-1], \qquad
        R(s, \text{cut}) = \begin{cases} 0 & s = 0 \\ 1 & 0 < s < S-1 \\ r_2 & s = S-1. \end{cases}

    This is entry for entry the model that ``mdptoolbox.example.forest(S, r1, r2, p)`` returns
    (there as ``P[a, s, s']``, here as ``P[s, a, s']``); unlike pymdptoolbox, ``r1`` and ``r2``
    may be any finite numbers.

    Parameters
    ----------
    n_states : int
        ``S >= 2``.
    r1 : float
        Reward for waiting in the oldest state.
    r2 : float
        Reward for cutting in the oldest state.
    p : float
        Yearly fire probability, in ``[0, 1]``.
    gamma : float
        Discount factor in ``[0, 1)``.
    sparse : bool, optional
        CSR ``(S*A, S)`` if true, dense ``(S, A, S)`` if false; ``None`` means sparse when
        ``S > 1000``. Builds ``S = 10**6`` in a fraction of a second.

    Returns
    -------
    FiniteMDP
        With ``action_names = ("wait", "cut")``.

    References
    ----------
    S. Cordwell, S. Gonzalez, T. Theja, "pymdptoolbox: Markov Decision Process (MDP) Toolbox for
    Python" (port of the MATLAB MDPtoolbox of I. Chadès, G. Chapron, M.-J. Cros, F. Garcia,
    R. Sabbadin, "MDPtoolbox: a multi-platform toolbox to solve stochastic dynamic programming
    problems", Ecography 37(9):916-920, 2014), function ``example.forest``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.forest(3)
    >>> np.round(tabular.policy_iteration(mdp).v, 4)
    array([26.244, 29.484, 33.484])
    >>> envs.forest(100000).is_sparse
    True
    """
    S = check_int(n_states, "n_states", minimum=2)
    r1 = check_real(r1, "r1")
    r2 = check_real(r2, "r2")
    p = check_probability(p, "p")
    sparse = use_sparse(check_sparse(sparse), S, 1000)
    check_model_size("forest", S, 2, sparse=sparse, entries_per_row=2)
    # CSR built directly: row 2s (wait) holds columns [0, min(s+1, S-1)], row 2s+1 (cut) column 0.
    idx = np.int32 if 3 * S < 2**31 - 1 else np.int64
    s = np.arange(S, dtype=idx)
    indices = np.zeros((S, 3), dtype=idx)
    indices[:, 1] = np.minimum(s + 1, S - 1)
    data = np.empty((S, 3))
    data[:, 0] = p
    data[:, 1] = 1.0 - p
    data[:, 2] = 1.0
    indptr = np.empty(2 * S + 1, dtype=idx)
    indptr[0] = 0
    indptr[1::2] = 3 * s + 2
    indptr[2::2] = 3 * s + 3
    P = sp.csr_matrix((data.ravel(), indices.ravel(), indptr), shape=(2 * S, S))
    R = np.zeros((S, 2))
    R[S - 1, 0] = r1
    R[1:, 1] = 1.0
    R[S - 1, 1] = r2
    return build_mdp(P, R, gamma, sparse=sparse, action_names=("wait", "cut"))


def river_swim(n_states: int = 6, *, gamma: float = 0.95) -> FiniteMDP:
    r"""RiverSwim (Strehl & Littman 2008), in the parameterisation of Osband, Russo & Van Roy (2013).

    A chain of ``n`` states; action 0 swims *left* (with the current), action 1 swims *right*
    (against it). The agent starts in the leftmost state, ``d_0 = \delta_0``.

    - left always succeeds: :math:`P(\max(s-1, 0) \mid s, \text{left}) = 1`;
    - right, in a middle state ``0 < s < n-1``: to ``s+1`` w.p. 0.35, stay w.p. 0.6, to ``s-1``
      w.p. 0.05;
    - right, in the leftmost state: to ``1`` w.p. 0.6, stay w.p. 0.4;
    - right, in the rightmost state: stay w.p. 0.6, to ``n-2`` w.p. 0.4;
    - rewards: :math:`R(0, \text{left}) = 5/1000 = 0.005`, :math:`R(n-1, \text{right}) = 1`,
      zero elsewhere.

    With the default ``gamma = 0.95`` and ``n = 6`` the optimal policy swims right everywhere;
    myopic exploration is lured by the small reward on the left.

    Parameters
    ----------
    n_states : int
        ``n >= 2`` (the papers use 6).
    gamma : float
        Discount factor in ``[0, 1)``.

    Returns
    -------
    FiniteMDP
        Dense, with ``action_names = ("left", "right")``.

    References
    ----------
    A. L. Strehl, M. L. Littman, "An analysis of model-based Interval Estimation for Markov
    decision processes", Journal of Computer and System Sciences 74(8):1309-1331, 2008 (Sec. 5).
    I. Osband, D. Russo, B. Van Roy, "(More) efficient reinforcement learning via posterior
    sampling", NeurIPS 2013, arXiv:1306.0940 (the RiverSwim figure of the experiments section:
    the probabilities and rewards above).

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.river_swim(6)
    >>> mdp.n_states, mdp.n_actions
    (6, 2)
    >>> tabular.policy_iteration(mdp).policy
    array([1, 1, 1, 1, 1, 1])
    """
    n = check_int(n_states, "n_states", minimum=2)
    check_model_size("river_swim", n, 2, sparse=False, entries_per_row=2)
    s = np.arange(n, dtype=np.int64)
    left = 2 * s
    right = 2 * s + 1
    rows = [left]
    cols = [np.maximum(s - 1, 0)]
    vals = [np.ones(n)]
    mid = s[1:-1]
    rows += [right[mid]] * 3
    cols += [mid + 1, mid, mid - 1]
    vals += [np.full(mid.size, 0.35), np.full(mid.size, 0.6), np.full(mid.size, 0.05)]
    rows += [right[[0, 0]], right[[n - 1, n - 1]]]
    cols += [np.array([1, 0]), np.array([n - 1, n - 2])]
    vals += [np.array([0.6, 0.4]), np.array([0.6, 0.4])]
    P = csr_kernel(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), n, 2)
    R = np.zeros((n, 2))
    R[0, 0] = 5.0 / 1000.0
    R[n - 1, 1] = 1.0
    d0 = np.zeros(n)
    d0[0] = 1.0
    return build_mdp(P, R, gamma, sparse=False, d0=d0, action_names=("left", "right"))


def chain(n_states: int = 5, *, gamma: float = 0.99, slip: float = 0.2) -> FiniteMDP:
    r"""The chain problem of Dearden, Friedman & Russell (1998).

    States ``0, ..., n-1`` in a line, start in state 0 (``d_0 = \delta_0``). Action 0 ("a")
    advances one state with reward 0, except in the last state, where it stays and pays 10.
    Action 1 ("b") returns to state 0 and pays 2. With probability ``slip`` the *other* action's
    effect happens instead. With ``e(s) = \min(s+1, n-1)`` and ``r_a(s) = 10\,\mathbb 1[s=n-1]``:

    .. math::
        P(\cdot \mid s, 0) = (1-\sigma)\,\delta_{e(s)} + \sigma\,\delta_0, \qquad
        R(s, 0) = (1-\sigma)\, r_a(s) + 2\sigma,

    .. math::
        P(\cdot \mid s, 1) = (1-\sigma)\,\delta_0 + \sigma\,\delta_{e(s)}, \qquad
        R(s, 1) = 2(1-\sigma) + \sigma\, r_a(s),

    with ``sigma = slip`` (expected rewards: the reward follows the effect that happened).

    Parameters
    ----------
    n_states : int
        ``n >= 2`` (the paper uses 5).
    gamma : float
        Discount factor in ``[0, 1)`` (the paper's experiments use 0.99).
    slip : float
        Probability of the opposite effect, in ``[0, 1]`` (the paper uses 0.2).

    Returns
    -------
    FiniteMDP
        Dense, with ``action_names = ("a", "b")``.

    References
    ----------
    R. Dearden, N. Friedman, S. Russell, "Bayesian Q-learning", Proceedings of AAAI 1998,
    pp. 761-768 (the "Chain" domain of the experiments).

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.chain(5, gamma=0.9)
    >>> mdp.action_names
    ('a', 'b')
    >>> tabular.policy_iteration(mdp).policy
    array([0, 0, 0, 0, 0])
    """
    n = check_int(n_states, "n_states", minimum=2)
    slip = check_probability(slip, "slip")
    check_model_size("chain", n, 2, sparse=False, entries_per_row=2)
    s = np.arange(n, dtype=np.int64)
    ahead = np.minimum(s + 1, n - 1)
    zeros = np.zeros(n, np.int64)
    rows = np.concatenate([2 * s, 2 * s, 2 * s + 1, 2 * s + 1])
    cols = np.concatenate([ahead, zeros, zeros, ahead])
    vals = np.concatenate([np.full(n, 1.0 - slip), np.full(n, slip)] * 2)
    P = csr_kernel(rows, cols, vals, n, 2)
    r_a = np.where(s == n - 1, 10.0, 0.0)
    R = np.stack([(1.0 - slip) * r_a + 2.0 * slip, 2.0 * (1.0 - slip) + slip * r_a], axis=1)
    d0 = np.zeros(n)
    d0[0] = 1.0
    return build_mdp(P, R, gamma, sparse=False, d0=d0, action_names=("a", "b"))
