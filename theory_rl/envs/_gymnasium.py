"""Import gymnasium toy-text environments (FrozenLake, Taxi, CliffWalking, ...) as FiniteMDPs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._validation import check_sparse
from ..errors import DependencyNotInstalled, InvalidArgumentError, InvalidModelError
from ..models import FiniteMDP
from ._common import build_mdp, check_model_size, csr_kernel, use_sparse

__all__ = ["from_gymnasium"]


def _discrete_n(space: Any) -> int | None:
    n = getattr(space, "n", None)
    try:
        return None if n is None else int(n)
    except (TypeError, ValueError):
        return None


def from_gymnasium(env: Any, *, gamma: float = 0.99, sparse: bool | None = None) -> FiniteMDP:
    r"""The finite MDP behind a gymnasium toy-text environment, read from its ``P`` table.

    Toy-text environments expose their exact dynamics as ``env.unwrapped.P``, a dict
    ``P[s][a] = [(prob, next_state, reward, terminated), ...]``. This reads it into

    .. math::
        P(s' \mid s, a) = \sum_{(p, s', r, \cdot) \in \mathtt{P}[s][a]} p, \qquad
        R(s, a) = \sum_{(p, s'', r, \cdot) \in \mathtt{P}[s][a]} p\, r,

    summing duplicate outcomes, so ``R`` is the expected immediate reward (including the reward
    paid on a terminating transition, e.g. FrozenLake's +1 for reaching the goal).

    **Termination convention.** An episode that terminates stops collecting reward. Here a
    terminating transition keeps its ``next_state`` index, and every state that is the target of
    at least one transition flagged ``terminated`` is made *absorbing*:
    :math:`P(s \mid s, a) = 1`, :math:`R(s, a) = 0` for all ``a``, whatever the table lists for
    it. Then the discounted value of any policy equals the expected discounted episodic return.
    (This is exact when terminal states are entered only through terminating transitions, as in
    FrozenLake, CliffWalking and Taxi from reachable states; a state that the table enters both
    with and without the flag is treated as terminal.) ``truncated`` time limits (``TimeLimit``
    wrappers) are ignored: the model is the infinite-horizon discounted one.

    Parameters
    ----------
    env : gymnasium.Env or str
        An environment (wrappers are looked through via ``env.unwrapped``) or a registered id
        such as ``"FrozenLake-v1"``, which is passed to ``gymnasium.make``.
    gamma : float
        Discount factor in ``[0, 1)``.
    sparse : bool, optional
        CSR if true, dense if false; ``None`` means sparse when ``S > 2000``.

    Returns
    -------
    FiniteMDP
        ``d0`` from the environment's ``initial_state_distrib`` when it has one (FrozenLake,
        Taxi, CliffWalking do), uniform otherwise.

    Raises
    ------
    DependencyNotInstalled
        If gymnasium is not installed (``pip install 'theory_rl[gym]'``).
    InvalidModelError
        If the environment has no ``P`` table, its spaces are not discrete, or the table is
        malformed (message names the entry).

    References
    ----------
    M. Towers et al., "Gymnasium: a standard interface for reinforcement learning environments",
    2024, arXiv:2407.17032 (toy-text environments and their ``P`` tables).

    Examples
    --------
    >>> import gymnasium as gym
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.from_gymnasium(gym.make('FrozenLake-v1'), gamma=0.99)
    >>> mdp.n_states, mdp.n_actions
    (16, 4)
    >>> print(f"{tabular.policy_iteration(mdp).v[0]:.4f}")
    0.5420
    """
    try:
        import gymnasium
    except ImportError:
        raise DependencyNotInstalled("gymnasium", "gym") from None
    sparse = check_sparse(sparse)
    if isinstance(env, str):
        try:
            env = gymnasium.make(env)
        except gymnasium.error.Error as exc:  # unknown id, missing extra, bad version
            raise InvalidArgumentError(f"env = {env!r} is not a gymnasium environment: {exc}") from None
    base = getattr(env, "unwrapped", env)
    table = getattr(base, "P", None)
    if not isinstance(table, Mapping):
        raise InvalidModelError(
            f"env {type(base).__name__} has no transition table env.unwrapped.P "
            "(only toy-text style environments with a P dict can be imported)"
        )
    S = _discrete_n(getattr(base, "observation_space", None))
    if S is None:
        S = len(table)
    A = _discrete_n(getattr(base, "action_space", None))
    if A is None:
        first = next(iter(table.values()), {})
        A = len(first)
    if S < 1 or A < 1:
        raise InvalidModelError(f"env has {S} states and {A} actions; both must be >= 1")
    if len(table) != S:
        raise InvalidModelError(f"env.unwrapped.P has {len(table)} states, observation_space.n = {S}")
    # the outcome lists are the table's own size; the dense P (unless sparse) is what is new
    check_model_size("from_gymnasium", S, A, sparse=use_sparse(sparse, S, 2000), entries_per_row=1)

    rows: list[int] = []
    cols: list[int] = []
    probs: list[float] = []
    rewards: list[float] = []
    terminal = np.zeros(S, dtype=bool)
    for s in range(S):
        if s not in table:
            raise InvalidModelError(f"env.unwrapped.P has no entry for state {s}")
        by_action = table[s]
        for a in range(A):
            if a not in by_action:
                raise InvalidModelError(f"env.unwrapped.P[{s}] has no entry for action {a}")
            row = s * A + a
            for k, outcome in enumerate(by_action[a]):
                try:
                    p, nxt_value, r, done = outcome
                    nxt = int(nxt_value)
                    if nxt != nxt_value:  # 2.5 was truncated to state 2
                        raise ValueError
                    p = float(p)
                    r = float(r)
                except (TypeError, ValueError, OverflowError):
                    raise InvalidModelError(
                        f"env.unwrapped.P[{s}][{a}][{k}] = {outcome!r} is not (prob, next_state, reward, terminated)"
                    ) from None
                if not 0 <= nxt < S:
                    raise InvalidModelError(f"env.unwrapped.P[{s}][{a}][{k}] has next_state {nxt} outside [0, {S})")
                rows.append(row)
                cols.append(nxt)
                probs.append(p)
                rewards.append(r)
                if done:
                    terminal[nxt] = True

    rows_a = np.asarray(rows, dtype=np.int64)
    cols_a = np.asarray(cols, dtype=np.int64)
    p_a = np.asarray(probs, dtype=np.float64)
    r_a = np.asarray(rewards, dtype=np.float64)
    R = np.bincount(rows_a, weights=p_a * r_a, minlength=S * A).reshape(S, A)

    keep = ~terminal[rows_a // A]
    t = np.flatnonzero(terminal)
    t_rows = (t[:, None] * A + np.arange(A)[None, :]).ravel()
    P = csr_kernel(
        np.concatenate([rows_a[keep], t_rows]),
        np.concatenate([cols_a[keep], np.repeat(t, A)]),
        np.concatenate([p_a[keep], np.ones(t_rows.size)]),
        S,
        A,
    )
    R[terminal] = 0.0

    d0 = None
    isd = getattr(base, "initial_state_distrib", None)
    if isd is not None:
        isd = np.asarray(isd, dtype=np.float64)
        if isd.shape == (S,) and np.all(isd >= 0) and abs(isd.sum() - 1.0) <= 1e-8:
            d0 = isd / isd.sum()
    return build_mdp(P, R, gamma, sparse=use_sparse(sparse, S, 2000), d0=d0)
