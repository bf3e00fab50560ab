"""The random instances of the coupled restless bandit feasible sets of Xu, Wilder, Khalil and Tambe,
"Reinforcement learning with combinatorial actions for coupled restless bandits", ICLR 2025, arXiv
2503.01919: a synthetic metro graph for :class:`~theory_rl.models.Path`, the scheduling instance of
:class:`~theory_rl.models.Matching` and the capacity instance of :class:`~theory_rl.models.Capacity`
(:func:`theory_rl.combinatorial.make_cormab` draws them)."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from .._validation import check_model_int, rng_from_seed
from ..models import Capacity, Matching

__all__ = ["capacity_instance", "matching_instance", "metro_graph"]


def metro_graph(n_stations: int, *, n_lines: int | None = None, seed: Any = None) -> nx.Graph:
    """A synthetic metro-like graph: stations in the unit square, ``n_lines`` lines each a path
    through the stations nearest a random straight corridor, lines meeting at interchanges.

    Stand-in for the London-Underground subgraphs of the paper (whose CSVs we do not ship). Nodes
    are ``0..n_stations-1`` with a ``pos`` attribute; the graph is connected; degrees are small
    (mostly 2, up to about 6 at interchanges), like a real metro map. Any networkx graph works
    with :class:`~theory_rl.models.Path`; this is only the default instance.

    Examples
    --------
    >>> import networkx as nx
    >>> from theory_rl import envs
    >>> g = envs.metro_graph(20, seed=0)
    >>> g.number_of_nodes(), nx.is_connected(g), max(d for _, d in g.degree()) <= 6
    (20, True, True)
    """
    n_stations = check_model_int(n_stations, "n_stations", minimum=2)
    n_lines = check_model_int(n_lines, "n_lines", optional=True) or max(2, n_stations // 7)
    rng = rng_from_seed(seed)
    pos = rng.uniform(0.0, 1.0, size=(n_stations, 2))
    g = nx.Graph()
    for v in range(n_stations):
        g.add_node(v, pos=(float(pos[v, 0]), float(pos[v, 1])))
    # each station joins the line whose corridor (a random line through the square) is nearest
    angles = rng.uniform(0, np.pi, size=n_lines)
    normals = np.stack([-np.sin(angles), np.cos(angles)], axis=1)
    centres = rng.uniform(0.25, 0.75, size=(n_lines, 2))
    dist = np.abs(((pos[:, None, :] - centres[None, :, :]) * normals[None, :, :]).sum(axis=2))
    line_of = dist.argmin(axis=1)
    for k in range(n_lines):
        members = np.flatnonzero(line_of == k)
        direction = np.array([np.cos(angles[k]), np.sin(angles[k])])
        order = members[np.argsort(pos[members] @ direction)]
        g.add_edges_from(zip(order[:-1].tolist(), order[1:].tolist()))
    # interchanges: join components by their closest pair of stations until connected
    comps = [sorted(c) for c in nx.connected_components(g)]
    while len(comps) > 1:
        base, rest = comps[0], [v for c in comps[1:] for v in c]
        d = np.linalg.norm(pos[base][:, None, :] - pos[rest][None, :, :], axis=2)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        g.add_edge(int(base[i]), int(rest[j]))
        comps = [sorted(c) for c in nx.connected_components(g)]
    return g


def matching_instance(n_arms: int, budget: int, *, n_slots: int = 5, seed: Any = None) -> Matching:
    """The paper's scheduling instance: ``W = B`` workers, ``K = 5`` slots; each arm is available
    in 2 distinct slots and each worker in 3, drawn with skewed slot probabilities (slot ``k``
    has weight proportional to ``k + 1``, our choice: the paper's exact weights are not given).

    Examples
    --------
    >>> from theory_rl import envs
    >>> m = envs.matching_instance(10, 3, seed=0)
    >>> m.arm_slots.shape, m.worker_slots.shape, m.arm_slots.sum(axis=1).tolist() == [2] * 10
    ((10, 5), (3, 5), True)
    """
    n_arms = check_model_int(n_arms, "n_arms")
    budget = check_model_int(budget, "budget", minimum=0)
    n_slots = check_model_int(n_slots, "n_slots")
    rng = rng_from_seed(seed)
    weights = np.arange(1, n_slots + 1, dtype=float)
    weights /= weights.sum()
    arm_slots = np.zeros((n_arms, n_slots), dtype=bool)
    for j in range(n_arms):
        arm_slots[j, rng.choice(n_slots, size=min(2, n_slots), replace=False, p=weights)] = True
    workers = max(1, budget)
    worker_slots = np.zeros((workers, n_slots), dtype=bool)
    for i in range(workers):
        worker_slots[i, rng.choice(n_slots, size=min(3, n_slots), replace=False, p=weights[::-1])] = True
    return Matching(arm_slots, worker_slots, budget)


def capacity_instance(n_arms: int, budget: int, *, seed: Any = None) -> Capacity:
    """The paper's capacity instance: ``W = B`` workers with capacities in ``{2..7}`` and arm
    costs in ``{2..6}``, uniform.

    Examples
    --------
    >>> from theory_rl import envs
    >>> c = envs.capacity_instance(10, 3, seed=0)
    >>> c.costs.shape, c.capacities.shape, int(c.costs.min()) >= 2, int(c.capacities.max()) <= 7
    ((10,), (3,), True, True)
    """
    n_arms = check_model_int(n_arms, "n_arms")
    budget = check_model_int(budget, "budget", minimum=0)
    rng = rng_from_seed(seed)
    return Capacity(rng.integers(2, 7, size=n_arms), rng.integers(2, 8, size=max(1, budget)), budget)
