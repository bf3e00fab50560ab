"""Minimax winners (maximal lotteries) of preference matrices, by LP and by Hedge self-play."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._iterative import Timer
from .._result import CertifiedSolution, History, Result
from .._validation import check_choice, check_int, check_real
from ..errors import InvalidArgumentError, InvalidModelError
from ._common import check_strategy, dot_pad, payoff_array
from ._zero_sum import zero_sum_lp

__all__ = ["MinimaxWinnerSolution", "HedgeResult", "minimax_winner", "hedge_self_play", "preference_matrix"]

_ATOL = 1e-8


def preference_matrix(P: Any, *, atol: float = _ATOL) -> np.ndarray:
    r"""Validate a preference matrix: ``P[i, j] = Pr(i beats j)`` in ``[0, 1]`` with ties split,
    ``P + P^T = 1`` within ``atol`` (so ``P[i, i] = 1/2``). Raises :class:`~theory_rl.errors.InvalidModelError`
    naming the first bad entry.

    Examples
    --------
    >>> from theory_rl.games import preference_matrix
    >>> preference_matrix([[0.5, 0.7], [0.3, 0.5]]).tolist()
    [[0.5, 0.7], [0.3, 0.5]]
    """
    P = payoff_array(P, "P", ndim=2)
    if P.shape[0] != P.shape[1]:
        raise InvalidModelError(f"P has shape {P.shape}, expected a square (n, n) preference matrix")
    bad = (P < 0) | (P > 1)
    if bad.any():
        i, j = (int(k) for k in np.unravel_index(int(np.argmax(bad)), P.shape))
        raise InvalidModelError(f"P[{i}, {j}] = {P[i, j]:.10g} is not a probability (expected 0 <= P[i, j] <= 1)")
    skew = np.abs(P + P.T - 1.0) > atol
    if skew.any():
        i, j = (int(k) for k in np.unravel_index(int(np.argmax(skew)), P.shape))
        raise InvalidModelError(
            f"P[{i}, {j}] + P[{j}, {i}] = {P[i, j] + P[j, i]:.10g} (expected 1 within {atol:g}: "
            "Pr(i beats j) + Pr(j beats i) = 1, ties split)"
        )
    return P


def _exploitability(M: np.ndarray, p: np.ndarray) -> float:
    r"""``max_i (M p)_i``: how much the best candidate beats ``p`` (``>= 0``; ``0`` iff ``p`` is a
    minimax winner), rounded up by its floating-point error bound."""
    return max(0.0, float((M @ p).max()) + dot_pad(M.shape[0], 0.5))


@dataclass(frozen=True, repr=False, eq=False)
class MinimaxWinnerSolution(CertifiedSolution):
    r"""Result of :func:`minimax_winner`.

    Attributes
    ----------
    strategy : ndarray, shape (n,)
        The minimax winner ``p*`` (a maximal lottery).
    value : float
        ``1/2``: the value of the symmetric game ``P`` (0 for ``M = P - 1/2``), exact by symmetry.
    exploitability : float
        Certified ``max_q q^T M p* = max_i (M p*)_i`` (rounding included): ``p*`` is an
        ``exploitability``-approximate minimax winner; 0 up to the LP tolerance.
    method, params, elapsed

    Examples
    --------
    >>> from theory_rl.games import minimax_winner
    >>> sol = minimax_winner([[0.5, 0.8], [0.2, 0.5]])            # option 0 beats option 1
    >>> type(sol).__name__, sol.strategy.round(9).tolist(), round(sol.value, 9)
    ('MinimaxWinnerSolution', [1.0, 0.0], 0.5)
    """

    strategy: np.ndarray
    value: float
    exploitability: float
    _repr_fields = ("strategy", "exploitability", "elapsed")


def minimax_winner(P: Any, *, solver: str = "auto") -> MinimaxWinnerSolution:
    r"""The minimax winner of a preference matrix by linear programming (HiGHS).

    .. math::
        p^* \in \arg\max_{p \in \Delta_n} \min_{q \in \Delta_n} p^\top P q, \qquad
        M = P - \tfrac12 \mathbf 1 \mathbf 1^\top = -M^\top,

    the maximal lottery of Kreweras (1965) and Fishburn (1984), which SPO (Swamy, Dann, Kidambi,
    Wu & Agarwal 2024, "A minimaximalist approach to reinforcement learning from human
    feedback", ICML, arXiv 2401.04056) calls the Minimax Winner. ``M`` is skew-symmetric, so the
    game is symmetric zero-sum with value 0 (``1/2`` for ``P``) and ``p*`` is a symmetric Nash
    equilibrium: ``M^T p* >= 0``. Solved as :func:`zero_sum_lp` on ``M``.

    Properties: a Condorcet winner ``i*`` (``P[i*, j] > 1/2`` for all ``j != i*``) gives the pure
    ``e_{i*}``; rock-paper-scissors gives the uniform lottery; Bradley-Terry preferences
    ``P[i, j] = sigma(u_i - u_j)`` give the argmax-utility candidate.

    Not in this increment (issue 22): preference oracles over trajectories and SPO itself.

    Parameters
    ----------
    P : array_like, shape (n, n)
        ``P[i, j] = Pr(i beats j)``, ``P + P^T = 1`` within ``1e-8``.
    solver : {"auto", "simplex", "ipm"}
        As in :func:`zero_sum_lp`.

    Returns
    -------
    MinimaxWinnerSolution

    Raises
    ------
    InvalidModelError
        ``P`` not square, an entry outside ``[0, 1]`` or ``P[i, j] + P[j, i] != 1`` (named).

    Examples
    --------
    >>> from theory_rl.games import minimax_winner
    >>> rps = [[0.5, 0.0, 1.0], [1.0, 0.5, 0.0], [0.0, 1.0, 0.5]]
    >>> minimax_winner(rps).strategy.round(9).tolist()
    [0.333333333, 0.333333333, 0.333333333]
    """
    P = preference_matrix(P)
    solver = check_choice(solver, "solver", ("auto", "simplex", "ipm"))
    M = P - 0.5
    with Timer() as timer:
        sol = zero_sum_lp(M, solver=solver)
        p = sol.row_strategy
        eps = _exploitability(M, p)
    return MinimaxWinnerSolution(strategy=p, value=0.5, exploitability=eps, method="minimax_winner",
                                 params={"solver": solver}, elapsed=timer.elapsed)


@dataclass(frozen=True, repr=False, eq=False)
class HedgeResult(Result):
    r"""Result of :func:`hedge_self_play`.

    Attributes
    ----------
    strategy : ndarray, shape (n,)
        The average iterate ``p_bar_T = (1/T) sum_t p_t``.
    last_iterate : ndarray, shape (n,)
        ``p_T`` (it may cycle and need not converge).
    exploitability : float
        ``max_i (M p_bar_T)_i``, rounded up (0 iff ``p_bar_T`` is a minimax winner).
    regret_bound : float
        ``(log n / eta + eta T / 8) / T``: Hedge's regret bound over ``T``; ``exploitability`` is at most this.
    history : History
        Per round ``t = 1..T``: ``"exploitability"`` of ``p_bar_t``, ``"regret_bound"``
        ``(log n/eta + eta t/8)/t`` and ``"last_exploitability"`` of ``p_t``.
    n_iter : int
        ``T``.
    method, params, elapsed

    Examples
    --------
    >>> from theory_rl.games import hedge_self_play
    >>> res = hedge_self_play([[0.5, 0.8], [0.2, 0.5]], n_rounds=500)
    >>> type(res).__name__, res.n_iter, bool(res.exploitability <= res.regret_bound)
    ('HedgeResult', 500, True)
    """

    strategy: np.ndarray
    last_iterate: np.ndarray
    exploitability: float
    regret_bound: float
    history: History
    n_iter: int
    _repr_fields = ("n_iter", "exploitability", "regret_bound", "elapsed")


def hedge_self_play(P: Any, *, n_rounds: int = 1000, eta: float | None = None, p0: Any = None) -> HedgeResult:
    r"""Approximate minimax winner by Hedge (multiplicative weights) playing against itself.

    .. math::
        p_{t+1}(i) \propto p_0(i) \exp\Big(\eta \sum_{s \le t} (M p_s)_i\Big), \qquad
        \bar p_T = \frac1T \sum_{t=1}^T p_t .

    SPO's self-play reduction (Swamy et al. 2024, arXiv 2401.04056, Sec. 3): the opponent is the
    learner itself, ``q_t = p_t``, and ``M(p_t, p_t) = 0`` (skew-symmetry), so the learner's regret
    is ``Reg_T = max_p sum_t M(p, p_t) = T max_i (M p_bar_T)_i``: the average iterate is a
    ``Reg_T/T``-approximate minimax winner. Hedge with payoffs in an interval of length 1
    (``M`` has entries in ``[-1/2, 1/2]``) has ``Reg_T <= log(n)/eta + eta T / 8`` for every ``T``
    (Freund & Schapire 1997; Cesa-Bianchi & Lugosi 2006, Thm 2.2 with Hoeffding's lemma), which
    ``history`` reports beside the realised exploitability at every round. Default
    ``eta = sqrt(8 log(n) / n_rounds)`` gives ``Reg_T / T <= sqrt(log(n) / (2 T))`` at ``T = n_rounds``.
    The last iterate has no such guarantee and cycles on rock-paper-scissors.

    Parameters
    ----------
    P : array_like, shape (n, n)
        Preference matrix (see :func:`minimax_winner`).
    n_rounds : int
        ``T >= 1`` (default 1000).
    eta : float, optional
        Step size ``> 0``.
    p0 : array_like, shape (n,), optional
        Prior weights with full support (uniform by default; Hedge started at the uniform
        lottery stays there on rock-paper-scissors). With a non-uniform ``p0`` the bound gains
        ``log(1 / min p0) - log n`` in place of ``log n``; ``history["regret_bound"]`` uses it.

    Returns
    -------
    HedgeResult

    Examples
    --------
    >>> from theory_rl.games import hedge_self_play
    >>> rps = [[0.5, 0.0, 1.0], [1.0, 0.5, 0.0], [0.0, 1.0, 0.5]]
    >>> res = hedge_self_play(rps, n_rounds=2000, p0=[0.6, 0.3, 0.1])
    >>> bool((res.history["exploitability"] <= res.history["regret_bound"]).all())
    True
    """
    P = preference_matrix(P)
    n = P.shape[0]
    T = check_int(n_rounds, "n_rounds", minimum=1)
    if eta is None:
        eta = math.sqrt(8.0 * math.log(n) / T) if n > 1 else 1.0
    eta = check_real(eta, "eta", low=0.0, low_open=True)
    if p0 is None:
        log_p0 = np.full(n, -math.log(n))
    else:
        prior = check_strategy(p0, "p0", n)
        if prior.min() <= 0:
            raise InvalidArgumentError(f"p0[{int(np.argmin(prior))}] = 0: Hedge needs a prior with full support")
        log_p0 = np.log(prior / prior.sum())
    M = P - 0.5
    log_n_eff = float(-log_p0.min())  # log(1/min p0): log n for the uniform prior
    with Timer() as timer:
        cum = np.zeros(n)  # sum_s M p_s
        total = np.zeros(n)  # sum_s p_s
        exploit = np.empty(T)
        last = np.empty(T)
        for t in range(T):
            z = log_p0 + eta * cum
            p = np.exp(z - z.max())
            p /= p.sum()
            Mp = M @ p
            cum += Mp
            total += p
            exploit[t] = max(0.0, float((M @ (total / (t + 1))).max()) + dot_pad(n + t, 0.5))
            last[t] = max(0.0, float(Mp.max()) + dot_pad(n, 0.5))
    rounds = np.arange(1, T + 1)
    bound = (log_n_eff / eta + eta * rounds / 8.0) / rounds
    p_bar = total / T
    return HedgeResult(
        strategy=p_bar, last_iterate=p, exploitability=float(exploit[-1]), regret_bound=float(bound[-1]),
        history=History({"exploitability": exploit, "regret_bound": bound, "last_exploitability": last}),
        n_iter=T, method="hedge_self_play", params={"n_rounds": T, "eta": eta}, elapsed=timer.elapsed,
    )
