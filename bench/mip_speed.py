"""Time per SEQUOIA action selection: our highspy MILP vs the same model through Pyomo+HiGHS vs OMLT.

For J in {20, 40, 100} arms with budget B = 20 (the budget domain, ``sum a <= B``) and Q-networks
with two hidden layers of 32 and of 64 units, *trained* by SEQUOIA's myopic pre-training (untrained
random nets are pathological for MIP solvers), each solver picks ``argmax_{a in F} Q(s, a)`` at the
same random states, in the same process:

* ``ours_highspy``: :func:`theory_rl.combinatorial.mip_argmax` (interval bounds with the budget's
  cardinality bound on the first layer, stable units without binaries, highspy directly, 1 thread,
  the budget set's measured HiGHS options: presolve and root heuristics off);
* ``ours_highspy_presolve``: the same model with the previous options (HiGHS' presolve on; only
  restarts, RINS and RENS off), to show where the time went;
* ``ours_highspy_default_options``: the same model with all of HiGHS' default options;
* ``ours_pyomo_highs``: the same model handed to Pyomo's ``appsi_highs``;
* ``omlt``: OMLT's ``ReluBigMFormulation`` of the same weights (its own interval bounds) in a
  Pyomo model with the same budget row, solved by ``appsi_highs`` (its defaults);
* ``omlt_our_highs_options``: the same OMLT model with the HiGHS options ``ours_highspy`` uses, to
  separate what the options give from what the formulation and the direct highspy path give.

All optima are checked to agree (to 1e-5). Times per selection (model construction included),
median over the states, in CPU seconds of this process (``time.process_time``; the machine is
shared, so wall times are inflated by other jobs' load) and wall seconds. ``ours`` is split into
the Python model build and hand-over, and HiGHS' own run. The ratio column is OMLT / ours in CPU s.

    .venv/bin/python bench/mip_speed.py            # J = 20, 40, 100; 2x32, then 2x64; 5 states
    .venv/bin/python bench/mip_speed.py --quick    # J = 20, 40; 2x32; 2 states
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from _common import with_provenance  # noqa: E402  (bench/ is sys.path[0] when a script runs)


def omlt_argmax(layers, x_s, budget, *, solver="appsi_highs", options=None):
    import logging

    import pyomo.environ as pyo

    logging.getLogger("pyomo.core").setLevel(logging.ERROR)  # OMLT initialises fixed inputs at 0 (W1002)
    from omlt import OmltBlock
    from omlt.neuralnet import NetworkDefinition, ReluBigMFormulation
    from omlt.neuralnet.layer import DenseLayer, InputLayer

    n = layers[0][0].shape[1] - len(x_s)
    d = n + len(x_s)
    bounds = {i: (0.0, 1.0) for i in range(n)}
    bounds.update({n + j: (float(v), float(v)) for j, v in enumerate(x_s)})
    net = NetworkDefinition(scaled_input_bounds=bounds)
    prev = InputLayer([d])
    net.add_layer(prev)
    for k, (W, b) in enumerate(layers):
        act = "relu" if k < len(layers) - 1 else "linear"
        dense = DenseLayer(prev.output_size, [W.shape[0]], W.T, b, activation=act)
        net.add_layer(dense)
        net.add_edge(prev, dense)
        prev = dense
    m = pyo.ConcreteModel()
    m.a = pyo.Var(range(n), domain=pyo.Binary)
    m.nn = OmltBlock()
    m.nn.build_formulation(ReluBigMFormulation(net))
    m.link = pyo.Constraint(range(n), rule=lambda m, i: m.nn.inputs[i] == m.a[i])
    m.fix = pyo.Constraint(range(len(x_s)), rule=lambda m, j: m.nn.inputs[n + j] == float(x_s[j]))
    m.budget = pyo.Constraint(expr=sum(m.a[i] for i in range(n)) <= budget)
    m.obj = pyo.Objective(expr=m.nn.outputs[0], sense=pyo.maximize)
    opt = pyo.SolverFactory(solver)
    opt.options["mip_rel_gap"] = 0.0
    for key, value in (options or {}).items():
        opt.options[key] = value
    opt.solve(m)
    action = np.array([round(pyo.value(m.a[i])) for i in range(n)], dtype=np.int8)
    return action, float(pyo.value(m.obj))


def timed(fn, *args, **kwargs):
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--states", type=int, default=None)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "mip_speed.json"))
    args = parser.parse_args()
    from theory_rl._highs import DEFAULT_HIGHS_OPTIONS, HIGHS_DEFAULT_OPTIONS
    from theory_rl.combinatorial import make_cormab, mip_argmax, pretrain_myopic, relu_mlp_layers, warm_start_dataset

    sizes = (20, 40) if args.quick else (20, 40, 100)
    nets = ((32, 32),) if args.quick else ((32, 32), (64, 64))
    n_states = args.states or (2 if args.quick else 5)
    B = 20
    rows = []
    out = {"benchmark": "SEQUOIA action selection (Q-network-in-MIP), budget domain",
           "paper": "Xu, Wilder, Khalil, Tambe, ICLR 2025, arXiv 2503.01919 (v2)",
           "mip_gap": 0.0, "quick": args.quick, "machine": platform.platform(),
           "note": "taken on a shared 2-core machine under load from other jobs; CPU seconds of this process are the "
                   "comparable numbers, wall times are inflated by the load",
           "rows": rows}
    for hidden, J in [(h, J) for h in nets for J in sizes]:
        cormab = make_cormab("budget", J, B, seed=J)
        data = warm_start_dataset(cormab, n_random_states=150, n_random_actions=6, seed=0)
        t0 = time.perf_counter()
        net, losses = pretrain_myopic(cormab, data, hidden=hidden, epochs=30, batch_size=128, lr=3e-3,
                                      lr_decay=0.95, seed=0)
        train_s = time.perf_counter() - t0
        layers = relu_mlp_layers(net)
        rng = np.random.default_rng(1)
        rec = {"ours_highspy": [], "ours_highspy_presolve": [], "ours_highspy_default_options": [],
               "ours_pyomo_highs": [], "omlt": [], "omlt_our_highs_options": []}
        run_s = []
        cpu = {k: [] for k in rec}
        disagree = 0.0
        stats = []
        for _ in range(n_states):
            s = rng.integers(0, 4, size=J)
            x_s = cormab.features(s)
            ours, w, c = timed(mip_argmax, layers, x_s, cormab.constraint, layers=layers)
            rec["ours_highspy"].append(w)
            cpu["ours_highspy"].append(c)
            stats.append(ours.solver_stats)
            run_s.append(ours.solver_stats["solve_time"])
            prev, w, c = timed(mip_argmax, layers, x_s, cormab.constraint, layers=layers, highs_options={
                k: v for k, v in HIGHS_DEFAULT_OPTIONS.items() if k not in DEFAULT_HIGHS_OPTIONS})
            rec["ours_highspy_presolve"].append(w)
            cpu["ours_highspy_presolve"].append(c)
            dflt, w, c = timed(mip_argmax, layers, x_s, cormab.constraint, layers=layers,
                               highs_options=HIGHS_DEFAULT_OPTIONS)
            rec["ours_highspy_default_options"].append(w)
            cpu["ours_highspy_default_options"].append(c)
            pyo_res, w, c = timed(mip_argmax, layers, x_s, cormab.constraint, layers=layers,
                                  solver="appsi_highs")
            rec["ours_pyomo_highs"].append(w)
            cpu["ours_pyomo_highs"].append(c)
            (_, omlt_value), w, c = timed(omlt_argmax, layers, x_s, B)
            rec["omlt"].append(w)
            cpu["omlt"].append(c)
            (_, omlt_fast_value), w, c = timed(omlt_argmax, layers, x_s, B, options={
                **DEFAULT_HIGHS_OPTIONS, **cormab.constraint.highs_options})
            rec["omlt_our_highs_options"].append(w)
            cpu["omlt_our_highs_options"].append(c)
            disagree = max(disagree, abs(ours.value - dflt.value), abs(ours.value - pyo_res.value),
                           abs(ours.value - omlt_value), abs(ours.value - prev.value),
                           abs(ours.value - omlt_fast_value))
        row = {"J": J, "B": B, "hidden": list(hidden), "train_seconds": train_s, "train_mse": losses[-1],
               "states": n_states, "max_disagreement": disagree,
               "median_wall_s": {k: float(np.median(v)) for k, v in rec.items()},
               "median_cpu_s": {k: float(np.median(v)) for k, v in cpu.items()},
               "n_binaries_network": int(np.median([s["n_binaries_network"] for s in stats])),
               "nodes": int(np.median([s["nodes"] for s in stats])),
               "ours_median_highs_run_wall_s": float(np.median(run_s))}
        row["ours_median_build_wall_s"] = row["median_wall_s"]["ours_highspy"] - row["ours_median_highs_run_wall_s"]
        row["omlt_over_ours_cpu"] = row["median_cpu_s"]["omlt"] / row["median_cpu_s"]["ours_highspy"]
        row["omlt_same_options_over_ours_cpu"] = (row["median_cpu_s"]["omlt_our_highs_options"]
                                                  / row["median_cpu_s"]["ours_highspy"])
        row["omlt_over_ours"] = row["median_wall_s"]["omlt"] / row["median_wall_s"]["ours_highspy"]
        rows.append(row)
        med = row["median_cpu_s"]
        print(f"J={J:3d} {hidden[0]}x{hidden[1]} (CPU s): ours {med['ours_highspy']:.3f}  "
              f"(HiGHS run {row['ours_median_highs_run_wall_s']:.3f} wall; presolve on {med['ours_highspy_presolve']:.3f}; "
              f"HiGHS defaults {med['ours_highspy_default_options']:.3f})  pyomo+highs {med['ours_pyomo_highs']:.3f}  "
              f"omlt {med['omlt']:.3f} (with our HiGHS options {med['omlt_our_highs_options']:.3f})  -> omlt/ours "
              f"{row['omlt_over_ours_cpu']:.1f}x ({row['omlt_same_options_over_ours_cpu']:.1f}x)  "
              f"agree within {disagree:.1e}", flush=True)
        assert disagree < 1e-5, "the solvers disagree on the optimum"
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(with_provenance(out), indent=2))  # after every row: a stopped run keeps its rows
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
