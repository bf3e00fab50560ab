r"""Batched exact planning on torch: value iteration and policy evaluation for ``B`` finite MDPs
at once, with the same certified stopping rule as :func:`theory_rl.tabular.value_iteration`.

Two layouts of the batch (both hold ``gamma[b]`` and rewards ``R[b, s, a]``, ``-inf`` where an
action is unavailable):

- ``"dense"``: ``P[b, s, a, s']``, shape ``(B, S, A, S)``. One backup is one batched
  matrix-vector product ``(B, S*A, S) @ (B, S, 1)``: memory-bound, it reads ``P`` once.
- ``"sparse"``: a padded fixed-width ("ELL") layout for large ``S``: ``next_states[b, s, a, k]``
  (int64) and ``probs[b, s, a, k]``, shape ``(B, S, A, K)`` with ``K`` the largest support of a
  row; padding entries have probability 0. One backup is a gather of ``v`` and a weighted sum
  over ``k``. It reads ``16 B S A K`` bytes (a float64 probability and the int64 index that
  ``torch.gather`` takes), against ``8 B S^2 A`` for dense.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._iterative import Timer, iteration_cap
from .._result import ValueSolution
from .._torch import as_tensor, device_and_dtype, require_torch, resolve_device, to_numpy
from .._validation import as_float_array, check_bool, check_choice, check_max_iter, check_row_sums, check_tol
from ..errors import ConvergenceWarning, InvalidModelError, SolverError
from ..models import FiniteMDP
from ..tabular import effective_rewards

__all__ = [
    "BatchedMDPs",
    "BatchedSolution",
    "batched_policy_evaluation",
    "batched_value_iteration",
    "stack_mdps",
]


@dataclass(frozen=True, eq=False)
class BatchedMDPs:
    r"""``B`` finite MDPs with the same ``S`` and ``A``, as tensors on one device.

    Attributes
    ----------
    R : Tensor, shape (B, S, A)
        Expected rewards; ``-inf`` marks an unavailable action.
    gamma : Tensor, shape (B,)
        Discount factors in ``[0, 1)``.
    P : Tensor, shape (B, S, A, S), or None
        Dense kernels (``layout == "dense"``).
    next_states, probs : Tensor, shape (B, S, A, K), or None
        Sparse (padded) kernels (``layout == "sparse"``): ``P[b, s, a, next_states[b, s, a, k]]``
        accumulates ``probs[b, s, a, k]``; duplicates add up.

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> batch = approx.stack_mdps([envs.chain(4), envs.river_swim(4)], device="cpu")
    >>> type(batch).__name__, tuple(batch.R.shape)
    ('BatchedMDPs', (2, 4, 2))
    """

    R: Any
    gamma: Any
    P: Any = None
    next_states: Any = None
    probs: Any = None

    @property
    def layout(self) -> str:
        return "dense" if self.P is not None else "sparse"

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(B, S, A)``."""
        return tuple(self.R.shape)  # type: ignore[return-value]

    @property
    def device(self) -> Any:
        return self.R.device

    @property
    def dtype(self) -> Any:
        return self.R.dtype

    def nbytes_per_backup(self) -> int:
        """Bytes of the kernel one backup reads (``P``, or ``next_states`` + ``probs``)."""
        if self.P is not None:
            return int(self.P.numel() * self.P.element_size())
        return int(self.next_states.numel() * self.next_states.element_size() + self.probs.numel() * self.probs.element_size())

    def subset(self, index: Any) -> BatchedMDPs:
        """The models ``index`` (a 1-D index tensor), as a new batch (copies)."""
        def pick(t: Any) -> Any:
            return None if t is None else t.index_select(0, index)

        return BatchedMDPs(R=pick(self.R), gamma=pick(self.gamma), P=pick(self.P),
                           next_states=pick(self.next_states), probs=pick(self.probs))

    def q(self, v: Any) -> Any:
        r"""``q[b, s, a] = R[b, s, a] + gamma[b] * sum_{s'} P[b, s, a, s'] v[b, s']``, shape (B, S, A)."""
        B, S, A = self.shape
        g = self.gamma.view(B, 1, 1)
        if self.P is not None:
            pv = require_torch().bmm(self.P.view(B, S * A, S), v.view(B, S, 1)).view(B, S, A)
        else:
            K = self.next_states.shape[-1]
            gathered = v.gather(1, self.next_states.view(B, S * A * K)).view(B, S, A, K)
            pv = (self.probs * gathered).sum(-1)
        return self.R + g * pv

    def policy_chain(self, policy: Any) -> BatchedMDPs:
        """The batch restricted to one action per state (``A = 1``) for a deterministic policy
        ``policy[b, s]``; the ``(B, S, 1, S)`` (or ``(B, S, 1, K)``) rows are gathered."""
        B, S, A = self.shape
        idx = policy.view(B, S, 1)
        R = self.R.gather(2, idx)
        if self.P is not None:
            P = self.P.gather(2, idx.view(B, S, 1, 1).expand(B, S, 1, S))
            return BatchedMDPs(R=R, gamma=self.gamma, P=P)
        K = self.next_states.shape[-1]
        take = idx.view(B, S, 1, 1).expand(B, S, 1, K)
        return BatchedMDPs(R=R, gamma=self.gamma, next_states=self.next_states.gather(2, take), probs=self.probs.gather(2, take))


def _check_gamma_tensor(gamma: Any, B: int, device: Any, dtype: Any) -> Any:
    torch = require_torch()
    g = as_tensor(gamma, device=device, dtype=dtype)
    if g.ndim == 0:
        g = g.expand(B).clone()
    if g.shape != (B,):
        raise InvalidModelError(f"gamma has shape {tuple(g.shape)}, expected () or ({B},)")
    bad = ~((g >= 0) & (g < 1))
    if bool(bad.any()):
        b = int(torch.nonzero(bad)[0, 0])
        raise InvalidModelError(f"gamma[{b}] = {float(g[b])!r} is outside [0, 1)")
    return g


def _device_dtype(P: Any, device: Any, dtype: Any) -> tuple[Any, Any]:
    """Device and dtype to work in: with ``device="auto"`` a :class:`BatchedMDPs` keeps its own (it
    is moved only when ``device``/``dtype`` name others) and arrays go to CUDA when present, else
    CPU; dtype float64 by default."""
    if isinstance(P, BatchedMDPs):
        keep = device is None or (isinstance(device, str) and device == "auto")
        dev = P.device if keep else resolve_device(device)
        return dev, P.dtype if dtype is None else dtype
    return device_and_dtype(device, dtype)


def _checked_batch(P: Any, R: Any, gamma: Any, next_states: Any, device: Any, dtype: Any) -> tuple[BatchedMDPs, Any, Any]:
    """The validated batch of the batched solvers' inputs, with the device and dtype it lives in."""
    dev, dtype = _device_dtype(P, device, dtype)
    return _as_batch(P, R, gamma, device=dev, dtype=dtype, next_states=next_states), dev, dtype


def _as_batch(P: Any, R: Any, gamma: Any, *, device: Any, dtype: Any, next_states: Any = None, atol: float = 1e-8) -> BatchedMDPs:
    """Validate user arrays into a :class:`BatchedMDPs` (dense ``P`` or ``next_states`` + ``P`` as probs)."""
    torch = require_torch()
    if isinstance(P, BatchedMDPs):
        if P.device == device and P.dtype == dtype:
            return P

        def move(t: Any) -> Any:
            return None if t is None else t.to(device=device, dtype=t.dtype if t.dtype == torch.int64 else dtype)

        return BatchedMDPs(R=move(P.R), gamma=move(P.gamma), P=move(P.P), next_states=move(P.next_states),
                           probs=move(P.probs))
    Rt = as_tensor(R if isinstance(R, torch.Tensor) else as_float_array(R, "R", ndim=3), device=device, dtype=dtype)
    if Rt.ndim != 3:
        raise InvalidModelError(f"R must have shape (B, S, A), got {tuple(Rt.shape)}")
    B, S, A = Rt.shape
    if bool(torch.isnan(Rt).any() or torch.isposinf(Rt).any()):
        idx = tuple(int(i) for i in torch.nonzero(torch.isnan(Rt) | torch.isposinf(Rt))[0])
        raise InvalidModelError(f"R[{idx[0]}, {idx[1]}, {idx[2]}] is not a number or +inf")
    g = _check_gamma_tensor(gamma, B, device, dtype)
    Pt = as_tensor(P if isinstance(P, torch.Tensor) else as_float_array(P, "P", ndim=4), device=device, dtype=dtype)
    if next_states is None:
        if tuple(Pt.shape) != (B, S, A, S):
            raise InvalidModelError(f"P has shape {tuple(Pt.shape)}, expected (B, S, A, S) = ({B}, {S}, {A}, {S})")
    else:
        ns = as_tensor(next_states, device=device, dtype=torch.int64)
        if ns.ndim != 4 or tuple(ns.shape[:3]) != (B, S, A) or ns.shape != Pt.shape:
            raise InvalidModelError(f"next_states {tuple(ns.shape)} and probs {tuple(Pt.shape)} must both have shape (B, S, A, K)")
        if ns.numel() and bool(((ns < 0) | (ns >= S)).any()):
            idx = tuple(int(i) for i in torch.nonzero((ns < 0) | (ns >= S))[0])
            raise InvalidModelError(f"next_states[{', '.join(map(str, idx))}] = {int(ns[idx])} is not a state in [0, {S})")
    if bool((Pt < 0).any()) or bool(torch.isnan(Pt).any()):
        idx = tuple(int(i) for i in torch.nonzero((Pt < 0) | torch.isnan(Pt))[0])
        raise InvalidModelError(f"P[{', '.join(map(str, idx))}] = {float(Pt[idx]):.6g} is not a probability")
    sums = to_numpy(Pt.sum(-1)).reshape(-1)
    skip = ~np.isfinite(to_numpy(Rt).reshape(-1))
    check_row_sums(sums, "P" if next_states is None else "probs", atol=atol, row_shape=(B, S, A), skip=skip)
    if next_states is None:
        return BatchedMDPs(R=Rt, gamma=g, P=Pt)
    return BatchedMDPs(R=Rt, gamma=g, next_states=ns, probs=Pt)


def stack_mdps(mdps: Sequence[FiniteMDP], *, layout: str = "dense", device: Any = "auto", dtype: Any = None) -> BatchedMDPs:
    """Stack :class:`~theory_rl.models.FiniteMDP` instances of equal ``(S, A)`` into a batch.

    ``layout="sparse"`` pads every row to the widest support ``K`` (works from dense or CSR
    models). Unavailable actions get ``R = -inf``.

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> mdps = [envs.random_mdp(3, 2, seed=k) for k in range(4)]
    >>> batch = approx.stack_mdps(mdps, device="cpu")
    >>> tuple(batch.P.shape), batch.gamma.tolist()
    ((4, 3, 2, 3), [0.9, 0.9, 0.9, 0.9])
    """
    torch = require_torch()
    dev, dtype = device_and_dtype(device, dtype)
    check_choice(layout, "layout", ("dense", "sparse"))
    mdps = list(mdps)
    if not mdps:
        raise InvalidModelError("stack_mdps needs at least one model")
    S, A = mdps[0].n_states, mdps[0].n_actions
    for i, m in enumerate(mdps):
        if (m.n_states, m.n_actions) != (S, A):
            raise InvalidModelError(f"mdps[{i}] has (S, A) = ({m.n_states}, {m.n_actions}), expected ({S}, {A})")
        if m.gamma >= 1.0:
            raise InvalidModelError(f"mdps[{i}].gamma = {m.gamma:g}: batched planners need gamma < 1")
    R = np.stack([effective_rewards(m).reshape(S, A) for m in mdps])
    gamma = torch.tensor([m.gamma for m in mdps], dtype=dtype, device=dev)
    Rt = torch.as_tensor(R, dtype=dtype, device=dev)
    if layout == "dense":
        P = np.stack([m.P.toarray().reshape(S, A, S) if m.is_sparse else np.asarray(m.P) for m in mdps])
        return BatchedMDPs(R=Rt, gamma=gamma, P=torch.as_tensor(P, dtype=dtype, device=dev))
    csrs = [sp.csr_matrix(m.transition_matrix) for m in mdps]
    K = max(1, max(int(np.diff(c.indptr).max(initial=0)) for c in csrs))
    ns = np.zeros((len(mdps), S * A, K), dtype=np.int64)
    pr = np.zeros((len(mdps), S * A, K))
    for i, c in enumerate(csrs):
        lengths = np.diff(c.indptr)
        rows = np.repeat(np.arange(S * A), lengths)
        slot = np.arange(c.nnz) - np.repeat(c.indptr[:-1], lengths)
        ns[i, rows, slot] = c.indices
        pr[i, rows, slot] = c.data
    return BatchedMDPs(R=Rt, gamma=gamma, next_states=torch.as_tensor(ns.reshape(-1, S, A, K), device=dev),
                       probs=torch.as_tensor(pr.reshape(-1, S, A, K), dtype=dtype, device=dev))


@dataclass(frozen=True, repr=False, eq=False)
class BatchedSolution(ValueSolution):
    r"""What the batched planners return: the block of
    :class:`~theory_rl._result.ValueSolution` (keyword-only fields), one
    :class:`~theory_rl.tabular.Solution`'s fields per model stacked along a leading batch axis, as
    tensors on the solver's device.

    Attributes
    ----------
    v, lower, upper : Tensor, shape (B, S)
    q : Tensor, shape (B, S, A)
    policy : Tensor, shape (B, S) (int64) or (B, S, A)
    converged : Tensor of bool, shape (B,)
    n_iter : Tensor of int64, shape (B,)
    residual, bound : Tensor, shape (B,)
        ``||T v_n - v_n||_inf`` of the last backup and the certified ``||v - v*||_inf``
        (``||v - v_pi||_inf`` for policy evaluation).
    history : History
        Empty: the batched planners record no per-iteration table.
    device : str

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> sol = approx.batched_value_iteration(approx.stack_mdps([envs.chain(4, gamma=0.9)], device="cpu"), tol=1e-8)
    >>> type(sol).__name__, sol.device, tuple(sol.policy.shape)
    ('BatchedSolution', 'cpu', (1, 4))
    """

    device: str = "cpu"

    _repr_fields = ("method", "device", "elapsed")

    def __len__(self) -> int:
        return int(self.v.shape[0])

    def instance(self, b: int) -> Any:
        """Model ``b``'s result as a numpy :class:`~theory_rl.tabular.Solution`."""
        from ..tabular import Solution

        def pick(t: Any) -> Any:
            return None if t is None else to_numpy(t[b]).copy()

        return Solution(
            v=pick(self.v), q=pick(self.q), policy=pick(self.policy), converged=bool(self.converged[b]),
            n_iter=int(self.n_iter[b]), residual=float(self.residual[b]), bound=float(self.bound[b]),
            lower=pick(self.lower), upper=pick(self.upper), history=np.empty(0), method=self.method,
            params=dict(self.params), elapsed=self.elapsed, info={"batch_index": b},
        )


def _warn_unconverged(method: str, converged: Any, n_iter: Any, tol: float, strict: bool) -> None:
    bad = int((~converged).sum())
    if bad == 0:
        return
    first = int(np.argmax(~to_numpy(converged)))
    message = (f"{method}: {bad} of {converged.numel()} models did not certify tol={tol:g} "
               f"(first: model {first} after {int(n_iter[first])} iterations, max_iter reached)")
    if strict:
        raise SolverError(message, status="max_iter")
    warnings.warn(message, ConvergenceWarning, stacklevel=3)


def batched_value_iteration(
    P: Any,
    R: Any = None,
    gamma: Any = None,
    *,
    device: Any = "auto",
    tol: float = 1e-6,
    max_iter: int | None = None,
    stopping: str = "span",
    next_states: Any = None,
    dtype: Any = None,
    strict: bool = False,
) -> BatchedSolution:
    r"""Value iteration ``v_{n+1} = T v_n`` for ``B`` MDPs at once, each with its own certified stop.

    .. math::
        v^b_{n+1}(s) = \max_a \Big[ R_b(s,a) + \gamma_b \sum_{s'} P_b(s'|s,a)\, v^b_n(s') \Big].

    The stopping rule is :func:`theory_rl.tabular.value_iteration`'s, applied per model: with
    ``d_n = T v_n - v_n`` and ``c = gamma/(1-gamma)``, the MacQueen (1966) / Porteus (1971) bounds
    ``T v_n + c min d_n <= v* <= T v_n + c max d_n`` (Puterman 1994, Thm 6.6.3) certify the
    midpoint to ``c span(d_n)/2``; ``stopping="span"`` stops a model when ``c span(d_n) <= tol``,
    ``"sup"`` when ``||d_n||_inf < tol (1-gamma)/(2 gamma)``. A model that has stopped is frozen
    (its result is the one the numpy solver returns after the same number of backups) and the
    working batch is compacted once half of it has stopped, so the others do not pay for it.
    The greedy policy of each returned ``v`` is ``tol``-optimal and ``bound <= tol/2``.

    Parameters
    ----------
    P : array or Tensor, shape (B, S, A, S); or :class:`BatchedMDPs` (then ``R``, ``gamma`` unused)
        Dense kernels; with ``next_states`` given, the probabilities ``probs[b, s, a, k]`` of
        the sparse layout instead (shape ``(B, S, A, K)``).
    R : array or Tensor, shape (B, S, A)
        Rewards (``-inf`` for unavailable actions).
    gamma : float or array, shape (B,)
    device : str or torch.device, optional
        ``"auto"`` (the default: a :class:`BatchedMDPs` stays on its own device, arrays go to CUDA
        when present, else CPU), ``"cpu"`` or ``"cuda"``.
    tol : float
        Target optimality of the greedy policies.
    max_iter : int, optional
        Backups allowed per model; default, per model, the count after which the sup-norm rule
        must fire (:func:`theory_rl.tabular._common.iteration_cap`).
    stopping : {"span", "sup"}
    next_states : array or Tensor of int, shape (B, S, A, K), optional
        Selects the sparse layout.
    dtype : torch dtype
        Default ``torch.float64``; ``float32`` halves the bytes read, and the certificate then
        holds only down to float32 rounding (``tol`` above about ``1e-6 * max|v|``).
    strict : bool
        Raise :class:`~theory_rl.errors.SolverError` instead of a ConvergenceWarning.

    Returns
    -------
    BatchedSolution
        ``v`` the certified midpoints, ``lower``/``upper`` the MacQueen bounds, ``policy`` the
        greedy policies (lowest index on ties), ``q`` the action values of the last backup.

    References
    ----------
    M. L. Puterman, *Markov Decision Processes*, Wiley 1994, §6.3, §6.6. J. MacQueen, J. Math.
    Anal. Appl. 14 (1966).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import approx, envs, tabular
    >>> mdps = [envs.random_mdp(3, 2, seed=0), envs.random_mdp(3, 2, seed=1, gamma=0.5)]
    >>> sol = approx.batched_value_iteration(approx.stack_mdps(mdps, device="cpu"), tol=1e-8)
    >>> bool(np.all(np.asarray(sol.converged))), bool(np.abs(sol.v[1] - tabular.value_iteration(mdps[1], tol=1e-10).v).max() < 1e-7)
    (True, True)
    """
    torch = require_torch()
    check_choice(stopping, "stopping", ("span", "sup"))
    tol, max_iter, strict = check_tol(tol), check_max_iter(max_iter), check_bool(strict, "strict")
    with Timer() as timer, torch.no_grad():
        batch, dev, dtype = _checked_batch(P, R, gamma, next_states, device, dtype)
        B, S, A = batch.shape
        gam = batch.gamma
        c = gam / (1 - gam)
        out_v = torch.empty((B, S), dtype=dtype, device=dev)
        out_lo, out_hi = torch.empty_like(out_v), torch.empty_like(out_v)
        out_q = torch.empty((B, S, A), dtype=dtype, device=dev)
        out_pol = torch.empty((B, S), dtype=torch.int64, device=dev)
        out_res = torch.empty(B, dtype=dtype, device=dev)
        out_bound = torch.empty(B, dtype=dtype, device=dev)
        out_conv = torch.zeros(B, dtype=torch.bool, device=dev)
        out_n = torch.zeros(B, dtype=torch.int64, device=dev)

        # `work` holds the models still iterated (compacted once half of them have stopped);
        # `rows` are the live models' positions in `work`, `ids` their indices in the batch
        work = batch
        ids = torch.arange(B, device=dev)
        rows = ids.clone()
        v_work = torch.zeros((B, S), dtype=dtype, device=dev)
        caps = None
        n = 0
        while ids.numel():
            n += 1
            q_all = work.q(v_work)
            q = q_all if rows.numel() == q_all.shape[0] else q_all.index_select(0, rows)
            pol = q.argmax(dim=2)  # first maximiser, as numpy's argmax
            tv = q.gather(2, pol.unsqueeze(2)).squeeze(2)
            d = tv - v_work.index_select(0, rows) if rows.numel() != v_work.shape[0] else tv - v_work
            dmin, dmax = d.amin(1), d.amax(1)
            cw, gw = c.index_select(0, ids), gam.index_select(0, ids)
            residual = torch.maximum(dmin.abs(), dmax.abs())
            if caps is None:
                caps = torch.tensor(
                    [max_iter if max_iter is not None else iteration_cap(float(g), tol, float(r))
                     for g, r in zip(to_numpy(gw), to_numpy(residual))], dtype=torch.int64, device=dev)
            if stopping == "span":
                conv = cw * (dmax - dmin) <= tol
            else:
                conv = (residual < tol * (1 - gw) / (2 * gw)) | (gw == 0)
            stop = conv | (caps <= n)
            if not bool(stop.any()):
                v_work = tv if rows.numel() == v_work.shape[0] else v_work.index_copy(0, rows, tv)
                continue
            done = ids[stop]
            lo = tv[stop] + cw[stop, None] * dmin[stop, None]
            hi = tv[stop] + cw[stop, None] * dmax[stop, None]
            out_lo[done], out_hi[done] = lo, hi
            out_v[done] = 0.5 * (lo + hi)
            out_q[done], out_pol[done] = q[stop], pol[stop]
            out_res[done] = residual[stop]
            out_bound[done] = 0.5 * (hi - lo).amax(1)
            out_conv[done] = conv[stop]
            out_n[done] = n
            keep = ~stop
            ids, caps, tv, rows = ids[keep], caps[keep], tv[keep], rows[keep]
            if 2 * ids.numel() <= work.R.shape[0]:
                work = batch.subset(ids)
                rows = torch.arange(ids.numel(), device=dev)
                v_work = tv
            else:
                v_work = v_work.index_copy(0, rows, tv)
        _warn_unconverged("batched_value_iteration", out_conv, out_n, tol, strict)
    return BatchedSolution(
        v=out_v, q=out_q, policy=out_pol, converged=out_conv, n_iter=out_n, residual=out_res,
        bound=out_bound, lower=out_lo, upper=out_hi, method="batched_value_iteration",
        params={"tol": tol, "max_iter": max_iter, "stopping": stopping, "layout": batch.layout,
                "dtype": str(dtype).replace("torch.", "")},
        elapsed=timer.elapsed, device=str(dev),
    )


def _policy_tensor(policy: Any, B: int, S: int, A: int, dev: Any, dtype: Any) -> Any:
    torch = require_torch()
    pol = policy if isinstance(policy, torch.Tensor) else torch.as_tensor(np.asarray(policy))
    if pol.shape == (B, S) and not pol.is_floating_point():
        pol = pol.to(device=dev, dtype=torch.int64)
        if bool(((pol < 0) | (pol >= A)).any()):
            b, s = (int(i) for i in torch.nonzero((pol < 0) | (pol >= A))[0])
            raise InvalidModelError(f"policy[{b}, {s}] = {int(pol[b, s])} is not an action index in [0, {A})")
        return pol
    if pol.shape == (B, S, A):
        pol = pol.to(device=dev, dtype=dtype)
        sums = to_numpy(pol.sum(-1)).reshape(-1)
        if bool((pol < 0).any()):
            idx = tuple(int(i) for i in torch.nonzero(pol < 0)[0])
            raise InvalidModelError(f"policy[{idx[0]}, {idx[1]}, {idx[2]}] is negative")
        check_row_sums(sums, "policy", atol=1e-8, row_shape=(B, S))
        return pol
    raise InvalidModelError(f"policy has shape {tuple(pol.shape)}, expected ({B}, {S}) of action indices or ({B}, {S}, {A})")


def batched_policy_evaluation(
    P: Any,
    R: Any = None,
    gamma: Any = None,
    policy: Any = None,
    *,
    device: Any = "auto",
    method: str = "auto",
    tol: float = 1e-10,
    max_iter: int | None = None,
    next_states: Any = None,
    dtype: Any = None,
    strict: bool = False,
) -> BatchedSolution:
    r"""Exact values ``v_pi^b = (I - gamma_b P_pi^b)^{-1} r_pi^b`` of one policy per model.

    .. math::
        v_\pi = r_\pi + \gamma P_\pi v_\pi, \qquad
        \|v - v_\pi\|_\infty \le \frac{\|r_\pi + \gamma P_\pi v - v\|_\infty}{1 - \gamma}.

    ``method="direct"`` solves the ``B`` linear systems with one batched LU
    (``torch.linalg.solve``; dense layout only); ``"iterative"`` applies ``T_pi`` (successive
    approximation, Puterman §6.2) and stops each model when ``gamma ||v_{n+1} - v_n|| / (1-gamma)
    <= tol``, the rule of :func:`theory_rl.tabular.policy_evaluation`. ``"auto"``: direct for
    dense batches with ``S <= 2048``, iterative otherwise. ``bound`` is the residual bound above,
    computed after the solve.

    Parameters
    ----------
    P, R, gamma, next_states, dtype, device
        As in :func:`batched_value_iteration`.
    policy : array or Tensor, shape (B, S) of action indices, or (B, S, A) of probabilities

    Returns
    -------
    BatchedSolution
        ``v = v_pi``, ``q = q_pi`` (``R + gamma P v_pi``), ``lower``/``upper`` = ``v -/+ bound``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import approx, envs, tabular
    >>> mdp, pi = envs.random_mdp(3, 2, seed=0), np.array([0, 1, 0])
    >>> sol = approx.batched_policy_evaluation(np.asarray(mdp.P)[None], mdp.R[None], [mdp.gamma], pi[None], device="cpu")
    >>> bool(np.allclose(sol.v[0], tabular.policy_value(mdp, pi)))
    True
    """
    torch = require_torch()
    check_choice(method, "method", ("auto", "direct", "iterative"))
    tol, max_iter, strict = check_tol(tol), check_max_iter(max_iter), check_bool(strict, "strict")
    with Timer() as timer, torch.no_grad():
        batch, dev, dtype = _checked_batch(P, R, gamma, next_states, device, dtype)
        B, S, A = batch.shape
        if policy is None:
            raise InvalidModelError("batched_policy_evaluation needs a policy")
        pol = _policy_tensor(policy, B, S, A, dev, dtype)
        gam = batch.gamma
        if pol.is_floating_point():
            if bool(((pol > 0) & torch.isinf(batch.R)).any()):
                b, s, a = (int(i) for i in torch.nonzero((pol > 0) & torch.isinf(batch.R))[0])
                raise InvalidModelError(f"policy[{b}, {s}, {a}] > 0 puts mass on an unavailable action")
            r_pi = (pol * torch.where(pol > 0, batch.R, torch.zeros_like(batch.R))).sum(-1)
            if batch.P is not None:
                P_pi = torch.einsum("bsa,bsat->bst", pol, batch.P)
                chain = BatchedMDPs(R=r_pi.unsqueeze(2), gamma=gam, P=P_pi.unsqueeze(2))
            else:
                K = batch.next_states.shape[-1]
                chain = BatchedMDPs(R=r_pi.unsqueeze(2), gamma=gam, next_states=batch.next_states.reshape(B, S, 1, A * K),
                                    probs=(pol.unsqueeze(3) * batch.probs).reshape(B, S, 1, A * K))
        else:
            if bool(torch.isinf(batch.R.gather(2, pol.unsqueeze(2))).any()):
                b, s = (int(i) for i in torch.nonzero(torch.isinf(batch.R.gather(2, pol.unsqueeze(2)).squeeze(2)))[0])
                raise InvalidModelError(f"policy[{b}, {s}] = {int(pol[b, s])} is an unavailable action")
            chain = batch.policy_chain(pol)
        use_direct = method == "direct" or (method == "auto" and chain.P is not None and S <= 2048)
        n_iter = torch.zeros(B, dtype=torch.int64, device=dev)
        if use_direct:
            if chain.P is None:
                raise InvalidModelError("method='direct' needs the dense layout")
            eye = torch.eye(S, dtype=dtype, device=dev).expand(B, S, S)
            v = torch.linalg.solve(eye - gam.view(B, 1, 1) * chain.P.squeeze(2), chain.R.squeeze(2))
        else:
            v = torch.zeros((B, S), dtype=dtype, device=dev)
            live = torch.ones(B, dtype=torch.bool, device=dev)
            cap = max_iter if max_iter is not None else 10**7
            factor = gam / (1 - gam)
            n = 0
            while bool(live.any()) and n < cap:
                n += 1
                new = chain.q(v).squeeze(2)
                change = (new - v).abs().amax(1)
                v = torch.where(live.unsqueeze(1), new, v)
                n_iter = torch.where(live, n, n_iter)
                live = live & ~(factor * change <= tol)
        tv = chain.q(v).squeeze(2)
        residual = (tv - v).abs().amax(1)
        bound = residual / (1 - gam)
        converged = bound <= tol if not use_direct else torch.isfinite(v).all(1)
        if use_direct and not bool(converged.all()):
            raise SolverError("batched_policy_evaluation: a linear system (I - gamma P_pi) v = r_pi could not be solved")
        if not use_direct:
            _warn_unconverged("batched_policy_evaluation", converged, n_iter, tol, strict)
        q = batch.q(v)
    return BatchedSolution(
        v=v, q=q, policy=pol, converged=converged, n_iter=n_iter, residual=residual, bound=bound,
        lower=v - bound.unsqueeze(1), upper=v + bound.unsqueeze(1), method="batched_policy_evaluation",
        params={"method": "direct" if use_direct else "iterative", "tol": tol, "layout": batch.layout,
                "dtype": str(dtype).replace("torch.", "")},
        elapsed=timer.elapsed, device=str(dev),
    )
