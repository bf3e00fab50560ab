"""contrastive_ucb_sample_complexity: the epsilon rate and the option checks."""

import math

import pytest

from theory_rl.errors import InvalidArgumentError
from theory_rl.theory import contrastive_ucb_sample_complexity


def test_epsilon_rate_is_minus_two():
    a, b = contrastive_ucb_sample_complexity(0.2), contrastive_ucb_sample_complexity(0.1)
    assert b.value / a.value == pytest.approx(4.0)
    assert math.log(b.value / a.value) / math.log(0.1 / 0.2) == pytest.approx(b.exponents["epsilon"])
    assert b.kind == "upper" and b.quantity == "episodes" and "2207.14800" in b.source


def test_options_are_checked():
    with pytest.raises(InvalidArgumentError, match="delta"):
        contrastive_ucb_sample_complexity(0.1, 1.5)
    with pytest.raises(InvalidArgumentError, match="epsilon"):
        contrastive_ucb_sample_complexity(-0.1)
