r"""The forward algorithm: probability of an observation sequence under an action intervention.

With Cassandra's conventions (``T[s, a, s']``, ``O[a, s', o]``) a trajectory of length ``H`` is
``tau_H = (a_1, o_1, ..., a_H, o_H)`` and, from the unnormalised beliefs

.. math::
    \bar b_0 = b_0, \qquad
    \bar b_t = \operatorname{diag}(O[a_t, :, o_t]) \, T_{a_t}^\top \bar b_{t-1}, \qquad
    \bar b_t[s] = \Pr(o_{1:t}, s_t = s \mid \mathrm{do}\, a_{1:t}),

the probability is ``P(o_{1:H} | do a_{1:H}) = 1^T b̄_H``. It is the independent oracle of every
PSR test: it touches only the POMDP's own arrays.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..errors import InvalidModelError
from ..models import POMDP

__all__ = ["trajectory_probability", "unnormalized_beliefs", "enumerate_trajectories"]


def _as_sequences(model: POMDP, actions: np.ndarray, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Check two integer arrays of shape ``(H,)`` or ``(n, H)``; return them 2-D plus whether the
    input was a single sequence."""
    a = np.asarray(actions)
    o = np.asarray(observations)
    if a.shape != o.shape:
        raise InvalidModelError(f"actions has shape {a.shape} but observations has shape {o.shape}")
    single = a.ndim == 1
    if a.ndim not in (1, 2):
        raise InvalidModelError(f"actions must have shape (H,) or (n, H), got {a.shape}")
    for name, arr, bound in (("actions", a, model.n_actions), ("observations", o, model.n_observations)):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise InvalidModelError(f"{name} must hold integer indices, got dtype {arr.dtype}")
        bad = (arr < 0) | (arr >= bound)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InvalidModelError(f"{name}{list(idx)} = {int(arr[idx])} is outside [0, {bound})")
    a2 = np.atleast_2d(a).astype(np.intp, copy=False)
    o2 = np.atleast_2d(o).astype(np.intp, copy=False)
    if single:
        a2, o2 = a2.reshape(1, -1), o2.reshape(1, -1)
    return a2, o2, single


def unnormalized_beliefs(model: POMDP, actions: np.ndarray, observations: np.ndarray) -> np.ndarray:
    r"""The unnormalised belief ``b̄_H[s] = P(o_{1:H}, s_H = s | do a_{1:H})`` after each sequence.

    Parameters
    ----------
    model : POMDP
        Dense or CSR ``T``.
    actions, observations : array_like of int, shape (n, H) or (H,)
        ``actions[i, t]`` is ``a_{t+1}`` of sequence ``i``; ``observations[i, t]`` the ``o_{t+1}``
        it produced.

    Returns
    -------
    ndarray, shape (n, S) (or (S,) for a single sequence)

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> u = pomdp.unnormalized_beliefs(tiger, np.array([0, 0]), np.array([0, 0]))
    >>> np.round(u, 4)
    array([0.3612, 0.0112])
    >>> print(f"{u.sum():.4f}")
    0.3725
    """
    a, o, single = _as_sequences(model, actions, observations)
    n, H = a.shape
    b = np.broadcast_to(model.b0, (n, model.n_states)).copy()
    pushes = model.transpose_by_action  # T_a^T, dense or CSR
    for t in range(H):
        for act in range(model.n_actions):
            rows = np.flatnonzero(a[:, t] == act)
            if rows.size == 0:
                continue
            moved = np.asarray(pushes[act] @ b[rows].T).T  # (k, S): b T_a
            b[rows] = moved * model.O[act][:, o[rows, t]].T
    return b[0] if single else b


def trajectory_probability(model: POMDP, actions: np.ndarray, observations: np.ndarray) -> np.ndarray | float:
    r"""``P(o_{1:H} | do a_{1:H})`` from ``b0`` by the forward algorithm, for many sequences at once.

    .. math:: \Pr(o_{1:H} \mid \mathrm{do}\, a_{1:H}) = \mathbf 1^\top
        \prod_{t=H}^{1} \operatorname{diag}(O[a_t, :, o_t]) \, T_{a_t}^\top \, b_0 .

    Parameters
    ----------
    model : POMDP
    actions, observations : array_like of int, shape (n, H) or (H,)
        Sequences of equal length ``H`` (``H = 0`` gives probability 1).

    Returns
    -------
    ndarray of shape (n,), or float for a single sequence.

    Notes
    -----
    Cost ``O(n H S^2)`` dense, ``O(n H nnz(T) / A)`` sparse; the loop is over time and actions,
    never over sequences. For any fixed action sequence the probabilities of all ``|O|^H``
    observation sequences sum to 1 (tested).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> tiger = pomdp.load_problem('tiger.95.POMDP')
    >>> print(f"{pomdp.trajectory_probability(tiger, np.array([0, 0]), np.array([0, 0])):.4f}")
    0.3725
    """
    b = unnormalized_beliefs(model, actions, observations)
    if b.ndim == 1:
        return float(b.sum())
    return b.sum(axis=1)


def enumerate_trajectories(n_actions: int, n_observations: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Every trajectory ``(a_1, o_1, ..., a_H, o_H)`` of length ``horizon``, in lexicographic order of
    that interleaved tuple (so a table of their probabilities reshapes to ``(A, O) * H``).

    Returns
    -------
    actions, observations : ndarray of int, shape ((A O)^H, H)

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> actions, observations = pomdp.enumerate_trajectories(2, 2, 2)
    >>> actions.shape, observations.shape
    ((16, 2), (16, 2))
    """
    if horizon < 0:
        raise InvalidModelError(f"horizon = {horizon} must be >= 0")
    if horizon == 0:
        return np.zeros((1, 0), dtype=np.intp), np.zeros((1, 0), dtype=np.intp)
    pairs = list(itertools.product(range(n_actions), range(n_observations)))
    combos = np.array(list(itertools.product(range(len(pairs)), repeat=horizon)), dtype=np.intp)
    pair_arr = np.array(pairs, dtype=np.intp).reshape(-1, 2)
    return pair_arr[combos, 0], pair_arr[combos, 1]
