"""Jupyter-friendly objects: models' and results' HTML at full precision, results that pandas
reads (``to_frame`` and ``pd.DataFrame(result.to_dict(tidy=True))``), names where indices go."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

from theory_rl import envs, games, learning, pomdp, robust, tabular
from theory_rl._result import ResultMixin
from theory_rl.errors import InvalidArgumentError


def _results():
    mdp = envs.random_mdp(4, 2, seed=0, gamma=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "value_iteration": tabular.value_iteration(mdp, tol=1e-8),
            "linear_programming": tabular.linear_programming(mdp),
            "sarsop": pomdp.sarsop(envs.tiger(), tol=1e-2),
            "simulate": pomdp.simulate(envs.tiger(), lambda b: 0, horizon=3, n_episodes=4, seed=0),
            "q_learning": learning.q_learning(mdp, max_iter=5, seed=0),
            "iwocs": robust.iwocs(envs.windy_walk(n_rows=2, n_cols=3), max_iter=2),
            "robust_vi": robust.robust_value_iteration(envs.windy_walk(n_rows=2, n_cols=3), tol=1e-6),
        }


RESULTS = _results()


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_pandas_reads_every_result(name):
    res = RESULTS[name]
    frame = pd.DataFrame(res.to_dict(tidy=True))
    pd.testing.assert_frame_equal(frame, res.to_frame())
    assert len(frame) == 1 and "method" in frame.columns
    pd.DataFrame([res.to_dict(tidy=True) for _ in range(2)])  # several runs, one row each


def test_every_to_dict_override_takes_tidy():
    from test_results import _public_classes

    for qualname, cls in _public_classes().items():
        if issubclass(cls, ResultMixin) and cls.to_dict is not ResultMixin.to_dict:
            assert "tidy" in inspect.signature(cls.to_dict).parameters, qualname


def test_certificates_show_at_full_precision_in_html():
    sol = RESULTS["sarsop"]
    html = sol._repr_html_()
    assert repr(sol.lower) in html and repr(sol.upper) in html  # 17 significant digits, not 19.4
    assert repr(sol.lower) in repr(sol)


@pytest.mark.parametrize("model, expected", [
    (envs.tiger(), ["POMDP", "0.95", "tiger-left", "open-right", "-100.0", "0.5"]),
    (envs.gridworld(2, 3, gamma=0.9, obstacles=[(0, 1)]), ["FiniteMDP", "0.9", "(1,2)", "left", "terminal states"]),
    (envs.windy_walk(n_rows=2, n_cols=3), ["RobustMDP", "rectangularity"]),
    (games.MatrixGame(np.array([[0.0, 1.0], [-1.0, 0.123456789012345]])), ["MatrixGame", "zero-sum", "0.123456789012345"]),
])
def test_models_have_html_with_full_precision(model, expected):
    html = model._repr_html_()
    assert html.startswith("<table>")
    for text in expected:
        assert text in html, text


def test_model_html_is_full_precision():
    m = envs.random_mdp(3, 2, seed=1, gamma=0.987654321012345)
    html = m._repr_html_()
    assert "0.987654321012345" in html and repr(float(m.R.max())) in html


# --------------------------------------------------------------------------------------- names
def test_belief_update_takes_names():
    tiger = envs.tiger()
    by_name = pomdp.belief_update(tiger, tiger.b0, "listen", "tiger-left")
    assert np.array_equal(by_name, pomdp.belief_update(tiger, tiger.b0, 0, 0))
    assert np.allclose(by_name, [0.85, 0.15])
    probs = pomdp.observation_probabilities(tiger, tiger.b0, "open-left")
    assert np.array_equal(probs, pomdp.observation_probabilities(tiger, tiger.b0, 1))
    assert pomdp.sample_successor(tiger, tiger.b0, "listen", seed=0)[0] in (0, 1)


@pytest.mark.parametrize("a, o, match", [
    ("listne", 0, "action 'listne' is not one of the model's names"),
    (0, "tiger-middle", "observation 'tiger-middle'"),
    (3, 0, r"action 3 is not in \[0, 3\)"),
    (0.0, 0, "action must be an index"),
    (True, 0, "action must be an index"),
])
def test_bad_names_and_indices_are_named(a, o, match):
    tiger = envs.tiger()
    with pytest.raises(InvalidArgumentError, match=match):
        pomdp.belief_update(tiger, tiger.b0, a, o)


def test_a_model_without_names_says_so():
    m = pomdp.load_problem("hallway")
    assert m.action_names is None
    with pytest.raises(InvalidArgumentError, match="no action names"):
        pomdp.observation_probabilities(m, m.b0, "forward")


def test_simulate_takes_a_policy_that_returns_names():
    tiger = envs.tiger()
    named = pomdp.simulate(tiger, lambda b: "listen", horizon=4, n_episodes=20, seed=3)
    indexed = pomdp.simulate(tiger, lambda b: 0, horizon=4, n_episodes=20, seed=3)
    assert np.array_equal(named.returns, indexed.returns)


def test_tabular_policies_take_action_names():
    mdp = envs.gridworld(2, 2, gamma=0.9)
    names = ["right", "down", "right", "up"]
    idx = [mdp.action_names.index(n) for n in names]
    assert np.array_equal(tabular.policy_value(mdp, names), tabular.policy_value(mdp, idx))
    with pytest.raises(InvalidArgumentError, match="'north'"):
        tabular.policy_value(mdp, ["north"] * 4)
