"""Compiled solver for many small zero-sum stage games: the equalising equations on square supports.

By the Shapley-Snow theorem (Shapley & Snow 1950, "Basic solutions of discrete games", Annals of
Math. Studies 24) every matrix game has an optimal pair ``(p, q)`` whose supports ``I``, ``J`` have
equal size ``k`` and solve the bordered system

.. math::
    Q_{IJ}\\, q_J = v \\mathbf 1, \\qquad p_I^\\top Q_{IJ} = v \\mathbf 1^\\top, \\qquad
    \\mathbf 1^\\top p_I = \\mathbf 1^\\top q_J = 1

with a nonsingular bordered matrix. A candidate ``(I, J)`` is accepted only when both solutions are
non-negative and the weak-duality gap ``max_a (Q q)_a - min_b (p^T Q)_b`` is at rounding level, so an
accepted pair is an equilibrium whatever the guess was. :func:`solve_small_stage_games` first tries
each state's guessed supports (the previous sweep's, in Shapley value iteration), then, where asked,
enumerates every square support pair by increasing ``k``; states where nothing is accepted are left to
the LP. The certificate never rests on this kernel: the caller recomputes the weak-duality brackets
from the returned strategies.
"""

from __future__ import annotations

import numba
import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["MAX_ENUMERATED_PROFILES", "solve_small_stage_games", "supports_of"]

#: Stage games with at most this many action profiles ``A * B`` are enumerated (6 x 6: 924 square
#: support pairs); larger ones go to the LP when the guessed supports fail.
MAX_ENUMERATED_PROFILES = 36

_UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2.0


@numba.njit(cache=True)
def _bordered_solve(M, k, transpose, work, x):  # pragma: no cover - compiled
    """Solve ``[[M, -1], [1^T, 0]] [x; v] = [0; 1]`` (``M`` or ``M^T``, ``k x k``) by Gaussian
    elimination with partial pivoting; ``False`` when a pivot vanishes (singular to rounding)."""
    n = k + 1
    scale = 0.0
    for i in range(k):
        for j in range(k):
            value = M[j, i] if transpose else M[i, j]
            work[i, j] = value
            if abs(value) > scale:
                scale = abs(value)
        work[i, k] = -1.0
        work[i, n] = 0.0
    for j in range(k):
        work[k, j] = 1.0
    work[k, k] = 0.0
    work[k, n] = 1.0
    tiny = 1e-13 * max(scale, 1.0)
    for c in range(n):
        pivot = c
        for r in range(c + 1, n):
            if abs(work[r, c]) > abs(work[pivot, c]):
                pivot = r
        if abs(work[pivot, c]) <= tiny:
            return False
        if pivot != c:
            for j in range(c, n + 1):
                work[c, j], work[pivot, j] = work[pivot, j], work[c, j]
        for r in range(c + 1, n):
            f = work[r, c] / work[c, c]
            if f != 0.0:
                for j in range(c, n + 1):
                    work[r, j] -= f * work[c, j]
    for r in range(n - 1, -1, -1):
        acc = work[r, n]
        for j in range(r + 1, n):
            acc -= work[r, j] * x[j]
        x[r] = acc / work[r, r]
    return True


@numba.njit(cache=True, inline="always")
def _support_strategy(sub, k, transpose, support, work, x, out):  # pragma: no cover - compiled
    """One player's equalising strategy on ``support[:k]`` (the column player's from ``sub``, the
    row player's from ``sub^T``) written into ``out``; ``False`` when the bordered system is
    singular or the solution has a negative (or NaN) weight."""
    if not _bordered_solve(sub, k, transpose, work, x):
        return False
    total = 0.0
    for j in range(k):
        if not x[j] >= 0.0:  # also refuses NaN
            return False
        total += x[j]
    if not total > 0.0:
        return False
    for j in range(k):
        out[support[j]] = x[j] / total
    return True


@numba.njit(cache=True)
def _try_supports(G, rows, cols, k, sub, work, x, p, q, bracket):  # pragma: no cover - compiled
    """Try the square supports ``rows[:k]``, ``cols[:k]`` of the game ``G (A, B)``; on acceptance
    ``p``, ``q`` hold the equilibrium, ``bracket`` holds ``min_b (p^T G)_b, max_a (G q)_a`` and
    ``True`` is returned."""
    A, B = G.shape
    for i in range(k):
        for j in range(k):
            sub[i, j] = G[rows[i], cols[j]]
    p[:] = 0.0
    q[:] = 0.0
    if not _support_strategy(sub, k, False, cols, work, x, q):
        return False
    if not _support_strategy(sub, k, True, rows, work, x, p):
        return False
    low = np.inf
    scale = 0.0
    for b in range(B):
        acc = 0.0
        for a in range(A):
            acc += p[a] * G[a, b]
            if abs(G[a, b]) > scale:
                scale = abs(G[a, b])
        if acc < low:
            low = acc
    up = -np.inf
    for a in range(A):
        acc = 0.0
        for b in range(B):
            acc += G[a, b] * q[b]
        if acc > up:
            up = acc
    bracket[0] = low
    bracket[1] = up
    return up - low <= 64.0 * (A + B) * _UNIT_ROUNDOFF * max(scale, 1e-300)


@numba.njit(cache=True)
def _mask_indices(mask, out):  # pragma: no cover - compiled
    """Positions of the set bits of ``mask`` into ``out``; returns their number."""
    k = 0
    i = 0
    while mask:
        if mask & 1:
            out[k] = i
            k += 1
        mask >>= 1
        i += 1
    return k


@numba.njit(cache=True)
def _solve_range(Q, row_guess, col_guess, use_guess, enumerate_all, p_out, q_out, accepted, brackets,
                 row_support, col_support, start, stop):  # pragma: no cover
    """The states ``start <= s < stop`` (the scratch arrays are allocated once)."""
    S, A, B = Q.shape
    m = min(A, B)
    sub = np.empty((m, m))
    work = np.empty((m + 1, m + 2))
    x = np.empty(m + 1)
    rows = np.empty(A, dtype=np.int64)
    cols = np.empty(B, dtype=np.int64)
    p = np.empty(A)
    q = np.empty(B)
    bracket = np.empty(2)
    for s in range(start, stop):
        G = Q[s]
        done = False
        if use_guess:
            kr = 0
            for a in range(A):
                if row_guess[s, a]:
                    rows[kr] = a
                    kr += 1
            kc = 0
            for b in range(B):
                if col_guess[s, b]:
                    cols[kc] = b
                    kc += 1
            if kr == kc and kr > 0:
                done = _try_supports(G, rows, cols, kr, sub, work, x, p, q, bracket)
        if not done and enumerate_all:
            for k in range(1, m + 1):
                for rmask in range(1, 1 << A):
                    if _mask_indices(rmask, rows) != k:
                        continue
                    for cmask in range(1, 1 << B):
                        if _mask_indices(cmask, cols) != k:
                            continue
                        if _try_supports(G, rows, cols, k, sub, work, x, p, q, bracket):
                            done = True
                            break
                    if done:
                        break
                if done:
                    break
        if done:
            p_out[s] = p
            q_out[s] = q
            accepted[s] = True
            brackets[s, 0] = bracket[0]
            brackets[s, 1] = bracket[1]
            for a in range(A):
                row_support[s, a] = p[a] > 0.0
            for b in range(B):
                col_support[s, b] = q[b] > 0.0


def supports_of(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean supports ``(S, A)`` and ``(S, B)`` of the strategies (relative threshold 1e-12)."""
    return p > 1e-12 * p.max(axis=1, keepdims=True), q > 1e-12 * q.max(axis=1, keepdims=True)


def solve_small_stage_games(
    Q: np.ndarray, rows: np.ndarray | None = None, cols: np.ndarray | None = None, *, enumerate_all: bool = True
) -> tuple[np.ndarray, ...]:
    """Equilibria of the stage games ``Q (S, A, B)`` on the guessed boolean supports ``rows (S, A)``,
    ``cols (S, B)`` (when given), then, with ``enumerate_all`` (needs ``A * B <=``
    :data:`MAX_ENUMERATED_PROFILES`), by enumerating the square support pairs.

    Returns ``p (S, A)``, ``q (S, B)`` (zero rows where not accepted), ``accepted (S,)``, the
    uncorrected brackets ``low (S,) = min_b (p^T Q)_b`` and ``up (S,) = max_a (Q q)_a`` of the accepted
    states (no rounding pad), and the supports ``(S, A)``, ``(S, B)`` of the accepted strategies.
    """
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    S, A, B = Q.shape
    if enumerate_all and A * B > MAX_ENUMERATED_PROFILES:
        raise InvalidArgumentError(f"enumeration is for stage games of at most {MAX_ENUMERATED_PROFILES} profiles, "
                                   f"got {A} x {B}")
    use_guess = rows is not None and cols is not None
    if not use_guess:
        rows = np.zeros((S, A), dtype=np.bool_)
        cols = np.zeros((S, B), dtype=np.bool_)
    p = np.zeros((S, A))
    q = np.zeros((S, B))
    accepted = np.zeros(S, dtype=np.bool_)
    brackets = np.zeros((S, 2))
    row_support = np.zeros((S, A), dtype=np.bool_)
    col_support = np.zeros((S, B), dtype=np.bool_)
    # serial: about 0.2 microseconds per 2 x 2 game on a verified guess; numba's thread pool costs
    # more than that on a loaded machine
    _solve_range(Q, np.ascontiguousarray(rows), np.ascontiguousarray(cols), use_guess, enumerate_all, p, q, accepted,
                 brackets, row_support, col_support, 0, S)
    return p, q, accepted, brackets[:, 0], brackets[:, 1], row_support, col_support
