"""theory_rl._iterative.iteration_cap: the default iteration cap of the contraction solvers."""

import math

from hypothesis import given
from hypothesis import strategies as st

from theory_rl._iterative import iteration_cap


@given(gamma=st.one_of(st.floats(5e-324, 1e-300), st.floats(1e-300, 0.999999)),
       tol=st.floats(1e-15, 1.0), residual=st.floats(1e-300, 1e300))
def test_cap_reaches_the_tolerance_for_every_rate_including_subnormal(gamma, tol, residual):
    """``gamma^n ||d_0|| 2 gamma / (1 - gamma) <= tol`` at the cap (checked in logarithms); a
    subnormal ``gamma`` made ``2 gamma ||d_0||`` underflow to 0 and raised ZeroDivisionError."""
    n = iteration_cap(gamma, tol, residual)
    assert isinstance(n, int) and n >= 10
    log_bound = n * math.log(gamma) + math.log(residual) + math.log(2.0 * gamma) - math.log1p(-gamma)
    assert log_bound <= math.log(tol) + 1e-9


def test_cap_is_the_minimum_when_nothing_needs_iterating():
    assert iteration_cap(0.0, 1e-8, 1.0) == 10
    assert iteration_cap(0.9, 1e-8, 0.0) == 10
    assert iteration_cap(0.5, 1.0, 1e-3) == 10
    assert iteration_cap(5e-324, 1e-8, 1e-300, minimum=3) == 3
