r"""Bellman operators and exact policy evaluation for :class:`~theory_rl.models.FiniteMDP`.

Notation (Puterman 1994, ch. 6): for ``v`` in ``R^S``,

.. math::
    q_v(s, a) = R(s, a) + \gamma \sum_{s'} P(s' \mid s, a)\, v(s'), \qquad
    (T v)(s) = \max_a q_v(s, a), \qquad (T_\pi v)(s) = \sum_a \pi(a \mid s)\, q_v(s, a).

``T`` and ``T_pi`` are monotone ``gamma``-contractions in the sup norm, with fixed points
``v*`` and ``v_pi``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._validation import (
    as_float_array,
    check_bool,
    check_choice,
    check_finite,
    check_probability_rows,
    resolve_indices,
)
from ..errors import InvalidArgumentError, InvalidModelError, SolverError
from ..models import FiniteMDP
from . import _kernels

__all__ = [
    "BellmanOperator",
    "as_policy",
    "as_value",
    "check_index_range",
    "effective_rewards",
    "solve_policy_system",
    "bellman_operator",
    "bellman_residual",
    "greedy_policy",
    "policy_value",
    "q_values",
]


def effective_rewards(mdp: FiniteMDP) -> np.ndarray:
    """``r_eff[s*A + a] = R[s, a]``, or ``-inf`` for unavailable actions (a new array, shape (S*A,)),
    so that every max over actions ignores them."""
    r = np.array(mdp.R, dtype=np.float64).ravel()
    if mdp.action_mask is not None:
        r[~mdp.action_mask.ravel()] = -np.inf
    return r


# Below this many stored transition entries one backup takes microseconds, and waking numba's
# worker threads costs more than they save: value iteration on S=10, A=3 measured 0.83 ms on one
# thread against 4.7 ms on two (2-core machine under load). Results do not depend on the thread
# count: each state's sums run in the same order either way.
PARALLEL_MIN_ENTRIES = 200_000

_Method = TypeVar("_Method", bound=Callable[..., Any])


def _single_threaded_when_small(method: _Method) -> _Method:
    """Run ``method`` with one numba thread when the operator's model is small."""

    @functools.wraps(method)
    def wrapper(self: BellmanOperator, *args: Any, **kwargs: Any) -> Any:
        previous = numba.get_num_threads()
        if not self.single_thread or previous == 1:
            return method(self, *args, **kwargs)
        numba.set_num_threads(1)
        try:
            return method(self, *args, **kwargs)
        finally:
            numba.set_num_threads(previous)

    return wrapper  # type: ignore[return-value]


class BellmanOperator:
    """The arrays of one model laid out for fast repeated backups (internal).

    ``r_eff[s*A + a]`` is ``R[s, a]``, or ``-inf`` for unavailable actions so that every max
    ignores them.

    Every product with ``P`` runs in a compiled kernel (:mod:`._kernels`). Three shortcuts save
    whole passes over ``P`` without changing a single bit of any result:

    - ``T 0`` is read off ``R`` (``P @ 0 = 0`` exactly), so value iteration's first backup from
      ``v0 = 0`` costs nothing;
    - for dense models the action values of the last backup (or of the last :meth:`q` call) are
      kept with a copy of their ``v``: a following :meth:`q` (or backup) of an equal ``v`` is
      served from them (``S*A`` numbers, against ``S*A*S`` to read again);
    - :meth:`policy_sweep` gathers the policy's rows into a compact chain ``P_pi`` the second
      time in a row it is passed the same policy array (as modified policy iteration does, ``m``
      times per policy), and sweeps that: contiguous reads of ``1/A`` of ``P`` instead of
      scattered ones. Each compact sweep re-checks, in the same pass, that the policy still
      equals the one gathered (the caller may have changed the array in place), and falls back
      to the direct sweep if not.
    """

    def __init__(self, mdp: FiniteMDP) -> None:
        if mdp.gamma >= 1.0:
            raise InvalidModelError(
                f"gamma = {mdp.gamma:g}: infinite-horizon solvers need gamma < 1 "
                "(use backward_induction for finite-horizon models)"
            )
        self.mdp = mdp
        self.S, self.A, self.gamma = mdp.n_states, mdp.n_actions, mdp.gamma
        self.sparse = mdp.is_sparse
        self.P2 = mdp.transition_matrix
        self.single_thread = (self.P2.nnz if self.sparse else self.P2.size) < PARALLEL_MIN_ENTRIES
        self.r_eff = effective_rewards(mdp)
        self._policy_buf = np.empty(self.S, dtype=np.int64)
        self._q_cache: tuple[np.ndarray, np.ndarray] | None = None  # dense: (v, q of v)
        self._chain: _PolicyChain | None = None

    # --- full backups ------------------------------------------------------------------------
    # Inputs that are not float64/C-contiguous are converted once (_vector), so that a kernel
    # never sees a dtype it would have to compile again for.
    def _csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.P2.data, self.P2.indices, self.P2.indptr

    def _vector(self, v: np.ndarray, name: str = "v", dtype: type = np.float64) -> np.ndarray:
        # the kernels do no bounds checks, so the lengths are checked here (callers validate
        # values: finite v, action indices in [0, A))
        arr = np.ascontiguousarray(v, dtype=dtype)
        if arr.shape != (self.S,):
            raise ValueError(f"{name} has shape {arr.shape}, expected ({self.S},)")
        return arr

    def _cached_q(self, v: np.ndarray) -> np.ndarray | None:
        if self._q_cache is not None and np.array_equal(self._q_cache[0], v):
            return self._q_cache[1]
        return None

    @_single_threaded_when_small
    def q(self, v: np.ndarray) -> np.ndarray:
        """``q[s, a] = R[s, a] + gamma * P[s, a, :] @ v`` (``-inf`` for unavailable actions)."""
        v = self._vector(v)
        if not self.sparse:
            cached = self._cached_q(v)
            if cached is not None:
                return cached.copy().reshape(self.S, self.A)
        out = np.empty(self.S * self.A)
        if self.sparse:
            _kernels.csr_q(*self._csr(), self.r_eff, v, self.gamma, out, _kernels.n_chunks(out.size))
        else:
            _kernels.dense_q(self.P2, self.r_eff, v, self.gamma, out, _kernels.n_chunks(out.size))
            self._q_cache = (v.copy(), out.copy())
        return out.reshape(self.S, self.A)

    @_single_threaded_when_small
    def backup_span(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
        """``(T v, greedy policy, min_s (T v - v)(s), max_s (T v - v)(s))`` in one pass over ``P``.

        The greedy policy takes the lowest action index on ties; its array is reused between
        calls (copy it to keep it). ``T v`` is a new array.
        """
        v = self._vector(v)
        q = None
        if v.size and v[0] == 0.0 and v[-1] == 0.0 and not v.any():
            q = self.r_eff + 0.0  # what every kernel computes for v = 0, bit for bit
        elif not self.sparse:
            q = self._cached_q(v)
        if q is not None:
            q = q.reshape(self.S, self.A)
            policy = self._policy_buf
            np.argmax(q, axis=1, out=policy)
            tv = q[np.arange(self.S), policy]
            d = tv - v
            return tv, policy, float(d.min()), float(d.max())
        tv = np.empty(self.S)
        args = (self.r_eff, v, self.gamma, self.A, tv, self._policy_buf)
        if self.sparse:
            lo, hi = _kernels.csr_backup(*self._csr(), *args, _kernels.n_chunks(self.S))
        else:
            q_out = np.empty(self.S * self.A)
            lo, hi = _kernels.dense_backup(self.P2, *args, q_out, _kernels.n_chunks(self.S))
            self._q_cache = (v.copy(), q_out)
        return tv, self._policy_buf, float(lo), float(hi)

    def backup(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(T v, greedy policy)``; the policy array is reused between calls."""
        tv, policy, _, _ = self.backup_span(v)
        return tv, policy

    # --- policy sweeps -------------------------------------------------------------------------
    @_single_threaded_when_small
    def policy_sweep(self, v: np.ndarray, policy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``T_pi v`` for a deterministic policy (action indices in ``[0, A)``, as
        :func:`as_policy` returns them), reading only the policy's rows of ``P``."""
        v = self._vector(v)
        pol = self._vector(policy, "policy", np.int64)
        out = np.empty(self.S) if out is None else out
        chunks = _kernels.n_chunks(self.S)
        chain = self._chain
        if chain is not None and pol is chain.source:
            if chain.P is None:
                chain.gather(self, chunks)
            if chain.sweep(self, v, pol, out, chunks) == 0:
                return out
        # first sweep with this policy array (or it was changed in place): read its rows where
        # they are, and remember the array to gather its rows if it comes back
        self._chain = _PolicyChain(pol)
        args = (self.r_eff, v, self.gamma, self.A, pol, out, chunks)
        if self.sparse:
            _kernels.csr_policy_sweep(*self._csr(), *args)
        else:
            _kernels.dense_policy_sweep(self.P2, *args)
        return out

    def gauss_seidel_sweep(self, v: np.ndarray, policy: np.ndarray) -> float:
        """One in-place Gauss-Seidel sweep; returns the largest change of ``v``."""
        if self.sparse:
            return _kernels.csr_gauss_seidel_sweep(*self._csr(), self.r_eff, v, self.gamma, self.A, policy)
        return _kernels.dense_gauss_seidel_sweep(self.P2, self.r_eff, v, self.gamma, self.A, policy)

    # --- the policy's Markov chain -----------------------------------------------------------
    def policy_chain(self, policy: np.ndarray) -> tuple[np.ndarray | sp.csr_matrix, np.ndarray]:
        """``(P_pi, r_pi)``: ``P_pi[s, s'] = sum_a pi(a|s) P[s, a, s']``, ``r_pi(s) = sum_a pi(a|s) R[s, a]``."""
        S, A = self.S, self.A
        R = self.mdp.R
        if policy.ndim == 1:
            rows = np.arange(S) * A + policy
            P_pi = self.P2[rows]
            return P_pi, R.ravel()[rows]
        r_pi = np.einsum("sa,sa->s", policy, R)
        if self.sparse:
            weights = sp.csr_matrix(
                (policy.ravel(), np.arange(S * A), np.arange(0, S * A + 1, A)), shape=(S, S * A)
            )
            return (weights @ self.P2).tocsr(), r_pi
        return np.einsum("sa,sat->st", policy, self.mdp.P), r_pi


class _PolicyChain:
    """The rows ``P[s, policy(s), :]`` and rewards ``r[s, policy(s)]`` of one deterministic policy,
    gathered contiguously (internal to :meth:`BellmanOperator.policy_sweep`)."""

    def __init__(self, source: np.ndarray) -> None:
        self.source = source  # the caller's array last swept; gathered when it comes back
        self.P: np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.r: np.ndarray | None = None
        self.policy: np.ndarray | None = None  # the policy as gathered; re-checked by every sweep

    def gather(self, op: BellmanOperator, chunks: int) -> None:
        S, A, pol = op.S, op.A, self.source
        self.r = np.empty(S)
        self.policy = np.empty(S, dtype=np.int64)
        if op.sparse:
            data, indices, indptr = op._csr()
            chunk_start = np.zeros(chunks + 1, dtype=np.int64)
            _kernels.csr_policy_row_lengths(indptr, A, pol, chunk_start[1:], chunks)
            np.cumsum(chunk_start, out=chunk_start)
            nnz = int(chunk_start[-1])
            c_indptr = np.empty(S + 1, dtype=np.int32 if nnz < 2**31 - 1 else np.int64)
            c_data = np.empty(nnz)
            c_indices = np.empty(nnz, dtype=indices.dtype)
            _kernels.csr_gather_policy_rows(data, indices, indptr, op.r_eff, A, pol, chunk_start, c_indptr,
                                            c_data, c_indices, self.r, self.policy, chunks)
            self.P = (c_data, c_indices, c_indptr)
        else:
            self.P = np.empty((S, S))
            _kernels.dense_gather_policy_rows(op.P2, op.r_eff, A, pol, self.P, self.r, self.policy, chunks)

    def sweep(self, op: BellmanOperator, v: np.ndarray, policy: np.ndarray, out: np.ndarray, chunks: int) -> int:
        """Compact ``T_pi v`` into ``out``; returns the number of states where ``policy`` no
        longer equals the gathered one (``out`` is then to be discarded)."""
        if op.sparse:
            return int(_kernels.csr_chain_sweep(*self.P, self.r, v, op.gamma, policy, self.policy, out, chunks))
        return int(_kernels.dense_chain_sweep(self.P, self.r, v, op.gamma, policy, self.policy, out, chunks))


def check_index_range(arr: np.ndarray, name: str, upper: int, what: str) -> None:
    """Raise :class:`InvalidModelError` naming the first entry of the 1-D integer array ``arr``
    outside ``[0, upper)``: ``name[i] = v is not <what> in [0, upper)``."""
    bad = (arr < 0) | (arr >= upper)
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidModelError(f"{name}[{i}] = {arr[i]} is not {what} in [0, {upper})")


def as_policy(mdp: FiniteMDP, policy: object, *, name: str = "policy") -> np.ndarray:
    """Validate a policy: action indices (or the model's action names) of shape ``(S,)``, or
    probabilities of shape ``(S, A)``.

    Returns an int64 array ``(S,)`` or a float64 array ``(S, A)``. Raises
    :class:`InvalidModelError` naming the first bad state (:class:`InvalidArgumentError` for a
    name the model does not have).
    """
    S, A = mdp.n_states, mdp.n_actions
    arr = np.asarray(resolve_indices(policy, f"{name}: action", A, mdp.action_names))
    mask = mdp.action_mask
    if arr.ndim == 1:
        if arr.shape != (S,):
            raise InvalidModelError(f"{name} has shape {arr.shape}, expected ({S},) or ({S}, {A})")
        if not np.issubdtype(arr.dtype, np.integer):
            if not (np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0)):
                raise InvalidModelError(f"{name} of shape ({S},) must hold integer action indices")
        arr = arr.astype(np.int64)
        check_index_range(arr, name, A, "an action index")
        if mask is not None and not mask[np.arange(S), arr].all():
            s = int(np.argmax(~mask[np.arange(S), arr]))
            raise InvalidModelError(f"{name}[{s}] = {arr[s]} is an unavailable action")
        return arr
    probs = as_float_array(arr, name, ndim=2)
    if probs.shape != (S, A):
        raise InvalidModelError(f"{name} has shape {probs.shape}, expected ({S},) or ({S}, {A})")
    check_probability_rows(probs, name, atol=mdp.atol, row_shape=(S,))
    if mask is not None and (probs[~mask] > 0).any():
        s, a = (int(i) for i in np.argwhere((probs > 0) & ~mask)[0])
        raise InvalidModelError(f"{name}[{s}, {a}] > 0 puts mass on an unavailable action")
    return probs


def check_options(*, callback: object = None, strict: object = False, progress: object = False) -> None:
    """The options every iterative tabular solver shares: ``callback`` callable or ``None``,
    ``strict`` and ``progress`` booleans (:class:`InvalidArgumentError` naming the option)."""
    if callback is not None and not callable(callback):
        raise InvalidArgumentError(f"callback must be callable or None, got {callback!r}")
    check_bool(strict, "strict")
    check_bool(progress, "progress")


def as_deterministic_policy_option(mdp: FiniteMDP, policy: object, name: str) -> np.ndarray:
    """A deterministic policy passed as an option (``policy0``): action indices of shape ``(S,)``,
    else :class:`InvalidArgumentError` naming the option and the first bad state."""
    try:
        pi = as_policy(mdp, policy, name=name)
    except (InvalidModelError, TypeError, ValueError) as exc:
        raise InvalidArgumentError(str(exc)) from None
    if pi.ndim != 1:
        raise InvalidArgumentError(f"{name} must be deterministic (action indices of shape ({mdp.n_states},))")
    return pi


def as_value(mdp: FiniteMDP, v: object, name: str = "v") -> np.ndarray:
    """Validate a value vector of shape ``(S,)``."""
    arr = as_float_array(v, name, ndim=1)
    if arr.shape != (mdp.n_states,):
        raise InvalidModelError(f"{name} has shape {arr.shape}, expected ({mdp.n_states},)")
    check_finite(arr, name)
    return arr


def solve_policy_system(
    P_pi: np.ndarray | sp.spmatrix,
    r_pi: np.ndarray,
    gamma: float,
    *,
    linear_solver: str = "auto",
    x0: np.ndarray | None = None,
) -> np.ndarray:
    r"""Solve ``(I - gamma P_pi) v = r_pi``.

    Dense: LAPACK LU. Sparse: ``"direct"`` is SuperLU (``scipy.sparse.linalg.spsolve``);
    ``"iterative"`` is restarted GMRES warm-started at ``x0`` with relative tolerance 1e-13,
    falling back to SuperLU if it stalls; ``"auto"`` is direct below 5,000 states and
    iterative above.
    """
    S = r_pi.shape[0]
    check_choice(linear_solver, "linear_solver", ("auto", "direct", "iterative"))
    if gamma == 0.0:
        return np.array(r_pi, dtype=float)
    if not sp.issparse(P_pi):
        return np.linalg.solve(np.eye(S) - gamma * np.asarray(P_pi), r_pi)
    M = (sp.identity(S, format="csr") - gamma * P_pi).tocsr()
    if linear_solver == "iterative" or (linear_solver == "auto" and S > 5000):
        x, info = spla.gmres(M, r_pi, x0=x0, rtol=1e-13, atol=0.0, restart=40, maxiter=50)
        if info == 0:
            return x
    x = spla.spsolve(M.tocsc(), r_pi)
    if not np.isfinite(x).all():
        raise SolverError("policy evaluation: the linear system (I - gamma P_pi) v = r_pi could not be solved")
    return x


# ------------------------------------------------------------------------------ public helpers
def q_values(mdp: FiniteMDP, v: np.ndarray) -> np.ndarray:
    r"""Action values of ``v``: ``q(s, a) = R(s, a) + gamma * sum_s' P(s'|s, a) v(s')``.

    Parameters
    ----------
    mdp : FiniteMDP
    v : ndarray, shape (S,)

    Returns
    -------
    ndarray, shape (S, A)
        ``-inf`` for unavailable actions.
    """
    return BellmanOperator(mdp).q(as_value(mdp, v))


def bellman_operator(mdp: FiniteMDP, v: np.ndarray, *, policy: np.ndarray | None = None) -> np.ndarray:
    r"""Apply the Bellman optimality operator ``T`` (or ``T_pi`` when ``policy`` is given).

    .. math::
        (T v)(s) = \max_a \Big[R(s,a) + \gamma \sum_{s'} P(s'|s,a) v(s')\Big], \qquad
        (T_\pi v)(s) = \sum_a \pi(a|s) \Big[R(s,a) + \gamma \sum_{s'} P(s'|s,a) v(s')\Big].

    Both are monotone (``u <= w`` implies ``T u <= T w``) and ``gamma``-contractions in the sup
    norm (Puterman 1994, Prop. 6.2.4).

    Parameters
    ----------
    mdp : FiniteMDP
    v : ndarray, shape (S,)
    policy : ndarray, shape (S,) of action indices or (S, A) of probabilities, optional
    """
    op = BellmanOperator(mdp)
    v = as_value(mdp, v)
    if policy is None:
        return op.backup(v)[0].copy()
    pi = as_policy(mdp, policy)
    if pi.ndim == 1:
        return op.policy_sweep(v, pi)
    q = op.q(v)
    return np.einsum("sa,sa->s", pi, np.where(pi > 0, q, 0.0))


def greedy_policy(mdp: FiniteMDP, v: np.ndarray) -> np.ndarray:
    r"""A deterministic policy greedy with respect to ``v``: ``pi(s) in argmax_a q_v(s, a)``.

    Ties go to the lowest action index. Returns int64 array of shape ``(S,)``.
    """
    return np.asarray(BellmanOperator(mdp).q(as_value(mdp, v)).argmax(axis=1), dtype=np.int64)


def bellman_residual(mdp: FiniteMDP, v: np.ndarray) -> float:
    r"""Sup-norm Bellman residual ``||T v - v||_inf``.

    By the contraction property, ``||v - v*||_inf <= ||T v - v||_inf / (1 - gamma)``.
    """
    v = as_value(mdp, v)
    return float(np.max(np.abs(BellmanOperator(mdp).backup(v)[0] - v)))


def policy_value(mdp: FiniteMDP, policy: np.ndarray, *, linear_solver: str = "auto") -> np.ndarray:
    r"""Exact value of a stationary policy: the solution of ``(I - gamma P_pi) v = r_pi``.

    .. math::
        v_\pi = (I - \gamma P_\pi)^{-1} r_\pi = \sum_{t \ge 0} \gamma^t P_\pi^t r_\pi .

    Parameters
    ----------
    mdp : FiniteMDP
        Discounted model (``gamma < 1``).
    policy : ndarray, shape (S,) of action indices, or (S, A) of probabilities
    linear_solver : {"auto", "direct", "iterative"}
        For sparse models; see :func:`policy_evaluation`.

    Returns
    -------
    ndarray, shape (S,)
    """
    op = BellmanOperator(mdp)
    P_pi, r_pi = op.policy_chain(as_policy(mdp, policy))
    return solve_policy_system(P_pi, r_pi, mdp.gamma, linear_solver=linear_solver)
