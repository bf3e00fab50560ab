"""Entropy-regularised (soft) value iteration."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, softmax

from .._iterative import Callback, Timer, finish_iterative, iteration_cap, iterations, stop_reason
from .._validation import check_max_iter, check_real, check_tol
from ..models import FiniteMDP
from ._bellman import BellmanOperator, as_value, check_options
from ._certificate import Certificate, certificate_from_backup, certified_check, gamma_n
from ._solution import Solution

__all__ = ["soft_value_iteration", "soft_backup"]


def soft_backup(op: BellmanOperator, v: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    r"""``(T_tau v, q)`` with ``(T_tau v)(s) = tau log sum_a exp(q_v(s,a) / tau)``."""
    q = op.q(v)
    return temperature * logsumexp(q / temperature, axis=1), q


def _soft_certificate(op: BellmanOperator, v: np.ndarray, tv: np.ndarray, q: np.ndarray, tau: float) -> Certificate:
    """MacQueen bounds for ``T_tau`` with the rounding of the log-sum-exp on top of the backup's:
    ``tau (log A + 1) gamma_{3A+6} + gamma_{3A+6} 2 (||q|| + ||tv||)``, assuming ``exp`` and ``log``
    accurate to one ulp (glibc's are)."""
    d = tv - v
    A = op.A
    finite = q[np.isfinite(q)]
    q_norm = float(np.max(np.abs(finite))) if finite.size else 0.0
    tv_norm = float(np.max(np.abs(tv))) if tv.size else 0.0
    extra = gamma_n(3 * A + 6) * (tau * (np.log(A) + 1.0) + 2.0 * (q_norm + tv_norm))
    policy = np.zeros(op.S, dtype=np.int64)  # unused: the soft policy is stochastic
    return certificate_from_backup(op, v, tv, policy, float(d.min()), float(d.max()), extra_error=extra)


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

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.chain(4, gamma=0.9)
    >>> soft = tabular.soft_value_iteration(mdp, temperature=0.1, tol=1e-10)
    >>> hard = tabular.policy_iteration(mdp)
    >>> bool((soft.v >= hard.v - 1e-9).all())
    True
    >>> bool(np.allclose(soft.policy.sum(axis=1), 1.0))
    True
    """
    tau = check_real(temperature, "temperature", low=0.0, low_open=True)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    check_options(callback=callback, strict=strict, progress=progress)
    with Timer() as timer:
        op = BellmanOperator(mdp)
        v = np.zeros(op.S) if v0 is None else as_value(mdp, v0, "v0").copy()
        tv, q = soft_backup(op, v, tau)
        cap = max_iter if max_iter is not None else iteration_cap(op.gamma, tol, float(np.max(np.abs(tv - v))))
        history: list[float] = []
        gaps: list[float] = []
        converged = False
        reason = None
        n = 0
        for n in iterations(cap, progress, "soft value iteration"):
            d = tv - v
            history.append(float(np.max(np.abs(d))))
            cert = _soft_certificate(op, v, tv, q, tau)
            # the gap checked is upper - lower: the width of the bounds
            converged, reason = certified_check(cert, tol, gaps, cert.policy_gap - cert.policy_slack)
            if converged or reason is not None:
                break
            if callback is not None and callback(n, tv, history[-1]):
                break
            v = tv
            tv, q = soft_backup(op, v, tau)
        cert = _soft_certificate(op, v, tv, q, tau)
        reason = stop_reason(converged, reason, n, cap)
        finish_iterative(method="soft_value_iteration", converged=converged, strict=strict, n_iter=n, cap=cap, tol=tol,
                         reason=reason)
        value = cert.value
        q_final = op.q(value)
        policy = softmax(q_final / tau, axis=1)
    return Solution(
        v=value, q=q_final, policy=policy, converged=converged, n_iter=n,
        residual=cert.residual, bound=cert.bound, lower=cert.lower, upper=cert.upper,
        history=np.asarray(history), method="soft_value_iteration",
        params={"temperature": tau, "tol": tol, "max_iter": max_iter}, elapsed=timer.elapsed,
        info={"rounding_floor": cert.gap_floor, **({} if reason is None else {"reason": reason})},
    )
