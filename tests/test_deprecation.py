"""The shared helper that keeps renamed options working for one release."""

from __future__ import annotations

import inspect
import warnings

import pytest

from theory_rl._deprecation import REMOVED_IN, renamed_arguments
from theory_rl.errors import InvalidArgumentError


@renamed_arguments(eps="tol", n_iter="max_iter", positional=("max_iter",))
def _solver(model, *, max_iter=10, tol=1e-6):
    return model, max_iter, tol


def test_new_names_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _solver("m", max_iter=3, tol=0.5) == ("m", 3, 0.5)


def test_old_keyword_is_passed_on_with_a_warning_naming_the_new_one():
    with pytest.warns(DeprecationWarning, match=r"'eps' is deprecated .* use 'tol'") as record:
        assert _solver("m", eps=0.25) == ("m", 10, 0.25)
    assert REMOVED_IN in str(record[0].message)
    assert record[0].filename == __file__  # points at the caller, not at the helper


def test_old_positional_use_is_passed_on_with_a_warning():
    with pytest.warns(DeprecationWarning, match=r"passing 'max_iter' by position .* max_iter=\.\.\."):
        assert _solver("m", 7) == ("m", 7, 1e-6)


def test_old_positional_and_old_keyword_together():
    with pytest.warns(DeprecationWarning) as record:
        assert _solver("m", n_iter=4, eps=0.1) == ("m", 4, 0.1)
    assert len(record) == 2


def test_old_and_new_name_together_is_an_error():
    with pytest.raises(InvalidArgumentError, match="'eps'.*'tol'"):
        _solver("m", eps=0.1, tol=0.2)


def test_too_many_positional_arguments_and_duplicates_are_type_errors():
    with pytest.raises(TypeError, match="at most 2 positional"):
        _solver("m", 1, 2)
    with pytest.raises(TypeError, match="multiple values"):
        _solver("m", 1, max_iter=2)


def test_signature_is_the_new_one_and_renames_are_recorded():
    assert list(inspect.signature(_solver).parameters) == ["model", "max_iter", "tol"]
    assert _solver.__renamed_arguments__ == {"eps": "tol", "n_iter": "max_iter"}
    assert _solver.__formerly_positional__ == ("max_iter",)


def test_misdeclared_renames_fail_at_import_time():
    with pytest.raises(TypeError, match="no parameter 'tol'"):
        renamed_arguments(eps="tol")(lambda x: x)
    with pytest.raises(TypeError, match="old parameter 'eps'"):
        renamed_arguments(eps="tol")(lambda eps, tol: tol)
    with pytest.raises(TypeError, match="keyword-only"):
        renamed_arguments(positional=("tol",))(lambda x, tol: tol)


def _renamed_public_functions():
    import importlib

    out = []
    for package in ("learning", "dual", "pomdp", "robust", "approx", "combinatorial", "theory", "checks"):
        module = importlib.import_module(f"theory_rl.{package}")
        for name in module.__all__:
            fn = getattr(module, name)
            if getattr(fn, "__renamed_arguments__", None) or getattr(fn, "__formerly_positional__", None):
                out.append((package, name, fn))
    return out


RENAMED = _renamed_public_functions()


def test_every_family_renamed_something_through_the_one_helper():
    assert {package for package, _, _ in RENAMED} == {
        "learning", "dual", "pomdp", "robust", "approx", "combinatorial", "theory", "checks"}


@pytest.mark.parametrize(("package", "name", "fn"), RENAMED, ids=[f"{p}.{n}" for p, n, _ in RENAMED])
def test_each_old_keyword_warns_and_names_the_new_one(package, name, fn):
    for old, new in fn.__renamed_arguments__.items():
        with pytest.warns(DeprecationWarning, match=f"'{old}' is deprecated .* use '{new}'"):
            try:
                fn(**{old: object()})  # the warning comes first; the call itself then fails
            except Exception:  # noqa: BLE001 - any failure after the warning is fine here
                pass


@pytest.mark.parametrize(("package", "name", "fn"), RENAMED, ids=[f"{p}.{n}" for p, n, _ in RENAMED])
def test_each_rename_is_listed_in_the_docs(package, name, fn):
    from pathlib import Path

    docs = (Path(__file__).parents[1] / "docs" / "vocabulary.md").read_text()
    rows = [line for line in docs.splitlines() if line.startswith("|") and name in line]
    assert rows, f"{package}.{name} is not in docs/vocabulary.md"
    for word in [*fn.__renamed_arguments__, *fn.__formerly_positional__]:
        assert any(f"`{word}`" in row or f"`{word}=`" in row or f"`{word}` " in row for row in rows), (
            f"docs/vocabulary.md does not list {word!r} for {package}.{name}")


# ------------------------------------------------------------------ renamed and moved module names
MOVED_NAMES = [
    ("theory_rl.robust", "IwocsResult", "theory_rl.robust", "IwocsSolution"),
    ("theory_rl.robust", "windy_walk", "theory_rl.envs", "windy_walk"),
    ("theory_rl.robust", "windy_walk_kernel", "theory_rl.envs", "windy_walk_kernel"),
    ("theory_rl.dual", "OccupancyLP", "theory_rl.dual", "OccupancyLPSolution"),
    ("theory_rl.dual", "recommendation_cmdp", "theory_rl.envs", "recommendation_cmdp"),
    ("theory_rl.approx", "baird_counterexample", "theory_rl.envs", "baird_counterexample"),
    ("theory_rl.approx", "BairdCounterexample", "theory_rl.envs", "BairdCounterexample"),
    ("theory_rl.combinatorial", "metro_graph", "theory_rl.envs", "metro_graph"),
    ("theory_rl.combinatorial", "matching_instance", "theory_rl.envs", "matching_instance"),
    ("theory_rl.combinatorial", "capacity_instance", "theory_rl.envs", "capacity_instance"),
]


@pytest.mark.parametrize(("old_module", "old", "new_module", "new"), MOVED_NAMES,
                         ids=[f"{m}.{o}" for m, o, _, _ in MOVED_NAMES])
def test_each_moved_or_renamed_name_warns_and_is_the_new_object(old_module, old, new_module, new):
    import importlib

    module = importlib.import_module(old_module)
    with pytest.warns(DeprecationWarning, match=rf"{old_module}\.{old} is deprecated since .* use {new_module}\.{new}") \
            as record:
        value = getattr(module, old)
    assert value is getattr(importlib.import_module(new_module), new)
    assert REMOVED_IN in str(record[0].message)
    assert record[0].filename == __file__
    assert old not in module.__all__ and new in importlib.import_module(new_module).__all__
    # the module's __getattr__ is the one helper's
    assert getattr(module.__getattr__, "__deprecated_names__", {}).get(old) == f"{new_module}.{new}"


def test_module_getattr_is_lazy_and_unknown_names_are_attribute_errors():
    import sys

    from theory_rl._deprecation import module_getattr

    getter = module_getattr("pkg", {"old": "theory_rl_no_such_module_xyz.thing"})
    assert "theory_rl_no_such_module_xyz" not in sys.modules  # nothing imported when it is built
    with pytest.raises(AttributeError, match="'pkg' has no attribute 'other'"):
        getter("other")
    with pytest.raises(ModuleNotFoundError):
        getter("old")  # resolved only on access
    with pytest.raises(TypeError, match="dotted"):
        module_getattr("pkg", {"old": "nodot"})


def test_robust_does_not_import_envs_at_load_time():
    import subprocess
    import sys

    code = "import sys, theory_rl.robust; print('theory_rl.envs' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ renamed attributes and dict access
def test_renamed_attribute_warns_and_reads_the_new_one():
    from theory_rl._deprecation import renamed_attribute

    class Holder:
        policy = 5
        pi = renamed_attribute("pi", "policy")

    with pytest.warns(DeprecationWarning, match=r"Holder\.pi is deprecated since .* use Holder\.policy") as record:
        assert Holder().pi == 5
    assert record[0].filename == __file__


@pytest.mark.parametrize(("cls_path", "old", "new"), [
    ("theory_rl.robust._qarl.GameSolution", "pi", "policy"),
    ("theory_rl.robust._qarl.GameSolution", "psi", "adversary_policy"),
    ("theory_rl.learning._result.LearningResult", "trace", "history"),
])
def test_library_results_use_the_one_attribute_helper(cls_path, old, new):
    import importlib

    module, _, name = cls_path.rpartition(".")
    prop = getattr(getattr(importlib.import_module(module), name), old)
    assert isinstance(prop, property) and prop.fget.__module__ == "theory_rl._deprecation"
    assert f"``{new}``" in prop.__doc__


def test_dict_access_on_a_former_dict_result_warns_once_through_the_helper():
    from dataclasses import dataclass

    from theory_rl._result import LegacyKeysMixin

    @dataclass(frozen=True)
    class Former(LegacyKeysMixin):
        value: float

    with pytest.warns(DeprecationWarning, match=r"Former\['value'\] .* is deprecated since .* use result\.value") \
            as record:
        assert Former(1.5)["value"] == 1.5
    assert record[0].filename == __file__
    with pytest.raises(KeyError):
        Former(1.5)["missing"]
