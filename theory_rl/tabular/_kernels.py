"""Compiled Bellman backups (numba).

Every full backup, action-value product and policy sweep runs here, dense and sparse, so that
one thread pool does all the work: mixing numba's OpenMP threads with OpenBLAS's in alternation
(a backup, then policy sweeps, then a backup...) made both wait on each other's spinning threads,
up to 1.5x slower per call on a 2-core machine. The dense kernels run at the same speed as
OpenBLAS's ``gemv`` (both at the memory-bandwidth floor); scipy's CSR product is single-threaded
and 3-6x off the floor, so the sparse kernels are needed in any case (see ``bench/README.md``).

Implementation notes (measured with ``bench/tabular.py``):

- Loops over a CSR row use unsigned indices (``np.uint64``). With signed indices numba inserts a
  negative-index wrap-around select into every load, which keeps LLVM from emitting gathers and
  cost 2x on the sparse backup. Like every numba kernel these do no bounds checks: they rely on
  :class:`~theory_rl.models.FiniteMDP` having checked that column indices lie in ``[0, S)`` and
  that ``indptr`` never decreases.
- States are split into ``8 * n_threads`` contiguous chunks (:func:`n_chunks`, passed in so that
  the kernels can be cached); each chunk walks its slice of ``data``/``indices`` with one running
  position, so every nonzero is read exactly once and in order.
- The backup kernels also return ``min_s (Tv - v)(s)`` and ``max_s (Tv - v)(s)``, the two numbers
  the MacQueen/Porteus certificate needs, at no extra pass over memory; the dense one also
  stores the action values (``S*A`` numbers against ``S*A*S`` read).
- The ``*_chain_*`` kernels gather the rows of one deterministic policy into a compact chain
  ``P_pi`` and sweep it (modified policy iteration sweeps each policy ``m`` times); each sweep
  also counts the states whose action differs from the gathered one, so a policy array changed
  in place is detected in the same pass.
- Within a row the sum runs in the order LLVM vectorises (``reassoc``). ``q``, the backup, the
  direct and the compact policy sweeps run the same loop over a row, so they agree bit for bit
  (``backup(v)[0] == q(v).max(axis=1)``; checked on every benchmark instance).

Masked actions are handled by the caller passing ``R_eff[s*A + a] = -inf``: every kernel then
takes the max over available actions only.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "n_chunks",
    "dense_backup",
    "csr_backup",
    "dense_q",
    "csr_q",
    "dense_policy_sweep",
    "csr_policy_sweep",
    "dense_gauss_seidel_sweep",
    "csr_gauss_seidel_sweep",
    "csr_policy_row_lengths",
    "csr_gather_policy_rows",
    "dense_gather_policy_rows",
    "csr_chain_sweep",
    "dense_chain_sweep",
]

_FASTMATH = {"reassoc", "contract", "nsz"}  # no nnan/ninf: R_eff holds -inf for masked actions
_u64 = np.uint64


def n_chunks(n: int) -> int:
    """Work items for ``n`` states/rows: ``8 * numba.get_num_threads()`` contiguous chunks (at most
    ``n``), so that the static schedule stays balanced when rows differ in length."""
    return max(1, min(int(n), 8 * numba.get_num_threads()))


@numba.njit(fastmath=_FASTMATH, cache=True, inline="always")
def _dense_dot(P2, row, v):  # pragma: no cover - compiled
    p = P2[row]
    acc = 0.0
    for j in range(p.shape[0]):
        acc += p[j] * v[j]
    return acc


@numba.njit(fastmath=_FASTMATH, cache=True, inline="always")
def _span_buffers(chunks):  # pragma: no cover - compiled
    """Per-chunk ``min`` and ``max`` of ``T v - v`` (``+inf`` and ``-inf`` until a chunk writes)."""
    return np.full(chunks, np.inf), np.full(chunks, -np.inf)


@numba.njit(cache=True, inline="always")
def _chunk_bounds(n, chunks, c):  # pragma: no cover - compiled
    """``[start, stop)`` of chunk ``c`` when ``range(n)`` is cut into ``chunks`` equal runs (the last shorter)."""
    step = (n + chunks - 1) // chunks
    return c * step, min(n, (c + 1) * step)


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def dense_backup(P2, r_eff, v, gamma, n_actions, tv, policy, q_out, chunks):  # pragma: no cover - compiled
    """``tv[s] = max_a r_eff[s*A+a] + gamma * P2[s*A+a] @ v``, its argmax (lowest index on
    ties), and ``(min(tv - v), max(tv - v))``, for dense ``P2`` of shape ``(S*A, S)``; the action
    values go to ``q_out`` (``S*A`` numbers against ``S*A*S`` read: free)."""
    n_states = v.shape[0]
    lo_c, hi_c = _span_buffers(chunks)
    for c in numba.prange(chunks):
        s0, s1 = _chunk_bounds(n_states, chunks, c)
        d_lo, d_hi = np.inf, -np.inf
        for s in range(s0, s1):
            best = -np.inf
            best_a = 0
            for a in range(n_actions):
                row = s * n_actions + a
                q = r_eff[row] + gamma * _dense_dot(P2, row, v)
                q_out[row] = q
                if q > best:
                    best = q
                    best_a = a
            tv[s] = best
            policy[s] = best_a
            d = best - v[s]
            d_lo = min(d_lo, d)
            d_hi = max(d_hi, d)
        lo_c[c] = d_lo
        hi_c[c] = d_hi
    return lo_c.min(), hi_c.max()


@numba.njit(fastmath=_FASTMATH, cache=True, inline="always")
def _csr_state_max(data, indices, indptr, r_eff, v, gamma, n_actions, s, k):  # pragma: no cover - compiled
    """``(max_a q(s, a), argmax_a q(s, a), k')`` with ``q(s, a) = r_eff[s*A+a] + gamma * P[s*A+a] @ v``,
    reading state ``s``'s rows of CSR ``P`` from position ``k`` (its first nonzero) onwards;
    ``k'`` is the position after them. Lowest action index on ties."""
    best = -np.inf
    best_a = 0
    for a in range(n_actions):
        row = s * n_actions + a
        end = _u64(indptr[row + 1])
        acc = 0.0
        while k < end:
            acc += data[k] * v[_u64(indices[k])]
            k += _u64(1)
        q = r_eff[_u64(row)] + gamma * acc
        if q > best:
            best = q
            best_a = a
    return best, best_a, k


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def csr_backup(data, indices, indptr, r_eff, v, gamma, n_actions, tv, policy, chunks):  # pragma: no cover - compiled
    """``tv[s] = max_a r_eff[s*A+a] + gamma * P[s*A+a, :] @ v``, its argmax (lowest index on
    ties), and ``(min(tv - v), max(tv - v))``, for CSR ``P`` of shape ``(S*A, S)``."""
    n_states = v.shape[0]
    lo_c, hi_c = _span_buffers(chunks)
    for c in numba.prange(chunks):
        s0, s1 = _chunk_bounds(n_states, chunks, c)
        d_lo, d_hi = np.inf, -np.inf
        k = _u64(0)
        if s0 < s1:
            k = _u64(indptr[s0 * n_actions])
        for s in range(s0, s1):
            best, best_a, k = _csr_state_max(data, indices, indptr, r_eff, v, gamma, n_actions, s, k)
            tv[_u64(s)] = best
            policy[_u64(s)] = best_a
            d = best - v[_u64(s)]
            d_lo = min(d_lo, d)
            d_hi = max(d_hi, d)
        lo_c[c] = d_lo
        hi_c[c] = d_hi
    return lo_c.min(), hi_c.max()


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def dense_q(P2, r_eff, v, gamma, out, chunks):  # pragma: no cover - compiled
    """``out[i] = r_eff[i] + gamma * P2[i] @ v`` for every row ``i = s*A + a``."""
    n_rows = P2.shape[0]
    step = (n_rows + chunks - 1) // chunks
    for c in numba.prange(chunks):
        for row in range(c * step, min(n_rows, (c + 1) * step)):
            out[row] = r_eff[row] + gamma * _dense_dot(P2, row, v)


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def csr_q(data, indices, indptr, r_eff, v, gamma, out, chunks):  # pragma: no cover - compiled
    """``out[i] = r_eff[i] + gamma * P[i, :] @ v`` for every row ``i = s*A + a`` of CSR ``P``."""
    n_rows = indptr.shape[0] - 1
    step = (n_rows + chunks - 1) // chunks
    for c in numba.prange(chunks):
        r0 = c * step
        r1 = min(n_rows, r0 + step)
        k = _u64(0)
        if r0 < r1:
            k = _u64(indptr[r0])
        for row in range(r0, r1):
            end = _u64(indptr[row + 1])
            acc = 0.0
            while k < end:
                acc += data[k] * v[_u64(indices[k])]
                k += _u64(1)
            out[_u64(row)] = r_eff[_u64(row)] + gamma * acc


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def dense_policy_sweep(P2, r_eff, v, gamma, n_actions, policy, out, chunks):  # pragma: no cover - compiled
    """``out[s] = r[s, pi(s)] + gamma * P[s, pi(s), :] @ v`` for dense ``P2`` of shape (S*A, S)."""
    n_states = v.shape[0]
    step = (n_states + chunks - 1) // chunks
    for c in numba.prange(chunks):
        for s in range(c * step, min(n_states, (c + 1) * step)):
            row = s * n_actions + policy[s]
            out[s] = r_eff[row] + gamma * _dense_dot(P2, row, v)


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def csr_policy_sweep(data, indices, indptr, r_eff, v, gamma, n_actions, policy, out, chunks):  # pragma: no cover
    """``out[s] = r[s, pi(s)] + gamma * P[s, pi(s), :] @ v`` for CSR ``P``."""
    n_states = v.shape[0]
    step = (n_states + chunks - 1) // chunks
    for c in numba.prange(chunks):
        for s in range(c * step, min(n_states, (c + 1) * step)):
            row = _u64(s * n_actions + policy[s])
            k = _u64(indptr[row])
            end = _u64(indptr[row + _u64(1)])
            acc = 0.0
            while k < end:
                acc += data[k] * v[_u64(indices[k])]
                k += _u64(1)
            out[_u64(s)] = r_eff[row] + gamma * acc


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
            q = r_eff[row] + gamma * _dense_dot(P2, row, v)
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
    k = _u64(indptr[0])
    for s in range(n_states):
        best, best_a, k = _csr_state_max(data, indices, indptr, r_eff, v, gamma, n_actions, s, k)
        diff = abs(best - v[_u64(s)])
        if diff > change:
            change = diff
        v[_u64(s)] = best
        policy[_u64(s)] = best_a
    return change


# --- policy chains: the rows of one deterministic policy, gathered once for repeated sweeps -----
@numba.njit(parallel=True, cache=True)
def csr_policy_row_lengths(indptr, n_actions, policy, chunk_nnz, chunks):  # pragma: no cover - compiled
    """``chunk_nnz[c]`` = stored entries of the rows ``s*A + policy[s]`` for the states of chunk ``c``."""
    n_states = policy.shape[0]
    step = (n_states + chunks - 1) // chunks
    for c in numba.prange(chunks):
        total = 0
        for s in range(c * step, min(n_states, (c + 1) * step)):
            row = _u64(s * n_actions + policy[s])
            total += indptr[row + _u64(1)] - indptr[row]
        chunk_nnz[c] = total


@numba.njit(parallel=True, cache=True)
def csr_gather_policy_rows(data, indices, indptr, r_eff, n_actions, policy, chunk_start, c_indptr, c_data,
                           c_indices, r_pi, expected, chunks):  # pragma: no cover - compiled
    """Copy row ``s*A + policy[s]`` of CSR ``P`` to row ``s`` of ``(c_data, c_indices, c_indptr)``,
    ``r_eff[s*A + policy[s]]`` to ``r_pi[s]`` and ``policy[s]`` to ``expected[s]``; chunk ``c``
    starts at entry ``chunk_start[c]`` (the prefix sum of :func:`csr_policy_row_lengths`)."""
    n_states = policy.shape[0]
    step = (n_states + chunks - 1) // chunks
    for c in numba.prange(chunks):
        j = _u64(chunk_start[c])
        for s in range(c * step, min(n_states, (c + 1) * step)):
            a = policy[s]
            row = _u64(s * n_actions + a)
            k = _u64(indptr[row])
            end = _u64(indptr[row + _u64(1)])
            c_indptr[_u64(s)] = j
            while k < end:
                c_data[j] = data[k]
                c_indices[j] = indices[k]
                k += _u64(1)
                j += _u64(1)
            r_pi[_u64(s)] = r_eff[row]
            expected[_u64(s)] = a
    if n_states > 0:
        c_indptr[n_states] = chunk_start[chunks]


@numba.njit(parallel=True, cache=True)
def dense_gather_policy_rows(P2, r_eff, n_actions, policy, P_pi, r_pi, expected, chunks):  # pragma: no cover
    """``P_pi[s] = P2[s*A + policy[s]]``, ``r_pi[s] = r_eff[s*A + policy[s]]``, ``expected[s] = policy[s]``."""
    n_states = policy.shape[0]
    step = (n_states + chunks - 1) // chunks
    for c in numba.prange(chunks):
        for s in range(c * step, min(n_states, (c + 1) * step)):
            a = policy[s]
            row = s * n_actions + a
            src = P2[row]
            dst = P_pi[s]
            for j in range(src.shape[0]):
                dst[j] = src[j]
            r_pi[s] = r_eff[row]
            expected[s] = a


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def csr_chain_sweep(data, indices, indptr, r_pi, v, gamma, policy, expected, out, chunks):  # pragma: no cover
    """``out[s] = r_pi[s] + gamma * P_pi[s, :] @ v`` for a gathered policy chain (CSR, one row per
    state). Returns how many states have ``policy[s] != expected[s]`` (then ``out`` is void)."""
    n_states = v.shape[0]
    step = (n_states + chunks - 1) // chunks
    changed = np.zeros(chunks, np.int64)
    for c in numba.prange(chunks):
        s0 = c * step
        s1 = min(n_states, s0 + step)
        n_changed = 0
        k = _u64(0)
        if s0 < s1:
            k = _u64(indptr[s0])
        for s in range(s0, s1):
            if policy[s] != expected[s]:
                n_changed += 1
            end = _u64(indptr[s + 1])
            acc = 0.0
            while k < end:
                acc += data[k] * v[_u64(indices[k])]
                k += _u64(1)
            out[_u64(s)] = r_pi[_u64(s)] + gamma * acc
        changed[c] = n_changed
    return changed.sum()


@numba.njit(parallel=True, fastmath=_FASTMATH, cache=True)
def dense_chain_sweep(P_pi, r_pi, v, gamma, policy, expected, out, chunks):  # pragma: no cover - compiled
    """``out[s] = r_pi[s] + gamma * P_pi[s] @ v`` for a gathered dense policy chain; returns how
    many states have ``policy[s] != expected[s]`` (then ``out`` is void)."""
    n_states = v.shape[0]
    step = (n_states + chunks - 1) // chunks
    changed = np.zeros(chunks, np.int64)
    for c in numba.prange(chunks):
        n_changed = 0
        for s in range(c * step, min(n_states, (c + 1) * step)):
            if policy[s] != expected[s]:
                n_changed += 1
            out[s] = r_pi[s] + gamma * _dense_dot(P_pi, s, v)
        changed[c] = n_changed
    return changed.sum()


# ------------------------------------------------------------------ rounding constants of a model
# No fastmath here: the compensated (TwoSum) row sums need IEEE semantics, operation by operation.
@numba.njit(cache=True, inline="always")
def _two_sum_row(values, start, end):  # pragma: no cover - compiled
    """``(nonzeros, (s - 1) + c)`` for the entries ``values[start:end]``: ``s`` their float sum and
    ``c`` the float sum of the exact TwoSum errors (Knuth 1969; Ogita, Rump & Oishi 2005)."""
    s = 0.0
    c = 0.0
    k = 0
    for i in range(start, end):
        x = values[i]
        if x != 0.0:
            k += 1
            t = s + x
            z = t - s
            c += (s - (t - z)) + (x - z)
            s = t
    return k, (s - 1.0) + c


@numba.njit(cache=True)
def dense_row_stats(flat, n, valid):  # pragma: no cover - compiled
    """``(max_i nnz(row i), max_i |sum(row i) - 1|)`` over the rows ``i`` with ``valid[i]`` (the
    available actions: an unavailable action's row may be all zero and never enters a backup) of a
    dense C-ordered ``(S*A, S)`` matrix passed flattened with its row length ``n``, the sums
    compensated (see :func:`_two_sum_row`)."""
    k_max = 0
    defect = 0.0
    for i in range(flat.shape[0] // n):
        if not valid[i]:
            continue
        k, d = _two_sum_row(flat, i * n, (i + 1) * n)
        k_max = max(k_max, k)
        defect = max(defect, abs(d))
    return k_max, defect


@numba.njit(cache=True)
def csr_row_stats(data, indptr, valid):  # pragma: no cover - compiled
    """:func:`dense_row_stats` for a CSR matrix."""
    k_max = 0
    defect = 0.0
    for i in range(indptr.shape[0] - 1):
        if not valid[i]:
            continue
        k, d = _two_sum_row(data, indptr[i], indptr[i + 1])
        k_max = max(k_max, k)
        defect = max(defect, abs(d))
    return k_max, defect
