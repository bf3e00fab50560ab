"""The classic POMDP benchmarks as constructors: each reads its file shipped with the package
(:func:`theory_rl.pomdp.load_problem`) and returns a :class:`~theory_rl.models.POMDP`.

The files are the ones the point-based literature uses (Cassandra's collection, RockSample, Tag);
``theory_rl/pomdp/problems/README.md`` lists each one's origin and the values measured on it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from .._validation import check_gamma
from ..models import POMDP
from ..pomdp import load_problem

#: name -> (packaged file, sizes (S, A, O), what it is, where it comes from)
_CLASSICS: dict[str, tuple[str, tuple[int, int, int], str, str]] = {
    "tiger": ("tiger.95.POMDP", (2, 3, 2),
              "The tiger problem: listen (85% accurate, cost 1) or open a door (+10 for the treasure, "
              "-100 for the tiger); the problem resets after a door is opened. Actions ``listen``, "
              "``open-left``, ``open-right``; observations ``tiger-left``, ``tiger-right``. "
              "V*(b0) = 19.3714 (exact).",
              "L. P. Kaelbling, M. L. Littman, A. R. Cassandra, \"Planning and acting in partially observable "
              "stochastic domains\", *Artificial Intelligence* 101, 1998."),
    "shuttle": ("shuttle.95.POMDP", (8, 3, 5),
                "A space shuttle docking between two stations (Chrisman's shuttle). "
                "V*(b0) in [32.8890, 32.8897] (SARSOP).",
                "L. Chrisman, \"Reinforcement learning with perceptual aliasing: the perceptual distinctions "
                "approach\", AAAI 1992."),
    "network": ("network.POMDP", (7, 4, 2),
                "Network monitoring: restrict or unrestrict traffic on a network whose state is seen "
                "through up/down pings. No start belief in the file: uniform.",
                "A. R. Cassandra, *Exact and approximate algorithms for partially observable Markov "
                "decision processes*, PhD thesis, Brown University, 1998."),
    "maze_4x3": ("4x3.95.POMDP", (11, 4, 6),
                 "Russell & Norvig's 4 x 3 maze with noisy moves and wall observations. "
                 "V*(b0) in [1.8899, 1.8908] (SARSOP).",
                 "S. Russell, P. Norvig, *Artificial Intelligence: A Modern Approach*, Prentice Hall 1995, "
                 "Section 17.1; as a POMDP in Cassandra's collection (Cassandra 1998)."),
    "cheese": ("cheese.95.POMDP", (11, 4, 7),
               "McCallum's cheese maze: find the cheese with local wall observations; continuing "
               "(resets after the goal). V*(b0) = 3.4862 (exact).",
               "R. A. McCallum, \"Overcoming incomplete perception with utile distinction memory\", ICML 1993."),
    "maze_4x4": ("4x4.95.POMDP", (16, 4, 2),
                 "A 4 x 4 grid seen only as goal / not goal; continuing. The file's start belief sums "
                 "to 1.000005 and is renormalised. V*(b0) = 3.7324 (exact).",
                 "A. R. Cassandra, L. P. Kaelbling, M. L. Littman, \"Acting optimally in partially observable "
                 "stochastic domains\", AAAI 1994."),
    "milos_aaai97": ("milos-aaai97.POMDP", (20, 6, 8),
                     "Hauskrecht's maze test problem (gamma = 0.9).",
                     "M. Hauskrecht, \"Incremental methods for computing bounds in partially observable "
                     "Markov decision processes\", AAAI 1997."),
    "tiger_grid": ("tiger-grid.POMDP", (36, 5, 17),
                   "A grid navigation version of the tiger problem; continuing.",
                   "M. L. Littman, A. R. Cassandra, L. P. Kaelbling, \"Learning policies for partially "
                   "observable environments: scaling up\", ICML 1995."),
    "hallway": ("hallway.POMDP", (60, 5, 21),
                "Navigation in an office hallway with noisy moves and local observations; continuing "
                "(the file resets after the goal, so its discounted value, >= 0.99, exceeds the "
                "papers' simulated 0.52).",
                "M. L. Littman, A. R. Cassandra, L. P. Kaelbling, \"Learning policies for partially "
                "observable environments: scaling up\", ICML 1995."),
    "hallway2": ("hallway2.POMDP", (92, 5, 17),
                 "A larger hallway navigation problem; continuing.",
                 "M. L. Littman, A. R. Cassandra, L. P. Kaelbling, \"Learning policies for partially "
                 "observable environments: scaling up\", ICML 1995."),
    "mit": ("mit.POMDP", (204, 4, 28),
            "Navigation in the MIT AI Lab floor plan (gamma = 0.99).",
            "A. R. Cassandra, L. P. Kaelbling, J. A. Kurien, \"Acting under uncertainty: discrete Bayesian "
            "models for mobile-robot navigation\", IROS 1996."),
    "rock_sample_4_4": ("RockSample_4_4.pomdp", (257, 9, 2),
                        "RockSample[4,4]: a rover on a 4 x 4 grid samples 4 rocks of unknown value, "
                        "sensing them at a distance-dependent accuracy. V*(b0) = 17.9245 (SARSOP).",
                        "T. Smith, R. Simmons, \"Heuristic search value iteration for POMDPs\", UAI 2004 "
                        "(arXiv:1207.4166)."),
    "rock_sample_7_8": ("RockSample_7_8.pomdpx", (12545, 13, 2),
                        "RockSample[7,8]: a 7 x 7 grid and 8 rocks (12,545 flat states, sparse T; "
                        "reading the POMDPX file takes a few seconds).",
                        "T. Smith, R. Simmons, \"Heuristic search value iteration for POMDPs\", UAI 2004 "
                        "(arXiv:1207.4166)."),
    "tag_avoid": ("TagAvoid.pomdp", (870, 5, 30),
                  "Tag: catch an opponent that moves away from the robot on a 29-cell map. The file's "
                  "start belief sums to 0.99999946 and is renormalised.",
                  "J. Pineau, G. Gordon, S. Thrun, \"Point-based value iteration: an anytime algorithm for "
                  "POMDPs\", IJCAI 2003."),
}

__all__ = list(_CLASSICS)  # one public constructor per packaged file, made below

_TITLES = {
    "tiger": "Tiger", "shuttle": "Shuttle docking", "network": "Network monitoring", "maze_4x3": "The 4 x 3 maze",
    "cheese": "The cheese maze", "maze_4x4": "The 4 x 4 maze", "milos_aaai97": "Hauskrecht's maze",
    "tiger_grid": "Tiger-grid", "hallway": "Hallway", "hallway2": "Hallway2", "mit": "MIT floor plan",
    "rock_sample_4_4": "RockSample[4,4]", "rock_sample_7_8": "RockSample[7,8]", "tag_avoid": "Tag",
}

# the examples read the small files only (a doctest must be fast)
_EXAMPLE_LIMIT = 300


def _constructor(name: str) -> Callable[..., POMDP]:
    file, (S, A, n_obs), what, reference = _CLASSICS[name]

    def build(*, gamma: float | None = None) -> POMDP:
        with warnings.catch_warnings():  # the documented renormalisations of the published files
            warnings.filterwarnings("ignore", message=".*renormalised", category=UserWarning)
            model = load_problem(file)
        return model if gamma is None else model.replace(gamma=check_gamma(gamma))

    example = (f"""
    Examples
    --------
    >>> from theory_rl import envs
    >>> m = envs.{name}()
    >>> m.n_states, m.n_actions, m.n_observations
    ({S}, {A}, {n_obs})
""" if S <= _EXAMPLE_LIMIT else f"""
    Examples
    --------
    >>> from theory_rl import envs
    >>> envs.{name}  # doctest: +ELLIPSIS
    <function {name} at ...>
""")
    build.__doc__ = f"""{_TITLES[name]}: the classic POMDP benchmark ``{file}``.

    {what}

    Parameters
    ----------
    gamma : float, optional
        Overrides the file's discount factor (in ``[0, 1)``).

    Returns
    -------
    POMDP
        ``S = {S}`` states, ``A = {A}`` actions, ``O = {n_obs}`` observations, with the file's state,
        action and observation names (where it names them) and start belief ``b0``. The file is
        read by :func:`theory_rl.pomdp.load_problem` (``"{file}"``); rows that the file gives
        within ``1e-6`` of summing to one are renormalised silently.

    References
    ----------
    {reference}
{example}"""
    build.__name__ = build.__qualname__ = name
    build.__module__ = __name__
    return build


cheese = _constructor("cheese")
hallway = _constructor("hallway")
hallway2 = _constructor("hallway2")
maze_4x3 = _constructor("maze_4x3")
maze_4x4 = _constructor("maze_4x4")
milos_aaai97 = _constructor("milos_aaai97")
mit = _constructor("mit")
network = _constructor("network")
rock_sample_4_4 = _constructor("rock_sample_4_4")
rock_sample_7_8 = _constructor("rock_sample_7_8")
shuttle = _constructor("shuttle")
tag_avoid = _constructor("tag_avoid")
tiger = _constructor("tiger")
tiger_grid = _constructor("tiger_grid")
