"""Contrastive UCB with learned features against the true-feature oracle, several seeds; where the
gap comes from; the Markov-game version; the torch fit.

    OMP_NUM_THREADS=1 .venv/bin/python bench/contrastive_ucb_learned.py          # writes bench/results/contrastive_ucb_learned.json
    OMP_NUM_THREADS=1 .venv/bin/python bench/contrastive_ucb_learned.py --quick  # K = 300, two seeds
    OMP_NUM_THREADS=1 .venv/bin/python bench/contrastive_ucb_learned.py --holdout  # writes ..._holdout.json

Instances: the stationary random low-rank MDPs of ``bench/contrastive_ucb.py`` (S = 10, A = 3,
d = 5, H = 3), bonus scale beta = 0.5 for every learner. Per seed: cumulative regret at K = 3000,
its ratio to the oracle's (``representation="true_features"``), the log-log slope of regret over
K in {100, 300, 1000, 3000}, and wall time per episode. Decomposition: the learned model with the
true features' bonus, and the true features' model with the learned bonus (a subclass of the
private per-step estimator), to say which half of the representation costs regret. Offline: model
L1 error at n uniform transitions of the oracle's ridge fit, the rank-5 contrastive fit (expected
and sampled negatives) and the rank-5 truncated SVD of the empirical kernel, and the singular
values of the true kernel. Game: zero-sum low-rank Markov games (S = 4, A = B = 2, d = 2, H = 2),
exact duality gap of the marginals. Torch: one contrastive fit, torch (CPU) against scipy. Seeds 0-3 (the sampled-negatives
variant on seed 0, the two swaps on seeds 0-1, for time).

Diagnosis of the gap: ``pool_steps=True`` (one fit on the data of all H steps, valid on these
stationary instances) for the learned features and the oracle alike; each learner at each bonus
scale of the grid {0.1, 0.25, 0.5} (is one beta for all fair?); regret per window of episodes
(1-100, 101-300, 301-1000, 1001-3000); an instrumented run (the same loop as ``contrastive_ucb``,
same random stream, so the same regret) that records per window the model's mean L1 error, its
error on the greedy policy's state-action occupancy, the bonus there and the fraction of episodes
with ``V_bar_0 < V*_0`` at ``d0``; and a well-conditioned family (Dirichlet concentration 0.1:
near one-hot features, the fifth singular value 0.3-1.0 instead of 0.05-0.1) to separate the
identifiability of the span from the burn-in of representation learning; ``restart=True`` (the
better of a warm and a fresh start of each bilinear fit, by the contrastive loss).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

import theory_rl.learning._contrastive_ucb as cucb
from theory_rl.learning import (
    LowRankMDP,
    contrastive_fit,
    contrastive_fit_torch,
    contrastive_ucb,
    contrastive_ucb_game,
    feature_span_angles,
    random_low_rank_markov_game,
    random_low_rank_mdp,
)
from theory_rl.learning._low_rank import policy_q

S, A, D, H, BETA = 10, 3, 5, 3, 0.5


WINDOWS = ((0, 100), (100, 300), (300, 1000), (1000, 3000))
BETAS = (0.1, 0.25)  # the grid beside BETA


def instance(seed: int, concentration: float = 1.0) -> LowRankMDP:
    one = random_low_rank_mdp(S, A, rank=D, horizon=1, concentration=concentration, seed=seed)
    rep = lambda x: np.repeat(x, H, axis=0)  # noqa: E731
    return LowRankMDP(phi=rep(one.phi), mu=rep(one.mu), R=rep(one.R), d0=one.d0)


class _Hybrid(cucb.StepModels):
    """Learned features, with either the bonus or the model taken from the true features."""

    swap: str = ""
    truth: np.ndarray | None = None

    def _true(self) -> list[np.ndarray]:
        H_, S_, A_ = self.shape
        return [self.truth[h].reshape(S_ * A_, -1) for h in range(H_)]

    def refit(self, k: int) -> None:
        super().refit(k)
        if self.swap == "model":
            H_, S_, A_ = self.shape
            for h, f in enumerate(self._true()):
                sigma = self.lam * np.eye(f.shape[1]) + f.T @ (self.visits[h].reshape(-1, 1) * f)
                self.P_hat[h] = (f @ np.linalg.solve(sigma, f.T @ self.n_pos[h].reshape(S_ * A_, S_))).reshape(S_, A_, S_)

    def bonus(self, beta: float) -> np.ndarray:
        if self.swap != "bonus":
            return super().bonus(beta)
        learned, self.phi_hat = self.phi_hat, self._true()
        try:
            return super().bonus(beta)
        finally:
            self.phi_hat = learned


def run(m: LowRankMDP, K: int, seed: int, swap: str = "", beta: float = BETA, **options) -> tuple[np.ndarray, float]:
    original = cucb.StepModels
    if swap:
        _Hybrid.swap, _Hybrid.truth = swap, m.phi
        cucb.StepModels = _Hybrid
    try:
        t0 = time.perf_counter()
        res = contrastive_ucb(m, n_episodes=K, beta=beta, seed=seed, **options)
        return np.asarray(res.history["regret"]), time.perf_counter() - t0
    finally:
        cucb.StepModels = original


def instrumented(m: LowRankMDP, K: int, seed: int, representation: str) -> dict[str, list[float]]:
    """``contrastive_ucb``'s loop (same random stream, so the same regret) recording per window of
    episodes: regret, model L1 error (all pairs; on the greedy policy's occupancy), the bonus on that
    occupancy, and the fraction of episodes where optimism at ``d0`` fails."""
    rng = np.random.default_rng(seed)
    noise = np.full(S, 1.0 / S)
    v_star0 = float(m.d0 @ m.optimal_q()[0].max(axis=1))
    models = cucb.StepModels(H, S, A, D, representation=representation, noise=noise, negatives="expected", lam=1.0,
                             true_phi=m.phi if representation == "true_features" else None, device="cpu", rng=rng)
    cdf, rows = m.P.cumsum(axis=-1), np.arange(S)
    rec: dict[str, np.ndarray] = {k: np.zeros(K) for k in ("regret", "model_l1", "model_l1_on_policy", "bonus_on_policy", "optimism_fails")}
    for k in range(K):
        if k > 0:
            models.refit(k)
        bonus = models.bonus(BETA)
        q_bar = policy_q(models.P_hat, m.R + bonus, np.arange(H, 0, -1, dtype=float))
        policy = cucb._greedy(q_bar, rng)
        rec["regret"][k] = v_star0 - float(m.d0 @ m.policy_values(policy)[0])
        rec["optimism_fails"][k] = float(m.d0 @ q_bar[0].max(axis=1) < v_star0)
        err = np.abs(models.P_hat - m.P).sum(axis=-1)
        occ = m.d0.copy()
        on, bon = 0.0, 0.0
        for h in range(H):
            on += occ @ err[h, rows, policy[h]] / H
            bon += occ @ bonus[h, rows, policy[h]] / H
            occ = occ @ m.P[h, rows, policy[h]]
        rec["model_l1"][k], rec["model_l1_on_policy"][k], rec["bonus_on_policy"][k] = err.mean(), on, bon
        for h in range(H):
            s = int(rng.choice(S, p=m.d0))
            for t in range(h):
                s = cucb.next_state(cdf[t, s, policy[t, s]], rng)
            a = int(rng.integers(A))
            models.add(h, s, a, cucb.next_state(cdf[h, s, a], rng))
    return {name: [float(v[a:b].sum() if name == "regret" else v[a:b].mean()) for a, b in WINDOWS if b <= K]
            for name, v in rec.items()}


def mean_ci(x: list[float]) -> dict[str, float]:
    a = np.asarray(x, dtype=float)
    half = float(stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else float("nan")
    return {"mean": float(a.mean()), "ci95_low": float(a.mean() - half), "ci95_high": float(a.mean() + half), "n": len(a)}


def fits_phi(pos: np.ndarray, N: np.ndarray, noise: np.ndarray) -> np.ndarray:
    return contrastive_fit(pos, N[..., None] * noise, noise, rank=D, seed=0).phi[..., :D]


def offline(seed: int, sizes: list[int]) -> dict:
    m = instance(seed)
    P, noise = m.P[0], np.full(S, 1.0 / S)
    feats = m.phi[0].reshape(S * A, D)
    out = {"singular_values": np.linalg.svd(P.reshape(S * A, S), compute_uv=False)[:D].round(4).tolist(), "rows": []}
    rng = np.random.default_rng(100 + seed)
    for n in sizes:
        sa = rng.integers(0, S * A, n)
        s, a = sa // A, sa % A
        nxt = np.minimum((rng.random(n)[:, None] > P.cumsum(-1)[s, a]).sum(1), S - 1)
        pos = np.zeros((S, A, S))
        np.add.at(pos, (s, a, nxt), 1.0)
        sampled = np.zeros((S, A, S))
        np.add.at(sampled, (s, a, rng.integers(0, S, n)), 1.0)
        N = pos.sum(-1)
        sigma = np.eye(D) + feats.T @ (N.reshape(-1, 1) * feats)
        oracle = (feats @ np.linalg.solve(sigma, feats.T @ pos.reshape(S * A, S))).reshape(S, A, S)
        emp = np.where(N[..., None] > 0, pos / np.maximum(N[..., None], 1.0), noise)
        U, sv, Vt = np.linalg.svd(emp.reshape(S * A, S))
        svd = np.clip((U[:, :D] * sv[:D]) @ Vt[:D], 0.0, None).reshape(S, A, S)
        svd /= svd.sum(-1, keepdims=True)
        fits = {"oracle ridge (phi* known)": oracle, "rank-5 truncated SVD": svd,
                "contrastive rank 5, expected negatives": contrastive_fit(pos, N[..., None] * noise, noise, rank=D, seed=0).P,
                "contrastive rank 5, sampled negatives": contrastive_fit(pos, sampled, noise, rank=D, seed=0).P,
                "empirical (tabular)": emp}
        out["rows"].append({"n": n, **{k: float(np.abs(v - P).sum(-1).mean()) for k, v in fits.items()},
                            "noise_spectral_norm": float(np.linalg.norm((emp - P).reshape(S * A, S), 2)),
                            "largest_angle_expected": float(feature_span_angles(fits_phi(pos, N, noise), m.phi[0]).max())})
    return out


def write(name: str, payload: dict) -> None:
    """``bench/results/<name>.json``: the UTC date and time, the machine and the command, then ``payload``."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    machine = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "memory_GiB": round(mem),
               "python": platform.python_version(), "note": "shared 2-core VM, loaded"}
    out = Path(__file__).parent / "results" / f"{name}.json"
    out.write_text(json.dumps({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                               "machine": machine, "command": "OMP_NUM_THREADS=1 .venv/bin/python " + " ".join(sys.argv),
                               **payload}, indent=1))
    print("wrote", out)


def holdout(seeds: list[int], K: int) -> None:
    """The options were chosen on seeds 0-3; re-measure the chosen configuration on unseen seeds."""
    rows = {"learned (bilinear d=5)": {}, "oracle (true features)": {"representation": "true_features"},
            "learned, pooled steps, restart": {"pool_steps": True, "restart": True},
            "oracle, pooled steps": {"representation": "true_features", "pool_steps": True}}
    runs = []
    for seed in seeds:
        for name, options in rows.items():
            reg, wall = run(instance(seed), K, seed, **options)
            runs.append({"seed": seed, "method": name, "regret": float(reg[-1]), "regret_first_100": float(reg[99]),
                         "wall_per_episode_ms": 1e3 * wall / K})
            print(json.dumps(runs[-1]), flush=True)
    summary = {}
    for name, reference in (("learned (bilinear d=5)", "oracle (true features)"),
                            ("learned, pooled steps, restart", "oracle, pooled steps")):
        mine = np.array([r["regret"] for r in runs if r["method"] == name])
        ref = np.array([r["regret"] for r in runs if r["method"] == reference])
        summary[name] = {"reference": reference, "regret": mean_ci(list(mine)), "reference_regret": mean_ci(list(ref)),
                         "ratio_of_means": float(mine.mean() / ref.mean()), "log_ratio": mean_ci(list(np.log(mine / ref))),
                         "ratio_per_seed": (mine / ref).round(2).tolist()}
    write("contrastive_ucb_learned_holdout", {"instance": {"S": S, "A": A, "d": D, "H": H, "beta": BETA, "K": K, "seeds": seeds},
                                              "runs": runs, "summary": summary})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--holdout", action="store_true", help="only the chosen configuration on seeds 4-11")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.holdout:
        holdout(list(range(4, 12)), 3000)
        return
    K = 300 if args.quick else 3000
    seeds = [0, 1] if args.quick else [0, 1, 2, 3]
    marks = [k for k in (100, 300, 1000, 3000) if k <= K]
    oracle, oracle_pooled = "oracle (true features)", "oracle, pooled steps"
    # name -> (options, the oracle row it is compared with)
    variants = {"learned (bilinear d=5)": ({}, oracle), "learned, sampled negatives": ({"negatives": "sampled"}, oracle),
                "tabular (d=SA)": ({"representation": "tabular"}, oracle), oracle: ({"representation": "true_features"}, oracle),
                "learned model + true-feature bonus": ({"swap": "bonus"}, oracle),
                "true-feature model + learned bonus": ({"swap": "model"}, oracle),
                "learned, pooled steps": ({"pool_steps": True}, oracle_pooled),
                "learned, restart": ({"restart": True}, oracle),
                "learned, pooled steps, restart": ({"pool_steps": True, "restart": True}, oracle_pooled),
                oracle_pooled: ({"representation": "true_features", "pool_steps": True}, oracle_pooled)}
    for beta in BETAS:
        for pooled in (False, True):
            tail = f", beta {beta}" + (", pooled steps" if pooled else "")
            variants["oracle" + tail] = ({"representation": "true_features", "beta": beta, "pool_steps": pooled}, "oracle" + tail)
            variants["learned" + tail] = ({"beta": beta, "pool_steps": pooled}, "oracle" + tail)
        variants[f"learned, beta {beta}, pooled steps, restart"] = ({"beta": beta, "pool_steps": True, "restart": True},
                                                                     f"oracle, beta {beta}, pooled steps")
    for pooled in (False, True):
        tail = ", pooled steps" if pooled else ""
        variants["well-conditioned: oracle" + tail] = ({"representation": "true_features", "pool_steps": pooled, "concentration": 0.1},
                                                       "well-conditioned: oracle" + tail)
        variants["well-conditioned: learned" + tail] = ({"pool_steps": pooled, "concentration": 0.1}, "well-conditioned: oracle" + tail)
    variants["well-conditioned: learned, pooled steps, restart"] = (
        {"pool_steps": True, "restart": True, "concentration": 0.1}, "well-conditioned: oracle, pooled steps")
    runs, diagnosis = [], []
    for seed in seeds:
        for name, (options, _) in variants.items():
            if (name == "learned, sampled negatives" and seed > 0) or (options.get("swap") and seed > 1):
                continue
            options = dict(options)
            m = instance(seed, options.pop("concentration", 1.0))
            reg, wall = run(m, K, seed, **options)
            slope = float(np.polyfit(np.log(marks), np.log(np.maximum(reg[np.array(marks) - 1], 1e-12)), 1)[0])
            runs.append({"seed": seed, "method": name, "K": K, "regret_at": {str(k): float(reg[k - 1]) for k in marks},
                         "loglog_slope": slope, "wall_per_episode_ms": 1e3 * wall / K})
            print(json.dumps(runs[-1]), flush=True)
        for rep in ("bilinear", "true_features"):
            diagnosis.append({"seed": seed, "representation": rep, "windows": [list(w) for w in WINDOWS if w[1] <= K],
                              **instrumented(instance(seed), K, seed, rep)})
            print(json.dumps(diagnosis[-1]), flush=True)
    summary = {}
    for name, (_, reference) in variants.items():
        rows = [r for r in runs if r["method"] == name]
        ref = {r["seed"]: r["regret_at"][str(K)] for r in runs if r["method"] == reference}
        summary[name] = {"reference": reference, "regret": mean_ci([r["regret_at"][str(K)] for r in rows]),
                         "ratio_to_oracle": {str(r["seed"]): r["regret_at"][str(K)] / ref[r["seed"]] for r in rows},
                         "ratio_of_means": float(np.mean([r["regret_at"][str(K)] for r in rows])
                                                 / np.mean([ref[r["seed"]] for r in rows])),
                         "log_ratio": mean_ci([np.log(r["regret_at"][str(K)] / ref[r["seed"]]) for r in rows]),
                         "regret_first_100": mean_ci([r["regret_at"]["100"] for r in rows]),
                         "slope": mean_ci([r["loglog_slope"] for r in rows]),
                         "wall_per_episode_ms": mean_ci([r["wall_per_episode_ms"] for r in rows])}
    best = {}
    at_beta = {("learned", ""): "learned (bilinear d=5)", ("oracle", ""): oracle,
               ("learned", ", pooled steps"): "learned, pooled steps", ("oracle", ", pooled steps"): oracle_pooled,
               ("learned", ", pooled steps, restart"): "learned, pooled steps, restart"}
    for (learner, tail), name_at_beta in at_beta.items():
        names = {BETA: name_at_beta, **{beta: f"{learner}, beta {beta}{tail}" for beta in BETAS}}
        beta, name = min(names.items(), key=lambda item: summary[item[1]]["regret"]["mean"])
        best[learner + tail] = {"beta": beta, "method": name, "regret": summary[name]["regret"]}
    for tail, oracle_tail in (("", ""), (", pooled steps", ", pooled steps"), (", pooled steps, restart", ", pooled steps")):
        best["ratio of the best means" + tail] = best["learned" + tail]["regret"]["mean"] / best["oracle" + oracle_tail]["regret"]["mean"]
    off = [offline(seed, [300, 1000, 3000] if args.quick else [300, 1000, 3000, 10000]) for seed in seeds[:2]]
    well = [np.linalg.svd(instance(seed, 0.1).P[0].reshape(S * A, S), compute_uv=False)[D - 1] for seed in seeds]
    game = []
    for seed in (0, 1) if args.quick else (0, 1, 2):
        g = random_low_rank_markov_game(4, 2, rank=2, horizon=2, seed=seed)
        for rep in ("true_features", "bilinear"):
            t0 = time.perf_counter()
            res = contrastive_ucb_game(g, n_episodes=200, representation=rep, beta=0.1, seed=seed)
            gap, cert = res.history["gap"], res.history["certificate"]
            game.append({"seed": seed, "representation": rep, "gap_first_10": float(gap[:10].mean()),
                         "gap_last_20": float(gap[-20:].mean()), "certificate_first": float(cert[0]),
                         "certificate_last": float(cert[-1]), "certificate_bounds_gap": float((cert >= gap - 1e-9).mean()),
                         "wall_per_episode_ms": 1e3 * (time.perf_counter() - t0) / 200})
            print(json.dumps(game[-1]), flush=True)
    m = instance(0)
    rng = np.random.default_rng(0)
    n_pos = rng.poisson(100 * m.P[0]).astype(float)
    negs = n_pos.sum(-1, keepdims=True) * np.full(S, 1.0 / S)
    t0 = time.perf_counter()
    ref = contrastive_fit(n_pos, negs, np.full(S, 1.0 / S), rank=D, seed=0)
    t1 = time.perf_counter()
    tfit = contrastive_fit_torch(n_pos, negs, np.full(S, 1.0 / S), rank=D, device="cpu", seed=0)
    t2 = time.perf_counter()
    fit_timing = {"scipy_s": t1 - t0, "torch_cpu_s": t2 - t1, "scipy_loss": ref.loss, "torch_loss": tfit.loss,
                  "note": "one rank-5 fit on 3000 transitions (S = 10, A = 3); no GPU was lent to this task"}
    print(json.dumps(fit_timing), flush=True)
    write("contrastive_ucb_learned_quick" if args.quick else "contrastive_ucb_learned",
          {"instance": {"S": S, "A": A, "d": D, "H": H, "beta": BETA, "beta_grid": [*BETAS, BETA], "K": K, "seeds": seeds,
                        "well_conditioned_fifth_singular_value": [float(x) for x in well]},
           "runs": runs, "summary": summary, "best_beta": best, "diagnosis": diagnosis, "offline": off, "game": game,
           "fit_timing": fit_timing})


if __name__ == "__main__":
    main()
