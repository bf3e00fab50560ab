"""Average-reward (gain-optimal) dynamic programming."""

from __future__ import annotations

import numpy as np

from .._iterative import Callback, Timer, finish_iterative, iterations, stop_reason
from .._validation import check_int, check_real, check_tol
from ..models import FiniteMDP
from ._bellman import as_value, check_options, effective_rewards
from ._certificate import gamma_n, measure_rounding, round_up
from ._solution import Solution

__all__ = ["relative_value_iteration"]


def relative_value_iteration(
    mdp: FiniteMDP,
    *,
    tol: float = 1e-8,
    max_iter: int = 100_000,
    aperiodicity: float = 0.5,
    reference_state: int = 0,
    h0: np.ndarray | None = None,
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> Solution:
    r"""Relative value iteration for the average-reward criterion (White 1963; Puterman 1994, §8.5).

    Works on the aperiodicity-transformed model ``P~ = tau P + (1 - tau) I`` (Schweitzer 1971;
    Puterman §8.5.4), which has the same gain and optimal policies, and iterates

    .. math::
        w_{n+1} = \tilde T h_n, \qquad h_{n+1} = w_{n+1} - w_{n+1}(s_{ref}) \mathbf 1,
        \qquad (\tilde T h)(s) = \max_a \Big[ R(s,a) + \sum_{s'} \tilde P(s'|s,a) h(s') \Big].

    Odoni's bounds ``min_s (T~h - h)(s) <= g* <= max_s (T~h - h)(s)`` (Puterman Thm 8.5.5)
    certify the gain; the loop stops when their gap is ``<= tol``, and the greedy policy is then
    ``tol``-gain-optimal.

    Assumptions: the model is unichain (every stationary deterministic policy has a single
    recurrent class), or at least weakly communicating, so that ``g*`` is constant. For
    multichain models the bounds may not close and the solver reports ``converged=False``.
    ``mdp.gamma`` is ignored.

    Parameters
    ----------
    mdp : FiniteMDP
    tol : float
        Required width of the gain bounds.
    aperiodicity : float
        ``tau`` in ``(0, 1]``; ``1`` disables the transformation.
    reference_state : int
        ``s_ref``; the bias is normalised to ``h(s_ref) = 0``.

    Returns
    -------
    Solution
        ``gain`` (midpoint of the bounds), ``v`` the bias ``h`` of the original model,
        ``q(s,a) = R(s,a) + sum_s' P(s'|s,a) h(s')``, ``bound`` half the gain-bound width,
        ``info["gain_lower"]``, ``info["gain_upper"]``. ``lower``/``upper`` are ``None``.

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.river_swim(6)
    >>> sol = tabular.relative_value_iteration(mdp, tol=1e-10)
    >>> print(f"gain {sol.gain:.4f}")
    gain 0.4286
    >>> sol.converged
    True
    """
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter")
    tau = check_real(aperiodicity, "aperiodicity", low=0.0, high=1.0, low_open=True)
    S, A = mdp.n_states, mdp.n_actions
    reference_state = check_int(reference_state, "reference_state", minimum=0, maximum=S - 1)
    check_options(callback=callback, strict=strict, progress=progress)
    with Timer() as timer:
        P2 = mdp.transition_matrix
        r = effective_rewards(mdp)
        model = measure_rounding(P2, r, 0.0)  # P's row statistics
        h = np.zeros(S) if h0 is None else as_value(mdp, h0, "h0").copy()

        def backup(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            q = (r + tau * (P2 @ h)).reshape(S, A)
            policy = q.argmax(axis=1)
            return q[np.arange(S), policy] + (1 - tau) * h, policy

        history: list[float] = []
        converged = False
        reason = None
        n = 0
        for n in iterations(max_iter, progress, "relative value iteration"):
            w, policy = backup(h)
            d = w - h
            lo, hi = float(d.min()), float(d.max())
            # rounding: the backup (K stored terms, the reward, tau and (1 - tau) h: K + 4 roundings),
            # rows not summing to one (the bounds are then those of the row-normalised model), d itself
            h_norm = float(np.max(np.abs(h)))
            err = round_up(gamma_n(model.max_entries + 4) * (model.reward_max + (tau * (1.0 + model.row_defect)
                           + 1.0 - tau) * h_norm) + tau * model.row_defect * h_norm
                           + gamma_n(1) * max(abs(lo), abs(hi)))
            lo, hi = lo - err, hi + err
            history.append(hi - lo)
            if hi - lo <= tol:
                converged = True
                break
            if 2.0 * err > tol:
                reason = (f"float64 cannot certify tol={tol:g}: the rounding of one backup widens the gain bounds "
                          f"by {2.0 * err:.3g}")
                break
            if callback is not None and callback(n, h, hi - lo):
                break
            h = w - w[reference_state]
        reason = stop_reason(converged, reason, n, max_iter)
        finish_iterative(method="relative_value_iteration", converged=converged, strict=strict, n_iter=n,
                         cap=max_iter, tol=tol, reason=reason)
        bias = tau * (h - h[reference_state])
        q = (r + P2 @ bias).reshape(S, A)
    return Solution(
        v=bias, q=q, policy=np.asarray(policy, dtype=np.int64), converged=converged, n_iter=n,
        residual=hi - lo, bound=round_up(0.5 * (hi - lo) * (1.0 + 4 * 2.0**-53)), lower=None, upper=None, history=np.asarray(history),
        method="relative_value_iteration",
        params={"tol": tol, "aperiodicity": tau, "reference_state": int(reference_state)},
        elapsed=timer.elapsed, gain=0.5 * (lo + hi),
        info={"gain_lower": lo, "gain_upper": hi, **({} if reason is None else {"reason": reason})},
    )
