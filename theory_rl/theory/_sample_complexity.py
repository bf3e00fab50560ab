r"""Sample-complexity and regret bounds for tabular RL, as functions of the problem's parameters.

Every function returns a :class:`BoundExpression`: ``value`` (the bound evaluated, log factors
included, with the paper's constants where it gives them and ``1`` where it does not),
``exponents`` (the power of each parameter in the leading term, log factors excluded; the
discount enters as ``"1-gamma"``), ``verified`` (whether that exponent was checked against the
paper's abstract in this library's review, or is recalled from the body), ``kind``
(``"upper"``/``"lower"``), ``quantity`` and ``source`` (paper, theorem). ``note`` says which
constants are exact, which are unspecified in the paper, and which were recalled.

Generative model (``S`` states, ``A`` actions, discount ``gamma``, accuracy ``epsilon``, failure
probability ``delta``, rewards in ``[0, 1]``):

====================================  =================================  =============================
function                              leading term                       source
====================================  =================================  =============================
:func:`model_based_generative`        ``S A / ((1-gamma)^3 eps^2)``      Agarwal, Kakade, Yang 2020, Thm 1
:func:`plug_in_error`                 ``(1-gamma)^{-3/2} n^{-1/2}``      same, solved for ``eps``
:func:`minimax_lower_bound_generative` ``S A / ((1-gamma)^3 eps^2)``      Azar, Munos, Kappen 2013, Thm 3
:func:`q_learning_generative`         ``S A / ((1-gamma)^4 eps^2)``      Li, Cai, Chen, Wei, Chi 2021, Thm 1
:func:`q_learning_lower_bound`        ``S A / ((1-gamma)^4 eps^2)``      same, Thm 2 (Q-learning only)
:func:`q_learning_error`              ``(1-gamma)^{-2} T^{-1/2}``        same, solved for ``eps``
:func:`q_learning_polynomial_steps`   ``((1-gamma)^{-4} eps^{-2})^{1/w}`` Even-Dar, Mansour 2003, Thm 2
:func:`variance_reduced_q_learning_samples` ``S A / ((1-gamma)^3 eps^2)`` Wainwright 2019, Thm 2
:func:`variance_reduced_q_learning_error` ``(1-gamma)^{-3/2} n^{-1/2}``   same, solved for ``eps``
====================================  =================================  =============================

Episodic regret (``H`` steps per episode, ``T = K H`` steps in all):

============================  ====================================  =====================================
:func:`ucbvi_regret`          ``H sqrt(SAT)`` (CH), ``sqrt(HSAT)`` (BF)  Azar, Osband, Munos 2017, Thms 1-2
:func:`ucb_q_learning_regret` ``sqrt(H^4 SAT)`` (H), ``sqrt(H^3 SAT)`` (B) Jin, Allen-Zhu, Bubeck, Jordan 2018, Thms 1-2
:func:`episodic_regret_lower_bound` ``sqrt(H S A T)``               Azar et al. 2017 (Sec. 1), Jin et al. 2018 Thm 3
============================  ====================================  =====================================
"""

from __future__ import annotations

import math

from .._deprecation import renamed_arguments
from .._validation import check_choice, check_real
from ..errors import InvalidArgumentError
from ._revealing import BoundExpression, _positive

__all__ = [
    "episodic_regret_lower_bound",
    "minimax_lower_bound_generative",
    "model_based_generative",
    "plug_in_error",
    "q_learning_error",
    "q_learning_generative",
    "q_learning_lower_bound",
    "q_learning_polynomial_steps",
    "ucb_q_learning_regret",
    "ucbvi_regret",
    "variance_reduced_q_learning_error",
    "variance_reduced_q_learning_samples",
]

_AKY = "Agarwal, Kakade, Yang, 'Model-based RL with a generative model is minimax optimal', COLT 2020, arXiv:1906.03804"
_AMK = "Azar, Munos, Kappen, 'Minimax PAC bounds on the sample complexity of RL with a generative model', Machine Learning 91:325-349, 2013"
_LI = "Li, Cai, Chen, Wei, Chi, 'Is Q-learning minimax optimal? A tight sample complexity analysis', arXiv:2102.06548, 2021"
_EDM = "Even-Dar, Mansour, 'Learning rates for Q-learning', JMLR 5:1-25, 2003"
_WAIN = "Wainwright, 'Variance-reduced Q-learning is minimax optimal', arXiv:1906.04697, 2019"
_AOM = "Azar, Osband, Munos, 'Minimax regret bounds for reinforcement learning', ICML 2017, arXiv:1703.05449"
_JIN = "Jin, Allen-Zhu, Bubeck, Jordan, 'Is Q-learning provably efficient?', NeurIPS 2018, arXiv:1807.03765"


def _gamma(gamma: float) -> float:
    return check_real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)


def _delta(delta: float) -> float:
    return check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)


def _all(verified: bool, exponents: dict[str, float]) -> dict[str, bool]:
    return {k: verified for k in exponents}


# ---------------------------------------------------------------------------- generative model
@renamed_arguments(eps="epsilon")
def model_based_generative(S: float, A: float, gamma: float, epsilon: float, delta: float) -> BoundExpression:
    r"""Samples sufficient for plug-in planning to be ``epsilon``-accurate (Agarwal et al. 2020, Thm 1).

    .. math::
        N_{\text{total}} = S A \cdot \frac{c\,\gamma \log\!\big(c S A / ((1-\gamma)\delta)\big)}{(1-\gamma)^3 \varepsilon^2}

    samples in all (``N`` per pair) give ``||Q_hat* - Q*||_inf <= epsilon`` and
    ``||Q* - Q^{pi_hat}||_inf <= epsilon`` with probability ``1 - delta``, for
    ``epsilon in (0, (1-gamma)^{-1/2}]``. ``c`` is an unspecified absolute constant (``c = 1`` here).

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.model_based_generative(10, 2, 0.9, 0.1, 0.05)
    >>> print(b.kind, f"{b.value:.3g}")
    upper 1.49e+07
    >>> round(theory.model_based_generative(10, 2, 0.9, 0.05, 0.05).value / b.value, 6)   # half the epsilon
    4.0
    """
    _positive(S=S, A=A, epsilon=epsilon)
    g, d = _gamma(gamma), _delta(delta)
    value = S * A * g * math.log(S * A / ((1 - g) * d)) / ((1 - g) ** 3 * epsilon**2)
    exps = {"S": 1.0, "A": 1.0, "1-gamma": -3.0, "eps": -2.0}
    return BoundExpression(
        value=value, exponents=exps, verified=_all(False, exps), kind="upper", quantity="samples (total)",
        source=f"{_AKY}, Theorem 1",
        note="c unspecified in the paper (set to 1); exponents recalled from the body (the abstract says 'minimax "
             "optimal' only); Li et al. 2020 (arXiv:2005.12900) state the same rate for epsilon in (0, 1/(1-gamma)].")


def plug_in_error(S: float, A: float, gamma: float, n: float, delta: float) -> BoundExpression:
    r"""The accuracy :func:`model_based_generative` guarantees with ``n`` samples per pair.

    .. math::
        \varepsilon(n) = \sqrt{\frac{\gamma \log(S A / ((1-\gamma)\delta))}{(1-\gamma)^3 n}},

    valid while ``eps <= (1-gamma)^{-1/2}`` (``c = 1``). The exponent of ``n`` is ``-1/2``, of
    ``1 - gamma`` is ``-3/2``: the slopes a log-log plot of ``||Q_hat - Q*||`` should show.

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.plug_in_error(10, 2, 0.9, 1e6, 0.05)
    >>> print(b.quantity, f"{b.value:.3g}")
    sup-norm error of Q_hat* 0.0864
    >>> round(theory.plug_in_error(10, 2, 0.9, 4e6, 0.05).value / b.value, 6)       # 4x the samples
    0.5
    """
    _positive(S=S, A=A, n=n)
    g, d = _gamma(gamma), _delta(delta)
    value = math.sqrt(g * math.log(S * A / ((1 - g) * d)) / ((1 - g) ** 3 * n))
    exps = {"n": -0.5, "1-gamma": -1.5, "S": 0.0, "A": 0.0}
    return BoundExpression(value=value, exponents=exps, verified=_all(False, exps), kind="upper",
                           quantity="sup-norm error of Q_hat*", source=f"{_AKY}, Theorem 1 (solved for eps)",
                           note="c unspecified (set to 1); S and A enter only through the logarithm.")


@renamed_arguments(eps="epsilon")
def minimax_lower_bound_generative(S: float, A: float, gamma: float, epsilon: float, delta: float) -> BoundExpression:
    r"""Samples any algorithm needs to estimate ``Q*`` to ``epsilon`` (Azar, Munos & Kappen 2013, Thm 3).

    .. math::
        T \ge \frac{\beta^3 N}{c_1 \varepsilon^2} \log\frac{N}{c_2 \delta}, \qquad \beta = \frac1{1-\gamma},\ N = S A,

    for ``epsilon in (0, eps_0)`` and ``delta in (0, delta_0 / N)``, on a class of hard MDPs.
    ``c_1, c_2, eps_0, delta_0`` are absolute constants the theorem does not give (set to 1).

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.minimax_lower_bound_generative(10, 2, 0.9, 0.1, 0.05)
    >>> print(b.kind, b.exponents["1-gamma"], b.exponents["eps"])
    lower -3.0 -2.0
    """
    _positive(S=S, A=A, epsilon=epsilon)
    g, d = _gamma(gamma), _delta(delta)
    N = S * A
    value = N * math.log(N / d) / ((1 - g) ** 3 * epsilon**2)
    exps = {"S": 1.0, "A": 1.0, "1-gamma": -3.0, "eps": -2.0}
    return BoundExpression(value=value, exponents=exps, verified=_all(False, exps), kind="lower",
                           quantity="samples (total)", source=f"{_AMK}, Theorem 3",
                           note="c1, c2 unspecified (set to 1); exponents recalled; cited as the minimax lower "
                                "bound by Agarwal et al. 2020 and Wainwright 2019 (abstracts).")


@renamed_arguments(eps="epsilon")
def q_learning_generative(S: float, A: float, gamma: float, epsilon: float, delta: float) -> BoundExpression:
    r"""Samples sufficient for synchronous Q-learning (Li et al. 2021, Thm 1).

    .. math::
        N_{\text{total}} \approx S A \cdot \frac{\log(S A / ((1-\gamma)\delta))}{(1-\gamma)^4 \varepsilon^2}
        \quad (\varepsilon \in (0, 1]),

    with rescaled-linear or constant step sizes. The theorem's iteration count carries a further
    ``log^4 T`` (implicit in ``T``) and an unspecified constant; both are left out (``c = 1``).
    For ``A = 1`` (TD learning) the same paper shows ``(1-gamma)^{-3}``.

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.q_learning_generative(10, 2, 0.9, 0.1, 0.05)
    >>> print(b.kind, f"{b.value:.3g}", "exponent of 1-gamma:", b.exponents["1-gamma"])
    upper 1.66e+08 exponent of 1-gamma: -4.0
    """
    _positive(S=S, A=A, epsilon=epsilon)
    g, d = _gamma(gamma), _delta(delta)
    value = S * A * math.log(S * A / ((1 - g) * d)) / ((1 - g) ** 4 * epsilon**2)
    exps = {"S": 1.0, "A": 1.0, "1-gamma": -4.0, "eps": -2.0}
    return BoundExpression(value=value, exponents=exps, verified=_all(True, exps), kind="upper",
                           quantity="samples (total)", source=f"{_LI}, Theorem 1",
                           note="exponents as stated in the abstract; constant and log^4 T factor omitted.")


@renamed_arguments(eps="epsilon")
def q_learning_lower_bound(S: float, A: float, gamma: float, epsilon: float) -> BoundExpression:
    r"""Samples Q-learning itself needs on a hard instance (Li et al. 2021, Thm 2, ``A >= 2``).

    .. math:: N_{\text{total}} \gtrsim \frac{S A}{(1-\gamma)^4 \varepsilon^2}.

    A lower bound for the algorithm, not for the problem: it exceeds
    :func:`minimax_lower_bound_generative` by ``1/(1-gamma)``, which is the point of the paper.

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.q_learning_lower_bound(10, 2, 0.9, 0.1)
    >>> print(b.kind, f"{b.value:.3g}")
    lower 2e+07
    """
    _positive(S=S, A=A, epsilon=epsilon)
    g = _gamma(gamma)
    exps = {"S": 1.0, "A": 1.0, "1-gamma": -4.0, "eps": -2.0}
    return BoundExpression(value=S * A / ((1 - g) ** 4 * epsilon**2), exponents=exps, verified=_all(True, exps),
                           kind="lower", quantity="samples (total)", source=f"{_LI}, Theorem 2",
                           note="constant and log factors unspecified (set to 1); holds for A >= 2.")


def q_learning_error(S: float, A: float, gamma: float, T: float, delta: float) -> BoundExpression:
    r"""Accuracy of synchronous Q-learning after ``T`` iterations (Li et al. 2021, Thm 1 solved for ``eps``).

    .. math:: \varepsilon(T) = \sqrt{\frac{\log(S A T / \delta)}{(1-\gamma)^4 T}}

    (``c = 1``, ``log^4 T`` omitted; valid for ``eps <= 1``, i.e. past the burn-in
    ``T >~ (1-gamma)^{-4}``).

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.q_learning_error(10, 2, 0.9, 1e8, 0.05)
    >>> print(b.quantity, f"{b.value:.3g}")
    sup-norm error of Q_T 0.0494
    """
    _positive(S=S, A=A, T=T)
    g, d = _gamma(gamma), _delta(delta)
    value = math.sqrt(math.log(S * A * T / d) / ((1 - g) ** 4 * T))
    exps = {"T": -0.5, "1-gamma": -2.0, "S": 0.0, "A": 0.0}
    return BoundExpression(value=value, exponents=exps, verified=_all(True, exps), kind="upper",
                           quantity="sup-norm error of Q_T", source=f"{_LI}, Theorem 1 (solved for eps)",
                           note="constant unspecified (set to 1); log^4 T omitted.")


@renamed_arguments(eps="epsilon")
def q_learning_polynomial_steps(S: float, A: float, gamma: float, epsilon: float, delta: float,
                                omega: float) -> BoundExpression:
    r"""Iterations for synchronous Q-learning with steps ``t^{-omega}`` (Even-Dar & Mansour 2003, Thm 2).

    .. math::
        T = \Omega\Big(\Big(\frac{V_{\max}^2 \ln(V_{\max} S A / (\delta\beta\varepsilon))}{\beta^2\varepsilon^2}\Big)^{1/\omega}
            + \Big(\frac1\beta \ln\frac{V_{\max}}{\varepsilon}\Big)^{1/(1-\omega)}\Big),
        \qquad \beta = \frac{1-\gamma}2,\ V_{\max} = \frac1{1-\gamma},

    for ``omega in (1/2, 1)``. The form is recalled from the paper (not checked here); constants
    unspecified (set to 1). The leading exponents are those of the first term.

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.q_learning_polynomial_steps(10, 2, 0.9, 0.1, 0.05, 0.8)
    >>> print(b.kind, f"{b.value:.3g}")
    upper 1.13e+10
    """
    _positive(S=S, A=A, epsilon=epsilon)
    g, d = _gamma(gamma), _delta(delta)
    omega = check_real(omega, "omega", low=0.5, high=1.0, low_open=True, high_open=True)
    beta, vmax = (1 - g) / 2, 1 / (1 - g)
    first = (vmax**2 * math.log(vmax * S * A / (d * beta * epsilon)) / (beta**2 * epsilon**2)) ** (1 / omega)
    second = (math.log(max(vmax / epsilon, math.e)) / beta) ** (1 / (1 - omega))
    exps = {"1-gamma": -4.0 / omega, "eps": -2.0 / omega, "S": 0.0, "A": 0.0}
    return BoundExpression(value=first + second, exponents=exps, verified=_all(False, exps), kind="upper",
                           quantity="iterations (samples per pair)", source=f"{_EDM}, Theorem 2",
                           note="recalled, not verified; constants unspecified (set to 1).")


@renamed_arguments(eps="epsilon")
def variance_reduced_q_learning_samples(S: float, A: float, gamma: float, epsilon: float,
                                        delta: float) -> BoundExpression:
    r"""Samples sufficient for variance-reduced Q-learning (Wainwright 2019, Thm 2).

    .. math::
        N_{\text{total}} = \frac{D}{\varepsilon^2 (1-\gamma)^3} \log\frac{D}{(1-\gamma)\delta}, \qquad D = S A

    (the abstract's form with the failure probability added; constant unspecified, ``c = 1``).

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.variance_reduced_q_learning_samples(10, 2, 0.9, 0.1, 0.05)
    >>> f"{b.value:.3g}", b.exponents["1-gamma"]          # (1-gamma)^-3: the minimax rate
    ('1.66e+07', -3.0)
    """
    _positive(S=S, A=A, epsilon=epsilon)
    g, d = _gamma(gamma), _delta(delta)
    D = S * A
    value = D * math.log(D / ((1 - g) * d)) / (epsilon**2 * (1 - g) ** 3)
    exps = {"S": 1.0, "A": 1.0, "1-gamma": -3.0, "eps": -2.0}
    return BoundExpression(value=value, exponents=exps, verified=_all(True, exps), kind="upper",
                           quantity="samples (total)", source=f"{_WAIN}, Theorem 2",
                           note="exponents as in the abstract; constant unspecified (set to 1).")


def variance_reduced_q_learning_error(S: float, A: float, gamma: float, n: float, delta: float) -> BoundExpression:
    r""":func:`variance_reduced_q_learning_samples` solved for ``eps`` with ``n`` samples per pair:
    ``eps(n) = sqrt(log(SA/((1-gamma) delta)) / ((1-gamma)^3 n))``.

    Examples
    --------
    >>> from theory_rl import theory
    >>> err = theory.variance_reduced_q_learning_error(10, 2, 0.9, 1e6, 0.05)
    >>> round(err.value, 4), err.kind
    (0.0911, 'upper')
    """
    _positive(S=S, A=A, n=n)
    g, d = _gamma(gamma), _delta(delta)
    value = math.sqrt(math.log(S * A / ((1 - g) * d)) / ((1 - g) ** 3 * n))
    exps = {"n": -0.5, "1-gamma": -1.5, "S": 0.0, "A": 0.0}
    return BoundExpression(value=value, exponents=exps, verified=_all(True, exps), kind="upper",
                           quantity="sup-norm error", source=f"{_WAIN}, Theorem 2 (solved for eps)",
                           note="constant unspecified (set to 1).")


# ---------------------------------------------------------------------------- episodic regret
def ucbvi_regret(S: float, A: float, H: float, T: float, delta: float = 0.1, *,
                 bonus: str = "hoeffding") -> BoundExpression:
    r"""High-probability regret of UCBVI after ``T = K H`` steps (Azar, Osband & Munos 2017).

    - ``bonus="hoeffding"`` (UCBVI-CH, Thm 1): :math:`20 H L \sqrt{S A T} + 250 H^2 S^2 A L^2`;
    - ``bonus="bernstein"`` (UCBVI-BF, Thm 2): :math:`30 L \sqrt{H S A T} + 2500 H^2 S^2 A L^2 + 4 H \sqrt{T L}`;

    with :math:`L = \ln(5 S A T / \delta)`. The *orders* ``sqrt(HSAT) + H^2 S^2 A + H sqrt(T)``
    (BF) are the abstract's; the numeric constants (20, 250, 30, 2500, 4) and the form of ``L``
    are recalled from the theorems and not verified here. Leading exponents are of the
    ``sqrt(T)`` term.

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.ucbvi_regret(10, 2, 5, 10_000, bonus="hoeffding")
    >>> print(b.kind, f"{b.value:.3g}")
    upper 3.25e+08
    """
    _positive(S=S, A=A, H=H, T=T)
    d = _delta(delta)
    check_choice(bonus, "bonus", ("hoeffding", "bernstein"))
    L = math.log(5 * S * A * T / d)
    if bonus == "hoeffding":
        value = 20 * H * L * math.sqrt(S * A * T) + 250 * H**2 * S**2 * A * L**2
        exps = {"S": 0.5, "A": 0.5, "H": 1.0, "T": 0.5}
        verified = {"S": True, "A": True, "H": False, "T": True}
        theorem = "Theorem 1 (UCBVI-CH)"
    else:
        value = 30 * L * math.sqrt(H * S * A * T) + 2500 * H**2 * S**2 * A * L**2 + 4 * H * math.sqrt(T * L)
        exps = {"S": 0.5, "A": 0.5, "H": 0.5, "T": 0.5}
        verified = _all(True, exps)
        theorem = "Theorem 2 (UCBVI-BF)"
    return BoundExpression(value=value, exponents=exps, verified=verified, kind="upper", quantity="regret",
                           source=f"{_AOM}, {theorem}",
                           note="constants recalled from the theorem statements (not verified); the sqrt(T) "
                                "rate appears only once T >> H^3 S^3 A (second-order term).")


def ucb_q_learning_regret(S: float, A: float, H: float, T: float, delta: float = 0.1, *,
                          bonus: str = "hoeffding") -> BoundExpression:
    r"""High-probability regret of Q-learning with UCB bonuses (Jin et al. 2018).

    - ``bonus="hoeffding"`` (Thm 1): :math:`\sqrt{H^4 S A T \iota}`;
    - ``bonus="bernstein"`` (Thm 2): :math:`\sqrt{H^3 S A T \iota} + \sqrt{H^9 S^3 A^3}\,\iota^2`;

    with ``iota = log(S A T / delta)``, up to an unspecified absolute constant (``c = 1``).
    The Bernstein order ``sqrt(H^3 SAT)`` is the abstract's; the rest is recalled.

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.ucb_q_learning_regret(10, 2, 5, 10_000, bonus="bernstein")
    >>> print(b.kind, b.exponents["H"])
    upper 1.5
    """
    _positive(S=S, A=A, H=H, T=T)
    d = _delta(delta)
    check_choice(bonus, "bonus", ("hoeffding", "bernstein"))
    iota = math.log(S * A * T / d)
    if bonus == "hoeffding":
        value = math.sqrt(H**4 * S * A * T * iota)
        exps = {"S": 0.5, "A": 0.5, "H": 2.0, "T": 0.5}
        verified = {"S": False, "A": False, "H": False, "T": False}
        theorem = "Theorem 1 (UCB-Hoeffding)"
    else:
        value = math.sqrt(H**3 * S * A * T * iota) + math.sqrt(H**9 * S**3 * A**3) * iota**2
        exps = {"S": 0.5, "A": 0.5, "H": 1.5, "T": 0.5}
        verified = _all(True, exps)
        theorem = "Theorem 2 (UCB-Bernstein)"
    return BoundExpression(value=value, exponents=exps, verified=verified, kind="upper", quantity="regret",
                           source=f"{_JIN}, {theorem}", note="absolute constant unspecified (set to 1).")


def episodic_regret_lower_bound(S: float, A: float, H: float, T: float, *,
                                setting: str = "stationary") -> BoundExpression:
    r"""Minimax regret lower bound for episodic tabular RL.

    - ``setting="stationary"`` (one ``P`` for all steps): :math:`\sqrt{H S A T}` (cited as
      established in the abstract of Azar et al. 2017, after Jaksch et al. 2010 and Osband &
      Van Roy 2016), for ``T >= H S A``;
    - ``setting="nonstationary"`` (``P_h`` per step, Jin et al. 2018, Thm 3): :math:`\sqrt{H^2 S A T}`.

    Constants unspecified (set to 1).

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.episodic_regret_lower_bound(10, 2, 5, 10_000)
    >>> print(f"{b.value:.1f}")
    1000.0
    """
    _positive(S=S, A=A, H=H, T=T)
    if setting == "stationary":
        exps = {"S": 0.5, "A": 0.5, "H": 0.5, "T": 0.5}
        value, source, verified = math.sqrt(H * S * A * T), f"{_AOM}, Section 1 (lower bound cited)", True
    elif setting == "nonstationary":
        exps = {"S": 0.5, "A": 0.5, "H": 1.0, "T": 0.5}
        value, source, verified = math.sqrt(H**2 * S * A * T), f"{_JIN}, Theorem 3", False
    else:
        raise InvalidArgumentError(f"setting = {setting!r}: expected 'stationary' or 'nonstationary'")
    return BoundExpression(value=value, exponents=exps, verified=_all(verified, exps), kind="lower",
                           quantity="regret", source=source, note="constant unspecified (set to 1).")
