r"""OMLE: optimistic maximum-likelihood estimation for a single PSR/POMDP task on a finite class of
trajectory tables (Liu, Netrapalli, Szepesvari, Jin 2022, "Optimistic MLE -- a generic model-based
algorithm for partially observable sequential decision making", arXiv 2209.14997), as used downstream
of UMT-PSR (Huang et al., ICLR 2024, arXiv 2310.13550).

Iteration ``k``: ``(theta^k, pi^k) = argmax_{theta in B_k, pi} V^pi_theta`` (exact planning on the
history tree), ``H`` exploration episodes, then the confidence set
``B_{k+1} = {theta : sum_{tau in D} log P_theta(tau) >= max_theta'' (same) - beta}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._validation import rng_from_seed
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
    _trajectory_rewards,
    history_tree_max,
)

__all__ = ["OMLEResult", "omle"]

@dataclass(frozen=True, repr=False)
class OMLEResult(LikelihoodSetResult):
    """Output of :func:`omle` (single task): ``model_index`` into the class, ``policy``, the final
    confidence set, per-iteration ``trace`` (``size``, ``optimistic_value``, ``mle``), episodes.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> cls, candidates = pomdp.shared_dynamics_class([tiger.T], [[tiger.O, np.full_like(tiger.O, 0.5)]], horizon=2, b0=tiger.b0)
    >>> res = pomdp.omle(candidates[0][0], cls.tables[0], reward=np.eye(3, 2), max_iter=2, seed=0)
    >>> res.episodes, len(res.trace)
    (4, 2)
    """

    policy: TreePolicy
    episodes: int

    _repr_fields = ("model_index", "episodes", "beta")


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

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> cls, candidates = pomdp.shared_dynamics_class([tiger.T], [[tiger.O, np.full_like(tiger.O, 0.5)]], horizon=2, b0=tiger.b0)
    >>> res = pomdp.omle(candidates[0][0], cls.tables[0], reward=np.eye(3, 2), max_iter=3, seed=0)
    >>> type(res).__name__, res.model_index
    ('OMLEResult', 0)
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
