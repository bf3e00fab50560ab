r"""Plotting helpers for the objects the library returns (matplotlib, imported on first use).

Every function draws on ``ax`` (a matplotlib ``Axes``) when one is given, otherwise on a new
figure (``pyplot``, constrained layout, so it shows in Jupyter), and returns the ``Axes``. Axis
labels and titles are set; legends sit outside the plotting area, to the right, so they never
cover the data.

- :func:`plot_grid_values`: a value function on a grid (heat map), with the policy as arrows,
  obstacles and terminal cells; reads the layout of an :func:`theory_rl.envs.gridworld` model.
- :func:`plot_belief_values`: the piecewise-linear convex value of a two-state POMDP over the
  belief simplex, one line per alpha vector and the upper envelope.
- :func:`plot_bounds_history`: the lower and upper bounds of an anytime solver against time or
  iterations (its :class:`~theory_rl._result.History`).
- :func:`plot_learning_curves`: several methods' mean curve over seeds with a confidence band.
- :func:`plot_regret`: cumulative regret on log-log axes with the theorem's slope.
- :func:`~theory_rl.experiments.plot_rate`: a fitted rate (re-exported from :mod:`theory_rl.experiments`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._validation import check_real
from .errors import DependencyNotInstalled, InvalidArgumentError
from .experiments import plot_rate

__all__ = [
    "grid_layout",
    "plot_belief_values",
    "plot_bounds_history",
    "plot_grid_values",
    "plot_learning_curves",
    "plot_rate",
    "plot_regret",
]

#: Moves of the gridworld actions (up, right, down, left) as (d_col, d_row); row 0 is drawn at the top.
_ARROWS = np.array([[0.0, -1.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
_STATE_NAME = re.compile(r"^\((\d+),\s*(\d+)\)$")


# ----------------------------------------------------------------------------------- helpers
def _axes(ax: Any, figsize: tuple[float, float] = (5.0, 3.6)) -> Any:
    if ax is not None:
        if not hasattr(ax, "plot") or not hasattr(ax, "figure"):
            raise InvalidArgumentError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise DependencyNotInstalled("matplotlib", "notebooks") from None
    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def _legend_outside(ax: Any) -> None:
    """The legend to the right of the axes (never over the data)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, frameon=False)


def _real_array(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be an array of real numbers, got {type(x).__name__}") from None
    return arr


def _cell_mask(value: Any, name: str, shape: tuple[int, int]) -> np.ndarray:
    """A boolean ``shape`` mask from a mask of that shape (or flat ``(S,)``), or a sequence of
    ``(row, col)`` pairs."""
    arr = np.asarray(value)
    if arr.dtype == bool:
        if arr.size != shape[0] * shape[1]:
            raise InvalidArgumentError(f"{name} as a boolean mask must have {shape[0] * shape[1]} entries "
                                       f"(shape {shape}), got shape {arr.shape}")
        return arr.reshape(shape)
    mask = np.zeros(shape, dtype=bool)
    if arr.size == 0:
        return mask
    if not np.issubdtype(arr.dtype, np.integer):
        raise InvalidArgumentError(f"{name} must be a boolean mask or (row, col) pairs, got {value!r}")
    pairs = arr.reshape(-1, 2) if arr.ndim <= 2 and arr.shape[-1] == 2 else None
    if pairs is None:
        raise InvalidArgumentError(f"{name} must be a boolean mask or (row, col) pairs, got shape {arr.shape}")
    for r, c in pairs:
        if not (0 <= r < shape[0] and 0 <= c < shape[1]):
            raise InvalidArgumentError(f"{name} cell ({r}, {c}) is outside the {shape[0]}x{shape[1]} grid")
        mask[r, c] = True
    return mask


def grid_layout(mdp: Any) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """``(shape, obstacles, terminal)`` of a gridworld :class:`~theory_rl.models.FiniteMDP`.

    The envs name the states ``"(r,c)"`` (:func:`theory_rl.envs.gridworld`,
    :func:`~theory_rl.envs.cliff_walking`, :func:`~theory_rl.envs.sutton_barto_gridworld`): the
    shape is read from the names; an obstacle is a cell no other state can reach (walls, the
    cliff), and ``terminal`` is the model's mask less the obstacles.

    Examples
    --------
    >>> from theory_rl import envs, plot
    >>> shape, obstacles, terminal = plot.grid_layout(envs.cliff_walking())
    >>> shape, int(obstacles.sum()), [tuple(int(i) for i in rc) for rc in zip(*terminal.nonzero())]
    ((4, 12), 10, [(3, 11)])
    """
    names = getattr(mdp, "state_names", None)
    if names is None or not hasattr(mdp, "P"):
        raise InvalidArgumentError("shape must be (n_rows, n_cols) or a gridworld FiniteMDP whose states are "
                                   f"named '(r,c)', got {type(mdp).__name__}")
    cells = [_STATE_NAME.match(str(n)) for n in names]
    if not all(cells):
        raise InvalidArgumentError("shape: the model's state names are not '(r,c)' cells; pass (n_rows, n_cols)")
    rc = np.array([(int(m.group(1)), int(m.group(2))) for m in cells])
    shape = (int(rc[:, 0].max()) + 1, int(rc[:, 1].max()) + 1)
    n_cols = shape[1]
    if not np.array_equal(rc[:, 0] * n_cols + rc[:, 1], np.arange(len(names))):
        raise InvalidArgumentError("shape: the model's states are not the grid's cells in row-major order")
    S = len(names)
    P = mdp.P
    flat = P.tocsr() if hasattr(P, "tocsr") else np.asarray(P).reshape(S * mdp.n_actions, S)
    source = np.repeat(np.arange(S), mdp.n_actions)
    if hasattr(flat, "tocoo"):
        coo = flat.tocoo()
        rows, cols, vals = source[coo.row], coo.col, coo.data
    else:
        r_idx, cols = np.nonzero(flat)
        rows, vals = source[r_idx], flat[r_idx, cols]
    reached = np.zeros(S, dtype=bool)
    reached[cols[(vals > 0) & (rows != cols)]] = True
    terminal = np.zeros(S, bool) if getattr(mdp, "terminal", None) is None else np.asarray(mdp.terminal, bool)
    obstacles = ~reached & terminal
    return shape, obstacles.reshape(shape), (terminal & ~obstacles).reshape(shape)


# --------------------------------------------------------------------------------- grid values
def plot_grid_values(values: Any, *, shape: Any, obstacles: Any = None, policy: Any = None, terminal: Any = None,
                     ax: Any = None, title: str | None = None) -> Any:
    r"""A value function on a grid: a heat map of ``v``, the policy as arrows, obstacles in grey.

    Cell ``(r, c)`` is state ``s = r * n_cols + c`` (row 0 at the top), as in
    :func:`theory_rl.envs.gridworld`. Actions ``0, 1, 2, 3`` are the moves up, right, down, left.
    Values are written in the cells when the grid has at most 12 x 12 cells.

    Parameters
    ----------
    values : array_like, shape (S,) or (n_rows, n_cols), or a result with ``v``
        The value of each cell (a solution's ``v``; its ``policy`` is drawn when ``policy`` is
        not given).
    shape : (int, int) or FiniteMDP
        ``(n_rows, n_cols)``, or a gridworld model from :mod:`theory_rl.envs` whose layout
        (shape, obstacles, terminal cells) is read from it (see :func:`grid_layout`).
    obstacles, terminal : bool array (n_rows, n_cols) or (S,), or sequence of (row, col), optional
        Cells drawn grey (no value, no arrow) and cells outlined as terminal (no arrow).
    policy : array_like of int, shape (S,), or of float, shape (S, 4), optional
        Actions (an arrow per cell), or action probabilities (one arrow per action, its length the
        probability).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from theory_rl import envs, plot, tabular
    >>> mdp = envs.gridworld(3, 4, gamma=0.9, obstacles=[(1, 1)])
    >>> sol = tabular.value_iteration(mdp, tol=1e-8)
    >>> ax = plot.plot_grid_values(sol, shape=mdp, title="value iteration")
    >>> ax.images[0].get_array().shape, ax.get_title()
    ((3, 4), 'value iteration')
    """
    if policy is None and hasattr(values, "v") and hasattr(values, "policy"):
        policy = values.policy
    if hasattr(values, "v"):
        values = values.v
    v = _real_array(values, "values")
    if isinstance(shape, Sequence) and not isinstance(shape, str) and len(shape) == 2:
        try:
            grid = (int(shape[0]), int(shape[1]))
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"shape must be (n_rows, n_cols), got {shape!r}") from None
        if grid[0] < 1 or grid[1] < 1 or grid != tuple(shape):
            raise InvalidArgumentError(f"shape must be two positive integers, got {shape!r}")
        walls = np.zeros(grid, bool)
        ends = np.zeros(grid, bool)
    else:
        grid, walls, ends = grid_layout(shape)
    S = grid[0] * grid[1]
    if v.size != S or v.ndim not in (1, 2) or (v.ndim == 2 and v.shape != grid):
        raise InvalidArgumentError(f"values must have shape ({S},) or {grid}, got {v.shape}")
    v = v.reshape(grid)
    if obstacles is not None:
        walls = _cell_mask(obstacles, "obstacles", grid)
    if terminal is not None:
        ends = _cell_mask(terminal, "terminal", grid)
    ax = _axes(ax, figsize=(1.0 + 0.6 * grid[1], 0.6 + 0.6 * grid[0]))
    shown = np.ma.masked_array(v, mask=walls)
    cmap = _colormap("viridis")
    image = ax.imshow(shown, cmap=cmap, origin="upper", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="value", shrink=0.9)
    if S <= 144:
        finite = shown.compressed()
        mid = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
        scale = float(np.abs(finite).max()) if finite.size else 0.0
        for r in range(grid[0]):
            for c in range(grid[1]):
                if not walls[r, c]:
                    shown_value = 0.0 if abs(v[r, c]) < 1e-9 * scale else v[r, c]
                    ax.text(c, r + 0.32, f"{shown_value:.3g}", ha="center", va="center", fontsize=7,
                            color="black" if v[r, c] > mid else "white")
    for r, c in np.argwhere(ends):
        ax.add_patch(_rectangle((c - 0.5, r - 0.5), edgecolor="red", hatch=None, label="terminal"))
    for r, c in np.argwhere(walls):
        ax.add_patch(_rectangle((c - 0.5, r - 0.5), edgecolor="none", facecolor="0.55", hatch="//",
                                label="obstacle"))
    if policy is not None:
        _draw_policy(ax, np.asarray(policy), grid, walls | ends)
    ax.set_xticks(range(grid[1]))
    ax.set_yticks(range(grid[0]))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    if title is not None:
        ax.set_title(title)
    return ax


def _colormap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad="0.55")


def _rectangle(xy: tuple[float, float], *, edgecolor: str, facecolor: str = "none", hatch: str | None,
               label: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(xy, 1.0, 1.0, fill=facecolor != "none", facecolor=facecolor, edgecolor=edgecolor,
                     hatch=hatch, linewidth=1.5, label=label)


def _draw_policy(ax: Any, policy: np.ndarray, grid: tuple[int, int], skip: np.ndarray) -> None:
    S = grid[0] * grid[1]
    if policy.ndim == 1 and policy.shape == (S,) and np.issubdtype(policy.dtype, np.integer):
        if ((policy < 0) | (policy > 3)).any():
            raise InvalidArgumentError("policy: a grid policy's actions are 0..3 (up, right, down, left), "
                                       f"got {int(policy[(policy < 0) | (policy > 3)][0])}")
        probs = np.eye(4)[policy]
    elif policy.shape == (S, 4) and np.issubdtype(policy.dtype, np.number):
        probs = policy.astype(float)
    else:
        raise InvalidArgumentError(f"policy must be actions of shape ({S},) or probabilities of shape ({S}, 4), "
                                   f"got shape {policy.shape} dtype {policy.dtype}")
    rows, cols = np.divmod(np.arange(S), grid[1])
    keep = ~skip.ravel()
    x, y, u, w = [], [], [], []
    for a in range(4):
        sel = keep & (probs[:, a] > 1e-12)
        x.append(cols[sel])
        y.append(rows[sel] - 0.08)
        u.append(_ARROWS[a, 0] * probs[sel, a] * 0.35)
        w.append(_ARROWS[a, 1] * probs[sel, a] * 0.35)
    x, y, u, w = (np.concatenate(z) for z in (x, y, u, w))
    if x.size:
        ax.quiver(x - u / 2, y - w / 2, u, w, angles="xy", scale_units="xy", scale=1.0, color="white",
                  edgecolor="black", linewidth=0.4, width=0.012, label="policy")


# ------------------------------------------------------------------------------ belief values
def plot_belief_values(alphas: Any, *, actions: Any = None, ax: Any = None) -> Any:
    r"""The value of a two-state POMDP over the belief simplex, from its alpha vectors.

    With ``p = b(s_1)`` the belief that the state is the second one, each alpha vector is the line
    :math:`\alpha_k \cdot b = (1 - p)\,\alpha_k(s_0) + p\,\alpha_k(s_1)` and the value is their
    upper envelope, :math:`V(b) = \max_k \alpha_k \cdot b`, piecewise linear and convex
    (Smallwood & Sondik 1973). Vectors are coloured by their action; the envelope is drawn thick.

    Parameters
    ----------
    alphas : array_like, shape (K, 2), or a POMDPSolution
        The alpha vectors (a solution's ``alpha``; its ``actions`` are used when ``actions`` is
        not given).
    actions : sequence of int or str, length K, optional
        The action of each vector (indices or names), used for colours and the legend.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    References
    ----------
    R. D. Smallwood, E. J. Sondik, "The optimal control of partially observable Markov processes
    over a finite horizon", *Operations Research* 21(5), 1973.

    Examples
    --------
    >>> from theory_rl import plot
    >>> ax = plot.plot_belief_values([[10.0, -100.0], [-1.0, -1.0], [-100.0, 10.0]],
    ...                              actions=["open-left", "listen", "open-right"])
    >>> len(ax.lines), ax.get_xlabel()
    (4, 'belief b(s1)')
    """
    if actions is None and hasattr(alphas, "alpha") and hasattr(alphas, "actions"):
        actions = alphas.actions
    if hasattr(alphas, "alpha"):
        alphas = alphas.alpha
    alpha = _real_array(alphas, "alphas")
    if alpha.ndim != 2 or alpha.shape[1] != 2 or alpha.shape[0] == 0:
        raise InvalidArgumentError(f"alphas must have shape (K, 2) (a two-state POMDP), got {alpha.shape}")
    if not np.isfinite(alpha).all():
        raise InvalidArgumentError("alphas must be finite")
    K = alpha.shape[0]
    if actions is not None:
        acts = list(np.asarray(actions).tolist()) if not isinstance(actions, (list, tuple)) else list(actions)
        if len(acts) != K:
            raise InvalidArgumentError(f"actions must have one entry per alpha vector ({K}), got {len(acts)}")
    else:
        acts = [None] * K
    ax = _axes(ax)
    p = np.linspace(0.0, 1.0, 201)
    lines = alpha[:, 0][:, None] * (1.0 - p)[None, :] + alpha[:, 1][:, None] * p[None, :]
    colours: dict[Any, Any] = {}
    cycle = _colour_cycle()
    for k in range(K):
        key = acts[k]
        first = key not in colours
        if first:
            colours[key] = next(cycle)
        label = (f"action {key}" if key is not None else "alpha vectors") if first else None
        ax.plot(p, lines[k], "-", color=colours[key], alpha=0.6, linewidth=1.0, label=label)
    ax.plot(p, lines.max(axis=0), "-", color="black", linewidth=2.2, label="V(b) = max_k alpha_k . b")
    low, high = float(lines.max(axis=0).min()), float(lines.max(axis=0).max())
    pad = 0.25 * (high - low) + 1e-9
    ax.set_ylim(low - pad, high + pad)  # vectors far below the envelope leave the view
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("belief b(s1)")
    ax.set_ylabel("value")
    ax.set_title("value over the belief simplex")
    _legend_outside(ax)
    return ax


def _colour_cycle() -> Any:
    import itertools

    import matplotlib

    return itertools.cycle(matplotlib.rcParams["axes.prop_cycle"].by_key()["color"])


# ------------------------------------------------------------------------------ bound history
def plot_bounds_history(history: Any, *, ax: Any = None, x: str | None = None) -> Any:
    r"""Lower and upper bounds of an anytime solver (HSVI2, SARSOP, PBVI, ...) as they tighten.

    The band between them is shaded; infinite bounds (no upper bound yet) are left out.

    Parameters
    ----------
    history : History, or a result with ``history``
        A table with ``"lower"`` and ``"upper"`` columns (and ``"time"`` for the default x axis).
    ax : matplotlib Axes, optional
    x : {"time", "iteration"}, optional
        What the x axis shows; default ``"time"`` when the table has it, else the row index.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from theory_rl import plot
    >>> from theory_rl._result import History
    >>> h = History({"lower": [0.0, 1.0, 1.5], "upper": [4.0, 2.5, 1.75], "time": [0.1, 0.2, 0.3]})
    >>> ax = plot.plot_bounds_history(h)
    >>> ax.get_xlabel(), [line.get_label() for line in ax.lines]
    ('time (s)', ['upper bound', 'lower bound'])
    """
    if hasattr(history, "history") and not hasattr(history, "columns"):
        history = history.history
    if not hasattr(history, "get") or history.get("lower") is None or history.get("upper") is None:
        raise InvalidArgumentError("history must be a table (or a result's history) with 'lower' and 'upper' "
                                   f"columns, got {type(history).__name__}")
    lower = _real_array(history["lower"], "history['lower']")
    upper = _real_array(history["upper"], "history['upper']")
    if x is None:
        x = "time" if history.get("time") is not None else "iteration"
    if x == "time":
        if history.get("time") is None:
            raise InvalidArgumentError("x = 'time' but the history has no 'time' column")
        xs, xlabel = _real_array(history["time"], "history['time']"), "time (s)"
    elif x == "iteration":
        xs, xlabel = np.arange(1, lower.size + 1, dtype=float), "iteration"
    else:
        raise InvalidArgumentError(f"x must be one of 'time', 'iteration', got {x!r}")
    ax = _axes(ax)
    up_ok, low_ok = np.isfinite(upper), np.isfinite(lower)
    ax.plot(xs[up_ok], upper[up_ok], "-", color="tab:red", label="upper bound")
    ax.plot(xs[low_ok], lower[low_ok], "-", color="tab:blue", label="lower bound")
    both = up_ok & low_ok
    if both.any():
        ax.fill_between(xs[both], lower[both], upper[both], color="0.6", alpha=0.25, label="gap")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("value at b0")
    ax.set_title("bounds")
    _legend_outside(ax)
    return ax


# ------------------------------------------------------------------------------ learning curves
def plot_learning_curves(curves: Any, *, ax: Any = None, ci: float = 0.95, xlabel: str = "episode",
                         ylabel: str = "return") -> Any:
    r"""Mean learning curve of each method over seeds, with a confidence band.

    For ``n`` seeds with mean :math:`\bar y_t` and standard deviation :math:`s_t` at point ``t``,
    the band is :math:`\bar y_t \pm t_{n-1, (1 + ci)/2}\, s_t / \sqrt n` (Student's t interval for
    the mean; no band for one seed).

    Parameters
    ----------
    curves : mapping of str to array_like
        Each method's curves, shape ``(n_seeds, n_points)`` (or ``(n_points,)`` for one seed), or
        a pair ``(x, curves)`` with ``x`` of shape ``(n_points,)``.
    ax : matplotlib Axes, optional
    ci : float
        Confidence level in ``(0, 1)``.
    xlabel, ylabel : str
        Axis labels.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import plot
    >>> rng = np.random.default_rng(0)
    >>> runs = np.cumsum(rng.normal(1.0, 1.0, size=(5, 50)), axis=1)
    >>> ax = plot.plot_learning_curves({"Q-learning": runs, "SARSA": runs - 3.0})
    >>> [line.get_label() for line in ax.lines]
    ['Q-learning', 'SARSA']
    """
    if not isinstance(curves, Mapping) or not curves:
        raise InvalidArgumentError("curves must be a non-empty mapping of method name to curves "
                                   f"(n_seeds, n_points), got {type(curves).__name__}")
    ci = check_real(ci, "ci", low=0.0, high=1.0, low_open=True, high_open=True)
    from scipy import stats

    ax = _axes(ax)
    for name, data in curves.items():
        if isinstance(data, tuple) and len(data) == 2:
            xs, ys = _real_array(data[0], f"curves[{name!r}][0]"), _real_array(data[1], f"curves[{name!r}][1]")
        else:
            ys = _real_array(data, f"curves[{name!r}]")
            xs = None
        if ys.ndim == 1:
            ys = ys[None, :]
        if ys.ndim != 2 or ys.shape[1] == 0:
            raise InvalidArgumentError(f"curves[{name!r}] must have shape (n_seeds, n_points), got {ys.shape}")
        if xs is None:
            xs = np.arange(1, ys.shape[1] + 1, dtype=float)
        if xs.shape != (ys.shape[1],):
            raise InvalidArgumentError(f"curves[{name!r}]: x has shape {xs.shape}, expected ({ys.shape[1]},)")
        mean = ys.mean(axis=0)
        (line,) = ax.plot(xs, mean, "-", label=str(name))
        n = ys.shape[0]
        if n > 1:
            half = stats.t.ppf(0.5 + ci / 2.0, n - 1) * ys.std(axis=0, ddof=1) / math.sqrt(n)
            ax.fill_between(xs, mean - half, mean + half, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"mean over seeds, {100 * ci:g}% confidence band")
    _legend_outside(ax)
    return ax


# ------------------------------------------------------------------------------------- regret
def plot_regret(regret: Any, *, theory_exponent: float | None = None, ax: Any = None) -> Any:
    r"""Cumulative regret against the number of episodes on log-log axes, with the theorem's slope.

    A bound :math:`\mathrm{Regret}(T) = \tilde O(T^{\beta})` is a line of slope :math:`\beta` on
    log-log axes (e.g. :math:`\beta = 1/2` for UCBVI, Azar, Osband & Munos 2017, arXiv:1703.05449).
    The measured slope is the least-squares fit of :math:`\log \mathrm{Regret}` on :math:`\log T`
    over the last 90% of the episodes (in ``log T``), shown in the legend; the theorem's line passes
    through the mean curve's last point.

    Parameters
    ----------
    regret : array_like, shape (T,) or (n_seeds, T), or mapping of str to such arrays
        Cumulative regret after episodes ``1..T`` (several seeds: the mean is drawn, with the
        range of the seeds shaded).
    theory_exponent : float, optional
        The theorem's exponent :math:`\beta`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import plot
    >>> T = np.arange(1, 1001)
    >>> ax = plot.plot_regret(3.0 * np.sqrt(T), theory_exponent=0.5)
    >>> ax.get_xscale(), [line.get_label() for line in ax.lines]
    ('log', ['regret (slope 0.50)', 'theorem: slope 0.5'])
    """
    series = dict(regret) if isinstance(regret, Mapping) else {"regret": regret}
    if not series:
        raise InvalidArgumentError("regret must not be empty")
    if theory_exponent is not None:
        theory_exponent = check_real(theory_exponent, "theory_exponent")
    ax = _axes(ax)
    last = None
    for name, data in series.items():
        ys = _real_array(data, "regret" if name == "regret" else f"regret[{name!r}]")
        if ys.ndim == 1:
            ys = ys[None, :]
        if ys.ndim != 2 or ys.shape[1] < 2:
            raise InvalidArgumentError(f"regret must have shape (T,) or (n_seeds, T) with T >= 2, got {ys.shape}")
        if not np.isfinite(ys).all():
            raise InvalidArgumentError("regret must be finite")
        T = np.arange(1, ys.shape[1] + 1, dtype=float)
        mean = ys.mean(axis=0)
        pos = mean > 0
        tail = pos & (T >= T[-1] ** 0.1)
        slope = np.polyfit(np.log(T[tail]), np.log(mean[tail]), 1)[0] if tail.sum() >= 2 else float("nan")
        (line,) = ax.loglog(T[pos], mean[pos], "-", label=f"{name} (slope {slope:.2f})")
        if ys.shape[0] > 1:
            lo, hi = ys.min(axis=0), ys.max(axis=0)
            ok = lo > 0
            ax.fill_between(T[ok], lo[ok], hi[ok], color=line.get_color(), alpha=0.2, linewidth=0)
        if pos.any():
            last = (T[pos][-1], mean[pos][-1])
    if theory_exponent is not None and last is not None:
        grid = np.geomspace(1.0, last[0], 50)
        ax.loglog(grid, last[1] * (grid / last[0]) ** theory_exponent, "--", color="black", alpha=0.7,
                  label=f"theorem: slope {theory_exponent:g}")
    ax.set_xlabel("episodes T")
    ax.set_ylabel("cumulative regret")
    ax.set_title("regret")
    _legend_outside(ax)
    return ax
