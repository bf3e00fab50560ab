r"""Synchronous Q-learning and variance-reduced Q-learning with a generative model.

At iteration ``t`` every pair ``(s, a)`` receives one fresh next state ``s'_t(s, a)`` and the
*empirical Bellman operator*

.. math::
    (\hat T_t Q)(s, a) = R(s, a) + \gamma \max_{a'} Q(s'_t(s, a), a')

is applied to all pairs at once (one gather over the ``(S, A)`` table; no loop over states).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np

from .._deprecation import renamed_arguments
from .._iterative import Timer, progress_bar
from .._validation import as_float_array, check_bool, check_choice, check_int, check_real, rng_from_seed
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ._result import LearningResult
from ._sampling import TransitionSampler, check_learnable

__all__ = ["q_learning", "step_size_schedule", "variance_reduced_q_learning"]

_BLOCK_ENTRIES = 1 << 21  # next states drawn per block (S * A * block steps)


def step_size_schedule(step_size: str | float, gamma: float, *, exponent: float = 0.8,
                       scale: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    r"""The learning-rate schedule ``eta_t`` (``t = 1, 2, ...``) of synchronous Q-learning.

    - ``"rescaled_linear"``: :math:`\eta_t = 1 / (1 + c (1-\gamma) t)` with ``c = scale``. Li, Cai,
      Chen, Wei & Chi (2021, arXiv:2102.06548, Thm 1) take ``c = c_2 / log^2 T`` with an
      unspecified constant ``c_2``; ``scale`` stands for that factor (default 1).
    - ``"polynomial"``: :math:`\eta_t = t^{-\omega}`, ``omega = exponent`` in ``(1/2, 1]`` (Even-Dar &
      Mansour 2003, JMLR 5:1-25, Thm 2/4).
    - ``"linear"``: :math:`\eta_t = 1/t` (Watkins' averaging; ``omega = 1``, known to need
      time exponential in ``1/(1-gamma)``; Even-Dar & Mansour 2003, Thm 5).
    - a float ``eta`` in ``(0, 1]``: constant step size (Li et al. 2021, Thm 1, second part).

    Raises
    ------
    InvalidArgumentError
        Naming the option when ``step_size`` is neither a schedule name nor a float in ``(0, 1]``,
        or ``gamma``, ``exponent`` or ``scale`` is out of range.
    """
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    if isinstance(step_size, numbers.Real) and not isinstance(step_size, (bool, np.bool_)):
        eta = check_real(step_size, "step_size", low=0.0, high=1.0, low_open=True)
        return lambda t: np.full(np.shape(t), eta)
    check_choice(step_size, "step_size", ("rescaled_linear", "polynomial", "linear"))
    if step_size == "rescaled_linear":
        scale = check_real(scale, "scale", low=0.0, low_open=True)
        return lambda t: 1.0 / (1.0 + scale * (1.0 - gamma) * np.asarray(t, dtype=float))
    if step_size == "polynomial":
        exponent = check_real(exponent, "exponent", low=0.5, high=1.0, low_open=True)
        return lambda t: np.asarray(t, dtype=float) ** (-exponent)
    return lambda t: 1.0 / np.asarray(t, dtype=float)


def _empirical_backup(q: np.ndarray, R: np.ndarray, gamma: float, next_states: np.ndarray) -> np.ndarray:
    """``R + gamma * max_a' q[s', a']`` for one sampled ``s'`` per pair (shape (S, A))."""
    return R + gamma * q.max(axis=1)[next_states]


def _check_q(mdp: FiniteMDP, q: np.ndarray | None, name: str) -> np.ndarray | None:
    if q is None:
        return None
    arr = as_float_array(q, name)
    if arr.shape != (mdp.n_states, mdp.n_actions):
        raise InvalidModelError(f"{name} must have shape ({mdp.n_states}, {mdp.n_actions}), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidModelError(f"{name} has non-finite entries")
    return arr


def _start(mdp: FiniteMDP, q0: np.ndarray | None) -> tuple[TransitionSampler, np.ndarray, np.ndarray]:
    """The generative sampler, ``R`` as float ``(S, A)`` and the initial table (``q0`` copied, or zeros)."""
    q = np.zeros((mdp.n_states, mdp.n_actions)) if q0 is None else _check_q(mdp, q0, "q0").copy()
    return TransitionSampler(mdp), np.asarray(mdp.R, dtype=float), q


@renamed_arguments(n_iter="max_iter", positional=("max_iter",))
def q_learning(
    mdp: FiniteMDP,
    *,
    max_iter: int,
    step_size: str | float = "rescaled_linear",
    exponent: float = 0.8,
    scale: float = 1.0,
    q0: np.ndarray | None = None,
    q_star: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
    progress: bool = False,
) -> LearningResult:
    r"""Synchronous Q-learning with a generative model.

    .. math::
        Q_t = (1 - \eta_t)\, Q_{t-1} + \eta_t\, \hat T_t(Q_{t-1}), \qquad t = 1, \dots, T,

    every pair updated at every iteration with its own fresh sample (:func:`step_size_schedule`
    lists the schedules). ``Q_0 = 0`` unless ``q0`` is given.

    Guarantee (Li, Cai, Chen, Wei & Chi 2021, "Is Q-learning minimax optimal? A tight sample
    complexity analysis", arXiv:2102.06548, Thm 1): with rescaled-linear or suitable constant
    step sizes and rewards in ``[0, 1]``, ``||Q_T - Q*||_inf <= eps`` with probability
    ``1 - delta`` once ``T >~ log^4(T) log(SAT/delta) / ((1-gamma)^4 eps^2)`` iterations (``T`` samples
    per pair), for ``eps in (0, 1]``; their Thm 2 shows the ``(1-gamma)^{-4}`` is sharp for
    Q-learning. With polynomial steps ``t^{-omega}`` the bound of Even-Dar & Mansour (2003, Thm 2)
    is polynomial in ``1/(1-gamma)``; with ``1/t`` it is exponential.

    Parameters
    ----------
    mdp : FiniteMDP
    max_iter : int
        Iterations ``T`` (= samples per pair), ``>= 1``; all of them are run. (Formerly ``n_iter``,
        accepted by position; both still work until 0.3.0 with a ``DeprecationWarning``.)
    step_size : {"rescaled_linear", "polynomial", "linear"} or float
    exponent : float
        ``omega`` of the polynomial schedule.
    scale : float
        ``c`` of the rescaled-linear schedule.
    q0, q_star : ndarray, shape (S, A), optional
        Initial table; true optimal Q (records ``trace["error"][t] = ||Q_t - Q*||_inf``).
    seed : int or numpy.random.Generator, optional
    progress : bool
        Show a tqdm bar over the iterations on stderr.

    Returns
    -------
    LearningResult
        ``trace["step"] = 1..T``, ``trace["samples"]`` (per pair, = step), ``trace["error"]`` when
        ``q_star`` is given, ``trace["step_size"]`` the ``eta_t`` used.
    """
    check_learnable(mdp)
    T = check_int(max_iter, "max_iter", minimum=1)
    progress = check_bool(progress, "progress")
    rng = rng_from_seed(seed)
    schedule = step_size_schedule(step_size, mdp.gamma, exponent=exponent, scale=scale)
    q_star = _check_q(mdp, q_star, "q_star")
    with Timer() as timer:
        sampler, R, q = _start(mdp, q0)
        S, A = mdp.n_states, mdp.n_actions
        steps = np.arange(1, T + 1)
        etas = schedule(steps)
        errors = np.empty(T) if q_star is not None else None
        block = max(1, min(T, _BLOCK_ENTRIES // (S * A)))
        with progress_bar(progress, total=T, desc="q_learning") as bar:
            for start in range(0, T, block):
                next_states = sampler.draw(min(block, T - start), rng)
                for j in range(next_states.shape[2]):
                    t = start + j
                    target = _empirical_backup(q, R, mdp.gamma, next_states[:, :, j])
                    q += etas[t] * (target - q)
                    if errors is not None:
                        errors[t] = np.max(np.abs(q - q_star))
                bar.update(next_states.shape[2])
    trace = {"step": steps, "samples": steps.copy(), "step_size": etas}
    if errors is not None:
        trace["error"] = errors
    name = step_size if isinstance(step_size, str) else f"constant({float(step_size):g})"
    return LearningResult(
        q=q, policy=np.asarray(q.argmax(axis=1), dtype=np.int64), history=trace, method="q_learning",
        params={"max_iter": T, "step_size": name, "exponent": exponent, "scale": scale},
        n_samples=T * S * A, elapsed=timer.elapsed)


def variance_reduced_q_learning(
    mdp: FiniteMDP,
    *,
    n_epochs: int,
    epoch_length: int | None = None,
    recentering_samples: int | None = None,
    growth: float = 4.0,
    q0: np.ndarray | None = None,
    q_star: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
) -> LearningResult:
    r"""Variance-reduced Q-learning (Wainwright 2019, arXiv:1906.04697, Algorithm in Sec. 3).

    Epoch ``m = 1..M`` starts from a reference table ``Qbar_m`` (the previous epoch's output) and
    a Monte-Carlo estimate of its Bellman image from ``N_m`` fresh samples per pair,

    .. math::
        \tilde T_{N_m}(\bar Q_m) = \frac1{N_m} \sum_{i=1}^{N_m} \hat T_i(\bar Q_m),

    then runs ``K`` recentred Q-learning steps, the same sample in both empirical operators:

    .. math::
        Q_{k+1} = (1-\lambda_k) Q_k + \lambda_k \big[\hat T_k(Q_k) - \hat T_k(\bar Q_m)
                  + \tilde T_{N_m}(\bar Q_m)\big], \qquad \lambda_k = \frac{1}{1 + (1-\gamma) k}.

    Guarantee (Wainwright 2019, Thm 2): with ``K ~ log(...) / (1-gamma)^3``,
    ``N_m ~ 4^m log(...) / (1-gamma)^2`` and ``M ~ log(1/(eps(1-gamma)))`` epochs, the output is
    ``eps``-accurate in sup norm with probability ``1 - delta`` after
    ``O(log(1/eps(1-gamma)) log(SA/delta) / ((1-gamma)^3 eps^2))`` samples per pair: the minimax
    rate, one power of ``1/(1-gamma)`` better than plain Q-learning. The paper's constants in
    ``K`` and ``N_m`` are not explicit; the defaults here drop them and the logs:
    ``K = ceil(1/(1-gamma)^3)`` capped at 10**5, ``N_m = ceil(growth^m / (1-gamma)^2)``.

    Parameters
    ----------
    mdp : FiniteMDP
    n_epochs : int
        ``M``.
    epoch_length : int, optional
        ``K``, inner steps per epoch.
    recentering_samples : int, optional
        ``N_1``; epoch ``m`` uses ``ceil(N_1 * growth^(m-1))``.
    growth : float
        Geometric growth of the recentering batch (the paper's 4).
    q0, q_star : ndarray, shape (S, A), optional
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    LearningResult
        ``trace`` per inner step: ``step``, ``samples`` (per pair, recentering samples included),
        ``epoch``, and ``error`` when ``q_star`` is given.
    """
    check_learnable(mdp)
    M = check_int(n_epochs, "n_epochs", minimum=1)
    gamma = mdp.gamma
    growth = check_real(growth, "growth", low=1.0)
    K = (min(10**5, math.ceil(1.0 / (1.0 - gamma) ** 3)) if epoch_length is None
         else check_int(epoch_length, "epoch_length", minimum=1))
    N1 = (math.ceil(growth / (1.0 - gamma) ** 2) if recentering_samples is None
          else check_int(recentering_samples, "recentering_samples", minimum=1))
    rng = rng_from_seed(seed)
    q_star = _check_q(mdp, q_star, "q_star")
    with Timer() as timer:
        sampler, R, q = _start(mdp, q0)
        S, A = mdp.n_states, mdp.n_actions
        lambdas = 1.0 / (1.0 + (1.0 - gamma) * np.arange(1, K + 1))
        n_steps = M * K
        samples = np.empty(n_steps, dtype=np.int64)
        epochs = np.repeat(np.arange(1, M + 1), K)
        errors = np.empty(n_steps) if q_star is not None else None
        used = 0
        block = max(1, min(K, _BLOCK_ENTRIES // (S * A)))
        for m in range(M):
            q_bar = q.copy()
            v_bar = q_bar.max(axis=1)
            N_m = math.ceil(N1 * growth**m)
            # Monte-Carlo estimate of T(q_bar): the mean of v_bar over N_m fresh next states, in blocks
            acc = np.zeros((S, A))
            for start in range(0, N_m, block):
                acc += v_bar[sampler.draw(min(block, N_m - start), rng)].sum(axis=2)
            t_bar = R + gamma * acc / N_m
            used += N_m
            for start in range(0, K, block):
                next_states = sampler.draw(min(block, K - start), rng)
                for j in range(next_states.shape[2]):
                    k = start + j
                    s_next = next_states[:, :, j]
                    target = gamma * (q.max(axis=1)[s_next] - v_bar[s_next]) + t_bar
                    q += lambdas[k] * (target - q)
                    used += 1
                    idx = m * K + k
                    samples[idx] = used
                    if errors is not None:
                        errors[idx] = np.max(np.abs(q - q_star))
    trace = {"step": np.arange(1, n_steps + 1), "samples": samples, "epoch": epochs}
    if errors is not None:
        trace["error"] = errors
    return LearningResult(
        q=q, policy=np.asarray(q.argmax(axis=1), dtype=np.int64), history=trace,
        method="variance_reduced_q_learning",
        params={"n_epochs": M, "epoch_length": K, "recentering_samples": N1, "growth": growth},
        n_samples=int(used) * S * A, elapsed=timer.elapsed)
