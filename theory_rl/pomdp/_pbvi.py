r"""Point-based value iteration (PBVI; Pineau, Gordon & Thrun 2003).

PBVI alternates two phases on a finite belief set ``B`` that starts as ``{b0}``:

* **improvement** -- point-based backups of the alpha set ``Gamma`` at every ``b in B``
  (:func:`theory_rl.pomdp.point_backup`),

  .. math::
      \alpha_b = \arg\max_{a} \; b \cdot \Big( R_a + \sum_o \arg\max_{g \in \Gamma^{a,o}} b \cdot g \Big),
      \qquad \Gamma^{a,o} = \{\gamma\, T_a \operatorname{diag}(O_a[:, o])\, \alpha : \alpha \in \Gamma\};

* **expansion** (stochastic simulation with explorative action, SSEA) -- for every ``b in B`` and
  every action ``a`` one successor ``tau(b, a, o)`` is sampled (``o ~ P(o | b, a)``) and the one
  farthest from ``B`` in L1 distance is added, so ``B`` at most doubles.

Guarantee (Pineau et al. 2003, Thm 1): with ``delta_B = max_{b' reachable} min_{b in B} ||b - b'||_1``,
``||V_B - V*||_inf <= (R_max - R_min) delta_B / (1 - gamma)^2`` at convergence of the backups.
Every vector is the value of a conditional plan whose leaves follow the blind policies of the
initial set, so ``V_B(b0) <= V*(b0)``: ``lower`` is a certified lower bound (less a float64
allowance for the vectors' builds and the evaluation at ``b0``, :mod:`theory_rl.pomdp._rounding_bounds`;
``value`` is the raw ``V_B(b0)``). PBVI has no upper bound of its own; ``upper`` is the fast
informed bound at ``b0``, certified the same way.

Finite horizon (``horizon=H``; AI-Toolbox's PBVI takes the same option): ``B`` is grown first by
the same expansions, then ``H`` point backups of the zero vector give ``V_H = H^H 0`` on ``B``;
each vector is an ``H``-step conditional plan, so ``lower = V_H(b0) <= V*_H(b0)``, equal to it
when ``B`` holds every belief reachable from ``b0`` in fewer than ``H`` steps; ``upper`` is the
``H``-step value of the underlying MDP at ``b0`` (the agent told the state), and ``gamma = 1``
is allowed.

Deviation from the paper: the improvement phase keeps, besides the new vectors, the old ones that
are still maximal at some ``b in B`` (the paper replaces the set), so that ``V(b)`` never
decreases at any ``b in B``; the number of backups per expansion is adaptive (until the largest
improvement on ``B`` falls below ``tol`` or ``max_iter`` is reached) instead of a fixed horizon.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._iterative import progress_bar
from .._validation import check_bool, check_int, check_real, check_time_limit, rng_from_seed
from ..errors import ConvergenceWarning, InvalidArgumentError, InvalidModelError
from ..models import POMDP
from ._backup import point_backup
from ._belief import belief_update, observation_probabilities
from ._bounds import blind_lower_bound, fib_upper_bound, warm_up_value_iteration
from ._rounding_bounds import pomdp_rounding
from ._solution import POMDPSolution, alpha_value

__all__ = ["pbvi", "sample_successor"]


@renamed_arguments(rng="seed", positional=("seed",))
def sample_successor(model: POMDP, b: np.ndarray, a: int, *,
                     seed: int | np.random.Generator | None = None) -> tuple[int, np.ndarray]:
    r"""Draw ``o ~ P(o | b, a)`` and return ``(o, tau(b, a, o))``.

    ``P(o | b, a) = sum_{s'} O[a, s', o] sum_s T[s, a, s'] b(s)`` (Cassandra's convention).
    ``seed`` (an int or a ``numpy.random.Generator``, used as is: pass one Generator in a loop)
    was the positional ``rng`` before 0.2.0 (both still accepted until 0.3.0, with a warning).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> o, b = pomdp.sample_successor(tiger, tiger.b0, 0, seed=0)
    >>> o in (0, 1), bool(np.isclose(b.sum(), 1.0))
    (True, True)
    """
    rng = rng_from_seed(seed)
    p_obs = observation_probabilities(model, b, a)
    o = int(rng.choice(p_obs.size, p=p_obs / p_obs.sum()))
    return o, belief_update(model, b, a, o)


def keep_maximal(alpha: np.ndarray, actions: np.ndarray, beliefs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vectors that are maximal at some belief of ``beliefs`` (first one on ties), in order."""
    keep = np.unique(np.argmax(beliefs @ alpha.T, axis=1))
    return alpha[keep], actions[keep]


def initial_bounds(model: POMDP, b0: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, Callable[[float], float]]:
    """Blind-policy lower-bound vectors ``(alpha, actions)``, the FIB upper bound at ``b0`` (with
    the rounding of its evaluation) and ``certify_lower``: the map from a computed ``max_k alpha_k
    . b0`` (vectors from the blind ones by point backups) to a certified lower bound on ``V*(b0)``
    (less ``E = max(E_blind, delta / (1 - gamma sigma))`` and the rounding of the dot product,
    :mod:`theory_rl.pomdp._rounding_bounds`)."""
    blind = blind_lower_bound(model)
    fib = fib_upper_bound(model)
    rounding = pomdp_rounding(model).with_values(blind.alpha, fib.alpha)
    widening = rounding.lower_widening(blind.info["widening"])
    upper = rounding.certified_upper(float(alpha_value(fib.alpha, b0)), 0.0)

    def certify_lower(value: float) -> float:
        return rounding.certified_lower(value, widening)

    return blind.alpha, blind.actions, upper, certify_lower


def check_model(model: Any, name: str, *, finite_horizon: bool = False) -> None:
    if not isinstance(model, POMDP):
        raise InvalidModelError(f"model must be a theory_rl.models.POMDP, got {type(model).__name__}")
    if not finite_horizon and not model.gamma < 1.0:
        raise InvalidModelError(f"{name} needs gamma < 1 (infinite-horizon discounted model)")


def check_run_options(max_iter: Any, tol: Any, time_limit: Any, progress: Any,
                      seed: Any) -> tuple[int, float, float, bool, np.random.Generator]:
    """The point-based solvers' run options, checked: ``max_iter >= 1``, ``tol`` finite ``>= 0``,
    ``time_limit`` in seconds ``> 0`` (``inf``: no limit), ``progress`` a bool and ``seed`` made a
    Generator; else :class:`InvalidArgumentError` naming the option and value."""
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if time_limit is None:
        raise InvalidArgumentError("time_limit = None: give a number of seconds > 0 (inf for no limit)")
    tol, time_limit = check_real(tol, "tol", low=0.0), check_time_limit(time_limit)
    return max_iter, tol, time_limit, check_bool(progress, "progress"), rng_from_seed(seed)


@renamed_arguments(n_backups="max_iter")
def pbvi(
    model: POMDP,
    *,
    n_expansions: int = 6,
    max_iter: int = 200,
    tol: float = 1e-4,
    max_beliefs: int = 2000,
    time_limit: float = 60.0,
    seed: int | np.random.Generator | None = None,
    horizon: int | None = None,
    progress: bool = False,
) -> POMDPSolution:
    r"""PBVI (Pineau, Gordon & Thrun, IJCAI 2003): point-based backups on a growing belief set.

    Parameters
    ----------
    model : POMDP
    n_expansions : int
        Number of SSEA expansions of ``B`` (``|B| <= 2^n_expansions``), ``>= 0``.
    max_iter : int
        Maximum backups of the whole set ``B`` per expansion, ``>= 1``. Called ``n_backups`` before
        0.2.0 (still accepted until 0.3.0, with a ``DeprecationWarning``).
    tol : float
        The improvement phase stops when ``max_{b in B} (V_new(b) - V(b)) < tol`` (finite, ``>= 0``).
    max_beliefs : int
        Cap on ``|B|``, ``>= 1``.
    time_limit : float
        Wall-clock seconds (checked between backups), ``> 0``; ``inf`` for no limit.
    seed : int or Generator, optional
        Drives the sampled expansions.
    horizon : int, optional
        Finite horizon ``H >= 1`` (see the module notes): ``n_expansions`` expansions of ``B``,
        then exactly ``H`` backups of ``V_0 = 0`` (``max_iter`` and ``tol`` are not used).
        ``info["stages"]`` holds ``(alpha, actions)`` for ``1, ..., H`` steps to go, the
        non-stationary policy; ``gamma = 1`` is allowed.
    progress : bool
        Show a tqdm bar over the backups (bounds at ``b0``, number of beliefs) on stderr
        (infinite-horizon runs).

    Returns
    -------
    POMDPSolution
        ``lower = max_k alpha_k . b0`` (the value of a policy, hence ``<= V*(b0)``), ``upper`` the
        FIB at ``b0``; ``history`` per backup: ``lower``, ``upper``, ``time``, ``n_vectors``,
        ``n_beliefs``; ``info["beliefs"]`` the final ``B``.

    Raises
    ------
    InvalidArgumentError
        Naming the option and its value when a count is not an integer in range (bools refused)
        or ``tol``/``time_limit`` is not a number in range.
    InvalidModelError
        If ``model`` is not a POMDP, or is undiscounted without a ``horizon``.

    Examples
    --------
    Tiger (Kaelbling, Littman & Cassandra 1998), three steps, undiscounted:

    >>> import numpy as np
    >>> from theory_rl import models, pomdp
    >>> T = np.empty((2, 3, 2)); T[:, 0] = np.eye(2); T[:, 1:] = 0.5
    >>> O = np.full((3, 2, 2), 0.5); O[0] = [[0.85, 0.15], [0.15, 0.85]]
    >>> R = np.array([[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]])
    >>> tiger = models.POMDP(T, O, R, 1.0, np.array([0.5, 0.5]))
    >>> sol = pomdp.pbvi(tiger, horizon=3, n_expansions=4, seed=0)
    >>> exact = pomdp.finite_horizon_value(tiger, 3)
    >>> bool(sol.lower <= exact.lower + 1e-9 <= sol.upper + 1e-9)
    True
    """
    horizon = None if horizon is None else check_int(horizon, "horizon", minimum=1)
    check_model(model, "pbvi", finite_horizon=horizon is not None)
    n_expansions = check_int(n_expansions, "n_expansions", minimum=0)
    max_beliefs = check_int(max_beliefs, "max_beliefs", minimum=1)
    max_iter, tol, time_limit, progress, rng = check_run_options(max_iter, tol, time_limit, progress, seed)
    if horizon is not None:
        return _finite_horizon_pbvi(model, horizon, n_expansions=n_expansions, max_beliefs=max_beliefs,
                                    time_limit=time_limit, rng=rng)
    warm_up_value_iteration(model.is_sparse)  # compiled before the clock starts
    start = time.perf_counter()
    b0 = model.b0
    alpha, actions, upper, certify_lower = initial_bounds(model, b0)
    B = b0[None, :].copy()
    hist: dict[str, list[float]] = {k: [] for k in ("lower", "upper", "time", "n_vectors", "n_beliefs")}
    bar = progress_bar(progress, total=None, desc="pbvi", unit="backup")

    def record() -> float:
        lo = certify_lower(float((alpha @ b0).max()))
        bar.update(1)
        bar.set_postfix_str(f"[{lo:.6g}, {upper:.6g}] {B.shape[0]} beliefs", refresh=False)
        hist["lower"].append(lo)
        hist["upper"].append(upper)
        hist["time"].append(time.perf_counter() - start)
        hist["n_vectors"].append(alpha.shape[0])
        hist["n_beliefs"].append(B.shape[0])
        return lo

    record()
    n_iter = 0
    out_of_time = False
    converged = False
    for expansion in range(n_expansions + 1):
        for _ in range(max_iter):
            if time.perf_counter() - start >= time_limit:
                out_of_time = True
                break
            old = (B @ alpha.T).max(axis=1)
            res = point_backup(model, alpha, B)
            alpha, actions = keep_maximal(np.vstack([alpha, res.alpha]), np.concatenate([actions, res.actions]), B)
            n_iter += 1
            record()
            if (res.values - old).max() < tol:
                converged = True
                break
            converged = False
        if out_of_time or expansion == n_expansions or B.shape[0] >= max_beliefs:
            break
        B = _expand(model, B, rng, max_beliefs)
    bar.close()
    if not converged:
        warnings.warn("pbvi: the last improvement phase did not reach tol "
                      f"({'time_limit' if out_of_time else 'max_iter'} reached)", ConvergenceWarning, stacklevel=2)
    value = float((alpha @ b0).max())
    return POMDPSolution(
        alpha=alpha, actions=actions.astype(np.int64), lower=certify_lower(value), upper=upper, value=value,
        converged=converged, n_iter=n_iter, history={k: np.asarray(v) for k, v in hist.items()}, method="pbvi",
        params={"n_expansions": n_expansions, "max_iter": max_iter, "tol": tol, "max_beliefs": max_beliefs,
                "time_limit": time_limit},
        elapsed=time.perf_counter() - start, info={"beliefs": B},
    )


def _finite_horizon_pbvi(model: POMDP, horizon: int, *, n_expansions: int, max_beliefs: int, time_limit: float,
                         rng: np.random.Generator) -> POMDPSolution:
    """``horizon`` point backups of ``V_0 = 0`` on a belief set grown by ``n_expansions`` SSEA steps."""
    from ..tabular import backward_induction

    warm_up_value_iteration(model.is_sparse)  # compiled before the clock starts
    start = time.perf_counter()
    b0 = model.b0
    B = b0[None, :].copy()
    for _ in range(n_expansions):
        if B.shape[0] >= max_beliefs:
            break
        B = _expand(model, B, rng, max_beliefs)
    alpha = np.zeros((1, model.n_states))
    actions = np.zeros(1, dtype=np.int64)
    mdp_values = backward_induction(model.mdp.replace(horizon=horizon)).v  # (H+1, S): row t has H - t to go
    # t chained backups from exact zeros (POMDP vectors, and the MDP's values, which need fewer roundings
    # per backup) are within sum_{j < t} (gamma sigma)^j delta of exact plans' values; H bounds every t
    rounding = pomdp_rounding(model, horizon=horizon).with_values(mdp_values)
    widening = rounding.finite_horizon_widening(horizon)
    stages = []
    hist: dict[str, list[float]] = {k: [] for k in ("lower", "upper", "time", "n_vectors", "n_beliefs")}
    converged = True
    for t in range(1, horizon + 1):
        if time.perf_counter() - start >= time_limit:
            converged = False
            break
        res = point_backup(model, alpha, B)
        alpha, actions = keep_maximal(res.alpha, res.actions, B)
        stages.append((alpha, actions.astype(np.int64)))
        hist["lower"].append(rounding.certified_lower(float((alpha @ b0).max()), widening))
        hist["upper"].append(rounding.certified_upper(float(mdp_values[horizon - t] @ b0), widening))
        hist["time"].append(time.perf_counter() - start)
        hist["n_vectors"].append(alpha.shape[0])
        hist["n_beliefs"].append(B.shape[0])
    if not converged:
        warnings.warn(f"pbvi: time_limit reached after {len(stages)} of {horizon} backups; the result is the "
                      f"{len(stages)}-step value", ConvergenceWarning, stacklevel=3)
    value = float((alpha @ b0).max())
    lower = rounding.certified_lower(value, widening)
    upper = rounding.certified_upper(float(mdp_values[horizon - len(stages)] @ b0), widening)
    return POMDPSolution(
        alpha=alpha, actions=actions.astype(np.int64), lower=lower, upper=upper, value=value,
        converged=converged, n_iter=len(stages), history={k: np.asarray(v) for k, v in hist.items()},
        method="pbvi(finite horizon)",
        params={"horizon": horizon, "n_expansions": n_expansions, "max_beliefs": max_beliefs, "time_limit": time_limit},
        elapsed=time.perf_counter() - start, info={"beliefs": B, "stages": stages},
    )


def _expand(model: POMDP, B: np.ndarray, rng: np.random.Generator, max_beliefs: int) -> np.ndarray:
    """SSEA: per belief, one sampled successor per action; add the farthest (L1) from the set."""
    current = B
    for b in B:
        if current.shape[0] >= max_beliefs:
            break
        cands = np.array([sample_successor(model, b, a, seed=rng)[1] for a in range(model.n_actions)])
        dist = np.abs(cands[:, None, :] - current[None, :, :]).sum(axis=2).min(axis=1)
        best = int(np.argmax(dist))
        if dist[best] > 1e-9:
            current = np.vstack([current, cands[best]])
    return current
