"""SEQUOIA training, the baselines and the evaluation metric on small instances."""

from __future__ import annotations

import numpy as np
import pytest

from theory_rl.combinatorial import (
    baseline_policies,
    evaluate,
    make_cormab,
    pretrain_myopic,
    relu_mlp_layers,
    sequoia_policy,
    sequoia_train,
    warm_start_dataset,
)
from theory_rl.combinatorial._sequoia import _Replay
from theory_rl.errors import InvalidArgumentError


def test_evaluate_matches_the_exact_expected_per_step_reward():
    cormab = make_cormab("budget", 3, 1, seed=2, horizon=5)
    mdp, states, actions = cormab.to_finite_mdp()
    null = int(np.flatnonzero((actions == 0).all(axis=1))[0])
    # exact: start distribution (level 1 w.p. 0.2, else 0), then d_{t+1} = d_t P_null
    d = np.array([np.prod([0.2 if x == 1 else 0.8 for x in s]) if set(s) <= {0, 1} else 0.0 for s in states])
    P = np.asarray(mdp.P)[:, null, :]
    exact = []
    for _ in range(5):
        exact.append(d @ mdp.R[:, null])
        d = d @ P
    res = evaluate(cormab, baseline_policies(cormab)["null"], n_episodes=400, seed=1)
    assert abs(res.mean_reward - np.mean(exact)) < 4 * res.stderr
    disc = sum(cormab.gamma ** t * e for t, e in enumerate(exact))
    assert abs(res.discounted_return - disc) < 4 * res.discounted_stderr


def test_every_baseline_returns_feasible_actions_and_common_random_numbers():
    for domain in ("interventions", "path", "matching", "capacity"):
        cormab = make_cormab(domain, 8, 2, seed=3, horizon=4)
        pols = baseline_policies(cormab, n_samples=10)
        for name, pol in pols.items():
            res = evaluate(cormab, pol, n_episodes=2, seed=0)  # the env raises on an infeasible action
            assert np.isfinite(res.mean_reward), (domain, name)
        a = evaluate(cormab, pols["random"], n_episodes=3, seed=7)
        b = evaluate(cormab, pols["random"], n_episodes=3, seed=7)
        np.testing.assert_array_equal(a.per_episode, b.per_episode)
        assert "null" in pols or domain == "interventions"


def test_myopic_pretraining_fits_the_one_step_reward():
    cormab = make_cormab("budget", 4, 2, seed=0)
    data = warm_start_dataset(cormab, n_random_states=40, seed=0)
    net, losses = pretrain_myopic(cormab, data, hidden=(32, 32), epochs=25, batch_size=128, lr=1e-2,
                                  lr_decay=0.97, seed=0)
    assert losses[-1] < 0.1 * losses[0]
    S, A, r = data
    layers = relu_mlp_layers(net)
    from theory_rl.combinatorial import forward
    pred = forward(layers, np.hstack([A, S / 3]))
    assert np.mean(np.abs(pred - r)) < 0.4 * np.mean(np.abs(r - r.mean()))


def test_prioritised_replay_samples_by_updated_priorities():
    rng = np.random.default_rng(0)
    rep = _Replay(10, 2, 2, alpha=1.0, rng=rng)
    for i in range(4):
        rep.add(np.zeros(2), np.zeros(2), float(i), np.zeros(2))
    rep.prio[:4] = [1.0, 1.0, 1.0, 97.0]
    idx, w = rep.sample(2000, beta=1.0)
    assert np.mean(idx == 3) == pytest.approx(0.97, abs=0.02)
    assert w.max() == 1.0 and w[idx == 3].max() < w[idx == 0].min()  # IS weights undo the skew


@pytest.mark.slow
@pytest.mark.parametrize("options", [{}, {"published": True}, {"tau": 0.5, "train_constraint": "budget"}])
def test_sequoia_train_runs_and_its_policy_is_exact_on_its_own_q(options):
    cormab = make_cormab("path", 6, 2, seed=1, horizon=5)
    res = sequoia_train(cormab, hidden=(8, 8), n_episodes=2, pretrain_epochs=3, pretrain_batch=64,
                        n_random_states=10, batch_size=8, target_update_every=3, seed=0, **options)
    assert res.n_mip_solves > 0 and np.isfinite(res.td_loss).all() and len(res.episode_reward) == 2
    if options.get("published"):
        assert res.params["tau"] == 1e-6 and not res.params["update_priorities"] and res.params["mip_gap"] == 0.02
    pol = sequoia_policy(cormab, res.qnet)
    out = evaluate(cormab, pol, n_episodes=1, seed=0)
    assert np.isfinite(out.mean_reward)
    s = np.array([0, 1, 2, 3, 0, 1])
    a, _ = pol(s, np.random.default_rng(0))
    F = cormab.constraint.enumerate_feasible()
    from theory_rl.combinatorial import forward
    layers = relu_mlp_layers(res.qnet)
    q = forward(layers, np.hstack([F, np.broadcast_to(cormab.features(s), (len(F), 6))]))
    assert forward(layers, np.concatenate([a, cormab.features(s)])[None])[0] == pytest.approx(q.max(), abs=1e-5)


def _mip_greedy_policy(cormab, qnet, states, actions):
    """Index (into ``actions``) of the MILP argmax of ``qnet`` at every state of the joint MDP."""
    from theory_rl.combinatorial import mip_argmax

    layers = relu_mlp_layers(qnet)
    out = []
    for s in states:
        a = mip_argmax(layers, cormab.features(s), cormab.constraint, layers=layers).action
        out.append(int(np.flatnonzero((actions == a).all(axis=1))[0]))
    return np.array(out)


def test_sequoia_training_beats_its_pretrained_network_and_reaches_q_star():
    # a coRMAB small enough for exact DP over the joint space: 2 arms, budget 1, 16 states, 3 feasible
    # actions; Q* by policy iteration on the joint MDP (every optimal action wins by >= 2.4 in Q*)
    from theory_rl import tabular
    from theory_rl.combinatorial import forward

    cormab = make_cormab("budget", 2, 1, seed=3, gamma=0.9, horizon=10)
    mdp, states, actions = cormab.to_finite_mdp()
    opt = tabular.policy_iteration(mdp, tol=1e-10)
    q_star = tabular.q_values(mdp, opt.v)
    kw = dict(hidden=(16, 16), pretrain_epochs=50, n_random_states=16, batch_size=32, lr=1e-2, lr_decay=0.99,
              target_update_every=50, seed=0)
    pre = sequoia_train(cormab, n_episodes=0, **kw)  # the myopically pre-trained network alone
    res = sequoia_train(cormab, n_episodes=60, **kw)  # the same network after 600 DQN steps
    pi_pre = _mip_greedy_policy(cormab, pre.qnet, states, actions)
    pi = _mip_greedy_policy(cormab, res.qnet, states, actions)
    v_pre, v = tabular.policy_value(mdp, pi_pre), tabular.policy_value(mdp, pi)
    # the pre-trained network's MILP policy is not optimal, so training has something to fix. Measured
    # (torch seeded through _torch.seed_torch, seeds 0-9 of this call): the pre-trained policy is
    # 35.2 (seed 0) and 5.0 (seed 6) below V* on average and optimal for the other eight seeds, while
    # training reaches the optimal policy for all ten. Seed 0 is one where pre-training alone fails; any
    # wrong action loses >= 2.4 in Q* at its state, and 2.0 is well below both measured failures ...
    assert not np.array_equal(pi_pre, opt.policy)
    assert (opt.v - v_pre).mean() > 2.0
    # ... and training makes the MILP argmax the exact optimal action at every joint state
    np.testing.assert_array_equal(pi, opt.policy)
    np.testing.assert_allclose(v, opt.v, atol=1e-8)
    # the network's value at its argmax moves towards V* (Q* up to a 30% relative error after 60 episodes)
    layers_pre, layers = relu_mlp_layers(pre.qnet), relu_mlp_layers(res.qnet)

    def q_at(ls, pol):
        return np.array([forward(ls, np.concatenate([actions[a], cormab.features(s)])[None])[0]
                         for s, a in zip(states, pol)])

    err, err_pre = np.abs(q_at(layers, pi) - opt.v), np.abs(q_at(layers_pre, pi_pre) - opt.v)
    assert err.max() < 0.3 * np.abs(opt.v).max() and err.mean() < 0.5 * err_pre.mean()
    assert np.abs(q_star[np.arange(len(states)), pi] - opt.v).max() < 1e-8


def test_training_rejects_unknown_options():
    with pytest.raises(InvalidArgumentError, match="train_constraint"):
        sequoia_train(make_cormab("budget", 3, 1), train_constraint="none", n_episodes=0, pretrain_epochs=0)


@pytest.mark.parametrize("horizon", [0, -3, 2.5])
def test_evaluate_rejects_a_horizon_below_one(horizon):
    # horizon = 0 used to return mean_reward = nan with a RuntimeWarning, -3 a bare numpy ValueError
    cormab = make_cormab("budget", 3, 1, seed=2, horizon=5)
    with pytest.raises(InvalidArgumentError, match="horizon"):
        evaluate(cormab, baseline_policies(cormab)["null"], n_episodes=2, horizon=horizon)


def test_parallel_target_solves_give_the_same_training_and_threads_are_restored():
    import torch

    cormab = make_cormab("interventions", 6, 2, seed=4, horizon=5)
    before = torch.get_num_threads()
    kw = dict(hidden=(8, 8), n_episodes=3, pretrain_epochs=2, n_random_states=10, batch_size=8, seed=3)
    serial = sequoia_train(cormab, **kw)
    par = sequoia_train(cormab, n_jobs=2, **kw)
    assert torch.get_num_threads() == before
    np.testing.assert_array_equal(serial.td_loss, par.td_loss)
    t = serial.params["timings"]
    assert t["n_target_solves"] > 0 and t["n_target_solves"] == par.params["timings"]["n_target_solves"]
    # every sampled s' is either solved or a memo hit: batch_size per update
    assert t["n_target_solves"] + t["n_memo_hits"] == kw["batch_size"] * len(serial.td_loss)
    with pytest.raises(InvalidArgumentError, match="n_jobs"):
        sequoia_train(cormab, n_jobs=0, **kw)


@pytest.mark.parametrize("target_update_every", [1, 10**9])
def test_target_argmax_memo_is_cleared_exactly_at_target_updates(monkeypatch, target_update_every):
    # the memo of a*(s') may only answer for the target net it was filled with: with a hard update
    # after every step no answer may cross steps (solves = distinct s' per batch); with a target that
    # never changes every s' is solved once over the whole run (solves = distinct s' overall)
    batches = []
    original = _Replay.sample

    def recording_sample(self, batch, beta):
        idx, w = original(self, batch, beta)
        batches.append(self.s2[idx].copy())
        return idx, w

    monkeypatch.setattr(_Replay, "sample", recording_sample)
    cormab = make_cormab("budget", 4, 1, seed=5, horizon=6)
    res = sequoia_train(cormab, hidden=(4,), n_episodes=2, pretrain_epochs=1, n_random_states=6, batch_size=6,
                        target_update_every=target_update_every, seed=2)
    t = res.params["timings"]
    assert len(batches) == len(res.td_loss) > 2
    if target_update_every == 1:
        expected = sum(len({row.tobytes() for row in b}) for b in batches)
    else:
        expected = len({row.tobytes() for b in batches for row in b})
    assert t["n_target_solves"] == expected
    assert t["n_target_solves"] + t["n_memo_hits"] == 6 * len(batches)


def test_torch_thread_count_is_restored_after_training_and_after_an_error():
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(3)  # not the training value (1), so a missing restore shows
    try:
        cormab = make_cormab("budget", 3, 1, seed=2, horizon=3)
        sequoia_train(cormab, hidden=(4,), n_episodes=1, pretrain_epochs=1, n_random_states=4, batch_size=4, seed=0)
        assert torch.get_num_threads() == 3
        with pytest.raises(InvalidArgumentError, match="train_constraint"):  # threads restored after an error
            sequoia_train(cormab, train_constraint="none", n_episodes=0, pretrain_epochs=0)
        assert torch.get_num_threads() == 3
        for bad in (0, 2.5, True):  # 0 was a bare torch RuntimeError, 2.5 ran with 2 threads
            with pytest.raises(InvalidArgumentError, match="torch_threads"):
                sequoia_train(cormab, torch_threads=bad, n_episodes=0, pretrain_epochs=0)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(saved)
