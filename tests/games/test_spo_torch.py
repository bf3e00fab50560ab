"""SPO in torch against the tabular SPO: the first exact update direction on one-hot inputs, and
the learned policies on small transitive and intransitive instances."""

import numpy as np
import pytest

from theory_rl.errors import InvalidArgumentError
from theory_rl.games import BradleyTerryOracle, MajorityOracle, decision_tree_mdp, spo, spo_torch, trajectory_game

pytest.importorskip("torch")


def _instance():
    mdp = decision_tree_mdp(2, 3)
    return mdp, MajorityOracle(np.random.default_rng(7).normal(size=(3, mdp.n_states, 2)))


def test_first_exact_update_is_the_tabular_mirror_step_direction():
    # one SGD step of the table of logits from the uniform policy moves log pi by lr * d_t(s) / A * (q - mean q);
    # the mirror step moves it by eta * (q - mean q): parallel at every reached (t, s), with the ratio known
    mdp, oracle = _instance()
    H, S, A = 3, mdp.n_states, 2
    lr, eta = 0.01, 0.01
    torch_res = spo_torch(mdp, oracle=oracle, hidden=(), optimizer="sgd", lr=lr, n_epochs=1, max_iter=1, exact=True,
                          device="cpu", seed=0)
    tab = spo(mdp, oracle=oracle, exact=True, max_iter=1, step_size=eta)
    game = trajectory_game(mdp, oracle=oracle)
    d = game.distribution(np.full((H, S, A), 0.5))
    reached = np.zeros((H, S))
    np.add.at(reached, (np.broadcast_to(np.arange(H), game.actions.shape), game.states[:, :-1]), d[:, None])
    log_torch = np.log(torch_res.policy)
    log_tab = np.log(tab.policy)
    centred_torch = log_torch - log_torch.mean(axis=2, keepdims=True)
    centred_tab = log_tab - log_tab.mean(axis=2, keepdims=True)
    live = reached > 0
    np.testing.assert_allclose(centred_torch[live], (lr * reached[live] / (A * eta))[:, None] * centred_tab[live],
                               rtol=1e-9, atol=1e-15)
    assert np.abs(centred_tab[live]).max() > 1e-4  # the step moved


def test_torch_and_tabular_spo_reach_the_same_policy_under_bradley_terry():
    mdp = decision_tree_mdp(2, 2)
    oracle = BradleyTerryOracle(np.random.default_rng(1).normal(size=(mdp.n_states, 2)), temperature=0.2)
    tab = spo(mdp, oracle=oracle, max_iter=60, batch_size=8, step_size=1.0, seed=0)
    net = spo_torch(mdp, oracle=oracle, max_iter=60, batch_size=8, lr=0.05, seed=0, device="cpu")
    game = trajectory_game(mdp, oracle=oracle)
    best = int(np.argmax(oracle.features(game.states, game.actions)))
    assert game.distribution(tab.policy)[best] > 0.9 and game.distribution(net.policy)[best] > 0.9
    assert abs(net.win_rate - tab.win_rate) < 0.05


def test_torch_spo_average_approaches_the_minimax_winner_like_the_tabular_one():
    mdp, oracle = _instance()
    tab = spo(mdp, oracle=oracle, max_iter=150, batch_size=16, step_size=0.3, seed=0)
    net = spo_torch(mdp, oracle=oracle, max_iter=150, batch_size=16, hidden=(), lr=0.05, seed=0, device="cpu")
    start = tab.history["exploitability"][0]
    assert net.history["exploitability"][0] == pytest.approx(start)  # both start uniform
    assert tab.exploitability < start / 2 and net.exploitability < start / 2
    assert abs(net.exploitability - tab.exploitability) < 0.1


def test_seeded_and_validated():
    mdp, oracle = _instance()
    a = spo_torch(mdp, oracle=oracle, max_iter=3, batch_size=4, seed=5, device="cpu")
    b = spo_torch(mdp, oracle=oracle, max_iter=3, batch_size=4, seed=5, device="cpu")
    np.testing.assert_array_equal(a.policy, b.policy)
    with pytest.raises(InvalidArgumentError, match="hidden"):
        spo_torch(mdp, oracle=oracle, hidden=(0,))
    with pytest.raises(InvalidArgumentError, match="optimizer"):
        spo_torch(mdp, oracle=oracle, optimizer="rmsprop")
