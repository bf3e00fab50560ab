r"""Finite-horizon linear predictive state representations (PSRs) in observable-operator form.

Conventions (Cassandra order, as :class:`~theory_rl.models.POMDP`): a history of length ``h`` is
``tau_h = (a_1, o_1, ..., a_h, o_h)``; a *test* is a future ``q = (a_{h+1}, o_{h+1}, ...,
a_{h+k}, o_{h+k})``; it *succeeds* with probability ``P(q | tau_h) = P(o_{h+1:h+k} | tau_h, do
a_{h+1:h+k})``. Some papers write the episodic order
``(o_1, a_1, ...)``; here the action comes first in each pair, which is the same object with the
pairs re-bracketed (Littman, Sutton, Singh 2001 use this order).

A PSR of horizon ``H`` is ``theta = (psi_0, {M_h(a, o)}, {phi_h})`` with

.. math::
    \bar\psi(\tau_h) = M_h(a_h, o_h)\, \bar\psi(\tau_{h-1}), \quad \bar\psi(\tau_0) = \psi_0, \quad
    P(\tau_h) = \phi_h^\top \bar\psi(\tau_h) = \phi_h^\top M_h(a_h, o_h) \cdots M_1(a_1, o_1)\, \psi_0 ,

``M_h(a, o)`` of shape ``(d_h, d_{h-1})``. When the coordinates are the success probabilities of
core tests ``Q_h`` (``\bar\psi(\tau_h)[i] = P(\tau_h, q^i)``, Littman et al. 2001;
Singh, James, Rudary 2004) the first core test is the empty test, so ``phi_h = e_1`` and
``psi(tau_h) = \bar\psi / P(\tau_h)`` is the predictive state. After a similarity transform
``(J_0 psi_0, J_h M_h J_{h-1}^{-1}, J_h^{-T} phi_h)`` (a "transformed PSR", Rosencrantz, Gordon,
Thrun 2004) the probabilities are unchanged but the coordinates are no longer tests; such a PSR
has ``core_tests = None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from .._deprecation import renamed_arguments
from .._validation import as_float_array, check_bool, check_finite, check_real
from ..errors import InvalidModelError
from ..models import POMDP
from ._forward import _as_sequences

__all__ = ["PSR", "Test", "independent_columns", "psr_trajectory_probability_torch"]

#: A test: a tuple of (action, observation) pairs, e.g. ``((0, 1), (1, 0))``; ``()`` is the empty test.
Test = tuple[tuple[int, int], ...]


@renamed_arguments(tol="rank_tol")
def independent_columns(vectors: np.ndarray, *, rank_tol: float = 1e-10, keep_first: bool = True) -> list[int]:
    """Indices of a well-conditioned set of columns spanning ``colspan(vectors)`` numerically.

    Rank-revealing QR with column pivoting (LAPACK ``geqp3`` through :func:`scipy.linalg.qr`): after
    taking column 0 first when ``keep_first`` (the empty test, so that ``phi_h = e_1``), the column
    with the largest residual norm is taken next, until every residual is below
    ``rank_tol * max_j ||vectors[:, j]||``. Every kept index is an original column, so the result
    names real tests. Pivoting matters: taking columns in their given order admits
    nearly dependent tests and makes the core-test coordinates ill-conditioned on 60-state models.

    ``rank_tol`` (a relative rank threshold, ``>= 0``, as in :func:`left_inverse_norm`; not an
    accuracy asked for) was called ``tol`` before 0.2.0 (still accepted until 0.3.0, with a
    ``DeprecationWarning``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> pomdp.independent_columns(np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 1.0]]))
    [0, 2]
    """
    tol = check_real(rank_tol, "rank_tol", low=0.0)
    keep_first = check_bool(keep_first, "keep_first")
    V = as_float_array(vectors, "vectors")
    if V.size == 0:
        return []
    scale = float(np.linalg.norm(V, axis=0).max())
    if scale == 0.0:
        return []
    keep: list[int] = []
    R = V
    if keep_first and np.linalg.norm(V[:, 0]) > tol * scale:
        q = V[:, 0] / np.linalg.norm(V[:, 0])
        R = V - np.outer(q, q @ V)
        R[:, 0] = 0.0
        keep.append(0)
    if R.shape[0] == 0:
        return keep
    r, perm = scipy.linalg.qr(R, mode="r", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int((diag > tol * scale).sum())
    keep.extend(int(j) for j in perm[:rank])
    return keep


@dataclass(frozen=True, eq=False, repr=False)
class PSR:
    r"""A finite-horizon PSR in observable-operator form.

    Parameters
    ----------
    initial_state : array_like, shape (d_0,)
        ``psi_0 = \bar\psi(\tau_0)``.
    operators : sequence of array_like, ``operators[h-1]`` of shape (A, O, d_h, d_{h-1})
        ``M_h(a, o) = operators[h-1][a, o]`` for ``h = 1..H``.
    normalizers : sequence of array_like, ``normalizers[h]`` of shape (d_h,)
        ``phi_h`` with ``P(tau_h) = phi_h^T \bar\psi(tau_h)``, ``h = 0..H``.
    core_tests : tuple of tuples of tests, optional
        ``core_tests[h]`` lists the ``d_h`` tests whose success probabilities are the coordinates of
        ``\bar\psi(\tau_h)``; ``None`` for a transformed PSR.

    Notes
    -----
    Two PSRs are equal as models iff their trajectory probabilities agree; compare
    :meth:`trajectory_probability`, never raw operators (non-identifiability).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> psr = pomdp.PSR.from_pomdp(tiger, 2)
    >>> acts, obs = pomdp.enumerate_trajectories(3, 2, 2)
    >>> bool(np.allclose(psr.trajectory_probability(acts, obs), pomdp.trajectory_probability(tiger, acts, obs)))
    True
    """

    initial_state: np.ndarray
    operators: tuple[np.ndarray, ...]
    normalizers: tuple[np.ndarray, ...]
    core_tests: tuple[tuple[Test, ...], ...] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        psi0 = as_float_array(self.initial_state, "initial_state", ndim=1)
        check_finite(psi0, "initial_state")
        ops = []
        for h, M in enumerate(self.operators, start=1):
            M = as_float_array(M, f"operators[{h - 1}]", ndim=4)
            check_finite(M, f"operators[{h - 1}]")
            ops.append(M)
        phis = []
        for h, phi in enumerate(self.normalizers):
            phi = as_float_array(phi, f"normalizers[{h}]", ndim=1)
            check_finite(phi, f"normalizers[{h}]")
            phis.append(phi)
        H = len(ops)
        if len(phis) != H + 1:
            raise InvalidModelError(f"normalizers has {len(phis)} entries, expected horizon + 1 = {H + 1}")
        dims = [psi0.shape[0]]
        for h, M in enumerate(ops, start=1):
            if M.shape[:2] != ops[0].shape[:2]:
                raise InvalidModelError(
                    f"operators[{h - 1}] has (A, O) = {M.shape[:2]}, but operators[0] has {ops[0].shape[:2]}"
                )
            if M.shape[3] != dims[-1]:
                raise InvalidModelError(
                    f"operators[{h - 1}] has shape {M.shape}; its last axis must be d_{h - 1} = {dims[-1]}"
                )
            dims.append(M.shape[2])
        for h, phi in enumerate(phis):
            if phi.shape[0] != dims[h]:
                raise InvalidModelError(f"normalizers[{h}] has length {phi.shape[0]}, expected d_{h} = {dims[h]}")
        tests = self.core_tests
        if tests is not None:
            tests = tuple(tuple(tuple((int(a), int(o)) for a, o in q) for q in level) for level in tests)
            if len(tests) != H + 1 or any(len(t) != d for t, d in zip(tests, dims)):
                raise InvalidModelError(
                    f"core_tests must list d_h tests for h = 0..{H}; dims are {dims}, "
                    f"got {[len(t) for t in tests]}"
                )
        for arr in [psi0, *ops, *phis]:
            arr.setflags(write=False)
        set_(self, "initial_state", psi0)
        set_(self, "operators", tuple(ops))
        set_(self, "normalizers", tuple(phis))
        set_(self, "core_tests", tests)

    # ------------------------------------------------------------------ shapes
    @property
    def horizon(self) -> int:
        """``H``, the number of operator steps."""
        return len(self.operators)

    @property
    def n_actions(self) -> int:
        """``A``."""
        return self.operators[0].shape[0] if self.operators else 0

    @property
    def n_observations(self) -> int:
        """``O``."""
        return self.operators[0].shape[1] if self.operators else 0

    @property
    def dims(self) -> tuple[int, ...]:
        """``(d_0, ..., d_H)``, the dimension of the predictive state after each history length."""
        return (self.initial_state.shape[0], *(M.shape[2] for M in self.operators))

    def __repr__(self) -> str:
        kind = "core tests" if self.core_tests is not None else "transformed"
        return f"PSR(H={self.horizon}, A={self.n_actions}, O={self.n_observations}, dims={self.dims}, {kind})"

    # ------------------------------------------------------------------ evaluation
    def _check_sequences(self, actions: Any, observations: Any) -> tuple[np.ndarray, np.ndarray, bool]:
        a, o, single = _as_sequences(_Spaces(self.n_actions, self.n_observations), actions, observations)
        if a.shape[1] > self.horizon:
            raise InvalidModelError(f"sequences of length {a.shape[1]} exceed the PSR's horizon {self.horizon}")
        return a, o, single

    def unnormalized_state(self, actions: Any, observations: Any) -> np.ndarray:
        r"""``\bar\psi(\tau_h) = M_h(a_h, o_h) \cdots M_1(a_1, o_1) \psi_0`` for each history.

        Parameters
        ----------
        actions, observations : array_like of int, shape (n, h) or (h,), ``h <= H``

        Returns
        -------
        ndarray, shape (n, d_h) (or (d_h,))
        """
        a, o, single = self._check_sequences(actions, observations)
        x = np.broadcast_to(self.initial_state, (a.shape[0], self.dims[0]))
        for t in range(a.shape[1]):
            x = np.einsum("nij,nj->ni", self.operators[t][a[:, t], o[:, t]], x)
        return x[0] if single else np.ascontiguousarray(x)

    def trajectory_probability(self, actions: Any, observations: Any) -> np.ndarray | float:
        r"""``P(o_{1:h} | do a_{1:h}) = phi_h^T M_h(a_h, o_h) ... M_1(a_1, o_1) psi_0`` (any ``h <= H``);
        :func:`psr_trajectory_probability_torch` runs the same products in torch.

        Returns an array of shape ``(n,)``, or a float for a single sequence.
        """
        x = self.unnormalized_state(actions, observations)
        h = np.shape(actions)[-1]
        p = x @ self.normalizers[h]
        return float(p) if np.ndim(p) == 0 else p

    def predictive_state(self, actions: Any, observations: Any) -> np.ndarray:
        r"""``psi(tau_h) = \bar\psi(\tau_h) / P(\tau_h)``; for a PSR built on core tests its entries are
        the tests' success probabilities ``P(q | tau_h)`` (in ``[0, 1]``).

        Raises
        ------
        InvalidModelError
            If a history has probability 0 (its predictive state is undefined).
        """
        x = self.unnormalized_state(actions, observations)
        h = np.shape(actions)[-1]
        p = x @ self.normalizers[h]
        if np.any(p <= 0):
            idx = int(np.argmax(np.atleast_1d(p) <= 0))
            raise InvalidModelError(f"history {idx} has probability {float(np.atleast_1d(p)[idx]):.3g} <= 0")
        return x / (p[..., None] if np.ndim(p) else p)

    def m_vector(self, test: Sequence[tuple[int, int]], h: int) -> np.ndarray:
        r"""``m(q)`` with ``P(q | tau_h) = m(q)^T psi(tau_h)`` for a test of length ``k <= H - h``:
        ``m(q)^T = phi_{h+k}^T M_{h+k}(a_k, o_k) \cdots M_{h+1}(a_1, o_1)``."""
        q = [(int(a), int(o)) for a, o in test]
        if not 0 <= h <= self.horizon - len(q):
            raise InvalidModelError(f"a test of length {len(q)} at h = {h} runs past the horizon {self.horizon}")
        m = self.normalizers[h + len(q)]
        for step in range(len(q), 0, -1):
            a, o = q[step - 1]
            if not (0 <= a < self.n_actions and 0 <= o < self.n_observations):
                raise InvalidModelError(f"test step {step - 1} = {(a, o)} is outside (A, O) = {(self.n_actions, self.n_observations)}")
            m = self.operators[h + step - 1][a, o].T @ m
        return m

    # ------------------------------------------------------------------ transforms
    def transform(self, J: Sequence[Any]) -> PSR:
        r"""The similarity-transformed PSR ``(J_0 psi_0, J_h M_h J_{h-1}^{-1}, J_h^{-T} phi_h)``.

        ``J[h]`` must be an invertible ``(d_h, d_h)`` matrix for ``h = 0..H``. Trajectory
        probabilities are unchanged; the result has ``core_tests = None``.
        """
        if len(J) != self.horizon + 1:
            raise InvalidModelError(f"J has {len(J)} matrices, expected horizon + 1 = {self.horizon + 1}")
        Js, Jinv = [], []
        for h, (Jh, d) in enumerate(zip(J, self.dims)):
            Jh = as_float_array(Jh, f"J[{h}]", ndim=2)
            if Jh.shape != (d, d):
                raise InvalidModelError(f"J[{h}] has shape {Jh.shape}, expected ({d}, {d})")
            if np.linalg.cond(Jh) > 1e12:
                raise InvalidModelError(f"J[{h}] is singular (condition number {np.linalg.cond(Jh):.3g})")
            Js.append(Jh)
            Jinv.append(np.linalg.inv(Jh))
        ops = [np.einsum("ij,aojk,kl->aoil", Js[h], M, Jinv[h - 1]) for h, M in enumerate(self.operators, start=1)]
        phis = [Jinv[h].T @ phi for h, phi in enumerate(self.normalizers)]
        return PSR(Js[0] @ self.initial_state, tuple(ops), tuple(phis), None)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pomdp(cls, model: POMDP, horizon: int, *, minimal: bool = False, tol: float = 1e-10) -> PSR:
        r"""The PSR of a POMDP over ``horizon`` steps, on core tests.

        Outcome vectors ``u(q)[s] = P(q succeeds | s_h = s)`` satisfy
        ``u((a, o) q') = T_a (O[a, :, o] * u(q'))`` (``G(a, o)^T u(q')`` with
        ``G(a, o) = diag(O[a, :, o]) T_a^T``). Going backwards from ``U_H = [1]`` (the empty test),
        the candidates at level ``h`` are the empty test and every one-step extension
        ``(a, o) q'`` of a level-``h+1`` core test; their span is the span of *all* tests of
        length ``<= H - h``. The empty test and then, by rank-revealing QR with column
        pivoting, a well-conditioned set of candidates spanning the rest (``tol`` relative to the
        largest norm) are kept, giving ``U_h`` (``S x d_h``) and ``Q_h``. Then ``\bar\psi(\tau_h) = U_h^T \bar b(\tau_h)``,

        .. math:: M_h(a, o) = U_h^\top G(a, o) (U_{h-1}^+)^\top, \qquad \phi_h = e_1 ,

        exact because every column of ``G(a, o)^T U_h`` is an outcome vector of a level-``h-1``
        test and so lies in ``colspan(U_{h-1})``.

        With ``minimal=True`` the coordinates are further restricted to the span of reachable
        ``\bar\psi(\tau_h)``: a subset of core tests is kept whose rows of ``U_h^T V_h``
        (``V_h`` spanning reachable unnormalised beliefs) have full rank, so ``d_h = rank(D_h)``,
        the rank of the system-dynamics matrix ``D_h[tau_h, q] = P(tau_h, q)``, and the
        coordinates are still real tests.

        Parameters
        ----------
        model : POMDP
            Dense or CSR transitions.
        horizon : int
            ``H >= 0``.
        minimal : bool
            Reduce to ``d_h = rank(D_h)`` (default: ``d_h = rank(U_h) <= S``).
        tol : float
            Relative rank tolerance.

        Notes
        -----
        Cost ``O(H A O S^2 d)`` for the construction. Reference for the core-test search:
        Littman, Sutton, Singh (2001) "Predictive representations of state"; the operator
        form follows Jaeger (2000) and Liu et al. (2022, arXiv 2209.14997).
        """
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 0:
            raise InvalidModelError(f"horizon must be an integer >= 0, got {horizon!r}")
        H = int(horizon)
        S, A, O = model.n_states, model.n_actions, model.n_observations  # noqa: E741
        Ta = model.transitions_by_action  # T_a[s, s'], dense or CSR
        Tt = model.transpose_by_action

        def pull(vectors: np.ndarray) -> np.ndarray:
            """``G(a, o)^T V`` for all (a, o): shape (A, O, S, k)."""
            out = np.empty((A, O, S, vectors.shape[1]))
            for a in range(A):
                for o in range(O):
                    out[a, o] = np.asarray(Ta[a] @ (model.O[a][:, o, None] * vectors))
            return out

        U: list[np.ndarray] = [np.empty(0)] * (H + 1)
        tests: list[tuple[Test, ...]] = [()] * (H + 1)
        U[H] = np.ones((S, 1))
        tests[H] = ((),)
        for h in range(H - 1, -1, -1):
            ext = pull(U[h + 1])  # (A, O, S, d_{h+1})
            # candidates: the empty test (kept first), then every (a, o) + q' with q' in Q_{h+1}
            cand = [np.ones(S)]
            names: list[Test] = [()]
            for j, q in enumerate(tests[h + 1]):
                for a in range(A):
                    for o in range(O):
                        cand.append(ext[a, o, :, j])
                        names.append(((a, o), *q))
            C = np.stack(cand, axis=1)
            keep = independent_columns(C, rank_tol=tol)
            U[h] = C[:, keep]
            tests[h] = tuple(names[i] for i in keep)

        ops = []
        for h in range(1, H + 1):
            pinv_prev = np.linalg.pinv(U[h - 1])  # (d_{h-1}, S)
            W = pull(U[h])  # (A, O, S, d_h): G^T U_h
            ops.append(np.einsum("ks,aosd->aodk", pinv_prev, W))
        psi0 = U[0].T @ model.b0
        phis = [np.eye(U[h].shape[1])[0] for h in range(H + 1)]
        if not minimal:
            return cls(psi0, tuple(ops), tuple(phis), tuple(tests))

        # Reachable unnormalised beliefs: V_0 = span{b0}, V_h = span{G(a, o) V_{h-1}}.
        selected, lift = [], []
        V = model.b0[:, None] / np.linalg.norm(model.b0)
        for h in range(H + 1):
            if h > 0:
                pushed = np.concatenate(
                    [model.O[a][:, o, None] * np.asarray(Tt[a] @ V) for a in range(A) for o in range(O)], axis=1
                )
                keep = independent_columns(pushed, rank_tol=tol)
                V = np.linalg.qr(pushed[:, keep])[0] if keep else np.zeros((S, 0))
            K = U[h].T @ V  # (d_h, k_h): reachable predictive states span colspan(K)
            rows = independent_columns(K.T, rank_tol=tol)
            if not rows:  # nothing reachable with positive probability: keep the empty test
                rows = [0]
            selected.append(rows)
            lift.append(K @ np.linalg.pinv(K[rows]))  # psi_bar = L psi_bar[rows] on the reachable span
        ops_min = [M[:, :, selected[h]] @ lift[h - 1] for h, M in enumerate(ops, start=1)]
        phis_min = [lift[h].T @ phis[h] for h in range(H + 1)]
        tests_min = tuple(tuple(tests[h][i] for i in selected[h]) for h in range(H + 1))
        return cls(psi0[selected[0]], tuple(ops_min), tuple(phis_min), tests_min)


def psr_trajectory_probability_torch(
    psr: PSR, actions: Any, observations: Any, *, device: Any = "auto", dtype: Any = None
) -> Any:
    r""":meth:`PSR.trajectory_probability` as batched operator products in torch (GPU when present).

    Same equation, ``phi_h^T M_h(a_h, o_h) \cdots M_1(a_1, o_1) psi_0`` for ``n`` sequences at once,
    one gathered batched matrix-vector product per step.

    Parameters
    ----------
    psr : PSR
    actions, observations : array_like of int, shape (n, h), ``h <= H``
    device : str or torch.device
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``.
    dtype : torch.dtype, optional
        Default ``torch.float32``; ``torch.float64`` reproduces the NumPy values to rounding.

    Returns
    -------
    torch.Tensor of shape (n,) on ``device``
        Matches the float64 NumPy result within ``1e-5`` in float32 (tested on CPU).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> psr = pomdp.PSR.from_pomdp(tiger, 2)
    >>> acts, obs = pomdp.enumerate_trajectories(3, 2, 2)
    >>> p = pomdp.psr_trajectory_probability_torch(psr, acts, obs, device='cpu')
    >>> bool(np.allclose(p.cpu().numpy(), psr.trajectory_probability(acts, obs)))
    True
    """
    from .._torch import as_tensor, require_torch, resolve_device

    torch = require_torch()
    dev = resolve_device(device)
    dtype = torch.float32 if dtype is None else dtype
    a, o, _ = psr._check_sequences(actions, observations)
    at = torch.as_tensor(a, device=dev)
    ot = torch.as_tensor(o, device=dev)
    # copies: the PSR's arrays are read-only, which torch warns about
    x = as_tensor(np.array(psr.initial_state), device=dev, dtype=dtype).expand(a.shape[0], -1)
    for t in range(a.shape[1]):
        M = as_tensor(np.array(psr.operators[t]), device=dev, dtype=dtype)
        x = torch.bmm(M[at[:, t], ot[:, t]], x.unsqueeze(-1)).squeeze(-1)
    return x @ as_tensor(np.array(psr.normalizers[a.shape[1]]), device=dev, dtype=dtype)


@dataclass(frozen=True)
class _Spaces:
    """The two sizes sequence validation needs (a PSR has no states)."""

    n_actions: int
    n_observations: int
