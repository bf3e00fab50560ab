"""The width separation between Bellman completeness and RCSL for two-layer ReLU networks: an MDP
family on which Q* is realizable with constant width, RCSL's conditional policy is representable
with constant width, but the class of width-w networks is Bellman complete only for w growing
linearly with the number of states."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from .._result import Result
from .._torch import as_tensor, require_torch, resolve_device, seed_torch, single_thread
from .._validation import check_int, check_real, rng_from_seed
from ..errors import InvalidArgumentError
from ..models import FiniteMDP


def width_separation_mdp(n_states: int, *, seed: int | np.random.Generator | None = 0) -> FiniteMDP:
    r"""A two-step deterministic MDP whose transition relabels states by a random permutation.

    States ``0 .. n-1`` (step 0, position :math:`x = s / n`), ``n .. 2n-1`` (step 1) and the
    terminal ``2n``; actions ``{0, 1}``. From step-0 state :math:`s`, action :math:`a` pays
    :math:`2a` and moves to step-1 state :math:`n + \sigma(s)` (:math:`\sigma` a seeded uniform
    permutation); from a step-1 state, action :math:`a` pays :math:`a` and ends. Undiscounted,
    horizon 2, start uniform over step 0.

    Then :math:`Q^*_1(x, a) = a` and :math:`Q^*_0(x, a) = 2a + 1` are linear (realizable by any
    width), and so is RCSL's return-conditioned policy (:math:`a_0 = 1[g_0 \ge 2]`,
    :math:`a_1 = 1[g_1 \ge 1]`, one ReLU unit). But the Bellman image of the class member
    :math:`f(x, a) = x` at step 1 is :math:`(T f)_0(x_s, a) = 2a + \sigma(s)/n`: the graph of a
    random permutation, whose number of local extrema grows like :math:`2n/3`.

    The mechanism of the separation of Zhou, Zhu, Zhou, Cui, Gupta & Du (2024, "Free from
    Bellman Completeness", arXiv 2310.19308: two-layer MLPs need width growing with :math:`|S|` to be
    Bellman complete, constant width suffices for RCSL). Their exact environment was not
    re-checked against the paper's appendix; this permutation MDP is our re-creation of the
    mechanism (a transition that scrambles the state order makes the backup of a simple function
    complex, while the policy as a function of the return stays simple).

    Examples
    --------
    >>> from theory_rl.offline import width_separation_mdp
    >>> m = width_separation_mdp(8)
    >>> m.n_states, m.n_actions, float(m.R[0, 1]), float(m.R[8, 1])
    (17, 2, 2.0, 1.0)
    """
    n = check_int(n_states, "n_states", minimum=2)
    sigma = rng_from_seed(seed).permutation(n)
    S = 2 * n + 1
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    P[np.arange(n), :, n + sigma] = 1.0
    R[:n] = [0.0, 2.0]
    P[n:2 * n, :, 2 * n] = 1.0
    R[n:2 * n] = [0.0, 1.0]
    P[2 * n, :, 2 * n] = 1.0
    d0 = np.zeros(S)
    d0[:n] = 1.0 / n
    return FiniteMDP(P, R, 1.0, d0=d0, horizon=2, terminal=[2 * n])


def local_extrema(y: Any) -> int:
    r"""Number of strict interior local extrema of a sequence: a lower bound on the width of any
    two-layer ReLU network of one input that fits the sequence on an increasing grid within
    :math:`\varepsilon` below half the smallest neighbouring gap.

    Each extremum forces a slope sign change between its neighbours, maxima a concave and minima
    a convex breakpoint, in disjoint places; a width-``w`` network of one input is piecewise
    linear with at most ``w`` breakpoints.

    Examples
    --------
    >>> from theory_rl.offline import local_extrema
    >>> local_extrema([0, 2, 1, 3, 3, 0])   # 2 is a max, 1 a min; the plateau 3, 3 is not strict
    2
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise InvalidArgumentError(f"y must be 1-D, got shape {y.shape}")
    left, mid, right = y[:-2], y[1:-1], y[2:]
    return int(np.sum(((mid > left) & (mid > right)) | ((mid < left) & (mid < right))))


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class WidthSeparationResult(Result):
    r"""Widths measured on :func:`width_separation_mdp` (see :func:`width_separation`).

    Attributes
    ----------
    n_states : int
        :math:`n`, the states per step.
    bellman_width : int or None
        Smallest width at which the fitted two-layer ReLU network (evenly spaced knots, output
        layer by least squares) matches the Bellman image :math:`T f` of the class member
        :math:`f(x, a) = x` within ``tol`` at every state-action (``None``: no width up to ``n``).
    bellman_lower : int
        The exact lower bound :func:`local_extrema` of :math:`\sigma(s)/n` (every network of
        smaller width fails, whatever the training).
    bellman_upper : int
        :math:`n`: the linear interpolant of the :math:`n` points (a linear unit and ``n - 2``
        knots) plus one unit for the action.
    rcsl_width : int or None
        Smallest width of the grid at which a trained MLP classifier of :math:`(x, t, g) \mapsto a`
        reaches zero error on the RCSL data (every trajectory once).
    bellman_errors, rcsl_errors : dict
        Width -> best max-abs error (Bellman fit) / misclassification rate (RCSL) over seeds.
    tol : float
        The fit tolerance used.

    Examples
    --------
    >>> from theory_rl.offline import width_separation
    >>> res = width_separation(8, n_steps=300, device="cpu")
    >>> type(res).__name__, res.n_states, res.bellman_upper
    ('WidthSeparationResult', 8, 8)
    """

    n_states: int
    bellman_width: int | None
    bellman_lower: int
    bellman_upper: int
    rcsl_width: int | None
    bellman_errors: dict
    rcsl_errors: dict
    tol: float

    _repr_fields = ("n_states", "bellman_width", "bellman_lower", "bellman_upper", "rcsl_width")


def _knot_fit_error(x: np.ndarray, a: np.ndarray, y: np.ndarray, width: int) -> float:
    """Max-abs error of the width-``width`` (>= 2) two-layer ReLU network with units ``ReLU(a)``,
    ``ReLU(x)`` and ``ReLU(x - k_i)`` at ``width - 2`` knots evenly spaced over the grid's interior
    (at the grid points when ``width = n``), output layer and bias fitted by least squares."""
    n_knots = width - 2
    knots = x.min() + (x.max() - x.min()) * np.arange(1, n_knots + 1) / (n_knots + 1)
    basis = np.column_stack([np.ones_like(x), a, x, np.maximum(x[:, None] - knots[None, :], 0.0)])
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    return float(np.max(np.abs(basis @ coef - y)))


def _train_classifier(torch: Any, x: Any, y: Any, width: int, *, n_steps: int, lr: float) -> float:
    """Train a two-layer ReLU MLP classifier (full batch, Adam, logistic loss); misclassification rate."""
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], width), torch.nn.ReLU(), torch.nn.Linear(width, 1))
    net = net.to(x.device, x.dtype)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(n_steps):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x)[:, 0], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(((net(x)[:, 0] > 0).to(y.dtype) != y).to(x.dtype).mean())


def width_separation(
    n_states: int,
    *,
    widths: tuple[int, ...] = (1, 2, 4, 8),
    tol: float | None = None,
    n_steps: int = 500,
    lr: float = 0.05,
    n_seeds: int = 3,
    seed: int | np.random.Generator | None = 0,
    device: Any = "auto",
) -> WidthSeparationResult:
    r"""Measure, on :func:`width_separation_mdp`, the width a two-layer ReLU MLP needs for the Bellman
    image of the class versus the width RCSL's policy needs.

    **Bellman side.** Inputs :math:`(x, a)`, :math:`x = s/n`; target the backup of the class
    member :math:`f(x', a') = x'` (in the class at every width),
    :math:`(T f)(x_s, a) = 2a + \max_{a'} f(\sigma(s)/n, a') = 2a + \sigma(s)/n`, at all :math:`2n`
    points; tolerance ``tol`` (default :math:`1/(4n)`, below half the gap between neighbouring
    values, so that :func:`local_extrema` is a valid lower bound). Widths ``2 .. n`` are scanned
    with a fitted network: units :math:`\mathrm{ReLU}(a)`, :math:`\mathrm{ReLU}(x)` and ``w - 2``
    units :math:`\mathrm{ReLU}(x - k_i)` with knots evenly spaced over the grid, the output layer by
    least squares (a convex fit: exact, no training noise). ``bellman_width`` is the smallest
    width whose fit is within ``tol``; it is an upper bound on the true minimal width and
    ``bellman_lower`` a proof of a lower bound, both growing linearly in :math:`n`. Bellman
    completeness of the width-``w`` class needs :math:`w \ge` the minimal width.

    **RCSL side.** Inputs :math:`(x, t, g)`, target the action of every (state, step) of the
    :math:`4n` trajectories (uniform coverage), conditioned on the return-to-go; a width of
    ``widths`` (in increasing order) is enough when a trained classifier (Adam, full batch,
    ``n_steps``, best of ``n_seeds`` initialisations) makes no error.

    Examples
    --------
    >>> from theory_rl.offline import width_separation
    >>> res = width_separation(8, n_steps=300, device="cpu")
    >>> res.bellman_lower <= res.bellman_width <= res.bellman_upper, res.rcsl_width
    (True, 1)
    """
    torch = require_torch()
    n = check_int(n_states, "n_states", minimum=3)
    widths = tuple(sorted(check_int(w, "widths") for w in widths))
    tol = 1.0 / (4 * n) if tol is None else check_real(tol, "tol", low=0.0, low_open=True)
    n_steps = check_int(n_steps, "n_steps")
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    n_seeds = check_int(n_seeds, "n_seeds")
    dev = resolve_device(device)
    t0 = time.perf_counter()
    rng = rng_from_seed(seed)
    mdp = width_separation_mdp(n, seed=rng)
    P = mdp.transition_matrix
    P = (P.toarray() if hasattr(P, "toarray") else np.asarray(P)).reshape(2 * n + 1, 2, 2 * n + 1)
    sigma = P[np.arange(n), 0].argmax(axis=1) - n
    xs = np.tile(np.arange(n) / n, 2)
    acts = np.repeat([0.0, 1.0], n)
    target = 2 * acts + np.tile(sigma / n, 2)
    b_err: dict[int, float] = {}
    bellman_width = None
    for w in range(2, n + 1):
        b_err[w] = _knot_fit_error(xs, acts, target, w)
        if b_err[w] <= tol:
            bellman_width = w
            break
    rows, labels = [], []
    for s in range(n):
        for a0 in (0, 1):
            for a1 in (0, 1):
                rows += [(s / n, 0.0, 2 * a0 + a1), (sigma[s] / n, 1.0, a1)]
                labels += [a0, a1]
    x = as_tensor(np.array(rows), device=dev, dtype=torch.float64)
    y = as_tensor(np.array(labels, dtype=float), device=dev, dtype=torch.float64)
    seed_torch(rng)
    r_err: dict[int, float] = {}
    rcsl_width = None
    with single_thread(dev):
        for w in widths:
            r_err[w] = min(_train_classifier(torch, x, y, w, n_steps=n_steps, lr=lr) for _ in range(n_seeds))
            if r_err[w] == 0.0:
                rcsl_width = w
                break
    return WidthSeparationResult(
        n_states=n, bellman_width=bellman_width, bellman_lower=local_extrema(sigma / n), bellman_upper=n,
        rcsl_width=rcsl_width, bellman_errors=b_err, rcsl_errors=r_err, tol=tol, method="width_separation",
        params={"widths": widths, "n_steps": n_steps, "lr": lr, "n_seeds": n_seeds, "device": str(dev),
                "sigma": sigma.tolist()},
        elapsed=time.perf_counter() - t0,
    )
