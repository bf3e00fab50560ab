r"""Trajectories of a finite-horizon MDP: sampling under a policy, and the exact preference game
over all of them on tiny models (the candidates of a minimax winner)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_allocation, check_int, rng_from_seed
from ..errors import InvalidArgumentError, InvalidModelError
from ..models import FiniteMDP
from ._minimax_winner import MinimaxWinnerSolution, minimax_winner
from ._preferences import PreferenceOracle, check_oracle

__all__ = ["TrajectoryGame", "trajectory_game", "sample_episodes", "check_horizon", "markov_policy"]


def check_horizon(mdp: Any, horizon: Any) -> int:
    """``horizon`` or ``mdp.horizon``: the number of decisions ``H >= 1`` of an episode."""
    if not isinstance(mdp, FiniteMDP):
        raise InvalidArgumentError(f"mdp must be a theory_rl.models.FiniteMDP, got {type(mdp).__name__}")
    if horizon is None:
        if mdp.horizon is None:
            raise InvalidArgumentError("horizon is required (the model has no horizon)")
        horizon = mdp.horizon
    return check_int(horizon, "horizon", minimum=1)


def dense_kernel(mdp: FiniteMDP) -> np.ndarray:
    """``P[s, a, s']`` as a dense array (these methods are for tiny models)."""
    S, A = mdp.n_states, mdp.n_actions
    check_allocation(8 * S * A * S, f"the dense transition kernel ({S} x {A} x {S})")
    return np.asarray(mdp.to_dense().P)


def initial_distribution(mdp: FiniteMDP) -> np.ndarray:
    return np.full(mdp.n_states, 1.0 / mdp.n_states) if mdp.d0 is None else np.asarray(mdp.d0, dtype=float)


def markov_policy(policy: Any, mdp: FiniteMDP, H: int, name: str = "policy") -> np.ndarray:
    """A non-stationary policy ``pi[t, s, a]`` of shape ``(H, S, A)`` (a stationary ``(S, A)`` one is repeated)."""
    S, A = mdp.n_states, mdp.n_actions
    try:
        arr = np.asarray(policy, dtype=float)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be an array of probabilities of shape ({H}, {S}, {A}) or ({S}, {A})") from None
    if arr.shape == (S, A):
        arr = np.broadcast_to(arr, (H, S, A))
    if arr.shape != (H, S, A):
        raise InvalidArgumentError(f"{name} has shape {arr.shape}, expected ({H}, {S}, {A}) or ({S}, {A})")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any() or (np.abs(arr.sum(axis=2) - 1.0) > 1e-8).any():
        t, s = (int(k) for k in np.argwhere(bad.any(axis=2) | (np.abs(arr.sum(axis=2) - 1.0) > 1e-8))[0])
        raise InvalidArgumentError(f"{name}[{t}, {s}, :] is not a probability vector")
    return arr


def sample_episodes(mdp: FiniteMDP, policy: Any, *, n_episodes: int, horizon: int | None = None,
                    seed: Any = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Sample ``n`` episodes of ``H`` decisions: ``s_0 ~ d_0``, ``a_t ~ pi_t(.|s_t)``, ``s_{t+1} ~ P(.|s_t, a_t)``.

    Parameters
    ----------
    mdp : FiniteMDP
    policy : array_like, shape (H, S, A) or (S, A)
        ``pi[t, s, a]`` (a stationary ``(S, A)`` policy is used at every step).
    n_episodes : int
    horizon : int, optional
        ``H`` (default ``mdp.horizon``).
    seed : int, Generator or None

    Returns
    -------
    states : ndarray of int, shape (n_episodes, H+1)
    actions : ndarray of int, shape (n_episodes, H)

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs
    >>> from theory_rl.games import sample_episodes
    >>> mdp = envs.chain(3, gamma=0.9)
    >>> states, actions = sample_episodes(mdp, np.full((3, 2), 0.5), n_episodes=5, horizon=4, seed=0)
    >>> states.shape, actions.shape
    ((5, 5), (5, 4))
    """
    H = check_horizon(mdp, horizon)
    n = check_int(n_episodes, "n_episodes")
    pi = markov_policy(policy, mdp, H)
    rng = rng_from_seed(seed)
    P = dense_kernel(mdp)
    check_allocation(8 * n * (2 * H + 1), f"{n} episodes of horizon {H}")
    states = np.empty((n, H + 1), dtype=np.intp)
    actions = np.empty((n, H), dtype=np.intp)
    states[:, 0] = _draw(np.broadcast_to(initial_distribution(mdp), (n, mdp.n_states)), rng)
    for t in range(H):
        actions[:, t] = _draw(pi[t, states[:, t]], rng)
        states[:, t + 1] = _draw(P[states[:, t], actions[:, t]], rng)
    return states, actions


def _draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of ``probs`` (rows are probability vectors)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


@dataclass(frozen=True, eq=False)
class TrajectoryGame:
    r"""Every trajectory of a tiny finite-horizon MDP and the preference matrix among them.

    Built by :func:`trajectory_game`. A policy induces a distribution ``p_pi`` over the ``N``
    trajectories; the preference game between two policies is ``p^T W q`` with
    ``W[i, j] = Pr(xi_i beats xi_j)``.

    Attributes
    ----------
    states : ndarray of int, shape (N, H+1)
    actions : ndarray of int, shape (N, H)
    log_model : ndarray, shape (N,)
        ``log d_0(s_0) + sum_t log P(s_{t+1} | s_t, a_t)``: the policy-free part of ``log p_pi``.
    preferences : ndarray, shape (N, N)
        ``W``.
    pure : bool
        Deterministic transitions from one start state: every distribution over trajectories is
        a mixture of deterministic policies, so the trajectories are the pure strategies and
        :meth:`minimax_winner` is the minimax winner over (mixtures of) policies.
    tree : bool
        Every state at every step is reached by one history only: rewards of whole trajectories are
        Markov in ``(t, s)`` and the performance-difference lemma applies (Markov policies are as
        good as history-dependent ones).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MajorityOracle, decision_tree_mdp, trajectory_game
    >>> cycle = np.zeros((3, 4, 3))
    >>> cycle[:, 0, :] = [[3., 2., 1.], [1., 3., 2.], [2., 1., 3.]]     # Condorcet's cycle at the root
    >>> game = trajectory_game(decision_tree_mdp(3, 1), oracle=MajorityOracle(cycle))
    >>> uniform = game.distribution(np.full((1, 4, 3), 1 / 3))
    >>> round(game.exploitability(uniform), 12), round(game.exploitability(np.eye(3)[0]), 12)
    (0.0, 0.5)
    """

    states: np.ndarray
    actions: np.ndarray
    log_model: np.ndarray
    preferences: np.ndarray
    pure: bool
    tree: bool
    n_states: int
    n_actions: int
    _d0: np.ndarray
    _levels: tuple[Any, ...]

    @property
    def n_trajectories(self) -> int:
        return int(self.states.shape[0])

    @property
    def horizon(self) -> int:
        return int(self.actions.shape[1])

    def distribution(self, policy: np.ndarray) -> np.ndarray:
        """``p_pi(xi)`` for each trajectory under ``pi[t, s, a]`` of shape ``(H, S, A)``, shape ``(N,)``."""
        H = self.horizon
        with np.errstate(divide="ignore"):
            log_pi = np.log(np.asarray(policy, dtype=float))
        logp = self.log_model + log_pi[np.arange(H), self.states[:, :-1], self.actions].sum(axis=1)
        return np.exp(logp)

    def best_response_value(self, q: np.ndarray) -> float:
        r"""``max_pi Pr(pi beats q)`` over history-dependent policies, for a distribution ``q`` over
        the trajectories, by backward induction on the tree of histories."""
        value = self.preferences @ q  # per leaf: Pr(xi beats q)
        for parent_of_child, trans, parent_of_choice, n_choices, n_parents in reversed(self._levels):
            choice = np.zeros(n_choices)
            np.add.at(choice, parent_of_child, trans * value)
            value = np.full(n_parents, -np.inf)
            np.maximum.at(value, parent_of_choice, choice)
        return float(self._d0 @ value)

    def exploitability(self, q: np.ndarray) -> float:
        r"""``max_pi Pr(pi beats q) - 1/2 >= 0``: zero exactly at a minimax winner (SPO's Reg_T / T for ``q = p_bar_T``)."""
        return max(0.0, self.best_response_value(q) - 0.5)

    def minimax_winner(self) -> MinimaxWinnerSolution:
        """The minimax winner over the trajectories (requires ``pure``: see the attribute)."""
        if not self.pure:
            raise InvalidModelError("the trajectories are the pure strategies only with deterministic "
                                    "transitions from one start state (TrajectoryGame.pure is False)")
        return minimax_winner(self.preferences)


def trajectory_game(mdp: FiniteMDP, *, oracle: PreferenceOracle, horizon: int | None = None,
                    max_trajectories: int = 5000) -> TrajectoryGame:
    r"""Enumerate every trajectory of ``H`` decisions and the preference matrix among them.

    The trajectories ``xi = (s_0, a_0, ..., s_H)`` with ``d_0(s_0) > 0``, available actions and
    ``P(s_{t+1}|s_t, a_t) > 0``; ``W[i, j] = Pr(xi_i beats xi_j)`` from ``oracle``. The lift of a
    trajectory preference to policies is ``P(pi beats pi') = p_pi^T W p_pi'`` (Swamy et al. 2024,
    arXiv 2401.04056, Sec. 3), a symmetric zero-sum game whose value is ``1/2``.

    Parameters
    ----------
    mdp : FiniteMDP
    oracle : PreferenceOracle
    horizon : int, optional
        ``H`` (default ``mdp.horizon``).
    max_trajectories : int
        Refuse models with more trajectories than this (``W`` has ``N^2`` entries).

    Returns
    -------
    TrajectoryGame

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import BradleyTerryOracle, decision_tree_mdp, trajectory_game
    >>> mdp = decision_tree_mdp(2, 2)                 # 7 states, 4 action sequences
    >>> reward = np.arange(14.0).reshape(7, 2)
    >>> game = trajectory_game(mdp, oracle=BradleyTerryOracle(reward, temperature=0.0))
    >>> game.n_trajectories, game.pure, game.tree
    (4, True, True)
    >>> game.minimax_winner().strategy.round(6).tolist()   # the best trajectory, (a_0, a_1) = (1, 1)
    [0.0, 0.0, 0.0, 1.0]
    """
    H = check_horizon(mdp, horizon)
    check_oracle(oracle)
    cap = check_int(max_trajectories, "max_trajectories")
    S, A = mdp.n_states, mdp.n_actions
    P = dense_kernel(mdp)
    d0 = initial_distribution(mdp)
    mask = np.ones((S, A), bool) if mdp.action_mask is None else np.asarray(mdp.action_mask, bool)
    starts = np.flatnonzero(d0 > 0)
    states = starts[:, None]
    actions = np.empty((len(starts), 0), dtype=np.intp)
    with np.errstate(divide="ignore"):
        log_model = np.log(d0[starts])
    for _ in range(H):
        last = states[:, -1]
        rows, acts = np.nonzero(mask[last])
        succ_rows, succ = np.nonzero(P[last[rows], acts] > 0)
        if len(succ_rows) > cap:
            raise InvalidArgumentError(f"the model has more than max_trajectories = {cap} trajectories "
                                       f"of horizon {H}; raise max_trajectories or use a smaller model")
        parent = rows[succ_rows]
        a_new = acts[succ_rows]
        log_model = log_model[parent] + np.log(P[states[parent, -1], a_new, succ])
        states = np.column_stack([states[parent], succ])
        actions = np.column_stack([actions[parent], a_new])
    N = states.shape[0]
    check_allocation(8 * N * N, f"the preference matrix over {N} trajectories")
    W = oracle.matrix((states, actions), (states, actions))
    if W.shape != (N, N):
        raise InvalidModelError(f"oracle.matrix returned shape {W.shape}, expected ({N}, {N})")
    levels = []
    tree = True
    child_ids = np.arange(N)
    for t in range(H - 1, -1, -1):  # the history tree, from the leaves up
        prefix = np.column_stack([states[:, : t + 1], actions[:, : t + 1]])
        choice_ids = np.unique(prefix, axis=0, return_inverse=True)[1].ravel()
        hist_ids = np.unique(prefix[:, :-1], axis=0, return_inverse=True)[1].ravel()
        tree &= int(hist_ids.max()) + 1 == len(np.unique(states[:, t]))
        first_child = np.unique(child_ids, return_index=True)[1]
        first_choice = np.unique(choice_ids, return_index=True)[1]
        trans = P[states[first_child, t], actions[first_child, t], states[first_child, t + 1]]
        levels.append((choice_ids[first_child], trans, hist_ids[first_choice], len(first_choice),
                       int(hist_ids.max()) + 1))
        child_ids = hist_ids
    root_states = states[np.unique(child_ids, return_index=True)[1], 0]
    levels.reverse()
    deterministic = bool(((P == 0) | (P == 1)).all()) and len(starts) == 1
    return TrajectoryGame(states=states, actions=actions, log_model=log_model, preferences=W,
                          pure=deterministic, tree=bool(tree), n_states=S, n_actions=A,
                          _d0=d0[root_states], _levels=tuple(levels))


def log_arity(mdp: FiniteMDP) -> float:
    """``log`` of the largest number of available actions in a state (Hedge's ``log A``)."""
    if mdp.action_mask is None:
        return math.log(mdp.n_actions)
    return math.log(int(np.asarray(mdp.action_mask).sum(axis=1).max()))
