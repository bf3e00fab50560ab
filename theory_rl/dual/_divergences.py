r"""f-divergences with their convex conjugates, as the Dual RL objectives use them.

For a convex ``f`` with ``f(1) = 0`` the f-divergence of ``p`` from ``q`` is
``D_f(p || q) = sum_i q_i f(p_i / q_i)``. Its Fenchel conjugate and the conjugate restricted to
non-negative density ratios are

.. math::
    f^*(y) = \sup_{x \in \mathbb R} \big(x y - f(x)\big), \qquad
    f^*_p(y) = \sup_{x \ge 0} \big(x y - f(x)\big).

``f*_p`` is what the dual-V objective uses (the ratio ``d/d^O`` must be non-negative); the
dual-Q objective uses the unrestricted ``f*`` (Sikchi, Zheng, Zhang, Niekum, ICLR 2024,
arXiv 2302.08560, §3; the restriction was pointed out in the OpenReview discussion). The
maximising ratio is ``(f*_p)'(y) = max(0, (f')^{-1}(y))`` where ``f`` is strictly convex; this
is the primal-recovery map ``w*``. For the total-variation ``f(x) = |x - 1|/2``, which is not
strictly convex, ``(f')^{-1}`` does not exist and the maximiser is a set: the paper's
positivity/monotonicity argument fails there (a reviewer's caveat), and the solvers that need
``w*`` reject it.

============================  ====================  =======================================================
divergence                    ``f(x)``              ``f*(y)`` / ``f*_p(y)``
============================  ====================  =======================================================
``"kl"``                      ``x log x``           ``exp(y - 1)`` (the same with positivity)
``"chi2"`` (Pearson)          ``(x - 1)^2``         ``y + y^2/4``; ``f*_p = -1`` for ``y < -2``
``"tv"`` (total variation)    ``|x - 1| / 2``       ``y`` on ``[-1/2, 1/2]``, else ``+inf``; ``f*_p = max(y, -1/2)`` for ``y <= 1/2``
============================  ====================  =======================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_bool, check_choice
from ..errors import DependencyNotInstalled, InvalidArgumentError

__all__ = ["FDivergence", "f_divergence", "DIVERGENCES", "require_cvxpy"]


def require_cvxpy() -> Any:
    """``import cvxpy`` on first use; a missing install raises :class:`DependencyNotInstalled`
    naming the ``lp`` extra."""
    try:
        import cvxpy
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise DependencyNotInstalled("cvxpy", "lp") from None
    return cvxpy

Array = np.ndarray
Fn = Callable[[Array], Array]


@dataclass(frozen=True)
class FDivergence:
    r"""One f-divergence: the generator ``f``, its conjugates and their derivatives.

    Attributes
    ----------
    name : str
    f : callable
        ``f(x)``, ``+inf`` outside its domain.
    conjugate, conjugate_positive : callable
        ``f*(y)`` and ``f*_p(y)`` (``+inf`` where the supremum is unbounded).
    ratio, ratio_positive : callable
        Maximisers ``(f*)'(y)`` and ``(f*_p)'(y)``: the density ratio ``w = d / d^O`` that
        attains the supremum (``None`` when ``f`` is not strictly convex).
    curvature, curvature_positive : callable
        Second derivatives ``(f*)''`` and ``(f*_p)''`` (``None`` when not defined).
    strictly_convex : bool

    Examples
    --------
    >>> from theory_rl import dual
    >>> kl = dual.f_divergence("kl")
    >>> type(kl).__name__, kl.name, float(kl.f(1.0)), kl.strictly_convex
    ('FDivergence', 'kl', 0.0, True)
    """

    name: str
    f: Fn
    conjugate: Fn
    conjugate_positive: Fn
    ratio: Fn | None
    ratio_positive: Fn | None
    curvature: Fn | None
    curvature_positive: Fn | None
    strictly_convex: bool

    def divergence(self, p: Array, q: Array) -> float:
        """``D_f(p || q) = sum q f(p / q)`` for non-negative arrays of the same shape. Where
        ``q = 0`` the term is ``p * lim_{x->inf} f(x)/x`` (``+inf`` for KL and chi^2, ``p/2`` for
        TV when ``p > 0``; 0 when ``p = 0``)."""
        p = np.asarray(p, dtype=float)
        q = np.asarray(q, dtype=float)
        pos = q > 0
        total = float(np.sum(q[pos] * self.f(p[pos] / q[pos])))
        outside = p[~pos]
        if (outside > 0).any():
            total += float(np.sum(outside)) * (0.5 if self.name == "tv" else np.inf)
        return total

    def cvxpy_divergence(self, p: Any, q: np.ndarray) -> Any:
        """``D_f(p || q)`` as a convex cvxpy expression in the variable ``p`` (``q > 0`` fixed)."""
        cp = require_cvxpy()

        if self.name == "kl":
            return cp.sum(cp.rel_entr(p, q))
        if self.name == "chi2":
            return cp.sum(cp.multiply(1.0 / q, cp.square(p - q)))
        return 0.5 * cp.sum(cp.abs(p - q))


def _xlogx(x: Array) -> Array:
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)
    return np.where(x < 0, np.inf, out)


def _exp_m1(y: Array) -> Array:
    return np.exp(np.asarray(y, dtype=float) - 1.0)


def _chi2_conj(y: Array) -> Array:
    y = np.asarray(y, dtype=float)
    return y + 0.25 * y * y


def _chi2_conj_p(y: Array) -> Array:
    y = np.asarray(y, dtype=float)
    return np.where(y >= -2.0, y + 0.25 * y * y, -1.0)


def _tv_conj(y: Array) -> Array:
    y = np.asarray(y, dtype=float)
    return np.where(np.abs(y) <= 0.5, y, np.inf)


def _tv_conj_p(y: Array) -> Array:
    y = np.asarray(y, dtype=float)
    return np.where(y <= 0.5, np.maximum(y, -0.5), np.inf)


DIVERGENCES: dict[str, FDivergence] = {
    "kl": FDivergence(
        name="kl", f=_xlogx, conjugate=_exp_m1, conjugate_positive=_exp_m1, ratio=_exp_m1, ratio_positive=_exp_m1,
        curvature=_exp_m1, curvature_positive=_exp_m1, strictly_convex=True,
    ),
    "chi2": FDivergence(
        name="chi2", f=lambda x: (np.asarray(x, dtype=float) - 1.0) ** 2, conjugate=_chi2_conj,
        conjugate_positive=_chi2_conj_p,
        ratio=lambda y: 1.0 + 0.5 * np.asarray(y, dtype=float),
        ratio_positive=lambda y: np.maximum(1.0 + 0.5 * np.asarray(y, dtype=float), 0.0),
        curvature=lambda y: np.full(np.shape(y), 0.5),
        curvature_positive=lambda y: np.where(np.asarray(y, dtype=float) > -2.0, 0.5, 0.0),
        strictly_convex=True,
    ),
    "tv": FDivergence(
        name="tv", f=lambda x: 0.5 * np.abs(np.asarray(x, dtype=float) - 1.0), conjugate=_tv_conj,
        conjugate_positive=_tv_conj_p, ratio=None, ratio_positive=None, curvature=None, curvature_positive=None,
        strictly_convex=False,
    ),
}


def f_divergence(f: str | FDivergence, *, strictly_convex: bool = False) -> FDivergence:
    """Look up a divergence by name (``"kl"``, ``"chi2"``, ``"tv"``); with ``strictly_convex=True``
    reject the total variation, whose primal recovery ``(f')^{-1}`` does not exist.

    Examples
    --------
    >>> from theory_rl import dual
    >>> chi2 = dual.f_divergence("chi2")
    >>> float(chi2.f(3.0)), float(chi2.conjugate(1.0))
    (4.0, 1.25)
    """
    if isinstance(f, FDivergence):
        div = f
    else:
        key = str(f).lower() if isinstance(f, str) else f
        check_choice(key, "f", sorted(DIVERGENCES))
        div = DIVERGENCES[key]
    if check_bool(strictly_convex, "strictly_convex") and not div.strictly_convex:
        raise InvalidArgumentError(
            f"f = {div.name!r} is not strictly convex: (f')^-1 does not exist, so the dual solution does not "
            "determine a unique primal ratio w* (Sikchi et al. 2024 review caveat); use 'kl' or 'chi2'"
        )
    return div
