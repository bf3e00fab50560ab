"""theory_rl.plot on the Agg backend: the artists exist, the data land where they should, the
labels are set, legends sit outside the data, bad input raises InvalidArgumentError."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from theory_rl import envs, experiments, plot, tabular  # noqa: E402
from theory_rl._result import History  # noqa: E402
from theory_rl.errors import InvalidArgumentError  # noqa: E402


@pytest.fixture
def ax():
    return Figure(figsize=(5, 4), layout="constrained").subplots()


def _legend_clear_of_data(ax) -> bool:
    canvas = FigureCanvasAgg(ax.figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    return not legend.overlaps(ax.get_window_extent(renderer))


# --------------------------------------------------------------------------------------- grid
def test_grid_values_land_in_their_cells_with_obstacles_masked(ax):
    values = np.arange(12, dtype=float)
    out = plot.plot_grid_values(values, shape=(3, 4), obstacles=[(1, 2)], ax=ax, title="t")
    assert out is ax and ax.get_title() == "t" and ax.get_xlabel() == "column" and ax.get_ylabel() == "row"
    image = ax.images[0].get_array()
    assert image.shape == (3, 4)
    assert image[2, 3] == 11.0 and image[0, 1] == 1.0  # s = r * n_cols + c, row 0 at the top
    assert np.ma.getmaskarray(image)[1, 2] and np.ma.getmaskarray(image).sum() == 1
    texts = {t.get_text() for t in ax.texts}
    assert "11" in texts and "6" not in texts  # no value written on the obstacle
    assert any(p.get_label() == "obstacle" for p in ax.patches)


def test_grid_policy_arrows_point_along_the_moves(ax):
    policy = np.array([0, 1, 2, 3])  # up, right, down, left in a 2 x 2 grid
    plot.plot_grid_values(np.zeros(4), shape=(2, 2), policy=policy, ax=ax)
    quiver = ax.collections[-1]
    u, v = quiver.U, quiver.V
    # on the image axes row grows downward: up is -row, down is +row
    assert np.sign(v[0]) == -1 and u[0] == 0
    assert np.sign(u[1]) == 1 and v[1] == 0
    assert np.sign(v[2]) == 1 and np.sign(u[3]) == -1
    assert ax.yaxis_inverted()


def test_grid_layout_is_read_from_a_gridworld_model(ax):
    mdp = envs.gridworld(3, 4, gamma=0.9, obstacles=[(1, 1)], goal=(0, 3))
    shape, walls, ends = plot.grid_layout(mdp)
    assert shape == (3, 4)
    assert walls.sum() == 1 and walls[1, 1]
    assert ends.sum() == 1 and ends[0, 3]
    sol = tabular.value_iteration(mdp, tol=1e-10)
    plot.plot_grid_values(sol, shape=mdp, ax=ax)
    image = ax.images[0].get_array()
    assert np.allclose(image.compressed(), np.delete(sol.v, 5))
    assert len(ax.collections[-1].U) == 12 - 2  # an arrow per cell but the obstacle and the goal


def test_cliff_cells_are_obstacles():
    shape, walls, ends = plot.grid_layout(envs.cliff_walking())
    assert shape == (4, 12)
    assert walls[3, 1:11].all() and walls.sum() == 10 and ends[3, 11] and ends.sum() == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"values": np.zeros(5), "shape": (2, 3)}, "values"),
    ({"values": np.zeros(6), "shape": (2, 0)}, "shape"),
    ({"values": np.zeros(6), "shape": (2, 3), "obstacles": [(5, 0)]}, "obstacles"),
    ({"values": np.zeros(6), "shape": (2, 3), "policy": np.full(6, 4)}, "policy"),
    ({"values": np.zeros(6), "shape": (2, 3), "policy": np.zeros((6, 3))}, "policy"),
    ({"values": np.zeros(6), "shape": envs.random_mdp(6, 2, seed=0)}, "shape"),
    ({"values": ["a"] * 6, "shape": (2, 3)}, "values"),
])
def test_grid_values_bad_input(kwargs, match, ax):
    values = kwargs.pop("values")
    with pytest.raises(InvalidArgumentError, match=match):
        plot.plot_grid_values(values, ax=ax, **kwargs)


def test_a_bad_ax_is_named():
    with pytest.raises(InvalidArgumentError, match="ax"):
        plot.plot_regret(np.arange(1.0, 10.0), ax="figure")


# ------------------------------------------------------------------------------------- belief
def test_belief_lines_and_the_envelope(ax):
    alphas = np.array([[10.0, -100.0], [-1.0, -1.0], [-100.0, 10.0]])
    plot.plot_belief_values(alphas, actions=["open-left", "listen", "open-right"], ax=ax)
    assert len(ax.lines) == 4
    envelope = ax.lines[-1]
    p, v = envelope.get_data()
    assert np.allclose(v, np.max(alphas[:, :1] * (1 - p) + alphas[:, 1:] * p, axis=0))
    assert v[0] == 10.0 and v[100] == -1.0  # b = (1, 0): open-left's 10; b = (1/2, 1/2): listen
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["action open-left", "action listen", "action open-right"]
    assert _legend_clear_of_data(ax)


def test_belief_values_read_a_solution(ax):
    class Sol:
        alpha = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
        actions = np.array([0, 1, 0])

    plot.plot_belief_values(Sol(), ax=ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["action 0", "action 1"] and len(ax.lines) == 4


@pytest.mark.parametrize("alphas, actions, match", [
    (np.zeros((2, 3)), None, "two-state"),
    (np.zeros((0, 2)), None, "alphas"),
    ([[np.inf, 0.0]], None, "finite"),
    (np.zeros((2, 2)), [0], "actions"),
])
def test_belief_bad_input(alphas, actions, match, ax):
    with pytest.raises(InvalidArgumentError, match=match):
        plot.plot_belief_values(alphas, actions=actions, ax=ax)


# ------------------------------------------------------------------------------------- bounds
def test_bounds_history_draws_finite_bounds_against_time(ax):
    h = History({"lower": [0.0, 1.0, 1.5], "upper": [np.inf, 2.5, 1.75], "time": [0.1, 0.2, 0.3]})
    plot.plot_bounds_history(h, ax=ax)
    upper, lower = ax.lines
    assert upper.get_label() == "upper bound" and lower.get_label() == "lower bound"
    assert np.array_equal(upper.get_xdata(), [0.2, 0.3]) and np.array_equal(upper.get_ydata(), [2.5, 1.75])
    assert np.array_equal(lower.get_xdata(), [0.1, 0.2, 0.3])
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "value at b0"
    assert _legend_clear_of_data(ax)


def test_bounds_history_by_iteration_and_from_a_result(ax):
    class Sol:
        history = History({"lower": [0.0, 1.0], "upper": [3.0, 2.0]})

    plot.plot_bounds_history(Sol(), ax=ax)
    assert ax.get_xlabel() == "iteration" and np.array_equal(ax.lines[0].get_xdata(), [1.0, 2.0])


@pytest.mark.parametrize("history, x, match", [
    (History({"lower": [0.0]}), None, "upper"),
    ({"a": 1}, None, "lower"),
    (History({"lower": [0.0], "upper": [1.0]}), "time", "time"),
    (History({"lower": [0.0], "upper": [1.0]}), "seconds", "x must be"),
])
def test_bounds_bad_input(history, x, match, ax):
    with pytest.raises(InvalidArgumentError, match=match):
        plot.plot_bounds_history(history, ax=ax, x=x)


# ------------------------------------------------------------------------------------ learning
def test_learning_curves_mean_and_student_t_band(ax):
    runs = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]])
    plot.plot_learning_curves({"A": runs, "B": ([10, 20, 30], runs[0])}, ax=ax, ci=0.9, xlabel="step")
    a, b = ax.lines
    assert np.array_equal(a.get_ydata(), [1.0, 2.0, 3.0]) and np.array_equal(b.get_xdata(), [10, 20, 30])
    band = ax.collections[0].get_paths()[0].vertices
    half = 6.313751514675043 * np.sqrt(2.0) / np.sqrt(2.0)  # t_{1, 0.95} * sd / sqrt(n)
    assert np.isclose(band[:, 1].max(), 3.0 + half)
    assert len(ax.collections) == 1  # one seed: no band
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "return" and "90%" in ax.get_title()
    assert _legend_clear_of_data(ax)


@pytest.mark.parametrize("curves, ci, match", [
    ({}, 0.95, "curves"),
    ([1, 2], 0.95, "curves"),
    ({"A": np.zeros((2, 3))}, 1.0, "ci"),
    ({"A": np.zeros((2, 2, 2))}, 0.95, "A"),
    ({"A": ([1, 2], np.zeros((2, 3)))}, 0.95, "A"),
])
def test_learning_bad_input(curves, ci, match, ax):
    with pytest.raises(InvalidArgumentError, match=match):
        plot.plot_learning_curves(curves, ci=ci, ax=ax)


# -------------------------------------------------------------------------------------- regret
def test_regret_log_log_with_measured_and_theorem_slopes(ax):
    T = np.arange(1, 1001)
    plot.plot_regret({"UCBVI": np.vstack([2 * T**0.5, 4 * T**0.5])}, theory_exponent=0.5, ax=ax)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    measured, theorem = ax.lines
    assert measured.get_label() == "UCBVI (slope 0.50)"
    assert np.allclose(measured.get_ydata(), 3 * T**0.5)
    x, y = theorem.get_data()
    assert np.isclose(y[-1], 3 * 1000**0.5) and np.isclose(np.log(y[-1] / y[0]) / np.log(x[-1] / x[0]), 0.5)
    assert ax.get_xlabel() == "episodes T" and ax.get_ylabel() == "cumulative regret"
    assert _legend_clear_of_data(ax)


def test_regret_slope_is_measured_not_assumed(ax):
    T = np.arange(1, 1001)
    plot.plot_regret(T ** (2 / 3), ax=ax)
    assert ax.lines[0].get_label() == "regret (slope 0.67)"


@pytest.mark.parametrize("regret, kwargs, match", [
    ([1.0], {}, "T >= 2"),
    ([1.0, np.nan], {}, "finite"),
    ({}, {}, "empty"),
    ([1.0, 2.0], {"theory_exponent": "half"}, "theory_exponent"),
])
def test_regret_bad_input(regret, kwargs, match, ax):
    with pytest.raises(InvalidArgumentError, match=match):
        plot.plot_regret(regret, ax=ax, **kwargs)


def test_plot_rate_is_the_experiments_one():
    assert plot.plot_rate is experiments.plot_rate


def test_a_new_figure_when_no_ax_is_given():
    import matplotlib.pyplot as plt

    ax = plot.plot_regret(np.arange(1.0, 10.0))
    try:
        assert ax.figure.get_layout_engine() is not None
    finally:
        plt.close(ax.figure)
