"""The docstring ``Examples`` run as doctests, and every public callable has one.

``test_examples_run`` runs doctest over every module of :mod:`theory_rl`; ``test_public_callables_have_examples``
checks that every public function and class (the subpackages' ``__all__`` and the root's public names)
has an ``Examples`` section, except the allow-listed ones below, each with its reason. The allow-list
only shrinks: an entry whose callable has gained its Examples fails ``test_allow_list_is_current``.
Run this file as a script to print the names still without Examples.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import sys

import numpy as np
import pytest

import theory_rl

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(theory_rl.__path__, prefix="theory_rl.")
    if not name.endswith("__main__")
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

#: subpackage -> (reason, names without an Examples section).
ALLOW: dict[str, tuple[str, tuple[str, ...]]] = {}


@pytest.mark.parametrize("module_name", MODULES)
def test_examples_run(module_name, monkeypatch):
    monkeypatch.setenv("THEORY_RL_FAST", "1")
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    tests = [t for t in finder.find(module, module_name) if t.examples]
    old = np.get_printoptions()
    try:
        for test in tests:
            np.set_printoptions(legacy=False, precision=8, suppress=False)
            test.globs.setdefault("np", np)
            runner.run(test, out=lambda text: sys.stdout.write(text))
    finally:
        np.set_printoptions(**old)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {module_name}"


def public_callables() -> dict[str, object]:
    """``"subpackage.name"`` -> object for every public function and class."""
    found: dict[str, object] = {}
    for name in theory_rl.__all__:
        obj = getattr(theory_rl, name)
        if callable(obj) and not inspect.ismodule(obj):
            found[name] = obj
    for sub in (*theory_rl._SUBPACKAGES, "cli"):
        module = importlib.import_module(f"theory_rl.{sub}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if callable(obj) and not inspect.ismodule(obj):
                found[f"{sub}.{name}"] = obj
    return found


def has_examples(obj: object) -> bool:
    doc = inspect.getdoc(obj) or ""
    return "\nExamples\n--------\n" in "\n" + doc + "\n" and ">>> " in doc.split("Examples\n--------", 1)[1]


def missing_examples() -> list[str]:
    return sorted(name for name, obj in public_callables().items() if not has_examples(obj))


def allowed() -> set[str]:
    return {f"{sub}.{name}" if sub else name for sub, (_, names) in ALLOW.items() for name in names}


def test_public_callables_have_examples():
    missing = set(missing_examples()) - allowed()
    assert not missing, f"public callables without an Examples section (write one): {sorted(missing)}"


def test_allow_list_is_current():
    stale = allowed() - set(missing_examples())
    assert not stale, f"these now have Examples or are gone; remove them from ALLOW: {sorted(stale)}"


def test_one_examples_section_per_docstring():
    twice = [name for name, obj in public_callables().items()
             if ("\n" + (inspect.getdoc(obj) or "")).count("\nExamples\n--------") > 1]
    assert not twice, f"two Examples sections (numpydoc rejects them): {twice}"


def test_allow_list_entries_have_reasons():
    for sub, (reason, names) in ALLOW.items():
        assert len(reason) > 20 and names, sub


if __name__ == "__main__":
    names = missing_examples()
    print(f"{len(public_callables()) - len(names)} with Examples, {len(names)} without")
    for name in names:
        print(name)
