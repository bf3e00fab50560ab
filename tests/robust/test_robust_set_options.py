"""Uncertainty-set options are checked at construction (issue 17, item 8)."""

import numpy as np
import pytest

from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import FiniteMDP
from theory_rl.robust import KLBall, L1Ball, LInfBall, ParametricSet


def test_ragged_radii_raise_the_library_error():
    # used to raise numpy's bare ValueError (inhomogeneous shape)
    for cls in (L1Ball, LInfBall, KLBall):
        with pytest.raises(InvalidModelError, match=f"{cls.__name__}.radius could not be read"):
            cls([[0.1], [0.1, 0.2]])


@pytest.mark.parametrize("radius, message", [(-0.1, "is negative"), (np.nan, "is nan"), ("big", "real numbers"),
                                             ([[0.1, -1.0]], r"\[0, 1\] = -1.0 is negative")])
def test_bad_radius_values_fail_at_construction(radius, message):
    with pytest.raises(InvalidModelError, match=message):
        L1Ball(radius)


@pytest.mark.parametrize("value", ["no", "yes", 1, None])
def test_restrict_to_support_must_be_a_bool(value):
    # "no" was truthy: the set silently restricted kernels to the nominal support
    for cls in (L1Ball, LInfBall):
        with pytest.raises(InvalidModelError, match="restrict_to_support must be True or False"):
            cls(0.1, restrict_to_support=value)


def test_valid_balls_still_broadcast_their_radius():
    nominal = FiniteMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), 0.9)
    assert L1Ball(0.2).radii(nominal).shape == (2, 2)
    assert L1Ball([0.1, 0.2], rectangularity="s").radii(nominal).shape == (2,)
    assert LInfBall(np.float64(0.1), restrict_to_support=np.bool_(True)).radii(nominal)[1, 1] == 0.1
    with pytest.raises(InvalidModelError, match="rectangularity"):
        L1Ball(0.1, rectangularity=["sa"])


def test_parametric_set_grid_and_sample_sizes():
    pset = ParametricSet([[0.0, 1.0]], lambda theta: np.full((1, 1, 1), 1.0))
    with pytest.raises(InvalidArgumentError, match="n_per_dim"):
        pset.grid(2.5)
    with pytest.raises(InvalidArgumentError, match="size"):
        pset.sample_theta(size=-1)
    assert pset.grid(3).shape == (3, 1)
