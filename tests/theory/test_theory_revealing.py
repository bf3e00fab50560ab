"""Revealing-POMDP rate functions: reported exponents are the log-log slopes of the values, the
verified flags say exactly what was checked, the explore-then-commit optimum is exact."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from theory_rl.errors import InvalidArgumentError
from theory_rl.theory._revealing import (
    explore_then_commit_regret,
    revealing_pac_lower_bound,
    revealing_pac_upper_bound,
    revealing_regret_lower_bound,
)

BASE = {"S": 4, "A": 3, "O": 5, "alpha": 0.5, "epsilon": 0.1, "T": 1e4}


def slope(fn, name, kwargs):
    lo = fn(**kwargs).value
    hi = fn(**{**kwargs, name: kwargs[name] * 2}).value
    return math.log(hi / lo) / math.log(2)


@pytest.mark.parametrize(
    "fn, keys, extra",
    [
        (revealing_pac_lower_bound, ("S", "A", "alpha", "epsilon"), {"m": 3}),
        (revealing_regret_lower_bound, ("T", "S", "A", "alpha"), {"m": 2}),
        (revealing_regret_lower_bound, ("T", "S", "A", "alpha"), {"m": 1}),
        (revealing_pac_upper_bound, ("S", "A", "O", "alpha", "epsilon"), {"m": 2}),
    ],
)
def test_exponents_are_the_log_log_slopes(fn, keys, extra):
    # internal consistency only (value = prod p**exponent): the exponents the abstract states (S^1.5,
    # T^(2/3), sqrt(T)) are tested against the paper in test_theory_paper_values.py; the others are recalled
    kwargs = {k: BASE[k] for k in keys} | extra
    result = fn(**kwargs)
    assert set(result.exponents) == set(keys) == set(result.verified)
    for k in keys:
        assert slope(fn, k, kwargs) == pytest.approx(result.exponents[k], abs=1e-12)
    assert result.to_dict()["source"].startswith(("Chen", "Chen,"))


def test_verified_flags_follow_the_abstract():
    pac = revealing_pac_lower_bound(S=4, A=2, alpha=0.5, epsilon=0.1)
    assert pac.exponents["S"] == 1.5 and pac.verified == {"S": True, "A": False, "alpha": False, "epsilon": False}
    reg = revealing_regret_lower_bound(T=100, S=4, A=2, alpha=0.5, m=2)
    assert reg.exponents["T"] == pytest.approx(2 / 3) and reg.verified["T"]
    assert revealing_regret_lower_bound(T=100, S=4, A=2, alpha=0.5, m=1).exponents["T"] == 0.5
    assert not any(revealing_pac_upper_bound(S=2, A=2, O=2, alpha=1, epsilon=1).verified.values())


def test_lower_bound_below_upper_bound_shape_in_S():
    """The S^1.5 lower bound grows slower than the S^2 upper bound (the gap the paper narrows)."""
    for S in (2, 8, 32):
        lo = revealing_pac_lower_bound(S=S, A=2, alpha=0.5, epsilon=0.1, m=2).value
        hi = revealing_pac_upper_bound(S=S, A=2, O=S, alpha=0.5, epsilon=0.1, m=2).value
        assert lo <= hi


@pytest.mark.parametrize("T", [10.0, 1e3, 1e6])
def test_explore_then_commit_optimum(T):
    t0, regret = explore_then_commit_regret(T)
    res = minimize_scalar(lambda x: x + T / np.sqrt(x), bounds=(1e-9, T), method="bounded",
                          options={"xatol": 1e-10 * T})
    assert t0 == pytest.approx(res.x, rel=1e-5)
    assert regret == pytest.approx(res.fun, rel=1e-9)
    assert explore_then_commit_regret(8 * T)[1] / regret == pytest.approx(4.0)  # T^(2/3)


@pytest.mark.parametrize("kwargs, match", [({"S": 0}, "S = 0 must"), ({"alpha": -1.0}, "alpha"), ({"m": 1}, "m = 1 must")])
def test_bad_input(kwargs, match):
    args = {"S": 4, "A": 2, "alpha": 0.5, "epsilon": 0.1, "m": 2} | kwargs
    with pytest.raises(InvalidArgumentError, match=match):
        revealing_pac_lower_bound(**args)
