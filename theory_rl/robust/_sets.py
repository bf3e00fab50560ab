r"""Uncertainty sets of transition kernels and the robust MDP that binds one to a nominal model.

A set is a small frozen object holding only its parameters; the kernels it describes are
defined *relative to the nominal kernel* ``P_hat = nominal.P`` of the :class:`RobustMDP` it is
bound to (balls are centred at ``P_hat``), so the same ``L1Ball(0.1)`` can be reused across
models. All arrays follow ``P[s, a, s']``.

Rectangularity (Iyengar 2005; Wiesemann, Kuhn & Rustem 2013):

- *sa-rectangular*: ``T = prod_{(s,a)} T_{s,a}``. The robust Bellman operator
  ``(T V)(s) = max_a [r(s,a) + gamma min_{p in T_{s,a}} <p, V>]`` is a gamma-contraction, the
  static and dynamic robust values coincide and there is no duality gap
  (``max_pi min_T V^pi_T = min_T max_pi V^pi_T``): :class:`SARectFinite`, :class:`L1Ball`
  (``rectangularity="sa"``), :class:`LInfBall`, :class:`KLBall`, :class:`IntervalSet`.
- *s-rectangular*: ``T = prod_s T_s`` with the actions of a state coupled. The operator is still a
  contraction but optimal policies may be randomised: :class:`L1Ball` with
  ``rectangularity="s"`` (``sum_a ||p_a - p_hat_a||_1 <= kappa_s``; Ho, Petrik & Wiesemann 2018).
- *not rectangular*: :class:`FiniteSet` (a list of whole kernels) and :class:`ParametricSet`
  (kernels ``builder(theta)``, ``theta`` in a box). Dynamic programming over them solves the
  sa-rectangular *hull* instead, a relaxation whose value may be strictly lower than the static
  robust value; the solvers warn with :class:`RectangularityWarning`.

Support. For the L1 and L-infinity balls ``restrict_to_support`` says whether a kernel may put
mass where the nominal row has none. ``False`` (the default here) is the plain ball in the
simplex, as in Iyengar (2005) and Ho, Petrik & Wiesemann (2018); ``True`` confines every row to
the nominal support, which is what craam2 (Petrik & Ho's C++/R library) implements for its L1
sets. A KL ball is always confined to the support (``KL(p || p_hat) = inf`` otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._result import html_summary
from .._validation import (
    as_float_array,
    check_bool,
    check_finite,
    check_int,
    check_optional_int,
    check_probability_rows,
    rng_from_seed,
)
from ..errors import InvalidArgumentError, InvalidModelError
from ..models import FiniteMDP

__all__ = [
    "UncertaintySet",
    "FiniteSet",
    "SARectFinite",
    "L1Ball",
    "LInfBall",
    "KLBall",
    "IntervalSet",
    "ParametricSet",
    "RobustMDP",
    "RectangularityWarning",
]


class RectangularityWarning(UserWarning):
    """The uncertainty set is not (s)a-rectangular: robust dynamic programming solves its
    sa-rectangular hull, whose value can be strictly below the static robust value, and the
    static/dynamic equivalence and the no-duality-gap identity (Iyengar 2005) no longer hold."""


def _dense_kernel(nominal: FiniteMDP) -> np.ndarray:
    P = nominal.P
    if nominal.is_sparse:
        P = np.asarray(P.toarray()).reshape(nominal.n_states, nominal.n_actions, nominal.n_states)
    return np.asarray(P)


def _radius_array(value: Any, name: str) -> np.ndarray:
    """A radius as a float array (0-d for a scalar): real, finite, non-negative; a ragged list or
    a string is an :class:`InvalidModelError` naming ``name``."""
    arr = as_float_array(value, name)
    if arr.ndim == 1 and np.ndim(value) == 0:  # ascontiguousarray makes a scalar 1-D
        arr = arr.reshape(())
    check_finite(arr, name)
    if (arr < 0).any():
        idx = tuple(int(i) for i in np.argwhere(arr < 0)[0]) if arr.ndim else ()
        raise InvalidModelError(f"{name}{list(idx) if idx else ''} = {float(arr[idx])} is negative")
    return arr


def _set_options(uset: UncertaintySet, name: str) -> None:
    """Construction-time checks of a ball: its radius (shape checked later against the nominal)
    and ``restrict_to_support``, which must be a bool ("no" was truthy)."""
    _radius_array(uset.radius, f"{name}.radius")  # type: ignore[attr-defined]
    try:
        check_bool(uset.restrict_to_support, f"{name}.restrict_to_support")
    except InvalidArgumentError as exc:
        raise InvalidModelError(str(exc)) from None


def _radius(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A non-negative finite radius, scalar or of ``shape``, broadcast to ``shape`` (a new array)."""
    arr = _radius_array(value, name)
    if arr.ndim and arr.shape != shape:
        raise InvalidModelError(f"{name} has shape {arr.shape}, expected a scalar or {shape}")
    return np.broadcast_to(arr, shape).copy()


class UncertaintySet:
    """Base class: what every uncertainty set provides (see the module docstring).

    Attributes
    ----------
    rectangularity : {"sa", "s", "none"}
    """

    rectangularity: str = "sa"

    @property
    def is_sa_rectangular(self) -> bool:
        """Whether ``T = prod_{(s,a)} T_{s,a}`` (Iyengar 2005): the condition under which robust
        dynamic programming, static = dynamic, and IWOCS's certificate are exact."""
        return self.rectangularity == "sa"

    @property
    def is_rectangular(self) -> bool:
        """sa- or s-rectangular: robust value iteration computes the robust value."""
        return self.rectangularity in ("sa", "s")

    def validate(self, nominal: FiniteMDP) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def contains(self, nominal: FiniteMDP, P: np.ndarray, *, atol: float = 1e-9) -> bool:  # pragma: no cover
        """Whether the kernel ``P[s, a, s']`` belongs to the set (within ``atol``)."""
        raise NotImplementedError

    def sample(self, nominal: FiniteMDP, *, seed: int | np.random.Generator | None = None) -> np.ndarray:  # pragma: no cover
        """A random member kernel ``P[s, a, s']`` (not uniformly distributed; for tests and
        for seeding searches)."""
        raise NotImplementedError


def _kernel_near(nominal: FiniteMDP, P: Any, *, atol: float,
                 restrict_to_support: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """``(P_hat, P)`` (dense nominal kernel and ``P`` as floats) when ``P`` is a transition kernel
    of the nominal's shape (rows non-negative, summing to one, within ``atol``) and, if
    ``restrict_to_support``, puts no mass off the nominal support; ``None`` otherwise."""
    P_hat = _dense_kernel(nominal)
    P = np.asarray(P, dtype=float)
    if P.shape != P_hat.shape or (P < -atol).any() or (np.abs(P.sum(-1) - 1) > atol).any():
        return None
    if restrict_to_support and (P[P_hat <= 0] > atol).any():
        return None
    return P_hat, P


def _mix_towards(p_hat: np.ndarray, target: np.ndarray, lam: np.ndarray) -> np.ndarray:
    return p_hat + lam[..., None] * (target - p_hat)


def _random_rows(rng: np.random.Generator, p_hat: np.ndarray, restrict: bool) -> np.ndarray:
    q = rng.dirichlet(np.ones(p_hat.shape[-1]) * 0.5, size=p_hat.shape[:-1])
    if restrict:
        q = np.where(p_hat > 0, q + 1e-12, 0.0)
        q /= q.sum(axis=-1, keepdims=True)
    return q


class _Ball(UncertaintySet):
    """What the balls around the nominal kernel share: options checked once, radii broadcast to
    ``(S, A)`` (sa-rectangular) or ``(S,)`` (s-rectangular) and validated against the model."""

    def __post_init__(self) -> None:
        _set_options(self, type(self).__name__)

    def radii(self, nominal: FiniteMDP) -> np.ndarray:
        """The radii broadcast to ``(S, A)`` (sa) or ``(S,)`` (s)."""
        S, A = nominal.n_states, nominal.n_actions
        shape = (S, A) if self.rectangularity == "sa" else (S,)  # type: ignore[attr-defined]
        return _radius(self.radius, f"{type(self).__name__}.radius", shape)  # type: ignore[attr-defined]

    def validate(self, nominal: FiniteMDP) -> None:
        self.radii(nominal)


@dataclass(frozen=True, eq=False)
class L1Ball(_Ball):
    r"""L1 ball around the nominal kernel.

    ``rectangularity="sa"``: :math:`\mathcal T_{s,a} = \{p \in \Delta(S) : \|p - \hat p_{s,a}\|_1 \le \kappa_{s,a}\}`;
    ``rectangularity="s"``: :math:`\mathcal T_s = \{(p_a)_a : \sum_a \|p_a - \hat p_{s,a}\|_1 \le \kappa_s\}`
    (Ho, Petrik & Wiesemann 2018, "Fast Bellman updates for robust MDPs", ICML).

    Parameters
    ----------
    radius : float, or ndarray of shape (S, A) (sa) / (S,) (s)
        ``kappa``; an L1 distance, so at most ``kappa/2`` probability mass moves.
    rectangularity : {"sa", "s"}
    restrict_to_support : bool
        ``True``: kernels may not put mass outside the nominal support (craam2's convention);
        ``False`` (default): the whole simplex.
    """

    radius: Any
    rectangularity: str = "sa"
    restrict_to_support: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.rectangularity, str) or self.rectangularity not in ("sa", "s"):
            raise InvalidModelError(f"L1Ball rectangularity must be 'sa' or 's', got {self.rectangularity!r}")
        super().__post_init__()

    def contains(self, nominal: FiniteMDP, P: np.ndarray, *, atol: float = 1e-9) -> bool:
        kernels = _kernel_near(nominal, P, atol=atol, restrict_to_support=self.restrict_to_support)
        if kernels is None:
            return False
        P_hat, P = kernels
        dist = np.abs(P - P_hat).sum(-1)
        if self.rectangularity == "s":
            dist = dist.sum(-1)
        return bool((dist <= self.radii(nominal) + atol).all())

    def sample(self, nominal: FiniteMDP, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
        rng = rng_from_seed(seed)
        P_hat = _dense_kernel(nominal)
        q = _random_rows(rng, P_hat, self.restrict_to_support)
        dist = np.maximum(np.abs(q - P_hat).sum(-1), 1e-300)
        radii = self.radii(nominal)
        if self.rectangularity == "s":
            share = rng.dirichlet(np.ones(nominal.n_actions), size=nominal.n_states)
            radii = radii[:, None] * share
        lam = np.minimum(1.0, radii / dist) * rng.uniform(size=dist.shape)
        return _mix_towards(P_hat, q, lam)


@dataclass(frozen=True, eq=False)
class LInfBall(_Ball):
    r"""sa-rectangular L-infinity ball
    :math:`\mathcal T_{s,a} = \{p \in \Delta(S) : \max_{s'} |p(s') - \hat p_{s,a}(s')| \le \kappa_{s,a}\}`.

    Parameters
    ----------
    radius : float or ndarray of shape (S, A)
    restrict_to_support : bool
        As for :class:`L1Ball`.
    """

    radius: Any
    restrict_to_support: bool = False
    rectangularity: str = field(default="sa", init=False)

    def contains(self, nominal: FiniteMDP, P: np.ndarray, *, atol: float = 1e-9) -> bool:
        kernels = _kernel_near(nominal, P, atol=atol, restrict_to_support=self.restrict_to_support)
        if kernels is None:
            return False
        P_hat, P = kernels
        return bool((np.abs(P - P_hat).max(-1) <= self.radii(nominal) + atol).all())

    def sample(self, nominal: FiniteMDP, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
        rng = rng_from_seed(seed)
        P_hat = _dense_kernel(nominal)
        q = _random_rows(rng, P_hat, self.restrict_to_support)
        dist = np.maximum(np.abs(q - P_hat).max(-1), 1e-300)
        lam = np.minimum(1.0, self.radii(nominal) / dist) * rng.uniform(size=dist.shape)
        return _mix_towards(P_hat, q, lam)


def kl_rows(P: np.ndarray, P_hat: np.ndarray) -> np.ndarray:
    """``KL(P[..., :] || P_hat[..., :])`` row by row (``inf`` off the support of ``P_hat``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0) / np.where(P_hat > 0, P_hat, 0.0)), 0.0)
    return terms.sum(-1)


@dataclass(frozen=True, eq=False)
class KLBall(_Ball):
    r"""sa-rectangular KL ball
    :math:`\mathcal T_{s,a} = \{p \in \Delta(S) : \mathrm{KL}(p \,\|\, \hat p_{s,a}) \le \delta_{s,a}\}`
    (Nilim & El Ghaoui 2005; Iyengar 2005). Always confined to the nominal support.

    The inner problem's dual is one-dimensional,
    :math:`\min_p \langle p, v\rangle = \max_{\beta > 0} -\beta \log \mathbb E_{\hat p} e^{-v/\beta} - \beta\delta`,
    with minimiser the exponential tilt :math:`p \propto \hat p\, e^{-v/\beta^*}`.

    Parameters
    ----------
    radius : float or ndarray of shape (S, A)
        ``delta`` (nats).
    """

    radius: Any
    rectangularity: str = field(default="sa", init=False)
    restrict_to_support: bool = field(default=True, init=False)

    def contains(self, nominal: FiniteMDP, P: np.ndarray, *, atol: float = 1e-9) -> bool:
        kernels = _kernel_near(nominal, P, atol=atol, restrict_to_support=False)  # KL is inf off the support
        if kernels is None:
            return False
        P_hat, P = kernels
        return bool((kl_rows(np.maximum(P, 0.0), P_hat) <= self.radii(nominal) + atol).all())

    def sample(self, nominal: FiniteMDP, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
        rng = rng_from_seed(seed)
        P_hat = _dense_kernel(nominal)
        q = _random_rows(rng, P_hat, True)
        radii = self.radii(nominal)
        # KL((1-l) p + l q || p) is convex in l with value 0 at l = 0: bisect for the largest
        # feasible l, then shrink it by a uniform factor (convexity keeps it feasible)
        lo = np.zeros(radii.shape)
        hi = np.ones(radii.shape)
        ok = kl_rows(q, P_hat) <= radii
        lo[ok] = 1.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            feas = kl_rows(_mix_towards(P_hat, q, mid), P_hat) <= radii
            lo = np.where(feas, mid, lo)
            hi = np.where(feas, hi, mid)
        return _mix_towards(P_hat, q, lo * rng.uniform(size=lo.shape))


@dataclass(frozen=True, eq=False)
class IntervalSet(UncertaintySet):
    r"""sa-rectangular interval (box) set :math:`\{p \in \Delta(S) : lo_{s,a} \le p \le hi_{s,a}\}`
    (Givan, Leach & Dean 2000, bounded-parameter MDPs).

    Parameters
    ----------
    lo, hi : ndarray of shape (S, A, S)
        ``0 <= lo <= hi <= 1`` with ``sum lo <= 1 <= sum hi`` in every row; the nominal kernel
        must lie inside.
    """

    lo: Any
    hi: Any
    rectangularity: str = field(default="sa", init=False)

    def bounds(self, nominal: FiniteMDP) -> tuple[np.ndarray, np.ndarray]:
        S, A = nominal.n_states, nominal.n_actions
        lo = as_float_array(self.lo, "IntervalSet.lo", ndim=3)
        hi = as_float_array(self.hi, "IntervalSet.hi", ndim=3)
        for name, arr in (("lo", lo), ("hi", hi)):
            if arr.shape != (S, A, S):
                raise InvalidModelError(f"IntervalSet.{name} has shape {arr.shape}, expected {(S, A, S)}")
            check_finite(arr, f"IntervalSet.{name}")
        return lo, hi

    def validate(self, nominal: FiniteMDP) -> None:
        lo, hi = self.bounds(nominal)
        P_hat = _dense_kernel(nominal)
        atol = nominal.atol
        for bad, what in ((lo < 0, "lo < 0"), (hi > 1 + atol, "hi > 1"), (lo > hi, "lo > hi"),
                          (P_hat < lo - atol, "P < lo (the nominal kernel must lie in the set)"),
                          (P_hat > hi + atol, "P > hi (the nominal kernel must lie in the set)")):
            if bad.any():
                s, a, t = (int(i) for i in np.argwhere(bad)[0])
                raise InvalidModelError(f"IntervalSet at [{s}, {a}, {t}]: {what}")

    def contains(self, nominal: FiniteMDP, P: np.ndarray, *, atol: float = 1e-9) -> bool:
        lo, hi = self.bounds(nominal)
        P = np.asarray(P, dtype=float)
        if P.shape != lo.shape or (np.abs(P.sum(-1) - 1) > atol).any():
            return False
        return bool(((P >= lo - atol) & (P <= hi + atol)).all())

    def sample(self, nominal: FiniteMDP, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
        rng = rng_from_seed(seed)
        lo, hi = self.bounds(nominal)
        P_hat = _dense_kernel(nominal)
        # a random vertex (the greedy fill for a random order), mixed with the nominal kernel
        order = np.argsort(rng.uniform(size=lo.shape), axis=-1)
        cap = np.take_along_axis(hi - lo, order, -1)
        rem = 1.0 - lo.sum(-1, keepdims=True)
        before = np.cumsum(cap, -1) - cap
        fill = np.clip(rem - before, 0.0, cap)
        vertex = lo.copy()
        np.put_along_axis(vertex, order, np.take_along_axis(vertex, order, -1) + fill, -1)
        return _mix_towards(P_hat, vertex, rng.uniform(size=lo.shape[:-1]))


@dataclass(frozen=True, eq=False)
class SARectFinite(UncertaintySet):
    r"""sa-rectangular finite set: ``K`` candidate rows per (s, a),
    :math:`\mathcal T_{s,a} = \{c_{s,a,1}, \dots, c_{s,a,K}\}` (equivalently their convex hull,
    which has the same robust value).

    Parameters
    ----------
    candidates : ndarray of shape (S, A, K, S)
        ``candidates[s, a, k, :]`` is the k-th candidate for ``P[s, a, :]``. The nominal row
        need not be among them.
    """

    candidates: Any
    rectangularity: str = field(default="sa", init=False)

    def rows(self, nominal: FiniteMDP) -> np.ndarray:
        S, A = nominal.n_states, nominal.n_actions
        C = as_float_array(self.candidates, "SARectFinite.candidates", ndim=4)
        if C.shape[:2] != (S, A) or C.shape[3] != S or C.shape[2] < 1:
            raise InvalidModelError(f"SARectFinite.candidates has shape {C.shape}, expected (S, A, K, S) = "
                                    f"({S}, {A}, K>=1, {S})")
        return C

    def validate(self, nominal: FiniteMDP) -> None:
        C = self.rows(nominal)
        check_probability_rows(C.reshape(-1, C.shape[3]), "SARectFinite.candidates", atol=nominal.atol,
                               row_shape=C.shape[:3])

    @property
    def n_candidates(self) -> int:
        return int(np.shape(self.candidates)[2])

    def kernel(self, choice: np.ndarray) -> np.ndarray:
        """The kernel ``P[s, a, :] = candidates[s, a, choice[s, a], :]``."""
        C = np.asarray(self.candidates, dtype=float)
        choice = np.asarray(choice, dtype=np.int64)
        return np.take_along_axis(C, choice[:, :, None, None], axis=2)[:, :, 0, :]

    def enumerate_kernels(self, *, limit: int = 4096) -> list[np.ndarray]:
        """All ``K^(S*A)`` kernels of the set (raises beyond ``limit``)."""
        limit = check_int(limit, "limit")
        C = np.asarray(self.candidates, dtype=float)
        S, A, K, _ = C.shape
        total = K ** (S * A)
        if total > limit:
            raise InvalidModelError(f"SARectFinite has {total} kernels, more than limit={limit}")
        out = []
        for idx in np.ndindex(*([K] * (S * A))):
            out.append(self.kernel(np.asarray(idx).reshape(S, A)))
        return out

    def contains(self, nominal: FiniteMDP, P: np.ndarray, *, atol: float = 1e-9) -> bool:
        C = self.rows(nominal)
        P = np.asarray(P, dtype=float)
        if P.shape != (C.shape[0], C.shape[1], C.shape[3]):
            return False
        return bool((np.abs(C - P[:, :, None, :]).max(-1) <= atol).any(-1).all())

    def sample(self, nominal: FiniteMDP, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
        rng = rng_from_seed(seed)
        C = self.rows(nominal)
        return self.kernel(rng.integers(0, C.shape[2], size=C.shape[:2]))


@dataclass(frozen=True, eq=False)
class FiniteSet(UncertaintySet):
    r"""A finite list of whole kernels :math:`\mathcal T = \{P_1, \dots, P_K\}` (nature picks
    one for the whole episode). Not rectangular unless ``K = 1``: robust dynamic programming
    then solves the sa-rectangular hull (see :class:`RectangularityWarning`).

    Parameters
    ----------
    kernels : ndarray of shape (K, S, A, S), or sequence of such kernels / FiniteMDPs
    """

    kernels: Any
    rectangularity: str = field(default="none", init=False)

    def __post_init__(self) -> None:
        ks = self.kernels
        if isinstance(ks, (list, tuple)):
            ks = [_dense_kernel(k) if isinstance(k, FiniteMDP) else np.asarray(k, dtype=float) for k in ks]
            if not ks:
                raise InvalidModelError("FiniteSet needs at least one kernel")
            shapes = {k.shape for k in ks}
            if len(shapes) != 1:
                raise InvalidModelError(f"FiniteSet kernels differ in shape: {sorted(shapes)}")
            ks = np.stack(ks)
        object.__setattr__(self, "kernels", as_float_array(ks, "FiniteSet.kernels", ndim=4))
        if self.kernels.shape[0] == 1:
            object.__setattr__(self, "rectangularity", "sa")

    def validate(self, nominal: FiniteMDP) -> None:
        S, A = nominal.n_states, nominal.n_actions
        K = self.kernels
        if K.shape[1:] != (S, A, S):
            raise InvalidModelError(f"FiniteSet.kernels has shape {K.shape}, expected (K, {S}, {A}, {S})")
        check_probability_rows(K.reshape(-1, S), "FiniteSet.kernels", atol=nominal.atol, row_shape=K.shape[:3])

    def hull(self) -> SARectFinite:
        """The sa-rectangular hull: every kernel's row is a candidate at every (s, a)."""
        return SARectFinite(np.ascontiguousarray(self.kernels.transpose(1, 2, 0, 3)))

    def contains(self, nominal: FiniteMDP, P: np.ndarray, *, atol: float = 1e-9) -> bool:
        P = np.asarray(P, dtype=float)
        if P.shape != self.kernels.shape[1:]:
            return False
        return bool((np.abs(self.kernels - P[None]).reshape(len(self.kernels), -1).max(-1) <= atol).any())

    def sample(self, nominal: FiniteMDP, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
        rng = rng_from_seed(seed)
        return self.kernels[int(rng.integers(len(self.kernels)))].copy()


@dataclass(frozen=True, eq=False)
class ParametricSet(UncertaintySet):
    r"""Kernels given by physical parameters in a box,
    :math:`\mathcal T = \{P_\theta : \theta \in [\theta^{lo}, \theta^{hi}] \subset \mathbb R^d\}`
    (the M2TD3 / IWOCS MuJoCo sets: masses and frictions in intervals). Not rectangular.

    Parameters
    ----------
    theta_box : array_like of shape (d, 2)
        ``theta_box[i] = (low_i, high_i)``.
    builder : callable
        ``builder(theta) -> P`` with ``theta`` of shape ``(d,)`` and ``P`` of shape ``(S, A, S)``
        (or a :class:`FiniteMDP`, whose kernel is used). Must be deterministic.

    Notes
    -----
    This object is also the entry point for the deep (function-approximation) IWOCS: it only
    needs :meth:`build`, :meth:`sample_theta`, :meth:`grid` and :meth:`clip`; a simulator-backed
    builder can return anything its consumer understands, as long as tabular solvers are not
    asked to use it.
    """

    theta_box: Any
    builder: Callable[[np.ndarray], Any]
    rectangularity: str = field(default="none", init=False)

    def __post_init__(self) -> None:
        box = as_float_array(self.theta_box, "ParametricSet.theta_box", ndim=2)
        if box.shape[1] != 2 or box.shape[0] < 1:
            raise InvalidModelError(f"ParametricSet.theta_box has shape {box.shape}, expected (d, 2)")
        check_finite(box, "ParametricSet.theta_box")
        if (box[:, 0] > box[:, 1]).any():
            i = int(np.argmax(box[:, 0] > box[:, 1]))
            raise InvalidModelError(f"ParametricSet.theta_box[{i}] has low {box[i, 0]} > high {box[i, 1]}")
        if not callable(self.builder):
            raise InvalidModelError("ParametricSet.builder must be callable: theta -> P[s, a, s']")
        object.__setattr__(self, "theta_box", box)

    @property
    def dim(self) -> int:
        return int(self.theta_box.shape[0])

    def clip(self, theta: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(theta, dtype=float), self.theta_box[:, 0], self.theta_box[:, 1])

    def build(self, theta: np.ndarray) -> np.ndarray:
        """``P_theta`` as a dense ``(S, A, S)`` array (``theta`` is clipped to the box)."""
        out = self.builder(self.clip(theta))
        return _dense_kernel(out) if isinstance(out, FiniteMDP) else np.asarray(out, dtype=float)

    def sample_theta(self, *, seed: int | np.random.Generator | None = None, size: int | None = None) -> np.ndarray:
        """Uniform draws from the box, shape ``(d,)`` or ``(size, d)``."""
        rng = rng_from_seed(seed)
        lo, hi = self.theta_box[:, 0], self.theta_box[:, 1]
        size = check_optional_int(size, "size")
        shape = (self.dim,) if size is None else (size, self.dim)
        return lo + (hi - lo) * rng.uniform(size=shape)

    def grid(self, n_per_dim: int) -> np.ndarray:
        """The uniform grid with ``n_per_dim`` points per dimension (the RRLS evaluation grid),
        shape ``(n_per_dim**d, d)``."""
        n_per_dim = check_int(n_per_dim, "n_per_dim")
        axes = [np.linspace(lo, hi, n_per_dim) if n_per_dim > 1 else np.array([0.5 * (lo + hi)])
                for lo, hi in self.theta_box]
        return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, self.dim)

    def to_finite(self, n_per_dim: int) -> FiniteSet:
        """The kernels on :meth:`grid` as a :class:`FiniteSet`."""
        return FiniteSet(np.stack([self.build(t) for t in self.grid(n_per_dim)]))

    def validate(self, nominal: FiniteMDP) -> None:
        mid = self.theta_box.mean(axis=1)
        P = self.build(mid)
        S, A = nominal.n_states, nominal.n_actions
        if P.shape != (S, A, S):
            raise InvalidModelError(f"ParametricSet.builder returned shape {P.shape}, expected {(S, A, S)}")
        check_probability_rows(P.reshape(-1, S), "ParametricSet.builder(theta_mid)", atol=nominal.atol,
                               row_shape=(S, A))

    def contains(self, nominal: FiniteMDP, P: np.ndarray, *, atol: float = 1e-9) -> bool:
        raise InvalidModelError("ParametricSet.contains is undecidable in general; compare with build(theta)")

    def sample(self, nominal: FiniteMDP, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
        return self.build(self.sample_theta(seed=seed))


@dataclass(frozen=True, eq=False, repr=False)
class RobustMDP:
    r"""A robust MDP: a nominal :class:`~theory_rl.models.FiniteMDP` and an uncertainty set of
    kernels around it, :math:`(S, A, \mathcal T, R, \gamma, d_0)` with rewards, discount and
    ``d0`` taken from ``nominal``.

    Parameters
    ----------
    nominal : FiniteMDP
        Discounted (``gamma < 1``). An action mask is honoured for sa-rectangular sets (and
        finite sets, through their sa-rectangular hull): unavailable actions get ``q = -inf``
        and are never chosen; their rows of the set are ignored. s-rectangular sets couple the
        actions of a state through one budget, and a masked action is not equivalent to any
        reshaping of that budget, so masks with s-rectangular sets raise.
    uncertainty : UncertaintySet
        Validated against ``nominal`` at construction.
    nature : {"adversarial", "optimistic"}
        ``"adversarial"`` (default): the kernel is chosen against the agent,
        ``sigma_sa(v) = min_{p in T_sa} <p, v>`` (robust MDPs). ``"optimistic"``: nature helps,
        ``sigma_sa(v) = max_{p in T_sa} <p, v> = -min_{p in T_sa} <p, -v>`` (the optimistic MDPs
        of extended value iteration, Jaksch, Ortner & Auer 2010; craam's "optimistic" solvers).
        The operator stays a monotone ``gamma``-contraction commuting with constants, so every
        certificate holds unchanged. For s-rectangular L1 sets the optimistic backup is
        ``max_a [r(s,a) + gamma max_{||p - p_hat_sa||_1 <= xi_s} <p, v>]``: the agent and nature
        maximise jointly, so the whole budget goes to the chosen action.
    """

    nominal: FiniteMDP
    uncertainty: UncertaintySet
    nature: str = "adversarial"

    def __post_init__(self) -> None:
        if not isinstance(self.nominal, FiniteMDP):
            raise InvalidModelError(f"RobustMDP.nominal must be a FiniteMDP, got {type(self.nominal).__name__}")
        if not isinstance(self.uncertainty, UncertaintySet):
            raise InvalidModelError(
                f"RobustMDP.uncertainty must be an UncertaintySet, got {type(self.uncertainty).__name__}")
        if self.nominal.gamma >= 1.0:
            raise InvalidModelError(f"RobustMDP needs gamma < 1, got {self.nominal.gamma}")
        if self.nature not in ("adversarial", "optimistic"):
            raise InvalidArgumentError(f"nature must be 'adversarial' or 'optimistic', got {self.nature!r}")
        if self.nominal.action_mask is not None and self.uncertainty.rectangularity == "s":
            raise InvalidModelError(
                "action masks are supported for sa-rectangular uncertainty sets only: an s-rectangular set "
                "couples all actions of a state through one budget")
        self.uncertainty.validate(self.nominal)

    @property
    def n_states(self) -> int:
        return self.nominal.n_states

    @property
    def n_actions(self) -> int:
        return self.nominal.n_actions

    @property
    def gamma(self) -> float:
        return self.nominal.gamma

    @property
    def is_sa_rectangular(self) -> bool:
        return self.uncertainty.is_sa_rectangular

    def with_kernel(self, P: np.ndarray) -> FiniteMDP:
        """The nominal model with its kernel replaced by ``P[s, a, s']`` (validated)."""
        return self.nominal.replace(P=np.ascontiguousarray(P, dtype=float))

    def _repr_html_(self) -> str:
        """A table for Jupyter: sizes, ``gamma`` at full precision, the uncertainty set, its
        rectangularity and nature, and the nominal model's reward range."""
        return html_summary("RobustMDP", {
            "S (states)": self.n_states, "A (actions)": self.n_actions, "gamma": self.gamma,
            "uncertainty": type(self.uncertainty).__name__, "rectangularity": self.uncertainty.rectangularity,
            "nature": self.nature, "min R[s, a]": float(self.nominal.R.min()), "max R[s, a]": float(self.nominal.R.max()),
            "state_names": self.nominal.state_names, "action_names": self.nominal.action_names,
        })

    def __repr__(self) -> str:
        nature = "" if self.nature == "adversarial" else f", nature={self.nature!r}"
        return (f"RobustMDP(S={self.n_states}, A={self.n_actions}, gamma={self.gamma:g}, "
                f"uncertainty={type(self.uncertainty).__name__}, rectangularity={self.uncertainty.rectangularity!r}"
                f"{nature})")
