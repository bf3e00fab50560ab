r"""Generative-model access to a :class:`~theory_rl.models.FiniteMDP` and the empirical model.

A *generative model* (Kearns & Singh 1999; Azar, Munos & Kappen 2013) returns, for any query
``(s, a)``, an independent next state ``s' ~ P(. | s, a)``. :func:`sample_transitions` draws
``n`` of them for every pair at once; :func:`empirical_model` turns them into
``P_hat(s' | s, a) = #{i : s'_i = s'} / n``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._deprecation import renamed_arguments
from .._validation import check_bool, check_int, rng_from_seed
from ..errors import InvalidModelError
from ..models import FiniteMDP

__all__ = ["TransitionSampler", "empirical_model", "sample_transitions"]

_RESOLUTION = 1 << 40  # probabilities are compared on a grid of 2**-40 (mass below that is dropped)
_DENSE_LIMIT = 20_000_000  # empirical models with more S*A*S entries than this are built sparse


def check_learnable(mdp: FiniteMDP) -> None:
    """Learners need every action available (a generative model cannot sample an empty row)."""
    if not isinstance(mdp, FiniteMDP):
        raise InvalidModelError(f"expected a FiniteMDP, got {type(mdp).__name__}")
    if mdp.action_mask is not None and not mdp.action_mask.all():
        s, a = (int(i) for i in np.argwhere(~mdp.action_mask)[0])
        raise InvalidModelError(f"action_mask[{s}, {a}] is False: the sample-based learners need every action available")


class TransitionSampler:
    r"""Inverse-CDF sampler for every row of ``P`` at once: the one implementation of
    ``s' ~ P(. | s, a)`` in the library (the learners and :func:`theory_rl.approx.sample_next_states`
    both draw through it).

    The cumulative probabilities of row ``r = s*A + a`` are stored as integers on a ``2**-40``
    grid, shifted by ``r * 2**40``, in one flat sorted array; one ``searchsorted`` then draws a
    next state for every row (and every batch) together. Zero-probability states are never drawn
    (equal integers); a positive probability below ``2**-40`` of its row's mass is rounded to zero.
    Dense and CSR models share the layout (a dense row is a CSR row with all ``S`` columns), so
    both give identical draws from one seed.

    Parameters
    ----------
    mdp : FiniteMDP
        Dense ``P[s, a, s']`` or CSR ``(S*A, S)``; at most ``2**23`` rows ``S*A``.
    allow_masked : bool, keyword-only
        ``False`` (default, the learners): a model with an unavailable action raises
        :class:`~theory_rl.errors.InvalidModelError`, since a generative model cannot sample an
        empty row. ``True`` (batched planning, which gives those actions reward ``-inf``): the
        rows of unavailable actions, all-zero or not, are not sampled; every draw from them is the
        placeholder state ``0``, which the caller must ignore.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, learning
    >>> sampler = learning.TransitionSampler(envs.chain(3))
    >>> rng = np.random.default_rng(0)
    >>> int(sampler.step(0, 1, rng)) in (0, 1, 2)
    True
    """

    def __init__(self, mdp: FiniteMDP, *, allow_masked: bool = False) -> None:
        if not check_bool(allow_masked, "allow_masked"):
            check_learnable(mdp)
        elif not isinstance(mdp, FiniteMDP):
            raise InvalidModelError(f"expected a FiniteMDP, got {type(mdp).__name__}")
        S, A = mdp.n_states, mdp.n_actions
        self.n_states, self.n_actions = S, A
        n_rows = S * A
        if n_rows >= (1 << 23):
            raise InvalidModelError(f"S*A = {n_rows} is too large for the generative sampler (limit 2**23 rows)")
        masked = None if mdp.action_mask is None or mdp.action_mask.all() else ~mdp.action_mask.ravel()
        if mdp.is_sparse or masked is not None:
            P = sp.csr_matrix(mdp.transition_matrix)  # a copy: the masked rows are replaced below
            if masked is not None:  # row r of an unavailable action -> point mass on state 0
                keep = sp.diags((~masked).astype(np.float64))
                placeholder = sp.csr_matrix((np.ones(int(masked.sum())), (np.flatnonzero(masked),
                                             np.zeros(int(masked.sum()), dtype=np.int64))), shape=P.shape)
                P = sp.csr_matrix(keep @ P + placeholder)
                P.sort_indices()
            probs, self._columns, indptr = P.data, P.indices.astype(np.int64), P.indptr.astype(np.int64)
        else:
            probs = np.asarray(mdp.P).reshape(n_rows, S).ravel()
            self._columns = np.tile(np.arange(S, dtype=np.int64), n_rows)
            indptr = np.arange(0, n_rows * S + 1, S, dtype=np.int64)
        lengths = np.diff(indptr)
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
        csum = np.cumsum(probs)
        start = np.concatenate(([0.0], csum))[indptr[:-1]]
        within = csum - np.repeat(start, lengths)
        within /= np.repeat(within[indptr[1:] - 1], lengths)  # each row ends at exactly 1
        grid = np.minimum(np.floor(within * _RESOLUTION), _RESOLUTION).astype(np.int64)
        self._cdf = grid + rows * _RESOLUTION
        self._indptr = indptr

    def draw(self, n: int, rng: np.random.Generator, *, batch: int | None = None) -> np.ndarray:
        """``n`` independent next states for every pair.

        Returns an int64 array of shape ``(S, A, n)``, or ``(batch, S, A, n)`` for ``batch``
        independent data sets. The uniforms are drawn in C order, so ``draw(n, rng)`` equals
        ``draw(n, rng, batch=1)[0]`` for equal generator states.
        """
        n_rows = self.n_states * self.n_actions
        shape = (n_rows, n) if batch is None else (batch, n_rows, n)
        u = rng.integers(0, _RESOLUTION, size=shape, dtype=np.int64)
        u += (np.arange(n_rows, dtype=np.int64) * _RESOLUTION)[:, None]
        pos = np.searchsorted(self._cdf, u.ravel(), side="right")
        return self._columns[pos].reshape(shape[:-2] + (self.n_states, self.n_actions, n))

    def step(self, s: int, a: int, rng: np.random.Generator) -> int:
        """One next state from ``P(. | s, a)``."""
        r = s * self.n_actions + a
        lo, hi = self._indptr[r], self._indptr[r + 1]
        u = int(rng.integers(0, _RESOLUTION)) + r * _RESOLUTION
        return int(self._columns[lo + np.searchsorted(self._cdf[lo:hi], u, side="right")])


@renamed_arguments(positional=("n_per_pair", "seed"))
def sample_transitions(mdp: FiniteMDP, *, n_per_pair: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
    r"""Query a generative model ``n`` times at every state-action pair.

    .. math::
        s'_{s,a,i} \overset{\text{iid}}{\sim} P(\cdot \mid s, a), \qquad i = 1, \dots, n,

    independently across pairs, as in the generative-model setting of Azar, Munos & Kappen
    (2013) and Agarwal, Kakade & Yang (2020, arXiv:1906.03804).

    Parameters
    ----------
    mdp : FiniteMDP
        Dense or CSR; every action must be available.
    n_per_pair : int
        Samples per pair, ``n >= 1``. Keyword-only, as is ``seed`` (passing them by position
        still works until 0.3.0, with a warning).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray of int64, shape (S, A, n)
        ``out[s, a, i]`` is the ``i``-th next state drawn for ``(s, a)``.

    Examples
    --------
    >>> from theory_rl import envs, learning
    >>> mdp = envs.chain(3, gamma=0.9)
    >>> samples = learning.sample_transitions(mdp, n_per_pair=4, seed=0)
    >>> samples.shape
    (3, 2, 4)
    """
    n = check_int(n_per_pair, "n_per_pair", minimum=1)
    return TransitionSampler(mdp).draw(n, rng_from_seed(seed))


def empirical_model(mdp: FiniteMDP, next_states: np.ndarray) -> FiniteMDP:
    r"""The empirical MDP ``M_hat`` built from generative samples.

    .. math::
        \hat P(s' \mid s, a) = \frac{1}{n} \sum_{i=1}^n \mathbb 1\{s'_{s,a,i} = s'\},

    with the rewards, discount and initial distribution of ``mdp`` (rewards are known, as in the
    papers). Dense when ``mdp`` is dense and ``S*A*S`` is at most 2e7, else CSR.

    Parameters
    ----------
    mdp : FiniteMDP
    next_states : ndarray of int, shape (S, A, n)
        As returned by :func:`sample_transitions`.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, learning
    >>> mdp = envs.chain(3, gamma=0.9)
    >>> samples = learning.sample_transitions(mdp, n_per_pair=1000, seed=0)
    >>> m_hat = learning.empirical_model(mdp, samples)
    >>> bool(np.abs(m_hat.P - mdp.P).max() < 0.1)
    True
    """
    check_learnable(mdp)
    S, A = mdp.n_states, mdp.n_actions
    x = np.asarray(next_states)
    if x.ndim != 3 or x.shape[:2] != (S, A) or x.shape[2] < 1:
        raise InvalidModelError(f"next_states must have shape ({S}, {A}, n) with n >= 1, got {x.shape}")
    if not np.issubdtype(x.dtype, np.integer):
        raise InvalidModelError(f"next_states must hold integer state indices, got dtype {x.dtype}")
    if x.min() < 0 or x.max() >= S:
        idx = tuple(int(i) for i in np.argwhere((x < 0) | (x >= S))[0])
        raise InvalidModelError(f"next_states[{idx[0]}, {idx[1]}, {idx[2]}] = {int(x[idx])} is not a state in [0, {S})")
    n = x.shape[2]
    rows = np.repeat(np.arange(S * A, dtype=np.int64), n)
    cols = x.reshape(-1).astype(np.int64)
    if not mdp.is_sparse and S * A * S <= _DENSE_LIMIT:
        counts = np.bincount(rows * S + cols, minlength=S * A * S).astype(np.float64)
        P_hat: np.ndarray | sp.csr_matrix = (counts / n).reshape(S, A, S)
    else:
        P_hat = sp.csr_matrix((np.full(rows.size, 1.0 / n), (rows, cols)), shape=(S * A, S))
        P_hat.sum_duplicates()
    return FiniteMDP(P_hat, np.asarray(mdp.R), mdp.gamma, d0=mdp.d0, state_names=mdp.state_names,
                     action_names=mdp.action_names)
