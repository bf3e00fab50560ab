"""First-call latency per family, in a fresh process: with a cold numba cache and with a warm one.

Each family's call runs in a new Python process (``python bench/first_call.py --one FAMILY``)
with ``NUMBA_CACHE_DIR`` pointed at a fresh folder (cold: every numba kernel is compiled) and
then again at the same folder (warm: the kernels are loaded from numba's on-disk cache). Each
child reports the import time of the family, the wall time of the first call, the solver's own
``elapsed`` (its clock, which must not contain the compilation) and the time of an identical
second call in the same process (hot).

    PYTHONPATH=. .venv/bin/python bench/first_call.py            # writes bench/results/first_call.json
    PYTHONPATH=. .venv/bin/python bench/first_call.py --families pomdp_hsvi2 tabular

Targets (issue 19): under 2 s with a cold cache, under 0.2 s with a warm one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: family -> (import statement, setup, the call); the call's result is ``res``
FAMILIES: dict[str, tuple[str, str, str]] = {
    "tabular": ("from theory_rl import envs, tabular", "m = envs.gridworld(10, 10, gamma=0.95)",
                "res = tabular.value_iteration(m, tol=1e-6)"),
    "pomdp_hsvi2": ("from theory_rl import envs, pomdp", "m = envs.tiger()",
                    "res = pomdp.hsvi2(m, tol=1e-3, time_limit=10)"),
    "pomdp_sarsop": ("from theory_rl import envs, pomdp", "m = envs.tiger()",
                     "res = pomdp.sarsop(m, tol=1e-3, time_limit=10)"),
    "pomdp_pbvi": ("from theory_rl import envs, pomdp", "m = envs.tiger()",
                   "res = pomdp.pbvi(m, n_expansions=2, max_iter=20, seed=0)"),
    "pomdp_pomcp": ("from theory_rl import envs, pomdp", "m = envs.tiger()",
                    "res = pomdp.pomcp_plan(m, n_simulations=200, n_particles=200, seed=0)"),
    "robust": ("from theory_rl import envs, robust", "m = envs.windy_walk(n_rows=3, n_cols=4)",
               "res = robust.robust_value_iteration(m, tol=1e-6)"),
    "learning": ("from theory_rl import envs, learning", "m = envs.random_mdp(5, 2, seed=0, gamma=0.9)",
                 "res = learning.ucbvi(m, horizon=3, n_episodes=50, seed=0)"),
    "games": ("import numpy as np\nfrom theory_rl import games", "A = np.array([[0.0, 1.0, -1.0], [-1.0, 0.0, 1.0], [1.0, -1.0, 0.0]])",
              "res = games.zero_sum_lp(A)"),
}

CHILD = """
import time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
{imports}
t1 = time.perf_counter()
{setup}
t2 = time.perf_counter()
{call}
t3 = time.perf_counter()
first_elapsed = float(getattr(res, "elapsed", float("nan")))
converged = getattr(res, "converged", None)
{call}
t4 = time.perf_counter()
import json
print("RESULT " + json.dumps({{"import_s": t1 - t0, "setup_s": t2 - t1, "first_call_s": t3 - t2,
    "first_call_elapsed_s": first_elapsed, "second_call_s": t4 - t3,
    "converged": None if converged is None else bool(converged)}}))
"""


def run_one(family: str, cache_dir: str) -> dict:
    imports, setup, call = FAMILIES[family]
    code = CHILD.format(imports=imports, setup=setup, call=call)
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
    wall = time.perf_counter() - start
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"{family}: child failed ({out.returncode}):\n{out.stderr[-2000:]}")
    doc = json.loads(line[len("RESULT "):])
    doc["process_s"] = wall
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", nargs="*", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "first_call.json"))
    args = parser.parse_args()
    rows = []
    for family in args.families:
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
            cold = run_one(family, cache)
            warm = run_one(family, cache)
        rows.append({"family": family, "call": FAMILIES[family][2].removeprefix("res = "), "cold": cold, "warm": warm})
        print(f"{family:>13}  cold: import {cold['import_s']:.2f} s, first call {cold['first_call_s']:.2f} s "
              f"(solver clock {cold['first_call_elapsed_s']:.3f} s), second {cold['second_call_s']:.3f} s | "
              f"warm: import {warm['import_s']:.2f} s, first call {warm['first_call_s']:.2f} s, "
              f"second {warm['second_call_s']:.3f} s", flush=True)
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "load_average": load},
        "python": sys.version.split()[0],
        "command": "PYTHONPATH=. python bench/first_call.py " + " ".join(sys.argv[1:]),
        "targets": {"cold_s": 2.0, "warm_s": 0.2},
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
