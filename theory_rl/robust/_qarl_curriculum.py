r"""QARL's self-paced temperature curriculum in the tabular soft game (Reddi, Tölle, Peters,
Chalvatzaki & D'Eramo 2024, "Robust adversarial reinforcement learning via bounded rationality
curricula", ICLR, arXiv 2311.01642), with the teachers of the paper's code: a Gamma distribution
over the adversary's temperature with a fixed rate (``SelfPacedGammaTemperatureTeacherFixedBeta``),
a point temperature (``SelfPacedPointTemperatureTeacher``) and the linear schedule baseline.

The self-paced update is the one of self-paced RL (Klink, Abdulsamad, Belousov, D'Eramo, Peters &
Pajarinen 2021, "A probabilistic interpretation of self-paced learning with applications to
reinforcement learning", JMLR 22, arXiv 2102.13176; Klink et al. 2020, "Self-paced deep
reinforcement learning", NeurIPS, arXiv 2004.11812). With ``p_k`` the current distribution of
the adversary temperature ``beta``, ``mu`` the target and ``J(beta)`` the protagonist's expected
return against the ``beta``-adversary, the teacher sets, when ``E_{p_k}[J] >= delta``,

.. math::
    p_{k+1} = \arg\min_{p}\; D_{KL}(p \,\|\, \mu) \quad \text{s.t.} \quad
    \mathbb{E}_{\beta \sim p}[J(\beta)] \ge \delta, \qquad D_{KL}(p \,\|\, p_k) \le \epsilon,

over ``p = Gamma(k, rate)`` with the rate fixed and the concentration ``k`` optimised (mean
``k / rate``) on the segment between the current and the target concentration (the objective
is unimodal with its minimum at the target, so the unconstrained optimum lies there; the
segment also keeps solver tolerances from overshooting the target); otherwise ``p_k`` stays
(the paper's code freezes the distribution while the performance is below ``delta``; the SPDL
alternative, maximising performance inside the trust region, is commented out there and not
implemented here). The optimiser is scipy's ``trust-constr`` (as in the code), with the
closed-form Gamma KL and its derivative; if the target itself is feasible it is the exact
solution and is taken directly; a point that breaks a constraint by rounding is moved back
toward ``k_k`` by bisection (status ``moved (repaired)``), and where the optimiser fails (it can
step outside the bounds, to ``k < 0``) the same bisection runs along the segment toward the
target.

Tabular protagonist update (what one curriculum iteration does). The deep version trains two SAC
agents; the adversary sees the temperature (it is appended to its state), the protagonist does
not, and the temperature is drawn once per episode. Solving the soft game exactly at every
iteration (as :func:`qarl_curriculum` does) would make the path of temperatures irrelevant: the
answer would be the QRE at the last temperature. A curriculum only matters for a protagonist
that learns a step at a time, as QARL's SAC protagonist does, so in the tabular game one
iteration is:

1. *Adversary* (fast timescale, exact): for every temperature ``beta`` in the support, the soft
   best response ``psi_beta`` to the protagonist's policy ``pi`` in the regularised game
   ``V = E[sum_t gamma^t (r + alpha H(pi) - beta H(psi))]`` (:func:`soft_best_response`, soft
   policy iteration, certified to ``tol``).
2. *Protagonist* (slow timescale): ``protagonist_steps`` entropy-regularised natural policy
   gradient steps (Cen, Cheng, Chen, Wei & Chi 2021, arXiv 2007.06558) on
   ``phi(pi) = E_{beta ~ p}[min_psi V^{pi, psi}_{alpha, beta}(d0)]``:
   ``log pi' = (1 - eta) log pi + eta Q_mix / alpha`` (normalised), where ``Q_mix(s, a)`` is the
   protagonist's soft Q against the adversaries, averaged with weights ``p(beta) d_beta(s)``
   (``d_beta`` the discounted state occupancy under ``(pi, psi_beta)``): Danskin's theorem makes
   this the policy gradient of ``phi`` because ``beta > 0`` makes each best response unique.
   ``eta = step_size = 1`` would be soft policy iteration against the best-responding
   adversaries; without backtracking the dynamics cycle at small ``beta`` (measured: 30, 20 and
   7 of 40 random games ended above the QRE exploitability bound with ``eta`` = 1, 0.5, 0.2),
   so each step backtracks, halving ``eta`` until ``phi`` (computed
   exactly) does not decrease: monotone ascent. A fixed point is a quantal response equilibrium
   of the mixture game; for a point temperature it is the QRE of
   :func:`soft_minimax_value_iteration`. This is the two-timescale scheme of Daskalakis, Foster &
   Golowich 2020 (arXiv 2101.04233) with the adversary solved exactly; convergence to the QRE
   is not proved for Markov games (``phi`` is not concave there) and can be slow near it.
3. *Evaluation*: ``J(beta) = d0^T V_0^{pi, psi_beta}``, the protagonist's *unregularised* return
   against the soft best response (the code feeds the teacher discounted returns), computed
   exactly by policy evaluation for each grid temperature.

Expectation over the Gamma distribution. ``J`` is evaluated exactly on a fixed log-spaced grid
of ``n_grid`` temperatures spanning ``temperature_bounds`` (the code clips sampled temperatures
to these bounds, so the clipped distribution has atoms at both ends); between grid points ``J``
is interpolated linearly, and ``E_p[J]`` is the exact integral of that interpolant against the
clipped Gamma, in closed form with regularised incomplete gamma functions
(``int_a^b x f_k(x) dx = (k / rate) [F_{k+1}]_a^b``). The same weights define the mixture of
adversaries the protagonist trains against. The only approximation is the interpolation of
``J``; the tests compare it with ``scipy.integrate.quad`` of the exact ``J``. The code estimates
the same expectation by importance sampling from episodes; here nothing is sampled, so the
curriculum is deterministic.

Deviations from the paper, on purpose: the protagonist's temperature ``alpha`` is fixed (SAC
auto-tunes it); players are exact tabular policies, not networks; the expectation is integrated,
not sampled.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import Bounds, NonlinearConstraint, minimize
from scipy.special import digamma, entr, gammainc, gammaln, log_softmax, logsumexp, polygamma

from .._deprecation import renamed_arguments, renamed_attribute
from .._iterative import iterations
from .._result import Result
from .._validation import as_float_array, check_bool, check_int, check_probability_rows, check_real, check_tol
from ..errors import InvalidArgumentError, InvalidModelError, SolverError
from ..games import MarkovGame as GamesMarkovGame
from ._qarl import MarkovGame, as_qarl_game, best_response_value, nash_value_iteration

__all__ = [
    "GammaTemperatureTeacher",
    "PointTemperatureTeacher",
    "LinearTemperatureSchedule",
    "QarlTrainingResult",
    "gamma_kl",
    "clipped_gamma_weights",
    "soft_best_response",
    "qarl_train",
]


# --------------------------------------------------------------------------------------------
# teachers (frozen configurations; the state of a curriculum lives in qarl_train's loop)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaTemperatureTeacher:
    r"""Self-paced Gamma teacher with a fixed rate (``SelfPacedGammaTemperatureTeacherFixedBeta``
    of the QARL code): the adversary temperature is ``beta ~ Gamma(k, rate)`` (shape ``k``, mean
    ``k / rate``), clipped to ``temperature_bounds``; ``k`` moves from
    ``initial_concentration`` toward ``target_concentration``.

    Parameters
    ----------
    initial_concentration, target_concentration : float
        Shapes of the initial and target Gamma distributions (``> 0``).
    rate : float
        The fixed rate (``> 0``).
    max_kl : float
        Trust region ``epsilon``: ``KL(p_{k+1} || p_k) <= max_kl``.
    performance_lower_bound : float
        ``delta``: the distribution moves only while ``E_p[J] >= delta`` and keeps it.
    concentration_lower_bound : float
        ``k >= concentration_lower_bound`` while ``KL(p || mu) > target_kl_threshold`` (must not
        exceed the initial or the target concentration).
    target_kl_threshold : float
        Below this KL to the target the lower bound on ``k`` is lifted.
    temperature_bounds : (float, float)
        Sampled temperatures are clipped to ``[low, high]``; also the span of the grid.

    Examples
    --------
    >>> from theory_rl import robust
    >>> teacher = robust.GammaTemperatureTeacher(initial_concentration=2.0, target_concentration=0.5, rate=40.0,
    ...                                          max_kl=0.1, performance_lower_bound=0.0)
    >>> teacher.mean(2.0)                       # mean temperature k / rate
    0.05
    """

    initial_concentration: float
    target_concentration: float
    rate: float
    max_kl: float
    performance_lower_bound: float
    concentration_lower_bound: float = 1e-3
    target_kl_threshold: float = 1e-8
    temperature_bounds: tuple[float, float] = (1e-5, 1.0)

    def __post_init__(self) -> None:
        for name in ("initial_concentration", "target_concentration", "rate", "max_kl", "concentration_lower_bound"):
            check_real(getattr(self, name), name, low=0.0, low_open=True)
        _check_performance_bound(self.performance_lower_bound)
        check_real(self.target_kl_threshold, "target_kl_threshold", low=0.0)
        if self.concentration_lower_bound > min(self.target_concentration, self.initial_concentration):
            raise InvalidModelError(f"concentration_lower_bound = {self.concentration_lower_bound:g} exceeds the "
                                    f"target ({self.target_concentration:g}) or initial "
                                    f"({self.initial_concentration:g}) concentration")
        _check_bounds(self.temperature_bounds)

    def mean(self, concentration: float) -> float:
        """Mean temperature ``k / rate`` (before clipping)."""
        return concentration / self.rate


@dataclass(frozen=True)
class PointTemperatureTeacher:
    r"""Self-paced point teacher (``SelfPacedPointTemperatureTeacher`` of the QARL code): a single
    temperature ``t``. While ``(t - target)^2 > target_mse_threshold`` and
    ``J(t) > performance_lower_bound``, it solves
    ``min_{t'} (t' - target)^2  s.t.  (t' - t)^2 <= max_mse, t' >= temperature_lower_bound``,
    i.e. ``t' = max(clip(target, t - sqrt(max_mse), t + sqrt(max_mse)), temperature_lower_bound)``
    (the code steps ``t - sqrt(max_mse)`` and clips at the lower bound, the same thing when the
    lower bound is the target); otherwise ``t`` stays.

    Examples
    --------
    >>> from theory_rl import robust
    >>> teacher = robust.PointTemperatureTeacher(initial_temperature=0.05, target_temperature=0.001, max_mse=1e-4,
    ...                                          performance_lower_bound=0.0)
    >>> teacher.initial_temperature, teacher.target_temperature
    (0.05, 0.001)
    """

    initial_temperature: float
    target_temperature: float
    max_mse: float
    performance_lower_bound: float
    temperature_lower_bound: float | None = None
    target_mse_threshold: float = 1e-15

    def __post_init__(self) -> None:
        for name in ("initial_temperature", "target_temperature", "max_mse"):
            check_real(getattr(self, name), name, low=0.0, low_open=True)
        _check_performance_bound(self.performance_lower_bound)
        check_real(self.target_mse_threshold, "target_mse_threshold", low=0.0)
        if self.temperature_lower_bound is not None:
            check_real(self.temperature_lower_bound, "temperature_lower_bound", low=0.0, low_open=True)
            if self.temperature_lower_bound > self.initial_temperature:
                # the first update would jump to the bound, past the trust region (t' - t)^2 <= max_mse
                raise InvalidModelError(f"temperature_lower_bound = {self.temperature_lower_bound:g} exceeds the "
                                        f"initial temperature ({self.initial_temperature:g})")


@dataclass(frozen=True)
class LinearTemperatureSchedule:
    r"""The linear baseline of the QARL code (``QARLLinearExperiment``): ``beta`` stays at
    ``initial_temperature`` until iteration ``descent_start_fraction * N``, falls linearly to
    ``target_temperature`` at ``descent_end_fraction * N`` and stays there (defaults 0.05 ->
    0.001 over the first 2/3 of the ``N`` iterations).

    Examples
    --------
    >>> from theory_rl import robust
    >>> schedule = robust.LinearTemperatureSchedule(initial_temperature=0.05, target_temperature=0.001)
    >>> [round(schedule.temperature(i, 30), 4) for i in (0, 10, 20, 29)]
    [0.05, 0.0255, 0.001, 0.001]
    """

    initial_temperature: float = 0.05
    target_temperature: float = 0.001
    descent_start_fraction: float = 0.0
    descent_end_fraction: float = 2.0 / 3.0

    def __post_init__(self) -> None:
        for name in ("initial_temperature", "target_temperature"):
            check_real(getattr(self, name), name, low=0.0, low_open=True)
        check_real(self.descent_start_fraction, "descent_start_fraction", low=0.0, high=1.0)
        check_real(self.descent_end_fraction, "descent_end_fraction", low=0.0, high=1.0)
        if self.descent_end_fraction < self.descent_start_fraction:
            raise InvalidModelError(f"descent_end_fraction = {self.descent_end_fraction:g} is before "
                                    f"descent_start_fraction = {self.descent_start_fraction:g}")

    def temperature(self, iteration: int, n_iterations: int) -> float:
        """``beta`` at ``iteration`` (0-based) of ``n_iterations``."""
        start = self.descent_start_fraction * n_iterations
        end = self.descent_end_fraction * n_iterations
        if iteration >= end:
            return self.target_temperature
        if iteration <= start:
            return self.initial_temperature
        frac = (iteration - start) / (end - start)
        return self.initial_temperature + (self.target_temperature - self.initial_temperature) * frac


Teacher = GammaTemperatureTeacher | PointTemperatureTeacher | LinearTemperatureSchedule


def _check_performance_bound(value: Any) -> None:
    """``delta`` may be ``-inf`` (no performance constraint) but not NaN or ``+inf``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not value < np.inf:
        raise InvalidModelError(f"performance_lower_bound = {value!r} must be a real number < inf (-inf: no bound)")


def _check_bounds(bounds: Any) -> tuple[float, float]:
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise InvalidModelError(f"temperature_bounds must be a pair (low, high), got {bounds!r}") from None
    if not (0.0 < low < high and math.isfinite(high)):
        raise InvalidModelError(f"temperature_bounds = ({low:g}, {high:g}) must satisfy 0 < low < high < inf")
    return low, high


# --------------------------------------------------------------------------------------------
# Gamma distributions: KL in closed form, expectation weights on a grid
# --------------------------------------------------------------------------------------------


def gamma_kl(shape_p: Any, rate_p: Any, shape_q: Any, rate_q: Any) -> np.ndarray | float:
    r"""``KL(Gamma(shape_p, rate_p) || Gamma(shape_q, rate_q))`` in closed form (shape/rate
    parameterisation, density ``rate^k x^{k-1} e^{-rate x} / Gamma(k)``):

    .. math::
        (k_p - k_q)\,\psi(k_p) - \log\Gamma(k_p) + \log\Gamma(k_q)
        + k_q (\log r_p - \log r_q) + k_p \frac{r_q - r_p}{r_p}.

    Broadcasts over array arguments; all must be positive.

    Examples
    --------
    >>> from theory_rl import robust
    >>> robust.gamma_kl(2.0, 1.0, 2.0, 1.0), round(float(robust.gamma_kl(2.0, 1.0, 1.0, 1.0)), 6)
    (0.0, 0.422784)
    """
    names = ("shape_p", "rate_p", "shape_q", "rate_q")
    # (as_float_array returns at least 1-D arrays: keep scalars scalar)
    kp, rp, kq, rq = (as_float_array(x, name).reshape(np.shape(x))
                      for x, name in zip((shape_p, rate_p, shape_q, rate_q), names))
    for name, x in zip(names, (kp, rp, kq, rq)):
        if not np.all(np.isfinite(x) & (x > 0)):
            raise InvalidModelError(f"gamma_kl: {name} must be positive and finite, got {x}")
    out = (kp - kq) * digamma(kp) - gammaln(kp) + gammaln(kq) + kq * (np.log(rp) - np.log(rq)) + kp * (rq - rp) / rp
    return float(out) if out.ndim == 0 else out


def _dkl_dshape(k: float, k_ref: float) -> float:
    """``d/dk KL(Gamma(k, r) || Gamma(k_ref, r)) = (k - k_ref) psi'(k)`` (same rate)."""
    return float((k - k_ref) * polygamma(1, k))


def clipped_gamma_weights(concentration: float, rate: float, grid: np.ndarray) -> np.ndarray:
    r"""Weights ``w`` with ``E[f(clip(X, grid[0], grid[-1]))] = w @ f(grid)`` for
    ``X ~ Gamma(concentration, rate)`` and every ``f`` that is linear between consecutive grid
    points (exact for that interpolant): the atoms ``F(grid[0])`` and ``1 - F(grid[-1])`` at the
    ends, and on each cell ``[g_i, g_{i+1}]`` of width ``h_i`` the hat-function integrals
    ``(g_{i+1} m_0 - m_1) / h_i`` and ``(m_1 - g_i m_0) / h_i`` with ``m_0 = [F_k]``,
    ``m_1 = (k / rate) [F_{k+1}]`` (``F_k`` the regularised lower incomplete gamma function).
    Non-negative, sum to 1.

    Parameters
    ----------
    concentration, rate : float
    grid : ndarray, shape (n,)
        Increasing, positive temperatures.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import robust
    >>> grid = np.linspace(0.01, 1.0, 5)
    >>> w = robust.clipped_gamma_weights(2.0, 4.0, grid)
    >>> round(float(w.sum()), 9), round(float(w @ grid), 4)          # a distribution; the clipped mean
    (1.0, 0.4725)
    """
    concentration = check_real(concentration, "concentration", low=0.0, low_open=True)
    rate = check_real(rate, "rate", low=0.0, low_open=True)
    g = as_float_array(grid, "grid", ndim=1)
    if g.size < 2 or not np.all(np.isfinite(g)) or g[0] <= 0.0 or not np.all(np.diff(g) > 0.0):
        raise InvalidModelError(f"grid must hold at least 2 increasing, positive, finite temperatures, got {g}")
    F0 = gammainc(concentration, rate * g)
    F1 = gammainc(concentration + 1.0, rate * g)
    m0 = np.diff(F0)
    m1 = (concentration / rate) * np.diff(F1)
    h = np.diff(g)
    left = np.clip((g[1:] * m0 - m1) / h, 0.0, None)
    right = np.clip((m1 - g[:-1] * m0) / h, 0.0, None)
    w = np.zeros(len(g))
    w[:-1] += left
    w[1:] += right
    w[0] += F0[0]
    w[-1] += 1.0 - F0[-1]
    return w / w.sum()


# --------------------------------------------------------------------------------------------
# players
# --------------------------------------------------------------------------------------------


def soft_best_response(
    game: GamesMarkovGame, pi: np.ndarray, *, alpha: float, betas: Any, tol: float = 1e-10, max_iter: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    r"""The adversary's soft best responses to the protagonist's stationary policy ``pi[s, a]``
    in QARL's regularised game, one per temperature in ``betas``, by soft policy iteration
    batched over the temperatures:

    .. math::
        \psi_\beta = \arg\min_\psi V^{\pi,\psi}_{\alpha,\beta}, \qquad
        V^{\pi,\psi}_{\alpha,\beta} = \mathbb{E}\Big[\sum_t \gamma^t \big(R(s_t,a_t,b_t)
        + \alpha H(\pi(\cdot|s_t)) - \beta H(\psi(\cdot|s_t))\big)\Big],

    an entropy-regularised MDP for the adversary (reward ``-sum_a pi R - alpha H(pi)``,
    temperature ``beta``), whose optimal policy is ``psi(b|s) ∝ exp(-Q_b(s, b) / beta)``. Each
    sweep evaluates ``psi`` exactly (one linear solve per temperature) and improves it softly;
    it stops when the soft Bellman residual ``||T v - v||`` of the evaluated policy is at most
    ``tol``, so ``v`` is within ``tol / (1 - gamma)`` of the best-response value, and returns the
    soft-greedy policy of that ``v`` (whose error is first order in ``v``'s, where the
    evaluated policy's would be of the order of ``sqrt(tol / beta)``).

    Returns
    -------
    psi : ndarray, shape (n, S, B)
        ``psi[n, s, b] ∝ exp(-Q_b(s, b) / beta_n)`` for the final ``v``.
    v : ndarray, shape (n, S)
        The regularised best-response values ``min_psi V^{pi, psi}_{alpha, beta_n}``, to
        ``tol / (1 - gamma)``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import games, robust
    >>> game = games.MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)   # repeated
    >>> psi, v = robust.soft_best_response(game, np.array([[0.4, 0.6]]), alpha=0.01, betas=[0.01, 1.0])
    >>> psi.shape, v.shape
    ((2, 1, 2), (2, 1))
    """
    game = as_qarl_game(game)
    S, A, B = game.shape
    pi = as_float_array(pi, "pi")
    if pi.shape != (S, A):
        raise InvalidModelError(f"pi has shape {pi.shape}, expected ({S}, {A}) (probabilities pi[s, a])")
    check_probability_rows(pi, "pi", atol=1e-9, row_shape=(S,))
    try:
        betas = np.atleast_1d(np.asarray(betas, dtype=float))
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"betas must be positive finite temperatures, got {betas!r}") from None
    if betas.ndim != 1 or betas.size == 0 or not np.all(np.isfinite(betas) & (betas > 0)):
        raise InvalidArgumentError(f"betas must be positive finite temperatures, got {betas}")
    alpha = check_real(alpha, "alpha", low=0.0)
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter")
    g = game.gamma
    r_b = np.einsum("sa,sab->sb", pi, game.R)
    P_b = np.einsum("sa,sabt->sbt", pi, game.P)
    h = alpha * entr(pi).sum(axis=1)
    logq = np.full((len(betas), S, B), -math.log(B))
    eye = np.eye(S)
    bt = betas[:, None, None]
    for _ in range(max_iter):
        q = np.exp(logq)
        r = np.einsum("nsb,sb->ns", q, r_b) + h - betas[:, None] * entr(q).sum(axis=2)
        v = np.linalg.solve(eye - g * np.einsum("nsb,sbt->nst", q, P_b), r[..., None])[..., 0]
        Qb = r_b + h[:, None] + g * np.einsum("sbt,nt->nsb", P_b, v)
        tv = -betas[:, None] * logsumexp(-Qb / bt, axis=2)
        logq = log_softmax(-Qb / bt, axis=2)
        if np.max(np.abs(tv - v)) <= tol:
            return np.exp(logq), v
    raise SolverError(f"soft_best_response: soft policy iteration did not reach tol={tol:g} in {max_iter} sweeps "
                      f"(residual {np.max(np.abs(tv - v)):.3g})", status="max_iter")


def _against(game: MarkovGame, pi: np.ndarray, psi: np.ndarray, v_soft: np.ndarray, d0: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Protagonist's soft Q ``(n, S, A)`` against each ``psi[n]`` (without the adversary's
    entropy, constant in ``a``), the discounted occupancies ``(n, S)`` and unregularised values
    ``(n, S)`` of ``(pi, psi[n])``."""
    g = game.gamma
    S = game.shape[0]
    q_prot = np.einsum("nsb,sab->nsa", psi, game.R) + g * np.einsum("nsb,sabt,nt->nsa", psi, game.P, v_soft)
    P_joint = np.einsum("sa,nsb,sabt->nst", pi, psi, game.P)
    M = np.eye(S) - g * P_joint
    v0 = np.linalg.solve(M, np.einsum("sa,nsb,sab->ns", pi, psi, game.R)[..., None])[..., 0]
    occ = (1.0 - g) * np.linalg.solve(np.swapaxes(M, 1, 2), np.broadcast_to(d0, v0.shape)[..., None])[..., 0]
    return q_prot, np.clip(occ, 0.0, None), v0


def _protagonist_steps(game: MarkovGame, logpi: np.ndarray, *, alpha: float, betas: np.ndarray,
                       weights: np.ndarray, d0: np.ndarray, step_size: float, n_steps: int, tol: float
                       ) -> tuple[np.ndarray, int]:
    """``n_steps`` entropy-regularised NPG steps of the protagonist against the best-responding
    adversaries at ``betas`` mixed with ``weights``, each with Armijo-style backtracking (the step
    halves until ``phi`` does not decrease; see the module docstring). Returns the new log-policy
    and the number of halvings."""

    def respond(lp: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        psi, v = soft_best_response(game, np.exp(lp), alpha=alpha, betas=betas, tol=tol)
        return float(weights @ (v @ d0)), psi, v

    phi, psi, v = respond(logpi)
    halvings = 0
    for _ in range(n_steps):
        q_prot, occ, _ = _against(game, np.exp(logpi), psi, v, d0)
        omega = weights[:, None] * occ
        mass = omega.sum(axis=0)
        omega = np.where(mass > 1e-300, omega / np.where(mass > 1e-300, mass, 1.0), weights[:, None] / weights.sum())
        direction = np.einsum("ns,nsa->sa", omega, q_prot) / alpha - logpi
        eta = step_size
        for _ in range(40):
            candidate = log_softmax(logpi + eta * direction, axis=1)
            phi_c, psi_c, v_c = respond(candidate)
            if phi_c >= phi - 1e-14 * max(1.0, abs(phi)):
                logpi, phi, psi, v = candidate, phi_c, psi_c, v_c
                break
            eta *= 0.5
            halvings += 1
        else:
            break  # no step increases phi: a stationary point to rounding
    return logpi, halvings


def _performance(game: MarkovGame, pi: np.ndarray, *, alpha: float, betas: np.ndarray, d0: np.ndarray, tol: float
                 ) -> np.ndarray:
    """``J(beta) = d0^T V_0^{pi, psi_beta}`` for each temperature (exact policy evaluation)."""
    psi, v = soft_best_response(game, pi, alpha=alpha, betas=betas, tol=tol)
    return _against(game, pi, psi, v, d0)[2] @ d0


# --------------------------------------------------------------------------------------------
# teacher updates
# --------------------------------------------------------------------------------------------


def _gamma_teacher_update(teacher: GammaTemperatureTeacher, k_old: float, perf_of: Any) -> tuple[float, str]:
    """One self-paced update of the Gamma concentration (module docstring); returns the new
    concentration and a status: ``moved``, ``moved (repaired)`` (the optimiser's point broke a
    constraint by rounding; moved back along the segment to the last feasible point),
    ``frozen`` (``E_p[J] < delta``), ``at target``, ``kept (no improvement)`` (the optimiser
    found nothing better) or ``kept (optimiser failed)`` (scipy raised and no feasible point
    toward the target was found by bisection)."""
    rate, k_t, eps, delta = teacher.rate, teacher.target_concentration, teacher.max_kl, teacher.performance_lower_bound

    def kl_step(k: float) -> float:
        return float(gamma_kl(k, rate, k_old, rate))

    def kl_target(k: float) -> float:
        return float(gamma_kl(k, rate, k_t, rate))

    def feasible(k: float) -> bool:
        return lower <= k <= upper and kl_step(k) <= eps and perf_of(k) >= delta

    if kl_target(k_old) > teacher.target_kl_threshold:
        x0 = max(k_old, teacher.concentration_lower_bound)
        lower = teacher.concentration_lower_bound
    else:
        x0, lower = k_old, 0.0
    if perf_of(x0) < delta:
        return k_old, "frozen"
    if x0 == k_t:
        return (x0, "moved") if x0 != k_old else (k_old, "at target")
    # the objective is unimodal in k with its minimum at k_t: search between x0 and the target
    # (which also keeps solver tolerances from overshooting the target)
    lower, upper = max(lower, min(x0, k_t)), max(x0, k_t)
    if feasible(k_t):  # the global minimiser of the objective is feasible: the exact solution
        return k_t, "moved"
    bounds = Bounds([lower], [upper])

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        return kl_target(x[0]), np.array([_dkl_dshape(x[0], k_t)])

    def perf_jac(x: np.ndarray) -> np.ndarray:
        dk = 1e-6 * max(1.0, x[0])
        return np.array([[(perf_of(x[0] + dk) - perf_of(max(x[0] - dk, 1e-12))) / (x[0] + dk - max(x[0] - dk, 1e-12))]])

    constraints = [
        NonlinearConstraint(lambda x: kl_step(x[0]), -np.inf, eps,
                            jac=lambda x: np.array([[_dkl_dshape(x[0], k_old)]])),
        NonlinearConstraint(lambda x: perf_of(x[0]), delta, np.inf, jac=perf_jac),
    ]
    try:
        with warnings.catch_warnings():  # trust-constr's quasi-Newton update warns on flat steps
            warnings.filterwarnings("ignore", message="delta_grad == 0.0", category=UserWarning)
            res = minimize(objective, np.array([x0]), method="trust-constr", jac=True, bounds=bounds,
                           constraints=constraints, options={"gtol": 1e-8, "xtol": 1e-10, "maxiter": 300})
        x = float(res.x[0])
    except (ValueError, np.linalg.LinAlgError):
        # trust-constr steps outside the bounds (to k < 0, where the Gamma KL is undefined, in
        # 14 of 1600 random updates): bisect along the segment toward the target instead
        x = _last_feasible(x0, k_t, feasible)
        return (x, "moved (repaired)") if x != x0 else (k_old, "kept (optimiser failed)")
    if not (math.isfinite(x) and kl_target(x) < kl_target(x0)):
        return (x0, "moved") if x0 != k_old and feasible(x0) else (k_old, "kept (no improvement)")
    if feasible(x):
        return x, "moved"
    return _last_feasible(x0, x, feasible), "moved (repaired)"


def _last_feasible(x0: float, x: float, feasible: Any) -> float:
    """Bisection for the last feasible point from ``x0`` (feasible) toward ``x`` (not), 60 halvings."""
    lo, hi = 0.0, 1.0  # fraction of the way from x0 to x
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if feasible(x0 + mid * (x - x0)):
            lo = mid
        else:
            hi = mid
    return x0 + lo * (x - x0)


def _point_teacher_update(teacher: PointTemperatureTeacher, t: float, perf: float) -> tuple[float, str]:
    if (t - teacher.target_temperature) ** 2 <= teacher.target_mse_threshold:
        return t, "at target"
    if not perf > teacher.performance_lower_bound:
        return t, "frozen"
    step = math.sqrt(teacher.max_mse)
    t_new = min(max(teacher.target_temperature, t - step), t + step)
    if teacher.temperature_lower_bound is not None:
        t_new = max(t_new, teacher.temperature_lower_bound)
    return t_new, "moved"


# --------------------------------------------------------------------------------------------
# the training loop
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, eq=False)
class QarlTrainingResult(Result):
    """Result of :func:`qarl_train`.

    Per curriculum iteration ``k = 0 .. N-1`` (arrays of length ``N``, or ``N + 1`` where the
    distribution after the last update is included):

    - ``parameters`` (N+1): the Gamma concentration, or the point / scheduled temperature;
    - ``mean_temperatures`` (N+1): ``k / rate`` or the temperature;
    - ``expected_performance`` (N): ``E_{p_k}[J]`` of the protagonist after its update, the
      quantity the teacher constrains (``J`` = unregularised return at ``d0`` against the soft
      best-responding adversary);
    - ``performance_after_update`` (N): ``E_{p_{k+1}}[J]`` for the same protagonist;
    - ``kl_step`` (N): ``KL(p_{k+1} || p_k)`` (Gamma) or ``(t_{k+1} - t_k)^2`` (point, linear);
    - ``kl_to_target`` (N+1): ``KL(p_k || mu)`` or ``(t_k - target)^2``;
    - ``status`` (N): the teacher's decision (``moved``, ``frozen``, ...);
    - ``robust_values`` (N): unregularised value at ``d0`` of the protagonist against a
      best-responding adversary (:func:`best_response_value`);
    - ``values_vs_nash_adversary`` (N): its unregularised value against the Nash adversary;
    - ``exploitability`` (N): ``nash_value - robust_values`` (``>= 0``).

    ``policy`` (S, A) is the final protagonist policy (``pi`` is its deprecated name, removed in the
    next release), ``temperature_grid`` the grid of the Gamma
    teacher (or the temperatures used), ``performance_grid`` ``J`` on that grid at the end.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import games, robust
    >>> game = games.MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)   # repeated
    >>> teacher = robust.LinearTemperatureSchedule()
    >>> res = robust.qarl_train(game, teacher, alpha=0.01, max_iter=3, n_grid=8)
    >>> type(res).__name__, res.teacher, res.policy.shape
    ('QarlTrainingResult', 'LinearTemperatureSchedule', (1, 2))
    """

    policy: np.ndarray
    teacher: str
    parameters: np.ndarray
    mean_temperatures: np.ndarray
    expected_performance: np.ndarray
    performance_after_update: np.ndarray
    kl_step: np.ndarray
    kl_to_target: np.ndarray
    status: list[str]
    robust_values: np.ndarray
    values_vs_nash_adversary: np.ndarray
    exploitability: np.ndarray
    nash_value: float
    temperature_grid: np.ndarray
    performance_grid: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    _repr_fields = ("teacher", "nash_value", "elapsed")

    pi = renamed_attribute("pi", "policy")


@renamed_arguments(n_iterations="max_iter")
def qarl_train(
    game: GamesMarkovGame,
    teacher: Teacher,
    *,
    alpha: float,
    max_iter: int,
    protagonist_steps: int = 1,
    step_size: float = 0.5,
    n_grid: int = 48,
    tol: float = 1e-10,
    progress: bool = False,
) -> QarlTrainingResult:
    r"""Train QARL's protagonist in the tabular soft game under a temperature curriculum for the
    adversary (Reddi et al. 2024, arXiv 2311.01642; the curriculum of Klink et al. 2021,
    arXiv 2102.13176). See the module docstring for the exact per-iteration update:
    adversary soft best responses at the current temperatures, ``protagonist_steps``
    entropy-regularised NPG steps of size ``step_size`` for the protagonist, exact evaluation of
    ``J(beta)``, then the teacher's update.

    Parameters
    ----------
    game : theory_rl.games.MarkovGame
        Two-player zero-sum (``MarkovGame.zero_sum``; the deprecated ``robust.MarkovGame`` too).
    teacher : GammaTemperatureTeacher, PointTemperatureTeacher or LinearTemperatureSchedule
    alpha : float
        The protagonist's (fixed) entropy temperature.
    max_iter : int
        Curriculum iterations ``N`` (all are run), ``>= 1``. Called ``n_iterations`` before 0.2.0
        (still accepted until 0.3.0, with a ``DeprecationWarning``).
    protagonist_steps : int
        NPG steps of the protagonist per iteration.
    step_size : float
        ``eta`` in ``(0, 1]``; ``1`` is soft policy iteration against the best responses.
    n_grid : int
        Grid temperatures of the Gamma teacher (log-spaced over its ``temperature_bounds``).
    tol : float
        Soft-Bellman residual at which the adversary's best responses stop.
    progress : bool
        Show a tqdm bar over the iterations.

    Returns
    -------
    QarlTrainingResult
        The final protagonist and the per-iteration trace.

    Notes
    -----
    Guarantees (tested): every accepted Gamma update satisfies ``KL(p_{k+1} || p_k) <= max_kl``
    and ``E_{p_{k+1}}[J] >= delta`` for the protagonist that triggered it; the mean temperature
    moves monotonically toward the target; a protagonist maximising
    ``phi(pi) = E_p[min_psi V^{pi,psi}_{alpha,beta}(d0)]`` has exploitability at ``d0`` at most
    ``(alpha log|A| + E_p[clip(beta)] log|B|) / (1 - gamma)`` (``V_{alpha,0} <= V_0 +
    alpha log|A| / (1 - gamma)`` and ``V_{alpha,beta} >= V_{alpha,0} - beta log|B| / (1 - gamma)``);
    at a fixed temperature the dynamics reach the QRE of :func:`soft_minimax_value_iteration`
    (not proved for Markov games; tested on random games with ``step_size = 0.25``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import games, robust
    >>> game = games.MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)   # repeated
    >>> teacher = robust.PointTemperatureTeacher(initial_temperature=0.05, target_temperature=0.001,
    ...                                          max_mse=1e-4, performance_lower_bound=-100.0)
    >>> res = robust.qarl_train(game, teacher, alpha=0.01, max_iter=5, n_grid=8)
    >>> res.mean_temperatures.round(4).tolist()
    [0.05, 0.04, 0.03, 0.02, 0.01, 0.001]
    """
    start = time.perf_counter()
    game = as_qarl_game(game)
    if not isinstance(teacher, (GammaTemperatureTeacher, PointTemperatureTeacher, LinearTemperatureSchedule)):
        raise InvalidModelError("teacher must be a GammaTemperatureTeacher, PointTemperatureTeacher or "
                                f"LinearTemperatureSchedule, got {type(teacher).__name__}")
    alpha = check_real(alpha, "alpha", low=0.0, low_open=True)
    n_iterations = check_int(max_iter, "max_iter")
    protagonist_steps = check_int(protagonist_steps, "protagonist_steps")
    step_size = check_real(step_size, "step_size", low=0.0, high=1.0, low_open=True)
    n_grid = check_int(n_grid, "n_grid", minimum=2)
    tol = check_tol(tol)
    progress = check_bool(progress, "progress")
    S, A, B = game.shape
    d0 = np.full(S, 1.0 / S) if game.d0 is None else game.d0
    nash = nash_value_iteration(game, tol=1e-10)
    nash_value = float(d0 @ nash.v)
    P_nash = np.einsum("sb,sabt->sat", nash.adversary_policy, game.P)
    R_nash = np.einsum("sb,sab->sa", nash.adversary_policy, game.R)

    is_gamma = isinstance(teacher, GammaTemperatureTeacher)
    if is_gamma:
        grid = np.geomspace(*teacher.temperature_bounds, n_grid)
        param = float(teacher.initial_concentration)
        target = float(teacher.target_concentration)

        def support(k: float) -> tuple[np.ndarray, np.ndarray]:
            w = clipped_gamma_weights(k, teacher.rate, grid)
            keep = w > 1e-12 * w.max()
            return grid[keep], w[keep] / w[keep].sum()

        def mean_of(k: float) -> float:
            return k / teacher.rate

        def distance(k: float) -> float:
            return float(gamma_kl(k, teacher.rate, target, teacher.rate))
    else:
        param = float(teacher.initial_temperature)
        target = float(teacher.target_temperature)

        def support(t: float) -> tuple[np.ndarray, np.ndarray]:
            return np.array([t]), np.ones(1)

        def mean_of(t: float) -> float:
            return t

        def distance(t: float) -> float:
            return (t - target) ** 2

    if isinstance(teacher, LinearTemperatureSchedule):
        param = teacher.temperature(0, n_iterations)

    logpi = np.full((S, A), -math.log(A))
    params, perf, perf_after, kl_steps, status, robust, vs_nash = [param], [], [], [], [], [], []
    grid_perf = np.zeros(1)
    halvings: list[int] = []
    for it in iterations(n_iterations, progress, "qarl_train"):
        k = it - 1
        betas, weights = support(param)
        logpi, halved = _protagonist_steps(game, logpi, alpha=alpha, betas=betas, weights=weights, d0=d0,
                                           step_size=step_size, n_steps=protagonist_steps, tol=tol)
        halvings.append(halved)
        pi = np.exp(logpi)
        if is_gamma:
            grid_perf = _performance(game, pi, alpha=alpha, betas=grid, d0=d0, tol=tol)

            def perf_of(c: float, values: np.ndarray = grid_perf) -> float:
                return float(clipped_gamma_weights(c, teacher.rate, grid) @ values)

            perf.append(perf_of(param))
            new, st = _gamma_teacher_update(teacher, param, perf_of)
            perf_after.append(perf_of(new))
            kl_steps.append(float(gamma_kl(new, teacher.rate, param, teacher.rate)))
        else:
            grid_perf = _performance(game, pi, alpha=alpha, betas=betas, d0=d0, tol=tol)
            perf.append(float(grid_perf[0]))
            if isinstance(teacher, PointTemperatureTeacher):
                new, st = _point_teacher_update(teacher, param, perf[-1])
            else:
                new, st = teacher.temperature(k + 1, n_iterations), "scheduled"
            perf_after.append(float(_performance(game, pi, alpha=alpha, betas=np.array([new]), d0=d0, tol=tol)[0])
                              if new != param else perf[-1])
            kl_steps.append((new - param) ** 2)
        status.append(st)
        param = new
        params.append(param)
        robust.append(float(d0 @ best_response_value(game, pi)))
        v_nash_adv = np.linalg.solve(np.eye(S) - game.gamma * np.einsum("sa,sat->st", pi, P_nash),
                                     np.einsum("sa,sa->s", pi, R_nash))
        vs_nash.append(float(d0 @ v_nash_adv))
    params_arr = np.array(params)
    robust_arr = np.array(robust)
    name = type(teacher).__name__
    return QarlTrainingResult(
        policy=np.exp(logpi), teacher=name, parameters=params_arr,
        mean_temperatures=np.array([mean_of(p) for p in params]),
        expected_performance=np.array(perf), performance_after_update=np.array(perf_after),
        kl_step=np.array(kl_steps), kl_to_target=np.array([distance(p) for p in params]), status=status,
        robust_values=robust_arr, values_vs_nash_adversary=np.array(vs_nash),
        exploitability=nash_value - robust_arr, nash_value=nash_value,
        temperature_grid=grid if is_gamma else np.array([param]), performance_grid=grid_perf,
        method="qarl_train",
        params={"teacher": {"name": name, **teacher.__dict__}, "alpha": alpha, "max_iter": n_iterations,
                "protagonist_steps": protagonist_steps, "step_size": step_size, "n_grid": n_grid, "tol": tol},
        elapsed=time.perf_counter() - start, info={"step_halvings": np.array(halvings)})
