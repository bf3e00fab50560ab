"""Value iteration with certified stopping."""

from __future__ import annotations

import numpy as np

from .._iterative import Callback, Timer, finish_iterative, iteration_cap, iterations, stop_reason
from .._validation import check_choice, check_max_iter, check_tol
from ..models import FiniteMDP
from ._bellman import BellmanOperator, as_value, check_options
from ._certificate import certificate_info, certified_check, certify
from ._shortest_path import shortest_path_value_iteration
from ._solution import Solution

__all__ = ["value_iteration"]


def value_iteration(
    mdp: FiniteMDP,
    *,
    tol: float = 1e-6,
    max_iter: int | None = None,
    v0: np.ndarray | None = None,
    variant: str = "jacobi",
    stopping: str = "span",
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> Solution:
    r"""Value iteration ``v_{n+1} = T v_n`` with a certified stopping rule.

    .. math::
        v_{n+1}(s) = \max_a \Big[ R(s,a) + \gamma \sum_{s'} P(s'|s,a)\, v_n(s') \Big].

    ``T`` is a ``gamma``-contraction, so ``v_n -> v*`` geometrically from any ``v0``
    (Bellman 1957; Puterman 1994, Thm 6.3.1).

    Stopping rules, with ``d_n = v_{n+1} - v_n``:

    - ``"span"`` (default): MacQueen (1966) / Porteus (1971) bounds
      ``v_{n+1} + c min d_n <= v* <= v_{n+1} + c max d_n``, ``c = gamma/(1-gamma)``
      (Puterman Thm 6.6.3). Stops when ``c * span(d_n) <= tol``. The returned ``v`` is the
      midpoint of the bounds, so ``||v - v*|| <= tol/2``, and the greedy policy is ``tol``-optimal.
      ``span(d_n)`` contracts with the chain's ergodicity coefficient times ``gamma``, often far
      faster than ``gamma`` alone.
    - ``"sup"``: the classical rule ``||d_n||_inf < tol (1-gamma) / (2 gamma)`` (Puterman
      Thm 6.3.1), which gives the same two guarantees.

    Either way the result carries the MacQueen bounds of the last backup in ``lower``/``upper``,
    widened by the forward error of that backup in float64 (:func:`~theory_rl.tabular.certify`;
    Higham 2002, §3.1), so that they hold for the exact ``v*`` of the stored model; ``converged``
    additionally requires the rounding-aware ``info["policy_gap_bound"] <= tol``. When ``tol``
    lies below what float64 can certify (``info["rounding_floor"]``, about
    ``4 gamma_{K+2} (max|R| + ||v*||) / (1 - gamma)``: ``gamma`` within a few ``eps`` of 1, or huge
    rewards) the solver iterates only while its certificate still improves, then stops with
    ``converged=False`` and the reason in the warning and in ``info["reason"]``.

    Parameters
    ----------
    mdp : FiniteMDP
        Discounted model, ``gamma < 1``.
    tol : float
        Target: the greedy ``policy`` is ``tol``-optimal and ``bound <= tol/2``.
    max_iter : int, optional
        Backups allowed. Default: the count after which the sup-norm rule must fire
        (``log(tol (1-gamma) / (2 gamma ||d_0||)) / log gamma``, plus 10%).
    v0 : ndarray, shape (S,), optional
        Starting values (default zeros).
    variant : {"jacobi", "gauss-seidel"}
        ``"gauss-seidel"`` updates ``v(s)`` in place state by state (Puterman §6.3.3); it is
        also a ``gamma``-contraction and usually needs fewer sweeps. Its stopping test uses the
        sup-norm rule on the sweep, and the result is then certified with one Jacobi backup.
    stopping : {"span", "sup"}
    callback : callable ``(n, v, residual) -> bool | None``, optional
        Called after each backup; returning ``True`` stops early (``converged=False``).
    strict : bool
        Raise :class:`~theory_rl.errors.SolverError` instead of warning when ``max_iter`` is hit.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    Solution
        ``history`` holds ``||d_n||_inf``; ``info["span"]`` the last ``span(d_n)``;
        ``info["policy_gap_bound"]`` the certified ``||v* - v_policy||_inf``;
        ``info["rounding_floor"]``; ``info["reason"]`` when not converged.

    References
    ----------
    M. L. Puterman, *Markov Decision Processes*, Wiley 1994, §6.3 and §6.6.

    N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, §3.1.

    J. MacQueen, "A modified dynamic programming method for Markovian decision problems",
    J. Math. Anal. Appl. 14 (1966).

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.chain(5, gamma=0.9)
    >>> sol = tabular.value_iteration(mdp, tol=1e-8)
    >>> print(sol.converged, sol.bound <= 1e-8)
    True True
    >>> bool((sol.lower <= sol.v).all() and (sol.v <= sol.upper).all())
    True
    >>> sol.policy
    array([0, 0, 0, 0, 0])
    """
    if mdp.is_shortest_path:  # gamma = 1 with terminal states: the episodic solver
        return shortest_path_value_iteration(mdp, tol=tol, max_iter=max_iter, v0=v0, variant=variant, stopping=stopping,
                                             callback=callback, strict=strict, progress=progress)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    check_choice(variant, "variant", ("jacobi", "gauss-seidel"))
    check_choice(stopping, "stopping", ("span", "sup"))
    check_options(callback=callback, strict=strict, progress=progress)
    with Timer() as timer:
        op = BellmanOperator(mdp)
        v = np.zeros(op.S) if v0 is None else as_value(mdp, v0, "v0").copy()
        gamma = op.gamma
        history: list[float] = []
        gaps: list[float] = []
        converged = False
        reason = None
        n = 0
        cert = certify(op, v)
        if variant == "jacobi":
            cap = max_iter if max_iter is not None else iteration_cap(gamma, tol, cert.residual)
            for n in iterations(cap, progress, "value iteration"):
                history.append(cert.residual)
                # the sup rule ||d|| < tol (1-gamma) / (2 gamma), written without dividing by gamma
                fired = stopping == "span" or 2.0 * gamma * cert.residual < tol * (1.0 - gamma)
                converged, reason = certified_check(cert, tol, gaps, ready=fired)
                if converged or reason is not None:
                    break
                if callback is not None and callback(n, cert.tv, cert.residual):
                    break
                v = cert.tv
                cert = certify(op, v)
        else:
            policy = np.zeros(op.S, dtype=np.int64)
            cap = max_iter
            c = gamma / (1.0 - gamma)
            for n in iterations(max_iter if max_iter is not None else 10**9, progress, "Gauss-Seidel VI"):
                change = op.gauss_seidel_sweep(v, policy)
                history.append(change)
                if cap is None:
                    cap = iteration_cap(gamma, tol, max(change, 1e-300))
                # certify when the sweep's change suggests tol is reached, and every 8 sweeps
                # (so that a model whose rounding floor exceeds tol is recognised early)
                if 2 * c * change <= tol or n % 8 == 0:
                    cert = certify(op, v)
                    converged, reason = certified_check(cert, tol, gaps, ready=2 * c * change <= tol)
                    if converged or reason is not None:
                        break
                if callback is not None and callback(n, v, change):
                    break
                if n >= cap:
                    break
            if not converged:
                cert = certify(op, v)
        reason = stop_reason(converged, reason, n, cap)
        finish_iterative(method="value_iteration", converged=converged, strict=strict, n_iter=n, cap=cap, tol=tol,
                         reason=reason)
        # q from the certified value (not the last iterate, which span stopping leaves off by a
        # constant): ||q - Q*||_inf <= gamma * bound up to the rounding of this one backup
        q = op.q(cert.value)
    return Solution(
        v=cert.value, q=q, policy=cert.policy, converged=converged, n_iter=n,
        residual=cert.residual, bound=cert.bound, lower=cert.lower, upper=cert.upper,
        history=np.asarray(history), method="value_iteration",
        params={"tol": tol, "max_iter": max_iter, "variant": variant, "stopping": stopping},
        elapsed=timer.elapsed, info=certificate_info(cert, reason),
    )
