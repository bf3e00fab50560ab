r"""HSVI2 (with HSVI's or SARSOP's trials): point-based search with certified anytime bounds at ``b0``.

A lower bound ``V_lo`` (alpha vectors from the blind-policy vectors) and an upper bound ``V_hi``
(sawtooth interpolation of a point set on the FIB corner values, capped by the FIB) on the optimal
value ``V*`` of the belief MDP are kept and tightened together (the bounds and the search state
are in :mod:`theory_rl.pomdp._point_search`).

Trials descend from ``b0`` by the IE-MAX action ``a* = argmax_a Q_hi(b, a)`` and the observation
with the largest weighted excess ``P(o | b, a*) (V_hi - V_lo - eps gamma^{-(t+1)})(tau(b, a*, o))``,
back up both bounds at each visited belief (point-based alpha backup for the lower bound, Bellman
backup of the sawtooth for the upper one) and again along the path in reverse. Where a trial
stops is HSVI's rule (``V_hi(b) - V_lo(b) <= eps gamma^{-t}``) or SARSOP's selective deep
sampling (targets ``L_t``, ``U_t`` carried down the path and a lower bound predicted by belief
binning; see :func:`hsvi2` and :mod:`theory_rl.pomdp._sarsop`). Both bounds remain valid after
every backup, so ``[lower, upper]`` at ``b0`` is a certified interval containing ``V*(b0)`` at every stage.

References: T. Smith and R. Simmons, "Heuristic search value iteration for POMDPs", UAI 2004
(arXiv:1207.4166); "Point-based POMDP algorithms: improved analysis and implementation" (HSVI2),
UAI 2005 (arXiv:1207.1412). H. Kurniawati, D. Hsu, W. S. Lee, "SARSOP: efficient point-based
POMDP planning by approximating optimally reachable belief spaces", RSS 2008.

What is implemented, exactly: HSVI2's blind lower bound, FIB upper bound, sawtooth (LP-free)
upper interpolation, IE-MAX / weighted-excess trials, pruning of dominated upper-bound points
(a point is dropped when the other points already give a value at least as low at its belief).
From SARSOP: the sampling rule of APPL's ``SampleBP`` (targets, improvement constant ``zeta``,
final-precision stop at half the trial precision, and value prediction by binning on (upper
bound, entropy) at two grid levels, 5x5 and 10x10, the level with the smaller squared error
chosen per belief), a belief tree whose edges under provably suboptimal actions
(``Q_hi(b, a) < max_a' Q_lo(b, a')``) are cut, and alpha pruning relative to the optimally
reachable beliefs only (optionally delta-dominance in a conservative L1 form, ``delta``).
Deviations from SARSOP: APPL adapts ``delta`` during the run and prunes at most 10% of the time;
we prune when the number of vectors has grown by ``prune_growth`` with a fixed ``delta``
(default 0: keep the vectors maximal at some reachable belief). Added (on by default,
``sweep_fraction``): between trials, lower-bound-only point-based backups at the optimally
reachable beliefs (PBVI's improvement step on the sampled beliefs), which lifts the lower bound
where trials follow optimistic paths. Not implemented: HSVI2's "adaptive precision" schedule and
masked/sparse alpha vectors (ours are dense in the state), SARSOP's factored (MOMDP) form.
Beliefs are sparse (support + values) and the kernels are compiled with numba over the
reachable next states only (CSR ``T``; observation branches with ``P(o | b, a) = 0`` are empty
and skipped), so the cost of a backup grows with the belief support, not with ``|S|`` squared.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._validation import check_choice
from ..models import POMDP
from ._point_search import Trial, _back_up_path, _BeliefTree, _child, _descend, _run_search, _Search
from ._sarsop import _sarsop_trials
from ._solution import POMDPSolution

__all__ = ["hsvi2"]


@renamed_arguments(target_gap="tol")
def hsvi2(
    model: POMDP,
    *,
    tol: float = 1e-3,
    time_limit: float = 60.0,
    clock: str = "wall",
    max_iter: int | None = None,
    sampling: str = "sarsop",
    zeta: float = 0.5,
    max_depth: int | None = None,
    prune_growth: float = 3.0,
    delta: float = 0.0,
    sweep_fraction: float = 0.5,
    b0: np.ndarray | None = None,
    callback: Any = None,
    progress: bool = False,
) -> POMDPSolution:
    r"""Point-based search with certified anytime bounds ``[lower, upper]`` on ``V*(b0)``: HSVI2
    (Smith & Simmons 2005) with SARSOP's sampling and pruning (Kurniawati, Hsu & Lee 2008).

    Runs trials from ``b0`` (see the module docstring) until ``upper - lower <= tol``,
    ``time_limit`` seconds or ``max_iter`` trials. Each trial has the precision
    ``eps = max(tol, zeta * (V_hi(b0) - V_lo(b0)))``, descends by the IE-MAX action
    ``a* = argmax_a Q_hi(b, a)`` and the observation of largest weighted excess
    ``P(o | b, a*) [V_hi - V_lo - eps gamma^{-(t+1)}](tau(b, a*, o))``, and backs up both bounds
    at every belief it visits (on the way down and again in reverse).

    Where a trial stops, ``sampling`` decides:

    * ``"hsvi"`` (Smith & Simmons 2004, Alg. 1): at depth ``t`` when
      ``V_hi(b) - V_lo(b) <= eps gamma^{-t}``.
    * ``"sarsop"`` (Kurniawati et al. 2008, Alg. 2, as in APPL's ``SampleBP``): targets
      ``L_t``, ``U_t`` for the value at the current belief are carried down the path
      (``L_0 = max_a Q_lo(b0, a)``, ``U_0 = V_lo(b0) + eps``;
      ``L_{t+1} = ((L' - R(b, a*)) / gamma - sum_{o != o*} P(o) V_lo(b_o)) / P(o*)``,
      likewise ``U_{t+1}`` with ``V_hi``, where ``L' = max(L_t, max_a Q_lo(b, a))`` and
      ``U' = max(U_t, V_lo(b) + eps gamma^{-t})``). The trial stops when
      ``V_hi(b) - V_lo(b) <= eps gamma^{-t} / 2``, or else goes on while the *predicted*
      lower bound ``R(b, a*) + gamma [sum_{o != o*} P(o) V_lo(b_o) + P(o*) Vhat(b_{o*})]``
      exceeds ``L'`` (``Vhat`` from :class:`_BinPredictor`: deep sampling where the lower bound
      at ``b0`` is predicted to improve), or while ``V_hi(b) - V_lo(b) > eps gamma^{-t}`` and
      ``Q_hi(b, a*) > U'``.

    Between trials, when the alpha set has grown by ``prune_growth``, the belief tree is cut to
    the optimally reachable part (edges ``(b, a)`` with ``Q_hi(b, a) < max_a' Q_lo(b, a')`` are
    dropped: ``a`` is provably suboptimal at ``b``), and vectors maximal at none of its beliefs
    are pruned (``delta > 0``: only those maximal nowhere within L1 distance ``delta`` of one,
    a conservative form of SARSOP's delta-dominance); upper points whose value the other points
    already give are pruned too. ``sweep_fraction`` of the time goes to lower-bound-only
    backups at the optimally reachable beliefs (not in HSVI2 or SARSOP).

    Guarantee: ``V_lo(b) <= V*(b) <= V_hi(b)`` for every belief at every stage (the backups of
    valid bounds are valid bounds); ``lower`` is non-decreasing and ``upper`` non-increasing over
    trials; ``lower`` is the value of the alpha vectors' conditional plan from ``b0``. With
    ``sampling="hsvi"`` and ``zeta = 0``, the search terminates after finitely many trials with
    ``upper - lower <= tol`` (Smith & Simmons 2004, Thm 2).

    Parameters
    ----------
    model : POMDP
        Dense or CSR transitions; ``gamma < 1``.
    tol : float
        The certified accuracy asked for: stop when ``upper - lower <= tol`` at ``b0``, ``> 0``.
        Called ``target_gap`` before 0.2.0 (still accepted until 0.3.0, with a ``DeprecationWarning``).
    time_limit : float
        Seconds on ``clock``, positive, ``inf`` for none: checked between trials, every 8 steps of a
        trial and of its backups in reverse, every 64 sweep backups; the FIB sweeps that start the
        upper bound get at most half of it (an FIB iterate stopped early is a looser valid bound).
    clock : {"wall", "cpu"}
        ``"wall"``: :func:`time.perf_counter`; ``"cpu"``: this process's CPU time
        (:func:`time.process_time`), for budgets on a shared machine. ``history["time"]`` uses it.
    max_iter : int >= 1, optional
        Maximum number of trials.
    sampling : {"sarsop", "hsvi"}
        Trial termination rule (above).
    zeta : float in [0, 1)
        Trial precision as a fraction of the current gap at ``b0`` (SARSOP's and HSVI2's
        improvement constant; ``zeta = 0`` uses ``eps = tol``).
    max_depth : int >= 1, optional
        Depth cap of a trial; default ``ceil(log(width / tol) / log(1 / gamma)) + 1`` with
        the initial bound width (the HSVI rule never goes deeper).
    prune_growth : float > 1
        Prune alpha vectors / upper points when their number has grown by this factor since the
        last pruning. Pruning often costs lower bound: a vector maximal at no sampled belief may
        still be maximal at their successors, which every backup reads (TagAvoid, 20 CPU-s:
        lower -6.8 with 1.5, -6.12 with 3 or 6).
    delta : float
        Neighbourhood radius (L1) of the delta-dominance test when pruning alpha vectors;
        ``0`` keeps exactly the vectors maximal at an optimally reachable belief.
    sweep_fraction : float in [0, 1)
        Share of the time spent, between trials, on lower-bound-only point-based backups at the
        optimally reachable beliefs (newest first). ``0`` is plain HSVI2 / SARSOP. The share is
        measured on ``clock``, so with ``sweep_fraction > 0`` two runs with the same options (even
        ``max_iter``) may do different numbers of sweep backups and end with different (equally
        valid) bounds under different machine load (RockSample(4,4), 30 trials: 2664 or 1459
        backups); ``sweep_fraction=0`` makes a run with ``max_iter`` reproducible bit for bit.
    b0 : array_like, shape (S,), optional
        Start belief (default ``model.b0``).
    callback : callable, optional
        ``callback(trial, lower, upper)`` after each trial; returning ``True`` stops.
    progress : bool
        Show a tqdm bar (trials, the interval and its gap) on stderr, or a widget in Jupyter.

    Returns
    -------
    POMDPSolution
        ``alpha`` (the pruned lower-bound vectors), ``lower``/``upper`` at ``b0``, ``history``
        with ``lower``, ``upper``, ``time``, ``n_vectors``, ``n_points``, ``n_backups`` per trial
        (index 0 = the initial bounds), ``info["upper"]`` for :func:`sawtooth_upper_bound`,
        ``info["n_beliefs"]`` / ``info["n_reachable"]`` (sampled / optimally reachable beliefs).

    Raises
    ------
    InvalidArgumentError
        If an option is out of range (``tol``, ``time_limit``, ``zeta``, ``sweep_fraction``,
        ``delta``, ``prune_growth``, the integers ``max_iter``/``max_depth``, the choices
        ``sampling``/``clock``; the option is named).
    InvalidModelError
        If ``gamma >= 1``, or ``b0`` is not a probability vector of length ``S`` (the entry is
        named: NaN, negative, wrong sum).
    """
    check_choice(sampling, "sampling", ("sarsop", "hsvi"))
    return _run_search(
        model, tol=tol, time_limit=time_limit, clock=clock, max_iter=max_iter, sampling=sampling, zeta=zeta,
        max_depth=max_depth, prune_growth=prune_growth, delta=delta, sweep_fraction=sweep_fraction, b0=b0,
        callback=callback, make_trial=_sarsop_trials if sampling == "sarsop" else _hsvi_trials, method="hsvi2",
        progress=progress,
    )


def _hsvi_trial(search: _Search, tree: _BeliefTree, root: int, eps: float, max_depth: int, deadline: float,
                now: Any) -> None:
    """One HSVI trial: descend while ``V_hi - V_lo > eps gamma^{-t}`` (stopping early at
    ``deadline``), back up every visited belief on the way down and in reverse."""
    path: list[int] = []
    i = root
    thresh = eps
    for _ in range(max_depth):
        node = search.expand(*tree.belief(i))
        lo, hi = search.update(node)
        tree.q_lo[i], tree.q_hi[i] = node.q_lo, node.q_hi
        if hi - lo <= thresh or (len(path) % 8 == 7 and now() >= deadline):
            break
        thresh /= search.gamma
        _, row = _descend(search, node, node.q_hi, thresh)
        path.append(i)
        i = _child(tree, node, i, row)
    _back_up_path(search, tree, path, deadline, now)


def _hsvi_trials(search: _Search, tree: _BeliefTree) -> Trial:
    """HSVI's trial rule on ``search`` and ``tree`` (for :func:`_run_search`)."""

    def trial(root: int, eps: float, max_depth: int, deadline: float, now: Any) -> None:
        _hsvi_trial(search, tree, root, eps, max_depth, deadline, now)

    return trial
