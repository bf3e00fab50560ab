"""The MacQueen/Porteus certificate that every discounted tabular solver ends with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._bellman import BellmanOperator

__all__ = ["Certificate", "certify"]


@dataclass(frozen=True)
class Certificate:
    r"""MacQueen/Porteus bounds from one backup ``(v, T v)`` (Puterman 1994, Thm 6.6.3).

    With ``d = T v - v`` and ``c = gamma / (1 - gamma)``,

    .. math::
        T v + c \min_s d(s) \;\le\; v^* \;\le\; T v + c \max_s d(s),

    and the same lower bound holds for ``v_pi`` of any policy greedy for ``v``, so that policy is
    ``c * span(d)``-optimal. Valid for every ``v``, whatever produced it, which is why every
    solver here ends with this check. ``value`` is the midpoint, within ``c*span(d)/2`` of ``v*``.
    Only ``T v``, the policy and the two extremes of ``d`` are stored; the bound vectors are
    formed when asked for (the solvers' loops need only the scalars).
    """

    tv: np.ndarray
    policy: np.ndarray
    d_min: float
    d_max: float
    c: float

    @property
    def lower(self) -> np.ndarray:
        return self.tv + self.c * self.d_min

    @property
    def upper(self) -> np.ndarray:
        return self.tv + self.c * self.d_max

    @property
    def residual(self) -> float:
        """``||T v - v||_inf``."""
        return max(abs(self.d_min), abs(self.d_max))

    @property
    def span(self) -> float:
        return self.d_max - self.d_min

    @property
    def value(self) -> np.ndarray:
        return 0.5 * (self.lower + self.upper)

    @property
    def bound(self) -> float:
        """Certified ``||value - v*||_inf``."""
        return float(0.5 * np.max(self.upper - self.lower))

    @property
    def policy_gap(self) -> float:
        """Certified ``||v* - v_pi||_inf`` for the greedy policy."""
        return float(np.max(self.upper - self.lower))


def certify(op: BellmanOperator, v: np.ndarray) -> Certificate:
    """One backup of ``v`` and the bounds it certifies (see :class:`Certificate`)."""
    tv, policy, lo, hi = op.backup_span(v)
    return Certificate(tv=tv, policy=policy.copy(), d_min=lo, d_max=hi, c=op.gamma / (1.0 - op.gamma))
