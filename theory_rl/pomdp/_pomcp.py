r"""POMCP: Monte-Carlo tree search over histories with particle beliefs (Silver & Veness 2010).

Each simulation starts from a state drawn from the root belief, descends the history tree
choosing actions by UCB1,

.. math::
    a = \arg\max_a \; Q(h a) + c \sqrt{\log N(h) / N(h a)} \qquad (\text{untried actions first}),

samples ``(s', o, r)`` from the model (the generative model ``G(s, a)``), adds one new history
node per simulation, estimates the leaf's value by a rollout with the rollout policy until
``gamma^depth < discount_threshold`` (the paper's epsilon), and backs the discounted return up the path with running means
``Q(h a) <- Q(h a) + (G - Q(h a)) / N(h a)``. States sampled at depth 1 are kept as the
particle belief of each child ``h a o``: after the real action ``a`` and observation ``o`` they
become the next root belief (Silver & Veness 2010, Sec. 3), topped up by rejection sampling
from the previous particles when too few fall into the observed branch.

Reference: D. Silver and J. Veness, "Monte-Carlo planning in large POMDPs", NeurIPS 2010.

Deviations: the search tree is rebuilt at every real step (the particles of the chosen branch are
kept, the subtree's statistics are not); the default exploration constant is ``c = R_max - R_min``
of the reward table (the paper sets ``c = R_hi - R_lo`` from the returns of preliminary runs);
the particle top-up uses exact rejection sampling from the previous root particles instead of
the paper's domain-specific local transformations. The search itself is compiled with numba.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any, NamedTuple

import numba
import numpy as np
import scipy.sparse as sp

from .._deprecation import renamed_arguments
from .._result import Result
from .._validation import as_float_array, check_int, check_probability_rows, check_real, rng_from_seed
from ..errors import InvalidModelError
from ..models import POMDP

__all__ = ["PlanResult", "EpisodeResult", "pomcp_plan", "pomcp_episode"]


@dataclass(frozen=True, repr=False, eq=False)
class PlanResult(Result):
    """One POMCP search from a root belief.

    Attributes
    ----------
    action : int
        ``argmax_a Q(root, a)`` (most visited on ties... see ``q`` and ``visits``).
    value : float
        ``max_a Q(root, a)``, the Monte-Carlo estimate of ``V*(b)``.
    q : ndarray, shape (A,)
        Root action values (``nan`` for actions never tried).
    visits : ndarray of int, shape (A,)
        ``N(root a)``.
    n_simulations : int
    n_nodes : int
        History nodes in the tree.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> plan = pomdp.pomcp_plan(pomdp.load_problem('tiger.95.POMDP'), n_simulations=200, seed=0)
    >>> type(plan).__name__, plan.n_simulations, plan.q.shape
    ('PlanResult', 200, (3,))
    """

    action: int
    value: float
    q: np.ndarray
    visits: np.ndarray
    n_simulations: int
    n_nodes: int

    _repr_fields = ("action", "value", "n_simulations", "n_nodes")


@dataclass(frozen=True, repr=False, eq=False)
class EpisodeResult(Result):
    """One episode of POMCP acting in the model.

    Attributes
    ----------
    discounted_return : float
        ``sum_t gamma^t r_t``.
    states, actions, observations : ndarray of int
    rewards : ndarray
    root_values : ndarray
        The search's value estimate at each step.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> ep = pomdp.pomcp_episode(pomdp.load_problem('tiger.95.POMDP'), n_steps=3, n_simulations=100, seed=0)
    >>> ep.rewards.shape, ep.observations.shape
    ((3,), (3,))
    """

    discounted_return: float
    states: np.ndarray
    actions: np.ndarray
    observations: np.ndarray
    rewards: np.ndarray
    root_values: np.ndarray

    _repr_fields = ("discounted_return",)


# --------------------------------------------------------------------------- compiled search
@numba.njit(cache=True)
def _sample_row(rng, lo, hi, cum, cols):  # pragma: no cover - compiled
    u = rng.random() * cum[hi - 1]
    k = lo
    while k < hi - 1 and cum[k] <= u:
        k += 1
    return cols[k]


@numba.njit(cache=True)
def _step(rng, s, a, A, indptr, cum_t, cols, cum_o, R):  # pragma: no cover - compiled
    r = s * A + a
    s2 = _sample_row(rng, indptr[r], indptr[r + 1], cum_t, cols)
    n_obs = cum_o.shape[2]
    u = rng.random() * cum_o[a, s2, n_obs - 1]
    o = 0
    while o < n_obs - 1 and cum_o[a, s2, o] <= u:
        o += 1
    return s2, o, R[s, a]


@numba.njit(cache=True)
def _rollout(rng, s, depth, A, gamma, eps, max_depth, indptr, cum_t, cols, cum_o, R, cum_pi):  # pragma: no cover
    total = 0.0
    disc = 1.0
    while depth < max_depth and gamma ** depth >= eps:
        u = rng.random()
        a = 0
        while a < A - 1 and cum_pi[s, a] <= u:
            a += 1
        s2, _, r = _step(rng, s, a, A, indptr, cum_t, cols, cum_o, R)
        total += disc * r
        disc *= gamma
        s = s2
        depth += 1
    return total


@numba.njit(cache=True)
def _search(rng, particles, n_sims, c, gamma, eps, max_depth, A, n_obs, indptr, cum_t, cols, cum_o, R, cum_pi):  # pragma: no cover
    """Run ``n_sims`` simulations from the root; return root statistics, node count and the
    (child index, state) pairs sampled at depth 1."""
    cap = n_sims + 2
    node_n = np.zeros(cap, np.int64)
    an_n = np.zeros(cap * A, np.int64)
    an_q = np.zeros(cap * A)
    child = np.full((cap * A, n_obs), -1, np.int64)
    n_nodes = 1
    rec_child = np.empty(n_sims, np.int64)  # a * n_obs + o at the root
    rec_state = np.empty(n_sims, np.int64)
    n_rec = 0
    path_an = np.empty(max_depth + 1, np.int64)
    path_node = np.empty(max_depth + 1, np.int64)
    path_r = np.empty(max_depth + 1)
    log_cache = np.log(np.arange(1, n_sims + 2).astype(np.float64))
    for _ in range(n_sims):
        s = particles[rng.integers(0, particles.shape[0])]
        node = 0
        depth = 0
        tail = 0.0
        n_path = 0
        while depth < max_depth and gamma ** depth >= eps:
            base = node * A
            a = -1
            if node_n[node] < A:  # untried actions first, in random order
                start = rng.integers(0, A)
                for j in range(A):
                    cand = (start + j) % A
                    if an_n[base + cand] == 0:
                        a = cand
                        break
            if a < 0:
                logn = log_cache[node_n[node] - 1] if node_n[node] <= n_sims + 1 else math.log(node_n[node])
                best = -np.inf
                for cand in range(A):
                    v = an_q[base + cand] + c * math.sqrt(logn / an_n[base + cand])
                    if v > best:
                        best = v
                        a = cand
            s2, o, r = _step(rng, s, a, A, indptr, cum_t, cols, cum_o, R)
            path_an[n_path] = base + a
            path_node[n_path] = node
            path_r[n_path] = r
            n_path += 1
            if depth == 0:
                rec_child[n_rec] = a * n_obs + o
                rec_state[n_rec] = s2
                n_rec += 1
            nxt = child[base + a, o]
            s = s2
            depth += 1
            if nxt < 0:
                if n_nodes < cap:
                    child[base + a, o] = n_nodes
                    n_nodes += 1
                tail = _rollout(rng, s, depth, A, gamma, eps, max_depth, indptr, cum_t, cols, cum_o, R, cum_pi)
                break
            node = nxt
        g = tail
        for i in range(n_path - 1, -1, -1):
            g = path_r[i] + gamma * g
            node_n[path_node[i]] += 1
            k = path_an[i]
            an_n[k] += 1
            an_q[k] += (g - an_q[k]) / an_n[k]
    return an_q[:A].copy(), an_n[:A].copy(), n_nodes, rec_child[:n_rec], rec_state[:n_rec]


# --------------------------------------------------------------------------- model tables
class _Generative:
    """Cumulative tables for sampling ``s' ~ T[s, a, :]`` and ``o ~ O[a, s', :]``."""

    def __init__(self, model: POMDP) -> None:
        S, A = model.n_states, model.n_actions
        T = model.T if model.is_sparse else sp.csr_matrix(np.asarray(model.T).reshape(S * A, S))
        T = sp.csr_matrix(T)
        T.eliminate_zeros()
        self.indptr = T.indptr.astype(np.int64)
        self.cols = T.indices.astype(np.int64)
        cum = np.empty_like(T.data)
        for r in range(S * A):  # per-row cumulative sums
            lo, hi = self.indptr[r], self.indptr[r + 1]
            cum[lo:hi] = np.cumsum(T.data[lo:hi])
        self.cum_t = cum
        self.cum_o = np.cumsum(np.asarray(model.O, dtype=np.float64), axis=2)
        self.R = np.ascontiguousarray(model.R, dtype=np.float64)
        self.A, self.n_obs, self.S = A, model.n_observations, S
        self.gamma = float(model.gamma)

    def step(self, rng: np.random.Generator, s: int, a: int) -> tuple[int, int, float]:
        s2, o, r = _step(rng, s, a, self.A, self.indptr, self.cum_t, self.cols, self.cum_o, self.R)
        return int(s2), int(o), float(r)


_TABLES: weakref.WeakKeyDictionary[POMDP, _Generative] = weakref.WeakKeyDictionary()


def _generative(model: POMDP) -> _Generative:
    """The sampling tables of ``model``, built once per model object."""
    tables = _TABLES.get(model)
    if tables is None:
        tables = _TABLES[model] = _Generative(model)
    return tables


class _Options(NamedTuple):
    c: float
    eps: float
    max_depth: int
    cum_pi: np.ndarray  # (S, A) cumulative rollout-policy probabilities


def _options(model: POMDP, c: float | None, discount_threshold: float, max_depth: int | None, rollout_policy: Any) -> _Options:
    if not isinstance(model, POMDP):
        raise InvalidModelError(f"model must be a theory_rl.models.POMDP, got {type(model).__name__}")
    if not model.gamma < 1.0 and max_depth is None:
        raise InvalidModelError("POMCP needs gamma < 1 or an explicit max_depth")
    c = float(model.R.max() - model.R.min()) if c is None else check_real(c, "c", low=0.0)
    epsilon = check_real(discount_threshold, "discount_threshold", low=0.0, high=1.0, low_open=True, high_open=True)
    if max_depth is not None:
        max_depth = check_int(max_depth, "max_depth", minimum=1)
    else:
        max_depth = int(math.ceil(math.log(epsilon) / math.log(model.gamma))) + 1 if model.gamma > 0 else 1
    S, A = model.n_states, model.n_actions
    if rollout_policy is None:
        pi = np.full((S, A), 1.0 / A)
    else:
        pi = as_float_array(rollout_policy, "rollout_policy", ndim=(1, 2))
        pi = np.broadcast_to(pi, (S, A)) if pi.shape in ((A,), (1, A)) else pi
        if pi.shape != (S, A):
            raise InvalidModelError(f"rollout_policy has shape {pi.shape}, expected ({A},) or ({S}, {A})")
        check_probability_rows(np.ascontiguousarray(pi), "rollout_policy", atol=1e-8, row_shape=(S,))
    cum_pi = np.cumsum(pi, axis=1)
    cum_pi[:, -1] = np.inf  # the last action catches rounding
    return _Options(c, float(epsilon), int(max_depth), np.ascontiguousarray(cum_pi))


def _root_particles(model: POMDP, belief: Any, n_particles: int, rng: np.random.Generator) -> np.ndarray:
    b = as_float_array(belief, "belief", ndim=1)
    if b.shape != (model.n_states,) or b.min() < 0 or abs(b.sum() - 1.0) > 1e-6:
        raise InvalidModelError(f"belief must be a probability vector of length {model.n_states}")
    return rng.choice(model.n_states, size=n_particles, p=b / b.sum()).astype(np.int64)


def _plan_particles(model: POMDP, particles: np.ndarray, n_simulations: int, opt: _Options,
                    rng: np.random.Generator) -> tuple[PlanResult, np.ndarray, np.ndarray]:
    g = _generative(model)
    q, n, n_nodes, rec_child, rec_state = _search(
        rng, particles, int(n_simulations), opt.c, g.gamma, opt.eps, opt.max_depth, g.A, g.n_obs, g.indptr, g.cum_t,
        g.cols, g.cum_o, g.R, opt.cum_pi)
    q = np.where(n > 0, q, np.nan)
    tried = np.where(n > 0, q, -np.inf)
    a = int(np.argmax(tried))
    plan = PlanResult(action=a, value=float(tried[a]), q=q, visits=n, n_simulations=int(n_simulations),
                      n_nodes=int(n_nodes), method="pomcp_plan")
    return plan, rec_child, rec_state


@renamed_arguments(epsilon="discount_threshold")
def pomcp_plan(
    model: POMDP,
    belief: Any = None,
    *,
    n_simulations: int = 1000,
    n_particles: int = 1000,
    c: float | None = None,
    discount_threshold: float = 1e-2,
    max_depth: int | None = None,
    rollout_policy: Any = None,
    seed: int | np.random.Generator | None = None,
) -> PlanResult:
    r"""Choose an action at ``belief`` by POMCP (Silver & Veness 2010, Alg. 1).

    Parameters
    ----------
    model : POMDP
    belief : array_like, shape (S,), optional
        Root belief (default ``model.b0``); ``n_particles`` states are drawn from it.
    n_simulations : int
        Simulations (tree descents) from the root.
    n_particles : int
        Size of the root particle set.
    c : float, optional
        UCB1 exploration constant (default ``R.max() - R.min()``).
    discount_threshold : float
        Simulations and rollouts stop at depth ``t`` with ``gamma^t < discount_threshold`` (the
        paper's epsilon; called ``epsilon`` before 0.2.0, still accepted until 0.3.0 with a
        ``DeprecationWarning``).
    max_depth : int, optional
        Hard depth cap (default from ``discount_threshold``).
    rollout_policy : array_like, shape (A,) or (S, A), optional
        Action probabilities of the rollout policy, per state or the same everywhere (the
        paper's "preferred actions" knowledge); default uniform random actions.
    seed : int or Generator, optional

    Raises
    ------
    InvalidModelError
        Naming the option and its value: ``n_simulations``, ``n_particles``, ``max_depth`` not
        integers ``>= 1`` (bools refused), ``c`` not finite ``>= 0``, ``discount_threshold`` not in ``(0, 1)``,
        or a bad ``belief``/``rollout_policy``.

    Returns
    -------
    PlanResult
        The greedy root action, ``value = max_a Q(root, a)`` (an estimate of ``V*(b)`` that
        converges to it as ``n_simulations -> inf``, Silver & Veness 2010, Thm 1), root ``q``
        and visit counts.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> plan = pomdp.pomcp_plan(tiger, n_simulations=500, seed=0)
    >>> tiger.action_names[plan.action]
    'listen'
    """
    opt = _options(model, c, discount_threshold, max_depth, rollout_policy)
    n_simulations = check_int(n_simulations, "n_simulations", minimum=1)
    n_particles = check_int(n_particles, "n_particles", minimum=1)
    rng = rng_from_seed(seed)
    particles = _root_particles(model, model.b0 if belief is None else belief, n_particles, rng)
    return _plan_particles(model, particles, n_simulations, opt, rng)[0]


@renamed_arguments(epsilon="discount_threshold")
def pomcp_episode(
    model: POMDP,
    *,
    n_steps: int = 50,
    n_simulations: int = 1000,
    n_particles: int = 1000,
    c: float | None = None,
    discount_threshold: float = 1e-2,
    max_depth: int | None = None,
    rollout_policy: Any = None,
    seed: int | np.random.Generator | None = None,
) -> EpisodeResult:
    r"""Run POMCP (Silver & Veness, "Monte-Carlo planning in large POMDPs", NeurIPS 2010) in closed
    loop for ``n_steps`` real steps from a state drawn from ``model.b0``.

    At each step: search from the particle belief, act, sample ``(s', o, r)`` from the model, and
    keep the depth-1 particles of branch ``(a, o)`` as the new belief; when fewer than
    ``n_particles`` are there, add states by rejection sampling (draw ``s`` from the old
    particles, ``(s', o') ~ G(s, a)``, keep ``s'`` when ``o' = o``, up to ``100 * n_particles``
    tries). If no particle survives, the episode continues from the exact Bayes belief
    ``tau(b, a, o)`` computed from the particle histogram (the model is explicit).

    Raises
    ------
    InvalidModelError
        As :func:`pomcp_plan`, and for ``n_steps`` not an integer ``>= 0``.

    Returns
    -------
    EpisodeResult
        The discounted return ``sum_t gamma^t r_t`` and the trajectory.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> ep = pomdp.pomcp_episode(tiger, n_steps=5, n_simulations=200, seed=0)
    >>> type(ep).__name__, ep.actions.shape
    ('EpisodeResult', (5,))
    """
    opt = _options(model, c, discount_threshold, max_depth, rollout_policy)
    n_simulations = check_int(n_simulations, "n_simulations", minimum=1)
    n_particles = check_int(n_particles, "n_particles", minimum=1)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    rng = rng_from_seed(seed)
    g = _generative(model)
    particles = _root_particles(model, model.b0, n_particles, rng)
    s = int(rng.choice(model.n_states, p=model.b0))
    states, actions, observations, rewards, values = [s], [], [], [], []
    total, disc = 0.0, 1.0
    for _ in range(n_steps):
        plan, rec_child, rec_state = _plan_particles(model, particles, n_simulations, opt, rng)
        a = plan.action
        s2, o, r = g.step(rng, s, a)
        total += disc * r
        disc *= model.gamma
        states.append(s2)
        actions.append(a)
        observations.append(o)
        rewards.append(r)
        values.append(plan.value)
        particles = _next_particles(model, g, particles, rec_state[rec_child == a * g.n_obs + o], a, o,
                                    n_particles, rng)
        s = s2
    return EpisodeResult(discounted_return=total, states=np.asarray(states), actions=np.asarray(actions, dtype=int),
                         observations=np.asarray(observations, dtype=int), rewards=np.asarray(rewards),
                         root_values=np.asarray(values), method="pomcp_episode")


def _next_particles(model: POMDP, g: _Generative, old: np.ndarray, kept: np.ndarray, a: int, o: int,
                    n_particles: int, rng: np.random.Generator) -> np.ndarray:
    out = list(kept[:n_particles])
    tries = 0
    while len(out) < n_particles and tries < 100 * n_particles:
        s = int(old[rng.integers(old.size)])
        s2, o2, _ = g.step(rng, s, a)
        if o2 == o:
            out.append(s2)
        tries += 1
    if out:
        return np.asarray(out, dtype=np.int64)
    # particle deprivation: exact Bayes update of the particle histogram
    from ._belief import belief_update

    b = np.bincount(old, minlength=model.n_states) / old.size
    return _root_particles(model, belief_update(model, b, a, o), n_particles, rng)
