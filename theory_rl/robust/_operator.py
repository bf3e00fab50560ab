r"""The robust Bellman operator of a :class:`RobustMDP`, laid out for repeated backups.

For an sa-rectangular set (Iyengar 2005; Nilim & El Ghaoui 2005)

.. math::
    \sigma_{s,a}(v) = \min_{p \in \mathcal T_{s,a}} \langle p, v\rangle, \qquad
    q_v(s,a) = r(s,a) + \gamma \sigma_{s,a}(v), \qquad (T v)(s) = \max_a q_v(s,a),

and for an s-rectangular set (Wiesemann, Kuhn & Rustem 2013; Ho, Petrik & Wiesemann 2018)

.. math::
    (T v)(s) = \max_{d \in \Delta(A)} \min_{(p_a) \in \mathcal T_s} \sum_a d_a \big(r(s,a) + \gamma \langle p_a, v\rangle\big).

Both are monotone, ``gamma``-contractions in the sup norm, and commute with adding a constant
(every ``p`` sums to one), so the MacQueen/Porteus bounds of
:class:`theory_rl.tabular.Certificate` hold for them verbatim. So do the optimistic operators
(``RobustMDP(nature="optimistic")``), ``max`` over the set in place of ``min``, computed as
``-sigma(-v)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from .._parallel import n_chunks
from ..errors import InvalidModelError
from ..models import FiniteMDP
from ..tabular import solve_policy_system
from . import _kernels
from ._sets import (
    FiniteSet,
    IntervalSet,
    KLBall,
    L1Ball,
    LInfBall,
    ParametricSet,
    RectangularityWarning,
    RobustMDP,
    SARectFinite,
    _dense_kernel,
)

__all__ = ["RobustOperator", "inner_problem"]

_EMPTY2 = np.zeros((1, 1))


class RobustOperator:
    """Robust backups for one :class:`RobustMDP` (internal; the solvers' engine).

    Non-rectangular sets (:class:`FiniteSet`) are replaced by their sa-rectangular hull with a
    :class:`RectangularityWarning`; a :class:`ParametricSet` must first be discretised
    (``uncertainty.to_finite(n)``) or handled by :func:`iwocs`.
    """

    def __init__(self, rmdp: RobustMDP, *, warn: bool = True) -> None:
        U = rmdp.uncertainty
        self.rmdp = rmdp
        self.mask = rmdp.nominal.action_mask
        self.optimistic = rmdp.nature == "optimistic"
        # rows of unavailable actions may be all zero: the kernels read a self-loop there instead
        # (any distribution would do: those q values are replaced by -inf)
        nominal = _fill_masked_rows(rmdp.nominal)
        self.nominal = nominal
        self.S, self.A, self.gamma = nominal.n_states, nominal.n_actions, nominal.gamma
        self.r = np.ascontiguousarray(nominal.R, dtype=np.float64).ravel()
        self._P2: np.ndarray | None = None  # dense (S*A, S) kernel, built on first use (see P2)
        self.csr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.chunks_rows = n_chunks(self.S * self.A)
        self.chunks_states = n_chunks(self.S)
        size = self.S * self.A * self.S
        self._sa_l1 = _kernels.pick(_kernels._sa_l1, size)
        self._sa_box = _kernels.pick(_kernels._sa_box, size)
        self._sa_kl = _kernels.pick(_kernels._sa_kl, size)
        self._s_l1 = _kernels.pick(_kernels._s_l1, size)
        self._s_l1_policy = _kernels.pick(_kernels._s_l1_policy, size)
        self.restrict = bool(getattr(U, "restrict_to_support", False))
        if isinstance(U, ParametricSet):
            raise InvalidModelError(
                "robust dynamic programming over a ParametricSet needs a finite description: use "
                "RobustMDP(nominal, uncertainty.to_finite(n_per_dim)) or iwocs(...)")
        if isinstance(U, FiniteSet) and not U.is_sa_rectangular:
            if warn:
                warnings.warn(
                    f"FiniteSet of {len(U.kernels)} kernels is not sa-rectangular: robust dynamic programming "
                    "solves its sa-rectangular hull, whose value can be strictly below the static robust value "
                    "max_pi min_T V^pi_T; static = dynamic and the no-duality-gap identity do not hold",
                    RectangularityWarning, stacklevel=3)
            U = U.hull()
        self.set = U
        self.rectangularity = U.rectangularity
        if isinstance(U, L1Ball):
            self.kind = "l1" if U.rectangularity == "sa" else "l1s"
            self.radius = np.ascontiguousarray(U.radii(nominal).ravel())
            if self.kind == "l1s" and self.optimistic:
                # agent and nature maximise jointly: the whole budget xi_s goes to one action
                self.kind = "l1"
                self.radius = np.ascontiguousarray(np.repeat(self.radius, self.A))
        elif isinstance(U, LInfBall):
            self.kind = "linf"
            self.radius = np.ascontiguousarray(U.radii(nominal).ravel())
        elif isinstance(U, KLBall):
            self.kind = "kl"
            self.radius = np.ascontiguousarray(U.radii(nominal).ravel())
            self.t_warm = np.zeros(self.S * self.A)
        elif isinstance(U, IntervalSet):
            self.kind = "interval"
            lo, hi = U.bounds(nominal)
            self.lo = np.ascontiguousarray(lo.reshape(self.S * self.A, self.S))
            self.hi = np.ascontiguousarray(hi.reshape(self.S * self.A, self.S))
            self.radius = np.zeros(self.S * self.A)
        elif isinstance(U, SARectFinite):
            self.kind = "finite"
            self.C = np.ascontiguousarray(U.rows(nominal))
        else:  # pragma: no cover - every set class is handled above
            raise InvalidModelError(f"unsupported uncertainty set {type(U).__name__}")
        if nominal.is_sparse and self.kind in ("l1", "linf", "kl"):
            # values straight from the CSR rows (L1: the moved mass goes to the support's or the
            # global lowest state; L-inf: off the support up to min(1, radius) per state unless
            # restricted; KL stays on the support); minimising rows, when asked for, from a dense
            # copy made for that call only
            M = nominal.transition_matrix
            self.csr = (np.ascontiguousarray(M.data, dtype=np.float64), np.ascontiguousarray(M.indices),
                        np.ascontiguousarray(M.indptr))
            self._csr_sa_l1 = _kernels.pick(_kernels._csr_sa_l1, M.nnz)
            self._csr_sa_kl = _kernels.pick(_kernels._csr_sa_kl, M.nnz)
            self._csr_sa_linf = _kernels.pick(_kernels._csr_sa_linf, M.nnz)
        if self.kind == "kl":
            self.full_support = (np.diff(self.csr[2]) == self.S) if self.csr is not None else np.all(self.P2 > 0.0, axis=1)
        self.kl_fails = 0
        self.depth = np.full(self.S, np.nan)  # s-rect L1: max_a f_a(0) - u* of the last backup per state
        self.k_warm = np.full(self.S * self.A, -1, dtype=np.int64)  # box sets: last threshold position per row
        self._sorted: np.ndarray | None = None  # argsort of the last v

    @property
    def P2(self) -> np.ndarray:
        """The nominal kernel as a dense ``(S*A, S)`` array (row ``s*A + a``); kept for dense
        models, rebuilt on each use for the CSR models the value kernels read directly."""
        if self._P2 is not None:
            return self._P2
        P2 = np.ascontiguousarray(_dense_kernel(self.nominal).reshape(self.S * self.A, self.S))
        if self.csr is None:
            self._P2 = P2
        return P2

    def _order(self, v: np.ndarray) -> np.ndarray:
        """``argsort(v)``; the last order is reused while it still sorts ``v`` (checked in
        ``O(S)``: across value-iteration backups it rarely changes)."""
        if self._sorted is None or not _kernels.sorts(v, self._sorted):
            self._sorted = np.argsort(v, kind="stable")
        return self._sorted

    # --- sa-rectangular inner problems ----------------------------------------------------------
    def sigma(self, v: np.ndarray, *, rows: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """``sigma[s*A + a] = min_{p in T_sa} <p, v>`` (``max`` when nature is optimistic; shape
        ``(S*A,)``) and, with ``rows``, the minimisers (maximisers) as a kernel of shape ``(S, A, S)``."""
        if self.kind == "l1s":
            raise InvalidModelError("s-rectangular sets have no per-(s, a) inner problem; use backup()")
        v = np.ascontiguousarray(v, dtype=np.float64)
        if self.optimistic:
            out, kernel = self._sigma_min(-v, rows)
            return -out, kernel
        return self._sigma_min(v, rows)

    def _sigma_min(self, v: np.ndarray, rows: bool) -> tuple[np.ndarray, np.ndarray | None]:
        n_rows = self.S * self.A
        out = np.empty(n_rows)
        out_rows = np.empty((n_rows, self.S)) if rows else _EMPTY2
        if self.kind == "finite":
            vals = np.einsum("sakt,t->sak", self.C, v)
            k = vals.argmin(-1)
            out = np.take_along_axis(vals, k[..., None], -1).ravel()
            kernel = np.take_along_axis(self.C, k[:, :, None, None], 2)[:, :, 0, :] if rows else None
            return out, kernel
        order = self._order(v)
        if self.csr is not None and not rows:
            if self.kind == "l1":
                self._csr_sa_l1(*self.csr, v, order, self.radius, self.restrict, out, self.chunks_rows)
            elif self.kind == "linf":
                self._csr_sa_linf(*self.csr, self.radius, v, order, self.restrict, out, self.chunks_rows)
            else:
                self.kl_fails += int(self._csr_sa_kl(*self.csr, v, self.radius, self.t_warm, 1e-13, 60, out,
                                                     self.chunks_rows))
        elif self.kind == "l1":
            self._sa_l1(self.P2, v, order, self.radius, self.restrict, out, out_rows, rows, self.chunks_rows)
        elif self.kind == "linf":
            self._sa_box(self.P2, _EMPTY2, _EMPTY2, self.radius, v, order, self.k_warm, 0, self.restrict, out,
                         out_rows, rows, self.chunks_rows)
        elif self.kind == "interval":
            self._sa_box(self.P2, self.lo, self.hi, self.radius, v, order, self.k_warm, 1, False, out, out_rows,
                         rows, self.chunks_rows)
        else:  # kl
            self.kl_fails += int(self._sa_kl(self.P2, self.full_support, v, order, self.radius, self.t_warm, 1e-13, 60,
                                             out, out_rows, rows, self.chunks_rows))
        return out, (out_rows.reshape(self.S, self.A, self.S) if rows else None)

    def q(self, v: np.ndarray) -> np.ndarray:
        """Robust action values ``q[s, a] = r(s, a) + gamma sigma_sa(v)`` (sa-rectangular sets)."""
        sig, _ = self.sigma(v)
        return self._masked((self.r + self.gamma * sig).reshape(self.S, self.A))

    def _masked(self, q: np.ndarray) -> np.ndarray:
        """``q`` with ``-inf`` at unavailable actions."""
        if self.mask is not None:
            q[~self.mask] = -np.inf
        return q

    # --- full backups -------------------------------------------------------------------------
    def backup(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(T v, policy, q)``: the greedy policy is action indices ``(S,)`` for sa-rectangular sets
        (lowest index on ties) and probabilities ``(S, A)`` for s-rectangular ones; ``q`` is the
        robust action-value array (``None`` for s-rectangular sets)."""
        v = np.ascontiguousarray(v, dtype=np.float64)
        if self.kind == "l1s":
            tv = np.empty(self.S)
            policy = np.empty((self.S, self.A))
            budget = np.empty(self.S * self.A)
            self._s_l1(self.P2, self.r, v, self._order(v), self.gamma, self.A, self.radius, self.restrict,
                       self.depth, tv, policy, budget, self.chunks_states)
            return tv, policy, None
        q = self.q(v)
        policy = q.argmax(axis=1)
        return q[np.arange(self.S), policy], policy, q

    def policy_backup(self, v: np.ndarray, policy: np.ndarray) -> np.ndarray:
        """The robust evaluation operator ``(T^pi v)(s) = min_{P in T} sum_a pi(a|s)(r + gamma <P_sa, v>)``
        for a deterministic ``(S,)`` or randomised ``(S, A)`` policy."""
        return self.policy_backup_rows(v, policy, rows=False)[0]

    def policy_backup_rows(self, v: np.ndarray, policy: np.ndarray, *, rows: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`policy_backup` and, with ``rows``, the adversary's best-response kernel ``(S, A, S)``."""
        v = np.ascontiguousarray(v, dtype=np.float64)
        pi = _as_probs(policy, self.S, self.A)
        if self.kind == "l1s":
            out = np.empty(self.S)
            budget = np.empty(self.S * self.A)
            order = self._order(v)
            self._s_l1_policy(self.P2, self.r, v, order, self.gamma, self.A, self.radius, self.restrict,
                                 np.ascontiguousarray(pi), out, budget, self.chunks_states)
            kernel = None
            if rows:
                vals = np.empty(self.S * self.A)
                kr = np.empty((self.S * self.A, self.S))
                self._sa_l1(self.P2, v, order, budget, self.restrict, vals, kr, True, self.chunks_rows)
                kernel = kr.reshape(self.S, self.A, self.S)
            return out, kernel
        sig, kernel = self.sigma(v, rows=rows)
        q = (self.r + self.gamma * sig).reshape(self.S, self.A)
        if self.mask is not None:
            q = np.where(self.mask, q, np.where(pi > 0, -np.inf, 0.0))
        return np.einsum("sa,sa->s", pi, q), kernel

    def worst_kernel(self, v: np.ndarray, policy: np.ndarray | None = None) -> np.ndarray:
        """A kernel in the set attaining the minimum at every state: for sa-rectangular sets the
        row-wise minimisers (independent of the policy); for s-rectangular sets the adversary's
        response to ``policy`` (default: the robust-greedy randomised policy of ``v``)."""
        if self.kind == "l1s":
            if policy is None:
                policy = self.backup(v)[1]
            return self.policy_backup_rows(v, policy, rows=True)[1]
        return self.sigma(v, rows=True)[1]

    def evaluate(self, policy: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """Exact ``V^pi_P`` in the static MDP with kernel ``P`` (one linear solve)."""
        pi = _as_probs(policy, self.S, self.A)
        P_pi = np.einsum("sa,sat->st", pi, kernel)
        r_pi = np.einsum("sa,sa->s", pi, self.r.reshape(self.S, self.A))
        return solve_policy_system(P_pi, r_pi, self.gamma)


def _fill_masked_rows(nominal: FiniteMDP) -> FiniteMDP:
    """``nominal`` with the rows of unavailable actions set to a self-loop and no mask (the
    operator's kernels need probability rows; it restores the mask as ``q = -inf`` itself)."""
    mask = nominal.action_mask
    if mask is None:
        return nominal
    A = nominal.n_actions
    s_idx, a_idx = np.nonzero(~mask)
    if nominal.is_sparse:
        P = sp.lil_matrix(nominal.P)
        for s_, a_ in zip(s_idx, a_idx):
            P.rows[s_ * A + a_] = [int(s_)]
            P.data[s_ * A + a_] = [1.0]
        P = P.tocsr()
    else:
        P = np.array(nominal.P)
        P[s_idx, a_idx, :] = 0.0
        P[s_idx, a_idx, s_idx] = 1.0
    return nominal.replace(P=P, action_mask=None)


def _as_probs(policy: np.ndarray, S: int, A: int) -> np.ndarray:
    policy = np.asarray(policy)
    if policy.ndim == 1:
        out = np.zeros((S, A))
        out[np.arange(S), policy.astype(np.int64)] = 1.0
        return out
    return np.asarray(policy, dtype=np.float64)


def inner_problem(rmdp: RobustMDP, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""All sa-rectangular inner problems at once:
    ``sigma[s, a] = min_{p in T_sa} <p, v>`` and a minimiser ``p*[s, a, :]``.

    .. math::
        \sigma_{s,a}(v) = \min_{p \in \mathcal T_{s,a}} \langle p, v\rangle, \qquad
        \mathcal T_{s,a} \subseteq \Delta(S) \text{ around } \hat p = P[s, a, :],

    solved exactly per set (see :mod:`theory_rl.robust._kernels`): L1 ball
    ``||p - p_hat||_1 <= xi`` by moving ``min(xi/2, 1 - p_hat[i_min])`` onto the lowest-value
    state from the highest (Iyengar 2005, Math. Oper. Res. 30(2), Sec. 4; Petrik & Subramanian
    2014); L-infinity balls and interval sets ``lo <= p <= hi`` by the greedy fill of the
    lowest-value states; KL balls ``KL(p || p_hat) <= delta`` by the exponential tilt
    ``p ∝ p_hat exp(-(v - v_min)/beta)`` with ``beta`` the root of the 1-D dual (Nilim &
    El Ghaoui 2005, Oper. Res. 53(5); Iyengar 2005), to a value error of ``1e-13 (max v -
    min v)`` over the row's support; finite candidate sets by enumeration.

    Assumptions: the set is sa-rectangular (s-rectangular sets have no per-``(s, a)`` problem:
    use the solvers); mass may leave the nominal support unless the set says
    ``restrict_to_support`` (KL balls never leave it).

    Parameters
    ----------
    rmdp : RobustMDP
        With an sa-rectangular set (or a :class:`FiniteSet`, whose hull is used, with a warning).
    v : ndarray, shape (S,)

    Returns
    -------
    sigma : ndarray, shape (S, A)
    worst : ndarray, shape (S, A, S)

    Examples
    --------
    >>> from theory_rl import envs, robust
    >>> mdp = envs.random_mdp(3, 2, seed=0)
    >>> import numpy as np
    >>> sigma, p = robust.inner_problem(robust.RobustMDP(mdp, robust.L1Ball(0.2)), np.array([0.0, 1.0, 2.0]))
    >>> sigma.shape, bool(np.allclose(p.sum(axis=2), 1.0))
    ((3, 2), True)
    """
    from ..tabular import as_value

    op = RobustOperator(rmdp)
    sig, rows = op.sigma(as_value(rmdp.nominal, v), rows=True)
    return sig.reshape(op.S, op.A), rows
