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
