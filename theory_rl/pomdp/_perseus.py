r"""Perseus: randomised point-based value iteration (Spaan & Vlassis 2005).

A fixed belief set ``B`` is sampled once by random exploration from ``b0`` (uniformly random
actions, observations drawn from ``P(o | b, a)``). Each stage builds a new alpha set
``Gamma_{n+1}`` from ``Gamma_n``:

1. ``B~ = B`` (the beliefs not yet improved);
2. draw ``b`` uniformly from ``B~`` and back it up, ``alpha = backup(b)``
   (:func:`theory_rl.pomdp.point_backup`); if ``alpha . b >= V_n(b)`` add ``alpha``, else add
   the old vector maximal at ``b``;
3. drop from ``B~`` every ``b`` with ``V_{n+1}(b) >= V_n(b)``; repeat 2-3 until ``B~`` is empty.

Guarantee (Spaan & Vlassis 2005, Sec. 3): ``V_{n+1}(b) >= V_n(b)`` for every ``b in B`` at every
stage, with far fewer backups than ``|B|`` per stage. Started from the blind-policy vectors every
vector is the value of a conditional plan, so ``lower = V_n(b0) <= V*(b0)`` (``b0 in B``).
Perseus has no upper bound of its own; ``upper`` is the fast informed bound at ``b0``. Both
bounds count float64 rounding as :func:`theory_rl.pomdp.pbvi`'s do (``value`` is the raw ``V(b0)``).

Reference: M. T. J. Spaan and N. Vlassis, "Perseus: randomized point-based value iteration for
POMDPs", JAIR 24 (2005), arXiv:1109.2145.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .._deprecation import renamed_arguments
from .._iterative import progress_bar
from .._validation import as_float_array, check_int, check_probability_rows, rng_from_seed
from ..errors import ConvergenceWarning, InvalidModelError
from ..models import POMDP
from ._backup import point_backup
from ._bounds import warm_up_value_iteration
from ._pbvi import check_model, check_run_options, initial_bounds, sample_successor
from ._solution import POMDPSolution

__all__ = ["perseus", "sample_beliefs"]


@renamed_arguments(positional=("n_beliefs",))
def sample_beliefs(
    model: POMDP,
    *,
    n_beliefs: int,
    walk_length: int = 30,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """``n_beliefs`` beliefs reached by random walks from ``b0`` (``b0`` first; a walk restarts
    at ``b0`` after ``walk_length`` steps), as an ``(n_beliefs, S)`` array. ``n_beliefs`` is
    keyword-only (passing it by position still works until 0.3.0, with a ``DeprecationWarning``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> B = pomdp.sample_beliefs(tiger, n_beliefs=20, seed=0)
    >>> B.shape[1], bool(np.allclose(B.sum(axis=1), 1.0))
    (2, True)
    """
    n_beliefs = check_int(n_beliefs, "n_beliefs", minimum=1)
    walk_length = check_int(walk_length, "walk_length", minimum=1)
    rng = rng_from_seed(seed)
    out = [model.b0]
    b, steps = model.b0, 0
    while len(out) < n_beliefs:
        if steps == walk_length:
            b, steps = model.b0, 0
        _, b = sample_successor(model, b, int(rng.integers(model.n_actions)), seed=rng)
        out.append(b)
        steps += 1
    return np.array(out)


def perseus(
    model: POMDP,
    *,
    n_beliefs: int = 500,
    walk_length: int = 30,
    max_iter: int = 1000,
    tol: float = 1e-6,
    time_limit: float = 60.0,
    beliefs: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
    progress: bool = False,
) -> POMDPSolution:
    r"""Perseus (Spaan & Vlassis 2005) on a sampled belief set.

    Parameters
    ----------
    model : POMDP
    n_beliefs : int
        Size of ``B`` (``b0`` included), sampled by :func:`sample_beliefs`; ``>= 1``.
    walk_length : int
        Length of each random walk of the sampler, ``>= 1``.
    max_iter : int
        Maximum number of stages, ``>= 1``.
    tol : float
        Stop when a stage improves no ``b in B`` by ``tol`` or more and one backup of all of
        ``B`` confirms it (``max_{b in B} (H V_n)(b) - V_n(b) < tol``); finite, ``>= 0``.
    time_limit : float
        Wall-clock seconds (checked between backups), ``> 0``; ``inf`` for no limit.
    beliefs : ndarray, shape (N, S), optional
        Use this ``B`` instead of sampling one (``b0`` is prepended).
    seed : int or Generator, optional
    progress : bool
        Show a tqdm bar over the stages (bounds at ``b0``, number of vectors) on stderr.

    Raises
    ------
    InvalidModelError
        Naming the option and its value when a count is not an integer in range (bools refused),
        ``tol``/``time_limit`` is not a number in range, or a row of ``beliefs`` is not a
        probability vector (``beliefs[i, :]``).

    Returns
    -------
    POMDPSolution
        ``lower = V_n(b0)``, ``upper`` the FIB at ``b0``; ``history`` per stage: ``lower``,
        ``upper``, ``time``, ``n_vectors``, ``n_backups`` and ``min_gain`` (``min_{b in B}
        V_{n+1}(b) - V_n(b)``, never negative: the stage guarantee); ``info["beliefs"]``.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> sol = pomdp.perseus(tiger, n_beliefs=100, seed=0)
    >>> bool(sol.lower <= 19.3714 + 1e-6)
    True
    """
    check_model(model, "perseus")
    n_beliefs = check_int(n_beliefs, "n_beliefs", minimum=1)
    walk_length = check_int(walk_length, "walk_length", minimum=1)
    max_iter, tol, time_limit, progress, rng = check_run_options(max_iter, tol, time_limit, progress, seed)
    warm_up_value_iteration(model.is_sparse)  # compiled before the clock starts
    start = time.perf_counter()
    b0 = model.b0
    if beliefs is None:
        B = sample_beliefs(model, n_beliefs=n_beliefs, walk_length=walk_length, seed=rng)
    else:
        given = as_float_array(beliefs, "beliefs", ndim=2)
        if given.shape[1] != model.n_states:
            raise InvalidModelError(f"beliefs must be an (N, {model.n_states}) array of probability vectors, "
                                    f"got shape {given.shape}")
        check_probability_rows(given, "beliefs", atol=1e-8, row_shape=(given.shape[0],))
        B = np.vstack([b0, given])
    alpha, actions, upper, certify_lower = initial_bounds(model, b0)
    # values[:, k] = B @ alpha_k, always computed by the same matrix-vector product so that a
    # kept vector reproduces V bit for bit (the ">=" tests below are exact)
    values = np.column_stack([B @ vec for vec in alpha])
    V = values.max(axis=1)
    hist: dict[str, list[float]] = {k: [] for k in ("lower", "upper", "time", "n_vectors", "n_backups", "min_gain")}

    bar = progress_bar(progress, total=max_iter, desc="perseus", unit="stage")

    def record(n_backups: int, min_gain: float) -> None:
        if n_backups:
            bar.update(1)
            bar.set_postfix_str(f"[{float(V[0]):.6g}, {upper:.6g}] {alpha.shape[0]} vectors", refresh=False)
        hist["lower"].append(certify_lower(float(V[0])))
        hist["upper"].append(upper)
        hist["time"].append(time.perf_counter() - start)
        hist["n_vectors"].append(alpha.shape[0])
        hist["n_backups"].append(n_backups)
        hist["min_gain"].append(min_gain)

    record(0, 0.0)
    converged = False
    stage = 0
    while stage < max_iter and time.perf_counter() - start < time_limit:
        new_alpha, new_actions, new_values = [], [], []
        V_new = np.full(B.shape[0], -np.inf)
        todo = np.arange(B.shape[0])
        n_backups = 0
        while todo.size:
            i = int(todo[rng.integers(todo.size)])
            res = point_backup(model, alpha, B[i])
            n_backups += 1
            vals = B @ res.alpha[0]
            if vals[i] >= V[i]:
                vec, act = res.alpha[0], int(res.actions[0])
            else:  # keep the old vector that is best at b
                k = int(np.argmax(values[i]))
                vec, act, vals = alpha[k], int(actions[k]), values[:, k]
            new_alpha.append(vec)
            new_actions.append(act)
            new_values.append(vals)
            V_new = np.maximum(V_new, vals)
            todo = np.flatnonzero(V_new < V)
        alpha, actions = np.array(new_alpha), np.array(new_actions, dtype=np.int64)
        values = np.column_stack(new_values)
        gain = V_new - V
        V = V_new
        stage += 1
        record(n_backups, float(gain.min()))
        if gain.max() < tol:
            # a stage can end without improvement because its few sampled backups happened to
            # change nothing: certify with one backup of all of B (Bellman residual on B)
            residual = float((point_backup(model, alpha, B).values - V).max())
            if residual < tol:
                converged = True
                break
    bar.close()
    if not converged:
        reason = f"max_iter={max_iter}" if stage >= max_iter else f"time_limit={time_limit:g}s"
        warnings.warn(f"perseus stopped after {stage} stages ({reason} reached) with improvement >= tol={tol:g}",
                      ConvergenceWarning, stacklevel=2)
    return POMDPSolution(
        alpha=alpha, actions=actions, lower=certify_lower(float(V[0])), upper=upper, value=float(V[0]), converged=converged,
        n_iter=stage, history={k: np.asarray(v) for k, v in hist.items()}, method="perseus",
        params={"n_beliefs": n_beliefs, "walk_length": walk_length, "max_iter": max_iter, "tol": tol,
                "time_limit": time_limit},
        elapsed=time.perf_counter() - start, info={"beliefs": B},
    )
