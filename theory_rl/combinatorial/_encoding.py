r"""Exact MILP encoding of a trained ReLU network (the Q-network-in-MIP of SEQUOIA).

For hidden unit ``u`` of layer ``l`` with pre-activation ``z_u = w_u . h^{l-1} + b_u`` and
bounds ``L_u <= z_u <= U_u`` valid over every input the MILP may choose:

* ``U_u <= 0`` (stably inactive): ``h_u = 0``, no variable at all;
* ``L_u >= 0`` (stably active): ``h_u = z_u``, one continuous variable, no binary;
* otherwise ``z_u = h_u - g_u``, ``0 <= h_u <= U_u (1 - delta_u)``, ``0 <= g_u <= -L_u delta_u``,
  ``delta_u in {0, 1}`` (the big-M encoding of Xu et al. 2025, arXiv 2503.01919, adapted there
  from Neur2SP; here with per-unit constants ``M+_u = U_u``, ``M-_u = -L_u`` instead of the
  published fixed ``1e5``).

Exactness: for any input in the box and any fixed binaries consistent with it, ``h_u =
max(0, z_u)`` holds iff ``U_u >= max(0, z_u)`` and ``-L_u >= max(0, -z_u)``. Interval
arithmetic (with the state entries fixed and the action entries in ``[0, 1]``) gives such bounds
by construction; ``tighten="lp"`` shrinks them further by solving, per unstable unit, the two
LPs ``min/max z_u`` over the LP relaxation of everything added to the model so far (the domain's
feasibility rows included), which is still valid because the relaxation contains every feasible
point. A user-supplied fixed ``big_m`` is checked against the interval bounds (see
:func:`embed_relu_mlp`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_bool, check_choice, check_optional_int, check_real
from ..errors import InvalidArgumentError, InvalidModelError
from ..models import MipModel
from ._mip import solve_mip

__all__ = ["EmbeddedNetwork", "embed_relu_mlp", "interval_bounds", "relu_mlp_layers"]


def relu_mlp_layers(net: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(W_1, b_1), ..., (W_L, b_L)]`` (float64, ``W_l`` of shape (out, in)) of a ReLU MLP.

    ``net`` is a ``torch.nn.Sequential`` of ``Linear`` layers separated by ``ReLU`` (no ReLU
    after the last one, scalar output), any module whose ``.layers`` is one, or already such a list.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from theory_rl import combinatorial
    >>> net = combinatorial.relu_mlp(3, (4,), seed=0, device="cpu")
    >>> layers = combinatorial.relu_mlp_layers(net)
    >>> x = np.array([[0.1, 0.2, 0.3]])
    >>> bool(abs(combinatorial.forward(layers, x)[0] - net(torch.tensor(x, dtype=torch.float32)).item()) < 1e-6)
    True
    """
    if isinstance(net, (list, tuple)):
        layers = [(np.asarray(W, dtype=float), np.asarray(b, dtype=float)) for W, b in net]
    else:
        import torch

        seq = getattr(net, "layers", net)
        if not isinstance(seq, torch.nn.Sequential):
            raise InvalidModelError(f"expected a torch.nn.Sequential of Linear/ReLU layers, got {type(net).__name__}")
        layers, expect_linear = [], True
        for k, mod in enumerate(seq):
            if isinstance(mod, torch.nn.Linear) and expect_linear:
                W = mod.weight.detach().cpu().double().numpy()
                b = (mod.bias.detach().cpu().double().numpy() if mod.bias is not None else np.zeros(W.shape[0]))
                layers.append((W, b))
                expect_linear = False
            elif isinstance(mod, torch.nn.ReLU) and not expect_linear:
                expect_linear = True
            else:
                raise InvalidModelError(
                    f"layer {k} ({type(mod).__name__}) breaks the Linear, ReLU, Linear, ..., Linear pattern")
        if expect_linear:
            raise InvalidModelError("the network must end with a Linear layer (no ReLU on the output)")
    for k in range(1, len(layers)):
        if layers[k][0].shape[1] != layers[k - 1][0].shape[0]:
            raise InvalidModelError(f"layer {k} expects {layers[k][0].shape[1]} inputs, "
                                    f"layer {k - 1} gives {layers[k - 1][0].shape[0]}")
    if not layers or layers[-1][0].shape[0] != 1:
        raise InvalidModelError("the network must have a scalar output")
    return layers


def forward(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Forward pass in float64; ``x`` of shape (n, d) gives (n,).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.combinatorial import forward
    >>> layers = [(np.array([[1.0, -1.0]]), np.array([0.0])), (np.array([[2.0]]), np.array([1.0]))]
    >>> forward(layers, np.array([[3.0, 1.0], [0.0, 1.0]])).tolist()    # 2 relu(x0 - x1) + 1
    [5.0, 1.0]
    """
    h = np.atleast_2d(x).astype(float)
    for k, (W, b) in enumerate(layers):
        h = h @ W.T + b
        if k < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0]


def interval_bounds(layers: list[tuple[np.ndarray, np.ndarray]], lower: np.ndarray,
                    upper: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    r"""Pre-activation bounds ``(L_l, U_l)`` of every hidden layer by interval arithmetic:
    ``U = W^+ u + W^- l + b``, ``L = W^+ l + W^- u + b`` with ``(l, u)`` the previous layer's
    post-activation box (input box for the first layer).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.combinatorial import interval_bounds
    >>> layers = [(np.array([[1.0, -1.0]]), np.array([0.5])), (np.array([[1.0]]), np.array([0.0]))]
    >>> [(lo.tolist(), hi.tolist()) for lo, hi in interval_bounds(layers, np.zeros(2), np.ones(2))]
    [([-0.5], [1.5])]
    """
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    out = []
    for W, b in layers[:-1]:
        Wp, Wn = np.maximum(W, 0.0), np.minimum(W, 0.0)
        zl, zu = Wp @ lo + Wn @ hi + b, Wp @ hi + Wn @ lo + b
        out.append((zl, zu))
        lo, hi = np.maximum(zl, 0.0), np.maximum(zu, 0.0)
    return out


@dataclass
class EmbeddedNetwork:
    """What :func:`embed_relu_mlp` added: the output as ``sum coefs * x[cols] + constant``, the
    pre-activation bounds used, and counts.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.combinatorial import MipModel, embed_relu_mlp
    >>> layers = [(np.array([[1.0, -1.0]]), np.array([0.0])), (np.array([[2.0]]), np.array([1.0]))]
    >>> model = MipModel()
    >>> x = model.add_vars(2, lb=0.0, ub=1.0)
    >>> net = embed_relu_mlp(model, layers, inputs=list(x), lower=np.zeros(2), upper=np.ones(2))
    >>> type(net).__name__, len(net.bounds), int(net.binaries.size)   # one unstable ReLU: one binary
    ('EmbeddedNetwork', 1, 1)
    """

    output_cols: np.ndarray
    output_coefs: np.ndarray
    output_constant: float
    bounds: list[tuple[np.ndarray, np.ndarray]]
    binaries: np.ndarray
    n_stable_active: int
    n_stable_inactive: int


# Relative slack added to every LP-tightened bound (``v +- _LP_MARGIN (1 + |v|)``). It must exceed HiGHS' feasibility tolerances (1e-7 primal,
# 1e-6 MIP): with a 1e-7 slack the bounds are tight to within those tolerances and HiGHS' presolve
# returned "Optimal" for a suboptimal action, or "Infeasible" for a later tightening LP (found by the
# hypothesis test of mip_argmax against brute force). A looser bound is always a valid bound.
_LP_MARGIN = 1e-4


def _lp_bound(model: MipModel, cols: np.ndarray, coefs: np.ndarray, sign: float) -> float:
    saved, saved_off = model.cost, model.offset
    model.cost, model.offset = {}, 0.0
    model.add_objective(cols, sign * coefs)
    try:
        return sign * solve_mip(model, relax=True).objective
    finally:
        model.cost, model.offset = saved, saved_off


def embed_relu_mlp(model: MipModel, net: Any, *, inputs: list[Any], lower: np.ndarray, upper: np.ndarray,
                   bounds: str = "interval", big_m: float | None = None, tighten: bool = False,
                   check_big_m: bool = True, max_active: int | None = None) -> EmbeddedNetwork:
    r"""Encode the ReLU MLP ``net`` in ``model`` and return its output as an affine expression.

    Per unstable unit ``z = W h + b`` with bounds ``L < 0 < U``: ``z = h^+ - h^-``,
    ``0 <= h^+ <= U (1 - d)``, ``0 <= h^- <= -L d``, ``d in {0, 1}``, so ``h^+ = max(z, 0)`` exactly
    whenever ``L <= z <= U`` holds for every feasible input (the encoding used by SEQUOIA: Xu,
    Wilder, Khalil, Tambe, ICLR 2025, arXiv 2503.01919, with per-unit bounds instead of one M).

    Parameters
    ----------
    model : MipModel
        Model to add to (add the domain's feasibility rows first if ``tighten`` should use them).
    net : torch.nn.Sequential or list of (W, b)
        Any depth; scalar output.
    inputs : list, length d
        Per network input, either an ``int`` column index of ``model`` (a decision variable) or a
        ``float`` (a fixed input, e.g. the state).
    lower, upper : ndarray, shape (d,)
        A box containing every input the model can take (fixed inputs: their value).
    bounds : {"interval", "big_m"}
        ``"interval"``: per-unit bounds by interval arithmetic (the default; never a fixed M).
        ``"big_m"``: the published scheme, ``M+ = M- = big_m`` for every unit, no unit
        treated as stable.
    big_m : float
        The constant for ``bounds="big_m"``.
    tighten : bool
        Tighten the interval bounds of unstable units by LP (two LP solves per unit); each LP
        bound is loosened by ``1e-4 (1 + |bound|)`` so that HiGHS' tolerances cannot cut off a
        feasible point.
    max_active : int, optional
        A bound ``k`` on ``sum_i x_i`` over the decision inputs, all of which must lie in
        ``[0, 1]`` (every coRMAB feasible set has one: its budget). The first layer's bounds then
        become ``c_u + (sum of the k largest positive weights)`` and ``c_u + (sum of the k most
        negative weights)``, the exact extremes over ``{x in [0, 1]^n : sum x <= k}``, which is
        never looser than the box bound and is much tighter when ``k << n``.
    check_big_m : bool
        With ``bounds="big_m"``: raise if ``big_m`` is below an interval bound, i.e. if the
        encoding may cut off feasible points (the bound is valid, so a larger ``|z_u|`` may
        really occur). Switch off only to study what a too-small M does.

    Raises
    ------
    InvalidModelError
        Shapes do not match, or ``big_m`` is provably too small to be safe.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.combinatorial import MipModel, embed_relu_mlp, forward, solve_mip
    >>> layers = [(np.array([[1.0, -1.0], [-1.0, 2.0]]), np.array([0.0, -0.5])), (np.array([[1.0, 1.0]]), np.array([0.0]))]
    >>> model = MipModel()
    >>> x = model.add_vars(2, lb=0.0, ub=1.0, integer=True)
    >>> out = embed_relu_mlp(model, layers, inputs=list(x), lower=np.zeros(2), upper=np.ones(2))
    >>> model.add_objective(out.output_cols, out.output_coefs, out.output_constant)
    >>> sol = solve_mip(model)
    >>> best = max(forward(layers, np.array([[a, b]]))[0] for a in (0, 1) for b in (0, 1))
    >>> bool(abs(sol.objective - best) < 1e-9)                       # the MILP maximum is the net's maximum
    True
    """
    layers = relu_mlp_layers(net)
    d = layers[0][0].shape[1]
    if len(inputs) != d:
        raise InvalidModelError(f"the network has {d} inputs but {len(inputs)} were given")
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if lower.shape != (d,) or upper.shape != (d,) or (lower > upper).any():
        raise InvalidModelError(f"lower/upper must have shape ({d},) with lower <= upper")
    check_choice(bounds, "bounds", ("interval", "big_m"))
    tighten, check_big_m = check_bool(tighten, "tighten"), check_bool(check_big_m, "check_big_m")
    max_active = check_optional_int(max_active, "max_active", minimum=0)
    ib = interval_bounds(layers, lower, upper)
    if bounds == "big_m":
        if big_m is None:
            raise InvalidArgumentError("bounds='big_m' needs big_m > 0, got None")
        big_m = check_real(big_m, "big_m", low=0.0, low_open=True)
        if check_big_m:
            for k, (zl, zu) in enumerate(ib):
                worst = np.maximum(zu, -zl)
                if (worst > big_m).any():
                    u = int(np.argmax(worst))
                    raise InvalidModelError(
                        f"big_m = {big_m:g} is smaller than the interval bound {worst[u]:.6g} on |z| of layer "
                        f"{k}, unit {u}: the encoding may cut off feasible actions (use bounds='interval')")

    # current layer as (cols or -1, constant) per unit: value = x[col] if col >= 0 else const
    cols = np.array([c if isinstance(c, (int, np.integer)) else -1 for c in inputs], dtype=np.int64)
    consts = np.array([0.0 if isinstance(c, (int, np.integer)) else float(c) for c in inputs])
    used, binaries = [], []
    n_act = n_inact = 0
    prev_lo, prev_hi = lower, upper
    for k, (W, b) in enumerate(layers[:-1]):
        var = cols >= 0
        Wv = W[:, var]
        const = b + W[:, ~var] @ consts[~var]
        zl, zu = ib[k] if bounds == "interval" else (np.full(len(b), -big_m), np.full(len(b), big_m))
        zl, zu = zl.copy(), zu.copy()
        if bounds == "interval" and k > 0:  # recompute from the (possibly tightened) previous layer
            zl, zu = _propagate(W, b, cols, consts, prev_lo, prev_hi)
        if bounds == "interval" and k == 0 and max_active is not None:
            zl, zu = _cardinality_bounds(Wv, const, int(max_active), zl, zu, lower[var], upper[var])
        if tighten and bounds == "interval":
            for u in np.flatnonzero((zl < 0) & (zu > 0)):
                nzv = np.flatnonzero(Wv[u])
                hi_lp = _lp_bound(model, cols[var][nzv], Wv[u, nzv], 1.0) + const[u]
                lo_lp = _lp_bound(model, cols[var][nzv], Wv[u, nzv], -1.0) + const[u]
                zu[u] = min(zu[u], hi_lp + _LP_MARGIN * (1.0 + abs(hi_lp)))
                zl[u] = max(zl[u], lo_lp - _LP_MARGIN * (1.0 + abs(lo_lp)))
        used.append((zl, zu))
        new_cols = np.full(len(b), -1, dtype=np.int64)
        new_consts = np.zeros(len(b))
        stable_inactive = zu <= 0 if bounds == "interval" else np.zeros(len(b), dtype=bool)
        stable_active = (zl >= 0) & ~stable_inactive if bounds == "interval" else np.zeros(len(b), dtype=bool)
        n_inact += int(stable_inactive.sum())
        n_act += int(stable_active.sum())
        active_idx = np.flatnonzero(stable_active)
        if len(active_idx):
            h = model.add_vars(len(active_idx), lb=np.maximum(zl[active_idx], 0.0), ub=zu[active_idx])
            block = np.hstack([np.eye(len(active_idx)), -Wv[active_idx]])
            model.add_rows(block, np.concatenate([h, cols[var]]), const[active_idx], const[active_idx])
            new_cols[active_idx] = h
        unstable = np.flatnonzero(~stable_active & ~stable_inactive)
        if len(unstable):
            m = len(unstable)
            Mp, Mm = np.maximum(zu[unstable], 0.0), np.maximum(-zl[unstable], 0.0)
            h = model.add_vars(m, lb=0.0, ub=Mp)
            g = model.add_vars(m, lb=0.0, ub=Mm)
            delta = model.add_vars(m, lb=0.0, ub=1.0, integer=True)
            eye = np.eye(m)
            model.add_rows(np.hstack([eye, -eye, -Wv[unstable]]), np.concatenate([h, g, cols[var]]),
                           const[unstable], const[unstable])            # z = h - g
            model.add_rows(np.hstack([eye, np.diag(Mp)]), np.concatenate([h, delta]), -np.inf, Mp)  # h <= M+(1-d)
            model.add_rows(np.hstack([eye, -np.diag(Mm)]), np.concatenate([g, delta]), -np.inf, 0.0)  # g <= M- d
            new_cols[unstable] = h
            binaries.append(delta)
        prev_lo, prev_hi = np.maximum(zl, 0.0), np.maximum(zu, 0.0)
        prev_lo[stable_inactive], prev_hi[stable_inactive] = 0.0, 0.0
        cols, consts = new_cols, new_consts
    W, b = layers[-1]
    var = cols >= 0
    return EmbeddedNetwork(
        output_cols=cols[var], output_coefs=W[0, var], output_constant=float(b[0] + W[0, ~var] @ consts[~var]),
        bounds=used, binaries=np.concatenate(binaries) if binaries else np.zeros(0, dtype=np.int64),
        n_stable_active=n_act, n_stable_inactive=n_inact)


def _cardinality_bounds(Wv: np.ndarray, const: np.ndarray, k: int, zl: np.ndarray, zu: np.ndarray,
                        lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if k < 0:
        raise InvalidModelError(f"max_active = {k} must be >= 0")
    if Wv.shape[1] == 0 or not (np.all(lo == 0.0) and np.all(hi == 1.0)):
        return zl, zu  # the cardinality argument needs decision inputs in [0, 1]
    k = min(k, Wv.shape[1])
    pos = -np.sort(-np.maximum(Wv, 0.0), axis=1)[:, :k].sum(axis=1)
    neg = np.sort(np.minimum(Wv, 0.0), axis=1)[:, :k].sum(axis=1)
    return np.maximum(zl, const + neg), np.minimum(zu, const + pos)


def _propagate(W: np.ndarray, b: np.ndarray, cols: np.ndarray, consts: np.ndarray, lo: np.ndarray,
               hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = np.where(cols >= 0, lo, consts)
    hi = np.where(cols >= 0, hi, consts)
    Wp, Wn = np.maximum(W, 0.0), np.minimum(W, 0.0)
    return Wp @ lo + Wn @ hi + b, Wp @ hi + Wn @ lo + b
