"""The dependency rule of DESIGN.md section 2, enforced on the source with ``ast``.

- A subpackage imports another subpackage only through its public names: no
  ``from ..tabular._bellman import X``, ``import theory_rl.approx._torch``, ``from ..tabular import
  _check`` (module level or inside functions).
- The import graph among subpackages (and the top-level modules ``cli``, ``__main__``, ``demo``)
  has no cycle.
- Root modules (``theory_rl/_*.py`` and ``errors.py``) may be imported by anyone and import only
  ``errors`` and each other.
- The library never imports ``theory_rl.demo``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = "theory_rl"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


@dataclass(frozen=True)
class Import:
    source: str  # dotted module doing the import, e.g. theory_rl.dual._lp
    path: str  # file relative to the repository
    line: int
    target: str  # dotted module or module.name imported, e.g. theory_rl.tabular._bellman
    name: str | None  # the imported name for ``from M import name``


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _imports(path: Path, root: Path = ROOT) -> list[Import]:
    module, is_package = _module_name(path, root)
    package = module if is_package else module.rpartition(".")[0]
    rel = str(path.relative_to(root.parent))
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []
    for node in ast.walk(tree):  # every import, at module level, in functions and in classes
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    found.append(Import(module, rel, node.lineno, alias.name, None))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                found.append(Import(module, rel, node.lineno, target, alias.name))
    return found


def _all_imports() -> list[Import]:
    return [imp for path in sorted(ROOT.rglob("*.py")) for imp in _imports(path)]


def _unit(dotted: str) -> str | None:
    """The architectural unit of a module: its subpackage, or the top-level module's name; None
    for the package itself (``theory_rl/__init__.py``)."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else None


def _is_root_module(unit: str | None) -> bool:
    return unit is not None and (unit == "errors" or (unit.startswith("_") and not unit.startswith("__")))


def _targets(imp: Import) -> list[tuple[str, bool]]:
    """``(dotted target, private)`` for an import: ``from theory_rl import tabular`` targets
    ``theory_rl.tabular``; ``from theory_rl.tabular import _check`` is private."""
    parts = imp.target.split(".")
    if imp.name is not None and len(parts) == 1:  # from theory_rl import x / from .. import x
        return [(f"{PACKAGE}.{imp.name}", False)]
    private = any(p.startswith("_") and not p.startswith("__") for p in parts[2:])
    if imp.name is not None and imp.name.startswith("_") and not imp.name.startswith("__"):
        private = True
    return [(imp.target, private)]


def _where(imp: Import) -> str:
    what = imp.target + (f" import {imp.name}" if imp.name else "")
    return f"{imp.path}:{imp.line} ({what})"


IMPORTS = _all_imports()


def test_the_scan_sees_the_package():
    units = {_unit(imp.source) for imp in IMPORTS}
    assert {"tabular", "models", "envs", "experiments", "cli"} <= units
    assert len(IMPORTS) > 200


def test_no_import_of_another_subpackages_private_module():
    bad = [_where(imp) for imp in IMPORTS for target, private in _targets(imp)
           if private and _unit(target) not in (None, _unit(imp.source)) and not _is_root_module(_unit(target))]
    assert not bad, "imports of another subpackage's private names:\n" + "\n".join(bad)


def test_root_modules_import_only_errors_and_each_other():
    bad = []
    for imp in IMPORTS:
        src = _unit(imp.source)
        if not _is_root_module(src):
            continue
        for target, _ in _targets(imp):
            dst = _unit(target)
            if dst is not None and dst != src and not _is_root_module(dst):
                bad.append(_where(imp))
    assert not bad, "root modules importing subpackages:\n" + "\n".join(bad)


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for imp in IMPORTS:
        src = _unit(imp.source)
        if src is None or _is_root_module(src):
            continue
        for target, _ in _targets(imp):
            dst = _unit(target)
            if dst is None or dst == src or _is_root_module(dst):
                continue
            if not graph.has_edge(src, dst):
                graph.add_edge(src, dst, sites=[])
            graph.edges[src, dst]["sites"].append(_where(imp))
    return graph


def test_no_cycle_among_subpackages():
    graph = _graph()
    cycles = list(nx.simple_cycles(graph))
    report = []
    for cycle in cycles[:10]:
        report.append(" -> ".join([*cycle, cycle[0]]))
        for a, b in zip(cycle, [*cycle[1:], cycle[0]]):
            report.extend(f"    {a} -> {b}: {site}" for site in graph.edges[a, b]["sites"])
    assert not cycles, f"{len(cycles)} import cycle(s) among subpackages:\n" + "\n".join(report)


def test_models_at_the_bottom_cli_at_the_top():
    graph = _graph()
    assert not list(graph.successors("models")), graph.edges("models", data="sites")
    assert set(graph.predecessors("cli")) <= {"__main__"}, list(graph.in_edges("cli", data="sites"))


def test_the_library_never_imports_the_demos():
    bad = [_where(imp) for imp in IMPORTS
           if _unit(imp.source) not in ("demo", "cli")
           and any(_unit(t) in ("demo", "_demo") for t, _ in _targets(imp))]
    assert not bad, "library modules importing the demos:\n" + "\n".join(bad)


def _private_violations(imports: list[Import]) -> list[str]:
    return [f"{imp.path}:{imp.line}" for imp in imports for target, private in _targets(imp)
            if private and _unit(target) not in (None, _unit(imp.source)) and not _is_root_module(_unit(target))]


@pytest.mark.parametrize("source, expected", [
    ("from ..tabular._bellman import bellman_operator\n", ["theory_rl/dual/x.py:1"]),
    ("import theory_rl.approx._torch\n", ["theory_rl/dual/x.py:1"]),
    ("def f():\n    from theory_rl.approx._torch import require_torch\n", ["theory_rl/dual/x.py:2"]),
    ("from ..tabular import _check\n", ["theory_rl/dual/x.py:1"]),
    ("from .. import tabular\nfrom ..tabular import certify\nfrom ._lp import y\nfrom .._torch import z\n", []),
])
def test_the_private_import_check_can_fail(tmp_path, source, expected):
    path = tmp_path / PACKAGE / "dual" / "x.py"
    path.parent.mkdir(parents=True)
    path.write_text(source)
    assert _private_violations(_imports(path, tmp_path / PACKAGE)) == expected


def test_the_cycle_check_can_fail(monkeypatch):
    extra = Import("theory_rl.models._finite_mdp", "theory_rl/models/_finite_mdp.py", 1, "theory_rl.tabular", "certify")
    monkeypatch.setattr(f"{__name__}.IMPORTS", [*IMPORTS, extra])
    with pytest.raises(AssertionError, match="models -> tabular: theory_rl/models/_finite_mdp.py:1"):
        test_no_cycle_among_subpackages()
