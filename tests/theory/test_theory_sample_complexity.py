"""Sample-complexity and regret bounds: exponents match the values, and the orderings the papers prove."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory_rl import theory
from theory_rl.errors import InvalidArgumentError

S_, A_ = st.integers(2, 200), st.integers(2, 20)
GAMMA = st.floats(0.5, 0.999)
EPS = st.floats(1e-3, 1.0)
DELTA = st.floats(1e-4, 0.5)


def log_slope(f, x, factor=4.0):
    return math.log(f(x * factor) / f(x)) / math.log(factor)


# The exponents themselves are tested against the papers' stated values (with theorem numbers) in
# test_theory_paper_values.py; the tests here check the orderings and inversions the papers prove.


@given(S=S_, A=A_, gamma=GAMMA, eps=EPS, delta=DELTA)
def test_q_learning_needs_more_than_model_based_and_vr(S, A, gamma, eps, delta):
    # Li et al. 2021: Q-learning is (1-gamma)^{-4}, the minimax rate (1-gamma)^{-3} (Azar 2013),
    # reached by plug-in (Agarwal 2020) and VR-QL (Wainwright 2019). With the same (unit) constants
    # the Q-learning bound dominates both everywhere on the domain.
    q = theory.q_learning_generative(S, A, gamma, eps, delta).value
    assert q >= theory.model_based_generative(S, A, gamma, eps, delta).value
    assert q >= theory.variance_reduced_q_learning_samples(S, A, gamma, eps, delta).value
    # Q-learning's own lower bound is the problem's lower bound times 1/(1-gamma) (logs aside)
    ratio = theory.q_learning_lower_bound(S, A, gamma, eps).value / (
        theory.minimax_lower_bound_generative(S, A, gamma, eps, delta).value / math.log(S * A / delta))
    assert ratio == pytest.approx(1 / (1 - gamma))


def test_minimax_upper_bounds_match_the_lower_bound_exponents():
    lower = theory.minimax_lower_bound_generative(10, 2, 0.9, 0.1, 0.1).exponents
    for fn in (theory.model_based_generative, theory.variance_reduced_q_learning_samples):
        assert fn(10, 2, 0.9, 0.1, 0.1).exponents == lower
    assert theory.q_learning_generative(10, 2, 0.9, 0.1, 0.1).exponents["1-gamma"] < lower["1-gamma"]


@given(S=S_, A=A_, gamma=GAMMA, n=st.floats(1, 1e8), delta=DELTA)
def test_error_forms_invert_the_sample_forms(S, A, gamma, n, delta):
    eps = theory.plug_in_error(S, A, gamma, n, delta).value
    per_pair = theory.model_based_generative(S, A, gamma, eps, delta).value / (S * A)
    assert per_pair == pytest.approx(n, rel=1e-9)
    assert log_slope(lambda m: theory.plug_in_error(S, A, gamma, m, delta).value, n) == pytest.approx(-0.5)
    assert log_slope(lambda m: theory.variance_reduced_q_learning_error(S, A, gamma, m, delta).value, n) \
        == pytest.approx(-0.5)


@given(S=st.integers(2, 50), A=st.integers(2, 10), H=st.integers(1, 50), T=st.floats(1e2, 1e12))
def test_regret_upper_bounds_dominate_the_lower_bound(S, A, H, T):
    lower = theory.episodic_regret_lower_bound(S, A, H, T).value
    for bonus in ("hoeffding", "bernstein"):
        assert theory.ucbvi_regret(S, A, H, T, bonus=bonus).value >= lower
        assert theory.ucb_q_learning_regret(S, A, H, T, bonus=bonus).value >= lower
    assert theory.ucb_q_learning_regret(S, A, H, T).value >= \
        theory.episodic_regret_lower_bound(S, A, H, T, setting="nonstationary").value


@given(S=st.integers(2, 20), A=st.integers(2, 5), H=st.integers(2, 20))
def test_bernstein_improves_on_hoeffding_for_long_runs(S, A, H):
    # Jin et al. 2018: sqrt(H^3 SAT) vs sqrt(H^4 SAT); the Bernstein second-order term
    # sqrt(H^9 S^3 A^3) iota^2 is paid back once T >> H^6 S^2 A^2 iota^3.
    T = 1e6 * H**6 * S**2 * A**2
    assert theory.ucb_q_learning_regret(S, A, H, T, bonus="bernstein").value < \
        theory.ucb_q_learning_regret(S, A, H, T).value
    assert theory.ucbvi_regret(S, A, H, T, bonus="bernstein").exponents["H"] < \
        theory.ucbvi_regret(S, A, H, T).exponents["H"]


@given(S=st.integers(2, 50), A=st.integers(2, 10), H=st.integers(1, 50), T=st.floats(1e4, 1e12))
def test_regret_t_exponent(S, A, H, T):
    for fn in (theory.ucbvi_regret, theory.ucb_q_learning_regret):
        b = fn(S, A, H, T)
        assert b.exponents["T"] == 0.5 and b.kind == "upper" and b.quantity == "regret"
        assert fn(S, A, H, 4 * T).value > b.value


def test_reference_values():
    # Hand computation: 20*H*L*sqrt(SAT) + 250*H^2*S^2*A*L^2, L = ln(5*S*A*T/delta)
    S, A, H, T, delta = 6, 2, 10, 1e5, 0.1
    L = math.log(5 * S * A * T / delta)
    assert theory.ucbvi_regret(S, A, H, T, delta).value == pytest.approx(
        20 * H * L * math.sqrt(S * A * T) + 250 * H**2 * S**2 * A * L**2)
    assert theory.plug_in_error(6, 2, 0.9, 100, 0.1).value == pytest.approx(
        math.sqrt(0.9 * math.log(12 / (0.1 * 0.1)) / (0.001 * 100)))
    b = theory.q_learning_polynomial_steps(4, 2, 0.9, 0.1, 0.1, omega=0.8)
    assert b.exponents["1-gamma"] == pytest.approx(-5.0) and b.verified["eps"] is False


def test_bad_parameters_are_named():
    with pytest.raises(InvalidArgumentError, match="gamma"):
        theory.plug_in_error(2, 2, 1.0, 10, 0.1)
    with pytest.raises(InvalidArgumentError, match="delta"):
        theory.model_based_generative(2, 2, 0.9, 0.1, 2.0)
    with pytest.raises(InvalidArgumentError, match="epsilon"):
        theory.q_learning_generative(2, 2, 0.9, -1, 0.1)
    with pytest.raises(InvalidArgumentError, match="omega"):
        theory.q_learning_polynomial_steps(2, 2, 0.9, 0.1, 0.1, omega=1.0)
    with pytest.raises(InvalidArgumentError, match="bonus"):
        theory.ucbvi_regret(2, 2, 2, 100, bonus="kl")
    with pytest.raises(InvalidArgumentError, match="setting"):
        theory.episodic_regret_lower_bound(2, 2, 2, 100, setting="x")


def test_eps_is_renamed_epsilon_the_theorems_symbol():
    with pytest.warns(DeprecationWarning, match="'eps' is deprecated .* use 'epsilon'"):
        old = theory.q_learning_generative(4, 2, 0.9, eps=0.1, delta=0.1)
    assert old.value == theory.q_learning_generative(4, 2, 0.9, epsilon=0.1, delta=0.1).value


def test_numpy_scalars_are_accepted():
    # a sweep over np.arange(...) passes np.int64, which is not a Python int; the bounds rejected
    # it as "not a positive finite number" while accepting the equal Python int
    import numpy as np

    for S in np.arange(2, 4):
        assert theory.model_based_generative(S, np.int64(2), 0.9, 0.1, 0.1).value == pytest.approx(
            theory.model_based_generative(int(S), 2, 0.9, 0.1, 0.1).value)
    assert theory.revealing_pac_lower_bound(S=4, A=2, alpha=0.5, epsilon=0.1, m=np.int64(3)).value == pytest.approx(
        theory.revealing_pac_lower_bound(S=4, A=2, alpha=0.5, epsilon=0.1, m=3).value)
    for bad in (np.bool_(True), True, "3", np.float64("nan"), np.int64(0)):
        with pytest.raises(InvalidArgumentError, match=r"S( = \S+)? must be"):
            theory.model_based_generative(bad, 2, 0.9, 0.1, 0.1)
    with pytest.raises(InvalidArgumentError, match=r"m( = \S+)? must be"):
        theory.revealing_pac_lower_bound(S=4, A=2, alpha=0.5, epsilon=0.1, m=np.float64(3.0))
