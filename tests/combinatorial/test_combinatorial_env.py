"""coRMAB environments and feasible sets: the MILP rows against the independent checks, the exact
joint MDP, the gymnasium-style interface, and bad input."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl.checks import cormabs
from theory_rl.combinatorial import (
    Budget,
    Capacity,
    CoRMABEnv,
    Matching,
    MipModel,
    Path,
    make_cormab,
    solve_mip,
)
from theory_rl.envs import capacity_instance, matching_instance, metro_graph
from theory_rl.errors import InvalidModelError, SolverError


def _milp_max_linear(constraint, c):
    """max c.a over the constraint's MILP rows, and the maximiser."""
    model = MipModel()
    a = model.add_vars(constraint.n_actions, integer=True)
    aux = constraint.add_to(model, a)
    model.add_objective(a, c)
    sol = solve_mip(model)
    action = (sol.x[a] > 0.5).astype(np.int8)
    return sol.objective, action, constraint.certificate(sol.x, aux)


@settings(max_examples=25)
@given(cormabs(max_arms=7, max_budget=3), st.integers(0, 2**32 - 1))
def test_milp_rows_describe_exactly_the_independently_checked_set(cormab, seed):
    # every binary point is a vertex of the cube, so random linear objectives reach each feasible
    # action: the MILP optimum must equal the enumerated optimum for every objective
    F = cormab.constraint.enumerate_feasible()
    rng = np.random.default_rng(seed)
    for _ in range(3):
        c = rng.normal(size=cormab.n_actions)
        value, action, cert = _milp_max_linear(cormab.constraint, c)
        assert value == pytest.approx(float((F @ c).max()), abs=1e-7)
        assert cormab.constraint.is_feasible(action)
        assert cormab.constraint.is_feasible(action, cert)  # the certificate is a valid witness


@settings(max_examples=20)
@given(cormabs(max_arms=8), st.integers(0, 2**32 - 1))
def test_sampled_actions_are_feasible_with_their_certificates(cormab, seed):
    for k in range(5):
        a, cert = cormab.constraint.sample(np.random.default_rng(seed + k))
        assert cormab.constraint.is_feasible(a)
        assert cormab.constraint.is_feasible(a, cert)


def test_independent_checks_on_hand_made_cases():
    g = nx.path_graph(5)  # 0-1-2-3-4, source 0, B = 2 -> L = 4: reaches node 2 and back
    path = Path(g, 0, 2)
    assert path.is_feasible([0, 0, 1, 0, 0])
    assert not path.is_feasible([0, 0, 0, 1, 0])            # 0 -> 3 -> 0 needs 6 moves
    assert path.is_feasible([0, 0, 1, 0, 0], [0, 1, 2, 1, 0])
    assert not path.is_feasible([0, 0, 1, 0, 0], [0, 1, 1, 1, 0])  # walk never reaches 2
    assert not path.is_feasible([0, 0, 1, 0, 0], [0, 2, 2, 1, 0])  # 0-2 is no edge
    # matching: one worker, one slot -> no arm can get its two assignments
    m = Matching(np.array([[True], [True]]), np.array([[True]]), 2)
    assert m.is_feasible([0, 0]) and not m.is_feasible([1, 0])
    m2 = Matching(np.array([[True, True], [True, True]]), np.array([[True, True]]), 2)
    assert m2.is_feasible([1, 0]) and not m2.is_feasible([1, 1])   # two (worker, slot) pairs only
    cap = Capacity([3, 3, 4], [6, 4], 3)
    assert cap.is_feasible([1, 1, 1])                           # {3,3} | {4}
    assert not Capacity([3, 3, 4], [5, 5], 3).is_feasible([1, 1, 1])
    assert Budget(2).is_feasible([1, 1, 0]) and not Budget(2).is_feasible([1, 1, 1])  # N from the action
    assert Budget(2, 4, equality=True).is_feasible([1, 0, 1, 0])
    assert not Budget(2, 4, equality=True).is_feasible([1, 0, 0, 0])


def test_path_accepts_any_networkx_graph_and_metro_graph_is_connected():
    g = nx.relabel_nodes(nx.grid_2d_graph(2, 3), {v: f"st{v[0]}{v[1]}" for v in nx.grid_2d_graph(2, 3)})
    path = Path(g, "st00", 2)
    F = path.enumerate_feasible()
    assert len(F) > 1 and all(path.is_feasible(a) for a in F)
    value, action, walk = _milp_max_linear(path, np.ones(6))
    assert value == 2 and path.walk_is_valid(walk)
    for J in (5, 20, 40):
        mg = metro_graph(J, seed=J)
        assert mg.number_of_nodes() == J and nx.is_connected(mg)
        assert max(d for _, d in mg.degree) <= 8


@settings(max_examples=15)
@given(cormabs(max_arms=3, max_budget=2))
def test_joint_mdp_is_a_valid_finite_mdp_matching_the_simulator(cormab):
    mdp, states, actions = cormab.to_finite_mdp()
    assert mdp.n_states == 4 ** cormab.n_arms and mdp.n_actions == len(actions)
    P = np.asarray(mdp.P)
    np.testing.assert_allclose(P.sum(axis=2), 1.0, atol=1e-12)
    k, m = len(states) // 3, len(actions) - 1
    np.testing.assert_allclose(mdp.R[k, m], cormab.expected_reward(states[k], actions[m]))
    # the next-level marginals of arm 0 equal the arm model's up-probability
    p_up = cormab.up_probability(actions[m])[0]
    s0 = states[k][0]
    up_states = np.minimum(states[:, 0], 3) == min(s0 + 1, 3)
    down_states = states[:, 0] == max(s0 - 1, 0)
    if s0 not in (0, 3):
        assert P[k, m, up_states].sum() == pytest.approx(p_up)
        assert P[k, m, down_states].sum() == pytest.approx(1 - p_up)


def test_env_reset_step_and_rejects_infeasible_actions():
    model = make_cormab("capacity", 6, 2, seed=3)
    env = CoRMABEnv(model)
    s, _ = env.reset(seed=0)
    assert s.shape == (6,) and set(np.unique(s)) <= {0, 1}
    a, cert = model.constraint.sample(1)
    s2, r, term, trunc, info = env.step(a, cert)
    assert r == pytest.approx(model.expected_reward(s, a)) and not term and not trunc
    assert info["sampled_reward"] == pytest.approx(model.rewards[np.arange(6), s2].sum())
    with pytest.raises(InvalidModelError, match="feasible set"):
        env.step(np.ones(6, dtype=int))
    assert env.observation_space.contains(s2) and env.action_space.contains(a)
    # the same seed gives the same episode
    runs = []
    for _ in range(2):
        env.reset(seed=5)
        runs.append([env.step(np.zeros(6, dtype=int))[0].tolist() for _ in range(4)])
    assert runs[0] == runs[1]


def test_sigmoid_coupling_table_matches_phi_and_is_coupled():
    model = make_cormab("interventions", 9, 2, n_interventions=6, seed=1)
    cp = model.coupling
    T = cp.table()
    a = np.zeros(6)
    a[[0, 1]] = 1   # interventions 0 and 1 both hit arms 0, 1, 2
    p = cp.up_probability(a)
    np.testing.assert_allclose(p[:3], T[:3, 2])
    np.testing.assert_allclose(p[3:], T[3:, 0])
    # coupling: the effect of two interventions is not the sum of single effects (sigmoid)
    single = cp.up_probability(np.eye(6)[0])[:3] - cp.up_probability(np.zeros(6))[:3]
    assert not np.allclose(p[:3] - cp.up_probability(np.zeros(6))[:3], 2 * single)


def test_bad_input_raises_library_errors():
    with pytest.raises(InvalidModelError, match="budget"):
        Budget(-1, 3)
    with pytest.raises(InvalidModelError, match="source"):
        Path(nx.path_graph(3), 7, 1)
    with pytest.raises(InvalidModelError, match="share K"):
        Matching(np.ones((3, 2), bool), np.ones((2, 3), bool), 1)
    with pytest.raises(InvalidModelError, match=r"capacities\[1\]"):
        Capacity([1, 2], [3, -1], 1)
    with pytest.raises(InvalidModelError, match=r"action\[1\]"):
        Budget(1, 3).is_feasible([0, 2, 0])
    with pytest.raises(InvalidModelError, match="domain"):
        make_cormab("knapsack", 4, 1)
    with pytest.raises(InvalidModelError, match="J <= 6"):
        make_cormab("budget", 7, 1).to_finite_mdp()


def test_states_outside_the_level_grid_are_rejected():
    # a state of the wrong length, or with a level outside {0, 1, 2, 3}, used to give a silent
    # feature vector / a reward clipped as if the level were 3, or a bare numpy IndexError
    model = make_cormab("budget", 3, 1, seed=0)
    a = np.array([1, 0, 0])
    for bad, message in (([0, 1], r"state must have shape \(3,\)"), ([0, 1, 7], r"state\[2\] = 7"),
                         ([0, -1, 2], r"state\[1\] = -1"), ([0, 1.5, 2], r"state\[1\] = 1.5")):
        for call in (lambda s: model.features(s), lambda s: model.expected_reward(s, a),
                     lambda s: model.sample_next(s, a, 0)):
            with pytest.raises(InvalidModelError, match=message):
                call(bad)
    np.testing.assert_allclose(model.features(np.array([0, 3, 2])), [0.0, 1.0, 2 / 3])


@pytest.mark.parametrize(("n_arms", "budget", "message"),
                         [(2.5, 1, "n_arms"), (0, 1, "n_arms"), (3, -1, "budget"), (3, 1.5, "budget")])
def test_make_cormab_rejects_non_integer_sizes(n_arms, budget, message):
    # n_arms = 2.5 used to build a 2-arm instance silently; budget = -1 a bare numpy ValueError
    with pytest.raises(InvalidModelError, match=message):
        make_cormab("budget", n_arms, budget)


@pytest.mark.parametrize(("costs", "caps", "message"),
                         [([2.7, 1], [3], r"costs\[0\] = 2.7"), ([1, 1], [np.nan], r"capacities\[0\] = nan"),
                          ([1, 1], [2.5], r"capacities\[0\] = 2.5")])
def test_capacity_rejects_non_integer_costs_and_capacities(costs, caps, message):
    # costs [2.7, 1] used to be truncated to [2, 1], so both arms "fit" a capacity of 3 although
    # 2.7 + 1 > 3; a NaN capacity gave a bare numpy ValueError
    with pytest.raises(InvalidModelError, match=message):
        Capacity(costs, caps, 2)


def _closed_walk_visit_sets(graph, source, L):
    """Every node set visited by a closed walk of exactly L steps (moves along edges or idle
    steps anywhere), by breadth-first search over (node, visited) pairs: no shortest paths, no
    Held-Karp, no MILP."""
    states = {(source, frozenset([source]))}
    for _ in range(L):
        states = {(w, seen | {w}) for v, seen in states for w in [*graph.neighbors(v), v]}
    return [seen for v, seen in states if v == source]


def _adversarial_graphs():
    split = nx.Graph([(0, 1), (1, 2), (3, 4), (4, 5)])  # two components and an isolated node 6
    split.add_node(6)
    named = nx.Graph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "d")])  # labels, a self-loop edge
    multi = nx.MultiGraph([(0, 1), (0, 1), (1, 2), (2, 3)])  # parallel edges: bare ValueError before
    return [(split, 0, 3, 4), (split, 0, 2, 1), (split, 6, 2, 3), (split, 3, 7, 6), (named, "c", 2, 3),
            (named, "d", 2, 5), (nx.star_graph(4), 1, 3, 4), (multi, 0, 2, 5)]


@pytest.mark.parametrize("case", range(len(_adversarial_graphs())))
def test_path_milp_and_held_karp_match_walk_enumeration_on_adversarial_graphs(case):
    # disconnected parts (unreachable nodes: infinite distances in the arc pruning), an isolated
    # source, a budget above the reachable stations, non-integer labels, a self-loop edge, parallel
    # edges: both MILPs (canonical and every self-loop) and the Held-Karp check accept exactly the
    # actions some closed walk of L steps covers
    graph, source, B, L = _adversarial_graphs()[case]
    nodes = list(graph.nodes)
    visit_sets = _closed_walk_visit_sets(graph, source, L)
    models = [Path(graph, source, B, L), Path(graph, source, B, L, formulation="time_expanded"),
              Path(graph, source, B, L, canonical_walks=False, formulation="time_expanded")]
    for bits in range(2 ** len(nodes)):
        act = np.array([(bits >> j) & 1 for j in range(len(nodes))], dtype=np.int8)
        acted = {nodes[j] for j in np.flatnonzero(act)}
        truth = len(acted) <= B and any(acted <= seen for seen in visit_sets)
        assert models[0].is_feasible(act) == truth, (case, bits)
        for p in models:
            model = MipModel()
            p.add_to(model, model.add_vars(len(nodes), lb=act, ub=act, integer=True))
            try:
                solve_mip(model)
                found = True
            except SolverError:
                found = False
            assert found == truth, (case, bits, p.formulation, p.canonical_walks)


@pytest.mark.parametrize("walk_length", [2.5, "3", True, 0, -1])
def test_path_rejects_non_integer_walk_length(walk_length):
    # 2.5 was truncated to 2 and True read as 1 silently
    with pytest.raises(InvalidModelError, match="walk_length"):
        Path(nx.path_graph(3), 0, 1, walk_length=walk_length)


def test_path_rejects_a_non_boolean_canonical_walks():
    with pytest.raises(InvalidModelError, match="canonical_walks"):
        Path(nx.path_graph(3), 0, 1, canonical_walks="no")


@pytest.mark.parametrize("graph_seed", range(12))
def test_canonical_walks_allow_exactly_the_actions_of_all_walks(graph_seed):
    # idle steps only at the source (canonical_walks=True, the default) keep the set of feasible
    # actions: per action, the MILP with the action fixed is feasible in both time-expanded models and
    # in the flow model iff the independent Held-Karp check accepts it
    rng = np.random.default_rng(graph_seed)
    g = metro_graph(7, seed=graph_seed)
    B, L = int(rng.integers(1, 4)), int(rng.integers(2, 9))
    canon = Path(g, 0, B, L, formulation="time_expanded")
    every = Path(g, 0, B, L, canonical_walks=False, formulation="time_expanded")
    flow = Path(g, 0, B, L)
    for bits in range(2 ** 7):
        act = np.array([(bits >> j) & 1 for j in range(7)], dtype=np.int8)
        expect = canon.is_feasible(act)
        for p in (canon, every, flow):
            model = MipModel()
            a = model.add_vars(7, lb=act, ub=act, integer=True)
            p.add_to(model, a)
            try:
                solve_mip(model)
                found = True
            except SolverError:
                found = False
            assert found == expect, (graph_seed, bits, p.formulation, p.canonical_walks)


def _matching_by_networkx_max_flow(m: Matching, action: np.ndarray) -> bool:
    # the reference the bipartite-matching check replaced: source -> arm (per_arm) -> (worker, slot) (1) -> sink
    acted = np.flatnonzero(action)
    if len(acted) > m.budget:
        return False
    if len(acted) == 0:
        return True
    g = nx.DiGraph()
    for j in acted:
        g.add_edge("src", ("arm", int(j)), capacity=m.per_arm)
        for i, k in zip(*np.nonzero(m.worker_slots & m.arm_slots[j][None, :])):
            g.add_edge(("arm", int(j)), ("ws", int(i), int(k)), capacity=1)
            g.add_edge(("ws", int(i), int(k)), "snk", capacity=1)
    if "snk" not in g:
        return False
    return nx.maximum_flow_value(g, "src", "snk") == m.per_arm * len(acted)


@settings(max_examples=40)
@given(st.integers(0, 2**32 - 1), st.integers(1, 7), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))
def test_matching_check_equals_networkx_max_flow(seed, n_arms, n_workers, n_slots, per_arm):
    rng = np.random.default_rng(seed)
    m = Matching(rng.random((n_arms, n_slots)) < 0.5, rng.random((n_workers, n_slots)) < 0.6,
                 int(rng.integers(1, n_arms + 1)), per_arm)
    for bits in range(2 ** n_arms):
        act = np.array([(bits >> j) & 1 for j in range(n_arms)], dtype=np.int8)
        assert m.is_feasible(act) == _matching_by_networkx_max_flow(m, act), (seed, bits)


def test_feasible_sets_are_the_models_classes_and_the_instances_come_from_envs():
    from theory_rl import combinatorial, models

    for name in ("Budget", "Path", "Matching", "Capacity", "MipModel"):
        assert getattr(combinatorial, name) is getattr(models, name)
    m = matching_instance(12, 3, seed=0)  # the paper's scheduling instance: W = B workers, K = 5 slots
    assert m.arm_slots.shape == (12, 5) and m.worker_slots.shape == (3, 5) and m.budget == 3
    assert (m.arm_slots.sum(axis=1) == 2).all() and (m.worker_slots.sum(axis=1) == 3).all()
    c = capacity_instance(12, 4, seed=0)  # W = B workers, capacities in {2..7}, costs in {2..6}
    assert c.capacities.shape == (4,) and c.costs.shape == (12,) and c.budget == 4
    assert c.capacities.min() >= 2 and c.capacities.max() <= 7 and c.costs.min() >= 2 and c.costs.max() <= 6
    # make_cormab draws its feasible set with these generators
    assert type(make_cormab("matching", 8, 2, seed=5).constraint) is Matching
    assert type(make_cormab("capacity", 8, 2, seed=5).constraint) is Capacity
