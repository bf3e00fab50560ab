r"""Episodic models: stochastic shortest path problems (``gamma = 1`` with terminal states).

A :class:`~theory_rl.models.FiniteMDP` with ``gamma = 1`` and ``terminal`` states (absorbing, reward
0) is a stochastic shortest path (SSP) problem (Bertsekas & Tsitsiklis 1991; Bertsekas,
*Dynamic Programming and Optimal Control*, vol. II, ch. 3). The value of a policy ``pi`` is the
expected total reward until termination,

.. math::
    v_\pi(s) = \mathbb E_\pi\Big[\sum_{t < \tau} R(s_t, a_t) \,\Big|\, s_0 = s\Big], \qquad
    \tau = \min\{t : s_t \in \mathcal T\}.

A policy is *proper* if it reaches ``T`` with probability 1 from every state. On the
non-terminal states ``N`` write ``Q_pi`` for ``P_pi`` restricted to ``N x N``; ``pi`` is proper iff
the spectral radius of ``Q_pi`` is below 1, and then ``v_pi = (I - Q_pi)^{-1} r_pi`` and the
expected number of steps to termination is ``m_pi = (I - Q_pi)^{-1} 1``.

What the solvers compute. ``hat v(s) = max`` over proper deterministic stationary policies of
``v_pi(s)`` (attained by one policy for all states). Under the standard assumptions of
Bertsekas & Tsitsiklis (1991) — (A) a proper policy exists, (B) every improper policy earns
``-inf`` from some state (e.g. every reward of a non-terminal state is negative) — ``hat v = v*``,
the optimum over all policies, it is the unique solution of ``v = T v`` on ``N`` (``v = 0`` on
``T``), and value iteration converges to it from any start. (A) is checked (a graph
computation; :class:`~theory_rl.errors.InvalidModelError` names a state from which no policy
terminates with probability 1). (B) is not checked up front; where its failure shows (policy
improvement reaching an improper policy, an infeasible linear program) the solvers raise.

The certificate (:func:`_certify`), for any ``v`` (``v = 0`` on ``T``) and a proper policy ``mu``.
With ``d_mu = T_mu v - v`` and ``N_mu = (I - Q_mu)^{-1} = I + Q_mu N_mu >= 0``,

.. math::
    v_\mu - v = N_\mu d_\mu \quad\Longrightarrow\quad
    v_\mu \ge T_\mu v + \min(\min_s d_\mu(s), 0)\,(\tilde m - 1) =: L,

for any ``tilde m >= m_mu``; such a ``tilde m`` is verified by ``tilde m >= 1 + Q_mu tilde m``
(then ``tilde m - m_mu = N_mu((I - Q_mu) tilde m - 1) >= 0``). ``L <= v_mu <= hat v``. Two upper
bounds on ``hat v``, the smaller is used:

- *super-solution*: for ``h = tilde m`` (any ``h > 0`` on ``N``, ``0`` on ``T``) and the smallest
  ``t >= 0`` with ``q_v(s, a) - v(s) <= t (h(s) - (P_a h)(s))`` for every available ``(s, a)``,
  ``u = v + t h`` satisfies ``T u <= u``; then ``T_pi u <= u`` for every proper ``pi``, so
  ``v_pi = lim_k T_pi^k u <= u`` and ``hat v <= u``. (For ``mu``'s own actions the slope is
  ``h - Q_mu h >= 1``, so ``t`` is about ``max d``; the check fails only where a non-greedy action
  ties with the greedy one and leads farther from termination, e.g. a zero-reward loop.)
- *negative rewards*: if every available reward of a non-terminal state is ``<= -c < 0``, an
  optimal proper ``pi*`` has ``m_{pi*} <= -hat v / c <= -L / c`` and
  ``hat v = T_{pi*} v + Q_{pi*} N_{pi*} d_{pi*} <= T v + max(max_s d(s), 0) (-L/c - 1)``
  (``d = T v - v``); with ``max d <= 0`` this is ``hat v <= T v`` and needs no ``c``.

Rounding. Every action value ``q = R + P v`` computed in float64 (``n`` terms in the row sum) is
within ``gamma_n (|R| + P |v|)``, ``gamma_n = n u / (1 - n u)``, ``u = 2^-53`` (Higham 2002,
§3.1), of the exact one, whatever the summation order; every test and bound above is evaluated on
these intervals and each final sum is rounded outward, so ``lower``/``upper`` bracket the exact
``hat v`` of the model as stored (not only of the float computation) and ``bound`` is never 0
from rounding alone (it is 0 only when every computed number was exact, e.g. ``R = 0``).

References
----------
D. P. Bertsekas, J. N. Tsitsiklis, "An analysis of stochastic shortest path problems",
Math. Oper. Res. 16(3):580-595, 1991.
D. P. Bertsekas, *Dynamic Programming and Optimal Control*, vol. II, 4th ed., Athena Scientific
2012, ch. 3.
N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM 2002, ch. 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.optimize import linprog
from scipy.sparse.csgraph import breadth_first_order, shortest_path

from .._highs import HIGHS_OPTIONS
from .._iterative import Callback, Timer, finish_iterative, iterations
from .._validation import check_choice, check_max_iter, check_tol
from ..errors import InvalidArgumentError, InvalidModelError, SolverError
from ..models import FiniteMDP
from ._bellman import as_policy, as_value, effective_rewards
from ._solution import Solution

__all__ = [
    "proper_policy",
    "shortest_path_linear_programming",
    "shortest_path_modified_policy_iteration",
    "shortest_path_policy_evaluation",
    "shortest_path_policy_iteration",
    "shortest_path_value_iteration",
]

_U = np.finfo(np.float64).eps / 2  # unit roundoff
_TINY = np.finfo(np.float64).tiny


class _Episodic:
    """The arrays of one SSP model (internal): ``P2`` (dense ``(S*A, S)`` or CSR), rewards,
    available rows, terminal mask, and the rounding constant of one row product."""

    def __init__(self, mdp: FiniteMDP) -> None:
        if not mdp.is_shortest_path:
            raise InvalidModelError(
                f"a stochastic shortest path solver needs gamma = 1 and terminal states (got gamma = {mdp.gamma:g}, "
                f"terminal = {None if mdp.terminal is None else int(mdp.terminal.sum())})"
            )
        self.mdp = mdp
        self.S, self.A = mdp.n_states, mdp.n_actions
        self.P2 = mdp.transition_matrix
        self.sparse = mdp.is_sparse
        self.r_eff = effective_rewards(mdp)
        self.R_abs = np.abs(np.asarray(mdp.R, dtype=np.float64)).ravel()
        self.avail = np.ones(self.S * self.A, bool) if mdp.action_mask is None else mdp.action_mask.ravel().copy()
        self.term = np.asarray(mdp.terminal, dtype=bool)
        self.nonterm = np.flatnonzero(~self.term)
        self.row_state = np.repeat(np.arange(self.S), self.A)
        self.live = self.avail & ~self.term[self.row_state]  # rows that count: available, non-terminal
        self.struct = sp.csr_matrix(self.P2) if not self.sparse else self.P2
        n = (int(np.diff(self.P2.indptr).max(initial=0)) if self.sparse else self.S) + 2
        self.gam = n * _U / (1.0 - n * _U)  # gamma_n of one row product plus the reward
        self.tiny = n * _TINY  # underflow in the products
        rows = self.live
        self.c = float(-self.r_eff[rows].max()) if rows.any() else np.inf  # rewards <= -c on live rows

    def q_only(self, v: np.ndarray) -> np.ndarray:
        """Computed ``q = R + P v``, flat ``(S*A,)`` (``-inf`` on unavailable rows)."""
        return self.r_eff + np.asarray(self.P2 @ v).ravel()

    def greedy_backup(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """One computed backup: ``(q (S, A), greedy policy, T v with 0 on terminal states,
        ||T v - v||_inf)``."""
        q = self.q_only(v).reshape(self.S, self.A)
        greedy = np.asarray(np.argmax(q, axis=1), dtype=np.int64)
        tv = q[np.arange(self.S), greedy]
        tv[self.term] = 0.0
        return q, greedy, tv, float(np.max(np.abs(tv - v), initial=0.0))

    def q(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(q, e)``, flat ``(S*A,)``: computed ``q = R + P v`` (``-inf`` on unavailable rows) and a
        bound ``e`` on its rounding error."""
        pv = np.asarray(self.P2 @ v).ravel()
        q = self.r_eff + pv
        # (1 + 2 gamma_n) covers the rounding of the bound's own sum
        e = self.gam * (1 + 2 * self.gam) * (self.R_abs + np.asarray(self.P2 @ np.abs(v)).ravel()) + self.tiny
        return q, e

    def policy_rows(self, policy: np.ndarray) -> np.ndarray:
        """Bool ``(S*A,)``: the rows a policy uses (deterministic or stochastic)."""
        if policy.ndim == 1:
            out = np.zeros(self.S * self.A, bool)
            out[np.arange(self.S) * self.A + policy] = True
            return out
        return (policy > 0).ravel()

    def chain(self, policy: np.ndarray) -> tuple[np.ndarray | sp.csr_matrix, np.ndarray]:
        """``(Q_pi, r_pi)`` on the non-terminal states (``Q_pi`` of shape ``(|N|, |N|)``)."""
        N = self.nonterm
        if policy.ndim == 1:
            rows = N * self.A + policy[N]
            Q = self.P2[rows][:, N]
            r = self.r_eff[rows]
        else:
            w = policy[N]
            r = np.einsum("sa,sa->s", w, np.asarray(self.mdp.R)[N])
            if self.sparse:
                W = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(N.size), self.A),
                                               (N[:, None] * self.A + np.arange(self.A)).ravel())),
                                  shape=(N.size, self.S * self.A))
                Q = (W @ self.P2).tocsr()[:, N]
            else:
                Q = np.einsum("sa,sat->st", w, np.asarray(self.mdp.P)[N])[:, N]
        return Q, r

    def state_name(self, s: int) -> str:
        names = self.mdp.state_names
        return f"state {s}" + (f" ({names[s]})" if names is not None else "")


# ------------------------------------------------------------------------------ graph computations
def _reversed_graph(ssp: _Episodic, rows: np.ndarray) -> sp.csr_matrix:
    """Edges ``s' -> s`` for every transition ``s -> s'`` of the rows marked in ``rows``, plus a
    super-source node ``S`` with an edge to every terminal state."""
    S = ssp.S
    sub = ssp.struct[np.flatnonzero(rows)].tocoo()
    src = ssp.row_state[np.flatnonzero(rows)][sub.row]
    t = np.flatnonzero(ssp.term)
    return sp.csr_matrix(
        (np.ones(sub.nnz + t.size), (np.concatenate([sub.col, np.full(t.size, S)]), np.concatenate([src, t]))),
        shape=(S + 1, S + 1),
    )


def _reaches_terminal(ssp: _Episodic, rows: np.ndarray) -> np.ndarray:
    """Which states reach ``T`` with positive probability using only the rows marked in ``rows``
    (BFS from ``T`` on the reversed graph). Bool ``(S,)``."""
    order = breadth_first_order(_reversed_graph(ssp, rows), ssp.S, directed=True, return_predecessors=False)
    reached = np.zeros(ssp.S + 1, bool)
    reached[order] = True
    return reached[:ssp.S]


def _improper_state(ssp: _Episodic, policy: np.ndarray) -> int | None:
    """A state from which ``policy`` never terminates with positive probability (so it is
    improper), or ``None`` if the policy is proper. For a Markov chain, reaching ``T`` with positive
    probability from every state is equivalent to reaching it with probability 1."""
    reached = _reaches_terminal(ssp, ssp.policy_rows(policy) & ssp.avail)
    return None if reached.all() else int(np.argmin(reached))


def _proper_policy(ssp: _Episodic) -> np.ndarray:
    """A proper deterministic policy, or :class:`InvalidModelError` naming a state from which no
    policy terminates with probability 1.

    Almost-sure reachability (de Alfaro 1997): keep the states ``W`` that reach ``T`` using only
    actions whose successors all lie in ``W``; repeat until ``W`` is stable. A proper policy exists
    iff ``W`` is every state. Each state then takes the action with the largest probability of
    moving to a state with a smaller graph distance to ``T`` (positive for at least one action):
    from every state a path to ``T`` has positive probability, so the policy is proper, and
    preferring likely progress keeps its expected number of steps (the conditioning of its
    linear system) moderate."""
    S, A = ssp.S, ssp.A
    W = np.ones(S, bool)
    first = None
    while True:
        outside = np.asarray(ssp.struct @ (~W).astype(np.float64)).ravel() > 0
        rows = ssp.avail & ~outside & W[ssp.row_state]
        reached = _reaches_terminal(ssp, rows)
        if first is None:
            first = reached
        if (reached == W).all():
            break
        W = reached & W
    if not W.all():
        s = int(np.argmin(W))
        why = ("no policy reaches a terminal state from it" if not first[s] else
               "every policy has a positive probability of never reaching a terminal state from it")
        raise InvalidModelError(f"the model has no proper policy: from {ssp.state_name(s)} {why}")
    dist = shortest_path(_reversed_graph(ssp, rows), method="D", unweighted=True, indices=S)[:S]
    coo = ssp.struct[np.flatnonzero(rows)].tocoo()
    r = np.flatnonzero(rows)[coo.row]
    closer = dist[coo.col] < dist[ssp.row_state[r]]
    score = np.full(S * A, -1.0)
    score[rows] = 0.0
    score += np.bincount(r, weights=np.where(closer, coo.data, 0.0), minlength=S * A)
    policy = np.asarray(np.argmax(score.reshape(S, A), axis=1), dtype=np.int64)
    return policy


def proper_policy(mdp: FiniteMDP) -> np.ndarray:
    r"""A proper policy of an episodic model: one that reaches a terminal state with probability 1
    from every state.

    Computed as almost-sure reachability on the transition graph (de Alfaro 1997): ``W`` is
    repeatedly shrunk to the states that reach ``T`` using only actions that cannot leave ``W``.
    Each state then takes the action with the largest probability of moving to a state with a
    smaller graph distance to ``T``. ``O(S * nnz(P))`` in the worst case, one or two graph
    searches in practice. Policy iteration starts from this policy.

    Parameters
    ----------
    mdp : FiniteMDP
        Episodic model (``gamma = 1``, ``terminal`` given).

    Returns
    -------
    ndarray of int64, shape (S,)
        Action indices.

    Raises
    ------
    InvalidModelError
        No proper policy exists; the message names a state from which no policy terminates with
        probability 1.

    References
    ----------
    L. de Alfaro, *Formal Verification of Probabilistic Systems*, PhD thesis, Stanford 1997, §3.
    D. P. Bertsekas, J. N. Tsitsiklis, Math. Oper. Res. 16(3), 1991 (assumption (A)).

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> pi = tabular.proper_policy(envs.sutton_barto_gridworld())
    >>> pi.shape
    (16,)
    """
    return _proper_policy(_Episodic(mdp))


# ------------------------------------------------------------------------------ linear algebra
def _solve(ssp: _Episodic, Q: np.ndarray | sp.csr_matrix, rhs: np.ndarray, *, transpose: bool = False) -> np.ndarray:
    """``(I - Q)^{-1} rhs`` (or ``(I - Q)^{-T} rhs``) for the chain of a proper policy: one LU
    factorisation (SuperLU or LAPACK) and two steps of iterative refinement, which bring the
    residual down to rounding level (its size enters every certificate, multiplied by the
    expected number of steps to termination)."""
    n = rhs.shape[0]
    if n == 0:
        return np.zeros(0)
    try:
        if sp.issparse(Q):
            M = (sp.identity(n, format="csr") - Q).tocsc()
            if transpose:
                M = M.T.tocsc()
            lu = spla.splu(M)
            solve = lu.solve
        else:
            M = np.eye(n) - np.asarray(Q)
            if transpose:
                M = np.ascontiguousarray(M.T)
            factor = sla.lu_factor(M, check_finite=False)

            def solve(b: np.ndarray) -> np.ndarray:
                return sla.lu_solve(factor, b, check_finite=False)

        x = solve(rhs)
        for _ in range(2):
            x = x + solve(rhs - M @ x)
    except (np.linalg.LinAlgError, RuntimeError, ValueError) as exc:
        raise SolverError(f"the linear system (I - Q_pi) x = b of a proper policy could not be solved: {exc}") from None
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    if not np.isfinite(x).all():
        raise SolverError("the linear system (I - Q_pi) x = b of a proper policy could not be solved (non-finite solution)")
    return x


def _full(ssp: _Episodic, x_N: np.ndarray) -> np.ndarray:
    out = np.zeros(ssp.S)
    out[ssp.nonterm] = x_N
    return out


def _steps_bound(ssp: _Episodic, Q: np.ndarray | sp.csr_matrix, rel: float = 0.0) -> np.ndarray | None:
    """A verified upper bound ``tilde m >= m_pi`` on the expected steps to termination, on ``N``:
    the computed ``m`` inflated until ``tilde m >= 1 + Q tilde m + (rounding)`` holds; ``None``
    if no inflation up to 1e-3 passes (an extremely ill-conditioned chain)."""
    n = Q.shape[0]
    if n == 0:
        return np.zeros(0)
    m = np.maximum(_solve(ssp, Q, np.ones(n)), 1.0)
    for tau in (1e-13, 1e-11, 1e-9, 1e-7, 1e-5, 1e-3):
        mt = m * (1.0 + tau) + tau
        w = 1.0 + np.asarray(Q @ mt).ravel()
        err = (ssp.gam + rel) * w + ssp.tiny
        if np.all(mt - w - err - 2 * _U * mt >= 0):
            return mt
    return None


# ------------------------------------------------------------------------------ the certificate
@dataclass(frozen=True)
class _Certificate:
    """Bounds from one backup of ``v`` for the policy ``policy`` (see the module docstring)."""

    lower: np.ndarray  # lower <= v_policy <= hat v   (-inf where not certified)
    upper: np.ndarray  # hat v <= upper               (+inf where not certified)
    tv: np.ndarray  # computed T v (0 on T)
    q: np.ndarray  # computed q_v, shape (S, A)
    greedy: np.ndarray  # argmax of the computed q
    residual: float  # max_s |T v - v| (computed, on N)
    steps: np.ndarray | None  # verified upper bound on m_policy (0 on T), if the policy is proper
    proper: bool
    reason: str | None  # why the certificate is infinite, if it is

    def value(self, fallback: np.ndarray) -> np.ndarray:
        """The midpoint of the bounds (``fallback`` where both are infinite)."""
        return _round_mid(self.lower, self.upper, fallback)

    @property
    def width(self) -> float:
        """Certified ``max_s (upper - lower)``: a bound on ``hat v - v_policy``."""
        w = self.upper - self.lower
        return float(np.max(w, initial=0.0) * (1 + 4 * _U))


def _round_mid(lower: np.ndarray, upper: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        mid = 0.5 * lower + 0.5 * upper
    one = np.where(np.isfinite(lower), lower, np.where(np.isfinite(upper), upper, fallback))
    return np.where(np.isfinite(mid), mid, one)


def _bound_of(value: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Certified ``max_s max(value - lower, upper - value)``, rounded up."""
    gap = np.maximum(value - lower, upper - value)
    return float(np.max(gap, initial=0.0) * (1 + 4 * _U) + _TINY)


def _finish_greedy(ssp: _Episodic, cert: _Certificate | None, v: np.ndarray, *, method: str, converged: bool,
                   strict: bool, n_iter: int, cap: int, tol: float) -> tuple[_Certificate, np.ndarray, np.ndarray]:
    """The end of value iteration and MPI: certify the last iterate ``v`` unless ``cert`` already met
    ``tol``, apply the strict/warning rule, and return ``(certificate, value, q)``: the value is the
    bounds' midpoint and ``q`` its backup, not the last iterate's (``||q - Q*|| <= bound`` up to one
    backup's rounding)."""
    if cert is None or not converged:
        cert = _certify(ssp, v)
    reason = None
    if not converged and n_iter >= cap and cert.reason is not None:
        reason = f"max_iter={cap} reached; {cert.reason}"
    finish_iterative(method=method, converged=converged, strict=strict, n_iter=n_iter, cap=cap, tol=tol,
                     reason=reason)
    value = cert.value(v)
    return cert, value, ssp.q(value)[0].reshape(ssp.S, ssp.A)


def _certified_solution(cert: _Certificate, v: np.ndarray, q: np.ndarray, policy: np.ndarray, *, converged: bool,
                        n_iter: int, history: list[float], method: str, params: dict[str, Any], elapsed: float,
                        info: dict[str, Any] | None = None) -> Solution:
    """The :class:`Solution` of an episodic planner certified by ``cert`` (bounds, residual, policy gap,
    expected steps), with ``info`` ahead of the certificate's entries."""
    return Solution(
        v=v, q=q, policy=policy, converged=converged, n_iter=n_iter, residual=cert.residual,
        bound=_bound_of(v, cert.lower, cert.upper), lower=cert.lower, upper=cert.upper, history=np.asarray(history),
        method=method, params=params, elapsed=elapsed,
        info={**(info or {}), "policy_gap_bound": cert.width, "expected_steps": cert.steps, "reason": cert.reason},
    )


def _certify(ssp: _Episodic, v: np.ndarray, policy: np.ndarray | None = None,
             steps: np.ndarray | None = None) -> _Certificate:
    """Bounds on ``hat v`` (and on ``v_policy``) from one backup of ``v``; ``policy`` defaults to the
    greedy one. ``steps`` may pass a verified ``tilde m`` of ``policy`` (on ``N``) to skip the solve."""
    S, A, N = ssp.S, ssp.A, ssp.nonterm
    qf, e = ssp.q(v)
    q = qf.reshape(S, A)
    greedy = np.asarray(np.argmax(q, axis=1), dtype=np.int64)
    mu = greedy if policy is None else policy
    tv = q[np.arange(S), greedy]
    tv[ssp.term] = 0.0
    residual = float(np.max(np.abs(tv[N] - v[N]), initial=0.0))
    lower = np.full(S, -np.inf)
    upper = np.full(S, np.inf)
    lower[ssp.term] = upper[ssp.term] = 0.0
    reason = None

    # --- lower bound: mu must be proper, with a verified bound on its expected steps
    bad = _improper_state(ssp, mu)
    proper = bad is None
    mt = None
    if not proper:
        reason = f"the policy is improper (from {ssp.state_name(bad)} it never terminates)"
    else:
        rows = N * A + mu[N]
        q_mu, e_mu = qf[rows], e[rows]
        d = q_mu - v[N]
        d_lo = d - e_mu - 2 * _U * np.abs(d)
        dmin = float(np.min(d_lo, initial=0.0))
        q_lo = q_mu - e_mu
        mt = steps if steps is not None else _steps_bound(ssp, ssp.chain(mu)[0])
        if dmin >= 0:  # v_mu >= T_mu v: no bound on the steps needed
            lower[N] = q_lo * (1 - 2 * _U * np.sign(q_lo))
        elif mt is None:
            reason = "the policy's expected number of steps to termination cannot be bounded in float64"
        else:
            val = q_lo + dmin * (mt - 1.0)
            lower[N] = val - 4 * _U * (np.abs(q_lo) + abs(dmin) * mt) - _TINY

    # --- upper bound 1: the super-solution u = v + t h, h = tilde m
    if mt is not None and N.size:
        h = _full(ssp, mt)
        live = ssp.live
        ph = np.asarray(ssp.P2 @ h).ravel()
        e_ph = ssp.gam * ph + ssp.tiny
        hs = h[ssp.row_state]
        slope = hs - ph
        slope_lo = (slope - e_ph - 2 * _U * (hs + ph))[live]
        g = qf[live] - v[ssp.row_state[live]]
        g_hi = g + e[live] + 2 * _U * np.abs(g)
        pos = slope_lo > 0
        t = max(0.0, float(np.max(g_hi[pos] / slope_lo[pos], initial=0.0))) * (1 + 8 * _U)
        ok = np.all(g_hi[~pos] <= t * slope_lo[~pos] * (1 + 8 * _U) * (slope_lo[~pos] < 0)) if (~pos).any() else True
        if ok:
            u = v[N] + t * mt
            upper[N] = u + 4 * _U * (np.abs(v[N]) + t * mt) + _TINY
        elif reason is None:
            reason = "an action ties with the greedy one but leads farther from termination (T u <= u fails)"

    # --- upper bound 2: strictly negative rewards (or T v <= v)
    if N.size:
        e2 = e.reshape(S, A)
        tv_hi = np.max(np.where(ssp.avail.reshape(S, A), q + e2, -np.inf), axis=1)[N]
        dd = tv_hi - v[N]
        dmax = float(np.max(dd + 2 * _U * np.abs(dd), initial=0.0))
        if dmax <= 0:
            u2 = tv_hi + 2 * _U * np.abs(tv_hi)
        elif ssp.c > 0 and np.isfinite(lower[N]).all():
            M = np.maximum(-lower[N] / ssp.c * (1 + 4 * _U), 1.0)
            u2 = tv_hi + dmax * (M - 1.0)
            u2 = u2 + 4 * _U * (np.abs(tv_hi) + dmax * M) + _TINY
        else:
            u2 = None
        if u2 is not None:
            upper[N] = np.minimum(upper[N], u2)
    if np.isfinite(lower).all() and np.isfinite(upper).all():
        reason = None
    elif reason is None:
        reason = "no upper bound applies (rewards are not all negative and T u <= u fails)"
    return _Certificate(lower=lower, upper=upper, tv=tv, q=q, greedy=greedy, residual=residual,
                        steps=None if mt is None else _full(ssp, mt), proper=proper, reason=reason)


# ------------------------------------------------------------------------------ solvers
def _check_v0(ssp: _Episodic, v0: Any) -> np.ndarray:
    v = as_value(ssp.mdp, v0, "v0").copy()
    nz = np.flatnonzero(ssp.term & (v != 0))
    if nz.size:
        s = int(nz[0])
        raise InvalidArgumentError(f"v0[{s}] = {v[s]:.6g} on a terminal state; terminal states have value 0")
    return v


def _certify_reusing_steps(ssp: _Episodic, v: np.ndarray, greedy: np.ndarray, cached: tuple[np.ndarray, np.ndarray] | None,
                           steps_est: float | None) -> tuple[_Certificate, tuple[np.ndarray, np.ndarray] | None, float | None]:
    """:func:`_certify` for the greedy policy, reusing the expected steps ``cached`` for the same
    policy (a linear solve saved); returns the certificate, the new cache and the steps estimate."""
    steps = cached[1] if cached is not None and np.array_equal(cached[0], greedy) else None
    cert = _certify(ssp, v, greedy, steps)
    if cert.steps is not None:
        cached = (greedy, cert.steps[ssp.nonterm])
        steps_est = float(np.max(cert.steps, initial=1.0))
    return cert, cached, steps_est


def shortest_path_value_iteration(
    mdp: FiniteMDP,
    *,
    tol: float = 1e-6,
    max_iter: int | None = None,
    v0: np.ndarray | None = None,
    variant: str = "jacobi",
    stopping: str = "span",
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> Solution:
    r"""Value iteration for an episodic (stochastic shortest path) model, with a certificate.

    .. math::
        v_{n+1}(s) = \max_a \Big[ R(s,a) + \sum_{s'} P(s'|s,a)\, v_n(s') \Big] \quad (s \notin \mathcal T),
        \qquad v_n = 0 \text{ on } \mathcal T.

    :func:`value_iteration` calls this for a model with ``gamma = 1`` and ``terminal`` states.
    ``T`` is not a sup-norm contraction; under assumptions (A) and (B) (module docstring)
    ``v_n -> v*`` from any ``v0`` (Bertsekas & Tsitsiklis 1991, Prop. 2). With rewards ``<= 0`` the
    default ``v0 = 0`` satisfies ``T v0 <= v0`` and the iterates decrease monotonically to ``v*``.

    Certificate and stopping. After each backup whose greedy policy ``mu`` is proper and
    unchanged from the previous backup (or whose residual is below ``tol``), the bounds of the
    module docstring are computed: ``lower <= v_mu <= hat v <= upper`` elementwise, rounding
    included, with ``lower = T_mu v + min(min d_mu, 0)(tilde m_mu - 1)`` from a verified bound
    ``tilde m_mu`` on ``mu``'s expected steps to termination (one sparse/dense linear solve per new
    policy), and ``upper`` the smaller of the super-solution bound ``v + t tilde m_mu`` and, for
    negative rewards, ``T v + max(max d, 0)(-lower / c - 1)``. It stops when
    ``max(upper - lower) <= tol``: the greedy ``policy`` is then ``tol``-optimal and the returned
    midpoint ``v`` is within ``bound <= tol/2`` of ``v*``.

    Parameters
    ----------
    mdp : FiniteMDP
        Episodic model: ``gamma = 1`` and ``terminal`` states.
    tol : float
        Target: ``policy`` ``tol``-optimal, ``bound <= tol/2``.
    max_iter : int, optional
        Backups allowed (default 100,000).
    v0 : ndarray, shape (S,), optional
        Start (default zeros); must be 0 on terminal states.
    variant : {"jacobi"}
        Only Jacobi backups (Gauss-Seidel is not implemented for episodic models).
    stopping : {"span", "sup"}
        Accepted for the discounted solver's sake; episodic models always stop on the
        certificate above (there is no contraction factor to turn a residual into a bound).
    callback : callable ``(n, v, residual) -> bool | None``, optional
    strict : bool
        Raise :class:`~theory_rl.errors.SolverError` instead of warning when not certified.
    progress : bool

    Returns
    -------
    Solution
        ``history`` holds ``||T v_n - v_n||_inf`` on the non-terminal states;
        ``info["policy_gap_bound"]`` bounds ``v* - v_policy``; ``info["expected_steps"]`` the
        verified bound ``tilde m`` of the returned policy.

    Raises
    ------
    InvalidModelError
        No proper policy exists (the message names a state).

    References
    ----------
    D. P. Bertsekas, J. N. Tsitsiklis, "An analysis of stochastic shortest path problems",
    Math. Oper. Res. 16(3), 1991. D. P. Bertsekas, *Dynamic Programming and Optimal Control*,
    vol. II, ch. 3 (error bounds for SSP).

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> sol = tabular.value_iteration(envs.sutton_barto_gridworld())  # gamma = 1, dispatches here
    >>> sol.v[:4].round(12).tolist(), sol.converged
    ([0.0, -1.0, -2.0, -3.0], True)
    """
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    if check_choice(variant, "variant", ("jacobi", "gauss-seidel")) != "jacobi":
        raise InvalidArgumentError("variant='gauss-seidel' is not available for episodic (gamma = 1) models; use 'jacobi'")
    check_choice(stopping, "stopping", ("span", "sup"))
    with Timer() as timer:
        ssp = _Episodic(mdp)
        _proper_policy(ssp)  # assumption (A), or the error naming a state
        v = np.zeros(ssp.S) if v0 is None else _check_v0(ssp, v0)
        cap = 100_000 if max_iter is None else max_iter
        history: list[float] = []
        converged = False
        cert = None
        last_policy: np.ndarray | None = None
        cached: tuple[np.ndarray, np.ndarray] | None = None  # (policy, verified steps on N)
        steps_est: float | None = None
        n = 0
        for n in iterations(cap, progress, "value iteration (episodic)"):
            q, greedy, tv, residual = ssp.greedy_backup(v)
            history.append(residual)
            same = last_policy is not None and np.array_equal(greedy, last_policy)
            # the certificate's width is about residual * (expected steps - 1): skip the attempt
            # (a linear solve for a new policy) while the last certificate's steps say it must fail
            # (re-tried at n = 1, 2, 4, 8, ... in case that policy's steps were much larger)
            hopeless = steps_est is not None and residual * (steps_est - 1.0) > tol and n & (n - 1) != 0
            if ((same or residual <= tol) and not hopeless) or n == cap:
                cert, cached, steps_est = _certify_reusing_steps(ssp, v, greedy, cached, steps_est)
                if cert.width <= tol:
                    converged = True
                    break
            last_policy = greedy
            if callback is not None and callback(n, tv, residual):
                break
            v = tv
        cert, value, q = _finish_greedy(ssp, cert, v, method="value_iteration", converged=converged, strict=strict,
                                        n_iter=n, cap=cap, tol=tol)
    return _certified_solution(
        cert, value, q, cert.greedy, converged=converged, n_iter=n, history=history, method="value_iteration",
        params={"tol": tol, "max_iter": max_iter, "variant": variant, "stopping": stopping, "episodic": True},
        elapsed=timer.elapsed,
    )


def shortest_path_policy_evaluation(
    mdp: FiniteMDP,
    policy: np.ndarray,
    *,
    method: str = "direct",
    linear_solver: str = "auto",
    tol: float = 1e-10,
    max_iter: int | None = None,
) -> Solution:
    r"""Value of a proper policy of an episodic model: ``v_pi = (I - Q_pi)^{-1} r_pi`` on ``N``.

    .. math::
        v_\pi(s) = r_\pi(s) + \sum_{s' \notin \mathcal T} P_\pi(s'|s)\, v_\pi(s'), \qquad
        |v_\pi - v| \le \tilde m_\pi \, \max_s |T_\pi v - v|,

    with ``tilde m_pi`` a verified bound on the expected number of steps to termination
    (``v_pi - v = N_pi (T_pi v - v)``, ``N_pi 1 = m_pi``). :func:`policy_evaluation` calls this
    for a model with ``gamma = 1`` and ``terminal`` states. ``lower``/``upper`` bracket ``v_pi``,
    rounding included.

    Parameters
    ----------
    mdp : FiniteMDP
        Episodic model.
    policy : ndarray, shape (S,) of action indices or (S, A) of probabilities
        Must be proper.
    method : {"direct", "iterative"}
        A sparse/dense LU solve, or successive approximation ``v <- T_pi v`` until the bound
        above is ``<= tol``.
    linear_solver : {"auto", "direct", "iterative"}
        Accepted for compatibility; the episodic solve is always direct (SuperLU or LAPACK).
    tol, max_iter
        For ``method="iterative"`` (default cap 10,000,000 sweeps).

    Raises
    ------
    InvalidArgumentError
        The policy is improper; the message names a state from which it never terminates.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, tabular
    >>> sol = tabular.policy_evaluation(envs.sutton_barto_gridworld(), np.full((16, 4), 0.25))
    >>> sol.v[:4].round(9).tolist()
    [0.0, -14.0, -20.0, -22.0]
    """
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    check_choice(method, "method", ("direct", "iterative"))
    check_choice(linear_solver, "linear_solver", ("auto", "direct", "iterative"))
    with Timer() as timer:
        ssp = _Episodic(mdp)
        pi = as_policy(mdp, policy)
        bad = _improper_state(ssp, pi)
        if bad is not None:
            raise InvalidArgumentError(
                f"the policy is improper: from {ssp.state_name(bad)} it never reaches a terminal state, so its "
                "episodic value is undefined"
            )
        Q, r = ssp.chain(pi)
        N = ssp.nonterm
        # a stochastic policy's Q_pi and r_pi are sums of A products: their own rounding
        rel = 0.0 if pi.ndim == 1 else 2 * (ssp.A + 2) * _U
        mt = _steps_bound(ssp, Q, rel)
        history: list[float] = []
        n = 0
        if method == "direct":
            v_N = _solve(ssp, Q, r)
        else:
            v_N = np.zeros(N.size)
            cap = 10**7 if max_iter is None else max_iter
            scale = float(np.max(mt, initial=1.0)) if mt is not None else np.inf
            while n < cap:
                new = r + np.asarray(Q @ v_N).ravel()
                change = float(np.max(np.abs(new - v_N), initial=0.0))
                v_N = new
                n += 1
                history.append(change)
                if scale * change <= tol:
                    break
        # certificate: T_pi v - v computed with its rounding bound
        Qv = np.asarray(Q @ v_N).ravel()
        res = r + Qv - v_N
        r_abs = np.abs(r) if pi.ndim == 1 else np.einsum("sa,sa->s", pi[N], np.abs(np.asarray(mdp.R))[N])
        rabs = r_abs + np.asarray(abs(Q) @ np.abs(v_N)).ravel()
        e = (ssp.gam + rel) * rabs + ssp.tiny + 2 * _U * (np.abs(res) + np.abs(v_N))
        residual = float(np.max(np.abs(res), initial=0.0))
        lower = np.zeros(ssp.S)
        upper = np.zeros(ssp.S)
        if mt is None:
            lower[N], upper[N] = -np.inf, np.inf
        else:
            lo, hi = float(np.min(res - e, initial=0.0)), float(np.max(res + e, initial=0.0))
            lower[N] = v_N + min(lo, 0.0) * mt * (1 + 4 * _U) - 4 * _U * np.abs(v_N) - _TINY
            upper[N] = v_N + max(hi, 0.0) * mt * (1 + 4 * _U) + 4 * _U * np.abs(v_N) + _TINY
        v = _full(ssp, v_N)
        bound = _bound_of(v, lower, upper)
        qf, _ = ssp.q(v)
    return Solution(
        v=v, q=qf.reshape(ssp.S, ssp.A), policy=pi, converged=bound <= tol or method == "direct", n_iter=max(n, 1),
        residual=residual, bound=bound, lower=lower, upper=upper, history=np.asarray(history),
        method="policy_evaluation",
        params={"method": method, "linear_solver": linear_solver, "tol": tol, "episodic": True},
        elapsed=timer.elapsed, info={"expected_steps": None if mt is None else _full(ssp, mt)},
    )


def _improve(q: np.ndarray, e: np.ndarray, current: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Greedy policy that keeps the current action unless another is better by more than the
    rounding bound ``e`` of the two action values (Howard's tie rule, which prevents cycling
    between equally good policies), and everywhere in ``keep`` (the terminal states)."""
    S = q.shape[0]
    idx = np.arange(S)
    best = q.argmax(axis=1)
    slack = 2.0 * (e[idx, best] + e[idx, current])
    return np.where((q[idx, current] >= q[idx, best] - slack) | keep, current, best)


def _policy_iteration_from(ssp: _Episodic, pi: np.ndarray, max_iter: int, progress: bool,
                           callback: Callback | None) -> tuple[np.ndarray, np.ndarray, list[float], int, bool]:
    """Howard's iteration from a proper ``pi``: ``(policy, v, history, steps, stable)``."""
    history: list[float] = []
    k = 0
    v = np.zeros(ssp.S)
    stable = False
    for k in iterations(max_iter, progress, "policy iteration (episodic)"):
        Q, r = ssp.chain(pi)
        v = _full(ssp, _solve(ssp, Q, r))
        qf, e = ssp.q(v)
        q = qf.reshape(ssp.S, ssp.A)
        new = _improve(q, e.reshape(ssp.S, ssp.A), pi, ssp.term)
        changed = int(np.count_nonzero(new != pi))
        history.append(float(changed))
        if callback is not None and callback(k, v, float(np.max(np.abs(q.max(axis=1) - v)))):
            break
        if changed == 0:
            stable = True
            break
        bad = _improper_state(ssp, new)
        if bad is not None:
            if _steps_bound(ssp, Q) is None:
                raise SolverError(
                    "policy iteration: the evaluated policy's linear system is too ill-conditioned for float64 "
                    "(its expected number of steps to termination cannot be bounded)"
                )
            raise InvalidModelError(
                f"policy improvement produced an improper policy (from {ssp.state_name(bad)} it never terminates) "
                "that earns more than a proper one: some cycle that avoids the terminal states has reward >= 0, "
                "so the episodic assumption (every improper policy earns -inf) fails"
            )
        pi = new
    return pi, v, history, k, stable


def shortest_path_policy_iteration(
    mdp: FiniteMDP,
    *,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    policy0: np.ndarray | None = None,
    linear_solver: str = "auto",
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> Solution:
    r"""Howard's policy iteration for an episodic (stochastic shortest path) model.

    .. math::
        v_k = (I - Q_{\pi_k})^{-1} r_{\pi_k}, \qquad
        \pi_{k+1}(s) \in \arg\max_a \Big[R(s,a) + \sum_{s'} P(s'|s,a) v_k(s')\Big].

    :func:`policy_iteration` calls this for a model with ``gamma = 1`` and ``terminal`` states.
    It starts from a proper policy (``policy0``, checked, or :func:`proper_policy`) and only
    ever evaluates proper ones: under assumption (B) improving a proper policy gives a proper
    policy (Bertsekas & Tsitsiklis 1991, Prop. 3), and every improved policy is checked on the
    transition graph before its (then non-singular) system is solved; an improper one is an
    :class:`~theory_rl.errors.InvalidModelError` saying (B) fails. Values increase and the
    method stops at a stable policy, optimal among proper policies, after finitely many steps.

    ``v`` is the exact value of the final policy (one linear solve) and is certified by the
    bounds of the module docstring evaluated at ``v`` for that policy: ``lower <= v_pi <= v* <=
    upper``, rounding included; ``bound = max(v - lower, upper - v)``. ``converged`` requires a
    stable policy and ``bound <= tol``.

    Parameters
    ----------
    mdp : FiniteMDP
        Episodic model.
    tol : float
        Required certified accuracy of ``v`` (and optimality of ``policy``).
    max_iter : int
        Improvement steps allowed.
    policy0 : ndarray, shape (S,), optional
        A proper deterministic starting policy.
    linear_solver : {"auto", "direct", "iterative"}
        Accepted for compatibility; episodic systems are solved directly.
    callback : callable ``(k, v_k, residual) -> bool | None``, optional
    strict, progress : bool

    Returns
    -------
    Solution
        ``history`` holds the number of states whose action changed at each step;
        ``info["expected_steps"]`` a verified upper bound on the policy's expected number of
        steps to termination; ``info["reason"]`` why the certificate is infinite, if it is.

    Raises
    ------
    InvalidModelError
        No proper policy exists, or an improvement step reached an improper policy.
    InvalidArgumentError
        ``policy0`` is improper or not deterministic.

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> sol = tabular.policy_iteration(envs.cliff_walking())  # gamma = 1, dispatches here
    >>> float(sol.v[36]), sol.converged
    (-13.0, True)
    """
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    check_choice(linear_solver, "linear_solver", ("auto", "direct", "iterative"))
    with Timer() as timer:
        ssp = _Episodic(mdp)
        if policy0 is None:
            pi = _proper_policy(ssp)
        else:
            pi = as_policy(mdp, policy0, name="policy0")
            if pi.ndim != 1:
                raise InvalidArgumentError("policy0 must be deterministic (action indices of shape (S,))")
            _proper_policy(ssp)
            bad = _improper_state(ssp, pi)
            if bad is not None:
                raise InvalidArgumentError(f"policy0 is improper: from {ssp.state_name(bad)} it never reaches a terminal state")
        pi, v, history, k, stable = _policy_iteration_from(ssp, pi, max_iter, progress, callback)
        cert = _certify(ssp, v, pi)
        bound = _bound_of(v, cert.lower, cert.upper)
        converged = stable and bound <= tol
        reason = None
        if stable and not converged:
            reason = f"the policy is stable but its certified error {bound:.3g} exceeds tol" + (
                f": {cert.reason}" if cert.reason else "")
        finish_iterative(method="policy_iteration", converged=converged, strict=strict, n_iter=k, cap=max_iter,
                         tol=tol, reason=reason)
    return _certified_solution(
        cert, v, cert.q, pi, converged=converged, n_iter=k, history=history, method="policy_iteration",
        params={"tol": tol, "max_iter": max_iter, "linear_solver": linear_solver, "episodic": True},
        elapsed=timer.elapsed,
    )


def shortest_path_modified_policy_iteration(
    mdp: FiniteMDP,
    *,
    tol: float = 1e-6,
    n_eval: int = 20,
    max_iter: int | None = None,
    v0: np.ndarray | None = None,
    callback: Callback | None = None,
    strict: bool = False,
    progress: bool = False,
) -> Solution:
    r"""Modified policy iteration for an episodic (stochastic shortest path) model.

    .. math::
        \mu_n(s) \in \arg\max_a q_{v_n}(s, a), \qquad v_{n+1} = (T_{\mu_n})^{m}\, T v_n ,

    ``m = n_eval``. :func:`modified_policy_iteration` calls this for a model with ``gamma = 1``
    and ``terminal`` states. The default start ``v0 = v_{pi_0}``, the value of a proper policy
    (:func:`proper_policy`, one linear solve), satisfies ``v0 <= v*`` and ``T v0 >= v0``; by
    monotonicity of ``T`` and ``T_mu`` every iterate then satisfies ``T v_n >= v_n`` and
    ``v_n <= v*``, and ``v_n >= T^n v0 -> v*`` under assumptions (A)-(B), so the iterates increase
    to ``v*`` whatever the greedy policies (Bertsekas & Tsitsiklis, *Neuro-Dynamic Programming*,
    1996, §2.2.3, for the cost form). With another ``v0`` convergence is not guaranteed.

    Stopping is the certificate of :func:`shortest_path_value_iteration`, checked after every
    full backup: ``max(upper - lower) <= tol``, rounding included.

    Parameters
    ----------
    mdp : FiniteMDP
        Episodic model.
    tol : float
    n_eval : int
        Sweeps of ``T_mu`` per full backup (``>= 0``; 0 is value iteration).
    max_iter : int, optional
        Full backups allowed (default 100,000).
    v0 : ndarray, shape (S,), optional
        Must be 0 on terminal states.
    callback, strict, progress
        As in :func:`shortest_path_value_iteration`.

    Returns
    -------
    Solution
        ``n_iter`` counts full backups; ``info["sweeps"]`` the policy sweeps.

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> sol = tabular.modified_policy_iteration(envs.sutton_barto_gridworld())
    >>> sol.v[:4].round(12).tolist(), sol.converged
    ([0.0, -1.0, -2.0, -3.0], True)
    """
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    if isinstance(n_eval, bool) or not isinstance(n_eval, (int, np.integer)) or n_eval < 0:
        raise InvalidArgumentError(f"n_eval must be an integer >= 0, got {n_eval!r}")
    with Timer() as timer:
        ssp = _Episodic(mdp)
        pi0 = _proper_policy(ssp)
        if v0 is None:
            Q, r = ssp.chain(pi0)
            v = _full(ssp, _solve(ssp, Q, r))
        else:
            v = _check_v0(ssp, v0)
        cap = 100_000 if max_iter is None else max_iter
        history: list[float] = []
        converged = False
        sweeps = 0
        n = 0
        cached: tuple[np.ndarray, np.ndarray] | None = None
        cert = None
        steps_est: float | None = None
        for n in iterations(cap, progress, "modified policy iteration (episodic)"):
            q, greedy, tv, residual = ssp.greedy_backup(v)
            history.append(residual)
            # as in value iteration: no certificate (a linear solve) while it must fail
            if steps_est is None or residual * (steps_est - 1.0) <= tol or n & (n - 1) == 0 or n == cap:
                cert, cached, steps_est = _certify_reusing_steps(ssp, v, greedy, cached, steps_est)
                if cert.width <= tol:
                    converged = True
                    break
            if callback is not None and callback(n, v, residual):
                break
            rows = np.arange(ssp.S) * ssp.A + greedy
            P_mu, r_mu = ssp.P2[rows], ssp.r_eff[rows]
            u = tv.copy()
            for _ in range(int(n_eval)):
                u = r_mu + np.asarray(P_mu @ u).ravel()
                u[ssp.term] = 0.0
                sweeps += 1
            v = u
        cert, value, q = _finish_greedy(ssp, cert, v, method="modified_policy_iteration", converged=converged,
                                        strict=strict, n_iter=n, cap=cap, tol=tol)
    return _certified_solution(
        cert, value, q, cert.greedy, converged=converged, n_iter=n, history=history,
        method="modified_policy_iteration",
        params={"tol": tol, "n_eval": int(n_eval), "max_iter": max_iter, "episodic": True}, elapsed=timer.elapsed,
        info={"sweeps": sweeps},
    )


def shortest_path_linear_programming(
    mdp: FiniteMDP, *, formulation: str = "primal", highs_method: str = "highs", polish: bool = True
) -> Solution:
    r"""The linear program of an episodic (stochastic shortest path) model, solved with HiGHS.

    Primal, over the values of the non-terminal states ``N`` (``v = 0`` on ``T``):

    .. math::
        \min_v \sum_{s \in N} v(s) \quad \text{s.t.} \quad
        v(s) \ge R(s,a) + \sum_{s' \in N} P(s'|s,a)\, v(s') \quad \forall s \in N, a.

    (In Bertsekas' cost form, ``J = -v``: ``max sum J`` s.t. ``J <= g + P J``.) Its feasible set
    is ``{v : v >= T v}``, whose members bound every proper policy's value from above, and ``v*``
    is feasible under (A)-(B), so the optimum is ``v*`` (Bertsekas, vol. II, §3.2). Dual
    (expected visit counts ``x(s, a)`` from one start in each state of ``N``):

    .. math::
        \max_{x \ge 0} \sum_{s,a} x(s,a) R(s,a) \quad \text{s.t.} \quad
        \sum_a x(s',a) - \sum_{s \in N, a} P(s'|s,a)\, x(s,a) = 1 \quad \forall s' \in N.

    :func:`linear_programming` calls this for a model with ``gamma = 1`` and ``terminal`` states.
    An infeasible primal means a policy that never terminates earns positive reward forever
    (assumption (B) fails): :class:`~theory_rl.errors.SolverError` says so.

    Parameters
    ----------
    mdp : FiniteMDP
        Episodic model.
    formulation : {"primal", "dual"}
    highs_method : {"highs", "highs-ds", "highs-ipm"}
    polish : bool
        The basis policy (the action of each state with the largest visit count) is evaluated
        exactly and improved by policy iteration until stable (normally 0 steps), so ``v`` is the
        exact value of a stable proper policy; HiGHS's values stay in ``info["lp_v"]``.

    Returns
    -------
    Solution
        ``v``, ``policy``, certified ``lower``/``upper`` and ``bound`` (module docstring),
        ``occupancy[s, a]`` the expected number of visits to ``(s, a)`` from ``mdp.d0`` under
        ``policy`` (polished) or HiGHS's visit counts (unpolished), ``info["objective"]``.

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> sol = tabular.linear_programming(envs.sutton_barto_gridworld())
    >>> sol.v[:4].round(12).tolist()
    [0.0, -1.0, -2.0, -3.0]
    """
    check_choice(formulation, "formulation", ("primal", "dual"))
    check_choice(highs_method, "highs_method", ("highs", "highs-ds", "highs-ipm"))
    with Timer() as timer:
        ssp = _Episodic(mdp)
        _proper_policy(ssp)
        S, A, N = ssp.S, ssp.A, ssp.nonterm
        pos = np.full(S, -1, dtype=np.int64)
        pos[N] = np.arange(N.size)
        rows = np.flatnonzero(ssp.live)
        sub = sp.csr_matrix(ssp.P2[rows]).tocoo()
        keep = ~ssp.term[sub.col]
        Qr = sp.csr_matrix((sub.data[keep], (sub.row[keep], pos[sub.col[keep]])), shape=(rows.size, N.size))
        E = sp.csr_matrix((np.ones(rows.size), (np.arange(rows.size), pos[ssp.row_state[rows]])), shape=(rows.size, N.size))
        r = ssp.r_eff[rows]
        G = (Qr - E).tocsr()  # primal: G v <= -r
        alpha = np.ones(N.size)
        res = None
        if N.size == 0:  # every state is terminal
            lp_v, visits, objective = np.zeros(0), np.zeros(0), 0.0
        elif formulation == "primal":
            res = linprog(alpha, A_ub=G, b_ub=-r, bounds=(None, None), method=highs_method, options=HIGHS_OPTIONS)
            _check_lp(res)
            lp_v, visits, objective = res.x, -res.ineqlin.marginals, float(res.fun)
        else:
            res = linprog(-r, A_eq=(-G.T).tocsr(), b_eq=alpha, bounds=(0, None), method=highs_method,
                          options=HIGHS_OPTIONS)
            _check_lp(res)
            visits, lp_v, objective = res.x, -res.eqlin.marginals, float(-res.fun)
        x = np.zeros(S * A)
        x[rows] = np.maximum(visits, 0.0)
        x = x.reshape(S, A)
        lp_value = _full(ssp, np.asarray(lp_v, dtype=np.float64))
        policy = np.where(ssp.avail.reshape(S, A), x, -1.0).argmax(axis=1).astype(np.int64)
        n_polish = 0
        if polish:
            if _improper_state(ssp, policy) is not None:
                policy = _proper_policy(ssp)
            policy, v, hist, n_polish, _ = _policy_iteration_from(ssp, policy, 10_000, False, None)
            n_polish = len(hist) - 1
            Q, _ = ssp.chain(policy)
            d0 = np.asarray(mdp.d0)[N]
            visits_pi = _solve(ssp, Q, d0, transpose=True)
            occupancy = np.zeros((S, A))
            occupancy[N, policy[N]] = visits_pi
        else:
            v = lp_value
            occupancy = x
        cert = _certify(ssp, v, policy)
        bound = _bound_of(v, cert.lower, cert.upper)
    return Solution(
        v=v, q=cert.q, policy=policy, converged=bool(np.isfinite(bound)), n_iter=int(getattr(res, "nit", 0) or 0),
        residual=cert.residual, bound=bound, lower=cert.lower, upper=cert.upper, history=np.zeros(0),
        method="linear_programming",
        params={"formulation": formulation, "highs_method": highs_method, "polish": polish, "episodic": True},
        elapsed=timer.elapsed, occupancy=occupancy,
        info={"objective": objective, "lp_v": lp_value, "lp_occupancy": x, "polish_steps": n_polish,
              "policy_gap_bound": cert.width, "reason": cert.reason},
    )


def _check_lp(res: Any) -> None:
    status = getattr(res, "status", None)
    if status == 0:
        return
    hint = ""
    if status == 2:
        hint = ("; the primal {v >= T v} is empty: some policy that never terminates earns positive reward "
                "forever, so the episodic assumption (every improper policy earns -inf) fails")
    raise SolverError(f"HiGHS did not solve the episodic linear program: {getattr(res, 'message', '')}{hint}",
                      status=status)
