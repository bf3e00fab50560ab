"""Rate fits: the slope and its bootstrap CI, the comparison with a theorem, the plot."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.experiments import compare_rate, fit_rate, plot_rate


def synthetic(slope, noise, seed, reps=10):
    rng = np.random.default_rng(seed)
    n = np.repeat(np.geomspace(10, 1e4, 6), reps)
    return pd.DataFrame({"n": n, "error": 3.0 * n**slope * np.exp(noise * rng.normal(size=n.size))})


@given(slope=st.floats(-3, 3), scale=st.floats(1e-3, 1e3))
def test_noise_free_power_laws_are_recovered_exactly(slope, scale):
    n = np.geomspace(1, 1e5, 7)
    fit = fit_rate({"n": n, "error": scale * n**slope}, "n", "error", n_boot=50)
    assert fit.slope == pytest.approx(slope, abs=1e-9)
    assert fit.ci_low == pytest.approx(slope, abs=1e-9) and fit.ci_high == pytest.approx(slope, abs=1e-9)
    assert np.exp(fit.intercept) == pytest.approx(scale, rel=1e-8)


def test_bootstrap_interval_covers_the_truth_at_its_level_from_both_sides():
    # 600 synthetic data sets (slope -1/2, log-normal noise, 60 points each), one 95% CI each.
    # The coverage count is Binomial(600, p). Accepted: p between nominal - 0.03 (the percentile
    # pairs bootstrap is slightly liberal at 60 points: measured 0.93 over 1000 data sets) and the
    # nominal 0.95, each side widened by its binomial 0.05% tail, which gives about [0.88, 0.98].
    # An interval that is too wide (coverage near 1) fails the upper side, as the controls show.
    from scipy import stats

    reps, level, liberal_allowance, tail = 600, 0.95, 0.03, 5e-4
    fits = [fit_rate(synthetic(-0.5, 0.3, s), "n", "error", level=level, n_boot=500, seed=s) for s in range(reps)]
    low = np.array([f.ci_low for f in fits])
    high = np.array([f.ci_high for f in fits])
    slope = np.array([f.slope for f in fits])
    accept_low = stats.binom.ppf(tail, reps, level - liberal_allowance) / reps
    accept_high = stats.binom.isf(tail, reps, level) / reps
    assert 0.87 < accept_low < 0.89 and 0.975 < accept_high < 0.99  # the band the comment promises

    def coverage(lo, hi):
        return float(np.mean((lo <= -0.5) & (-0.5 <= hi)))

    assert accept_low <= coverage(low, high) <= accept_high
    # controls on the same fits: twice as wide (coverage ~1) and half as wide (~0.7) are rejected
    assert coverage(slope - 2 * (slope - low), slope + 2 * (high - slope)) > accept_high
    assert coverage(slope - 0.5 * (slope - low), slope + 0.5 * (high - slope)) < accept_low


def test_compare_rate_verdicts():
    fit = fit_rate(synthetic(-0.5, 0.05, 0), "n", "error")
    assert compare_rate(fit, -0.5).inside
    far = compare_rate(fit, -1.0)
    assert not far.inside and "above" in far.verdict and far.difference == pytest.approx(fit.slope + 1.0)
    assert "below" in compare_rate(fit, 0.0).verdict


def test_compare_rate_reads_the_exponent_from_a_theory_bound():
    from theory_rl import theory

    fit = fit_rate(synthetic(-0.5, 0.05, 0), "n", "error")
    bound = theory.plug_in_error(6, 2, 0.9, 100, 0.1)
    assert compare_rate(fit, bound).theory == -0.5
    df = synthetic(-1.5, 0.05, 0).rename(columns={"n": "one_minus_gamma"})
    assert compare_rate(fit_rate(df, "one_minus_gamma", "error"), bound).theory == -1.5
    with pytest.raises(InvalidModelError, match="no exponent for 'T'"):
        compare_rate(fit, bound, parameter="T")


def test_non_positive_values_are_dropped_and_counted():
    df = synthetic(-1.0, 0.1, 1)
    df.loc[0, "error"] = 0.0
    df.loc[1, "error"] = np.nan
    fit = fit_rate(df, "n", "error")
    assert fit.n_dropped == 2 and fit.n_points == len(df) - 2


def test_bad_input_is_named():
    with pytest.raises(InvalidModelError, match="'err'"):
        fit_rate(synthetic(-1, 0.1, 0), "n", "err")
    with pytest.raises(InvalidModelError, match="two or more"):
        fit_rate({"n": [5, 5], "error": [1.0, 2.0]}, "n", "error")
    with pytest.raises(InvalidModelError, match="level"):
        fit_rate(synthetic(-1, 0.1, 0), "n", "error", level=1.5)


def test_plot_rate_writes_a_png(tmp_path):
    fit = fit_rate(synthetic(-0.5, 0.2, 2), "n", "error")
    ax = plot_rate(fit, theory_exponent=-0.5, label="plug-in", path=tmp_path / "rate.png")
    assert (tmp_path / "rate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("theorem -0.5" in t for t in labels) and any("slope" in t for t in labels)


def test_task_options_raise_the_library_error():
    from theory_rl.experiments import tasks

    with pytest.raises(InvalidModelError, match="1/4 < gamma"):
        tasks.hard_instance(0.2)
    with pytest.raises(InvalidArgumentError, match="method"):
        tasks.generative_error(env="hard", n=2, gamma=0.5, method="sarsa", seed=0)
    with pytest.raises(InvalidArgumentError, match="method"):
        tasks.regret(env="river_swim", episodes=1, horizon=2, method="psrl", seed=0)


def test_numpy_integer_n_boot_is_accepted():
    fit = fit_rate(synthetic(-0.5, 0.05, 0), "n", "error", n_boot=np.int64(50))
    assert fit.slope == pytest.approx(fit_rate(synthetic(-0.5, 0.05, 0), "n", "error", n_boot=50).slope)


def test_plot_rate_legend_does_not_cover_the_points(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fit = fit_rate(synthetic(-0.5, 0.2, 2), "n", "error")
    ax = plot_rate(fit, theory_exponent=-0.5, label="plug-in", path=tmp_path / "rate.png")
    canvas = FigureCanvasAgg(ax.figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(ax.get_window_extent(renderer))  # beside the axes, not on the data
