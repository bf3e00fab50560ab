r"""Sample complexity of exploration with learned representations (low-rank MDPs)."""

from __future__ import annotations

import math

from .._validation import check_real
from ._revealing import BoundExpression, _positive

__all__ = ["contrastive_ucb_sample_complexity"]

_QIU = ("Qiu, Wang, Bai, Yang, Wang, 'Contrastive UCB: Provably efficient contrastive self-supervised learning "
        "in online reinforcement learning', ICML 2022, arXiv:2207.14800")


def contrastive_ucb_sample_complexity(epsilon: float, delta: float = 0.1) -> BoundExpression:
    r"""Episodes Contrastive UCB needs for an ``epsilon``-optimal policy (Qiu et al. 2022).

    .. math::
        K(\epsilon, \delta) = \tilde O\big(\mathrm{poly}(d, H, |A|, \log |\Phi|) \cdot \epsilon^{-2}\big),

    with probability ``1 - delta`` on a low-rank MDP of rank ``d`` and horizon ``H`` whose true
    features lie in the finite class ``Phi`` (the paper's MDP theorem; the same ``O~(1/epsilon^2)``
    for an ``epsilon``-approximate Nash equilibrium in their Markov-game extension). Only the
    ``epsilon`` exponent (``-2``) is verified, from the abstract. The polynomial in ``d``, ``H``,
    ``|A|`` and ``log |Phi|`` is *not* included (taken as 1): its exponents could not be checked
    against the theorem in this library's review, so ``value = log(1/delta) / epsilon^2`` is the
    rate in ``epsilon`` and ``delta`` only, for slopes, not for absolute episode counts.

    Examples
    --------
    >>> b = contrastive_ucb_sample_complexity(0.1, 0.1)
    >>> round(b.value, 2), b.exponents, b.verified
    (230.26, {'epsilon': -2.0}, {'epsilon': True})
    """
    _positive(epsilon=epsilon)
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    value = math.log(1.0 / delta) / epsilon**2
    exps = {"epsilon": -2.0}
    return BoundExpression(value=value, exponents=exps, verified={"epsilon": True}, kind="upper", quantity="episodes",
                           source=f"{_QIU}, MDP sample-complexity theorem",
                           note="poly(d, H, |A|, log|Phi|) factor and constants omitted (not verified); "
                                "the log(1/delta) factor is the usual high-probability dependence, recalled.")
