r"""Preference oracles over trajectories and the self-play batch reward of SPO.

A trajectory of horizon ``H`` is a pair ``(states, actions)`` of integer arrays of shapes
``(H+1,)`` and ``(H,)``; a batch of ``n`` trajectories stacks them as ``(n, H+1)`` and ``(n, H)``.
An oracle gives ``Pr(xi beats xi')`` for every pair (ties split, so ``P(xi, xi') + P(xi', xi) = 1``)
and draws 0/1 answers from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from .._validation import as_float_array, check_bool, check_finite, check_int, check_real, rng_from_seed
from ..errors import InvalidArgumentError, InvalidModelError

__all__ = ["PreferenceOracle", "BradleyTerryOracle", "MajorityOracle", "NoisyOracle", "CoverageOracle", "batch_win_rates"]

_TIE_ATOL = 1e-9
"""Utilities closer than this are a tie (sums of a few float64 rewards)."""


def as_trajectories(states: Any, actions: Any) -> tuple[np.ndarray, np.ndarray]:
    """A batch ``(states (n, H+1), actions (n, H))`` of integer arrays; one trajectory becomes a batch of one."""
    s = np.atleast_2d(np.asarray(states))
    a = np.asarray(actions)
    a = a.reshape(1, -1) if a.ndim <= 1 else a
    if s.dtype.kind not in "iu" or a.dtype.kind not in "iu":
        raise InvalidArgumentError("states and actions must be integer arrays (state and action indices)")
    if s.ndim != 2 or a.ndim != 2 or s.shape[0] != a.shape[0] or s.shape[1] != a.shape[1] + 1:
        raise InvalidArgumentError(
            f"states has shape {s.shape} and actions {a.shape}: expected (n, H+1) and (n, H) for n trajectories of horizon H"
        )
    return s.astype(np.intp, copy=False), a.astype(np.intp, copy=False)


def _check_indices(s: np.ndarray, a: np.ndarray, n_states: int, n_actions: int) -> None:
    for arr, name, n in ((s, "states", n_states), (a, "actions", n_actions)):
        bad = (arr < 0) | (arr >= n)
        if bad.any():
            i, t = (int(k) for k in np.argwhere(bad)[0])
            raise InvalidArgumentError(f"{name}[{i}, {t}] = {int(arr[i, t])} is outside 0..{n - 1}")


def _step(diff: np.ndarray, temperature: float) -> np.ndarray:
    """``sigma(diff / temperature)``; at temperature 0 the step 1, 1/2 (tie), 0."""
    if temperature == 0.0:
        return np.where(diff > _TIE_ATOL, 1.0, np.where(diff < -_TIE_ATOL, 0.0, 0.5))
    return expit(diff / temperature)


def _reward_table(reward: Any, name: str, ndim: int) -> np.ndarray:
    arr = as_float_array(reward, name, ndim=ndim)
    check_finite(arr, name)
    if 0 in arr.shape:
        raise InvalidModelError(f"{name} has shape {arr.shape}: it needs at least one state and one action")
    arr = arr.copy()
    arr.flags.writeable = False
    return arr


class PreferenceOracle:
    r"""A preference over trajectories: ``Pr(xi beats xi')`` and 0/1 answers drawn from it.

    Subclasses define ``features(states, actions)`` (an array with one row per trajectory) and
    ``compare(f1, f2)`` (the probability from broadcast rows of features); :meth:`matrix`,
    :meth:`pairwise`, :meth:`probability` and :meth:`prefer` follow. Every oracle here is
    antisymmetric, ``P(xi, xi') + P(xi', xi) = 1`` (ties count one half each).

    Examples
    --------
    A rater who prefers the longer stay in state 0 (a trajectory-level score, ties split):

    >>> import numpy as np
    >>> from theory_rl.games import PreferenceOracle
    >>> class StayLonger(PreferenceOracle):
    ...     def features(self, states, actions):
    ...         return (np.atleast_2d(states) == 0).sum(axis=1).astype(float)
    ...     def compare(self, f1, f2):
    ...         return np.where(f1 > f2, 1.0, np.where(f1 < f2, 0.0, 0.5))
    >>> StayLonger().matrix(([[0, 0, 1], [0, 1, 1]], [[0, 0], [0, 0]]), ([[0, 0, 1]], [[0, 0]])).tolist()
    [[0.5], [0.0]]
    """

    def features(self, states: Any, actions: Any) -> np.ndarray:
        """What the rater looks at, one row per trajectory of the batch ``(states, actions)``."""
        raise NotImplementedError

    def compare(self, f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
        """``Pr(first beats second)`` from features that broadcast against each other."""
        raise NotImplementedError

    def matrix(self, first: tuple[Any, Any], second: tuple[Any, Any]) -> np.ndarray:
        r"""``W[i, j] = Pr(first_i beats second_j)``, shape ``(n_1, n_2)``, for two batches ``(states, actions)``."""
        f1, f2 = self.features(*first), self.features(*second)
        return self.compare(f1[:, None], f2[None, :])

    def pairwise(self, first: tuple[Any, Any], second: tuple[Any, Any]) -> np.ndarray:
        r"""``Pr(first_i beats second_i)`` for two batches of equal size, shape ``(n,)``."""
        f1, f2 = self.features(*first), self.features(*second)
        if f1.shape[0] != f2.shape[0]:
            raise InvalidArgumentError(f"pairwise compares batches of equal size, got {f1.shape[0]} and {f2.shape[0]}")
        return self.compare(f1, f2)

    def probability(self, first: tuple[Any, Any], second: tuple[Any, Any]) -> float:
        """``Pr(first beats second)`` for two single trajectories ``(states, actions)``."""
        return float(self.matrix(first, second)[0, 0])

    def prefer(self, first: tuple[Any, Any], second: tuple[Any, Any], seed: Any = None) -> int:
        """One rater's answer: 1 if ``first`` is preferred, else 0, drawn with :meth:`probability`."""
        return int(rng_from_seed(seed).random() < self.probability(first, second))


@dataclass(frozen=True, eq=False)
class BradleyTerryOracle(PreferenceOracle):
    r"""Reward-derived Bradley-Terry preferences (Bradley & Terry 1952).

    .. math::
        \Pr(\xi \succ \xi') = \sigma\Big(\frac{u(\xi) - u(\xi')}{\tau}\Big), \qquad
        u(\xi) = \sum_{t<H} r(s_t, a_t),

    transitive (a Condorcet order by ``u``); ``temperature = 0`` is the noiseless comparison of
    utilities (ties one half).

    Parameters
    ----------
    reward : array_like, shape (S, A)
        ``r(s, a)``.
    temperature : float
        ``tau >= 0`` (default 1).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import BradleyTerryOracle
    >>> oracle = BradleyTerryOracle(np.array([[0.0, 1.0]]), temperature=1.0)
    >>> round(oracle.probability(([0, 0], [1]), ([0, 0], [0])), 4)      # sigma(1)
    0.7311
    """

    reward: Any
    temperature: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "reward", _reward_table(self.reward, "reward", 2))
        object.__setattr__(self, "temperature", check_real(self.temperature, "temperature", low=0.0))

    def features(self, states: Any, actions: Any) -> np.ndarray:
        """``u(xi) = sum_t r(s_t, a_t)`` for a batch, shape ``(n,)``."""
        s, a = as_trajectories(states, actions)
        _check_indices(s, a, *self.reward.shape)
        return self.reward[s[:, :-1], a].sum(axis=1)

    def compare(self, f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
        return _step(f1 - f2, self.temperature)


@dataclass(frozen=True, eq=False)
class MajorityOracle(PreferenceOracle):
    r"""Majority vote of several objectives: intransitive in general (Condorcet's paradox).

    .. math::
        \Pr(\xi \succ \xi') = \mathbb 1\Big[\sum_k \operatorname{sign}(u_k(\xi) - u_k(\xi')) > 0\Big]
        + \tfrac12 \mathbb 1\Big[\sum_k \operatorname{sign}(u_k(\xi) - u_k(\xi')) = 0\Big],
        \qquad u_k(\xi) = \sum_{t<H} r_k(s_t, a_t),

    the aggregate of ``K`` raters who each compare by their own reward, the intransitive oracle
    of SPO's experiments (Swamy et al. 2024, arXiv 2401.04056, Sec. 5). Three objectives can
    make a rock-paper-scissors cycle over trajectories, where no reward explains the preferences.

    Parameters
    ----------
    rewards : array_like, shape (K, S, A)
        ``r_k(s, a)``, one reward table per objective.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import MajorityOracle
    >>> r = np.array([[[3., 2., 1.]], [[1., 3., 2.]], [[2., 1., 3.]]])   # Condorcet's cycle over 3 actions
    >>> oracle = MajorityOracle(r)
    >>> [oracle.probability(([0, 0], [i]), ([0, 0], [(i + 1) % 3])) for i in range(3)]   # 0 > 1 > 2 > 0
    [1.0, 1.0, 1.0]
    """

    rewards: Any

    def __post_init__(self) -> None:
        object.__setattr__(self, "rewards", _reward_table(self.rewards, "rewards", 3))

    def features(self, states: Any, actions: Any) -> np.ndarray:
        """``u_k(xi)`` for a batch, shape ``(n, K)``."""
        s, a = as_trajectories(states, actions)
        _check_indices(s, a, *self.rewards.shape[1:])
        return self.rewards[:, s[:, :-1], a].sum(axis=2).T

    def compare(self, f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
        diff = f1 - f2
        votes = (diff > _TIE_ATOL).sum(axis=-1) - (diff < -_TIE_ATOL).sum(axis=-1)
        return np.where(votes > 0, 1.0, np.where(votes < 0, 0.0, 0.5))


@dataclass(frozen=True, eq=False)
class NoisyOracle(PreferenceOracle):
    r"""A rater who flips the answer of another oracle with probability ``noise``.

    .. math::
        \Pr_{\text{noisy}}(\xi \succ \xi') = (1 - \epsilon) \Pr(\xi \succ \xi') + \epsilon \Pr(\xi' \succ \xi),

    still antisymmetric; ``noise = 1/2`` answers at random. Flipping preserves the minimax winner
    when ``noise < 1/2`` (the centred matrix is scaled by ``1 - 2 epsilon``).

    Parameters
    ----------
    oracle : PreferenceOracle
        The noiseless rater.
    noise : float
        ``epsilon`` in ``[0, 1/2]``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import BradleyTerryOracle, NoisyOracle
    >>> oracle = NoisyOracle(BradleyTerryOracle(np.array([[0.0, 1.0]]), temperature=0.0), noise=0.2)
    >>> oracle.probability(([0, 0], [1]), ([0, 0], [0]))
    0.8
    """

    oracle: PreferenceOracle
    noise: float = 0.1

    def __post_init__(self) -> None:
        if not isinstance(self.oracle, PreferenceOracle):
            raise InvalidArgumentError(f"oracle must be a PreferenceOracle, got {type(self.oracle).__name__}")
        object.__setattr__(self, "noise", check_real(self.noise, "noise", low=0.0, high=0.5))

    def features(self, states: Any, actions: Any) -> np.ndarray:
        """The noiseless rater's features."""
        return self.oracle.features(states, actions)

    def compare(self, f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
        """``(1 - noise) W + noise (1 - W)`` with ``W`` the noiseless rater's probabilities."""
        W = self.oracle.compare(f1, f2)
        return (1.0 - self.noise) * W + self.noise * (1.0 - W)


@dataclass(frozen=True, eq=False)
class CoverageOracle(PreferenceOracle):
    r"""A non-Markovian preference: the trajectory that visits more distinct states wins.

    .. math::
        \Pr(\xi \succ \xi') = \sigma\Big(\frac{c(\xi) - c(\xi')}{\tau}\Big), \qquad
        c(\xi) = |\{s_0, s_1, \dots, s_H\}|,

    (the step function at ``temperature = 0``). ``c`` depends on the whole trajectory, so no reward
    ``r(s, a)`` summed along it explains these preferences: an exploration-style objective that
    SPO optimises directly (Swamy et al. 2024, arXiv 2401.04056, Sec. 5, non-Markovian preferences).

    Parameters
    ----------
    temperature : float
        ``tau >= 0`` (default 0).

    Examples
    --------
    >>> from theory_rl.games import CoverageOracle
    >>> CoverageOracle().probability(([0, 1, 2], [0, 0]), ([0, 1, 0], [0, 0]))
    1.0
    """

    temperature: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", check_real(self.temperature, "temperature", low=0.0))

    def features(self, states: Any, actions: Any) -> np.ndarray:
        """``c(xi)``, the number of distinct states visited, shape ``(n,)``."""
        s, _ = as_trajectories(states, actions)
        if (s < 0).any():
            raise InvalidArgumentError("states must be non-negative state indices")
        ordered = np.sort(s, axis=1)
        return (1 + (np.diff(ordered, axis=1) != 0).sum(axis=1)).astype(float)

    def compare(self, f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
        return _step(f1 - f2, self.temperature)


def check_oracle(oracle: Any) -> PreferenceOracle:
    if not isinstance(oracle, PreferenceOracle):
        raise InvalidArgumentError(f"oracle must be a PreferenceOracle, got {type(oracle).__name__}")
    return oracle


def batch_win_rates(states: Any, actions: Any, *, oracle: PreferenceOracle, seed: Any = None,
                    exact: bool = False) -> np.ndarray:
    r"""SPO's self-play reward: each trajectory's win rate against the rest of its batch.

    .. math::
        r(\xi_i) = \frac{1}{B-1} \sum_{j \ne i} o_{ij}, \qquad
        o_{ij} \sim \mathrm{Bernoulli}(\Pr(\xi_i \succ \xi_j)),\ o_{ji} = 1 - o_{ij},

    one query per pair (``B (B-1) / 2`` in all). For ``B`` trajectories drawn from the policy
    ``pi``, ``r(xi_i)`` is an unbiased estimate of ``Pr(xi_i beats pi)`` (Swamy, Dann, Kidambi, Wu &
    Agarwal 2024, "A minimaximalist approach to reinforcement learning from human feedback",
    ICML, arXiv 2401.04056, Alg. 1), and antisymmetry gives ``sum_i r(xi_i) = B/2`` for every batch:
    the batch mean is exactly ``1/2``. ``exact=True`` uses the probabilities instead of draws
    (ties and noisy raters count fractionally; the sum is still ``B/2``).

    Parameters
    ----------
    states : array_like of int, shape (B, H+1)
    actions : array_like of int, shape (B, H)
    oracle : PreferenceOracle
    seed : int, Generator or None
    exact : bool
        Expected answers instead of sampled ones.

    Returns
    -------
    ndarray, shape (B,)

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import BradleyTerryOracle, batch_win_rates
    >>> oracle = BradleyTerryOracle(np.array([[0.0, 1.0, 2.0]]), temperature=0.0)
    >>> states, actions = np.zeros((4, 2), int), np.array([[0], [1], [2], [2]])
    >>> r = batch_win_rates(states, actions, oracle=oracle, exact=True)
    >>> r.round(4).tolist(), float(r.sum())
    ([0.0, 0.3333, 0.8333, 0.8333], 2.0)
    """
    check_oracle(oracle)
    exact = check_bool(exact, "exact")
    rng = rng_from_seed(seed)
    s, a = as_trajectories(states, actions)
    B = check_int(s.shape[0], "batch size (number of trajectories)", minimum=2)
    W = oracle.matrix((s, a), (s, a))
    if not exact:
        upper = np.triu(rng.random((B, B)) < W, k=1).astype(float)
        W = upper + np.tril(1.0 - upper.T, k=-1)
    np.fill_diagonal(W, 0.0)
    return W.sum(axis=1) / (B - 1)
