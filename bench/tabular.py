"""Exact finite-MDP solvers: theory_rl against its peers, on the same data, in one process.

Run from the repository root::

    .venv/bin/python bench/tabular.py            # full run (about 7 minutes on 2 cores)
    .venv/bin/python bench/tabular.py --quick    # reduced sizes, under 2 minutes
    .venv/bin/python bench/tabular.py --instances dense forest --gammas 0.99

For every instance and discount factor it measures, for each solver: the model set-up time
(everything between the user's numpy/scipy arrays and a solver-ready object, validation
included), the solve time, their sum (end-to-end), iterations, the peak resident-memory growth
of set-up and of solve, the true error ``||v - v*||_inf`` of the returned values against an exact
reference, and whether the answer comes with a certificate. It also times one Bellman backup
against the memory-bandwidth floor (bytes of ``P`` read per backup / measured bandwidth) and
prints ``ours / peer`` ratios. Results go to ``bench/results/tabular.json``; ``bench/README.md``
explains the columns and holds the last measured table.

Target accuracy everywhere: ``tol = 1e-6`` in each library's own meaning of it, which is the
same guarantee for all of them: the returned policy is ``tol``-optimal, and the returned values
are within ``tol/2`` (ours, QuantEcon) or ``tol`` (mdpsolver) of ``v*``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Bandwidth, PeakRSS, best_time, instance_arrays, p_bytes, paired_floor_ratio, with_provenance  # noqa: E402

import theory_rl  # noqa: E402
from theory_rl import tabular  # noqa: E402
from theory_rl.models import FiniteMDP  # noqa: E402
from theory_rl.tabular import (
    BellmanOperator,  # noqa: E402
    certify,  # noqa: E402
)

TOL = 1e-6
PEER_LIMIT_S = 60.0  # a peer run predicted to take longer is skipped, with the prediction printed
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "tabular.json")

# name: (label, generator, args, kwargs, quick args, quick kwargs)
INSTANCES: dict[str, tuple[str, str, tuple, dict, tuple, dict]] = {
    "dense": ("dense random S=2000 A=10", "random_mdp", (2000, 10), {"seed": 0},
              (300, 10), {"seed": 0}),
    "sparse": ("sparse random S=100k A=10 nnz/row=10", "random_mdp", (100_000, 10), {"seed": 0, "nnz_per_row": 10},
               (10_000, 10), {"seed": 0, "nnz_per_row": 10}),
    "forest": ("forest S=1M A=2", "forest", (1_000_000,), {"sparse": True},
               (100_000,), {"sparse": True}),
    "gridworld": ("gridworld 200x200 A=4", "gridworld", (200, 200), {},
                  (50, 50), {}),
}


# ============================================================================ records
@dataclass
class Run:
    solver: str
    library: str
    setup_s: float | None = None
    solve_s: float | None = None
    iterations: str | None = None
    setup_mib: float | None = None
    solve_mib: float | None = None
    error: float | None = None
    certified: str = ""
    note: str = ""
    skipped: str | None = None
    internal_s: float | None = None  # the peer's own timer, where it has one

    @property
    def total_s(self) -> float | None:
        if self.solve_s is None:
            return None
        return (self.setup_s or 0.0) + self.solve_s

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["total_s"] = self.total_s
        return d


def timed_min(fn: Callable[[], Any], *, again_below: float = 10.0) -> tuple[Any, float, float | None]:
    """Run ``fn`` under :class:`PeakRSS`; while the total stays short (``again_below`` seconds)
    run it again, up to 3 times, and keep the fastest (the machine is a shared VM whose speed
    drifts by up to 2x). Returns ``(result, seconds, peak MiB of the first run)``."""
    with PeakRSS() as mem:
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
    spent, runs = dt, 1
    while runs < 3 and spent + dt < again_below:
        del out
        gc.collect()
        t = time.perf_counter()
        out = fn()
        last = time.perf_counter() - t
        dt, spent, runs = min(dt, last), spent + last, runs + 1
    return out, dt, mem.mib


@contextlib.contextmanager
def capture_fd_stdout():
    """Capture what C/C++ code writes to file descriptor 1 (mdpsolver prints its iteration count)."""
    sys.stdout.flush()
    saved = os.dup(1)
    buf = {"text": ""}
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            yield buf
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            buf["text"] = tmp.read().decode(errors="replace")


def err_inf(v: Any, v_ref: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(v, dtype=float).ravel() - v_ref)))


# ============================================================================ ours
def run_ours(P: Any, R: np.ndarray, gamma: float, v_ref: np.ndarray | None) -> tuple[list[Run], FiniteMDP]:
    mdp, setup_s, setup_mib = timed_min(lambda: FiniteMDP(P, R, gamma))
    runs = []
    specs = [
        ("VI (span)", lambda: tabular.value_iteration(mdp, tol=TOL)),
        ("MPI (m=20)", lambda: tabular.modified_policy_iteration(mdp, tol=TOL)),
        ("PI", lambda: tabular.policy_iteration(mdp, tol=TOL)),
    ]
    for name, fn in specs:
        sol, dt, mib = timed_min(fn)
        it = f"{sol.n_iter} backups"
        if "sweeps" in sol.info:
            it += f" + {sol.info['sweeps']} sweeps"
        if name == "PI":
            it = f"{sol.n_iter} evaluations"
        run = Run(solver=name, library="theory_rl", setup_s=setup_s, solve_s=dt, iterations=it,
                  setup_mib=setup_mib, solve_mib=mib,
                  certified=f"yes, bound {sol.bound:.1e}" if sol.converged else "NOT CONVERGED")
        run._sol = sol  # type: ignore[attr-defined]
        runs.append(run)
    return runs, mdp


def reference(mdp: FiniteMDP, pi_run: Run, vi_run: Run) -> tuple[np.ndarray, dict[str, Any]]:
    """``v*``: the exact value of the policy policy iteration stopped at (one linear solve), with
    MacQueen bounds certifying its distance to ``v*``, cross-checked against value iteration's
    independent certified interval."""
    sol = pi_run._sol  # type: ignore[attr-defined]
    v_ref = np.asarray(sol.v, dtype=float)  # policy_iteration returns its policy's exact value
    cert = certify(BellmanOperator(mdp), v_ref)
    ref_bound = float(max(np.max(cert.upper - v_ref), np.max(v_ref - cert.lower), 0.0))
    vi = vi_run._sol  # type: ignore[attr-defined]
    inside = bool(np.all(vi.lower - 1e-9 * np.abs(vi.lower) <= v_ref + ref_bound)
                  and np.all(v_ref - ref_bound <= vi.upper + 1e-9 * np.abs(vi.upper)))
    return v_ref, {"method": "policy_iteration's final policy, evaluated exactly",
                   "certified_error_bound": ref_bound,
                   "inside_value_iteration_bounds": inside}


# ============================================================================ peers
def quantecon_runs(P: Any, R: np.ndarray, gamma: float, v_ref: np.ndarray, ours_vi_backups: int,
                   ours_pi_iters: int) -> list[Run]:
    try:
        from quantecon.markov import DiscreteDP
    except ImportError as exc:  # pragma: no cover
        return [Run("*", "quantecon", skipped=f"not installed ({exc})")]
    S, A = R.shape

    def setup():
        if sp.issparse(P):
            return DiscreteDP(R.ravel(), P, gamma, np.repeat(np.arange(S), A), np.tile(np.arange(A), S))
        return DiscreteDP(R, P, gamma)

    ddp, setup_s, setup_mib = timed_min(setup)
    runs = []

    def one(name: str, method: str, iters_label: Callable[[Any], str], certified: Callable[[Any], str], **kw):
        res, dt, mib = timed_min(lambda: ddp.solve(method=method, epsilon=TOL, **kw))
        runs.append(Run(name, "quantecon", setup_s, dt, iters_label(res), setup_mib, mib,
                        err_inf(res.v, v_ref), certified(res)))

    big = 10**7
    one("MPI (k=20)", "modified_policy_iteration", lambda r: f"{r.num_iter} backups + {20 * (r.num_iter - 1)} sweeps",
        lambda r: "by theorem (span rule, midpoint)" if r.num_iter < big else "NO (max_iter)", max_iter=big, k=20)

    # value iteration: sup-norm rule ||Tv - v|| < eps(1-b)/(2b); predict its length from the
    # contraction bound and one timed backup, skip if it would run past the limit
    v0 = ddp.s_wise_max(ddp.R)
    tv = ddp.bellman_operator(v0)
    d0 = float(np.max(np.abs(tv - v0)))
    target = TOL * (1 - gamma) / (2 * gamma)
    n_pred = 1 if d0 < target else math.ceil(math.log(target / d0) / math.log(gamma))
    t_backup = best_time(lambda: ddp.bellman_operator(v0), 3)
    if n_pred * t_backup > PEER_LIMIT_S:
        runs.append(Run("VI", "quantecon", setup_s, skipped=(
            f"predicted {n_pred * t_backup:.0f} s > {PEER_LIMIT_S:.0f} s "
            f"(sup-norm rule: up to {n_pred} backups x {t_backup * 1e3:.1f} ms)")))
    else:
        one("VI", "value_iteration", lambda r: f"{r.num_iter} backups",
            lambda r: "by theorem (sup-norm rule)" if r.num_iter < big else "NO (max_iter)", max_iter=big)

    # policy iteration: SuperLU (sparse) or LAPACK (dense) per step; time one evaluation
    if sp.issparse(P) and P.nnz / (S * A) > 3:
        runs.append(Run("PI", "quantecon", setup_s, skipped=(
            "spsolve (SuperLU) on I - beta*Q_sigma with random columns fills in: a single "
            "evaluation did not finish in minutes")))
    else:
        sigma = ddp.compute_greedy(v0)
        t_eval = best_time(lambda: ddp.evaluate_policy(sigma), 1)
        pred = (ours_pi_iters + 1) * (t_eval + t_backup)
        if pred > PEER_LIMIT_S:
            runs.append(Run("PI", "quantecon", setup_s, skipped=(
                f"predicted {pred:.0f} s > {PEER_LIMIT_S:.0f} s ({ours_pi_iters} evaluations x "
                f"{t_eval:.2f} s each, as many as ours)")))
        else:
            one("PI", "policy_iteration", lambda r: f"{r.num_iter} evaluations",
                lambda r: "exact (stable policy)" if r.num_iter < big else "NO (max_iter)", max_iter=big)
    return runs


def mdpsolver_runs(P: Any, R: np.ndarray, gamma: float, v_ref: np.ndarray) -> list[Run]:
    try:
        import mdpsolver
    except ImportError as exc:  # pragma: no cover
        return [Run("*", "mdpsolver", skipped=f"not installed ({exc})")]
    S, A = R.shape

    def setup():
        mdl = mdpsolver.model()
        rewards = R.tolist()
        if sp.issparse(P):
            data, ind, ptr = P.data.tolist(), P.indices.tolist(), P.indptr.tolist()
            probs = [[data[ptr[s * A + a]:ptr[s * A + a + 1]] for a in range(A)] for s in range(S)]
            cols = [[ind[ptr[s * A + a]:ptr[s * A + a + 1]] for a in range(A)] for s in range(S)]
            mdl.mdp(discount=gamma, rewards=rewards, tranMatProbs=probs, tranMatColumns=cols)
        else:
            mdl.mdp(discount=gamma, rewards=rewards, tranMatWithZeros=np.asarray(P).tolist())
        return mdl

    runs = []
    for name, algo in (("VI (span)", "vi"), ("MPI (m=100)", "mpi")):
        # the model is built once per algorithm: a solved mdpsolver model keeps its solution
        gc.collect()
        mdl, setup_s, setup_mib = timed_min(setup, again_below=0.0)

        def solve(mdl: Any = mdl, algo: str = algo) -> tuple[np.ndarray, str]:
            with capture_fd_stdout() as out:
                mdl.solve(algorithm=algo, tolerance=TOL, update="standard", verbose=True, parallel=True)
            return np.asarray(mdl.getValueVector()), out["text"]

        (v, text), dt, mib = timed_min(solve, again_below=0.0)
        m = re.search(r"Solution found in (\d+) iterations", text)
        it = f"{m.group(1)} iterations" if m else "?"
        runs.append(Run(name, "mdpsolver", setup_s, dt, it, setup_mib, mib, err_inf(v, v_ref),
                        "by theorem (span rule, lower bound)" if m else "NO (iteration limit)",
                        internal_s=mdl.getRuntime() / 1e3))
        del mdl
    return runs


def pymdptoolbox_runs(P: Any, R: np.ndarray, gamma: float, v_ref: np.ndarray, pi_iters: int) -> list[Run]:
    try:
        import mdptoolbox.mdp as tb
    except ImportError as exc:  # pragma: no cover
        return [Run("*", "pymdptoolbox", skipped=f"not installed ({exc})")]
    S, A = R.shape
    runs = []

    def setup():
        if sp.issparse(P):
            return [P[a::A].tocsr() for a in range(A)]
        return np.ascontiguousarray(np.asarray(P).transpose(1, 0, 2))

    trans, t_conv, _ = timed_min(setup)
    # ValueIteration's constructor bounds the iteration count by extracting every column of every
    # P[a] (a Python loop over S, _boundIter); time its loop body on a few columns to predict it
    def bound_iter_body(n_cols: int = 20) -> None:
        for ss in range(n_cols):
            PP = np.zeros((A, S))
            for aa in range(A):
                try:
                    PP[aa] = trans[aa][:, ss]
                except ValueError:
                    PP[aa] = trans[aa][:, ss].todense().A1

    t_bound = S * best_time(bound_iter_body, 2) / 20
    # every constructor first runs mdptoolbox.util.check, which for scipy.sparse input compares
    # each P[a] with 0 as a dense S x S boolean array; time that on a slice of rows
    t_check = 0.0
    if sp.issparse(P):
        r = min(S, 500)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_check = A * (S / r) * best_time(lambda: trans[0][:r] >= 0, 2)
    pred = t_check + t_bound
    if pred > PEER_LIMIT_S:
        runs.append(Run("VI", "pymdptoolbox", skipped=(
            f"predicted {pred:.0f} s > {PEER_LIMIT_S:.0f} s in the constructor alone: util.check "
            f"{t_check:.0f} s (dense S x S comparisons of sparse P[a]) + _boundIter {t_bound:.0f} s "
            f"(a Python loop extracting all {S:,} columns of every P[a])")))
    else:
        def vi_setup():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return tb.ValueIteration(trans, R, gamma, epsilon=TOL, max_iter=10**6)

        vi, setup_s, setup_mib = timed_min(vi_setup, again_below=0.0)
        cap = vi.max_iter
        _, dt, mib = timed_min(vi.run, again_below=0.0)
        runs.append(Run("VI", "pymdptoolbox", t_conv + setup_s, dt, f"{vi.iter} backups", setup_mib, mib,
                        err_inf(vi.V, v_ref),
                        "no (values uncertified; policy eps-optimal)" if vi.iter < cap else
                        f"no (stopped at its computed max_iter={cap})",
                        note="setup includes the constructor's iteration bound"))
    dense_gib = S * S * 8 / 2**30
    n = min(S, 1000)
    M = np.eye(n) + np.random.default_rng(0).random((n, n)) / n
    t_solve = best_time(lambda: np.linalg.solve(M, np.ones(n)), 2) * (S / n) ** 3
    pred = t_check + (pi_iters + 1) * t_solve
    if dense_gib > 2.0 or pred > PEER_LIMIT_S:
        runs.append(Run("PI", "pymdptoolbox", skipped=(
            f"builds a dense S x S P_policy each step ({dense_gib:.2f} GiB) and solves it with LAPACK: "
            f"predicted {pred:.0f} s ({pi_iters + 1} evaluations x {t_solve:.1f} s"
            + (f", util.check {t_check:.0f} s)" if t_check else ")"))))
    else:
        def pi_setup():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return tb.PolicyIteration(trans, R, gamma, max_iter=10**6)

        pi, setup_s, setup_mib = timed_min(pi_setup, again_below=0.0)
        _, dt, mib = timed_min(pi.run, again_below=0.0)
        runs.append(Run("PI", "pymdptoolbox", t_conv + setup_s, dt, f"{pi.iter} evaluations", setup_mib, mib,
                        err_inf(pi.V, v_ref), "exact (stable policy)"))
    return runs


def lp_runs(mdp: FiniteMDP, v_ref: np.ndarray) -> list[Run]:
    nnz = mdp.nnz
    if not (nnz <= 200_000 or (not mdp.is_sparse and mdp.n_states <= 500)):
        return [Run("LP (primal)", "scipy HiGHS", skipped=(
            f"constraint matrix with {nnz:,} nonzeros: HiGHS took 75 s (simplex) / 4 s (IPM) on a "
            "2,000-state sparse model with 200k nonzeros and > 10 min on 10,000 states with 1M"))]
    sol, dt, mib = timed_min(lambda: tabular.linear_programming(mdp, formulation="primal"), again_below=1.0)
    return [Run("LP (primal)", "scipy HiGHS", 0.0, dt, "-", None, mib, err_inf(sol.v, v_ref),
                f"yes, bound {sol.bound:.1e}", note="via tabular.linear_programming (HiGHS dual simplex)")]


# ============================================================================ main
def machine_info() -> dict[str, Any]:
    import numba

    cpu = platform.processor()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    versions = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                "numba": numba.__version__, "theory_rl": theory_rl.__version__}
    for name in ("quantecon", "pymdptoolbox", "mdpsolver"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # pragma: no cover
            versions[name] = None
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_GiB": round(mem_gib, 1),
            "numba_threads": numba.get_num_threads(), "versions": versions}


def warm_up() -> float:
    """Compile/load every numba kernel (ours and QuantEcon's) on tiny models, so that the timed
    runs measure solving; returns the seconds this took (a once-per-process cost)."""
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, args, kw in (("random_mdp", (30, 3), {"seed": 1}), ("random_mdp", (30, 3), {"seed": 1, "nnz_per_row": 3})):
            P, R = instance_arrays(kind, *args, **kw)
            m = FiniteMDP(P, R, 0.9)
            for f in (tabular.value_iteration, tabular.modified_policy_iteration, tabular.policy_iteration):
                f(m, tol=1e-3)
            from quantecon.markov import DiscreteDP

            S, A = R.shape
            ddp = (DiscreteDP(R.ravel(), P, 0.9, np.repeat(np.arange(S), A), np.tile(np.arange(A), S))
                   if sp.issparse(P) else DiscreteDP(R, P, 0.9))
            for meth in ("vi", "mpi", "pi"):
                ddp.solve(method=meth, epsilon=1e-3)
    return time.perf_counter() - t


def backup_vs_floor(P: Any, R: np.ndarray, bw: Bandwidth) -> dict[str, Any]:
    mdp = FiniteMDP(P, R, 0.99)
    op = BellmanOperator(mdp)
    v = np.random.default_rng(0).random(op.S)
    nb = p_bytes(mdp.P)
    # everything a backup touches besides P: r_eff read, v read, T v and the policy written
    nb_all = nb + op.r_eff.nbytes + 8 * op.S * 3
    out: dict[str, Any] = {"P_bytes": nb, "bytes_all_arrays": nb_all}
    # the kernels' bit-for-bit agreement (see theory_rl/tabular/_kernels.py): backup = max of q,
    # direct policy sweep = compact (gathered) sweep = q at the policy
    tv, pol, _, _ = op.backup_span(v)
    tv, pol = tv.copy(), pol.copy()
    op._q_cache = None
    q = op.q(v)
    direct = op.policy_sweep(v, pol).copy()
    compact = op.policy_sweep(v, pol).copy()
    out["bitwise_consistent"] = bool(
        np.array_equal(tv, q.max(axis=1)) and np.array_equal(pol, q.argmax(axis=1))
        and np.array_equal(direct, compact) and np.array_equal(direct, q[np.arange(op.S), pol]))
    if not out["bitwise_consistent"]:
        print("  NOTE: backup, q and the policy sweeps differ in the last bits on this instance")

    def backup() -> None:
        op._q_cache = None  # time the pass over P, not the cache of a repeated v (see BellmanOperator)
        op.backup_span(v)

    out["ours"] = paired_floor_ratio(backup, nb, bw, rounds=7)
    out["ours"]["ratio_all_arrays"] = out["ours"]["time_ms"] / (nb_all / (out["ours"]["bandwidth_GBps"] * 1e9) * 1e3)
    if mdp.is_sparse and mdp.nnz >= 4 * op.S * op.A:
        # diagnostic: the same kernel, same data, with every column index folded into the first
        # 2,048 states, so that the gathered v (16 KiB) stays in L1; shows what the random
        # gathers from L2 cost
        from theory_rl.tabular import _kernels

        folded = (mdp.P.indices % min(op.S, 2048)).astype(mdp.P.indices.dtype)
        tv, pol = np.empty(op.S), np.empty(op.S, dtype=np.int64)
        chunks = _kernels.n_chunks(op.S)
        out["ours_v_in_L1"] = paired_floor_ratio(
            lambda: _kernels.csr_backup(mdp.P.data, folded, mdp.P.indptr, op.r_eff, v, op.gamma, op.A, tv, pol, chunks),
            nb, bw, rounds=3)
    P2 = mdp.transition_matrix
    label = "scipy CSR P @ v (1 thread)" if mdp.is_sparse else "numpy/OpenBLAS gemv P @ v"
    out["baseline_label"] = label
    out["baseline"] = paired_floor_ratio(lambda: P2 @ v, nb, bw)
    return out


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def print_table(label: str, gamma: float, runs: list[Run]) -> None:
    print(f"\n  {label}, gamma = {gamma}")
    head = f"  {'library':13s} {'solver':12s} {'setup s':>8s} {'solve s':>8s} {'total s':>8s} " \
           f"{'iterations':32s} {'mem MiB':>8s} {'|v-v*|':>8s}  certified"
    print(head)
    print("  " + "-" * (len(head) + 10))
    for r in runs:
        if r.skipped:
            print(f"  {r.library:13s} {r.solver:12s} skipped: {r.skipped}")
            continue
        mem = max(x for x in (r.setup_mib or 0.0, r.solve_mib or 0.0))
        print(f"  {r.library:13s} {r.solver:12s} {fmt_s(r.setup_s):>8s} {fmt_s(r.solve_s):>8s} "
              f"{fmt_s(r.total_s):>8s} {r.iterations or '-':32s} {mem:8.0f} {r.error:8.1e}  {r.certified}")


def ratios(runs: list[Run]) -> dict[str, Any]:
    done = [r for r in runs if not r.skipped and r.total_s is not None]
    ours = [r for r in done if r.library == "theory_rl"]
    peers = [r for r in done if r.library != "theory_rl"]
    out: dict[str, Any] = {}
    if ours and peers:
        bo = min(ours, key=lambda r: r.total_s)
        bp = min(peers, key=lambda r: r.total_s)
        out["best_ours_vs_fastest_peer_end_to_end"] = {
            "ours": f"{bo.library} {bo.solver}", "peer": f"{bp.library} {bp.solver}",
            "ratio": bo.total_s / bp.total_s}
        bps = min(peers, key=lambda r: r.solve_s)
        bos = min(ours, key=lambda r: r.solve_s)
        out["best_ours_vs_fastest_peer_solve_only"] = {
            "ours": f"{bos.solver}", "peer": f"{bps.library} {bps.solver}", "ratio": bos.solve_s / bps.solve_s}

    def find(lib: str, prefix: str) -> Run | None:
        return next((r for r in done if r.library == lib and r.solver.startswith(prefix)), None)

    for a, b, key in ((find("theory_rl", "VI"), find("mdpsolver", "VI"), "our_VI_vs_mdpsolver_VI"),
                      (find("theory_rl", "MPI"), find("quantecon", "MPI"), "our_MPI_vs_quantecon_MPI"),
                      (find("theory_rl", "MPI"), find("mdpsolver", "MPI"), "our_MPI_vs_mdpsolver_MPI"),
                      (find("theory_rl", "PI"), find("quantecon", "PI"), "our_PI_vs_quantecon_PI")):
        if a and b:
            out[key] = {"end_to_end": a.total_s / b.total_s, "solve_only": a.solve_s / b.solve_s}
    return out


def render_markdown(doc: dict[str, Any]) -> str:
    """The README tables from a results file (``--markdown``)."""
    lines = []
    m = doc["machine"]
    bs = doc.get("bandwidth", {})
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_GiB']} GiB, numba threads "
                 f"{m['numba_threads']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".")
    if bs:
        lines.append(f"Memory read bandwidth: median {bs['median_GBps']:.1f} GB/s (min {bs['min_GBps']:.1f}, "
                     f"max {bs['max_GBps']:.1f}) over {bs['measurements']} measurements during the run.")
    lines.append("")
    lines.append("End-to-end (setup + solve) of our fastest solver against the fastest peer, and the two "
                 "pairings the issue asks for:")
    lines.append("")
    lines.append("| instance | gamma | ours (best) s | fastest peer s | ours / peer | our VI / mdpsolver VI (e2e, solve) "
                 "| our MPI / QuantEcon MPI (e2e, solve) |")
    lines.append("|---|---|---|---|---:|---|---|")
    for name, e in doc["instances"].items():
        for g, res in e["gammas"].items():
            done = [r for r in res["runs"] if not r["skipped"]]
            bo = min((r for r in done if r["library"] == "theory_rl"), key=lambda r: r["total_s"])
            bp = min((r for r in done if r["library"] != "theory_rl"), key=lambda r: r["total_s"])
            rat = res["ratios"]
            vi, mpi = rat.get("our_VI_vs_mdpsolver_VI"), rat.get("our_MPI_vs_quantecon_MPI")
            lines.append(
                f"| {name} | {g} | {bo['solver']} {fmt_s(bo['total_s'])} | {bp['library']} {bp['solver']} "
                f"{fmt_s(bp['total_s'])} | **{bo['total_s'] / bp['total_s']:.2f}** | "
                + (f"{vi['end_to_end']:.2f}, {vi['solve_only']:.2f}" if vi else "-") + " | "
                + (f"{mpi['end_to_end']:.2f}, {mpi['solve_only']:.2f}" if mpi else "-") + " |")
    lines.append("")
    lines.append("One Bellman backup against the bandwidth floor (bytes of P / bandwidth measured next to it):")
    lines.append("")
    lines.append("| instance | P MiB | ours ms | floor ms | ours / floor | incl. r, v, Tv, policy | baseline | baseline / floor |")
    lines.append("|---|---:|---:|---:|---:|---:|---|---:|")
    for name, e in doc["instances"].items():
        fb = e["backup"]
        o, b = fb["ours"], fb["baseline"]
        lines.append(f"| {name} | {fb['P_bytes'] / 2**20:.1f} | {o['time_ms']:.2f} | {o['floor_ms']:.2f} | "
                     f"{o['ratio']:.2f}x | {o['ratio_all_arrays']:.2f}x | {fb['baseline_label']} {b['time_ms']:.2f} ms | "
                     f"{b['ratio']:.2f}x |")
    for e in doc["instances"].values():
        for g, res in e["gammas"].items():
            lines.append("")
            lines.append(f"**{e['label']}, gamma = {g}** (reference certified within "
                         f"{res['reference']['certified_error_bound']:.1e})")
            lines.append("")
            lines.append(r"| library | solver | setup s | solve s | total s | iterations | peak MiB | \|v - v*\| | certified |")
            lines.append("|---|---|---:|---:|---:|---|---:|---:|---|")
            for r in res["runs"]:
                if r["skipped"]:
                    lines.append(f"| {r['library']} | {r['solver']} | | | | skipped: {r['skipped']} | | | |")
                    continue
                mem = max(r["setup_mib"] or 0.0, r["solve_mib"] or 0.0)
                lines.append(f"| {r['library']} | {r['solver']} | {fmt_s(r['setup_s'])} | {fmt_s(r['solve_s'])} | "
                             f"{fmt_s(r['total_s'])} | {r['iterations']} | {mem:.0f} | {r['error']:.1e} | {r['certified']} |")
            rat = res["ratios"]
            parts = []
            for k, val in rat.items():
                if "ratio" in val:
                    parts.append(f"{k.replace('_', ' ')}: **{val['ratio']:.2f}** ({val['ours']} / {val['peer']})")
                else:
                    parts.append(f"{k.replace('_', ' ')}: **{val['end_to_end']:.2f}** end-to-end, "
                                 f"{val['solve_only']:.2f} solve only")
            lines.append("")
            lines.append("Ratios (ours / peer): " + "; ".join(parts) + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced instance sizes (< 2 minutes)")
    ap.add_argument("--instances", nargs="+", choices=list(INSTANCES), default=list(INSTANCES))
    ap.add_argument("--gammas", nargs="+", type=float, default=[0.99, 0.999])
    ap.add_argument("--no-peers", action="store_true", help="only our solvers (and the backup timing)")
    ap.add_argument("--output", default=None if "--quick" in (argv or sys.argv) else RESULTS,
                    help="JSON file (default bench/results/tabular.json for a full run, none for --quick)")
    ap.add_argument("--markdown", metavar="JSON", help="print the README tables of a results file and exit")
    args = ap.parse_args(argv)
    if args.markdown:
        with open(args.markdown) as fh:
            print(render_markdown(json.load(fh)))
        return 0
    global PEER_LIMIT_S
    if args.quick:
        PEER_LIMIT_S = 10.0

    t_start = time.perf_counter()
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    info = machine_info()
    print(f"theory_rl {info['versions']['theory_rl']} on {info['cpu']}, {info['cores']} cores, "
          f"{info['memory_GiB']} GiB; numba threads {info['numba_threads']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print(f"target: tol = {TOL:g} (policy tol-optimal; values certified); peers skipped when predicted > {PEER_LIMIT_S:.0f} s")
    warm = warm_up()
    print(f"warm-up (numba compile/cache load, ours and QuantEcon's): {warm:.2f} s, excluded from timings")
    bw = Bandwidth()
    print(f"memory read bandwidth: {bw.measure(7):.1f} GB/s ({bw.threads} threads; remeasured next to every backup timing)")

    doc: dict[str, Any] = {"machine": info, "tol": TOL, "quick": args.quick, "warm_up_s": warm, "instances": {}}
    summary_rows = []
    for name in args.instances:
        label, gen, a_full, kw_full, a_quick, kw_quick = INSTANCES[name]
        a, kw = (a_quick, kw_quick) if args.quick else (a_full, kw_full)
        P, R = instance_arrays(gen, *a, **kw)
        S, A = R.shape
        nnz = P.nnz if sp.issparse(P) else P.size
        if args.quick:
            label = f"{label.split(' S=')[0].split(' 200')[0]} (quick: {gen}{a})"
        print(f"\n=== {label}: S={S:,}, A={A}, {'CSR' if sp.issparse(P) else 'dense'}, "
              f"{nnz:,} stored probabilities, P = {p_bytes(P) / 2**20:.1f} MiB")
        fb = backup_vs_floor(P, R, bw)
        o, b = fb["ours"], fb["baseline"]
        print(f"  one backup: ours {o['time_ms']:.2f} ms vs floor {o['floor_ms']:.2f} ms "
              f"(P bytes / {o['bandwidth_GBps']:.1f} GB/s) = {o['ratio']:.2f}x "
              f"[{o['ratio_all_arrays']:.2f}x counting r, v, Tv, policy too]; "
              f"{fb['baseline_label']}: {b['time_ms']:.2f} ms = {b['ratio']:.2f}x")
        if "ours_v_in_L1" in fb:
            d = fb["ours_v_in_L1"]
            print(f"  (diagnostic: same kernel with v's gathers confined to L1: {d['time_ms']:.2f} ms = {d['ratio']:.2f}x floor)")
        entry: dict[str, Any] = {"label": label, "generator": gen, "args": list(a), "kwargs": kw, "S": S, "A": A,
                                 "nnz": int(nnz), "backup": fb, "gammas": {}}
        for gamma in args.gammas:
            ours, mdp = run_ours(P, R, gamma, None)
            v_ref, ref_info = reference(mdp, ours[2], ours[0])
            for r in ours:
                sol = r._sol  # type: ignore[attr-defined]
                r.error = err_inf(sol.v, v_ref)
                if r.error > sol.bound + ref_info["certified_error_bound"] + 1e-12 * np.max(np.abs(v_ref)):
                    r.certified += "  WRONG: error exceeds the certified bound"
            runs = list(ours)
            if not args.no_peers:
                vi_backups = ours[0]._sol.n_iter  # type: ignore[attr-defined]
                pi_iters = ours[2]._sol.n_iter  # type: ignore[attr-defined]
                runs += quantecon_runs(P, R, gamma, v_ref, vi_backups, pi_iters)
                gc.collect()
                runs += mdpsolver_runs(P, R, gamma, v_ref)
                gc.collect()
                runs += pymdptoolbox_runs(P, R, gamma, v_ref, pi_iters)
                gc.collect()
                runs += lp_runs(mdp, v_ref)
                gc.collect()
            print_table(label, gamma, runs)
            rat = ratios(runs)
            if rat:
                print("  ratios (ours / peer; < 1 means ours is faster):")
                for k, val in rat.items():
                    if "ratio" in val:
                        print(f"    {k}: {val['ours']} / {val['peer']} = {val['ratio']:.2f}")
                    else:
                        print(f"    {k}: end-to-end {val['end_to_end']:.2f}, solve only {val['solve_only']:.2f}")
            ref_txt = (f"reference v*: {ref_info['method']}, certified within {ref_info['certified_error_bound']:.1e}; "
                       f"inside VI's certified bounds: {ref_info['inside_value_iteration_bounds']}")
            print("  " + ref_txt)
            entry["gammas"][str(gamma)] = {"reference": ref_info, "runs": [r.to_dict() for r in runs], "ratios": rat}
            summary_rows.append((name, gamma, rat))
            del mdp, ours, runs
            gc.collect()
        doc["instances"][name] = entry
        del P, R
        gc.collect()

    doc["bandwidth"] = bw.summary()
    doc["elapsed_s"] = time.perf_counter() - t_start
    print("\n=== summary (ours / peer time; < 1 means ours is faster)")
    for name, gamma, rat in summary_rows:
        be = rat.get("best_ours_vs_fastest_peer_end_to_end")
        vi = rat.get("our_VI_vs_mdpsolver_VI")
        mpi = rat.get("our_MPI_vs_quantecon_MPI")
        parts = []
        if be:
            parts.append(f"best e2e {be['ratio']:.2f} ({be['ours'].split()[-2] if len(be['ours'].split()) > 2 else be['ours']} vs {be['peer']})")
        if vi:
            parts.append(f"VI/mdpsolver VI {vi['end_to_end']:.2f} e2e, {vi['solve_only']:.2f} solve")
        if mpi:
            parts.append(f"MPI/QE MPI {mpi['end_to_end']:.2f} e2e, {mpi['solve_only']:.2f} solve")
        print(f"  {name:10s} gamma {gamma:<6g} " + "; ".join(parts))
    bs = doc["bandwidth"]
    for name in args.instances:
        fb = doc["instances"][name]["backup"]
        o = fb["ours"]
        o["ratio_vs_run_median_bandwidth"] = o["best_time_ms"] / (fb["P_bytes"] / (bs["median_GBps"] * 1e9) * 1e3)
        print(f"  {name:10s} backup {o['time_ms']:.2f} ms, floor {o['floor_ms']:.2f} ms, ratio {o['ratio']:.2f}x "
              f"(best {o['best_time_ms']:.2f} ms = {o['ratio_vs_run_median_bandwidth']:.2f}x the floor at the "
              f"run's median bandwidth)")
    print(f"  bandwidth: median {bs['median_GBps']:.1f} GB/s (min {bs['min_GBps']:.1f}, max {bs['max_GBps']:.1f}) "
          f"over {bs['measurements']} measurements; run took {doc['elapsed_s']:.0f} s")
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w") as fh:
            json.dump(with_provenance(doc), fh, indent=1, default=float)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
