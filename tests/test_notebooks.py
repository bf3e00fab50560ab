"""Every teaching notebook runs top to bottom (in fast mode) without an error, and has the course's
sections (learning goals, the theorem, 3-5 exercises, solutions; ``docs/course.md``)."""

import os
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
# Written before the course format; replaced in issue 20 (by 07_sample_complexity_generative).
LEGACY = {"02_sample_complexity.ipynb"}

# Each section is a heading ("## The theorem", "## 1. ...") or a bold line ("**Learning goals**").
REQUIRED_SECTIONS = {
    "Learning goals": "Learning goals",
    "The theorem": "The theorems?",
    "Exercises": "Exercises",
    "Solutions": "Solutions",
}


def _section_offsets(text):
    """Character offset of the first occurrence of each required section in ``text`` (or None)."""
    found = {}
    for name, title in REQUIRED_SECTIONS.items():
        m = re.search(rf"^[ \t]*(#+[ \t]*|\*\*){title}\b", text, re.IGNORECASE | re.MULTILINE)
        found[name] = m.start() if m else None
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_course_structure(path):
    if path.name in LEGACY:
        pytest.skip(f"{path.name} predates the course format (replaced in issue 20)")
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), f"{path.name}: name it NN_slug.ipynb"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernelspec must be python3"
    assert nb.cells and nb.cells[0].cell_type == "markdown" and nb.cells[0].source.lstrip().startswith("# "), (
        f"{path.name}: the first cell must be a markdown title ('# ...')")
    # All markdown in order, with the cell each character came from.
    text, cell_of = "", []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            text += cell.source + "\n\n"
            cell_of += [i] * (len(cell.source) + 2)
    found = _section_offsets(text)
    missing = [name for name, offset in found.items() if offset is None]
    assert not missing, f"{path.name}: missing section(s) {missing}"
    assert found["Exercises"] < found["Solutions"], f"{path.name}: Solutions must come after Exercises"
    # 3-5 exercises: a numbered list in the Exercises section, or one "Exercise N" heading each.
    exercises = text[found["Exercises"]:found["Solutions"]]
    numbered = set(re.findall(r"^\s*(\d+)\.\s", exercises, re.MULTILINE))
    headed = set(re.findall(r"^\s*(?:#+|\*\*)\s*Exercise\s+(\d+)", exercises, re.MULTILINE | re.IGNORECASE))
    n_exercises = max(len(numbered), len(headed))
    assert 3 <= n_exercises <= 5, f"{path.name}: {n_exercises} exercises found, the course asks for 3-5"
    solutions_cell = cell_of[found["Solutions"]]
    assert any(c.cell_type == "code" for c in nb.cells[solutions_cell:]), (
        f"{path.name}: the Solutions section needs code cells (they run in CI)")
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "fast_mode" in first_code.source, f"{path.name}: the first code cell must read fast_mode()"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name} is committed with outputs; clear them"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("THEORY_RL_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name} is committed with outputs; clear them"
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    assert os.environ["THEORY_RL_FAST"] == "1"
