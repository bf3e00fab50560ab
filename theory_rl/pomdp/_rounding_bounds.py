r"""Forward-error bounds that make the POMDP bounds hold for the model as stored, in float64.

Every reported lower bound must stay below, and every upper bound above, the exact optimal value
``V*(b0)`` of the model whose float64 entries ``T``, ``O``, ``R``, ``gamma``, ``b0`` are read as
rational numbers. The argument uses the positively homogeneous extension
``V*(x) = sup_plans v_plan . x`` for ``x >= 0`` (so un-normalised beliefs need no division) and
Higham's model (*Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, §2.2 and
§3.1: ``|fl(x . y) - x . y| <= gamma_k sum |x_i y_i|`` for ``k`` terms in any order):

* with ``sigma >= max_{s,a} sum_s' T[s,a,s'] sum_o O[a,s',o]`` (1 up to the stored rows' defect)
  every plan value obeys ``|v_plan| <= max|R| / (1 - gamma sigma)``;
* a vector built as ``R_a + gamma T_a sum_o diag(O_a[:, o]) alpha_{k_o}`` carries
  ``|fl - exact| <= delta = gamma_n (max|R| + gamma sigma M)`` with ``n = O + K + 2`` (``K``
  stored entries per row of ``T``, ``M`` a bound on every value involved); by induction over the
  order in which vectors are built, ``alpha_k <= v_{plan_k} + delta / (1 - gamma sigma)``;
* a belief-space backup of an upper bound (successor ``x T_a diag(O_a[:, o])`` normalised, the
  sawtooth and FIB evaluated there, weighted by ``P(o | b, a)`` and summed) carries
  ``delta_up = gamma_m (max|R| + 2 gamma sigma M)`` with ``m = 4 S + K + O + 16`` (each of the
  chained sums has at most ``S`` terms, the ratios ``b(s) / b_i(s)`` two roundings, and the
  rounding of the successor moves ``V*`` by at most ``M`` times its L1 change); since ``H`` is a
  ``gamma sigma`` contraction the computed upper bound stays within ``delta_up / (1 - gamma sigma)``
  of a true one;
* ``fl(alpha . b)`` for ``|supp b| <= S`` is within ``gamma_S M ||b||_1`` of ``alpha . b``, and
  the sawtooth's value at ``b`` within ``3 gamma_{S+4} M ||b||_1``.

These counts are conservative (the chains are counted, not proved tight, as for the robust
kernels). Where ``1 - gamma sigma`` is not positive or the widening is not small next to ``M``,
no widening can be certified and the functions return ``inf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._rounding import TINY, contraction_margin, gamma_n, round_up
from ..models import POMDP

__all__ = ["PomdpRounding", "blind_error", "pomdp_rounding", "round_down", "round_up_value"]


def round_down(x: float) -> float:
    """The float just below ``x`` (a computed ``x`` within half an ulp of the exact one becomes a
    true lower bound of it)."""
    return float(np.nextafter(x, -np.inf))


def round_up_value(x: float) -> float:
    """The float just above ``x``."""
    return float(np.nextafter(x, np.inf))


@dataclass(frozen=True)
class PomdpRounding:
    """The constants of one POMDP that the forward-error bounds use (see the module docstring).

    Attributes
    ----------
    n_states, n_observations : int
    max_entries : int
        ``K``: the most stored non-zeros in a row of ``T``.
    sigma : float
        ``>= max_{s,a} sum_s' T[s,a,s'] sum_o O[a,s',o]`` for the stored entries.
    reward_max : float
        ``max |R|``.
    gamma : float
    value_max : float
        ``M``: a bound on ``|v_plan|`` for every conditional plan, and on every value the solvers
        compare (raised with :meth:`with_values`).
    b0_mass : float
        ``>= sum b0`` (b0 sums to 1 within the model's ``atol``).
    """

    n_states: int
    n_observations: int
    max_entries: int
    sigma: float
    reward_max: float
    gamma: float
    value_max: float
    b0_mass: float

    @property
    def margin(self) -> float:
        """A lower bound on ``1 - gamma sigma`` (``<= 0``: no contraction can be certified)."""
        return contraction_margin(self.gamma, self.sigma - 1.0)

    def with_values(self, *arrays: np.ndarray) -> PomdpRounding:
        """The same constants with ``M`` raised to cover the entries of ``arrays`` (finite ones)."""
        m = self.value_max
        for arr in arrays:
            a = np.asarray(arr, dtype=np.float64)
            if a.size:
                fin = np.abs(a[np.isfinite(a)])
                if fin.size:
                    m = max(m, float(fin.max()))
        return PomdpRounding(self.n_states, self.n_observations, self.max_entries, self.sigma, self.reward_max,
                             self.gamma, round_up(m), self.b0_mass)

    def _propagate(self, delta: float) -> float:
        """``delta / (1 - gamma sigma)``, or ``inf`` where that is not a small fraction of ``M``."""
        margin = self.margin
        if margin <= 0.0 or not math.isfinite(delta):
            return math.inf
        e = round_up(delta / margin)
        return e if e <= 2.0**-20 * max(self.value_max, 1.0) or e <= 1e-300 else math.inf

    def build_error(self, extra: int = 0) -> float:
        """``delta`` of one alpha-vector build ``R_a + gamma T_a sum_o diag(O_a[:, o]) alpha_{k_o}``
        (``extra`` more roundings in the chain, e.g. the cross sums of exact pruning)."""
        n = self.n_observations + self.max_entries + 2 + extra
        return round_up(gamma_n(n) * (self.reward_max + self.gamma * self.sigma * self.value_max) + n * TINY)

    def lower_widening(self, initial: float = 0.0) -> float:
        """``E`` with ``alpha_k <= v_{plan_k} + E`` for every vector built by backups from vectors
        that satisfy it with ``initial`` (the blind vectors' own error)."""
        return max(initial, self._propagate(self.build_error()))

    def finite_horizon_widening(self, horizon: int, extra: int = 0) -> float:
        """``sum_{t < H} (gamma sigma)^t delta``: the error of ``H`` chained builds from exact vectors."""
        delta = self.build_error(extra)
        g = self.gamma * self.sigma
        if g < 1.0:
            total = delta * (1.0 - g**horizon) / (1.0 - g) if g > 0 else delta
            return round_up(min(total, delta * horizon) * (1.0 + 2.0**-30))
        return round_up(delta * horizon * g ** max(horizon - 1, 0) * (1.0 + 2.0**-30))

    def upper_widening(self) -> float:
        """``E_up``: how far below a true upper bound the computed sawtooth upper bound of HSVI2 /
        SARSOP can be (its backups' forward error, propagated)."""
        m = 4 * self.n_states + self.max_entries + self.n_observations + 16
        delta = round_up(gamma_n(m) * (self.reward_max + 2.0 * self.gamma * self.sigma * self.value_max) + m * TINY)
        return self._propagate(delta)

    def dot_error(self, mass: float | None = None) -> float:
        """The rounding of evaluating a bound at ``b`` (``sum b <= mass``, default ``b0``'s):
        ``fl(alpha . b)`` is within ``gamma_S M mass``; the sawtooth ``b . corner + c (v_i - b_i .
        corner)`` (``c <= 1`` per unit of mass, ``|v_i - b_i . corner| <= 2 M``) within
        ``gamma_{S+4} 3 M mass``, which this returns."""
        mass = self.b0_mass if mass is None else mass
        return round_up(gamma_n(self.n_states + 4) * 3.0 * self.value_max * mass + self.n_states * TINY)

    def certified_lower(self, value: float, widening: float, mass: float | None = None) -> float:
        """``fl(alpha . b) - E sum b - dot error``, rounded down: a true lower bound on ``V*(b)``."""
        mass = self.b0_mass if mass is None else mass
        if not math.isfinite(widening):
            return -math.inf
        return round_down(value - round_up(widening * mass + self.dot_error(mass)))

    def certified_upper(self, value: float, widening: float, mass: float | None = None) -> float:
        """``fl(V_hi(b)) + E_up sum b + dot error``, rounded up: a true upper bound on ``V*(b)``."""
        mass = self.b0_mass if mass is None else mass
        if not math.isfinite(widening):
            return math.inf
        return round_up_value(value + round_up(widening * mass + self.dot_error(mass)))


def blind_error(model: POMDP, alpha: np.ndarray, rounding: PomdpRounding) -> float:
    """``E_blind >= max |alpha_a - v_a|`` for computed blind vectors ``alpha[a]`` and the exact
    values ``v_a = (I - gamma T_a)^{-1} R_a``: the residual ``alpha_a - R_a - gamma T_a alpha_a``,
    computed in float64, plus its forward error, divided by ``1 - gamma sigma``."""
    rounding = rounding.with_values(alpha)
    worst = 0.0
    for a, T_a in enumerate(model.transitions_by_action):
        res = alpha[a] - (model.R[:, a] + model.gamma * np.asarray(T_a @ alpha[a]))
        worst = max(worst, float(np.abs(res).max()))
    n = rounding.max_entries + 3
    err = gamma_n(n) * (rounding.value_max * (1.0 + rounding.gamma * rounding.sigma) + rounding.reward_max) + n * TINY
    return rounding._propagate(round_up(worst + err))


def _row_sum_max(rows: np.ndarray | sp.csr_matrix) -> tuple[float, int]:
    """``(bound on the largest exact row sum, most entries in a row)`` of a non-negative matrix."""
    if sp.issparse(rows):
        csr = sp.csr_matrix(rows)
        counts = np.diff(csr.indptr)
        k = int(counts.max()) if counts.size else 1
        sums = np.asarray(csr.sum(axis=1)).ravel()
    else:
        arr = np.asarray(rows)
        k = int(arr.shape[1])
        sums = arr.sum(axis=1)
    k = max(k, 1)
    top = float(sums.max()) if sums.size else 0.0
    # |exact - fl(sum)| <= gamma_{k-1} (exact sum) for non-negative terms
    return round_up(top * (1.0 + 2.0 * gamma_n(k))), k


def pomdp_rounding(model: POMDP, *, horizon: int | None = None) -> PomdpRounding:
    """The :class:`PomdpRounding` of ``model`` (one pass over ``T`` and ``O``); with ``horizon``
    the plan values are those of ``horizon``-step plans (``gamma = 1`` allowed)."""
    S, A, n_obs = model.n_states, model.n_actions, model.n_observations
    T2 = model.T if model.is_sparse else np.asarray(model.T).reshape(S * A, S)
    t_sum, k = _row_sum_max(T2)
    o_sum, _ = _row_sum_max(np.asarray(model.O).reshape(A * S, n_obs))
    sigma = round_up(t_sum * max(o_sum, 1.0))  # also bounds T's own row sums
    r_max = float(np.abs(model.R).max()) if model.R.size else 0.0
    b0_mass, _ = _row_sum_max(np.asarray(model.b0)[None, :])
    g = float(model.gamma)
    base = PomdpRounding(S, n_obs, k, sigma, r_max, g, 0.0, b0_mass)
    margin = base.margin
    # M also covers the vectors' own widening (at most 2^-20 M, else no widening is certified)
    if horizon is not None:
        gs = g * sigma
        plan_max = round_up(r_max * (horizon if gs <= 1.0 else horizon * gs ** max(horizon - 1, 0)) * (1 + 2.0**-19))
    else:
        plan_max = round_up(r_max / margin * (1 + 2.0**-19)) if margin > 0 else math.inf
    return PomdpRounding(S, n_obs, k, sigma, r_max, g, plan_max, b0_mass)
