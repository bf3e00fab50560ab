"""Finite partially observable Markov decision processes (Cassandra's conventions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._result import html_summary
from .._validation import check_allocation, check_gamma, check_probability_rows
from ..errors import InvalidModelError
from ._finite_mdp import DEFAULT_ATOL, FiniteMDP, TabularModel, _names, _read_only, _real_array

__all__ = ["POMDP"]


@dataclass(frozen=True, eq=False, repr=False)
class POMDP(TabularModel):
    r"""A finite, discounted POMDP ``(S, A, O, T, O, R, gamma, b0)``.

    .. math::
        T[s, a, s'] = \Pr(s_{t+1} = s' \mid s_t = s, a_t = a), \qquad
        O[a, s', o] = \Pr(o_{t+1} = o \mid a_t = a, s_{t+1} = s'), \qquad
        R[s, a] = \mathbb E[r_t \mid s_t = s, a_t = a].

    The observation depends on the action just taken and the state it led to (Cassandra's
    convention, used by every ``.POMDP`` file). ``T`` has the axes of :attr:`FiniteMDP.P`, so the
    underlying fully observable MDP is :attr:`mdp` at no cost.

    Parameters
    ----------
    T : array_like of shape (S, A, S), or scipy.sparse matrix of shape (S*A, S)
        Transition kernel, dense or CSR exactly as ``FiniteMDP.P`` (row ``s*A + a`` holds
        ``T[s, a, :]``). Large factored models (RockSample(7,8): 12,545 states) need CSR.
    O : array_like of shape (A, S, O)
        Observation probabilities; every row ``O[a, s', :]`` is a probability vector.
    R : array_like of shape (S, A) or (S, A, S)
        Expected immediate reward (``R[s, a, s']`` is reduced by expectation under ``T``).
    gamma : float
        Discount factor in ``[0, 1]`` (``gamma = 1`` only makes sense with a finite horizon,
        which the finite-horizon solvers take as an argument).
    b0 : array_like of shape (S,), optional
        Initial belief; uniform when omitted.
    state_names, action_names, observation_names : sequence of str, optional
        Labels (the names in a ``.POMDP`` file).
    atol : float
        Tolerance of the row-sum checks (default ``1e-8``, at most ``MAX_ATOL = 1e-3``).

    Raises
    ------
    InvalidModelError
        Naming the first offending entry, e.g. ``O[1, 3, :] sums to 0.9 (expected 1 within 1e-08)``.
    SizeLimitError
        As :class:`FiniteMDP`, and for the float64 copy of ``O`` (see ``docs/limits.md``).

    Notes
    -----
    Arrays are float64 and read-only. The transition checks are :class:`FiniteMDP`'s own (the
    model builds its underlying MDP once and keeps the validated arrays).
    """

    T: np.ndarray | sp.csr_matrix
    O: np.ndarray  # noqa: E741 - the letter is the field's name in every POMDP paper
    R: np.ndarray
    gamma: float
    b0: np.ndarray | None = None
    state_names: tuple[str, ...] | None = None
    action_names: tuple[str, ...] | None = None
    observation_names: tuple[str, ...] | None = None
    atol: float = DEFAULT_ATOL
    _mdp: FiniteMDP = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        gamma = check_gamma(self.gamma, allow_one=True)
        _check_sizes_agree(self.T, self.O, self.R)
        # FiniteMDP checks T, R, b0 and atol, naming the first bad entry; errors say "P"/"d0"
        # there, so they are re-labelled with this model's field names.
        try:
            mdp = FiniteMDP(
                self.T, self.R, gamma if gamma < 1.0 else 0.0, d0=self.b0, atol=self.atol,
                state_names=self.state_names, action_names=self.action_names,
            )
        except InvalidModelError as exc:
            raise InvalidModelError(_relabel(str(exc))) from None
        if gamma == 1.0:
            mdp = mdp.replace(gamma=1.0, horizon=1)
        S, A = mdp.n_states, mdp.n_actions
        o_shape = getattr(self.O, "shape", None)  # declared shape: checked before any copy
        if isinstance(o_shape, tuple) and len(o_shape) == 3 and o_shape[:2] != (A, S):
            raise InvalidModelError(f"O has shape {o_shape}, expected (A, S, n_observations) = ({A}, {S}, >=1)")
        O = _real_array(self.O, "O", ndim=(3,))  # noqa: E741
        if O.shape[:2] != (A, S) or O.shape[2] == 0:
            raise InvalidModelError(f"O has shape {O.shape}, expected (A, S, n_observations) = ({A}, {S}, >=1)")
        check_probability_rows(O.reshape(A * S, O.shape[2]), "O", atol=mdp.atol, row_shape=(A, S))
        set_(self, "_mdp", mdp)
        set_(self, "T", mdp.P)
        set_(self, "O", _read_only(O))
        set_(self, "R", mdp.R)
        set_(self, "gamma", gamma)
        set_(self, "b0", mdp.d0)
        set_(self, "atol", mdp.atol)
        set_(self, "state_names", mdp.state_names)
        set_(self, "action_names", mdp.action_names)
        set_(self, "observation_names", _names(self.observation_names, O.shape[2], "observation_names"))

    # ------------------------------------------------------------------ shapes
    @property
    def n_observations(self) -> int:
        """Number of observations."""
        return self.O.shape[2]

    @property
    def is_sparse(self) -> bool:
        """Whether ``T`` is stored as CSR ``(S*A, S)``."""
        return sp.issparse(self.T)

    @property
    def mdp(self) -> FiniteMDP:
        """The underlying fully observable MDP ``(T, R, gamma, b0)`` (for QMDP-style bounds).

        For ``gamma = 1`` it carries ``horizon=1`` (a FiniteMDP needs a horizon then); use
        ``model.mdp.replace(horizon=H)`` for another one.
        """
        return self._mdp

    @cached_property
    def transitions_by_action(self) -> tuple[np.ndarray | sp.csr_matrix, ...]:
        """``T_a[s, s'] = T[s, a, s']`` for each action: dense ``(S, S)`` views or CSR matrices.

        Built once per model (the point-based backups read them on every call).
        """
        A = self.n_actions
        if self.is_sparse:
            return tuple(sp.csr_matrix(self.T[a::A]) for a in range(A))
        S = self.n_states
        check_allocation(8 * S * A * S, f"T_a copies for {A} actions, {S} states")
        return tuple(_read_only(np.ascontiguousarray(self.T[:, a, :])) for a in range(A))

    @cached_property
    def transpose_by_action(self) -> tuple[np.ndarray | sp.csr_matrix, ...]:
        """``T_a^T`` per action (CSR for sparse models), for pushing beliefs forward:
        ``b' = T_a^T b``."""
        if self.is_sparse:
            return tuple(sp.csr_matrix(t.T) for t in self.transitions_by_action)
        return tuple(_read_only(np.ascontiguousarray(t.T)) for t in self.transitions_by_action)

    def transition_dense(self) -> np.ndarray:
        """``T`` as a dense ``(S, A, S)`` array (a view when stored dense)."""
        S, A = self.n_states, self.n_actions
        if not self.is_sparse:
            return self.T
        check_allocation(8 * S * A * S, f"dense T of shape ({S}, {A}, {S})")
        return self.T.toarray().reshape(S, A, S)

    # ------------------------------------------------------------------ conversions
    def to_dense(self) -> POMDP:
        """The same model with ``T`` dense ``(S, A, S)``."""
        return self if not self.is_sparse else self.replace(T=self.transition_dense())

    def to_sparse(self) -> POMDP:
        """The same model with ``T`` stored as CSR ``(S*A, S)``."""
        if self.is_sparse:
            return self
        S, A = self.n_states, self.n_actions
        return self.replace(T=sp.csr_matrix(self.T.reshape(S * A, S)))

    def _repr_html_(self) -> str:
        """A table for Jupyter: sizes, ``gamma`` and the reward range at full precision, ``b0``
        and the state, action and observation names."""
        return _pomdp_html(self)

    def __repr__(self) -> str:
        layout = f"sparse, nnz={self.T.nnz}" if self.is_sparse else "dense"
        return (
            f"POMDP(S={self.n_states}, A={self.n_actions}, O={self.n_observations}, gamma={self.gamma:g}, "
            f"{layout}, R in [{self.R.min():.4g}, {self.R.max():.4g}])"
        )


def _pomdp_html(model: POMDP) -> str:
    return html_summary("POMDP", {
        "S (states)": model.n_states, "A (actions)": model.n_actions, "O (observations)": model.n_observations,
        "gamma": model.gamma, "T": f"sparse CSR, nnz={model.T.nnz}" if model.is_sparse else "dense (S, A, S)",
        "min R[s, a]": float(model.R.min()), "max R[s, a]": float(model.R.max()), "b0": model.b0,
        "state_names": model.state_names, "action_names": model.action_names,
        "observation_names": model.observation_names,
    })


def _declared_shape(x: Any) -> tuple[int, ...] | None:
    shape = getattr(x, "shape", None)
    if shape is None:
        try:
            shape = np.shape(x)
        except ValueError:  # ragged: the constructors report it
            return None
    return tuple(int(n) for n in shape)


def _check_sizes_agree(T: Any, O: Any, R: Any) -> None:  # noqa: E741
    """Name the right array when ``T``, ``O`` and ``R`` disagree on ``(S, A)``.

    FiniteMDP reads the sizes off ``R`` and would always report ``T`` as the mistake. Here a
    well-formed ``T`` (dense ``(S, A, S)`` or sparse ``(S*A, S)``) and ``R`` that disagree are
    judged by ``O`` (shape ``(A, S, n_obs)``): the one ``O`` disagrees with is named; when ``O``
    agrees with neither, both shapes are named.
    """
    t_shape, r_shape, o_shape = _declared_shape(T), _declared_shape(R), _declared_shape(O)
    if t_shape is None or r_shape is None or len(r_shape) not in (2, 3):
        return
    if sp.issparse(T) and len(t_shape) == 2 and t_shape[1] > 0 and t_shape[0] % t_shape[1] == 0:
        t_sa = (t_shape[1], t_shape[0] // t_shape[1])
    elif not sp.issparse(T) and len(t_shape) == 3 and t_shape[0] == t_shape[2]:
        t_sa = (t_shape[0], t_shape[1])
    else:
        return  # a malformed T is reported as T's fault
    r_sa = r_shape[:2]
    o_sa = (o_shape[1], o_shape[0]) if o_shape is not None and len(o_shape) == 3 else None
    S, A = t_sa
    r_expected = f"expected (S, A) = ({S}, {A}) or (S, A, S) = ({S}, {A}, {S}) from T"
    if r_sa == t_sa:
        if len(r_shape) == 3 and r_shape[2] != S:
            raise InvalidModelError(f"R has shape {r_shape}, {r_expected}")
        return
    if o_sa == t_sa:
        raise InvalidModelError(f"R has shape {r_shape}, {r_expected} and O")
    if o_sa == r_sa:
        S, A = r_sa
        layout = f"(S*A, S) = ({S * A}, {S})" if sp.issparse(T) else f"(S, A, S) = ({S}, {A}, {S})"
        raise InvalidModelError(f"T has shape {t_shape}, expected {layout} from R and O")
    raise InvalidModelError(
        f"T has shape {t_shape} and R has shape {r_shape}: they disagree on (S, A) = {t_sa} vs {r_sa}"
    )


def _relabel(message: str) -> str:
    """FiniteMDP's messages name its own fields; say ``T`` and ``b0`` instead."""
    for old, new in (("sparse P", "sparse T"), ("P[", "T["), ("P.data", "T.data"), ("P has", "T has"),
                     ("P must", "T must"), ("P could", "T could"), ("d0[0, :]", "b0"), ("d0", "b0")):
        message = message.replace(old, new)
    return message
