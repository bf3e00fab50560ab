"""Hypothesis strategy for coupled restless bandits (:class:`~theory_rl.combinatorial.CoRMAB`)."""

from __future__ import annotations

from typing import Any

from .._validation import check_int
from ._strategies import _hypothesis, check_interval, check_kinds, check_size_range

__all__ = ["cormabs"]

DOMAINS = ("budget", "interventions", "path", "matching", "capacity")


def cormabs(*, domains: tuple[str, ...] = DOMAINS, min_arms: int = 2, max_arms: int = 8, max_budget: int = 4,
            gamma: tuple[float, float] = (0.5, 0.95)) -> Any:
    """Strategy for valid coRMAB instances from :func:`~theory_rl.combinatorial.make_cormab`:
    the domain, ``J in [min_arms, max_arms]``, ``B in [0, min(max_budget, J)]`` (at least 1 for
    the equality-budget interventions domain, where ``B <= N = J // 2``), ``gamma`` and the
    instance seed are drawn; everything else follows the paper's generators.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from theory_rl.checks import cormabs
    >>> @settings(max_examples=3, derandomize=True, database=None, deadline=None)
    ... @given(cormabs(domains=("budget",), max_arms=4))
    ... def test_null_action_is_feasible(cormab):
    ...     assert cormab.constraint.is_feasible([0] * cormab.n_actions)
    >>> test_null_action_is_feasible()
    """
    check_kinds(domains, "domains", DOMAINS)
    check_size_range(min_arms, max_arms, "arms", minimum=1)
    check_int(max_budget, "max_budget", minimum=0)
    check_interval(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    _hypothesis()
    from hypothesis import strategies as st

    from ..combinatorial import make_cormab

    @st.composite
    def build(draw: Any) -> Any:
        domain = draw(st.sampled_from(domains))
        J = draw(st.integers(max(min_arms, 2), max_arms))
        if domain == "interventions":
            B = draw(st.integers(1, max(1, min(max_budget, J // 2))))
        else:
            B = draw(st.integers(0, min(max_budget, J)))
        g = draw(st.floats(gamma[0], gamma[1], allow_nan=False))
        seed = draw(st.integers(0, 2**32 - 1))
        return make_cormab(domain, J, B, seed=seed, gamma=g)

    return build()
