"""Torch CQL: equal to tabular CQL on one-hot inputs (a table, full batches), seeded, the GRU
history encoder with the bisimulation loss trains and evaluates on every history of a tree."""

from __future__ import annotations

import numpy as np
import pytest
from offline_instances import tiger

from theory_rl.errors import InvalidArgumentError
from theory_rl.models import FiniteMDP
from theory_rl.offline import collect_trajectories, cql, cql_torch, enumerate_histories

pytest.importorskip("torch")


def _data(seed: int = 0, S: int = 3, A: int = 2, gamma: float = 0.5):
    rng = np.random.default_rng(seed)
    mdp = FiniteMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(-1, 1, (S, A)), gamma)
    return collect_trajectories(mdp, np.full((S, A), 1.0 / A), n_episodes=20, horizon=8, seed=seed + 1)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_torch_equals_tabular_on_one_hot_inputs(alpha):
    d = _data()
    assert (d.counts() > 0).all()
    tab = cql(d, gamma=0.5, alpha=alpha, tol=1e-12)
    net = cql_torch(d, gamma=0.5, alpha=alpha, hidden=(), n_steps=500, batch_size=10**6, lr=0.2,
                    target_update=25, seed=0, device="cpu")
    np.testing.assert_allclose(net.q, tab.q, atol=1e-4)


def test_seeded_and_minibatch_runs_reproduce():
    d = _data(1)
    a = cql_torch(d, gamma=0.5, hidden=(8,), n_steps=30, batch_size=16, seed=3, device="cpu")
    b = cql_torch(d, gamma=0.5, hidden=(8,), n_steps=30, batch_size=16, seed=3, device="cpu")
    np.testing.assert_array_equal(a.q, b.q)
    assert a.seconds_per_step > 0 and a.params["device"] == "cpu"


def test_gru_encoder_with_bisimulation_loss_on_tiger():
    m = tiger()
    d = collect_trajectories(m, np.full((2, 3), 1 / 3), n_episodes=64, horizon=3, seed=0)
    tree = enumerate_histories(m, horizon=4)
    res = cql_torch(d, gamma=0.95, alpha=1.0, encoder="gru", hidden=(16,), n_steps=60, batch_size=32,
                    lr=3e-3, bisimulation_weight=0.5, tree=tree, seed=0, device="cpu")
    assert res.q.shape == (tree.n_histories, 3) and np.isfinite(res.q).all()
    bis = np.asarray(res.history["bisimulation"])
    assert np.isfinite(bis).all() and bis[-10:].mean() < bis[:10].mean()
    model = cql_torch(d, gamma=0.95, alpha=1.0, encoder="gru", hidden=(16,), n_steps=30, batch_size=32, lr=3e-3,
                      bisimulation_weight=0.5, bisimulation_target="model", tree=tree, seed=0, device="cpu")
    assert np.isfinite(model.q).all() and np.isfinite(np.asarray(model.history["bisimulation"])).all()
    assert model.params["bisimulation_target"] == "model"
    with pytest.raises(InvalidArgumentError, match="observations"):
        cql_torch(collect_trajectories(m.mdp, np.full((2, 3), 1 / 3), n_episodes=2, horizon=2, seed=0),
                  gamma=0.9, encoder="gru", device="cpu")


def test_bad_options_name_the_option():
    d = _data()
    for kwargs, name in (({"alpha": -1.0}, "alpha"), ({"encoder": "cnn"}, "encoder"), ({"n_steps": 0}, "n_steps"),
                         ({"bisimulation_weight": -0.1}, "bisimulation_weight"),
                         ({"bisimulation_target": "exact"}, "bisimulation_target"), ({"features": np.ones((2, 2))}, "features"),
                         ({"device": "nonsense"}, "device")):
        with pytest.raises(InvalidArgumentError, match=name):
            cql_torch(d, gamma=0.5, **kwargs)
