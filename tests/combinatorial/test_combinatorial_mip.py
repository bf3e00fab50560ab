"""The Q-network-in-MIP encoding and the exact argmax (spec 2.8): encoding exactness, argmax
exactness against brute force in every domain, big-M detection, tabular ground truth,
monotonicity, dominance, and the highspy/Pyomo agreement."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from theory_rl import tabular
from theory_rl.checks import cormabs
from theory_rl.combinatorial import (
    Budget,
    MipModel,
    baseline_policies,
    embed_relu_mlp,
    forward,
    interval_bounds,
    make_cormab,
    mip_argmax,
    myopic_argmax,
    relu_mlp,
    relu_mlp_layers,
    select_action,
    solve_mip,
    table_q_network,
)
from theory_rl.errors import InvalidArgumentError, InvalidModelError, SolverError


def _random_layers(rng, sizes):
    return [(rng.normal(size=(o, i)) / np.sqrt(i), rng.normal(size=o) * 0.3) for i, o in zip(sizes[:-1], sizes[1:])]


def _brute_force(layers, x_s, F):
    return forward(layers, np.hstack([F, np.broadcast_to(x_s, (len(F), len(x_s)))]))


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.sampled_from(["interval", "big_m"]))
def test_encoding_is_exact_for_fixed_binaries(seed, depth, bounds):
    rng = np.random.default_rng(seed)
    n, d_s = int(rng.integers(1, 6)), int(rng.integers(0, 4))
    layers = _random_layers(rng, [n + d_s] + [int(rng.integers(2, 9)) for _ in range(depth)] + [1])
    a = rng.integers(0, 2, size=n).astype(float)
    x_s = rng.uniform(0, 1, size=d_s)
    model = MipModel()
    v = model.add_vars(n, lb=a, ub=a, integer=True)  # the action fixed
    emb = embed_relu_mlp(model, layers, inputs=[int(i) for i in v] + x_s.tolist(),
                         lower=np.concatenate([np.zeros(n), x_s]), upper=np.concatenate([np.ones(n), x_s]),
                         bounds=bounds, big_m=1e4)
    for sign in (1.0, -1.0):  # the output is pinned whichever way the solver is pushed
        model.cost, model.offset = {}, 0.0
        model.add_objective(emb.output_cols, sign * emb.output_coefs, sign * emb.output_constant)
        value = sign * solve_mip(model).objective
        assert value == pytest.approx(float(forward(layers, np.concatenate([a, x_s]))[0]), abs=1e-6)


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1))
def test_interval_bounds_contain_every_preactivation(seed):
    rng = np.random.default_rng(seed)
    layers = _random_layers(rng, [6, 8, 5, 1])
    lo, hi = np.zeros(6), np.ones(6)
    bounds = interval_bounds(layers, lo, hi)
    X = rng.uniform(lo, hi, size=(200, 6))
    h = X
    for (W, b), (zl, zu) in zip(layers[:-1], bounds):
        z = h @ W.T + b
        assert (z >= zl - 1e-12).all() and (z <= zu + 1e-12).all()
        h = np.maximum(z, 0)


@settings(max_examples=25)
@given(cormabs(max_arms=7, max_budget=3), st.integers(0, 2**32 - 1), st.booleans())
def test_argmax_equals_brute_force_in_every_domain(cormab, seed, tighten):
    rng = np.random.default_rng(seed)
    J, N = cormab.n_arms, cormab.n_actions
    layers = _random_layers(rng, [N + J, 8, 6, 1])
    s = rng.integers(0, 4, size=J)
    x_s = cormab.features(s)
    F = cormab.constraint.enumerate_feasible()
    res = mip_argmax(layers, x_s, cormab.constraint, tighten=tighten)
    assert res.value == pytest.approx(float(_brute_force(layers, x_s, F).max()), abs=1e-6)
    assert cormab.constraint.is_feasible(res.action)          # independent check, no certificate
    assert any((res.action == f).all() for f in F)
    assert res.solver_stats["status"] == "Optimal"


def test_argmax_exact_at_j10_in_all_four_domains():
    rng = np.random.default_rng(0)
    for domain in ("interventions", "path", "matching", "capacity"):
        cormab = make_cormab(domain, 10, 3, seed=1, n_interventions=10)
        N, J = cormab.n_actions, cormab.n_arms
        layers = _random_layers(rng, [N + J, 12, 8, 1])
        s = rng.integers(0, 4, size=J)
        F = cormab.constraint.enumerate_feasible()
        res = mip_argmax(layers, cormab.features(s), cormab.constraint)
        assert res.value == pytest.approx(float(_brute_force(layers, cormab.features(s), F).max()), abs=1e-6), domain


def _big_preactivation_net():
    # one hidden unit with z = 10 a_1 - 5: |z| reaches 5, so any M < 5 is unsafe
    return [(np.array([[10.0, 0.0]]), np.array([-5.0])), (np.array([[1.0]]), np.array([0.0]))]


def test_too_small_big_m_is_detected():
    layers = _big_preactivation_net()
    with pytest.raises(InvalidModelError, match="big_m = 1 is smaller"):
        mip_argmax(layers, [], Budget(1, 2), bounds="big_m", big_m=1.0)
    # unchecked, the too-small M cuts off the optimum a = (1, 0) (value 5): the result either fails
    # the forward-pass check or is wrong, and the forward-pass check is what catches it here
    with pytest.raises(SolverError, match="not exact|no solution"):
        mip_argmax(layers, [], Budget(1, 2), bounds="big_m", big_m=1.0, check_big_m=False)
    ok = mip_argmax(layers, [], Budget(1, 2), bounds="big_m", big_m=100.0)
    assert ok.value == pytest.approx(5.0) and ok.action.tolist() == [1, 0]


def test_stable_units_get_no_binary():
    model = make_cormab("budget", 4, 2, seed=0)
    rng = np.random.default_rng(1)
    layers = _random_layers(rng, [8, 16, 1])
    res = mip_argmax(layers, model.features(np.array([0, 1, 2, 3])), model.constraint)
    st_ = res.solver_stats
    assert st_["n_binaries_network"] + st_["n_stable_active"] + st_["n_stable_inactive"] == 16
    assert st_["n_stable_active"] + st_["n_stable_inactive"] > 0


@pytest.mark.parametrize("domain", ["budget", "interventions", "path", "matching", "capacity"])
def test_tabular_ground_truth_exact_q_star_reproduces_vi_greedy(domain):
    cormab = make_cormab(domain, 3, 2, seed=11, gamma=0.9, n_interventions=3)
    mdp, states, actions = cormab.to_finite_mdp()
    sol = tabular.value_iteration(mdp, tol=1e-10)
    q = tabular.q_values(mdp, sol.v)
    layers = table_q_network(q, states, actions)
    for k in np.random.default_rng(0).choice(len(states), size=5, replace=False):
        res = mip_argmax(layers, cormab.features(states[k]), cormab.constraint)
        assert res.value == pytest.approx(q[k].max(), abs=1e-6)
        m = [i for i, a in enumerate(actions) if (a == res.action).all()]
        assert len(m) == 1 and q[k, m[0]] == pytest.approx(q[k].max(), abs=1e-6)  # a VI-greedy action


@settings(max_examples=15)
@given(st.integers(0, 2**32 - 1))
def test_optimal_value_is_monotone_in_budget_and_capacity(seed):
    rng = np.random.default_rng(seed)
    for domain in ("budget", "capacity"):
        cormab = make_cormab(domain, 6, 1, seed=seed)
        layers = _random_layers(rng, [12, 8, 1])
        x_s = cormab.features(rng.integers(0, 4, size=6))
        values = [mip_argmax(layers, x_s, cormab.constraint.with_budget(B)).value for B in range(4)]
        assert np.all(np.diff(values) >= -1e-7), (domain, values)
    cap = make_cormab("capacity", 6, 3, seed=seed).constraint
    x_s = np.random.default_rng(seed).uniform(0, 1, 6)
    caps = cap.capacities.copy()
    values = []
    for _ in range(3):
        values.append(mip_argmax(layers, x_s, cap.with_capacities(caps)).value)
        caps[int(rng.integers(len(caps)))] += 2
    assert np.all(np.diff(values) >= -1e-7)


@pytest.mark.parametrize("domain", ["budget", "interventions", "path", "matching", "capacity"])
def test_dominance_exact_over_myopic_over_sampling(domain):
    cormab = make_cormab(domain, 3, 2, seed=5, gamma=0.9, n_interventions=3)
    mdp, states, actions = cormab.to_finite_mdp()
    v_star = tabular.policy_iteration(mdp).v
    pols = baseline_policies(cormab, n_samples=5)
    rng = np.random.default_rng(0)
    myopic_policy = np.empty(len(states), dtype=np.int64)
    for k, s in enumerate(states):
        one_step = cormab.expected_reward(s, actions)
        my = myopic_argmax(cormab, s)
        assert my.value == pytest.approx(one_step.max())        # the myopic MILP is the exact one-step max
        samp, _ = pols["sampling"](s, rng)
        assert my.value >= cormab.expected_reward(s, samp) - 1e-12
        myopic_policy[k] = next(i for i, a in enumerate(actions) if (a == my.action).all())
    v_myopic = tabular.policy_evaluation(mdp, myopic_policy).v
    assert np.all(v_star >= v_myopic - 1e-6)


@settings(max_examples=8)
@given(cormabs(max_arms=5, max_budget=2), st.integers(0, 2**32 - 1))
def test_highspy_and_pyomo_appsi_highs_agree(cormab, seed):
    pytest.importorskip("pyomo")
    rng = np.random.default_rng(seed)
    layers = _random_layers(rng, [cormab.n_actions + cormab.n_arms, 6, 1])
    x_s = cormab.features(rng.integers(0, 4, size=cormab.n_arms))
    a = mip_argmax(layers, x_s, cormab.constraint)
    b = mip_argmax(layers, x_s, cormab.constraint, solver="appsi_highs")
    assert a.value == pytest.approx(b.value, abs=1e-6)
    assert b.solver_stats["backend"] == "pyomo/appsi_highs"


def test_select_action_with_torch_net_and_user_builder():
    torch.manual_seed(0)
    cormab = make_cormab("path", 8, 2, seed=2)
    net = relu_mlp(16, (8, 8), device="cpu", seed=0)
    s = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    res = select_action(cormab, net, s)
    layers = relu_mlp_layers(net)
    F = cormab.constraint.enumerate_feasible()
    assert res.value == pytest.approx(float(_brute_force(layers, cormab.features(s), F).max()), abs=1e-5)
    with torch.no_grad():
        torch_value = float(net(torch.tensor(np.concatenate([res.action, cormab.features(s)]), dtype=torch.float32)))
    assert res.value == pytest.approx(torch_value, abs=1e-4)

    def at_most_one(model, action_vars):  # the user's own builder
        model.add_row(action_vars, 1.0, -np.inf, 1.0)

    own = mip_argmax(net, cormab.features(s), at_most_one)
    G = np.vstack([np.zeros(8), np.eye(8)])
    assert own.value == pytest.approx(float(_brute_force(layers, cormab.features(s), G).max()), abs=1e-5)


def test_select_action_without_warm_start_skips_the_greedy_pass_and_keeps_the_optimum(monkeypatch):
    import theory_rl.combinatorial._argmax as argmax_module

    cormab = make_cormab("capacity", 8, 3, seed=1)
    net = relu_mlp(cormab.n_arms + len(cormab.features(cormab.initial_state(seed=0))), (8, 8), seed=0)
    s = cormab.initial_state(seed=4)
    warm = select_action(cormab, net, s)

    def no_greedy(*args, **kwargs):
        raise AssertionError("greedy_q_action ran with warm_start=False")

    monkeypatch.setattr(argmax_module, "greedy_q_action", no_greedy)
    cold = select_action(cormab, net, s, warm_start=False)
    assert cold.value == pytest.approx(warm.value, abs=1e-6)
    with pytest.raises(AssertionError, match="greedy"):
        select_action(cormab, net, s)


def test_bad_networks_and_inputs_raise():
    with pytest.raises(InvalidModelError, match="Linear"):
        relu_mlp_layers(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU()))
    with pytest.raises(InvalidModelError, match="scalar output"):
        relu_mlp_layers(torch.nn.Sequential(torch.nn.Linear(3, 2)))
    with pytest.raises(InvalidModelError, match="actions"):
        mip_argmax(_big_preactivation_net(), [], Budget(1, 3))
    with pytest.raises(InvalidArgumentError, match="mip_gap"):
        mip_argmax(_big_preactivation_net(), [], Budget(1, 2), mip_gap=2.0)


@pytest.mark.parametrize(("domain", "n_arms", "cormab_seed", "layer_seed"),
                         [("path", 5, 1, 2), ("path", 5, 2, 0), ("path", 5, 3, 6)])
def test_lp_tightened_argmax_equals_brute_force_on_cases_that_once_failed(domain, n_arms, cormab_seed, layer_seed):
    # with LP bounds loosened by only 1e-7 (below HiGHS' feasibility tolerances) the tightened MILP
    # reported "Optimal" for a suboptimal action on these instances, while tighten=False was exact
    cormab = make_cormab(domain, n_arms, 1, seed=cormab_seed, gamma=0.5)
    rng = np.random.default_rng(layer_seed)
    layers = _random_layers(rng, [cormab.n_actions + n_arms, 8, 6, 1])
    x_s = cormab.features(rng.integers(0, 4, size=n_arms))
    best = float(_brute_force(layers, x_s, cormab.constraint.enumerate_feasible()).max())
    for tighten in (False, True):
        assert mip_argmax(layers, x_s, cormab.constraint, tighten=tighten).value == pytest.approx(best, abs=1e-6)


def test_mip_argmax_after_another_highs_run_with_other_threads():
    """HiGHS sizes one process-wide thread pool at its first run; a MILP asking for 1 thread after
    a run with 2 (e.g. exact POMDP pruning, then SEQUOIA) must still solve."""
    highspy = pytest.importorskip("highspy")
    highspy.Highs.resetGlobalScheduler(True)  # so that the next run sizes the pool to 2 threads
    other = highspy.Highs()
    other.setOptionValue("output_flag", False)
    other.setOptionValue("threads", 2)
    other.addVar(0.0, 1.0)
    other.changeColCost(0, 1.0)
    other.run()
    assert other.modelStatusToString(other.getModelStatus()) == "Optimal"
    rng = np.random.default_rng(3)
    layers = _random_layers(rng, [4 + 2, 5, 1])
    x_s = rng.uniform(size=2)
    budget = Budget(2, 4)
    res = mip_argmax(layers, x_s, budget, threads=1)
    assert res.value == pytest.approx(float(_brute_force(layers, x_s, budget.enumerate_feasible()).max()), abs=1e-9)


@settings(max_examples=15)
@given(cormabs(max_arms=7, max_budget=3), st.integers(0, 2**32 - 1))
def test_per_set_highs_options_and_highs_defaults_give_the_brute_force_optimum(cormab, seed):
    from theory_rl._highs import HIGHS_DEFAULT_OPTIONS

    rng = np.random.default_rng(seed)
    J, N = cormab.n_arms, cormab.n_actions
    layers = _random_layers(rng, [N + J, 8, 6, 1])
    x_s = cormab.features(rng.integers(0, 4, size=J))
    best = float(_brute_force(layers, x_s, cormab.constraint.enumerate_feasible()).max())
    fast = mip_argmax(layers, x_s, cormab.constraint)
    dflt = mip_argmax(layers, x_s, cormab.constraint, highs_options=HIGHS_DEFAULT_OPTIONS)
    assert fast.value == pytest.approx(best, abs=1e-6)
    assert dflt.value == pytest.approx(best, abs=1e-6)


def test_path_model_keeps_only_arcs_a_closed_walk_can_use():
    import networkx as nx

    from theory_rl.combinatorial import Path

    # a line 0-1-2-3-4 from 0 with L = 4 moves: node 3 is 3 moves out, 3 back: unreachable
    p = Path(nx.path_graph(5), 0, 2, walk_length=4, formulation="time_expanded")
    model = MipModel()
    a = model.add_vars(5, integer=True)
    aux = p.add_to(model, a)
    y, arcs = aux["y"], aux["arcs"]
    used_heads = {int(arcs[k, 1]) for t in range(4) for k in np.flatnonzero(y[t] >= 0)}
    assert used_heads == {0, 1, 2}
    for t in range(4):  # an arc exists at step t iff the walk can be at its tail and still get home
        for k in np.flatnonzero(y[t] >= 0):
            u, v = arcs[k]
            assert u <= t and v <= 4 - 1 - t
    model.add_objective(a, np.ones(5))
    sol = solve_mip(model)
    assert sol.objective == pytest.approx(2.0)  # two of {0, 1, 2} can be acted on
    assert set(np.flatnonzero(sol.x[a] > 0.5)) <= {0, 1, 2}


def test_path_flow_model_keeps_only_edges_a_closed_walk_can_use():
    import networkx as nx

    from theory_rl.combinatorial import Path

    # the same line with L = 4: a closed walk through edge {u, w} has at least d(0, u) + 1 + d(w, 0)
    # moves, so only {0, 1} and {1, 2} get multiplicities; nodes 3 and 4 are fixed to 0
    p = Path(nx.path_graph(5), 0, 2, walk_length=4)
    model = MipModel()
    a = model.add_vars(5, integer=True)
    aux = p.add_to(model, a)
    assert sorted(map(tuple, aux["edges"].tolist())) == [(0, 1), (1, 2)]
    model.add_objective(a, np.array([0.0, 0.0, 1.0, 5.0, 5.0]))
    sol = solve_mip(model)
    assert sol.objective == pytest.approx(1.0)
    assert p.certificate(sol.x, aux) == [0, 1, 2, 1, 0]


@settings(max_examples=20)
@given(st.integers(0, 2**32 - 1), st.integers(5, 9), st.integers(1, 4), st.integers(1, 9))
def test_path_flow_and_time_expanded_argmax_agree_with_brute_force(seed, n_stations, budget, walk_length):
    # two independent formulations of one feasible set, and the enumeration by the Held-Karp check:
    # the same optimum, and each returned walk certificate passes the edge-by-edge check
    from theory_rl.combinatorial import Path
    from theory_rl.envs import metro_graph

    rng = np.random.default_rng(seed)
    g = metro_graph(n_stations, seed=rng)
    budget = min(budget, n_stations)
    flow = Path(g, 0, budget, walk_length)
    expanded = Path(g, 0, budget, walk_length, formulation="time_expanded")
    layers = _random_layers(rng, [2 * n_stations, 8, 6, 1])
    x_s = rng.uniform(0, 1, size=n_stations)
    best = float(_brute_force(layers, x_s, flow.enumerate_feasible()).max())
    for p in (flow, expanded):
        res = mip_argmax(layers, x_s, p)
        assert res.value == pytest.approx(best, abs=1e-6), p.formulation
        assert p.walk_is_valid(res.certificate)
        assert set(np.flatnonzero(res.action)) <= {g_i for g_i, v in enumerate(p.nodes) if v in set(res.certificate)}


def test_path_rejects_an_unknown_formulation():
    import networkx as nx

    from theory_rl.combinatorial import Path

    with pytest.raises(InvalidModelError, match="formulation"):
        Path(nx.path_graph(3), 0, 1, formulation="steiner")


def test_row_block_placed_by_add_rows_rebuilds_the_same_matrix():
    rng = np.random.default_rng(3)
    direct, template = MipModel(), MipModel()
    direct.add_vars(2, ub=5.0)
    x = direct.add_vars(4, ub=1.0)
    rows = [(rng.choice(4, size=k, replace=False), rng.normal(size=k), -rng.random(), rng.random()) for k in (1, 3, 4, 2)]
    for cols, vals, lo, hi in rows:
        direct.add_row(x[cols], vals, lo, hi)
        template.add_row(cols, vals, lo, hi)  # local column numbers 0..3
    block = template.row_block()
    assert block["rows"].tolist() == [r for r, (cols, *_) in enumerate(rows) for _ in cols]
    placed = MipModel()
    placed.add_vars(2, ub=5.0)
    placed.add_rows(_coo(block, (len(rows), 4)), placed.add_vars(4, ub=1.0), block["lo"], block["hi"])
    a, b = direct.arrays(), placed.arrays()
    assert (a["A"] != b["A"]).nnz == 0
    np.testing.assert_array_equal(a["row_lo"], b["row_lo"])
    np.testing.assert_array_equal(a["row_hi"], b["row_hi"])
    empty = MipModel().row_block()
    assert empty["rows"].dtype == np.int64 and empty["lo"].shape == (0,)


def _coo(block: dict, shape: tuple[int, int]):
    import scipy.sparse as sp

    return sp.coo_matrix((block["vals"], (block["rows"], block["cols"])), shape=shape)
