"""Compiled Bellman backups (numba).

The dense backup is one BLAS matrix-vector product ``(S*A, S) @ (S,)`` and runs at the memory
bandwidth floor in numpy, so numpy does it. scipy's CSR product is single-threaded and
allocates the ``(S*A,)`` intermediate, measured 5-10x off the floor on sparse models, so the
sparse backup, the policy sweeps (which read only the ``S`` rows of the current policy, no
``P_pi`` copy) and the in-place Gauss-Seidel sweeps are compiled here.

Masked actions are handled by the caller passing ``R_eff[s*A + a] = -inf``: every kernel then
takes the max over available actions only.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "csr_backup",
    "dense_policy_sweep",
    "csr_policy_sweep",
    "dense_gauss_seidel_sweep",
    "csr_gauss_seidel_sweep",
]

_FASTMATH = {"reassoc", "contract", "nsz"}  # no nnan/ninf: R_eff holds -inf for masked actions


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def csr_backup(data, indices, indptr, r_eff, v, gamma, n_actions, tv, policy):  # pragma: no cover - compiled
    """``tv[s] = max_a r_eff[s*A+a] + gamma * P[s*A+a, :] @ v`` and its argmax, for CSR ``P``."""
    n_states = v.shape[0]
    for s in numba.prange(n_states):
        best = -np.inf
        best_a = 0
        for a in range(n_actions):
            row = s * n_actions + a
            acc = 0.0
            for k in range(indptr[row], indptr[row + 1]):
                acc += data[k] * v[indices[k]]
            q = r_eff[row] + gamma * acc
            if q > best:
                best = q
                best_a = a
        tv[s] = best
        policy[s] = best_a


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def dense_policy_sweep(P2, r_eff, v, gamma, n_actions, policy, out):  # pragma: no cover - compiled
    """``out[s] = r[s, pi(s)] + gamma * P[s, pi(s), :] @ v`` for dense ``P2`` of shape (S*A, S)."""
    n_states = v.shape[0]
    for s in numba.prange(n_states):
        row = s * n_actions + policy[s]
        acc = 0.0
        for j in range(n_states):
            acc += P2[row, j] * v[j]
        out[s] = r_eff[row] + gamma * acc


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def csr_policy_sweep(data, indices, indptr, r_eff, v, gamma, n_actions, policy, out):  # pragma: no cover
    """``out[s] = r[s, pi(s)] + gamma * P[s, pi(s), :] @ v`` for CSR ``P``."""
    n_states = v.shape[0]
    for s in numba.prange(n_states):
        row = s * n_actions + policy[s]
        acc = 0.0
        for k in range(indptr[row], indptr[row + 1]):
            acc += data[k] * v[indices[k]]
        out[s] = r_eff[row] + gamma * acc


@numba.njit(fastmath=_FASTMATH, cache=True)
def dense_gauss_seidel_sweep(P2, r_eff, v, gamma, n_actions, policy):  # pragma: no cover - compiled
    """One in-place Gauss-Seidel sweep over states 0..S-1; returns ``max_s |v_new(s) - v_old(s)|``."""
    n_states = v.shape[0]
    change = 0.0
    for s in range(n_states):
        best = -np.inf
        best_a = 0
        for a in range(n_actions):
            row = s * n_actions + a
            acc = 0.0
            for j in range(n_states):
                acc += P2[row, j] * v[j]
            q = r_eff[row] + gamma * acc
            if q > best:
                best = q
                best_a = a
        diff = abs(best - v[s])
        if diff > change:
            change = diff
        v[s] = best
        policy[s] = best_a
    return change


@numba.njit(fastmath=_FASTMATH, cache=True)
def csr_gauss_seidel_sweep(data, indices, indptr, r_eff, v, gamma, n_actions, policy):  # pragma: no cover
    """One in-place Gauss-Seidel sweep for CSR ``P``; returns ``max_s |v_new(s) - v_old(s)|``."""
    n_states = v.shape[0]
    change = 0.0
    for s in range(n_states):
        best = -np.inf
        best_a = 0
        for a in range(n_actions):
            row = s * n_actions + a
            acc = 0.0
            for k in range(indptr[row], indptr[row + 1]):
                acc += data[k] * v[indices[k]]
            q = r_eff[row] + gamma * acc
            if q > best:
                best = q
                best_a = a
        diff = abs(best - v[s])
        if diff > change:
            change = diff
        v[s] = best
        policy[s] = best_a
    return change
