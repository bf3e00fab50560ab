"""Shapley value iteration for two-player zero-sum Markov games, with certified bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._iterative import Callback, Timer, finish_iterative, iteration_cap, iterations
from .._result import History, ValueSolution
from .._validation import as_float_array, check_bool, check_callback, check_finite, check_max_iter, check_tol
from ..errors import InvalidModelError
from ._common import UNIT_ROUNDOFF, dot_pad
from ._markov_game import MarkovGame, as_markov_game
from ._stage_kernel import MAX_ENUMERATED_PROFILES, solve_small_stage_games, supports_of
from ._zero_sum import _solve_blocks

__all__ = ["ShapleySolution", "shapley_value_iteration"]


@dataclass(frozen=True, repr=False, eq=False)
class ShapleySolution(ValueSolution):
    r"""Result of :func:`shapley_value_iteration`.

    Attributes
    ----------
    v : ndarray, shape (S,)
        Midpoint of the certified bounds: ``||v - v*||_inf <= bound``.
    q : ndarray, shape (S, A, B)
        ``Q[s, a, b] = R[0, s, a, b] + gamma P[s, a, b, :] v`` at the returned ``v``.
    policy : ndarray, shape (S, A)
        Maximiser's stationary policy (also ``row_policy``): a maximin strategy of each stage game ``Q[s]`` (greedy
        for the returned ``v``, hence ``2 gamma bound / (1 - gamma)``-optimal).
    col_policy : ndarray, shape (S, B)
        Minimiser's stationary policy: a minimax strategy of each stage game.
    lower, upper : ndarray, shape (S,)
        Certified ``lower <= v* <= upper`` (contraction bounds, LP tolerances and rounding included).
    bound : float
        ``max_s (upper - lower) / 2``.
    residual : float
        ``||T v_k - v_k||_inf`` at the last iterate (an upper estimate including LP error).
    converged, n_iter, history, method, params, elapsed
        ``history["bound"][k]`` (``history[k]``) is the certified ``bound`` after sweep ``k + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, shapley_value_iteration
    >>> P = np.ones((1, 2, 2, 1))                                 # one state, repeated matching pennies
    >>> sol = shapley_value_iteration(MarkovGame.zero_sum(P, [[[2.0, -1.0], [-1.0, 1.0]]], 0.9), tol=1e-10)
    >>> type(sol).__name__, round(float(sol.v[0]), 8), sol.col_policy.round(6).tolist()
    ('ShapleySolution', 2.0, [[0.4, 0.6]])
    """

    col_policy: np.ndarray

    @property
    def row_policy(self) -> np.ndarray:
        """The maximiser's policy, ``policy``."""
        return self.policy
    _repr_fields = ("converged", "n_iter", "bound", "residual", "elapsed")


def _sweep(game: MarkovGame, v: np.ndarray, r_max: float, warm: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """One Shapley backup with certified brackets ``t_low <= T v <= t_up`` (exact ``T``); the
    stage games are first tried on the previous sweep's supports kept in ``warm``."""
    S = game.n_states
    Q = game.q(v, 0)
    A, B = Q.shape[1:]
    guess = warm.get("supports", (None, None))
    # the previous sweep's supports, solved by the equalising equations and verified (compiled);
    # small stage games that fail are solved by enumerating square supports; what is left (larger
    # games, or none accepted) goes to the LP. Supports settle as v converges, so few states fail.
    enumerate_all = A * B <= MAX_ENUMERATED_PROFILES
    if enumerate_all or "supports" in warm:
        p, q, accepted, low, up, rows, cols = solve_small_stage_games(Q, *guess, enumerate_all=enumerate_all)
        rest = np.flatnonzero(~accepted)
    else:
        p, q = np.zeros((S, A)), np.zeros((S, B))
        low, up = np.zeros(S), np.zeros(S)
        rows, cols = np.zeros((S, A), dtype=bool), np.zeros((S, B), dtype=bool)
        rest = np.arange(S)
    if rest.size:
        Qr = Q[rest]
        p[rest], q[rest], _, _ = _solve_blocks(Qr)
        low[rest] = np.einsum("sa,sab->sb", p[rest], Qr).min(axis=1)
        up[rest] = np.einsum("sab,sb->sa", Qr, q[rest]).max(axis=1)
        rows[rest], cols[rest] = supports_of(p[rest], q[rest])
    warm["supports"] = (rows, cols)
    v_max = float(np.abs(v).max()) if v.size else 0.0
    # |fl(Q) - Q| (the product P @ v and the sum), then the stage dot products and the LP's own error
    pad_q = dot_pad(S, r_max + v_max)
    pad = pad_q + dot_pad(max(A, B), float(np.abs(Q).max()) + pad_q)
    return Q, p, q, low - pad, up + pad


def shapley_value_iteration(
    game: MarkovGame,
    *,
    tol: float = 1e-8,
    max_iter: int | None = None,
    v0: Any = None,
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> ShapleySolution:
    r"""Value iteration on the Shapley operator of a two-player zero-sum discounted Markov game.

    .. math::
        (T v)(s) = \operatorname{val}\big(Q_v[s]\big), \qquad
        Q_v[s, a, b] = R(s, a, b) + \gamma \sum_{s'} P(s' \mid s, a, b)\, v(s'),

    where ``val`` is the value of the zero-sum matrix game. The first sweep solves every stage
    game by LP (all states in one block-diagonal HiGHS model, see :func:`solve_stage_games`), or,
    for stage games of at most 36 action profiles, by a compiled enumeration of square supports
    (Shapley & Snow 1950); later sweeps first solve the equalising equations on the previous
    sweep's supports and keep a state's solution only when weak duality verifies it to rounding
    level; the other states are enumerated (small games) or go to the LP.

    Assumptions: two players, ``R[1] = -R[0]`` (player 0 maximises), ``gamma < 1``.

    Guarantee (Shapley 1953, "Stochastic games", PNAS 39:1095): ``T`` is a monotone
    ``gamma``-contraction in the sup norm with ``T(v + c 1) = T v + gamma c 1``, so its fixed point
    ``v*`` is the value of the game and, with ``d = T v - v`` and ``c = gamma/(1 - gamma)``,

    .. math::
        T v + c \min_s d(s) \;\le\; v^* \;\le\; T v + c \max_s d(s)
        \quad\Rightarrow\quad \|T v - v^*\|_\infty \le c\, \|T v - v\|_\infty

    (the MacQueen/Porteus bounds of the MDP case, which need only monotonicity and the
    translation property). ``T v`` is never known exactly: each stage LP returns strategies whose
    guaranteed payoffs bracket ``val(Q_v[s])`` (weak duality), and ``Q_v`` itself is rounded;
    both errors are bounded (Higham 2002, eq. 3.5) and added, so ``lower <= v* <= upper``
    holds for the exact game. Iteration stops when ``max_s (upper - lower)/2 <= tol``. The
    maximiser's policy greedy for the returned ``v`` guarantees at least ``v* - 2 gamma ||v - v*|| / (1 - gamma)``
    against every adversary.

    Parameters
    ----------
    game : MarkovGame
        Two-player zero-sum (``game.is_zero_sum``).
    tol : float
        Certified accuracy of the returned ``v`` in the sup norm (default ``1e-8``). Below the
        rounding floor (about ``1e-15 * max|R| / (1 - gamma)^2``) it cannot be certified.
    max_iter : int, optional
        Sweeps; default from the contraction rate (``iteration_cap``).
    v0 : array_like, shape (S,), optional
        Starting values (zeros).
    callback : callable, optional
        ``callback(k, v_k, residual)``; returning ``True`` stops.
    strict : bool
        Raise :class:`~theory_rl.errors.SolverError` instead of warning when not converged.
    progress : bool
        tqdm bar.

    Returns
    -------
    ShapleySolution

    Raises
    ------
    InvalidModelError
        Not a two-player zero-sum game; a bad ``v0``.
    InvalidArgumentError
        Bad ``tol``, ``max_iter``, ``strict``, ``progress`` or ``callback``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MarkovGame, shapley_value_iteration
    >>> P = np.zeros((1, 2, 2, 1)); P[..., 0] = 1.0             # one state: repeated matching pennies
    >>> g = MarkovGame.zero_sum(P, [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)
    >>> sol = shapley_value_iteration(g, tol=1e-10)
    >>> round(float(sol.v[0]), 8), sol.bound <= 1e-10         # stage value 1/5, so v* = 0.2 / 0.1
    (2.0, True)
    """
    game = as_markov_game(game)
    if not game.is_zero_sum:
        raise InvalidModelError(
            f"shapley_value_iteration needs a two-player zero-sum game (R[1] == -R[0]); got {game.n_players} "
            "players" + (" with R[1] != -R[0]" if game.n_players == 2 else "")
        )
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    strict = check_bool(strict, "strict")
    progress = check_bool(progress, "progress")
    check_callback(callback)
    S = game.n_states
    gamma = game.gamma
    c = gamma / (1.0 - gamma)
    if v0 is None:
        v = np.zeros(S)
    else:
        v = as_float_array(v0, "v0", ndim=1).copy()
        if v.shape != (S,):
            raise InvalidModelError(f"v0 has shape {v.shape}, expected ({S},)")
        check_finite(v, "v0")
    r_max = float(np.abs(game.R[0]).max())  # max |R|, once: the rounding pad of every sweep
    history: list[float] = []
    warm: dict[str, Any] = {}
    converged = False
    n = 0
    with Timer() as timer:
        Q, p, q, t_low, t_up = _sweep(game, v, r_max, warm)
        residual = float(np.maximum(np.abs(t_up - v), np.abs(t_low - v)).max())
        cap = max_iter if max_iter is not None else iteration_cap(gamma, tol, residual)
        for n in iterations(cap, progress, "shapley_value_iteration"):
            d_low, d_up = t_low - v, t_up - v
            lower = t_low + c * float(d_low.min())
            upper = t_up + c * float(d_up.max())
            scale = float(np.abs(np.concatenate([lower, upper])).max())
            pad = 4.0 * UNIT_ROUNDOFF * scale
            lower, upper = lower - pad, upper + pad
            bound = float((upper - lower).max()) / 2.0
            history.append(bound)
            if bound <= tol:
                converged = True
                break
            if callback is not None and callback(n, v, residual):
                break
            if n >= cap:
                break
            v = 0.5 * (t_low + t_up)
            Q, p, q, t_low, t_up = _sweep(game, v, r_max, warm)
            residual = float(np.maximum(np.abs(t_up - v), np.abs(t_low - v)).max())
        v_out = 0.5 * (lower + upper)
        Q, p, q, _, _ = _sweep(game, v_out, r_max, warm)  # the policies greedy for the returned v
        finish_iterative(method="shapley_value_iteration", converged=converged, strict=strict, n_iter=n,
                         cap=cap, tol=tol)
    return ShapleySolution(
        v=v_out, q=Q, policy=p, col_policy=q, lower=lower, upper=upper, bound=bound,
        residual=residual, converged=converged, n_iter=n, history=History({"bound": history}),
        method="shapley_value_iteration", params={"tol": tol, "max_iter": max_iter}, elapsed=timer.elapsed,
    )
