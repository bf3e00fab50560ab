"""A discretised re-creation of the Point Maze stitching task of Zhou et al. (2024): the 4 x 6 map,
its start and goal, the dense reward, and the four behaviour groups of the offline data."""

from __future__ import annotations

import dataclasses
from collections import deque

import numpy as np

from .._validation import check_int, check_probability, rng_from_seed
from ..models import FiniteMDP
from ..offline import TrajectoryDataset

# The paper's map (1 = wall), start and goal cells (row, col), and data groups: a start cell,
# the sub-goals visited in turn, and whether the agent walks at random after the last one.
MAZE_MAP = np.array([[1, 1, 1, 1, 1, 1],
                     [1, 0, 0, 1, 1, 1],
                     [1, 0, 0, 0, 0, 1],
                     [1, 1, 1, 1, 1, 1]])
START_CELL = (1, 2)
GOAL_CELL = (2, 4)
DATA_GROUPS = (
    ((1, 2), ((2, 2),), False),
    ((1, 2), ((2, 2),), False),
    ((1, 2), ((1, 1), (2, 1), (2, 4)), False),
    ((1, 2), ((1, 1), (2, 1), (2, 4)), True),
)
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])  # stay, up, down, left, right (rows, cols)


def cell_center(cell: tuple[int, int]) -> np.ndarray:
    """``(x, y)`` of a cell's centre, as gymnasium-robotics' PointMaze places cells (unit cells,
    the map centred on the origin, rows growing downwards)."""
    rows, cols = MAZE_MAP.shape
    return np.array([cell[1] + 0.5 - cols / 2, rows / 2 - cell[0] - 0.5])


@dataclasses.dataclass(frozen=True, eq=False)
class PointMaze:
    """The discretised Point Maze (see :func:`point_maze`).

    Attributes
    ----------
    mdp : FiniteMDP
        ``gamma = 1``, ``horizon`` steps, ``d0`` on the start cell's centre.
    positions : ndarray, shape (S, 2)
        ``(x, y)`` of every state (the features the neural learners read).
    lattice : ndarray of int, shape (S, 2)
        ``(row, col)`` of every state on the fine lattice (``resolution`` points per cell side).
    next_state : ndarray of int, shape (S, A)
        The intended move (before slipping).
    goal : ndarray, shape (2,)
        ``(x, y)`` of the goal cell's centre.
    resolution, horizon : int

    Examples
    --------
    >>> from theory_rl import envs
    >>> maze = envs.point_maze()
    >>> s = maze.state_of(*maze.goal)
    >>> maze.positions[s].tolist(), float(maze.mdp.R[s, 0])
    ([1.5, -0.5], 1.0)
    """

    mdp: FiniteMDP
    positions: np.ndarray
    lattice: np.ndarray
    next_state: np.ndarray
    goal: np.ndarray
    resolution: int
    horizon: int

    def state_of(self, x: float, y: float) -> int:
        """The state nearest to the point ``(x, y)`` (example in the class docstring)."""
        return int(np.argmin(((self.positions - np.array([x, y])) ** 2).sum(axis=1)))


def point_maze(*, resolution: int = 3, horizon: int = 40, slip: float = 0.0) -> PointMaze:
    r"""The Point Maze stitching task of Zhou et al. (2024), discretised.

    The paper's map (4 x 6 cells, free cells (1,1), (1,2), (2,1)-(2,4)), start cell (1, 2) and
    goal cell (2, 4), and gymnasium-robotics' dense reward
    :math:`r_t = \exp(-\lVert x_{t+1} - x_{goal} \rVert)` of the position reached. The
    continuous point mass (MuJoCo, force actions) is replaced by a lattice of
    ``resolution`` x ``resolution`` points per free cell and five actions (stay, up, down,
    left, right) moving one lattice step (``1 / resolution`` of a cell); a move into a wall
    stays put, and with probability ``slip`` any move fails (stays). The start is the lattice point nearest the start cell's
    centre (the paper draws it within a quarter cell of the centre, less than the lattice step
    for ``resolution <= 4``).

    Paper: Zhou, Zhu, Zhou, Cui, Gupta & Du, "Free from Bellman Completeness: Trajectory
    Stitching via Model-based Return-conditioned Supervised Learning", ICLR 2024 (arXiv
    2310.19308), Point Maze experiment (map, start, goal and data groups as in the authors'
    configuration). Discretised: the velocity state, the force actions and the 200-step horizon
    of the original are not reproduced (default ``horizon = 40`` lattice moves; the optimal path is
    ``3 * resolution`` moves long).

    Parameters
    ----------
    resolution : int
        Lattice points per cell side (odd values put a point at each cell centre).
    horizon : int
    slip : float
        Probability that a move fails.

    Returns
    -------
    PointMaze

    Examples
    --------
    >>> from theory_rl import envs
    >>> maze = envs.point_maze()
    >>> maze.mdp.n_states, maze.mdp.n_actions, maze.goal.tolist()
    (54, 5, [1.5, -0.5])
    """
    k = check_int(resolution, "resolution")
    H = check_int(horizon, "horizon")
    slip = check_probability(slip, "slip")
    free = np.argwhere(MAZE_MAP == 0)
    sub = np.argwhere(np.ones((k, k), dtype=bool))
    lattice = (free[:, None, :] * k + sub[None, :, :]).reshape(-1, 2)
    S, A = lattice.shape[0], MOVES.shape[0]
    index = {tuple(p): i for i, p in enumerate(lattice)}
    rows, cols = MAZE_MAP.shape
    positions = np.stack([(lattice[:, 1] + 0.5) / k - cols / 2, rows / 2 - (lattice[:, 0] + 0.5) / k], axis=1)
    target = lattice[:, None, :] + MOVES[None, :, :]
    next_state = np.array([[index.get(tuple(p), s) for p in target[s]] for s in range(S)])
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], next_state] += 1.0 - slip
    P[np.arange(S), :, np.arange(S)] += slip
    goal = cell_center(GOAL_CELL)
    dense = np.exp(-np.linalg.norm(positions - goal, axis=1))
    R = P @ dense
    d0 = np.zeros(S)
    d0[index[tuple(np.array(START_CELL) * k + k // 2)]] = 1.0
    mdp = FiniteMDP(P, R, 1.0, d0=d0, horizon=H)
    return PointMaze(mdp=mdp, positions=positions, lattice=lattice, next_state=next_state, goal=goal,
                     resolution=k, horizon=H)


def _cell_path(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """Shortest path of free cells from ``a`` to ``b`` (breadth-first), both included."""
    parent = {a: a}
    queue = deque([a])
    while queue:
        c = queue.popleft()
        for dr, dc in MOVES[1:]:
            n = (c[0] + int(dr), c[1] + int(dc))
            if MAZE_MAP[n] == 0 and n not in parent:
                parent[n] = c
                queue.append(n)
    path = [b]
    while path[-1] != a:
        path.append(parent[path[-1]])
    return path[::-1]


def point_maze_dataset(
    maze: PointMaze,
    *,
    n_episodes: int = 250,
    noise: float = 0.1,
    seed: int | np.random.Generator | None = None,
) -> TrajectoryDataset:
    r"""The paper's four behaviour groups on the discretised maze, ``n_episodes`` each.

    All groups start at the start cell's centre. Groups 1 and 2 go to cell (2, 2) and stay there;
    group 3 visits (1, 1), then (2, 1), then the goal (2, 4) and stays; group 4 does the same and
    walks at random once at the goal. A scripted controller heads for the centre of the next
    cell on the shortest cell path to the current sub-goal (the waypoint controller of D4RL,
    here a lattice step along the larger coordinate gap), and a sub-goal counts as reached
    within half a cell of its centre; with probability ``noise`` it acts uniformly at random
    instead (the continuous controller's waypoint jitter, discretised). The best data
    trajectories take the detour through (1, 1) and (2, 1): reaching the goal quickly needs
    the first half of groups 1-2 and the second half of groups 3-4 (stitching).

    Paper: Zhou et al. 2024 (arXiv 2310.19308), Point Maze data (four groups of 250
    trajectories). Guessed: the lattice controller and its noise level.

    Returns
    -------
    TrajectoryDataset
        Episodes ordered by group, each of ``maze.horizon`` steps, none terminated.

    Examples
    --------
    >>> from theory_rl import envs
    >>> data = envs.point_maze_dataset(envs.point_maze(), n_episodes=5, seed=0)
    >>> data.n_episodes, data.n_transitions
    (20, 800)
    """
    n = check_int(n_episodes, "n_episodes")
    noise = check_probability(noise, "noise")
    rng = rng_from_seed(seed)
    H = maze.horizon
    S, A = maze.next_state.shape
    P = maze.mdp.to_dense().P
    R = np.asarray(maze.mdp.R)
    cdf = np.cumsum(P, axis=2)
    toward = {g: np.array([_toward(maze, s, g) for s in range(S)]) for _, goals, _ in DATA_GROUPS for g in goals}
    near = {g: np.linalg.norm(maze.positions - cell_center(g), axis=1) <= 0.5 for g in toward}
    episodes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start_cell, goals, random_end in DATA_GROUPS:
        s0 = int(np.argmin(np.linalg.norm(maze.positions - cell_center(start_cell), axis=1)))
        for _ in range(n):
            s = s0
            todo = list(goals)
            done = False
            states, actions, rewards = [s], [], []
            for _t in range(H):
                if not done and near[todo[0]][s]:
                    if len(todo) > 1:
                        todo.pop(0)
                    else:
                        done = True
                if rng.random() < noise or (done and random_end):
                    a = int(rng.integers(0, A))
                else:
                    a = int(toward[todo[0]][s])
                s2 = min(int(np.searchsorted(cdf[s, a], rng.random() * cdf[s, a, -1], side="right")), S - 1)
                states.append(s2)
                actions.append(a)
                rewards.append(float(R[s, a]))
                s = s2
            episodes.append((np.array(states), np.array(actions), np.array(rewards)))
    return TrajectoryDataset([e[0] for e in episodes], [e[1] for e in episodes], [e[2] for e in episodes],
                             n_states=S, n_actions=A)


def _toward(maze: PointMaze, s: int, goal: tuple[int, int]) -> int:
    """The lattice step toward the centre of the next cell on the way to ``goal`` (stay when there)."""
    k = maze.resolution
    cell = tuple(int(c) for c in maze.lattice[s] // k)
    path = _cell_path(cell, goal)
    waypoint = path[1] if len(path) > 1 else path[0]
    gap = np.array(waypoint) * k + k // 2 - maze.lattice[s]
    if not gap.any():
        return 0
    axis = int(np.argmax(np.abs(gap)))
    return {(0, -1): 1, (0, 1): 2, (1, -1): 3, (1, 1): 4}[(axis, int(np.sign(gap[axis])))]
