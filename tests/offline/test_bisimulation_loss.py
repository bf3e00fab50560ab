"""The history-bisimulation loss J(phi): zero at the exact metric's embedding (exact and sampled
forms), positive elsewhere; the lookup encoder's fixed point from data tends to the exact metric;
|H| against |Z| on Tiger."""

from __future__ import annotations

import numpy as np
import pytest
from offline_instances import tiger

from theory_rl.models import POMDP
from theory_rl.offline import (
    belief_grouping,
    bisimulation_fixed_point,
    collect_trajectories,
    enumerate_histories,
    history_bisimulation_loss,
    history_bisimulation_metric,
    model_bisimulation_loss,
    sampled_bisimulation_loss,
)


def _frechet(tree, metric) -> np.ndarray:
    """phi(h) = (d(h, h') for h' of h's depth), zero-padded: an l-infinity isometry per depth."""
    blocks = [tree.at_depth(t) for t in range(tree.horizon)]
    width = sum(b.size for b in blocks)
    Z = np.zeros((tree.n_histories, width))
    col = 0
    for t, idx in enumerate(blocks):
        Z[np.ix_(idx, np.arange(col, col + idx.size))] = metric.matrix(t)
        col += idx.size
    return Z


def test_loss_is_zero_at_the_metric_embedding_and_positive_elsewhere():
    tree = enumerate_histories(tiger(), horizon=3)
    metric = history_bisimulation_metric(tree)
    Z = _frechet(tree, metric)
    assert history_bisimulation_loss(tree, Z, norm="linf") == pytest.approx(0.0, abs=1e-14)
    # the embedding is constant on belief groups (identical beliefs: distance 0)
    groups = belief_grouping(tree)
    for g in np.unique(groups):
        rows = Z[groups == g]
        assert np.allclose(rows, rows[0])
    rng = np.random.default_rng(0)
    assert history_bisimulation_loss(tree, Z + rng.normal(size=Z.shape), norm="linf") > 1.0
    assert history_bisimulation_loss(tree, np.zeros_like(Z)) > 1.0


def _deterministic_pomdp() -> POMDP:
    """Deterministic transitions and observations (o = next state): histories branch on a only."""
    T = np.zeros((3, 2, 3))
    T[[0, 1, 2], 0, [1, 2, 0]] = 1.0
    T[[0, 1, 2], 1, [2, 0, 1]] = 1.0
    O = np.stack([np.eye(3), np.eye(3)])  # noqa: E741
    return POMDP(T, O, np.array([[0.0, 1.0], [0.5, 0.2], [1.0, 0.0]]), 0.9, b0=np.array([1.0, 0.0, 0.0]))


def test_sampled_loss_is_zero_at_the_metric_embedding_on_deterministic_data():
    """Deterministic rewards and next histories: one sampled pair is the exact transport term."""
    m = _deterministic_pomdp()
    tree = enumerate_histories(m, horizon=4)
    policy = np.zeros(tree.n_histories, dtype=np.int64)  # always action 0: one successor each
    metric = history_bisimulation_metric(tree, policy=policy)
    Z = _frechet(tree, metric)
    idx = np.flatnonzero(tree.depth < tree.horizon - 1)
    nxt = tree.children[idx, 0, :].max(axis=1)
    r = tree.rewards[idx, 0]
    for t in range(tree.horizon - 1):
        sel = tree.depth[idx] == t
        z, zn, rr = Z[idx[sel]], Z[nxt[sel]], r[sel]
        perm = np.roll(np.arange(sel.sum()), 1)
        assert float(sampled_bisimulation_loss(z, z[perm], rr, rr[perm], zn, zn[perm], gamma=0.9, norm="linf")) < 1e-20
    z = Z[idx] + 1.0 * (np.arange(idx.size) % 2)[:, None]
    assert float(sampled_bisimulation_loss(z, z[::-1], r, r[::-1], Z[nxt], Z[nxt][::-1], gamma=0.9, norm="linf")) > 0.1


def test_sampled_loss_torch_equals_numpy_and_has_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    z, zp, zn, znp = (rng.normal(size=(7, 3)) for _ in range(4))
    r, rp = rng.normal(size=7), rng.normal(size=7)
    for norm in ("l1", "l2", "linf"):
        ref = sampled_bisimulation_loss(z, zp, r, rp, zn, znp, gamma=0.8, norm=norm)
        zt = torch.tensor(z, requires_grad=True)
        out = sampled_bisimulation_loss(zt, torch.tensor(zp), torch.tensor(r), torch.tensor(rp), torch.tensor(zn),
                                        torch.tensor(znp), gamma=0.8, norm=norm)
        out.backward()
        assert out.item() == pytest.approx(float(ref), rel=1e-12)
        assert torch.isfinite(zt.grad).all()


def test_model_form_reduces_to_the_sampled_form_and_torch_equals_numpy():
    """With zero dynamics variance, means = next latents and l2 norms, the model form is the sampled one;
    W2 between diagonal Gaussians is sqrt(|dm|^2 + |ds|^2)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    z, zp, zn, znp, s, sp = (rng.normal(size=(6, 2)) for _ in range(6))
    r, rp = rng.normal(size=6), rng.normal(size=6)
    zero = np.zeros_like(z)
    assert float(model_bisimulation_loss(z, zp, r, rp, zn, zero, znp, zero, gamma=0.7, norm="l2")) == pytest.approx(
        float(sampled_bisimulation_loss(z, zp, r, rp, zn, znp, gamma=0.7, norm="l2")), rel=1e-12)
    s, sp = np.abs(s), np.abs(sp)
    w2 = np.sqrt(((zn - znp) ** 2).sum(1) + ((s - sp) ** 2).sum(1))
    ref = np.mean((np.abs(z - zp).sum(1) - np.abs(r - rp) - 0.7 * w2) ** 2)
    assert float(model_bisimulation_loss(z, zp, r, rp, zn, s, znp, sp, gamma=0.7)) == pytest.approx(ref, rel=1e-12)
    t = [torch.tensor(x) for x in (z, zp, r, rp, zn, s, znp, sp)]
    assert model_bisimulation_loss(*t, gamma=0.7).item() == pytest.approx(ref, rel=1e-12)


def test_lookup_fixed_point_from_data_tends_to_the_exact_metric():
    """Small random POMDP, uniform behaviour (a history policy: uniform at every history)."""
    rng = np.random.default_rng(3)
    m = POMDP(rng.dirichlet(np.ones(2), size=(2, 2)), rng.dirichlet(np.ones(2), size=(2, 2)),
              rng.uniform(-1, 1, (2, 2)), 0.9, b0=np.array([0.5, 0.5]))
    tree = enumerate_histories(m, horizon=3)
    exact = history_bisimulation_metric(tree, policy=np.full((tree.n_histories, 2), 0.5))
    errors = []
    for n in (200, 20000):
        d = collect_trajectories(m, np.full((2, 2), 0.5), n_episodes=n, horizon=2, seed=0)
        fp = bisimulation_fixed_point(d, tree)
        errors.append(max(float(np.max(np.abs(fp.matrix(t) - exact.matrix(t)))) for t in range(tree.horizon)))
    assert errors[1] < errors[0] and errors[1] < 0.05


def test_histories_grow_exponentially_while_belief_groups_stay_bounded():
    """Tiger: |H_t| = 6^t histories at depth t against at most 2t + 1 belief groups (the listen
    count lattice; opening resets the belief)."""
    tree = enumerate_histories(tiger(), horizon=6)
    groups = belief_grouping(tree)
    for t in range(tree.horizon):
        idx = tree.at_depth(t)
        assert idx.size == 6**t
        assert np.unique(groups[idx]).size <= 2 * t + 1
