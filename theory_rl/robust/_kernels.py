"""Compiled inner problems of the robust Bellman operator (numba), vectorised over all (s, a).

Every kernel reads a dense kernel ``P2`` of shape ``(S*A, S)`` (row ``s*A + a`` holds
``P[s, a, :]``) and a value vector ``v``; ``order`` is ``argsort(v)`` (ascending), computed
once per backup (``O(S log S)``, negligible against the ``S*A*S`` entries read; the operator
reuses it while it still sorts ``v``). With that global order the sa-rectangular inner problems
need one streaming pass over each row (its nominal dot product) plus a short walk in the order:

- L1 ball, ``min {<p, v> : ||p - p_hat||_1 <= xi, p in simplex}``: move ``min(xi/2, 1 - p_hat[i_min])``
  mass onto the lowest-value state ``i_min``, taken from the highest-value states first
  (Iyengar 2005, Sec. 4; Petrik & Subramanian 2014);
- boxes ``lo <= p <= hi`` (L-infinity balls and interval sets): start from ``lo`` and fill the
  remaining mass into the lowest-value states up to ``hi``, i.e. a threshold in the order,
  found from the previous backup's threshold position (one vectorised pass, then a walk);
- KL ball ``min {<p, v> : KL(p || p_hat) <= delta}``: the exponential tilt
  ``p ∝ p_hat exp(-t (v - v_min))`` with ``t = 1/beta`` the root of ``KL(p_t || p_hat) = delta``
  (Nilim & El Ghaoui 2005; Iyengar 2005), found by Newton's method safeguarded by a bracket
  and warm-started from the previous backup's ``t`` (``dKL/dt = t Var_{p_t}(v)``);
- s-rectangular L1 ball ``{P_s : sum_a ||p_a - p_hat_a||_1 <= kappa_s}``: the root of the
  convex piecewise-linear budget function ``sum_a f_a^{-1}(u) = kappa_s`` (Ho, Petrik &
  Wiesemann 2018, "Fast Bellman updates for robust MDPs", ICML), by a downward sweep of the
  level ``u`` over lazily generated breakpoints, or one verified Newton step from the previous
  backup's level.

``fastmath`` is off in the walks (their stopping tests compare exact floating-point masses).
Chunks of states run in parallel (``numba.prange``), as in :mod:`theory_rl.tabular._kernels`.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "sa_l1",
    "sa_box",
    "sa_kl",
    "exp_nonpositive",
    "pick",
    "s_l1",
    "s_l1_policy",
    "sorts",
]

_FASTMATH = {"reassoc", "contract", "nsz"}


@numba.njit(fastmath=_FASTMATH, cache=True, inline="always")
def _dot(p, v):  # pragma: no cover - compiled
    acc = 0.0
    for j in range(p.shape[0]):
        acc += p[j] * v[j]
    return acc


@numba.njit(cache=True)
def sorts(v, order):  # pragma: no cover - compiled
    """Whether ``v[order]`` is non-decreasing (``order`` a permutation of ``range(len(v))``)."""
    for k in range(1, order.shape[0]):
        if v[order[k]] < v[order[k - 1]]:
            return False
    return True


@numba.njit(fastmath=_FASTMATH, cache=True, inline="never")
def _dot_call(p, v):  # pragma: no cover - compiled
    """:func:`_dot` as a real call, for kernels compiled without ``fastmath``: inlined (numba
    inlines at the IR level) it would take the caller's strict flags and not vectorise (measured
    5.5x slower)."""
    return _dot(p, v)


@numba.njit(cache=True)
def _l1_row(p, v, order, xi, restrict, base, out_row, write):  # pragma: no cover - compiled
    """Value of ``min <q, v>`` over ``||q - p||_1 <= xi`` (and ``supp q ⊆ supp p`` when
    ``restrict``), given ``base = <p, v>``; writes the minimiser to ``out_row`` when ``write``."""
    n = p.shape[0]
    if write:
        for j in range(n):
            out_row[j] = p[j]
    k = 0
    if restrict:
        while k < n and p[order[k]] <= 0.0:
            k += 1
    i_min = order[k]
    eps = min(0.5 * xi, 1.0 - p[i_min])
    if eps <= 0.0:
        return base
    val = base + eps * v[i_min]
    if write:
        out_row[i_min] += eps
    rem = eps
    k = n - 1
    while rem > 0.0 and k >= 0:
        j = order[k]
        if j == i_min:
            break
        t = min(p[j], rem)
        if t > 0.0:
            val -= t * v[j]
            rem -= t
            if write:
                out_row[j] -= t
        k -= 1
    return val


def sa_l1(P2, v, order, budget, restrict, out_val, out_rows, write, chunks):  # pragma: no cover - compiled
    """``out_val[i] = min {<q, v> : ||q - P2[i]||_1 <= budget[i]}`` for every row ``i``; the
    minimisers go to ``out_rows`` (same shape as ``P2``) when ``write``."""
    n_rows = P2.shape[0]
    step = (n_rows + chunks - 1) // chunks
    for c in numba.prange(chunks):
        for i in range(c * step, min(n_rows, (c + 1) * step)):
            p = P2[i]
            out_val[i] = _l1_row(p, v, order, budget[i], restrict, _dot(p, v), out_rows[i if write else 0], write)


@numba.njit(fastmath=_FASTMATH, cache=True, inline="always")
def _box_bounds(p, lo, hi, radius, restrict, mode, i, j):  # pragma: no cover - compiled
    """``(lo, hi)`` of entry ``j`` of row ``i`` (see :func:`sa_box`)."""
    if mode == 0:
        pj = p[j]
        h = min(1.0, pj + radius)
        return max(0.0, pj - radius), (h if (pj > 0.0 or not restrict) else 0.0)
    return lo[i, j], hi[i, j]


def csr_sa_l1(data, indices, indptr, v, order, budget, restrict, out_val, chunks):  # pragma: no cover - compiled
    """:func:`sa_l1`'s values for a CSR kernel, without densifying. The moved mass goes to the
    lowest-value state: on the row's support with ``restrict``, else the global argmin
    ``order[0]`` (stored in the row or not); it is taken from the row's highest-value stored
    entries, selected one at a time in decreasing ``(v, position)`` order (``O(k)`` per entry
    taken, no sort and no allocation; a small budget takes one or two)."""
    n_rows = indptr.shape[0] - 1
    step = (n_rows + chunks - 1) // chunks
    for c in numba.prange(chunks):
        for i in range(c * step, min(n_rows, (c + 1) * step)):
            lo = indptr[i]
            hi = indptr[i + 1]
            # one pass: the nominal value, the receiving state (stored at q_min, or q_min = -1:
            # not stored, p = 0 there) and the highest-value stored entry q_top (the first to give)
            # (selects, not branches: data-dependent branches mispredicted on every few entries)
            base = 0.0
            q_min = -1
            q_top = -1
            v_lo = np.inf
            v_top = -np.inf
            i_low = order[0]
            for q in range(lo, hi):
                vq = v[indices[q]]
                pq = data[q]
                base += pq * vq
                top = pq > 0.0 and vq >= v_top
                q_top = q if top else q_top
                v_top = vq if top else v_top
                if restrict:
                    low = pq > 0.0 and vq < v_lo
                else:
                    low = indices[q] == i_low
                q_min = q if low else q_min
                v_lo = vq if low else v_lo
            v_min = v_lo if q_min >= 0 else (0.0 if restrict else v[i_low])
            eps = min(0.5 * budget[i], 1.0 - (data[q_min] if q_min >= 0 else 0.0))
            if q_min < 0 and restrict:
                eps = 0.0  # an empty row (not a valid kernel) has nothing to move
            if eps <= 0.0:
                out_val[i] = base
                continue
            val = base + eps * v_min
            if q_top >= 0 and q_top != q_min and data[q_top] >= eps and v[indices[q_top]] > v_min:
                out_val[i] = val - eps * v[indices[q_top]]  # the top entry gives all of it
                continue
            rem = eps
            prev_v = np.inf
            prev_q = hi
            while rem > 0.0:
                best = -1
                for q in range(lo, hi):
                    vq = v[indices[q]]
                    if q == q_min or data[q] <= 0.0 or vq > prev_v or (vq == prev_v and q >= prev_q):
                        continue
                    if best < 0 or vq > v[indices[best]] or (vq == v[indices[best]] and q > best):
                        best = q
                if best < 0 or v[indices[best]] <= v_min:
                    val -= rem * v_min  # the rest from ties of the receiving state: value-neutral
                    break
                t = min(data[best], rem)
                val -= t * v[indices[best]]
                rem -= t
                prev_v = v[indices[best]]
                prev_q = best
            out_val[i] = val


def csr_sa_linf(data, indices, indptr, radius, v, order, restrict, out_val, chunks):  # pragma: no cover - compiled
    """:func:`sa_box`'s L-infinity values for a CSR kernel, without densifying: stored entries
    start at ``max(0, p - r)``, and the remaining mass fills the lowest-value states up to
    ``min(1, p + r)``, where a state off the row's support takes up to ``min(1, r)`` unless
    ``restrict`` (then it takes none). The fill walks the global order from the bottom, a
    state's stored position found through a scratch map of length ``S`` (set and cleared per
    row), and stops when the mass is placed: ``O(k)`` steps for ``k`` stored entries when
    ``r > 0`` (each state passed over takes ``r`` or its whole box)."""
    n_rows = indptr.shape[0] - 1
    n = v.shape[0]
    step = (n_rows + chunks - 1) // chunks
    for c in numba.prange(chunks):
        pos = np.full(n, -1, dtype=np.int64)
        for i in range(c * step, min(n_rows, (c + 1) * step)):
            lo = indptr[i]
            k = indptr[i + 1] - lo
            r = radius[i]
            val = 0.0
            mass = 0.0
            for j in range(k):
                pos[indices[lo + j]] = lo + j
                low = max(0.0, data[lo + j] - r)
                val += low * v[indices[lo + j]]
                mass += low
            rem = 1.0 - mass
            off_cap = 0.0 if restrict else min(1.0, r)
            m = 0
            while rem > 0.0 and m < n:
                j = order[m]
                m += 1
                q = pos[j]
                if q >= 0:
                    cap = min(1.0, data[q] + r) - max(0.0, data[q] - r)
                else:
                    cap = off_cap
                t = min(cap, rem)
                if t > 0.0:
                    val += t * v[j]
                    rem -= t
            for j in range(k):
                pos[indices[lo + j]] = -1
            out_val[i] = val


def sa_box(P2, lo, hi, radius, v, order, k_warm, mode, restrict, out_val, out_rows, write, chunks):  # pragma: no cover
    """Boxes ``lo_i <= q_i <= hi_i`` intersected with the simplex: ``min <q, v>``.

    ``mode == 0``: L-infinity ball, ``lo = max(0, p - radius[i])``, ``hi = min(1, p + radius[i])``
    (``hi = 0`` off the support of ``p`` when ``restrict``), formed on the fly from ``P2``;
    ``mode == 1``: interval set, ``lo``/``hi`` read from the arrays (same shape as ``P2``).

    The minimiser is greedy: every state at ``lo``, then the remaining mass ``1 - sum lo`` filled
    into the lowest-value states up to ``hi``. It is a threshold in the global order of ``v``:
    for some position ``k``, the states before ``k`` in ``order`` sit at ``hi``, those after it
    at ``lo``, and ``order[k]`` takes what is left. Without ``write`` the kernel evaluates that
    threshold form at ``k = k_warm[i]`` (the previous backup's ``k``, or, before the first, the
    previous row's; moved down to the first state of its tie group, so that "before ``k``" is
    ``v_j < v[order[k]]``) in one branch-free, vectorised pass over ``p`` and ``v`` (the reads of
    a nominal backup), then moves ``k`` one state at a time until the mass before ``k`` is at
    most 1 and the partial state's box holds the rest; ``k_warm[i]`` is updated. The value is exact for every starting ``k``:
    a wrong start only costs the walk from it (a cold start, ``k = 0``, walks the states the
    greedy fill visits). With ``write``, the greedy fill runs from the lowest value (same value)
    and writes the minimiser to ``out_rows``.
    """
    n_rows = P2.shape[0]
    n = P2.shape[1]
    step = (n_rows + chunks - 1) // chunks
    for c in numba.prange(chunks):
        k_prev = 0
        for i in range(c * step, min(n_rows, (c + 1) * step)):
            p = P2[i]
            r = radius[i]
            if write:
                val = 0.0
                mass = 0.0
                row = out_rows[i]
                for j in range(n):
                    low = _box_bounds(p, lo, hi, r, restrict, mode, i, j)[0]
                    row[j] = low
                    val += low * v[j]
                    mass += low
                rem = 1.0 - mass
                k = 0
                while rem > 0.0 and k < n:
                    j = order[k]
                    low, high = _box_bounds(p, lo, hi, r, restrict, mode, i, j)
                    t = min(high - low, rem)
                    if t > 0.0:
                        val += t * v[j]
                        rem -= t
                        row[j] += t
                    k += 1
                out_val[i] = val
                continue
            k = k_warm[i]
            if k < 0 or k >= n:
                k = k_prev
            tau = v[order[k]]
            while k > 0 and v[order[k - 1]] >= tau:
                k -= 1
            mass = 0.0
            val = 0.0
            if mode == 0:
                for j in range(n):
                    pj = p[j]
                    low = max(0.0, pj - r)
                    high = min(1.0, pj + r)
                    high = high if (pj > 0.0 or not restrict) else 0.0
                    q = high if v[j] < tau else low
                    mass += q
                    val += q * v[j]
            else:
                lw = lo[i]
                hw = hi[i]
                for j in range(n):
                    q = hw[j] if v[j] < tau else lw[j]
                    mass += q
                    val += q * v[j]
            # mass counts order[k] at lo; move k down while the states before k carry too much
            moved_down = False
            while mass > 1.0 and k > 0:
                k -= 1
                j = order[k]
                low, high = _box_bounds(p, lo, hi, r, restrict, mode, i, j)
                mass -= high - low
                val -= (high - low) * v[j]
                moved_down = True
            if not moved_down:
                while k < n - 1:
                    j = order[k]
                    low, high = _box_bounds(p, lo, hi, r, restrict, mode, i, j)
                    if mass + (high - low) >= 1.0:
                        break
                    mass += high - low
                    val += (high - low) * v[j]
                    k += 1
            out_val[i] = val + (1.0 - mass) * v[order[k]]
            k_warm[i] = k
            k_prev = k


# --- the exponential tilt -------------------------------------------------------------------
# numba has no vectorised exp without Intel SVML, and libm's scalar exp costs ~20x a
# multiply-add read, so the tilt uses its own exp for x <= 0: Cody-Waite reduction
# x = k ln2 + r, |r| <= ln2/2, a degree-12 Taylor polynomial (relative error < 1e-15 on
# [-708, 0], tested) and 2^k assembled from its exponent bits. The bits are written in one loop
# and read back as doubles in a separate, non-inlined function, so the compiler cannot reorder
# the two through the aliasing view. Measured: 7 us against 22 us for libm on 2000 entries.
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2^52: (x + _ROUND) - _ROUND rounds x to an integer
_EXP_MATH = {"contract", "nsz", "arcp"}  # no reassoc: it would cancel the rounding trick


@numba.njit(fastmath=_EXP_MATH, cache=True, inline="always")
def _exp_parts(x):  # pragma: no cover - compiled
    """``exp(x) = poly * 2^k`` for ``x`` in ``[-708, 0]``; returns ``(poly, k)`` (``k < -1022``
    below: the callers' :func:`_pow2_bits` turns ``2^k`` into 0 there)."""
    x = max(x, -745.0)
    kf = (x * _LOG2E + _ROUND) - _ROUND
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    poly = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (
        1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (
            1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600))))))))))))
    return poly, kf


@numba.njit(cache=True, inline="always")
def _pow2_bits(kf):  # pragma: no cover - compiled
    """The bits of the double ``2^k`` for an integral ``k <= 0``; +0.0 below ``-1022`` (no
    subnormals: ``exp`` of less than -708 counts as 0, so that a huge ``t`` cannot pass for a
    root through a floor on the exponential)."""
    return (max(np.int64(kf), -1023) + 1023) << 52


@numba.njit(fastmath=_FASTMATH, cache=True, inline="never")
def _tilt_moments(e, scale, w, sw):  # pragma: no cover - compiled
    z = 0.0
    m1 = 0.0
    m2 = 0.0
    for j in range(e.shape[0]):
        x = e[j] * scale[j]
        u = w[j] * sw
        z += x
        m1 += x * u
        m2 += x * u * u
    return z, m1, m2


@numba.njit(fastmath=_FASTMATH, cache=True, inline="never")
def _scaled_copy(e, scale, c, out):  # pragma: no cover - compiled
    """``out = e * scale * c`` (not inlined, as :func:`_tilt_moments`: ``scale`` is a view of
    integer bits written by the caller)."""
    for j in range(e.shape[0]):
        out[j] = e[j] * scale[j] * c


@numba.njit(fastmath=_EXP_MATH, cache=True)
def exp_nonpositive(x, out, bits):  # pragma: no cover - compiled
    """``out = exp(x)`` for ``x <= 0`` with the tilt's exp (exposed for its accuracy test)."""
    for j in range(x.shape[0]):
        poly, kf = _exp_parts(x[j])
        out[j] = poly
        bits[j] = _pow2_bits(kf)
    scale = bits.view(np.float64)
    for j in range(x.shape[0]):
        out[j] *= scale[j]


@numba.njit(fastmath={"reassoc", "contract", "nsz", "nnan", "ninf"}, cache=True, inline="never")
def _support_stats(p, v, w):  # pragma: no cover - compiled
    """``(v_min, p-mass at v_min, max w)`` over the support of ``p``, with ``w = max(v - v_min, 0)``
    written to ``w``; branch-free selects so that both loops vectorise (``v`` is finite: the
    sentinel is a finite 1e308, not inf, as the flags exclude infinities)."""
    vmin = 1e308
    for j in range(p.shape[0]):
        vmin = min(vmin, v[j] if p[j] > 0.0 else 1e308)
    mass = 0.0
    wmax = 0.0
    for j in range(p.shape[0]):
        wj = max(v[j] - vmin, 0.0)
        w[j] = wj
        mass += p[j] if wj <= 0.0 else 0.0  # p = 0 off the support adds nothing
        wmax = max(wmax, wj if p[j] > 0.0 else 0.0)
    return vmin, mass, wmax


@numba.njit(fastmath=_FASTMATH, cache=True, inline="never")
def _shifted(v, vmin, w):  # pragma: no cover - compiled
    """``w = v - vmin``; returns ``max w``."""
    wmax = 0.0
    for j in range(v.shape[0]):
        w[j] = v[j] - vmin
        wmax = max(wmax, w[j])
    return wmax


@numba.njit(fastmath=_EXP_MATH, cache=True)
def _kl_stats(p, w, tn, sw, e, bits):  # pragma: no cover - compiled
    """``(Z, E_q u, E_q u^2)`` of the tilt ``q ∝ p exp(-tn u)`` in the row's units ``u = w * sw``
    (``sw = 1 / max w``, so ``u`` is in ``[0, 1]`` and ``tn = t max w`` is dimensionless:
    nothing overflows or underflows with the scale of ``v``), ``Z = E_p exp(-t w)``;
    ``e`` receives ``p * poly``, ``bits`` the exponents (scratch of the row's length)."""
    for j in range(p.shape[0]):
        poly, kf = _exp_parts(-tn * (w[j] * sw))
        e[j] = p[j] * poly
        bits[j] = _pow2_bits(kf)
    z, m1, m2 = _tilt_moments(e, bits.view(np.float64), w, sw)
    return z, m1 / z, m2 / z


@numba.njit(cache=True, inline="always")
def _kl_row(p, w, vmin, mass_min, wmax, d, t0, tol, max_newton, dual_ok, e, bits):  # pragma: no cover - compiled
    """The KL inner problem of one row ``p`` with ``w = v - v_min`` (entries of ``p`` and ``w``
    aligned; ``w >= 0`` where ``p > 0``): returns ``(status, value, t, Z)`` with ``status`` 0 when
    the answer is the nominal ``<p, v>`` (the caller computes it), 1 when the budget reaches the
    lowest support value (``value = v_min``, ``t = inf``), 2 for the tilt at ``t`` (``Z`` its
    normaliser; with ``dual_ok`` the value may be the dual's, see :func:`sa_kl`), 3 the same after
    ``max_newton`` steps without convergence.

    The iteration runs in the row's own units (``w / max w`` and ``T = t max w``), so that it
    and its tolerances are invariant to the scale of ``v``: the value's error is at most
    ``tol * max w`` (with absolute constants a row with ``max w`` of 1e-100 was accepted at any
    ``t``, 7% off, and one of 1e160 overflowed ``E w^2``)."""
    if d <= 0.0 or mass_min >= 1.0:
        return 0, 0.0, 0.0, 1.0
    if d >= -np.log(mass_min):
        return 1, vmin, np.inf, 1.0
    unit = max(wmax, 1e-300)
    sw = 1.0 / unit
    if d <= 1e-10:
        # KL(T) = T^2 Var_p(u)/2 - T^3 kappa3/6 + ..., and |kappa3| <= Var for u in [0, 1]:
        # where T <= 1e-2 the root is T = sqrt(2 delta / Var) to relative O(T) and the value's
        # error is O(delta T max w), while evaluating KL by its formula would cancel
        # catastrophically. Otherwise (a tiny mass far below the rest: the expansion was 3% off
        # in t, the value 1e-6 too low, on a row with p = 1e-17 at v_min) Newton's method below,
        # from that T
        z, m1, m2 = _kl_stats(p, w, 0.0, sw, e, bits)
        t = np.sqrt(2.0 * d / max(m2 - m1 * m1, 1e-300))
        if t <= 1e-2:
            z, m1, m2 = _kl_stats(p, w, t, sw, e, bits)
            return 2, vmin + unit * m1, t * sw, z
        t0 = t * sw
    t = t0 * unit  # T, dimensionless, from here on
    t_cold = -1.0
    if not (t > 0.0 and t < np.inf):
        # small-T expansion KL ~ T^2 Var_p(u) / 2
        z, m1, m2 = _kl_stats(p, w, 0.0, sw, e, bits)
        t_cold = np.sqrt(2.0 * d / max(m2 - m1 * m1, 1e-300))
        t = t_cold
    tried_cold = t_cold > 0.0
    t_lo = 0.0
    t_hi = np.inf
    gap_tol = tol
    z = 1.0
    m1 = 0.0
    for _ in range(max_newton):
        z, m1, m2 = _kl_stats(p, w, t, sw, e, bits)
        g = -t * m1 - np.log(z) - d
        var = m2 - m1 * m1
        if abs(g) <= gap_tol * t and (g <= 0.0 or abs(g) <= 1e-3 * t * t * var):
            # g <= 0: q_t is feasible and its value is within |g|/t (times max w) of the dual's;
            # g > 0 (q_t just outside the ball) only near the root, where the value's error is
            # g/t to first order (a huge warm-start t has a tiny g/t but is far from it)
            return 2, vmin + unit * m1, t * sw, z
        if (dual_ok and var > 0.0 and abs(g) <= 1e-3 * t * t * var
                and 0.5 * g * g <= gap_tol * t * t * t * var):
            # the dual phi(beta) = v_min - (log Z + delta)/t is stationary at the root, so
            # near it its error is second order, g^2 / (2 T^3 Var) (times max w): return it (a
            # lower bound on the minimum by weak duality) without another pass. "Near": the
            # Newton step g / (T Var) is below 1e-3 T (a far-off warm start, e.g. a huge
            # T where Var underflows, would make the estimate meaningless)
            return 2, vmin - unit * (np.log(z) + d) / t, t * sw, z
        if g < 0.0:
            t_lo = t
        else:
            t_hi = t
        slope = t * (m2 - m1 * m1)
        t_new = t - g / slope if slope > 0.0 else -1.0
        if not (t_new > t_lo and t_new < t_hi) and not tried_cold:
            # a warm start far from the root (Newton left the bracket): try the cold start
            tried_cold = True
            z, m1, m2 = _kl_stats(p, w, 0.0, sw, e, bits)
            t_new = np.sqrt(2.0 * d / max(m2 - m1 * m1, 1e-300))
        if not (t_new > t_lo and t_new < t_hi):
            if t_hi == np.inf:
                t_new = 2.0 * t_lo + 1.0
            elif t_lo > 0.0:
                t_new = np.sqrt(t_lo * t_hi)
            elif t_hi > 1e3:
                # far above any useful scale (a cold start from a variance lost to cancellation
                # was T = 4e148 on a row with mass 8e-20 at its minimum; halving never got
                # back): geometric steps towards T = 1
                t_new = np.sqrt(t_hi)
            else:
                t_new = 0.5 * t_hi
        if t_hi < np.inf and t_hi - t_lo <= 1e-15 * t_hi:
            z, m1, m2 = _kl_stats(p, w, t, sw, e, bits)
            return 2, vmin + unit * m1, t * sw, z
        t = t_new
    z, m1, m2 = _kl_stats(p, w, t, sw, e, bits)
    return 3, vmin + unit * m1, t * sw, z


def sa_kl(P2, full_support, v, order, delta, t_warm, tol, max_newton, out_val, out_rows, write, chunks):  # pragma: no cover
    """``out_val[i] = min {<q, v> : KL(q || P2[i]) <= delta[i]}`` by the exponential tilt.

    Rows with ``full_support[i]`` (no zero entry) share ``w = v - min v``, computed once per
    call (``order = argsort(v)`` gives the minimisers); other rows compute their own support
    minimum in a pass of their own.

    ``t_warm[i]`` (inverse temperature ``1/beta``) is read as the starting point and overwritten
    with the root found (``inf`` when the budget reaches the lowest-value support states, where
    ``q`` is ``p`` restricted to them). The root solves ``KL(t) = delta`` with
    ``KL(t) = -t E_q w - log Z(t)`` increasing (``KL'(t) = t Var_q w``), ``w = v - min_{supp p} v``
    (clamped at 0 off the support, where ``p = 0``). At any ``t`` the dual value
    ``v_min - (log Z + delta)/t`` and the primal ``<q_t, v>`` differ by exactly
    ``|delta - KL(t)| / t``; Newton's method (bracketed, bisection when a step leaves the bracket)
    stops when that gap is at most ``tol * max w`` (relative to the row's range of ``v``: the
    iteration runs in units of ``max w``, see :func:`_kl_row`), or, when no row is to be written, as
    soon as the dual's second-order error estimate ``g^2 / (2 t^3 Var_q w)`` (``g = KL(t) - delta``)
    is: it then returns the dual value, a lower bound on the minimum (weak duality), which with
    the previous backup's ``t`` as warm start usually costs a single pass. Returns the number of rows that hit
    ``max_newton`` iterations.
    """
    n_rows = P2.shape[0]
    n = P2.shape[1]
    step = (n_rows + chunks - 1) // chunks
    fails = np.zeros(chunks, dtype=np.int64)
    vmin_all = v[order[0]]
    w_all = np.empty(n)
    wmax_all = _shifted(v, vmin_all, w_all)
    n_ties = 1
    while n_ties < n and v[order[n_ties]] <= vmin_all:
        n_ties += 1
    for c in numba.prange(chunks):
        w_own = np.empty(n)
        e = np.empty(n)
        bits = np.empty(n, dtype=np.int64)
        for i in range(c * step, min(n_rows, (c + 1) * step)):
            p = P2[i]
            if full_support[i]:
                w = w_all
                vmin = vmin_all
                wmax = wmax_all
                mass_min = 0.0
                for k in range(n_ties):
                    mass_min += p[order[k]]
            else:
                w = w_own
                vmin, mass_min, wmax = _support_stats(p, v, w)
            status, val, t, z = _kl_row(p, w, vmin, mass_min, wmax, delta[i], t_warm[i], tol, max_newton, not write,
                                        e, bits)
            if status == 0:
                val = _dot_call(p, v)
            elif status == 3:
                fails[c] += 1
            out_val[i] = val
            t_warm[i] = t
            if write:
                if status == 0:
                    for j in range(n):
                        out_rows[i, j] = p[j]
                elif status == 1:
                    for j in range(n):
                        out_rows[i, j] = p[j] / mass_min if (p[j] > 0.0 and w[j] <= 0.0) else 0.0
                else:
                    # _kl_row returned right after evaluating the tilt at t: e and bits hold
                    # p exp(-t w) (mantissa part and exponent), so the row costs no exp pass
                    _scaled_copy(e, bits.view(np.float64), 1.0 / z, out_rows[i])
    return fails.sum()


def csr_sa_kl(data, indices, indptr, v, delta, t_warm, tol, max_newton, out_val, chunks):  # pragma: no cover - compiled
    """:func:`sa_kl`'s values for a CSR kernel (row ``i`` = ``data[indptr[i]:indptr[i+1]]`` at
    columns ``indices[...]``), without densifying: a KL ball never leaves the row's support, so
    each row's tilt runs over its stored entries only (``w`` gathered from ``v``)."""
    n_rows = indptr.shape[0] - 1
    step = (n_rows + chunks - 1) // chunks
    width = 1
    for i in range(n_rows):
        width = max(width, indptr[i + 1] - indptr[i])
    fails = np.zeros(chunks, dtype=np.int64)
    for c in numba.prange(chunks):
        w_buf = np.empty(width)
        e = np.empty(width)
        bits = np.empty(width, dtype=np.int64)
        for i in range(c * step, min(n_rows, (c + 1) * step)):
            lo = indptr[i]
            k = indptr[i + 1] - lo
            p = data[lo:lo + k]
            w = w_buf[:k]
            vmin = np.inf
            base = 0.0
            for j in range(k):
                vj = v[indices[lo + j]]
                base += p[j] * vj
                if p[j] > 0.0 and vj < vmin:
                    vmin = vj
            mass_min = 0.0
            wmax = 0.0
            for j in range(k):
                wj = max(v[indices[lo + j]] - vmin, 0.0) if p[j] > 0.0 else 0.0
                w[j] = wj
                if p[j] > 0.0:
                    wmax = max(wmax, wj)
                    if wj <= 0.0:
                        mass_min += p[j]
            status, val, t, z = _kl_row(p, w, vmin, mass_min, wmax, delta[i], t_warm[i], tol, max_newton, True,
                                        e[:k], bits[:k])
            if status == 0:
                val = base
            elif status == 3:
                fails[c] += 1
            out_val[i] = val
            t_warm[i] = t
    return fails.sum()


@numba.njit(cache=True)
def _l1_knots(p, v, order, restrict, xi_cap, base, knot_xi, knot_q):  # pragma: no cover - compiled
    """Breakpoints of ``q(xi) = min {<q, v> : ||q - p||_1 <= xi}`` on ``[0, xi_cap]``: a convex,
    non-increasing, piecewise-linear function; returns the number of knots ``m`` written to
    ``knot_xi[:m]``, ``knot_q[:m]`` (``knot_xi[0] = 0``, last knot where it turns flat or at
    ``xi_cap``)."""
    n = p.shape[0]
    k = 0
    if restrict:
        while k < n and p[order[k]] <= 0.0:
            k += 1
    i_min = order[k]
    v_min = v[i_min]
    xi_max = min(xi_cap, 2.0 * (1.0 - p[i_min]))
    knot_xi[0] = 0.0
    knot_q[0] = base
    m = 1
    xi = 0.0
    q = base
    k = n - 1
    while xi < xi_max and k >= 0:
        j = order[k]
        k -= 1
        if j == i_min:
            break
        if p[j] <= 0.0:
            continue
        seg = min(2.0 * p[j], xi_max - xi)
        q += 0.5 * seg * (v_min - v[j])
        xi += seg
        knot_xi[m] = xi
        knot_q[m] = q
        m += 1
    return m


@numba.njit(cache=True, inline="always")
def _support_floor(p, order, restrict):  # pragma: no cover - compiled
    """Position in ``order`` of the state that receives the moved mass: the lowest-value state
    (on the support of ``p`` when ``restrict``)."""
    k = 0
    if restrict:
        while k < p.shape[0] - 1 and p[order[k]] <= 0.0:
            k += 1
    return k


@numba.njit(cache=True, inline="always")
def _next_above_floor(P2, i, v, order, k, kstop, vmin):  # pragma: no cover - compiled
    """Walk ``order`` down from position ``k`` (to ``kstop``, exclusive) to the next state ``j`` in
    the support of ``P2[i]`` with ``v[j] > vmin``: ``(position after j, P2[i, j], v[j] - vmin)``, or
    ``(position reached, 0, 0)`` when there is none (a state at or below ``vmin`` ends the walk:
    ``order`` is increasing in ``v``)."""
    while k > kstop:
        j = order[k]
        k -= 1
        pj = P2[i, j]  # indexed, not a row view: a view per event cost more than the event
        if pj <= 0.0:
            continue
        dv = v[j] - vmin
        if dv <= 0.0:
            return k, 0.0, 0.0
        return k, pj, dv
    return k, 0.0, 0.0


@numba.njit(cache=True, inline="always")
def _next_piece(P2, i, v, order, gamma, a, kpos, kstop, vmin, xi0, f0, seg_len, rate, event, active):  # pragma: no cover
    """Move action ``a`` of the s-rectangular sweep onto its next linear piece: the next state
    from the top of ``order`` (in the support of ``p = P2[i]``) gives its mass to the floor state, at
    ``d xi / d(-f) = 2 / (gamma (v_j - v_min))``. ``xi0[a], f0[a]`` must hold the start of the
    piece. An action with no state left above ``v_min`` is at its floor (``active = 2``)."""
    k = kpos[a]
    while True:
        k, pj, dv = _next_above_floor(P2, i, v, order, k, kstop[a], vmin[a])
        if pj <= 0.0:
            break
        drop = gamma * pj * dv
        if drop <= 0.0:  # underflow: the piece is flat in u, its budget is spent at once
            xi0[a] += 2.0 * pj
            continue
        kpos[a] = k
        seg_len[a] = 2.0 * pj
        rate[a] = 2.0 / (gamma * dv)
        event[a] = f0[a] - drop
        active[a] = 1
        return
    kpos[a] = k
    event[a] = f0[a]
    rate[a] = 0.0
    active[a] = 2


@numba.njit(cache=True)
def _s_l1_at_level(P2, s, v, order, gamma, A, ks, ug, f_top, kstop, vmin, xi_a, rate_a, f_hi, f_lo):  # pragma: no cover
    """One Newton step of the s-rectangular sweep from a guessed level ``ug``: every action's
    linear piece of ``f_a^{-1}`` at ``ug`` (walked from the top of ``order``, as the sweep does),
    ``g(ug)``, and the root ``u1`` of the linear ``g`` through it. Returns ``u1`` when every
    action's piece (and every action still out) keeps the same form on the whole interval
    between ``ug`` and ``u1``, strictly: then ``g`` is linear there and ``u1`` is exactly ``u*``;
    otherwise ``nan`` (the caller sweeps)."""
    n = P2.shape[1]
    g = 0.0
    slope = 0.0
    for a in range(A):
        i = s * A + a
        f = f_top[a]
        rate_a[a] = 0.0
        xi_a[a] = 0.0
        f_hi[a] = f
        f_lo[a] = -np.inf
        if f <= ug:  # out: f_a^{-1}(u) = 0 for u >= f_top
            continue
        xi = 0.0
        k = n - 1
        found = False
        while True:
            k, pj, dv = _next_above_floor(P2, i, v, order, k, kstop[a], vmin[a])
            if pj <= 0.0:
                break
            drop = gamma * pj * dv
            if f - drop < ug:
                rate = 2.0 / (gamma * dv)
                rate_a[a] = rate
                xi_a[a] = xi + (f - ug) * rate
                f_hi[a] = f
                f_lo[a] = f - drop
                found = True
                break
            f -= drop
            xi += 2.0 * pj
        if not found:  # the action's floor is at or above ug
            return np.nan
        g += xi_a[a]
        slope += rate_a[a]
    if not slope > 0.0:
        return np.nan
    u1 = ug + (g - ks) / slope
    for a in range(A):
        if rate_a[a] > 0.0:
            if not (f_lo[a] < u1 and u1 < f_hi[a]):
                return np.nan
        elif not f_top[a] < u1:
            return np.nan
    return u1


def s_l1(P2, r, v, order, gamma, n_actions, kappa, restrict, depth, out_val, out_policy, out_budget, chunks):  # pragma: no cover
    r"""s-rectangular L1 robust backup (Ho, Petrik & Wiesemann 2018).

    For each state ``s`` with ``f_a(xi) = r[s, a] + gamma * q_a(xi)`` (``q_a`` the sa-L1 value of
    row ``(s, a)`` with budget ``xi``: convex, non-increasing, piecewise linear):

    .. math::
        u^*(s) = \max_{d \in \Delta(A)} \min_{\sum_a \xi_a \le \kappa_s} \sum_a d_a f_a(\xi_a)
               = \min \{u : g(u) = \textstyle\sum_a f_a^{-1}(u) \le \kappa_s\}.

    Computed by one downward sweep of the level ``u`` (exact, no bisection): an action enters
    at ``u = f_a(0)``; while it is in, ``f_a^{-1}`` is linear between the breakpoints, which are
    generated lazily, one state at a time from the top of the global order of ``v`` (moving
    ``p_j`` from state ``j`` to the floor state costs ``2 p_j`` of budget and lowers ``f_a`` by
    ``gamma p_j (v_j - v_min)``). Each event (an action entering, a breakpoint) costs ``O(A)``;
    the sweep stops inside the first linear piece of ``g`` that reaches ``kappa_s``, so it
    generates only the breakpoints below ``sum_a xi_a(u*) = kappa_s``: about ``kappa_s / (2
    p_typ)`` states in all, instead of every action's breakpoints up to ``kappa_s`` (a factor
    ``A`` fewer than a merge of all breakpoints, as in the paper's ``O(n log n)`` algorithm).
    If an action reaches its floor ``f_a(xi_max)`` first, ``u*`` is that floor (the budget
    suffices to push every other action down to it) and the policy is that action.

    Warm start: ``depth[s]`` holds ``max_a f_a(0) - u*`` of the previous backup (``nan``: none).
    The kernel first tries one Newton step of ``g`` from the level that depth gives
    (:func:`_s_l1_at_level`: one walk per action down to that level, no event merging); it is
    accepted only when ``g`` is provably linear between the guess and the step's root, so the
    answer is exact either way, and a wrong guess costs that walk before the sweep.

    Writes ``out_val[s] = u*``, the optimal randomised policy ``out_policy[s, :]`` (``d_a``
    proportional to ``-d xi_a/du`` on the linear piece of ``g`` just above ``u*``, the Lagrange
    multipliers of the budget) and the adversary's budgets ``out_budget[s*A + a] = xi_a(u*)``.
    """
    n_states = v.shape[0]
    A = n_actions
    step = (n_states + chunks - 1) // chunks
    for c in numba.prange(chunks):
        f_top = np.empty(A)
        f_hi = np.empty(A)
        f_lo = np.empty(A)
        kpos = np.empty(A, dtype=np.int64)
        kstop = np.empty(A, dtype=np.int64)
        active = np.empty(A, dtype=np.int64)
        vmin = np.empty(A)
        xi0 = np.empty(A)
        f0 = np.empty(A)
        seg_len = np.empty(A)
        rate = np.empty(A)
        event = np.empty(A)
        for s in range(c * step, min(n_states, (c + 1) * step)):
            ks = kappa[s]
            n = P2.shape[1]
            for a in range(A):
                i = s * A + a
                p = P2[i]
                f0[a] = r[i] + gamma * _dot_call(p, v)
                event[a] = f0[a]
                xi0[a] = 0.0
                rate[a] = 0.0
                active[a] = 0
                kpos[a] = n - 1
                kstop[a] = _support_floor(p, order, restrict)
                vmin[a] = v[order[kstop[a]]]
            if not ks > 0.0:  # no budget: the best nominal action (lowest index on ties)
                b = 0
                for a in range(A):
                    out_policy[s, a] = 0.0
                    out_budget[s * A + a] = 0.0
                    if f0[a] > f0[b]:
                        b = a
                out_policy[s, b] = 1.0
                out_val[s] = f0[b]
                depth[s] = 0.0
                continue
            u_top = f0[0]
            for a in range(A):
                f_top[a] = f0[a]
                u_top = max(u_top, f0[a])
            if depth[s] >= 0.0:
                u1 = _s_l1_at_level(P2, s, v, order, gamma, A, ks, u_top - depth[s], f_top, kstop, vmin, xi0, rate,
                                    f_hi, f_lo)
                if u1 == u1:  # not nan: exact
                    slope = 0.0
                    for a in range(A):
                        slope += rate[a]
                    for a in range(A):
                        out_policy[s, a] = rate[a] / slope
                        out_budget[s * A + a] = max(xi0[a] + (u_top - depth[s] - u1) * rate[a], 0.0)
                    out_val[s] = u1
                    depth[s] = u_top - u1
                    continue
                for a in range(A):  # back to the sweep's initial state
                    xi0[a] = 0.0
                    rate[a] = 0.0
            u = np.inf
            g_cur = 0.0  # g(u), kept up to date event by event (sums of non-negative terms)
            slope_cur = 0.0  # -g'(u) = sum of the active rates (updated incrementally)
            done = False
            for _ in range(A * (n + 2) + 2):
                u_next = event[0]
                for a in range(1, A):
                    u_next = max(u_next, event[a])
                b = 0
                while event[b] != u_next:
                    b += 1
                g_next = g_cur + (u - u_next) * slope_cur if slope_cur > 0.0 else g_cur
                if g_next >= ks * (1.0 - 1e-9):
                    # a crossing on [u_next, u] is likely: g and its slope from scratch, exactly
                    # (rate = 0 and xi0 = 0 while an action is out, rate = 0 at its floor)
                    g_next = 0.0
                    slope_cur = 0.0
                    for a in range(A):
                        g_next += xi0[a] + (f0[a] - u_next) * rate[a]
                        slope_cur += rate[a]
                    if g_next >= ks and slope_cur > 0.0:
                        # g(u') = g_next - (u' - u_next) * slope on [u_next, u]
                        us = min(u_next + (g_next - ks) / slope_cur, u)
                        for a in range(A):
                            xa = 0.0
                            if active[a] == 1:
                                xa = max(xi0[a] + (f0[a] - us) * rate[a], 0.0)
                                out_policy[s, a] = rate[a] / slope_cur
                            else:
                                xa = xi0[a] if active[a] == 2 else 0.0
                                out_policy[s, a] = 0.0
                            out_budget[s * A + a] = xa
                        out_val[s] = us
                        done = True
                        break
                g_cur = g_next
                u = u_next
                if active[b] == 2:  # b's floor: g(u) < kappa and g = inf below, so u* = u
                    for a in range(A):
                        out_policy[s, a] = 0.0
                        if active[a] == 1:
                            out_budget[s * A + a] = xi0[a] + (f0[a] - u) * rate[a]
                        elif active[a] == 2:
                            out_budget[s * A + a] = xi0[a]
                        else:
                            out_budget[s * A + a] = 0.0
                    out_policy[s, b] = 1.0
                    out_val[s] = u
                    done = True
                    break
                if active[b] == 1:  # end of b's piece: start the next one there
                    xi0[b] += seg_len[b]
                    f0[b] = event[b]
                old_rate = rate[b]
                x_start = xi0[b]
                _next_piece(P2, s * A + b, v, order, gamma, b, kpos, kstop, vmin, xi0, f0, seg_len, rate, event,
                            active)
                g_cur += xi0[b] - x_start  # pieces too flat to lower f (underflow) are spent at once
                slope_cur = max(slope_cur + (rate[b] - old_rate), 0.0)
            if not done:  # pragma: no cover - the sweep ends within A * (n + 2) events
                out_val[s] = np.nan
            depth[s] = u_top - out_val[s]


def s_l1_policy(P2, r, v, order, gamma, n_actions, kappa, restrict, policy, out_val, out_budget, chunks):  # pragma: no cover
    r"""The adversary's best response to a randomised policy under an s-rectangular L1 set:

    .. math::
        \min_{\sum_a \xi_a \le \kappa_s} \sum_a \pi(a|s) \big(r(s,a) + \gamma q_a(\xi_a)\big),

    a separable convex piecewise-linear program, solved greedily: the segments of all actions,
    sorted by their rate ``pi(a|s) * gamma * |q_a'|``, fill the budget steepest first. Writes the
    value ``out_val[s]`` and the budgets ``out_budget[s*A + a]``.
    """
    n_states = v.shape[0]
    n = P2.shape[1]
    A = n_actions
    step = (n_states + chunks - 1) // chunks
    for c in numba.prange(chunks):
        kxi = np.empty(n + 1)
        kq = np.empty(n + 1)
        seg_rate = np.empty(A * (n + 1))
        seg_len = np.empty(A * (n + 1))
        seg_act = np.empty(A * (n + 1), dtype=np.int64)
        for s in range(c * step, min(n_states, (c + 1) * step)):
            ks = kappa[s]
            val = 0.0
            n_seg = 0
            for a in range(A):
                i = s * A + a
                p = P2[i]
                base = _dot_call(p, v)
                out_budget[i] = 0.0
                pa = policy[s, a]
                val += pa * (r[i] + gamma * base)
                if pa <= 0.0:
                    continue
                m = _l1_knots(p, v, order, restrict, ks, base, kxi, kq)
                for k in range(1, m):
                    length = kxi[k] - kxi[k - 1]
                    if length > 0.0:
                        seg_rate[n_seg] = pa * gamma * (kq[k - 1] - kq[k]) / length
                        seg_len[n_seg] = length
                        seg_act[n_seg] = a
                        n_seg += 1
            idx = np.argsort(-seg_rate[:n_seg], kind="mergesort")
            rem = ks
            for k in range(n_seg):
                if rem <= 0.0:
                    break
                j = idx[k]
                if seg_rate[j] <= 0.0:
                    break
                t = min(seg_len[j], rem)
                val -= seg_rate[j] * t
                out_budget[s * A + seg_act[j]] += t
                rem -= t
            out_val[s] = val


# Each kernel above is compiled twice: with ``parallel=True`` for large models and serially
# for small ones, where starting the thread team costs more than the work (and, on a loaded
# machine, an OpenMP barrier can cost milliseconds). ``n_rows * S`` below ``_SERIAL_BELOW``
# entries runs serially.
_SERIAL_BELOW = 1 << 16


def _pair(fn, fastmath):  # noqa: ANN001, ANN202
    par = numba.njit(parallel=True, fastmath=fastmath, cache=True)(fn)
    ser = numba.njit(parallel=False, fastmath=fastmath, cache=True)(fn)
    return par, ser


_sa_l1 = _pair(sa_l1, _FASTMATH)
_csr_sa_l1 = _pair(csr_sa_l1, False)
_csr_sa_linf = _pair(csr_sa_linf, False)
_sa_box = _pair(sa_box, _FASTMATH)
_sa_kl = _pair(sa_kl, False)
_csr_sa_kl = _pair(csr_sa_kl, False)
_s_l1 = _pair(s_l1, False)
_s_l1_policy = _pair(s_l1_policy, False)


def pick(pair, n_entries):  # noqa: ANN001, ANN201
    """The parallel or the serial build of a kernel for a model with ``n_entries = S*A*S``."""
    return pair[1] if n_entries < _SERIAL_BELOW else pair[0]
