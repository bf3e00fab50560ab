"""UMT-PSR: episodes per task to reach an epsilon-optimal average policy, against the number of tasks N.

Run from the repository root::

    .venv/bin/python bench/umt_psr.py            # N in {1, 2, 4, 8}, 20 seeds
    .venv/bin/python bench/umt_psr.py --quick    # N in {1, 2, 4}, 6 seeds

Synthetic benchmark of UMT-PSR (Huang et al., ICLR 2024, arXiv 2310.13550; the paper has no experiments): N 3-state POMDPs
(A = 2, O = 2, H = 3) share the transition kernel and have task-specific emissions. State 2 is a
goal that action ``a`` reaches with probability ``g[a]``; the truth is ``g = (0.6, 0.4)``, the
kernel candidates are ``(0.6, 0.4), (0.4, 0.6), (0.7, 0.3), (0.3, 0.7)``. Task ``n``'s emission
shows the goal (``o = 1``) with accuracy ``q_n ~ U[0.7, 0.9]``, with candidates ``q_n`` and
``q_n - 0.15``; the reward is 1 per step on ``o = 1``. So the joint class has ``4 * 2^N`` models,
a wrong kernel can flip the optimal action (gap about 0.3 > epsilon), and telling the kernels
apart takes tens of episodes: the kernel is the shared, expensive part. (A first version with
random Dirichlet kernels and rewards was uninformative: every candidate's optimal policy was
already within 0.05 of optimal, so every run needed one iteration.)

* ``multi-task``: UMT-PSR on the joint class (the kernel is learned from all tasks' data).
* ``independent``: the same algorithm run separately on each task with its own 8-model class
  (unrelated tasks: nothing shared).

After every iteration the output policies (exact planning on the maximum-likelihood model) are
evaluated exactly on the true tasks; "episodes to epsilon" is ``H`` times the first iteration
after which the average gap ``(1/N) sum_n (V*_n - V^{pi_n}_n)`` stays below ``epsilon = 0.05``
up to the last iteration (runs that never get there count as the budget ``K_max H``). The
theory predicts that multi-task episodes per task fall with N (the shared kernel's cost is split
among the tasks) while independent learning stays flat. Results: ``bench/results/psr_umt.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
from joblib import Parallel, delayed

from theory_rl.pomdp import evaluate_tree_policy, plan_on_history_tree, shared_dynamics_class, umt_psr
from theory_rl.pomdp._forward import enumerate_trajectories, trajectory_probability

HERE = os.path.dirname(os.path.abspath(__file__))
S, A, O, H = 3, 2, 2, 3  # noqa: E741
EPS = 0.05


def kernel(g: tuple[float, float]) -> np.ndarray:
    """Action ``a`` reaches the goal state 2 with probability ``g[a]`` (else one of 0, 1 uniformly);
    from the goal it stays with probability ``min(g[a] + 0.2, 0.95)``."""
    T = np.zeros((S, A, S))
    for a, ga in enumerate(g):
        T[:2, a] = [(1 - ga) / 2, (1 - ga) / 2, ga]
        stay = min(ga + 0.2, 0.95)
        T[2, a] = [(1 - stay) / 2, (1 - stay) / 2, stay]
    return T


def emission(q: float) -> np.ndarray:
    """The goal state shows ``o = 1`` with probability ``q``, the others with ``1 - q`` (any action)."""
    E = np.empty((A, S, O))
    E[:, :2] = [q, 1 - q]
    E[:, 2] = [1 - q, q]
    return E


def instance(N: int, seed: int):
    """Shared kernel (truth g = (0.6, 0.4)) with candidates (0.4, 0.6), (0.7, 0.3), (0.3, 0.7); task n
    has accuracy q_n ~ U[0.7, 0.9] and a second candidate q_n - 0.15; reward 1 for seeing o = 1."""
    rng = np.random.default_rng(seed)
    Ts = [kernel(g) for g in [(0.6, 0.4), (0.4, 0.6), (0.7, 0.3), (0.3, 0.7)]]
    qs = rng.uniform(0.7, 0.9, size=N)
    ems = [[emission(q), emission(q - 0.15)] for q in qs]
    rewards = [np.array([[0.0, 1.0]] * A) for _ in range(N)]
    return Ts, ems, rewards


def gaps_over_iterations(cls, tasks_true_tables, rewards, trace, members_fn) -> np.ndarray:
    """Average gap of the output policies after each iteration."""
    out = []
    vstar = [plan_on_history_tree(p, r)[0] for p, r in zip(tasks_true_tables, rewards)]
    cache: dict[int, float] = {}
    for entry in trace:
        m = entry["mle"]
        if m not in cache:
            g = []
            for n, (p, r) in enumerate(zip(tasks_true_tables, rewards)):
                pol = plan_on_history_tree(cls.tables[n][members_fn(m, n)], r)[1]
                g.append(vstar[n] - evaluate_tree_policy(p, r, pol))
            cache[m] = float(np.mean(g))
        out.append(cache[m])
    return np.array(out)


def episodes_to_eps(gaps: np.ndarray) -> int:
    bad = np.flatnonzero(gaps > EPS)
    first_good = 0 if bad.size == 0 else int(bad[-1]) + 1
    return (first_good + 1) * H if first_good < gaps.size else (gaps.size + 1) * H


def one_run(N: int, seed: int, k_max: int) -> dict:
    Ts, ems, rewards = instance(N, seed)
    a, o = enumerate_trajectories(A, O, H)
    cls, cands = shared_dynamics_class(Ts, ems, horizon=H)
    truth = [cands[n][0] for n in range(N)]  # kernel 0, emission 0 of every task
    tables = [trajectory_probability(t, a, o) for t in truth]
    t0 = time.perf_counter()
    res = umt_psr(truth, cls, rewards=rewards, max_iter=k_max, seed=seed, true_index=0)
    multi = gaps_over_iterations(cls, tables, rewards, res.trace, lambda m, n: cls.members[m, n])
    t_multi = time.perf_counter() - t0
    # independent: each task alone, with its own class of 4 kernels x 2 emissions
    t0 = time.perf_counter()
    indep = np.zeros(k_max)
    for n in range(N):
        cls_n, cands_n = shared_dynamics_class(Ts, [ems[n]], horizon=H)
        res_n = umt_psr([truth[n]], cls_n, rewards=[rewards[n]], max_iter=k_max, seed=seed + 7919 * n, true_index=0)
        indep += gaps_over_iterations(cls_n, [tables[n]], [rewards[n]], res_n.trace,
                                      lambda m, _n, c=cls_n: c.members[m, 0]) / N
    t_indep = time.perf_counter() - t0
    return {"N": N, "seed": seed, "multi_episodes": episodes_to_eps(multi), "indep_episodes": episodes_to_eps(indep),
            "true_always_in_set": all(e["true_in_set"] for e in res.trace), "final_tv_sum": res.trace[-1]["tv_sum"],
            "class_size": cls.size, "seconds_multi": t_multi, "seconds_indep": t_indep}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    Ns, seeds, k_max = ([1, 2, 4], range(6), 40) if args.quick else ([1, 2, 4, 8], range(20), 60)
    t0 = time.perf_counter()
    rows = Parallel(n_jobs=args.jobs)(delayed(one_run)(N, s, k_max) for N in Ns for s in seeds)
    total = time.perf_counter() - t0
    print(f"UMT-PSR, shared-kernel POMDPs (S={S}, A={A}, O={O}, H={H}), epsilon={EPS}, "
          f"{len(seeds)} seeds, budget {k_max * H} episodes per task")
    print(f"{'N':>3} {'|Theta_u|':>9} {'multi-task ep/task':>19} {'independent ep/task':>20} {'ratio':>6} "
          f"{'truth kept':>10} {'s/run':>6}")
    summary = []
    for N in Ns:
        rs = [r for r in rows if r["N"] == N]
        multi = float(np.mean([r["multi_episodes"] for r in rs]))
        indep = float(np.mean([r["indep_episodes"] for r in rs]))
        kept = float(np.mean([r["true_always_in_set"] for r in rs]))
        secs = float(np.mean([r["seconds_multi"] for r in rs]))
        summary.append({"N": N, "multi": multi, "indep": indep, "kept": kept, "class_size": rs[0]["class_size"]})
        print(f"{N:>3} {rs[0]['class_size']:>9} {multi:>19.1f} {indep:>20.1f} {multi / indep:>6.2f} "
              f"{kept:>10.2f} {secs:>6.2f}")
    print(f"total {total:.1f} s")
    out = args.out or os.path.join(HERE, "results", "psr_umt_quick.json" if args.quick else "psr_umt.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        json.dump({"benchmark": "umt_psr", "date": time.strftime("%Y-%m-%d", time.gmtime()),
                   "command": "python bench/umt_psr.py" + (" --quick" if args.quick else ""),
                   "quick": args.quick, "epsilon": EPS, "k_max": k_max, "summary": summary,
                   "runs": rows, "seconds": total, "machine": platform.platform()}, fh, indent=1)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
