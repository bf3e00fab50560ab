r"""Family statistics: aggregate scores with stratified-bootstrap intervals and probabilities of
improvement (through ``rliable``), rank agreement between the point MDP and the family, and
k-means representatives that approximate ``J_fam`` with fewer evaluations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._result import Result
from .._validation import check_choice, check_int, check_real, rng_from_seed
from ..errors import DependencyNotInstalled, InvalidArgumentError

__all__ = ["FamilyStatsResult", "RankAgreementResult", "family_statistics", "kmeans_representatives",
           "rank_agreement", "representative_error", "score_matrix"]


def _rliable_metrics():
    try:
        from rliable import metrics
    except ImportError:  # pragma: no cover - rliable is in the families extra
        raise DependencyNotInstalled("rliable", "families") from None
    return metrics


def score_matrix(df, *, score: str = "normalized") -> tuple[list[str], np.ndarray]:
    """``(methods, scores)`` with ``scores[m]`` of shape ``(n_runs, n_tasks)`` (replicates x instances,
    rliable's layout) from :func:`evaluate_family`'s table; the nominal instance (``-1``) is left out.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"method": ["a", "a"], "instance": [0, 1], "replicate": [0, 0], "normalized": [0.5, 1.0]})
    >>> score_matrix(df)[1].tolist()
    [[[0.5, 1.0]]]
    """
    check_choice(score, "score", ("normalized", "return"))
    fam = df[df["instance"] >= 0]
    methods = sorted(fam["method"].unique())
    mats = [fam[fam["method"] == m].pivot(index="replicate", columns="instance", values=score).to_numpy()
            for m in methods]
    return methods, np.stack(mats)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class FamilyStatsResult(Result):
    """What :func:`family_statistics` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per method: ``mean``, ``mean_low``, ``mean_high``, ``iqm``, ``iqm_low``, ``iqm_high``.
    improvement : pandas.DataFrame
        ``improvement.loc[x, y] = P(X > Y)``, averaged over the instances (rliable's probability of improvement).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from theory_rl import families
    >>> rng = np.random.default_rng(0)
    >>> rows = [{"method": m, "instance": i, "replicate": 0, "normalized": mu + 0.1 * rng.standard_normal()}
    ...         for m, mu in (("a", 0.2), ("b", 0.8)) for i in range(5)]
    >>> stats = families.family_statistics(pd.DataFrame(rows), n_boot=100, seed=0)
    >>> type(stats).__name__, stats.table["mean"].round(1).tolist()
    ('FamilyStatsResult', [0.2, 0.8])
    """

    table: Any
    improvement: Any


def family_statistics(df, *, score: str = "normalized", n_boot: int = 2000, level: float = 0.95,
                      seed: int | np.random.Generator | None = None) -> FamilyStatsResult:
    r"""Mean and interquartile mean (IQM) over (replicate, instance) with stratified-bootstrap
    percentile intervals, and the probability of improvement, as Agarwal et al. (2021), "Deep RL at
    the edge of the statistical precipice", NeurIPS, arXiv:2108.13264, define them.

    The point estimates and the probability of improvement are computed by ``rliable.metrics``
    (``aggregate_mean``, ``aggregate_iqm``, ``probability_of_improvement``). The bootstrap resamples
    the replicates within each instance (rliable's ``StratifiedBootstrap`` with
    ``task_bootstrap=False``) with a seeded generator here: rliable 1.2's ``get_interval_estimates``
    draws from numpy's global generator and does not run with ``arch`` 8 (it passes
    ``random_state`` to ``arch``, which now refuses it), and ``arch`` 7 does not import under pandas 3.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = [{"method": m, "instance": i, "replicate": r, "normalized": mu + 0.1 * rng.standard_normal()}
    ...         for m, mu in (("a", 0.2), ("b", 0.8)) for i in range(5) for r in range(4)]
    >>> stats = family_statistics(pd.DataFrame(rows), n_boot=200, seed=0)
    >>> stats.table["mean"].round(1).tolist(), round(float(stats.improvement.loc["b", "a"]), 2)
    ([0.2, 0.8], 1.0)
    """
    n_boot = check_int(n_boot, "n_boot")
    level = check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    metrics = _rliable_metrics()
    import pandas as pd

    methods, scores = score_matrix(df, score=score)
    rng = rng_from_seed(seed)
    n_runs, n_tasks = scores.shape[1:]
    cols = np.arange(n_tasks)[None, :]
    rows = []
    for name, x in zip(methods, scores):
        boot = np.empty((n_boot, 2))
        for b in range(n_boot):
            resampled = x[rng.integers(0, n_runs, size=(n_runs, n_tasks)), cols]
            boot[b] = metrics.aggregate_mean(resampled), metrics.aggregate_iqm(resampled)
        lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
        rows.append({"method": name, "mean": float(metrics.aggregate_mean(x)), "mean_low": lo[0], "mean_high": hi[0],
                     "iqm": float(metrics.aggregate_iqm(x)), "iqm_low": lo[1], "iqm_high": hi[1]})
    poi = np.array([[metrics.probability_of_improvement(x, y) if i != j else 0.5
                     for j, y in enumerate(scores)] for i, x in enumerate(scores)])
    return FamilyStatsResult(table=pd.DataFrame(rows), improvement=pd.DataFrame(poi, index=methods, columns=methods),
                             method="family_statistics", params={"score": score, "n_boot": n_boot, "level": level})


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class RankAgreementResult(Result):
    """What :func:`rank_agreement` returns.

    Attributes
    ----------
    tau : float
        Kendall's tau-b between the two score vectors (1: same order, -1: reversed).
    p_value : float
    rank_flips : int
        Pairs of methods ordered one way by the point scores and strictly the other way by the family scores.
    point_ties : int
        Pairs the point scores do not separate (equal scores) while the family scores do.
    n_pairs : int
    point_ranking, family_ranking : list of str
        Methods from best to worst.

    Examples
    --------
    >>> import pandas as pd
    >>> from theory_rl import families
    >>> res = families.rank_agreement(pd.Series({"a": 1.0, "b": 2.0}), pd.Series({"a": 0.1, "b": 0.3}))
    >>> type(res).__name__, round(res.tau, 3), res.rank_flips
    ('RankAgreementResult', 1.0, 0)
    """

    tau: float
    p_value: float
    rank_flips: int
    point_ties: int
    n_pairs: int
    point_ranking: list
    family_ranking: list


def _merge_close(v: np.ndarray, atol: float) -> np.ndarray:
    """Scores within ``atol`` of their sorted neighbour share one value (ties that rounding split)."""
    order = np.argsort(v, kind="stable")
    out = v.copy()
    for a, b in zip(order[:-1], order[1:]):
        if v[b] - out[a] <= atol:
            out[b] = out[a]
    return out


def rank_agreement(point, family, *, atol: float = 1e-9) -> RankAgreementResult:
    r"""Does the point MDP rank the methods as the family does? Kendall's tau-b
    (``scipy.stats.kendalltau``), the flipped pairs, and the pairs the point MDP cannot separate.

    Parameters
    ----------
    point, family : pandas.Series
        Scores indexed by method (e.g. the nominal instance's mean and the family mean).
    atol : float
        Scores closer than this are ties (two methods with the same policy can differ in the last
        bits of a mean).

    Examples
    --------
    >>> import pandas as pd
    >>> r = rank_agreement(pd.Series({"a": 1.0, "b": 2.0, "c": 3.0}), pd.Series({"a": 0.1, "b": 0.3, "c": 0.2}))
    >>> round(r.tau, 3), r.rank_flips, r.point_ties, r.family_ranking
    (0.333, 1, 0, ['b', 'c', 'a'])
    """
    from scipy.stats import kendalltau

    methods = sorted(set(point.index) & set(family.index))
    if len(methods) < 2 or len(methods) != len(point) or len(methods) != len(family):
        raise InvalidArgumentError("point and family must score the same two or more methods")
    atol = check_real(atol, "atol", low=0.0)
    x = _merge_close(np.array([point[m] for m in methods], dtype=float), atol)
    y = _merge_close(np.array([family[m] for m in methods], dtype=float), atol)
    res = kendalltau(x, y)
    i, j = np.triu_indices(len(methods), 1)
    flips = int((np.sign(x[i] - x[j]) * np.sign(y[i] - y[j]) < 0).sum())
    ties = int(((x[i] == x[j]) & (y[i] != y[j])).sum())
    return RankAgreementResult(tau=float(res.statistic), p_value=float(res.pvalue), rank_flips=flips, point_ties=ties,
                               n_pairs=len(i), point_ranking=[methods[k] for k in np.argsort(-x, kind="stable")],
                               family_ranking=[methods[k] for k in np.argsort(-y, kind="stable")],
                               method="kendall_tau")


def kmeans_representatives(phis, *, k: int, seed: int | np.random.Generator | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
    r"""``k`` representative instances of a family sample and their weights.

    k-means (scikit-learn) on the standardised parameters; each cluster is represented by its
    member nearest the centroid, weighted by the cluster's share of the instances, so that
    ``J_fam ~ sum_j w_j J(M_{rep_j})`` (Jayawardana et al. 2022, arXiv:2210.08607, section 5).
    With ``k = n`` every instance is its own representative and the estimate is exact.

    Returns
    -------
    (indices, weights) : ndarray of int64 ``(k,)``, ndarray ``(k,)`` summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> idx, w = kmeans_representatives(np.array([[0.0], [0.1], [5.0], [5.2]]), k=2, seed=0)
    >>> sorted(w.tolist())
    [0.5, 0.5]
    """
    from sklearn.cluster import KMeans

    X = np.asarray(phis.to_numpy() if hasattr(phis, "to_numpy") else phis, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    k = check_int(k, "k", minimum=1, maximum=len(X))
    scale = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    random_state = int(rng_from_seed(seed).integers(0, 2**31 - 1))
    km = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit(Z)
    labels = km.labels_
    idx, weights = [], []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if members.size == 0:
            continue
        d = ((Z[members] - km.cluster_centers_[c]) ** 2).sum(axis=1)
        idx.append(int(members[np.argmin(d)]))
        weights.append(members.size / len(X))
    return np.asarray(idx, dtype=np.int64), np.asarray(weights)


def representative_error(phis, scores, *, ks, seed: int | np.random.Generator | None = None):
    r"""``|J_fam - sum_j w_j J(rep_j)|`` for each ``k`` in ``ks``: how well ``k`` representatives
    (:func:`kmeans_representatives`) stand in for the whole sample. ``scores[i]`` is a method's
    score on instance ``i``; ``J_fam`` is their mean.

    Returns
    -------
    pandas.DataFrame
        Columns ``k``, ``estimate``, ``j_fam``, ``error``.

    Examples
    --------
    >>> import numpy as np
    >>> phis = np.arange(6.0)[:, None]
    >>> representative_error(phis, phis[:, 0] ** 2, ks=[6], seed=0)["error"].tolist()
    [0.0]
    """
    import pandas as pd

    scores = np.asarray(scores, dtype=np.float64)
    j_fam = float(scores.mean())
    rows = []
    for k in ks:
        idx, w = kmeans_representatives(phis, k=k, seed=seed)
        est = float(w @ scores[idx])
        rows.append({"k": int(k), "estimate": est, "j_fam": j_fam, "error": abs(est - j_fam)})
    return pd.DataFrame(rows)
