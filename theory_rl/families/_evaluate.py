r"""Evaluate several methods on every sampled member of a family, through the sweep engine."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._validation import check_int
from ..errors import InvalidArgumentError
from ..experiments import Sweep
from ..tabular import policy_evaluation, policy_iteration
from ._family import MDPFamily

__all__ = ["evaluate_family", "policy_return"]


def policy_return(mdp, policy: Any) -> float:
    r"""``J_M(pi) = d0 . v^pi``, the exact expected discounted return of a policy from ``d0``.

    ``policy``: actions ``(S,)``, probabilities ``(S, A)``, or any object with a ``.policy`` attribute
    (the learners' results).

    Examples
    --------
    >>> from theory_rl.envs import river_swim
    >>> import numpy as np
    >>> round(policy_return(river_swim(4, gamma=0.9), np.zeros(4, dtype=int)), 3)
    0.05
    """
    pol = np.asarray(getattr(policy, "policy", policy))
    return float(np.asarray(mdp.d0) @ policy_evaluation(mdp, pol).v)


class _FamilyTask:
    """``fn(method, instance, seed)`` for :class:`~theory_rl.experiments.Sweep`: builds the instance,
    runs the method, scores the policy exactly. Named after the family and its sample so that a store
    resumes only the same evaluation.

    The member, ``J(pi*)`` (policy iteration, exact) and ``J(uniform)`` are computed once per instance
    in each worker process and reused by the next tasks of that instance (the grid lists tasks
    instance by instance, so a worker's chunk holds a few instances): without the cache, building
    the member and solving it for ``J(pi*)`` took two thirds of a task's time.
    """

    CACHED_INSTANCES = 8

    def __init__(self, family: MDPFamily, phis, methods: Mapping[str, Callable[..., Any]], tag: str) -> None:
        self.family = family
        self.phis = phis.to_dict("records")
        self.methods = dict(methods)
        self.__name__ = f"evaluate_family_{family.name}"
        self.__qualname__ = f"evaluate_family[{tag}]"
        self.__module__ = __name__
        self._instances: dict[int, tuple[Any, float, float]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_instances": {}}

    def _instance(self, instance: int) -> tuple[Any, float, float]:
        if instance not in self._instances:
            if len(self._instances) >= self.CACHED_INSTANCES:
                self._instances.pop(next(iter(self._instances)))
            mdp = self.family.make(self.phis[instance])
            best = float(np.asarray(mdp.d0) @ policy_iteration(mdp, tol=1e-8).v)
            S, A = mdp.n_states, mdp.n_actions
            self._instances[instance] = (mdp, best, policy_return(mdp, np.full((S, A), 1.0 / A)))
        return self._instances[instance]

    def __call__(self, method: str, instance: int, seed: int):
        mdp, best, uniform = self._instance(instance)
        ret = policy_return(mdp, self.methods[method](mdp, seed))
        spread = best - uniform
        return {"return": ret, "optimal": best, "normalized": (ret - uniform) / spread if spread > 1e-12 else 1.0}


def evaluate_family(methods: Mapping[str, Callable[..., Any]], family: MDPFamily, *, n_instances: int,
                    seeds: int = 3, seed: int = 0, include_nominal: bool = True, backend: str = "joblib",
                    n_jobs: int | None = None, store: str | os.PathLike[str] | None = None, progress: bool = False):
    r"""Run every method on ``n_instances`` sampled members (and the nominal one) with ``seeds`` replicates.

    Each task ``(method, instance, replicate)`` builds ``M_phi``, calls ``methods[name](mdp, seed)``
    (a policy ``(S,)``/``(S, A)`` or a learner's result with ``.policy``) and scores it exactly:
    ``return = J_M(pi) = d0 . v^pi``, ``optimal = J_M(pi*)`` and
    ``normalized = (J(pi) - J(uniform)) / (J(pi*) - J(uniform))`` (1 optimal, 0 the uniform policy),
    the scale on which a family's members can be averaged. Tasks run through
    :class:`theory_rl.experiments.Sweep` (joblib, Dask or serial; with ``store`` the run is
    resumable: rerunning skips recorded tasks).

    Parameters
    ----------
    methods : mapping of name to callable ``(mdp, seed) -> policy``
        Module-level or picklable callables for the parallel back ends.
    family : MDPFamily
    n_instances : int
        Members drawn from ``p(phi)`` with ``seed``.
    seeds : int
        Replicates per (method, instance).
    seed : int
        Draws the members and roots the task seeds.
    include_nominal : bool
        Also evaluate ``phi_0`` (instance ``-1`` in the table).
    backend, n_jobs, store, progress :
        As :class:`~theory_rl.experiments.Sweep`.

    Returns
    -------
    pandas.DataFrame
        Tidy: ``method, instance, replicate, seed``, the parameters ``phi``, ``return``,
        ``optimal``, ``normalized`` and ``elapsed`` (seconds in the task, scoring included; one row per task).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.families import evaluate_family, river_swim_family
    >>> left = lambda mdp, seed: np.zeros(mdp.n_states, dtype=int)
    >>> right = lambda mdp, seed: np.ones(mdp.n_states, dtype=int)
    >>> df = evaluate_family({"left": left, "right": right}, river_swim_family(), n_instances=3, seeds=1,
    ...                      backend="serial")
    >>> df.groupby("method")["normalized"].mean().round(2).to_dict()
    {'left': 0.03, 'right': 1.0}
    """
    if not methods:
        raise InvalidArgumentError("methods must name at least one method")
    n_instances = check_int(n_instances, "n_instances")
    seeds = check_int(seeds, "seeds")
    seed = check_int(seed, "seed", minimum=0)
    import pandas as pd

    phis = family.sample(n_instances, seed=seed)
    if include_nominal:
        phis = pd.concat([phis, pd.DataFrame([dict(family.nominal)])], ignore_index=True)
    tag = f"{family.name}|n={n_instances}|seed={seed}|nominal={bool(include_nominal)}|{','.join(sorted(methods))}"
    task = _FamilyTask(family, phis, methods, tag)
    grid = [{"method": m, "instance": i} for i in range(len(phis)) for m in sorted(methods)]  # instance-major
    table = Sweep(task, grid, seeds, store=store, backend=backend, n_jobs=n_jobs, seed=seed, progress=progress).run()
    keep = ["method", "instance", "replicate", "seed", "return", "optimal", "normalized", "elapsed"]
    out = table[keep].merge(phis.rename_axis("instance").reset_index(), on="instance")
    if include_nominal:
        out.loc[out["instance"] == len(phis) - 1, "instance"] = -1
    return out.sort_values(["method", "instance", "replicate"], kind="stable").reset_index(drop=True)
