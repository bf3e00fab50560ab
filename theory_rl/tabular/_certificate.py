r"""Rounding-aware MacQueen/Porteus certificates: the one place where every discounted tabular
solver turns its last iterate into bounds on ``v*``.

Floating-point model (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM
2002, §2.2 and §3.1): every operation on float64 numbers returns the exact result times
``(1 + theta)`` with ``|theta| <= u = 2^-53`` (plus at most ``2^-1074`` in the subnormal range),
and ``gamma_n = n u / (1 - n u)``. A row with ``k`` stored entries gives, in any summation order
and with or without fused multiply-adds (the compiled kernels use both),

.. math::
    |\mathrm{fl}(q_v(s, a)) - q_v(s, a)| \le \gamma_{k+2}\Big(|R(s,a)| + \gamma \sum_{s'} P(s'|s,a)|v(s')|\Big)
    \le \delta := \gamma_{K+2}\big(\max|R| + \gamma (1 + \rho) \|v\|_\infty\big),

with ``K`` the largest number of stored non-zeros in a row of ``P`` and ``rho`` a bound on
``max_{s,a} |sum_{s'} P(s'|s,a) - 1|`` for the stored numbers (model validation allows rows to sum
to 1 within ``atol``; the sums are computed here with compensated summation). The max over actions
is exact, so ``|fl(T v) - T v| <= delta`` elementwise.

Propagated through the MacQueen/Porteus bounds (Puterman 1994, Thm 6.6.3), with ``d = T v - v``:

.. math::
    \mathrm{fl}(Tv) + c\, \mathrm{fl}(d)_{\min} - W \;\le\; v^* \;\le\;
    \mathrm{fl}(Tv) + c\, \mathrm{fl}(d)_{\max} + W, \qquad c = \frac{\gamma}{1 - \gamma},

where the widening ``W`` collects: ``delta`` (the backup), ``c (delta + gamma_1 |d|)`` (the error of
the computed ``d``, amplified by ``c``; in total about ``delta / (1 - gamma)``), the rounding of
``c`` and of forming the bounds, and ``kappa |d|`` with ``kappa = gamma rho / ((1 - gamma)(1 -
gamma (1 + rho)))`` for rows that do not sum to exactly one (the MacQueen argument with row sums in
``[1 - rho, 1 + rho]`` gives the factor ``gamma (1 +- rho) / (1 - gamma (1 +- rho))`` in place of
``c``). The bound vectors are then rounded outwards (one ``nextafter``), so that they hold for the
exact ``v*`` of the model as stored. A policy ``pi`` whose computed action values are within
``eta(s)`` of the computed max satisfies
``v_pi >= lower - (eta + 2 delta) / (1 - gamma (1 + rho))``, which is :attr:`Certificate.policy_gap`.

Where ``rho`` leaves no contraction (``gamma (1 + rho) >= 1``) the bounds are infinite. The
*floor* of a certificate, ``delta_0 / (1 - gamma)`` for ``||v - v*||`` and four times that for the
policy gap, with ``delta_0`` evaluated at a certified lower bound on ``||v*||``, is the smallest
certificate any iterate near ``v*`` can receive; solvers stop and report ``converged=False``
when it exceeds ``tol``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._rounding import TINY, UNIT_ROUNDOFF, contraction_margin, gamma_n, one_minus_lower, round_up
from . import _kernels
from ._bellman import BellmanOperator

__all__ = ["Certificate", "certificate_from_backup", "certificate_info", "certified_check", "floor_stop", "measure_rounding", "RoundingModel", "certify", "gamma_n", "rounding_model", "round_up", "UNIT_ROUNDOFF"]




@dataclass(frozen=True)
class RoundingModel:
    """The constants of one model that the forward error bounds use.

    Attributes
    ----------
    max_entries : int
        ``K``: the most non-zero entries in a row of ``P`` (``S`` at most).
    row_defect : float
        ``rho >= max_{s,a} |sum_s' P(s'|s,a) - 1|``, for the stored float64 entries.
    reward_max : float
        ``max |R(s, a)|`` over available actions.
    gamma : float
    """

    max_entries: int
    row_defect: float
    reward_max: float
    gamma: float

    @property
    def one_minus_gamma(self) -> float:
        """A lower bound on the exact ``1 - gamma`` (exact for ``gamma >= 1/2``, Sterbenz)."""
        return one_minus_lower(self.gamma)

    @property
    def contraction_margin(self) -> float:
        """A lower bound on ``1 - gamma (1 + rho)`` (``<= 0``: no contraction can be certified)."""
        return contraction_margin(self.gamma, self.row_defect)

    def backup_error(self, v_norm: float, *, entries: int | None = None, reward: float | None = None) -> float:
        r"""``delta >= |fl(q_v(s,a)) - q_v(s,a)|`` for every ``(s, a)``, given ``||v||_inf <= v_norm``
        (``entries`` stored terms per row, default ``K``; ``reward`` bounds ``|R|``, default ``max|R|``)."""
        k = self.max_entries if entries is None else entries
        r = self.reward_max if reward is None else reward
        return round_up(gamma_n(k + 2) * (r + self.gamma * (1.0 + self.row_defect) * v_norm) + (k + 2) * TINY)


def rounding_model(op: BellmanOperator) -> RoundingModel:
    """The :class:`RoundingModel` of ``op``'s model (one pass over ``P``, cached on ``op``)."""
    cached = getattr(op, "_rounding_model", None)
    if cached is None:
        cached = measure_rounding(op.P2, op.r_eff, op.gamma)
        op._rounding_model = cached  # type: ignore[attr-defined]
    return cached


def measure_rounding(P2: np.ndarray | sp.csr_matrix, r_eff: np.ndarray, gamma: float) -> RoundingModel:
    """:class:`RoundingModel` of the ``(S*A, S)`` matrix ``P2`` (dense or CSR) and rewards ``r_eff``
    (``-inf`` for unavailable actions): one compensated pass over ``P2``."""
    valid = np.isfinite(r_eff)  # unavailable actions' rows never enter a backup
    if sp.issparse(P2):
        k, defect = _kernels.csr_row_stats(P2.data, P2.indptr, valid)
    else:
        k, defect = _kernels.dense_row_stats(np.ascontiguousarray(P2).reshape(-1), P2.shape[1], valid)
    k = max(int(k), 1)
    # compensated sums: |exact - (s + c)| <= k gamma_{k-1} u sum, plus one rounding of (s - 1) + c
    rho = round_up(float(defect) * (1.0 + 2 * UNIT_ROUNDOFF) + k * gamma_n(k) * UNIT_ROUNDOFF * (1.0 + float(defect)))
    finite = r_eff[np.isfinite(r_eff)]
    return RoundingModel(
        max_entries=k, row_defect=rho, reward_max=float(np.max(np.abs(finite))) if finite.size else 0.0,
        gamma=float(gamma),
    )


@dataclass(frozen=True)
class Certificate:
    r"""Rounding-aware MacQueen/Porteus bounds from one backup ``(v, T v)`` (Puterman 1994, Thm 6.6.3).

    With ``d = T v - v`` and ``c = gamma / (1 - gamma)``, in exact arithmetic

    .. math::
        T v + c \min_s d(s) \;\le\; v^* \;\le\; T v + c \max_s d(s),

    and the same lower bound holds for ``v_pi`` of any policy greedy for ``v``. Here ``T v`` and
    ``d`` are the computed ones, and ``widening`` (see the module docstring) makes ``lower`` and
    ``upper`` hold for the exact ``v*`` of the stored model whatever the rounding; ``policy_gap``
    likewise covers the rounding in choosing the greedy action. Valid for every ``v``, whatever
    produced it, which is why every solver here ends with this check. ``value`` is the midpoint.

    Attributes
    ----------
    tv : ndarray, shape (S,)
        The computed ``T v``.
    policy : ndarray, shape (S,)
        The certified policy: greedy for ``v`` unless another was passed to :func:`certify`.
    d_min, d_max : float
        Extremes of the computed ``T v - v``.
    c : float
        ``gamma / (1 - gamma)``.
    widening : float
        Added on each side of the exact-arithmetic bounds (``inf`` where none can be certified).
    policy_slack : float
        Added to ``upper - lower`` in :attr:`policy_gap`.
    delta : float
        The forward error bound of one backup of this ``v``.
    bound_floor, gap_floor : float
        Estimates of the smallest :attr:`bound` and :attr:`policy_gap` any iterate near ``v*``
        can be certified with (from a certified lower bound on ``||v*||``).
    tv_norm : float
        ``||tv||_inf``.

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.chain(3, gamma=0.9)
    >>> v_star = tabular.policy_iteration(mdp).v
    >>> cert = tabular.certify(tabular.BellmanOperator(mdp), v_star + 0.01)
    >>> bool((cert.lower <= v_star).all() and (v_star <= cert.upper).all())
    True
    >>> print(f"{cert.bound:.3f}")
    0.000
    """

    tv: np.ndarray
    policy: np.ndarray
    d_min: float
    d_max: float
    c: float
    widening: float
    policy_slack: float
    delta: float
    bound_floor: float
    gap_floor: float
    tv_norm: float

    @property
    def lower(self) -> np.ndarray:
        """``lower <= v*`` elementwise, shape (S,)."""
        return np.nextafter(self.tv + self.c * self.d_min - self.widening, -np.inf)

    @property
    def upper(self) -> np.ndarray:
        """``v* <= upper`` elementwise, shape (S,)."""
        return np.nextafter(self.tv + self.c * self.d_max + self.widening, np.inf)

    @property
    def residual(self) -> float:
        """The computed ``||T v - v||_inf``."""
        return max(abs(self.d_min), abs(self.d_max))

    @property
    def span(self) -> float:
        return self.d_max - self.d_min

    @property
    def value(self) -> np.ndarray:
        """Midpoint of the bounds (``T v`` where they are infinite)."""
        if not np.isfinite(self.widening):
            return self.tv.copy()
        return 0.5 * (self.lower + self.upper)

    def error_bound(self, v: np.ndarray) -> float:
        """Certified ``||v - v*||_inf`` for any ``v`` (``inf`` where the bounds are)."""
        if not np.isfinite(self.widening):
            return float("inf")
        if v.size == 0:
            return 0.0
        gap = max(float(np.max(v - self.lower)), float(np.max(self.upper - v)), 0.0)
        return round_up(gap * (1.0 + 2 * UNIT_ROUNDOFF))

    @property
    def bound(self) -> float:
        """Certified ``||value - v*||_inf``."""
        return self.error_bound(self.value)

    @property
    def policy_gap(self) -> float:
        """Certified ``||v* - v_pi||_inf`` for ``policy``: ``max(upper - lower) + policy_slack``,
        bounded from the scalars alone (no pass over the states), so that iterative solvers can test
        it at every iteration."""
        if not np.isfinite(self.widening):
            return float("inf")
        # upper - lower = c (d_max - d_min) + 2 W, each bound formed with roundings already in W,
        # plus the last rounding and one outward ulp each: at most 2 gamma_5 (||tv|| + c |d| + W)
        width = self.c * (self.d_max - self.d_min) * (1.0 + gamma_n(3)) + 2.0 * self.widening
        return round_up(width + gamma_n(5) * 2.0 * (self.tv_norm + self.c * self.residual + self.widening)
                        + self.policy_slack)

    def floor_reason(self, tol: float, *, what: str = "policy gap") -> str:
        """Why ``tol`` cannot be certified in float64 (for warnings and ``info["reason"]``)."""
        floor = self.gap_floor if what == "policy gap" else self.bound_floor
        if not np.isfinite(floor):
            return ("the rows of P do not sum to 1 closely enough for gamma: gamma * max row sum >= 1, "
                    "so no contraction (and no bound) can be certified")
        return (f"float64 cannot certify tol={tol:g}: the rounding floor of the certified {what} is {floor:.3g} "
                f"(one backup's forward error, {self.delta:.3g} here, amplified by 1/(1-gamma) = "
                f"{1.0 + self.c:.3g})")


def certify(op: BellmanOperator, v: np.ndarray, *, policy: np.ndarray | None = None) -> Certificate:
    """One backup of ``v`` and the bounds it certifies, rounding included (see :class:`Certificate`).

    Parameters
    ----------
    op : BellmanOperator
    v : ndarray, shape (S,)
        Any finite values.
    policy : ndarray, shape (S,), optional
        A deterministic policy to certify instead of the greedy one (one more policy sweep): its
        distance from greedy on ``v`` enters :attr:`Certificate.policy_gap`.

    Examples
    --------
    One state, reward ``1e12``, ``gamma = 0.9999``: ``v* = 1e16`` exactly, and even the exact
    answer is certified only to the rounding of one backup amplified by ``1/(1-gamma)``:

    >>> import numpy as np
    >>> from theory_rl.models import FiniteMDP
    >>> from theory_rl.tabular import BellmanOperator, certify
    >>> mdp = FiniteMDP(np.ones((1, 1, 1)), np.full((1, 1), 1e12), 0.9999)
    >>> cert = certify(BellmanOperator(mdp), np.array([1e16]))
    >>> bool(cert.lower[0] <= 1e16 <= cert.upper[0]), 1e4 < cert.bound < 1e5
    (True, True)
    """
    v = np.ascontiguousarray(v, dtype=np.float64)
    tv, greedy, d_lo, d_hi = op.backup_span(v)
    eta = 0.0
    if policy is not None:
        policy = np.asarray(policy, dtype=np.int64)
        tpi = op.policy_sweep(v, policy)
        eta = max(float(np.max(tv - tpi)) * (1.0 + 2 * UNIT_ROUNDOFF), 0.0) if v.size else 0.0
    else:
        policy = greedy.copy()
    return certificate_from_backup(op, v, tv, policy, float(d_lo), float(d_hi), eta=eta)


def certificate_from_backup(
    op: BellmanOperator,
    v: np.ndarray,
    tv: np.ndarray,
    policy: np.ndarray,
    d_lo: float,
    d_hi: float,
    *,
    eta: float = 0.0,
    extra_error: float = 0.0,
) -> Certificate:
    """The certificate of a computed backup ``tv`` of ``v`` with ``d_lo, d_hi`` the extremes of the
    computed ``tv - v``, for any monotone operator with ``T(v + c 1) = T v + gamma c 1`` whose
    computed value is within ``delta + extra_error`` of the exact one (``extra_error``: the
    rounding of what the operator adds to the Bellman backup, e.g. soft VI's log-sum-exp);
    ``eta`` bounds how far ``policy``'s computed values fall below ``tv``."""
    model = rounding_model(op)
    g = model.gamma
    c = g / (1.0 - g)
    one_minus = model.one_minus_gamma
    margin = model.contraction_margin
    v_norm = float(np.max(np.abs(v))) if v.size else 0.0
    if margin <= 0:
        inf = float("inf")
        return Certificate(tv=tv, policy=policy, d_min=d_lo, d_max=d_hi, c=c, widening=inf, policy_slack=inf,
                           delta=inf, bound_floor=inf, gap_floor=inf, tv_norm=inf)
    delta = round_up(model.backup_error(v_norm) + extra_error)  # |fl(Tv) - Tv| elementwise
    d_abs = max(abs(d_lo), abs(d_hi))
    e_d = gamma_n(1) * d_abs + delta  # error of the computed d
    tv_norm = float(np.max(np.abs(tv))) if tv.size else 0.0
    # rows summing to 1 +- rho: the MacQueen factor is gamma(1 + rho) / (1 - gamma(1 + rho)) on the side
    # where d has the sign that makes it larger, gamma(1 - rho) / (1 - gamma(1 - rho)) on the other;
    # kappa bounds both differences from c
    kappa = round_up(g * model.row_defect / (one_minus * margin))
    widening = round_up(
        delta + c * (1.0 + gamma_n(3)) * e_d + gamma_n(3) * c * d_abs
        + gamma_n(2) * (tv_norm + 2.0 * c * d_abs) + kappa * (d_abs + e_d)
    )
    slack = round_up((eta + 2.0 * delta) / margin)
    # a certified lower bound on ||v*|| gives the smallest delta any iterate near v* will have
    if tv.size:
        v_star_low = max(0.0, float(tv.max()) + c * d_lo - widening, -(float(tv.min()) + c * d_hi + widening))
    else:
        v_star_low = 0.0
    delta0 = model.backup_error(v_star_low) + extra_error
    bound_floor = delta0 / margin
    return Certificate(tv=tv, policy=policy, d_min=float(d_lo), d_max=float(d_hi), c=c, widening=widening,
                       policy_slack=slack, delta=delta, bound_floor=bound_floor, gap_floor=4.0 * bound_floor,
                       tv_norm=tv_norm)


def certificate_info(cert: Certificate, reason: str | None) -> dict[str, object]:
    """The ``info`` entries every certified solver reports: ``span``, ``policy_gap_bound`` (the
    certified ``||v* - v_policy||_inf``), ``rounding_floor`` (:attr:`Certificate.gap_floor`) and,
    when the solver did not converge, ``reason``."""
    info: dict[str, object] = {"span": cert.span, "policy_gap_bound": cert.policy_gap, "rounding_floor": cert.gap_floor}
    if reason is not None:
        info["reason"] = reason
    return info


def certified_check(cert: Certificate, tol: float, gaps: list[float], gap: float | None = None, *,
                    ready: bool = True) -> tuple[bool, str | None]:
    """One stopping check of an iterative solver: append the certified ``gap`` (default
    ``cert.policy_gap``) to ``gaps``; ``(True, None)`` when ``ready`` (the solver's own rule
    fired) and ``gap <= tol``, else ``(False, floor_stop(...))``."""
    gaps.append(cert.policy_gap if gap is None else gap)
    if ready and gaps[-1] <= tol:
        return True, None
    return False, floor_stop(cert, tol, gaps)


def floor_stop(cert: Certificate, tol: float, gaps: list[float]) -> str | None:
    """Why an iterative solver should stop now without reaching ``tol``, or ``None`` to go on.

    Once the rounding floor of the policy gap exceeds ``tol`` (``tol`` cannot be certified in
    float64), iterating only pays while the certificate still improves: stop when the certified
    gap is within twice the floor, when it has shrunk by less than 0.1% over the last 20 checks
    (rounding has stalled it, or ``gamma`` is so close to 1 that reaching the floor would take
    more than ~10^4 iterations per halving), or when it is infinite. ``gaps`` holds the certified
    gaps of the checks so far, this one last.
    """
    if cert.gap_floor <= tol:
        return None
    gap = cert.policy_gap
    if not np.isfinite(gap) or gap <= 2.0 * cert.gap_floor or (len(gaps) > 20 and gap > 0.999 * gaps[-21]):
        return cert.floor_reason(tol)
    return None
