"""Hypothesis strategy for small valid robust MDPs (sizes small enough for exact oracles: S in [2, 6], A in [2, 4],
Dirichlet(0.1 or 1) rows, rewards in [0, 1], gamma in [0.5, 0.95], K in [2, 3] candidates)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_int
from ..models import FiniteMDP
from ._strategies import (
    _dirichlet_rows,
    _draw_rng,
    _draw_sizes,
    _hypothesis,
    check_interval,
    check_kinds,
    check_size_range,
)

__all__ = ["uncertainty_sets", "robust_mdps"]

_KINDS = ("l1", "l1s", "linf", "kl", "interval", "sarect", "finite")


def uncertainty_sets(nominal: FiniteMDP, *, kinds: tuple[str, ...] = _KINDS, max_candidates: int = 3) -> Any:
    """Strategy for uncertainty sets valid around ``nominal``.

    ``kinds`` picks from ``"l1"`` (sa-rectangular L1 ball, radius in [0, 2], either support
    convention), ``"l1s"`` (s-rectangular L1), ``"linf"``, ``"kl"`` (radius in [0, 2] nats),
    ``"interval"`` (boxes around the nominal kernel), ``"sarect"`` (``K`` random candidate rows
    per (s, a), K in [1, max_candidates]) and ``"finite"`` (``K`` whole kernels, not rectangular).
    Radii are sometimes exactly 0 (the set is the nominal kernel alone).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from theory_rl import envs, robust
    >>> from theory_rl.checks import uncertainty_sets
    >>> nominal = envs.random_mdp(3, 2, seed=0)
    >>> @settings(max_examples=3, derandomize=True, database=None, deadline=None)
    ... @given(uncertainty_sets(nominal, kinds=("l1", "kl")))
    ... def test_builds_a_robust_mdp(uset):
    ...     assert robust.RobustMDP(nominal, uset).n_states == 3
    >>> test_builds_a_robust_mdp()
    """
    check_kinds(kinds, "kinds", _KINDS)
    check_int(max_candidates, "max_candidates", minimum=1)
    _hypothesis()
    from hypothesis import strategies as st

    from ..robust import FiniteSet, IntervalSet, KLBall, L1Ball, LInfBall, SARectFinite

    S, A = nominal.n_states, nominal.n_actions
    P = nominal.P if not nominal.is_sparse else nominal.to_dense().P

    @st.composite
    def build(draw: Any) -> Any:
        kind = draw(st.sampled_from(kinds))
        rng = _draw_rng(draw)
        radius = draw(st.one_of(st.just(0.0), st.floats(0.0, 2.0, allow_nan=False)))
        per_pair = draw(st.booleans())
        if kind == "l1":
            r = rng.uniform(0, radius, size=(S, A)) if per_pair else radius
            return L1Ball(r, restrict_to_support=draw(st.booleans()))
        if kind == "l1s":
            r = rng.uniform(0, radius, size=S) if per_pair else radius
            return L1Ball(r, rectangularity="s", restrict_to_support=draw(st.booleans()))
        if kind == "linf":
            return LInfBall(radius / 4, restrict_to_support=draw(st.booleans()))
        if kind == "kl":
            return KLBall(rng.uniform(0, radius, size=(S, A)) if per_pair else radius)
        if kind == "interval":
            width = radius / 4
            lo = np.clip(P - rng.uniform(0, width, size=P.shape), 0.0, 1.0)
            hi = np.clip(P + rng.uniform(0, width, size=P.shape), 0.0, 1.0)
            return IntervalSet(lo, hi)
        K = draw(st.integers(1 if kind == "sarect" else 2, max_candidates))
        alpha = draw(st.sampled_from([0.1, 1.0]))
        if kind == "sarect":
            return SARectFinite(_dirichlet_rows(rng, alpha, (S, A, K), S))
        return FiniteSet(_dirichlet_rows(rng, alpha, (K, S, A), S))

    return build()


def robust_mdps(
    *,
    min_states: int = 2,
    max_states: int = 6,
    min_actions: int = 2,
    max_actions: int = 4,
    gamma: tuple[float, float] = (0.5, 0.95),
    kinds: tuple[str, ...] = _KINDS,
    max_candidates: int = 3,
) -> Any:
    """Strategy for :class:`~theory_rl.robust.RobustMDP`: a dense nominal model (rows from
    Dirichlet(0.1) or Dirichlet(1), exact zeros kept, rewards U[0, 1]) and a set drawn by
    :func:`uncertainty_sets`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from theory_rl import robust
    >>> from theory_rl.checks import robust_mdps
    >>> @settings(max_examples=3, derandomize=True, database=None, deadline=None)
    ... @given(robust_mdps(max_states=3, kinds=("l1",)))
    ... def test_robust_value_has_one_entry_per_state(rmdp):
    ...     v = robust.robust_value_iteration(rmdp, tol=1e-8).v
    ...     assert v.shape == (rmdp.n_states,)
    >>> test_robust_value_has_one_entry_per_state()
    """
    check_size_range(min_states, max_states, "states", minimum=1)
    check_size_range(min_actions, max_actions, "actions", minimum=1)
    check_interval(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    check_kinds(kinds, "kinds", _KINDS)
    check_int(max_candidates, "max_candidates", minimum=1)
    _hypothesis()
    from hypothesis import strategies as st

    from ..robust import RobustMDP

    @st.composite
    def build(draw: Any) -> Any:
        S, A, g = _draw_sizes(draw, (min_states, max_states), (min_actions, max_actions), gamma)
        alpha = draw(st.sampled_from([0.1, 1.0]))
        rng = _draw_rng(draw)
        nominal = FiniteMDP(_dirichlet_rows(rng, alpha, (S, A), S), rng.uniform(size=(S, A)), g)
        U = draw(uncertainty_sets(nominal, kinds=kinds, max_candidates=max_candidates))
        return RobustMDP(nominal, U)

    return build()
