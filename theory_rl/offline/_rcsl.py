"""Tabular return-conditioned supervised learning (RCSL): fit by counting, act with the paper's
test-time conditioning, and evaluate exactly on the model."""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from typing import Any

import numpy as np

from .._result import Result
from .._validation import check_bool, check_choice, check_int, check_optional_int, check_real
from ..errors import InvalidArgumentError, InvalidModelError
from ..models import FiniteMDP
from ._dataset import TrajectoryDataset
from ._rcsl_torch import RCSLTorchResult

_DECIMALS = 9


def _key(g: float) -> float:
    """Returns equal to 1e-9 are one conditioning value (sums of floats are not exact)."""
    return round(float(g), _DECIMALS) + 0.0


Context = tuple  # ((g, s) pairs, actions) of the last K steps, oldest first


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class RCSLResult(Result):
    r"""A tabular return-conditioned policy fit by counting (see :func:`rcsl_fit`).

    Attributes
    ----------
    table : dict
        ``context -> counts over actions`` (int array of shape ``(A,)``). With
        ``context_len = 1`` a context is ``(t, s, g)`` (``t`` is ``None`` unless ``use_time``);
        with ``K > 1`` it is ``(t, ((g, s), ...), (a, ...))``, the last ``K`` return-state pairs and
        the ``K - 1`` actions between them (Decision Transformer's context).
    returns_by_state : dict
        ``s -> sorted array of the returns-to-go seen at s`` (for the ``"nearest"`` fallback).
    n_states, n_actions, context_len : int
    use_time : bool
    fallback : str
    target_return : float
        The default conditioning :math:`g_0` (the best episode return in the data).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, offline
    >>> pi = offline.rcsl_fit(offline.collect_trajectories(envs.chain(3), np.eye(2)[[0, 1, 0]], n_episodes=4, horizon=2))
    >>> type(pi).__name__, pi.n_states, pi.n_actions
    ('RCSLResult', 3, 2)
    """

    table: dict
    returns_by_state: dict
    n_states: int
    n_actions: int
    context_len: int
    use_time: bool
    fallback: str
    target_return: float

    _repr_fields = ("n_states", "n_actions", "context_len", "use_time", "fallback", "target_return")
    _dict_exclude = ("table", "returns_by_state")

    def action_distribution(self, t: int, states: list[int], returns: list[float], actions: list[int]) -> np.ndarray:
        r""":math:`\pi(\cdot \mid \text{context})` at step ``t``, shape ``(A,)``.

        ``states``/``returns`` hold :math:`s_{0..t}` and :math:`g_{0..t}`, ``actions`` :math:`a_{0..t-1}`.
        An unseen context backs off to a shorter one (down to ``K = 1``), then to the
        ``fallback``: ``"nearest"`` conditions on the seen return at :math:`s_t` closest to
        :math:`g_t` (ties to the larger), ``"uniform"`` acts uniformly; a state never seen acts uniformly.
        """
        tt = t if self.use_time else None
        s = states[-1]
        for k in range(min(self.context_len, len(states)), 0, -1):
            key = _context(tt, states, returns, actions, k)
            counts = self.table.get(key)
            if counts is not None:
                return counts / counts.sum()
        seen = self.returns_by_state.get((tt, s))
        if self.fallback == "nearest" and seen is not None and seen.size:
            g = _key(returns[-1])
            i = int(np.argmin(np.abs(seen - g)[::-1]))  # reversed: ties go to the larger return
            counts = self.table[(tt, s, float(seen[seen.size - 1 - i]))]
            return counts / counts.sum()
        return np.full(self.n_actions, 1.0 / self.n_actions)


def _context(t: Any, states: list[int], returns: list[float], actions: list[int], k: int) -> Context:
    if k == 1:
        return (t, states[-1], _key(returns[-1]))
    pairs = tuple((_key(g), s) for g, s in zip(returns[-k:], states[-k:]))
    return (t, pairs, tuple(actions[len(actions) - (k - 1):]))


def rcsl_fit(
    dataset: TrajectoryDataset,
    *,
    context_len: int = 1,
    use_time: bool = False,
    fallback: str = "nearest",
) -> RCSLResult:
    r"""Return-conditioned supervised learning, tabular: the maximum-likelihood policy by counting.

    .. math::
        \hat\pi = \arg\max_\pi \sum_{\tau \in D} \sum_t \log \pi(a_t \mid c_t), \qquad
        \hat\pi(a \mid c) = \frac{N(c, a)}{N(c)},

    with context :math:`c_t = (s_t, g_t)` (Markovian RCSL, ``context_len = 1``) or the last ``K``
    return-to-go/state pairs and the actions between them (Decision Transformer with a
    cross-entropy loss, ``context_len = K``), :math:`g_t = \sum_{t' \ge t} r_{t'}`. At test time
    the agent conditions on a target :math:`g_0` and updates :math:`g_{t+1} = g_t - r_t`
    (:func:`rcsl_evaluate`). Optionally the context also holds the time step ``t`` (``use_time``).

    **Assumptions and guarantee** (Zhou, Zhu, Zhou, Cui, Gupta & Du 2024, "Free from Bellman
    Completeness", arXiv 2310.19308): the RCSL guarantee is a supervised-learning one — it needs
    realizability of the return-conditioned policy (exact here: the counting estimator is the
    tabular class), near-deterministic transitions, and coverage of an optimal trajectory; under
    them, conditioning on the optimal return recovers the optimal return, with no Bellman
    completeness. In this tabular version, on a deterministic MDP whose data contain an optimal
    trajectory of every remaining length it is conditioned on (episodes ending in terminal
    states, or ``use_time=True`` with equal-length episodes), conditioning on
    :math:`g_0 = V^*(s_0)` returns exactly :math:`V^*(s_0)`.

    **No stitching.** The same paper shows that Markovian RCSL and Decision Transformer cannot
    stitch segments of different trajectories, even with deterministic transitions and uniform
    coverage of the data: the conditioned return at a state is tied to the trajectories that
    passed through it. :func:`mbrcsl` adds stitching by model rollouts.

    Tabular and exact; :func:`rcsl_torch` is the neural version (MLP, causal transformer).

    Parameters
    ----------
    dataset : TrajectoryDataset
    context_len : int
        ``K >= 1``.
    use_time : bool
        Condition on the time step as well.
    fallback : {"nearest", "uniform"}
        What an unseen context does (see :meth:`RCSLResult.action_distribution`).

    Examples
    --------
    >>> from theory_rl.offline import TrajectoryDataset, rcsl_fit
    >>> d = TrajectoryDataset([[0, 1], [0, 0]], [[1], [0]], [[1.0], [0.0]], n_states=2, n_actions=2)
    >>> pi = rcsl_fit(d)
    >>> pi.action_distribution(0, [0], [1.0], []).tolist()
    [0.0, 1.0]
    """
    t0 = time.perf_counter()
    if not isinstance(dataset, TrajectoryDataset):
        raise InvalidArgumentError(f"dataset must be a TrajectoryDataset, got {type(dataset).__name__}")
    K = check_int(context_len, "context_len")
    if not isinstance(use_time, (bool, np.bool_)):
        raise InvalidArgumentError(f"use_time must be True or False, got {use_time!r}")
    fallback = check_choice(fallback, "fallback", ("nearest", "uniform"))
    A = dataset.n_actions
    table: dict[Any, np.ndarray] = defaultdict(lambda: np.zeros(A, dtype=np.int64))
    seen: dict[Any, set] = defaultdict(set)
    for s_ep, a_ep, g_ep in zip(dataset.states, dataset.actions, dataset.returns_to_go):
        states, returns, acts = [int(x) for x in s_ep], [float(x) for x in g_ep], [int(x) for x in a_ep]
        for t, a in enumerate(acts):
            tt = t if use_time else None
            for k in range(1, min(K, t + 1) + 1):
                table[_context(tt, states[: t + 1], returns[: t + 1], acts[:t], k)][a] += 1
            seen[(tt, states[t])].add(_key(returns[t]))
    returns_by_state = {key: np.array(sorted(v)) for key, v in seen.items()}
    best = float(dataset.episode_returns.max()) if dataset.n_episodes else 0.0
    return RCSLResult(
        table=dict(table), returns_by_state=returns_by_state, n_states=dataset.n_states, n_actions=A,
        context_len=K, use_time=bool(use_time), fallback=fallback, target_return=best,
        method="rcsl_fit", params={"context_len": K, "use_time": bool(use_time), "fallback": fallback},
        elapsed=time.perf_counter() - t0,
    )


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class RCSLEvaluationResult(Result):
    """The exact expected return of an RCSL policy (see :func:`rcsl_evaluate`).

    Attributes
    ----------
    value : float
        :math:`E[\\sum_{t < H} r_t]` from the start distribution.
    target_return : float
        The conditioning :math:`g_0`.
    n_contexts : int
        Largest number of distinct (state, context) pairs carried at one step.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, offline
    >>> mdp = envs.chain(3)
    >>> data = offline.collect_trajectories(mdp, np.full((3, 2), 0.5), n_episodes=6, horizon=2, seed=0)
    >>> res = offline.rcsl_evaluate(offline.rcsl_fit(data), mdp, horizon=2, target_return=2.0)
    >>> type(res).__name__, res.horizon, bool(res.value >= 0)
    ('RCSLEvaluationResult', 2, True)
    """

    value: float
    target_return: float
    horizon: int
    n_contexts: int

    _repr_fields = ("value", "target_return", "horizon", "n_contexts")


def rcsl_evaluate(
    policy: RCSLResult | RCSLTorchResult,
    mdp: FiniteMDP,
    *,
    horizon: int,
    target_return: float | None = None,
    start: Any = None,
    greedy: bool = False,
    max_contexts: int = 1_000_000,
) -> RCSLEvaluationResult:
    r"""Exact expected (undiscounted) return of a return-conditioned policy on a finite MDP.

    The RCSL agent is not Markov in :math:`s`: it acts on the augmented state
    :math:`x_t = (s_t, c_t)` with :math:`g_{t+1} = g_t - r_t` (Zhou et al. 2024, arXiv
    2310.19308), which is Markov. Its law is propagated exactly over the finite set of
    augmented states reachable in ``horizon`` steps,

    .. math::
        \Pr(x_{t+1}) = \sum_{x_t} \Pr(x_t)\, \pi(a \mid c_t)\, P(s_{t+1} \mid s_t, a), \qquad
        J = \sum_{t < H} \sum_{x_t, a} \Pr(x_t)\, \pi(a \mid c_t)\, R(s_t, a),

    with the model's expected reward :math:`R(s, a)` as :math:`r_t` (exact for deterministic
    rewards, the setting of the paper's guarantee). Episodes stop at the model's terminal
    states. No Monte Carlo: the answer is exact up to floating-point summation.

    Parameters
    ----------
    policy : RCSLResult or RCSLTorchResult
        A counting policy (:func:`rcsl_fit`) or a neural one (:func:`rcsl_torch`).
    mdp : FiniteMDP
    horizon : int
    target_return : float, optional
        :math:`g_0`; default ``policy.target_return`` (the best return in the data).
    start : int or array_like of shape (S,), optional
        Start state or distribution; default ``mdp.d0`` (uniform when absent).
    greedy : bool
        Act on the most probable action of :math:`\pi(\cdot \mid c_t)` (the lowest index among
        ties) instead of sampling it, as the paper's deterministic-output policies do.
    max_contexts : int
        :class:`~theory_rl.errors.InvalidArgumentError` when more augmented states would be carried at one step.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import FiniteMDP
    >>> from theory_rl.offline import TrajectoryDataset, rcsl_evaluate, rcsl_fit
    >>> mdp = FiniteMDP(np.ones((1, 2, 1)), np.array([[0.0, 1.0]]), 0.9)
    >>> d = TrajectoryDataset([[0, 0], [0, 0]], [[1], [0]], [[1.0], [0.0]], n_states=1, n_actions=2)
    >>> rcsl_evaluate(rcsl_fit(d), mdp, horizon=1, target_return=1.0).value
    1.0
    """
    t0 = time.perf_counter()
    if not isinstance(policy, (RCSLResult, RCSLTorchResult)):
        raise InvalidArgumentError(f"policy must be an RCSLResult or an RCSLTorchResult, got {type(policy).__name__}")
    greedy = check_bool(greedy, "greedy")
    if (mdp.n_states, mdp.n_actions) != (policy.n_states, policy.n_actions):
        raise InvalidArgumentError(
            f"mdp has {mdp.n_states} states and {mdp.n_actions} actions, the policy {policy.n_states} and {policy.n_actions}"
        )
    H = check_int(horizon, "horizon")
    g0 = policy.target_return if target_return is None else check_real(target_return, "target_return")
    max_contexts = check_int(max_contexts, "max_contexts")
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.transition_matrix
    P2 = P.toarray() if hasattr(P, "toarray") else np.asarray(P).reshape(S * A, S)
    R = np.asarray(mdp.R)
    term = np.zeros(S, dtype=bool) if mdp.terminal is None else np.asarray(mdp.terminal)
    if start is None:
        d0 = np.full(S, 1.0 / S) if mdp.d0 is None else np.asarray(mdp.d0)
    elif np.ndim(start) == 0:
        s0 = check_optional_int(start, "start", minimum=0, maximum=S - 1)
        d0 = np.zeros(S)
        d0[s0] = 1.0
    else:
        d0 = np.asarray(start, dtype=np.float64)
        if d0.shape != (S,) or (d0 < 0).any() or abs(d0.sum() - 1) > 1e-8:
            raise InvalidModelError(f"start must be a state index or a distribution of shape ({S},)")
    # augmented state: (states tuple, returns tuple, actions tuple), the last K entries only
    K = policy.context_len
    layer: dict[tuple, float] = {((s,), (_key(g0),), ()): float(p) for s, p in enumerate(d0) if p > 0}
    value = 0.0
    widest = len(layer)
    for t in range(H):
        nxt: dict[tuple, float] = defaultdict(float)
        for (states, returns, actions), p in layer.items():
            s = states[-1]
            if term[s]:
                continue
            pi = policy.action_distribution(t, list(states), list(returns), list(actions))
            if greedy:
                pi = np.eye(A)[int(np.argmax(pi))]
            for a in np.flatnonzero(pi > 0):
                pa = p * pi[a]
                r = float(R[s, a])
                value += pa * r
                g_next = _key(returns[-1] - r)
                for s2 in np.flatnonzero(P2[s * A + a] > 0):
                    key = ((*states, int(s2))[-K:], (*returns, g_next)[-K:], (*actions, int(a))[-(K - 1):] if K > 1 else ())
                    nxt[key] += pa * P2[s * A + a, s2]
        layer = nxt
        widest = max(widest, len(layer))
        if len(layer) > max_contexts:
            raise InvalidArgumentError(
                f"rcsl_evaluate carries {len(layer)} augmented states at step {t + 1}, above max_contexts = {max_contexts}"
            )
    return RCSLEvaluationResult(
        value=float(value), target_return=float(g0), horizon=H, n_contexts=widest, method="rcsl_evaluate",
        params={"horizon": H, "target_return": float(g0), "greedy": greedy}, elapsed=time.perf_counter() - t0,
    )
