r"""The windy walk: a grid world whose wind strength is uncertain (the tabular benchmark of
Zouitine, Geist & Rachelson 2024, arXiv 2410.06212, figure 1).

The paper's figure shows a start S, a goal G and a wind field; its exact parameterisation is not
given in what we could read, so this one is ours (documented, deterministic):

- ``n_rows x n_cols`` grid, start S in the bottom-left cell, goal G in the bottom-right cell;
  the bottom-row cells between them are a *cliff* (absorbing, no reward).
- Actions ``up, down, left, right`` move one cell (bumping into a wall stays put).
- Wind: after the move, a gust pushes the agent one more cell *down* (towards the cliff) with
  probability ``w`` (a push into the wall at the bottom does nothing).
- Reward: 1 for any action in G, which then moves to an absorbing end state; the cliff cells
  are absorbing with reward 0. So ``V(S)`` is ``E[gamma^tau]`` with ``tau`` the hitting time of G
  (0 if the agent falls), in ``[0, 1]``, and rewards do not depend on the wind.

The walk along the cliff edge is shortest; a strong wind makes it deadly. How much to detour
depends on the wind, which is uncertain:

- ``rectangular=True``: the wind at each (s, a) is anywhere in ``[0, max_wind]``, chosen by
  nature per visit: :class:`~theory_rl.robust.SARectFinite` with the two extreme rows (``w = 0`` and
  ``w = max_wind``; rows are affine in ``w``, so the endpoints give the same robust value as
  the whole interval).
- ``rectangular=False``: one wind strength per column, fixed for the episode,
  ``theta in [0, max_wind]^{n_cols}``: a :class:`~theory_rl.robust.ParametricSet` (the static, coupled set that
  deep IWOCS searches with CMA-ES).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidModelError
from ..models import FiniteMDP

if TYPE_CHECKING:
    from ..robust import RobustMDP

__all__ = ["windy_walk", "windy_walk_kernel"]

_MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]])  # up, down, left, right


def windy_walk_kernel(wind: np.ndarray, *, n_rows: int, n_cols: int) -> np.ndarray:
    """The kernel ``P[s, a, s']`` for a wind probability per (s, a), shape ``(S, A)``, per
    column, shape ``(n_cols,)``, or a scalar. States ``row * n_cols + col`` are the cells and
    state ``n_rows * n_cols`` is the absorbing end state; G moves to it (collecting the
    reward), cliff cells are absorbing.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs
    >>> P = envs.windy_walk_kernel(np.array(0.2), n_rows=4, n_cols=6)
    >>> P.shape
    (25, 4, 25)
    >>> bool(np.allclose(P.sum(axis=2), 1.0))
    True
    """
    n_cells = n_rows * n_cols
    S = n_cells + 1
    wind = np.asarray(wind, dtype=float)
    cols = np.arange(n_cells) % n_cols
    if wind.ndim == 0:
        wind = np.full((S, 4), float(wind))
    elif wind.shape == (n_cols,):
        wind = np.vstack([np.repeat(wind[cols][:, None], 4, axis=1), np.zeros((1, 4))])
    if wind.shape != (S, 4):
        raise InvalidModelError(f"wind has shape {wind.shape}, expected a scalar, ({n_cols},) or ({S}, 4)")
    if (wind < 0).any() or (wind > 1).any():
        raise InvalidModelError("wind probabilities must lie in [0, 1]")
    r, c = np.divmod(np.arange(n_cells), n_cols)
    cells = np.arange(n_cells)
    P = np.zeros((S, 4, S))
    for a, (dr, dc) in enumerate(_MOVES):
        r1 = np.clip(r + dr, 0, n_rows - 1)
        c1 = np.clip(c + dc, 0, n_cols - 1)
        s1 = r1 * n_cols + c1
        s2 = np.minimum(r1 + 1, n_rows - 1) * n_cols + c1  # pushed one row down
        w = wind[:n_cells, a]
        np.add.at(P, (cells, a, s1), 1.0 - w)
        np.add.at(P, (cells, a, s2), w)
    cliff, goal = _cliff_and_goal(n_rows, n_cols)
    P[cliff] = 0.0
    P[cliff[:, None], np.arange(4)[None, :], cliff[:, None]] = 1.0
    P[[goal, n_cells]] = 0.0
    P[[goal, n_cells], :, n_cells] = 1.0
    return P


def _cliff_and_goal(n_rows: int, n_cols: int) -> tuple[np.ndarray, int]:
    bottom = (n_rows - 1) * n_cols
    return np.arange(bottom + 1, bottom + n_cols - 1), bottom + n_cols - 1


def windy_walk(
    *,
    n_rows: int = 4,
    n_cols: int = 6,
    nominal_wind: float = 0.0,
    max_wind: float = 0.4,
    gamma: float = 0.95,
    rectangular: bool = True,
) -> RobustMDP:
    """The windy walk as a :class:`~theory_rl.robust.RobustMDP` (see the module docstring for the dynamics).

    Parameters
    ----------
    n_rows, n_cols : int
        Grid size (``n_rows >= 2``, ``n_cols >= 3``).
    nominal_wind : float
        Wind probability of the nominal model, in ``[0, max_wind]``.
    max_wind : float
        Upper end of the wind interval (the lower end is 0).
    gamma : float
    rectangular : bool
        ``True``: sa-rectangular wind (:class:`~theory_rl.robust.SARectFinite` with the two extreme rows);
        ``False``: one static wind per column (:class:`~theory_rl.robust.ParametricSet`, ``theta`` of dimension
        ``n_cols``).

    Returns
    -------
    RobustMDP
        ``n_rows * n_cols + 1`` states (the cells, then the end state); ``d0`` is the point mass
        on S (state ``(n_rows-1) * n_cols``); state names ``"r,c"`` with ``S``/``G``/``X``
        (cliff) marked.

    Examples
    --------
    >>> from theory_rl import envs, robust
    >>> rmdp = envs.windy_walk()
    >>> type(rmdp).__name__
    'RobustMDP'
    >>> sol = robust.robust_value_iteration(rmdp, tol=1e-6)
    >>> sol.converged
    True
    """
    # envs builds robust's models (robust never imports envs); imported here to keep envs light
    from ..robust import ParametricSet, RobustMDP, SARectFinite

    if n_rows < 2 or n_cols < 3:
        raise InvalidModelError(f"windy_walk needs n_rows >= 2 and n_cols >= 3, got {n_rows} x {n_cols}")
    if not (0.0 <= nominal_wind <= max_wind <= 1.0):
        raise InvalidModelError(f"need 0 <= nominal_wind <= max_wind <= 1, got {nominal_wind}, {max_wind}")
    S = n_rows * n_cols + 1
    cliff, goal = _cliff_and_goal(n_rows, n_cols)
    start = (n_rows - 1) * n_cols
    P_nom = windy_walk_kernel(nominal_wind, n_rows=n_rows, n_cols=n_cols)
    R = np.zeros((S, 4))
    R[goal] = 1.0
    d0 = np.zeros(S)
    d0[start] = 1.0
    names = []
    for s in range(S - 1):
        r, c = divmod(s, n_cols)
        mark = "S" if s == start else "G" if s == goal else "X" if s in cliff else ""
        names.append(f"{r},{c}{mark}")
    names.append("end")
    nominal = FiniteMDP(P_nom, R, gamma, d0=d0, state_names=tuple(names),
                        action_names=("up", "down", "left", "right"))
    if rectangular:
        calm = windy_walk_kernel(0.0, n_rows=n_rows, n_cols=n_cols)
        gusty = windy_walk_kernel(max_wind, n_rows=n_rows, n_cols=n_cols)
        return RobustMDP(nominal, SARectFinite(np.stack([calm, gusty], axis=2)))

    def build(theta: np.ndarray) -> np.ndarray:
        return windy_walk_kernel(theta, n_rows=n_rows, n_cols=n_cols)

    box = np.array([[0.0, max_wind]] * n_cols)
    box[:, 0] = 0.0
    return RobustMDP(nominal, ParametricSet(box, build))
