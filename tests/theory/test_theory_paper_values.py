"""The rates of theory_rl.theory checked against the values the papers state, not against the
library's own ``exponents`` fields.

Each row below is typed in from the paper (theorem number in the comment; where only the abstract
could be read, it says so). For every row the test checks (a) the reported exponents equal the
paper's and (b) the numbers the function computes scale with the paper's exponents: the log-log
slope of ``value`` over two decades, far in the regime where the leading term dominates, is the
paper's exponent up to the slope of the logarithmic factors (at most 0.1 at these points). The
equation numbers of the theorems are not given where the stored copies did not show them.
"""

import math

import pytest

from theory_rl import theory
from theory_rl.theory._revealing import (
    revealing_pac_lower_bound,
    revealing_regret_lower_bound,
)

G = ("S", "A", "gamma", "eps", "delta")  # positional order of the generative-model functions

# name -> (call(**params), base point, {parameter: exponent stated by the paper})
PAPER = {
    # Agarwal, Kakade & Yang 2020 (arXiv:1906.03804), Theorem 1: N >= c gamma log(c|S||A|/((1-gamma)delta))
    # / ((1-gamma)^3 eps^2) samples per pair, |S||A| N in all -> S^1 A^1 (1-gamma)^-3 eps^-2
    "model_based_generative": (
        lambda S, A, h, eps, delta: theory.model_based_generative(S, A, 1 - h, eps, delta),
        {"S": 1e4, "A": 4, "h": 1e-3, "eps": 0.1, "delta": 0.1}, {"S": 1, "A": 1, "1-gamma": -3, "eps": -2}),
    # Azar, Munos & Kappen 2013 (Machine Learning 91), Theorem 3: T = Omega(beta^3 N / eps^2 log(N/delta)),
    # beta = 1/(1-gamma), N = |S||A|
    "minimax_lower_bound_generative": (
        lambda S, A, h, eps, delta: theory.minimax_lower_bound_generative(S, A, 1 - h, eps, delta),
        {"S": 1e4, "A": 4, "h": 1e-3, "eps": 0.1, "delta": 0.1}, {"S": 1, "A": 1, "1-gamma": -3, "eps": -2}),
    # Li, Cai, Chen, Wei & Chi 2021 (arXiv:2102.06548), abstract and Theorem 1: Q-learning needs a sample
    # size of order |S||A| / ((1-gamma)^4 eps^2) (up to log factors); Theorem 2: and no fewer
    "q_learning_generative": (
        lambda S, A, h, eps, delta: theory.q_learning_generative(S, A, 1 - h, eps, delta),
        {"S": 1e4, "A": 4, "h": 1e-3, "eps": 0.1, "delta": 0.1}, {"S": 1, "A": 1, "1-gamma": -4, "eps": -2}),
    "q_learning_lower_bound": (
        lambda S, A, h, eps, delta: theory.q_learning_lower_bound(S, A, 1 - h, eps),
        {"S": 1e4, "A": 4, "h": 1e-3, "eps": 0.1, "delta": 0.1}, {"S": 1, "A": 1, "1-gamma": -4, "eps": -2}),
    # Wainwright 2019 (arXiv:1906.04697), abstract / Theorem 2: variance-reduced Q-learning needs
    # order D / (eps^2 (1-gamma)^3) log(D/(1-gamma)) samples, D = |S| x |A|
    "variance_reduced_q_learning_samples": (
        lambda S, A, h, eps, delta: theory.variance_reduced_q_learning_samples(S, A, 1 - h, eps, delta),
        {"S": 1e4, "A": 4, "h": 1e-3, "eps": 0.1, "delta": 0.1}, {"S": 1, "A": 1, "1-gamma": -3, "eps": -2}),
    # the same two theorems solved for eps with n samples per pair: eps ~ (1-gamma)^-3/2 n^-1/2 (Agarwal et al.,
    # Theorem 1; Wainwright, Theorem 2) and, for Q-learning after T iterations, (1-gamma)^-2 T^-1/2 (Li et al.)
    "plug_in_error": (
        lambda S, A, h, n, delta: theory.plug_in_error(S, A, 1 - h, n, delta),
        {"S": 10, "A": 4, "h": 1e-3, "n": 1e6, "delta": 0.1}, {"n": -0.5, "1-gamma": -1.5}),
    "variance_reduced_q_learning_error": (
        lambda S, A, h, n, delta: theory.variance_reduced_q_learning_error(S, A, 1 - h, n, delta),
        {"S": 10, "A": 4, "h": 1e-3, "n": 1e6, "delta": 0.1}, {"n": -0.5, "1-gamma": -1.5}),
    "q_learning_error": (
        lambda S, A, h, T, delta: theory.q_learning_error(S, A, 1 - h, T, delta),
        {"S": 10, "A": 4, "h": 1e-3, "T": 1e20, "delta": 0.1}, {"T": -0.5, "1-gamma": -2}),
    # Even-Dar & Mansour 2003 (JMLR 5), Theorem 2, polynomial steps 1/t^omega: T = Omega((V_max^2 ln(...) /
    # (beta^2 eps^2))^(1/omega) + ...), beta = (1-gamma)/2, V_max = 1/(1-gamma) -> (1-gamma)^(-4/omega) eps^(-2/omega)
    "q_learning_polynomial_steps": (
        lambda S, A, h, eps, delta: theory.q_learning_polynomial_steps(S, A, 1 - h, eps, delta, omega=0.6),
        {"S": 1e4, "A": 4, "h": 1e-8, "eps": 1e-3, "delta": 0.1}, {"1-gamma": -4 / 0.6, "eps": -2 / 0.6}),
    # Azar, Osband & Munos 2017 (arXiv:1703.05449), Theorem 1 (UCBVI-CH): regret <= 20 H L sqrt(SAT) + 250 H^2 S^2 A L^2
    "ucbvi_regret[hoeffding]": (
        lambda S, A, H, T: theory.ucbvi_regret(S, A, H, T),
        {"S": 10, "A": 4, "H": 5, "T": 1e30}, {"S": 0.5, "A": 0.5, "H": 1, "T": 0.5}),
    # same paper, abstract and Theorem 2 (UCBVI-BF): O~(sqrt(HSAT) + H^2 S^2 A + H sqrt(T))
    "ucbvi_regret[bernstein]": (
        lambda S, A, H, T: theory.ucbvi_regret(S, A, H, T, bonus="bernstein"),
        {"S": 100, "A": 100, "H": 2, "T": 1e40}, {"S": 0.5, "A": 0.5, "H": 0.5, "T": 0.5}),
    # Jin, Allen-Zhu, Bubeck & Jordan 2018 (arXiv:1807.03765), Theorem 1: O(sqrt(H^4 SAT iota)) (Hoeffding);
    # Theorem 2 (and the abstract): O(sqrt(H^3 SAT iota)) (Bernstein), T = KH
    "ucb_q_learning_regret[hoeffding]": (
        lambda S, A, H, T: theory.ucb_q_learning_regret(S, A, H, T),
        {"S": 10, "A": 4, "H": 5, "T": 1e30}, {"S": 0.5, "A": 0.5, "H": 2, "T": 0.5}),
    "ucb_q_learning_regret[bernstein]": (
        lambda S, A, H, T: theory.ucb_q_learning_regret(S, A, H, T, bonus="bernstein"),
        {"S": 10, "A": 4, "H": 5, "T": 1e40}, {"S": 0.5, "A": 0.5, "H": 1.5, "T": 0.5}),
    # lower bounds: Omega(sqrt(HSAT)) (cited in the abstract of Azar et al. 2017, stationary P);
    # Omega(sqrt(H^2 SAT)) (Jin et al. 2018, Theorem 3, P_h per step)
    "episodic_regret_lower_bound[stationary]": (
        lambda S, A, H, T: theory.episodic_regret_lower_bound(S, A, H, T),
        {"S": 10, "A": 4, "H": 5, "T": 1e6}, {"S": 0.5, "A": 0.5, "H": 0.5, "T": 0.5}),
    "episodic_regret_lower_bound[nonstationary]": (
        lambda S, A, H, T: theory.episodic_regret_lower_bound(S, A, H, T, setting="nonstationary"),
        {"S": 10, "A": 4, "H": 5, "T": 1e6}, {"S": 0.5, "A": 0.5, "H": 1, "T": 0.5}),
    # Chen, Wang, Xiong, Mei & Bai 2023 (arXiv:2302.01333), abstract: m-step revealing (m >= 2) PAC sample
    # complexity Omega(S^1.5) in the latent states (Theorem 3.2); any polynomial sublinear regret is
    # Omega(T^(2/3)) (Theorem 4.1); single-step revealing: O~(sqrt(T)) regret is achievable (Corollary 6.1
    # is the matching lower bound). Only these exponents are readable in the abstract.
    "revealing_pac_lower_bound": (
        lambda S, A, alpha, epsilon: revealing_pac_lower_bound(S=S, A=A, alpha=alpha, epsilon=epsilon, m=2),
        {"S": 4, "A": 3, "alpha": 0.5, "epsilon": 0.1}, {"S": 1.5}),
    "revealing_regret_lower_bound[m=2]": (
        lambda T, S, A, alpha: revealing_regret_lower_bound(T=T, S=S, A=A, alpha=alpha, m=2),
        {"T": 1e4, "S": 4, "A": 3, "alpha": 0.5}, {"T": 2 / 3}),
    "revealing_regret_lower_bound[m=1]": (
        lambda T, S, A, alpha: revealing_regret_lower_bound(T=T, S=S, A=A, alpha=alpha, m=1),
        {"T": 1e4, "S": 4, "A": 3, "alpha": 0.5}, {"T": 0.5}),
}

_ARG = {"1-gamma": "h"}  # the bound's name for a parameter -> the name of the argument varied


def _slope(call, base, arg, exponent):
    """Log-log slope of ``value`` over two decades of ``arg``, in the direction where the leading
    term dominates: towards 0 for negative exponents of ``1-gamma``/``eps``, upwards otherwise."""
    x0 = base[arg]
    x1 = x0 / 100.0 if (arg in ("h", "eps", "epsilon", "alpha")) else x0 * 100.0
    v0, v1 = call(**base).value, call(**{**base, arg: x1}).value
    return math.log(v1 / v0) / math.log(x1 / x0)


@pytest.mark.parametrize("name", sorted(PAPER))
def test_exponents_are_the_papers(name):
    call, base, stated = PAPER[name]
    bound = call(**base)
    for param, exponent in stated.items():
        assert bound.exponents[param] == pytest.approx(exponent, abs=1e-12), (name, param)


@pytest.mark.parametrize("name", sorted(PAPER))
def test_values_scale_with_the_papers_exponents(name):
    call, base, stated = PAPER[name]
    for param, exponent in stated.items():
        slope = _slope(call, base, _ARG.get(param, param), exponent)
        assert slope == pytest.approx(exponent, abs=0.1), (name, param, slope)


def test_constants_the_papers_give():
    # Azar et al. 2017, Theorem 1: 20 H L sqrt(S A T) + 250 H^2 S^2 A L^2 with L = ln(5 S A T / delta)
    S, A, H, T, delta = 6, 2, 10, 1e5, 0.1
    L = math.log(5 * S * A * T / delta)
    assert theory.ucbvi_regret(S, A, H, T, delta).value == pytest.approx(
        20 * H * L * math.sqrt(S * A * T) + 250 * H**2 * S**2 * A * L**2, rel=1e-12)
    # Theorem 2 (UCBVI-BF): 30 L sqrt(H S A T) + 2500 H^2 S^2 A L^2 + 4 H sqrt(T L)
    assert theory.ucbvi_regret(S, A, H, T, delta, bonus="bernstein").value == pytest.approx(
        30 * L * math.sqrt(H * S * A * T) + 2500 * H**2 * S**2 * A * L**2 + 4 * H * math.sqrt(T * L), rel=1e-12)
    # Agarwal et al. 2020, Theorem 1 with c = 1: per-pair N = gamma log(S A / ((1-gamma) delta)) / ((1-gamma)^3 eps^2)
    gamma, eps = 0.9, 0.1
    per_pair = gamma * math.log(S * A / ((1 - gamma) * delta)) / ((1 - gamma) ** 3 * eps**2)
    assert theory.model_based_generative(S, A, gamma, eps, delta).value == pytest.approx(S * A * per_pair, rel=1e-12)
