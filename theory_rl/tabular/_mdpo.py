"""Exact tabular Mirror Descent Policy Optimization (MDPO)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import logsumexp

from .._iterative import Callback, Timer, finish_iterative, iterations
from .._validation import check_tol
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ._bellman import BellmanOperator, as_policy, solve_policy_system
from ._soft import soft_backup
from ._solution import Solution

__all__ = ["mirror_descent_policy_optimization", "mirror_descent_step", "regularized_policy_value"]

_SCHEDULES = ("constant", "geometric", "annealed", "entropy")


def regularized_policy_value(op: BellmanOperator, pi: np.ndarray, entropy: float) -> np.ndarray:
    r"""``V_lambda^pi = (I - gamma P_pi)^{-1} (r_pi + lambda H(pi))`` with ``H(pi)(s) = -sum_a pi log pi``."""
    P_pi, r_pi = op.policy_chain(pi)
    if entropy > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(pi > 0, pi * np.log(pi), 0.0)
        r_pi = r_pi - entropy * plogp.sum(axis=1)
    return solve_policy_system(P_pi, r_pi, op.gamma)


def mirror_descent_step(log_pi: np.ndarray, q: np.ndarray, *, step_size: float, entropy: float = 0.0) -> np.ndarray:
    r"""One exact KL mirror-descent step per state, in log space.

    .. math::
        \log \pi_{k+1}(a|s) = \frac{\log \pi_k(a|s) + t\, q(s,a)}{1 + \lambda t} - \log Z(s),

    the maximiser over the simplex of ``<q(s,.), p> + lambda H(p) - KL(p || pi_k(.|s)) / t``.
    Actions with ``log_pi = -inf`` (unavailable, or already ruled out) stay at probability 0.

    Parameters
    ----------
    log_pi : ndarray, shape (S, A)
        ``log pi_k``.
    q : ndarray, shape (S, A)
        Action values (``-inf`` allowed where ``log_pi`` is ``-inf``).
    step_size : float
        ``t > 0``.
    entropy : float
        ``lambda >= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import tabular
    >>> log_pi = np.log(np.full((1, 2), 0.5))
    >>> q = np.array([[1.0, 0.0]])
    >>> np.round(np.exp(tabular.mirror_descent_step(log_pi, q, step_size=1.0)), 4)
    array([[0.7311, 0.2689]])
    """
    live = np.isfinite(log_pi)
    logits = np.where(live, (np.where(live, log_pi, 0.0) + step_size * np.where(live, q, 0.0)) / (1.0 + entropy * step_size), -np.inf)
    return logits - logsumexp(logits, axis=1, keepdims=True)


def _step_sizes(step_size: float | Callable[[int], float], schedule: str, entropy: float, gamma: float, K: int):
    if callable(step_size):
        return step_size
    t = float(step_size)
    if not (t > 0 and np.isfinite(t)):
        raise InvalidModelError(f"step_size = {step_size!r} must be a positive finite number")
    if schedule == "constant":
        return lambda k: t
    if schedule == "geometric":
        return lambda k: t / gamma**k if gamma > 0 else t
    if schedule == "annealed":
        return lambda k: t * (1.0 - k / (K + 1))
    if schedule == "entropy":
        if entropy <= 0:
            raise InvalidModelError("schedule='entropy' (t_k = 1/(lambda (k+2))) needs entropy > 0")
        return lambda k: 1.0 / (entropy * (k + 2))
    raise ValueError(f"schedule must be one of {_SCHEDULES} or step_size a callable, got {schedule!r}")


def mirror_descent_policy_optimization(
    mdp: FiniteMDP,
    *,
    step_size: float | Callable[[int], float] = 1.0,
    schedule: str = "constant",
    entropy: float = 0.0,
    max_iter: int = 1000,
    tol: float = 1e-6,
    policy0: np.ndarray | None = None,
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> Solution:
    r"""Exact tabular MDPO: KL mirror-descent steps on the policy with exact ``Q^{pi_k}``.

    Each iteration solves, state by state,

    .. math::
        \pi_{k+1}(\cdot|s) = \arg\max_{p \in \Delta_A} \; \langle Q_\lambda^{\pi_k}(s,\cdot), p\rangle
            + \lambda H(p) - \frac{1}{t_k} \mathrm{KL}(p \,\|\, \pi_k(\cdot|s)),

    whose closed form is

    .. math::
        \pi_{k+1}(a|s) \propto \pi_k(a|s)^{1/(1+\lambda t_k)}
            \exp\!\Big(\frac{t_k\, Q_\lambda^{\pi_k}(s,a)}{1 + \lambda t_k}\Big)

    (``lambda = 0``: ``pi_{k+1} ∝ pi_k exp(t_k Q^{pi_k})``, natural policy gradient for a softmax
    policy). ``Q_lambda^pi`` is the exact (entropy-regularised when ``lambda > 0``) action value.

    Guarantees (exact gradients, rewards in ``[0, 1]``):

    - monotone improvement ``V^{pi_{k+1}} >= V^{pi_k}`` pointwise for any ``t_k > 0``;
    - constant step ``t`` (Xiao 2022, arXiv 2201.07443, Thm 8): for every ``rho``,
      ``V*(rho) - V^{pi_K}(rho) <= (E_{s~d*_rho} KL(pi*_s || pi0_s) / t + 1/(1-gamma)) / (K (1-gamma))``,
      i.e. ``O(1/K)``; with uniform ``pi0`` the KL term is at most ``log A``;
    - geometric steps ``t_{k+1} = t_k / gamma`` give linear convergence at rate ``gamma``;
    - one step with ``t_k -> inf`` from a full-support ``pi_k`` is a policy-improvement step, so
      the iterates follow policy iteration when every step dwarfs the sum of the earlier ones
      (e.g. ``t_k = 10^(6(k+1))``). A *constant* huge ``t`` does not: since
      ``pi_{k+1} ∝ pi_0 exp(t sum_{j<=k} Q^{pi_j})``, it follows the argmax of the cumulative
      ``Q`` sum (tested);
    - with ``lambda > 0`` the fixed point is the soft-optimal policy of
      :func:`soft_value_iteration` with ``temperature = lambda``.

    Every iteration is also certified: with ``v = V^{pi_k}`` and ``T`` the (soft) Bellman
    operator, ``v* <= T v + gamma/(1-gamma) max(T v - v)``, so ``history[k]`` is a certified bound
    on ``||v* - V^{pi_k}||_inf`` and the loop stops once it is ``<= tol``.

    This is the exact-gradient tabular method of the paper's analysis, not the paper's deep-RL
    on-/off-policy algorithms (those come with :mod:`theory_rl.approx`).

    Parameters
    ----------
    mdp : FiniteMDP
    step_size : float or callable ``k -> t_k``
        ``t`` (or the schedule's base value).
    schedule : {"constant", "geometric", "annealed", "entropy"}
        ``t_k = t``; ``t / gamma^k``; ``t (1 - k/(K+1))`` (the paper's annealing); or
        ``1 / (lambda (k+2))`` (Shani et al. 2020, needs ``entropy > 0``).
    entropy : float
        Regularisation weight ``lambda >= 0``.
    max_iter : int
        Mirror-descent steps ``K`` allowed.
    tol : float
        Stop when the certified sub-optimality of ``pi_k`` is ``<= tol``.
    policy0 : ndarray, shape (S, A), optional
        Initial policy; default uniform over available actions. Must have full support on them.

    Returns
    -------
    Solution
        ``v = V_lambda^{pi_K}``, ``q = Q_lambda^{pi_K}``, ``policy = pi_K`` (shape ``(S, A)``),
        ``bound`` = certified ``||v* - v||_inf``; ``info["values"]`` (``(K+1, S)``, the value of
        every iterate) and ``info["step_sizes"]``.

    References
    ----------
    M. Tomar, L. Shani, Y. Efroni, M. Ghavamzadeh, "Mirror Descent Policy Optimization",
    ICLR 2022, arXiv 2005.09814. L. Shani, Y. Efroni, S. Mannor, "Adaptive trust region policy
    optimization", AAAI 2020, arXiv 1909.02769. L. Xiao, "On the convergence rates of policy
    gradient methods", JMLR 2022, arXiv 2201.07443.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.chain(4, gamma=0.9)
    >>> sol = tabular.mirror_descent_policy_optimization(mdp, step_size=10.0, tol=1e-8)
    >>> opt = tabular.policy_iteration(mdp)
    >>> bool(np.abs(sol.v - opt.v).max() < 1e-6)
    True
    """
    lam = float(entropy)
    if not (lam >= 0 and np.isfinite(lam)):
        raise InvalidModelError(f"entropy = {entropy!r} must be a finite number >= 0")
    tol = check_tol(tol)
    with Timer() as timer:
        op = BellmanOperator(mdp)
        S, A, gamma = op.S, op.A, op.gamma
        available = np.isfinite(op.r_eff.reshape(S, A))
        if policy0 is None:
            pi = available / available.sum(axis=1, keepdims=True)
        else:
            pi = as_policy(mdp, policy0, name="policy0")
            if pi.ndim == 1 or ((pi == 0) & available).any():
                raise InvalidModelError("policy0 must be stochastic with full support on available actions")
        t_of = _step_sizes(step_size, schedule, lam, gamma, max_iter)
        c = gamma / (1.0 - gamma)
        with np.errstate(divide="ignore"):
            log_pi = np.where(available, np.log(pi), -np.inf)
        values, gaps, steps = [], [], []
        converged = False
        k = 0
        for k in iterations(max_iter + 1, progress, "MDPO"):
            v = regularized_policy_value(op, pi, lam)
            tv, q = soft_backup(op, v, lam) if lam > 0 else (op.backup(v)[0], op.q(v))
            d = tv - v
            gap = float(np.max(tv + c * d.max() - v))
            values.append(v)
            gaps.append(gap)
            if gap <= tol:
                converged = True
                break
            if k > max_iter or (callback is not None and callback(k - 1, v, gap)):
                break
            t = float(t_of(k - 1))
            steps.append(t)
            log_pi = mirror_descent_step(log_pi, q, step_size=t, entropy=lam)
            pi = np.exp(log_pi)
        n_steps = len(values) - 1
        finish_iterative(method="mirror_descent_policy_optimization", converged=converged, strict=strict,
                         n_iter=n_steps, cap=max_iter, tol=tol)
    return Solution(
        v=v, q=q, policy=pi, converged=converged, n_iter=n_steps, residual=float(np.max(np.abs(d))),
        bound=gap, lower=v.copy(), upper=tv + c * d.max(), history=np.asarray(gaps),
        method="mirror_descent_policy_optimization",
        params={"step_size": step_size if not callable(step_size) else "callable", "schedule": schedule,
                "entropy": lam, "max_iter": max_iter, "tol": tol},
        elapsed=timer.elapsed, info={"values": np.asarray(values), "step_sizes": np.asarray(steps)},
    )
