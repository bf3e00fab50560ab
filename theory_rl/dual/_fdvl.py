r"""f-DVL: dual-V offline RL with implicit in-sample maximisation, tabular and torch.

Sikchi, Zheng, Zhang, Niekum, "Dual RL: Unification and New Methods for Reinforcement and
Imitation Learning", ICLR 2024, arXiv 2302.08560, §5 (f-DVL). The dual-V objective with
``(1-gamma) E_{d0}[V]`` replaced by ``E_{d^O}[V]`` and a temperature ``lam`` gives, on dataset
pairs with ``x = Q(s,a) - V(s)``,

.. math::
    L_V = \mathbb E_D\big[\lambda f^*_p(x) - (1-\lambda) x\big], \qquad
    L_Q = \mathbb E_D\big[(r + \gamma (1 - \text{done}) V(s') - Q(s,a))^2\big], \\
    \pi = \arg\max_\theta \mathbb E_D\big[\min(e^{\beta (Q - V)}, 100) \log \pi_\theta(a|s)\big],

with the implemented losses of :mod:`._implicit`. The tabular version solves each step exactly:
the Q-step is the empirical Bellman target (least squares per pair), the V-step the exact
minimiser of the implicit loss per state; the AWR step has the closed form
``pi(a|s) ∝ mu(a|s) min(exp(beta (Q - V)), 100)``.

Guarantee (tabular; derived): the V-step is monotone and commutes with adding a constant to
``Q``, hence non-expansive in the sup norm; the Q-step is a ``gamma``-contraction. Their
composition has a unique fixed point and ``||V_k - V_fix|| <= gamma/(1-gamma) ||V_k - V_{k-1}||``,
the bound reported. Special cases used as tests: TV at ``lam -> 1`` is in-sample (batch-
constrained) value iteration on the empirical MDP; Gumbel with temperature ``b`` is soft value
iteration on the empirical MDP with reward ``r + b log mu``.

Deviations from the paper's deep version: no twin Q, no target network, no Huber loss, no
``sample_random_times``; unseen next states get a pessimistic value ``min r / (1-gamma)``
(the deep version extrapolates through the network). The README's ``--f=reverse-KL`` is accepted
here (the official code's case-sensitive comparison makes that recipe crash).

**Reverse-KL (Gumbel) loss without the official gradient rescaling** (:func:`fdvl_torch`,
:func:`theory_rl.dual.recoil_torch`). The official code computes ``z = min(x / lam, max_clip)``
and the loss ``exp(-M) (exp(z) - z - 1)`` with ``M = stop_gradient(max(max_batch z, -1))``: the
Gumbel loss times a positive per-batch constant, which leaves each batch's minimiser unchanged
but divides the gradient by ``exp(M)`` (and keeps ``exp`` from overflowing). Ours is the plain
``exp(z) - z - 1`` with no clip and no rescaling: the same fixed point (the tabular
:func:`fdvl` is unaffected: it minimises each state's loss exactly), but a different step
size per batch, so torch training curves are not the official ones, and ``x / lam`` above about
709 overflows to ``inf``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._iterative import Timer, progress_range
from .._result import History, LegacyKeysMixin, Result, as_history
from .._validation import check_bool, check_int, check_max_iter, check_optional_int, check_real, check_tol
from ..errors import ConvergenceWarning, InvalidModelError
from ._dataset import TransitionDataset
from ._implicit import DegenerateObjectiveWarning, check_loss, implicit_value

__all__ = ["FDVLResult", "NeuralDVLResult", "awr_policy", "fdvl", "fdvl_torch", "in_sample_fixed_point"]


@dataclass(frozen=True, repr=False, eq=False)
class FDVLResult(Result):
    """Result of :func:`fdvl` (and, as its subclass :class:`~theory_rl.dual.RecoilResult`, of
    :func:`~theory_rl.dual.recoil`).

    Attributes
    ----------
    q : ndarray, shape (S, A)
        Q on dataset pairs, NaN elsewhere.
    v : ndarray, shape (S,)
        V; the pessimistic fill on states the dataset never visits.
    v_upper : ndarray, shape (S,)
        Largest minimiser of the V-step at the returned Q (``inf`` if unbounded); equal to ``v``
        where the implicit maximiser is unique.
    degenerate_states : ndarray of int
        States where the V-step's minimiser is not unique (reported, also by a
        :class:`DegenerateObjectiveWarning`).
    policy : ndarray, shape (S, A)
        AWR policy ``∝ mu min(exp(beta (Q - V)), 100)`` (uniform on unseen states).
    greedy_policy : ndarray, shape (S,)
        ``argmax`` of Q over the dataset's actions at each state (0 on unseen states).
    n_iter, converged, bound
        ``bound`` is the certified ``||V - V_fix||_inf``.
    history : History
        ``residual``: ``||V_k - V_{k-1}||_inf`` per iteration (reads as that 1-D array).
    method, params, elapsed
        As for every :class:`~theory_rl._result.Result`.
    """

    q: np.ndarray
    v: np.ndarray
    v_upper: np.ndarray
    degenerate_states: np.ndarray
    policy: np.ndarray
    greedy_policy: np.ndarray
    n_iter: int
    converged: bool
    bound: float
    history: History

    _repr_fields = ("method", "converged", "n_iter", "bound", "elapsed")

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", as_history(self.history, "residual"))


@dataclass(frozen=True, repr=False, eq=False)
class NeuralDVLResult(LegacyKeysMixin, Result):
    """Result of :func:`fdvl_torch` and :func:`~theory_rl.dual.recoil_torch` (both returned a dict
    before; ``result["q_net"]`` still reads the attribute, with a :class:`DeprecationWarning`).

    Attributes
    ----------
    q_net, v_net : torch.nn.Module
        The trained networks: features ``(n, d)`` to ``Q`` ``(n, n_actions)`` and ``V`` ``(n, 1)``.
    history : History
        Per step: ``v_loss`` and ``q_loss`` (as an array, shape ``(n_steps, 2)`` in that order).
    awr_weights : callable or None
        ``awr_weights(obs, act)``: the AWR weights ``min(exp(beta (Q - V)), 100)`` (f-DVL only).
    method, params, elapsed
        As for every :class:`~theory_rl._result.Result`; the networks are left out of
        :meth:`to_dict`.
    """

    q_net: Any
    v_net: Any
    history: History
    awr_weights: Any = None

    _repr_fields = ("method", "elapsed")
    _dict_exclude = ("q_net", "v_net", "awr_weights")


def awr_policy(q: np.ndarray, v: np.ndarray, behaviour: np.ndarray, beta: float, *, clip: float = 100.0) -> np.ndarray:
    r"""Tabular AWR extraction: ``argmax_pi E_D[min(exp(beta (Q - V)), clip) log pi(a|s)]``
    is ``pi(a|s) ∝ mu(a|s) min(exp(beta (Q(s,a) - V(s))), clip)``; uniform where ``mu(.|s) = 0``."""
    beta, clip = check_real(beta, "beta", low=0.0), check_real(clip, "clip", low=0.0, low_open=True)
    seen = behaviour > 0
    adv = np.where(seen, np.nan_to_num(q, nan=0.0) - np.nan_to_num(v, nan=0.0)[:, None], 0.0)
    weight = np.where(seen, behaviour * np.minimum(np.exp(np.minimum(beta * adv, 50.0)), clip), 0.0)
    tot = weight.sum(axis=1, keepdims=True)
    return np.divide(weight, tot, out=np.full_like(weight, 1.0 / weight.shape[1]), where=tot > 0)


def _initial_state_level(q: np.ndarray, weights: np.ndarray, seen: np.ndarray, budget: np.ndarray | None
                        ) -> np.ndarray:
    r"""Cap ``Q(s, .)`` at the level ``nu(s)`` with ``sum_a m(s,a) (Q(s,a) - nu(s))_+ = budget(s)``
    on the seen actions of every state with ``budget(s) > 0`` (``m`` = ``weights``): the
    max over ``pi(.|s)`` of ReCOIL's semi-gradient Q-step with the initial-state term (see
    :mod:`theory_rl.dual._recoil`). ``budget=None`` returns ``q`` unchanged."""
    if budget is None:
        return q
    q = q.copy()
    for s in np.flatnonzero(budget > 0):
        acts = np.flatnonzero(seen[s] & (weights[s] > 0))
        if acts.size == 0:
            continue
        order = acts[np.argsort(-q[s, acts])]
        vals, m = q[s, order], weights[s, order]
        cum_mq, cum_m = np.cumsum(m * vals), np.cumsum(m)
        levels = (cum_mq - budget[s]) / cum_m  # level if the top k+1 actions are capped
        nxt = np.append(vals[1:], -np.inf)
        k = int(np.argmax(levels >= nxt))  # the first k whose level lies above the next value
        q[s, order] = np.minimum(vals, levels[k])
    return q


def _greedy(q: np.ndarray, seen: np.ndarray) -> np.ndarray:
    return np.where(seen, np.nan_to_num(q, nan=-np.inf), -np.inf).argmax(axis=1).astype(np.int64)


def _check_common(gamma: float, beta: float, tol: float) -> None:
    check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    check_real(beta, "beta (the AWR temperature)", low=0.0)
    check_tol(tol)


def in_sample_fixed_point(dataset: TransitionDataset, rewards: np.ndarray, weights: np.ndarray, *, gamma: float,
                          f: str, lam: float, tol: float, max_iter: int | None, v_unseen: float | None,
                          method: str, beta: float, params: dict[str, Any], next_matrix: Any = None,
                          seen: np.ndarray | None = None, initial_budget: np.ndarray | None = None) -> FDVLResult:
    """Iterate ``Q = rewards + gamma N V``, ``V = implicit_value(Q, weights)`` to the certified
    fixed point (shared by f-DVL and the dataset ReCOIL). ``rewards`` and ``weights`` have shape
    (S, A); ``N`` is ``dataset.next_state_matrix()`` unless ``next_matrix`` is given, and the
    dataset's pairs are ``seen`` (default: pairs with a transition). ``initial_budget`` (shape
    (S,), ReCOIL's initial-state term ``2 beta (1-gamma) d0``) caps each Q-step at the water
    level of :func:`_initial_state_level` (monotone and shift-equivariant, so the composition
    stays a ``gamma``-contraction and the bound below stays valid)."""
    key, lam = check_loss(f, lam)
    _check_common(gamma, beta, tol)
    max_iter = check_max_iter(max_iter)
    with Timer() as timer:
        S, A = dataset.n_states, dataset.n_actions
        seen = dataset.counts() > 0 if seen is None else seen
        visited = seen.any(axis=1)
        N = dataset.next_state_matrix() if next_matrix is None else next_matrix
        r = np.where(seen, rewards, 0.0).ravel()
        fill = float(np.min(rewards[seen]) / (1.0 - gamma)) if v_unseen is None else float(v_unseen)
        v = np.full(S, fill)
        stop = tol * (1.0 - gamma) / max(gamma, 1e-300)
        cap = max_iter if max_iter is not None else int(np.ceil(np.log(stop / (1.0 + np.ptp(rewards[seen]) / (1 - gamma)))
                                                                 / np.log(max(gamma, 1e-12)))) + 50
        history = []
        converged = False
        n = 0
        for n in range(1, cap + 1):  # noqa: B007
            q = _initial_state_level((r + gamma * (N @ v)).reshape(S, A), weights, seen, initial_budget)
            lower, _ = implicit_value(q, weights, key, lam)
            v_new = np.where(visited, lower, fill)
            diff = float(np.max(np.abs(v_new - v)))
            history.append(diff)
            v = v_new
            if diff <= stop:
                converged = True
                break
        q = _initial_state_level((r + gamma * (N @ v)).reshape(S, A), weights, seen, initial_budget)
        lower, upper = implicit_value(q, weights, key, lam)
        scale = 1e-9 * (1.0 + np.abs(np.nan_to_num(lower)))
        degenerate = np.flatnonzero(visited & (np.nan_to_num(upper, nan=0.0) - np.nan_to_num(lower) > scale))
        v_upper = np.where(visited, upper, fill)
        q = np.where(seen, q, np.nan)
    if degenerate.size:
        warnings.warn(
            f"{method}: the {key} value loss at lam = {lam:g} has a non-unique minimiser at {degenerate.size} "
            f"state(s) (first: state {degenerate[0]}, V in [{v[degenerate[0]]:.6g}, {v_upper[degenerate[0]]:.6g}]); "
            "the smallest minimiser is returned (see FDVLResult.v_upper)", DegenerateObjectiveWarning, stacklevel=3)
    if not converged:
        warnings.warn(f"{method}: stopped after {n} iterations with ||V_k - V_k-1|| = {history[-1]:.3g} > "
                      f"{stop:.3g}", ConvergenceWarning, stacklevel=3)
    bound = gamma / (1.0 - gamma) * history[-1]
    mu = np.asarray(weights, dtype=float)
    return FDVLResult(q=q, v=v, v_upper=v_upper, degenerate_states=degenerate, policy=awr_policy(q, v, mu, beta),
                      greedy_policy=_greedy(q, seen), n_iter=n, converged=converged, bound=float(bound),
                      history=np.asarray(history), method=method, params=params, elapsed=timer.elapsed)


def fdvl(dataset: TransitionDataset, *, gamma: float, f: str = "chi2", lam: float = 0.9, beta: float = 3.0,
         tol: float = 1e-8, max_iter: int | None = None, v_unseen: float | None = None) -> FDVLResult:
    r"""Tabular f-DVL on a finite dataset (exact Q-, V- and AWR steps; see the module docstring).

    Sikchi, Zheng, Zhang & Niekum (2024), "Dual RL", ICLR, arXiv 2302.08560, §5; the equations
    (``L_V``, ``L_Q``, the AWR policy) and the certified contraction bound are in the module docstring.

    Parameters
    ----------
    dataset : TransitionDataset
    gamma : float
        Discount in ``[0, 1)``.
    f : {"chi2", "tv", "gumbel"}
        Implicit-maximisation loss (``"reverse-kl"`` is an alias of ``"gumbel"``).
    lam : float
        ``lam in (0, 1]`` for chi2, ``(1/2, 1]`` for TV, the temperature ``> 0`` for Gumbel.
        README recipes: locomotion chi2 ``lam = 1`` (degenerate: reported), antmaze TV 0.8,
        kitchen/adroit reverse-KL 8.
    beta : float
        AWR inverse temperature (3.0 in the official config).
    tol : float
        Certified accuracy of ``V`` (stops when ``gamma/(1-gamma) ||V_k - V_{k-1}|| <= tol``).
    max_iter : int, optional
    v_unseen : float, optional
        Value of states with no outgoing transition in the data (default ``min r/(1-gamma)``).

    Returns
    -------
    FDVLResult
    """
    params = {"gamma": gamma, "f": f, "lam": lam, "beta": beta, "tol": tol}
    return in_sample_fixed_point(dataset, dataset.mean_rewards(), dataset.empirical_behaviour(), gamma=gamma, f=f,
                                 lam=lam, tol=tol, max_iter=max_iter, v_unseen=v_unseen, method="fdvl",
                                 beta=beta, params=params)


# ----------------------------------------------------------------------------------------- torch
def torch_implicit_loss(x: Any, key: str, lam: float) -> Any:
    """The implicit loss of :mod:`._implicit` on a torch tensor."""
    import torch

    if key == "chi2":
        return lam * torch.clamp(x + 0.25 * x * x, min=0.0) - (1.0 - lam) * x
    if key == "tv":
        return lam * torch.clamp(x, min=0.0) - (1.0 - lam) * x
    z = x / lam
    return torch.expm1(z) - z


def one_hot_features(states: np.ndarray, n_states: int) -> np.ndarray:
    """One-hot state features, shape (n, S) (the tabular special case of the torch versions)."""
    return np.eye(n_states)[np.asarray(states, dtype=np.int64)]


def fdvl_torch(observations: Any, actions: Any, rewards: Any, next_observations: Any, dones: Any, *,
               n_actions: int, gamma: float, f: str = "chi2", lam: float = 0.9, beta: float = 3.0,
               q_net: Any = None, v_net: Any = None, n_steps: int = 2000, batch_size: int | None = None,
               lr: float = 1e-2, seed: int | np.random.Generator | None = None, device: Any = "auto",
               progress: bool = False) -> NeuralDVLResult:
    r"""f-DVL with function approximation (torch), on arrays of transitions ``(s, a, r, s', done)``.

    Per step, on a batch (the whole dataset when ``batch_size`` is None):

    - V-step: minimise ``mean L(Q(s,a).detach() - V(s))`` (the implicit loss; for
      ``f="gumbel"`` without the official code's per-batch gradient rescaling ``exp(-max z)``
      and clip, a stated deviation: see the module docstring);
    - Q-step: minimise ``mean (r + gamma (1-done) V(s').detach() - Q(s,a))^2``.

    Both by Adam with learning rate ``lr``. ``q_net`` maps features (n, d) to (n, n_actions) and
    ``v_net`` to (n, 1); the defaults are bias-free linear layers, which on one-hot features are
    tables and reproduce :func:`fdvl`'s fixed point. The AWR policy is returned as a function of
    features (weights ``min(exp(beta (Q - V)), 100)``; fitting a parametric actor to them is the
    caller's choice).

    Parameters
    ----------
    observations, next_observations : array or tensor, shape (n, d)
        Features (use :func:`one_hot_features` for tabular states).
    actions : int array (n,);  rewards, dones : arrays (n,)
    device : str or torch.device
        ``"auto"`` (the default: CUDA when present, else CPU), ``"cpu"`` or ``"cuda"``.
    progress : bool
        Show a tqdm bar over the gradient steps on stderr.

    Returns
    -------
    NeuralDVLResult
        ``q_net``, ``v_net``, ``history`` (``v_loss``, ``q_loss`` per step), ``awr_weights(obs, act)``.
    """
    from .._torch import require_torch, resolve_device, seed_torch

    start = time.perf_counter()
    torch = require_torch()
    key, lam = check_loss(f, lam)
    _check_common(gamma, beta, 1.0)
    dev = resolve_device(device)
    n_actions = check_int(n_actions, "n_actions", minimum=1)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    batch_size = check_optional_int(batch_size, "batch_size", minimum=1)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    progress = check_bool(progress, "progress")
    gen = seed_torch(seed)
    dt = torch.float64
    obs, act, rew, obs2, done = _as_batch(observations, actions, rewards, next_observations, dones, dev, dt,
                                          n_actions=n_actions)
    d = obs.shape[1]
    q_net, v_net, opt_q, opt_v = _nets_and_optimisers(q_net, v_net, d, n_actions, lr, dev, dt)
    n = obs.shape[0]
    history = np.zeros((int(n_steps), 2))
    for step in progress_range(int(n_steps), progress, "fdvl_torch", "step"):
        idx = slice(None) if batch_size is None else torch.randint(0, n, (int(batch_size),), generator=gen).to(dev)
        o, a, r, o2, dn = obs[idx], act[idx], rew[idx], obs2[idx], done[idx]
        q_sa = q_net(o).gather(1, a[:, None]).squeeze(1)
        v_loss = torch_implicit_loss(q_sa.detach() - v_net(o).squeeze(1), key, lam).mean()
        opt_v.zero_grad()
        v_loss.backward()
        opt_v.step()
        with torch.no_grad():
            target = r + gamma * (1.0 - dn) * v_net(o2).squeeze(1)
        q_loss = ((target - q_net(o).gather(1, a[:, None]).squeeze(1)) ** 2).mean()
        opt_q.zero_grad()
        q_loss.backward()
        opt_q.step()
        history[step] = (v_loss.item(), q_loss.item())

    def awr_weights(o: Any, a: Any) -> Any:
        with torch.no_grad():
            o = torch.as_tensor(o, dtype=dt, device=dev)
            a = torch.as_tensor(a, dtype=torch.long, device=dev)
            adv = q_net(o).gather(1, a[:, None]).squeeze(1) - v_net(o).squeeze(1)
            return torch.clamp(torch.exp(beta * adv), max=100.0)

    params = {"n_actions": n_actions, "gamma": gamma, "f": f, "lam": lam, "beta": beta, "n_steps": n_steps,
              "batch_size": batch_size, "lr": lr, "seed": seed_param(seed), "device": str(dev)}
    return NeuralDVLResult(q_net=q_net, v_net=v_net, history=History({"v_loss": history[:, 0], "q_loss": history[:, 1]}),
                           awr_weights=awr_weights, method="fdvl_torch", params=params,
                           elapsed=time.perf_counter() - start)


def seed_param(seed: Any) -> Any:
    """A seed as a JSON-ready option value (a Generator is recorded by its type)."""
    return int(seed) if isinstance(seed, (int, np.integer)) else None if seed is None else type(seed).__name__


def _nets_and_optimisers(q_net: Any, v_net: Any, d: int, n_actions: int, lr: float, dev: Any, dt: Any
                         ) -> tuple[Any, Any, Any, Any]:
    """``(q_net, v_net, Adam(q_net), Adam(v_net))``; a missing network is the zero-initialised
    linear map (no bias) ``R^d -> R^{n_actions}`` for ``Q`` and ``R^d -> R`` for ``V``."""
    import torch

    if q_net is None:
        q_net = torch.nn.Linear(d, int(n_actions), bias=False).to(dev, dt)
        torch.nn.init.zeros_(q_net.weight)
    if v_net is None:
        v_net = torch.nn.Linear(d, 1, bias=False).to(dev, dt)
        torch.nn.init.zeros_(v_net.weight)
    return q_net, v_net, torch.optim.Adam(q_net.parameters(), lr=lr), torch.optim.Adam(v_net.parameters(), lr=lr)


def _as_batch(obs: Any, act: Any, rew: Any, obs2: Any, done: Any, dev: Any, dt: Any, *,
              n_actions: int) -> tuple[Any, ...]:
    """The batch as tensors on ``dev``, shapes checked and every action in ``[0, n_actions)``."""
    import torch

    from .._torch import as_tensor

    out = (as_tensor(obs, device=dev, dtype=dt), as_tensor(act, device=dev, dtype=torch.long),
           as_tensor(rew, device=dev, dtype=dt), as_tensor(obs2, device=dev, dtype=dt),
           as_tensor(np.asarray(done, dtype=float) if not hasattr(done, "detach") else done, device=dev, dtype=dt))
    n = out[0].shape[0]
    if out[0].ndim != 2 or out[3].shape != out[0].shape:
        raise InvalidModelError(f"observations must have shape (n, d) and match next_observations, got "
                                f"{tuple(out[0].shape)} and {tuple(out[3].shape)}")
    for name, t in zip(("actions", "rewards", "dones"), out[1:3] + out[4:]):
        if t.shape != (n,):
            raise InvalidModelError(f"{name} has shape {tuple(t.shape)}, expected ({n},)")
    bad = (out[1] < 0) | (out[1] >= n_actions)
    if bool(bad.any()):
        i = int(torch.nonzero(bad)[0, 0])
        raise InvalidModelError(f"actions[{i}] = {int(out[1][i])} is not an action index in [0, {n_actions})")
    return out
