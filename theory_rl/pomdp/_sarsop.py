r"""SARSOP: point-based search with selective deep sampling and certified anytime bounds at ``b0``.

SARSOP (Kurniawati, Hsu & Lee 2008) shares HSVI2's bounds, backups and trials from ``b0``
(:mod:`theory_rl.pomdp._point_search`) and differs in where a trial stops: it carries targets
``L_t``, ``U_t`` down the path and goes deeper while a lower bound *predicted* by belief binning
(:class:`_BinPredictor`) says that the lower bound at ``b0`` would improve (APPL's ``SampleBP``).

Reference: H. Kurniawati, D. Hsu, W. S. Lee, "SARSOP: efficient point-based POMDP planning by
approximating optimally reachable belief spaces", Robotics: Science and Systems (RSS) 2008.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..models import POMDP
from ._point_search import Trial, _back_up_path, _BeliefTree, _child, _descend, _run_search, _Search
from ._solution import POMDPSolution

__all__ = ["sarsop"]


def sarsop(
    model: POMDP,
    *,
    tol: float = 1e-3,
    time_limit: float = 60.0,
    clock: str = "wall",
    max_iter: int | None = None,
    zeta: float = 0.5,
    max_depth: int | None = None,
    prune_growth: float = 3.0,
    delta: float = 0.0,
    sweep_fraction: float = 0.5,
    b0: np.ndarray | None = None,
    callback: Any = None,
    progress: bool = False,
) -> POMDPSolution:
    r"""SARSOP (Kurniawati, Hsu & Lee 2008): point-based search with certified anytime bounds
    ``[lower, upper]`` on ``V*(b0)``; the same run as :func:`hsvi2` with ``sampling="sarsop"``.

    Trials from ``b0`` have the precision ``eps = max(tol, zeta * (V_hi(b0) - V_lo(b0)))`` and
    descend by the IE-MAX action ``a* = argmax_a Q_hi(b, a)`` and the observation of largest
    weighted excess ``P(o | b, a*) [V_hi - V_lo - eps gamma^{-(t+1)}](tau(b, a*, o))``, backing up
    both bounds at every belief they visit. Selective deep sampling (Alg. 2, as in APPL's
    ``SampleBP``): targets ``L_t``, ``U_t`` for the value at the current belief are carried down
    the path (``L_0 = max_a Q_lo(b0, a)``, ``U_0 = V_lo(b0) + eps``;
    ``L_{t+1} = ((L' - R(b, a*)) / gamma - sum_{o != o*} P(o) V_lo(b_o)) / P(o*)``, likewise
    ``U_{t+1}`` with ``V_hi``, where ``L' = max(L_t, max_a Q_lo(b, a))`` and
    ``U' = max(U_t, V_lo(b) + eps gamma^{-t})``). A trial stops when
    ``V_hi(b) - V_lo(b) <= eps gamma^{-t} / 2``, or else goes on while the predicted lower bound
    ``R(b, a*) + gamma [sum_{o != o*} P(o) V_lo(b_o) + P(o*) Vhat(b_{o*})]`` exceeds ``L'``
    (``Vhat`` by belief binning on (upper bound, entropy) at 5x5 and 10x10 grids), or while
    ``V_hi(b) - V_lo(b) > eps gamma^{-t}`` and ``Q_hi(b, a*) > U'``. The belief tree is cut to
    its optimally reachable part and alpha vectors are pruned relative to it, as described in
    :func:`hsvi2` (which documents every option and the deviations from APPL).

    Assumptions: a discounted POMDP, ``gamma < 1``. Guarantee: ``V_lo(b) <= V*(b) <= V_hi(b)``
    at every belief at every stage, so ``[lower, upper]`` is a certified interval for ``V*(b0)``;
    ``lower`` is the value of the returned alpha vectors' conditional plan from ``b0``.

    Parameters
    ----------
    model : POMDP
        Dense or CSR transitions; ``gamma < 1``.
    tol, time_limit, clock, max_iter, zeta, max_depth, prune_growth, delta, sweep_fraction, b0, callback, progress
        As in :func:`hsvi2`, with the same defaults.

    Returns
    -------
    POMDPSolution
        As :func:`hsvi2` returns (``method="sarsop"``, ``params["sampling"] = "sarsop"``);
        :func:`sawtooth_upper_bound` evaluates its upper bound at other beliefs.

    Raises
    ------
    InvalidArgumentError
        If an option is out of range (the option is named).
    InvalidModelError
        If ``gamma >= 1`` or ``b0`` is not a probability vector of length ``S``.

    Examples
    --------
    >>> from theory_rl.pomdp import load_problem, sarsop
    >>> sol = sarsop(load_problem("tiger.95.POMDP"), tol=0.1, time_limit=10)
    >>> bool(sol.lower <= sol.upper <= sol.lower + 0.1)
    True
    """
    return _run_search(
        model, tol=tol, time_limit=time_limit, clock=clock, max_iter=max_iter, sampling="sarsop", zeta=zeta,
        max_depth=max_depth, prune_growth=prune_growth, delta=delta, sweep_fraction=sweep_fraction, b0=b0,
        callback=callback, make_trial=_sarsop_trials, method="sarsop", progress=progress,
    )


def _sarsop_trials(search: _Search, tree: _BeliefTree) -> Trial:
    """SARSOP's trial rule on ``search`` and ``tree``, with a fresh :class:`_BinPredictor`."""
    bins = _BinPredictor(float(search.corner.min()), float(search.corner.max()), search.S)

    def trial(root: int, eps: float, max_depth: int, deadline: float, now: Any) -> None:
        _sarsop_trial(search, tree, bins, root, eps, max_depth, deadline, now)

    return trial


class _BinPredictor:
    r"""SARSOP's value prediction by belief binning (Kurniawati, Hsu, Lee 2008, Sec. IV-B).

    Each sampled belief falls in one bin per level: a grid over (its upper bound when first
    binned, its entropy), with ``5 * 2^(l-1)`` cells per axis at level ``l = 1, 2`` (upper bounds
    between the smallest and largest corner value, entropy between 0 and ``log2 |S|``). A bin
    keeps the mean of its beliefs' current lower bounds and the summed squared error of that
    mean as a predictor of them. The prediction at a binned belief is the mean of the level with
    the smallest error, clipped to ``[V_lo(b), V_hi(b)]``; a belief alone in its level-1 bin is
    predicted at ``V_hi(b)`` (exploration). A belief not yet binned (a child about to be sampled)
    is looked up in the cells its current upper bound and entropy fall in, and predicted at
    ``V_hi(b)`` if those are empty (APPL reads an arbitrary cell there).
    """

    def __init__(self, lowest: float, highest: float, n_states: int, levels: int = 2, size: int = 5) -> None:
        self.lowest = lowest
        self.sizes = [size * 2 ** lev for lev in range(levels)]
        self.ub_width = [max(highest - lowest, 1e-12) / n for n in self.sizes]
        self.h_width = [max(math.log2(max(n_states, 2)), 1e-12) / n for n in self.sizes]
        self.mean = [np.zeros((n, n)) for n in self.sizes]
        self.count = [np.zeros((n, n), dtype=np.int64) for n in self.sizes]
        self.error = [np.zeros((n, n)) for n in self.sizes]
        self.cell: dict[int, list[tuple[int, int]]] = {}
        self.prev_error: dict[int, list[float]] = {}
        self.prev_lower: dict[int, float] = {}

    def update(self, node: int, lower: float, upper: float, entropy: float) -> None:
        """Record the current lower bound of ``node`` (binning it on first sight)."""
        cells = self.cell.get(node)
        if cells is None:
            cells = self._cells(upper, entropy)
            errs = []
            for lev, (i, j) in enumerate(cells):
                c = self.count[lev][i, j]
                err = (upper - lower) ** 2 if c == 0 else (self.mean[lev][i, j] - lower) ** 2
                self.error[lev][i, j] += err
                self.mean[lev][i, j] = (self.mean[lev][i, j] * c + lower) / (c + 1)
                self.count[lev][i, j] = c + 1
                errs.append(err)
            self.cell[node] = cells
            self.prev_error[node] = errs
        else:
            prev = self.prev_lower[node]
            errs = self.prev_error[node]
            for lev, (i, j) in enumerate(cells):
                c = self.count[lev][i, j]
                if c == 1:
                    err = (upper - lower) ** 2
                    self.error[lev][i, j] = err
                else:
                    err = (self.mean[lev][i, j] - lower) ** 2
                    self.error[lev][i, j] += err - errs[lev]
                errs[lev] = err
                self.mean[lev][i, j] += (lower - prev) / c
        self.prev_lower[node] = lower

    def _cells(self, upper: float, entropy: float) -> list[tuple[int, int]]:
        out = []
        for lev, n in enumerate(self.sizes):
            i = min(max(int((upper - self.lowest) / self.ub_width[lev]), 0), n - 1)
            j = min(max(int(entropy / self.h_width[lev]), 0), n - 1)
            out.append((i, j))
        return out

    def predict(self, node: int | None, lower: float, upper: float, entropy: float) -> float:
        """Predicted lower bound at a belief with bounds ``[lower, upper]``; a belief never binned
        is looked up in the cells its upper bound and entropy fall in, without joining them."""
        cells = self.cell.get(node) if node is not None else None
        if cells is None:
            cells = self._cells(upper, entropy)
            if self.count[0][cells[0]] == 0:
                return upper
        elif self.count[0][cells[0]] <= 1:
            return upper
        lev = min(range(len(cells)), key=lambda m: self.error[m][cells[m]] if self.count[m][cells[m]] else np.inf)
        return float(min(max(self.mean[lev][cells[lev]], lower), upper))


def _sarsop_trial(search: _Search, tree: _BeliefTree, bins: _BinPredictor, root: int, eps: float, max_depth: int,
                  deadline: float, now: Any) -> None:
    """One SARSOP trial (selective deep sampling with targets ``L_t``, ``U_t``; see
    :func:`sarsop`), backing up every visited belief on the way down and in reverse."""
    gamma = search.gamma
    n_obs = search.n_obs
    path: list[int] = []
    i = root
    target_lo = target_hi = 0.0
    for t in range(max_depth):
        node = search.expand(*tree.belief(i))
        lo, hi = search.update(node)
        tree.q_lo[i], tree.q_hi[i] = q_lo, q_hi = node.q_lo, node.q_hi
        bins.update(i, lo, hi, tree.entropy[i])
        expected = eps * gamma ** -t
        if hi - lo <= 0.5 * expected or (t % 8 == 7 and now() >= deadline):
            break
        cur_hi = lo + expected if t == 0 else max(target_hi, lo + expected)
        cur_lo = float(q_lo.max()) if t == 0 else max(float(q_lo.max()), target_lo)
        a, row = _descend(search, node, q_hi, expected / gamma)
        rows = slice(a * n_obs, (a + 1) * n_obs)
        p = node.probs[a].copy()
        p_star = float(p[row - a * n_obs])
        p[row - a * n_obs] = 0.0
        rest_lo, rest_hi = float(p @ node.low[rows]), float(p @ node.up[rows])
        r = float(node.r[a])
        c = _child(tree, node, i, row)
        predicted = r + gamma * (rest_lo + p_star * bins.predict(c, float(node.low[row]), float(node.up[row]),
                                                                 tree.entropy[c]))
        target_lo = ((cur_lo - r) / gamma - rest_lo) / p_star
        if not (predicted > cur_lo or (hi - lo > expected and q_hi[a] > cur_hi)):
            break
        target_hi = ((cur_hi - r) / gamma - rest_hi) / p_star
        path.append(i)
        i = c
    _back_up_path(search, tree, path, deadline, now)
