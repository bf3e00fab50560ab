"""A finite model together with the factored observation an agent sees in each state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models import FiniteMDP
from ._gym_envs import TabularEnv

__all__ = ["FactoredTask"]


@dataclass(frozen=True, eq=False)
class FactoredTask:
    r"""An exact :class:`~theory_rl.models.FiniteMDP` with the binary observation of each state.

    Built by :func:`button_grid` and :func:`proc_maze` (Young, Ramesh, Kirsch & Schmidhuber 2023,
    arXiv:2211.02222): the planners read ``mdp``, the neural agents read ``observations[s]``
    (the paper's flattened channel image), the value-set analysis reads ``factors[s]``.

    Attributes
    ----------
    mdp : FiniteMDP
    observations : ndarray of float32, shape (S, d)
        ``observations[s]``: the 0/1 observation of state ``s``.
    factors : ndarray of int64, shape (S, k)
        ``factors[s]``: the factored state (named in ``factor_names``).
    factor_names : tuple of str
    layout : ndarray of int64, shape (grid_size, grid_size)
        The seeded layout (its meaning is given by the generator).

    Examples
    --------
    >>> from theory_rl import envs
    >>> task = envs.button_grid(3, 1, seed=0)
    >>> task.observations.shape, task.factor_names
    ((18, 27), ('row', 'col', 'button_0'))
    """

    mdp: FiniteMDP
    observations: np.ndarray
    factors: np.ndarray
    factor_names: tuple[str, ...]
    layout: np.ndarray

    def gym_env(self, *, horizon: int = 100, start: str = "d0") -> Any:
        """The task as a ``gymnasium.Env`` with observations ``observations[s]``
        (:class:`TabularEnv` with ``observations=``; terminal states end the episode).

        Examples
        --------
        >>> from theory_rl import envs
        >>> env = envs.proc_maze(4, seed=0).gym_env(horizon=20)
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape
        (64,)
        """
        return TabularEnv(self.mdp, horizon=horizon, start=start, observations=self.observations, episodic=True)
