r"""Ready-made sweep tasks for the sample-complexity reproductions (``fn(**params, seed=...) -> dict``).

Each task builds its model from a string (``"river_swim"``, ``"random_mdp:n_states=20,n_actions=4,seed=0"``,
anything :func:`theory_rl.cli.load_model` accepts, or ``"hard"`` for :func:`hard_instance`),
runs one learner with the task's seed, and returns plain numbers for the store. Exact
references (``Q*``) are computed once per worker process and cached.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .. import learning, tabular
from ..errors import InvalidModelError
from ..models import FiniteMDP

__all__ = ["generative_error", "hard_instance", "plug_in_error", "regret"]


def hard_instance(gamma: float, n_actions: int = 2) -> FiniteMDP:
    r"""The two-state instance behind the minimax lower bound of Azar, Munos & Kappen (2013, Sec. 4).

    State 0 pays reward 1 and stays put with probability ``p = (4 gamma - 1)/(3 gamma)`` under
    every action (else it falls into the absorbing, rewardless state 1). Then
    ``1 - gamma p = 4(1-gamma)/3`` and ``Var(p_hat) ~ (1-gamma)/(3 gamma n)``, so the plug-in error
    ``gamma |p_hat - p| / (1 - gamma p)^2`` scales as ``(1-gamma)^{-3/2} n^{-1/2}``: on this
    instance the theorem's ``(1-gamma)`` exponent is attained, whereas benign models (RiverSwim,
    Dirichlet random MDPs) have far smaller variance of ``V*`` and a shallower dependence.
    With ``n_actions >= 2`` identical actions the max over noisy estimates adds the
    over-estimation that makes Q-learning worse (Li et al. 2021, Sec. 4). Requires ``gamma > 1/4``.
    """
    if not 0.25 < gamma < 1:
        raise InvalidModelError(f"hard_instance needs 1/4 < gamma < 1, got {gamma!r}")
    p = (4 * gamma - 1) / (3 * gamma)
    P = np.zeros((2, n_actions, 2))
    P[0, :, 0], P[0, :, 1], P[1, :, 1] = p, 1 - p, 1.0
    R = np.zeros((2, n_actions))
    R[0] = 1.0
    return FiniteMDP(P, R, gamma)


@lru_cache(maxsize=64)
def _model(env: str, gamma: float) -> FiniteMDP:
    if env == "hard":
        return hard_instance(gamma)
    from ..cli import load_model

    return load_model(env, gamma=gamma)


@lru_cache(maxsize=64)
def _reference(env: str, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    mdp = _model(env, gamma)
    v = tabular.policy_iteration(mdp, tol=1e-12).v
    return tabular.q_values(mdp, v), v


def plug_in_error(*, env: str, n: int, gamma: float, seed: int) -> dict[str, float]:
    """Plug-in planning with ``n`` samples per pair: ``error = ||Q_hat* - Q*||_inf`` and
    ``policy_gap = ||V* - V^{pi_hat}||_inf``."""
    mdp = _model(env, gamma)
    q_star, v_star = _reference(env, gamma)
    res = learning.plug_in_planning(mdp, int(n), seed=seed, q_star=q_star)
    gap = float(np.max(v_star - tabular.policy_value(mdp, res.policy)))
    return {"error": res.final_error, "policy_gap": gap, "one_minus_gamma": 1.0 - gamma,
            "samples_per_pair": int(n)}


def generative_error(*, env: str, n: int, gamma: float, method: str, seed: int) -> dict[str, float]:
    """``||Q - Q*||_inf`` after ``n`` samples per pair for ``method`` in ``{"plug_in", "q_learning",
    "vr_q_learning"}``. Q-learning uses rescaled-linear steps; VR-QL runs 3 epochs, half the
    budget recentring (``N_m = N_1 4^(m-1)``) and half in ``n/6``-step inner loops."""
    mdp = _model(env, gamma)
    q_star, _ = _reference(env, gamma)
    n = int(n)
    if method == "plug_in":
        res = learning.plug_in_planning(mdp, n, seed=seed, q_star=q_star)
    elif method == "q_learning":
        res = learning.q_learning(mdp, n, seed=seed)
    elif method == "vr_q_learning":
        M = 3
        res = learning.variance_reduced_q_learning(
            mdp, n_epochs=M, epoch_length=max(1, n // (2 * M)),
            recentering_samples=max(1, math.floor(n / 2 / ((4**M - 1) / 3))), seed=seed)
    else:
        raise InvalidModelError(f"method = {method!r}: expected 'plug_in', 'q_learning' or 'vr_q_learning'")
    return {"error": float(np.max(np.abs(res.q - q_star))), "one_minus_gamma": 1.0 - gamma,
            "samples_per_pair": res.n_samples / (mdp.n_states * mdp.n_actions)}


def regret(*, env: str, episodes: int, horizon: int, method: str, seed: int, bonus_scale: float = 1.0,
           c: float = 1.0) -> dict[str, float]:
    """Cumulative regret after ``episodes`` episodes of ``horizon`` steps for ``method`` in
    ``{"ucbvi", "ucb_h", "ucb_b"}`` (``T = episodes * horizon`` in the result)."""
    mdp = _model(env, 0.9)  # gamma is ignored by the episodic learners
    if method == "ucbvi":
        res = learning.ucbvi(mdp, horizon=horizon, n_episodes=episodes, bonus_scale=bonus_scale, seed=seed)
    elif method in ("ucb_h", "ucb_b"):
        res = learning.ucb_q_learning(mdp, horizon=horizon, n_episodes=episodes, c=c,
                                      bonus="hoeffding" if method == "ucb_h" else "bernstein", seed=seed)
    else:
        raise InvalidModelError(f"method = {method!r}: expected 'ucbvi', 'ucb_h' or 'ucb_b'")
    return {"regret": float(res.trace["regret"][-1]), "T": int(episodes) * int(horizon),
            "min_optimism": float(res.trace["optimism"].min())}
