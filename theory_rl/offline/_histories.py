"""Enumerated observation histories of a tabular POMDP, their beliefs, and the belief grouping."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._result import ResultMixin
from .._validation import check_allocation, check_int, check_real
from ..errors import InvalidArgumentError
from ..models import POMDP


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class HistoryTree(ResultMixin):
    r"""Every reachable observation history of a POMDP up to a horizon (see :func:`enumerate_histories`).

    History ``i`` of depth ``t`` is :math:`h = (a_0, o_1, a_1, o_2, \dots, a_{t-1}, o_t)`, with
    belief :math:`b_h(s) = \Pr(s_t = s \mid h)`. Histories are stored depth by depth (depth 0 is
    the empty history, belief ``b0``).

    Attributes
    ----------
    depth : ndarray of int, shape (n,)
    beliefs : ndarray, shape (n, S)
    rewards : ndarray, shape (n, A)
        :math:`r(h, a) = \sum_s b_h(s) R(s, a)`.
    children : ndarray of int, shape (n, A, O)
        Index of :math:`h a o`, ``-1`` at the last depth or when :math:`\Pr(o \mid h, a) = 0`.
    obs_prob : ndarray, shape (n, A, O)
        :math:`\Pr(o \mid h, a) = \sum_{s'} O[a, s', o] \sum_s b_h(s) T[s, a, s']`.
    actions, observations : ndarray of int, shape (n, horizon - 1)
        The history's actions and observations, ``-1`` past its depth.
    horizon : int
        Number of decision epochs; depths ``0 .. horizon - 1`` are enumerated.
    gamma : float

    Examples
    --------
    >>> from theory_rl import offline, pomdp
    >>> tree = offline.enumerate_histories(pomdp.load_problem("tiger.95.POMDP"), horizon=2)
    >>> type(tree).__name__, tree.horizon, int(tree.depth.max())
    ('HistoryTree', 2, 1)
    """

    depth: np.ndarray
    beliefs: np.ndarray
    rewards: np.ndarray
    children: np.ndarray
    obs_prob: np.ndarray
    actions: np.ndarray
    observations: np.ndarray
    horizon: int
    gamma: float

    _repr_fields = ("n_histories", "horizon", "gamma")

    @property
    def n_histories(self) -> int:
        """Number of histories (all depths)."""
        return int(self.depth.shape[0])

    def at_depth(self, t: int) -> np.ndarray:
        """Indices of the histories of depth ``t`` (contiguous)."""
        return np.flatnonzero(self.depth == t)


def enumerate_histories(pomdp: POMDP, *, horizon: int, gamma: float | None = None, max_histories: int = 10**6) -> HistoryTree:
    r"""Enumerate the reachable histories of depth ``< horizon`` with their exact beliefs.

    Beliefs follow the Bayes filter
    :math:`b_{hao}(s') \propto O[a, s', o] \sum_s b_h(s) T[s, a, s']`; a history is kept when
    its observation has positive probability. There are at most :math:`\sum_{t < H} (|A||O|)^t`
    histories (the :math:`|H|` of Hong, Dragan & Levine 2024, arXiv 2310.20663, exponential in
    the horizon).

    Parameters
    ----------
    pomdp : POMDP
    horizon : int
        ``H >= 1`` decision epochs.
    gamma : float, optional
        Discount of the history MDP (default ``pomdp.gamma``).
    max_histories : int
        :class:`~theory_rl.errors.InvalidArgumentError` when the tree would exceed it (checked per depth before
        allocating; the memory guard of :func:`theory_rl.max_bytes` applies as well).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import POMDP
    >>> from theory_rl.offline import enumerate_histories
    >>> m = POMDP(np.ones((1, 2, 1)), np.full((2, 1, 2), 0.5), np.zeros((1, 2)), 0.9)
    >>> enumerate_histories(m, horizon=3).n_histories   # 1 + 4 + 16
    21
    """
    if not isinstance(pomdp, POMDP):
        raise InvalidArgumentError(f"pomdp must be a POMDP, got {type(pomdp).__name__}")
    H = check_int(horizon, "horizon")
    g = pomdp.gamma if gamma is None else check_real(gamma, "gamma", low=0.0, high=1.0)
    cap = check_int(max_histories, "max_histories")
    S, A, O = pomdp.n_states, pomdp.n_actions, pomdp.n_observations  # noqa: E741 - POMDP notation
    check_allocation(8 * S * A * S, "the dense transition kernel")
    Tm = pomdp.mdp.transition_matrix
    T = (Tm.toarray() if hasattr(Tm, "toarray") else np.asarray(Tm)).reshape(S, A, S)
    Obs = np.asarray(pomdp.O)
    R = np.asarray(pomdp.R)
    b0 = np.full(S, 1.0 / S) if pomdp.b0 is None else np.asarray(pomdp.b0, dtype=np.float64)
    layers_b = [b0[None, :]]
    layers_a = [np.zeros((1, 0), dtype=np.int64)]
    layers_o = [np.zeros((1, 0), dtype=np.int64)]
    child_layers: list[np.ndarray] = []
    prob_layers: list[np.ndarray] = []
    total = 1
    for t in range(H):
        b = layers_b[-1]
        n = b.shape[0]
        check_allocation(8 * n * A * S * (O + 1), f"the beliefs at depth {t + 1}")
        pred = np.einsum("ns,sat->nat", b, T)  # (n, A, S')
        joint = pred[:, :, :, None] * Obs[None]  # (n, A, S', O)
        p = joint.sum(axis=2)  # (n, A, O)
        prob_layers.append(p)
        if t == H - 1:
            child_layers.append(np.full((n, A, O), -1, dtype=np.int64))
            break
        keep = p > 0
        m = int(keep.sum())
        if total + m > cap:
            raise InvalidArgumentError(
                f"{total + m} histories at depth {t + 1} exceed max_histories = {cap} (lower the horizon)"
            )
        idx = np.full((n, A, O), -1, dtype=np.int64)
        idx[keep] = total + np.arange(m)
        child_layers.append(idx)
        hs, as_, os_ = np.nonzero(keep)
        nb = joint[hs, as_, :, os_] / p[hs, as_, os_][:, None]
        layers_b.append(nb)
        layers_a.append(np.column_stack([layers_a[-1][hs], as_]))
        layers_o.append(np.column_stack([layers_o[-1][hs], os_]))
        total += m
    width = H - 1
    pad = [np.pad(x, ((0, 0), (0, width - x.shape[1])), constant_values=-1) for x in layers_a]
    padding = [np.pad(x, ((0, 0), (0, width - x.shape[1])), constant_values=-1) for x in layers_o]
    beliefs = np.concatenate(layers_b)
    return HistoryTree(
        depth=_read_only(np.concatenate([np.full(x.shape[0], t, dtype=np.int64) for t, x in enumerate(layers_b)])),
        beliefs=_read_only(beliefs),
        rewards=_read_only(beliefs @ R),
        children=_read_only(np.concatenate(child_layers)),
        obs_prob=_read_only(np.concatenate(prob_layers)),
        actions=_read_only(np.concatenate(pad)),
        observations=_read_only(np.concatenate(padding)),
        horizon=H,
        gamma=float(g),
    )


def belief_grouping(tree: HistoryTree, *, atol: float = 1e-9) -> np.ndarray:
    r"""The belief-grouping abstraction :math:`\phi(h) = (t, b_h)`: histories of equal depth whose
    beliefs agree within ``atol`` (sup norm, after rounding to the grid of ``atol``) share a label.

    The belief is a sufficient statistic of the history, so grouped histories have equal optimal
    values and are at bisimulation distance 0 under any belief-based policy: the abstraction with
    zero bisimulation error of Hong, Dragan & Levine (2024, arXiv 2310.20663), whose number of
    groups :math:`|Z|` can be far below :math:`|H|` (e.g. linear in the depth for the Tiger
    problem, while :math:`|H|` grows like :math:`(|A||O|)^t`).

    Returns
    -------
    ndarray of int, shape (n_histories,)
        Group labels ``0 .. n_groups - 1``, numbered in order of first appearance.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import POMDP
    >>> from theory_rl.offline import belief_grouping, enumerate_histories
    >>> m = POMDP(np.ones((1, 2, 1)), np.full((2, 1, 2), 0.5), np.zeros((1, 2)), 0.9)
    >>> int(belief_grouping(enumerate_histories(m, horizon=3)).max()) + 1   # one belief per depth
    3
    """
    if not isinstance(tree, HistoryTree):
        raise InvalidArgumentError(f"tree must be a HistoryTree, got {type(tree).__name__}")
    atol = check_real(atol, "atol", low=0.0, low_open=True)
    grid = np.round(tree.beliefs / atol).astype(np.int64)
    keys = np.column_stack([tree.depth, grid])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse.reshape(-1)]


def as_history_policy(tree: HistoryTree, policy: Any) -> np.ndarray:
    """Validate a policy over histories: shape ``(n,)`` of actions or ``(n, A)`` of probabilities."""
    n, A = tree.n_histories, tree.rewards.shape[1]
    arr = np.asarray(policy)
    if arr.ndim == 1 and arr.shape == (n,) and np.issubdtype(arr.dtype, np.integer):
        if ((arr < 0) | (arr >= A)).any():
            i = int(np.argmax((arr < 0) | (arr >= A)))
            raise InvalidArgumentError(f"policy[{i}] = {arr[i]} is not an action in [0, {A})")
        out = np.zeros((n, A))
        out[np.arange(n), arr] = 1.0
        return out
    if arr.shape != (n, A) or not np.issubdtype(arr.dtype, np.number):
        raise InvalidArgumentError(f"policy must have shape ({n},) of actions or ({n}, {A}) of probabilities, got {arr.shape}")
    out = arr.astype(np.float64)
    bad = ~np.isfinite(out).all(axis=1) | (out < 0).any(axis=1) | (np.abs(out.sum(axis=1) - 1) > 1e-8)
    if bad.any():
        raise InvalidArgumentError(f"policy[{int(np.argmax(bad))}, :] is not a probability vector")
    return out
