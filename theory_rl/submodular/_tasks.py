r"""The paper's tabular grid-world tasks: coverage and Bayesian experiment design on a grid."""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_probability, check_real, rng_from_seed
from ..envs import gridworld
from ..models import FiniteMDP
from ._set_functions import LogDet, WeightedCoverage

__all__ = ["coverage_gridworld", "experiment_design_gridworld"]


def _grid(n_rows: int, n_cols: int, slip: float) -> tuple[FiniteMDP, np.ndarray]:
    n_rows = check_int(n_rows, "n_rows")
    n_cols = check_int(n_cols, "n_cols")
    slip = check_probability(slip, "slip")
    d0 = np.zeros(n_rows * n_cols)
    d0[0] = 1.0
    mdp = gridworld(n_rows, n_cols, slip=slip, goal=[], step_reward=0.0).replace(d0=d0)
    coords = np.stack(np.divmod(np.arange(n_rows * n_cols), n_cols), axis=1).astype(np.float64)
    return mdp, coords


def coverage_gridworld(n_rows: int, n_cols: int, *, radius: int = 1, slip: float = 0.0,
                       seed: int | np.random.Generator | None = None) -> tuple[FiniteMDP, WeightedCoverage]:
    r"""A grid world whose objective is the weighted area covered by the visited cells.

    A visited cell covers every cell within Chebyshev distance ``radius``; cell ``u`` weighs
    ``w_u ~ Uniform(0, 1)`` (a density of targets, as the paper's coverage and gorilla-nest tasks):
    ``F(X) = sum_u w_u [dist(u, X) <= radius]``. The agent starts in the top-left cell and moves
    with :func:`theory_rl.envs.gridworld`'s four actions and ``slip``. Prajapat et al. (2024),
    arXiv:2307.13372, section 6 use a 30 x 30 grid with ``H = 40``.

    Returns
    -------
    (FiniteMDP, WeightedCoverage)

    Examples
    --------
    >>> mdp, F = coverage_gridworld(3, 3, radius=1, seed=0)
    >>> mdp.n_states, F.n, round(F.value([4]) / F.value(list(range(9))), 3)  # the centre covers all
    (9, 9, 1.0)
    """
    mdp, coords = _grid(n_rows, n_cols, slip)
    radius = check_int(radius, "radius", minimum=0)
    weights = rng_from_seed(seed).random(len(coords))
    dist = np.abs(coords[:, None, :] - coords[None, :, :]).max(axis=2)
    return mdp, WeightedCoverage(dist <= radius, weights=weights)


def experiment_design_gridworld(n_rows: int, n_cols: int, *, lengthscale: float = 1.0, noise: float = 0.1,
                                slip: float = 0.0) -> tuple[FiniteMDP, LogDet]:
    r"""A grid world whose objective is the information gain about a Gaussian-process field.

    ``F(X) = 1/2 log det(I + sigma^{-2} K_XX)`` with the squared-exponential kernel
    ``K(u, v) = exp(-|u - v|^2 / (2 l^2))`` on cell coordinates (Bayesian experiment design,
    Prajapat et al. 2024, arXiv:2307.13372, section 6; Krause, Singh & Guestrin 2008).

    Returns
    -------
    (FiniteMDP, LogDet)

    Examples
    --------
    >>> mdp, F = experiment_design_gridworld(2, 3, lengthscale=1.0, noise=0.1)
    >>> round(F.value([0]), 4)
    1.1989
    """
    mdp, coords = _grid(n_rows, n_cols, slip)
    lengthscale = check_real(lengthscale, "lengthscale", low=0.0, low_open=True)
    sq = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(axis=2)
    return mdp, LogDet(np.exp(-sq / (2.0 * lengthscale**2)), noise=noise)
