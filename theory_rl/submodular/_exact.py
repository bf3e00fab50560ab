r"""Submodular RL solved exactly on small MDPs.

The objective of a horizon-``H`` trajectory ``tau = (s_0, a_0, ..., s_H)`` is ``F(tau) = F({s_0, ..., s_H})``,
a set function of the visited states. The pair ``(s_t, X_t)``, with ``X_t`` the set visited so far,
is a sufficient statistic of the history for ``F`` and the dynamics, so dynamic programming over
``(t, s, X)`` gives the optimal value over *history-dependent* policies. Sets are integers whose bit
``s`` says whether state ``s`` was visited (``2**S`` of them).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from .._result import Result
from .._validation import check_allocation, check_int
from ..errors import InvalidArgumentError, InvalidModelError
from ..models import FiniteMDP
from ._properties import all_subsets
from ._set_functions import SetFunction

__all__ = [
    "SubRLResult",
    "evaluate_subrl_policy",
    "subrl_brute_force",
    "subrl_dp",
    "history_index",
    "subrl_greedy",
    "subrl_history",
    "subrl_markov",
]

MAX_STATES = 16
MAX_HISTORIES = 2_000_000  # S**(H+1) ordered state sequences tabulated by subrl_history and policy="history"


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class SubRLResult(Result):
    r"""An exactly computed SubRL value and the policy attaining it.

    Attributes
    ----------
    value : float
        ``E[F(tau)]`` under ``policy`` with ``s_0 ~ d0``.
    policy : ndarray of int64
        :func:`subrl_dp`: ``(H, S, 2**S)``, the action at time ``t`` in state ``s`` with visited set
        ``X`` (bit ``s'`` of ``X`` set when ``s'`` was visited); :func:`subrl_history`: ``(H, S**H)``,
        the action after the ordered states ``(s_0, ..., s_t)``, indexed by the base-``S`` number
        ``sum_i s_i S^(t-i)`` (see :func:`history_index`); :func:`subrl_greedy`: ``(S, 2**S)``;
        :func:`subrl_markov`: ``(H, S)``; :func:`subrl_brute_force`: ``(S, H)``, the best open-loop
        action sequence from each start state.
    n_evaluated : int
        Policies or action sequences evaluated (enumeration), or ``(s, X)`` pairs backed up (DP).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, submodular
    >>> mdp = envs.gridworld(2, 2, goal=[], obstacles=None).replace(d0=[1, 0, 0, 0])
    >>> res = submodular.subrl_dp(mdp, submodular.Modular(np.ones(4)), horizon=3)
    >>> type(res).__name__, float(res.value)
    ('SubRLResult', 4.0)
    """

    value: float
    policy: np.ndarray
    n_evaluated: int

    _repr_fields = ("value", "n_evaluated", "method", "elapsed")


def _setup(mdp: FiniteMDP, objective: SetFunction, horizon: int) -> tuple[np.ndarray, np.ndarray, int]:
    if not isinstance(mdp, FiniteMDP):
        raise InvalidArgumentError(f"mdp must be a FiniteMDP, got {type(mdp).__name__}")
    if not isinstance(objective, SetFunction):
        raise InvalidArgumentError(f"objective must be a SetFunction, got {type(objective).__name__}")
    S = mdp.n_states
    if objective.n != S:
        raise InvalidArgumentError(f"objective is defined on {objective.n} elements, the MDP has {S} states")
    horizon = check_int(horizon, "horizon", minimum=1)
    P = np.asarray(mdp.to_dense().P, dtype=np.float64)
    return P, np.asarray(mdp.d0, dtype=np.float64), horizon


def _set_values(objective: SetFunction) -> np.ndarray:
    S = objective.n
    if S > MAX_STATES:
        raise InvalidArgumentError(f"exact SubRL enumerates 2**S visited sets: S = {S} > {MAX_STATES}")
    check_allocation(8.0 * S * S * 2**S * 4, f"visited-set tables of {S} states")
    return np.asarray(objective.value(all_subsets(S)), dtype=np.float64)


def _grown(S: int) -> np.ndarray:
    """``grown[X, s] = X | (1 << s)``: shape ``(2**S, S)``."""
    return np.arange(2**S)[:, None] | (1 << np.arange(S))[None, :]


def _forward(P: np.ndarray, d0: np.ndarray, values: np.ndarray, policy_probs, horizon: int) -> float:
    """``E[F(tau)]`` for a policy given as ``policy_probs(t) -> (S, 2**S, A)`` probabilities."""
    S = P.shape[0]
    grown = _grown(S)
    p = np.zeros((S, 2**S))
    p[np.arange(S), 1 << np.arange(S)] = d0
    target = (np.arange(S)[None, None, :] * 2**S + grown[None, :, :])  # (1, 2^S, S) -> index of (s', X | s')
    target = np.broadcast_to(target, (S, 2**S, S)).ravel()
    for t in range(horizon):
        q = np.einsum("sxa,sak->sxk", policy_probs(t), P)
        p = np.bincount(target, weights=(p[:, :, None] * q).ravel(), minlength=S * 2**S).reshape(S, 2**S)
    return float(p.sum(axis=0) @ values)


def evaluate_subrl_policy(mdp: FiniteMDP, objective: SetFunction, policy: np.ndarray, *, horizon: int) -> float:
    r"""Exact ``J(pi) = E_{s_0 ~ d0, tau ~ pi}[F(tau)]`` by propagating the law of ``(s_t, X_t)``.

    Parameters
    ----------
    mdp : FiniteMDP
    objective : SetFunction
        Defined on the states (``objective.n == S``).
    policy : ndarray
        Action probabilities: Markov on ``(s, t)``, shape ``(H, S, A)``; or history-dependent
        through the visited set, shape ``(H, S, 2**S, A)``. Integer arrays of shape ``(H, S)``,
        ``(S, 2**S)`` (time-invariant, as :func:`subrl_greedy` returns) or ``(H, S, 2**S)`` are
        deterministic policies.
    horizon : int

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import chain
    >>> from theory_rl.submodular import Modular
    >>> mdp = chain(3, slip=0.0)
    >>> F = Modular(np.ones(3))
    >>> pi = np.zeros((2, 3), dtype=int)  # always action 0
    >>> round(evaluate_subrl_policy(mdp, F, pi, horizon=2), 6) >= 1.0
    True
    """
    P, d0, horizon = _setup(mdp, objective, horizon)
    values = _set_values(objective)
    return _forward(P, d0, values, _policy_probs(policy, P.shape[0], P.shape[1], horizon), horizon)


def _policy_probs(policy: np.ndarray, S: int, A: int, horizon: int):
    pol = np.asarray(policy)
    n_sets = 2**S
    if np.issubdtype(pol.dtype, np.integer):
        if pol.min(initial=0) < 0 or pol.max(initial=0) >= A:
            raise InvalidArgumentError(f"policy actions must lie in [0, {A})")
        if pol.shape == (horizon, S):
            onehot = np.eye(A)[pol]  # (H, S, A)
            return lambda t: np.broadcast_to(onehot[t][:, None, :], (S, n_sets, A))
        if pol.shape == (S, n_sets):
            onehot = np.eye(A)[pol]
            return lambda t: onehot
        if pol.shape == (horizon, S, n_sets):
            onehot = np.eye(A)[pol]
            return lambda t: onehot[t]
    else:
        pol = pol.astype(np.float64)
        if pol.shape == (horizon, S, A):
            return lambda t: np.broadcast_to(pol[t][:, None, :], (S, n_sets, A))
        if pol.shape == (horizon, S, n_sets, A):
            return lambda t: pol[t]
    raise InvalidArgumentError(
        f"policy has shape {pol.shape} ({pol.dtype}): expected probabilities ({horizon}, {S}, {A}) or "
        f"({horizon}, {S}, {n_sets}, {A}), or actions ({horizon}, {S}), ({S}, {n_sets}) or ({horizon}, {S}, {n_sets})")


def subrl_dp(mdp: FiniteMDP, objective: SetFunction, *, horizon: int) -> SubRLResult:
    r"""The optimal history-dependent SubRL value by dynamic programming over ``(t, s, X)``.

    .. math::
        V_H(s, X) = 0,\qquad
        V_t(s, X) = \max_a \sum_{s'} P(s' \mid s, a)\,\big[F(s' \mid X) + V_{t+1}(s', X \cup \{s'\})\big],

        J^\star = \sum_{s_0} d_0(s_0)\,\big[F(\{s_0\}) + V_0(s_0, \{s_0\})\big]
                = \max_{\pi\ \text{history-dependent}} \mathbb E[F(\tau)],

    with ``F(s | X) = F(X ∪ {s}) - F(X)`` (telescoping: ``F(tau) = F({s_0}) + sum_j F(s_{j+1} | tau_{0:j})``).
    Exact for any set function (no submodularity needed); cost ``O(H S^2 A 2^S)``.

    The visited set is a sufficient statistic: this optimum equals the optimum over policies that
    see the whole ordered history ``(s_0, a_0, ..., s_t)``; :func:`subrl_history` computes the
    latter independently, on the tree of state sequences.

    Hardness (Prajapat, Mutný, Zeilinger & Krause 2024, "Submodular Reinforcement Learning",
    ICLR, arXiv:2307.13372, Theorem 1, section 3): even for *deterministic* tabular MDPs with
    known dynamics, SubRL cannot be approximated within a factor ``Omega(log^{1-eps} OPT)``, for
    any ``eps > 0``, unless ``NP ⊆ ZTIME(n^{polylog n})``, by a reduction from submodular
    orienteering (Chekuri & Pál 2005, FOCS, whose hardness of approximation the theorem
    inherits). The factor and assumption are quoted from Chekuri & Pál's statement for submodular
    orienteering, which the reduction carries over; the text of Theorem 1 itself could not be
    retrieved while writing this, only its abstract ("hard to approximate"). The reduction is
    constructive but asymptotic: no finite instance exhibits the factor, so the tests check the
    reduction (a graph walk of ``H`` steps with a stay action is a deterministic SubRL instance
    whose optimum is the orienteering optimum), not the factor. Exponential time here (``2^S``)
    is therefore not an artefact.

    Parameters
    ----------
    mdp : FiniteMDP
        Dense or sparse; ``S <= 16``.
    objective : SetFunction
        On the states (``objective.n == S``).
    horizon : int
        Number of actions ``H`` (trajectories visit ``H + 1`` states).

    Returns
    -------
    SubRLResult
        ``policy[t, s, X]`` the optimal action.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import gridworld
    >>> from theory_rl.submodular import Modular, subrl_dp
    >>> mdp = gridworld(2, 2, goal=[], obstacles=None).replace(d0=[1, 0, 0, 0])
    >>> subrl_dp(mdp, Modular(np.ones(4)), horizon=3).value  # visit all four cells
    4.0
    """
    start = time.perf_counter()
    P, d0, horizon = _setup(mdp, objective, horizon)
    values = _set_values(objective)
    S = P.shape[0]
    grown = _grown(S)
    gain = values[grown] - values[:, None]  # (2^S, S)
    V = np.zeros((S, 2**S))
    policy = np.zeros((horizon, S, 2**S), dtype=np.int64)
    for t in reversed(range(horizon)):
        G = gain + V[np.arange(S)[None, :], grown]  # (2^S, S'): F(s'|X) + V_{t+1}(s', X | s')
        Q = np.einsum("sak,xk->sax", P, G)
        policy[t] = Q.argmax(axis=1)
        V = Q.max(axis=1)
    starts = 1 << np.arange(S)
    value = float(d0 @ (values[starts] + V[np.arange(S), starts]))
    return SubRLResult(value=value, policy=policy, n_evaluated=horizon * S * 2**S, method="subrl_dp",
                       params={"horizon": horizon}, elapsed=time.perf_counter() - start)


def history_index(states, *, n_states: int) -> int:
    r"""The row of the ordered states ``(s_0, ..., s_t)`` in the tables of :func:`subrl_history` and
    ``subpo(policy="history")``: the base-``S`` number ``sum_i s_i S^(t-i)``.

    Sequences of length ``t + 1`` are numbered ``0 .. S^(t+1) - 1``; the table of time ``t`` uses
    that many of its ``S**H`` entries.

    Examples
    --------
    >>> from theory_rl.submodular import history_index
    >>> history_index([1, 0, 2], n_states=3)  # 1*9 + 0*3 + 2
    11
    """
    n_states = check_int(n_states, "n_states")
    code = 0
    for s in states:
        s = int(s)
        if not 0 <= s < n_states:
            raise InvalidArgumentError(f"states must lie in [0, {n_states}), got {s}")
        code = code * n_states + s
    return code


def _check_histories(S: int, horizon: int) -> None:
    if S ** (horizon + 1) > MAX_HISTORIES:
        raise InvalidArgumentError(f"ordered histories: S^(H+1) = {S}^{horizon + 1} exceeds {MAX_HISTORIES:,}")


def subrl_history(mdp: FiniteMDP, objective: SetFunction, *, horizon: int) -> SubRLResult:
    r"""The optimal value over policies that see the *ordered* history, by backward induction on the
    tree of state sequences.

    .. math::
        V_H(h) = 0,\qquad
        V_t(h) = \max_a \sum_{s'} P(s' \mid s_t, a)\,\big[F(s' \mid X(h)) + V_{t+1}(h s')\big],
        \qquad J^\star_{\text{hist}} = \sum_{s_0} d_0(s_0)\big[F(\{s_0\}) + V_0(s_0)\big],

    over the sequences ``h = (s_0, ..., s_t)`` (``X(h)`` their set, ``h s'`` the extension). Actions
    are a deterministic function of the states, so conditioning on ``(s_0, ..., s_t)`` loses nothing
    against the full history with the actions; and a deterministic policy is optimal (finite-horizon
    backward induction, Puterman 1994, Thm 4.4.2, on the MDP whose states are the sequences).
    Since ``(s_t, X(h))`` is a sufficient statistic for ``F`` and the dynamics, this equals
    :func:`subrl_dp` (tested); computing it on the sequences, ``S^(H+1)`` of them, checks the
    visited-set DP by a different route. Cost ``O(S^(H+2) A)``; ``S^(H+1) <= 2,000,000``.

    Returns
    -------
    SubRLResult
        ``policy[t, history_index((s_0, ..., s_t))]`` the optimal action (entries beyond
        ``S^(t+1)`` unused, ``0``).

    Examples
    --------
    >>> from theory_rl.envs import random_mdp
    >>> from theory_rl.submodular import WeightedCoverage, subrl_dp, subrl_history
    >>> mdp, F = random_mdp(3, 2, seed=0), WeightedCoverage([[1, 0], [0, 1], [1, 1]], weights=[1.0, 2.0])
    >>> res = subrl_history(mdp, F, horizon=2)  # one row per sequence (s_0, s_1): 3^2 of them
    >>> res.policy.shape, abs(res.value - subrl_dp(mdp, F, horizon=2).value) < 1e-12
    ((2, 9), True)
    """
    start = time.perf_counter()
    P, d0, horizon = _setup(mdp, objective, horizon)
    S = P.shape[0]
    _check_histories(S, horizon)
    values = _set_values(objective)
    # level t holds the S^(t+1) sequences (s_0..s_t): last state and visited-set code of each
    last = [np.arange(S)]
    visited = [np.left_shift(1, np.arange(S))]
    for _ in range(horizon):
        last.append(np.tile(np.arange(S), len(last[-1])))
        visited.append((visited[-1][:, None] | np.left_shift(1, np.arange(S))[None, :]).ravel())
    V = np.zeros(S ** (horizon + 1))
    policy = np.zeros((horizon, S**horizon), dtype=np.int64)
    for t in reversed(range(horizon)):
        X = visited[t]
        children = visited[t + 1].reshape(len(X), S)  # X | {s'} for each s'
        G = values[children] - values[X][:, None] + V.reshape(len(X), S)  # (n_t, S')
        Q = np.einsum("hak,hk->ha", P[last[t]], G)
        policy[t, : len(X)] = Q.argmax(axis=1)
        V = Q.max(axis=1)
    value = float(d0 @ (values[visited[0]] + V))
    return SubRLResult(value=value, policy=policy, n_evaluated=sum(len(v) for v in visited[:-1]),
                       method="subrl_history", params={"horizon": horizon}, elapsed=time.perf_counter() - start)


def subrl_greedy(mdp: FiniteMDP, objective: SetFunction, *, horizon: int) -> SubRLResult:
    r"""The value of the greedy policy: at ``(s, X)`` take the action of largest expected
    immediate marginal gain,

    .. math:: a(s, X) = \arg\max_a \sum_{s'} P(s' \mid s, a)\, F(s' \mid X)

    (ties to the lowest action). In a "bandit" MDP where the action picks the next state
    (``P(. | s, a) = delta_a``) this is the classic greedy algorithm with ``H`` additions, so for
    monotone submodular ``F`` its value is at least ``(1 - 1/e)`` of :func:`subrl_dp`'s
    (Nemhauser, Wolsey & Fisher 1978; the bandit case of Prajapat et al. 2024, arXiv:2307.13372).
    In general MDPs greedy has no constant-factor guarantee.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import gridworld
    >>> from theory_rl.submodular import Modular, subrl_dp, subrl_greedy
    >>> mdp = gridworld(2, 2, goal=[], obstacles=None).replace(d0=[1, 0, 0, 0])
    >>> subrl_greedy(mdp, Modular(np.ones(4)), horizon=3).value
    4.0
    """
    start = time.perf_counter()
    P, d0, horizon = _setup(mdp, objective, horizon)
    values = _set_values(objective)
    S = P.shape[0]
    gain = values[_grown(S)] - values[:, None]  # (2^S, S)
    policy = np.einsum("sak,xk->sxa", P, gain).argmax(axis=2)
    value = _forward(P, d0, values, _policy_probs(policy, S, P.shape[1], horizon), horizon)
    return SubRLResult(value=value, policy=policy, n_evaluated=S * 2**S, method="subrl_greedy",
                       params={"horizon": horizon}, elapsed=time.perf_counter() - start)


def _reachable(P: np.ndarray, d0: np.ndarray, horizon: int) -> np.ndarray:
    reach = np.zeros((horizon, P.shape[0]), dtype=bool)
    reach[0] = d0 > 0
    for t in range(1, horizon):
        reach[t] = (P[reach[t - 1]] > 0).any(axis=(0, 1))
    return reach


def subrl_markov(mdp: FiniteMDP, objective: SetFunction, *, horizon: int, max_policies: int = 100_000) -> SubRLResult:
    r"""The optimal value over Markov policies on ``(s, t)`` (the policy class of SubPO), by enumeration.

    Each pair ``(s, t)`` occurs at most once on a trajectory, so ``J(pi)`` is multilinear in the
    distributions ``pi(. | s, t)`` and its maximum over stochastic Markov policies is attained at
    a deterministic one: enumerating the ``A^m`` deterministic choices at the ``m`` reachable pairs
    is exact. ``J_history >= J_markov >= J`` of any Markov policy.

    Parameters
    ----------
    max_policies : int
        Refuse (``InvalidArgumentError``) when ``A^m`` exceeds this.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import gridworld
    >>> from theory_rl.submodular import Modular, subrl_markov
    >>> mdp = gridworld(2, 2, goal=[], obstacles=None).replace(d0=[1, 0, 0, 0])
    >>> subrl_markov(mdp, Modular(np.ones(4)), horizon=3).value
    4.0
    """
    start = time.perf_counter()
    P, d0, horizon = _setup(mdp, objective, horizon)
    max_policies = check_int(max_policies, "max_policies")
    values = _set_values(objective)
    S, A = P.shape[0], P.shape[1]
    reach = _reachable(P, d0, horizon)
    pairs = np.argwhere(reach)
    n = A ** len(pairs)
    if n > max_policies:
        raise InvalidArgumentError(f"{A}^{len(pairs)} = {n} Markov policies exceed max_policies = {max_policies}")
    best, best_policy = -np.inf, np.zeros((horizon, S), dtype=np.int64)
    for choice in itertools.product(range(A), repeat=len(pairs)):
        pol = np.zeros((horizon, S), dtype=np.int64)
        if len(pairs):
            pol[pairs[:, 0], pairs[:, 1]] = choice
        v = _forward(P, d0, values, _policy_probs(pol, S, A, horizon), horizon)
        if v > best + 1e-12:
            best, best_policy = v, pol
    return SubRLResult(value=float(best), policy=best_policy, n_evaluated=n, method="subrl_markov",
                       params={"horizon": horizon, "max_policies": max_policies}, elapsed=time.perf_counter() - start)


def subrl_brute_force(mdp: FiniteMDP, objective: SetFunction, *, horizon: int,
                      max_policies: int = 1_000_000) -> SubRLResult:
    r"""The optimal SubRL value of a *deterministic* MDP by enumerating open-loop action sequences.

    .. math:: J^\star = \sum_{s_0} d_0(s_0) \max_{a_{0:H-1} \in \mathcal A^H} F(\{s_0, s_1, \dots, s_H\}),
              \qquad s_{t+1} = \text{next}(s_t, a_t).

    With deterministic transitions open-loop sequences lose nothing, so this equals
    :func:`subrl_dp` (an independent check of it). Does not need ``S <= 16`` for the sets, only
    ``A^H <= max_policies``.

    Raises
    ------
    InvalidModelError
        When some ``P[s, a, :]`` is not a point mass.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.envs import gridworld
    >>> from theory_rl.submodular import Modular, subrl_brute_force
    >>> mdp = gridworld(2, 2, goal=[], obstacles=None).replace(d0=[1, 0, 0, 0])
    >>> subrl_brute_force(mdp, Modular(np.ones(4)), horizon=3).value
    4.0
    """
    start = time.perf_counter()
    P, d0, horizon = _setup(mdp, objective, horizon)
    max_policies = check_int(max_policies, "max_policies")
    S, A = P.shape[0], P.shape[1]
    if not np.all(np.isclose(P.max(axis=2), 1.0)):
        s, a = np.argwhere(~np.isclose(P.max(axis=2), 1.0))[0]
        raise InvalidModelError(f"P[{s}, {a}, :] is not a point mass: brute force needs deterministic transitions")
    if A**horizon > max_policies:
        raise InvalidArgumentError(f"{A}^{horizon} action sequences exceed max_policies = {max_policies}")
    nxt = P.argmax(axis=2)
    seqs = np.array(list(itertools.product(range(A), repeat=horizon)), dtype=np.int64).reshape(-1, horizon)
    best_seq = np.zeros((S, horizon), dtype=np.int64)
    value = 0.0
    for s0 in np.flatnonzero(d0 > 0):
        states = np.empty((len(seqs), horizon + 1), dtype=np.int64)
        states[:, 0] = s0
        for t in range(horizon):
            states[:, t + 1] = nxt[states[:, t], seqs[:, t]]
        masks = np.zeros((len(seqs), S), dtype=bool)
        masks[np.arange(len(seqs))[:, None], states] = True
        f = np.asarray(objective.value(masks))
        i = int(np.argmax(f))
        best_seq[s0] = seqs[i]
        value += d0[s0] * f[i]
    return SubRLResult(value=float(value), policy=best_seq, n_evaluated=len(seqs) * int((d0 > 0).sum()),
                       method="subrl_brute_force", params={"horizon": horizon, "max_policies": max_policies},
                       elapsed=time.perf_counter() - start)


