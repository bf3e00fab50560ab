"""Hypothesis strategies that build only valid models."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_bool, check_choice, check_int, check_real, check_sparse
from ..errors import DependencyNotInstalled, InvalidArgumentError
from ..models import FiniteMDP

__all__ = ["finite_mdps", "register_profiles"]


def _hypothesis() -> Any:
    try:
        import hypothesis
        import hypothesis.strategies
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise DependencyNotInstalled("hypothesis", "checks") from None
    return hypothesis


def _dirichlet_rows(rng: np.random.Generator, alpha: float, shape: tuple[int, ...], n: int) -> np.ndarray:
    """Probability rows of length ``n`` from Dirichlet(``alpha``), array of shape ``shape + (n,)``;
    entries below 1e-12 become exact zeros (the support edge cases) and rows are renormalised."""
    x = rng.dirichlet(np.full(n, alpha), size=shape)
    x[x < 1e-12] = 0.0
    return x / x.sum(axis=-1, keepdims=True)


def _draw_sizes(draw: Any, states: tuple[int, int], actions: tuple[int, int],
                gamma: tuple[float, float]) -> tuple[int, int, float]:
    """``(S, A, gamma)`` drawn in this order from the inclusive ranges: the start of the model strategies."""
    from hypothesis import strategies as st

    S = draw(st.integers(*states))
    A = draw(st.integers(*actions))
    return S, A, draw(st.floats(gamma[0], gamma[1], allow_nan=False))


def _draw_rng(draw: Any) -> np.random.Generator:
    """A numpy generator from a drawn 32-bit seed (the random arrays of a drawn model come from it)."""
    from hypothesis import strategies as st

    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def register_profiles() -> None:
    """Register the ``ci`` (fast, default) and ``thorough`` hypothesis profiles and load the one
    named by ``HYPOTHESIS_PROFILE``.

    ``ci`` is derandomized: the same 40 examples per test on every run, so a red CI names a real
    regression, never a new random draw (and ``thorough``, 1000 random examples, is where new
    counterexamples are hunted).

    Examples
    --------
    >>> from hypothesis import settings
    >>> from theory_rl.checks import register_profiles
    >>> register_profiles()
    >>> settings.get_profile("ci").derandomize, settings.get_profile("thorough").max_examples
    (True, 1000)
    """
    hypothesis = _hypothesis()
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.register_profile(
        "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    del hypothesis



def check_size_range(low: Any, high: Any, what: str, *, minimum: int) -> tuple[int, int]:
    """``min_<what>`` and ``max_<what>``: integers with ``minimum <= min <= max``."""
    lo = check_int(low, f"min_{what}", minimum=minimum)
    return lo, check_int(high, f"max_{what}", minimum=lo)


def check_interval(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                   high_open: bool = False) -> tuple[float, float]:
    """A pair ``(a, b)`` of reals with ``low <= a <= b <= high``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise InvalidArgumentError(f"{name} must be a pair (low, high), got {value!r}")
    a = check_real(value[0], f"{name}[0]", low=low, high=high, high_open=high_open)
    return a, check_real(value[1], f"{name}[1]", low=a, high=high, high_open=high_open)


def check_kinds(value: Any, name: str, choices: tuple[str, ...]) -> tuple[str, ...]:
    """A non-empty tuple of names drawn from ``choices``."""
    if isinstance(value, str) or not isinstance(value, (tuple, list)) or not value:
        raise InvalidArgumentError(f"{name} must be a non-empty tuple of names from {choices}, got {value!r}")
    return tuple(check_choice(v, name, choices) for v in value)


def finite_mdps(
    *,
    min_states: int = 1,
    max_states: int = 6,
    min_actions: int = 1,
    max_actions: int = 4,
    gamma: tuple[float, float] = (0.5, 0.95),
    sparse: bool | None = None,
    masked: bool = False,
    reward_range: tuple[float, float] = (0.0, 1.0),
) -> Any:
    """Strategy for valid :class:`~theory_rl.models.FiniteMDP` instances.

    Rows of ``P`` are drawn, per model, from Dirichlet(1), Dirichlet(0.1) (nearly deterministic)
    or as exact one-hot rows (deterministic transitions, the edge case of ties and periodic
    chains); rewards uniform in ``reward_range``, so values lie in
    ``[lo/(1-gamma), hi/(1-gamma)]``. With ``sparse=None`` both layouts are drawn; a sparse model
    stores only the non-zero probabilities. With ``masked=True`` some actions are unavailable
    (every state keeps at least one).

    Defaults are small enough for exact oracles (S in [1, 6], A in [1, 4],
    gamma in [0.5, 0.95]).

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> from theory_rl.checks import finite_mdps
    >>> @settings(max_examples=5, derandomize=True, database=None)
    ... @given(finite_mdps(max_states=3))
    ... def test_rows_sum_to_one(mdp):
    ...     P = mdp.P.toarray() if hasattr(mdp.P, "toarray") else np.asarray(mdp.P).reshape(-1, mdp.n_states)
    ...     assert np.allclose(P.reshape(-1, mdp.n_states).sum(axis=1), 1.0)
    >>> test_rows_sum_to_one()
    """
    check_size_range(min_states, max_states, "states", minimum=1)
    check_size_range(min_actions, max_actions, "actions", minimum=1)
    check_interval(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    check_interval(reward_range, "reward_range")
    check_sparse(sparse)
    check_bool(masked, "masked")
    _hypothesis()
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> FiniteMDP:
        S, A, g = _draw_sizes(draw, (min_states, max_states), (min_actions, max_actions), gamma)
        kind = draw(st.sampled_from(["dirichlet-1", "dirichlet-0.1", "deterministic"]))
        is_sparse = draw(st.booleans()) if sparse is None else sparse
        rng = _draw_rng(draw)
        if kind == "deterministic":
            P = np.zeros((S, A, S))
            P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, size=(S, A))] = 1.0
        else:
            P = _dirichlet_rows(rng, 1.0 if kind == "dirichlet-1" else 0.1, (S, A), S)
        R = rng.uniform(reward_range[0], reward_range[1], size=(S, A))
        mask = None
        if masked and A > 1:
            mask = rng.random((S, A)) < 0.7
            mask[np.arange(S), rng.integers(0, A, size=S)] = True
        d0 = rng.dirichlet(np.ones(S))
        P_out = sp.csr_matrix(P.reshape(S * A, S)) if is_sparse else P
        return FiniteMDP(P_out, R, g, d0=d0, action_mask=mask)

    return build()
