r"""Coupled restless multi-armed bandits (coRMAB): the model, instance generators, a
gymnasium-style environment and the exact joint MDP of tiny instances.

Xu, Wilder, Khalil, Tambe, "Reinforcement learning with combinatorial actions for coupled
restless bandits", ICLR 2025, arXiv 2503.01919.

Arm model (the paper's ``MultiStateRMAB``): arm ``j`` has levels ``{0, 1, 2, 3}``; each step it
moves up with probability ``p_j`` and down otherwise, clipped at the ends. Without coupling
``p_j = p_j(a_j)`` with ``p_j(0) ~ U(0, 0.2)``, ``p_j(1) ~ U(0.7, 0.9)``. In the multiple
interventions domain ``N`` intervention types act jointly:
``p_j = phi_j(theta_j + sum_i w_ji a_i)``, ``phi_j(x) = 0.98 alpha_j [sigma(beta_j x - x0_j) -
sigma(-x0_j)] + 0.01``. Rewards are separable, ``R(s') = sum_j R_j(s'_j)``; the learning signal
and the reported metric use the *expected* next-step reward
``r(s, a) = sum_j [p_j R_j(up(s_j)) + (1 - p_j) R_j(down(s_j))]``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._result import ResultMixin
from .._validation import (
    as_float_array,
    check_allocation,
    check_finite,
    check_gamma,
    check_model_int,
    check_probability,
    rng_from_seed,
)
from ..envs import capacity_instance, matching_instance, metro_graph
from ..errors import InvalidModelError
from ..models import Budget, Path

__all__ = ["CoRMAB", "CoRMABEnv", "SigmoidCoupling", "make_cormab", "N_LEVELS"]

N_LEVELS = 4


def _as_state(state: Any, n_arms: int) -> np.ndarray:
    """``state`` as an int64 array of shape (J,) with levels in ``{0, ..., N_LEVELS - 1}``."""
    s = as_float_array(state, "state")
    if s.shape != (n_arms,):
        raise InvalidModelError(f"state must have shape ({n_arms},), got {s.shape}")
    bad = ~np.isfinite(s) | (s != np.round(s)) | (s < 0) | (s > N_LEVELS - 1)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise InvalidModelError(f"state[{j}] = {s[j]:g} is not a level in {{0, ..., {N_LEVELS - 1}}}")
    return s.astype(np.int64)


def _check_constraint(constraint: Any) -> int:
    """The action dimension ``N`` of a feasible-set object (Budget, Path, Matching, Capacity or
    a user object with ``n_actions`` and ``is_feasible``)."""
    n = getattr(constraint, "n_actions", None)
    if n is None or not callable(getattr(constraint, "is_feasible", None)):
        raise InvalidModelError(
            "constraint must be a Budget, Path, Matching, Capacity or an object with n_actions and "
            f"is_feasible(action, certificate), got {constraint!r:.80}"
        )
    return check_model_int(n, "constraint.n_actions")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True, repr=False)
class SigmoidCoupling(ResultMixin):
    r"""The multiple-interventions coupling ``p_j = phi_j(theta_j + sum_i w_ji a_i)``.

    ``weights[j, i]`` is ``w_ji`` (shape (J, N)); ``alpha, beta, x0, theta`` have shape (J,).
    :meth:`table` is the exact lookup table that replaces the published piecewise-linear files
    (missing from the repository): every entry of ``weights`` is 0 or a common ``w``, so
    ``theta_j + sum_i w_ji a_i`` only takes the values ``theta_j + w c`` for counts ``c``, and the
    table holds ``phi_j`` at those points; a MILP selecting one count per arm is then exact
    (the paper uses a 10-breakpoint PWL approximation instead).

    Examples
    --------
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("interventions", 6, 2, seed=0)
    >>> type(cormab.coupling).__name__, cormab.coupling.weights.shape       # (J arms, N intervention types)
    ('SigmoidCoupling', (6, 3))
    """

    weights: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    x0: np.ndarray
    theta: np.ndarray
    _repr_fields = ("weights",)

    def __post_init__(self) -> None:
        W = as_float_array(self.weights, "weights", ndim=2)
        check_finite(W, "weights")
        nonzero = W[W != 0]
        if nonzero.size and not np.allclose(nonzero, nonzero[0]):
            raise InvalidModelError("weights must all be 0 or one common value w (blocks of equal weight)")
        if (W < 0).any():
            raise InvalidModelError("weights must be >= 0")
        object.__setattr__(self, "weights", W)
        for name in ("alpha", "beta", "x0", "theta"):
            arr = as_float_array(getattr(self, name), name, ndim=1)
            if arr.shape != (W.shape[0],):
                raise InvalidModelError(f"{name} must have shape ({W.shape[0]},), got {arr.shape}")
            check_finite(arr, name)
            object.__setattr__(self, name, arr)

    def phi(self, x: np.ndarray) -> np.ndarray:
        """``phi_j(x_j)`` for ``x`` of shape (..., J)."""
        return 0.98 * self.alpha * (_sigmoid(self.beta * x - self.x0) - _sigmoid(-self.x0)) + 0.01

    def up_probability(self, action: np.ndarray) -> np.ndarray:
        """``p_j`` for actions of shape (..., N): shape (..., J)."""
        return self.phi(self.theta + np.asarray(action, dtype=float) @ self.weights.T)

    def table(self) -> np.ndarray:
        """``T[j, c] = phi_j(theta_j + w c)`` for ``c = 0..max_j #{i : w_ji > 0}``; shape (J, C+1)
        (entries past an arm's own count repeat its last value)."""
        w = float(self.weights[self.weights > 0][0]) if (self.weights > 0).any() else 0.0
        counts = (self.weights > 0).sum(axis=1)
        c = np.arange(int(counts.max()) + 1)
        cc = np.minimum(c[None, :], counts[:, None])
        return self.phi((self.theta[:, None] + w * cc).T).T


@dataclass(frozen=True, repr=False)
class CoRMAB(ResultMixin):
    r"""A coupled restless bandit with ``J`` four-level arms and a combinatorial feasible set.

    Parameters
    ----------
    rewards : ndarray, shape (J, 4)
        ``R_j(level)``.
    p_passive, p_active : ndarray, shape (J,)
        Up-probabilities without and with action (ignored when ``coupling`` is set).
    constraint : Budget, Path, Matching, Capacity or a user object
        The feasible set ``F`` (state independent, as in the paper); ``constraint.n_actions`` is
        the action dimension ``N`` (``J`` except in the multiple-interventions domain).
    coupling : SigmoidCoupling, optional
        The multiple-interventions coupling (``N`` may differ from ``J``).
    gamma : float
        Discount used by training and by :meth:`to_finite_mdp`.
    horizon : int
        Episode length ``H`` (20 in the paper).
    domain : str
        Label.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("budget", 4, 2, seed=0, horizon=5)
    >>> cormab.n_arms, cormab.n_actions, cormab.expected_reward(np.zeros(4, int), np.array([1, 1, 0, 0])).shape
    (4, 4, ())
    """

    rewards: np.ndarray
    p_passive: np.ndarray
    p_active: np.ndarray
    constraint: Any
    coupling: SigmoidCoupling | None = None
    gamma: float = 0.99
    horizon: int = 20
    domain: str = "budget"
    _repr_fields = ("domain", "n_arms", "n_actions", "gamma", "horizon")

    def __post_init__(self) -> None:
        R = as_float_array(self.rewards, "rewards", ndim=2)
        check_finite(R, "rewards")
        if R.shape[1] != N_LEVELS:
            raise InvalidModelError(f"rewards must have shape (J, {N_LEVELS}), got {R.shape}")
        object.__setattr__(self, "rewards", R)
        for name in ("p_passive", "p_active"):
            p = as_float_array(getattr(self, name), name, ndim=1)
            if p.shape != (R.shape[0],):
                raise InvalidModelError(f"{name} must have shape ({R.shape[0]},), got {p.shape}")
            bad = ~((p >= 0) & (p <= 1))
            if bad.any():
                raise InvalidModelError(f"{name}[{int(np.argmax(bad))}] = {p[bad][0]!r} is not a probability")
            object.__setattr__(self, name, p)
        object.__setattr__(self, "gamma", check_gamma(self.gamma))
        N = _check_constraint(self.constraint)
        if self.coupling is not None and not isinstance(self.coupling, SigmoidCoupling):
            raise InvalidModelError(f"coupling must be a SigmoidCoupling or None, got {self.coupling!r:.80}")
        if self.coupling is None and N != R.shape[0]:
            raise InvalidModelError(f"constraint has {N} actions but there are "
                                    f"{R.shape[0]} arms (only a coupling allows N != J)")
        if self.coupling is not None and self.coupling.weights.shape != (R.shape[0], N):
            raise InvalidModelError(f"coupling weights must have shape (J, N) = ({R.shape[0]}, "
                                    f"{N}), got {self.coupling.weights.shape}")
        object.__setattr__(self, "horizon", check_model_int(self.horizon, "horizon"))  # 'x' and 2.5 were accepted
        if not isinstance(self.domain, str):
            raise InvalidModelError(f"domain must be a string label, got {self.domain!r:.80}")

    @property
    def n_arms(self) -> int:
        return self.rewards.shape[0]

    @property
    def n_actions(self) -> int:
        return int(self.constraint.n_actions)

    def up_probability(self, action: np.ndarray) -> np.ndarray:
        """``p[..., j]`` for actions of shape (..., N)."""
        a = np.asarray(action, dtype=float)
        if self.coupling is not None:
            return self.coupling.up_probability(a)
        return self.p_passive + (self.p_active - self.p_passive) * a

    def expected_reward(self, state: np.ndarray, action: np.ndarray) -> np.ndarray:
        r"""``r(s, a) = sum_j [p_j R_j(up(s_j)) + (1 - p_j) R_j(down(s_j))]`` for a state (J,) and
        actions (..., N): shape (...)."""
        s = _as_state(state, self.n_arms)
        up = self.rewards[np.arange(self.n_arms), np.minimum(s + 1, N_LEVELS - 1)]
        down = self.rewards[np.arange(self.n_arms), np.maximum(s - 1, 0)]
        p = self.up_probability(action)
        return (p * up + (1.0 - p) * down).sum(axis=-1)

    def features(self, state: np.ndarray) -> np.ndarray:
        """The network's state input: levels scaled to [0, 1] (``s / 3``), float64 (J,)."""
        return _as_state(state, self.n_arms) / (N_LEVELS - 1)

    def sample_next(self, state: np.ndarray, action: np.ndarray, seed: Any = None) -> np.ndarray:
        """One transition ``s' ~ P(. | s, a)`` (arms move independently given ``a``)."""
        s = _as_state(state, self.n_arms)
        rng = rng_from_seed(seed)
        up = rng.random(self.n_arms) < self.up_probability(action)
        return np.where(up, np.minimum(s + 1, N_LEVELS - 1), np.maximum(s - 1, 0))

    def initial_state(self, seed: Any = None, *, p_one: float = 0.2) -> np.ndarray:
        """Evaluation starts: each arm at level 1 w.p. ``p_one`` (0.2; training uses 0.5), else 0."""
        p_one = check_probability(p_one, "p_one")
        return (rng_from_seed(seed).random(self.n_arms) < p_one).astype(np.int64)

    def to_finite_mdp(self) -> tuple[Any, np.ndarray, np.ndarray]:
        r"""The exact joint MDP of a tiny instance (``4^J`` states; ``J <= 6``).

        Returns ``(mdp, states, actions)``: a :class:`~theory_rl.models.FiniteMDP` whose state
        ``k`` is ``states[k]`` (shape (4^J, J)) and whose action ``m`` is ``actions[m]`` (the
        feasible set ``F`` enumerated by the independent check, shape ``(|F|, N)``); ``R[s, a]`` is
        the expected next-step reward and ``P[s, a, s'] = prod_j P_j(s'_j | s_j, p_j(a))``.
        """
        from ..models import FiniteMDP

        J = self.n_arms
        if J > 6:
            raise InvalidModelError(f"to_finite_mdp needs J <= 6 arms (4^J states), got J = {J}")
        states = np.array(list(itertools.product(range(N_LEVELS), repeat=J)), dtype=np.int64)
        actions = self.constraint.enumerate_feasible()
        S, A = len(states), len(actions)
        # P (S, A, S) and the per-arm kernel (S, A, J, 4), both float64
        check_allocation(8 * S * A * (S + N_LEVELS * J), f"the joint MDP of J = {J} arms: P of shape ({S}, {A}, {S})")
        up = np.minimum(states + 1, N_LEVELS - 1)
        down = np.maximum(states - 1, 0)
        p = self.up_probability(actions)  # (A, J)
        # per-arm kernel K[s, a, j, level']
        K = np.zeros((S, A, J, N_LEVELS))
        sj = np.arange(S)[:, None, None]
        aj = np.arange(A)[None, :, None]
        jj = np.arange(J)[None, None, :]
        np.add.at(K, (sj, aj, jj, up[:, None, :]), np.broadcast_to(p[None], (S, A, J)))
        np.add.at(K, (sj, aj, jj, down[:, None, :]), np.broadcast_to(1.0 - p[None], (S, A, J)))
        P = np.ones((S, A, S))
        for j in range(J):
            P *= K[:, :, j, :][:, :, states[:, j]]
        R = np.stack([self.expected_reward(s, actions) for s in states])
        return FiniteMDP(P, R, self.gamma), states, actions


def _arm_rewards(J: int, B: int, rng: np.random.Generator) -> np.ndarray:
    R = np.empty((J, N_LEVELS))
    R[:, :3] = [0.1, 0.15, 0.2]
    R[:B, :3] = [0.2, 0.15, 0.1]  # the dip before the top level misleads myopic policies
    R[:B, 3] = rng.choice([4.0, 5.0, 6.0], size=min(B, J))
    R[B:, 3] = rng.choice([1.0, 2.0, 3.0], size=J - min(B, J))
    return R


def _sigmoid_coupling(J: int, N: int, rng: np.random.Generator, *, weight: float = 3.0) -> SigmoidCoupling:
    """Intervention ``i`` hits the 3 arms of block ``i // 3`` (arms ``3 (i//3) + {0,1,2}`` mod J), so
    3 interventions share the same 3 arms; arms are "good" (alpha in [0.7, 1], beta in [1.4, 1.9],
    x0 in {9, 10}) or "bad" (alpha in [0.2, 0.5], beta = 1, x0 in {1, 2}) with probability 1/2;
    theta = 0. The block wiring and the parameter ranges follow the paper's code; theta = 0 and the
    good/bad split are our choices (the paper does not fix them)."""
    W = np.zeros((J, N))
    for i in range(N):
        block = i // 3
        for r in range(3):
            W[(3 * block + r) % J, i] = weight
    good = rng.random(J) < 0.5
    alpha = np.where(good, rng.uniform(0.7, 1.0, J), rng.uniform(0.2, 0.5, J))
    beta = np.where(good, rng.uniform(1.4, 1.9, J), 1.0)
    x0 = np.where(good, rng.choice([9.0, 10.0], J), rng.choice([1.0, 2.0], J))
    return SigmoidCoupling(W, alpha, beta, x0, np.zeros(J))


_DOMAINS = ("budget", "interventions", "path", "matching", "capacity")


def _instance_bytes(domain: str, J: int, B: int, N: int, new_graph: bool) -> int:
    """Memory a :func:`make_cormab` instance takes, from the declared sizes: the arm parameters
    (rewards (J, 4), two probabilities and draws: about 80 B per arm) plus the constraint's data.
    Quadratic terms: the coupling weights (J, N) and their validated copy; the metro graph's
    corridor distances (J, J/7 lines) and, for a path, the all-pairs distance matrix (J, J) with
    networkx's all-pairs dictionaries (about 100 B per pair)."""
    nbytes = 80 * J
    if domain == "interventions":
        nbytes += 16 * J * N
    elif domain == "path":
        nbytes += 128 * J * J + (16 * J * max(2, J // 7) if new_graph else 0)
    elif domain == "matching":
        nbytes += 8 * J + 8 * max(1, B)
    elif domain == "capacity":
        nbytes += 16 * J + 16 * max(1, B)
    return nbytes


def make_cormab(domain: str, n_arms: int, budget: int, *, seed: Any = None, n_interventions: int | None = None,
                graph: Any = None, source: Any = None, gamma: float = 0.99, horizon: int = 20) -> CoRMAB:
    """A random instance of one of the paper's domains.

    ``domain``: ``"budget"`` (plain ``sum a <= B``), ``"interventions"`` (sigmoid coupling,
    ``N = n_interventions`` types, default ``J // 2``, ``sum a = B``), ``"path"`` (a
    :func:`theory_rl.envs.metro_graph` of ``J`` stations unless ``graph`` is given; ``source`` defaults to the
    first node), ``"matching"``, ``"capacity"``. Arm parameters follow the paper's experiment section.
    An instance whose data is estimated above :func:`theory_rl.max_bytes` (``80 J`` bytes plus the
    quadratic terms of the coupling and the path constraint) raises
    :class:`~theory_rl.errors.SizeLimitError` before anything is drawn.

    Examples
    --------
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("matching", 8, 2, seed=0)
    >>> cormab.domain, cormab.n_arms, type(cormab.constraint).__name__
    ('matching', 8, 'Matching')
    """
    if isinstance(n_arms, bool) or not isinstance(n_arms, (int, np.integer)) or n_arms < 1:
        raise InvalidModelError(f"n_arms = {n_arms!r} must be an integer >= 1")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 0:
        raise InvalidModelError(f"budget = {budget!r} must be an integer >= 0")
    if not isinstance(domain, str) or domain not in _DOMAINS:
        raise InvalidModelError(f"domain = {domain!r}: expected budget, interventions, path, matching or capacity")
    J, B = int(n_arms), int(budget)
    N = check_model_int(n_interventions, "n_interventions", optional=True) or max(1, J // 2)
    check_allocation(_instance_bytes(domain, J, B, N, graph is None),
                     f"make_cormab({domain!r}, n_arms={J}, budget={B}): arm parameters and constraint data")
    rng = rng_from_seed(seed)
    R = _arm_rewards(J, B, rng)
    p0 = rng.uniform(0.0, 0.2, J)
    p1 = rng.uniform(0.7, 0.9, J)
    coupling = None
    if domain == "budget":
        constraint: Any = Budget(B, J)
    elif domain == "interventions":
        coupling = _sigmoid_coupling(J, N, rng)
        constraint = Budget(B, N, equality=True)
    elif domain == "path":
        g = graph if graph is not None else metro_graph(J, seed=rng)
        if g.number_of_nodes() != J:
            raise InvalidModelError(f"the graph has {g.number_of_nodes()} nodes but n_arms = {J}")
        constraint = Path(g, list(g.nodes)[0] if source is None else source, B)
    elif domain == "matching":
        constraint = matching_instance(J, B, seed=rng)
    else:
        constraint = capacity_instance(J, B, seed=rng)
    return CoRMAB(R, p0, p1, constraint, coupling, gamma=gamma, horizon=horizon, domain=domain)


@dataclass
class CoRMABEnv:
    """Gymnasium-style episodic environment over a :class:`CoRMAB`.

    ``reset(seed=None) -> (state, info)`` draws the start (level 1 w.p. ``p_one``, else 0);
    ``step(action, certificate=None) -> (state, reward, terminated, truncated, info)``; the
    reward is the *expected* next-step reward ``r(s, a)`` (the paper's learning signal and metric),
    ``info["sampled_reward"]`` the realised ``sum_j R_j(s'_j)``. An infeasible action (checked by
    the constraint's independent check, with the certificate when given) raises
    :class:`~theory_rl.errors.InvalidModelError`. ``observation_space``/``action_space`` are
    gymnasium spaces when gymnasium is installed.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import combinatorial
    >>> cormab = combinatorial.make_cormab("budget", 4, 2, seed=0, horizon=5)
    >>> env = combinatorial.CoRMABEnv(cormab)
    >>> state, _ = env.reset(seed=0)
    >>> state, reward, terminated, truncated, info = env.step(np.array([1, 0, 0, 1]))
    >>> state.shape, terminated, truncated, sorted(info)
    ((4,), False, False, ['sampled_reward'])
    """

    model: CoRMAB
    p_one: float = 0.2
    state: np.ndarray | None = field(default=None, init=False)
    t: int = field(default=0, init=False)
    _rng: np.random.Generator = field(default_factory=np.random.default_rng, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.model, CoRMAB):
            raise InvalidModelError(f"CoRMABEnv needs a CoRMAB model, got {type(self.model).__name__}")
        self.p_one = check_probability(self.p_one, "p_one")

    @property
    def observation_space(self) -> Any:
        from gymnasium import spaces

        return spaces.MultiDiscrete([N_LEVELS] * self.model.n_arms)

    @property
    def action_space(self) -> Any:
        from gymnasium import spaces

        return spaces.MultiBinary(self.model.n_actions)

    def reset(self, *, seed: Any = None, state: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self._rng = rng_from_seed(seed)
        self.state = (self.model.initial_state(self._rng, p_one=self.p_one) if state is None
                      else np.asarray(state, dtype=np.int64).copy())
        self.t = 0
        return self.state.copy(), {}

    def step(self, action: Any, certificate: Any = None) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise InvalidModelError("call reset() before step()")
        a = np.asarray(action).astype(np.int8)
        if not self.model.constraint.is_feasible(a, certificate):
            raise InvalidModelError(f"action {np.flatnonzero(a).tolist()} is not in the feasible set F")
        reward = float(self.model.expected_reward(self.state, a))
        nxt = self.model.sample_next(self.state, a, self._rng)
        sampled = float(self.model.rewards[np.arange(self.model.n_arms), nxt].sum())
        self.state = nxt
        self.t += 1
        return nxt.copy(), reward, False, self.t >= self.model.horizon, {"sampled_reward": sampled}
