"""Average-reward (gain-optimal) dynamic programming."""

from __future__ import annotations

import numpy as np

from .._iterative import Callback, Timer, finish_iterative, iterations
from .._validation import check_tol
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ._bellman import as_value, effective_rewards
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
    """
    tol = check_tol(tol)
    tau = float(aperiodicity)
    if not (0 < tau <= 1):
        raise InvalidModelError(f"aperiodicity = {aperiodicity!r} must lie in (0, 1]")
    S, A = mdp.n_states, mdp.n_actions
    if not (isinstance(reference_state, (int, np.integer)) and 0 <= reference_state < S):
        raise InvalidModelError(f"reference_state = {reference_state!r} is not a state index in [0, {S})")
    with Timer() as timer:
        P2 = mdp.transition_matrix
        r = effective_rewards(mdp)
        h = np.zeros(S) if h0 is None else as_value(mdp, h0, "h0").copy()

        def backup(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            q = (r + tau * (P2 @ h)).reshape(S, A)
            policy = q.argmax(axis=1)
            return q[np.arange(S), policy] + (1 - tau) * h, policy

        history: list[float] = []
        converged = False
        n = 0
        for n in iterations(max_iter, progress, "relative value iteration"):
            w, policy = backup(h)
            d = w - h
            lo, hi = float(d.min()), float(d.max())
            history.append(hi - lo)
            if hi - lo <= tol:
                converged = True
                break
            if callback is not None and callback(n, h, hi - lo):
                break
            h = w - w[reference_state]
        finish_iterative(method="relative_value_iteration", converged=converged, strict=strict, n_iter=n, cap=max_iter, tol=tol)
        bias = tau * (h - h[reference_state])
        q = (r + P2 @ bias).reshape(S, A)
    return Solution(
        v=bias, q=q, policy=np.asarray(policy, dtype=np.int64), converged=converged, n_iter=n,
        residual=hi - lo, bound=0.5 * (hi - lo), lower=None, upper=None, history=np.asarray(history),
        method="relative_value_iteration",
        params={"tol": tol, "aperiodicity": tau, "reference_state": int(reference_state)},
        elapsed=timer.elapsed, gain=0.5 * (lo + hi), info={"gain_lower": lo, "gain_upper": hi},
    )
