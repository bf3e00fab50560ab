"""QARL's temperature curricula on random tabular soft games: final exploitability of the
protagonist after the same number of learning iterations under each teacher.

Run from the repository root::

    .venv/bin/python bench/qarl.py              # 20 random games, about 2-3 minutes on one core
    .venv/bin/python bench/qarl.py --games 5    # a quicker look

For each game (S=5, A=3, B=3, gamma=0.9, Dirichlet(0.3) transitions, uniform rewards) the
Shapley/Nash value comes from :func:`theory_rl.robust.nash_value_iteration`; the exploitability
is ``V_Nash(d0) - min_psi V^{pi, psi}(d0)`` of the final protagonist (``QarlTrainingResult``).
Teachers: a fixed temperature at the target (no curriculum), the code's linear schedule, and the
two self-paced teachers of the paper's code (Reddi et al., ICLR 2024, arXiv 2311.01642).
Results go to bench/results/qarl.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from _common import with_provenance  # noqa: E402  (bench/ is sys.path[0] when a script runs)

from theory_rl.games import MarkovGame
from theory_rl.robust import (
    GammaTemperatureTeacher,
    LinearTemperatureSchedule,
    PointTemperatureTeacher,
    nash_value_iteration,
    qarl_train,
)

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "qarl.json")


def random_game(seed: int) -> MarkovGame:
    """The benchmark's random game: ``P[s, a, b, s'] ~ Dirichlet(0.3)``, ``r[s, a, b] ~ U(0, 1)``."""
    rng = np.random.default_rng(seed)
    return MarkovGame.zero_sum(rng.dirichlet(np.full(5, 0.3), size=(5, 3, 3)), rng.uniform(size=(5, 3, 3)), 0.9)


def teachers(nash: float) -> dict[str, object]:
    """The four temperature paths compared, with the performance bound ``V_Nash - 0.05``."""
    return {
        "fixed": LinearTemperatureSchedule(0.001, 0.001),
        "linear": LinearTemperatureSchedule(),
        "gamma": GammaTemperatureTeacher(initial_concentration=50, target_concentration=1, rate=1000, max_kl=0.5,
                                         performance_lower_bound=nash - 0.05, concentration_lower_bound=0.5),
        "point": PointTemperatureTeacher(0.05, 0.001, max_mse=0.003**2, performance_lower_bound=nash - 0.05),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--output", default=RESULTS)
    args = parser.parse_args()
    rows = []
    start = time.perf_counter()
    for seed in range(1000, 1000 + args.games):
        game = random_game(seed)
        nash = float(nash_value_iteration(game, tol=1e-10).v.mean())
        row: dict[str, object] = {"seed": seed, "nash": nash}
        for name, teacher in teachers(nash).items():
            res = qarl_train(game, teacher, alpha=0.01, max_iter=args.iterations)
            row[name] = float(res.exploitability[-1])
        rows.append(row)
        print(seed, {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    names = ["fixed", "linear", "gamma", "point"]
    table = {name: float(np.median([r[name] for r in rows])) for name in names}
    wins = {f"{a}<={b}": int(sum(r[a] <= r[b] for r in rows)) for a in ("gamma", "point", "linear")
            for b in ("linear", "fixed") if a != b}
    print("median final exploitability:", {k: round(v, 4) for k, v in table.items()})
    print("games where the first ends no worse than the second:", wins, f"of {len(rows)}")
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(with_provenance({"games": rows, "median_exploitability": table, "no_worse_counts": wins,
                   "iterations": args.iterations, "alpha": 0.01, "seconds": time.perf_counter() - start}), f, indent=1)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
