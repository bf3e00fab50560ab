r"""TSCAC: two-stage constrained actor-critic (tabular), and a synthetic recommendation CMDP.

Cai, Xue, Zhang, Xue, Liu, Zhan, Wang, Zuo, Xie, Zheng, Jiang, Gai, "Two-Stage Constrained
Actor-Critic for Short Video Recommendation", WWW 2023, arXiv 2302.01680. A main response
(watch time, ``r_1``) is maximised subject to auxiliary responses (click, like, ...) meeting
thresholds.

- **Stage one**: for each auxiliary response ``i`` a policy ``pi_i`` maximising ``J_i`` (here:
  the soft-optimal policy of ``r_i`` at a temperature, by exact soft value iteration, so that
  every ``pi_i`` has full support and the KL terms below are finite).
- **Stage two**: per state, ``max_pi E_{a~pi}[A_1(s,a)] - sum_i lambda_i KL(pi(.|s) || pi_i(.|s))``,
  whose maximiser is (Lagrangian; derived, and tested against the numerical argmax)

  .. math::
      \pi^*(a|s) \propto \prod_i \pi_i(a|s)^{\lambda_i/\Lambda} \exp\big(A_1(s,a)/\Lambda\big),
      \qquad \Lambda = \sum_i \lambda_i .

  As ``lambda_i -> inf`` (others fixed) it tends to ``pi_i``; as ``Lambda -> 0`` (fixed
  proportions) to the greedy policy of ``A_1``.
- **Offline projection**: ``max_theta E_{(s,a)~D}[(pi*(a|s)/pi_beta(a|s)) log pi_theta(a|s)]``,
  i.e. ``min KL(pi* || pi_theta)`` on the logged states; tabular closed form
  ``pi_theta(a|s) ∝ sum_{(s,a) in D} pi*(a|s)/pi_beta(a|s)``.

Deviations: critics are exact (policy evaluation on the known model) instead of learned; the
paper's actor is REINFORCE on discrete items while the official code uses a deterministic DDPG
actor with an MSE pull toward stage one (confirmed by the authors in the repository's issue #1);
neither is reproduced. :func:`tscac` repeats stage two with the advantage of the current policy
(a KL-regularised policy iteration); the multipliers are hyperparameters, as in the paper.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from .._deprecation import renamed_arguments
from .._result import LegacyKeysMixin, Result
from .._validation import as_float_array, check_finite, check_int, check_real
from ..errors import InvalidModelError
from ..tabular import policy_value, q_values, soft_value_iteration
from ._cmdp import CMDP
from ._dataset import TransitionDataset

__all__ = ["TSCACResult", "tscac", "tscac_project", "tscac_stage_one", "tscac_stage_two"]


@dataclass(frozen=True, repr=False, eq=False)
class TSCACResult(LegacyKeysMixin, Result):
    """What :func:`tscac` returns (a dict before; ``result["policy"]`` still reads the attribute,
    with a :class:`DeprecationWarning`). No certificate: TSCAC is a heuristic two-stage actor.

    Attributes
    ----------
    policy : ndarray, shape (S, A)
        The stage-two policy after ``n_iter`` updates.
    stage_one : ndarray, shape (m, S, A)
        The stage-one policies, one per auxiliary response.
    main_return : float
        ``J_1`` of ``policy`` (unnormalised discounted return from d0).
    constraint_returns : ndarray, shape (m,)
        ``J_i`` of ``policy``.
    feasible : bool
        Whether every ``J_i >= c_i`` (within 1e-9).
    method, params, elapsed
        As for every :class:`~theory_rl._result.Result`.

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> cmdp = envs.recommendation_cmdp(n_engagement_levels=2, n_items=2, seed=0)
    >>> res = dual.tscac(cmdp, [1.0] * cmdp.n_constraints, max_iter=3)
    >>> type(res).__name__, res.policy.shape
    ('TSCACResult', (2, 2))
    """

    policy: np.ndarray
    stage_one: np.ndarray
    main_return: float
    constraint_returns: np.ndarray
    feasible: bool

    _repr_fields = ("method", "main_return", "constraint_returns", "feasible", "elapsed")


def tscac_stage_one(cmdp: CMDP, *, temperature: float = 0.1) -> np.ndarray:
    r"""Stage one: one policy per auxiliary response, ``pi_i = softmax((Q_i^soft - V_i^soft)/tau)``
    from exact soft value iteration on ``r_i`` (tau = ``temperature``, ``> 0``). Shape (m, S, A).

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> cmdp = envs.recommendation_cmdp(n_engagement_levels=2, n_items=2, seed=0)
    >>> pis = dual.tscac_stage_one(cmdp, temperature=0.1)
    >>> pis.shape[0] == cmdp.n_constraints, bool(abs(pis.sum(axis=2) - 1.0).max() < 1e-12)
    (True, True)
    """
    temperature = check_real(temperature, "temperature", low=0.0, low_open=True)
    return np.stack([
        soft_value_iteration(cmdp.mdp.replace(R=cmdp.constraint_rewards[i]), temperature=temperature, tol=1e-10).policy
        for i in range(cmdp.n_constraints)
    ])


def tscac_stage_two(advantage: np.ndarray, stage_one_policies: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
    r"""The closed-form stage-two policy
    ``pi*(a|s) ∝ prod_i pi_i(a|s)^{lambda_i/Lambda} exp(A_1(s,a)/Lambda)``, shape (S, A).

    ``Lambda = 0`` returns the greedy policy of ``A_1`` (uniform over ties), the limit.

    Parameters
    ----------
    advantage : ndarray, shape (S, A)
        ``A_1(s, a)`` of the main response.
    stage_one_policies : ndarray, shape (m, S, A)
        Full-support stage-one policies.
    multipliers : ndarray, shape (m,)
        ``lambda_i >= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import dual
    >>> pi = dual.tscac_stage_two(np.zeros((1, 2)), np.array([[[0.8, 0.2]]]), np.array([1.0]))
    >>> pi.round(6).tolist()                 # zero advantage: the stage-one policy itself
    [[0.8, 0.2]]
    """
    A1 = as_float_array(advantage, "advantage", ndim=2)
    check_finite(A1, "advantage")
    pis = as_float_array(stage_one_policies, "stage_one_policies", ndim=3)
    lam = np.atleast_1d(as_float_array(multipliers, "multipliers", ndim=(0, 1)))
    if pis.shape[1:] != A1.shape or lam.shape != (pis.shape[0],):
        raise InvalidModelError(f"shapes do not match: advantage {A1.shape}, stage_one_policies {pis.shape}, "
                                f"multipliers {lam.shape}")
    if (lam < 0).any() or not np.isfinite(lam).all():
        raise InvalidModelError(f"multipliers must be finite and >= 0, got {lam}")
    if (pis <= 0).any():
        i, s, a = np.argwhere(pis <= 0)[0]
        raise InvalidModelError(f"stage_one_policies[{i}, {s}, {a}] = 0: KL(pi || pi_i) needs full-support pi_i")
    total = float(lam.sum())
    if total == 0.0:
        best = A1 == A1.max(axis=1, keepdims=True)
        return best / best.sum(axis=1, keepdims=True)
    logits = (np.einsum("i,isa->sa", lam, np.log(pis)) + A1) / total
    return softmax(logits, axis=1)


def tscac_project(dataset: TransitionDataset, target_policy: np.ndarray, behaviour_policy: np.ndarray) -> np.ndarray:
    r"""Offline projection of ``pi*`` on logged data, tabular closed form:
    ``argmax_theta sum_{(s,a) in D} (pi*(a|s)/pi_beta(a|s)) log pi_theta(a|s)`` is
    ``pi_theta(a|s) ∝ sum_{(s,a) in D} pi*(a|s)/pi_beta(a|s)`` (uniform on unlogged states).
    As the data grow it tends to ``pi*`` on states the behaviour visits with full support.

    Parameters
    ----------
    dataset : TransitionDataset
    target_policy, behaviour_policy : ndarray, shape (S, A)
        ``pi*`` and the logging policy ``pi_beta`` (``> 0`` on every logged pair).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import dual
    >>> data = dual.TransitionDataset([0, 0], [0, 1], [0.0, 0.0], [0, 0], [False, False], 1, 2)
    >>> dual.tscac_project(data, np.array([[0.8, 0.2]]), np.array([[0.5, 0.5]])).round(6).tolist()
    [[0.8, 0.2]]
    """
    S, A = dataset.n_states, dataset.n_actions
    tgt = as_float_array(target_policy, "target_policy", ndim=2)
    beh = as_float_array(behaviour_policy, "behaviour_policy", ndim=2)
    if tgt.shape != (S, A) or beh.shape != (S, A):
        raise InvalidModelError(f"target_policy {tgt.shape} and behaviour_policy {beh.shape} must be ({S}, {A})")
    s, a = dataset.states, dataset.actions
    if (beh[s, a] <= 0).any():
        i = int(np.argmax(beh[s, a] <= 0))
        raise InvalidModelError(f"behaviour_policy[{s[i]}, {a[i]}] = 0 but transition {i} logged that pair")
    w = np.zeros(S * A)
    np.add.at(w, s * A + a, tgt[s, a] / beh[s, a])
    w = w.reshape(S, A)
    tot = w.sum(axis=1, keepdims=True)
    return np.divide(w, tot, out=np.full((S, A), 1.0 / A), where=tot > 0)


@renamed_arguments(n_iter="max_iter")
def tscac(cmdp: CMDP, multipliers: np.ndarray, *, temperature: float = 0.1, max_iter: int = 30,
          policy0: np.ndarray | None = None) -> TSCACResult:
    r"""Tabular TSCAC on a known CMDP: stage one, then ``max_iter`` stage-two updates, each with the
    exact main-response advantage ``A_1 = Q_1^{pi_k} - V_1^{pi_k}`` of the current policy (Cai et
    al. 2023, "Two-Stage Constrained Actor-Critic for Short Video Recommendation", WWW,
    arXiv 2302.01680; the stage-two closed form is in the module docstring).

    Parameters
    ----------
    cmdp : CMDP
    multipliers : ndarray, shape (m,)
        The fixed Lagrange weights of the constraint responses.
    temperature : float
        Stage-one softmax temperature, ``> 0``.
    max_iter : int
        Stage-two updates (all are run), ``>= 1``; called ``n_iter`` before 0.2.0 (still accepted
        until 0.3.0, with a ``DeprecationWarning``).
    policy0 : ndarray, shape (S, A), optional
        Starting policy (default uniform).

    Returns
    -------
    TSCACResult
        ``policy`` (S, A), ``stage_one`` (m, S, A), ``main_return`` ``J_1``, ``constraint_returns``
        ``J_i`` (unnormalised discounted returns from d0), ``feasible`` (all ``J_i >= c_i``).

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> cmdp = envs.recommendation_cmdp(n_engagement_levels=2, n_items=2, seed=0)
    >>> res = dual.tscac(cmdp, [1.0] * cmdp.n_constraints, max_iter=5)
    >>> bool(abs(res.policy.sum(axis=1) - 1.0).max() < 1e-12), res.constraint_returns.shape
    (True, (2,))
    """
    start = time.perf_counter()
    mdp = cmdp.mdp
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    pis = tscac_stage_one(cmdp, temperature=temperature)
    pi = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions) if policy0 is None else np.asarray(policy0)
    for _ in range(max_iter):
        v = policy_value(mdp, pi)
        pi = tscac_stage_two(q_values(mdp, v) - v[:, None], pis, multipliers)
    J1, J = cmdp.returns(pi)
    return TSCACResult(policy=pi, stage_one=pis, main_return=float(J1), constraint_returns=J,
                       feasible=bool(np.all(J >= cmdp.thresholds - 1e-9)), method="tscac",
                       params={"multipliers": np.asarray(multipliers, dtype=float).tolist(), "temperature": temperature,
                               "max_iter": max_iter, "policy0": policy0 is not None},
                       elapsed=time.perf_counter() - start)



