r"""Contrastive (binary NCE) estimation with neural features in torch.

The same loss as :func:`~theory_rl.learning.contrastive_fit` (Qiu, Wang, Bai, Yang & Wang 2022,
arXiv:2207.14800, Section 3), with the score ``f(s, a, s') = phi(s, a)^T psi(s')`` given by two
networks on one-hot inputs: ``phi = softplus(net_phi(e_{(s, a)}))``, ``psi = softplus(net_psi(e_{s'}))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._iterative import Timer
from .._torch import require_torch, resolve_device, seed_torch, to_numpy
from .._validation import check_int, check_optional_int
from ._contrastive import ContrastiveResult, bilinear_result, check_counts

__all__ = ["contrastive_fit_torch"]


def _network(torch: Any, n_in: int, hidden: int | None, d: int) -> Any:
    if hidden is None:
        return torch.nn.Sequential(torch.nn.Linear(n_in, d, bias=False), torch.nn.Softplus())
    return torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, d), torch.nn.Softplus())


def contrastive_fit_torch(
    n_pos: np.ndarray,
    n_neg: np.ndarray,
    noise: np.ndarray,
    *,
    rank: int,
    hidden: int | None = None,
    max_iter: int = 300,
    device: Any = "auto",
    seed: int | np.random.Generator | None = None,
) -> ContrastiveResult:
    r"""Minimise the binary NCE loss over a neural bilinear score, in torch (full batch, L-BFGS).

    .. math::
        L(\theta) = \sum_{s,a,s'} n^+(s,a,s') \log\big(1 + 1/f_\theta(s,a,s')\big)
                  + n^-(s,a,s') \log\big(1 + f_\theta(s,a,s')\big),\qquad
        f_\theta(s,a,s') = \phi_\theta(s,a)^\top \psi_\theta(s'),

    the contrastive loss of Qiu, Wang, Bai, Yang & Wang (2022, arXiv:2207.14800, Section 3) with
    ``phi_theta = softplus(net(e_{(s,a)}))`` and ``psi_theta = softplus(net(e_{s'}))`` on one-hot
    inputs: with ``hidden=None`` each net is one linear map, the non-negative rank-``d`` bilinear
    class of :func:`contrastive_fit` (same minimum, measured in the tests); with ``hidden=h`` one
    ``tanh`` hidden layer of width ``h``. Its population minimiser (one negative per positive from
    ``P^-``) is ``f* = P / P^-``, so the model estimate ``P_hat ∝ P^- f`` and the feature span are
    read off as for :func:`contrastive_fit`. The problem is non-convex: a local minimum, found by
    ``torch.optim.LBFGS`` (strong Wolfe line search) from a seeded initialisation, in float64.

    Implemented: finite state and action spaces (one-hot inputs), full-batch fitting on counts.
    Not implemented: the paper's general function classes on continuous states, minibatches.

    Parameters
    ----------
    n_pos, n_neg : ndarray, shape (S, A, S)
        Counts of positives and negatives (see :func:`contrastive_counts`).
    noise : ndarray, shape (S,)
        ``P^-``, with full support.
    rank : int
        ``d``, the width of the features.
    hidden : int, optional
        Width of a hidden layer (none by default: linear nets).
    max_iter : int
        L-BFGS iterations.
    device : "auto", "cpu", "cuda", or torch.device
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    ContrastiveResult
        ``method = "contrastive_fit_torch"``; ``loss`` per positive; ``phi`` and ``mu`` as numpy arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.learning import random_low_rank_mdp
    >>> m = random_low_rank_mdp(4, 2, rank=2, horizon=1, seed=0)
    >>> n_pos = 50 * m.P[0]                                  # expected counts, 50 per pair
    >>> n_neg = np.full((4, 2, 4), 50 / 4)                   # one uniform negative per positive
    >>> fit = contrastive_fit_torch(n_pos, n_neg, np.full(4, 0.25), rank=2, device="cpu", seed=0)
    >>> bool(np.abs(fit.P - m.P[0]).max() < 1e-3)
    True
    """
    torch = require_torch()
    pos, neg, noise = check_counts(n_pos, n_neg, noise)
    S, A, _ = pos.shape
    d = check_int(rank, "rank", minimum=1)
    hidden = check_optional_int(hidden, "hidden", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    dev = resolve_device(device)
    seed_torch(seed)
    with Timer() as timer:
        net_phi = _network(torch, S * A, hidden, d).to(dev, torch.float64)
        net_psi = _network(torch, S, hidden, d).to(dev, torch.float64)
        P2 = torch.as_tensor(pos.reshape(S * A, S), device=dev)
        N2 = torch.as_tensor(neg.reshape(S * A, S), device=dev)
        eye_sa = torch.eye(S * A, dtype=torch.float64, device=dev)
        eye_s = torch.eye(S, dtype=torch.float64, device=dev)
        params = list(net_phi.parameters()) + list(net_psi.parameters())
        opt = torch.optim.LBFGS(params, max_iter=max_iter, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-10, tolerance_change=1e-14, history_size=50)

        def closure() -> Any:
            opt.zero_grad()
            f = net_phi(eye_sa) @ net_psi(eye_s).T
            loss = torch.sum(P2 * (torch.log1p(f) - torch.log(f))) + torch.sum(N2 * torch.log1p(f))
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            F, G = to_numpy(net_phi(eye_sa)), to_numpy(net_psi(eye_s))
        n_iter = int(opt.state[params[0]].get("n_iter", 0))
    return bilinear_result(F, G, pos, neg, noise, n_iter, "contrastive_fit_torch",
                           {"rank": d, "hidden": hidden, "max_iter": max_iter, "device": str(dev)}, timer.elapsed)
