"""The torch SubPO on CPU against the exact tabular gradient and the numpy implementation."""

from __future__ import annotations

import numpy as np
import pytest

from theory_rl.envs import chain
from theory_rl.errors import InvalidArgumentError
from theory_rl.submodular import (
    FacilityLocation,
    LogDet,
    WeightedCoverage,
    coverage_gridworld,
    subpo,
    subpo_exact_gradient,
    subpo_torch,
    subrl_dp,
)

pytest.importorskip("torch")


@pytest.mark.parametrize("estimator", ["reward_to_go", "immediate_gain", "additive"])
def test_one_sgd_step_is_the_exact_expected_gradient(estimator):
    mdp = chain(4, slip=0.1)
    F = WeightedCoverage(np.eye(4), weights=[0.0, 1.0, 2.0, 4.0])
    theta0 = 0.5 * np.random.default_rng(0).normal(size=(3, 4, 2))
    res = subpo_torch(mdp, F, horizon=3, estimator=estimator, theta0=theta0, epochs=1, batch_size=200_000, lr=1.0,
                      seed=0, device="cpu")
    exact = subpo_exact_gradient(mdp, F, theta0, horizon=3, estimator=estimator)
    step = res.theta - theta0
    assert np.abs(step - exact).max() < 0.05 * np.abs(exact).max()


@pytest.mark.parametrize("make", [lambda: FacilityLocation(np.random.default_rng(1).random((3, 4))),
                                  lambda: LogDet(np.eye(4) + 0.5, noise=0.5)])
def test_device_and_host_scoring_give_the_exact_gradient(make):
    mdp = chain(4, slip=0.1)
    F = make()
    theta0 = 0.3 * np.random.default_rng(2).normal(size=(2, 4, 2))
    res = subpo_torch(mdp, F, horizon=2, theta0=theta0, epochs=1, batch_size=100_000, seed=1, device="cpu")
    exact = subpo_exact_gradient(mdp, F, theta0, horizon=2)
    assert np.abs(res.theta - theta0 - exact).max() < 0.05 * np.abs(exact).max()


def test_torch_and_numpy_training_reach_similar_coverage():
    mdp, F = coverage_gridworld(4, 4, radius=1, seed=0)
    a = subpo(mdp, F, horizon=6, epochs=60, batch_size=64, lr=2.0, seed=0)
    b = subpo_torch(mdp, F, horizon=6, epochs=60, batch_size=64, lr=2.0, seed=0, device="cpu")
    c = subpo_torch(mdp, F, horizon=6, epochs=60, batch_size=64, lr=0.1, seed=0, device="cpu", optimizer="adam")
    assert abs(a.value - b.value) < 0.1 * a.value
    assert c.value > b.history["mean_return"][0] + 1.0


def test_bad_options():
    with pytest.raises(InvalidArgumentError, match="device"):
        subpo_torch(chain(3), WeightedCoverage(np.eye(3)), horizon=2, device="nope")
    with pytest.raises(InvalidArgumentError, match="theta0"):
        subpo_torch(chain(3), WeightedCoverage(np.eye(3)), horizon=2, theta0=np.zeros((1, 3, 2)))


def _enumerated_surrogate_and_objective(net, mdp, F, H):
    """All trajectories of the network's visited-set policy (probabilities from numpy) and, in torch,
    ``J = sum_tau p(tau) F(tau)`` with ``p`` differentiable through the network, plus SubPO's
    reward-to-go surrogate on the same trajectories, built from the training path's features."""
    import torch

    from theory_rl.submodular._subpo import _enumerate, _signals
    from theory_rl.submodular._subpo_torch import _features, _logits_table

    S = mdp.n_states
    table = _logits_table(net, S, H)
    pi = torch.softmax(table, dim=-1).detach().numpy()
    states, actions, contexts, prob = _enumerate(np.asarray(mdp.P), np.asarray(mdp.d0), pi, H, "visited_set", 10**6)
    w, total = _signals(F, states, "reward_to_go")
    st_, ac, cx = (torch.as_tensor(x) for x in (states, actions, contexts))
    logp = torch.log_softmax(table, dim=-1)[torch.arange(H)[None, :], st_[:, :-1], cx, ac]  # (n, H) from the table
    p = torch.as_tensor(prob) * torch.exp((logp - logp.detach()).sum(dim=1))  # = prob, with the policy's gradient
    J = (p * torch.as_tensor(total)).sum()
    masks = ((cx[..., None] >> torch.arange(S)) & 1).bool()  # (n, H, S)
    logp_feat = torch.stack([torch.log_softmax(net(_features(t, st_[:, t], masks[:, t], H)), dim=-1)
                             .gather(1, ac[:, t:t + 1])[:, 0] for t in range(H)], dim=1)
    surrogate = (torch.as_tensor(prob)[:, None] * torch.as_tensor(w.copy()) * logp_feat).sum()
    return table, J, surrogate


def test_visited_set_network_exact_gradient_matches_the_tabular_one():
    """On one-hot inputs the network's logits form a table over (t, s, X): the exact gradient of J
    with respect to that table is the tabular subpo_exact_gradient(policy="visited_set"), and SubPO's
    reward-to-go surrogate (the training loss) has exactly the gradient of J in the network's weights."""
    import torch

    from theory_rl._torch import mlp

    torch.manual_seed(0)
    mdp = chain(3, slip=0.2)
    F = WeightedCoverage(np.eye(3), weights=[0.5, 1.0, 3.0])
    H = 3
    net = mlp(2 * 3 + H, 2, (8,), activation="tanh", device="cpu", dtype=torch.float64)  # subpo_torch's network
    table, J, surrogate = _enumerated_surrogate_and_objective(net, mdp, F, H)
    table.retain_grad()
    J.backward(retain_graph=True)
    tabular = subpo_exact_gradient(mdp, F, table.detach().numpy(), horizon=H, policy="visited_set")
    np.testing.assert_allclose(table.grad.numpy(), tabular, atol=1e-12)
    assert np.abs(tabular).max() > 1e-2
    grad_J = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    surrogate.backward()
    for a, b in zip(grad_J, (p.grad for p in net.parameters())):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)


def test_visited_set_network_learns_coverage():
    mdp = chain(4, slip=0.1)
    F = WeightedCoverage(np.eye(4), weights=[0.0, 1.0, 2.0, 4.0])
    opt = subrl_dp(mdp, F, horizon=3).value
    start = subpo_torch(mdp, F, horizon=3, policy="visited_set", hidden=(16,), epochs=1, lr=1e-9, seed=0,
                        device="cpu").value
    res = subpo_torch(mdp, F, horizon=3, policy="visited_set", hidden=(16,), epochs=40, batch_size=64, lr=0.1,
                      optimizer="adam", seed=0, device="cpu")
    assert res.policy.shape == (3, 4, 16, 2) and res.params["hidden"] == [16]
    assert res.value > start + 0.5 * (opt - start) and res.value <= opt + 1e-9
    with pytest.raises(InvalidArgumentError, match="theta0"):
        subpo_torch(mdp, F, horizon=3, policy="visited_set", theta0=np.zeros((3, 4, 2)))
    with pytest.raises(InvalidArgumentError, match="policy"):
        subpo_torch(mdp, F, horizon=3, policy="history")
