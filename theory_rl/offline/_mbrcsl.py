"""Tabular model-based return-conditioned supervised learning (MBRCSL)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from .._result import Result
from .._sampling import sample_rows
from .._validation import check_allocation, check_int, check_optional_int, rng_from_seed
from ..errors import InvalidArgumentError
from ..models import FiniteMDP
from ._dataset import TrajectoryDataset
from ._rcsl import RCSLResult, rcsl_fit


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class MBRCSLResult(Result):
    """The output of :func:`mbrcsl`.

    Attributes
    ----------
    policy : RCSLResult
        RCSL fit on the kept rollouts (``policy.target_return`` is the best kept return), or on
        the dataset itself when no rollout beat the threshold (``n_kept = 0``).
    rollouts : TrajectoryDataset
        The kept rollouts.
    threshold : float
        The dataset's best episode return; a rollout is kept when its return exceeds it.
    target_return : float
        The conditioning return the policy acts on.
    n_generated, n_kept : int

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, offline
    >>> data = offline.collect_trajectories(envs.chain(3), np.full((3, 2), 0.5), n_episodes=6, horizon=3, seed=0)
    >>> res = offline.mbrcsl(data, seed=0)
    >>> type(res).__name__, type(res.policy).__name__, res.n_kept <= res.n_generated
    ('MBRCSLResult', 'RCSLResult', True)
    """

    policy: RCSLResult
    rollouts: TrajectoryDataset
    threshold: float
    target_return: float
    n_generated: int
    n_kept: int

    _repr_fields = ("threshold", "target_return", "n_generated", "n_kept")
    _dict_exclude = ("policy", "rollouts")


def count_model(dataset: TrajectoryDataset) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Count-based dynamics, reward and behaviour models of a dataset.

    .. math::
        \hat P(s' \mid s, a) = \frac{N(s, a, s')}{N(s, a)}, \qquad
        \hat r(s, a) = \frac{1}{N(s, a)} \sum_{t:\,(s_t, a_t) = (s, a)} r_t, \qquad
        \hat\mu(a \mid s) = \frac{N(s, a)}{N(s)},

    zero rows where the pair (state) was never seen.

    Returns
    -------
    P : ndarray, shape (S, A, S)
    r : ndarray, shape (S, A)
    mu : ndarray, shape (S, A)
    n : ndarray, shape (S, A)
        The counts ``N(s, a)``.

    Examples
    --------
    >>> from theory_rl.offline import TrajectoryDataset, count_model
    >>> d = TrajectoryDataset([[0, 1], [0, 0]], [[1], [1]], [[1.0], [3.0]], n_states=2, n_actions=2)
    >>> P, r, mu, n = count_model(d)
    >>> P[0, 1].tolist(), float(r[0, 1]), mu[0].tolist()
    ([0.5, 0.5], 2.0, [0.0, 1.0])
    """
    S, A = dataset.n_states, dataset.n_actions
    check_allocation(8 * S * A * S, "the count-based (S, A, S) dynamics model")
    s, a, r, s2 = dataset.transitions()
    N3 = np.bincount((s * A + a) * S + s2, minlength=S * A * S).reshape(S, A, S).astype(np.float64)
    n = N3.sum(axis=2)
    rsum = np.bincount(s * A + a, weights=r, minlength=S * A).reshape(S, A)
    with np.errstate(invalid="ignore", divide="ignore"):
        P = np.where(n[:, :, None] > 0, N3 / np.maximum(n, 1)[:, :, None], 0.0)
        rhat = np.where(n > 0, rsum / np.maximum(n, 1), 0.0)
        ns = n.sum(axis=1, keepdims=True)
        mu = np.where(ns > 0, n / np.maximum(ns, 1), 0.0)
    return P, rhat, mu, n.astype(np.int64)


def data_terminal_states(dataset: TrajectoryDataset) -> np.ndarray:
    """``(S,)`` mask of the states where a data episode ended in a terminal state."""
    term = np.zeros(dataset.n_states, dtype=bool)
    ends = np.array([x[-1] for x in dataset.states], dtype=np.int64)
    term[ends[np.asarray(dataset.terminated)]] = True
    return term


def filtered_rollouts(
    rng: np.random.Generator,
    step: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]],
    dataset: TrajectoryDataset,
    *,
    term: np.ndarray,
    acting: np.ndarray,
    horizon: int,
    n_keep: int,
    max_rollouts: int,
    batch_size: int,
) -> tuple[TrajectoryDataset, int]:
    """MBRCSL's rollouts and return filter, shared by :func:`mbrcsl` and :func:`mbrcsl_torch`.

    Batches of rollouts start from the dataset's initial states (uniform over episodes);
    ``step(s, alive)`` gives the actions, next states and rewards of a batch at states ``s``; a
    rollout stops at a ``term`` state or one where no action is ``acting``. Rollouts whose
    return exceeds the dataset's best episode return are kept until ``n_keep`` are kept or
    ``max_rollouts`` were generated. Returns the kept rollouts and the number generated.
    """
    H = horizon
    check_allocation(8 * 4 * batch_size * (H + 1), "one batch of rollouts")
    starts = dataset.initial_states()
    threshold = float(dataset.episode_returns.max())
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = []
    generated = 0
    while len(kept) < n_keep and generated < max_rollouts:
        b = min(batch_size, max_rollouts - generated)
        states = np.zeros((b, H + 1), dtype=np.int64)
        actions = np.zeros((b, H), dtype=np.int64)
        rewards = np.zeros((b, H))
        length = np.full(b, H, dtype=np.int64)
        alive = np.ones(b, dtype=bool)
        states[:, 0] = starts[rng.integers(0, starts.size, size=b)]
        for t in range(H):
            s = states[:, t]
            stop = alive & (term[s] | ~acting[s])
            length[stop] = t
            alive &= ~stop
            a, s2, r = step(s, alive)
            actions[:, t] = a
            rewards[:, t] = np.where(alive, r, 0.0)
            states[:, t + 1] = np.where(alive, s2, s)
            if not alive.any():
                break
        returns = rewards.sum(axis=1)
        generated += b
        for i in np.flatnonzero(returns > threshold + 1e-12)[: n_keep - len(kept)]:
            L = int(length[i])
            kept.append((states[i, : L + 1], actions[i, :L], rewards[i, :L], bool(term[states[i, L]])))
    rollouts = TrajectoryDataset([k[0] for k in kept], [k[1] for k in kept], [k[2] for k in kept],
                                 n_states=dataset.n_states, n_actions=dataset.n_actions,
                                 terminated=np.array([k[3] for k in kept], dtype=bool))
    return rollouts, generated


def mbrcsl(
    dataset: TrajectoryDataset,
    *,
    horizon: int | None = None,
    n_keep: int = 100,
    batch_size: int = 200,
    max_rollouts: int = 100_000,
    model: FiniteMDP | None = None,
    context_len: int = 1,
    use_time: bool = False,
    seed: int | np.random.Generator | None = None,
) -> MBRCSLResult:
    r"""Model-based RCSL, tabular (Zhou, Zhu, Zhou, Cui, Gupta & Du 2024, arXiv 2310.19308).

    1. Fit a dynamics model and a behaviour policy (:func:`count_model`: counts), or take the
       exact dynamics and rewards from ``model``.
    2. Roll the behaviour policy :math:`\hat\mu` out in the model from the dataset's initial
       states (drawn uniformly over episodes), for ``horizon`` steps, in batches of
       ``batch_size``; a rollout stops at a terminal state (an episode end marked
       ``terminated`` in the data, or a terminal state of ``model``) or at a state where the
       data hold no action.
    3. Keep the rollouts whose return exceeds the dataset's best episode return, until
       ``n_keep`` are kept or ``max_rollouts`` were generated.
    4. Fit RCSL (:func:`rcsl_fit`) on the kept rollouts and condition on their best return.

    **Why it stitches.** The behaviour policy's rollouts in the model mix segments of
    different trajectories (at a state shared by two trajectories the rollout can continue
    along either), so the kept rollouts can contain the stitched optimal trajectory that no
    single dataset trajectory contains; RCSL on them then needs only the supervised-learning
    conditions (near-determinism, coverage of an optimal trajectory, realizability) and no
    Bellman completeness, since no dynamic-programming backup is ever made.

    Tabular and exact; :func:`mbrcsl_torch` has the paper's neural components (a probabilistic
    dynamics ensemble with elites, an MLP RCSL policy; a categorical behaviour policy in place of
    its diffusion policy). Seeded end to end.

    Examples
    --------
    >>> from theory_rl.offline import TrajectoryDataset, mbrcsl
    >>> d = TrajectoryDataset([[0, 1, 2], [3, 1, 4]], [[0, 0], [0, 1]], [[0.0, 0.0], [0.0, 1.0]],
    ...     n_states=5, n_actions=2, terminated=np.array([True, True]))
    >>> res = mbrcsl(d, seed=0)
    >>> res.threshold, res.target_return
    (1.0, 1.0)
    """
    t0 = time.perf_counter()
    if not isinstance(dataset, TrajectoryDataset):
        raise InvalidArgumentError(f"dataset must be a TrajectoryDataset, got {type(dataset).__name__}")
    if dataset.n_episodes == 0:
        raise InvalidArgumentError("mbrcsl needs at least one episode")
    longest = max(int(a.shape[0]) for a in dataset.actions)
    H = check_optional_int(horizon, "horizon") or max(longest, 1)
    n_keep = check_int(n_keep, "n_keep")
    B = check_int(batch_size, "batch_size")
    max_rollouts = check_int(max_rollouts, "max_rollouts")
    rng = rng_from_seed(seed)
    S, A = dataset.n_states, dataset.n_actions
    P, r, mu, _ = count_model(dataset)
    term = data_terminal_states(dataset)
    if model is not None:
        if not isinstance(model, FiniteMDP) or (model.n_states, model.n_actions) != (S, A):
            raise InvalidArgumentError(f"model must be a FiniteMDP with {S} states and {A} actions")
        Pm = model.transition_matrix
        P = (Pm.toarray() if hasattr(Pm, "toarray") else np.asarray(Pm)).reshape(S, A, S)
        r = np.asarray(model.R, dtype=np.float64)
        term = np.zeros(S, dtype=bool) if model.terminal is None else np.asarray(model.terminal).copy()
    acting = mu.sum(axis=1) > 0

    def step(st: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = sample_rows(rng, np.where(acting[st][:, None], mu[st], 1.0))
        return a, sample_rows(rng, np.where(alive[:, None], P[st, a], 1.0)), r[st, a]

    rollouts, generated = filtered_rollouts(rng, step, dataset, term=term, acting=acting, horizon=H, n_keep=n_keep,
                                            max_rollouts=max_rollouts, batch_size=B)
    policy = rcsl_fit(rollouts if rollouts.n_episodes else dataset, context_len=context_len, use_time=use_time)
    return MBRCSLResult(
        policy=policy, rollouts=rollouts, threshold=float(dataset.episode_returns.max()),
        target_return=policy.target_return, n_generated=generated, n_kept=rollouts.n_episodes, method="mbrcsl",
        params={"horizon": H, "n_keep": n_keep, "batch_size": B, "max_rollouts": max_rollouts,
                "model": "exact" if model is not None else "counts", "context_len": context_len},
        elapsed=time.perf_counter() - t0,
    )
