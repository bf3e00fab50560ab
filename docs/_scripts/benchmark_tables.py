"""Render the benchmarks page (``docs/benchmarks.md``) from ``bench/results/*.json``.

Run at every documentation build (``docs/conf.py``) and by hand::

    python docs/_scripts/benchmark_tables.py            # writes docs/benchmarks.md
    python docs/_scripts/benchmark_tables.py --check    # exit 1 if docs/benchmarks.md is stale

Every number on the page is read from a results file written by a script in ``bench/``; each
section names the file, the date it was recorded, the machine and the command. The README's table
of headline ratios is rendered by :func:`headline_table` from the same files, and
``tests/test_benchmark_tables.py`` checks that the README holds it verbatim.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from statistics import fmean
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
PAGE = ROOT / "docs" / "benchmarks.md"


def load(name: str) -> dict[str, Any]:
    return json.loads((RESULTS / f"{name}.json").read_text())


def machine(data: dict[str, Any]) -> str:
    m = data.get("machine") or data.get("meta", {}).get("machine")
    if m is None:
        return "not recorded"
    if isinstance(m, str):
        return m
    if "cpu" in m:
        return f"{m['cpu']}, {m['cores']} cores, {m['memory_GiB']} GiB"
    parts = [m.get("platform", ""), f"{m.get('cpus') or m.get('cpu_count') or m.get('cores')} CPUs"]
    if m.get("torch"):
        parts.append(f"torch {m['torch']}")
    return ", ".join(p for p in parts if p)


def provenance(name: str) -> str:
    data = load(name)
    return (f"Data: `bench/results/{name}.json`, recorded {data['date']} on {machine(data)}; "
            f"command: `{data['command']}`.")


def table(header: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    align = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def span(values: list[float], fmt: str = "{:.1f}") -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}-{fmt.format(hi)}"


# --------------------------------------------------------------------------- sections
def tabular_section() -> str:
    data = load("tabular")
    rows, backups = [], []
    for inst in data["instances"].values():
        for gamma, g in inst["gammas"].items():
            runs = {f"{r['library']} {r['solver']}": r for r in g["runs"]}
            best = g["ratios"]["best_ours_vs_fastest_peer_end_to_end"]
            ours, peer = runs[best["ours"]], runs[best["peer"]]
            vi, mpi = g["ratios"]["our_VI_vs_mdpsolver_VI"], g["ratios"]["our_MPI_vs_quantecon_MPI"]
            rows.append([inst["label"], gamma, f"{ours['solver']} {ours['total_s']:.3f} s",
                         f"{peer['library']} {peer['solver']} {peer['total_s']:.3f} s", f"**{best['ratio']:.2f}**",
                         f"{vi['end_to_end']:.2f}, {vi['solve_only']:.2f}", f"{mpi['end_to_end']:.2f}, {mpi['solve_only']:.2f}"])
        b = inst["backup"]
        backups.append([inst["label"], f"{b['ours']['time_ms']:.2f} ms", f"{b['ours']['floor_ms']:.2f} ms",
                        f"**{b['ours']['ratio']:.2f}x**", f"{b['baseline']['ratio']:.2f}x ({b['baseline_label']})"])
    return "\n\n".join([
        "## Finite MDPs (`bench/tabular.py`)",
        "The same instances solved by theory_rl and by its peers (QuantEcon, mdpsolver, pymdptoolbox) "
        f"in one process, every answer checked against an exact reference; `tol = {data['tol']}`; end to end "
        "= model set-up (our validation included) + solve; each timing the best of up to 3.",
        provenance("tabular"),
        table(["instance", "gamma", "ours (best)", "fastest peer", "ours / peer",
               "our VI / mdpsolver VI (e2e, solve)", "our MPI / QuantEcon MPI (e2e, solve)"], rows, "llllrll"),
        "One Bellman backup against the memory-bandwidth floor (bytes of `P` read / measured bandwidth, "
        f"median {data['bandwidth']['median_GBps']:.1f} GB/s):",
        table(["instance", "ours", "floor", "ours / floor", "peer kernel / floor"], backups, "lrrrl"),
    ])


def pomdp_section() -> str:
    data = load("pomdp")
    rows = []
    for r in sorted(data["hsvi2"], key=lambda r: (r["kind"] != "solve", r["S"])):
        if r["kind"] == "solve":
            versus = f"{r['cpu_ratio']:.2g}x CPU time"
        else:
            versus = f"lower bound {100 * r['lower_vs_sarsop']:+.1f}%"
        rows.append([r["file"], f"{r['S']}/{r['A']}/{r['O']}", f"[{r['lower']:.6g}, {r['upper']:.6g}]",
                     f"{r['cpu_s']:.2g}" if r["cpu_s"] < 10 else f"{r['cpu_s']:.0f}",
                     f"[{r['sarsop_lower']:g}, {r['sarsop_upper']:g}]", f"{r['sarsop_cpu_s']:g}", versus,
                     "met" if r["target_met"] else "missed"])
    pomcp = data["pomcp"]
    tiger = data["tiger_pomdp_py"]
    psr, umt = load("psr"), load("psr_umt")
    umt_rows = [[s["N"], s["class_size"], f"{s['multi']:.1f}", f"{s['indep']:.1f}", f"{s['kept']:.2f}"]
                for s in umt["summary"]]
    return "\n\n".join([
        "## POMDPs (`bench/pomdp.py`, `bench/psr.py`, `bench/umt_psr.py`)",
        "Certified anytime bounds (`pomdp.hsvi2`) against SARSOP's published intervals and CPU times; every "
        "solve has a CPU-time budget (`clock=\"cpu\"`, one numba and BLAS thread). Targets: gap <= 1e-3 within "
        "10x SARSOP's CPU time on the small files; on the hard files an interval containing V* whose lower "
        "bound after the budget is within 2% of SARSOP's.",
        provenance("pomdp"),
        table(["file", "S/A/O", "ours [lower, upper]", "our CPU s", "SARSOP [lower, upper]", "SARSOP CPU s",
               "vs SARSOP", "target"], rows, "lllrlrrl"),
        f"POMCP on RockSample(4,4) at {pomcp['n_simulations']} simulations: {1e3 * pomcp['ours_cpu_s_per_step']:.1f} "
        f"ms per step against pomdp_py's {1e3 * pomcp['pomdp_py_cpu_s_per_step']:.0f} ms ({pomcp['speedup']:.0f}x). "
        f"pomdp_py's exact belief-tree value on Tiger agrees with ours for h = 1..{len(tiger)}: "
        f"{all(t['agree'] for t in tiger)}.",
        provenance("psr"),
        f"Spectral PSR learning: the TV error falls as n^{psr['slope_spectral']:.2f} (theory -1/2; the empirical "
        f"frequencies: n^{psr['slope_empirical']:.2f}).",
        provenance("psr_umt"),
        f"UMT-PSR, episodes per task to an {umt['epsilon']}-optimal average policy (mean over the seeds; "
        "the shared transition kernel is the expensive part, so multi-task learning should fall with N):",
        table(["tasks N", "joint class size", "multi-task episodes / task", "independent episodes / task",
               "truth kept in the confidence set"], umt_rows, "rrrrr"),
    ])


def robust_section() -> str:
    data = load("robust")
    by_instance: dict[str, list[dict[str, Any]]] = {}
    for r in data["results"]:
        by_instance.setdefault(r["instance"], []).append(r)
    rows = []
    for name, rs in by_instance.items():
        def kappas(key: str, rs: list[dict[str, Any]] = rs) -> str:
            if key not in rs[0]:
                return "dense copy" if key.startswith("s-") else "—"
            return " / ".join(f"{r[key]:.1f}" for r in rs) + "x"

        kl_vi = span([r["sa-KL_vi_vs_nominal"] for r in rs]) if "sa-KL_vi_vs_nominal" in rs[0] else "—"
        kl_cold = span([r["sa-KL_cold_vs_nominal"] for r in rs])
        lp = (span([r["sa-L1_linprog_over_ours"] for r in rs], "{:.1e}") if "sa-L1_linprog_over_ours" in rs[0]
              else "—")
        rows.append([name, f"{1e3 * rs[0]['nominal_backup_s']:.3f} ms", kappas("sa-L1_vs_nominal"),
                     kappas("sa-Linf_vs_nominal"), kappas("sa-KL_vs_nominal"), kappas("s-L1_vs_nominal"),
                     f"{kl_vi}x / {kl_cold}x", lp])
    qarl = load("qarl")
    med, counts = qarl["median_exploitability"], qarl["no_worse_counts"]
    n_games = len(qarl["games"])
    return "\n\n".join([
        "## Robust MDPs (`bench/robust.py`, `bench/qarl.py`)",
        f"One robust backup divided by one nominal backup of `theory_rl.tabular` on the same model (gamma "
        f"{data['gamma']}, one numba thread), for the radii kappa = {' / '.join(str(k) for k in data['kappas'])} "
        "(L∞ radius kappa/4, KL radius kappa); steady vectors (value iteration near convergence), then "
        "value iteration's first backups and unrelated (cold) vectors; last column: one HiGHS `linprog` per "
        "inner problem divided by ours (L1). Targets: sa-L1/L∞ within 3x, s-rectangular L1 within 5x, KL "
        "within 10x.",
        provenance("robust"),
        table(["instance", "nominal backup", "sa-L1", "sa-L∞", "sa-KL", "s-rect L1",
               "sa-KL first VI backups / cold", "linprog / ours"], rows, "lrllllll"),
        provenance("qarl"),
        f"QARL's temperature curriculum on {n_games} random soft Markov games ({qarl['iterations']} iterations, "
        f"alpha = {qarl['alpha']}), median final exploitability:",
        table(["fixed target temperature", "linear schedule", "self-paced Gamma", "self-paced point"],
              [[f"{med['fixed']:.3f}", f"{med['linear']:.3f}", f"{med['gamma']:.3f}", f"{med['point']:.3f}"]], "rrrr"),
        f"Self-paced Gamma ends no worse than the linear schedule on {counts['gamma<=linear']} of {n_games} games "
        f"and no worse than no curriculum on {counts['gamma<=fixed']}.",
    ])


def combinatorial_section() -> str:
    mip = load("mip_speed")
    keys = ["ours_highspy", "ours_highspy_presolve", "ours_highspy_default_options", "ours_pyomo_highs", "omlt",
            "omlt_our_highs_options"]
    rows = [[r["J"], f"{len(r['hidden'])}x{r['hidden'][0]}"]
            + [f"{r['median_cpu_s'][k]:.3f}" for k in keys] + [f"{r['omlt_over_ours_cpu']:.1f}x"] for r in mip["rows"]]
    seq = load("sequoia")
    methods = ["null", "random", "sampling", "myopic", "iterative_myopic", "iterative_dqn", "sequoia"]
    seq_rows = []
    for name, s in seq["summary"].items():
        cells = [f"{s['methods'][m]['mean']:.2f} ± {s['methods'][m]['se_over_seeds']:.2f}" if m in s["methods"]
                 else "n/a" for m in methods]
        seq_rows.append([name, len(s["seeds"]), *cells, f"{100 * s['improvement']:+.1f}% ({s['best_baseline']})",
                         f"{100 * s['improvement_over_it']:+.0f}% ({s['best_baseline_without_learned_q']})",
                         f"{s['mean_run_cpu_s']:.0f}"])
    return "\n\n".join([
        "## SEQUOIA (`bench/mip_speed.py`, `bench/sequoia.py`)",
        "One exact action selection `max_{a feasible} Q(s, a)` (budget domain, B = 20, median CPU seconds over "
        "the states); every answer agrees (our model through highspy with three option sets and through Pyomo, "
        "OMLT's model with two option sets). Targets: < 0.1 s per selection at J = 100 on 2x32 and >= 5x "
        "faster than OMLT.",
        provenance("mip_speed"),
        table(["J", "net", "ours, highspy", "ours, presolve on", "ours, HiGHS defaults", "our model via Pyomo",
               "OMLT", "OMLT with our options", "OMLT / ours"], rows, "rlrrrrrrr"),
        f"The paper's protocol ({seq['runs_finished']} of {seq['runs_planned']} runs): mean expected per-step "
        "reward over H = 20, mean ± s.e. over the seeds. Average improvement of SEQUOIA over the best baseline: "
        f"{100 * seq['average_improvement_over_best_baseline']:+.1f}% (the paper reports +24.8%).",
        provenance("sequoia"),
        table(["domain, (J, B)", "seeds", *methods, "SEQUOIA vs best baseline",
               "vs best baseline without the learned Q", "run CPU s"], seq_rows, "lr" + "l" * 9 + "r"),
    ])


def dual_section() -> str:
    data = load("offline")
    methods = [("bc", "BC"), ("fdvl-chi2", "f-DVL χ² (AWR)"), ("fdvl-chi2-greedy", "f-DVL χ² greedy"),
               ("fdvl-tv", "f-DVL TV"), ("fdvl-gumbel", "f-DVL Gumbel"), ("recoil", "ReCOIL (no rewards)")]
    rows = []
    for r in data["rows"]:
        cells = []
        for key, _ in methods:
            cell = f"{r[key]:.1f} ± {r[key + '_se']:.1f}"
            if r[key + "_runs"] != r["seeds"]:
                cell += f" ({r[key + '_runs']} seeds)"
            cells.append(cell)
        rows.append([r["instance"], r["episodes"], r["expert_fraction"], *cells])
    cmdp = load("cmdp")
    best = cmdp["tscac_best"]
    return "\n\n".join([
        "## Dual RL and constrained MDPs (`bench/offline.py`, `bench/cmdp.py`)",
        f"Offline datasets generated from tabular MDPs ({data['meta']['dataset']}); score "
        f"{data['meta']['metric']}; mean ± s.e. over the seeds (a cell marked with its seed count averages "
        "fewer: ReCOIL needs a dataset with at least one expert episode).",
        provenance("offline"),
        table(["instance", "episodes", "expert fraction", *[m for _, m in methods]], rows, "lrr" + "r" * len(methods)),
        provenance("cmdp"),
        f"On `{cmdp['instance']}`: Altman's LP, watch time J1 = {cmdp['lp']['objective']:.3f}; Lagrangian "
        f"primal-dual ({cmdp['primal_dual']['max_iter']} exact best responses) J1 = "
        f"{cmdp['primal_dual']['objective']:.3f}, certified violation <= "
        f"{max(cmdp['primal_dual']['violation_bound']):.3g}; TSCAC over the "
        f"{len(cmdp['tscac_grid'])}-point grid of stage-two multipliers, best feasible lambda = {best['lambda']}: "
        f"J1 = {best['main_return']:.3f}, {100 * best['fraction_of_lp']:.0f}% of the LP optimum "
        f"({sum(g['feasible'] for g in cmdp['tscac_grid'])} of {len(cmdp['tscac_grid'])} grid points feasible).",
    ])


def sample_complexity_section() -> str:
    data = load("sample_complexity")
    rows = [[r["experiment"], f"{r['measured']:.3f}", f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]", f"{r['theory']:g}",
             r["verdict"]] for r in data["rows"]]
    big = data["big_sweep"]
    return "\n\n".join([
        "## Sample-complexity claims (`bench/sample_complexity.py`)",
        "Log-log slopes of the error (or regret) against the quantity each theorem bounds, with 95% bootstrap "
        "intervals, against the theorem's exponent.",
        provenance("sample_complexity"),
        table(["experiment", "measured slope", "95% CI", "theorem", "verdict"], rows, "lrlrl"),
        "![plug-in](../bench/figures/sample_complexity_1_plug_in.png)",
        "![Q-learning vs VR-QL](../bench/figures/sample_complexity_2_q_learning.png)",
        "![regret](../bench/figures/sample_complexity_3_regret.png)",
        f"The {big['tasks']}-task resumable sweep: killed after {big['killed_after_s']} s "
        f"({big['finished_before_kill']} tasks finished), resumed and finished in {big['resume_s']} s more; "
        f"{big['records_in_store']} records, {big['unique_tasks_in_store']} distinct tasks.",
    ])


def approx_section() -> str:
    cpu, gpu = load("approx"), load("approx_gpu")

    def throughput_rows(data: dict[str, Any]) -> list[list[Any]]:
        rows = []
        for r in data["throughput"]:
            layout = f"sparse K={r['K']}" if r.get("layout") == "sparse" else "dense"
            rate = f"{r['batched_mdps_per_s']:.0f}"
            loop = f"{r['numpy_mdps_per_s']:.0f}" if "numpy_mdps_per_s" in r else f"{r['numpy_loop_seconds']:.2f} s per batch"
            frac = f"{100 * r['fraction_of_read_bandwidth']:.0f}%" if "fraction_of_read_bandwidth" in r else "n/a"
            diff = f"{r['max_abs_diff_vs_numpy']:.0e}"
            rows.append([r["B"], r["S"], r["A"], layout, r["dtype"], rate, loop,
                         f"**{r['speedup_vs_numpy_loop']:.2f}**", frac, diff])
        return rows

    header = ["B", "S", "A", "layout", "dtype", "batched MDPs/s", "numpy-loop MDPs/s", "speed-up",
              "% of read bandwidth", "max abs diff"]
    learners: dict[str, list[float]] = {}
    for r in cpu["tabular"]:
        if "ratio" in r:
            learners.setdefault(r["method"], []).append(r["ratio"])
    learner_rows = [[m, span([100 * x for x in v], "{:.1f}") + "%"] for m, v in learners.items()]
    iwocs = [[r["env"], r["seed"], f"{r['worst_nominal']:.1f}", f"{r['worst_iwocs']:.1f}"] for r in cpu["iwocs"]]
    return "\n\n".join([
        "## Function approximation (`bench/approx.py`)",
        "Batched value iteration in torch against the numpy solver looping over the batch (one numba thread); "
        "the answers agree to the last column.",
        provenance("approx"),
        table(header, throughput_rows(cpu), "rrrllrrrrr"),
        "On a GPU:",
        provenance("approx_gpu"),
        table(header, throughput_rows(gpu), "rrrllrrrrr"),
        "Neural learners on tabular MDPs, fraction of V*(d0) reached (range over the models):",
        table(["learner", "fraction of V*(d0)"], learner_rows, "lr"),
        "Deep IWOCS: worst case over the parameter grid of the nominal policy and of the IWOCS policy:",
        table(["environment", "seed", "nominal worst case", "IWOCS worst case"], iwocs, "lrrr"),
        "![CartPole learning curves](../bench/figures/approx_cartpole.png)",
        "![Deep IWOCS](../bench/figures/approx_iwocs.png)",
    ])


def certificates_section() -> str:
    rows = []
    for name, what in (("certificates", "tabular solvers"), ("pomdp_certificates", "POMDP bounds")):
        d = load(name)["summary"]
        ratio = d.get("ratio_median_converged", d.get("allowance_over_raw_error_median"))
        rows.append([what, f"`bench/{name}.py`", d["runs"], d["instances"], d["violations"], d["converged"],
                     d["not_converged"], f"{ratio:.3g}"])
    return "\n\n".join([
        "## Certificates against exact rationals (`bench/certificates.py`, `bench/pomdp_certificates.py`)",
        "Every solver on edge instances (gamma near 0 and 1, rewards up to 1e12, near-deterministic models) "
        "against the exact value computed with Python's `fractions`; a violation is a certificate smaller than "
        "the true error. The last column is the median of certified bound / true error over converged runs "
        "(for the POMDP study: the rounding allowance over the raw error).",
        provenance("certificates"), provenance("pomdp_certificates"),
        table(["solvers", "script", "runs", "instances", "violations", "converged", "refused (not converged)",
               "median bound / error"], rows, "llrrrrrr"),
    ])


def games_section() -> str:
    data = load("games")

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    rows = [[r["kind"], r["n"], f"{r['ours_s']:.4f}", f"{r['peer_s']:.4f}", seconds(r.get("open_spiel_s")),
             f"{r.get('ratio_fastest', r['ratio']):.2f}", f"{r['abs_diff']:.1e}"] for r in data["rows"]]
    shapley = [[s["S"], f"{s['A']}x{s['B']}", s["kernel"], f"{s['backup_s']:.4f}", f"{s['solve_s']:.3f}",
                s["sweeps"], f"{s['sweep_over_backup']:.2f}"] for s in data["shapley"]]
    return "\n\n".join([
        "## Games (`bench/games.py`)",
        f"Zero-sum matrix games and minimax winners by LP (HiGHS called directly) against "
        f"`{data['peer']}` and `{data.get('peer2', 'OpenSpiel')}` on the same games; ratio = ours / the faster "
        "peer (target at n >= 500: at most 0.2); the value difference is against nashpy (OpenSpiel's is in the "
        "results file).",
        provenance("games"),
        table(["problem", "n", "ours s", "nashpy s", "OpenSpiel s", "ours / fastest", "value difference"], rows,
              "lrrrrrr"),
        "Shapley value iteration: the solver's time per sweep against one Bellman backup of the same size, in process CPU time (target: within 2x).",
        table(["S", "actions", "kernel", "one backup s", "solve s", "sweeps", "sweep / backup"], shapley, "rllrrrr"),
    ])


def spo_section() -> str:
    data = load("spo")
    inst = data["instance"]
    rows = [[r["preferences"], r["method"], r["queries"], r["n_seeds"],
             f"{r['exploitability_mean']:.3f} [{r['exploitability_ci95'][0]:.3f}, {r['exploitability_ci95'][1]:.3f}]",
             f"{r['last_iterate_exploitability_mean']:.3f}", r["minimax_winner_support"]] for r in data["rows"]]
    return "\n\n".join([
        "## SPO against reward-model RLHF (`bench/spo.py`)",
        f"Exploitability `max_pi Pr(pi beats p) - 1/2` (0 at the minimax winner, 1/2 for a policy some trajectory "
        f"always beats), computed exactly over the {inst['n_trajectories']} trajectories of `{inst['mdp']}`, after "
        f"the same number of preference queries. SPO: batches of {inst['batch_size']} "
        f"({inst['queries_per_spo_iteration']} queries per iteration), the average trajectory distribution (the "
        "quantity the self-play theorem bounds) and the last iterate; the reward model: its one deterministic "
        "policy. Mean over seeds with a 95% Student-t interval clipped to [0, 1/2].",
        provenance("spo"),
        table(["preferences", "method", "queries", "seeds", "exploitability (average) [95% CI]", "last iterate",
               "minimax-winner support"], rows, "llrrrrr"),
    ])


def mamql_section() -> str:
    data = load("mamql")
    rows = []
    for r in data["summary"]:
        rec = "" if "reward_tv" not in r else f"{r['reward_tv']:.3f} / {r['reward_kl']:.2f} / {r['reward_return']:.3f}"
        rows.append([r["n_episodes"], r["method"], f"{r['tv']:.3f} ± {r['tv_sd']:.3f}", f"{r['kl']:.2f}",
                     f"{r['return']:.3f} ± {r['return_sd']:.3f}", rec, f"{r['seconds']:.1f}"])
    return "\n\n".join([
        "## MAMQL on Gems (`bench/mamql.py`)",
        f"Expert: the soft equilibrium of `{data['game']}` at temperature {data['temperature']}, return "
        f"{data['expert_return']:.3f} (sum over agents); demonstrations of {data['horizon']} steps; means over 5 seeds. "
        "TV and KL: the expert's state occupancy times the policy distance, summed over agents (KL with learned "
        "probabilities floored at 1e-6). Reward recovery: each agent's soft-optimal policy for its recovered reward "
        "against the expert's other agent (TV / KL / return).",
        provenance("mamql"),
        table(["episodes", "method", "TV to expert", "KL", "return", "reward recovery: TV / KL / return", "s"],
              rows, "llrrrrr"),
    ])


def offline_section() -> str:
    data = load("offline_rcsl")
    rows = [[r["analysis"], r["size"], f"{r['seconds']:.3f}",
             "" if r.get("target_s") is None else f"{r['target_s']:g}",
             "" if r.get("meets_target") is None else ("met" if r["meets_target"] else "missed")]
            for r in data["rows"]]
    return "\n\n".join([
        "## Offline RL analyses (`bench/offline_rcsl.py`)",
        provenance("offline_rcsl"),
        table(["analysis", "size", "seconds", "target s", "target"], rows, "llrrl"),
    ])


def offline_cql_section() -> str:
    cql = load("offline_cql")
    best = cql["best"]
    speed = table(["method", "ms per gradient step", "ours / it"], [
        ["`theory_rl.offline.cql_torch`", f"{best['ours_ms_per_step']:.2f}", ""],
        [f"d3rlpy {cql['d3rlpy']} `DiscreteCQL` (`fit`)", f"{best['d3rlpy_ms_per_step']:.2f}",
         f"{best['ratio_ours_over_d3rlpy']:.2f}x"],
        ["d3rlpy, its update alone (no batch sampling)", f"{best['d3rlpy_update_only_ms']:.2f}",
         f"{best['ratio_ours_over_d3rlpy_update_only']:.2f}x"],
    ], "lrr")
    st = cql["setting"]
    growth = table(["depth t", "histories", "belief groups", "bisimulation classes (pi*)"],
                   [[r["depth"], f"{r['histories']:,}", r["belief_groups"], r["bisimulation_classes"]]
                    for r in cql["histories_versus_groups"]], "rrrr")
    tab = table(["tabular CQL on", "rows", "rows acted in", "seconds"],
                [[r["encoder"], f"{r['rows']:,}", r["acted_rows"], f"{r['seconds']:.3f}"] for r in cql["tabular_cql"]],
                "lrrr")
    ws = load("width_separation")
    sep = table(["states per step n", "Bellman width: lower bound (extrema)", "Bellman width: fitted net", "upper bound",
                 "RCSL policy width (trained)"],
                [[r["n_states"], r["bellman_lower"], r["bellman_width"], r["bellman_upper"], r["rcsl_width"]]
                 for r in ws["rows"]], "rrrrr")
    slopes = ws["loglog_slopes"]
    return "\n\n".join([
        "## Offline CQL, history bisimulation and the width separation (`bench/offline_cql.py`, "
        "`bench/width_separation.py`)",
        f"Per gradient step on CPU, one thread, equal networks ({st['states']}-d one-hot input, hidden "
        f"{st['hidden']}, {st['actions']} actions), batch {st['batch_size']}, {st['steps']} steps, best of 2.",
        speed,
        "Tiger: histories per depth against belief groups and exact bisimulation classes, and tabular CQL "
        "on 5,000 episodes of 5 steps through the two lookup encoders.",
        growth,
        tab,
        provenance("offline_cql"),
        f"Width separation (log-log slopes: lower bound {slopes['bellman_lower']:.2f}, fitted "
        f"{slopes['bellman_width']:.2f}, RCSL {slopes['rcsl_width']:.2f}).",
        sep,
        provenance("width_separation"),
    ])


def offline_pointmaze_section() -> str:
    data = load("offline_pointmaze")
    returns = data["returns"]
    rows = [[name, f"{v['mean']:.2f} ± {v['std']:.2f}", " ".join(f"{x:.1f}" for x in v["runs"])]
            for name, v in returns.items() if name not in ("MBRCSL kept", "MBRCSL target")]
    speed = [[r["learner"], f"{r['ours_ms']:.2f}", f"{r['peer_ms']:.2f}", f"{r['ratio']:.2f}"] for r in data["speed"]]
    b = data["budget"]
    return "\n\n".join([
        "## Point Maze stitching (`bench/offline_pointmaze.py`)",
        f"The discretised Point Maze of `envs.point_maze` (the paper's 4 x 6 map, start and goal; a lattice of 3 x 3 "
        f"points per cell, 5 moves, 40 steps, dense reward), {len(data['seeds'])} seeds of the four data groups "
        f"({b['n_episodes']} episodes each). Greedy returns; networks read the (x, y) position; "
        f"{b['model_steps']} gradient steps for the dynamics ensemble and the behaviour policy, {b['steps']} for "
        f"every other network (MLPs {tuple(b['mlp'])}, ensemble {tuple(b['ensemble'])}, "
        f"transformer width {b['dt_width']} with context {b['dt_context']}), far below the paper's budgets. "
        f"MBRCSL (ours) kept {returns['MBRCSL kept']['mean']:.0f} rollouts on average and conditioned on "
        f"{returns['MBRCSL target']['mean']:.2f} (the kept rollouts' best model return; the optimum is "
        f"{returns['optimum']['mean']:.2f}).",
        provenance("offline_pointmaze"),
        table(["method", "return (mean ± std)", "per seed"], rows, "lrl"),
        "Wall time per gradient step on CPU (one thread) at equal network sizes; ratio = ours / d3rlpy.",
        table(["learners", "ours ms", "d3rlpy ms", "ratio"], speed, "lrrr"),
    ])


def submodular_section() -> str:
    data = load("submodular")
    rows = [[r["objective"], r["n"], r["k"], f"{r['ours_lazy_s']:.2f}", f"{r['apricot_lazy_s']:.2f}",
             f"{r['ratio_ours_over_apricot_lazy']:.2f}", f"{r['value_ours']:.6g}", f"{r['value_apricot_lazy']:.6g}"]
            for r in data["greedy_vs_apricot"]]
    by_method: dict[str, list[float]] = {}
    for r in data["subpo_vs_standard_rl"]:
        by_method.setdefault(r["method"], []).append(r["fraction_covered"])
    subpo = [[m, len(v), f"{sum(v) / len(v):.3f}"] for m, v in by_method.items()]
    return "\n\n".join([
        "## Submodular RL (`bench/submodular.py`)",
        "Lazy greedy against apricot-select's lazy greedy (submodlib is not on the package registry), both "
        "selections re-scored with our function; then SubPO against standard RL on the additive reward on a "
        "coverage grid (fraction of the total weight covered by the final policy).",
        provenance("submodular"),
        table(["objective", "n", "k", "ours s", "apricot s", "ours / apricot", "value ours", "value apricot"],
              rows, "lrrrrrrr"),
        table(["method", "seeds", "mean fraction covered"], subpo, "lrr"),
    ] + _history_policies(data.get("history_policies")))


def _history_policies(part: dict[str, Any] | None) -> list[str]:
    if not part:
        return []
    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in part["rows"]:
        by_method.setdefault(r["method"], []).append(r)
    rows = [[m, len(v), f"{sum(r['value'] for r in v) / len(v):.4f}", f"{sum(r['fraction'] for r in v) / len(v):.4f}",
             f"{sum(r['seconds'] for r in v) / len(v):.1f}"] for m, v in by_method.items()]
    return [f"Policy classes on `coverage_gridworld(4, 4, radius=1)`, H = 6: exact values of the final policies "
            f"against the history-dependent optimum (recorded {part['date']}; command: `{part['command']}`).",
            table(["method", "seeds", "mean value", "fraction of optimum", "seconds"], rows, "lrrrr")]


def _family_study(data: dict[str, Any], label: str) -> list[str]:
    rows = [[r["method"], f"{data['nominal_mean'][r['method']]:.3f}",
             f"{r['mean']:.3f} [{r['mean_low']:.3f}, {r['mean_high']:.3f}]",
             f"{r['iqm']:.3f} [{r['iqm_low']:.3f}, {r['iqm_high']:.3f}]",
             f"{1000 * data['task_seconds_by_method'][r['method']]:.1f}"] for r in data["family_table"]]
    return [
        f"**{label}**: {data['tasks']} tasks ({data['n_instances']} instances x {data['seeds']} seeds, plus the "
        f"nominal member), {data['seconds_per_task'] * 1000:.1f} ms per task on one core (1,000 x 10 projected at "
        f"{data['projected_wall_s_1000x10'] / 60:.0f} min). Kendall tau-b between the nominal and the family ranking "
        f"{data['kendall_tau']:.2f}, {data['rank_flips']} strict rank flips, {data.get('point_ties', 0)} of "
        f"{data['n_pairs']} pairs tied on the nominal member; family ranking: {', '.join(data['family_ranking'])}.",
        table(["method", "nominal member", "family mean [95% CI]", "family IQM [95% CI]", "ms per task"], rows,
              "lrrrr"),
    ]


def families_section() -> str:
    data = load("families")
    parts = ["## Evaluation on MDP families (`bench/families.py`)",
             "Normalised return (0 uniform, 1 optimal) on the nominal 5 x 5 grid and over `gridworld_family()`, "
             "every task through the sweep engine (serial, resumable store).",
             provenance("families")]
    if data.get("note"):
        parts.append(data["note"])
    parts += _family_study(data, "Five learners")
    if "fast_full" in data:
        parts += _family_study(data["fast_full"], "The four fast methods at the issue's full size")
    if "with_dqn" in data:
        parts += _family_study(data["with_dqn"], "With DQN (a smaller family sample: DQN costs seconds per task)")
    return "\n\n".join(parts)


def _model_based_rows(data: dict[str, Any]) -> list[list[Any]]:
    claims = {(c["task"], c["agent"]): c for c in data["claims"]}
    rows = []
    for r in data["results"]:
        c = claims.get((r["task"], r["agent"]))
        diff = "-" if c is None else f"{c['auc_minus_replay']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}] ({c['verdict']})"
        rows.append([r["task"], r["label"], f"{r['lr']:g} / {r['temperature']:g}",
                     f"{r['auc_mean']:.3f} [{r['auc_low']:.3f}, {r['auc_high']:.3f}]",
                     f"{r['final_mean']:.3f}", diff, f"{r['cpu_s']:.0f}"])
    return rows


def model_based_generalization_section() -> str:
    data = load("model_based_generalization")
    o = data["options"]
    header = ["task", "agent", "step size / temperature", "area [95% CI]", "final", "area - replay [95% CI]", "CPU s"]
    parts = [
        "## Model-based generalisation (`bench/model_based_generalization.py`)",
        f"Young et al. (2023)'s {data['regime']}-data claim at a small scale: `approx.dyna_dqn`, the paper's five "
        f"agents with the step size and softmax temperature its authors tuned per agent and task ({data['tuned_source']}), "
        f"{o['n_seeds']} seeds batched, {o['total_steps']} environment steps, {o['updates_per_step']} updates per step, "
        f"target copy every {o['target_update']} steps, rollouts of {o['rollout_length']} from {o['batch_size']} "
        f"replayed states, model step size {o['model_lr']:g}, ELU hidden layers of {', '.join(map(str, o['hidden']))} units, latents "
        f"{o['n_latents']} x {o['latent_classes']} (categorical) or {o['n_latents']} (Gaussian). Score: the area under "
        "the normalised curve of the greedy policy's exact return ((V^pi - V^uniform) / (V* - V^uniform) on d0, read "
        f"every {o['evaluate_every']} steps); mean [95% CI] over seeds, and the difference to replay alone (Welch). "
        f"Total CPU {data['total_cpu_s'] / 60:.1f} min. Figure and discussion in the representation page.",
        provenance("model_based_generalization"),
        table(header, _model_based_rows(data), "lllrrlr"),
    ]
    if (RESULTS / "model_based_generalization_long.json").exists():
        long = load("model_based_generalization_long")
        parts += [f"The same on {', '.join(long['tasks'])} with {long['options']['total_steps']} steps, ER and the "
                  f"latent agents (total CPU {long['total_cpu_s'] / 60:.1f} min).",
                  provenance("model_based_generalization_long"),
                  table(header, _model_based_rows(long), "lllrrlr")]
    return "\n\n".join(parts)


def first_call_section() -> str:
    data = load("first_call")
    rows = []
    for r in data["rows"]:
        cold, warm = r.get("cold", {}), r.get("warm", {})
        rows.append([r["family"], f"`{r['call']}`", f"{cold.get('first_call_cpu_s', float('nan')):.2f}",
                     f"{warm.get('first_call_cpu_s', float('nan')):.2f}"])
    t = data["targets"]
    return "\n\n".join([
        "## First-call latency (`bench/first_call.py`)",
        f"CPU seconds of the first call in a fresh process, with an empty numba cache (cold) and a filled one "
        f"(warm); targets {t['cold_s']:g} s cold, {t['warm_s']:g} s warm. Discussion in the performance page.",
        provenance("first_call"),
        table(["family", "call", "cold CPU s", "warm CPU s"], rows, "llrr"),
    ])


# --------------------------------------------------------------------------- headline ratios
def _tabular_ratio(instance: str, gamma: str) -> float:
    return load("tabular")["instances"][instance]["gammas"][gamma]["ratios"]["best_ours_vs_fastest_peer_end_to_end"]["ratio"]


def _pomdp_row(file: str) -> dict[str, Any]:
    return next(r for r in load("pomdp")["hsvi2"] if r["file"] == file)


def _robust_row(instance: str, kappa: float) -> dict[str, Any]:
    return next(r for r in load("robust")["results"] if (r["instance"], r["kappa"]) == (instance, kappa))


def _gpu_row(B: int, S: int, dtype: str) -> dict[str, Any]:
    return next(r for r in load("approx_gpu")["throughput"] if (r["B"], r["S"], r["dtype"]) == (B, S, dtype))


#: (what, value, source) rows of the README's headline table.
HEADLINES: list[tuple[str, Callable[[], str], str]] = [
    ("finite MDPs: our time / fastest peer (QuantEcon), forest S=1M, gamma 0.99",
     lambda: f"{_tabular_ratio('forest', '0.99'):.2f}", "tabular.json"),
    ("finite MDPs: our time / fastest peer, dense random S=2000, gamma 0.999",
     lambda: f"{_tabular_ratio('dense', '0.999'):.2f}", "tabular.json"),
    ("dense Bellman backup / memory-bandwidth floor",
     lambda: f"{load('tabular')['instances']['dense']['backup']['ours']['ratio']:.2f}", "tabular.json"),
    ("POMDP tiger.95: our CPU time to a 1e-3 gap / SARSOP's",
     lambda: f"{_pomdp_row('tiger.95.POMDP')['cpu_ratio']:.2f}", "pomdp.json"),
    ("POMCP on RockSample(4,4): pomdp_py's time per step / ours",
     lambda: f"{load('pomdp')['pomcp']['speedup']:.1f}", "pomdp.json"),
    ("robust sa-L1 backup / nominal backup, random S=2000, kappa 0.1",
     lambda: f"{_robust_row('random S=2000 A=10', 0.1)['sa-L1_vs_nominal']:.2f}", "robust.json"),
    ("SEQUOIA action selection: OMLT's CPU time / ours, J=100, 2x32",
     lambda: f"{load('mip_speed')['rows'][2]['omlt_over_ours_cpu']:.1f}", "mip_speed.json"),
    ("batched VI on an H200 / numpy loop, B=16, S=2000, float64",
     lambda: f"{_gpu_row(16, 2000, 'float64')['speedup_vs_numpy_loop']:.1f}", "approx_gpu.json"),
]


def headline_table() -> str:
    rows = [[what, f"**{value()}**", f"`bench/results/{source}`"] for what, value, source in HEADLINES]
    return table(["headline", "ratio", "data"], rows, "lrl")


# --------------------------------------------------------------------------- page
def representation_section() -> str:
    data = load("contrastive_ucb_learned")
    K = data["instance"]["K"]
    rows = []
    for name, summ in data["summary"].items():
        reg, slope, wall, logr = summ["regret"], summ["slope"], summ["wall_per_episode_ms"], summ["log_ratio"]
        ci = "" if reg["n"] < 2 else f" [{reg['ci95_low']:.2f}, {reg['ci95_high']:.2f}]"
        sci = "" if slope["n"] < 2 else f" [{slope['ci95_low']:.2f}, {slope['ci95_high']:.2f}]"
        gci = "" if logr["n"] < 2 else f" [{math.exp(logr['ci95_low']):.1f}, {math.exp(logr['ci95_high']):.1f}]"
        ratios = ", ".join(f"{v:.1f}" for v in summ["ratio_to_oracle"].values())
        rows.append([name, summ["reference"], reg["n"], f"{reg['mean']:.2f}{ci}", ratios,
                     f"{summ['ratio_of_means']:.1f}", f"{math.exp(logr['mean']):.1f}{gci}",
                     f"{summ['regret_first_100']['mean']:.2f}", f"{slope['mean']:.2f}{sci}", f"{wall['mean']:.1f}"])
    best = [[k, v["beta"], f"{v['regret']['mean']:.2f} [{v['regret']['ci95_low']:.2f}, {v['regret']['ci95_high']:.2f}]"]
            for k, v in data["best_beta"].items() if isinstance(v, dict)]
    best += [[k, "", f"**{v:.1f}x**"] for k, v in data["best_beta"].items() if not isinstance(v, dict)]
    diag = []
    for rep in ("bilinear", "true_features"):
        runs = [d for d in data["diagnosis"] if d["representation"] == rep]
        for i, (lo, hi) in enumerate(runs[0]["windows"]):
            diag.append([rep, f"{lo + 1}-{hi}", *(f"{fmean([d[key][i] for d in runs]):.3f}" for key in
                                                   ("regret", "model_l1", "model_l1_on_policy", "bonus_on_policy",
                                                    "optimism_fails"))])
    off = [[o["n"], f"{o['oracle ridge (phi* known)']:.3f}", f"{o['contrastive rank 5, expected negatives']:.3f}",
            f"{o['contrastive rank 5, sampled negatives']:.3f}", f"{o['rank-5 truncated SVD']:.3f}",
            f"{o['empirical (tabular)']:.3f}", f"{o['noise_spectral_norm']:.3f}", f"{o['largest_angle_expected']:.2f}"]
           for o in data["offline"][0]["rows"]]
    game = [[g["seed"], g["representation"], f"{g['gap_first_10']:.4f}", f"{g['gap_last_20']:.4f}",
             f"{g['certificate_first']:.3f}", f"{g['certificate_last']:.3f}", f"{g['certificate_bounds_gap']:.0%}",
             f"{g['wall_per_episode_ms']:.0f}"] for g in data["game"]]
    hold = load("contrastive_ucb_learned_holdout")
    held = []
    for name, summ in hold["summary"].items():
        reg, ref, logr = summ["regret"], summ["reference_regret"], summ["log_ratio"]
        held.append([name, summ["reference"], reg["n"], f"{reg['mean']:.2f} [{reg['ci95_low']:.2f}, {reg['ci95_high']:.2f}]",
                     f"{ref['mean']:.2f} [{ref['ci95_low']:.2f}, {ref['ci95_high']:.2f}]",
                     ", ".join(f"{x:.1f}" for x in summ["ratio_per_seed"]), f"**{summ['ratio_of_means']:.1f}**",
                     f"{math.exp(logr['mean']):.1f} [{math.exp(logr['ci95_low']):.1f}, {math.exp(logr['ci95_high']):.1f}]"])
    t = data["fit_timing"]
    inst = data["instance"]
    return "\n\n".join([
        "## Exploration with learned features (`bench/contrastive_ucb_learned.py`)",
        f"Contrastive UCB on stationary random low-rank MDPs (S = {inst['S']}, A = {inst['A']}, d = {inst['d']}, "
        f"H = {inst['H']}), bonus scale {inst['beta']} unless the row names another, K = {K} episodes. Regret: mean "
        "and 95% Student-t interval over seeds; ratio to the oracle row named beside it (the true features with the "
        "same bonus scale, data and pooling) per seed, as the ratio of the seed means, and as a geometric mean with "
        "its 95% interval; log-log slope of the cumulative regret over K in {100, 300, 1000, 3000}. The two swap rows "
        "replace one half of the learned representation by the truth (the bonus, or the model) to locate the cost; "
        "'pooled steps' fits one model on the data of all H steps (`pool_steps=True`, valid because these instances "
        "are stationary); 'well-conditioned' rows use Dirichlet concentration 0.1 (near one-hot features; fifth "
        "singular value of the kernel " + ", ".join(f"{x:.2f}" for x in inst["well_conditioned_fifth_singular_value"])
        + " on the seeds).",
        provenance("contrastive_ucb_learned"),
        table(["learner", "compared with", "seeds", f"regret at K = {K}", "ratio per seed", "ratio of means",
               "geometric mean ratio", "regret at K = 100", "slope", "ms / episode"], rows, "llrrrrrrrr"),
        f"Each learner at its best bonus scale of the grid {inst['beta_grid']} (mean regret at K = {K} over the same "
        "seeds), and the ratio of the best means, per-step and pooled:",
        table(["learner", "best beta", f"regret at K = {K}"], best, "lrr"),
        f"Where the regret comes from (bonus scale {inst['beta']}, per-step fits, means over seeds): regret summed over "
        "each window of episodes; the model's mean L1 error over all pairs and on the greedy policy's state-action "
        "occupancy; the bonus on that occupancy; the fraction of episodes with V_bar_0 < V*_0 at d0.",
        table(["representation", "episodes", "regret", "model L1", "model L1 on policy", "bonus on policy",
               "optimism fails"], diag, "lrrrrrr"),
        f"The options were chosen on the seeds above; the chosen configuration on unseen seeds "
        f"{hold['instance']['seeds'][0]}-{hold['instance']['seeds'][-1]} (bonus scale {hold['instance']['beta']}, "
        f"K = {hold['instance']['K']}):",
        provenance("contrastive_ucb_learned_holdout"),
        table(["learner", "compared with", "seeds", "regret", "oracle's regret", "ratio per seed", "ratio of means",
               "geometric mean ratio"], held, "llrrrrrr"),
        f"Offline, seed 0: mean L1 error of the kernel estimate from n uniform transitions; the spectral norm of the "
        f"sampling noise against the true kernel's singular values {data['offline'][0]['singular_values']}; the largest "
        "principal angle of the rank-5 contrastive features.",
        table(["n", "oracle ridge", "contrastive, expected neg.", "contrastive, sampled neg.", "rank-5 SVD", "empirical",
               "noise norm", "angle (rad)"], off, "rrrrrrrr"),
        "Zero-sum low-rank Markov games (S = 4, A = B = 2, d = 2, H = 2, 200 episodes, beta 0.1): exact duality gap of "
        "the CCE marginals and the certificate V_bar_0 - V_under_0.",
        table(["seed", "representation", "gap, first 10", "gap, last 20", "certificate, first", "certificate, last",
               "certificate >= gap", "ms / episode"], game, "rlrrrrrr"),
        f"Torch against scipy, {t['note']}: scipy L-BFGS-B {t['scipy_s']:.2f} s (loss {t['scipy_loss']:.6f}), "
        f"torch L-BFGS on CPU {t['torch_cpu_s']:.2f} s (loss {t['torch_loss']:.6f}).",
    ])


SECTIONS = [tabular_section, certificates_section, pomdp_section, robust_section, combinatorial_section,
            dual_section, sample_complexity_section, approx_section, games_section, spo_section, mamql_section,
            offline_section, offline_cql_section, offline_pointmaze_section, submodular_section, families_section,
            model_based_generalization_section, representation_section, first_call_section]


def render() -> str:
    intro = ("# Benchmarks\n\n"
             "<!-- Generated by docs/_scripts/benchmark_tables.py from bench/results/*.json: edit those, not this "
             "page. -->\n\n"
             "Every benchmark runs theory_rl and the library a user would otherwise reach for in one process, "
             "checks that the answers agree, and records the timings. Every number below is read from a results "
             "file in `bench/results/`, written by the command named under its table; most timings were taken on "
             "a shared 2-core machine under load, so ratios are more reliable than absolute times. The analysis "
             "of each table (where we lose, why) is on the family's page of the user guide.\n\n"
             "## Headline ratios\n\n" + headline_table())
    return "\n\n".join([intro, *(section() for section in SECTIONS)]) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/benchmarks.md differs from the data")
    args = ap.parse_args()
    text = render()
    if args.check:
        current = PAGE.read_text() if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE} is stale: run python docs/_scripts/benchmark_tables.py", file=sys.stderr)
            return 1
        return 0
    if not PAGE.exists() or PAGE.read_text() != text:
        PAGE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
