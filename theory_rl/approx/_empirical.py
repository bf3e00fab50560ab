r"""Planning in many sampled empirical models at once (the inner loop of sample-complexity sweeps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._iterative import Timer
from .._result import Result
from .._torch import device_and_dtype, require_torch, to_numpy
from .._validation import check_choice, check_int, check_tol, rng_from_seed
from ..errors import InvalidModelError
from ..learning import TransitionSampler
from ..models import FiniteMDP
from ..tabular import effective_rewards
from ._batched import BatchedMDPs, BatchedSolution, batched_policy_evaluation, batched_value_iteration

__all__ = ["EmpiricalPlanningResult", "batched_empirical_planning", "sample_next_states"]


@renamed_arguments(positional=("n_samples", "n_models"))
def sample_next_states(mdp: FiniteMDP, *, n_samples: int, n_models: int, seed: Any = None) -> np.ndarray:
    r"""Generative-model samples: ``n_samples`` draws ``s' ~ P(.|s, a)`` for every ``(s, a)`` and
    each of ``n_models`` independent data sets (Kearns & Singh 1999; Azar et al. 2013).

    A thin batched call of :class:`theory_rl.learning.TransitionSampler` (inverse-CDF sampling
    on a ``2**-40`` integer grid, all rows and data sets in one ``searchsorted``; dense and CSR
    models give identical draws). Rows of unavailable actions give the placeholder state ``0``
    (never used: their reward is ``-inf``). ``sample_next_states(mdp, n_samples=n, n_models=1, seed=k)[0]`` equals
    ``learning.sample_transitions(mdp, n_per_pair=n, seed=k)`` on a model without masked actions.

    ``n_samples`` and ``n_models`` are keyword-only (passing them by position still works until
    0.3.0, with a ``DeprecationWarning``).

    Returns
    -------
    ndarray of int64, shape (n_models, S, A, n_samples)

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> draws = approx.sample_next_states(envs.random_mdp(3, 2, seed=0), n_samples=4, n_models=2, seed=0)
    >>> draws.shape, bool(((draws >= 0) & (draws < 3)).all())
    ((2, 3, 2, 4), True)
    """
    n_samples = check_int(n_samples, "n_samples")
    n_models = check_int(n_models, "n_models")
    sampler = TransitionSampler(mdp, allow_masked=True)
    return sampler.draw(n_samples, rng_from_seed(seed), batch=n_models)


@dataclass(frozen=True, repr=False, eq=False)
class EmpiricalPlanningResult(Result):
    r"""Plans in ``B`` empirical models and how good they are in the true one.

    Attributes
    ----------
    plan : BatchedSolution
        Value iteration in each empirical model ``hat M_b``: ``plan.v[b] = hat v*_b``,
        ``plan.policy[b] = hat pi_b``.
    v_star : ndarray, shape (S,)
        ``v*`` of the true model (policy iteration, exact).
    policy_values : ndarray, shape (B, S)
        ``v^{hat pi_b}`` in the true model.
    value_error : ndarray, shape (B,)
        ``||hat v*_b - v*||_inf``.
    policy_error : ndarray, shape (B,)
        ``||v* - v^{hat pi_b}||_inf``.
    n_samples : int
        Samples per ``(s, a)`` per model.

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> res = approx.batched_empirical_planning(envs.chain(4, gamma=0.9), n_samples=20, n_models=3, seed=0, device="cpu")
    >>> type(res).__name__, res.value_error.shape, tuple(res.plan.v.shape)
    ('EmpiricalPlanningResult', (3,), (3, 4))
    """

    plan: BatchedSolution
    v_star: np.ndarray
    policy_values: np.ndarray
    value_error: np.ndarray
    policy_error: np.ndarray
    n_samples: int

    _repr_fields = ("n_samples", "elapsed")


@renamed_arguments(positional=("n_samples", "n_models"))
def batched_empirical_planning(
    mdp: FiniteMDP,
    *,
    n_samples: int,
    n_models: int,
    seed: Any = None,
    device: Any = "auto",
    layout: str = "dense",
    tol: float = 1e-8,
    dtype: Any = None,
) -> EmpiricalPlanningResult:
    r"""Model-based planning with a generative model, for ``n_models`` independent data sets in one call.

    For each data set ``b`` and each ``(s, a)``, ``n`` next states are drawn from ``P(.|s, a)``
    (:func:`sample_next_states`); the empirical kernel is
    ``hat P_b(s'|s, a) = #{i : s'_i = s'} / n`` with the rewards ``R`` known (the generative-model
    setting of Azar, Munos & Kappen 2013, "Minimax PAC bounds on the sample complexity of RL with
    a generative model", Mach. Learn. 91). Value iteration (:func:`batched_value_iteration`) then
    plans in all ``hat M_b`` at once, and :func:`batched_policy_evaluation` values each plan
    ``hat pi_b`` in the true model. The theorem's object, ``||v* - v^{hat pi}||_inf`` as a function
    of ``n``, comes out as ``policy_error`` (one number per data set), ready for a rate fit.

    ``layout="dense"`` builds ``hat P_b`` as ``(B, S, A, S)`` counts; ``"sparse"`` keeps the
    samples themselves (``next_states[b, s, a, i]`` with weight ``1/n``), which needs
    ``B S A n`` entries instead of ``B S^2 A``: use it when ``n << S``. Both give the same model.

    Parameters
    ----------
    mdp : FiniteMDP
        The true model (``gamma < 1``).
    n_samples : int
        Samples per ``(s, a)`` in each data set.
    n_models : int
        Number ``B`` of independent data sets. ``n_samples`` and ``n_models`` are keyword-only
        (passing them by position still works until 0.3.0, with a ``DeprecationWarning``).
    seed : int or numpy Generator
        All samples come from this one numpy generator, so the result does not depend on the device.
    device, dtype, tol
        As in :func:`batched_value_iteration` (``tol`` is the planning accuracy).

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> errors = [approx.batched_empirical_planning(mdp, n_samples=n, n_models=8, seed=0, device="cpu").value_error.mean()
    ...           for n in (10, 1000)]
    >>> bool(errors[1] < errors[0])                               # more samples per pair, smaller error
    True
    """
    torch = require_torch()
    check_choice(layout, "layout", ("dense", "sparse"))
    tol = check_tol(tol)
    if mdp.gamma >= 1.0:
        raise InvalidModelError(f"gamma = {mdp.gamma:g}: empirical planning needs gamma < 1")
    dev, dtype = device_and_dtype(device, dtype)
    with Timer() as timer:
        from ..tabular import policy_iteration

        samples = sample_next_states(mdp, n_samples=n_samples, n_models=n_models, seed=seed)
        B, S, A, n = samples.shape
        R = torch.as_tensor(effective_rewards(mdp).reshape(S, A), dtype=dtype, device=dev).expand(B, S, A).contiguous()
        gamma = torch.full((B,), mdp.gamma, dtype=dtype, device=dev)
        if layout == "dense":
            flat = (np.arange(B * S * A).reshape(B, S, A, 1) * S + samples).ravel()
            counts = np.bincount(flat, minlength=B * S * A * S).reshape(B, S, A, S)
            P_hat = torch.as_tensor(counts, dtype=dtype, device=dev) / n
            models = BatchedMDPs(R=R, gamma=gamma, P=P_hat)
        else:
            models = BatchedMDPs(R=R, gamma=gamma, next_states=torch.as_tensor(samples, device=dev),
                                 probs=torch.full((B, S, A, n), 1.0 / n, dtype=dtype, device=dev))
        plan = batched_value_iteration(models, device=dev, tol=tol, dtype=dtype)
        v_star = policy_iteration(mdp).v
        truth = mdp.to_dense()
        if S * S * A * 8 <= 2**28:
            P_true = torch.as_tensor(np.array(truth.P), dtype=dtype, device=dev).expand(B, S, A, S)
            true_batch = BatchedMDPs(R=R, gamma=gamma, P=P_true)
        else:  # pragma: no cover - large models: evaluate through the sparse layout
            from ._batched import stack_mdps

            one = stack_mdps([mdp], layout="sparse", device=dev, dtype=dtype)
            K = one.next_states.shape[-1]
            true_batch = BatchedMDPs(R=R, gamma=gamma, next_states=one.next_states.expand(B, S, A, K),
                                     probs=one.probs.expand(B, S, A, K))
        evaluation = batched_policy_evaluation(true_batch, policy=plan.policy, device=dev, tol=tol * 1e-2, dtype=dtype)
        values = to_numpy(evaluation.v)
        v_hat = to_numpy(plan.v)
    return EmpiricalPlanningResult(
        plan=plan, v_star=v_star, policy_values=values,
        value_error=np.abs(v_hat - v_star).max(axis=1), policy_error=(v_star - values).max(axis=1),
        n_samples=n, method="batched_empirical_planning", params={"n_models": B, "layout": layout, "tol": tol, "device": str(dev)}, elapsed=timer.elapsed,
    )
