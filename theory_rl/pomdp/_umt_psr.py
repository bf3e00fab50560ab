r"""UMT-PSR: upstream multi-task learning of PSRs/POMDPs with a finite joint model class, and
downstream OMLE on the reduced class (Huang, Cheng, Yang, Tan, Liang, ICLR 2024, "Provable Benefits
of Multi-task RL under Non-Markovian Decision Making Processes", arXiv 2310.13550; OMLE: Liu,
Netrapalli, Szepesvari, Jin 2022, arXiv 2209.14997).

Setting (Huang et al. 2024). ``N`` tasks share ``A``, ``O`` and the horizon
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._validation import as_float_array, rng_from_seed
from ..errors import InvalidModelError
from ..models import POMDP
from ._history_tree import (
    FiniteJointClass,
    LikelihoodSetResult,
    TreePolicy,
    _check_rewards,
    _check_run_args,
    _default_beta,
    _explore,
    _Sampler,
    history_tree_max,
    plan_on_history_tree,
)
from ._omle import OMLEResult, omle
from ._psr import PSR

__all__ = [
    "UMTPSRResult",
    "shared_dynamics_class",
    "umt_psr",
    "umt_psr_downstream",
    "future_m_vectors",
    "well_conditioning_gamma",
    "bracketing_cover",
]

















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

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> noisy = np.full_like(tiger.O, 0.5)
    >>> cls, candidates = pomdp.shared_dynamics_class([tiger.T], [[tiger.O, noisy], [tiger.O, noisy]], horizon=2, b0=tiger.b0)
    >>> cls.members.shape, len(candidates[0])
    ((4, 2), 2)
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

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> psr = pomdp.PSR.from_pomdp(pomdp.load_problem('tiger.95.POMDP'), 2)
    >>> pomdp.future_m_vectors(psr, 0).shape
    (36, 2)
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
    r"""The largest ``gamma`` for which the PSR is gamma-well-conditioned (from OMLE, Liu et
    al. 2022; the assumption of UMT-PSR), by brute force on the history tree:

    .. math::
        \max_\pi \sum_\omega \pi(\omega) |m(\omega)^	op x| \le \|x\|_1 / \gamma, \qquad
        \max_a \sum_o \|M_{h+1}(a, o)\, x\|_1 \le \|x\|_1 / \gamma

    for every ``h`` and ``x``. Both left sides are convex and positively homogeneous in ``x``, so
    the worst ``x`` on the l1 sphere is an extreme point ``+-e_i``; the maximum over policies is a
    max-sum recursion over the futures (:func:`history_tree_max`). (The action is chosen before
    its observation here, Cassandra's order, so the second condition maximises over ``a``.) The
    value depends on the PSR's coordinates, not only on its law. Cost ``O(H (A O)^H d)``.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> psr = pomdp.PSR.from_pomdp(pomdp.load_problem('tiger.95.POMDP'), 2)
    >>> g = pomdp.well_conditioning_gamma(psr)
    >>> bool(0 < g <= 1)
    True
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
    r"""A greedy eta-bracket cover of a finite joint class: groups of members whose bracket
    ``l = min, u = max`` (pointwise over trajectories, per task) has
    ``||u - l||_\infty^p = max_pi sum_n sum_tau (u_n - l_n)(tau) pi(tau) <= eta``.

    The number of groups is an upper bound on the bracketing number ``N_eta`` (a cover, not
    necessarily a minimum one) and at most ``|Theta_u|`` (singletons have width 0). Cost
    ``O(|Theta_u|^2 N (A O)^H)``: meant for classes of up to a few hundred members.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> noisy = np.full_like(tiger.O, 0.5)
    >>> cls, _ = pomdp.shared_dynamics_class([tiger.T], [[tiger.O, noisy]], horizon=2, b0=tiger.b0)
    >>> len(pomdp.bracketing_cover(cls, 0.0)), len(pomdp.bracketing_cover(cls, 10.0))
    (2, 1)
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
# results
@dataclass(frozen=True, repr=False)
class UMTPSRResult(LikelihoodSetResult):
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

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> cls, candidates = pomdp.shared_dynamics_class([tiger.T], [[tiger.O, np.full_like(tiger.O, 0.5)]], horizon=2, b0=tiger.b0)
    >>> res = pomdp.umt_psr([candidates[0][0]], cls, rewards=[np.eye(3, 2)], max_iter=2, seed=0)
    >>> len(res.trace), len(res.policies)
    (2, 1)
    """

    policies: tuple[TreePolicy, ...]
    episodes_per_task: int

    _repr_fields = ("model_index", "episodes_per_task", "beta")


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
    here (recalled, not verified), so no numeric bound is computed.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> noisy = np.full_like(tiger.O, 0.5)
    >>> cls, candidates = pomdp.shared_dynamics_class([tiger.T], [[tiger.O, noisy]], horizon=2, b0=tiger.b0)
    >>> reward = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> res = pomdp.umt_psr([candidates[0][0]], cls, rewards=[reward], max_iter=3, seed=0)
    >>> type(res).__name__, res.model_index
    ('UMTPSRResult', 0)
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

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> _, candidates = pomdp.shared_dynamics_class([tiger.T], [[tiger.O, np.full_like(tiger.O, 0.5)]], horizon=2, b0=tiger.b0)
    >>> same_emission = lambda c, upstream: bool(np.allclose(c.O, upstream[0].O))
    >>> res, reduced = pomdp.umt_psr_downstream(tiger, candidates[0], [tiger], similar=same_emission, reward=np.eye(3, 2), horizon=2, max_iter=2, seed=0)
    >>> reduced, res.model_index
    ([0], 0)
    """
    kept = [i for i, c in enumerate(candidates) if similar(c, upstream_models)]
    if not kept:
        raise InvalidModelError("no candidate satisfies the similarity constraint with the upstream models")
    reduced = FiniteJointClass.from_models([[candidates[i]] for i in kept], horizon)
    result = omle(task, reduced.tables[0], reward=reward, max_iter=max_iter, beta=beta, delta=delta,
                  seed=seed, core_actions=reduced.core_actions)
    return result, kept
