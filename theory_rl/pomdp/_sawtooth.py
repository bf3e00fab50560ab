r"""The sawtooth upper bound of an HSVI2 / SARSOP solution, evaluated at any belief.

Reference: M. Hauskrecht, "Value-function approximations for partially observable Markov decision
processes", JAIR 13 (2000); T. Smith and R. Simmons, UAI 2005 (arXiv:1207.1412).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._rounding import gamma_n
from .._validation import as_float_array, check_probability_rows
from ..errors import InvalidModelError
from ._point_search import _chain_points, _upper_values
from ._solution import POMDPSolution

__all__ = ["sawtooth_upper_bound"]


def sawtooth_upper_bound(solution: POMDPSolution, beliefs: Any) -> np.ndarray | float:
    r"""The certified upper bound ``V_hi(b)`` of an :func:`hsvi2` or :func:`sarsop` result at beliefs.

    Evaluates the sawtooth interpolation of the solution's upper point set, capped by the FIB
    (Hauskrecht 2000, JAIR 13; Smith & Simmons 2005, UAI):

    .. math::
        V_{hi}(b) = \min\Big(\max_a b \cdot Q_{FIB}(\cdot, a),\; b \cdot \bar v,\;
        \min_i \big[b \cdot \bar v + c_i(b) (v_i - b_i \cdot \bar v)\big]\Big), \qquad
        c_i(b) = \min_{s: b_i(s) > 0} b(s) / b_i(s),

    with ``bar v`` the corner values and ``(b_i, v_i)`` the points. Valid everywhere on the
    simplex: ``V*(b) <= V_hi(b)`` because each ``v_i >= V*(b_i)`` and ``V*`` is convex. The
    returned values add the float64 allowance of the search's backups
    (``solution.info["upper"]["widening"]`` per unit of belief mass) and of this evaluation, so
    they bound the exact ``V*`` of the model as stored.

    Parameters
    ----------
    solution : POMDPSolution
        A result of :func:`hsvi2` or :func:`sarsop` (its ``info["upper"]`` holds the corner values,
        the FIB and the
        points).
    beliefs : array_like, shape (S,) or (N, S)
        Probability vectors (non-negative, summing to 1 within ``1e-6``).

    Raises
    ------
    InvalidModelError
        If ``solution`` has no upper point set, or a row of ``beliefs`` has the wrong length, is
        not finite, has a negative entry or does not sum to 1 (the row and entry are named).

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> sol = pomdp.hsvi2(tiger, tol=1e-2, time_limit=120)
    >>> bool(pomdp.sawtooth_upper_bound(sol, tiger.b0) >= 19.3714)
    True
    """
    up = solution.info.get("upper") if isinstance(solution.info, dict) else None
    if not up:
        raise InvalidModelError("solution has no upper point set (it was not produced by hsvi2 or sarsop)")
    corner = np.asarray(up["corner"], dtype=np.float64)
    B = as_float_array(beliefs, "beliefs", ndim=(1, 2))
    single = B.ndim == 1
    B = B[None, :] if single else B
    if B.shape[1] != corner.size:
        raise InvalidModelError(f"beliefs have shape {B.shape}, expected (N, {corner.size})")
    # the bound is certified on the simplex only: reject what is not a belief instead of
    # returning a number with no meaning
    check_probability_rows(B, "beliefs", atol=1e-6, row_shape=(B.shape[0],))
    csr = sp.csr_matrix(B)
    with np.errstate(over="ignore", divide="ignore"):
        inv = 1.0 / np.asarray(up["val"], dtype=np.float64)
    pts_ptr = np.asarray(up["ptr"], dtype=np.int64)
    pts_idx = np.asarray(up["idx"], dtype=np.int64)
    n_pts = pts_ptr.size - 1
    head, nxt = np.full(corner.size, -1, dtype=np.int64), np.full(max(n_pts, 1), -1, dtype=np.int64)
    _chain_points(pts_ptr, pts_idx, n_pts, head, nxt)
    values = _upper_values(
        csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data.astype(np.float64), corner,
        np.asarray(up["q_fib"], dtype=np.float64), pts_ptr, pts_idx, inv, np.asarray(up["delta"], dtype=np.float64),
        head, nxt, -1, np.zeros(corner.size),
    )
    widening = float(up.get("widening", 0.0))
    m = float(max(np.abs(corner).max(), np.abs(np.asarray(up["q_fib"])).max(), up.get("value_max", 0.0)))
    mass = B.sum(axis=1) * (1.0 + 2.0 * gamma_n(B.shape[1]))
    # the sawtooth takes chained sums of at most S terms, ratios and one product: 2 S + 8 roundings
    values = np.nextafter(values + widening * mass + gamma_n(2 * B.shape[1] + 8) * 3.0 * m * mass, np.inf)
    return float(values[0]) if single else values

