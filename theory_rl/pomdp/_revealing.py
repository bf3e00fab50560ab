r"""Revealing constants of POMDPs by linear programming (Chen, Wang, Xiong, Mei, Bai, ICML 2023,
"Lower Bounds for Learning in Revealing POMDPs", arXiv 2302.01333; the condition is from
Liu, Chung, Szepesvari, Jin 2022 and Chen et al. 2022a, arXiv 2209.14990).

A POMDP is *m-step alpha-revealing* when every m-step emission-action matrix ``𝕄_{h,m}`` has a left
inverse ``X`` (``X 𝕄 = I_S``) with ``||X||_{1->1} <= 1/alpha``, where ``||X||_{1->1} = max_j
sum_i |X_ij|`` is the largest column l1 norm. The best constant is

.. math::
    \alpha_m(h) = 1 \Big/ \min\{\, \|X\|_{1\to 1} : X\,𝕄_{h,m} = I_S \,\},

a linear program in ``(X, Y, t)``: minimise ``t`` subject to ``X 𝕄 = I``, ``-Y <= X <= Y``,
``sum_i Y_ij <= t`` for every column ``j`` (Chen et al. 2023, arXiv 2302.01333), solved by HiGHS.
It is infeasible exactly when ``rank(𝕄) < S``; then ``alpha = 0`` (not revealing).

Cassandra's emissions depend on the action just taken, ``O[a, s', o]``. The step-``h`` matrix
therefore depends on the previous action ``a_{h-1}`` (known to the learner):

.. math::
    𝕄^{a_{h-1}}_{h,m}[(o_h, a_h, \dots, a_{h+m-2}, o_{h+m-1}), s] =
    \Pr(o_{h:h+m-1} \mid s_h = s, a_{h-1}, \mathrm{do}\ a_{h:h+m-2}),

and the model's constant is the minimum over previous actions unless one
is named. For a single time-homogeneous POMDP this does not depend on ``h``; a sequence of
POMDPs ``(P_1, ..., P_H)`` is a time-inhomogeneous model in which ``o_h`` is emitted by
``P_h.O`` and ``s_{h+1}`` drawn from ``P_h.T``, and there ``h`` matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .._validation import as_float_array, check_finite, check_int, check_optional_int
from ..errors import InvalidModelError, SolverError
from ..models import POMDP

__all__ = [
    "emission_action_matrix",
    "left_inverse_norm",
    "revealing_constant",
    "revealing_bounds",
    "is_revealing",
]


def left_inverse_norm(matrix: Any, *, rank_tol: float = 1e-10) -> tuple[float, np.ndarray | None]:
    r"""``min ||X||_{1->1}`` over left inverses ``X M = I`` of an ``(n, S)`` matrix, by HiGHS.

    Returns
    -------
    norm : float
        The optimum (``inf`` when ``rank(M) < S``: no left inverse exists).
    X : ndarray of shape (S, n), or None
        An optimal left inverse.

    Notes
    -----
    Variables ``x = (vec X, vec Y, t)`` (``2 S n + 1`` of them, row-major ``vec``); equalities
    ``(I_S \otimes M^T) vec X = vec I``; inequalities ``X - Y <= 0``, ``-X - Y <= 0``,
    ``(1^T \otimes I_n) vec Y - t <= 0``; ``Y, t >= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> norm, X = pomdp.left_inverse_norm(np.array([[0.85, 0.15], [0.15, 0.85]]))
    >>> print(f"{norm:.4f}")
    1.4286
    """
    M = as_float_array(matrix, "matrix", ndim=2)
    check_finite(M, "matrix")
    n_rows, S = M.shape
    if S == 0:
        raise InvalidModelError("matrix has no columns")
    # rows that are identically zero never help (their X columns can be 0), so the LP skips them
    used = np.flatnonzero(np.abs(M).sum(axis=1) > 0)
    M = M[used]
    n = M.shape[0]
    sv = np.linalg.svd(M, compute_uv=False) if n else np.zeros(0)
    if sv.size < S or sv[-1] <= rank_tol * max(sv[0], 1e-300):
        return float("inf"), None
    Sn = S * n
    eye_S, eye_n = sp.identity(S, format="csr"), sp.identity(Sn, format="csr")
    A_eq = sp.hstack([sp.kron(eye_S, sp.csr_matrix(M.T)), sp.csr_matrix((S * S, Sn + 1))], format="csr")
    b_eq = np.eye(S).ravel()
    col_sums = sp.kron(sp.csr_matrix(np.ones((1, S))), sp.identity(n))
    A_ub = sp.vstack(
        [
            sp.hstack([eye_n, -eye_n, sp.csr_matrix((Sn, 1))]),
            sp.hstack([-eye_n, -eye_n, sp.csr_matrix((Sn, 1))]),
            sp.hstack([sp.csr_matrix((n, Sn)), col_sums, -np.ones((n, 1))]),
        ],
        format="csr",
    )
    c = np.zeros(2 * Sn + 1)
    c[-1] = 1.0
    bounds = [(None, None)] * Sn + [(0, None)] * (Sn + 1)
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(A_ub.shape[0]), A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status == 2:  # numerically rank-deficient after all
        return float("inf"), None
    if res.status != 0:
        raise SolverError("HiGHS failed on the revealing-constant LP", status=res.message)
    X = np.zeros((S, n_rows))
    X[:, used] = res.x[:Sn].reshape(S, n)
    return float(np.abs(X).sum(axis=0).max()), X


def _as_models(model: POMDP | Sequence[POMDP]) -> tuple[POMDP, ...]:
    models = (model,) if isinstance(model, POMDP) else tuple(model)
    if not models or not all(isinstance(m, POMDP) for m in models):
        raise InvalidModelError("model must be a POMDP or a non-empty sequence of POMDPs (one per step)")
    sizes = {(m.n_states, m.n_actions, m.n_observations) for m in models}
    if len(sizes) > 1:
        raise InvalidModelError(f"the per-step POMDPs must share (S, A, O); got {sorted(sizes)}")
    return models


def _steps(models: tuple[POMDP, ...], m: int, h: int | None) -> list[int]:
    """The 1-based steps ``h`` whose m-step windows fit the model."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise InvalidModelError(f"m must be an integer >= 1, got {m!r}")
    homogeneous = len(models) == 1
    last = 1 if homogeneous else len(models) - m + 1
    if last < 1:
        raise InvalidModelError(f"m = {m} steps do not fit a horizon of {len(models)} steps")
    if h is None:
        return list(range(1, last + 1))
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
        raise InvalidModelError(f"h must be an integer >= 1, got {h!r}")
    if homogeneous:
        return [1]  # every step of a time-homogeneous model has the same matrices
    if h > last:
        raise InvalidModelError(f"h = {h} > H - m + 1 = {last}: the window runs past the horizon")
    return [int(h)]


def emission_action_matrix(
    model: POMDP | Sequence[POMDP], m: int = 1, *, previous_action: int, h: int = 1
) -> np.ndarray:
    r"""The m-step emission-action matrix ``𝕄^{a}_{h,m}`` of shape ``(O^m A^(m-1), S)``.

    Row ``(o_h, a_h, o_{h+1}, ..., a_{h+m-2}, o_{h+m-1})`` (row-major in that interleaved order),
    column ``s``: ``P(o_{h:h+m-1} | s_h = s, a_{h-1} = previous_action, do a_{h:h+m-2})``.
    Every column sums to ``A^(m-1)`` (one probability vector per action sequence).

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> pomdp.emission_action_matrix(tiger, 1, previous_action=0)
    array([[0.85, 0.15],
           [0.15, 0.85]])
    """
    models = _as_models(model)
    h = _steps(models, m, h)[0]
    S, A, O = models[0].n_states, models[0].n_actions, models[0].n_observations  # noqa: E741
    previous_action = check_int(previous_action, "previous_action", minimum=0, maximum=A - 1)

    def step(k: int) -> POMDP:
        return models[0] if len(models) == 1 else models[h - 1 + k]

    # W[a_prev, rows, s] = P(observations of the window from offset k on | s, a_prev, do actions)
    W = np.transpose(step(m - 1).O, (0, 2, 1))  # (A, O, S)
    for k in range(m - 2, -1, -1):
        T = step(k).transition_dense()  # T[s, a, s']
        ahead = np.einsum("sat,art->asr", T, W)  # (A next, S, rows): sum over s'
        emit = step(k).O  # (A prev, S, O)
        W = np.einsum("pso,asr->poars", emit, ahead).reshape(A, O * A * W.shape[1], S)
    return np.ascontiguousarray(W[int(previous_action)])


def revealing_constant(
    model: POMDP | Sequence[POMDP], m: int = 1, h: int | None = None, *, previous_action: int | None = None
) -> float:
    r"""The m-step revealing constant ``alpha_m`` by a linear program (HiGHS).

    Chen, Wang, Xiong, Mei, Bai, "Lower Bounds for Learning in Revealing POMDPs", ICML 2023,
    arXiv 2302.01333 (the condition itself: Liu, Chung, Szepesvari, Jin 2022; Chen et al. 2022a,
    arXiv 2209.14990).

    Parameters
    ----------
    model : POMDP or sequence of POMDP
        A time-homogeneous POMDP, or one POMDP per step (time-inhomogeneous, see module notes).
    m : int
        Window length (``m = 1``: single-step revealing).
    h : int, optional
        Step; ``None`` takes the minimum over ``h = 1..H-m+1`` (irrelevant for one POMDP).
    previous_action : int, optional
        The action ``a_{h-1}`` whose emissions are used; ``None`` takes the minimum over actions.

    Returns
    -------
    float
        ``alpha in [0, 1]`` for ``m = 1`` (``1`` for identity emissions); ``0`` when a matrix has
        rank ``< S``. Larger is more revealing.

    Examples
    --------
    Tiger's *listen* emission (accuracy 0.85) is a binary symmetric channel: ``alpha = 2p - 1 = 0.7``.

    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> print(f"{pomdp.revealing_constant(tiger, 1, previous_action=0):.4f}")
    0.7000
    """
    models = _as_models(model)
    steps = _steps(models, m, h)
    A = models[0].n_actions
    previous_action = check_optional_int(previous_action, "previous_action", minimum=0, maximum=A - 1)
    actions = range(A) if previous_action is None else [int(previous_action)]
    best = float("inf")
    for step in steps:
        for a in actions:
            norm, _ = left_inverse_norm(emission_action_matrix(models, m, previous_action=a, h=step))
            best = min(best, 1.0 / norm)
    return best


def is_revealing(
    model: POMDP | Sequence[POMDP], m: int, alpha: float, *, previous_action: int | None = None, atol: float = 1e-9
) -> bool:
    """Whether the model is m-step ``alpha``-revealing (``revealing_constant >= alpha - atol``).

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> pomdp.is_revealing(tiger, 1, 0.5, previous_action=0), pomdp.is_revealing(tiger, 1, 0.9, previous_action=0)
    (True, False)
    """
    return revealing_constant(model, m, previous_action=previous_action) >= float(alpha) - atol


def revealing_bounds(matrix: Any) -> tuple[float, float]:
    r"""Closed-form bounds on ``alpha = 1 / min ||X||_{1->1}`` for an ``(n, S)`` emission matrix
    (the quantity of Chen, Wang, Xiong, Mei, Bai, ICML 2023, arXiv 2302.01333).

    ``sigma_min(M) / sqrt(S) <= alpha`` (the pseudo-inverse is a left inverse whose column l1
    norms are at most ``sqrt(S)`` times its spectral norm ``1/sigma_min``) and, when the columns
    are probability vectors, ``alpha <= min_{s != s'} TV(M[:, s], M[:, s'])`` (apply ``X`` to
    ``e_s - e_{s'}``: ``2 = ||X (M_s - M_{s'})||_1 <= ||X||_{1->1} ||M_s - M_{s'}||_1``).
    For ``S = 1`` both bounds are replaced by the exact value ``alpha = ||M[:, 0]||_1`` (the dual
    norm of the single column) as the upper bound.

    Returns
    -------
    (lower, upper)

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> lo, hi = pomdp.revealing_bounds(np.array([[0.85, 0.15], [0.15, 0.85]]))
    >>> print(f"{lo:.4f} <= alpha <= {hi:.4f}")
    0.4950 <= alpha <= 0.7000
    """
    M = as_float_array(matrix, "matrix", ndim=2)
    check_finite(M, "matrix")
    S = M.shape[1]
    sv = np.linalg.svd(M, compute_uv=False)
    lower = float(sv[-1]) / np.sqrt(S) if sv.size >= S else 0.0
    if S == 1:
        return lower, float(np.abs(M[:, 0]).sum())
    diffs = np.abs(M[:, :, None] - M[:, None, :]).sum(axis=0) / 2.0
    upper = float(diffs[~np.eye(S, dtype=bool)].min())
    return lower, upper
