"""The width separation between Bellman completeness and RCSL (issue 21), measured.

On ``theory_rl.offline.width_separation_mdp(n)`` for n = 8 .. 128: the width of a two-layer ReLU
network needed for the Bellman image of a width-1 class member (exact lower bound: local extrema;
fitted network: evenly spaced knots, least-squares output layer) versus the width RCSL's
return-conditioned policy needs (trained classifier, zero error). Log-log slopes fitted by least
squares. One seed per n; budget well under 10 minutes on one core (about 20 s measured).

    OMP_NUM_THREADS=1 .venv/bin/python bench/width_separation.py   # writes bench/results/width_separation.json
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from theory_rl import __version__
from theory_rl.offline import width_separation


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    t0 = time.perf_counter()
    for n in (8, 16, 32, 64, 128):
        r = width_separation(n, seed=0, device="cpu")
        rows.append({"n_states": n, "bellman_lower": r.bellman_lower, "bellman_width": r.bellman_width,
                     "bellman_upper": r.bellman_upper, "rcsl_width": r.rcsl_width, "tol": r.tol,
                     "seconds": round(r.elapsed, 3)})
        print(rows[-1])
    ns = np.log([r["n_states"] for r in rows])
    slopes = {key: float(np.polyfit(ns, np.log([r[key] for r in rows]), 1)[0])
              for key in ("bellman_lower", "bellman_width", "rcsl_width")}
    print("log-log slopes:", slopes)
    out = Path(__file__).resolve().parent / "results" / "width_separation.json"
    out.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.platform(), "python": platform.python_version(), "theory_rl": __version__,
        "command": "OMP_NUM_THREADS=1 .venv/bin/python bench/width_separation.py",
        "total_seconds": round(time.perf_counter() - t0, 1), "rows": rows, "loglog_slopes": slopes,
    }, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
