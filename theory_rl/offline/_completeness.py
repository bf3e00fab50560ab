"""Bellman completeness of a linear class, exactly: the completeness gap, the realizability error
of Q*, and exact linear fitted Q-iteration."""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
import warnings
from typing import Any

import numpy as np

from .._result import History, Result
from .._validation import (
    as_float_array,
    check_allocation,
    check_bool,
    check_finite,
    check_int,
    check_max_iter,
    check_tol,
    rng_from_seed,
)
from ..errors import ConvergenceWarning, InvalidModelError, SolverError
from ..models import FiniteMDP
from ..tabular import policy_value, value_iteration
from ._dataset import _policy_matrix


def _dense_P(mdp: FiniteMDP) -> np.ndarray:
    """``P`` as a dense ``(S*A, S)`` array (after a size check)."""
    S, A = mdp.n_states, mdp.n_actions
    check_allocation(8 * S * A * S, "the dense (S*A, S) transition matrix")
    P = mdp.transition_matrix
    return P.toarray() if hasattr(P, "toarray") else np.asarray(P).reshape(S * A, S)


def _features(mdp: FiniteMDP, Phi: Any) -> np.ndarray:
    F = as_float_array(Phi, "Phi", ndim=2)
    n = mdp.n_states * mdp.n_actions
    if F.shape[0] != n:
        raise InvalidModelError(f"Phi has {F.shape[0]} rows, expected S*A = {n} (row s*A + a holds phi(s, a))")
    check_finite(F, "Phi")
    return F


def _weights(mdp: FiniteMDP, weights: Any) -> np.ndarray:
    n = mdp.n_states * mdp.n_actions
    if weights is None:
        return np.full(n, 1.0 / n)
    w = as_float_array(weights, "weights").reshape(-1)
    if w.shape != (n,):
        raise InvalidModelError(f"weights has {w.size} entries, expected S*A = {n}")
    check_finite(w, "weights")
    if (w <= 0).any():
        i = int(np.argmax(w <= 0))
        raise InvalidModelError(f"weights[{i}] = {w[i]} must be positive (the weighted norm needs full support)")
    return w / w.sum()


class _Projection:
    """The mu-weighted orthogonal projection onto span(Phi), in whitened coordinates.

    With ``D = diag(mu)``, ``U`` an orthonormal basis of ``range(D^{1/2} Phi)``: the projection
    residual of ``y`` in the mu-norm is ``|| (I - U U^T) D^{1/2} y ||_2``.
    """

    def __init__(self, Phi: np.ndarray, mu: np.ndarray) -> None:
        self.sqrt_mu = np.sqrt(mu)
        X = self.sqrt_mu[:, None] * Phi
        U, s, Vt = np.linalg.svd(X, full_matrices=False)
        rank = int(np.sum(s > s[0] * max(X.shape) * np.finfo(float).eps)) if s.size and s[0] > 0 else 0
        self.U = U[:, :rank]
        self.s = s[:rank]
        self.Vt = Vt[:rank]
        self.rank = rank

    def residual(self, Y: np.ndarray) -> np.ndarray:
        """``(I - U U^T) D^{1/2} Y`` (``Y`` of shape (n,) or (n, k))."""
        Z = self.sqrt_mu[:, None] * Y if Y.ndim == 2 else self.sqrt_mu * Y
        return Z - self.U @ (self.U.T @ Z)

    def fit(self, y: np.ndarray) -> np.ndarray:
        """Weights of the mu-weighted least-squares fit ``argmin_w ||Phi w - y||_mu`` (min norm)."""
        return self.Vt.T @ ((self.U.T @ (self.sqrt_mu * y)) / self.s)

    def unit_ball(self) -> np.ndarray:
        """``B`` of shape (d, rank) with ``{Phi B x : ||x||_2 <= 1}`` the unit mu-ball of the class."""
        return self.Vt.T / self.s


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class CompletenessResult(Result):
    r"""The Bellman-completeness gap of a linear class (see :func:`completeness_gap`).

    Attributes
    ----------
    gap : float
        The gap (exact for ``T^pi``; for ``T*`` the certified lower bound ``lower``).
    lower, upper : float
        Bounds on the gap: equal for ``T^pi``; for ``T*`` ``lower`` is attained by an explicit
        member of the class and ``upper`` is the largest ``T^pi`` gap over deterministic
        policies (NaN when ``A**S`` exceeds ``max_policies``).
    reward_residual : float
        :math:`\|(I - \Pi_\Phi) r\|_\mu`.
    transition_gap : float
        :math:`\gamma \sup_{\|\Phi w\|_\mu \le 1} \|(I - \Pi_\Phi) P^\pi \Phi w\|_\mu` (``T^pi``; for
        ``T*`` the same over the policies greedy for the maximisers found).
    operator : str
        ``"T_pi"`` or ``"T_star"``.
    witness : ndarray, shape (d,)
        Weights ``w`` of a unit-norm member ``f = Phi w`` attaining ``lower`` (with the reward
        scaled by ``witness_scale``).
    witness_scale : float

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, offline
    >>> res = offline.completeness_gap(envs.chain(3, gamma=0.5), np.ones((6, 1)), policy=[0, 0, 0])
    >>> type(res).__name__, res.operator, bool(res.lower <= res.gap <= res.upper)
    ('CompletenessResult', 'T_pi', True)
    """

    gap: float
    lower: float
    upper: float
    reward_residual: float
    transition_gap: float
    operator: str
    witness: np.ndarray
    witness_scale: float

    _repr_fields = ("gap", "lower", "upper", "reward_residual", "transition_gap", "operator")


def _policy_gap(proj: _Projection, P: np.ndarray, pi: np.ndarray, Phi: np.ndarray, r: np.ndarray,
                gamma: float, S: int, A: int) -> tuple[float, float, np.ndarray]:
    """(gap, transition gap, top right singular vector) of the homogenised T^pi map."""
    PPhi = P @ np.einsum("sa,sad->sd", pi, Phi.reshape(S, A, -1))  # (S*A, d): (P^pi Phi)
    B = proj.unit_ball()
    M = gamma * proj.residual(PPhi @ B)  # (n, rank)
    c = proj.residual(r)
    K = np.column_stack([c, M])
    s_full = np.linalg.svd(K, compute_uv=True, full_matrices=False)
    trans = float(np.linalg.norm(M, 2)) if M.size else 0.0
    return float(s_full[1][0]), trans, s_full[2][0]


def completeness_gap(
    mdp: FiniteMDP,
    Phi: Any,
    *,
    policy: Any = None,
    weights: Any = None,
    max_policies: int = 4096,
    n_samples: int = 256,
    seed: int | np.random.Generator | None = 0,
) -> CompletenessResult:
    r"""Exact Bellman-completeness gap of the linear class :math:`F = \{\Phi w\}`.

    For the policy operator :math:`T^\pi f = r + \gamma P^\pi f` (``policy`` given), with the
    :math:`\mu`-weighted norm :math:`\|x\|_\mu^2 = \sum_{s,a} \mu(s, a) x(s, a)^2`, the
    :math:`\mu`-orthogonal projection :math:`\Pi_\Phi` onto :math:`\operatorname{span}\Phi` and
    :math:`(P^\pi \Phi)(s, a) = \sum_{s'} P(s' \mid s, a) \sum_{a'} \pi(a' \mid s') \Phi(s', a')`:

    .. math::
        \operatorname{gap}(T^\pi) = \sup_{t^2 + \|\Phi w\|_\mu^2 \le 1}
            \big\| (I - \Pi_\Phi)\,(t\, r + \gamma P^\pi \Phi w) \big\|_\mu
        = \sigma_{\max}\big[ (I - \Pi_\Phi) r ,\ \gamma (I - \Pi_\Phi) P^\pi \Phi B \big],

    the largest projection residual :math:`\inf_{g \in F} \|g - T^\pi f\|_\mu` over the unit
    ball of the class, with the reward scaled jointly (:math:`t`) so that the quantity is a norm
    of the linear map :math:`(t, w) \mapsto (I - \Pi_\Phi)(t r + \gamma P^\pi \Phi w)`; ``B``
    maps the Euclidean unit ball onto the unit :math:`\mu`-ball of the class. It is the largest
    singular value of an ``(S*A) x (1 + rank Phi)`` matrix, computed exactly by an SVD.

    **Guarantee.** ``gap = 0`` if and only if :math:`r \in \operatorname{span}\Phi` and
    :math:`P^\pi \Phi \subseteq \operatorname{span}\Phi` (the class is closed under
    :math:`T^\pi`: Bellman complete).

    For the optimality operator :math:`T^* f = r + \gamma P \max_{a'} f(\cdot, a')` (``policy``
    omitted) the map is piecewise linear: on the cone of ``w`` whose greedy policy is
    :math:`\pi`, :math:`T^* \Phi w = T^\pi \Phi w`. ``upper`` is the largest :math:`T^\pi` gap
    over deterministic policies (enumerated when :math:`A^S \le` ``max_policies``), ``lower`` the
    residual of explicit class members (each policy's maximiser and ``n_samples`` seeded random
    directions, evaluated exactly with :math:`T^*`). ``gap`` reports ``lower``.

    Bellman completeness (:math:`T f \in F` for all :math:`f \in F`) is what dynamic-programming
    offline methods (FQI) need, and it is much stronger than realizability :math:`Q^* \in F`
    and not monotone in :math:`F` (Zhou, Zhu, Zhou, Cui, Gupta & Du 2024, "Free from Bellman
    Completeness", arXiv 2310.19308).

    Parameters
    ----------
    mdp : FiniteMDP
    Phi : array_like, shape (S*A, d)
        Features; row ``s*A + a`` is :math:`\phi(s, a)`.
    policy : ndarray, shape (S,) or (S, A), optional
        Evaluate :math:`T^\pi`; omitted: :math:`T^*`.
    weights : array_like, shape (S*A,) or (S, A), optional
        :math:`\mu > 0` (normalised); uniform by default.
    max_policies, n_samples : int
        ``T*`` only (see above).
    seed : int or Generator
        ``T*`` only: the random directions.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import FiniteMDP
    >>> from theory_rl.offline import completeness_gap
    >>> mdp = FiniteMDP(np.array([[[0.0, 1.0]], [[0.0, 1.0]]]), np.zeros((2, 1)), 0.9)
    >>> round(completeness_gap(mdp, [[1.0], [2.0]], policy=[0, 0]).gap, 6)
    0.36
    >>> completeness_gap(mdp, np.eye(2), policy=[0, 0]).gap
    0.0
    """
    t0 = time.perf_counter()
    F = _features(mdp, Phi)
    mu = _weights(mdp, weights)
    S, A = mdp.n_states, mdp.n_actions
    P = _dense_P(mdp)
    r = np.asarray(mdp.R, dtype=np.float64).reshape(-1)
    if not np.isfinite(r).all():
        raise InvalidModelError("the completeness gap needs finite rewards (no masked actions)")
    proj = _Projection(F, mu)
    params: dict[str, Any] = {"weights": "uniform" if weights is None else "given"}
    if policy is not None:
        pi = _policy_matrix(mdp, policy)
        gap, trans, v = _policy_gap(proj, P, pi, F, r, mdp.gamma, S, A)
        w = proj.unit_ball() @ v[1:]
        return CompletenessResult(
            gap=gap, lower=gap, upper=gap, reward_residual=float(np.linalg.norm(proj.residual(r))),
            transition_gap=trans, operator="T_pi", witness=w, witness_scale=float(v[0]),
            method="completeness_gap", params=params, elapsed=time.perf_counter() - t0,
        )
    max_policies = check_int(max_policies, "max_policies")
    n_samples = check_int(n_samples, "n_samples", minimum=0)
    rng = rng_from_seed(seed)
    B = proj.unit_ball()
    candidates: list[np.ndarray] = []
    upper = math.nan
    trans_max = 0.0
    if A**S <= max_policies:
        upper = 0.0
        for actions in itertools.product(range(A), repeat=S):
            pi = np.zeros((S, A))
            pi[np.arange(S), actions] = 1.0
            g, tr, v = _policy_gap(proj, P, pi, F, r, mdp.gamma, S, A)
            upper = max(upper, g)
            trans_max = max(trans_max, tr)
            candidates.extend([v, -v])
    if proj.rank:
        Z = rng.standard_normal((n_samples, 1 + proj.rank))
        candidates.extend(Z / np.linalg.norm(Z, axis=1, keepdims=True))
    best, best_x = 0.0, np.zeros(1 + proj.rank)
    best_x[0] = 1.0
    for x in candidates or [best_x]:
        q = F @ (B @ x[1:])
        target = x[0] * r + mdp.gamma * P @ q.reshape(S, A).max(axis=1)
        val = float(np.linalg.norm(proj.residual(target)))
        if val > best:
            best, best_x = val, x
    return CompletenessResult(
        gap=best, lower=best, upper=upper, reward_residual=float(np.linalg.norm(proj.residual(r))),
        transition_gap=trans_max, operator="T_star", witness=B @ best_x[1:], witness_scale=float(best_x[0]),
        method="completeness_gap", params={**params, "max_policies": max_policies, "n_samples": n_samples},
        elapsed=time.perf_counter() - t0,
    )


def realizability_error(mdp: FiniteMDP, Phi: Any, *, weights: Any = None, q: Any = None) -> float:
    r"""Distance from :math:`Q^*` to the linear class, :math:`\min_w \|\Phi w - Q^*\|_\mu = \|(I - \Pi_\Phi) Q^*\|_\mu`.

    Zero means :math:`Q^* \in F` (realizability), the weak assumption under which return-conditioned
    supervised learning works and dynamic programming may not (Zhou et al. 2024, arXiv 2310.19308).
    :math:`Q^*` is computed by :func:`theory_rl.tabular.value_iteration` (``tol=1e-12``) unless
    ``q`` (shape ``(S, A)``) is given.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import FiniteMDP
    >>> from theory_rl.offline import realizability_error
    >>> mdp = FiniteMDP(np.array([[[0.0, 1.0]], [[0.0, 1.0]]]), np.zeros((2, 1)), 0.9)
    >>> realizability_error(mdp, [[1.0], [2.0]])
    0.0
    """
    F = _features(mdp, Phi)
    mu = _weights(mdp, weights)
    if q is None:
        q = np.asarray(value_iteration(mdp, tol=1e-12).q, dtype=np.float64)
    qa = as_float_array(q, "q").reshape(-1)
    if qa.shape != (mdp.n_states * mdp.n_actions,):
        raise InvalidModelError(f"q has {qa.size} entries, expected S*A = {mdp.n_states * mdp.n_actions}")
    return float(np.linalg.norm(_Projection(F, mu).residual(qa)))


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class FQIResult(Result):
    """Linear fitted Q-iteration (see :func:`fitted_q_iteration_linear`).

    Attributes
    ----------
    w : ndarray, shape (d,)
        Final weights.
    q : ndarray, shape (S, A)
        ``Phi w``.
    converged : bool
    diverged : bool
        ``||w||`` exceeded ``1e12`` times its first value (or became non-finite).
    n_iter : int
    residual : float
        Last step ``||Phi (w_{k+1} - w_k)||_inf``.
    history : History
        Per iteration: ``w_norm`` (:math:`\\|w_k\\|_2`) and ``error`` (:math:`\\|\\Phi w_k - Q^{target}\\|_\\infty`,
        the exact :math:`Q^\\pi` or :math:`Q^*`).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, offline
    >>> res = offline.fitted_q_iteration_linear(envs.chain(3, gamma=0.5), np.eye(6))
    >>> type(res).__name__, res.converged, res.q.shape
    ('FQIResult', True, (3, 2))
    """

    w: np.ndarray
    q: np.ndarray
    converged: bool
    diverged: bool
    n_iter: int
    residual: float
    history: History

    _repr_fields = ("converged", "diverged", "n_iter", "residual")


def fitted_q_iteration_linear(
    mdp: FiniteMDP,
    Phi: Any,
    *,
    policy: Any = None,
    weights: Any = None,
    w0: Any = None,
    tol: float = 1e-10,
    max_iter: int | None = 1000,
    strict: bool = False,
) -> FQIResult:
    r"""Exact projected (linear) fitted Q-iteration with a state-action weighting.

    .. math::
        w_{k+1} = \arg\min_w \| \Phi w - T \Phi w_k \|_\mu
               = (\Phi^\top D \Phi)^{+} \Phi^\top D\, T(\Phi w_k), \qquad D = \operatorname{diag}(\mu),

    with :math:`T = T^\pi` (``policy`` given) or :math:`T^*`: the infinite-data limit of FQI with
    data distributed as :math:`\mu`. Stops when :math:`\|\Phi(w_{k+1} - w_k)\|_\infty <` ``tol``.

    **Guarantee / failure.** When :math:`F` is complete for :math:`T^\pi` the iteration is
    :math:`\Pi_\Phi T^\pi` restricted to ``F`` = :math:`T^\pi` and converges to :math:`Q^\pi` at
    rate :math:`\gamma` in the sup norm. Without completeness, :math:`\Pi_\Phi T` need not be a
    contraction and FQI can diverge even when :math:`Q^* \in F` (Tsitsiklis & Van Roy 1997; the
    motivation of Zhou et al. 2024, arXiv 2310.19308). A diverging run returns
    ``diverged=True, converged=False`` with a :class:`~theory_rl.errors.ConvergenceWarning` (``strict=True``: raises
    :class:`~theory_rl.errors.SolverError`).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import FiniteMDP
    >>> from theory_rl.offline import fitted_q_iteration_linear
    >>> mdp = FiniteMDP(np.array([[[0.0, 1.0]], [[0.0, 1.0]]]), np.ones((2, 1)), 0.9)
    >>> res = fitted_q_iteration_linear(mdp, np.eye(2))
    >>> res.converged, np.round(res.q.ravel(), 6).tolist()
    (True, [10.0, 10.0])
    """
    t0 = time.perf_counter()
    F = _features(mdp, Phi)
    mu = _weights(mdp, weights)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter) or 1000
    strict = check_bool(strict, "strict")
    S, A = mdp.n_states, mdp.n_actions
    P = _dense_P(mdp)
    r = np.asarray(mdp.R, dtype=np.float64).reshape(-1)
    proj = _Projection(F, mu)
    pi = None if policy is None else _policy_matrix(mdp, policy)
    if pi is None:
        target = np.asarray(value_iteration(mdp, tol=1e-12).q).reshape(-1)
    else:
        v = policy_value(mdp, pi)
        target = r + mdp.gamma * P @ v
    if w0 is None:
        w = np.zeros(F.shape[1])
    else:
        w = as_float_array(w0, "w0", ndim=1)
        if w.shape != (F.shape[1],):
            raise InvalidModelError(f"w0 has shape {w.shape}, expected ({F.shape[1]},)")
    norms, errors = [float(np.linalg.norm(w))], [float(np.max(np.abs(F @ w - target)))]
    scale = max(norms[0], 1.0)
    converged = diverged = False
    residual = math.inf
    k = 0
    for k in range(1, max_iter + 1):  # noqa: B007 - k is the iteration count reported
        q = (F @ w).reshape(S, A)
        nxt = q.max(axis=1) if pi is None else np.einsum("sa,sa->s", pi, q)
        w_new = proj.fit(r + mdp.gamma * P @ nxt)
        residual = float(np.max(np.abs(F @ (w_new - w))))
        w = w_new
        norms.append(float(np.linalg.norm(w)))
        errors.append(float(np.max(np.abs(F @ w - target))))
        if not np.isfinite(norms[-1]) or norms[-1] > 1e12 * scale:
            diverged = True
            break
        if residual < tol:
            converged = True
            break
    if not converged:
        msg = f"linear FQI {'diverged' if diverged else 'did not converge'} after {k} iterations (last step {residual:.3g})"
        if strict:
            raise SolverError(msg, status="diverged" if diverged else "max_iter")
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    return FQIResult(
        w=w, q=(F @ w).reshape(S, A), converged=converged, diverged=diverged, n_iter=k, residual=residual,
        history=History({"w_norm": np.array(norms), "error": np.array(errors)}),
        method="fitted_q_iteration_linear",
        params={"tol": tol, "max_iter": max_iter, "operator": "T_star" if pi is None else "T_pi"},
        elapsed=time.perf_counter() - t0,
    )
