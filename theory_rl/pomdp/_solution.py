"""The result of every offline POMDP solver: a set of alpha vectors with bounds at ``b0``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._result import CertifiedSolution, History, as_history
from ..errors import InvalidModelError

__all__ = ["POMDPSolution", "alpha_value", "alpha_action", "alpha_argmax"]


def _as_alpha(alpha: Any) -> np.ndarray:
    a = np.asarray(alpha, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise InvalidModelError(f"alpha must have shape (K, S) with K >= 1, got {a.shape}")
    return a


def _as_beliefs(b: Any, n_states: int) -> tuple[np.ndarray, bool]:
    arr = np.asarray(b, dtype=np.float64)
    single = arr.ndim == 1
    arr2 = arr[None, :] if single else arr
    if arr2.ndim != 2 or arr2.shape[1] != n_states:
        raise InvalidModelError(f"belief has shape {arr.shape}, expected ({n_states},) or (N, {n_states})")
    return arr2, single


def alpha_argmax(alpha: np.ndarray, b: np.ndarray) -> np.ndarray | int:
    r"""Index ``k`` of the maximising vector ``argmax_k alpha_k . b`` (first one on ties).

    ``b`` is one belief ``(S,)`` (returns an int) or a batch ``(N, S)`` (returns ``(N,)``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> alpha = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> pomdp.alpha_argmax(alpha, np.array([[0.9, 0.1], [0.1, 0.9]]))
    array([0, 1])
    """
    alpha = _as_alpha(alpha)
    beliefs, single = _as_beliefs(b, alpha.shape[1])
    k = np.argmax(beliefs @ alpha.T, axis=1)
    return int(k[0]) if single else k


def alpha_value(alpha: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    r"""The piecewise-linear convex value ``V(b) = max_k alpha_k . b``.

    Parameters
    ----------
    alpha : ndarray, shape (K, S)
    b : ndarray, shape (S,) or (N, S)

    Returns
    -------
    float, or ndarray of shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> alpha = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> pomdp.alpha_value(alpha, np.array([0.5, 0.5]))
    1.0
    >>> pomdp.alpha_argmax(alpha, np.array([0.5, 0.5]))
    1
    """
    alpha = _as_alpha(alpha)
    beliefs, single = _as_beliefs(b, alpha.shape[1])
    v = (beliefs @ alpha.T).max(axis=1)
    return float(v[0]) if single else v


def alpha_action(alpha: np.ndarray, actions: np.ndarray, b: np.ndarray) -> np.ndarray | int:
    """The action of the maximising vector at ``b`` (the alpha-vector policy ``pi(b)``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import pomdp
    >>> alpha = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> pomdp.alpha_action(alpha, np.array([2, 1]), np.array([0.9, 0.1]))
    2
    """
    actions = np.asarray(actions)
    alpha = _as_alpha(alpha)
    if actions.shape != (alpha.shape[0],):
        raise InvalidModelError(f"actions has shape {actions.shape}, expected ({alpha.shape[0]},)")
    k = alpha_argmax(alpha, b)
    return int(actions[k]) if isinstance(k, int) else actions[k]


@dataclass(frozen=True, repr=False, eq=False)
class POMDPSolution(CertifiedSolution):
    r"""What an offline POMDP solver returns: an alpha-vector policy and bounds at ``b0``.

    The value function is ``V(b) = max_k alpha[k] . b`` and the policy takes ``actions[k]`` of
    the maximising vector (first one on ties).

    Attributes
    ----------
    alpha : ndarray, shape (K, S)
        Alpha vectors.
    actions : ndarray of int, shape (K,)
        The action each vector starts with.
    lower, upper : float
        Bounds ``lower <= V*(b0) <= upper`` (``upper`` may be ``inf`` where the method has none).
        For exact and lower-bound methods ``lower`` is the value of the alpha-vector policy
        guarantee, see each solver's docstring.
    value : float
        ``max_k alpha[k] . b0``.
    converged : bool
        Whether the method's stopping rule fired (exact: Bellman residual certified; point-based:
        ``upper - lower <= tol``).
    n_iter : int
        Stages (epochs, backups, trials: see the solver).
    history : History
        Per-stage columns of equal length, at least ``"lower"``, ``"upper"`` and ``"time"``
        (seconds since the start); solvers add their own (``"n_vectors"``, ``"residual"``). A dict
        of arrays given at construction becomes this table (``history["lower"]`` as before).
    method : str
    params : dict
    elapsed : float
        Wall-clock seconds.
    info : dict
        Method-specific extras.

    Examples
    --------
    >>> from theory_rl import pomdp
    >>> sol = pomdp.qmdp_upper_bound(pomdp.load_problem('tiger.95.POMDP'))
    >>> type(sol).__name__, sol.alpha.shape[1]
    ('POMDPSolution', 2)
    """

    alpha: np.ndarray
    actions: np.ndarray
    lower: float
    upper: float
    value: float
    converged: bool
    n_iter: int
    history: History
    info: dict[str, Any] = field(default_factory=dict)

    _repr_fields = ("method", "converged", "n_iter", "lower", "upper", "n_vectors", "elapsed")

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", as_history(self.history, "lower"))

    @property
    def n_vectors(self) -> int:
        """Number of alpha vectors ``K``."""
        return int(self.alpha.shape[0])

    @property
    def gap(self) -> float:
        """``upper - lower`` at ``b0``."""
        return float(self.upper - self.lower)

    def value_at(self, b: np.ndarray) -> np.ndarray | float:
        """``V(b) = max_k alpha[k] . b`` for one belief or a batch ``(N, S)``."""
        return alpha_value(self.alpha, b)

    def action_at(self, b: np.ndarray) -> np.ndarray | int:
        """The policy's action at ``b`` (one belief or a batch)."""
        return alpha_action(self.alpha, self.actions, b)

    def __call__(self, b: np.ndarray) -> int:
        """The policy as a function of the belief, for :func:`theory_rl.pomdp.simulate`."""
        return int(alpha_action(self.alpha, self.actions, np.asarray(b, dtype=float)))

    def to_cassandra_alpha(self) -> str:
        """The vectors in pomdp-solve's ``.alpha`` format (action line, vector line, blank line)."""
        lines = []
        for a, vec in zip(self.actions, self.alpha):
            lines.append(str(int(a)))
            lines.append(" ".join(repr(float(x)) for x in vec))
            lines.append("")
        return "\n".join(lines)
