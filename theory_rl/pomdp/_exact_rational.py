r"""Exact rational values of small POMDPs, for checking the certified bounds against them.

Every float64 entry of ``T``, ``O``, ``R``, ``gamma`` and ``b0`` is read as the rational number it
is (:class:`fractions.Fraction`), so the values below are those of the model *as stored*, with no
rounding at all. Two cases are computable exactly:

* the finite-horizon optimum, by the Bellman recursion over un-normalised beliefs
  ``V_t(x) = max_a [x . R_a + gamma sum_o V_{t-1}(x T_a diag(O_a[:, o]))]``, ``V_0 = 0``
  (positively homogeneous, so no division; ``(A O)^H`` leaves);
* the value of always playing one action, ``b0 . (I - gamma T_a)^{-1} R_a`` (Gaussian elimination
  over the rationals), which is ``V*(b0)`` when that action is optimal whatever is observed (e.g.
  its rewards dominate and ``T_a`` is the same for every action).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..models import POMDP

__all__ = ["exact_blind_value", "exact_finite_horizon_value"]


def _rational(model: POMDP) -> tuple[list[list[list[Fraction]]], list[list[list[Fraction]]], list[list[Fraction]]]:
    S, A, n_obs = model.n_states, model.n_actions, model.n_observations
    T = model.transition_dense()
    T_q = [[[Fraction(float(T[s, a, t])) for t in range(S)] for s in range(S)] for a in range(A)]  # T_q[a][s][t]
    O_q = [[[Fraction(float(model.O[a, t, o])) for o in range(n_obs)] for t in range(S)] for a in range(A)]
    R_q = [[Fraction(float(model.R[s, a])) for a in range(A)] for s in range(S)]
    return T_q, O_q, R_q


def exact_finite_horizon_value(model: POMDP, horizon: int) -> Fraction:
    """``V*_H(b0)`` of the stored model, exactly (``gamma = 1`` allowed)."""
    T_q, O_q, R_q = _rational(model)
    S, A, n_obs = model.n_states, model.n_actions, model.n_observations
    gamma = Fraction(float(model.gamma))

    def value(x: list[Fraction], t: int) -> Fraction:
        if t == 0 or not any(x):
            return Fraction(0)
        best = None
        for a in range(A):
            q = sum((x[s] * R_q[s][a] for s in range(S)), Fraction(0))
            pred = [sum((x[s] * T_q[a][s][u] for s in range(S) if x[s]), Fraction(0)) for u in range(S)]
            for o in range(n_obs):
                q += gamma * value([pred[u] * O_q[a][u][o] for u in range(S)], t - 1)
            best = q if best is None or q > best else best
        return best

    return value([Fraction(float(p)) for p in model.b0], horizon)


def exact_blind_value(model: POMDP, action: int) -> Fraction:
    """``b0 . (I - gamma T_a)^{-1} R_a`` of the stored model, exactly (``gamma < 1``)."""
    T_q, _, R_q = _rational(model)
    S = model.n_states
    gamma = Fraction(float(model.gamma))
    M = [[(Fraction(1) if i == j else Fraction(0)) - gamma * T_q[action][i][j] for j in range(S)] + [R_q[i][action]]
         for i in range(S)]
    for c in range(S):
        p = next(r for r in range(c, S) if M[r][c] != 0)
        M[c], M[p] = M[p], M[c]
        for r in range(S):
            if r != c and M[r][c] != 0:
                f = M[r][c] / M[c][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    v = [M[i][S] / M[i][i] for i in range(S)]
    return sum((Fraction(float(p)) * vi for p, vi in zip(np.asarray(model.b0), v)), Fraction(0))
