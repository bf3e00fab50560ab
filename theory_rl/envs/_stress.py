"""Small random models that stress certificates: near-deterministic discounted MDPs and random
stochastic shortest path models with and without improper policies."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._validation import check_bool, check_int, check_real, rng_from_seed
from ..models import FiniteMDP

__all__ = ["near_deterministic_mdp", "random_shortest_path"]


def near_deterministic_mdp(
    n_states: int = 5,
    n_actions: int = 2,
    *,
    slip: float = 1e-9,
    gamma: float = 0.9,
    seed: int | np.random.Generator | None = None,
) -> FiniteMDP:
    r"""A random MDP whose every transition row is deterministic up to a tiny ``slip``.

    For every pair ``(s, a)`` a successor :math:`t(s, a) \sim \mathcal U\{0, \dots, S-1\}` is drawn
    and

    .. math::
        P(t \mid s, a) = 1 - \varepsilon, \qquad P((t + 1) \bmod S \mid s, a) = \varepsilon,
        \qquad R(s, a) \sim \mathcal U[0, 1] \quad \text{i.i.d.},

    with :math:`\varepsilon` = ``slip`` (when ``S = 1`` both entries are the one state). With
    :math:`\varepsilon` near the unit roundoff the rows sum to one only up to rounding and value
    iteration's span contracts by little more than :math:`\gamma` per step, which is what makes
    these models a test of a stopping rule's certificate (Puterman, *Markov Decision Processes*,
    Wiley 1994, section 6.6: the span bound :math:`\operatorname{sp}(v_{n+1} - v_n)\gamma/(1-\gamma)`).

    Parameters
    ----------
    n_states, n_actions : int
        ``S >= 1`` and ``A >= 1``.
    slip : float
        :math:`\varepsilon \in [0, 1]`, the probability of the neighbouring successor.
    gamma : float
        Discount factor in ``[0, 1)``.
    seed : int or numpy.random.Generator, optional
        Randomness; equal seeds give identical models. Draw order: the ``S A`` successors (state
        by state, action by action), then the rewards.

    Returns
    -------
    FiniteMDP
        Dense ``P[s, a, s']`` of shape ``(S, A, S)``, ``R[s, a]`` of shape ``(S, A)``.

    Examples
    --------
    >>> from theory_rl import envs
    >>> mdp = envs.near_deterministic_mdp(4, 2, slip=1e-3, seed=0)
    >>> print(mdp.n_states, mdp.n_actions, float(mdp.P.max()))
    4 2 0.999
    """
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    eps = check_real(slip, "slip", low=0.0, high=1.0)
    rng = rng_from_seed(seed)
    target = rng.integers(S, size=(S, A))
    P = np.zeros((S, A, S))
    s_idx, a_idx = np.meshgrid(np.arange(S), np.arange(A), indexing="ij")
    P[s_idx, a_idx, target] = 1.0 - eps
    P[s_idx, a_idx, (target + 1) % S] += eps
    return FiniteMDP(P, rng.uniform(0.0, 1.0, (S, A)), gamma)


def random_shortest_path(
    n_states: int,
    n_actions: int,
    *,
    all_proper: bool = True,
    sparse: bool = False,
    masked: bool = False,
    seed: int | np.random.Generator | None = None,
) -> FiniteMDP:
    r"""A random stochastic shortest path model (``gamma = 1``) with one or two terminal states.

    One or two terminal states are drawn at random positions of a random order of the states; a
    terminal state is absorbing with reward 0. For every other pair ``(s, a)`` a sparse Dirichlet
    row :math:`w \sim \operatorname{Dir}(1/2, \dots, 1/2)`, each entry kept with probability 0.6,
    restricted to the non-terminal states, is turned into the transition row:

    - ``all_proper=True``: a terminal state receives probability
      :math:`p \sim \mathcal U[0.05, 0.6]` and :math:`w` the rest, so every policy terminates
      (is *proper*) and rewards are :math:`\mathcal U[-1, 1]`;
    - ``all_proper=False``: action 0 moves at least half of its mass one step towards termination
      along the random order (a proper policy exists), the other actions wander among the
      non-terminal states (improper policies exist), and rewards are :math:`\mathcal U[-1, -0.01]`,
      so every improper policy earns :math:`-\infty`.

    These are the two cases of Bertsekas and Tsitsiklis, "An analysis of stochastic shortest path
    problems", *Mathematics of Operations Research* 16(3), 1991: a proper policy exists and every
    improper one has cost :math:`+\infty` (reward :math:`-\infty` here), under which value and
    policy iteration converge to the unique optimum. Meant for small test models: the rows are
    drawn one by one.

    Parameters
    ----------
    n_states : int
        ``S >= 2`` (a terminal and a non-terminal state at least).
    n_actions : int
        ``A >= 1``.
    all_proper : bool
        Every policy proper (``True``) or improper policies present (``False``).
    sparse : bool
        Store the kernel as CSR of shape ``(S*A, S)`` instead of dense ``(S, A, S)``.
    masked : bool
        Make each action other than 0 unavailable with probability 0.3 (``action_mask``).
    seed : int or numpy.random.Generator, optional
        Randomness; equal seeds give identical models.

    Returns
    -------
    FiniteMDP
        With ``gamma = 1`` and ``terminal`` set.

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.random_shortest_path(5, 2, all_proper=True, seed=0)
    >>> print(mdp.gamma, int(mdp.terminal.sum()))
    1.0 2
    >>> sol = tabular.shortest_path_policy_iteration(mdp)
    >>> print(sol.converged, bool((sol.v[mdp.terminal] == 0).all()))
    True True
    """
    S = check_int(n_states, "n_states", minimum=2)
    A = check_int(n_actions, "n_actions")
    all_proper = check_bool(all_proper, "all_proper")
    sparse = check_bool(sparse, "sparse")
    masked = check_bool(masked, "masked")
    rng = rng_from_seed(seed)
    n_term = int(rng.integers(1, 3))
    order = rng.permutation(S)  # terminal states first, then the others
    term = np.zeros(S, dtype=bool)
    term[order[:n_term]] = True
    nonterm = np.flatnonzero(~term)
    position = np.empty(S, dtype=np.int64)
    position[order] = np.arange(S)
    P = np.zeros((S, A, S))
    for s in range(S):
        if term[s]:
            P[s, :, s] = 1.0
            continue
        for a in range(A):
            w = rng.dirichlet(np.full(S, 0.5)) * (rng.random(S) < 0.6)
            w[term] = 0.0
            if all_proper:
                if w.sum() == 0:
                    w[rng.choice(nonterm)] = 1.0
                t = rng.choice(np.flatnonzero(term))
                p_end = rng.uniform(0.05, 0.6)
                w = (1.0 - p_end) * w / w.sum()
                w[t] += p_end
            elif a == 0:
                w = w / w.sum() * 0.5 if w.sum() > 0 else w
                w[order[position[s] - 1]] += 1.0 - w.sum()
            elif w.sum() == 0:
                w[s] = 1.0
            P[s, a] = w / w.sum()
    R = rng.uniform(-1.0, 1.0, (S, A)) if all_proper else rng.uniform(-1.0, -0.01, (S, A))
    R[term] = 0.0
    mask = None
    if masked and A > 1:
        mask = rng.random((S, A)) < 0.7
        mask[:, 0] = True
    kernel = sp.csr_matrix(P.reshape(S * A, S)) if sparse else P
    return FiniteMDP(kernel, R, 1.0, terminal=term, action_mask=mask)
