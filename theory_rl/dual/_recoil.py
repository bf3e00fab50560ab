r"""ReCOIL: offline imitation from expert data plus arbitrary suboptimal data, by mixture matching.

Sikchi, Zheng, Zhang, Niekum, ICLR 2024, arXiv 2302.08560, §6 (ReCOIL). With ``beta in (0, 1)``,
expert occupancy ``d^E`` and suboptimal data distribution ``d^S``, ReCOIL matches the mixtures

.. math::
    \min_\pi D_f\big(\beta d^\pi + (1-\beta) d^S \,\big\|\, \beta d^E + (1-\beta) d^S\big),

which needs neither a discriminator nor ``supp d^E ⊆ supp d^S``. Its dual-Q form (zero reward,
``y = gamma P^pi Q - Q``) is

.. math::
    \max_\pi \min_Q \; \beta(1-\gamma)\,\mathbb E_{d_0,\pi}[Q] + \mathbb E_{d^{E,S}_{mix}}[f^*(y)]
    - (1-\beta)\,\mathbb E_{d^S}[y].

Derived here (and tested): for fixed ``pi`` the inner minimum is
``-D_f(beta d_pi + (1-beta) d^S || beta d^E + (1-beta) d^S)``, because ``y`` ranges over all
functions and ``E_{d_pi}[y] = -(1-gamma) E_{d0,pi}[Q]``. So the conjugate taken under the
expert mixture corresponds to the divergence with the *policy* mixture first; the paper writes
the expert mixture first (for the other order use the reversed generator ``x f(1/x)``).

Caveats (OpenReview): the derivation uses ``d0 = d^E`` in one step; the "suboptimal" datasets
of the experiments still contain about 200 expert trajectories.

Facts tested on tabular MDPs: the objective is 0 iff ``d_pi = d^E``; by joint convexity it is
at most ``beta D_f(d^E || d_pi)`` (in either order); with a deterministic expert the minimiser's
greedy policy equals the expert on ``supp d^E``.

The dataset version (:func:`recoil`) is the practical chi-square algorithm with implicit
in-sample maximisation, in semi-gradient form (the target ``V(s')`` is held fixed). Write
``m = beta d^E + (1-beta) d^S`` (the mixture, joint over pairs), ``V̄(s,a)`` the
mixture-weighted mean of ``V(s')`` and ``y = gamma V̄ - Q``. The Q-step objective, as a function
of ``Q(s,a)`` on one pair, is

.. math::
    \beta(1-\gamma)\, d_0(s)\pi(a|s)\, Q(s,a) + m(s,a) f^*(y) - (1-\beta)\, d^S(s,a)\, y ,

so the initial-state term **does** act on ``Q``: it has the gradient
``beta (1-gamma) d0(s) pi(a|s)`` at every initial-state pair (only the gradient through the
target is stopped). With ``f*(y) = y + y^2/4`` the first-order condition gives

.. math::
    Q(s,a) = r_{\mathrm{ReCOIL}}(s,a) + \gamma\, \bar V(s,a)
    - \frac{2\beta(1-\gamma)\, d_0(s)\, \pi(a|s)}{m(s,a)}, \qquad
    r_{\mathrm{ReCOIL}} = 2\Big(1 - \frac{(1-\beta)\, d^S(s,a)}{m(s,a)}\Big) = \frac{2\beta d^E(s,a)}{m(s,a)}

(``r_ReCOIL`` is 2 on expert-only pairs, 0 on suboptimal-only pairs). The last term lowers the
implicit reward at initial-state pairs by an action-dependent amount (large where ``pi`` puts
mass on a pair the data rarely shows); for a fixed ``pi`` it can reorder the actions there.
ReCOIL is a max-min, so ``pi(.|s)`` maximises the Q-step's minimum; that minimum is
``sum_a [kappa pi_a gamma V̄_a - (kappa pi_a - beta d^E_a)^2 / m_a]`` with
``kappa = beta (1-gamma) d0(s)``, a concave quadratic in ``pi``, and its maximiser gives
(derived here, tested)

.. math::
    Q(s,a) = \min\big(\nu(s),\, Q_0(s,a)\big), \qquad
    \sum_a m(s,a)\,\big(Q_0(s,a) - \nu(s)\big)_+ = 2\beta(1-\gamma)\, d_0(s),

with ``Q_0 = r_ReCOIL + gamma V̄`` the term-free Q-step: the term caps the top of ``Q`` at every
initial state at a water level ``nu(s)`` (the actions ``pi`` uses tie at ``nu``). That lowers
``V`` at initial states, so it changes the values, and the greedy actions, of every state whose
actions lead back to an initial state (the start state itself included). :func:`recoil` takes
``d0`` for this term; the cap is monotone and commutes with constants, so the iteration stays a
``gamma``-contraction with the same certificate. V is the implicit maximiser of Q under the
mixture's actions.

Deviation (ours): with ``d0=None`` (the default, kept for compatibility) :func:`recoil` omits
the initial-state term, i.e. solves ``Q = Q_0``; this is **not** a change of scale of V: it
removes the cap above and can change the answer at and upstream of initial states (tested).
:func:`recoil_torch` likewise has no initial-state term in its Q-loss (a stated deviation).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from .._iterative import progress_range
from .._result import CertifiedSolution, History, LegacyKeysMixin
from .._validation import as_float_array, check_bool, check_finite, check_int, check_real, check_tol
from ..errors import InvalidModelError, SolverError
from ..models import FiniteMDP
from ..tabular import as_policy
from ._dataset import TransitionDataset
from ._divergences import FDivergence, f_divergence, require_cvxpy
from ._fdvl import (
    FDVLResult,
    NeuralDVLResult,
    _as_batch,
    _check_common,
    _nets_and_optimisers,
    in_sample_fixed_point,
    seed_param,
    torch_implicit_loss,
)
from ._implicit import check_loss
from ._occupancy import flow_matrix, occupancy, policy_from_occupancy

__all__ = ["RecoilDualQSolution", "RecoilResult", "RecoilSolution", "mixture_divergence", "recoil", "recoil_dual_q",
           "recoil_exact", "recoil_torch"]


@dataclass(frozen=True, repr=False, eq=False)
class RecoilResult(FDVLResult):
    """What :func:`recoil` returns: the fields of :class:`~theory_rl.dual.FDVLResult` (the same
    in-sample fixed point, with ReCOIL's implicit reward on the mixture of the two datasets)."""


@dataclass(frozen=True, repr=False, eq=False)
class RecoilSolution(LegacyKeysMixin, CertifiedSolution):
    """What :func:`recoil_exact` returns (a dict before; ``result["objective"]`` still reads the
    attribute, with a :class:`DeprecationWarning`).

    Attributes
    ----------
    objective : float
        The minimum ``D_f(beta d + (1-beta) d^S || beta d^E + (1-beta) d^S)``.
    occupancy : ndarray, shape (S, A)
        The minimising normalised occupancy ``d``.
    policy : ndarray, shape (S, A)
        ``d(s, a) / sum_a d(s, a)``.
    greedy_policy : ndarray of int, shape (S,)
        ``argmax_a d(s, a)``.
    status : str
        The conic solver's status (always ``"optimal"``: anything else raises), the certificate.
    method, params, elapsed
        As for every :class:`~theory_rl._result.Result`.
    """

    objective: float
    occupancy: np.ndarray
    policy: np.ndarray
    greedy_policy: np.ndarray
    status: str

    _repr_fields = ("method", "objective", "status", "elapsed")


@dataclass(frozen=True, repr=False, eq=False)
class RecoilDualQSolution(LegacyKeysMixin, CertifiedSolution):
    """What :func:`recoil_dual_q` returns (a dict before; ``result["value"]`` still reads the
    attribute, with a :class:`DeprecationWarning`).

    Attributes
    ----------
    value : float
        The inner minimum over ``Q`` (equal to ``-D_f(mix_pi || mix_E)``).
    q : ndarray, shape (S, A)
        The minimiser.
    gradient_norm : float
        Sup norm of the objective's gradient at ``q`` (the certificate of this convex minimum).
    n_iter : int
        Trust-region Newton iterations.
    converged : bool
        Whether scipy reported success (``gradient_norm <= tol``).
    method, params, elapsed
        As for every :class:`~theory_rl._result.Result`.
    """

    value: float
    q: np.ndarray
    gradient_norm: float
    n_iter: int
    converged: bool

    _repr_fields = ("method", "value", "gradient_norm", "n_iter", "converged", "elapsed")


def _beta(beta: float) -> float:
    return check_real(beta, "beta", low=0.0, high=1.0, low_open=True, high_open=True)


def _distribution(x: object, name: str, shape: tuple[int, int], *, positive: bool = False) -> np.ndarray:
    d = as_float_array(x, name, ndim=2)
    if d.shape != shape:
        raise InvalidModelError(f"{name} has shape {d.shape}, expected {shape}")
    check_finite(d, name)
    if (d < 0).any() or abs(d.sum() - 1.0) > 1e-8:
        raise InvalidModelError(f"{name} must be a non-negative distribution summing to 1 (sum {d.sum():.10g})")
    if positive and (d <= 0).any():
        s, a = np.argwhere(d <= 0)[0]
        raise InvalidModelError(f"{name}[{s}, {a}] = 0: the dual-Q form needs d_suboptimal > 0 on every pair")
    return d


def mixture_divergence(mdp: FiniteMDP, policy: np.ndarray, d_expert: np.ndarray, d_suboptimal: np.ndarray,
                       f: str | FDivergence, beta: float, *, policy_first: bool = True) -> float:
    r"""``D_f(beta d_pi + (1-beta) d^S || beta d^E + (1-beta) d^S)`` (``policy_first``) or the
    other order, with normalised ``d_pi`` from :func:`occupancy`. Pairs where the second
    argument is 0 must have 0 in the first (else ``inf``)."""
    div, b = f_divergence(f), _beta(beta)
    shape = (mdp.n_states, mdp.n_actions)
    dE, dS = _distribution(d_expert, "d_expert", shape), _distribution(d_suboptimal, "d_suboptimal", shape)
    m_pi = b * occupancy(mdp, policy, normalized=True) + (1 - b) * dS
    m_e = b * dE + (1 - b) * dS
    p, q = (m_pi, m_e) if policy_first else (m_e, m_pi)
    if ((q <= 0) & (p > 1e-15)).any():
        return float("inf")
    keep = q > 0
    return div.divergence(p[keep], q[keep])


def recoil_exact(mdp: FiniteMDP, d_expert: np.ndarray, d_suboptimal: np.ndarray, f: str | FDivergence,
                 beta: float, *, solver: str = "CLARABEL") -> RecoilSolution:
    r"""Exact ReCOIL on a known MDP: ``min_d D_f(beta d + (1-beta) d^S || beta d^E + (1-beta) d^S)``
    over the normalised flow polytope, a convex program (cvxpy).

    Returns
    -------
    RecoilSolution
        ``objective``, ``occupancy`` (normalised ``d``, shape (S, A)), ``policy`` (S, A),
        ``greedy_policy`` (S,).
    """
    start = time.perf_counter()
    cp = require_cvxpy()
    div, b = f_divergence(f), _beta(beta)
    S, A = mdp.n_states, mdp.n_actions
    dE, dS = _distribution(d_expert, "d_expert", (S, A)), _distribution(d_suboptimal, "d_suboptimal", (S, A))
    target = (b * dE + (1 - b) * dS).ravel()
    keep = target > 0
    d = cp.Variable(S * A, nonneg=True)
    mix = b * d + (1 - b) * dS.ravel()
    cons = [flow_matrix(mdp) @ d == (1.0 - mdp.gamma) * np.asarray(mdp.d0)]
    if (~keep).any():
        cons.append(d[np.flatnonzero(~keep)] == 0)
    prob = cp.Problem(cp.Minimize(div.cvxpy_divergence(mix[np.flatnonzero(keep)], target[keep])), cons)
    try:
        prob.solve(solver=solver)
    except cp.error.SolverError as exc:
        raise SolverError(f"cvxpy ({solver}) failed on the ReCOIL program: {exc}", status="error") from None
    if prob.status != "optimal":
        raise SolverError("cvxpy did not solve the ReCOIL program (is d_expert reachable?)", status=prob.status)
    occ = np.maximum(np.asarray(d.value), 0.0).reshape(S, A)
    return RecoilSolution(objective=float(prob.value), occupancy=occ, policy=policy_from_occupancy(mdp, occ),
                          greedy_policy=occ.argmax(axis=1).astype(np.int64), status=str(prob.status),
                          method="recoil_exact", params={"f": div.name, "beta": b, "solver": solver},
                          elapsed=time.perf_counter() - start)


def recoil_dual_q(mdp: FiniteMDP, policy: np.ndarray, d_expert: np.ndarray, d_suboptimal: np.ndarray,
                  f: str | FDivergence, beta: float, *, tol: float = 1e-10, max_iter: int = 500) -> RecoilDualQSolution:
    r"""Inner minimum over ``Q`` of ReCOIL's dual-Q objective for a fixed policy (trust-region
    Newton, scipy), with ``f*`` unrestricted. Its value is ``-D_f(mix_pi || mix_E)`` (module
    docstring; Sikchi et al. 2024, arXiv 2302.08560, §6); ``d_suboptimal > 0`` everywhere is
    required so that the minimum is finite.

    Returns
    -------
    RecoilDualQSolution
        ``value`` (the inner minimum), ``q`` (S, A), ``gradient_norm``, ``n_iter``, ``converged``.
    """
    start = time.perf_counter()
    div, b = f_divergence(f, strictly_convex=True), _beta(beta)
    tol, max_iter = check_tol(tol), check_int(max_iter, "max_iter")
    S, A = mdp.n_states, mdp.n_actions
    dE = _distribution(d_expert, "d_expert", (S, A))
    dS = _distribution(d_suboptimal, "d_suboptimal", (S, A), positive=True)
    pi = as_policy(mdp, policy)
    pi = np.eye(A)[pi] if pi.ndim == 1 else pi
    n = S * A
    Pi = sp.csr_matrix((pi.ravel(), (np.arange(n) // A, np.arange(n))), shape=(S, n)).toarray()
    P2 = mdp.transition_matrix
    P2 = P2.toarray() if sp.issparse(P2) else np.asarray(P2).reshape(n, S)
    K = mdp.gamma * P2 @ Pi - np.eye(n)
    mix_e = (b * dE + (1 - b) * dS).ravel()
    lin = b * (1 - mdp.gamma) * Pi.T @ np.asarray(mdp.d0) - (1 - b) * K.T @ dS.ravel()

    def fun(q: np.ndarray, hessian: bool = False):  # noqa: ANN202
        y = K @ q
        if hessian:
            return (K.T * (mix_e * div.curvature(y))) @ K
        return lin @ q + mix_e @ div.conjugate(y), lin + K.T @ (mix_e * div.ratio(y))

    res = minimize(fun, np.zeros(n), jac=True, hess=lambda q: fun(q, True), method="trust-exact",
                   options={"gtol": tol, "maxiter": max_iter})
    value, grad = fun(res.x)
    return RecoilDualQSolution(value=float(value), q=res.x.reshape(S, A), gradient_norm=float(np.abs(grad).max()),
                               n_iter=int(res.nit), converged=bool(res.success), method="recoil_dual_q",
                               params={"f": div.name, "beta": b, "tol": tol, "max_iter": max_iter},
                               elapsed=time.perf_counter() - start)


def _recoil_tables(expert: TransitionDataset, suboptimal: TransitionDataset, beta: float
                   ) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix, np.ndarray]:
    """(implicit reward, mixture action weights, mixture next-state matrix, seen pairs)."""
    S, A = expert.n_states, expert.n_actions
    if (suboptimal.n_states, suboptimal.n_actions) != (S, A):
        raise InvalidModelError(f"expert data has (S, A) = {(S, A)} but suboptimal data has "
                                f"{(suboptimal.n_states, suboptimal.n_actions)}")
    de = expert.counts() / len(expert)
    ds = suboptimal.counts() / len(suboptimal)
    mix = beta * de + (1 - beta) * ds
    seen = mix > 0
    reward = np.where(seen, 2.0 * (1.0 - (1 - beta) * ds / np.where(seen, mix, 1.0)), 0.0)
    # mixture-weighted empirical kernel: each transition weighs beta/|D_E| or (1-beta)/|D_S|
    rows = np.concatenate([expert.pair_index(), suboptimal.pair_index()])
    cols = np.concatenate([expert.next_states, suboptimal.next_states])
    w = np.concatenate([np.full(len(expert), beta / len(expert)) * ~expert.dones,
                        np.full(len(suboptimal), (1 - beta) / len(suboptimal)) * ~suboptimal.dones])
    w = w / np.where(seen.ravel(), mix.ravel(), 1.0)[rows]
    N = sp.csr_matrix((w, (rows, cols)), shape=(S * A, S))
    return reward, mix, N, seen


def recoil(expert: TransitionDataset, suboptimal: TransitionDataset, *, gamma: float, beta: float = 0.5,
           f: str = "chi2", lam: float = 0.9, awr_beta: float = 3.0, tol: float = 1e-8,
           max_iter: int | None = None, d0: np.ndarray | None = None) -> RecoilResult:
    r"""Tabular ReCOIL (practical chi-square version) on an expert and a suboptimal dataset
    (Sikchi, Zheng, Zhang & Niekum 2024, "Dual RL", ICLR, arXiv 2302.08560, §6).

    Iterates ``Q = r_ReCOIL + gamma V̄`` (capped at the initial-state water level when ``d0``
    is given) and ``V = implicit max of Q`` (the implicit loss ``f`` with temperature ``lam``,
    under the mixture's actions) to the certified fixed point, then extracts the AWR policy (see
    the module docstring for the derivation and the deviation). Rewards in the datasets are
    ignored (imitation).

    Parameters
    ----------
    expert, suboptimal : TransitionDataset
    gamma : float
    beta : float in (0, 1)
        Mixture weight of the expert.
    f, lam : implicit-maximisation loss and temperature (as :func:`fdvl`).
    awr_beta : float
        AWR inverse temperature.
    tol, max_iter : as :func:`fdvl`.
    d0 : array_like of shape (S,), optional
        Initial-state distribution of the objective's term ``beta (1-gamma) E_{d0,pi}[Q]``
        (the paper's ReCOIL). ``None``: the term is omitted (the deviation stated in the module
        docstring).
    """
    b = _beta(beta)
    reward, mix, N, seen = _recoil_tables(expert, suboptimal, b)
    budget = None
    if d0 is not None:
        dist = as_float_array(d0, "d0", ndim=1)
        if dist.shape != (expert.n_states,):
            raise InvalidModelError(f"d0 has shape {dist.shape}, expected ({expert.n_states},)")
        check_finite(dist, "d0")
        if (dist < 0).any() or abs(dist.sum() - 1.0) > 1e-8:
            raise InvalidModelError(f"d0 must be a non-negative distribution summing to 1 (sum {dist.sum():.10g})")
        budget = 2.0 * b * (1.0 - float(gamma)) * dist
    params = {"gamma": gamma, "beta": b, "f": f, "lam": lam, "awr_beta": awr_beta, "tol": tol,
              "initial_term": d0 is not None}
    res = in_sample_fixed_point(suboptimal, reward, mix, gamma=gamma, f=f, lam=lam, tol=tol, max_iter=max_iter,
                                v_unseen=0.0, method="recoil", beta=awr_beta, params=params, next_matrix=N,
                                seen=seen, initial_budget=budget)
    return RecoilResult(**{field.name: getattr(res, field.name) for field in fields(res)})


def recoil_torch(expert_batch: tuple[Any, ...], suboptimal_batch: tuple[Any, ...], *, n_actions: int, gamma: float,
                 beta: float = 0.5, f: str = "chi2", lam: float = 0.9, q_net: Any = None, v_net: Any = None,
                 n_steps: int = 2000, lr: float = 1e-2, seed: int | np.random.Generator | None = None,
                 device: Any = "auto", progress: bool = False) -> NeuralDVLResult:
    r"""ReCOIL (chi-square) with function approximation, on two full batches
    ``(obs, actions, rewards, next_obs, dones)`` of expert and suboptimal transitions.

    Per step (Adam, learning rate ``lr``), with ``y = gamma (1 - done) V(s').detach() - Q(s, a)``:

    - Q-step: ``beta mean_E[f*(y)] + (1-beta) mean_S[f*(y)] - (1-beta) mean_S[y]``,
      ``f*(y) = y + y^2/4``;
    - V-step: ``beta mean_E[L(Q - V)] + (1-beta) mean_S[L(Q - V)]`` (the implicit loss).

    With the default bias-free linear networks on one-hot features this is a table and converges
    to :func:`recoil`'s fixed point without ``d0`` (tested on CPU). Deviations (stated): the
    Q-loss has no initial-state term ``beta (1-gamma) E_{d0,pi}[Q]`` (see the module docstring
    for what that changes), and the Gumbel V-loss has no gradient rescaling (as
    :func:`fdvl_torch`).

    Parameters
    ----------
    expert_batch, suboptimal_batch : tuple of arrays
        ``(obs, actions, rewards, next_obs, dones)``.
    progress : bool
        Show a tqdm bar over the gradient steps on stderr.

    Returns
    -------
    NeuralDVLResult
        ``q_net``, ``v_net``, ``history`` (``v_loss``, ``q_loss`` per step); ``awr_weights`` is None.
    """
    from .._torch import require_torch, resolve_device, seed_torch

    start = time.perf_counter()
    torch = require_torch()
    key, lam = check_loss(f, lam)
    b = _beta(beta)
    _check_common(gamma, 0.0, 1.0)
    dev = resolve_device(device)
    n_actions = check_int(n_actions, "n_actions", minimum=1)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    progress = check_bool(progress, "progress")
    seed_torch(seed)
    dt = torch.float64
    E = _as_batch(*expert_batch, dev, dt, n_actions=n_actions)
    Sb = _as_batch(*suboptimal_batch, dev, dt, n_actions=n_actions)
    d = E[0].shape[1]
    if Sb[0].shape[1] != d:
        raise InvalidModelError(f"expert features have dimension {d} but suboptimal features {Sb[0].shape[1]}")
    q_net, v_net, opt_q, opt_v = _nets_and_optimisers(q_net, v_net, d, n_actions, lr, dev, dt)
    history = np.zeros((int(n_steps), 2))

    def q_of(batch: tuple[Any, ...]) -> Any:
        return q_net(batch[0]).gather(1, batch[1][:, None]).squeeze(1)

    for step in progress_range(int(n_steps), progress, "recoil_torch", "step"):
        v_loss = (b * torch_implicit_loss(q_of(E).detach() - v_net(E[0]).squeeze(1), key, lam).mean()
                  + (1 - b) * torch_implicit_loss(q_of(Sb).detach() - v_net(Sb[0]).squeeze(1), key, lam).mean())
        opt_v.zero_grad()
        v_loss.backward()
        opt_v.step()
        with torch.no_grad():
            tE = gamma * (1.0 - E[4]) * v_net(E[3]).squeeze(1)
            tS = gamma * (1.0 - Sb[4]) * v_net(Sb[3]).squeeze(1)
        yE, yS = tE - q_of(E), tS - q_of(Sb)
        q_loss = (b * (yE + 0.25 * yE**2).mean() + (1 - b) * (yS + 0.25 * yS**2).mean() - (1 - b) * yS.mean())
        opt_q.zero_grad()
        q_loss.backward()
        opt_q.step()
        history[step] = (v_loss.item(), q_loss.item())
    params = {"n_actions": n_actions, "gamma": gamma, "beta": b, "f": f, "lam": lam, "n_steps": n_steps, "lr": lr,
              "seed": seed_param(seed), "device": str(dev)}
    return NeuralDVLResult(q_net=q_net, v_net=v_net, history=History({"v_loss": history[:, 0], "q_loss": history[:, 1]}),
                           method="recoil_torch", params=params, elapsed=time.perf_counter() - start)
