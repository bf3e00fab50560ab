"""Entropy-regularised (soft) value iteration."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, softmax

from .._iterative import Callback, Timer, finish_iterative, iteration_cap, iterations
from .._validation import check_tol
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ._bellman import BellmanOperator, as_value
from ._solution import Solution

__all__ = ["soft_value_iteration", "soft_backup"]


def soft_backup(op: BellmanOperator, v: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    r"""``(T_tau v, q)`` with ``(T_tau v)(s) = tau log sum_a exp(q_v(s,a) / tau)``."""
    q = op.q(v)
    return temperature * logsumexp(q / temperature, axis=1), q


def soft_value_iteration(
    mdp: FiniteMDP,
    *,
    temperature: float,
    tol: float = 1e-8,
    max_iter: int | None = None,
    v0: np.ndarray | None = None,
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> Solution:
    r"""Soft (entropy-regularised) value iteration.

    Solves ``max_pi E[sum_t gamma^t (R(s_t,a_t) + tau H(pi(.|s_t)))]`` by iterating

    .. math::
        (T_\tau v)(s) = \tau \log \sum_a \exp\!\Big(\frac{q_v(s,a)}{\tau}\Big), \qquad
        \pi_\tau(a|s) = \exp\!\big((q_{v}(s,a) - v(s)) / \tau\big),

    the log-sum-exp ("soft max") Bellman operator (Ziebart 2010; Haarnoja et al. 2017,
    arXiv 1702.08165; Geist, Scherrer, Pietquin 2019, arXiv 1901.11275). ``T_tau`` is monotone,
    satisfies ``T_tau(v + c) = T_tau v + gamma c`` and is a ``gamma``-contraction, so the
    MacQueen bounds of :func:`value_iteration` hold verbatim and certify the stop.

    Relation to the unregularised problem (tested): ``v* <= v*_tau <= v* + tau log|A| / (1-gamma)``,
    so ``v*_tau -> v*`` as ``tau -> 0``.

    Parameters
    ----------
    mdp : FiniteMDP
    temperature : float
        ``tau > 0``.
    tol : float
        Stops when the certified ``||v - v*_tau||_inf <= tol / 2`` (span rule).

    Returns
    -------
    Solution
        ``v = v*_tau`` (including the entropy bonus), ``q`` the soft action values, ``policy`` the
        stochastic softmax policy of shape ``(S, A)``.
    """
    tau = float(temperature)
    if not (tau > 0 and np.isfinite(tau)):
        raise InvalidModelError(f"temperature = {temperature!r} must be a positive finite number")
    tol = check_tol(tol)
    with Timer() as timer:
        op = BellmanOperator(mdp)
        v = np.zeros(op.S) if v0 is None else as_value(mdp, v0, "v0").copy()
        c = op.gamma / (1.0 - op.gamma)
        tv, q = soft_backup(op, v, tau)
        cap = max_iter if max_iter is not None else iteration_cap(op.gamma, tol, float(np.max(np.abs(tv - v))))
        history: list[float] = []
        converged = False
        n = 0
        for n in iterations(cap, progress, "soft value iteration"):
            d = tv - v
            history.append(float(np.max(np.abs(d))))
            if c * float(d.max() - d.min()) <= tol:
                converged = True
                break
            if callback is not None and callback(n, tv, history[-1]):
                break
            v = tv
            tv, q = soft_backup(op, v, tau)
        d = tv - v
        lower, upper = tv + c * d.min(), tv + c * d.max()
        finish_iterative(method="soft_value_iteration", converged=converged, strict=strict, n_iter=n, cap=cap, tol=tol)
        value = 0.5 * (lower + upper)
        q_final = op.q(value)
        policy = softmax(q_final / tau, axis=1)
    return Solution(
        v=value, q=q_final, policy=policy, converged=converged, n_iter=n,
        residual=float(np.max(np.abs(d))), bound=float(0.5 * np.max(upper - lower)), lower=lower, upper=upper,
        history=np.asarray(history), method="soft_value_iteration",
        params={"temperature": tau, "tol": tol, "max_iter": max_iter}, elapsed=timer.elapsed,
    )
