r"""Exact rational solutions of small finite MDPs (internal; the ground truth of the certificate
tests and of ``bench/certificates.py``).

Every stored float64 number (``P``, ``R``, ``gamma``) is a dyadic rational, converted exactly with
:class:`fractions.Fraction`; policies are evaluated by Gaussian elimination over the rationals and
the optimum is found by Howard's policy iteration over the rationals, which switches an action
only on a strict improvement and so ends at an exactly optimal policy (Puterman 1994, Thm 6.4.2).
Cost grows like ``S^3`` operations on rationals whose size grows with ``S``: meant for ``S <= 20``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..models import FiniteMDP

__all__ = ["ExactSolution", "exact_policy_value", "exact_solution"]


@dataclass(frozen=True)
class ExactSolution:
    """``v[s] = v*(s)`` and ``q[s][a] = q*(s, a)`` as Fractions (``None`` for unavailable actions);
    ``policy`` an optimal deterministic policy."""

    v: list[Fraction]
    q: list[list[Fraction | None]]
    policy: list[int]


def _rational_model(mdp: FiniteMDP) -> tuple[list[list[dict[int, Fraction]]], list[list[Fraction | None]], Fraction]:
    S, A = mdp.n_states, mdp.n_actions
    P2 = mdp.transition_matrix
    rows: list[list[dict[int, Fraction]]] = []
    for s in range(S):
        per_action = []
        for a in range(A):
            if mdp.is_sparse:
                row = P2.getrow(s * A + a)
                entries = {int(j): Fraction(float(x)) for j, x in zip(row.indices, row.data, strict=True) if x != 0}
            else:
                dense = P2[s * A + a]
                entries = {int(j): Fraction(float(dense[j])) for j in np.flatnonzero(dense)}
            per_action.append(entries)
        rows.append(per_action)
    mask = mdp.action_mask
    R = [[Fraction(float(mdp.R[s, a])) if mask is None or mask[s, a] else None for a in range(A)] for s in range(S)]
    return rows, R, Fraction(float(mdp.gamma))


def _solve(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
    """Gaussian elimination with exact pivoting over the rationals."""
    n = len(rhs)
    M = [row[:] + [b] for row, b in zip(matrix, rhs, strict=True)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if M[r][col] != 0)
        M[col], M[pivot] = M[pivot], M[col]
        inv = 1 / M[col][col]
        for r in range(n):
            if r != col and M[r][col] != 0:
                f = M[r][col] * inv
                M[r] = [x - f * y for x, y in zip(M[r], M[col], strict=True)]
    return [M[i][n] / M[i][i] for i in range(n)]


def _evaluate(rows, R, gamma: Fraction, policy: list[int]) -> list[Fraction]:
    S = len(rows)
    matrix = [[Fraction(int(s == t)) for t in range(S)] for s in range(S)]
    for s in range(S):
        for t, p in rows[s][policy[s]].items():
            matrix[s][t] -= gamma * p
    return _solve(matrix, [R[s][policy[s]] for s in range(S)])


def _q(rows, R, gamma: Fraction, v: list[Fraction]) -> list[list[Fraction | None]]:
    return [[None if R[s][a] is None else R[s][a] + gamma * sum((p * v[t] for t, p in rows[s][a].items()), Fraction(0))
             for a in range(len(R[s]))] for s in range(len(rows))]


def exact_policy_value(mdp: FiniteMDP, policy: np.ndarray | list[int]) -> list[Fraction]:
    """``v_pi`` of a deterministic policy, exactly (Fractions, length ``S``)."""
    rows, R, gamma = _rational_model(mdp)
    return _evaluate(rows, R, gamma, [int(a) for a in policy])


def exact_solution(mdp: FiniteMDP, *, max_iter: int = 1000) -> ExactSolution:
    """``v*``, ``q*`` and an optimal policy of ``mdp`` (``gamma < 1``), exactly."""
    rows, R, gamma = _rational_model(mdp)
    S = mdp.n_states
    # start greedy for the rewards: available actions only
    policy = [max((a for a in range(len(R[s])) if R[s][a] is not None), key=lambda a, s=s: R[s][a]) for s in range(S)]
    for _ in range(max_iter):
        v = _evaluate(rows, R, gamma, policy)
        q = _q(rows, R, gamma, v)
        changed = False
        for s in range(S):
            best = max((a for a in range(len(q[s])) if q[s][a] is not None), key=lambda a, s=s: q[s][a])
            if q[s][best] > q[s][policy[s]]:
                policy[s] = best
                changed = True
        if not changed:
            return ExactSolution(v=v, q=q, policy=policy)
    raise RuntimeError("exact policy iteration did not stop")  # pragma: no cover - finite for gamma < 1
