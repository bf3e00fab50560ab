"""No block of code is written twice in the package (issue: one contract across families).

pylint's similarity checker (``symilar``) finds runs of ``MIN_LINES`` or more equal lines, after
it drops comments, docstrings, imports and function signatures. It compares *files* only, so each
module is first cut into its functions, its methods, and the rest of its body (one piece each):
a block copied between two functions of one module is found as well as one copied across modules.

What this does not count, by design: twin signatures (functions that share the library's argument
vocabulary, e.g. ``value_iteration`` and ``shortest_path_value_iteration``), docstrings (each
public callable documents its own parameters and runs its own example) and import lists.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pylint")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "theory_rl"
MIN_LINES = 6


def _pieces(path: Path, root: Path) -> dict[str, str]:
    """``{name: source}``: each function and method of the module at ``path``, dedented, and the
    rest of its body (classes' fields and module statements) as one piece."""
    source = path.read_text()
    lines = source.splitlines()
    stem = path.relative_to(root).with_suffix("").as_posix().replace("/", ".")
    pieces: dict[str, str] = {}
    rest: list[str] = []

    def span(node: ast.stmt) -> tuple[int, int]:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        return first - 1, node.end_lineno or node.lineno

    def add(node: ast.stmt, name: str) -> None:
        lo, hi = span(node)
        pieces[f"{stem}.{name}"] = textwrap.dedent("\n".join(lines[lo:hi]))

    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(node, node.name)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    add(sub, f"{node.name}.{sub.name}")
                else:
                    lo, hi = span(sub)
                    rest.append(textwrap.dedent("\n".join(lines[lo:hi])))
        else:
            lo, hi = span(node)
            rest.append("\n".join(lines[lo:hi]))
    if rest:
        pieces[f"{stem}.<body>"] = "\n".join(rest)
    return pieces


def copied_blocks(package: Path, workdir: Path, *, min_lines: int = MIN_LINES) -> list[str]:
    """The pairs of places in ``package`` sharing ``min_lines`` or more equal lines, as
    ``"n lines: piece_a ~ piece_b"``, by pylint's ``symilar`` over the pieces of every module."""
    names: dict[str, str] = {}
    for k, path in enumerate(sorted(package.rglob("*.py"))):
        for j, (name, text) in enumerate(_pieces(path, package.parent).items()):
            file = workdir / f"p{k}_{j}.py"
            file.write_text(text + "\n")
            names[str(file)] = name
    if not names:
        return []
    cmd = [sys.executable, "-c", "from pylint import run_symilar; run_symilar()", "-d", str(min_lines),
           "--ignore-comments", "--ignore-docstrings", "--ignore-imports", "--ignore-signatures", *names]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    found = []
    for block in re.split(r"\n(?=\d+ similar lines in)", out):
        head = re.match(r"(\d+) similar lines in", block)
        if head:
            places = [names[m] for m in re.findall(r"^==(\S+?):\[", block, flags=re.M) if m in names]
            found.append(f"{head.group(1)} lines: " + " ~ ".join(places))
    return found


def test_the_package_has_no_copied_block(tmp_path):
    found = copied_blocks(PACKAGE, tmp_path)
    assert not found, "copied blocks (fold each into one shared function):\n" + "\n".join(found)


def _write(folder: Path, files: dict[str, str]) -> Path:
    pkg = folder / "pkg"
    pkg.mkdir()
    for name, text in files.items():
        (pkg / name).write_text(textwrap.dedent(text))
    return pkg


_BODY = """
    total = 0.0
    for k in range(n):
        total += weights[k] * values[k]
        if total > limit:
            total = limit
    scale = total / max(n, 1)
    return scale * factor
"""


def test_a_block_copied_across_modules_is_found(tmp_path):
    pkg = _write(tmp_path, {"a.py": "def first(n, weights, values, limit, factor):" + _BODY,
                            "b.py": "def second(n, weights, values, limit, factor):" + _BODY})
    work = tmp_path / "work"
    work.mkdir()
    assert copied_blocks(pkg, work) == ["7 lines: pkg.a.first ~ pkg.b.second"]


def test_a_block_copied_within_one_module_is_found(tmp_path):
    pkg = _write(tmp_path, {"a.py": "def first(n, weights, values, limit, factor):" + _BODY + "\n\n"
                                    "class Thing:\n    def second(self, n, weights, values, limit, factor):"
                                    + textwrap.indent(_BODY, "    ")})
    work = tmp_path / "work"
    work.mkdir()
    assert copied_blocks(pkg, work) == ["7 lines: pkg.a.first ~ pkg.a.Thing.second"]


def test_twin_signatures_and_docstrings_are_not_copies(tmp_path):
    signature = """(
        mdp,
        *,
        tol: float = 1e-6,
        max_iter: int | None = None,
        v0=None,
        callback=None,
        strict: bool = False,
        progress: bool = False,
    ):
        '''Solve it.

        Returns
        -------
        Solution

        Examples
        --------
        >>> 1 + 1
        2
        '''
    """
    pkg = _write(tmp_path, {"a.py": "def first" + signature + "    return mdp\n",
                            "b.py": "def second" + signature + "    return tol\n"})
    work = tmp_path / "work"
    work.mkdir()
    assert copied_blocks(pkg, work) == []
