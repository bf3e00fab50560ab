"""Robust Bellman backups and IWOCS against the nominal backup and per-problem LPs.

    .venv/bin/python bench/robust.py            # full: random S in {100, 500, 2000}, A = 10, + 4 domains
    .venv/bin/python bench/robust.py --quick    # random S in {100, 500} + domains, fewer repeats

For every instance, radius ``kappa`` in {0.05, 0.1, 0.2} and gamma = 0.99:

- time of one robust backup (all (s, a) inner problems plus the max over actions) for the
  sa-rectangular L1 and L-infinity balls (``kappa/4``), the KL ball (radius ``kappa``) and the
  s-rectangular L1 ball, divided by one nominal backup of :mod:`theory_rl.tabular` on the same
  model (both compiled, both the best of interleaved repeats), in two regimes:

  * ``steady`` (the headline, the regime of the earlier tables): every call gets a new vector,
    ``v0 + 1e-9 k`` (so no cache of results can serve it), as value iteration near
    convergence produces them: the sort order and the kernels' warm starts (KL root, L-inf
    threshold, s-rect level) carry over;
  * ``vi``: each operator runs its own value iteration ``v <- T v`` from the same random
    start, timed over its first backups (the vectors change most there);
  * ``cold``: every call gets one of 8 independent random vectors in turn, so no warm start
    or cached order is of any use (the worst case of the warm starts);
- the same backup done as one ``scipy.optimize.linprog`` (HiGHS) per inner problem (the approach
  of the public Python forks of robust-MDP code), timed on a sample of rows and extrapolated;
  each sampled LP value is checked against our kernel's;
- IWOCS (hull inner solver) iterations and seconds to a 1e-6 certificate at the start state, against
  robust value iteration to a 1e-6 certified width; both answers are checked against each other.

Instances rebuilt from the fast-robust-MDP literature (Ho, Petrik & Wiesemann 2018/2021):
RiverSwim (20 states), the Dearden chain (20), FrozenLake 8x8 (gymnasium), and an inventory
problem (capacity 49, orders 0..9, Poisson(4) demand, price 2 / cost 1 / holding 0.1, rewards
rescaled to [0, 1]); their exact parameters in those papers are not reproduced.
Rows "random CSR": a sparse nominal model (10 stored entries per row), whose sa-rectangular values
are computed from the CSR rows without a dense copy, against the nominal CSR backup.
Results go to ``bench/results/robust.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

import numpy as np
from _common import with_provenance  # noqa: E402  (bench/ is sys.path[0] when a script runs)
from scipy.optimize import linprog
from scipy.stats import poisson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from theory_rl import envs  # noqa: E402
from theory_rl.models import FiniteMDP  # noqa: E402
from theory_rl.robust import KLBall, L1Ball, LInfBall, RobustMDP, iwocs, robust_value_iteration  # noqa: E402
from theory_rl.robust._operator import RobustOperator  # noqa: E402
from theory_rl.tabular import BellmanOperator  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "robust.json")
GAMMA = 0.99
KAPPAS = (0.05, 0.1, 0.2)


def inventory(capacity: int = 49, n_orders: int = 10, *, rate: float = 4.0, gamma: float = GAMMA) -> FiniteMDP:
    """Stock ``s`` in 0..capacity, order ``a`` units (capped by capacity), Poisson demand; reward
    = 2 * sales - order cost - 0.1 * stock, affinely rescaled to [0, 1]."""
    S = capacity + 1
    P = np.zeros((S, n_orders, S))
    R = np.zeros((S, n_orders))
    d = np.arange(S + n_orders)
    pmf = poisson.pmf(d, rate)
    for s in range(S):
        for a in range(n_orders):
            y = min(s + a, capacity)
            sales = np.minimum(d, y)
            nxt = y - sales
            np.add.at(P[s, a], nxt, pmf)
            P[s, a, 0] += 1.0 - pmf.sum()
            R[s, a] = 2.0 * float(pmf @ sales) - 1.0 * a - 0.1 * y
    R = (R - R.min()) / (R.max() - R.min())
    return FiniteMDP(P, R, gamma)


def frozen_lake(gamma: float = GAMMA) -> FiniteMDP | None:
    try:
        import gymnasium as gym
    except ImportError:  # pragma: no cover
        return None
    env = gym.make("FrozenLake-v1", map_name="8x8", is_slippery=True)
    return envs.from_gymnasium(env, gamma=gamma, sparse=False)


def instances(quick: bool) -> list[tuple[str, FiniteMDP]]:
    out = []
    for S in ((100, 500) if quick else (100, 500, 2000)):
        out.append((f"random S={S} A=10", envs.random_mdp(S, 10, seed=S, gamma=GAMMA)))
    out.append(("riverswim 20", envs.river_swim(20, gamma=GAMMA)))
    out.append(("chain 20", envs.chain(20, gamma=GAMMA)))
    fl = frozen_lake()
    if fl is not None:
        out.append(("frozenlake 8x8", fl))
    out.append(("inventory 50x10", inventory()))
    return [(name, m.to_dense() if m.is_sparse else m) for name, m in out]


def interleaved(fns: dict[str, Any], repeats: int) -> dict[str, float]:
    """Best time of each function over ``repeats`` rounds, the functions alternating within a
    round (so that drifting machine load hits all of them alike)."""
    best = {k: np.inf for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - t)
    return best


def backup_fns(mdp: FiniteMDP, kappa: float, mode: str, kinds: tuple[str, ...] = ("sa-L1", "sa-Linf", "sa-KL", "s-L1")
               ) -> tuple[dict[str, Any], dict[str, RobustOperator]]:
    """One zero-argument function per operator doing one backup; ``mode`` is ``"steady"``
    (``v0 + 1e-9 k``), ``"vi"`` (each runs its own value iteration) or ``"cold"`` (independent
    random vectors in turn)."""
    S = mdp.n_states
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1 / (1 - GAMMA), size=S)
    pool = [rng.uniform(0, 1 / (1 - GAMMA), size=S) for _ in range(8)]
    nominal = BellmanOperator(mdp)
    sets = {"sa-L1": L1Ball(kappa), "sa-Linf": LInfBall(kappa / 4), "sa-KL": KLBall(kappa),
            "s-L1": L1Ball(kappa, rectangularity="s")}
    ops = {k: RobustOperator(RobustMDP(mdp, sets[k])) for k in kinds}

    def make(step: Any) -> Any:
        state = {"v": base.copy(), "k": 0}

        def call() -> None:
            state["k"] += 1
            if mode == "steady":
                step(base + 1e-9 * state["k"])
            elif mode == "vi":
                state["v"] = step(state["v"])[0]
            else:
                step(pool[state["k"] % len(pool)])
        return call

    fns: dict[str, Any] = {"nominal": make(nominal.backup)}
    for name, op in ops.items():
        fns[name] = make(op.backup)
    return fns, ops


def lp_inner(p: np.ndarray, v: np.ndarray, kind: str, kappa: float) -> float:
    n = p.size
    if kind == "sa-Linf":
        r = linprog(v, A_eq=np.ones((1, n)), b_eq=[1.0],
                    bounds=list(zip(np.maximum(0, p - kappa), np.minimum(1, p + kappa))), method="highs")
        return float(r.fun)
    eye = np.eye(n)
    c = np.r_[v, np.zeros(n)]
    A_ub = np.block([[eye, -eye], [-eye, -eye], [np.zeros((1, n)), np.ones((1, n))]])
    r = linprog(c, A_ub=A_ub, b_ub=np.r_[p, -p, kappa], A_eq=np.r_[np.ones(n), np.zeros(n)][None], b_eq=[1.0],
                bounds=[(0, None)] * (2 * n), method="highs")
    return float(r.fun)


def lp_backup_estimate(mdp: FiniteMDP, ops: dict[str, RobustOperator], kappa: float, n_sample: int
                       ) -> dict[str, Any]:
    """Seconds for one backup done as S*A linprog calls (sampled rows, extrapolated), and the
    largest disagreement of the sampled LP values with our kernels."""
    S, A = mdp.n_states, mdp.n_actions
    rng = np.random.default_rng(1)
    v = rng.uniform(0, 1 / (1 - GAMMA), size=S)
    rows = rng.choice(S * A, size=min(n_sample, S * A), replace=False)
    P2 = np.asarray(mdp.P).reshape(S * A, S)
    out = {}
    for kind, radius in (("sa-L1", kappa), ("sa-Linf", kappa / 4)):
        sigma, _ = ops[kind].sigma(v)
        t = time.perf_counter()
        vals = np.array([lp_inner(P2[i], v, kind, radius) for i in rows])
        per = (time.perf_counter() - t) / len(rows)
        out[kind] = {"lp_seconds_per_backup": per * S * A, "max_abs_diff": float(np.max(np.abs(vals - sigma[rows])))}
    return out


def iwocs_vs_vi(mdp: FiniteMDP, kappa: float) -> dict[str, Any]:
    rmdp = RobustMDP(mdp, L1Ball(kappa))
    t = time.perf_counter()
    res = iwocs(rmdp, tol=1e-6, max_iter=100)
    t_iwocs = time.perf_counter() - t
    t = time.perf_counter()
    vi = robust_value_iteration(rmdp, tol=1e-6)
    t_vi = time.perf_counter() - t
    s0 = int(np.argmax(mdp.d0)) if np.max(mdp.d0) == 1.0 else 0
    agree = bool(res.lower - 1e-9 <= vi.upper[s0] and vi.lower[s0] <= res.upper + 1e-9)
    return {"iwocs_iterations": res.n_iter, "iwocs_models": len(res.models), "iwocs_seconds": t_iwocs,
            "iwocs_gap": res.upper - res.lower, "iwocs_converged": res.converged, "vi_backups": vi.n_iter,
            "vi_seconds": t_vi, "agree": agree}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced sizes and repeats (about 2 minutes)")
    ap.add_argument("--output", default=RESULTS)
    ap.add_argument("--no-iwocs", action="store_true")
    ap.add_argument("--threads", type=int, default=None,
                    help="numba threads for every kernel, ours and the nominal one (default: all cores)")
    args = ap.parse_args(argv)
    if args.threads:
        import numba

        numba.set_num_threads(args.threads)
    repeats = 10 if args.quick else 30
    n_sample = 20 if args.quick else 60
    doc: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "numba_threads": args.threads or os.cpu_count(),
                    "load_average_at_start": os.getloadavg()},
        "gamma": GAMMA, "kappas": list(KAPPAS), "quick": args.quick, "results": []}
    for name, mdp in instances(args.quick):
        for kappa in KAPPAS:
            row: dict[str, Any] = {"instance": name, "S": mdp.n_states, "A": mdp.n_actions, "kappa": kappa}
            for mode, suffix in (("steady", ""), ("vi", "_vi"), ("cold", "_cold")):
                fns, ops = backup_fns(mdp, kappa, mode)
                for f in fns.values():  # compile / warm
                    f()
                best = interleaved(fns, repeats)
                row[f"nominal{suffix}_backup_s"] = best["nominal"]
                for k in ("sa-L1", "sa-Linf", "sa-KL", "s-L1"):
                    row[f"{k}{suffix}_backup_s"] = best[k]
                    row[f"{k}{suffix}_vs_nominal"] = best[k] / best["nominal"]
            lp = lp_backup_estimate(mdp, ops, kappa, n_sample)
            for k, d in lp.items():
                row[f"{k}_linprog_backup_s"] = d["lp_seconds_per_backup"]
                row[f"{k}_linprog_over_ours"] = d["lp_seconds_per_backup"] / row[f"{k}_backup_s"]
                row[f"{k}_linprog_max_abs_diff"] = d["max_abs_diff"]
            if not args.no_iwocs and mdp.n_states <= 500:  # the hull stacks every model: S*A*K*S numbers
                row.update(iwocs_vs_vi(mdp, kappa))
            doc["results"].append(row)
            print(f"{name:18} kappa={kappa:<5} nominal {row['nominal_backup_s'] * 1e3:8.3f} ms | steady/vi/cold "
                  + " ".join(f"{k} {row[f'{k}_vs_nominal']:5.2f}/{row[f'{k}_vi_vs_nominal']:5.2f}/"
                             f"{row[f'{k}_cold_vs_nominal']:5.2f}x"
                             for k in ("sa-L1", "sa-Linf", "sa-KL", "s-L1"))
                  + f" | linprog/ours L1 {row['sa-L1_linprog_over_ours']:8.0f}x"
                  + (f" | IWOCS {row['iwocs_iterations']} it {row['iwocs_seconds']:.2f}s vs VI {row['vi_backups']} "
                     f"backups {row['vi_seconds']:.2f}s" if "iwocs_seconds" in row else ""), flush=True)
    # CSR nominal models: the sa-rectangular values read the stored rows (s-rect densifies: left
    # out); against the nominal CSR backup, steady and cold regimes
    for S in ((2000,) if args.quick else (2000, 10000)):
        mdp = envs.random_mdp(S, 10, seed=S, gamma=GAMMA, nnz_per_row=10)
        name = f"random CSR S={S} A=10 nnz/row=10"
        for kappa in KAPPAS:
            row = {"instance": name, "S": S, "A": 10, "kappa": kappa, "sparse": True}
            for mode, suffix in (("steady", ""), ("cold", "_cold")):
                fns, ops = backup_fns(mdp, kappa, mode, kinds=("sa-L1", "sa-Linf", "sa-KL"))
                for f in fns.values():
                    f()
                best = interleaved(fns, repeats)
                row[f"nominal{suffix}_backup_s"] = best["nominal"]
                for k in ops:
                    row[f"{k}{suffix}_backup_s"] = best[k]
                    row[f"{k}{suffix}_vs_nominal"] = best[k] / best["nominal"]
                row["dense_copies"] = sum(op._P2 is not None for op in ops.values())
            doc["results"].append(row)
            print(f"{name:18} kappa={kappa:<5} nominal {row['nominal_backup_s'] * 1e3:8.3f} ms | steady/cold "
                  + " ".join(f"{k} {row[f'{k}_vs_nominal']:5.2f}/{row[f'{k}_cold_vs_nominal']:5.2f}x"
                             for k in ("sa-L1", "sa-Linf", "sa-KL")), flush=True)
    if args.output:
        os.makedirs(os.path.dirname(args.output), exist_ok=True)
        with open(args.output, "w") as fh:
            json.dump(with_provenance(doc), fh, indent=1, default=float)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
