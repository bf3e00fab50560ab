"""Torch MBRCSL: with the exact model it stitches the counterexample as tabular MBRCSL does; the
learned ensemble keeps its elites by validation loss; seeded end to end."""

from __future__ import annotations

import numpy as np
import pytest
from offline_instances import stitching

pytest.importorskip("torch")

from theory_rl.errors import InvalidArgumentError  # noqa: E402
from theory_rl.offline import mbrcsl, mbrcsl_torch, rcsl_evaluate  # noqa: E402

FAST = dict(hidden=(32,), n_steps=300, lr=3e-3, rcsl_hidden=(32,), device="cpu")


def test_with_the_exact_model_it_matches_tabular_mbrcsl_and_the_optimum():
    """The stitching counterexample: RCSL gets at most 5, MBRCSL (exact model) the optimum 11."""
    mdp, data = stitching()
    ours = mbrcsl_torch(data, model=mdp, seed=0, **FAST)
    table = mbrcsl(data, model=mdp, seed=0)
    assert ours.threshold == table.threshold == 10.0
    assert ours.target_return == table.target_return == 11.0
    assert ours.n_kept == 100 and ours.elites.size == 0
    value = rcsl_evaluate(ours.policy, mdp, horizon=3, target_return=ours.target_return, greedy=True).value
    assert value == rcsl_evaluate(table.policy, mdp, horizon=3, target_return=table.target_return).value == 11.0


def test_the_learned_ensemble_stitches_and_keeps_the_best_validated_members():
    mdp, data = stitching()
    res = mbrcsl_torch(data, n_models=3, n_elites=2, seed=0, **FAST)
    assert res.elites.tolist() == sorted(np.argsort(res.validation_loss)[:2].tolist())
    assert res.n_kept > 0 and (res.rollouts.episode_returns > res.threshold).all()
    assert rcsl_evaluate(res.policy, mdp, horizon=3, target_return=11.0, greedy=True).value == 11.0
    # the behaviour policy is the counting one at the shared state: 1/2 each, cross-entropy log 2 there
    assert res.behaviour_loss < np.log(2) + 0.05


def test_the_same_seed_gives_the_same_rollouts():
    mdp, data = stitching()
    a = mbrcsl_torch(data, n_models=2, n_elites=1, max_rollouts=400, seed=3, **FAST)
    b = mbrcsl_torch(data, n_models=2, n_elites=1, max_rollouts=400, seed=3, **FAST)
    assert a.n_generated == b.n_generated and a.n_kept == b.n_kept
    assert all(np.array_equal(x, y) for x, y in zip(a.rollouts.states, b.rollouts.states))
    assert np.array_equal(a.validation_loss, b.validation_loss)


@pytest.mark.parametrize(("option", "value"), [("n_models", 0), ("n_elites", 4), ("hidden", "x"), ("n_steps", -1),
                                               ("lr", -1.0), ("n_keep", 0), ("max_rollouts", 0),
                                               ("horizon", 0), ("rcsl_steps", -1), ("device", "tpu")])
def test_bad_options_are_named(option, value):
    _, data = stitching()
    with pytest.raises(InvalidArgumentError, match=option):
        mbrcsl_torch(data, **{"n_models": 3, "n_elites": 2, "n_steps": 1, option: value})


def test_a_model_of_another_size_is_refused():
    mdp, data = stitching()
    with pytest.raises(InvalidArgumentError, match="model"):
        mbrcsl_torch(data, model=mdp.replace(P=np.eye(2)[:, None, :].repeat(2, axis=1), R=np.zeros((2, 2)),
                                              d0=None, terminal=None), n_steps=1)
