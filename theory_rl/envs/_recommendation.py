r"""A synthetic multi-response recommendation CMDP (short-video style), the benchmark of TSCAC
(Cai, Zhang, Chen, Jiang, Chen, Li, Zhou, Zheng, Gai, "Two-stage constrained actor-critic for short
video recommendation", WWW 2023, arXiv 2302.01680; :func:`theory_rl.dual.tscac`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_int, check_probability, check_real, rng_from_seed
from ..errors import SolverError
from ..models import FiniteMDP

if TYPE_CHECKING:
    from ..dual import CMDP

__all__ = ["recommendation_cmdp"]


def recommendation_cmdp(*, n_engagement_levels: int = 5, n_items: int = 6, n_responses: int = 2,
                        gamma: float = 0.9, tightness: float = 0.5,
                        seed: int | np.random.Generator | None = None) -> CMDP:
    r"""A synthetic multi-response recommendation CMDP (short-video style).

    State: the user's engagement level ``e in {0..E-1}`` (``d0`` uniform on the lower half).
    Action: the item recommended. Item ``a`` has a watch-time score ``w_a`` and interaction
    probabilities ``p_{i,a}`` (click, like, ...) drawn so that they are *negatively* correlated
    with watch time (the tension TSCAC addresses). Responses:
    ``r_1(e, a) = w_a (1 + e)/E`` (main, ``mdp.R``) and ``r_i(e, a) = p_{i,a} (1 + e)/E``.
    Engagement moves up with probability ``0.2 + 0.6 * mean_i p_{i,a}``, down with probability
    ``0.3 (1 - w_a)``, else stays. Thresholds ``c_i = J_i(pi_1*) + tightness (max_pi J_i - J_i(pi_1*))``
    with ``pi_1*`` the watch-time-optimal policy (so the constraints bind for ``tightness > 0``);
    ``tightness`` is halved until the CMDP is feasible.

    Examples
    --------
    >>> from theory_rl.envs import recommendation_cmdp
    >>> cmdp = recommendation_cmdp(seed=0, n_responses=2)
    >>> cmdp.mdp.n_states, cmdp.mdp.n_actions
    (5, 6)
    """
    # envs builds dual's models (dual never imports envs); imported here to keep envs light
    from ..dual import CMDP, primal_lp, solve_cmdp_lp

    rng = rng_from_seed(seed)
    E = check_int(n_engagement_levels, "n_engagement_levels", minimum=2)
    n_it, m = check_int(n_items, "n_items", minimum=2), check_int(n_responses, "n_responses", minimum=1)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    tightness = check_probability(tightness, "tightness")
    watch = rng.uniform(0.2, 1.0, size=n_it)
    inter = np.clip(1.0 - watch[None, :] + rng.normal(0.0, 0.15, size=(m, n_it)), 0.02, 0.98)
    level = (1.0 + np.arange(E)) / E
    R1 = level[:, None] * watch[None, :]
    Rc = inter[:, None, :] * level[None, :, None]
    up = 0.2 + 0.6 * inter.mean(axis=0)
    down = 0.3 * (1.0 - watch)
    P = np.zeros((E, n_it, E))
    idx = np.arange(E)
    P[idx, :, np.minimum(idx + 1, E - 1)] += up[None, :]
    P[idx, :, np.maximum(idx - 1, 0)] += down[None, :]
    P[idx, :, idx] += 1.0 - up[None, :] - down[None, :]
    d0 = np.zeros(E)
    d0[: max(1, E // 2)] = 1.0
    mdp = FiniteMDP(P, R1, gamma, d0=d0 / d0.sum(), state_names=[f"engagement {e}" for e in range(E)],
                    action_names=[f"item {a}" for a in range(n_it)])
    names = tuple(["click", "like", "follow", "comment", "share", "forward"][i] if i < 6 else f"response {i}"
                  for i in range(m))
    pi1 = primal_lp(mdp, normalized=False).policy
    base = np.array([CMDP(mdp, Rc, np.zeros(m)).returns(pi1)[1]]).ravel()
    best = np.array([primal_lp(mdp.replace(R=Rc[i]), normalized=False).objective for i in range(m)])
    t = float(tightness)
    for _ in range(30):
        cmdp = CMDP(mdp, Rc, base + t * (best - base), constraint_names=names)
        try:
            solve_cmdp_lp(cmdp)
            return cmdp
        except SolverError:  # jointly infeasible: loosen
            t *= 0.5
    return CMDP(mdp, Rc, base, constraint_names=names)
