"""Value iteration with certified stopping."""

from __future__ import annotations

import numpy as np

from .._iterative import Callback, Timer, finish_iterative, iteration_cap, iterations
from .._validation import check_tol
from ..models import FiniteMDP
from ._bellman import BellmanOperator, as_value
from ._certificate import certify
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

    Either way the result carries the MacQueen bounds of the last backup in ``lower``/``upper``.

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
        ``history`` holds ``||d_n||_inf``; ``info["span"]`` the last ``span(d_n)``.

    References
    ----------
    M. L. Puterman, *Markov Decision Processes*, Wiley 1994, §6.3 and §6.6.
    J. MacQueen, "A modified dynamic programming method for Markovian decision problems",
    J. Math. Anal. Appl. 14 (1966).
    """
    if mdp.is_shortest_path:  # gamma = 1 with terminal states: the episodic solver
        return shortest_path_value_iteration(mdp, tol=tol, max_iter=max_iter, v0=v0, variant=variant, stopping=stopping,
                                             callback=callback, strict=strict, progress=progress)
    if variant not in ("jacobi", "gauss-seidel"):
        raise ValueError(f"variant must be 'jacobi' or 'gauss-seidel', got {variant!r}")
    if stopping not in ("span", "sup"):
        raise ValueError(f"stopping must be 'span' or 'sup', got {stopping!r}")
    tol = check_tol(tol)
    with Timer() as timer:
        op = BellmanOperator(mdp)
        v = np.zeros(op.S) if v0 is None else as_value(mdp, v0, "v0").copy()
        gamma = op.gamma
        c = gamma / (1.0 - gamma)
        history: list[float] = []
        converged = False
        cert = None
        n = 0
        if variant == "jacobi":
            cert = certify(op, v)
            cap = max_iter if max_iter is not None else iteration_cap(gamma, tol, cert.residual)
            for n in iterations(cap, progress, "value iteration"):
                history.append(cert.residual)
                done = c * cert.span <= tol if stopping == "span" else cert.residual < tol * (1 - gamma) / (2 * gamma) or gamma == 0
                if done:
                    converged = True
                    break
                if callback is not None and callback(n, cert.tv, cert.residual):
                    break
                v = cert.tv
                cert = certify(op, v)
        else:
            policy = np.zeros(op.S, dtype=np.int64)
            cap = max_iter
            for n in iterations(max_iter if max_iter is not None else 10**9, progress, "Gauss-Seidel VI"):
                change = op.gauss_seidel_sweep(v, policy)
                history.append(change)
                if cap is None:
                    cap = iteration_cap(gamma, tol, max(change, 1e-300))
                if 2 * c * change <= tol:
                    cert = certify(op, v)
                    if c * cert.span <= tol:
                        converged = True
                        break
                if callback is not None and callback(n, v, change):
                    break
                if n >= cap:
                    break
            if cert is None or not converged:
                cert = certify(op, v)
        finish_iterative(method="value_iteration", converged=converged, strict=strict, n_iter=n, cap=cap, tol=tol)
        q = op.q(v)
    return Solution(
        v=cert.value, q=q, policy=cert.policy, converged=converged, n_iter=n,
        residual=cert.residual, bound=cert.bound, lower=cert.lower, upper=cert.upper,
        history=np.asarray(history), method="value_iteration",
        params={"tol": tol, "max_iter": max_iter, "variant": variant, "stopping": stopping},
        elapsed=timer.elapsed, info={"span": cert.span, "policy_gap_bound": cert.policy_gap},
    )
