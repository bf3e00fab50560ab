"""The result every sample-based learner returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._deprecation import renamed_attribute
from .._result import History, Result, as_history

__all__ = ["LearningResult", "PredictionResult"]


@dataclass(frozen=True, repr=False, eq=False)
class LearningResult(Result):
    r"""What a learner in :mod:`theory_rl.learning` returns.

    Attributes
    ----------
    q : ndarray
        Learned action values: shape ``(S, A)`` for the discounted learners, ``(H, S, A)`` for the
        episodic ones (``q[h]`` with ``H - h`` steps to go).
    policy : ndarray of int64
        Greedy policy for ``q``: shape ``(S,)``, or ``(H, S)`` for episodic learners.
    history : History
        Per-step record a rate plot needs. Always has ``"step"`` and ``"samples"`` (transitions
        drawn so far, per state-action pair for generative learners, in total for online ones);
        ``"error"`` (``||q_t - q*||_inf``) when ``q_star`` was passed; online learners add
        ``"regret"`` (cumulative) and ``"optimism"`` (``min_{h,s,a} (q_k - q*)``). ``trace`` is its
        deprecated name (removed in the next release).
    method : str
    params : dict
        The options the learner ran with (plain JSON types).
    n_samples : int
        Total number of transitions drawn from the model.
    elapsed : float
        Wall-clock seconds.
    model : FiniteMDP or None
        The empirical model (plug-in planning only); left out of ``to_dict()``.
    info : dict
        Method-specific extras (plug-in planning: ``planner_residual``, the planner's history).

    Examples
    --------
    >>> from theory_rl import envs, learning
    >>> res = learning.plug_in_planning(envs.chain(3, gamma=0.9), n_per_pair=10, seed=0)
    >>> type(res).__name__, res.method, res.q.shape
    ('LearningResult', 'plug_in_planning', (3, 2))
    """

    q: np.ndarray
    policy: np.ndarray
    history: History
    n_samples: int
    model: Any = field(default=None)
    info: dict[str, Any] = field(default_factory=dict)

    _repr_fields = ("method", "n_samples", "elapsed")
    _dict_exclude = ("model",)

    trace = renamed_attribute("trace", "history")

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", as_history(self.history, "error"))

    @property
    def final_error(self) -> float:
        """``history["error"][-1]`` (needs ``q_star`` at the call), else NaN."""
        err = self.history.get("error")
        return float(err[-1]) if err is not None and len(err) else float("nan")


@dataclass(frozen=True, repr=False, eq=False)
class PredictionResult(Result):
    r"""What a prediction (policy evaluation from episodes) learner returns: TD(0), TD(lambda),
    the lambda-return, n-step TD and Monte Carlo prediction.

    Attributes
    ----------
    v : ndarray, shape (S,)
        The estimate of ``v_pi`` after the last episode (terminal states stay 0).
    history : History
        One row per episode: ``step`` (episode), ``samples`` (transitions so far), ``return``
        (the discounted return from ``S_0``), ``length`` (steps ``T``) and ``rms_error`` (RMS of
        ``v - v_true`` over the non-terminal states, NaN without ``v_true``).
    n_samples : int
        Transitions seen in all episodes.
    episodes : tuple of Episode
        The episodes learned from, in order (left out of ``to_dict()``).
    method, params, elapsed
        As for every result.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, learning
    >>> walk = envs.random_walk(5)
    >>> res = learning.td_prediction(walk, np.full((7, 2), 0.5), n_episodes=20, seed=0)
    >>> res.v.shape, res.n_samples > 0
    ((7,), True)
    """

    v: np.ndarray
    history: History
    n_samples: int
    episodes: tuple = ()

    _repr_fields = ("method", "n_samples", "elapsed")
    _dict_exclude = ("episodes",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", as_history(self.history, "rms_error"))

    @property
    def final_rms_error(self) -> float:
        """``history["rms_error"][-1]`` (NaN without ``v_true``)."""
        return float(self.history["rms_error"][-1])
