r"""Measured rates: log-log slope with a bootstrap confidence interval, compared with a theorem."""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._result import ResultMixin
from .._validation import rng_from_seed
from ..errors import InvalidModelError

__all__ = ["RateComparison", "RateFit", "compare_rate", "fit_rate", "plot_rate"]


@dataclass(frozen=True, repr=False, eq=False)
class RateFit(ResultMixin):
    """Least-squares fit of ``log y = intercept + slope * log x`` with a bootstrap CI on the slope.

    ``x``, ``y`` hold the points used (positive and finite); ``n_dropped`` counts the others.
    """

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    level: float
    n_points: int
    n_dropped: int
    x_name: str
    y_name: str
    x: np.ndarray
    y: np.ndarray

    _repr_fields = ("slope", "ci_low", "ci_high", "n_points")

    def predict(self, x: Any) -> np.ndarray:
        return np.exp(self.intercept) * np.asarray(x, dtype=float) ** self.slope


@dataclass(frozen=True, repr=False, eq=False)
class RateComparison(ResultMixin):
    """A measured slope against a theorem's exponent: ``inside`` says whether the exponent lies in the CI."""

    measured: float
    ci_low: float
    ci_high: float
    theory: float
    inside: bool
    difference: float
    verdict: str

    _repr_fields = ("measured", "theory", "inside", "verdict")


def _slopes(lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """OLS slopes along the last axis (NaN where x has no spread)."""
    mx = lx.mean(axis=-1, keepdims=True)
    my = ly.mean(axis=-1, keepdims=True)
    sxx = ((lx - mx) ** 2).sum(axis=-1)
    sxy = ((lx - mx) * (ly - my)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), np.nan)


def fit_rate(df: Any, x: str, y: str, *, n_boot: int = 2000, level: float = 0.95,
             seed: int | np.random.Generator | None = 0) -> RateFit:
    r"""Fit ``y ~ C x^slope`` on a log-log scale, with a percentile-bootstrap CI for ``slope``.

    .. math:: \log y_i = \log C + \text{slope} \cdot \log x_i + e_i,

    fitted by least squares over all rows (every replicate counts). The CI resamples rows with
    replacement ``n_boot`` times (vectorised) and takes the ``(1-level)/2`` and ``(1+level)/2``
    quantiles of the refitted slopes. Rows with non-positive or non-finite ``x`` or ``y`` are
    dropped (a log-log fit cannot use them) and counted in ``n_dropped``.

    Parameters
    ----------
    df : pandas.DataFrame or mapping of column -> array
    x, y : str
        Column names.
    n_boot : int
    level : float
        Confidence level in ``(0, 1)``.
    seed : int or numpy.random.Generator
    """
    for name in (x, y):
        if name not in df:
            raise InvalidModelError(f"column {name!r} is not in the table (columns: {', '.join(map(str, df))})")
    if not (0.0 < level < 1.0):
        raise InvalidModelError(f"level = {level!r} must lie in (0, 1)")
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 10:
        raise InvalidModelError(f"n_boot = {n_boot!r} must be an integer >= 10")
    xs = np.asarray(df[x], dtype=float)
    ys = np.asarray(df[y], dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys) & (xs > 0) & (ys > 0)
    xs, ys = xs[keep], ys[keep]
    if np.unique(xs).size < 2:
        raise InvalidModelError(f"fit_rate needs positive {y!r} at two or more distinct values of {x!r}")
    lx, ly = np.log(xs), np.log(ys)
    slope = float(_slopes(lx, ly))
    intercept = float(ly.mean() - slope * lx.mean())
    rng = rng_from_seed(seed)
    idx = rng.integers(0, lx.size, size=(int(n_boot), lx.size))
    boot = _slopes(lx[idx], ly[idx])
    boot = boot[np.isfinite(boot)]
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return RateFit(slope=slope, intercept=intercept, ci_low=float(lo), ci_high=float(hi), level=float(level),
                   n_points=int(lx.size), n_dropped=int((~keep).sum()), x_name=x, y_name=y, x=xs, y=ys)


_ALIASES = {"one_minus_gamma": "1-gamma", "epsilon": "eps"}


def compare_rate(fit: RateFit, theory_exponent: Any, *, parameter: str | None = None) -> RateComparison:
    """Whether the theorem's exponent lies inside the fit's confidence interval.

    ``theory_exponent`` is a number, or a bound from :mod:`theory_rl.theory` (anything with an
    ``exponents`` dict), whose exponent for ``parameter`` (default: the fit's ``x`` column;
    ``one_minus_gamma`` is read as ``1-gamma``) is used.
    """
    if hasattr(theory_exponent, "exponents"):
        name = parameter or fit.x_name
        exponents = theory_exponent.exponents
        key = name if name in exponents else _ALIASES.get(name, name)
        if key not in exponents:
            raise InvalidModelError(f"the bound has no exponent for {name!r} (it has {', '.join(exponents)})")
        theory_exponent = exponents[key]
    theory = float(theory_exponent)
    inside = bool(fit.ci_low <= theory <= fit.ci_high)
    if inside:
        verdict = "consistent with the theorem"
    elif fit.ci_high < theory:
        verdict = "measured slope below the theorem's exponent"
    else:
        verdict = "measured slope above the theorem's exponent"
    return RateComparison(measured=fit.slope, ci_low=fit.ci_low, ci_high=fit.ci_high, theory=theory, inside=inside,
                          difference=fit.slope - theory, verdict=verdict)


def plot_rate(fit: RateFit, *, theory_exponent: float | None = None, ax: Any = None, label: str | None = None,
              title: str | None = None, color: str | None = None, path: str | os.PathLike[str] | None = None):
    """Draw the measured points (faint), their geometric means per ``x`` (markers), the fitted
    line with its CI in the legend, and the theorem's slope through the data's centre (dashed);
    the legend sits to the right of the axes, never over the points.

    Returns the matplotlib ``Axes``; with ``path`` the figure is saved there (and, when no ``ax`` is
    given, drawn on a bare ``Figure`` without pyplot, so scripts need no display).
    """
    if ax is None and path is not None:  # a figure only for the file: no pyplot, no GUI backend
        from matplotlib.figure import Figure

        ax = Figure(figsize=(6.4, 3.8), layout="constrained").subplots()
    elif ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    ux = np.unique(fit.x)
    gmean = np.array([np.exp(np.mean(np.log(fit.y[fit.x == u]))) for u in ux])
    pts = ax.loglog(fit.x, fit.y, ".", alpha=0.15, color=color)
    color = pts[0].get_color()
    name = f"{label}: " if label else ""
    ax.loglog(ux, gmean, "o", color=color)
    grid = np.geomspace(ux.min(), ux.max(), 50)
    ax.loglog(grid, fit.predict(grid), "-", color=color,
              label=f"{name}slope {fit.slope:.2f} [{fit.ci_low:.2f}, {fit.ci_high:.2f}]")
    if theory_exponent is not None:
        cx, cy = np.exp(np.mean(np.log(fit.x))), np.exp(np.mean(np.log(fit.y)))
        ax.loglog(grid, cy * (grid / cx) ** theory_exponent, "--", color=color, alpha=0.7,
                  label=f"{name}theorem {theory_exponent:g}")
    ax.set_xlabel(fit.x_name)
    ax.set_ylabel(fit.y_name)
    if title:
        ax.set_title(title)
    # outside the axes, to the right: the legend never covers the points
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, frameon=False)
    if path is not None:
        ax.figure.savefig(path, dpi=90, bbox_inches="tight")
    return ax
