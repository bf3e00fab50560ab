"""The result of every tabular solver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._result import ValueSolution

__all__ = ["Solution"]


@dataclass(frozen=True, repr=False, eq=False)
class Solution(ValueSolution):
    r"""What a tabular solver returns (the result contract of ``docs/results.md``): the shared block of
    :class:`theory_rl._result.ValueSolution` (keyword-only fields) and the tabular extras.

    Attributes
    ----------
    v : ndarray, shape (S,)
        Value estimate. For finite-horizon solvers, shape ``(H+1, S)`` with ``v[t]`` the value
        with ``H - t`` epochs to go; for average-reward solvers, the bias ``h`` with ``h[ref] = 0``.
    q : ndarray, shape (S, A)
        Action values ``q(s, a) = R[s, a] + gamma * sum_s' P[s, a, s'] v_n(s')`` from the last
        backup (``(H, S, A)`` for finite horizon). Unavailable actions hold ``-inf``.
    policy : ndarray
        Deterministic policy as action indices, shape ``(S,)`` (``(H, S)`` for finite horizon),
        or a stochastic policy ``policy[s, a] = pi(a|s)``, shape ``(S, A)`` (soft VI, MDPO).
    converged : bool
        Whether the stopping rule certified ``bound <= tol`` (or the exact method finished).
    n_iter : int
        Iterations performed (backups for VI, improvement steps for PI/MPI/MDPO).
    residual : float
        Sup-norm Bellman residual ``||T v_n - v_n||_inf`` at the last backup.
    bound : float
        Certified bound on ``||v - v*||_inf`` (``0`` for exact methods, up to rounding).
    lower, upper : ndarray, shape (S,), or None
        Elementwise bounds ``lower <= v* <= upper`` where the method provides them.
    history : History
        Per-iteration sup-norm residuals (or the method's progress measure, see its docstring), a
        one-column table that reads as the 1-D array of that measure (``history[-1]``, ``np.diff``).
    method : str
        Name of the solver.
    params : dict
        The options the solver ran with.
    elapsed : float
        Wall-clock seconds spent in the solver.
    gain : float or None
        Optimal average reward ``g*`` (average-reward solvers only).
    occupancy : ndarray, shape (S, A), or None
        Unnormalised discounted occupancy ``rho(s, a) = sum_t gamma^t Pr(s_t = s, a_t = a)``
        (sums to ``1/(1-gamma)``), where the method computes one (LP).
    info : dict
        Method-specific extras, documented by each solver.

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> sol = tabular.policy_iteration(envs.chain(3, gamma=0.9))
    >>> type(sol).__name__, sol.method
    ('Solution', 'policy_iteration')
    >>> sorted(sol.to_dict())[:4]
    ['bound', 'converged', 'elapsed', 'gain']
    """

    gain: float | None = None
    occupancy: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
