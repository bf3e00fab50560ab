"""Random finite MDPs: Dirichlet-row models and GARNET instances."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_int, check_real, rng_from_seed
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ._common import check_model_size, sample_distinct, sample_simplex

__all__ = ["random_mdp", "garnet"]


def _reward_range(value: Any) -> tuple[float, float]:
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise InvalidModelError(f"reward_range must be a pair (low, high), got {value!r}") from None
    lo = check_real(lo, "reward_range[0]")
    hi = check_real(hi, "reward_range[1]")
    if lo > hi:
        raise InvalidModelError(f"reward_range = {value!r} must have low <= high")
    return lo, hi


def _fixed_nnz_csr(cols: np.ndarray, weights: np.ndarray, n: int) -> sp.csr_matrix:
    """CSR with row ``i`` holding ``weights[i]`` at the (sorted, distinct) columns ``cols[i]``."""
    n_rows, k = cols.shape
    indptr = np.arange(0, n_rows * k + 1, k, dtype=np.int64)
    if cols.dtype == np.int32 and n_rows * k < 2**31 - 1:
        indptr = indptr.astype(np.int32)
    return sp.csr_matrix((weights.ravel(), cols.ravel(), indptr), shape=(n_rows, n))


def random_mdp(
    n_states: int,
    n_actions: int,
    *,
    seed: int | np.random.Generator | None = None,
    gamma: float = 0.9,
    nnz_per_row: int | None = None,
    alpha: float = 1.0,
    reward_range: tuple[float, float] = (0.0, 1.0),
) -> FiniteMDP:
    r"""A random MDP with Dirichlet transition rows and uniform rewards.

    Dense (``nnz_per_row=None``): every row is an independent draw from the symmetric
    Dirichlet distribution on all ``S`` states,

    .. math::
        P(\cdot \mid s, a) \sim \operatorname{Dir}(\alpha, \dots, \alpha), \qquad
        R(s, a) \sim \mathcal U[r_{\min}, r_{\max}] \quad \text{i.i.d.}

    Sparse (``nnz_per_row = k``): the support of ``P(. | s, a)`` is a uniformly random set of
    ``k`` distinct next states (sampled without replacement, independently per row), and the
    weights on it are ``Dir(alpha, ..., alpha)`` on ``k`` points. The result is CSR with exactly
    ``k`` stored entries per row (an entry may be zero when ``alpha`` is tiny).

    ``alpha = 1`` is the uniform distribution on the simplex; ``alpha -> 0`` concentrates each
    row on few states (near-deterministic), ``alpha -> inf`` on the uniform row. (pymdptoolbox's
    ``mdptoolbox.example.rand`` instead normalises i.i.d. uniform weights, which is not a
    Dirichlet law.) A Dirichlet prior on each row is the standard conjugate model of an unknown
    finite MDP (e.g. Strens 2000; Osband, Russo & Van Roy 2013, arXiv:1306.0940).

    Parameters
    ----------
    n_states, n_actions : int
        ``S >= 1`` and ``A >= 1``.
    seed : int or numpy.random.Generator, optional
        Randomness; equal seeds give identical models.
    gamma : float
        Discount factor in ``[0, 1)``.
    nnz_per_row : int, optional
        ``1 <= k <= S`` for the sparse CSR form; ``None`` for dense ``(S, A, S)``.
    alpha : float
        Dirichlet concentration, ``> 0``.
    reward_range : (float, float)
        ``(r_min, r_max)`` with ``r_min <= r_max``.

    Returns
    -------
    FiniteMDP

    Raises
    ------
    InvalidModelError
        Naming the bad argument.

    Notes
    -----
    Draw order (for reproducibility): supports (sparse only), then transition weights, then rewards.
    Building ``S = 100,000``, ``A = 10``, ``k = 10`` takes about a second.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs
    >>> mdp = envs.random_mdp(10, 3, seed=0, gamma=0.9)
    >>> mdp.n_states, mdp.n_actions, mdp.gamma
    (10, 3, 0.9)
    >>> bool(np.allclose(mdp.P.sum(axis=2), 1.0))
    True
    >>> envs.random_mdp(1000, 2, seed=0, nnz_per_row=5).is_sparse
    True
    """
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    alpha = check_real(alpha, "alpha", low=0.0, low_open=True)
    lo, hi = _reward_range(reward_range)
    k = None if nnz_per_row is None else check_int(nnz_per_row, "nnz_per_row", minimum=1, maximum=S)
    # dense: Gamma draws normalised in place (8 B per entry, counted by the dense term)
    check_model_size("random_mdp", S, A, sparse=k is not None, entries_per_row=0 if k is None else k)
    rng = rng_from_seed(seed)
    if k is None:
        P = sample_simplex(rng, S * A, S, alpha).reshape(S, A, S)
    else:
        cols = sample_distinct(rng, S * A, k, S)
        P = _fixed_nnz_csr(cols, sample_simplex(rng, S * A, k, alpha), S)
    R = rng.uniform(lo, hi, size=(S, A))
    return FiniteMDP(P=P, R=R, gamma=gamma)


def garnet(
    n_states: int,
    n_actions: int,
    branching: int,
    *,
    seed: int | np.random.Generator | None = None,
    gamma: float = 0.9,
) -> FiniteMDP:
    r"""A GARNET ("Generic Average Reward Non-stationary Environment Testbed") random MDP.

    For every pair ``(s, a)`` independently:

    1. draw a uniformly random set of ``b = branching`` distinct successors
       :math:`s'_1 < \dots < s'_b` of ``{0, ..., S-1}``;
    2. draw ``b - 1`` cut points :math:`u_1, \dots, u_{b-1} \sim \mathcal U[0, 1]` i.i.d., sort
       them, :math:`u_{(0)} = 0 \le u_{(1)} \le \dots \le u_{(b-1)} \le u_{(b)} = 1`, and set

       .. math::
           P(s'_i \mid s, a) = u_{(i)} - u_{(i-1)}, \qquad i = 1, \dots, b;

    3. draw the expected reward :math:`R(s, a) \sim \mathcal U[0, 1]`.

    (The gaps of sorted uniforms are uniform on the simplex, i.e. ``Dir(1, ..., 1)`` on the
    support.) Returned in sparse CSR form with exactly ``b`` entries per row.

    Parameters
    ----------
    n_states, n_actions : int
        ``S >= 1``, ``A >= 1``.
    branching : int
        ``1 <= b <= S`` successors per state-action pair.
    seed : int or numpy.random.Generator, optional
    gamma : float
        Discount factor in ``[0, 1)``.

    Returns
    -------
    FiniteMDP
        Sparse.

    Raises
    ------
    InvalidModelError
        Naming the bad argument.

    References
    ----------
    T. W. Archibald, K. I. M. McKinnon, L. C. Thomas, "On the generation of Markov decision
    processes", Journal of the Operational Research Society 46(3):354-361, 1995.
    S. Bhatnagar, R. S. Sutton, M. Ghavamzadeh, M. Lee, "Natural actor-critic algorithms",
    Automatica 45(11):2471-2482, 2009 (the GARNET(n, m, b, sigma) test problems of their
    experiments; sigma there governs the noise of *sampled* rewards and does not enter a model
    of expected rewards).

    Examples
    --------
    >>> from theory_rl import envs
    >>> mdp = envs.garnet(20, 4, 3, seed=0)
    >>> int((mdp.to_dense().P[0, 0] > 0).sum())
    3
    >>> mdp.gamma
    0.9
    """
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    b = check_int(branching, "branching", minimum=1, maximum=S)
    # supports, cut points (b + 1 per row), their sort and differences, then the CSR copy
    check_model_size("garnet", S, A, sparse=True, entries_per_row=b + 1, bytes_per_entry=48)
    rng = rng_from_seed(seed)
    n_rows = S * A
    cols = sample_distinct(rng, n_rows, b, S)
    cuts = np.empty((n_rows, b + 1))
    cuts[:, 0] = 0.0
    cuts[:, -1] = 1.0
    if b > 1:
        cuts[:, 1:-1] = np.sort(rng.random((n_rows, b - 1)), axis=1)
    P = _fixed_nnz_csr(cols, np.diff(cuts, axis=1), S)
    R = rng.uniform(0.0, 1.0, size=(S, A))
    return FiniteMDP(P=P, R=R, gamma=gamma)
