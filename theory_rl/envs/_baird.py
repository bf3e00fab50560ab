r"""Baird's (1995) counterexample: a seven-state star MDP with linear features on which off-policy
semi-gradient TD diverges (L. Baird, "Residual algorithms: reinforcement learning with function
approximation", ICML 1995; Sutton & Barto 2018, Example 11.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._result import ResultMixin
from .._validation import (
    rng_from_seed,
)
from ..models import FiniteMDP

__all__ = ["BairdCounterexample", "baird_counterexample"]


@dataclass(frozen=True, repr=False, eq=False)
class BairdCounterexample(ResultMixin):
    r"""Baird's (1995) seven-state star MDP (Sutton & Barto 2018, Example 11.1).

    Actions: ``0 = dashed`` (to one of the upper states 0..5, uniformly), ``1 = solid`` (to the
    lower state 6). All rewards are 0, so ``v_pi = 0`` and ``w = 0`` represents it exactly.
    Features (8 of them): ``phi(i) = 2 e_i + e_7`` for ``i < 6``, ``phi(6) = e_6 + 2 e_7``.
    Behaviour ``b``: dashed w.p. 6/7 (so its state distribution is uniform); target ``pi``: solid.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs
    >>> b = envs.baird_counterexample(gamma=0.99)
    >>> type(b).__name__, b.w0.shape
    ('BairdCounterexample', (8,))
    >>> bool(np.allclose(b.target.sum(axis=1), 1.0))
    True
    """

    mdp: FiniteMDP
    features: np.ndarray
    behavior: np.ndarray
    target: np.ndarray
    w0: np.ndarray

    _repr_fields = ("features",)

    def trajectory(self, n_steps: int, *, seed: Any = None) -> dict[str, np.ndarray]:
        """``n_steps`` behaviour-policy transitions with ``phi``, ``phi_next``, ``rewards`` and the
        importance ratios ``rho = pi(a|s)/b(a|s)`` (7 for solid, 0 for dashed)."""
        rng = rng_from_seed(seed)
        s = np.empty(n_steps + 1, dtype=np.int64)
        s[0] = rng.integers(7)
        a = (rng.random(n_steps) < self.behavior[0, 1]).astype(np.int64)
        upper = rng.integers(0, 6, size=n_steps)
        s[1:] = np.where(a == 1, 6, upper)
        rho = self.target[s[:-1], a] / self.behavior[s[:-1], a]
        return {"phi": self.features[s[:-1]], "phi_next": self.features[s[1:]], "rewards": np.zeros(n_steps),
                "weights": rho, "states": s[:-1], "actions": a}


def baird_counterexample(*, gamma: float = 0.99) -> BairdCounterexample:
    """Baird's counterexample: off-policy semi-gradient TD diverges on it (see :class:`BairdCounterexample`).

    Examples
    --------
    >>> from theory_rl import envs
    >>> b = envs.baird_counterexample()
    >>> b.mdp.n_states, b.features.shape
    (7, (7, 8))
    """
    P = np.zeros((7, 2, 7))
    P[:, 0, :6] = 1.0 / 6.0
    P[:, 1, 6] = 1.0
    features = np.zeros((7, 8))
    features[np.arange(6), np.arange(6)] = 2.0
    features[:6, 7] = 1.0
    features[6, 6], features[6, 7] = 1.0, 2.0
    behavior = np.tile([6.0 / 7.0, 1.0 / 7.0], (7, 1))
    target = np.tile([0.0, 1.0], (7, 1))
    return BairdCounterexample(mdp=FiniteMDP(P, np.zeros((7, 2)), gamma), features=features, behavior=behavior,
                               target=target, w0=np.array([1, 1, 1, 1, 1, 1, 10, 1], dtype=float))
