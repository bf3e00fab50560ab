r"""Checks of the properties the guarantees assume: normalisation, monotonicity, submodularity,
and the total curvature that sharpens the greedy factor."""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_real, check_tol, rng_from_seed
from ..errors import InvalidArgumentError
from ._set_functions import SetFunction

__all__ = ["all_subsets", "curvature", "is_monotone", "is_normalized", "is_submodular"]

MAX_EXHAUSTIVE = 14


def all_subsets(n: int) -> np.ndarray:
    """Every subset of ``{0, ..., n-1}`` as a mask, row ``i`` holding the bits of ``i``: shape ``(2**n, n)``.

    Examples
    --------
    >>> all_subsets(2).astype(int).tolist()
    [[0, 0], [1, 0], [0, 1], [1, 1]]
    """
    n = check_int(n, "n", minimum=0, maximum=24)
    return ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)


def _table(objective: SetFunction) -> np.ndarray:
    if objective.n > MAX_EXHAUSTIVE:
        raise InvalidArgumentError(
            f"exhaustive checks need n <= {MAX_EXHAUSTIVE} (got n = {objective.n}): pass n_samples for random checks")
    return np.asarray(objective.value(all_subsets(objective.n)), dtype=np.float64)


def _random_chains(objective: SetFunction, n_samples: int, seed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random ``A subset B`` and elements ``e`` outside ``B``."""
    rng = rng_from_seed(seed)
    n = objective.n
    u = rng.random((n_samples, n))
    t_b = rng.random((n_samples, 1))
    big = u < t_b
    small = big & (rng.random((n_samples, n)) < rng.random((n_samples, 1)))
    e = rng.integers(0, n, size=n_samples)
    big[np.arange(n_samples), e] = False
    small[np.arange(n_samples), e] = False
    return small, big, e


def _with(masks: np.ndarray, e: np.ndarray) -> np.ndarray:
    out = masks.copy()
    out[np.arange(len(e)), e] = True
    return out


def is_normalized(objective: SetFunction, *, atol: float = 1e-9) -> bool:
    """``|F(empty)| <= atol``.

    Examples
    --------
    >>> from theory_rl.submodular import Modular
    >>> is_normalized(Modular([1.0, 2.0]))
    True
    """
    atol = check_real(atol, "atol", low=0.0)
    return abs(float(objective.value(np.zeros(objective.n, dtype=bool)))) <= atol


def is_monotone(objective: SetFunction, *, n_samples: int | None = None, seed=None, atol: float = 1e-9) -> bool:
    r"""``F(e | X) >= -atol`` for every set ``X`` and element ``e`` (exhaustive for ``n <= 14``),
    or on ``n_samples`` random pairs.

    Examples
    --------
    >>> from theory_rl.submodular import GaussianEntropy
    >>> import numpy as np
    >>> is_monotone(GaussianEntropy(np.eye(3), noise=0.1)), is_monotone(GaussianEntropy(0.01 * np.eye(3), noise=0.01))
    (True, False)
    """
    atol = check_real(atol, "atol", low=0.0)
    if n_samples is None:
        table = _table(objective)
        n = objective.n
        idx = np.arange(2**n)
        grown = idx[:, None] | (1 << np.arange(n))[None, :]
        return bool((table[grown] - table[:, None] >= -atol).all())
    n_samples = check_int(n_samples, "n_samples")
    _, big, e = _random_chains(objective, n_samples, seed)
    return bool((objective.value(_with(big, e)) - objective.value(big) >= -atol).all())


def is_submodular(objective: SetFunction, *, n_samples: int | None = None, seed=None, atol: float = 1e-9) -> bool:
    r"""Diminishing returns ``F(e | A) >= F(e | B) - atol`` for ``A ⊆ B``, ``e ∉ B``.

    Exhaustive (``n <= 14``) through the equivalent local condition
    ``F(X + i) + F(X + j) >= F(X + i + j) + F(X)`` for every ``X`` and ``i != j`` outside ``X``
    (Fujishige 2005, *Submodular functions and optimization*, Thm 44.1); otherwise on
    ``n_samples`` random nested pairs.

    Examples
    --------
    >>> from theory_rl.submodular import Modular, WeightedCoverage
    >>> is_submodular(WeightedCoverage([[1, 0], [1, 1], [0, 1]]))
    True
    """
    atol = check_real(atol, "atol", low=0.0)
    if n_samples is None:
        table = _table(objective)
        n = objective.n
        idx = np.arange(2**n)
        bits = 1 << np.arange(n)
        with_i = idx[:, None] | bits[None, :]  # (2^n, n)
        both = with_i[:, :, None] | bits[None, None, :]  # (2^n, n, n)
        lhs = table[with_i][:, :, None] + table[with_i][:, None, :]
        rhs = table[both] + table[:, None, None]
        return bool((lhs - rhs >= -atol).all())
    n_samples = check_int(n_samples, "n_samples")
    small, big, e = _random_chains(objective, n_samples, seed)
    gain_small = objective.value(_with(small, e)) - objective.value(small)
    gain_big = objective.value(_with(big, e)) - objective.value(big)
    return bool((gain_small - gain_big >= -atol).all())


def curvature(objective: SetFunction, *, tol: float = 1e-12) -> float:
    r"""Total curvature :math:`c = 1 - \min_{e : F(\{e\}) > tol} F(e \mid V \setminus \{e\}) / F(\{e\})`.

    ``c = 0`` for modular ``F``; ``c <= 1`` for monotone submodular ``F``. Greedy under a
    cardinality constraint attains ``(1 - e^{-c}) / c`` of the optimum (Conforti & Cornuéjols 1984,
    Discrete Applied Mathematics 7, Theorem 2.3), which tends to ``1`` as ``c -> 0`` and equals
    ``1 - 1/e`` at ``c = 1``.

    Examples
    --------
    >>> from theory_rl.submodular import Modular, WeightedCoverage
    >>> curvature(Modular([1.0, 2.0])), curvature(WeightedCoverage([[1, 1], [1, 0]]))
    (0.0, 1.0)
    """
    tol = check_tol(tol)
    n = objective.n
    eye = np.eye(n, dtype=bool)
    singles = np.asarray(objective.value(eye))
    full = float(objective.value(np.ones(n, dtype=bool)))
    last = full - np.asarray(objective.value(~eye))
    ok = singles > tol
    if not ok.any():
        return 0.0
    return float(max(0.0, 1.0 - (last[ok] / singles[ok]).min()))
