r"""Combinatorial feasible sets ``F`` of a coupled restless bandit, each written twice.

Every constraint class here

* adds its rows to a solver-neutral :class:`~theory_rl.models.MipModel`
  (``add_to(model, action_vars)``), which is what the MILP optimises over; and
* checks an action *independently* of that formulation (``is_feasible(action, certificate)``),
  with numpy, scipy and networkx: a bipartite matching for matchings, an exact bin-packing search for capacities,
  a Held-Karp closed-walk length for paths. Tests compare the two on every action of small
  instances, so a wrong row is caught.

The four classes are those of Xu, Wilder, Khalil and Tambe, "Reinforcement learning with
combinatorial actions for coupled restless bandits", ICLR 2025, arXiv 2503.01919 (section 2.4
of the paper): budget (with equality, the "multiple interventions" domain), path, bipartite
matching and capacity. A user's own constraint is any object with ``add_to`` and ``is_feasible``
(or just a callable ``builder(model, action_vars)`` passed to ``mip_argmax``). The paper's random
instances are :func:`theory_rl.envs.metro_graph`, :func:`theory_rl.envs.matching_instance` and
:func:`theory_rl.envs.capacity_instance`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_bipartite_matching

from .._highs import FAST_HIGHS_OPTIONS, LIGHT_ROOT_HIGHS_OPTIONS
from .._validation import as_float_array, check_model_bool, check_model_int, first_index, format_index, rng_from_seed
from ..errors import InvalidModelError
from ._mip_model import MipModel

__all__ = ["Budget", "Capacity", "Matching", "Path"]


def _as_action(action: Any, n: int | None) -> np.ndarray:
    a = np.asarray(action)
    if (n is not None and a.shape != (n,)) or a.ndim != 1:
        raise InvalidModelError(f"action must have shape ({n},), got {a.shape}")
    if not np.isin(a, (0, 1)).all():
        bad = int(np.flatnonzero(~np.isin(a, (0, 1)))[0])
        raise InvalidModelError(f"action[{bad}] = {a[bad]!r} is not 0 or 1")
    return a.astype(np.int8)


def _acted_within_budget(action: Any, n: int, budget: int) -> np.ndarray | None:
    """The arms a validated 0/1 ``action`` acts on, or None when they exceed ``budget``."""
    acted = np.flatnonzero(_as_action(action, n))
    return None if len(acted) > budget else acted


def _as_integers(values: Any, name: str) -> np.ndarray:
    """``values`` as int64, refusing entries that are not finite whole numbers (never truncating)."""
    arr = as_float_array(values, name)
    bad = ~np.isfinite(arr) | (arr != np.round(arr))
    if bad.any():
        idx = first_index(bad)
        raise InvalidModelError(f"{format_index(name, idx)} = {float(arr[idx]):g} is not a whole number")
    return arr.astype(np.int64)


def _check_budget(budget: Any, n: int) -> int:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 0:
        raise InvalidModelError(f"budget B = {budget!r} must be an integer >= 0")
    return int(budget)


class _Base:
    """Shared helpers: brute-force enumeration and the greedy-add interface.

    ``highs_options``: the HiGHS options :func:`mip_argmax` uses for a Q-network MILP over this set
    (measured per set, see ``FAST_HIGHS_OPTIONS``; a caller's ``highs_options`` override them)."""

    n_actions: int
    budget: int
    highs_options: ClassVar[dict[str, Any]] = FAST_HIGHS_OPTIONS

    def enumerate_feasible(self) -> np.ndarray:
        """All feasible actions, shape ``(m, N)``, by the independent check (``N <= 16``)."""
        if self.n_actions is None or self.n_actions > 16:
            raise InvalidModelError(f"enumerate_feasible needs N <= 16 actions, got N = {self.n_actions}")
        grid = np.array(list(itertools.product((0, 1), repeat=self.n_actions)), dtype=np.int8)
        ok = [self.is_feasible(a) for a in grid]
        return grid[np.asarray(ok, dtype=bool)]

    def greedy(self, gain: Callable[[np.ndarray], np.ndarray], *, fill: bool = False) -> np.ndarray:
        """Iterative greedy: add the feasible arm with the largest ``gain(candidates)`` until no
        addition improves (``fill=True``: until none is feasible). ``gain`` maps ``(m, N)``
        candidate actions to ``(m,)`` values of the whole action."""
        action = np.zeros(self.n_actions, dtype=np.int8)
        state = self._greedy_start()
        current = float(gain(action[None, :])[0])
        while True:
            free = np.flatnonzero(action == 0)
            ok = [j for j in free if self._greedy_can_add(state, action, int(j))]
            if not ok:
                return action
            cands = np.repeat(action[None, :], len(ok), axis=0)
            cands[np.arange(len(ok)), ok] = 1
            values = np.asarray(gain(cands), dtype=float)
            best = int(np.argmax(values))
            if not fill and values[best] <= current:
                return action
            j = int(ok[best])
            self._greedy_commit(state, action, j)
            action[j] = 1
            current = float(values[best])

    def _greedy_start(self) -> Any:
        return None

    def _greedy_can_add(self, state: Any, action: np.ndarray, j: int) -> bool:
        trial = action.copy()
        trial[j] = 1
        return self.is_feasible(trial)

    def _greedy_commit(self, state: Any, action: np.ndarray, j: int) -> None:
        return None


@dataclass(frozen=True)
class Budget(_Base):
    r"""Budget constraint ``sum_j a_j <= B`` (``equality=True``: ``= B``).

    With ``equality=True`` and ``N`` intervention types this is the paper's *multiple
    interventions* feasible set (its code imposes ``sum_i a_i = B``).

    Examples
    --------
    >>> from theory_rl.combinatorial import Budget
    >>> b = Budget(2, 4)
    >>> b.is_feasible([1, 1, 0, 0]), b.is_feasible([1, 1, 1, 0]), len(b.enumerate_feasible())   # 1 + 4 + 6
    (True, False, 11)
    """

    budget: int
    n_actions: int | None = None  # type: ignore[assignment]
    equality: bool = False

    def __post_init__(self) -> None:
        _check_budget(self.budget, self.n_actions)
        object.__setattr__(self, "equality", check_model_bool(self.equality, "equality"))
        # 2.5 was accepted (and a later arange/zeros failed or truncated)
        object.__setattr__(self, "n_actions", check_model_int(self.n_actions, "n_actions", optional=True))
        if self.n_actions is None:
            return
        if self.equality and self.budget > self.n_actions:
            raise InvalidModelError(f"equality budget B = {self.budget} exceeds N = {self.n_actions}: infeasible")

    def add_to(self, model: MipModel, action_vars: np.ndarray) -> dict[str, np.ndarray]:
        lo = float(self.budget) if self.equality else -np.inf
        model.add_row(action_vars, np.ones(len(action_vars)), lo, float(self.budget))
        return {}

    def is_feasible(self, action: Any, certificate: Any = None) -> bool:
        k = int(_as_action(action, self.n_actions).sum())
        return k == self.budget if self.equality else k <= self.budget

    def certificate(self, values: np.ndarray, aux: dict[str, np.ndarray]) -> Any:
        return None

    def sample(self, seed: Any = None) -> tuple[np.ndarray, Any]:
        """A random feasible action (uniform size in ``0..B``, or ``B``), and ``None``."""
        if self.n_actions is None:
            raise InvalidModelError("Budget.sample needs n_actions")
        rng = rng_from_seed(seed)
        k = self.budget if self.equality else int(rng.integers(0, self.budget + 1))
        a = np.zeros(self.n_actions, dtype=np.int8)
        a[rng.choice(self.n_actions, size=k, replace=False)] = 1
        return a, None

    def greedy(self, gain: Callable[[np.ndarray], np.ndarray], *, fill: bool = False) -> np.ndarray:
        return super().greedy(gain, fill=fill or self.equality)

    def _greedy_can_add(self, state: Any, action: np.ndarray, j: int) -> bool:
        return int(action.sum()) < self.budget

    def with_budget(self, budget: int) -> Budget:
        return Budget(budget, self.n_actions, self.equality)


def _closed_walk_length(dist: np.ndarray) -> float:
    """Held-Karp: shortest closed walk from node 0 visiting all nodes of the metric ``dist``."""
    k = dist.shape[0] - 1
    if k == 0:
        return 0.0
    full = 1 << k
    dp = np.full((full, k), np.inf)
    for i in range(k):
        dp[1 << i, i] = dist[0, i + 1]
    inner = dist[1:, 1:]
    for mask in range(1, full):
        row = dp[mask]
        if not np.isfinite(row).any():
            continue
        for j in range(k):
            bit = 1 << j
            if mask & bit:
                continue
            cand = float(np.min(row + inner[:, j]))
            if cand < dp[mask | bit, j]:
                dp[mask | bit, j] = cand
    return float(np.min(dp[full - 1] + dist[1:, 0]))


@dataclass(frozen=True)
class Path(_Base):
    r"""Path (routing) constraint: act only on stations visited by a closed walk of ``L`` steps.

    The feasible actions: ``a`` with ``|S| <= B`` for ``S = {v : a_v = 1}`` and a closed walk
    ``source = v_0, v_1, ..., v_L = source`` through every station of ``S``, each step an edge of
    the graph or an idle step (``L = 2B`` by default). Idle steps make "exactly ``L``" and "at most
    ``L``" the same set. Two MILP formulations of this one set (``formulation=``):

    ``"flow"`` (default): the walk as an **even multigraph with connecting flows**. Integers
    ``x_e in {0, 1, 2}`` (times the walk uses edge ``e``) and ``k_u >= 0``, and per candidate
    station ``v`` a flow ``f^v >= 0`` on both directions of every edge:

    * ``sum_{e at u} x_e = 2 k_u`` for every node ``u`` (even degrees) and ``sum_e x_e <= L``;
    * ``f^v`` sends ``a_v`` units from ``source`` to ``v`` (conservation at every node) with
      ``f^v_{uw} + f^v_{wu} <= x_e / 2`` on each edge ``e = {u, w}``;
    * ``sum_v a_v <= B``; ``a_v = 0`` if ``2 dist(source, v) > L``.

    Exactness. (i) A shortest closed walk through ``S`` uses no edge three times (dropping two
    copies keeps every degree even and the used edges the same, and an Euler circuit of the rest
    is a shorter closed walk through ``S``), so its multiplicities are an ``x`` above with
    ``sum x <= L``; it crosses every cut separating ``source`` from ``v in S`` an even number of
    times, at least twice, so by max-flow/min-cut ``f^v`` exists. (ii) Conversely the flows put
    every ``v in S`` in the component of ``source`` in the support of ``x``, which has even degrees:
    its Euler circuit (networkx) is a closed walk of ``<= L`` edges through ``S``, the certificate,
    padded with idle steps at ``source``. Only edges with ``dist(source, u) + 1 + dist(w, source)
    <= L`` get variables (no closed walk of ``L`` steps uses another). The cut rows make the LP
    relaxation tight where the time-expanded one is loose (a fractional walk half out, half back
    "visits" every station on its way at weight 1). The flow ``f^v`` may use arc ``u -> w`` only if
    ``dist(source, u) + 1 + dist(w, v) + dist(v, source) <= L`` (the walk's own flow goes half along its
    way out to ``v``, half along its way back, reversed, so the pruned flows still admit every walk).
    Measured on myopically pre-trained (16, 32) networks, 20-30 random states, same optima: J = 40,
    B = 10: 0.056 instead of 1.96 CPU-s per Q-network MILP; J = 20, B = 5: 0.017 instead of 0.031.

    ``"time_expanded"`` (the paper's routing formulation): binaries ``y[u, v, t]`` for every arc
    ``(u, v)`` in both directions and every self-loop, ``t = 1..L``, with one move per step,
    ``sum_v y[source, v, 1] = 1 = sum_u y[u, source, L]``, flow conservation between steps and
    ``a_v <= sum_{u, t} y[u, v, t]``. Only arcs a closed walk can use are created (``y[u, v, t]``
    iff ``dist(source, u) <= t - 1`` and ``dist(v, source) <= L - t``: what HiGHS' presolve found
    on its own, 683 -> 158 columns at J = 20). ``canonical_walks`` (default True) keeps self-loops
    at the source only: a walk idling elsewhere visits the same stations as the one with those
    idle steps moved to the end, so the feasible actions are the same (tested action by action);
    it halves the time at J = 40. The stronger "once idle, idle to the end" rows were tried and
    dropped: HiGHS 1.16's presolve declared a feasible model with them infeasible.

    Independent check (``is_feasible``): ``|S| <= B`` and the shortest closed walk from ``source``
    through ``S`` (Held-Karp on the networkx shortest-path metric) has at most ``L`` edges; a walk
    certificate is checked edge by edge. Tests compare both formulations with walk enumeration on
    every action of small and adversarial graphs.

    Action index ``j`` is the graph node ``nodes[j]`` (``nodes = list(graph.nodes)``).

    Examples
    --------
    >>> import networkx as nx
    >>> from theory_rl.combinatorial import Path
    >>> route = Path(nx.path_graph(4), source=0, budget=2)              # stations 0 - 1 - 2 - 3
    >>> route.is_feasible([1, 1, 0, 0]), route.is_feasible([1, 0, 0, 1])   # 3 is out of reach
    (True, False)
    """

    graph: nx.Graph
    source: Any
    budget: int
    walk_length: int | None = None
    canonical_walks: bool = True
    formulation: str = "flow"
    nodes: tuple[Any, ...] = field(init=False)
    _dist: np.ndarray = field(init=False, repr=False)
    _cache: dict[str, Any] = field(init=False, repr=False, compare=False, default_factory=dict)
    # HiGHS' presolve removes most flow (and time-expanded arc) columns; its "enumeration" rule (bit 16 of
    # presolve_rule_off) cost 0.04 of 0.055 CPU-s per J = 20 MILP and nothing at J = 40
    highs_options: ClassVar[dict[str, Any]] = {"presolve_rule_off": 1 << 16}

    def __post_init__(self) -> None:
        if not isinstance(self.graph, nx.Graph) or self.graph.is_directed():
            raise InvalidModelError("Path needs an undirected networkx.Graph")
        nodes = tuple(self.graph.nodes)
        if self.source not in self.graph:
            raise InvalidModelError(f"source {self.source!r} is not a node of the graph")
        _check_budget(self.budget, len(nodes))
        if not isinstance(self.canonical_walks, (bool, np.bool_)):  # "no" was truthy: canonical walks
            raise InvalidModelError(f"canonical_walks = {self.canonical_walks!r} must be True or False")
        if self.formulation not in ("flow", "time_expanded"):
            raise InvalidModelError(f"formulation = {self.formulation!r}: expected 'flow' or 'time_expanded'")
        L = self.walk_length
        if L is None:
            L = max(2 * int(self.budget), 1)
        elif isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:  # 2.5 was truncated to 2
            raise InvalidModelError(f"walk_length L = {L!r} must be an integer >= 1 (default max(2B, 1))")
        L = int(L)
        object.__setattr__(self, "walk_length", L)
        object.__setattr__(self, "nodes", nodes)
        index = {v: i for i, v in enumerate(nodes)}
        dist = np.full((len(nodes), len(nodes)), np.inf)
        for u, lengths in nx.all_pairs_shortest_path_length(self.graph):
            for v, d in lengths.items():
                dist[index[u], index[v]] = d
        object.__setattr__(self, "_dist", dist)

    @property
    def n_actions(self) -> int:  # type: ignore[override]
        return len(self.nodes)

    def _edges(self) -> np.ndarray:
        """The graph's edges ``(u, v)`` as node-index pairs, once each (a MultiGraph's parallel
        edges are one edge; self-loop edges dropped: idle steps are always allowed)."""
        index = {v: i for i, v in enumerate(self.nodes)}
        # edges() yields (u, v) pairs also for a MultiGraph (iterating its edge view gives (u, v, key))
        pairs = dict.fromkeys(tuple(sorted((index[u], index[v]))) for u, v in self.graph.edges() if u != v)
        return np.array(list(pairs), dtype=np.int64).reshape(-1, 2)

    def _arcs(self) -> np.ndarray:
        edges = self._edges()
        loops = np.repeat(np.arange(len(self.nodes), dtype=np.int64)[:, None], 2, axis=1)
        return np.vstack([edges, edges[:, ::-1], loops])

    def _template(self) -> dict[str, Any]:
        """The state-independent rows of the chosen formulation, built once: the block ``rows,
        cols, vals`` over local columns (``< n_aux``: the formulation's own variables, whose
        integrality is ``integer`` and bounds ``ub``; ``n_aux + j``: action ``j``), ``lo``, ``hi``."""
        if "rows" not in self._cache:
            build = self._flow_rows if self.formulation == "flow" else self._time_expanded_rows
            rows = MipModel()  # collects the rows only: its columns are the template's local ones
            self._cache.update(build(rows))
            self._cache.update(rows.row_block())
        return self._cache

    def _flow_rows(self, rows: MipModel) -> dict[str, Any]:
        n, L, s, d = len(self.nodes), self.walk_length, self.nodes.index(self.source), self._dist
        edges = self._edges()
        edges = edges[d[s, edges[:, 0]] + 1 + d[edges[:, 1], s] <= L]
        m = len(edges)
        cands = np.array([v for v in range(n) if v != s and 2 * d[s, v] <= L], dtype=np.int64)
        tails = np.concatenate([edges[:, 0], edges[:, 1]])
        heads = np.concatenate([edges[:, 1], edges[:, 0]])
        # arc u -> w can carry f^v only on a closed walk through v: d(s, u) + 1 + d(w, v) + d(v, s) <= L
        # (the walk's flow goes half along its way out to v, half along its way back, reversed)
        carries = [np.flatnonzero(d[s, tails] + 1 + d[heads, v] + d[v, s] <= L) for v in cands]
        # local columns: x (m), k (n), then the f^v of each candidate on its arcs
        x_col, k_col = np.arange(m), m + np.arange(n)
        f_start = m + n + np.concatenate([[0], np.cumsum([len(c) for c in carries])]).astype(np.int64)
        n_aux = int(f_start[-1])
        a_col = n_aux + np.arange(n)
        for u in range(n):  # even degree: sum_{e at u} x_e - 2 k_u = 0
            at = np.flatnonzero((edges[:, 0] == u) | (edges[:, 1] == u))
            rows.add_row(np.append(x_col[at], k_col[u]), np.append(np.ones(len(at)), -2.0), 0.0, 0.0)
        rows.add_row(x_col, np.ones(m), -np.inf, float(L))
        for v in np.setdiff1d(np.arange(n), np.append(cands, s)):  # too far for any closed walk
            rows.add_row(a_col[[v]], np.ones(1), -np.inf, 0.0)
        for c, v in enumerate(cands):
            arcs = carries[c]
            f_col = f_start[c] + np.arange(len(arcs))
            t, h = tails[arcs], heads[arcs]
            for u in np.unique(np.concatenate([t, h, [s, v]])):  # out - in = a_v at s, -a_v at v, 0 elsewhere
                out, inn = f_col[t == u], f_col[h == u]
                sign = 1.0 if u == s else -1.0 if u == v else 0.0
                cols = np.concatenate([out, inn, a_col[[v]] if sign else []]).astype(np.int64)
                vals = np.concatenate([np.ones(len(out)), -np.ones(len(inn)), [-sign] if sign else []])
                rows.add_row(cols, vals, 0.0, 0.0)
            edge_of = arcs % m
            for e in np.unique(edge_of):  # f_uw + f_wu <= x_e / 2: every s-v cut is crossed twice
                both = f_col[edge_of == e]
                rows.add_row(np.append(both, x_col[e]), np.append(np.ones(len(both)), -0.5), -np.inf, 0.0)
        rows.add_row(a_col, np.ones(n), -np.inf, float(self.budget))
        integer = np.zeros(n_aux, dtype=bool)
        integer[:m + n] = True
        ub = np.concatenate([np.full(m, 2.0), np.full(n, float(L)), np.ones(n_aux - m - n)])
        return {"edges": edges, "n_aux": n_aux, "integer": integer, "ub": ub}

    def _time_expanded_rows(self, rows: MipModel) -> dict[str, Any]:
        arcs = self._arcs()
        n, L, m = len(self.nodes), self.walk_length, len(arcs)
        s = self.nodes.index(self.source)
        d = self._dist
        t = np.arange(L)[:, None]
        usable = (d[s, arcs[:, 0]][None, :] <= t) & (d[arcs[:, 1], s][None, :] <= L - 1 - t)
        loop = (arcs[:, 0] == arcs[:, 1])
        if self.canonical_walks:  # idle steps (self-loops) only at the source
            usable &= ~(loop & (arcs[:, 0] != s))[None, :]
        y_index = np.full((L, m), -1, dtype=np.int64)
        y_index[usable] = np.arange(int(usable.sum()))
        n_y = int(usable.sum())

        def ys(step: int, mask: np.ndarray) -> np.ndarray:
            idx = y_index[step, mask]
            return idx[idx >= 0]

        leave = ys(0, arcs[:, 0] == s)
        rows.add_row(leave, np.ones(len(leave)), 1.0, 1.0)  # leave
        back = ys(L - 1, arcs[:, 1] == s)
        rows.add_row(back, np.ones(len(back)), 1.0, 1.0)  # return
        for step in range(L):
            one = ys(step, np.ones(m, dtype=bool))
            rows.add_row(one, np.ones(len(one)), 1.0, 1.0)  # one move per step
        for step in range(L - 1):
            for v in range(n):
                into, out = ys(step, arcs[:, 1] == v), ys(step + 1, arcs[:, 0] == v)
                if len(into) or len(out):  # flow conservation at v between the two steps
                    rows.add_row(np.concatenate([into, out]),
                                 np.concatenate([np.ones(len(into)), -np.ones(len(out))]), 0.0, 0.0)
        for v in range(n):
            into = y_index[:, arcs[:, 1] == v].ravel()
            into = into[into >= 0]
            rows.add_row(np.concatenate([[n_y + v], into]), np.concatenate([[1.0], -np.ones(len(into))]), -np.inf, 0.0)
        rows.add_row(n_y + np.arange(n), np.ones(n), -np.inf, float(self.budget))
        return {"arcs": arcs, "y_index": y_index, "n_aux": n_y, "integer": np.ones(n_y, dtype=bool),
                "ub": np.ones(n_y)}

    def add_to(self, model: MipModel, action_vars: np.ndarray) -> dict[str, np.ndarray]:
        tpl = self._template()
        n_aux = tpl["n_aux"]
        cols = np.empty(n_aux, dtype=np.int64)
        for flag in (True, False):  # integer and continuous columns in two calls
            mask = tpl["integer"] == flag
            if mask.any():
                cols[mask] = model.add_vars(int(mask.sum()), lb=0.0, ub=tpl["ub"][mask], integer=flag)
        block = sp.coo_matrix((tpl["vals"], (tpl["rows"], tpl["cols"])), shape=(len(tpl["lo"]), n_aux + len(action_vars)))
        model.add_rows(block, np.concatenate([cols, np.asarray(action_vars, dtype=np.int64)]), tpl["lo"], tpl["hi"])
        if self.formulation == "flow":
            return {"x": cols[:len(tpl["edges"])], "edges": tpl["edges"]}
        y_index = tpl["y_index"]
        return {"y": np.where(y_index >= 0, cols[np.maximum(y_index, 0)], -1), "arcs": tpl["arcs"]}

    def certificate(self, values: np.ndarray, aux: dict[str, np.ndarray]) -> list[Any]:
        """The walk ``[source, v_1, ..., v_L = source]``: for ``"flow"`` the Euler circuit of the
        source's component of the multigraph ``x`` (``aux["x"]``: columns of ``x_e`` for the edges
        ``aux["edges"]``) padded with idle steps; for ``"time_expanded"`` read off the arc binaries
        (``aux["y"]``: (L, m) column indices, -1 for arcs no closed walk can use at that step)."""
        if "x" in aux:
            s = self.nodes.index(self.source)
            multigraph = nx.MultiGraph()
            multigraph.add_node(s)
            for (u, w), times in zip(aux["edges"], np.rint(values[aux["x"]]).astype(np.int64)):
                multigraph.add_edges_from([(int(u), int(w))] * int(times))
            tour = multigraph.subgraph(nx.node_connected_component(multigraph, s))
            steps = [int(w) for _, w in nx.eulerian_circuit(tour, source=s)] if tour.number_of_edges() else []
            walk = [self.source] + [self.nodes[i] for i in steps]
            return walk + [self.source] * (self.walk_length + 1 - len(walk))
        y, arcs = aux["y"], aux["arcs"]
        on = np.where(y >= 0, values[np.maximum(y, 0)], 0.0) > 0.5
        chosen = np.argmax(on, axis=1)
        walk = [self.source] + [self.nodes[int(arcs[c, 1])] for c in chosen]
        return walk

    def walk_is_valid(self, walk: list[Any]) -> bool:
        return (len(walk) == self.walk_length + 1 and walk[0] == self.source and walk[-1] == self.source
                and all(u == v or self.graph.has_edge(u, v) for u, v in zip(walk[:-1], walk[1:])))

    def is_feasible(self, action: Any, certificate: Any = None) -> bool:
        acted = _acted_within_budget(action, self.n_actions, self.budget)
        if acted is None:
            return False
        if certificate is not None:
            visited = set(certificate)
            return self.walk_is_valid(list(certificate)) and all(self.nodes[j] in visited for j in acted)
        s = self.nodes.index(self.source)
        stops = [s] + [int(j) for j in acted if j != s]
        return _closed_walk_length(self._dist[np.ix_(stops, stops)]) <= self.walk_length

    def sample(self, seed: Any = None) -> tuple[np.ndarray, list[Any]]:
        """A random closed walk (random steps out, shortest path back, self-loops to pad) and a
        random subset of at most ``B`` of its stations."""
        rng = rng_from_seed(seed)
        s = self.nodes.index(self.source)
        walk = [s]
        L = self.walk_length
        while True:
            here = walk[-1]
            if len(walk) - 1 + self._dist[here, s] >= L:
                break
            nbrs = [self.nodes.index(v) for v in self.graph.neighbors(self.nodes[here])] + [here]
            nxt = int(rng.choice(nbrs))
            if len(walk) + self._dist[nxt, s] > L:
                break
            walk.append(nxt)
        back = nx.shortest_path(self.graph, self.nodes[walk[-1]], self.source)
        walk = [self.nodes[i] for i in walk] + list(back[1:])
        walk = walk + [self.source] * (L + 1 - len(walk))
        visited = sorted({self.nodes.index(v) for v in walk})
        k = int(rng.integers(0, min(self.budget, len(visited)) + 1))
        a = np.zeros(self.n_actions, dtype=np.int8)
        a[rng.choice(visited, size=k, replace=False)] = 1
        return a, walk

    # greedy: keep a tour (node indices) and insert at the cheapest place (a heuristic check)
    def _greedy_start(self) -> list[list[int]]:
        s = self.nodes.index(self.source)
        return [[s, s]]

    def _insertion(self, tour: list[int], j: int) -> tuple[float, int]:
        d = self._dist
        t = np.asarray(tour)
        extra = d[t[:-1], j] + d[j, t[1:]] - d[t[:-1], t[1:]]
        k = int(np.argmin(extra))
        return float(d[t[:-1], t[1:]].sum() + extra[k]), k

    def _greedy_can_add(self, state: Any, action: np.ndarray, j: int) -> bool:
        if int(action.sum()) >= self.budget:
            return False
        if j in state[0]:
            return True
        return self._insertion(state[0], j)[0] <= self.walk_length

    def _greedy_commit(self, state: Any, action: np.ndarray, j: int) -> None:
        if j not in state[0]:
            k = self._insertion(state[0], j)[1]
            state[0].insert(k + 1, j)

    def with_budget(self, budget: int) -> Path:
        return Path(self.graph, self.source, budget, self.walk_length, self.canonical_walks, self.formulation)


# ------------------------------------------------------------------------------------ matching
@dataclass(frozen=True)
class Matching(_Base):
    r"""Bipartite matching (scheduling): an arm is acted on iff it gets ``per_arm`` (default 2)
    distinct (worker, slot) assignments in slots where both are available.

    MILP: binaries ``x[i, j, k]`` where worker ``i`` and arm ``j`` share slot ``k``;
    ``sum_j x[i, j, k] <= 1`` per (worker, slot); ``sum_{i,k} x[i, j, k] <= per_arm`` and
    ``per_arm * a_j <= sum_{i,k} x[i, j, k]``; ``x[i, j, k] <= a_j``; ``sum_j a_j <= B``.

    Independent check: a maximum bipartite matching (scipy.sparse.csgraph, Hopcroft-Karp) between
    ``per_arm`` copies of each acted arm and the (worker, slot) pairs both can use saturates every
    copy (the max flow source -> arm (capacity ``per_arm``) -> (worker, slot) (capacity 1) -> sink
    of value ``per_arm * |S|``; the tests also check it against networkx's max flow). It replaced
    that networkx max flow, which built a graph per call and took 1000 CPU-s of a 1700 CPU-s
    matching J = 40 run (the greedy baselines and warm starts call it for every candidate arm).

    Parameters
    ----------
    arm_slots : bool array, shape (J, K)
    worker_slots : bool array, shape (W, K)
    budget : int
    per_arm : int

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.combinatorial import Matching
    >>> arm_slots = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)       # arm j available in these slots
    >>> worker_slots = np.array([[1, 1, 1]], dtype=bool)               # one worker, every slot
    >>> m = Matching(arm_slots, worker_slots, budget=1)
    >>> m.is_feasible([1, 0]), m.is_feasible([1, 1])                   # each acted arm needs 2 slots
    (True, False)
    """

    arm_slots: np.ndarray
    worker_slots: np.ndarray
    budget: int
    per_arm: int = 2

    def __post_init__(self) -> None:
        for name in ("arm_slots", "worker_slots"):  # 0.5 or 2 were cast to True
            raw = np.asarray(getattr(self, name))
            if raw.dtype != bool and not (raw.dtype.kind in "iuf" and np.isin(raw, (0, 1)).all()):
                raise InvalidModelError(f"{name} must be boolean (or 0/1), got dtype {raw.dtype}")
        arm = np.asarray(self.arm_slots, dtype=bool)
        wrk = np.asarray(self.worker_slots, dtype=bool)
        if arm.ndim != 2 or wrk.ndim != 2 or arm.shape[1] != wrk.shape[1]:
            raise InvalidModelError(
                f"arm_slots (J, K) and worker_slots (W, K) must share K; got {arm.shape} and {wrk.shape}")
        _check_budget(self.budget, arm.shape[0])
        object.__setattr__(self, "per_arm", check_model_int(self.per_arm, "per_arm"))
        object.__setattr__(self, "arm_slots", arm)
        object.__setattr__(self, "worker_slots", wrk)

    @property
    def n_actions(self) -> int:  # type: ignore[override]
        return self.arm_slots.shape[0]

    def _triples(self) -> np.ndarray:
        i, j, k = np.nonzero(self.worker_slots[:, None, :] & self.arm_slots[None, :, :])
        return np.stack([i, j, k], axis=1)

    def add_to(self, model: MipModel, action_vars: np.ndarray) -> dict[str, np.ndarray]:
        trip = self._triples()
        x = model.add_vars(len(trip), lb=0.0, ub=1.0, integer=True)
        for i, k in {(int(i), int(k)) for i, _, k in trip}:
            model.add_row(x[(trip[:, 0] == i) & (trip[:, 2] == k)], 1.0, -np.inf, 1.0)
        for j in range(self.n_actions):
            mine = x[trip[:, 1] == j]
            model.add_row(mine, 1.0, -np.inf, float(self.per_arm))
            model.add_row(np.concatenate([[action_vars[j]], mine]),
                          np.concatenate([[float(self.per_arm)], -np.ones(len(mine))]), -np.inf, 0.0)
            for v in mine:
                model.add_row(np.array([v, action_vars[j]]), np.array([1.0, -1.0]), -np.inf, 0.0)
        model.add_row(action_vars, 1.0, -np.inf, float(self.budget))
        return {"x": x, "triples": trip}

    def certificate(self, values: np.ndarray, aux: dict[str, np.ndarray]) -> np.ndarray:
        """The chosen (worker, arm, slot) triples, shape (m, 3)."""
        return aux["triples"][values[aux["x"]] > 0.5]

    def is_feasible(self, action: Any, certificate: Any = None) -> bool:
        acted = _acted_within_budget(action, self.n_actions, self.budget)
        if acted is None:
            return False
        if certificate is not None:
            c = np.asarray(certificate, dtype=np.int64).reshape(-1, 3)
            ok_pairs = self.worker_slots[c[:, 0], c[:, 2]] & self.arm_slots[c[:, 1], c[:, 2]]
            wk = {(int(i), int(k)) for i, _, k in c}
            counts = np.bincount(c[:, 1], minlength=self.n_actions)
            return bool(ok_pairs.all() and len(wk) == len(c) and len({tuple(r) for r in c.tolist()}) == len(c)
                        and np.all(counts[acted] == self.per_arm) and np.all(np.delete(counts, acted) == 0))
        if len(acted) == 0:
            return True
        # rows: per_arm copies of each acted arm; columns: (worker i, slot k) as i * K + k
        shared = self.arm_slots[acted][:, None, :] & self.worker_slots[None, :, :]
        adjacency = np.repeat(shared.reshape(len(acted), -1), self.per_arm, axis=0)
        if adjacency.any(axis=0).sum() < len(adjacency) or not adjacency.any(axis=1).all():
            return False
        match = maximum_bipartite_matching(sp.csr_matrix(adjacency.astype(np.int8)), perm_type="column")
        return bool((match >= 0).sum() == len(adjacency))

    def sample(self, seed: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Random arms in random order, each given ``per_arm`` free (worker, slot) pairs if it can
        get them, up to a random size in ``0..B``."""
        rng = rng_from_seed(seed)
        target = int(rng.integers(0, self.budget + 1))
        used = np.zeros_like(self.worker_slots)
        a = np.zeros(self.n_actions, dtype=np.int8)
        cert: list[tuple[int, int, int]] = []
        for j in rng.permutation(self.n_actions):
            if int(a.sum()) >= target:
                break
            i_idx, k_idx = np.nonzero(self.worker_slots & ~used & self.arm_slots[j][None, :])
            if len(i_idx) >= self.per_arm:
                pick = rng.choice(len(i_idx), size=self.per_arm, replace=False)
                for p in pick:
                    used[i_idx[p], k_idx[p]] = True
                    cert.append((int(i_idx[p]), int(j), int(k_idx[p])))
                a[j] = 1
        return a, np.array(cert, dtype=np.int64).reshape(-1, 3)

    def _greedy_can_add(self, state: Any, action: np.ndarray, j: int) -> bool:
        if int(action.sum()) >= self.budget:
            return False
        return super()._greedy_can_add(state, action, j)

    def with_budget(self, budget: int) -> Matching:
        return Matching(self.arm_slots, self.worker_slots, budget, self.per_arm)


# ------------------------------------------------------------------------------------ capacity
def _packs(costs: list[int], room: list[int]) -> bool:
    """Exact bin packing by depth-first search: can the items ``costs`` go into bins ``room``?"""
    if not costs:
        return True
    c, rest = costs[0], costs[1:]
    seen: set[int] = set()
    for i, r in enumerate(room):
        if r >= c and r not in seen:  # equal rooms are symmetric
            seen.add(r)
            room[i] -= c
            if _packs(rest, room):
                room[i] += c
                return True
            room[i] += c
    return False


@dataclass(frozen=True)
class Capacity(_Base):
    r"""Capacity constraint: acted arms are assigned to workers whose loads fit their capacities.

    MILP: binaries ``x[i, j]``; ``sum_j kappa_j x[i, j] <= c_i``; ``a_j <= sum_i x[i, j]``;
    ``x[i, j] <= a_j``; ``sum_j a_j <= B``. As in the paper nothing forbids assigning one arm to
    two workers; it only wastes capacity, so the feasible *action* set is the same as with
    ``sum_i x[i, j] <= 1``, which we add (``single_assignment=True``, default) to shrink the
    search.

    Independent check: exact bin packing of ``{kappa_j : a_j = 1}`` into bins ``c`` (depth-first
    search, largest item first), or the assignment certificate checked load by load.

    Examples
    --------
    >>> from theory_rl.combinatorial import Capacity
    >>> c = Capacity(costs=[3, 3, 2], capacities=[5], budget=2)       # one worker of capacity 5
    >>> c.is_feasible([1, 0, 1]), c.is_feasible([1, 1, 0])             # 3 + 2 fits, 3 + 3 does not
    (True, False)
    """

    highs_options: ClassVar[dict[str, Any]] = LIGHT_ROOT_HIGHS_OPTIONS  # presolve pays off on the bin rows

    costs: np.ndarray
    capacities: np.ndarray
    budget: int
    single_assignment: bool = True

    def __post_init__(self) -> None:
        costs = _as_integers(self.costs, "costs")
        caps = _as_integers(self.capacities, "capacities")
        if costs.ndim != 1 or caps.ndim != 1:
            raise InvalidModelError("costs (J,) and capacities (W,) must be 1-D")
        if (costs < 0).any():
            raise InvalidModelError(f"costs[{int(np.argmax(costs < 0))}] is negative")
        if (caps < 0).any():
            raise InvalidModelError(f"capacities[{int(np.argmax(caps < 0))}] is negative")
        _check_budget(self.budget, len(costs))
        object.__setattr__(self, "single_assignment", check_model_bool(self.single_assignment, "single_assignment"))
        object.__setattr__(self, "costs", costs)
        object.__setattr__(self, "capacities", caps)

    @property
    def n_actions(self) -> int:  # type: ignore[override]
        return len(self.costs)

    def add_to(self, model: MipModel, action_vars: np.ndarray) -> dict[str, np.ndarray]:
        W, J = len(self.capacities), len(self.costs)
        x = model.add_vars(W * J, lb=0.0, ub=1.0, integer=True).reshape(W, J)
        for i in range(W):
            model.add_row(x[i], self.costs.astype(float), -np.inf, float(self.capacities[i]))
        for j in range(J):
            model.add_row(np.concatenate([[action_vars[j]], x[:, j]]),
                          np.concatenate([[1.0], -np.ones(W)]), -np.inf, 0.0)
            if self.single_assignment:
                model.add_row(x[:, j], 1.0, -np.inf, 1.0)
            for i in range(W):
                model.add_row(np.array([x[i, j], action_vars[j]]), np.array([1.0, -1.0]), -np.inf, 0.0)
        model.add_row(action_vars, 1.0, -np.inf, float(self.budget))
        return {"x": x}

    def certificate(self, values: np.ndarray, aux: dict[str, np.ndarray]) -> np.ndarray:
        """The assignment matrix ``x[i, j]`` (0/1), shape (W, J)."""
        return (values[aux["x"]] > 0.5).astype(np.int8)

    def is_feasible(self, action: Any, certificate: Any = None) -> bool:
        a = _as_action(action, self.n_actions)
        if int(a.sum()) > self.budget:
            return False
        if certificate is not None:
            x = np.asarray(certificate, dtype=np.int64)
            return bool(x.shape == (len(self.capacities), self.n_actions)
                        and np.all(x @ self.costs <= self.capacities)
                        and np.all(x.sum(axis=0)[a == 1] >= 1) and np.all(x[:, a == 0] == 0))
        items = sorted(self.costs[a == 1].tolist(), reverse=True)
        return _packs(items, self.capacities.tolist())

    def sample(self, seed: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Random arms in random order, each put into a random worker with room, up to a random
        size in ``0..B``; returns the action and its assignment matrix."""
        rng = rng_from_seed(seed)
        target = int(rng.integers(0, self.budget + 1))
        room = self.capacities.copy()
        x = np.zeros((len(room), self.n_actions), dtype=np.int8)
        a = np.zeros(self.n_actions, dtype=np.int8)
        for j in rng.permutation(self.n_actions):
            if int(a.sum()) >= target:
                break
            fits = np.flatnonzero(room >= self.costs[j])
            if len(fits):
                i = int(rng.choice(fits))
                room[i] -= self.costs[j]
                x[i, j] = 1
                a[j] = 1
        return a, x

    def _greedy_can_add(self, state: Any, action: np.ndarray, j: int) -> bool:
        if int(action.sum()) >= self.budget:
            return False
        return super()._greedy_can_add(state, action, j)

    def with_capacities(self, capacities: Any) -> Capacity:
        return Capacity(self.costs, capacities, self.budget, self.single_assignment)

    def with_budget(self, budget: int) -> Capacity:
        return Capacity(self.costs, self.capacities, budget, self.single_assignment)
