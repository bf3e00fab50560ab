r"""Constructors that read the model layouts of the peer libraries a user may come from.

- QuantEcon's ``DiscreteDP`` (Sargent & Stachurski, *Dynamic Programming*, and the QuantEcon
  lectures): the product formulation ``R[s, a]`` with ``-inf`` on infeasible pairs and
  ``Q[s, a, s']``, and the state-action-pair formulation ``R[i], Q[i, s'], s_indices[i],
  a_indices[i]`` over the ``L`` feasible pairs ``i``.
- pymdptoolbox (Chadès, Chapron, Cros, Garcia & Sabbadin, "MDPtoolbox: a multi-platform toolbox
  to solve stochastic dynamic programming problems", Ecography 37, 2014): transitions as an
  ``(A, S, S)`` array or a list of ``A`` (dense or sparse) ``(S, S)`` matrices, rewards as a
  length-``S`` vector, an ``(S, A)`` array, or ``(A, S, S)`` transition rewards.

Each returns an ordinary :class:`~theory_rl.models.FiniteMDP` (``P[s, a, s']``, ``R[s, a]``,
infeasible pairs as a False ``action_mask`` entry), so every solver applies unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import as_float_array, check_allocation, check_finite
from ..errors import InvalidModelError
from ._finite_mdp import FiniteMDP

__all__ = ["from_mdptoolbox", "from_quantecon", "from_state_action_pairs"]


def _index_array(x: Any, name: str, length: int) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1 or arr.shape[0] != length:
        raise InvalidModelError(f"{name} has shape {arr.shape}, expected ({length},) (one entry per state-action pair)")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
            raise InvalidModelError(f"{name} must hold integer indices, got dtype {arr.dtype}")
    out = arr.astype(np.int64)
    if out.size and out.min() < 0:
        i = int(np.argmax(out < 0))
        raise InvalidModelError(f"{name}[{i}] = {int(out[i])} is negative")
    return out


def _sa_rows(Q: Any, L: int) -> tuple[np.ndarray | sp.csr_matrix, int]:
    """``Q`` as an ``(L, S)`` float64 array or CSR matrix, and ``S``."""
    if sp.issparse(Q):
        rows = sp.csr_matrix(Q)
        if np.iscomplexobj(rows.data) or not np.issubdtype(rows.dtype, np.number):
            raise InvalidModelError(f"Q must hold real numbers, got dtype {rows.dtype}")
        rows = rows.astype(np.float64)
        check_finite(rows.data, "Q.data")
    else:
        rows = as_float_array(Q, "Q", ndim=2)
        check_finite(rows, "Q")
    if rows.shape[0] != L:
        raise InvalidModelError(f"Q has {rows.shape[0]} rows, expected one per state-action pair ({L})")
    return rows, int(rows.shape[1])


def from_state_action_pairs(
    R: Any,
    Q: Any,
    s_indices: Any,
    a_indices: Any,
    beta: float,
    *,
    horizon: int | None = None,
    d0: Any = None,
) -> FiniteMDP:
    r"""A :class:`FiniteMDP` from QuantEcon's state-action-pair formulation.

    Only the ``L`` feasible pairs ``(s_indices[i], a_indices[i])`` are listed, with reward
    ``R[i]`` and next-state distribution ``Q[i, :]``; every other pair, and every listed pair
    whose reward is ``-inf``, becomes an unavailable action (``action_mask[s, a] = False``).
    ``A = max(a_indices) + 1``; ``S = Q.shape[1]``. The pairs may come in any order.

    Parameters
    ----------
    R : array_like, shape (L,)
        Rewards; ``-inf`` marks an infeasible pair (its ``Q`` row is then ignored).
    Q : array_like or scipy.sparse matrix, shape (L, S)
        Transition probabilities. A sparse ``Q`` gives a sparse (CSR) model.
    s_indices, a_indices : array_like of int, shape (L,)
    beta : float
        Discount factor (QuantEcon's name for ``gamma``). ``beta = 1`` needs ``horizon``.
    horizon : int, optional
        Decision epochs, for :func:`theory_rl.tabular.backward_induction`.
    d0 : array_like, shape (S,), optional
        Initial-state distribution (uniform by default).

    Raises
    ------
    InvalidModelError
        Mismatched lengths, a negative or out-of-range index, a duplicated pair, a state with no
        feasible action, or the usual model errors (rows not summing to one, ...).

    Examples
    --------
    Puterman (2005, §3.1), QuantEcon's test model: state 1 has only action 0.

    >>> from theory_rl import models, tabular
    >>> mdp = models.FiniteMDP.from_state_action_pairs(
    ...     [5, 10, -1], [[0.5, 0.5], [0, 1], [0, 1]], [0, 0, 1], [0, 1, 0], 0.95)
    >>> mdp.action_mask.tolist()
    [[True, True], [True, False]]
    >>> tabular.policy_iteration(mdp).policy.tolist()
    [0, 0]
    """
    r = np.asarray(R, dtype=np.float64) if not isinstance(R, str) else None
    if r is None or r.ndim != 1:
        raise InvalidModelError(f"R must be a 1-D array of rewards, one per state-action pair, got {R!r:.60}")
    L = r.shape[0]
    if L == 0:
        raise InvalidModelError("no state-action pairs given (R is empty)")
    if np.isnan(r).any() or np.isposinf(r).any():
        i = int(np.argmax(np.isnan(r) | np.isposinf(r)))
        raise InvalidModelError(f"R[{i}] is {r[i]} (expected a finite number, or -inf for an infeasible pair)")
    rows, S = _sa_rows(Q, L)
    s_idx = _index_array(s_indices, "s_indices", L)
    a_idx = _index_array(a_indices, "a_indices", L)
    if s_idx.max() >= S:
        i = int(np.argmax(s_idx >= S))
        raise InvalidModelError(f"s_indices[{i}] = {int(s_idx[i])} is out of range for {S} states (Q has {S} columns)")
    A = int(a_idx.max()) + 1
    flat = s_idx * A + a_idx
    order = np.argsort(flat, kind="stable")
    dup = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    if dup.size:
        i, j = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
        raise InvalidModelError(f"state-action pair ({int(s_idx[i])}, {int(a_idx[i])}) is listed twice (entries {i} and {j})")
    feasible = np.isfinite(r)
    mask = np.zeros(S * A, dtype=bool)
    mask[flat[feasible]] = True
    mask = mask.reshape(S, A)
    empty = ~mask.any(axis=1)
    if empty.any():
        s = int(np.argmax(empty))
        raise InvalidModelError(f"state {s} has no feasible action (no pair with a finite reward lists it)")
    R_full = np.zeros(S * A)
    R_full[flat[feasible]] = r[feasible]
    keep = np.flatnonzero(feasible)
    if sp.issparse(rows):
        check_allocation(12 * rows.nnz + 8 * S * A, f"sparse P with {rows.nnz} entries over {S * A} rows")
        # row i of Q goes to row flat[i] of the (S*A, S) kernel; infeasible pairs' rows are dropped
        sub = rows[keep].tocoo()
        P = sp.csr_matrix((sub.data, (flat[keep][sub.row], sub.col)), shape=(S * A, S))
    else:
        check_allocation(8 * S * A * S, f"dense P of shape ({S}, {A}, {S})")
        P2 = np.zeros((S * A, S))
        P2[flat[keep]] = rows[keep]
        P = P2.reshape(S, A, S)
    return FiniteMDP(
        P=P, R=R_full.reshape(S, A), gamma=beta, d0=d0, horizon=horizon,
        action_mask=None if mask.all() else mask,
    )


def from_quantecon(
    R: Any,
    Q: Any,
    beta: float,
    s_indices: Any = None,
    a_indices: Any = None,
    *,
    horizon: int | None = None,
    d0: Any = None,
) -> FiniteMDP:
    r"""A :class:`FiniteMDP` from the arguments of QuantEcon's ``DiscreteDP(R, Q, beta, s_indices, a_indices)``.

    With ``s_indices``/``a_indices`` this is :func:`from_state_action_pairs`. Without them it is
    the product formulation: ``R`` of shape ``(S, A)`` with ``-inf`` marking infeasible pairs
    (they become unavailable actions; their ``Q`` rows are ignored) and ``Q`` of shape
    ``(S, A, S)``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import models, tabular
    >>> Q = np.array([[[0.5, 0.5], [0, 1]], [[0, 1], [0, 1]]])
    >>> mdp = models.FiniteMDP.from_quantecon([[5, 10], [-1, -np.inf]], Q, 0.95)
    >>> beta = 0.95
    >>> v_star = [(5 - 5.5 * beta) / ((1 - 0.5 * beta) * (1 - beta)), -1 / (1 - beta)]
    >>> bool(np.allclose(tabular.policy_iteration(mdp).v, v_star))
    True
    """
    if (s_indices is None) != (a_indices is None):
        raise InvalidModelError("give both s_indices and a_indices (state-action-pair formulation) or neither")
    if s_indices is not None:
        return from_state_action_pairs(R, Q, s_indices, a_indices, beta, horizon=horizon, d0=d0)
    r = np.asarray(R, dtype=np.float64) if not isinstance(R, str) else None
    if r is None or r.ndim != 2:
        raise InvalidModelError(f"R must have shape (S, A) in the product formulation, got {np.shape(R)}")
    S, A = r.shape
    L = S * A
    s_idx = np.repeat(np.arange(S), A)
    a_idx = np.tile(np.arange(A), S)
    if sp.issparse(Q):
        raise InvalidModelError("a sparse Q needs the state-action-pair formulation (give s_indices and a_indices)")
    q = as_float_array(Q, "Q", ndim=3)
    if q.shape[:2] != (S, A):
        raise InvalidModelError(f"Q has shape {q.shape}, expected (S, A, S') with (S, A) = {(S, A)} from R")
    return from_state_action_pairs(r.ravel(), q.reshape(L, q.shape[2]), s_idx, a_idx, beta, horizon=horizon, d0=d0)


def _per_action(P: Any) -> list[Any]:
    """pymdptoolbox's transitions as a list of ``A`` matrices of shape ``(S, S)``."""
    if sp.issparse(P):
        raise InvalidModelError("P must be an (A, S, S) array or a list of A (S, S) matrices, got one sparse matrix")
    if isinstance(P, np.ndarray) and P.dtype != object:
        if P.ndim != 3:
            raise InvalidModelError(f"P has shape {P.shape}, expected (A, S, S)")
        return list(P)
    try:
        mats = list(P)
    except TypeError:
        raise InvalidModelError(f"P must be an (A, S, S) array or a list of A (S, S) matrices, got {type(P).__name__}") from None
    if not mats:
        raise InvalidModelError("P lists no action")
    return mats


def from_mdptoolbox(P: Any, R: Any, discount: float, *, horizon: int | None = None, d0: Any = None) -> FiniteMDP:
    r"""A :class:`FiniteMDP` from pymdptoolbox's ``(P, R, discount)``.

    Parameters
    ----------
    P : array_like of shape (A, S, S), or a sequence of A (S, S) arrays or scipy.sparse matrices
        ``P[a][s, s']``. Sparse matrices give a sparse (CSR) model.
    R : array_like of shape (S,), (S, A) or (A, S, S), or a sequence of A (S, S) matrices
        State rewards ``R[s]`` (every action), expected rewards ``R[s, a]``, or transition
        rewards ``R[a][s, s']``, reduced to ``R[s, a] = sum_s' P[a][s, s'] R[a][s, s']`` as
        pymdptoolbox does.
    discount : float
        ``gamma``; ``discount = 1`` needs ``horizon`` (pymdptoolbox's ``FiniteHorizon``).
    horizon : int, optional
    d0 : array_like, shape (S,), optional

    Examples
    --------
    pymdptoolbox's forest example (``mdptoolbox.example.forest()``: S = 3, r1 = 4, r2 = 2,
    p = 0.1) and the value its ``PolicyIteration(P, R, 0.9)`` documents,
    ``(26.244, 29.484, 33.484)``:

    >>> import numpy as np
    >>> from theory_rl import models, tabular
    >>> P = np.array([[[0.1, 0.9, 0], [0.1, 0, 0.9], [0.1, 0, 0.9]],
    ...               [[1, 0, 0], [1, 0, 0], [1, 0, 0]]])
    >>> R = np.array([[0, 0], [0, 1], [4, 2]])
    >>> sol = tabular.policy_iteration(models.FiniteMDP.from_mdptoolbox(P, R, 0.9))
    >>> np.round(sol.v, 3).tolist(), sol.policy.tolist()
    ([26.244, 29.484, 33.484], [0, 0, 0])
    """
    mats = _per_action(P)
    A = len(mats)
    sparse = any(sp.issparse(m) for m in mats)
    shapes = {tuple(np.shape(m)) for m in mats}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[0] != next(iter(shapes))[1]:
        raise InvalidModelError(f"every P[a] must be a square (S, S) matrix of one size, got shapes {sorted(shapes)}")
    S = next(iter(shapes))[0]
    if sparse:
        blocks = [sp.csr_matrix(m, dtype=np.float64) for m in mats]
        check_allocation(12 * sum(b.nnz for b in blocks) + 8 * S * A, f"sparse P over {S * A} rows")
        stacked = sp.vstack(blocks, format="csr")  # row a*S + s
        order = (np.arange(S)[:, None] + S * np.arange(A)[None, :]).ravel()  # row s*A + a <- a*S + s
        P_model: Any = stacked[order]
        dense_rows = None
    else:
        check_allocation(16 * S * A * S, f"dense P of shape ({S}, {A}, {S})")
        arr = as_float_array(np.stack([np.asarray(m) for m in mats]), "P", ndim=3)
        P_model = np.ascontiguousarray(arr.transpose(1, 0, 2))
        dense_rows = P_model
    R_model = _rewards(R, S, A, mats, dense_rows)
    return FiniteMDP(P=P_model, R=R_model, gamma=discount, horizon=horizon, d0=d0)


def _rewards(R: Any, S: int, A: int, mats: list[Any], dense: np.ndarray | None) -> np.ndarray:
    if isinstance(R, (list, tuple)) or (isinstance(R, np.ndarray) and R.dtype == object):
        items = list(R)
        if items and all(not sp.issparse(m) and np.ndim(m) <= 1 for m in items):
            # a plain (nested) list such as [[5, 10], [-1, 2]] is an (S, A) or (S,) array
            return _rewards(as_float_array(R, "R"), S, A, mats, dense)
        if len(items) != A:
            raise InvalidModelError(f"R lists {len(items)} matrices, expected one per action ({A})")
        out = np.empty((S, A))
        for a, (m, p) in enumerate(zip(items, mats)):
            ra = sp.csr_matrix(m, dtype=np.float64) if sp.issparse(m) else as_float_array(m, f"R[{a}]", ndim=2)
            if ra.shape != (S, S):
                raise InvalidModelError(f"R[{a}] has shape {ra.shape}, expected ({S}, {S})")
            pa = sp.csr_matrix(p, dtype=np.float64)
            out[:, a] = np.asarray(pa.multiply(ra).sum(axis=1)).ravel()
        check_finite(out, "R")
        return out
    r = as_float_array(R, "R", ndim=(1, 2, 3))
    if r.ndim == 1:
        if r.shape != (S,):
            raise InvalidModelError(f"R has shape {r.shape}, expected ({S},), ({S}, {A}) or ({A}, {S}, {S})")
        return np.repeat(r[:, None], A, axis=1)
    if r.ndim == 2:
        if r.shape != (S, A):
            raise InvalidModelError(f"R has shape {r.shape}, expected ({S},), ({S}, {A}) or ({A}, {S}, {S})")
        return r
    if r.shape != (A, S, S):
        raise InvalidModelError(f"R has shape {r.shape}, expected ({S},), ({S}, {A}) or ({A}, {S}, {S})")
    check_finite(r, "R")
    if dense is not None:
        return np.einsum("sat,ast->sa", dense, r)
    return np.stack([np.asarray(sp.csr_matrix(m, dtype=np.float64).multiply(r[a]).sum(axis=1)).ravel()
                     for a, m in enumerate(mats)], axis=1)
