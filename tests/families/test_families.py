"""MDP families: sampling, evaluation through the sweep engine, rliable statistics, Kendall tau,
k-means representatives, bootstrap coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theory_rl.errors import InvalidArgumentError
from theory_rl.families import (
    evaluate_family,
    family_statistics,
    gridworld_family,
    kmeans_representatives,
    random_mdp_family,
    rank_agreement,
    representative_error,
    river_swim_family,
    score_matrix,
)
from theory_rl.tabular import value_iteration


def optimal(mdp, seed):
    return value_iteration(mdp, tol=1e-8).policy


def always_right(mdp, seed):
    return np.ones(mdp.n_states, dtype=int)


def noisy(mdp, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, mdp.n_actions, size=mdp.n_states)


def test_sampling_is_seeded_and_within_bounds():
    fam = gridworld_family()
    a, b = fam.sample(50, seed=3), fam.sample(50, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert a["size"].between(4, 7).all() and a["slip"].between(0, 0.4).all()
    assert a["size"].dtype.kind == "i" and a["slip"].dtype.kind == "f"
    for phi in a.head(3).to_dict("records"):
        mdp = fam.make(phi)
        assert mdp.n_states == phi["size"] ** 2 and mdp.gamma == pytest.approx(phi["gamma"])
    assert random_mdp_family().make(random_mdp_family().nominal).n_actions == 3


def test_evaluate_family_runs_through_the_sweep_and_resumes(tmp_path):
    fam = river_swim_family()
    methods = {"optimal": optimal, "right": always_right, "noisy": noisy}
    store = tmp_path / "fam.jsonl"
    df = evaluate_family(methods, fam, n_instances=3, seeds=2, backend="serial", store=store)
    assert len(df) == 3 * 4 * 2 and set(df["instance"]) == {-1, 0, 1, 2}
    np.testing.assert_allclose(df[df["method"] == "optimal"]["normalized"], 1.0, atol=1e-6)
    lines = store.read_text().count("\n")
    again = evaluate_family(methods, fam, n_instances=3, seeds=2, backend="serial", store=store)
    assert store.read_text().count("\n") == lines  # nothing recomputed
    pd.testing.assert_frame_equal(df, again)
    joblib = evaluate_family(methods, fam, n_instances=3, seeds=2, backend="joblib", n_jobs=2)
    assert (df["elapsed"] >= 0).all()
    pd.testing.assert_frame_equal(df.drop(columns="elapsed"), joblib.drop(columns="elapsed"))  # times differ


def test_kendall_tau_is_one_when_every_instance_ranks_alike_and_flips_are_counted():
    point = pd.Series({"a": 1.0, "b": 2.0, "c": 3.0})
    same = rank_agreement(point, pd.Series({"a": 10.0, "b": 11.0, "c": 30.0}))
    assert same.tau == pytest.approx(1.0) and same.rank_flips == 0
    rev = rank_agreement(point, pd.Series({"a": 3.0, "b": 2.0, "c": 1.0}))
    assert rev.tau == pytest.approx(-1.0) and rev.rank_flips == 3
    tied = rank_agreement(pd.Series({"a": 1.0, "b": 1.0 + 1e-15, "c": 2.0}), pd.Series({"a": 1.0, "b": 2.0, "c": 3.0}))
    assert tied.rank_flips == 0 and tied.point_ties == 1 and tied.tau < 1
    with pytest.raises(InvalidArgumentError):
        rank_agreement(point, pd.Series({"a": 1.0}))


def test_k_equal_to_the_number_of_instances_reproduces_j_fam_and_error_shrinks():
    rng = np.random.default_rng(0)
    phis = rng.random((40, 2))
    scores = np.sin(3 * phis[:, 0]) + phis[:, 1] ** 2
    err = representative_error(phis, scores, ks=[1, 5, 40], seed=0)
    assert err["error"].iloc[-1] == pytest.approx(0.0, abs=1e-12)
    assert err["error"].iloc[1] < err["error"].iloc[0] or err["error"].iloc[0] < 1e-3
    idx, w = kmeans_representatives(phis, k=40, seed=0)
    assert sorted(idx.tolist()) == list(range(40)) and w.sum() == pytest.approx(1.0)


def _synthetic(rng, means, n_runs=5, noise=0.3):
    rows = []
    for m, mu in means.items():
        for i, base in enumerate(mu):
            for r in range(n_runs):
                rows.append({"method": m, "instance": i, "replicate": r, "normalized": base + noise * rng.standard_normal()})
    return pd.DataFrame(rows)


def test_bootstrap_interval_covers_the_true_mean_near_nominal():
    """Known per-instance means, Gaussian replicate noise: the 90% stratified-bootstrap interval of the
    mean should cover the true family mean (over these instances) about 90% of the time."""
    rng = np.random.default_rng(1)
    mu = rng.random(8)
    hits, n_trials = 0, 60
    for _ in range(n_trials):
        df = _synthetic(rng, {"a": mu}, n_runs=10)
        row = family_statistics(df, n_boot=200, level=0.9, seed=rng).table.iloc[0]
        hits += row["mean_low"] <= mu.mean() <= row["mean_high"]
    assert 0.75 <= hits / n_trials <= 0.99


def test_statistics_through_rliable_match_direct_formulas():
    from scipy.stats import trim_mean

    rng = np.random.default_rng(2)
    df = _synthetic(rng, {"a": rng.random(6), "b": rng.random(6) + 0.5})
    stats = family_statistics(df, n_boot=100, seed=0)
    methods, scores = score_matrix(df)
    assert methods == ["a", "b"]
    np.testing.assert_allclose(stats.table["mean"], scores.mean(axis=(1, 2)))
    np.testing.assert_allclose(stats.table["iqm"], [trim_mean(s.ravel(), 0.25) for s in scores])
    x, y = scores
    direct = np.mean([(x[:, t][:, None] > y[:, t][None]).mean() + 0.5 * (x[:, t][:, None] == y[:, t][None]).mean()
                      for t in range(6)])
    assert stats.improvement.loc["a", "b"] == pytest.approx(direct)
    assert stats.improvement.loc["a", "b"] + stats.improvement.loc["b", "a"] == pytest.approx(1.0)
