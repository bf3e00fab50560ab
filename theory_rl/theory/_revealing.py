r"""Bounds for learning in revealing POMDPs (Chen, Wang, Xiong, Mei, Bai, ICML 2023, "Lower Bounds for
Learning in Revealing POMDPs", arXiv 2302.01333; upper bounds from Chen, Bai, Mei et al. 2022a,
"Partially Observable RL with B-Stability", arXiv 2209.14990).

What was checked against the paper text, and what was not
-----------------------------------------------------------
Verified from the abstract: for m-step revealing POMDPs (``m >= 2``) the PAC sample complexity grows
at least like ``S^{1.5}`` in the number of latent states, any polynomial sublinear regret is at least
``T^{2/3}``, and for single-step revealing POMDPs ``Õ(sqrt(T))`` regret is achievable. Table 1's
cells (the full expressions) could not be read in the stored copies: every other exponent below
is *recalled* (recalled, not verified) and flagged ``verified=False`` in
the result, and no absolute constant is known (all values use ``c = 1``). Theorem 3.1 (the
single-step PAC lower bound) is not exposed because its expression could not be recalled reliably.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .._result import ResultMixin
from .._validation import check_int, check_real

__all__ = [
    "BoundExpression",
    "revealing_pac_lower_bound",
    "revealing_pac_upper_bound",
    "revealing_regret_lower_bound",
    "explore_then_commit_regret",
]

_PAPER = "Chen, Wang, Xiong, Mei, Bai (ICML 2023), arXiv 2302.01333"


@dataclass(frozen=True, repr=False)
class BoundExpression(ResultMixin):
    """A rate from a theorem, evaluated (shared by every module of :mod:`theory_rl.theory`).

    Attributes
    ----------
    value : float
        The bound evaluated, with the paper's constants where it gives them and ``1`` where it does
        not (for the revealing-POMDP rates: ``prod_p p ** exponents[p]``).
    exponents : dict
        Exponent of each parameter (``epsilon: -2`` means ``1/epsilon^2``).
    verified : dict
        For each exponent, whether it was checked against the paper's text (``False``: recalled).
    kind : str
        ``"lower"`` or ``"upper"``.
    quantity : str
        What is bounded: ``"episodes"`` (PAC sample complexity), ``"regret"``, ``"samples (total)"``, ...
    source : str
        Paper and theorem.
    note : str
        Hidden factors (logarithms, horizon polynomials) and caveats.

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.ucbvi_regret(S=10, A=2, H=5, T=10_000)
    >>> type(b).__name__, b.kind, b.quantity
    ('BoundExpression', 'upper', 'regret')
    >>> b.exponents["T"]
    0.5
    """

    value: float
    exponents: dict[str, float]
    verified: dict[str, bool]
    kind: str
    quantity: str
    source: str
    note: str = field(default="")

    _repr_fields = ("value", "kind", "quantity", "exponents")


def _positive(**params: float) -> None:
    for name, v in params.items():
        check_real(v, name, low=0.0, low_open=True)


def _m(m: int, lowest: int) -> int:
    check_int(m, "m", minimum=lowest)
    return int(m)


def _evaluate(params: dict[str, float], exponents: dict[str, float]) -> float:
    return math.prod(params[p] ** e for p, e in exponents.items())


def revealing_pac_lower_bound(*, S: int, A: int, alpha: float, epsilon: float, m: int = 2) -> BoundExpression:
    r"""Chen, Wang, Xiong, Mei & Bai (ICML 2023, arXiv 2302.01333), Theorem 3.2: episodes any
    algorithm needs to find an ``epsilon``-optimal policy in some m-step
    ``alpha``-revealing POMDP (``m >= 2``):

    .. math:: \Omega\!\left(\frac{S^{3/2} A^{m-1}}{\alpha^2 \varepsilon^2}\right) \times (\text{factors of } H)

    Only the ``S^{3/2}`` exponent is verified (abstract). ``alpha <= A^{m-1}`` is the scale of the
    m-step constant in :func:`theory_rl.pomdp.revealing_constant`.

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.revealing_pac_lower_bound(S=4, A=2, alpha=0.5, epsilon=0.1, m=2)
    >>> print(b.kind, b.exponents["S"], b.exponents["epsilon"])
    lower 1.5 -2.0
    """
    _positive(S=S, A=A, alpha=alpha, epsilon=epsilon)
    m = _m(m, 2)
    params = {"S": S, "A": A, "alpha": alpha, "epsilon": epsilon}
    exps = {"S": 1.5, "A": float(m - 1), "alpha": -2.0, "epsilon": -2.0}
    return BoundExpression(
        _evaluate(params, exps), exps, {"S": True, "A": False, "alpha": False, "epsilon": False},
        "lower", "episodes", f"{_PAPER}, Theorem 3.2",
        "H-dependent factors omitted (not verified); S^1.5 vs the Theta~(S) of fully observed MDPs",
    )


def revealing_regret_lower_bound(*, T: float, S: int, A: int, alpha: float, m: int = 2) -> BoundExpression:
    r"""Chen, Wang, Xiong, Mei & Bai (ICML 2023, arXiv 2302.01333), Theorem 4.1 (``m >= 2``): any
    algorithm with polynomial sublinear regret suffers

    .. math:: \Omega\!\left( \Big(\frac{S^{3/2} A^{m-1}}{\alpha^2}\Big)^{1/3} T^{2/3} \right)

    on some m-step revealing POMDP; Corollary 6.1 (``m = 1``): ``Omega(sqrt(T))``-type regret. The
    ``T`` exponents (``2/3`` and ``1/2``) are verified from the abstract (for ``m = 1`` through the
    matching ``Õ(sqrt T)`` upper bound it quotes); the inner polynomial is recalled by analogy with
    Theorem 3.2 and not verified. For ``m = 1`` the other parameters are not modelled (exponent 0).

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.revealing_regret_lower_bound(T=1e6, S=4, A=2, alpha=0.5, m=2)
    >>> print(b.quantity, round(b.exponents["T"], 4))
    regret 0.6667
    """
    _positive(T=T, S=S, A=A, alpha=alpha)
    m = _m(m, 1)
    params = {"T": T, "S": S, "A": A, "alpha": alpha}
    if m == 1:
        exps = {"T": 0.5, "S": 0.0, "A": 0.0, "alpha": 0.0}
        src, note = f"{_PAPER}, Corollary 6.1", "only the sqrt(T) rate is modelled"
    else:
        exps = {"T": 2.0 / 3.0, "S": 0.5, "A": (m - 1) / 3.0, "alpha": -2.0 / 3.0}
        src, note = f"{_PAPER}, Theorem 4.1", "explore-then-commit rate; see explore_then_commit_regret"
    verified = {"T": True, "S": False, "A": False, "alpha": False}
    return BoundExpression(_evaluate(params, exps), exps, verified, "lower", "regret", src, note)


def revealing_pac_upper_bound(
    *, S: int, A: int, O: int, alpha: float, epsilon: float, m: int = 1  # noqa: E741
) -> BoundExpression:
    r"""Upper bound quoted in Table 1 from Chen et al. 2022a (OMLE / E2D / MOPS on B-stable PSRs):

    .. math:: \tilde O\!\left(\frac{S^2 A^m O \cdot \mathrm{poly}(H)}{\alpha^2 \varepsilon^2}\right)

    Recalled; no exponent is verified and ``poly(H)`` and logarithms are omitted.
    Multiplicative in every parameter, like the lower bounds.

    Examples
    --------
    >>> from theory_rl import theory
    >>> b = theory.revealing_pac_upper_bound(S=4, A=2, O=3, alpha=0.5, epsilon=0.1)
    >>> print(b.kind, b.exponents["S"], any(b.verified.values()))
    upper 2.0 False
    """
    _positive(S=S, A=A, O=O, alpha=alpha, epsilon=epsilon)
    m = _m(m, 1)
    params = {"S": S, "A": A, "O": O, "alpha": alpha, "epsilon": epsilon}
    exps = {"S": 2.0, "A": float(m), "O": 1.0, "alpha": -2.0, "epsilon": -2.0}
    return BoundExpression(
        _evaluate(params, exps), exps, dict.fromkeys(exps, False), "upper", "episodes",
        "Chen, Bai, Mei et al. (2022a), arXiv 2209.14990, as quoted in Table 1 of arXiv 2302.01333",
        "poly(H) and log factors omitted; exponents recalled, not verified",
    )


def explore_then_commit_regret(T: float) -> tuple[float, float]:
    r"""The explore-then-commit trade-off behind the ``T^{2/3}`` rate: exploring for ``T_0``
    episodes at unit cost and committing with per-episode error ``1/sqrt(T_0)`` gives regret
    ``T_0 + T / sqrt(T_0)``, minimised at ``T_0* = (T/2)^{2/3}`` with value ``3 (T/2)^{2/3}``
    (elementary calculus; exact).

    Returns
    -------
    (T0_star, regret)

    Examples
    --------
    >>> from theory_rl import theory
    >>> t0, regret = theory.explore_then_commit_regret(2000.0)
    >>> print(f"{t0:.1f} {regret:.1f}")
    100.0 300.0
    """
    _positive(T=T)
    t0 = (T / 2.0) ** (2.0 / 3.0)
    return t0, 3.0 * t0
