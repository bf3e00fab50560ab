r"""In-sample "implicit maximisation" losses of f-DVL (Sikchi et al., ICLR 2024, §5; arXiv 2302.08560).

With ``x = Q(s, a) - V(s)`` on dataset pairs, the value step minimises, per state,

.. math:: \ell(V) = \mathbb E_{a \sim \mu(\cdot|s)} \big[ L(Q(s,a) - V) \big],

with the losses *as implemented* in the official code (``hari-sikchi/DVL``, ``offline/critic.py``):

- ``"chi2"``: ``L(x) = lam * max(x + x^2/4, 0) - (1 - lam) x``, ``lam in (0, 1]``;
- ``"tv"``: ``L(x) = lam * max(x, 0) - (1 - lam) x``, ``lam in (1/2, 1]``;
- ``"gumbel"`` (reverse KL, XQL): ``L(x) = exp(z) - z - 1``, ``z = x / lam``, temperature ``lam > 0``.

(These are the code's shifted forms of ``lam f*_p(x) - (1 - lam) x``; e.g. TV's exact
``f*_p(x) = max(x, -1/2)`` for ``x <= 1/2`` is replaced by ``max(x, 0)`` with no domain bound.)

Closed-form minimisers (single state, behaviour ``mu``; derived): TV with ``lam in (1/2, 1)``
gives a quantile, ``P_mu(Q > V) <= (1-lam)/lam <= P_mu(Q >= V)``; Gumbel gives
``V = lam log E_mu exp(Q / lam)``. **Degeneracy:** at ``lam = 1`` the chi-square loss is zero for
every ``V`` in ``[max Q, min Q + 4]`` and the TV loss for every ``V >= max Q``: the minimiser is
not unique, and V reaches the in-support max in the paper's runs only because training starts
below it. :func:`implicit_value` returns the smallest minimiser and the largest one, and the
callers report states where they differ.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array, check_choice, check_finite, check_int, check_real, first_index, format_index
from ..errors import InvalidModelError

__all__ = ["DegenerateObjectiveWarning", "IMPLICIT_LOSSES", "implicit_loss", "implicit_value"]

IMPLICIT_LOSSES = ("chi2", "tv", "gumbel")


class DegenerateObjectiveWarning(UserWarning):
    """An objective's minimiser is not unique (e.g. the chi-square/TV implicit losses at ``lam = 1``).

    Examples
    --------
    >>> from theory_rl import dual, envs
    >>> data = dual.collect_dataset(envs.random_mdp(3, 2, seed=0), expert_policy=[1, 0, 0], n_episodes=20,
    ...                             episode_length=10, expert_fraction=0.5, exploration=0.3, seed=0)
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     res = dual.fdvl(data, gamma=0.5, f="chi2", lam=1.0)        # chi-square at lam = 1: flat minimum
    >>> any(issubclass(w.category, dual.DegenerateObjectiveWarning) for w in caught), bool((res.v_upper >= res.v).all())
    (True, True)
    """


def check_loss(f: str, lam: float) -> tuple[str, float]:
    key = f.lower() if isinstance(f, str) else f
    if key in ("reverse-kl", "reverse_kl", "xql"):
        key = "gumbel"
    check_choice(key, "f", IMPLICIT_LOSSES)
    if key == "gumbel":
        lam = check_real(lam, "lam (the Gumbel temperature)", low=0.0, low_open=True)
    elif key == "tv":
        # for lam <= 1/2 the TV loss decreases without bound as V -> -inf
        lam = check_real(lam, "lam (of the TV loss)", low=0.5, high=1.0, low_open=True)
    else:
        lam = check_real(lam, "lam (of the chi-square loss)", low=0.0, high=1.0, low_open=True)
    return key, lam


def implicit_loss(x: np.ndarray, f: str, lam: float) -> np.ndarray:
    """The elementwise loss ``L(x)`` of the module docstring (``x = Q - V``).

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import dual
    >>> dual.implicit_loss(np.array([-1.0, 0.0, 1.0]), "chi2", 0.9).round(6).tolist()
    [0.1, 0.0, 1.025]
    """
    key, lam = check_loss(f, lam)
    x = np.asarray(x, dtype=float)
    if key == "chi2":
        return lam * np.maximum(x + 0.25 * x * x, 0.0) - (1.0 - lam) * x
    if key == "tv":
        return lam * np.maximum(x, 0.0) - (1.0 - lam) * x
    z = x / lam
    return np.expm1(z) - z


def _slope(x: np.ndarray, key: str, lam: float, *, right: bool) -> np.ndarray:
    """One-sided derivative ``L'_+(x)`` (``right``) or ``L'_-(x)`` of the loss."""
    if key == "gumbel":
        with np.errstate(over="ignore"):  # +inf keeps the sign the bisection needs
            return np.expm1(x / lam) / lam
    if key == "tv":
        return lam * ((x >= 0) if right else (x > 0)) - (1.0 - lam)
    active = ((x >= 0) | (x < -4)) if right else ((x > 0) | (x <= -4))
    return lam * np.where(active, 1.0 + 0.5 * x, 0.0) - (1.0 - lam)


def implicit_value(q: np.ndarray, weights: np.ndarray, f: str, lam: float, *, n_bisect: int = 64
                   ) -> tuple[np.ndarray, np.ndarray]:
    r"""Minimisers of ``sum_a weights[s, a] L(q[s, a] - V)`` for every row ``s`` at once.

    The objective is convex in ``V``; its right derivative ``-sum_a w L'_-(q - V)`` is
    non-decreasing, so the smallest minimiser ``inf{V : h_+(V) >= 0}`` and the largest
    ``sup{V : h_-(V) <= 0}`` are found by vectorised bisection (``n_bisect`` halvings of a
    bracket that provably contains them: to machine precision).

    Parameters
    ----------
    q : ndarray, shape (S, A)
        Values on the dataset's pairs (entries with zero weight are ignored; may be NaN there).
    weights : ndarray, shape (S, A)
        Non-negative behaviour weights ``mu(a|s)``; rows with zero total are returned as NaN.
    f, lam : the loss and its temperature

    Returns
    -------
    (lower, upper) : ndarrays, shape (S,)
        Smallest and largest minimisers; ``upper = +inf`` where the minimiser set is unbounded
        (TV at ``lam = 1``). They differ exactly where the minimiser is not unique.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import dual
    >>> lower, upper = dual.implicit_value(np.array([[0.0, 1.0]]), np.full((1, 2), 0.5), "chi2", 0.9)
    >>> lower.round(6).tolist(), upper.round(6).tolist()
    ([1.0], [1.0])
    """
    key, lam = check_loss(f, lam)
    n_bisect = check_int(n_bisect, "n_bisect", minimum=1)
    w = as_float_array(weights, "weights", ndim=2)
    check_finite(w, "weights")
    if (w < 0).any():
        idx = first_index(w < 0)
        raise InvalidModelError(f"{format_index('weights', idx)} = {w[idx]:g} is negative")
    q = as_float_array(q, "q", ndim=2)
    if q.shape != w.shape:
        raise InvalidModelError(f"q has shape {q.shape} but weights {w.shape}; they must match")
    seen = w > 0
    if not np.isfinite(q[seen]).all():
        idx = first_index(seen & ~np.isfinite(q))
        raise InvalidModelError(f"{format_index('q', idx)} is {q[idx]} where the weight is positive")
    qz = np.where(seen, q, 0.0)
    has = seen.any(axis=1)
    qmax = np.where(seen, qz, -np.inf).max(axis=1, initial=-np.inf)
    qmin = np.where(seen, qz, np.inf).min(axis=1, initial=np.inf)
    qmax, qmin = np.where(has, qmax, 0.0), np.where(has, qmin, 0.0)
    wn = w / np.where(has, w.sum(axis=1), 1.0)[:, None]
    # Bracket: every minimiser lies in [qmin - 2/lam, qmax + 5] for chi2, [qmin, qmax] otherwise
    # (TV's upper end may be unbounded; checked below).
    lo0 = qmin - (2.0 / lam + 1.0 if key == "chi2" else 1.0)
    hi0 = qmax + (5.0 if key == "chi2" else 1.0)

    def h(v: np.ndarray, right: bool) -> np.ndarray:
        x = qz - v[:, None]
        return -(wn * _slope(x, key, lam, right=not right)).sum(axis=1)

    def bisect(cond_right: bool, strict: bool) -> np.ndarray:
        lo, hi = lo0.copy(), hi0.copy()
        for _ in range(n_bisect):
            mid = 0.5 * (lo + hi)
            val = h(mid, cond_right)
            go_hi = (val > 0) if strict else (val >= 0)
            hi = np.where(go_hi, mid, hi)
            lo = np.where(go_hi, lo, mid)
        return hi

    lower = bisect(True, strict=False)  # inf{V : h_+(V) >= 0}
    upper = bisect(False, strict=True)  # inf{V : h_-(V) > 0} = sup{V : h_-(V) <= 0}
    unbounded = h(hi0, False) <= 0
    upper = np.where(unbounded, np.inf, upper)
    lower = np.where(has, lower, np.nan)
    upper = np.where(has, upper, np.nan)
    return lower, upper
