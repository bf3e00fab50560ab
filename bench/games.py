"""Zero-sum matrix games and minimax winners: ``theory_rl.games`` against nashpy and OpenSpiel.

Run from the repository root (each size is merged into the results file, so sizes can be run
in separate commands)::

    .venv/bin/python bench/games.py                       # n = 10, 50, 100, 500
    .venv/bin/python bench/games.py --sizes 1000          # 1-3 minutes (nashpy is most of it)
    .venv/bin/python bench/games.py --sizes --shapley     # Shapley VI per sweep against one backup

Instances, seeded: ``zero_sum``: ``A[i, j] ~ N(0, 1)`` of shape ``(n, n)``; ``minimax_winner``: a
random preference matrix (``P[i, j] ~ U(0, 1)`` above the diagonal, ``P[j, i] = 1 - P[i, j]``).
Ours: :func:`theory_rl.games.zero_sum_lp` and :func:`theory_rl.games.minimax_winner` (one LP
passed column-wise to HiGHS, the column player's strategy from its duals, then the support
equations). Peer: ``nashpy.Game(A).linear_program()`` (the row and the column LP through
``scipy.optimize.linprog``), on ``M = P - 1/2`` for the minimax winner: nashpy's fastest exact
method for zero-sum games (support and vertex enumeration are exponential). Both values are
``p^T A q`` of the returned strategies (for the minimax winner, the row strategy's worst-case win
rate ``min_j (p^T P)_j``, 1/2 exactly at a minimax winner) and must agree with nashpy's to 1e-8
(OpenSpiel's difference is reported; ECOS's tolerances make it about 1e-9 to 1e-7). Times are the best of
``--repeats`` runs (one run for n >= 500); ``ratio`` is ours / nashpy and ``ratio_fastest`` ours / the
faster peer (below 1: we are faster).
With ``--shapley``, Shapley value iteration on random games (2000 states with dense kernels,
10^4 states with 10 successors per row in CSR; 2x2 and 5x5 stage games) is timed per sweep against
one backup ``R + gamma P v`` over all state-action profiles (issue 22 asks for 10^4 states within 2x).
Results go to bench/results/games.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from typing import Any

import numpy as np

from theory_rl.games import minimax_winner, zero_sum_lp

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "games.json")


def instance(kind: str, n: int, seed: int) -> np.ndarray:
    """``A`` for ``zero_sum``, ``P`` for ``minimax_winner``."""
    rng = np.random.default_rng(seed)
    if kind == "zero_sum":
        return rng.standard_normal((n, n))
    P = np.triu(rng.random((n, n)), 1)
    P = P + np.tril(1.0 - P.T, -1)
    np.fill_diagonal(P, 0.5)
    return P


def ours(kind: str, X: np.ndarray) -> float:
    if kind == "zero_sum":
        return zero_sum_lp(X).value
    p = minimax_winner(X).strategy
    return float((p @ X).min())  # p's worst-case win rate: 1/2 exactly iff p is a minimax winner


def peer(kind: str, X: np.ndarray) -> float:
    import nashpy

    A = X if kind == "zero_sum" else X - 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, q = nashpy.Game(A).linear_program()
    return float(p @ A @ q) if kind == "zero_sum" else float((p @ X).min())


def open_spiel_peer(kind: str, X: np.ndarray) -> float:
    import pyspiel
    from open_spiel.python.algorithms import lp_solver

    A = X if kind == "zero_sum" else X - 0.5
    game = pyspiel.create_matrix_game(A.tolist(), (-A).tolist())
    p, _, value, _ = lp_solver.solve_zero_sum_matrix_game(game)
    p = np.clip(np.asarray(p, dtype=float).ravel(), 0.0, None)
    return float(value) if kind == "zero_sum" else float((p / p.sum() @ X).min())


def best_time(fn, repeats: int) -> tuple[float, float, Any]:
    """Best wall time and best process CPU time of ``repeats`` calls, and the last result. On a
    shared machine wall time counts the 4 ms slices other processes take, CPU time does not (the
    LP rows report wall time, as the peers may use threads; the Shapley rows CPU time)."""
    wall, cpu, out = np.inf, np.inf, None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu, out


def random_markov_game(S: int, A: int, B: int, nnz: int | None, seed: int):
    """Dense Dirichlet(1) rows, or ``nnz`` random successors per row in CSR form."""
    import scipy.sparse as sp

    from theory_rl.games import MarkovGame

    rng = np.random.default_rng(seed)
    R = rng.standard_normal((S, A, B))
    if nnz is None:
        return MarkovGame.zero_sum(rng.dirichlet(np.ones(S), size=(S, A, B)), R, 0.9)
    rows = S * A * B
    cols = np.sort(np.argsort(rng.random((rows, S)), axis=1)[:, :nnz], axis=1) if S <= 2000 else \
        np.sort(rng.choice(S, size=(rows, nnz)), axis=1)
    P = sp.csr_matrix((rng.dirichlet(np.ones(nnz), size=rows).ravel(), cols.ravel(),
                       np.arange(0, rows * nnz + 1, nnz)), shape=(rows, S))
    return MarkovGame.zero_sum(P, R, 0.9)


def shapley_rows(cases: list[tuple[int, int, int, int | None]], seed: int) -> list[dict]:
    """Shapley VI (tol 1e-8, gamma 0.9) against one backup ``R + gamma P v`` (the tabular backup over
    all state-action profiles): time per sweep (warm-started stage solves plus the backup) over the
    time of the backup alone, in process CPU time (single-threaded; best of 3 solves and of 20 backups)."""
    from theory_rl.games import shapley_value_iteration

    rows = []
    for S, A, B, nnz in cases:
        shapley_value_iteration(random_markov_game(4, A, B, None, seed))  # compile the kernels outside the timing
        g = random_markov_game(S, A, B, nnz, seed + S)
        v = np.random.default_rng(seed).standard_normal(S)
        w_backup, t_backup, _ = best_time(lambda: g.q(v), 20)  # noqa: B023
        w_solve, t_solve, sol = best_time(lambda: shapley_value_iteration(g, tol=1e-8), 3)  # noqa: B023
        sweeps = sol.n_iter + 1  # the final stage solve at the returned v
        kernel = "dense" if nnz is None else f"{nnz} per row"
        rows.append({"kind": "shapley", "S": S, "A": A, "B": B, "kernel": kernel, "backup_s": t_backup,
                     "solve_s": t_solve, "backup_wall_s": w_backup, "solve_wall_s": w_solve, "clock": "process CPU",
                     "sweeps": sweeps, "sweep_over_backup": t_solve / sweeps / t_backup, "bound": sol.bound})
        print(f"shapley S={S} A={A} B={B} P {kernel}: {t_solve:.3f} CPU s for {sweeps} sweeps, one backup "
              f"{t_backup:.4f} CPU s, sweep/backup = {t_solve / sweeps / t_backup:.1f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 50, 100, 500])
    parser.add_argument("--kinds", nargs="+", default=["zero_sum", "minimax_winner"],
                        choices=["zero_sum", "minimax_winner"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=RESULTS)
    parser.add_argument("--open-spiel-max", type=int, default=1000,
                        help="largest n at which OpenSpiel runs (0: never)")
    parser.add_argument("--shapley", action="store_true",
                        help="also time Shapley VI per sweep against one backup")
    args = parser.parse_args()

    zero_sum_lp([[1.0, -1.0], [-1.0, 1.0]])  # first HiGHS call (library load) outside the timings
    rows = {}
    if os.path.exists(args.output):
        with open(args.output) as fh:
            rows = {(r["kind"], r["n"]): r for r in json.load(fh).get("rows", [])}
    print(f"{'kind':>15} {'n':>5} {'ours s':>10} {'nashpy s':>10} {'OpenSpiel s':>11} {'ours/fastest':>12} {'|dv|':>9}")
    for n in args.sizes:
        repeats = 1 if n >= 500 else args.repeats
        for kind in args.kinds:
            X = instance(kind, n, args.seed + n)
            t_ours, _, v_ours = best_time(lambda: ours(kind, X), repeats)  # noqa: B023
            t_peer, _, v_peer = best_time(lambda: peer(kind, X), repeats)  # noqa: B023
            diff = abs(v_ours - v_peer)
            t_os, _, v_os = (best_time(lambda: open_spiel_peer(kind, X), repeats)  # noqa: B023
                             if n <= args.open_spiel_max else (None, None, None))
            fastest = t_peer if t_os is None else min(t_peer, t_os)
            row = {"kind": kind, "n": n, "ours_s": t_ours, "peer_s": t_peer, "ratio": t_ours / t_peer,
                   "value_ours": v_ours, "value_peer": v_peer, "abs_diff": diff, "agree_1e-8": diff <= 1e-8,
                   "open_spiel_s": t_os, "value_open_spiel": v_os,
                   "abs_diff_open_spiel": None if v_os is None else abs(v_ours - v_os),
                   "ratio_fastest": t_ours / fastest, "repeats": repeats}
            rows[(kind, n)] = row
            os_s = "-" if t_os is None else f"{t_os:.4f}"
            print(f"{kind:>15} {n:>5} {t_ours:>10.4f} {t_peer:>10.4f} {os_s:>11} {t_ours / fastest:>12.3f} {diff:>9.1e}")
    cases = [(2000, 2, 2, None), (2000, 5, 5, None), (10_000, 2, 2, 10), (10_000, 5, 5, 10)]
    shapley = shapley_rows(cases, args.seed) if args.shapley else None
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    if shapley is None and os.path.exists(args.output):
        with open(args.output) as fh:
            shapley = json.load(fh).get("shapley")
    with open(args.output, "w") as fh:
        json.dump({"peer": "nashpy.Game.linear_program",
                   "peer2": "open_spiel.python.algorithms.lp_solver.solve_zero_sum_matrix_game (cvxpy, ECOS)", "machine": platform.platform(),
                   "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "command": "python bench/games.py --sizes ...",
                   "rows": sorted(rows.values(), key=lambda r: (r["kind"], r["n"])), "shapley": shapley}, fh, indent=1)


if __name__ == "__main__":
    main()
