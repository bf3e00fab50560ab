r"""UMT-PSR: upstream multi-task learning of PSRs/POMDPs with a finite joint model class, and
downstream OMLE on the reduced class (Huang, Cheng, Yang, Tan, Liang, ICLR 2024, "Provable Benefits
of Multi-task RL under Non-Markovian Decision Making Processes", arXiv 2310.13550; OMLE: Liu,
Netrapalli, Szepesvari, Jin 2022, arXiv 2209.14997).

Setting (spec ``pomdp_psr_and_theory.md`` 1.4). ``N`` tasks share ``A``, ``O`` and the horizon
``H``; a joint model ``theta = (theta_1, ..., theta_N)`` gives each task a law of trajectories
``P_{theta_n}(tau_H) = P(o_{1:H} | do a_{1:H})``. Under a policy ``pi`` the trajectory law is
``P^pi_theta(tau) = P_theta(tau) prod_h pi(a_h | tau_{h-1})``. Trajectories here use Cassandra's
order ``(a_1, o_1, ..., a_H, o_H)``, and the per-task reward of a trajectory is
``R_n(tau) = sum_h r_n[a_h, o_h]`` (observable rewards, so that planning needs only ``P_theta``).

Upstream algorithm, exactly as implemented (one iteration ``k = 1..K``):

1. Optimistic planning. ``(theta, theta', pi_1..pi_N) = argmax_{theta, theta' in B_k, pi_n}
   sum_n TV(P^{pi_n}_{theta_n}, P^{pi_n}_{theta'_n})``. For a fixed pair the sum separates over
   tasks, and ``max_pi TV(P^pi_theta, P^pi_theta')`` is a max-sum recursion on the history tree
   (leaves ``|P_theta(tau) - P_theta'(tau)| / 2``, observations summed, actions maximised; a
   deterministic history-dependent policy attains it). The per-task tables are computed once; the
   maximum over pairs in ``B_k x B_k`` is an exact enumeration.
2. Exploration. For every task ``n`` and step ``h = 1..H`` one episode of the policy
   ``nu_{n,h}``: ``pi_n`` for steps ``< h``, a uniform action at step ``h``, then a uniformly drawn
   action sequence of a core test of the class for histories of length ``h`` (the union of the
   candidates' ``Q^A_h``), then uniform actions to the end of the episode.
3. Confidence set. ``B_{k+1} = {theta in Theta_u : sum_n sum_{tau in D_n} log P_{theta_n}(tau) >=
   max_{theta''} (same) - beta}`` (the policy factors cancel).

Output: the maximum-likelihood ``theta_bar in B_{K+1}`` and ``pi_bar_n = argmax_pi V^pi_{theta_bar_n,
R_n}`` by exact planning on the history tree.

Default ``beta = log(K H N |Theta_u| / delta)``: the paper's ``c log(K H N N_eta / delta)`` with the
bracketing number of a finite class bounded by its size and ``c = 1`` (the paper's constant is not
verified; pass ``beta`` to change it).

Cost and limits: everything is exact, so the history tree has ``(A O)^H`` leaves and the pair
search costs ``|B_k|^2 N`` per iteration: keep ``(A O)^H <= 10^5`` and ``|Theta_u| <= a few
thousand`` (the joint class is listed explicitly). Deviations from the paper: none in the
algorithm; the paper allows infinite classes with an MLE oracle and bracketing numbers, which this
finite-class implementation does not cover; the exploration's "core action sequence" set is the
union over the class of the core tests found by :meth:`PSR.from_pomdp` (each candidate's own
``Q^A_h``), which contains the paper's ``Q^A_{h+1}`` when the class shares core tests.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._result import Result, TraceHistoryMixin
from .._validation import as_float_array, check_int, check_real, rng_from_seed
from ..errors import InvalidModelError
from ..models import POMDP
from ._forward import enumerate_trajectories, trajectory_probability
from ._psr import PSR

__all__ = [
    "FiniteJointClass",
    "UMTPSRResult",
    "OMLEResult",
    "shared_dynamics_class",
    "history_tree_max",
    "max_tv_policy",
    "plan_on_history_tree",
    "evaluate_tree_policy",
    "umt_psr",
    "omle",
    "umt_psr_downstream",
    "future_m_vectors",
    "well_conditioning_gamma",
    "bracketing_cover",
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
    (leaf payoff ``|p - q| / 2``; the policy weights ``pi(tau) = prod_h pi(a_h | tau_{h-1})`` multiply both laws)."""
    value, pol = history_tree_max(0.5 * np.abs(np.asarray(p) - np.asarray(q)), n_actions, n_observations)
    return float(value), pol


def evaluate_tree_policy(table: np.ndarray, reward: np.ndarray, policy: TreePolicy) -> float:
    """``V^pi = sum_tau pi(tau) P(tau) R(tau)`` of a deterministic tree policy."""
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


def shared_dynamics_class(
    transitions: Sequence[Any], emissions: Sequence[Sequence[Any]], *, horizon: int, b0: Any = None
) -> tuple[FiniteJointClass, list[list[POMDP]]]:
    r"""The paper's example: ``N`` POMDPs that share the transition kernel, with task-specific
    emissions. ``Theta_u = {(T, O_1, ..., O_N) : T in transitions, O_n in emissions[n]}``, of size
    ``|transitions| prod_n |emissions[n]|`` (listed explicitly: keep it to a few thousand).

    Returns
    -------
    (cls, candidates)
        ``candidates[n][t * K_n + j]`` is the POMDP ``(transitions[t], emissions[n][j])``, the
        candidate index used in ``cls.members``.
    """
    Ts = [as_float_array(T, f"transitions[{i}]", ndim=3) for i, T in enumerate(transitions)]
    if not Ts or not emissions:
        raise InvalidModelError("need at least one transition kernel and one task")
    S, A = Ts[0].shape[:2]
    cands = [[POMDP(T, E, np.zeros((S, A)), 1.0, b0=b0) for T in Ts for E in task] for task in emissions]
    K = [len(task) for task in emissions]
    rows = [
        [t * K[n] + j for n, j in enumerate(choice)]
        for t in range(len(Ts))
        for choice in itertools.product(*(range(k) for k in K))
    ]
    joint = [[cands[n][r[n]] for n in range(len(K))] for r in rows]
    return FiniteJointClass.from_models(joint, horizon), cands


# ---------------------------------------------------------------------------------------------
# PSR conditioning and bracketing
def future_m_vectors(psr: PSR, h: int) -> np.ndarray:
    r"""``m(omega)`` for every future ``omega`` of length ``H - h`` after a history of length ``h``:
    ``m(omega)^T = phi_H^T M_H(a_H, o_H) ... M_{h+1}(a_{h+1}, o_{h+1})``, so that
    ``P(omega | tau_h) = m(omega)^T psi(tau_h)``.

    Returns
    -------
    ndarray, shape ((A O)^(H-h), d_h), futures in :func:`enumerate_trajectories` order.
    """
    H = psr.horizon
    if not 0 <= h <= H:
        raise InvalidModelError(f"h = {h} is outside [0, {H}]")
    m = psr.normalizers[H][None, :]
    for step in range(H, h, -1):
        M = psr.operators[step - 1]  # (A, O, d_step, d_{step-1})
        m = np.einsum("aoji,wj->aowi", M, m).reshape(-1, M.shape[3])
    return m


def well_conditioning_gamma(psr: PSR) -> float:
    r"""The largest ``gamma`` for which the PSR is gamma-well-conditioned (spec 1.1, from OMLE, Liu et
    al. 2022; the assumption of UMT-PSR), by brute force on the history tree:

    .. math::
        \max_\pi \sum_\omega \pi(\omega) |m(\omega)^	op x| \le \|x\|_1 / \gamma, \qquad
        \max_a \sum_o \|M_{h+1}(a, o)\, x\|_1 \le \|x\|_1 / \gamma

    for every ``h`` and ``x``. Both left sides are convex and positively homogeneous in ``x``, so
    the worst ``x`` on the l1 sphere is an extreme point ``+-e_i``; the maximum over policies is a
    max-sum recursion over the futures (:func:`history_tree_max`). (The action is chosen before
    its observation here, Cassandra's order, so the second condition maximises over ``a``.) The
    value depends on the PSR's coordinates, not only on its law. Cost ``O(H (A O)^H d)``.
    """
    A, O, H = psr.n_actions, psr.n_observations, psr.horizon  # noqa: E741
    worst = 0.0
    for h in range(H + 1):
        m = np.abs(future_m_vectors(psr, h))  # (futures, d_h)
        if H - h > 0:
            values, _ = history_tree_max(m.T, A, O)
        else:
            values = m[0]
        worst = max(worst, float(values.max()))
        if h < H:
            col_l1 = np.abs(psr.operators[h]).sum(axis=2)  # (A, O, d_h): ||M(a, o) e_i||_1
            worst = max(worst, float(col_l1.sum(axis=1).max()))
    return 1.0 / worst if worst > 0 else float("inf")


def bracketing_cover(cls: FiniteJointClass, eta: float) -> list[np.ndarray]:
    r"""A greedy eta-bracket cover of a finite joint class (spec 1.3): groups of members whose bracket
    ``l = min, u = max`` (pointwise over trajectories, per task) has
    ``||u - l||_\infty^p = max_pi sum_n sum_tau (u_n - l_n)(tau) pi(tau) <= eta``.

    The number of groups is an upper bound on the bracketing number ``N_eta`` (a cover, not
    necessarily a minimum one) and at most ``|Theta_u|`` (singletons have width 0). Cost
    ``O(|Theta_u|^2 N (A O)^H)``: meant for classes of up to a few hundred members.
    """
    if not (isinstance(eta, (int, float)) and eta >= 0):
        raise InvalidModelError(f"eta must be >= 0, got {eta!r}")
    A, O = cls.n_actions, cls.n_observations  # noqa: E741
    funcs = np.stack([cls.tables[n][cls.members[:, n]] for n in range(cls.n_tasks)], axis=1)  # (M, N, W)
    free = np.ones(cls.size, dtype=bool)
    groups = []
    while free.any():
        first = int(np.argmax(free))
        free[first] = False
        group, lo, hi = [first], funcs[first].copy(), funcs[first].copy()
        while free.any():
            cand = np.flatnonzero(free)
            widths = (np.maximum(hi, funcs[cand]) - np.minimum(lo, funcs[cand])).sum(axis=1)  # (c, W)
            values, _ = history_tree_max(widths, A, O)
            ok = np.flatnonzero(values <= eta)
            if ok.size == 0:
                break
            j = int(cand[ok[0]])
            group.append(j)
            free[j] = False
            lo, hi = np.minimum(lo, funcs[j]), np.maximum(hi, funcs[j])
        groups.append(np.array(group))
    return groups


# ---------------------------------------------------------------------------------------------
# planning and simulation
def plan_on_history_tree(table: np.ndarray, reward: Any) -> tuple[float, TreePolicy]:
    r"""Exact planning on the history tree: ``max_pi V^pi`` with ``V^pi = sum_tau pi(tau) P(tau) R(tau)``.

    Returns the optimal value and a deterministic optimal policy.
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


# ---------------------------------------------------------------------------------------------
# results
@dataclass(frozen=True, repr=False)
class UMTPSRResult(TraceHistoryMixin, Result):
    """Output of :func:`umt_psr`.

    Attributes
    ----------
    model_index : int
        ``theta_bar``: the maximum-likelihood joint model in ``B_{K+1}`` (row of ``cls.members``).
    policies : tuple of TreePolicy
        ``pi_bar_n``, exact planning on ``theta_bar_n`` with reward ``R_n``.
    confidence_set : ndarray of int
        Indices of ``B_{K+1}``.
    trace : list of dict
        Per iteration ``k``: ``size`` (``|B_k|``), ``tv_sum`` (optimistic TV sum), ``mle``
        (maximum-likelihood index after the update), ``true_in_set`` / ``true_rank`` (when
        ``true_index`` was given: whether ``theta*`` is in ``B_{k+1}``, its likelihood rank).
    episodes_per_task : int
        ``K H``.
    beta : float
    """

    model_index: int
    policies: tuple[TreePolicy, ...]
    confidence_set: np.ndarray
    trace: list[dict[str, Any]]
    episodes_per_task: int
    beta: float

    _repr_fields = ("model_index", "episodes_per_task", "beta")


@dataclass(frozen=True, repr=False)
class OMLEResult(TraceHistoryMixin, Result):
    """Output of :func:`omle` (single task): ``model_index`` into the class, ``policy``, the final
    confidence set, per-iteration ``trace`` (``size``, ``optimistic_value``, ``mle``), episodes."""

    model_index: int
    policy: TreePolicy
    confidence_set: np.ndarray
    trace: list[dict[str, Any]]
    episodes: int
    beta: float

    _repr_fields = ("model_index", "episodes", "beta")


# ---------------------------------------------------------------------------------------------
# algorithms
@renamed_arguments(iterations="max_iter")
def umt_psr(
    tasks: Sequence[POMDP],
    cls: FiniteJointClass,
    *,
    rewards: Sequence[Any],
    max_iter: int,
    beta: float | None = None,
    delta: float = 0.1,
    seed: int | np.random.Generator | None = None,
    true_index: int | None = None,
) -> UMTPSRResult:
    r"""Upstream UMT-PSR on a finite joint model class (module docstring for the algorithm).

    Parameters
    ----------
    tasks : sequence of N POMDP
        The task simulators (the truth; only sampled from).
    cls : FiniteJointClass
        ``Theta_u`` (same ``A``, ``O``, ``N``).
    rewards : sequence of N arrays of shape (A, O)
        ``r_n[a, o]``; ``R_n(tau) = sum_h r_n[a_h, o_h]``.
    max_iter : int
        ``K``, the number of iterations (all are run), ``>= 1``; each runs ``H`` episodes per task.
        Called ``iterations`` before 0.2.0 (still accepted until 0.3.0, with a ``DeprecationWarning``).
    beta : float, optional
        Confidence radius (default ``log(K H N |Theta_u| / delta)``).
    delta : float
    seed : int or Generator
    true_index : int, optional
        Index of the true joint model in ``cls`` (only for the trace).

    Guarantee (Huang et al. 2024, upstream theorem; constants not verified): with probability
    ``>= 1 - delta`` the true model stays in every ``B_k`` and
    ``(1/N) sum_n (V*_n - V^{pi_bar_n}_n) <= epsilon`` once
    ``K >~ poly(r, A, U_A, H, 1/gamma) beta / (N epsilon^2)``; the polynomial is not reproduced
    here (recalled, spec 1.5 [R]), so no numeric bound is computed.
    """
    iterations, delta = _check_run_args(max_iter, delta)
    N, A, O, H = cls.n_tasks, cls.n_actions, cls.n_observations, cls.horizon  # noqa: E741
    if len(tasks) != N:
        raise InvalidModelError(f"the class has {N} tasks but {len(tasks)} simulators were given")
    for n, t in enumerate(tasks):
        if (t.n_actions, t.n_observations) != (A, O):
            raise InvalidModelError(f"task {n} has (A, O) = {(t.n_actions, t.n_observations)}, expected {(A, O)}")
    r = _check_rewards(rewards, N, A, O)
    rng = rng_from_seed(seed)
    beta = _default_beta(iterations, H, N, cls.size, delta) if beta is None else float(beta)
    samplers = [_Sampler.of(t) for t in tasks]

    # per-task pairwise max_pi TV between candidates, with maximising policies (static)
    tv, tv_pol = [], []
    for table in cls.tables:
        value, pol = history_tree_max(0.5 * np.abs(table[:, None, :] - table[None, :, :]), A, O)
        tv.append(value)
        tv_pol.append(pol)
    with np.errstate(divide="ignore"):
        logs = [np.log(t) for t in cls.tables]
    loglik_task = [np.zeros(t.shape[0]) for t in cls.tables]
    in_set = np.ones(cls.size, dtype=bool)
    trace: list[dict[str, Any]] = []
    loglik = np.zeros(cls.size)
    for k in range(iterations):
        idx = np.flatnonzero(in_set)
        best, pair = -1.0, (int(idx[0]), int(idx[0]))
        chunk = max(1, (1 << 22) // max(idx.size * N, 1))
        for start in range(0, idx.size, chunk):
            rows = idx[start : start + chunk]
            total = np.zeros((rows.size, idx.size))
            for n in range(N):
                total += tv[n][cls.members[rows, n][:, None], cls.members[idx, n][None, :]]
            flat = int(total.argmax())
            if total.flat[flat] > best:
                best = float(total.flat[flat])
                pair = (int(rows[flat // idx.size]), int(idx[flat % idx.size]))
        i, j = pair
        for n in range(N):
            ci, cj = cls.members[i, n], cls.members[j, n]
            pol = tuple(level[ci, cj] for level in tv_pol[n])
            for h_star in range(1, H + 1):
                code = _explore(samplers[n], pol, h_star, cls, rng)
                loglik_task[n] += logs[n][:, code]
        loglik = sum(loglik_task[n][cls.members[:, n]] for n in range(N))
        in_set = loglik >= loglik.max() - beta
        mle = int(np.argmax(loglik))
        entry: dict[str, Any] = {"iteration": k + 1, "size": int(idx.size), "tv_sum": best, "mle": mle}
        if true_index is not None:
            entry["true_in_set"] = bool(in_set[true_index])
            entry["true_rank"] = int((loglik > loglik[true_index]).sum())
        trace.append(entry)
    final = np.flatnonzero(in_set)
    mle = int(final[np.argmax(loglik[final])])
    policies = tuple(plan_on_history_tree(cls.tables[n][cls.members[mle, n]], r[n])[1] for n in range(N))
    return UMTPSRResult(model_index=mle, policies=policies, confidence_set=final, trace=trace,
                        episodes_per_task=iterations * H, beta=beta, method="umt_psr")


@renamed_arguments(iterations="max_iter")
def omle(
    task: POMDP,
    tables: Any,
    *,
    reward: Any,
    max_iter: int,
    beta: float | None = None,
    delta: float = 0.1,
    seed: int | np.random.Generator | None = None,
    core_actions: Sequence[Sequence[tuple[int, ...]]] | None = None,
) -> OMLEResult:
    r"""Single-task OMLE (Liu et al. 2022) on a finite class of trajectory tables.

    Iteration ``k``: ``(theta^k, pi^k) = argmax_{theta in B_k, pi} V^pi_theta`` (exact planning on the
    history tree for every candidate), ``H`` episodes of ``nu_h`` built on ``pi^k`` (as in
    :func:`umt_psr`), then ``B_{k+1}`` = candidates within ``beta`` of the maximum log-likelihood.
    Default ``beta = log(K H |Theta| / delta)``.

    Parameters
    ----------
    task : POMDP
        The simulator.
    tables : array_like, shape (K, (A O)^H)
        Candidate trajectory tables (e.g. ``FiniteJointClass.tables[0]``).
    reward : array_like, shape (A, O)
    max_iter, beta, delta, seed
        As in :func:`umt_psr` (``max_iter`` was ``iterations`` before 0.2.0).
    core_actions : optional
        As in :class:`FiniteJointClass` (default: all action sequences).
    """
    iterations, delta = _check_run_args(max_iter, delta)
    A, O = task.n_actions, task.n_observations  # noqa: E741
    cls = FiniteJointClass((tables,), np.arange(np.shape(tables)[0])[:, None], A, O, core_actions)
    (r,) = _check_rewards([reward], 1, A, O)
    H, K = cls.horizon, cls.size
    rng = rng_from_seed(seed)
    beta = _default_beta(iterations, H, 1, K, delta) if beta is None else float(beta)
    sampler = _Sampler.of(task)
    table = cls.tables[0]
    values, pols = history_tree_max(table * _trajectory_rewards(r, H), A, O)
    with np.errstate(divide="ignore"):
        logs = np.log(table)
    loglik = np.zeros(K)
    in_set = np.ones(K, dtype=bool)
    trace: list[dict[str, Any]] = []
    for k in range(iterations):
        idx = np.flatnonzero(in_set)
        c = int(idx[np.argmax(values[idx])])
        pol = tuple(level[c] for level in pols)
        for h_star in range(1, H + 1):
            loglik += logs[:, _explore(sampler, pol, h_star, cls, rng)]
        in_set = loglik >= loglik.max() - beta
        trace.append({"iteration": k + 1, "size": int(idx.size), "optimistic_value": float(values[c]),
                      "mle": int(np.argmax(loglik))})
    final = np.flatnonzero(in_set)
    mle = int(final[np.argmax(loglik[final])])
    return OMLEResult(model_index=mle, policy=tuple(level[mle] for level in pols), confidence_set=final, trace=trace,
                      episodes=iterations * H, beta=beta, method="omle")


@renamed_arguments(iterations="max_iter")
def umt_psr_downstream(
    task: POMDP,
    candidates: Sequence[POMDP | PSR],
    upstream_models: Sequence[POMDP | PSR],
    *,
    similar: Callable[[POMDP | PSR, Sequence[POMDP | PSR]], bool],
    reward: Any,
    horizon: int,
    max_iter: int,
    beta: float | None = None,
    delta: float = 0.1,
    seed: int | np.random.Generator | None = None,
) -> tuple[OMLEResult, list[int]]:
    r"""Downstream learning (Huang et al. 2024): OMLE on the reduced class
    ``Theta_0^u = {theta_0 in candidates : similar(theta_0, theta_bar)}`` where ``theta_bar`` are the
    upstream estimates (e.g. "shares the transition kernel of the upstream estimate").

    Returns the OMLE result (its ``model_index`` indexes the reduced class) and the indices of
    the reduced class in ``candidates``. Raises if no candidate is similar.
    """
    kept = [i for i, c in enumerate(candidates) if similar(c, upstream_models)]
    if not kept:
        raise InvalidModelError("no candidate satisfies the similarity constraint with the upstream models")
    reduced = FiniteJointClass.from_models([[candidates[i]] for i in kept], horizon)
    result = omle(task, reduced.tables[0], reward=reward, max_iter=max_iter, beta=beta, delta=delta,
                  seed=seed, core_actions=reduced.core_actions)
    return result, kept
