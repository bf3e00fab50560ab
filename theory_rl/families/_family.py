r"""MDP families ``{M_phi : phi in Phi}`` with a sampling distribution ``p(phi)`` and a nominal (point) member.

Jayawardana, Tang, Li, Suo & Wu (2022), "The Impact of Task Underspecification in Evaluating Deep
Reinforcement Learning", NeurIPS, arXiv:2210.08607: an algorithm's family performance is
``J_fam(pi) = E_{phi ~ p}[J_{M_phi}(pi)]``, versus the usual point score ``J_{M_{phi_0}}(pi)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int, rng_from_seed
from ..envs import gridworld, random_mdp, river_swim
from ..errors import InvalidArgumentError
from ..models import FiniteMDP

__all__ = ["MDPFamily", "gridworld_family", "random_mdp_family", "river_swim_family"]


@dataclass(frozen=True, eq=False)
class MDPFamily:
    r"""A family of MDPs: a parameter space, a sampler and a builder ``phi -> M_phi``.

    Parameters
    ----------
    name : str
        Names the family in stores and tables.
    bounds : mapping of str to (low, high) or list
        The parameter space ``Phi``, one entry per parameter: a ``(low, high)`` tuple is a uniform
        range (integers when both ends are ``int``, inclusive), a list a uniform choice.
    builder : callable
        ``builder(**phi) -> FiniteMDP`` (or a gymnasium environment for the deep methods).
    nominal : mapping of str to value
        ``phi_0``, the point MDP a paper would report.

    Examples
    --------
    >>> fam = river_swim_family()
    >>> phis = fam.sample(3, seed=0)
    >>> list(phis.columns), len(phis)
    (['n_states', 'gamma'], 3)
    >>> fam.make(fam.nominal).n_states
    6
    """

    name: str
    bounds: Mapping[str, Any]
    builder: Callable[..., Any]
    nominal: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, spec in self.bounds.items():
            if isinstance(spec, tuple):
                if len(spec) != 2 or not spec[0] <= spec[1]:
                    raise InvalidArgumentError(f"bounds[{key!r}] = {spec!r} must be (low, high) with low <= high")
            elif not isinstance(spec, list) or not spec:
                raise InvalidArgumentError(f"bounds[{key!r}] must be a (low, high) tuple or a non-empty list")

    def sample(self, n_instances: int, *, seed: int | np.random.Generator | None = None):
        """``n_instances`` parameter vectors ``phi ~ p`` as a pandas DataFrame (one row per instance)."""
        import pandas as pd

        n_instances = check_int(n_instances, "n_instances")
        rng = rng_from_seed(seed)
        columns = {}
        for key, spec in self.bounds.items():
            if isinstance(spec, list):
                columns[key] = [spec[i] for i in rng.integers(0, len(spec), size=n_instances)]
            elif all(isinstance(x, numbers.Integral) for x in spec):
                columns[key] = rng.integers(int(spec[0]), int(spec[1]) + 1, size=n_instances).tolist()
            else:
                columns[key] = rng.uniform(float(spec[0]), float(spec[1]), size=n_instances).tolist()
        return pd.DataFrame(columns)

    def make(self, phi: Mapping[str, Any]) -> Any:
        """The member ``M_phi`` (``phi`` a mapping or a DataFrame row)."""
        return self.builder(**{k: _plain(v) for k, v in dict(phi).items()})


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def _grid(size: int, slip: float, gamma: float, layout: int, reward_noise: float) -> FiniteMDP:
    """A ``size x size`` grid, start top-left, goal bottom-right, obstacles and reward noise drawn from ``layout``."""
    rng = np.random.default_rng(layout)
    cells = size * size
    density = 0.15 if layout else 0.0  # layout 0: the open grid
    free = np.ones(cells, dtype=bool)
    free[rng.permutation(cells)[: int(density * cells)]] = False
    free[0] = free[cells - 1] = True
    obstacles = [divmod(int(c), size) for c in np.flatnonzero(~free)]
    mdp = gridworld(size, size, slip=slip, gamma=gamma, obstacles=obstacles or None)
    d0 = np.zeros(cells)
    d0[0] = 1.0
    R = np.asarray(mdp.R) + reward_noise * rng.standard_normal(mdp.R.shape) * (~np.asarray(mdp.terminal))[:, None]
    return mdp.replace(d0=d0, R=R)


def gridworld_family(*, size: tuple[int, int] = (4, 7), slip: tuple[float, float] = (0.0, 0.4),
                     gamma: tuple[float, float] = (0.9, 0.99), reward_noise: tuple[float, float] = (0.0, 0.5),
                     layouts: int = 1000) -> MDPFamily:
    r"""Grid worlds (:func:`theory_rl.envs.gridworld`) varying in size, slip, discount, reward
    noise and obstacle layout; nominal: the open ``5 x 5`` grid without slip or noise, ``gamma = 0.95``.

    Layout ``0`` has no obstacles; layout ``l > 0`` blocks 15% of the cells drawn with seed ``l``
    (never the start or the goal). Reward noise adds ``N(0, sigma^2)`` (drawn once per layout) to
    every non-terminal ``R[s, a]``.

    Examples
    --------
    >>> fam = gridworld_family()
    >>> mdp = fam.make(fam.nominal)
    >>> mdp.n_states, mdp.gamma
    (25, 0.95)
    """
    layouts = check_int(layouts, "layouts")
    return MDPFamily(
        name="gridworld",
        bounds={"size": size, "slip": slip, "gamma": gamma, "reward_noise": reward_noise, "layout": (0, layouts)},
        builder=_grid,
        nominal={"size": 5, "slip": 0.0, "gamma": 0.95, "reward_noise": 0.0, "layout": 0},
    )


def river_swim_family(*, n_states: tuple[int, int] = (4, 10), gamma: tuple[float, float] = (0.9, 0.99)) -> MDPFamily:
    r"""RiverSwim chains (:func:`theory_rl.envs.river_swim`) of varying length and discount; nominal ``n = 6, gamma = 0.95``.

    Examples
    --------
    >>> river_swim_family().make({"n_states": 4, "gamma": 0.9}).n_states
    4
    """
    return MDPFamily(name="river_swim", bounds={"n_states": n_states, "gamma": gamma}, builder=river_swim,
                     nominal={"n_states": 6, "gamma": 0.95})


def _random(n_states: int, n_actions: int, gamma: float, layout: int) -> FiniteMDP:
    return random_mdp(n_states, n_actions, gamma=gamma, seed=layout)


def random_mdp_family(*, n_states: tuple[int, int] = (4, 12), n_actions: tuple[int, int] = (2, 4),
                      gamma: tuple[float, float] = (0.8, 0.95), layouts: int = 10_000) -> MDPFamily:
    r"""Random MDPs (:func:`theory_rl.envs.random_mdp`): size, discount and the drawn kernel (``layout``) vary.

    Examples
    --------
    >>> fam = random_mdp_family()
    >>> fam.make(fam.nominal).n_states
    6
    """
    layouts = check_int(layouts, "layouts")
    return MDPFamily(name="random_mdp",
                     bounds={"n_states": n_states, "n_actions": n_actions, "gamma": gamma, "layout": (0, layouts)},
                     builder=_random, nominal={"n_states": 6, "n_actions": 3, "gamma": 0.9, "layout": 0})
