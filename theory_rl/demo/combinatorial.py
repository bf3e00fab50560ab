"""``make demo`` section: a path-constrained action picked by the Q-network MILP, checked against
brute force."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["run_demo"]


def run_demo(section: Callable[[str], Any]) -> None:
    from ..combinatorial import (
        forward,
        greedy_q_action,
        make_cormab,
        myopic_argmax,
        pretrain_myopic,
        relu_mlp_layers,
        select_action,
        warm_start_dataset,
    )

    section("SEQUOIA (Xu et al. 2025): a route-constrained action from a Q-network inside a MILP")
    cormab = make_cormab("path", 12, 3, seed=4)
    c = cormab.constraint
    print(f"coRMAB: {cormab.n_arms} arms on a synthetic metro graph ({c.graph.number_of_edges()} edges), "
          f"source station {c.source}, budget B = {c.budget}, closed walk of L = {c.walk_length} moves")
    t0 = time.perf_counter()
    data = warm_start_dataset(cormab, n_random_states=40, n_random_actions=6, seed=0)
    net, losses = pretrain_myopic(cormab, data, hidden=(16, 16), epochs=12, batch_size=128, lr=1e-2,
                                  lr_decay=0.95, seed=0)
    print(f"Q-network 2x16 fitted to the one-step reward on {len(data[2])} samples "
          f"(MSE {losses[0]:.2f} -> {losses[-1]:.2f}) in {time.perf_counter() - t0:.1f}s (torch, CPU)")
    state = np.array([3, 0, 2, 1, 0, 3, 1, 2, 0, 1, 3, 2])
    t0 = time.perf_counter()
    res = select_action(cormab, net, state)
    t_mip = time.perf_counter() - t0
    st = res.solver_stats
    print(f"MILP (highspy): act on stations {np.flatnonzero(res.action).tolist()}, Q = {res.value:.4f}, "
          f"{t_mip:.3f}s, {st['n_vars']} vars, {st['n_binaries_network']} network binaries "
          f"({st['n_stable_active'] + st['n_stable_inactive']} units stable: no binary)")
    print(f"  walk certificate: {' -> '.join(map(str, res.certificate))}")
    t0 = time.perf_counter()
    F = c.enumerate_feasible()
    layers = relu_mlp_layers(net)
    q = forward(layers, np.hstack([F, np.broadcast_to(cormab.features(state), (len(F), cormab.n_arms))]))
    best = int(np.argmax(q))
    print(f"brute force over all {len(F)} feasible actions (networkx closed-walk check): best Q = {q[best]:.4f} "
          f"at stations {np.flatnonzero(F[best]).tolist()} ({time.perf_counter() - t0:.2f}s)")
    print(f"  MILP optimum == brute-force optimum: {abs(res.value - q[best]) < 1e-6}")
    greedy = greedy_q_action(cormab, net, state)
    g_val = float(forward(layers, np.concatenate([greedy, cormab.features(state)])[None])[0])
    my = myopic_argmax(cormab, state)
    print(f"for comparison: iterative greedy under Q picks {np.flatnonzero(greedy).tolist()} (Q = {g_val:.4f}); "
          f"the myopic MILP picks {np.flatnonzero(my.action).tolist()} (one-step reward {my.value:.3f})")
