r"""Finite offline datasets of transitions ``(s, a, r, s', done)`` and their generator.

The offline algorithms of this subpackage (f-DVL, ReCOIL, TSCAC's projection, behaviour cloning)
read a :class:`TransitionDataset`. :func:`collect_dataset` makes one from a tabular MDP by rolling
out a mixture of expert and random episodes, so the benchmarks need no download.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._deprecation import renamed_arguments
from .._validation import as_float_array, check_finite, check_int, check_probability, rng_from_seed
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ..tabular import as_policy, check_index_range, effective_rewards

__all__ = ["TransitionDataset", "behaviour_cloning", "collect_dataset"]


def _int_array(x: object, name: str, upper: int, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise InvalidModelError(f"{name} must be a 1-D array of integer indices, got dtype {arr.dtype} shape {arr.shape}")
    arr = arr.astype(np.int64)
    check_index_range(arr, name, upper, what)
    return arr


@dataclass(frozen=True, repr=False, eq=False)
class TransitionDataset:
    """A finite dataset of transitions with integer states and actions.

    Parameters
    ----------
    states, actions, next_states : array_like of int, shape (n,)
    rewards : array_like of float, shape (n,)
    dones : array_like of bool, shape (n,)
        ``True`` where ``s'`` is terminal (no bootstrapping). Episodes truncated by a time
        limit are *not* done.
    n_states, n_actions : int
    initial_states : array_like of int, optional
        States that started episodes (an empirical ``d0``).
    is_expert : array_like of bool, shape (n,), optional
        Which transitions came from the expert (for imitation and for reporting).

    Examples
    --------
    >>> from theory_rl import dual
    >>> data = dual.TransitionDataset([0, 1], [0, 0], [0.0, 1.0], [1, 0], [False, False], 2, 1)
    >>> len(data.states), data.n_states, data.n_actions
    (2, 2, 1)
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    dones: np.ndarray
    n_states: int
    n_actions: int
    initial_states: np.ndarray | None = None
    is_expert: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        S, A = check_int(self.n_states, "n_states"), check_int(self.n_actions, "n_actions")
        set_(self, "n_states", S)
        set_(self, "n_actions", A)
        set_(self, "states", _int_array(self.states, "states", S, "a state index"))
        set_(self, "actions", _int_array(self.actions, "actions", A, "an action index"))
        set_(self, "next_states", _int_array(self.next_states, "next_states", S, "a state index"))
        n = self.states.size
        r = as_float_array(self.rewards, "rewards", ndim=1)
        check_finite(r, "rewards")
        set_(self, "rewards", r)
        set_(self, "dones", np.asarray(self.dones, dtype=bool).ravel())
        for name in ("actions", "next_states", "rewards", "dones"):
            if getattr(self, name).shape != (n,):
                raise InvalidModelError(f"{name} has shape {getattr(self, name).shape}, expected ({n},) like states")
        if n == 0:
            raise InvalidModelError("the dataset is empty")
        if self.initial_states is not None:
            set_(self, "initial_states", _int_array(self.initial_states, "initial_states", S, "a state index"))
        if self.is_expert is not None:
            flags = np.asarray(self.is_expert, dtype=bool).ravel()
            if flags.shape != (n,):
                raise InvalidModelError(f"is_expert has shape {flags.shape}, expected ({n},)")
            set_(self, "is_expert", flags)

    def __len__(self) -> int:
        return int(self.states.size)

    def __repr__(self) -> str:
        expert = "" if self.is_expert is None else f", expert={int(self.is_expert.sum())}"
        return f"TransitionDataset(n={len(self)}, S={self.n_states}, A={self.n_actions}{expert})"

    def subset(self, mask: np.ndarray) -> TransitionDataset:
        """The transitions where ``mask`` is true."""
        m = np.asarray(mask, dtype=bool)
        return TransitionDataset(
            self.states[m], self.actions[m], self.rewards[m], self.next_states[m], self.dones[m], self.n_states,
            self.n_actions, initial_states=self.initial_states,
            is_expert=None if self.is_expert is None else self.is_expert[m],
        )

    def pair_index(self) -> np.ndarray:
        """Flat pair index ``s * A + a`` of every transition, shape (n,)."""
        return self.states * self.n_actions + self.actions

    def counts(self, weights: np.ndarray | None = None) -> np.ndarray:
        """``n(s, a)``: (weighted) number of transitions from each pair, shape (S, A)."""
        S, A = self.n_states, self.n_actions
        return np.bincount(self.pair_index(), weights=weights, minlength=S * A).reshape(S, A).astype(float)

    def empirical_behaviour(self) -> np.ndarray:
        """``mu(a|s) = n(s,a) / n(s)``, shape (S, A); rows of unseen states are zero."""
        n = self.counts()
        tot = n.sum(axis=1, keepdims=True)
        return np.divide(n, tot, out=np.zeros_like(n), where=tot > 0)

    def mean_rewards(self) -> np.ndarray:
        """``r_hat(s, a)``, the mean reward of each pair's transitions (0 where unseen), shape (S, A)."""
        n = self.counts()
        return np.divide(self.counts(self.rewards), n, out=np.zeros_like(n), where=n > 0)

    def next_state_matrix(self) -> sp.csr_matrix:
        """``N[s*A + a, s'] = #{(s, a) -> s', not done} / n(s, a)``, CSR of shape (S*A, S): the
        empirical kernel with terminal transitions removed (rows of unseen pairs are zero)."""
        S, A = self.n_states, self.n_actions
        n = self.counts().ravel()
        w = (~self.dones).astype(float) / np.where(n > 0, n, 1.0)[self.pair_index()]
        return sp.csr_matrix((w, (self.pair_index(), self.next_states)), shape=(S * A, S))


@renamed_arguments(epsilon="exploration")
def collect_dataset(mdp: FiniteMDP, *, expert_policy: np.ndarray, n_episodes: int, episode_length: int,
                    expert_fraction: float, exploration: float = 0.0,
                    seed: int | np.random.Generator | None = None) -> TransitionDataset:
    r"""Roll out ``n_episodes`` episodes of ``episode_length`` steps from ``d0``.

    Each episode is, independently with probability ``expert_fraction``, an expert episode (the
    ``expert_policy``, with probability ``exploration`` (the epsilon of epsilon-greedy) of a uniformly random available action at
    each step) or a random episode (uniform over available actions). Episodes are truncated,
    not terminated, so every ``done`` is ``False``. The resulting behaviour policy is the
    state-dependent mixture of the two, which is what behaviour cloning recovers.

    Parameters
    ----------
    mdp : FiniteMDP
    expert_policy : ndarray, shape (S,) or (S, A)
    n_episodes, episode_length : int
    expert_fraction, exploration : float in [0, 1]
        ``exploration`` was called ``epsilon`` before 0.2.0 (still accepted until 0.3.0, with a
        ``DeprecationWarning``).
    seed : int or Generator

    Returns
    -------
    TransitionDataset
        With ``is_expert`` marking expert-episode transitions and ``initial_states``.

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> data = dual.collect_dataset(envs.random_mdp(3, 2, seed=0), expert_policy=[1, 0, 0], n_episodes=20,
    ...                             episode_length=10, expert_fraction=0.5, exploration=0.3, seed=0)
    >>> data.n_states, data.n_actions, len(data.states)
    (3, 2, 200)
    """
    expert_fraction = check_probability(expert_fraction, "expert_fraction")
    epsilon = check_probability(exploration, "exploration")
    n_episodes = check_int(n_episodes, "n_episodes")
    episode_length = check_int(episode_length, "episode_length")
    rng = rng_from_seed(seed)
    S, A = mdp.n_states, mdp.n_actions
    pi = as_policy(mdp, expert_policy)
    pi_e = np.eye(A)[pi] if pi.ndim == 1 else pi
    avail = np.isfinite(effective_rewards(mdp)).reshape(S, A).astype(float)
    uniform = avail / avail.sum(axis=1, keepdims=True)
    pi_e = (1.0 - epsilon) * pi_e + epsilon * uniform
    P2 = mdp.transition_matrix
    P2 = P2.toarray() if sp.issparse(P2) else np.asarray(P2).reshape(S * A, S)
    cdf_e, cdf_u, cdf_p = np.cumsum(pi_e, axis=1), np.cumsum(uniform, axis=1), np.cumsum(P2, axis=1)
    E, H = int(n_episodes), int(episode_length)
    expert = rng.random(E) < expert_fraction
    s = np.minimum(np.searchsorted(np.cumsum(mdp.d0), rng.random(E), side="right"), S - 1)
    starts = s.copy()
    out = np.empty((4, H, E), dtype=np.int64)
    for t in range(H):  # vectorised over episodes
        cdf = np.where(expert[:, None], cdf_e[s], cdf_u[s])
        a = np.minimum((cdf < rng.random(E)[:, None]).sum(axis=1), A - 1)
        row = s * A + a
        s_next = np.minimum((cdf_p[row] < rng.random(E)[:, None]).sum(axis=1), S - 1)
        out[:, t] = (s, a, s_next, row)
        s = s_next
    states, actions, next_states, rows = (x.T.ravel() for x in out)
    return TransitionDataset(
        states, actions, np.asarray(mdp.R).ravel()[rows], next_states, np.zeros(states.size, bool), S, A,
        initial_states=starts, is_expert=np.repeat(expert, H),
    )


def behaviour_cloning(dataset: TransitionDataset) -> np.ndarray:
    """Tabular behaviour cloning: the maximum-likelihood policy ``n(s,a)/n(s)``, uniform on states
    the dataset never visits. Shape (S, A).

    Examples
    --------
    >>> from theory_rl import dual
    >>> data = dual.TransitionDataset([0, 0, 0], [0, 1, 1], [0.0, 0.0, 0.0], [0, 0, 0], [False] * 3, 2, 2)
    >>> dual.behaviour_cloning(data).round(6).tolist()       # state 1 is never visited: uniform
    [[0.333333, 0.666667], [0.5, 0.5]]
    """
    mu = dataset.empirical_behaviour()
    unseen = mu.sum(axis=1) == 0
    mu[unseen] = 1.0 / dataset.n_actions
    return mu
