r"""Self-Play Preference Optimisation (SPO) on tabular finite-horizon MDPs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._iterative import Timer, iterations
from .._result import History, Result
from .._validation import check_bool, check_int, check_real, rng_from_seed
from ..tabular import mirror_descent_step
from ._preferences import PreferenceOracle, batch_win_rates, check_oracle
from ._trajectory_game import TrajectoryGame, check_horizon, log_arity, sample_episodes, trajectory_game

__all__ = ["SPOResult", "spo", "Evaluator", "conditional_q", "check_spo_options"]


@dataclass(frozen=True, repr=False, eq=False)
class SPOResult(Result):
    r"""Result of :func:`spo` and :func:`spo_torch`.

    Attributes
    ----------
    policy : ndarray, shape (H, S, A)
        The last iterate ``pi_T[t, s, a]``.
    average_policy : ndarray, shape (H, S, A)
        The Markov policy with the iterates' averaged state-action occupancies
        ``pi_bar_t(a|s) ∝ sum_k d^k_t(s) pi_k(a|s, t)`` (exact occupancies in exact mode, visit
        counts otherwise). It induces the average trajectory distribution exactly when states
        identify histories (``TrajectoryGame.tree``); SPO's guarantee is for the mixture.
    average_distribution : ndarray, shape (N,), or None
        The mixture ``p_bar_T = (1/T) sum_k p_{pi_k}`` over the enumerated trajectories
        (``None`` when not evaluated).
    exploitability : float
        ``max_pi Pr(pi beats p_bar_T) - 1/2`` (history-dependent best response; ``nan`` when not
        evaluated): ``p_bar_T`` is an ``exploitability``-approximate minimax winner.
    win_rate : float
        ``Pr(p_bar_T beats p*)`` against the minimax winner over trajectories, at most ``1/2``
        (``nan`` unless evaluated on a model whose trajectories are the pure strategies).
    n_queries : int
        Preference queries asked (``B (B-1)/2`` per sampled iteration, 0 in exact mode).
    history : History
        Per iteration: ``"exploitability"`` (of ``p_bar_k``), ``"last_exploitability"`` (of
        ``p_{pi_k}``), ``"win_rate"`` (of ``p_bar_k`` against ``p*``), ``"n_queries"`` (cumulative), and
        in exact mode on tree models ``"regret_bound"`` ``H (log A / eta + eta k / 8) / k``.
    n_iter : int
    method, params, elapsed

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.games import BradleyTerryOracle, decision_tree_mdp, spo
    >>> mdp = decision_tree_mdp(2, 2)
    >>> res = spo(mdp, oracle=BradleyTerryOracle(np.arange(14.0).reshape(7, 2)), exact=True, max_iter=50)
    >>> type(res).__name__, res.policy.shape, res.n_queries, bool(res.exploitability < 0.1)
    ('SPOResult', (2, 7, 2), 0, True)
    """

    policy: np.ndarray
    average_policy: np.ndarray
    average_distribution: np.ndarray | None
    exploitability: float
    win_rate: float
    n_queries: int
    history: History
    n_iter: int
    _repr_fields = ("n_iter", "exploitability", "win_rate", "n_queries", "elapsed")


class Evaluator:
    """Per-iterate bookkeeping shared by the tabular and torch SPO: the averaged occupancies and,
    when evaluated, the mixture of trajectory distributions, its exploitability and its win rate
    against the minimax winner over trajectories."""

    def __init__(self, game: TrajectoryGame | None, shape: tuple[int, int, int]) -> None:
        self.game = game
        self.occupancy = np.zeros(shape)
        self.rows: dict[str, list[float]] = {"exploitability": [], "last_exploitability": [], "win_rate": [],
                                             "n_queries": []}
        self.total = None if game is None else np.zeros(game.n_trajectories)
        self.mw = game.minimax_winner().strategy if game is not None and game.pure else None
        self.n_queries = 0

    def record(self, policy: np.ndarray, occupancy: np.ndarray, n_queries: int) -> None:
        self.occupancy += occupancy
        self.n_queries += n_queries
        self.rows["n_queries"].append(self.n_queries)
        if self.game is None:
            for key in ("exploitability", "last_exploitability", "win_rate"):
                self.rows[key].append(math.nan)
            return
        p = self.game.distribution(policy)
        self.total += p
        p_bar = self.total / len(self.rows["n_queries"])
        self.rows["exploitability"].append(self.game.exploitability(p_bar))
        self.rows["last_exploitability"].append(self.game.exploitability(p))
        w = math.nan if self.mw is None else float(p_bar @ self.game.preferences @ self.mw)
        self.rows["win_rate"].append(w)

    def result(self, policy: np.ndarray, extra: dict[str, np.ndarray], **fields: Any) -> SPOResult:
        occ = self.occupancy
        sums = occ.sum(axis=2, keepdims=True)
        avg = np.where(sums > 0, occ / np.where(sums > 0, sums, 1.0), 1.0 / occ.shape[2])
        T = len(self.rows["n_queries"])
        history = History({**{k: np.asarray(v, dtype=float) for k, v in self.rows.items()}, **extra})
        return SPOResult(
            policy=policy, average_policy=avg,
            average_distribution=None if self.total is None else self.total / T,
            exploitability=float(history["exploitability"][-1]), win_rate=float(history["win_rate"][-1]),
            n_queries=self.n_queries, history=history, n_iter=T, **fields,
        )


def check_spo_options(mdp: Any, oracle: Any, horizon: Any, batch_size: Any, max_iter: Any, exact: Any,
                      evaluate: Any, max_trajectories: Any) -> tuple[int, int, int, bool, bool, int]:
    """The options :func:`spo` and :func:`spo_torch` share, validated: ``(H, B, T, exact, evaluate, cap)``."""
    H = check_horizon(mdp, horizon)
    check_oracle(oracle)
    return (H, check_int(batch_size, "batch_size", minimum=2), check_int(max_iter, "max_iter"),
            check_bool(exact, "exact"), check_bool(evaluate, "evaluate"),
            check_int(max_trajectories, "max_trajectories"))


def conditional_q(states: np.ndarray, actions: np.ndarray, weights: np.ndarray, reward: np.ndarray,
                  shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    r"""``q_t(s, a) = E[r(xi) | s_t = s, a_t = a]`` and the occupancy ``mu_t(s, a) = d_t(s) pi_t(a|s)``
    from trajectories weighted by their probability ``p_pi(xi)`` (exact) or by ``1/B`` (a sample).

    ``q = sum_xi w(xi) 1[s_t = s, a_t = a] r(xi) / mu_t(s, a)``: exact for the weights ``p_pi``, and the
    mean reward of the sampled trajectories through ``(t, s, a)`` for a sample. An action never taken
    at a reached ``(t, s)`` gets the state's mean (a zero advantage); unreached states get ``q = 0``
    (the mirror step leaves them unchanged).
    """
    H, S, A = shape
    t_idx = np.broadcast_to(np.arange(H), actions.shape)
    flat = ((t_idx * S + states[:, :-1]) * A + actions).ravel()
    w = np.repeat(weights, H)
    mu = np.bincount(flat, weights=w, minlength=H * S * A).reshape(H, S, A)
    num = np.bincount(flat, weights=w * np.repeat(reward, H), minlength=H * S * A).reshape(H, S, A)
    d = mu.sum(axis=2, keepdims=True)
    v = np.where(d > 0, num.sum(axis=2, keepdims=True) / np.where(d > 0, d, 1.0), 0.0)
    q = np.where(mu > 0, num / np.where(mu > 0, mu, 1.0), v)
    return q, mu


def spo(mdp: Any, *, oracle: PreferenceOracle, horizon: int | None = None, batch_size: int = 16,
        max_iter: int = 100, step_size: float = 1.0, exact: bool = False, evaluate: bool = True,
        max_trajectories: int = 5000, seed: Any = None, progress: bool = False) -> SPOResult:
    r"""Self-Play Preference Optimisation on a tabular finite-horizon MDP, with mirror-descent updates.

    SPO (Swamy, Dann, Kidambi, Wu & Agarwal 2024, "A minimaximalist approach to reinforcement
    learning from human feedback", ICML, arXiv 2401.04056, Alg. 1) seeks the minimax winner
    ``p* in argmax_p min_q P(p beats q)`` of the preference game over trajectories without a reward
    model or an adversary: at iteration ``k`` it samples ``B`` trajectories from ``pi_k``, rewards
    each by its win rate against the batch (:func:`batch_win_rates`, an unbiased estimate of
    ``r_k(xi) = Pr(xi beats pi_k)``) at the last step, and improves ``pi_k`` on that reward. Here the
    improvement is the exact per-state KL mirror-descent step (policy mirror descent,
    :func:`theory_rl.tabular.mirror_descent_step`)

    .. math::
        \pi_{k+1}(\cdot|s, t) \propto \pi_k(\cdot|s, t) \exp\big(\eta\, q_k(t, s, \cdot)\big), \qquad
        q_k(t, s, a) = \mathbb E_{\pi_k}[r_k(\xi) \mid s_t = s, a_t = a],

    with ``q_k`` estimated from the batch (``exact=False``) or computed exactly over the enumerated
    trajectories (``exact=True``, ``r_k = W p_{pi_k}``). Because ``P(pi_k beats pi_k) = 1/2``, the
    learner's regret against its own iterates is ``T`` times the exploitability of the mixture
    ``p_bar_T``: a no-regret learner's average is a ``Reg_T / T``-approximate minimax winner. With
    ``H = 1`` and one start state exact SPO is Hedge self-play (:func:`hedge_self_play`, ``eta`` the
    step). When states identify histories (``TrajectoryGame.tree``) the performance-difference lemma
    and Hedge's bound per state give ``Reg_T <= H (log A / eta + eta T / 8)`` in exact mode (win rates
    lie in ``[0, 1]``), reported as ``history["regret_bound"]``. On other models and from samples no
    bound is claimed; the exploitability is measured exactly instead.

    Implemented: the tabular policy class and mirror-descent improvement. The paper's deep-RL
    experiments (PPO/SAC on MuJoCo, rewards spread over the steps) are not reproduced; see
    :func:`spo_torch` for the PPO-style version.

    Parameters
    ----------
    mdp : FiniteMDP
        Transitions ``P[s, a, s']`` and start distribution ``d0`` (its rewards are not used).
    oracle : PreferenceOracle
    horizon : int, optional
        ``H`` (default ``mdp.horizon``).
    batch_size : int
        ``B >= 2`` trajectories per iteration (sampled mode).
    max_iter : int
        Iterations ``T``.
    step_size : float
        ``eta > 0``.
    exact : bool
        Exact win rates and ``q`` over the enumerated trajectories instead of a sampled batch.
    evaluate : bool
        Enumerate the trajectories and record exploitability and win rates per iteration.
    max_trajectories : int
        The enumeration's cap (see :func:`trajectory_game`).
    seed : int, Generator or None
    progress : bool

    Returns
    -------
    SPOResult

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import FiniteMDP
    >>> from theory_rl.games import MajorityOracle, spo
    >>> mdp = FiniteMDP(P=np.ones((1, 3, 1)), R=np.zeros((1, 3)), gamma=1.0, horizon=1)
    >>> cycle = MajorityOracle(np.array([[[3., 2., 1.]], [[1., 3., 2.]], [[2., 1., 3.]]]))
    >>> res = spo(mdp, oracle=cycle, max_iter=400, step_size=0.2, batch_size=8, seed=0)
    >>> res.average_distribution.round(1).tolist(), bool(res.exploitability < 0.05)
    ([0.3, 0.3, 0.3], True)
    """
    H, B, T, exact, evaluate, cap = check_spo_options(mdp, oracle, horizon, batch_size, max_iter, exact, evaluate,
                                                      max_trajectories)
    eta = check_real(step_size, "step_size", low=0.0, low_open=True)
    progress = check_bool(progress, "progress")
    rng = rng_from_seed(seed)
    S, A = mdp.n_states, mdp.n_actions
    with Timer() as timer:
        game = trajectory_game(mdp, oracle=oracle, horizon=H, max_trajectories=cap) if (exact or evaluate) else None
        tracker = Evaluator(game if evaluate else None, (H, S, A))
        if mdp.action_mask is None:
            log_pi = np.full((H, S, A), -math.log(A))
        else:
            mask = np.asarray(mdp.action_mask, bool)
            log_pi = np.broadcast_to(np.where(mask, -np.log(mask.sum(axis=1, keepdims=True)), -np.inf), (H, S, A)).copy()
        for _ in iterations(T, progress, "spo"):
            policy = np.exp(log_pi)
            if exact:
                p = game.distribution(policy)
                q, mu = conditional_q(game.states, game.actions, p, game.preferences @ p, (H, S, A))
                queries = 0
            else:
                states, actions = sample_episodes(mdp, policy, n_episodes=B, horizon=H, seed=rng)
                r = batch_win_rates(states, actions, oracle=oracle, seed=rng)
                q, mu = conditional_q(states, actions, np.full(B, 1.0 / B), r, (H, S, A))
                queries = B * (B - 1) // 2
            tracker.record(policy, mu, queries)
            for t in range(H):
                log_pi[t] = mirror_descent_step(log_pi[t], q[t], step_size=eta)
        extra = {}
        if exact and evaluate and game.tree:
            k = np.arange(1, T + 1)
            extra["regret_bound"] = H * (log_arity(mdp) / eta + eta * k / 8.0) / k
    return tracker.result(np.exp(log_pi), extra, method="spo", elapsed=timer.elapsed,
                          params={"horizon": H, "batch_size": B, "max_iter": T, "step_size": eta, "exact": exact})
