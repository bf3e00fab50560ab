"""Tabular conservative Q-learning (CQL) on a dataset's empirical model, on states, on enumerated
histories, or on the latent states of a lookup encoder."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from .._result import Result
from .._validation import check_max_iter, check_real, check_tol
from ..errors import InvalidArgumentError
from ._dataset import TrajectoryDataset


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class CQLResult(Result):
    r"""The fixed point of tabular CQL (see :func:`cql`).

    Attributes
    ----------
    q : ndarray, shape (S, A)
        :math:`\hat Q`; ``-inf`` on actions the data never take at that state (CQL pushes them
        down without bound), 0 at states the data never act in.
    v : ndarray, shape (S,)
        :math:`\hat V(s) = \max_a \hat Q(s, a)` (control) or :math:`\sum_a \pi(a \mid s) \hat Q(s, a)`
        (evaluation); 0 where the data never act.
    policy : ndarray of int, shape (S,)
        Greedy action of :math:`\hat Q` (lowest index on ties; 0 where the data never act).
    behaviour : ndarray, shape (S, A)
        The empirical behaviour policy :math:`\hat\pi_\beta(a \mid s) = N(s, a) / N(s)`.
    counts : ndarray of int, shape (S, A)
    n_iter : int
    converged : bool
    residual : float
        Last :math:`\|\hat Q^{k+1} - \hat Q^k\|_\infty` over the finite entries.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, offline
    >>> d = offline.collect_trajectories(envs.chain(3), np.full((3, 2), 0.5), n_episodes=20, horizon=4, seed=0)
    >>> res = offline.cql(d, gamma=0.9, alpha=1.0)
    >>> type(res).__name__, res.q.shape, res.converged
    ('CQLResult', (3, 2), True)
    """

    q: np.ndarray
    v: np.ndarray
    policy: np.ndarray
    behaviour: np.ndarray
    counts: np.ndarray
    n_iter: int
    converged: bool
    residual: float

    _repr_fields = ("n_iter", "converged", "residual")


def encode_states(dataset: TrajectoryDataset, labels: Any) -> TrajectoryDataset:
    r"""The dataset seen through a lookup encoder :math:`\phi: s \mapsto z`: state ``s`` becomes
    ``labels[s]`` (for histories: a history id becomes its latent, e.g. the groups of
    :func:`belief_grouping`).

    Examples
    --------
    >>> from theory_rl.offline import TrajectoryDataset, encode_states
    >>> d = TrajectoryDataset([[0, 1, 2]], [[0, 0]], [[1.0, 0.0]], n_states=3, n_actions=1)
    >>> encode_states(d, [0, 1, 1]).states[0].tolist()
    [0, 1, 1]
    """
    if not isinstance(dataset, TrajectoryDataset):
        raise InvalidArgumentError(f"dataset must be a TrajectoryDataset, got {type(dataset).__name__}")
    lab = np.asarray(labels)
    if lab.shape != (dataset.n_states,) or not np.issubdtype(lab.dtype, np.integer) or (lab.size and lab.min() < 0):
        raise InvalidArgumentError(
            f"labels must be non-negative integers of shape ({dataset.n_states},), got {lab.dtype} {lab.shape}"
        )
    n_z = int(lab.max()) + 1 if lab.size else 0
    return TrajectoryDataset(
        [lab[s] for s in dataset.states], dataset.actions, dataset.rewards, n_states=max(n_z, 1),
        n_actions=dataset.n_actions, observations=dataset.observations, n_observations=dataset.n_observations,
        terminated=dataset.terminated,
    )


def _cql_step(y: np.ndarray, mu: np.ndarray, seen: np.ndarray, alpha: float) -> np.ndarray:
    r"""Per state, the minimiser over the seen actions of
    ``alpha (logsumexp q - mu.q) + 1/2 sum_a mu_a (q_a - y_a)^2`` by damped Newton (strictly
    convex); rows of ``y``/``mu``/``seen`` of shape (n, A). Unseen actions get ``-inf``."""
    q = np.where(seen, y, -np.inf)
    eye = np.eye(y.shape[1])

    def objective(q: np.ndarray) -> np.ndarray:
        m = q.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(q - m).sum(axis=1))
        diff = np.where(seen, q - y, 0.0)
        return alpha * (lse - np.where(seen, mu * np.where(seen, q, 0.0), 0.0).sum(axis=1)) + 0.5 * (mu * diff**2).sum(axis=1)

    for _ in range(100):
        m = q.max(axis=1, keepdims=True)
        p = np.exp(q - m)
        p /= p.sum(axis=1, keepdims=True)
        grad = np.where(seen, alpha * (p - mu) + mu * np.where(seen, q - y, 0.0), 0.0)
        if np.max(np.abs(grad)) <= 1e-14 * max(1.0, float(np.max(np.abs(np.where(seen, q, 0.0))))):
            break
        hess = alpha * (p[:, :, None] * eye - p[:, :, None] * p[:, None, :]) + mu[:, :, None] * eye
        off = ~(seen[:, :, None] & seen[:, None, :])
        hess = np.where(off, 0.0, hess) + np.where(~seen, 1.0, 0.0)[:, :, None] * eye
        step = -np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        f0 = objective(q)
        t = np.ones(q.shape[0])
        for _ in range(40):  # backtracking, per state
            trial = np.where(seen, q + t[:, None] * step, -np.inf)
            worse = objective(trial) > f0 + 1e-15 * np.abs(f0)
            if not worse.any():
                break
            t = np.where(worse, t / 2, t)
        q = np.where(seen, q + t[:, None] * step, -np.inf)
    return q


def cql(
    dataset: TrajectoryDataset,
    *,
    gamma: float,
    alpha: float = 1.0,
    policy: Any = None,
    tol: float = 1e-10,
    max_iter: int | None = 10_000,
) -> CQLResult:
    r"""Tabular conservative Q-learning (Kumar, Zhou, Tucker & Levine 2020, arXiv 2006.04779) on
    the dataset's empirical model.

    Each iteration solves the CQL(H) problem of the paper (its Eq. 4 with the entropy
    regulariser, whose inner maximum over :math:`\mu` is a log-sum-exp) exactly, on top of
    fitted Q-iteration with the empirical Bellman operator :math:`\hat B`:

    .. math::
        \hat Q^{k+1} = \arg\min_Q\ \alpha\Big(\mathbb E_{s \sim D} \log\sum_a e^{Q(s, a)}
            - \mathbb E_{(s, a) \sim D} Q(s, a)\Big)
            + \tfrac12 \mathbb E_{(s, a) \sim D}\big(Q(s, a) - \hat B \hat Q^k(s, a)\big)^2,

    :math:`\hat B Q(s, a) = \hat r(s, a) + \gamma \sum_{s'} \hat P(s' \mid s, a) \max_{a'} Q(s', a')`
    with the counts of :func:`count_model` (applied from the transitions, never as a dense
    :math:`S \times A \times S` array, so that history ids scale). Per state this is strictly convex; its stationarity
    condition is the paper's closed form

    .. math:: \hat Q^{k+1}(s, a) = \hat B \hat Q^k(s, a) - \alpha\Big[\frac{\mu_k(a \mid s)}{\hat\pi_\beta(a \mid s)} - 1\Big],
       \qquad \mu_k = \operatorname{softmax} \hat Q^{k+1}(s, \cdot),

    solved by a damped Newton method per state. With ``policy`` given (policy evaluation, the
    paper's Eq. 2 with :math:`\mu = \pi`) the regulariser is
    :math:`\alpha(\mathbb E_{s \sim D, a \sim \pi} Q - \mathbb E_D Q)`, the backup uses
    :math:`\sum_{a'} \pi(a' \mid s') Q(s', a')`, and the update is
    :math:`\hat B^\pi \hat Q^k - \alpha(\pi / \hat\pi_\beta - 1)` in closed form.

    **Guarantee** (the paper's Theorem 3.2 with no sampling error, :math:`\hat B = B` of the
    empirical MDP): for ``policy`` :math:`\pi` supported on the data and any :math:`\alpha > 0`,
    :math:`\hat V^\pi(s) = \sum_a \pi(a \mid s) \hat Q^\pi(s, a) \le V^\pi(s)` at every state,
    :math:`V^\pi` the value of :math:`\pi` in the empirical MDP: the gap is
    :math:`\alpha (I - \gamma \hat P^\pi)^{-1} D_{\chi^2}`-like, with per-state term
    :math:`\sum_a \pi(a \mid s)(\pi(a \mid s)/\hat\pi_\beta(a \mid s) - 1) \ge 0`. With
    :math:`\alpha = 0` the method is fitted Q-iteration on the empirical model (the plug-in
    :math:`\hat Q^*` on full coverage).

    **Conventions.** A state the data never act in has value 0 (a terminal state, or the end of
    the data); actions never taken at a state get :math:`\hat Q = -\infty` (the log-sum-exp
    pushes them down without bound when their Bellman error carries no weight). To run on
    histories, map the episodes to history ids with :func:`history_dataset`; for a lookup
    encoder :math:`\phi: h \mapsto z`, relabel with :func:`encode_states`.

    Parameters
    ----------
    dataset : TrajectoryDataset
    gamma : float
        Discount in ``[0, 1)``.
    alpha : float
        The CQL weight :math:`\alpha \ge 0`.
    policy : ndarray, shape (S, A), optional
        Evaluate this policy (it must put no mass on actions the data never take at a state the
        data act in).
    tol : float
        Stop when :math:`\|\hat Q^{k+1} - \hat Q^k\|_\infty <` ``tol``.
    max_iter : int

    Examples
    --------
    >>> from theory_rl.offline import TrajectoryDataset, cql
    >>> d = TrajectoryDataset([[0, 1], [0, 1]], [[0], [1]], [[1.0], [0.0]], n_states=2, n_actions=2)
    >>> res = cql(d, gamma=0.9, alpha=0.5)     # one state, both actions seen once: pi_beta = 1/2
    >>> [round(float(x), 4) for x in res.q[0]], int(res.policy[0])
    ([0.8374, 0.1626], 0)
    """
    t0 = time.perf_counter()
    if not isinstance(dataset, TrajectoryDataset):
        raise InvalidArgumentError(f"dataset must be a TrajectoryDataset, got {type(dataset).__name__}")
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    alpha = check_real(alpha, "alpha", low=0.0)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter) or 10_000
    S, A = dataset.n_states, dataset.n_actions
    s_, a_, r_, s2_ = dataset.transitions()
    sa = s_ * A + a_
    n = np.bincount(sa, minlength=S * A).reshape(S, A)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(n > 0, np.bincount(sa, weights=r_, minlength=S * A).reshape(S, A) / np.maximum(n, 1), 0.0)
        n_s = n.sum(axis=1, keepdims=True)
        mu = np.where(n_s > 0, n / np.maximum(n_s, 1), 0.0)

    def expected_next(v: np.ndarray) -> np.ndarray:
        """sum_s' P-hat(s' | s, a) v(s'), from the transitions (no dense (S, A, S) model)."""
        return np.bincount(sa, weights=v[s2_], minlength=S * A).reshape(S, A) / np.maximum(n, 1)

    acting = n.sum(axis=1) > 0
    seen = (n > 0) & acting[:, None]
    pi = None
    if policy is not None:
        pi = np.asarray(policy, dtype=np.float64)
        if pi.shape != (S, A) or not np.isfinite(pi).all() or (pi < 0).any() or np.any(np.abs(pi.sum(axis=1) - 1) > 1e-8):
            raise InvalidArgumentError(f"policy must be a stochastic matrix of shape ({S}, {A})")
        off = (pi > 0) & ~seen & acting[:, None]
        if off.any():
            s, a = np.argwhere(off)[0]
            raise InvalidArgumentError(
                f"policy puts mass on action {a} at state {s}, which the data never take there (CQL needs support)"
            )
    idx = np.flatnonzero(acting)
    q = np.where(seen, 0.0, -np.inf)
    q[~acting] = 0.0
    ratio = np.where(seen, (pi if pi is not None else 0.0) / np.where(seen, mu, 1.0), 0.0)

    def value(q: np.ndarray) -> np.ndarray:
        if pi is None:
            return np.where(acting, q.max(axis=1), 0.0)
        return np.where(acting, np.where(pi > 0, pi * np.where(np.isfinite(q), q, 0.0), 0.0).sum(axis=1), 0.0)

    residual, converged, k = np.inf, False, 0
    for k in range(1, max_iter + 1):  # noqa: B007 - reported
        y = r + gamma * expected_next(value(q))
        new = q.copy()
        if pi is not None:
            new[seen] = (y - alpha * (ratio - 1.0))[seen]
        elif alpha == 0.0:
            new[seen] = y[seen]
        else:
            new[idx] = _cql_step(y[idx], mu[idx], seen[idx], alpha)
        finite = np.isfinite(new)
        residual = float(np.max(np.abs(new[finite] - q[finite]))) if finite.any() else 0.0
        q = new
        if residual < tol:
            converged = True
            break
    v = value(q)
    greedy = np.where(acting, np.argmax(np.where(seen, q, -np.inf), axis=1), 0)
    for arr in (q, v, greedy, mu, n):
        arr.setflags(write=False)
    return CQLResult(
        q=q, v=v, policy=greedy, behaviour=mu, counts=n, n_iter=k, converged=converged, residual=residual,
        method="cql", params={"gamma": gamma, "alpha": alpha, "tol": tol, "max_iter": max_iter,
                              "mode": "control" if pi is None else "evaluation"},
        elapsed=time.perf_counter() - t0,
    )


def history_dataset(dataset: TrajectoryDataset, tree: Any) -> TrajectoryDataset:
    r"""Episodes of a POMDP dataset with the state replaced by the history id of ``tree``: a
    lookup encoder with one row per history.

    :math:`h_0` is the root (id 0) and :math:`h_{t+1} = h_t\, a_t\, o_{t+1}` (``tree.children``),
    with :math:`o_{t+1}` = ``dataset.observations[e][t]``. The returned dataset has
    ``n_states = tree.n_histories``; its rewards are the dataset's.

    Raises
    ------
    InvalidArgumentError
        The data hold no observations, or an episode leaves the tree (longer than
        ``tree.horizon - 1`` steps, or an observation the tree gives probability 0), naming the
        episode and step.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import POMDP
    >>> from theory_rl.offline import collect_trajectories, enumerate_histories, history_dataset
    >>> m = POMDP(np.ones((1, 2, 1)), np.full((2, 1, 2), 0.5), np.zeros((1, 2)), 0.9)
    >>> d = collect_trajectories(m, np.full((1, 2), 0.5), n_episodes=2, horizon=2, seed=0)
    >>> hd = history_dataset(d, enumerate_histories(m, horizon=3))
    >>> hd.n_states, hd.states[0][0]
    (21, np.int64(0))
    """
    from ._histories import HistoryTree

    if not isinstance(dataset, TrajectoryDataset):
        raise InvalidArgumentError(f"dataset must be a TrajectoryDataset, got {type(dataset).__name__}")
    if not isinstance(tree, HistoryTree):
        raise InvalidArgumentError(f"tree must be a HistoryTree, got {type(tree).__name__}")
    if dataset.observations is None:
        raise InvalidArgumentError("history_dataset needs a dataset with observations (POMDP data)")
    A, O = tree.children.shape[1:]  # noqa: E741 - POMDP notation
    if dataset.n_actions != A or (dataset.n_observations or 0) > O:
        raise InvalidArgumentError(f"the dataset has {dataset.n_actions} actions and {dataset.n_observations} observations, "
                                   f"the tree {A} and {O}")
    states = []
    for e, (acts, obs) in enumerate(zip(dataset.actions, dataset.observations)):
        h = np.zeros(acts.size + 1, dtype=np.int64)
        for t in range(acts.size):
            nxt = int(tree.children[h[t], acts[t], obs[t]])
            if nxt < 0:
                raise InvalidArgumentError(
                    f"episode {e} step {t} leaves the history tree (horizon {tree.horizon} too short, "
                    f"or observation {obs[t]} has probability 0 there)"
                )
            h[t + 1] = nxt
        states.append(h)
    return TrajectoryDataset(states, dataset.actions, dataset.rewards, n_states=tree.n_histories, n_actions=A,
                             terminated=dataset.terminated)

