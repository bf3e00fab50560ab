"""Hypothesis strategy for small valid POMDPs (sizes small enough for exact oracles: S in [2, 6], A in [2, 3],
O in [2, 4], Dirichlet rows, optionally sparsified, rewards U[-1, 1], gamma in [0.5, 0.95])."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_optional_int, check_sparse
from ..models import POMDP
from ._strategies import _draw_rng, _hypothesis, check_interval, check_size_range

__all__ = ["pomdps"]


def pomdps(
    *,
    min_states: int = 2,
    max_states: int = 6,
    min_actions: int = 2,
    max_actions: int = 3,
    min_observations: int = 2,
    max_observations: int = 4,
    gamma: tuple[float, float] = (0.5, 0.95),
    sparse: bool | None = None,
    max_size: int | None = 100,
    reward_range: tuple[float, float] = (-1.0, 1.0),
) -> Any:
    """Strategy for valid :class:`~theory_rl.models.POMDP` instances.

    Rows of ``T`` and ``O`` come from Dirichlet(c) with ``c`` drawn per model from
    ``{0.3, 1, 3}``; with some probability entries below 0.1 are zeroed and rows renormalised
    (sparse supports, deterministic observations, zero-probability observations: the edge
    cases of belief updates). ``b0`` is uniform, a Dirichlet draw, or a point mass.
    ``max_size`` caps ``S * A * O`` (100, so exact oracles stay fast); ``sparse=None``
    draws both layouts of ``T``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from theory_rl.checks import pomdps
    >>> @settings(max_examples=5, derandomize=True, database=None)
    ... @given(pomdps(max_states=3))
    ... def test_sizes(m):
    ...     assert m.n_states >= 2 and m.n_observations >= 2
    >>> test_sizes()
    """
    check_size_range(min_states, max_states, "states", minimum=1)
    check_size_range(min_actions, max_actions, "actions", minimum=1)
    check_size_range(min_observations, max_observations, "observations", minimum=1)
    check_interval(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    check_interval(reward_range, "reward_range")
    check_sparse(sparse)
    check_optional_int(max_size, "max_size", minimum=1)
    _hypothesis()
    from hypothesis import assume
    from hypothesis import strategies as st

    def rows(rng: np.random.Generator, conc: float, shape: tuple[int, ...], n: int, thin: bool) -> np.ndarray:
        x = rng.dirichlet(np.full(n, conc), size=shape)
        if thin:
            x[x < 0.1] = 0.0
            x[x.sum(axis=-1) == 0.0, 0] = 1.0
        return x / x.sum(axis=-1, keepdims=True)

    @st.composite
    def build(draw: Any) -> POMDP:
        S = draw(st.integers(min_states, max_states))
        A = draw(st.integers(min_actions, max_actions))
        n_obs = draw(st.integers(min_observations, max_observations))
        if max_size is not None:
            assume(S * A * n_obs <= max_size)
        g = draw(st.floats(gamma[0], gamma[1], allow_nan=False))
        conc = draw(st.sampled_from([0.3, 1.0, 3.0]))
        thin = draw(st.booleans())
        is_sparse = draw(st.booleans()) if sparse is None else sparse
        start = draw(st.sampled_from(["uniform", "dirichlet", "point"]))
        rng = _draw_rng(draw)
        T = rows(rng, conc, (S, A), S, thin)
        O = rows(rng, conc, (A, S), n_obs, thin)  # noqa: E741
        R = rng.uniform(reward_range[0], reward_range[1], size=(S, A))
        b0 = None if start == "uniform" else (rng.dirichlet(np.ones(S)) if start == "dirichlet" else np.eye(S)[rng.integers(S)])
        T_out = sp.csr_matrix(T.reshape(S * A, S)) if is_sparse else T
        return POMDP(T_out, O, R, g, b0=b0)

    return build()
