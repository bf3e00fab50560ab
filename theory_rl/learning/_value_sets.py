r"""Model-based versus model-free value sets on deterministic factored MDPs.

Young, Ramesh, Kirsch & Schmidhuber 2023, "The benefits of model-based generalization in
reinforcement learning", ICML 2023, arXiv:2211.02222. A hypothesis class ``M`` of deterministic
transition functions (rewards known) induces the value class ``Q = {Q*_M : M in M}``. After a
data set ``D`` of observed transitions ``(s, a, r, s')``:

.. math::
    \mathcal Q^{MB}_D = \{Q^*_M : M \in \mathcal M,\ M(s, a) = s' \ \forall (s, a, s') \in D\},
    \qquad
    \mathcal Q^{MF}_D = \{Q \in \mathcal Q : Q(s,a) = r(s,a) + \gamma \max_{a'} Q(s', a') \ \forall (s,a,s') \in D\},

and ``Q^MB_D ⊆ Q^MF_D`` (a model consistent with ``D`` has a ``Q*`` that satisfies Bellman on
``D``; a ``Q`` that satisfies Bellman on ``D`` may be optimal only for models that contradict ``D``).

The class here: ``n`` binary factors (state ``s = sum_i x_i 2^i``), and for each factor ``i`` and
action ``a`` any Boolean function of the factors ``parents[i]`` gives the next ``x_i``:
``prod_{i, a} 2^(2^|parents[i]|)`` models, enumerated as arrays (no Python loop per model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._iterative import Timer
from .._result import Result
from .._validation import check_allocation, check_choice, check_int, check_real
from ..errors import InvalidArgumentError, InvalidModelError

__all__ = ["FactoredModelClass", "ValueSetResult", "factored_model_class", "value_sets"]


@dataclass(frozen=True, repr=False, eq=False)
class FactoredModelClass:
    """All deterministic factored transition functions with the given parent sets.

    Attributes
    ----------
    n_factors, n_actions : int
    parents : tuple of tuple of int
        ``parents[i]``: the factors the next value of factor ``i`` reads.
    n_choices : ndarray of int64, shape (n_factors,)
        Boolean functions per ``(i, a)``: ``2 ** (2 ** len(parents[i]))``.

    Examples
    --------
    >>> from theory_rl import learning
    >>> cls = learning.factored_model_class(2, 2)      # two binary factors, two actions
    >>> type(cls).__name__, cls.n_models
    ('FactoredModelClass', 256)
    """

    n_factors: int
    n_actions: int
    parents: tuple[tuple[int, ...], ...]
    n_choices: np.ndarray

    @property
    def n_states(self) -> int:
        """``2 ** n_factors``."""
        return 2**self.n_factors

    @property
    def n_models(self) -> int:
        """``prod_{i, a} n_choices[i]``."""
        return int(np.prod(self.n_choices.astype(float) ** self.n_actions))

    def __repr__(self) -> str:
        return f"FactoredModelClass(n_factors={self.n_factors}, n_actions={self.n_actions}, n_models={self.n_models})"

    def _parent_index(self) -> np.ndarray:
        """``idx[i, s]``: the parents' bits of ``s`` read as an integer (row of the truth table)."""
        states = np.arange(self.n_states)
        idx = np.zeros((self.n_factors, self.n_states), dtype=np.int64)
        for i, pa in enumerate(self.parents):
            for j, p in enumerate(pa):
                idx[i] |= ((states >> p) & 1) << j
        return idx

    def next_states(self, choices: np.ndarray) -> np.ndarray:
        """``next[m, s, a]`` for function choices ``choices[m, i, a]`` (truth tables as integers).

        Examples
        --------
        >>> cls = factored_model_class(1, 1)          # one bit: 0, 1, copy, negate (truth tables 0..3)
        >>> cls.next_states(np.array([[[2]], [[1]]]))[:, :, 0].tolist()
        [[0, 1], [1, 0]]
        """
        c = np.asarray(choices, dtype=np.int64)
        idx = self._parent_index()
        bits = (c[:, :, None, :] >> idx[None, :, :, None]) & 1  # (M, n, S, A)
        weights = (1 << np.arange(self.n_factors, dtype=np.int64))[None, :, None, None]
        return (bits * weights).sum(axis=1)


def factored_model_class(n_factors: int, n_actions: int, *, parents: tuple[tuple[int, ...], ...] | None = None
                         ) -> FactoredModelClass:
    """The class of deterministic factored transition functions (Young et al. 2023, arXiv:2211.02222).

    ``parents=None`` lets each factor read only itself (4 functions per ``(i, a)``: constant 0,
    constant 1, copy, negate).

    Examples
    --------
    >>> factored_model_class(2, 3).n_models
    4096
    >>> factored_model_class(2, 2, parents=((0, 1), (1,))).n_models
    4096
    """
    n = check_int(n_factors, "n_factors", minimum=1, maximum=16)
    A = check_int(n_actions, "n_actions", minimum=1)
    pa = tuple((i,) for i in range(n)) if parents is None else tuple(tuple(int(p) for p in row) for row in parents)
    if len(pa) != n or any(not row or min(row) < 0 or max(row) >= n or len(set(row)) != len(row) for row in pa):
        raise InvalidModelError(f"parents = {parents!r} must list, for each of the {n} factors, distinct factors in [0, {n})")
    if max(len(row) for row in pa) > 4:
        raise InvalidModelError("parents: at most 4 parents per factor (2^16 Boolean functions each)")
    n_choices = np.array([2 ** (2 ** len(row)) for row in pa], dtype=np.int64)
    return FactoredModelClass(n_factors=n, n_actions=A, parents=pa, n_choices=n_choices)


@dataclass(frozen=True, repr=False, eq=False)
class ValueSetResult(Result):
    r"""The model-based and model-free value sets of :func:`value_sets`.

    Attributes
    ----------
    mb : ndarray, shape (n_mb, S, A)
        Distinct ``Q*_M`` of the models consistent with the data (rounded to ``decimals``, sorted).
    mf : ndarray, shape (n_mf, S, A)
        Distinct ``Q`` of the class that satisfy Bellman on the data.
    n_models : int
        Models in the class (``0`` for ``method="propagate"``, which never enumerates the class).
    n_consistent : int
        Models consistent with the data.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import learning
    >>> cls = learning.factored_model_class(2, 2)
    >>> truth = cls.next_states(np.array([[[2, 3], [2, 1]]]))[0]
    >>> r = np.zeros((4, 2)); r[3] = 1.0
    >>> res = learning.value_sets(cls, r, np.array([[0, 1, truth[0, 1]], [1, 0, truth[1, 0]]]), gamma=0.5)
    >>> type(res).__name__, res.mb_subset_of_mf
    ('ValueSetResult', True)
    """

    mb: np.ndarray
    mf: np.ndarray
    n_models: int
    n_consistent: int

    _repr_fields = ("method", "n_models", "n_consistent", "elapsed")

    @property
    def mb_subset_of_mf(self) -> bool:
        """``mb ⊆ mf`` (as sets of rounded tables)."""
        return _keys(self.mb) <= _keys(self.mf)


def _keys(qs: np.ndarray) -> set[bytes]:
    return {q.tobytes() for q in np.ascontiguousarray(qs)}


def _evaluate(nxt_pi: np.ndarray, r_pi: np.ndarray, gamma: float) -> np.ndarray:
    """``V^pi`` of deterministic policies on deterministic models, ``(M, S)``, by pointer doubling:
    after ``j`` rounds ``acc`` sums the first ``2^j`` discounted rewards from each state and
    ``ptr`` is the state reached; stops when the tail ``gamma^(2^j) / (1 - gamma)`` is below
    1e-17 relative to the largest reward."""
    acc, ptr, disc = r_pi.copy(), nxt_pi.copy(), gamma
    while disc > 1e-17 * (1.0 - gamma):
        acc = acc + disc * np.take_along_axis(acc, ptr, axis=1)
        ptr = np.take_along_axis(ptr, ptr, axis=1)
        disc = disc * disc
    return acc


def _optimal_q(next_state: np.ndarray, reward: np.ndarray, gamma: float) -> np.ndarray:
    """``Q*`` of every model at once, ``(M, S, A)``: policy iteration, each evaluation exact up
    to rounding (:func:`_evaluate`); a state keeps its action unless another is better by 1e-12."""
    M, S, A = next_state.shape
    states = np.arange(S)[None, :]
    policy = np.zeros((M, S), dtype=np.int64)
    flat = next_state.reshape(M, S * A)
    for _ in range(S * A + 2):
        nxt_pi = np.take_along_axis(next_state, policy[:, :, None], axis=2)[:, :, 0]
        v = _evaluate(nxt_pi, reward[states, policy], gamma)
        q = reward[None] + gamma * np.take_along_axis(v, flat, axis=1).reshape(M, S, A)
        current = np.take_along_axis(q, policy[:, :, None], axis=2)[:, :, 0]
        better = q.max(axis=2) > current + 1e-12
        if not better.any():
            return q
        policy = np.where(better, q.argmax(axis=2), policy)
    raise AssertionError("policy iteration did not stabilise")  # pragma: no cover - PI is finite


def _unique(qs: np.ndarray, decimals: int) -> np.ndarray:
    if not len(qs):
        return qs
    rounded = np.round(qs, decimals) + 0.0  # -0.0 -> 0.0
    return np.unique(rounded, axis=0)


def value_sets(
    model_class: FactoredModelClass | np.ndarray,
    reward: np.ndarray,
    transitions: np.ndarray,
    *,
    gamma: float = 0.9,
    method: str = "enumerate",
    decimals: int = 8,
    chunk_size: int = 200_000,
) -> ValueSetResult:
    r"""Model-based and Bellman-consistent (model-free) value sets after the data ``transitions``.

    Young, Ramesh, Kirsch & Schmidhuber (2023, arXiv:2211.02222), the set-inclusion statement of
    their theorem: with ``M_D`` the models of ``model_class`` that reproduce every observed
    ``(s, a, s')``, ``Q^MB_D = {Q*_M : M in M_D}`` and ``Q^MF_D`` the ``Q*_M`` of the whole class
    that satisfy ``Q(s, a) = r(s, a) + gamma max_a' Q(s', a')`` on every observed transition; then
    ``Q^MB_D ⊆ Q^MF_D``. Rewards ``reward[s, a]`` are known (the class covers transitions only).

    - ``method="enumerate"``: every model's next-state table and ``Q*`` (policy iteration vectorised
      over models, in chunks of ``chunk_size``), filtered for consistency and for Bellman on ``D``.
    - ``method="propagate"``: ``M_D`` without enumerating the class, by constraint propagation:
      the constraints of ``D`` are per ``(factor, action)``, so ``M_D`` is the product of the truth
      tables each ``(i, a)`` still allows; ``mb`` from that product. ``mf`` needs the whole class
      and is computed by enumeration as above.

    ``Q`` tables are compared after rounding to ``decimals`` (policy iteration with exact evaluation).
    ``model_class`` may also be an explicit finite class, an integer array ``next[m, s, a]`` of
    deterministic next states (e.g. the layouts of :func:`theory_rl.envs.proc_maze`); it is
    enumerated (``method="enumerate"`` only).

    Implemented: the theorem's two sets on deterministic factored classes. Not implemented: the
    paper's stochastic and neural-network illustrations.

    Parameters
    ----------
    model_class : FactoredModelClass or ndarray of int, shape (M, S, A)
    reward : ndarray, shape (S, A)
    transitions : ndarray of int, shape (n, 3)
        Observed ``(s, a, s')`` rows (may be empty).
    gamma : float
    method : {"enumerate", "propagate"}
    decimals : int
    chunk_size : int
        Models per vectorised block.

    Returns
    -------
    ValueSetResult

    Examples
    --------
    >>> cls = factored_model_class(2, 2)
    >>> truth = cls.next_states(np.array([[[2, 3], [2, 1]]]))[0]       # action 1 toggles factor 0
    >>> r = np.zeros((4, 2)); r[3] = 1.0
    >>> data = np.array([[0, 1, truth[0, 1]], [1, 0, truth[1, 0]]])
    >>> res = value_sets(cls, r, data, gamma=0.5)
    >>> len(res.mb), len(res.mf), res.mb_subset_of_mf
    (14, 21, True)
    """
    if isinstance(model_class, FactoredModelClass):
        S, A = model_class.n_states, model_class.n_actions
    else:
        model_class = _explicit_class(model_class)
        S, A = model_class.shape[1:]
    R = np.asarray(reward, dtype=float)
    if R.shape != (S, A) or not np.isfinite(R).all():
        raise InvalidModelError(f"reward must be a finite (S, A) = {(S, A)} array, got shape {R.shape}")
    D = np.asarray(transitions).reshape(-1, 3)
    if len(D) and (not np.issubdtype(D.dtype, np.integer) or (D < 0).any() or (D[:, [0, 2]] >= S).any() or (D[:, 1] >= A).any()):
        raise InvalidModelError(f"transitions must be integer (s, a, s') rows with s, s' < {S} and a < {A}")
    D = D.astype(np.int64)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    check_choice(method, "method", ("enumerate", "propagate"))
    if method == "propagate" and not isinstance(model_class, FactoredModelClass):
        raise InvalidArgumentError("method='propagate' needs a FactoredModelClass (an explicit class is enumerated)")
    decimals = check_int(decimals, "decimals", minimum=1, maximum=15)
    chunk = check_int(chunk_size, "chunk_size", minimum=1)
    with Timer() as timer:
        n_models = len(model_class) if isinstance(model_class, np.ndarray) else model_class.n_models
        check_allocation(8.0 * min(n_models, chunk) * S * A * 4, "value_sets block")
        mb_parts, mf_parts, n_consistent = [], [], 0
        for nxt in _next_state_blocks(model_class, chunk):
            q = _optimal_q(nxt, R, gamma)
            if len(D):
                consistent = (nxt[:, D[:, 0], D[:, 1]] == D[:, 2]).all(axis=1)
                target = R[D[:, 0], D[:, 1]] + gamma * q[:, D[:, 2], :].max(axis=2)
                bellman = (np.abs(q[:, D[:, 0], D[:, 1]] - target) <= 1e-9).all(axis=1)
            else:
                consistent = bellman = np.ones(len(q), dtype=bool)
            n_consistent += int(consistent.sum())
            if method == "enumerate":
                mb_parts.append(_unique(q[consistent], decimals))
            mf_parts.append(_unique(q[bellman], decimals))
        if method == "propagate":
            choices = _consistent_choices(model_class, D)
            n_consistent = len(choices)
            mb_parts = [_unique(_optimal_q(model_class.next_states(choices), R, gamma), decimals)] if len(choices) else []
        empty = np.zeros((0, S, A))
        mb = _unique(np.concatenate(mb_parts), decimals) if mb_parts else empty
        mf = _unique(np.concatenate(mf_parts), decimals) if mf_parts else empty
    return ValueSetResult(mb=mb, mf=mf, n_models=n_models, n_consistent=n_consistent, method=f"value_sets:{method}",
                          params={"gamma": gamma, "method": method, "decimals": decimals, "chunk_size": chunk},
                          elapsed=timer.elapsed)


def _explicit_class(tables: object) -> np.ndarray:
    """An explicit class ``next[m, s, a]``, validated: integers in ``[0, S)``."""
    nxt = np.asarray(tables)
    if nxt.ndim != 3 or not len(nxt) or not np.issubdtype(nxt.dtype, np.integer):
        raise InvalidModelError(f"model_class must be a FactoredModelClass or an integer (M, S, A) array, got {nxt.dtype} {nxt.shape}")
    if (nxt < 0).any() or (nxt >= nxt.shape[1]).any():
        raise InvalidModelError(f"model_class: next states must lie in [0, {nxt.shape[1]})")
    return nxt.astype(np.int64)


def _next_state_blocks(model_class: FactoredModelClass | np.ndarray, chunk: int):
    """``next[m, s, a]`` of the class in blocks of at most ``chunk`` models."""
    if isinstance(model_class, np.ndarray):
        for start in range(0, len(model_class), chunk):
            yield model_class[start:start + chunk]
        return
    for choices in _chunks(model_class, chunk):
        yield model_class.next_states(choices)


def _chunks(model_class: FactoredModelClass, chunk: int):
    """The class's ``choices`` in blocks of at most ``chunk`` models (mixed-radix decoding)."""
    radices = np.repeat(model_class.n_choices, model_class.n_actions)
    total = model_class.n_models
    for start in range(0, total, chunk):
        idx = np.arange(start, min(start + chunk, total), dtype=np.int64)
        digits = np.empty((len(idx), len(radices)), dtype=np.int64)
        for j in range(len(radices) - 1, -1, -1):
            digits[:, j] = idx % radices[j]
            idx //= radices[j]
        yield digits.reshape(-1, model_class.n_factors, model_class.n_actions)


def _consistent_choices(model_class: FactoredModelClass, D: np.ndarray) -> np.ndarray:
    """Constraint propagation: the truth tables each ``(i, a)`` allows given ``D``, and their product."""
    idx = model_class._parent_index()
    allowed = []
    for i in range(model_class.n_factors):
        tables = np.arange(model_class.n_choices[i], dtype=np.int64)
        for a in range(model_class.n_actions):
            rows = D[D[:, 1] == a]
            ok = np.ones(len(tables), dtype=bool)
            for s, _, s_next in rows:
                ok &= ((tables >> idx[i, s]) & 1) == ((s_next >> i) & 1)
            allowed.append(tables[ok])
    if any(len(x) == 0 for x in allowed):
        return np.zeros((0, model_class.n_factors, model_class.n_actions), dtype=np.int64)
    size = int(np.prod([len(x) for x in allowed], dtype=float))
    if size > 50_000_000:
        raise InvalidArgumentError(f"method='propagate': {size} consistent models is more than this enumeration handles")
    grid = np.stack(np.meshgrid(*allowed, indexing="ij"), axis=-1).reshape(-1, len(allowed))
    return grid.reshape(-1, model_class.n_factors, model_class.n_actions)
