r"""Model-based planning with a generative model ("plug-in" / certainty equivalence)."""

from __future__ import annotations

import numpy as np

from .._deprecation import renamed_arguments
from .._iterative import Timer
from .._validation import check_int, check_tol, rng_from_seed
from ..models import FiniteMDP
from ..tabular import policy_iteration, q_values
from ._q_learning import _check_q
from ._result import LearningResult
from ._sampling import check_learnable, empirical_model, sample_transitions

__all__ = ["plug_in_planning"]


@renamed_arguments(positional=("n_per_pair",))
def plug_in_planning(
    mdp: FiniteMDP,
    *,
    n_per_pair: int,
    seed: int | np.random.Generator | None = None,
    tol: float = 1e-10,
    q_star: np.ndarray | None = None,
) -> LearningResult:
    r"""Draw ``n`` samples per pair, build the empirical MDP and solve it exactly.

    .. math::
        \hat P(s' \mid s,a) = \tfrac1n \#\{i : s'_{s,a,i} = s'\}, \qquad
        \hat Q^* = \text{the optimal Q of } \hat M = (S, A, \hat P, R, \gamma), \qquad
        \hat\pi = \arg\max_a \hat Q^*(\cdot, a).

    The empirical MDP is solved by policy iteration (exact evaluation, MacQueen-certified to
    ``tol``), so the only error left is statistical.

    Guarantee (Agarwal, Kakade & Yang 2020, arXiv:1906.03804, Thm 1; rewards in ``[0, 1]``): for
    ``eps in (0, (1-gamma)^{-1/2}]``, if
    ``n >= c gamma log(c S A / ((1-gamma) delta)) / ((1-gamma)^3 eps^2)`` then with probability
    at least ``1 - delta`` both ``||Q_hat* - Q*||_inf <= eps`` and ``||Q* - Q^{pi_hat}||_inf <= eps``
    (``c`` an unspecified absolute constant). Equivalently the error decays as
    ``n^{-1/2} (1-gamma)^{-3/2}`` up to logs, which matches the minimax lower bound of Azar,
    Munos & Kappen (2013, Machine Learning 91:325-349, Thm 3). See
    :func:`theory_rl.theory.plug_in_error` and :func:`theory_rl.theory.model_based_generative`.

    Parameters
    ----------
    mdp : FiniteMDP
        The true model, used only as the generative model (and for ``R``, which is known).
    n_per_pair : int
        Samples per state-action pair (the papers' ``N``), ``>= 1``; ``n * S * A`` transitions in
        total. Keyword-only (passing it by position still works until 0.3.0, with a warning).
    seed : int or numpy.random.Generator, optional
    tol : float
        Certified accuracy of the planner on the empirical model, ``> 0``.
    q_star : ndarray, shape (S, A), optional
        The true optimal Q; when given, ``trace["error"] = [||Q_hat - Q*||_inf]``.

    Returns
    -------
    LearningResult
        ``q`` = ``Q_hat*`` of shape ``(S, A)``, ``policy`` its greedy policy, ``model`` the
        empirical MDP, ``history`` with ``step = [1]``, ``samples = [n]`` (and ``error``), and
        the planner's residual history as ``info["planner_residual"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, learning, tabular
    >>> mdp = envs.random_mdp(8, 3, seed=0, gamma=0.9)
    >>> res = learning.plug_in_planning(mdp, n_per_pair=200, seed=0)
    >>> res.n_samples
    4800
    >>> v_pi = tabular.policy_value(mdp, res.policy)
    >>> print(f"{np.abs(tabular.policy_iteration(mdp).v - v_pi).max():.3f}")
    0.000
    """
    check_learnable(mdp)
    n = check_int(n_per_pair, "n_per_pair", minimum=1)
    tol = check_tol(tol)
    rng = rng_from_seed(seed)
    q_star = _check_q(mdp, q_star, "q_star")
    with Timer() as timer:
        model = empirical_model(mdp, sample_transitions(mdp, n_per_pair=n, seed=rng))
        sol = policy_iteration(model, tol=tol)
        q = q_values(model, sol.v)
        policy = np.asarray(q.argmax(axis=1), dtype=np.int64)
    trace = {"step": np.array([1]), "samples": np.array([n])}
    if q_star is not None:
        trace["error"] = np.array([float(np.max(np.abs(q - q_star)))])
    return LearningResult(q=q, policy=policy, history=trace, method="plug_in_planning",
                          params={"n_per_pair": n, "tol": tol}, n_samples=n * mdp.n_states * mdp.n_actions,
                          elapsed=timer.elapsed, model=model,
                          info={"planner_residual": np.asarray(sol.history)})
