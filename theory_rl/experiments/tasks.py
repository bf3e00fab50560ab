r"""Ready-made sweep tasks for the sample-complexity reproductions (``fn(**params, seed=...) -> dict``).

Each task builds its model from a string with :func:`theory_rl.envs.make` (``"river_swim"``,
``"random_mdp:n_states=20,n_actions=4,seed=0"``, ``"hard"`` for :func:`theory_rl.envs.hard_instance`,
or a model file), with the task's ``gamma``,
runs one learner with the task's seed, and returns plain numbers for the store. Exact
references (``Q*``) are computed once per worker process and cached.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .. import learning, tabular
from .._validation import check_int
from ..envs import hard_instance, make
from ..errors import InvalidArgumentError
from ..models import FiniteMDP

__all__ = ["generative_error", "hard_instance", "plug_in_error", "regret"]


@lru_cache(maxsize=64)
def _model(env: str, gamma: float) -> FiniteMDP:
    model = make(env, gamma=gamma)
    if not isinstance(model, FiniteMDP):
        raise InvalidArgumentError(f"env = {env!r} builds a {type(model).__name__}; the sample-complexity tasks need a FiniteMDP")
    return model


@lru_cache(maxsize=64)
def _reference(env: str, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    mdp = _model(env, gamma)
    v = tabular.policy_iteration(mdp, tol=1e-12).v
    return tabular.q_values(mdp, v), v


def plug_in_error(*, env: str, n: int, gamma: float, seed: int) -> dict[str, float]:
    """Plug-in planning with ``n`` samples per pair: ``error = ||Q_hat* - Q*||_inf`` and
    ``policy_gap = ||V* - V^{pi_hat}||_inf``."""
    n = check_int(n, "n")
    mdp = _model(env, gamma)
    q_star, v_star = _reference(env, gamma)
    res = learning.plug_in_planning(mdp, n_per_pair=n, seed=seed, q_star=q_star)
    gap = float(np.max(v_star - tabular.policy_value(mdp, res.policy)))
    return {"error": res.final_error, "policy_gap": gap, "one_minus_gamma": 1.0 - gamma,
            "samples_per_pair": n}


def generative_error(*, env: str, n: int, gamma: float, method: str, seed: int) -> dict[str, float]:
    """``||Q - Q*||_inf`` after ``n`` samples per pair for ``method`` in ``{"plug_in", "q_learning",
    "vr_q_learning"}``. Q-learning uses rescaled-linear steps; VR-QL runs 3 epochs, half the
    budget recentring (``N_m = N_1 4^(m-1)``) and half in ``n/6``-step inner loops."""
    n = check_int(n, "n")
    mdp = _model(env, gamma)
    q_star, _ = _reference(env, gamma)
    if method == "plug_in":
        res = learning.plug_in_planning(mdp, n_per_pair=n, seed=seed, q_star=q_star)
    elif method == "q_learning":
        res = learning.q_learning(mdp, max_iter=n, seed=seed)
    elif method == "vr_q_learning":
        M = 3
        res = learning.variance_reduced_q_learning(
            mdp, n_epochs=M, epoch_length=max(1, n // (2 * M)),
            recentering_samples=max(1, math.floor(n / 2 / ((4**M - 1) / 3))), seed=seed)
    else:
        raise InvalidArgumentError(f"method = {method!r}: expected 'plug_in', 'q_learning' or 'vr_q_learning'")
    return {"error": float(np.max(np.abs(res.q - q_star))), "one_minus_gamma": 1.0 - gamma,
            "samples_per_pair": res.n_samples / (mdp.n_states * mdp.n_actions)}


def regret(*, env: str, episodes: int, horizon: int, method: str, seed: int, bonus_scale: float = 1.0,
           c: float = 1.0) -> dict[str, float]:
    """Cumulative regret after ``episodes`` episodes of ``horizon`` steps for ``method`` in
    ``{"ucbvi", "ucb_h", "ucb_b"}`` (``T = episodes * horizon`` in the result)."""
    episodes, horizon = check_int(episodes, "episodes"), check_int(horizon, "horizon")
    mdp = _model(env, 0.9)  # gamma is ignored by the episodic learners
    if method == "ucbvi":
        res = learning.ucbvi(mdp, horizon=horizon, n_episodes=episodes, bonus_scale=bonus_scale, seed=seed)
    elif method in ("ucb_h", "ucb_b"):
        res = learning.ucb_q_learning(mdp, horizon=horizon, n_episodes=episodes, c=c,
                                      bonus="hoeffding" if method == "ucb_h" else "bernstein", seed=seed)
    else:
        raise InvalidArgumentError(f"method = {method!r}: expected 'ucbvi', 'ucb_h' or 'ucb_b'")
    return {"regret": float(res.history["regret"][-1]), "T": int(episodes) * int(horizon),
            "min_optimism": float(res.history["optimism"].min())}
