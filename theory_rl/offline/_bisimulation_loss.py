"""The history-bisimulation loss J(phi) of Hong, Dragan & Levine (2024) for a history encoder:
exact for a lookup encoder on enumerated histories, its fixed point from data, and the sampled
minibatch form used to train torch encoders."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, check_choice, check_real
from ..errors import InvalidArgumentError
from ._bisimulation import (
    BisimulationMetricResult,
    _optimal_policy,
    _wasserstein_many,
    history_bisimulation_metric,
)
from ._dataset import TrajectoryDataset
from ._histories import HistoryTree, as_history_policy

_NORMS = ("l1", "l2", "linf")


def _latent_distance(diff: Any, norm: str) -> Any:
    """Row norms of ``diff`` (numpy array or torch tensor, last axis the latent)."""
    if norm == "l1":
        return abs(diff).sum(-1)
    if norm == "l2":
        return (diff * diff).sum(-1) ** 0.5
    return abs(diff).amax(-1) if hasattr(diff, "amax") else np.abs(diff).max(-1)


def history_bisimulation_loss(
    tree: HistoryTree,
    embedding: Any,
    *,
    policy: Any = None,
    norm: str = "l1",
) -> float:
    r"""The bisimulation loss of a lookup history encoder, exactly (population version).

    For :math:`\phi: h \mapsto z \in \mathbb R^k` (row ``h`` of ``embedding``) and
    :math:`d_\phi(h, h') = \|\phi(h) - \phi(h')\|`, the loss of Hong, Dragan & Levine (2024,
    arXiv 2310.20663, their :math:`J(\phi)`, with the exact reward and next-history law of the
    history MDP in place of learned heads) averaged over all pairs of histories of equal length,

    .. math::
        J(\phi) = \operatorname*{mean}_{t,\ h, h' \in H_t}
            \Big(d_\phi(h, h') - |r^\pi(h) - r^\pi(h')|
            - \gamma\, W_{d_\phi}\big(P^\pi(\cdot \mid h), P^\pi(\cdot \mid h')\big)\Big)^2,

    the Kantorovich distance :math:`W_{d_\phi}` between the next-history laws with ground cost
    :math:`d_\phi` (a HiGHS linear program, :func:`wasserstein`; no transport term at the last
    depth). :math:`J(\phi) = 0` exactly when :math:`d_\phi` is a fixed point of the on-policy
    bisimulation operator, i.e. :math:`d_\phi` is the metric of
    :func:`history_bisimulation_metric`; e.g. the Fréchet embedding
    :math:`\phi(h) = (d(h, h_1), \dots, d(h, h_{n_t}))` with ``norm="linf"`` (an isometry of any
    finite metric). That embedding is constant on the belief groups of :func:`belief_grouping`
    (identical beliefs are at distance 0).

    Parameters
    ----------
    tree : HistoryTree
    embedding : array_like, shape (n_histories, k)
    policy : ndarray, shape (n_histories,) or (n_histories, A), optional
        :math:`\pi`; default the optimal policy (as :func:`history_bisimulation_metric`).
    norm : {"l1", "l2", "linf"}
        The latent norm.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import POMDP
    >>> from theory_rl.offline import enumerate_histories, history_bisimulation_loss
    >>> m = POMDP(np.ones((1, 2, 1)), np.full((2, 1, 2), 0.5), np.array([[0.0, 1.0]]), 0.9)
    >>> tree = enumerate_histories(m, horizon=2)
    >>> round(history_bisimulation_loss(tree, np.zeros((tree.n_histories, 1))), 6)   # one state: d = 0
    0.0
    """
    if not isinstance(tree, HistoryTree):
        raise InvalidArgumentError(f"tree must be a HistoryTree, got {type(tree).__name__}")
    norm = check_choice(norm, "norm", _NORMS)
    Z = as_float_array(embedding, "embedding", ndim=2)
    if Z.shape[0] != tree.n_histories or not np.isfinite(Z).all():
        raise InvalidArgumentError(f"embedding must be finite with {tree.n_histories} rows, got shape {Z.shape}")
    pi = _optimal_policy(tree)[0] if policy is None else as_history_policy(tree, policy)
    r_pi = np.einsum("na,na->n", pi, tree.rewards)
    w = pi[:, :, None] * tree.obs_prob  # (n, A, O): P(h a o | h)
    total, count = 0.0, 0
    for t in range(tree.horizon):
        idx = tree.at_depth(t)
        ii, jj = np.triu_indices(idx.size, k=1)
        if ii.size == 0:
            continue
        hi, hj = idx[ii], idx[jj]
        target = np.abs(r_pi[hi] - r_pi[hj])
        if t < tree.horizon - 1:
            problems = []
            for a, b in zip(hi, hj):
                sa, sb = w[a] > 0, w[b] > 0
                ca, cb = tree.children[a][sa], tree.children[b][sb]
                cost = _latent_distance(Z[ca][:, None, :] - Z[cb][None, :, :], norm)
                problems.append((w[a][sa], w[b][sb], cost))
            target = target + tree.gamma * _wasserstein_many(problems, "primal")
        d = _latent_distance(Z[hi] - Z[hj], norm)
        total += float(np.sum((d - target) ** 2))
        count += ii.size
    return total / max(count, 1)


def sampled_bisimulation_loss(
    z: Any,
    z_pair: Any,
    r: Any,
    r_pair: Any,
    z_next: Any,
    z_next_pair: Any,
    *,
    gamma: float,
    norm: str = "l1",
) -> Any:
    r"""The minibatch bisimulation loss for a history encoder, in the sampled form implemented here.

    For a batch of transitions :math:`(h_i, a_i, r_i, h_i^+)` paired with a permutation of the
    same batch :math:`(h_j, a_j, r_j, h_j^+)`, with :math:`z = \phi(h)` and :math:`\bar z^+ = \bar\phi(h^+)`
    the next latent from a target copy of the encoder (pass it detached: no gradient),

    .. math::
        \hat J(\phi) = \frac1B \sum_i \Big(\|z_i - z_j\| - |r_i - r_j|
            - \gamma\, \|\bar z_i^+ - \bar z_j^+\|\Big)^2 .

    **What is implemented versus the paper.** Hong, Dragan & Levine (2024, arXiv 2310.20663)
    write :math:`J(\phi)` with learned latent reward and dynamics heads, :math:`|\hat r(z_i, a_i) -
    \hat r(z_j, a_j)| + \gamma D(\hat P(\cdot \mid z_i, a_i), \hat P(\cdot \mid z_j, a_j))`, as in
    deep bisimulation for control (Zhang et al. 2021, arXiv 2006.10742). Here the reward term is
    the observed rewards and :math:`D` is replaced by the distance between one sampled next latent
    of each side (a one-sample estimate under the independent coupling, an upper bound on the
    Kantorovich term in expectation). With deterministic rewards and next histories (given the
    behaviour's actions) the two coincide; otherwise the fixed point is the larger
    independent-coupling distance. The form with learned heads is :func:`model_bisimulation_loss`;
    the exact counterpart for lookup encoders is :func:`history_bisimulation_loss`.

    Parameters
    ----------
    z, z_pair, z_next, z_next_pair : array or torch tensor, shape (B, k)
    r, r_pair : array or torch tensor, shape (B,)
    gamma : float
    norm : {"l1", "l2", "linf"}

    Returns
    -------
    float or 0-d torch tensor (differentiable in ``z`` and ``z_pair``)

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.offline import sampled_bisimulation_loss
    >>> z = np.array([[0.0], [1.0]])
    >>> float(sampled_bisimulation_loss(z, z[::-1], np.array([0.0, 1.0]), np.array([1.0, 0.0]), z, z[::-1], gamma=0.5))
    0.25
    """
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0)
    norm = check_choice(norm, "norm", _NORMS)
    d = _latent_distance(z - z_pair, norm)
    target = abs(r - r_pair) + gamma * _latent_distance(z_next - z_next_pair, norm)
    return ((d - target) ** 2).mean()


def model_bisimulation_loss(
    z: Any,
    z_pair: Any,
    r_hat: Any,
    r_hat_pair: Any,
    mean: Any,
    std: Any,
    mean_pair: Any,
    std_pair: Any,
    *,
    gamma: float,
    norm: str = "l1",
) -> Any:
    r"""The minibatch bisimulation loss with learned latent reward and Gaussian dynamics heads.

    For batch pairs :math:`(i, j)`, :math:`z = \phi(h)`, a reward head :math:`\hat r(z, a)` and a
    Gaussian latent dynamics head :math:`\hat P(\cdot \mid z, a) = \mathcal N(m, \operatorname{diag} s^2)`
    (pass the heads' outputs detached: they are targets),

    .. math::
        \hat J(\phi) = \frac1B \sum_i \Big(\|z_i - z_j\| - |\hat r_i - \hat r_j|
            - \gamma\, W_2\big(\hat P_i, \hat P_j\big)\Big)^2, \qquad
        W_2 = \sqrt{\|m_i - m_j\|_2^2 + \|s_i - s_j\|_2^2},

    the closed-form 2-Wasserstein distance between diagonal Gaussians. This is the form of
    :math:`J(\phi)` with learned heads :math:`\hat r, \hat P` of Hong, Dragan & Levine (2024,
    arXiv 2310.20663), with the Gaussian dynamics and :math:`W_2` of deep bisimulation for control
    (Zhang et al. 2021, arXiv 2006.10742). With :math:`s = 0`, ``norm="l2"`` and :math:`m` the
    next latent it equals :func:`sampled_bisimulation_loss`.

    Parameters
    ----------
    z, z_pair, mean, std, mean_pair, std_pair : array or torch tensor, shape (B, k)
    r_hat, r_hat_pair : array or torch tensor, shape (B,)
    gamma : float
    norm : {"l1", "l2", "linf"}
        The latent norm of :math:`\|z_i - z_j\|`.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.offline import model_bisimulation_loss
    >>> z, m, s = np.array([[0.0], [1.0]]), np.array([[0.0], [0.0]]), np.array([[1.0], [1.0]])
    >>> float(model_bisimulation_loss(z, z[::-1], np.array([0.0, 1.0]), np.array([1.0, 0.0]), m, s, m, s, gamma=0.9))
    0.0
    """
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0)
    norm = check_choice(norm, "norm", _NORMS)
    dm, ds = mean - mean_pair, std - std_pair
    w2 = ((dm * dm).sum(-1) + (ds * ds).sum(-1)) ** 0.5
    target = abs(r_hat - r_hat_pair) + gamma * w2
    return ((_latent_distance(z - z_pair, norm) - target) ** 2).mean()


def bisimulation_fixed_point(dataset: TrajectoryDataset, tree: HistoryTree) -> BisimulationMetricResult:
    r"""The fixed point of the lookup encoder's bisimulation loss from data: the on-policy metric of
    the empirical history model under the empirical behaviour policy.

    A lookup encoder has one free latent per history, so :math:`J(\phi)` (with counted reward and
    dynamics heads :math:`\hat r(h, a) = \overline{r_t}`, :math:`\hat P(o \mid h, a) = N(h, a, o) / N(h, a)`
    and behaviour :math:`\hat\mu(a \mid h) = N(h, a) / N(h)`) is minimised, to 0, by the metric
    :math:`\hat d` solving

    .. math:: \hat d(h, h') = |\hat r^{\hat\mu}(h) - \hat r^{\hat\mu}(h')| + \gamma\, W_{\hat d}\big(\hat P^{\hat\mu}(\cdot \mid h), \hat P^{\hat\mu}(\cdot \mid h')\big),

    computed exactly by :func:`history_bisimulation_metric` on the empirical history tree
    (beliefs are not estimated: the returned metric is all that is needed). As the data grow,
    :math:`\hat d` tends to the metric of the true tree under the behaviour's history policy
    (the estimates of :math:`r` and :math:`P` converge and the metric is Lipschitz in them).
    Histories the data never reach get reward 0 and no successors.

    Parameters
    ----------
    dataset : TrajectoryDataset
        POMDP data (with observations), mapped to history ids by :func:`history_dataset`.
    tree : HistoryTree
        Supplies the history structure (``children``) and ``gamma``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.models import POMDP
    >>> from theory_rl.offline import bisimulation_fixed_point, collect_trajectories, enumerate_histories
    >>> m = POMDP(np.ones((1, 2, 1)), np.full((2, 1, 2), 0.5), np.array([[0.0, 1.0]]), 0.9)
    >>> d = collect_trajectories(m, np.full((1, 2), 0.5), n_episodes=50, horizon=2, seed=0)
    >>> res = bisimulation_fixed_point(d, enumerate_histories(m, horizon=3))
    >>> float(res.matrix(0)[0, 0])
    0.0
    """
    from ._cql import history_dataset

    hd = history_dataset(dataset, tree)
    n, A, O = tree.children.shape  # noqa: E741 - POMDP notation
    h = np.concatenate([x[:-1] for x in hd.states]) if hd.n_episodes else np.zeros(0, dtype=np.int64)
    a = np.concatenate(hd.actions) if hd.n_episodes else np.zeros(0, dtype=np.int64)
    r = np.concatenate(hd.rewards) if hd.n_episodes else np.zeros(0)
    o = np.concatenate(dataset.observations) if hd.n_episodes else np.zeros(0, dtype=np.int64)
    n_ha = np.bincount(h * A + a, minlength=n * A).reshape(n, A).astype(float)
    n_hao = np.bincount((h * A + a) * O + o, minlength=n * A * O).reshape(n, A, O).astype(float)
    r_sum = np.bincount(h * A + a, weights=r, minlength=n * A).reshape(n, A)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_hat = np.where(n_ha > 0, r_sum / np.maximum(n_ha, 1), 0.0)
        p_hat = n_hao / np.maximum(n_ha, 1)[:, :, None]
        n_h = n_ha.sum(axis=1, keepdims=True)
        mu = np.where(n_h > 0, n_ha / np.maximum(n_h, 1), 1.0 / A)
    children = np.where(p_hat > 0, tree.children, -1)
    empirical = HistoryTree(
        depth=tree.depth, beliefs=np.zeros((n, 0)), rewards=r_hat, children=children, obs_prob=p_hat,
        actions=tree.actions, observations=tree.observations, horizon=tree.horizon, gamma=tree.gamma,
    )
    return history_bisimulation_metric(empirical, policy=mu)
