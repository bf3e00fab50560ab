"""``make demo`` section: a small seeded sweep, its fitted slope, and the theorem's exponent."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["run_demo"]


def run_demo(section: Callable[[str], None]) -> None:
    from ..experiments import Sweep, compare_rate, fit_rate
    from ..experiments.tasks import plug_in_error
    from ..theory import plug_in_error as plug_in_bound

    section("Does plug-in planning's error decay like n^(-1/2)? (Agarwal, Kakade & Yang 2020, Thm 1)")
    grid = {"env": ["river_swim"], "gamma": [0.9], "n": [10, 30, 100, 300, 1000, 3000]}
    df = Sweep(plug_in_error, grid, 8, backend="serial", progress=False).run()
    fit = fit_rate(df, "n", "error")
    print(f"{len(df)} seeded tasks (RiverSwim(6), gamma = 0.9; seeds from a hash of the parameters)")
    print(f"{'n per pair':>11} {'mean ||Q_hat - Q*||':>20}")
    for n, err in df.groupby("n")["error"].mean().items():
        print(f"{n:>11} {err:>20.4f}")
    theory_n = plug_in_bound(6, 2, 0.9, 100, 0.1).exponents["n"]
    print(f"measured slope {fit.slope:.3f}, 95% bootstrap CI [{fit.ci_low:.3f}, {fit.ci_high:.3f}]; theorem {theory_n}: "
          f"{compare_rate(fit, theory_n).verdict}")
    dg = Sweep(plug_in_error, {"env": ["hard"], "gamma": [0.5, 0.7, 0.8, 0.9, 0.95], "n": [1000]}, 8,
               backend="serial", progress=False).run()
    fit_g = fit_rate(dg, "one_minus_gamma", "error")
    print(f"in 1-gamma on the lower-bound instance (Azar, Munos & Kappen 2013): slope {fit_g.slope:.2f} "
          f"[{fit_g.ci_low:.2f}, {fit_g.ci_high:.2f}], theorem -1.5: {compare_rate(fit_g, -1.5).verdict}")
    print("(bench/sample_complexity.py runs the full reproductions; `theory-rl sweep SPEC.toml` runs your own)")
