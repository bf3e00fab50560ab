r"""Deep IWOCS (Zouitine, Geist & Rachelson 2024, arXiv 2410.06212): robust control by a sequence
of static RL problems, with neural critics, CMA-ES worst-case search over a parameter box, and
the RRLS worst-case-over-a-grid evaluation.

The uncertainty set is a :class:`theory_rl.robust.ParametricSet` whose ``builder`` returns an
environment for ``theta`` (see :func:`gym_parametric_set`); the search is
:func:`theory_rl.robust.worst_case_theta`, the same routine the tabular
:func:`theory_rl.robust.iwocs` uses for parametric sets, so that with an exact static learner and
an exact evaluator this loop *is* the tabular ``iwocs(inner="minQ")`` (tested).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._iterative import Timer, progress_range
from .._result import LegacyKeysMixin, Result, TraceHistoryMixin
from .._torch import require_torch
from .._validation import check_bool, check_choice, check_int, check_optional_int, check_real, rng_from_seed

__all__ = ["DeepIwocsResult", "GridEvaluationResult", "deep_iwocs", "gym_parametric_set", "min_over_critics", "robust_grid_evaluation"]

Critic = Callable[[np.ndarray], np.ndarray]  # observations (N, obs_dim) -> Q values (N, A)


def gym_parametric_set(env_id: str, *, n_discrete_actions: int = 5) -> Any:
    """A :class:`theory_rl.robust.ParametricSet` over ``PARAMETER_BOXES[env_id]`` whose builder
    returns the gymnasium environment with those physical parameters."""
    from ..envs import PARAMETER_BOXES, make_parametric_env
    from ..robust import ParametricSet

    box = np.array(list(PARAMETER_BOXES[env_id].values()), dtype=float)
    return ParametricSet(box, lambda theta: make_parametric_env(env_id, theta, n_discrete_actions=n_discrete_actions))


def min_over_critics(critics: Sequence[Critic], observations: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    r"""``Qhat(s, a) = min_{j : mask[s, j]} Q_j(s, a)``, shape ``(N, A)``.

    ``mask[n, j]`` (default all true) says whether critic ``j`` is trusted at observation ``n``:
    the hook for the paper's partial-coverage fix (a per-model out-of-distribution detector),
    which is not implemented here. Rows with no trusted critic use all of them.
    """
    obs = np.atleast_2d(np.asarray(observations, dtype=np.float32))
    q = np.stack([np.asarray(c(obs), dtype=float) for c in critics])  # (J, N, A)
    if mask is None:
        return q.min(axis=0)
    m = np.asarray(mask, dtype=bool).T[:, :, None]  # (J, N, 1)
    m = np.where(m.any(axis=0, keepdims=True), m, True)
    return np.where(m, q, np.inf).min(axis=0)


def _greedy_policy(critics: Sequence[Critic]) -> Callable[[np.ndarray], int]:
    return lambda obs: int(np.argmax(min_over_critics(critics, np.ravel(obs)[None, :])[0]))


def monte_carlo_return(pset: Any, *, n_episodes: int = 5, seed: int = 0) -> Callable[[Any, np.ndarray], float]:
    """``(policy, theta) -> mean undiscounted return over n_episodes`` in ``pset.builder(theta)``,
    with the same episode seeds for every ``theta`` (common random numbers: a smoother objective
    for the search)."""
    from ..envs import rollout_returns

    def evaluate(policy: Callable[[np.ndarray], int], theta: np.ndarray) -> float:
        env = pset.builder(pset.clip(theta))
        return float(rollout_returns(env, policy, n_episodes=n_episodes, seed=seed).mean())

    return evaluate


@dataclass(frozen=True, repr=False, eq=False)
class GridEvaluationResult(LegacyKeysMixin, Result):
    """What :func:`robust_grid_evaluation` returns (a dict before; ``result["worst"]`` still reads
    the attribute, with a :class:`DeprecationWarning`).

    Attributes
    ----------
    worst, mean : float
        Minimum and mean of ``evaluate(policy, theta)`` over the grid.
    argmin : ndarray, shape (d,)
        The grid point attaining ``worst``.
    thetas : ndarray, shape (n_per_dim**d, d)
        The grid.
    values : ndarray, shape (n_per_dim**d,)
        ``evaluate(policy, theta)`` at each grid point.
    """

    worst: float
    mean: float
    argmin: np.ndarray
    thetas: np.ndarray
    values: np.ndarray

    _repr_fields = ("worst", "mean", "argmin", "elapsed")


def robust_grid_evaluation(policy: Callable[[np.ndarray], int], pset: Any, evaluate: Callable[[Any, np.ndarray], float],
                           *, n_per_dim: int = 10) -> GridEvaluationResult:
    """The RRLS protocol: ``evaluate(policy, theta)`` on the uniform grid with ``n_per_dim``
    points per dimension (``n_per_dim**d`` models). Returns ``worst``, ``mean``, ``argmin``,
    ``thetas``, ``values``."""
    start = time.perf_counter()
    grid = pset.grid(n_per_dim)
    values = np.array([evaluate(policy, t) for t in grid])
    return GridEvaluationResult(worst=float(values.min()), mean=float(values.mean()), argmin=grid[int(values.argmin())],
                                thetas=grid, values=values, method="robust_grid_evaluation",
                                params={"n_per_dim": n_per_dim}, elapsed=time.perf_counter() - start)


@dataclass(frozen=True, repr=False, eq=False)
class DeepIwocsResult(TraceHistoryMixin, Result):
    r"""What :func:`deep_iwocs` returns.

    Attributes
    ----------
    thetas : ndarray, shape (n_models, d)
        ``theta_0`` and every worst case found, in order.
    critics : list
        The static learners' critics ``Q_j`` (callables), one per model.
    policy : callable
        ``obs -> argmax_a min_j Q_j(obs, a)`` over all critics.
    trace : list of dict
        Per iteration ``i``: ``lower`` (the search's minimum of ``evaluate(pi_i, .)``, the
        estimated worst-case value of ``pi_i``), ``upper`` (``min_j evaluate(greedy Q_j, theta_j)``,
        the estimate of the tabular bound ``min_j w.V*_{T_j}``), ``theta`` (the worst case found),
        ``n_evaluations``, ``new_model_known``, ``seconds``; ``history`` is the same records as a
        :class:`~theory_rl._result.History` table.
    grid : GridEvaluationResult or None
        :func:`robust_grid_evaluation` of the final policy (``worst``, ``mean``, ...). Nothing
        here is certified: ``worst`` is a minimum over the grid only, so it can lie above the
        worst case over the box (between grid points), and ``trace``'s ``lower``/``upper`` are
        estimates (CMA-ES is heuristic; Monte-Carlo returns are noisy). Compare the tabular
        :class:`theory_rl.robust.IwocsSolution`, whose ``certified`` flag means "over the whole set".
    grid_nominal : GridEvaluationResult or None
        The same for the first policy (the static learner trained on ``theta_0`` alone).
    """

    thetas: np.ndarray
    critics: list
    policy: Any
    trace: list
    grid: GridEvaluationResult | None
    grid_nominal: GridEvaluationResult | None
    stop_reason: str

    _repr_fields = ("method", "stop_reason", "elapsed")
    _dict_exclude = ("critics", "policy")


def dqn_learner(pset: Any, *, device: Any = "auto", **dqn_kwargs: Any) -> Callable[[np.ndarray, Any], Critic]:
    """The default static learner: double DQN (:func:`theory_rl.approx.dqn`) on ``pset.builder(theta)``;
    returns its Q-network as a numpy critic."""
    from ._dqn import dqn
    from ._nets import greedy_values

    def learn(theta: np.ndarray, seed: Any) -> Critic:
        result = dqn(pset.builder(pset.clip(theta)), seed=seed, device=device, **dqn_kwargs)
        net = result.networks["q"]
        dev = next(net.parameters()).device
        return lambda obs: greedy_values(net, obs, dev)

    return learn


@renamed_arguments(n_iterations="max_iter", eps="tol")
def deep_iwocs(
    pset: Any,
    *,
    learner: Callable[[np.ndarray, Any], Critic] | None = None,
    evaluate: Callable[[Any, np.ndarray], float] | None = None,
    max_iter: int = 3,
    search: str = "cma",
    search_budget: int = 40,
    n_grid_search: int = 10,
    n_grid_eval: int | None = 10,
    theta0: np.ndarray | None = None,
    tol: float = 0.0,
    seed: Any = None,
    device: Any = "auto",
    learner_kwargs: dict | None = None,
    progress: bool = False,
) -> DeepIwocsResult:
    r"""Deep IWOCS: incremental worst-case search with one static learner per worst-case model.

    1. ``theta_0`` (default: the box centre, as the tabular :func:`theory_rl.robust.iwocs`);
       train a static learner on it: critic ``Q_0``.
    2. Iteration ``i``: act greedily on the minimum over critics,
       ``pi_i(s) = argmax_a min_{j <= i} Q_j(s, a)`` (:func:`min_over_critics`; in the tabular
       limit ``min_j Q*_{T_j} >= Q_rob``, the paper's reading of the inner problem).
    3. Worst-case search: ``theta_{i+1} = argmin_theta evaluate(pi_i, theta)`` by CMA-ES over the
       box (:func:`theory_rl.robust.worst_case_theta`, ``search_budget`` evaluations; or
       ``search="grid"``). ``evaluate`` defaults to the Monte-Carlo return with common random numbers.
    4. Stop when the new ``theta`` is already in the list, when the estimated gap
       ``upper - lower <= tol``, or after ``max_iter`` worst-case searches; else train a static learner on
       ``theta_{i+1}`` and go to 2.
    5. Evaluate the final policy (and the first, nominal one) as the worst case over the uniform
       grid with ``n_grid_eval`` points per dimension (RRLS; ``None`` skips it).

    With an exact learner (``Q*_theta``) and exact evaluator this reproduces the tabular
    ``iwocs(inner="minQ")`` iterates. Differences from the paper (recalled, spec §1.4): the
    default static learner is double DQN with discrete actions (Pendulum's torque discretised)
    instead of SAC, each learner is trained from scratch, and the predictive-coding
    out-of-distribution mask for the min over critics is not implemented (``min_over_critics``
    takes a ``mask`` for it). No certificate: ``lower``/``upper`` are estimates.

    Parameters
    ----------
    pset : theory_rl.robust.ParametricSet
        The box; ``pset.builder(theta)`` must return a gymnasium environment.
    learner : callable ``(theta, seed) -> critic``, optional
        Static learner; a critic maps observations ``(N, obs_dim)`` to ``(N, A)`` Q values.
        Default :func:`dqn_learner` with ``learner_kwargs``.
    evaluate : callable ``(policy, theta) -> float``, optional
    max_iter : int
        Cap on the learners trained after the nominal one (worst-case searches run at most
        ``max_iter + 1`` times), ``>= 1``. Called ``n_iterations`` before 0.2.0.
    tol : float
        Stop when the estimated gap ``upper - lower <= tol`` (``>= 0``; estimated, not
        certified). Called ``eps`` before 0.2.0. Both old names still work until 0.3.0, with a
        ``DeprecationWarning``.
    search, search_budget, n_grid_search, n_grid_eval, theta0
        As above.
    seed : int or numpy Generator
    device : str or torch.device
        For the default learner's networks: ``"auto"`` (the default: CUDA when present, else
        CPU), ``"cpu"`` or ``"cuda"``.
    progress : bool
        Show a tqdm bar over the worst-case searches on stderr.
    """
    from ..robust import worst_case_theta

    progress = check_bool(progress, "progress")
    check_choice(search, "search", ("cma", "grid"))
    n_iterations = check_int(max_iter, "max_iter", minimum=1)
    tol = check_real(tol, "tol", low=0.0)
    search_budget = check_int(search_budget, "search_budget")
    n_grid_search = check_int(n_grid_search, "n_grid_search")
    n_grid_eval = check_optional_int(n_grid_eval, "n_grid_eval", minimum=0)
    rng = rng_from_seed(seed)
    if learner is None:
        require_torch()
        learner = dqn_learner(pset, device=device, **(learner_kwargs or {}))
    if evaluate is None:
        evaluate = monte_carlo_return(pset, seed=int(rng.integers(2**31)))
    with Timer() as timer:
        theta = pset.theta_box.mean(axis=1) if theta0 is None else pset.clip(theta0)
        thetas = [np.asarray(theta, dtype=float)]
        critics = [learner(thetas[0], rng)]
        static_values = [evaluate(_greedy_policy(critics[:1]), thetas[0])]
        trace: list[dict[str, Any]] = []
        stop_reason, best_lower = "max_iter", -np.inf
        for i in progress_range(n_iterations + 1, progress, "deep_iwocs", "search"):
            policy = _greedy_policy(list(critics))
            new, lower, n_eval = worst_case_theta(pset, lambda t, policy=policy: evaluate(policy, t), method=search,
                                                  n_grid=n_grid_search, budget=search_budget, seed=rng)
            upper = min(static_values)
            best_lower = max(best_lower, lower)
            known = any(np.max(np.abs(new - t)) <= 1e-12 for t in thetas)
            trace.append({"iteration": i, "lower": lower, "upper": upper, "theta": np.asarray(new).tolist(),
                          "n_evaluations": n_eval, "new_model_known": known, "seconds": timer.now()})
            if upper - best_lower <= tol:
                stop_reason = "gap"
                break
            if known:
                stop_reason = "no new model"
                break
            if i == n_iterations:
                break
            thetas.append(np.asarray(new, dtype=float))
            critics.append(learner(thetas[-1], rng))
            static_values.append(evaluate(_greedy_policy(critics[-1:]), thetas[-1]))
        final = _greedy_policy(list(critics))
        grid = grid_nominal = None
        if n_grid_eval:
            grid = robust_grid_evaluation(final, pset, evaluate, n_per_dim=n_grid_eval)
            grid_nominal = robust_grid_evaluation(_greedy_policy(critics[:1]), pset, evaluate, n_per_dim=n_grid_eval)
    return DeepIwocsResult(
        thetas=np.stack(thetas), critics=critics, policy=final, trace=trace, grid=grid, grid_nominal=grid_nominal,
        stop_reason=stop_reason, method="deep_iwocs",
        params={"max_iter": n_iterations, "search": search, "search_budget": search_budget,
                "n_grid_search": n_grid_search, "n_grid_eval": n_grid_eval, "tol": tol, "device": str(device)},
        elapsed=timer.elapsed,
    )
