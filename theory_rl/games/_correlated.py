"""Correlated and coarse correlated equilibria by linear programming."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .._highs import HIGHS_OPTIONS
from .._iterative import Timer
from .._result import CertifiedSolution
from .._validation import as_float_array, check_allocation, check_finite
from ..errors import InvalidArgumentError, SolverError
from ._common import dot_pad
from ._normal_form import NormalFormGame, as_normal_form

__all__ = ["CorrelatedSolution", "correlated_equilibrium", "coarse_correlated_equilibrium", "deviation_gains"]


@dataclass(frozen=True, repr=False, eq=False)
class CorrelatedSolution(CertifiedSolution):
    r"""Result of :func:`correlated_equilibrium` / :func:`coarse_correlated_equilibrium`.

    Attributes
    ----------
    distribution : ndarray, shape (A_1, ..., A_N)
        The recommendation distribution ``mu`` over joint actions.
    payoffs : ndarray, shape (N,)
        ``E_mu u_i``.
    welfare : float
        ``sum_i payoffs[i]``.
    max_gain : float
        Largest gain of any deviation the equilibrium notion allows, at the returned ``mu``
        (``<= 0`` up to ``rounding`` and HiGHS's 1e-10 feasibility tolerance): the certificate.
    rounding : float
        Bound on the floating-point error of ``max_gain``.
    objective : str
        ``"welfare"``, or ``"custom"`` for user weights.
    method, params, elapsed

    Examples
    --------
    >>> from theory_rl.games import MatrixGame, correlated_equilibrium
    >>> sol = correlated_equilibrium(MatrixGame([[6, 2], [7, 0]], [[6, 7], [2, 0]]))   # chicken
    >>> type(sol).__name__, sol.objective, round(sol.welfare, 6)
    ('CorrelatedSolution', 'welfare', 10.5)
    """

    distribution: np.ndarray
    payoffs: np.ndarray
    welfare: float
    max_gain: float
    rounding: float
    objective: str
    _repr_fields = ("welfare", "max_gain", "objective", "elapsed")


def _constraint_blocks(g: NormalFormGame, coarse: bool) -> sp.csr_matrix:
    """Rows ``G @ mu.ravel()`` = deviation gains (``<= 0`` at an equilibrium)."""
    shape = g.n_actions
    total = int(np.prod(shape))
    index = np.arange(total).reshape(shape)
    blocks = []
    for i, n_i in enumerate(shape):
        U = np.moveaxis(np.asarray(g.payoffs[i]), i, 0).reshape(n_i, -1)  # U[a_i, a_-i]
        cols = np.moveaxis(index, i, 0).reshape(n_i, -1)
        rest = U.shape[1]
        if coarse:
            # gain of always playing d: sum_a mu(a) (u_i(d, a_-i) - u_i(a))
            vals = U[:, None, :] - U[None, :, :]  # (d, a_i, a_-i)
            rows = np.repeat(np.arange(n_i), n_i * rest)
            blocks.append(sp.csr_matrix((vals.ravel(), (rows, np.tile(cols.ravel(), n_i))), shape=(n_i, total)))
        else:
            # gain of playing d when told a: sum_{a_-i} mu(a, a_-i) (u_i(d, a_-i) - u_i(a, a_-i)), d != a
            a_idx, d_idx = np.nonzero(~np.eye(n_i, dtype=bool))
            vals = U[d_idx] - U[a_idx]  # (pairs, rest)
            rows = np.repeat(np.arange(len(a_idx)), rest)
            blocks.append(sp.csr_matrix((vals.ravel(), (rows, cols[a_idx].ravel())), shape=(len(a_idx), total)))
    return sp.vstack(blocks, format="csr")


def deviation_gains(game: Any, distribution: Any, *, coarse: bool = False) -> np.ndarray:
    """The gain of every (coarse) deviation under ``distribution`` (CE: one row per player and
    ordered pair ``a != d`` of its actions; CCE: one per player and action ``d``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MatrixGame, deviation_gains
    >>> pd = MatrixGame([[3, 0], [5, 1]], [[3, 5], [0, 1]])              # prisoner's dilemma
    >>> deviation_gains(pd, np.array([[1.0, 0.0], [0.0, 0.0]])).round(9).tolist()  # both cooperate
    [2.0, 0.0, 2.0, 0.0]
    """
    g = as_normal_form(game)
    mu = as_float_array(distribution, "distribution")
    if mu.shape != g.n_actions:
        raise InvalidArgumentError(f"distribution has shape {mu.shape}, expected {g.n_actions}")
    check_finite(mu, "distribution")
    return _constraint_blocks(g, coarse) @ mu.ravel()


def _solve(game: Any, objective: Any, coarse: bool) -> CorrelatedSolution:
    g = as_normal_form(game)
    shape = g.n_actions
    total = int(np.prod(shape, dtype=object))
    # nonzeros: player i has n_i (CCE) or n_i (n_i - 1) (CE) rows over total (CCE) or total / n_i
    # (CE) joint actions; about 40 bytes each while the COO triplets are turned into CSR
    nnz = total * sum(n if coarse else n - 1 for n in shape)
    check_allocation(40 * nnz + 8 * total,
                     f"the {'coarse ' if coarse else ''}correlated-equilibrium LP of a game with actions {shape}")
    if isinstance(objective, str):
        if objective != "welfare":
            raise InvalidArgumentError(f"objective must be 'welfare' or an array of shape {shape}, got {objective!r}")
        weights = np.asarray(g.payoffs).sum(axis=0).ravel()
        name = "welfare"
    else:
        w = as_float_array(objective, "objective")
        if w.shape != shape:
            raise InvalidArgumentError(f"objective has shape {w.shape}, expected {shape} (one weight per joint action)")
        check_finite(w, "objective")
        weights = w.ravel()
        name = "custom"
    method = "coarse_correlated_equilibrium" if coarse else "correlated_equilibrium"
    with Timer() as timer:
        G = _constraint_blocks(g, coarse)
        res = linprog(-weights, A_ub=G, b_ub=np.zeros(G.shape[0]), A_eq=np.ones((1, total)), b_eq=[1.0],
                      bounds=(0, None), method="highs", options=dict(HIGHS_OPTIONS))
        if res.status != 0:
            raise SolverError(f"HiGHS did not solve the {method} LP: {res.message}", status=res.status)
        mu = np.clip(res.x, 0.0, None)
        mu /= mu.sum()
        gains = G @ mu
    payoffs = np.array([float((np.asarray(g.payoffs[i]).ravel() * mu).sum()) for i in range(g.n_players)])
    return CorrelatedSolution(
        distribution=mu.reshape(shape), payoffs=payoffs, welfare=float(payoffs.sum()),
        max_gain=float(gains.max()) if gains.size else 0.0,
        rounding=dot_pad(total, 2.0 * float(np.abs(g.payoffs).max())), objective=name, method=method,
        params={"objective": name}, elapsed=timer.elapsed,
    )


def correlated_equilibrium(game: Any, *, objective: Any = "welfare") -> CorrelatedSolution:
    r"""A correlated equilibrium (Aumann 1974, "Subjectivity and correlation in randomized
    strategies", J. Math. Econ. 1:67-96) that maximises a linear objective, by LP (HiGHS).

    .. math::
        \max_{\mu \in \Delta(\mathcal A)} \sum_a w(a) \mu(a) \quad \text{s.t.} \quad
        \sum_{a_{-i}} \mu(a_i, a_{-i}) \big[u_i(d, a_{-i}) - u_i(a_i, a_{-i})\big] \le 0
        \quad \forall i,\; a_i \ne d,

    i.e. no player gains by deviating from a recommendation ``a_i`` to ``d``. Every Nash
    equilibrium (as the product distribution) is feasible, so the welfare-maximising CE is at
    least as good as every Nash equilibrium (Papadimitriou & Roughgarden 2008 for the LP view).

    Parameters
    ----------
    game : MatrixGame or NormalFormGame
    objective : "welfare" or array_like of shape (A_1, ..., A_N)
        ``"welfare"``: ``w(a) = sum_i u_i(a)``; an array gives ``w`` directly.

    Returns
    -------
    CorrelatedSolution
        ``max_gain`` is the certificate: the largest deviation gain at the returned ``mu``.

    Examples
    --------
    >>> from theory_rl.games import MatrixGame, correlated_equilibrium
    >>> chicken = MatrixGame([[6, 2], [7, 0]], [[6, 7], [2, 0]])
    >>> sol = correlated_equilibrium(chicken)
    >>> round(sol.welfare, 9), sol.max_gain <= 1e-9     # above the best Nash welfare, 28/3
    (10.5, True)
    """
    return _solve(game, objective, coarse=False)


def coarse_correlated_equilibrium(game: Any, *, objective: Any = "welfare") -> CorrelatedSolution:
    r"""A coarse correlated equilibrium (Moulin & Vial 1978, "Strategically zero-sum games",
    Int. J. Game Theory 7:201-221) that maximises a linear objective, by LP (HiGHS).

    .. math::
        \max_{\mu \in \Delta(\mathcal A)} \sum_a w(a) \mu(a) \quad \text{s.t.} \quad
        \sum_a \mu(a) \big[u_i(d, a_{-i}) - u_i(a)\big] \le 0 \quad \forall i,\; d \in \mathcal A_i:

    no player gains by committing to ``d`` before seeing its recommendation. Every CE is a CCE,
    and the empirical play of no-external-regret learners converges to the CCE set.

    Parameters
    ----------
    game : MatrixGame or NormalFormGame
    objective : "welfare" or array_like of shape (A_1, ..., A_N)

    Returns
    -------
    CorrelatedSolution

    Examples
    --------
    >>> from theory_rl.games import MatrixGame, coarse_correlated_equilibrium
    >>> pd = MatrixGame([[3, 0], [5, 1]], [[3, 5], [0, 1]])      # prisoner's dilemma
    >>> coarse_correlated_equilibrium(pd).distribution.round(9).tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    return _solve(game, objective, coarse=True)
