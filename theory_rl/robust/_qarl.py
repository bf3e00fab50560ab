r"""QARL as a tabular soft game: entropy-regularised zero-sum Markov games, the logit quantal
response equilibrium, and a temperature curriculum (Reddi, Tölle, Peters, Chalvatzaki &
D'Eramo 2024, "Robust adversarial reinforcement learning via bounded rationality curricula",
ICLR, arXiv 2311.01642).

Game: protagonist ``pi(a|s)`` maximises, adversary ``psi(b|s)`` minimises, kernel
``P[s, a, b, s']`` and reward ``R[s, a, b]``. QARL regularises both players with entropy,
temperatures ``alpha`` (protagonist) and ``beta`` (adversary):

.. math::
    V(s) = \max_{p \in \Delta(A)} \min_{q \in \Delta(B)} p^\top Q(s) q + \alpha H(p) - \beta H(q), \qquad
    Q(s, a, b) = R(s, a, b) + \gamma \sum_{s'} P(s' | s, a, b) V(s').

The stage game is strongly concave-convex; its unique saddle point is the logit quantal
response equilibrium (McKelvey & Palfrey 1995): ``p ∝ exp(Q q / alpha)``,
``q ∝ exp(-Q^T p / beta)``. As ``alpha, beta -> 0`` the value tends to the Shapley (Nash)
value, and ``V_Nash - beta log|B|/(1-gamma) <= V_{alpha,beta} <= V_Nash + alpha log|A|/(1-gamma)``.

What is implemented of the paper: the regularised game and its exact tabular solution, the
QRE, the *linear* temperature schedule of the paper's code baseline with an exact solve per
stage (:func:`qarl_curriculum`, adversary temperature from high to low over the first 2/3 of
the stages), and, in :mod:`._qarl_curriculum`, the self-paced curriculum (a Gamma distribution
over ``beta`` moved under a KL trust region and a performance constraint, or a point
temperature) with a learning protagonist (:func:`qarl_train`). Not implemented: the SAC players
and the auto-tuned protagonist temperature of the deep version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._deprecation import renamed_attribute, warn_deprecated
from .._iterative import finish_iterative, iteration_cap, span_certified
from .._result import History, Result, ValueSolution
from .._validation import (
    as_float_array,
    check_bool,
    check_distribution,
    check_finite,
    check_gamma,
    check_int,
    check_max_iter,
    check_probability_rows,
    check_real,
    check_tol,
)
from ..errors import InvalidModelError
from ..games import MarkovGame as GamesMarkovGame
from ..games import qre_stage, solve_stage_games
from ..models import FiniteMDP
from ..tabular import value_iteration
from ._sets import RobustMDP, SARectFinite

__all__ = [
    "GameSolution",
    "QarlResult",
    "soft_minimax_value_iteration",
    "nash_value_iteration",
    "best_response_value",
    "qarl_curriculum",
    "markov_game_from_robust",
]


@dataclass(frozen=True, eq=False, repr=False)
class MarkovGame:
    r"""Deprecated: a finite two-player zero-sum discounted Markov game; use
    :meth:`theory_rl.games.MarkovGame.zero_sum` (same arguments), which every QARL solver accepts.
    Constructing this class warns (:class:`DeprecationWarning`); it is removed in the next release.

    Parameters
    ----------
    P : array_like, shape (S, A, B, S)
        ``P[s, a, b, s']``; rows sum to 1.
    R : array_like, shape (S, A, B)
        Reward to the protagonist (the maximiser).
    gamma : float
    d0 : array_like, shape (S,), optional

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from theory_rl import robust
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     game = robust.MarkovGame(np.ones((1, 2, 2, 1)), [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)
    >>> game.to_markov_game().R.shape                     # the games.MarkovGame: R[player, s, a, b]
    (2, 1, 2, 2)
    """

    P: np.ndarray
    R: np.ndarray
    gamma: float
    d0: np.ndarray | None = None

    def __post_init__(self) -> None:
        warn_deprecated("theory_rl.robust.MarkovGame", "theory_rl.games.MarkovGame.zero_sum", stacklevel=3)
        self._validate()

    def _validate(self) -> None:
        R = as_float_array(self.R, "R", ndim=3)
        check_finite(R, "R")
        S, A, B = R.shape
        P = as_float_array(self.P, "P", ndim=4)
        if P.shape != (S, A, B, S):
            raise InvalidModelError(f"P has shape {P.shape}, expected (S, A, B, S) = ({S}, {A}, {B}, {S})")
        check_probability_rows(P.reshape(-1, S), "P", atol=1e-8, row_shape=(S, A, B))
        gamma = check_gamma(self.gamma)
        d0 = None if self.d0 is None else check_distribution(self.d0, "d0", S)
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "d0", d0)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(S, A, B)``."""
        return self.R.shape  # type: ignore[return-value]

    def q(self, v: np.ndarray) -> np.ndarray:
        """``Q[s, a, b] = R[s, a, b] + gamma * P[s, a, b, :] @ v``."""
        return self.R + self.gamma * self.P @ v

    def to_markov_game(self) -> GamesMarkovGame:
        """The same game as a :class:`theory_rl.games.MarkovGame` (``R[0] = R``, ``R[1] = -R``)."""
        return GamesMarkovGame.zero_sum(self.P, self.R, self.gamma, self.d0)

    def __repr__(self) -> str:
        S, A, B = self.shape
        return f"MarkovGame(S={S}, A={A}, B={B}, gamma={self.gamma:g})"


def as_qarl_game(game: Any) -> MarkovGame:
    """The arrays QARL's solvers read (``P[s, a, b, s']``, ``R[s, a, b]``) from a two-player
    zero-sum :class:`theory_rl.games.MarkovGame` (or the deprecated :class:`MarkovGame`), without
    a deprecation warning."""
    if isinstance(game, MarkovGame):
        return game
    if not isinstance(game, GamesMarkovGame):
        raise InvalidModelError(f"game must be a theory_rl.games.MarkovGame, got {type(game).__name__}")
    if not game.is_zero_sum:
        raise InvalidModelError(f"game must be a two-player zero-sum MarkovGame (R[1] == -R[0]), got {game!r}")
    view = object.__new__(MarkovGame)
    for name, value in (("P", game.dense_kernel()), ("R", game.R[0]), ("gamma", game.gamma), ("d0", game.d0)):
        object.__setattr__(view, name, value)
    view._validate()
    return view


@dataclass(frozen=True, repr=False, eq=False)
class GameSolution(ValueSolution):
    """Result of :func:`soft_minimax_value_iteration` / :func:`nash_value_iteration`: the shared
    block of :class:`theory_rl._result.ValueSolution` (keyword-only fields) for a zero-sum game.

    ``v`` (S,), ``q`` (S, A, B), ``policy`` (S, A) the protagonist's, ``adversary_policy`` (S, B),
    ``lower``/``upper`` certified bounds on the (regularised) game value, ``bound`` their
    half-width, plus the usual ``converged``, ``n_iter``, ``residual``, ``history`` (per-iteration
    residuals), ``method``, ``params``, ``elapsed``. ``pi`` and ``psi`` are the deprecated names of
    ``policy`` and ``adversary_policy`` (removed in the next release).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import games, robust
    >>> game = games.MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)   # repeated
    >>> sol = robust.soft_minimax_value_iteration(game, alpha=0.1, beta=0.1, tol=1e-10)
    >>> type(sol).__name__, sol.converged, sol.adversary_policy.shape
    ('GameSolution', True, (1, 2))
    """

    adversary_policy: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    pi = renamed_attribute("pi", "policy")
    psi = renamed_attribute("psi", "adversary_policy")


def matrix_game_lp(Q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Deprecated: use :func:`theory_rl.games.solve_stage_games` (this wrapper warns and calls it,
    reshaping ``Q`` of shape ``(..., A, B)`` to ``(n, A, B)``; removed in the next release).

    Nash equilibria of the zero-sum matrix games ``max_p min_q p^T Q q`` (von Neumann 1928), all
    stage games in one block-diagonal HiGHS LP:

    .. math::
        \max_{p_s \in \Delta(A), v_s} \sum_s v_s \quad \text{s.t.} \quad v_s \le (Q_s^\top p_s)_b \;\; \forall s, b,

    the adversary's equilibrium strategy read from the duals of the ``v_s <= (Q^T p)_b`` rows.

    Parameters
    ----------
    Q : ndarray, shape (..., A, B)

    Returns
    -------
    p : (..., A), q : (..., B), value : (...)

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from theory_rl import robust
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     p, q, v = robust.matrix_game_lp(np.array([[[2.0, -1.0], [-1.0, 1.0]]]))
    >>> p.round(6).tolist(), q.round(6).tolist(), v.round(9).tolist()
    ([[0.4, 0.6]], [[0.4, 0.6]], [0.2])
    """
    warn_deprecated("theory_rl.robust.matrix_game_lp", "theory_rl.games.solve_stage_games")
    Q = as_float_array(Q, "Q")
    if Q.ndim < 2 or Q.shape[-1] == 0 or Q.shape[-2] == 0:
        raise InvalidModelError(f"Q has shape {Q.shape}, expected (..., A, B) with A, B >= 1 (payoffs Q[..., a, b])")
    batch = Q.shape[:-2]
    A, B = Q.shape[-2:]
    p, q, v = solve_stage_games(Q.reshape(-1, A, B))
    return p.reshape(*batch, A), q.reshape(*batch, B), v.reshape(batch)


def _game_vi(game: MarkovGame, stage: Any, *, tol: float, max_iter: int | None, v0: np.ndarray | None,
             strict: bool, method: str, params: dict[str, Any]) -> GameSolution:
    import time

    start = time.perf_counter()
    game = as_qarl_game(game)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    strict = check_bool(strict, "strict")
    S = game.shape[0]
    gamma = game.gamma
    c = gamma / (1.0 - gamma)
    v = np.zeros(S) if v0 is None else as_float_array(v0, "v0").copy()
    if v.shape != (S,):
        raise InvalidModelError(f"v0 has shape {v.shape}, expected ({S},)")
    check_finite(v, "v0")
    state: dict[str, Any] = {}
    Q = game.q(v)
    p, q, tv = stage(Q, state)
    d = tv - v
    history = [float(np.abs(d).max())]
    cap = max_iter if max_iter is not None else iteration_cap(gamma, tol, history[0])
    converged = False
    n = 0
    for n in range(1, cap + 1):
        converged = span_certified(d, gamma, tol)
        if converged or n >= cap:
            break
        v = tv
        Q = game.q(v)
        p, q, tv = stage(Q, state)
        d = tv - v
        history.append(float(np.abs(d).max()))
    finish_iterative(method=method, converged=converged, strict=strict, n_iter=n, cap=cap, tol=tol)
    lower, upper = tv + c * d.min(), tv + c * d.max()
    return GameSolution(v=0.5 * (lower + upper), q=Q, policy=p, adversary_policy=q, lower=lower, upper=upper, converged=converged,
                        n_iter=n, residual=history[-1], bound=float(0.5 * np.max(upper - lower)),
                        history=np.asarray(history), method=method, params=params,
                        elapsed=time.perf_counter() - start)


def soft_minimax_value_iteration(
    game: GamesMarkovGame,
    *,
    alpha: float,
    beta: float,
    tol: float = 1e-8,
    max_iter: int | None = None,
    v0: np.ndarray | None = None,
    strict: bool = False,
) -> GameSolution:
    r"""Soft minimax value iteration ``V_{k+1}(s) = SoftMinimax_{alpha,beta}(Q_k(s))`` (QARL's
    regularised game, Reddi et al. 2024, arXiv 2311.01642, solved exactly in the tabular case).

    The operator is monotone, commutes with constants and is a ``gamma``-contraction (the
    regularised saddle value is 1-Lipschitz in ``Q``), so it stops with MacQueen bounds of width
    ``tol``. Stage games are solved by :func:`theory_rl.games.qre_stage`, warm-started from the previous
    iteration's logits. ``pi`` and ``psi`` are the QRE strategies at the last backup.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import games, robust
    >>> game = games.MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)   # repeated
    >>> sol = robust.soft_minimax_value_iteration(game, alpha=1e-6, beta=1e-6, tol=1e-10)
    >>> round(float(sol.v[0]), 3)                 # tiny temperatures: close to the Nash value 2.0
    2.0
    """
    # zero temperatures are the unregularised game: nash_value_iteration
    alpha = check_real(alpha, "alpha", low=0.0, low_open=True)
    beta = check_real(beta, "beta", low=0.0, low_open=True)

    def stage(Q: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p, q, val = qre_stage(Q, alpha, beta, init=state.get("init"))
        state["init"] = (np.log(np.maximum(p, 1e-300)), np.log(np.maximum(q, 1e-300)))
        return p, q, val

    return _game_vi(game, stage, tol=tol, max_iter=max_iter, v0=v0, strict=strict,
                    method="soft_minimax_value_iteration", params={"alpha": alpha, "beta": beta, "tol": tol})


def nash_value_iteration(
    game: GamesMarkovGame, *, tol: float = 1e-8, max_iter: int | None = None, v0: np.ndarray | None = None,
    strict: bool = False,
) -> GameSolution:
    r"""Shapley's value iteration (Shapley 1953), ``V_{k+1}(s) = val(Q_k(s))`` with the matrix-game
    value from one LP per iteration (:func:`theory_rl.games.solve_stage_games`): the exact reference for the
    unregularised game. Certified with MacQueen bounds (``val`` is monotone, commutes with
    constants and is 1-Lipschitz).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import games, robust
    >>> game = games.MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)   # repeated
    >>> sol = robust.nash_value_iteration(game, tol=1e-10)
    >>> round(float(sol.v[0]), 6), sol.policy.round(6).tolist()     # stage value 1/5, so v* = 0.2 / 0.1
    (2.0, [[0.4, 0.6]])
    """

    def stage(Q: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return solve_stage_games(Q)

    return _game_vi(game, stage, tol=tol, max_iter=max_iter, v0=v0, strict=strict, method="nash_value_iteration",
                    params={"tol": tol})


def best_response_value(game: GamesMarkovGame, pi: np.ndarray, *, tol: float = 1e-10) -> np.ndarray:
    r"""Unregularised value of the protagonist's stationary policy ``pi[s, a]`` against a
    best-responding adversary, ``min_psi V^{pi, psi}``: an MDP for the adversary with reward
    ``sum_a pi(a|s) R[s, a, b]``, solved by value iteration (as a maximisation of the negated
    reward). ``V_Nash - best_response_value(pi)`` is the exploitability of ``pi`` (``>= 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import games, robust
    >>> game = games.MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)   # repeated
    >>> v = robust.best_response_value(game, np.array([[0.4, 0.6]]))   # the maximin strategy
    >>> np.round(v, 6).tolist()
    [2.0]
    """
    game = as_qarl_game(game)
    S, A, _ = game.shape
    tol = check_tol(tol)
    pi = as_float_array(pi, "pi")
    if pi.shape != (S, A):
        raise InvalidModelError(f"pi has shape {pi.shape}, expected ({S}, {A}) (probabilities pi[s, a])")
    check_probability_rows(pi, "pi", atol=1e-9, row_shape=(S,))
    P_b = np.einsum("sa,sabt->sbt", pi, game.P)
    R_b = np.einsum("sa,sab->sb", pi, game.R)
    sol = value_iteration(FiniteMDP(P_b, -R_b, game.gamma), tol=tol)
    return -sol.v


@dataclass(frozen=True, repr=False, eq=False)
class QarlResult(Result):
    """Result of :func:`qarl_curriculum`: the final stage's ``solution``, and per stage the
    adversary temperature ``betas``, the regularised value at ``d0`` (``values``), the
    protagonist's unregularised worst-case value at ``d0`` against a best-responding adversary
    (``robust_values``) and its ``exploitability`` w.r.t. the Nash value.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import games, robust
    >>> game = games.MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)   # repeated
    >>> res = robust.qarl_curriculum(game, alpha=0.01, n_stages=4)
    >>> type(res).__name__, res.betas.round(4).tolist(), round(res.nash_value, 6)
    ('QarlResult', [0.05, 0.0255, 0.001, 0.001], 2.0)
    """

    solution: GameSolution
    betas: np.ndarray
    values: np.ndarray
    robust_values: np.ndarray
    exploitability: np.ndarray
    nash_value: float

    _repr_fields = ("method", "nash_value", "elapsed")

    @property
    def history(self) -> History:
        """The per-stage arrays as one :class:`~theory_rl._result.History` table (``beta``,
        ``value``, ``robust_value``, ``exploitability``)."""
        return History({"beta": self.betas, "value": self.values, "robust_value": self.robust_values,
                        "exploitability": self.exploitability})


def qarl_curriculum(
    game: GamesMarkovGame,
    *,
    alpha: float,
    beta_start: float = 0.05,
    beta_end: float = 0.001,
    n_stages: int = 30,
    tol: float = 1e-8,
) -> QarlResult:
    r"""QARL's temperature curriculum, tabular: the adversary's temperature ``beta`` falls
    linearly from ``beta_start`` to ``beta_end`` over the first 2/3 of ``n_stages`` and then
    stays at ``beta_end`` (the linear-schedule baseline of the paper's code, defaults 0.05 ->
    0.001); each stage solves the soft game exactly (:func:`soft_minimax_value_iteration`),
    warm-started from the previous stage's values. The protagonist's temperature ``alpha`` is
    fixed (the paper auto-tunes it with SAC). Reports, per stage, how robust the protagonist's
    QRE policy is against a fully rational adversary (:func:`best_response_value`).

    A bounded-rationality adversary (high ``beta``) plays nearly uniformly; lowering ``beta``
    makes it rational, which is the curriculum's point. The regularised value itself *rises* as
    ``beta`` falls (the adversary's entropy term ``-beta H(q)`` is a bonus to the minimiser);
    what the curriculum is judged by is ``robust_values`` and ``exploitability``, which tends to
    ``O(alpha)`` as ``beta -> 0``.

    Because every stage is solved exactly, the path of temperatures does not change the final
    answer here; :func:`qarl_train` is the curriculum with a protagonist that learns step by
    step, where it does.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import games, robust
    >>> game = games.MarkovGame.zero_sum(np.ones((1, 2, 2, 1)), [[[2.0, -1.0], [-1.0, 1.0]]], 0.9)   # repeated
    >>> res = robust.qarl_curriculum(game, alpha=0.01, n_stages=6)
    >>> float(res.betas[0]), round(float(res.betas[-1]), 6), bool(res.exploitability[-1] <= res.exploitability[0])
    (0.05, 0.001, True)
    """
    import time

    n_stages = check_int(n_stages, "n_stages", minimum=1)
    alpha = check_real(alpha, "alpha", low=0.0, low_open=True)
    beta_end = check_real(beta_end, "beta_end", low=0.0, low_open=True)
    beta_start = check_real(beta_start, "beta_start", low=beta_end)
    tol = check_tol(tol)
    start = time.perf_counter()
    game = as_qarl_game(game)
    S = game.shape[0]
    d0 = np.full(S, 1.0 / S) if game.d0 is None else game.d0
    n_fall = max(1, math.ceil(2 * n_stages / 3))
    betas = np.array([beta_start + (beta_end - beta_start) * min(1.0, k / max(1, n_fall - 1)) if n_fall > 1 else
                      beta_end for k in range(n_stages)])
    nash = nash_value_iteration(game, tol=tol)
    v = None
    values, robust, exploit = [], [], []
    sol = None
    for beta in betas:
        sol = soft_minimax_value_iteration(game, alpha=alpha, beta=float(beta), tol=tol, v0=v)
        v = sol.v
        br = best_response_value(game, sol.policy)
        values.append(float(d0 @ sol.v))
        robust.append(float(d0 @ br))
        exploit.append(float(d0 @ (nash.v - br)))
    assert sol is not None
    return QarlResult(solution=sol, betas=betas, values=np.array(values), robust_values=np.array(robust),
                      exploitability=np.array(exploit), nash_value=float(d0 @ nash.v), method="qarl_curriculum",
                      params={"alpha": alpha, "beta_start": beta_start, "beta_end": beta_end, "n_stages": n_stages},
                      elapsed=time.perf_counter() - start)


def markov_game_from_robust(rmdp: RobustMDP) -> GamesMarkovGame:
    r"""The Markov game in which the adversary picks one of the ``K`` candidate rows of an
    :class:`SARectFinite` set, ``P[s, a, b, :] = candidates[s, a, b, :]``, *simultaneously*
    with the protagonist (QARL's adversary perturbs the transition). Because the adversary does
    not see ``a``, the game's Nash value is at least the sa-rectangular robust value (where
    nature moves after ``a``).

    Examples
    --------
    >>> from theory_rl import envs, robust
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> import numpy as np
    >>> C = np.stack([np.asarray(mdp.P), np.asarray(envs.random_mdp(3, 2, seed=1).P)], axis=2)
    >>> game = robust.markov_game_from_robust(robust.RobustMDP(mdp, robust.SARectFinite(C)))
    >>> game.P.shape                                       # (S, A, B = K candidates, S)
    (3, 2, 2, 3)
    """
    U = rmdp.uncertainty
    if not isinstance(U, SARectFinite):
        raise InvalidModelError(f"markov_game_from_robust needs an SARectFinite set, got {type(U).__name__}")
    if rmdp.nature != "adversarial" or rmdp.nominal.action_mask is not None:
        raise InvalidModelError("markov_game_from_robust needs an adversarial RobustMDP without action masks")
    C = U.rows(rmdp.nominal)
    K = C.shape[2]
    R = np.repeat(np.asarray(rmdp.nominal.R)[:, :, None], K, axis=2)
    return GamesMarkovGame.zero_sum(C, R, rmdp.gamma, d0=rmdp.nominal.d0)
