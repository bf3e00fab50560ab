"""Float64 error-analysis constants shared by every certificate that counts rounding (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, §3.1)."""

from __future__ import annotations

__all__ = ["TINY", "UNIT_ROUNDOFF", "contraction_margin", "gamma_n", "one_minus_lower", "round_up"]

UNIT_ROUNDOFF = 2.0**-53
"""``u``: the unit roundoff of float64 (round to nearest)."""

TINY = 2.0**-1074
"""The absolute error an underflowing product may add."""


def gamma_n(n: int) -> float:
    """Higham's ``gamma_n = n u / (1 - n u)`` (valid for ``n u < 1``)."""
    return n * UNIT_ROUNDOFF / (1.0 - n * UNIT_ROUNDOFF)


def round_up(x: float) -> float:
    """A non-negative error bound ``x`` computed with a few dozen float operations, each of relative
    error ``<= u``, made safe: ``x (1 + 2^-40) + 2^-1074`` exceeds the exact value."""
    return float(x) * (1.0 + 2.0**-40) + TINY


def one_minus_lower(gamma: float) -> float:
    """A lower bound on the exact ``1 - gamma`` (exact for ``gamma >= 1/2``, Sterbenz)."""
    return (1.0 - gamma) if gamma >= 0.5 else (1.0 - gamma) * (1.0 - UNIT_ROUNDOFF)


def contraction_margin(gamma: float, defect: float) -> float:
    """A lower bound on ``1 - gamma (1 + defect)``, ``defect`` bounding how far the stored rows of a
    stochastic matrix sum above 1 (``<= 0``: no contraction can be certified)."""
    return (one_minus_lower(gamma) - gamma * defect * (1.0 + 4 * UNIT_ROUNDOFF)) * (1.0 - 4 * UNIT_ROUNDOFF)
