"""The result contract (docs/results.md): one base, one naming rule, frozen results, no dict
returns, one history table type, full-precision repr, JSON-ready ``to_dict`` and ``to_frame``."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import pkgutil
import re
import warnings

import numpy as np
import pytest

import theory_rl
from theory_rl import dual, envs, robust, tabular
from theory_rl._result import CertifiedSolution, History, Result, ResultMixin, ValueSolution


def _public_modules() -> list:
    mods = []
    for info in pkgutil.iter_modules(theory_rl.__path__):
        if info.name.startswith("_") or info.name == "__main__":
            continue
        mod = importlib.import_module(f"theory_rl.{info.name}")
        mods.append(mod)
        for sub in pkgutil.iter_modules(getattr(mod, "__path__", [])):
            if not sub.name.startswith("_"):
                mods.append(importlib.import_module(f"{mod.__name__}.{sub.name}"))
    return mods


def _public_objects() -> list[tuple[str, object]]:
    out = []
    for mod in _public_modules():
        for name in getattr(mod, "__all__", []):
            out.append((f"{mod.__name__}.{name}", getattr(mod, name)))
    return out


def _public_classes() -> dict[str, type]:
    return {q: obj for q, obj in _public_objects() if inspect.isclass(obj) and obj.__module__.startswith("theory_rl")}


def _public_callables() -> list[tuple[str, object]]:
    out = []
    for q, obj in _public_objects():
        if inspect.isfunction(obj):
            out.append((q, obj))
        elif inspect.isclass(obj) and obj.__module__.startswith("theory_rl"):
            for name, member in vars(obj).items():
                if inspect.isfunction(member) and not name.startswith("_"):
                    out.append((f"{q}.{name}", member))
    return out


# --------------------------------------------------------------------------------- naming rule
def test_every_public_result_follows_the_naming_rule():
    """``*Solution`` (a planner's answer with a certificate) derives from CertifiedSolution,
    ``*Result`` (learners, trainers, everything else) from Result and not CertifiedSolution."""
    classes = _public_classes()
    results = {q: c for q, c in classes.items() if issubclass(c, Result)}
    assert len(results) >= 30  # the check looks at something
    bad = []
    for q, cls in results.items():
        if issubclass(cls, CertifiedSolution) != cls.__name__.endswith("Solution"):
            bad.append(q)
        elif not issubclass(cls, CertifiedSolution) and not cls.__name__.endswith("Result"):
            bad.append(q)
    assert not bad, f"results named against the rule: {bad}"


# Public classes named like results that are not results, and why.
NOT_RESULTS = {
    "ResultStore": "the experiment store (a file), not an answer",
}


def test_every_class_named_like_a_result_is_one():
    bad = [q for q, c in _public_classes().items()
           if re.search(r"(Result|Solution)$", c.__name__) and c.__name__ not in NOT_RESULTS and not issubclass(c, Result)]
    assert not bad, f"named like results but not on the base: {bad}"


def test_results_are_frozen_dataclasses():
    for q, cls in _public_classes().items():
        if issubclass(cls, Result):
            assert dataclasses.is_dataclass(cls), q
            assert cls.__dataclass_params__.frozen, f"{q} is not frozen"


def test_value_planners_share_one_block():
    block = {f.name for f in dataclasses.fields(ValueSolution)}
    assert {"v", "q", "policy", "converged", "n_iter", "residual", "bound", "lower", "upper", "history", "method",
            "params", "elapsed"} == block
    from theory_rl import approx

    for cls in (tabular.Solution, robust.RobustSolution, robust.GameSolution, approx.BatchedSolution):
        assert issubclass(cls, ValueSolution), cls
        # no subclass declares a block field again (the block lives in one place)
        own = set(cls.__annotations__)
        assert not own & block, (cls, own & block)


# --------------------------------------------------------------------------------- no dicts
# Public callables whose documented value is a dict (or holds one), and why.
DICT_ALLOWED = {
    "to_dict": "the plain-JSON form of a result or model, by definition",
    "theory_rl.approx.model_transitions": "a data set of named columns (the sample-based methods' input)",
    "theory_rl.envs.BairdCounterexample.trajectory": "a batch of named transition columns (input data)",
    "theory_rl.combinatorial.baseline_policies": "a registry of named policies",
    "theory_rl.combinatorial.CoRMABEnv.reset": "the Gymnasium API returns an info dict",
    "theory_rl.combinatorial.CoRMABEnv.step": "the Gymnasium API returns an info dict",
    "theory_rl.models.MipModel.arrays": "the MIP's named arrays for a solver back end",
    "theory_rl.models.MipModel.row_block": "named handles of the rows just added",
    "theory_rl.combinatorial.MipModel.arrays": "the same class, re-exported by combinatorial",
    "theory_rl.combinatorial.MipModel.row_block": "the same class, re-exported by combinatorial",
    "add_to": "named handles of the MIP variables a constraint adds",
    "theory_rl.experiments.ResultStore.records": "the store's JSON rows (its documented format)",
    "theory_rl.experiments.tasks": "a sweep task returns its JSON row (the store's documented format)",
}


def _allowed(qualname: str) -> bool:
    return any(qualname == k or qualname.endswith("." + k) or qualname.startswith(k + ".") for k in DICT_ALLOWED)


def test_no_public_callable_is_annotated_to_return_a_dict():
    callables = _public_callables()
    assert len(callables) > 100
    bad = []
    for q, fn in callables:
        ann = fn.__annotations__.get("return")
        text = ann if isinstance(ann, str) else getattr(ann, "__name__", repr(ann))
        if re.search(r"\b(dict|Dict|Mapping|MutableMapping)\b", text or "") and not _allowed(q):
            bad.append(f"{q} -> {text}")
    assert not bad, "public callables returning a dict (return a frozen result, or allow-list with a reason): " + str(bad)


def _recoil_setup():
    mdp = envs.random_mdp(4, 2, seed=0, gamma=0.8)
    d_e = dual.occupancy(mdp, tabular.policy_iteration(mdp).policy)
    d_s = dual.occupancy(mdp, np.full((4, 2), 0.5))
    return mdp, d_e, d_s


def test_the_former_dict_returns_are_results_and_keep_their_keys():
    cmdp = envs.recommendation_cmdp(seed=0)
    mdp, d_e, d_s = _recoil_setup()
    runs = {
        "tscac": (dual.tscac(cmdp, [0.1, 0.03], max_iter=3),
                  ("policy", "stage_one", "main_return", "constraint_returns", "feasible")),
        "recoil_exact": (dual.recoil_exact(mdp, d_e, d_s, "kl", 0.5),
                         ("objective", "occupancy", "policy", "greedy_policy")),
        "recoil_dual_q": (dual.recoil_dual_q(mdp, np.zeros(4, int), d_e, d_s, "kl", 0.5),
                          ("value", "q", "gradient_norm", "n_iter")),
    }
    for name, (res, keys) in runs.items():
        assert isinstance(res, Result) and not isinstance(res, dict), name
        for key in keys:
            with pytest.warns(DeprecationWarning, match=f"result.{key}"):
                old = res[key]
            assert old is getattr(res, key)
        with pytest.raises(KeyError):
            res["nope"]
        json.dumps(res.to_dict())
        assert res.method == name and res.elapsed >= 0


def test_torch_dual_learners_return_results():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    data = dual.collect_dataset(envs.random_mdp(3, 2, seed=1, gamma=0.7), expert_policy=np.zeros(3, int),
                                n_episodes=3, episode_length=5, expert_fraction=1.0, seed=0)
    obs, obs2 = dual.one_hot_features(data.states, 3), dual.one_hot_features(data.next_states, 3)
    batch = (obs, data.actions, data.rewards, obs2, data.dones)
    fd = dual.fdvl_torch(*batch, n_actions=2, gamma=0.7, n_steps=3, seed=0)
    rc = dual.recoil_torch(batch, batch, n_actions=2, gamma=0.7, n_steps=3, seed=0)
    for res, method in ((fd, "fdvl_torch"), (rc, "recoil_torch")):
        assert isinstance(res, dual.NeuralDVLResult) and res.method == method
        assert res.history.columns == ("v_loss", "q_loss") and np.asarray(res.history).shape == (3, 2)
        with pytest.warns(DeprecationWarning):
            assert res["q_net"] is res.q_net
        doc = res.to_dict()
        assert "q_net" not in doc and len(doc["history"]["v_loss"]) == 3
        json.dumps(doc)
    assert callable(fd.awr_weights) and rc.awr_weights is None


def test_recoil_has_its_own_result():
    mdp = envs.random_mdp(4, 2, seed=0, gamma=0.7)
    e = dual.collect_dataset(mdp, expert_policy=np.zeros(4, int), n_episodes=3, episode_length=10, expert_fraction=1.0,
                             seed=0)
    s = dual.collect_dataset(mdp, expert_policy=np.zeros(4, int), n_episodes=3, episode_length=10, expert_fraction=0.0,
                             seed=1)
    res = dual.recoil(e, s, gamma=0.7)
    assert type(res) is dual.RecoilResult and res.method == "recoil"


# --------------------------------------------------------------------------------- renames
@pytest.mark.parametrize("module, old, new", [(robust, "IwocsResult", "IwocsSolution"),
                                              (dual, "OccupancyLP", "OccupancyLPSolution")])
def test_renamed_results_stay_importable_for_one_release(module, old, new):
    with pytest.warns(DeprecationWarning, match=new):
        assert getattr(module, old) is getattr(module, new)
    with pytest.raises(AttributeError):
        module.NoSuchName  # noqa: B018


def test_renamed_attributes_are_deprecated_properties():
    game = robust.markov_game_from_robust(envs.windy_walk(n_rows=3, n_cols=4))
    sol = robust.nash_value_iteration(game, tol=1e-6)
    with pytest.warns(DeprecationWarning, match="policy"):
        assert sol.pi is sol.policy
    with pytest.warns(DeprecationWarning, match="adversary_policy"):
        assert sol.psi is sol.adversary_policy


def test_learning_history_replaces_trace():
    from theory_rl import learning

    mdp = envs.random_mdp(3, 2, seed=0, gamma=0.5)
    res = learning.plug_in_planning(mdp, n_per_pair=2, seed=0)
    assert isinstance(res.history, History) and res.history["samples"][0] == 2
    with pytest.warns(DeprecationWarning, match="history"):
        assert res.trace is res.history


# --------------------------------------------------------------------------------- behaviour
def test_repr_is_full_precision_and_html_and_frame_work():
    sol = tabular.value_iteration(envs.random_mdp(5, 2, seed=3, gamma=0.9), tol=1e-6)
    text = repr(sol)
    assert text.startswith("Solution(method='value_iteration', converged=True")
    assert f"residual={sol.residual!r}" in text and f"bound={sol.bound!r}" in text  # round-trips
    html = sol._repr_html_()
    assert "<table>" in html and "value_iteration" in html and repr(sol.bound) in html
    doc = sol.to_dict()
    json.dumps(doc)
    assert doc["history"] == {"residual": np.asarray(sol.history).tolist()}
    frame = sol.to_frame()
    assert len(frame) == 1 and frame["bound"][0] == sol.bound and frame["params.tol"][0] == 1e-6
    hist = sol.history.to_frame()
    assert list(hist.columns) == ["residual"] and len(hist) == sol.n_iter


def test_every_result_shares_the_full_precision_repr():
    """No result keeps a repr of its own (the old one printed 3 significant digits)."""
    own = [q for q, cls in _public_classes().items() if issubclass(cls, Result)
           and (cls.__repr__ is not ResultMixin.__repr__ or cls._repr_html_ is not ResultMixin._repr_html_)]
    assert not own, own


def test_history_is_a_read_only_table_that_reads_as_its_array():
    h = History({"residual": [1.0, 0.5, 0.25]})
    assert len(h) == 3 and h.columns == ("residual",)
    assert float(h[-1]) == 0.25 and np.array_equal(h[1:], [0.5, 0.25])
    assert np.array_equal(np.diff(h), [-0.5, -0.25]) and np.array_equal(h + 1, [2.0, 1.5, 1.25])
    assert np.array_equal(np.asarray([2.0, 2.0, 2.0]) >= h, [True, True, True])
    with pytest.raises(ValueError, match="read-only"):
        h["residual"][0] = 9.0
    with pytest.raises(KeyError, match="columns"):
        h["lower"]
    t = History({"lower": [0, 1], "upper": [3, 2]})
    assert np.asarray(t).shape == (2, 2) and t[:, 1].tolist() == [3, 2] and dict(t.items())["lower"].tolist() == [0, 1]
    with pytest.raises(ValueError, match="rows"):
        History({"a": [1, 2], "b": [1]})
    rows = History.from_rows([{"i": 1, "gap": 0.5}, {"i": 2, "gap": 0.25, "extra": True}])
    assert rows["gap"].tolist() == [0.5, 0.25] and rows["extra"].tolist() == [None, True]


def test_histories_are_one_type_across_families():
    from theory_rl import pomdp
    from theory_rl.models import POMDP

    listen = np.array([[0.85, 0.15], [0.15, 0.85]])
    T = np.stack([np.eye(2), np.full((2, 2), 0.5), np.full((2, 2), 0.5)], axis=1)  # (S, A, S)
    obs = np.stack([listen, np.full((2, 2), 0.5), np.full((2, 2), 0.5)])  # (A, S', O)
    R = np.array([[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]])
    vi = tabular.value_iteration(envs.random_mdp(3, 2, seed=0, gamma=0.5))
    pb = pomdp.pbvi(POMDP(T, obs, R, 0.95), n_expansions=1, n_backups=2)
    qarl = robust.qarl_curriculum(robust.markov_game_from_robust(envs.windy_walk(n_rows=3, n_cols=4)), alpha=0.01,
                                  n_stages=2)
    for res in (vi, pb, qarl):
        assert isinstance(res.history, History)
    assert {"lower", "upper", "time"} <= set(pb.history.columns)
    assert np.array_equal(qarl.history["exploitability"], qarl.exploitability) and qarl.history.n_rows == 2


def test_results_cannot_be_modified():
    sol = tabular.value_iteration(envs.random_mdp(3, 2, seed=0, gamma=0.5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        sol.v = None
    from theory_rl.experiments import SpecResult

    assert SpecResult.__dataclass_params__.frozen


def test_no_warning_from_the_new_names():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert robust.IwocsSolution and dual.OccupancyLPSolution and dual.RecoilResult


def test_to_frame_names_the_extra_when_pandas_is_missing(monkeypatch):
    from theory_rl.errors import DependencyNotInstalled

    sol = tabular.value_iteration(envs.random_mdp(3, 2, seed=0, gamma=0.5))
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)
    with pytest.raises(DependencyNotInstalled, match=r"theory_rl\[sweep\]"):
        sol.to_frame()
    with pytest.raises(DependencyNotInstalled, match="pandas"):
        sol.history.to_frame()
