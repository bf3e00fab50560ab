r"""Finite model classes of trajectory laws and exact planning on the history tree, shared by
UMT-PSR (:func:`theory_rl.pomdp.umt_psr`) and OMLE (:func:`theory_rl.pomdp.omle`).

A model is its table of trajectory probabilities ``P_theta(tau_H) = P(o_{1:H} | do a_{1:H})`` over
all ``(A O)^H`` trajectories in Cassandra's order ``(a_1, o_1, ..., a_H, o_H)``; a deterministic
history-dependent policy is planned exactly by the max-sum recursion

.. math:: V(\tau_h) = \max_a \sum_o V(\tau_h, a, o), \qquad V(\tau_H) = \text{leaf}(\tau_H).

Also here: the exploration policies ``nu_{n,h}`` both algorithms run (Huang, Cheng, Yang, Tan, Liang,
ICLR 2024, arXiv 2310.13550; Liu, Netrapalli, Szepesvari, Jin 2022, arXiv 2209.14997) and their
shared argument checks.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._result import Result, TraceHistoryMixin
from .._validation import as_float_array, check_int, check_real
from ..errors import InvalidModelError
from ..models import POMDP
from ._forward import enumerate_trajectories, trajectory_probability
from ._psr import PSR

__all__ = [
    "FiniteJointClass",
    "TreePolicy",
    "evaluate_tree_policy",
    "history_tree_max",
    "max_tv_policy",
    "plan_on_history_tree",
]

#: A deterministic history-dependent policy: ``policy[h][code]`` is the action after the history of
#: length ``h`` whose index (lexicographic in ``(a_1, o_1, ..., a_h, o_h)``) is ``code``.
TreePolicy = tuple[np.ndarray, ...]


# ---------------------------------------------------------------------------------------------
# the history tree
def history_tree_max(leaf: np.ndarray, n_actions: int, n_observations: int) -> tuple[np.ndarray, TreePolicy]:
    r"""``max_pi sum_tau pi(tau) leaf(tau)`` over deterministic history-dependent policies.

    .. math:: V(\tau_h) = \max_a \sum_o V(\tau_h, a, o), \qquad V(\tau_H) = \text{leaf}(\tau_H)

    Parameters
    ----------
    leaf : ndarray, shape (..., (A O)^H)
        Leaf payoffs in :func:`enumerate_trajectories` order, batched over leading axes.

    Returns
    -------
    value : ndarray, shape (...)
    policy : tuple of H int arrays, ``policy[h]`` of shape (..., (A O)^h)

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> table = pomdp.trajectory_probability(tiger, *pomdp.enumerate_trajectories(3, 2, 2))
    >>> value, policy = pomdp.history_tree_max(table, 3, 2)
    >>> print(f"{float(value):.4f}")
    1.0000
    >>> len(policy)
    2
    """
    A, O = n_actions, n_observations  # noqa: E741
    x = np.asarray(leaf, dtype=np.float64)
    H = round(math.log(x.shape[-1], A * O)) if A * O > 1 else 0
    if (A * O) ** H != x.shape[-1]:
        raise InvalidModelError(f"leaf has {x.shape[-1]} entries, not (A*O)^H for A*O = {A * O}")
    lead = x.shape[:-1]
    policy: list[np.ndarray] = [np.empty(0, dtype=np.intp)] * H
    for h in range(H - 1, -1, -1):
        q = x.reshape(*lead, (A * O) ** h, A, O).sum(axis=-1)
        policy[h] = q.argmax(axis=-1)
        x = q.max(axis=-1)
    return x.reshape(lead), tuple(policy)


def _prefix_codes(n_actions: int, n_observations: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """For every trajectory: its actions ``(n, H)`` and the index of each length-``h`` prefix ``(n, H)``."""
    a, o = enumerate_trajectories(n_actions, n_observations, horizon)
    codes = np.zeros_like(a)
    for h in range(1, horizon):
        codes[:, h] = codes[:, h - 1] * n_actions * n_observations + a[:, h - 1] * n_observations + o[:, h - 1]
    return a, codes


def _policy_mask(policy: TreePolicy, n_actions: int, n_observations: int) -> np.ndarray:
    """``1[tau is consistent with the deterministic policy]`` over all trajectories."""
    H = len(policy)
    a, codes = _prefix_codes(n_actions, n_observations, H)
    mask = np.ones(a.shape[0], dtype=bool)
    for h in range(H):
        mask &= a[:, h] == np.asarray(policy[h])[codes[:, h]]
    return mask


def _trajectory_rewards(reward: np.ndarray, horizon: int) -> np.ndarray:
    """``R(tau) = sum_h r[a_h, o_h]`` over all trajectories."""
    A, O = reward.shape  # noqa: E741
    a, o = enumerate_trajectories(A, O, horizon)
    return reward[a, o].sum(axis=1)


def max_tv_policy(p: np.ndarray, q: np.ndarray, n_actions: int, n_observations: int) -> tuple[float, TreePolicy]:
    r"""``max_pi TV(P^pi, Q^pi)`` for two trajectory tables and a maximising deterministic policy
    (leaf payoff ``|p - q| / 2``; the policy weights ``pi(tau) = prod_h pi(a_h | tau_{h-1})`` multiply both laws).

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> acts, obs = pomdp.enumerate_trajectories(3, 2, 2)
    >>> p = pomdp.trajectory_probability(tiger, acts, obs)
    >>> tv, policy = pomdp.max_tv_policy(p, p, 3, 2)
    >>> float(tv)
    0.0
    """
    value, pol = history_tree_max(0.5 * np.abs(np.asarray(p) - np.asarray(q)), n_actions, n_observations)
    return float(value), pol


def evaluate_tree_policy(table: np.ndarray, reward: np.ndarray, policy: TreePolicy) -> float:
    """``V^pi = sum_tau pi(tau) P(tau) R(tau)`` of a deterministic tree policy.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> table = pomdp.trajectory_probability(tiger, *pomdp.enumerate_trajectories(3, 2, 2))
    >>> reward = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> value, policy = pomdp.plan_on_history_tree(table, reward)
    >>> bool(np.isclose(pomdp.evaluate_tree_policy(table, reward, policy), value))
    True
    """
    r = as_float_array(reward, "reward", ndim=2)
    A, O = r.shape  # noqa: E741
    mask = _policy_mask(policy, A, O)
    return float((np.asarray(table)[mask] * _trajectory_rewards(r, len(policy))[mask]).sum())


# ---------------------------------------------------------------------------------------------
# model classes
@dataclass(frozen=True, eq=False, repr=False)
class FiniteJointClass:
    r"""A finite joint model class ``Theta_u`` for ``N`` tasks.

    Parameters
    ----------
    tables : sequence of N arrays, ``tables[n]`` of shape (K_n, (A O)^H)
        Trajectory probabilities ``P_c(tau_H)`` of task ``n``'s candidate models ``c``.
    members : array_like of int, shape (M, N)
        Joint model ``m`` uses candidate ``members[m, n]`` for task ``n``.
    n_actions, n_observations : int
    core_actions : sequence of H + 1 tuples of action tuples, optional
        ``core_actions[h]``: the action sequences used after a history of length ``h`` by the
        exploration policies (default: every action sequence of length ``H - h``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> noisy = np.full_like(tiger.O, 0.5)
    >>> cls, _ = pomdp.shared_dynamics_class([tiger.T], [[tiger.O, noisy]], horizon=2, b0=tiger.b0)
    >>> type(cls).__name__, cls.members.tolist(), cls.tables[0].shape
    ('FiniteJointClass', [[0], [1]], (2, 36))
    """

    tables: tuple[np.ndarray, ...]
    members: np.ndarray
    n_actions: int
    n_observations: int
    core_actions: tuple[tuple[tuple[int, ...], ...], ...] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        A, O = int(self.n_actions), int(self.n_observations)  # noqa: E741
        if A < 1 or O < 1:
            raise InvalidModelError(f"n_actions = {A} and n_observations = {O} must be >= 1")
        tables = tuple(as_float_array(t, f"tables[{n}]", ndim=2) for n, t in enumerate(self.tables))
        if not tables:
            raise InvalidModelError("a joint class needs at least one task")
        width = tables[0].shape[1]
        H = round(math.log(width, A * O)) if A * O > 1 else 0
        if (A * O) ** H != width or any(t.shape[1] != width for t in tables):
            raise InvalidModelError(f"every table needs (A*O)^H columns; got {[t.shape for t in tables]}")
        for n, t in enumerate(tables):
            if t.min() < 0:
                raise InvalidModelError(f"tables[{n}] has a negative probability")
            t.setflags(write=False)
        members = np.asarray(self.members)
        if members.ndim != 2 or members.shape[1] != len(tables) or members.shape[0] == 0:
            raise InvalidModelError(f"members must have shape (M >= 1, N = {len(tables)}), got {members.shape}")
        if not np.issubdtype(members.dtype, np.integer):
            raise InvalidModelError("members must hold integer candidate indices")
        for n, t in enumerate(tables):
            if members[:, n].min() < 0 or members[:, n].max() >= t.shape[0]:
                raise InvalidModelError(f"members[:, {n}] indexes outside task {n}'s {t.shape[0]} candidates")
        members = np.ascontiguousarray(members, dtype=np.intp)
        members.setflags(write=False)
        core = self.core_actions
        if core is None:
            core = tuple(tuple(itertools.product(range(A), repeat=H - h)) for h in range(H + 1))
        core = tuple(tuple(tuple(int(x) for x in seq) for seq in level) for level in core)
        if len(core) != H + 1 or any(not level for level in core):
            raise InvalidModelError(f"core_actions needs a non-empty set for each h = 0..{H}")
        for h, level in enumerate(core):
            for seq in level:
                if len(seq) > H - h or any(not 0 <= x < A for x in seq):
                    raise InvalidModelError(f"core_actions[{h}] has an invalid sequence {seq}")
        set_(self, "tables", tables)
        set_(self, "members", members)
        set_(self, "n_actions", A)
        set_(self, "n_observations", O)
        set_(self, "core_actions", core)

    @property
    def n_tasks(self) -> int:
        """``N``."""
        return len(self.tables)

    @property
    def horizon(self) -> int:
        """``H``."""
        AO = self.n_actions * self.n_observations
        return round(math.log(self.tables[0].shape[1], AO)) if AO > 1 else 0

    @property
    def size(self) -> int:
        """``|Theta_u|`` (an upper bound on its eta-bracketing number for every eta)."""
        return self.members.shape[0]

    def __repr__(self) -> str:
        return (f"FiniteJointClass(N={self.n_tasks}, |Theta|={self.size}, H={self.horizon}, "
                f"candidates per task={[t.shape[0] for t in self.tables]})")

    @classmethod
    def from_models(cls, joint_models: Sequence[Sequence[POMDP | PSR]], horizon: int) -> FiniteJointClass:
        """Build the class from a list of joint models (each a sequence of ``N`` POMDPs or PSRs).

        Task models that are the same Python object are tabulated once. Core action sequences are
        the union over candidates of their core tests (:meth:`PSR.from_pomdp`).
        """
        joint = [tuple(m) for m in joint_models]
        if not joint or len({len(m) for m in joint}) != 1:
            raise InvalidModelError("joint_models must be a non-empty list of equally long task-model sequences")
        N = len(joint[0])
        first = joint[0][0]
        A, O = first.n_actions, first.n_observations  # noqa: E741
        uniq: list[dict[int, int]] = [{} for _ in range(N)]
        objs: list[list[Any]] = [[] for _ in range(N)]
        members = np.empty((len(joint), N), dtype=np.intp)
        for i, m in enumerate(joint):
            for n, model in enumerate(m):
                if (model.n_actions, model.n_observations) != (A, O):
                    raise InvalidModelError(
                        f"joint model {i}, task {n} has (A, O) = {(model.n_actions, model.n_observations)}, "
                        f"expected {(A, O)}"
                    )
                key = id(model)
                if key not in uniq[n]:
                    uniq[n][key] = len(objs[n])
                    objs[n].append(model)
                members[i, n] = uniq[n][key]
        a, o = enumerate_trajectories(A, O, horizon)
        tables, core = [], [set() for _ in range(horizon + 1)]
        for n in range(N):
            rows = []
            for model in objs[n]:
                psr = model if isinstance(model, PSR) else PSR.from_pomdp(model, horizon)
                if isinstance(model, PSR):
                    rows.append(model.trajectory_probability(a, o))
                else:
                    rows.append(trajectory_probability(model, a, o))
                if psr.core_tests is None:
                    for h in range(horizon + 1):
                        core[h].update(itertools.product(range(A), repeat=horizon - h))
                else:
                    for h in range(horizon + 1):
                        core[h].update(tuple(x for x, _ in q) for q in psr.core_tests[h])
            tables.append(np.array(rows))
        return cls(tuple(tables), members, A, O, tuple(tuple(sorted(c)) for c in core))


@dataclass(frozen=True, repr=False)
class LikelihoodSetResult(TraceHistoryMixin, Result):
    """The fields OMLE and UMT-PSR results share: ``model_index`` (the maximum-likelihood member of
    the final confidence set), ``confidence_set`` (indices of ``B_{K+1}``), the per-iteration
    ``trace`` and the confidence radius ``beta``."""

    model_index: int
    confidence_set: np.ndarray
    trace: list[dict[str, Any]]
    beta: float


# ---------------------------------------------------------------------------------------------
# planning and simulation
def plan_on_history_tree(table: np.ndarray, reward: Any) -> tuple[float, TreePolicy]:
    r"""Exact planning on the history tree: ``max_pi V^pi`` with ``V^pi = sum_tau pi(tau) P(tau) R(tau)``.

    Returns the optimal value and a deterministic optimal policy.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> table = pomdp.trajectory_probability(tiger, *pomdp.enumerate_trajectories(3, 2, 2))
    >>> reward = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> value, policy = pomdp.plan_on_history_tree(table, reward)
    >>> print(f"{value:.4f}")
    1.0000
    >>> print(f"{pomdp.evaluate_tree_policy(table, reward, policy):.4f}")
    1.0000
    """
    r = as_float_array(reward, "reward", ndim=2)
    A, O = r.shape  # noqa: E741
    H = round(math.log(np.shape(table)[-1], A * O)) if A * O > 1 else 0
    value, pol = history_tree_max(np.asarray(table) * _trajectory_rewards(r, H), A, O)
    return float(value), pol


@dataclass(frozen=True)
class _Sampler:
    """Cumulative tables of a true POMDP, for drawing episodes one step at a time."""

    T_cum: np.ndarray
    O_cum: np.ndarray
    b_cum: np.ndarray

    @classmethod
    def of(cls, model: POMDP) -> _Sampler:
        return cls(np.cumsum(model.transition_dense(), axis=2), np.cumsum(model.O, axis=2), np.cumsum(model.b0))

    def episode(self, rng: np.random.Generator, choose: Callable[[int, int], int], horizon: int) -> int:
        """Run one episode; ``choose(h, code)`` gives the action after history ``code`` of length ``h``.
        Returns the trajectory's index."""
        O = self.O_cum.shape[2]  # noqa: E741
        A = self.O_cum.shape[0]

        def draw(cum: np.ndarray) -> int:
            return int(min(np.searchsorted(cum, rng.random(), side="right"), cum.shape[0] - 1))

        s, code = draw(self.b_cum), 0
        for h in range(horizon):
            a = choose(h, code)
            s = draw(self.T_cum[s, a])
            o = draw(self.O_cum[a, s])
            code = code * A * O + a * O + o
        return code


def _explore(
    sampler: _Sampler, policy: TreePolicy, h_star: int, cls: FiniteJointClass, rng: np.random.Generator
) -> int:
    """One episode of ``nu_h``: ``policy`` before step ``h_star`` (1-based), uniform at ``h_star``,
    then a uniformly drawn core action sequence for histories of length ``h_star``, then uniform."""
    A, H = cls.n_actions, cls.horizon
    level = cls.core_actions[h_star]
    seq = level[int(rng.integers(len(level)))]

    def choose(h: int, code: int) -> int:
        if h < h_star - 1:
            return int(policy[h][code])
        if h == h_star - 1:
            return int(rng.integers(A))
        k = h - h_star
        return seq[k] if k < len(seq) else int(rng.integers(A))

    return sampler.episode(rng, choose, H)


def _default_beta(iterations: int, horizon: int, n_tasks: int, size: int, delta: float) -> float:
    return math.log(iterations * max(horizon, 1) * n_tasks * size / delta)


def _check_run_args(max_iter: int, delta: float) -> tuple[int, float]:
    return (check_int(max_iter, "max_iter", minimum=1),
            check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True))


def _check_rewards(rewards: Sequence[Any], N: int, A: int, O: int) -> list[np.ndarray]:  # noqa: E741
    if len(rewards) != N:
        raise InvalidModelError(f"need {N} reward tables (one per task), got {len(rewards)}")
    out = []
    for n, r in enumerate(rewards):
        r = as_float_array(r, f"rewards[{n}]", ndim=2)
        if r.shape != (A, O):
            raise InvalidModelError(f"rewards[{n}] has shape {r.shape}, expected (A, O) = ({A}, {O})")
        out.append(r)
    return out
