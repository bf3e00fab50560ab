"""Torch RCSL (MLP and causal transformer) against the counting estimator on one-hot inputs:
the action distributions converge to the counts, the evaluated returns are tabular RCSL's, and
neither stitches on the counterexample."""

from __future__ import annotations

import numpy as np
import pytest
from offline_instances import stitching

pytest.importorskip("torch")

from theory_rl import envs  # noqa: E402
from theory_rl.errors import InvalidArgumentError, InvalidModelError  # noqa: E402
from theory_rl.offline import collect_trajectories, rcsl_evaluate, rcsl_fit, rcsl_torch  # noqa: E402


def _chain_data():
    mdp = envs.chain(3)
    return mdp, collect_trajectories(mdp, np.full((3, 2), 0.5), n_episodes=30, horizon=2, seed=1)


def _fit(data, context="markov", **kw):
    # one small transformer block trains at a lower step size than the MLP
    size = dict(hidden=(32, 32), n_steps=800, lr=1e-2) if context == "markov" else dict(hidden=(32,), n_steps=500,
                                                                                          lr=3e-3)
    return rcsl_torch(data, context=context, batch_size=data.n_transitions, seed=0, device="cpu", **size, **kw)


def test_the_markov_mlp_converges_to_the_counting_estimates():
    _, data = _chain_data()
    net, table = _fit(data), rcsl_fit(data)
    gaps = [np.abs(net.action_distribution(0, [s], [g], []) - counts / counts.sum()).max()
            for (_, s, g), counts in table.table.items()]
    assert len(gaps) >= 6
    assert max(gaps) < 0.03


def test_the_transformer_converges_to_the_counting_estimates_of_full_contexts():
    _, data = _chain_data()
    net, table = _fit(data, context="transformer", context_len=2), rcsl_fit(data, context_len=2)
    gaps = []
    for key, counts in table.table.items():
        if len(key) == 3 and isinstance(key[1], tuple):  # a K = 2 context: ((g, s), (g, s)), (a,)
            (g0, s0), (g1, s1) = key[1]
            gaps.append(np.abs(net.action_distribution(1, [s0, s1], [g0, g1], list(key[2]))
                               - counts / counts.sum()).max())
    assert len(gaps) >= 6
    assert max(gaps) < 0.05


@pytest.mark.parametrize(("context", "K"), [("markov", 1), ("transformer", 2)])
def test_torch_rcsl_returns_tabular_rcsls_return_and_does_not_stitch(context, K):
    """Zhou et al. (2024): RCSL cannot stitch; on the counterexample every target gives at most 5
    of the optimal 11, for the network exactly as for the counting policy."""
    mdp, data = stitching()
    net, table = _fit(data, context=context, context_len=K), rcsl_fit(data, context_len=K)
    for g in (1.0, 5.0, 10.0, 11.0):
        ours = rcsl_evaluate(net, mdp, horizon=3, target_return=g, greedy=True).value
        assert ours == rcsl_evaluate(table, mdp, horizon=3, target_return=g, greedy=True).value
        assert ours <= 5.0
    assert net.target_return == 10.0 and net.final_loss < 0.05


def test_the_measured_chain_value_matches_the_counting_policys_within_the_fit_error():
    mdp, data = _chain_data()
    net, table = _fit(data), rcsl_fit(data)
    ours = rcsl_evaluate(net, mdp, horizon=2, target_return=2.0).value
    assert ours == pytest.approx(rcsl_evaluate(table, mdp, horizon=2, target_return=2.0).value, abs=0.05)


def test_given_features_are_read_and_checked():
    mdp, data = stitching()
    net = _fit(data, features=np.eye(6)[:, :5] + 0.1)
    assert net.features.shape == (6, 5)
    with pytest.raises(InvalidModelError, match="features"):
        rcsl_torch(data, features=np.eye(5), n_steps=1, device="cpu")


@pytest.mark.parametrize(("option", "value"), [("context", "lstm"), ("context_len", 0), ("hidden", ()),
                                               ("n_steps", -1), ("lr", 0.0), ("batch_size", 0),
                                               ("weight_decay", -1.0), ("device", "tpu")])
def test_bad_options_are_named(option, value):
    _, data = stitching()
    with pytest.raises(InvalidArgumentError, match=option):
        rcsl_torch(data, **{"n_steps": 1, option: value})


def test_a_markov_context_longer_than_one_is_refused():
    _, data = stitching()
    with pytest.raises(InvalidArgumentError, match="context_len"):
        rcsl_torch(data, context_len=2, n_steps=1)
