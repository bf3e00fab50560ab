"""Trajectory datasets: episodes of (state, action, reward) with returns-to-go, optional
observations, generated from a finite model or read from D4RL/Minari-style arrays."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._result import ResultMixin
from .._sampling import sample_rows
from .._validation import check_allocation, check_int, rng_from_seed
from ..errors import InvalidArgumentError, InvalidModelError
from ..models import POMDP, FiniteMDP
from ..tabular import as_policy


def _int_episode(x: Any, name: str, e: int, upper: int, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise InvalidModelError(f"{name}[{e}] must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.isfinite(arr).all() or np.any(np.mod(arr, 1) != 0):
            t = 0 if not np.issubdtype(arr.dtype, np.number) else int(np.argmax(~np.isfinite(arr) | (np.mod(np.nan_to_num(arr), 1) != 0)))
            raise InvalidModelError(f"{name}[{e}][{t}] = {arr[t]} is not an integer (episode {e}, step {t})")
    out = arr.astype(np.int64)
    bad = (out < 0) | (out >= upper)
    if bad.any():
        t = int(np.argmax(bad))
        raise InvalidModelError(f"{name}[{e}][{t}] = {out[t]} is not {what} in [0, {upper}) (episode {e}, step {t})")
    out.setflags(write=False)
    return out


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class TrajectoryDataset(ResultMixin):
    r"""A frozen dataset of episodes on a finite state and action space.

    Episode ``e`` of length :math:`T_e` is :math:`(s_0, a_0, r_0, s_1, \dots, a_{T_e-1}, r_{T_e-1}, s_{T_e})`
    with undiscounted returns-to-go, the conditioning variable of return-conditioned supervised
    learning (Zhou et al. 2024, arXiv 2310.19308):

    .. math:: g_t = \sum_{t' = t}^{T_e - 1} r_{t'} .

    Parameters
    ----------
    states : sequence of int arrays, episode ``e`` of shape (T_e + 1,)
        The visited states, the state reached after the last action included.
    actions : sequence of int arrays, shape (T_e,)
    rewards : sequence of float arrays, shape (T_e,)
    n_states, n_actions : int
    observations : sequence of int arrays, shape (T_e,), optional
        For POMDP data: ``observations[e][t]`` is :math:`o_{t+1}`, emitted after ``actions[e][t]``
        in the state it led to (the convention of :class:`theory_rl.models.POMDP`).
    n_observations : int, optional
        Required with ``observations``.
    terminated : sequence of bool, shape (n_episodes,), optional
        Whether episode ``e`` ended in a terminal state (``False``: truncated by a time limit);
        all ``False`` when omitted.

    Attributes
    ----------
    returns_to_go : tuple of float arrays, shape (T_e,)
        :math:`g_t` above.

    Raises
    ------
    InvalidModelError
        Naming the episode and the step: ragged episodes (lengths that disagree), a non-finite
        reward, a state, action or observation out of range or not an integer.

    Notes
    -----
    The tabular core of ``theory_rl.offline``, read by the counting learners and by the torch
    ones (:func:`~theory_rl.offline.rcsl_torch`, :func:`~theory_rl.offline.mbrcsl_torch`). ``theory_rl.dual`` keeps its own transition dataset for now (a follow-up merges them).

    Examples
    --------
    >>> from theory_rl.offline import TrajectoryDataset
    >>> d = TrajectoryDataset([[0, 1, 1]], [[1, 0]], [[0.0, 1.0]], n_states=2, n_actions=2)
    >>> d.returns_to_go[0].tolist()
    [1.0, 1.0]
    """

    states: tuple[np.ndarray, ...]
    actions: tuple[np.ndarray, ...]
    rewards: tuple[np.ndarray, ...]
    n_states: int
    n_actions: int
    observations: tuple[np.ndarray, ...] | None = None
    n_observations: int | None = None
    terminated: np.ndarray | None = None
    returns_to_go: tuple[np.ndarray, ...] = dataclasses.field(init=False)

    _repr_fields = ("n_episodes", "n_transitions", "n_states", "n_actions")

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        S = check_int(self.n_states, "n_states")
        A = check_int(self.n_actions, "n_actions")
        for name in ("states", "actions", "rewards"):
            value = getattr(self, name)
            if isinstance(value, np.ndarray) and value.dtype != object and value.ndim == 1:
                raise InvalidModelError(f"{name} must be a sequence of episodes (one array per episode)")
        n = len(self.states)
        if len(self.actions) != n or len(self.rewards) != n:
            raise InvalidModelError(
                f"states, actions and rewards hold {n}, {len(self.actions)} and {len(self.rewards)} episodes"
            )
        states, actions, rewards, rtg = [], [], [], []
        for e in range(n):
            a = _int_episode(self.actions[e], "actions", e, A, "an action")
            T = a.shape[0]
            s = _int_episode(self.states[e], "states", e, S, "a state")
            if s.shape[0] != T + 1:
                raise InvalidModelError(
                    f"episode {e}: states has {s.shape[0]} entries, expected {T + 1} (one more than its {T} actions)"
                )
            try:
                r = np.array(self.rewards[e], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidModelError(f"rewards[{e}] is not an array of numbers: {exc}") from None
            if r.shape != (T,):
                raise InvalidModelError(f"episode {e}: rewards has shape {r.shape}, expected ({T},)")
            if not np.isfinite(r).all():
                t = int(np.argmax(~np.isfinite(r)))
                raise InvalidModelError(f"rewards[{e}][{t}] = {r[t]} is not finite (episode {e}, step {t})")
            g = np.cumsum(r[::-1])[::-1].copy()
            states.append(s)
            actions.append(a)
            rewards.append(_read_only(r))
            rtg.append(_read_only(g))
        set_(self, "n_states", S)
        set_(self, "n_actions", A)
        set_(self, "states", tuple(states))
        set_(self, "actions", tuple(actions))
        set_(self, "rewards", tuple(rewards))
        set_(self, "returns_to_go", tuple(rtg))
        if self.observations is not None:
            if self.n_observations is None:
                raise InvalidArgumentError("n_observations is required with observations")
            n_obs = check_int(self.n_observations, "n_observations")
            if len(self.observations) != n:
                raise InvalidModelError(f"observations holds {len(self.observations)} episodes, expected {n}")
            obs = []
            for e in range(n):
                o = _int_episode(self.observations[e], "observations", e, n_obs, "an observation")
                if o.shape[0] != actions[e].shape[0]:
                    raise InvalidModelError(
                        f"episode {e}: observations has {o.shape[0]} entries, expected {actions[e].shape[0]}"
                    )
                obs.append(o)
            set_(self, "observations", tuple(obs))
            set_(self, "n_observations", n_obs)
        elif self.n_observations is not None:
            set_(self, "n_observations", check_int(self.n_observations, "n_observations"))
        term = np.zeros(n, dtype=bool) if self.terminated is None else np.asarray(self.terminated)
        if term.shape != (n,) or term.dtype != bool:
            raise InvalidModelError(f"terminated must be a bool array of shape ({n},), got {term.dtype} {term.shape}")
        set_(self, "terminated", _read_only(term.copy()))

    # ----------------------------------------------------------------------------- properties
    @property
    def n_episodes(self) -> int:
        """Number of episodes."""
        return len(self.actions)

    @property
    def n_transitions(self) -> int:
        """Total number of steps over all episodes."""
        return int(sum(a.shape[0] for a in self.actions))

    @property
    def episode_returns(self) -> np.ndarray:
        """Undiscounted return of each episode, shape ``(n_episodes,)`` (``g_0``; 0 for empty ones)."""
        return np.array([g[0] if g.size else 0.0 for g in self.returns_to_go])

    def transitions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Flat ``(s, a, r, s')`` arrays over all steps, each of shape ``(n_transitions,)``."""
        if self.n_episodes == 0:
            z = np.zeros(0, dtype=np.int64)
            return z, z, np.zeros(0), z
        s = np.concatenate([x[:-1] for x in self.states])
        s2 = np.concatenate([x[1:] for x in self.states])
        return s, np.concatenate(self.actions), np.concatenate(self.rewards), s2

    def counts(self) -> np.ndarray:
        """Visit counts ``N[s, a]``, shape ``(S, A)``."""
        s, a, _, _ = self.transitions()
        return np.bincount(s * self.n_actions + a, minlength=self.n_states * self.n_actions).reshape(
            self.n_states, self.n_actions
        ).astype(np.int64)

    def initial_states(self) -> np.ndarray:
        """``s_0`` of every episode, shape ``(n_episodes,)``."""
        return np.array([x[0] for x in self.states], dtype=np.int64)

    # ----------------------------------------------------------------------------- readers
    @classmethod
    def from_arrays(
        cls,
        observations: Any,
        actions: Any,
        rewards: Any,
        next_observations: Any,
        *,
        terminals: Any = None,
        timeouts: Any = None,
        n_states: int,
        n_actions: int,
    ) -> TrajectoryDataset:
        r"""Episodes from D4RL-style flat arrays of length ``N``.

        Step ``i`` is ``(observations[i], actions[i], rewards[i], next_observations[i])``; an
        episode ends after step ``i`` when ``terminals[i]`` (a terminal state) or ``timeouts[i]``
        (truncation) is set, and at the last row. Here "observations" are the finite states of a
        tabular model (integers). Consecutive steps of one episode must chain
        (``next_observations[i] == observations[i + 1]``), else the error names the row.
        Minari-style episodes (``observations`` of length ``T + 1`` per episode) go straight to
        the constructor.

        Examples
        --------
        >>> d = TrajectoryDataset.from_arrays([0, 1, 0], [1, 1, 0], [0.0, 1.0, 0.0], [1, 0, 0],
        ...     terminals=[False, True, False], n_states=2, n_actions=2)
        >>> d.n_episodes, d.states[0].tolist()
        (2, [0, 1, 0])
        """
        s = np.asarray(observations)
        a = np.asarray(actions)
        r = np.asarray(rewards)
        s2 = np.asarray(next_observations)
        N = s.shape[0] if s.ndim == 1 else -1
        arrays = {"observations": s, "actions": a, "rewards": r, "next_observations": s2}
        flags = {}
        for name, value in (("terminals", terminals), ("timeouts", timeouts)):
            flags[name] = np.zeros(max(N, 0), dtype=bool) if value is None else np.asarray(value)
            arrays[name] = flags[name]
        for name, arr in arrays.items():
            if arr.ndim != 1 or arr.shape[0] != N:
                raise InvalidModelError(f"{name} has shape {arr.shape}, expected ({max(N, 0)},) like observations")
        for name in ("terminals", "timeouts"):
            f = flags[name]
            if f.dtype != bool and not (np.issubdtype(f.dtype, np.number) and np.isin(f, (0, 1)).all()):
                raise InvalidModelError(f"{name} must hold booleans")
            flags[name] = f.astype(bool)
        ends = flags["terminals"] | flags["timeouts"]
        if N:
            ends[-1] = True
        stops = np.flatnonzero(ends)
        starts = np.concatenate([[0], stops[:-1] + 1]).astype(np.int64) if N else np.zeros(0, dtype=np.int64)
        if N > 1:
            chain = ~ends[:-1]
            mismatch = chain & (s2[:-1] != s[1:])
            if mismatch.any():
                i = int(np.argmax(mismatch))
                raise InvalidModelError(
                    f"next_observations[{i}] = {s2[i]} but observations[{i + 1}] = {s[i + 1]} in the same episode "
                    f"(set terminals[{i}] or timeouts[{i}] to end it)"
                )
        states = [np.concatenate([s[i:j + 1], s2[j:j + 1]]) for i, j in zip(starts, stops)]
        return cls(
            states,
            [a[i:j + 1] for i, j in zip(starts, stops)],
            [r[i:j + 1] for i, j in zip(starts, stops)],
            n_states=n_states,
            n_actions=n_actions,
            terminated=flags["terminals"][stops] if N else np.zeros(0, dtype=bool),
        )


def _policy_matrix(model: FiniteMDP, policy: Any) -> np.ndarray:
    """``policy`` (deterministic ``(S,)`` or stochastic ``(S, A)``, checked) as an ``(S, A)`` matrix."""
    pi = as_policy(model, policy)
    if pi.ndim == 1:
        full = np.zeros((model.n_states, model.n_actions))
        full[np.arange(model.n_states), pi] = 1.0
        return full
    return pi


def collect_trajectories(
    model: FiniteMDP | POMDP,
    policy: Any,
    *,
    n_episodes: int,
    horizon: int,
    seed: int | np.random.Generator | None = None,
) -> TrajectoryDataset:
    r"""Roll out a behaviour policy in a finite MDP or POMDP.

    .. math::
        s_0 \sim d_0, \quad a_t \sim \mu(\cdot \mid s_t), \quad r_t = R(s_t, a_t), \quad
        s_{t+1} \sim P(\cdot \mid s_t, a_t), \quad o_{t+1} \sim O(\cdot \mid a_t, s_{t+1}) \ \text{(POMDP)}.

    Episodes stop after ``horizon`` steps or on reaching a terminal state of the model.

    Parameters
    ----------
    model : FiniteMDP or POMDP
        The start state is drawn from ``d0`` (uniform when absent) or ``b0``.
    policy : ndarray, shape (S,) of actions or (S, A) of probabilities
        The behaviour policy :math:`\mu`. For a POMDP it acts on the latent state (a data
        collector that sees the state, as in the observation-history setting of Hong, Dragan &
        Levine 2024, arXiv 2310.20663).
    n_episodes, horizon : int
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    TrajectoryDataset
        Rewards are the expected rewards ``R[s, a]`` (the models store expectations).

    Examples
    --------
    >>> from theory_rl import envs
    >>> from theory_rl.offline import collect_trajectories
    >>> mdp = envs.chain(5)
    >>> d = collect_trajectories(mdp, np.full((5, 2), 0.5), n_episodes=3, horizon=4, seed=0)
    >>> d.n_episodes, d.n_transitions
    (3, 12)
    """
    pomdp = model if isinstance(model, POMDP) else None
    if pomdp is not None:
        mdp = pomdp.mdp
    elif isinstance(model, FiniteMDP):
        mdp = model
    else:
        raise InvalidArgumentError(f"model must be a FiniteMDP or a POMDP, got {type(model).__name__}")
    n = check_int(n_episodes, "n_episodes")
    H = check_int(horizon, "horizon")
    check_allocation(8 * 4 * n * (H + 1), "the trajectory arrays")
    rng = rng_from_seed(seed)
    pi = _policy_matrix(mdp, policy)
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.transition_matrix
    d0 = pomdp.b0 if pomdp is not None and pomdp.b0 is not None else mdp.d0
    d0 = np.full(S, 1.0 / S) if d0 is None else np.asarray(d0)
    term = np.zeros(S, dtype=bool) if mdp.terminal is None else np.asarray(mdp.terminal)
    R = np.asarray(mdp.R)
    states = np.zeros((n, H + 1), dtype=np.int64)
    actions = np.zeros((n, H), dtype=np.int64)
    rewards = np.zeros((n, H))
    obs = np.zeros((n, H), dtype=np.int64)
    length = np.full(n, H, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    states[:, 0] = sample_rows(rng, np.broadcast_to(d0, (n, S)))
    for t in range(H):
        s = states[:, t]
        a = sample_rows(rng, pi[s])
        rows = s * A + a
        nxt = P[rows].toarray() if hasattr(P, "toarray") else P.reshape(S * A, S)[rows]
        s2 = sample_rows(rng, nxt)
        actions[:, t], rewards[:, t], states[:, t + 1] = a, R[s, a], s2
        if pomdp is not None:
            obs[:, t] = sample_rows(rng, np.asarray(pomdp.O)[a, s2])
        ended = alive & term[s2]
        length[ended] = t + 1
        alive &= ~ended
        if not alive.any():
            break
    L = [int(x) for x in length]
    return TrajectoryDataset(
        [states[i, : L[i] + 1] for i in range(n)],
        [actions[i, : L[i]] for i in range(n)],
        [rewards[i, : L[i]] for i in range(n)],
        n_states=S,
        n_actions=A,
        observations=[obs[i, : L[i]] for i in range(n)] if pomdp is not None else None,
        n_observations=pomdp.n_observations if pomdp is not None else None,
        terminated=term[[states[i, L[i]] for i in range(n)]],
    )


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Coverage(ResultMixin):
    r"""Coverage statistics of a dataset (see :func:`coverage`).

    Attributes
    ----------
    counts : ndarray, shape (S, A)
        Visits ``N(s, a)``.
    state_fraction, pair_fraction : float
        Fractions of states and of state-action pairs visited at least once.
    min_count : int
        Smallest ``N(s, a)`` over visited pairs (0 for an empty dataset).
    concentrability : float
        :math:`C^\pi = \max_{s,a} d^\pi(s, a) / \hat\mu(s, a)` when a model and a policy were
        given (``inf`` when :math:`\pi` visits a pair the data never saw), NaN otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, offline
    >>> data = offline.collect_trajectories(envs.chain(3), np.full((3, 2), 0.5), n_episodes=4, horizon=3, seed=0)
    >>> cov = offline.coverage(data)
    >>> type(cov).__name__, cov.counts.shape, bool(0 < cov.pair_fraction <= 1)
    ('Coverage', (3, 2), True)
    """

    counts: np.ndarray
    state_fraction: float
    pair_fraction: float
    min_count: int
    concentrability: float


def coverage(dataset: TrajectoryDataset, *, mdp: FiniteMDP | None = None, policy: Any = None) -> Coverage:
    r"""How well a dataset covers the state-action space, and a given policy.

    With a model and a (comparator) policy, the single-policy concentrability coefficient

    .. math::
        C^\pi = \max_{s, a} \frac{d^\pi(s, a)}{\hat\mu(s, a)}, \qquad
        d^\pi = (1 - \gamma)\, d_0^\top (I - \gamma P_\pi)^{-1} \otimes \pi, \quad
        \hat\mu(s, a) = N(s, a) / \textstyle\sum N,

    the single-policy concentrability that bounds pessimistic offline RL's error (Rashidinejad,
    Zhu, Ma, Jiao & Russell 2021, arXiv 2103.12021).

    Examples
    --------
    >>> from theory_rl.offline import TrajectoryDataset, coverage
    >>> d = TrajectoryDataset([[0, 1, 1]], [[1, 0]], [[0.0, 1.0]], n_states=2, n_actions=2)
    >>> coverage(d).pair_fraction
    0.5
    """
    if not isinstance(dataset, TrajectoryDataset):
        raise InvalidArgumentError(f"dataset must be a TrajectoryDataset, got {type(dataset).__name__}")
    N = dataset.counts()
    visited = N > 0
    C = float("nan")
    if (mdp is None) != (policy is None):
        raise InvalidArgumentError("pass both mdp and policy for the concentrability coefficient, or neither")
    if mdp is not None:
        if (mdp.n_states, mdp.n_actions) != (dataset.n_states, dataset.n_actions):
            raise InvalidArgumentError(
                f"mdp has {mdp.n_states} states and {mdp.n_actions} actions, the dataset {dataset.n_states} and {dataset.n_actions}"
            )
        pi = _policy_matrix(mdp, policy)
        d0 = np.full(mdp.n_states, 1.0 / mdp.n_states) if mdp.d0 is None else np.asarray(mdp.d0)
        # occupancy via the value of the indicator rewards: d^pi(s) = (1-gamma) d0^T (I - gamma P_pi)^-1 e_s
        P = mdp.transition_matrix
        P3 = (P.toarray() if hasattr(P, "toarray") else np.asarray(P)).reshape(mdp.n_states, mdp.n_actions, mdp.n_states)
        P_pi = np.einsum("sa,sat->st", pi, P3)
        ds = (1 - mdp.gamma) * np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * P_pi.T, d0)
        d = ds[:, None] * pi
        mu = N / max(N.sum(), 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(d > 1e-15, d / np.where(mu > 0, mu, 0.0), 0.0)
        C = float(np.max(ratio)) if ratio.size else 0.0
    return Coverage(
        counts=_read_only(N),
        state_fraction=float(visited.any(axis=1).mean()),
        pair_fraction=float(visited.mean()),
        min_count=int(N[visited].min()) if visited.any() else 0,
        concentrability=C,
    )

