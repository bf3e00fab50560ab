"""Sphinx configuration of the theory_rl documentation site.

Three build steps run before Sphinx reads the sources:

* ``api/<subpackage>.rst``: one page per subpackage listing its ``__all__`` (autosummary then
  writes one page per public callable or class into ``api/generated/``);
* ``notebooks/*.ipynb``: copies of the repository's ``notebooks/*.ipynb`` (MyST-NB renders them;
  a notebook added later is picked up by the next build);
* ``benchmarks.md``: the benchmark tables rendered from ``bench/results/*.json`` (this one is
  committed, so that it also reads on the repository's web page; ``tests/test_benchmark_tables.py``
  checks that it equals a fresh rendering). The first two are generated into ignored folders.

Notebook execution: ``THEORY_RL_DOCS_EXECUTE`` is MyST-NB's ``nb_execution_mode`` (``cache`` by
default, as ``make docs`` uses; the test build sets ``off``).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
# The notebook kernels (subprocesses) document this checkout too, not another installed copy.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import sphinx.ext.autosummary as autosummary_module  # noqa: E402

import theory_rl  # noqa: E402

project = "theory_rl"
author = "theory_rl developers"
copyright = "theory_rl developers"
release = version = theory_rl.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_copybutton",
]

exclude_patterns = ["_build", "jupyter_execute", "_scripts", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# --------------------------------------------------------------------------- API reference
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()



def _summary(doc: list[str], settings: object) -> str:
    """The first sentence of a docstring for autosummary's tables: Sphinx's own rule cuts at the
    first ``". "`` even inside a literal (``P(. | s, a)``) or parentheses (``Sec. 3``), which
    leaves unbalanced markup; here a sentence ends only outside literals and parentheses."""
    lines: list[str] = []
    for line in doc:
        if not line.strip():
            if lines:
                break
            continue
        lines.append(line.strip())
    text = " ".join(lines)
    depth = 0
    i = 0
    while i < len(text):
        if text.startswith("``", i):
            end = text.find("``", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        if text[i] == "`":
            end = text.find("`", i + 1)
            i = len(text) if end < 0 else end + 1
            continue
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(text[i], 0)
        if text[i] == "." and depth <= 0 and (i + 1 == len(text) or text[i + 1] == " "):
            head = text[: i + 1]
            if not head.endswith(("et al.", "e.g.", "i.e.", "vs.")):
                return head
        i += 1
    return text


autosummary_module.extract_summary = _summary

# --------------------------------------------------------------------------- MyST / MyST-NB
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("THEORY_RL_DOCS_EXECUTE", "cache")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_merge_streams = True

# --------------------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"theory_rl {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path: list[str] = []
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# No network during builds (CI is offline): no intersphinx. Every cross-reference to a theory_rl
# name must resolve (a broken one is a warning, so an error under -W); private modules and names
# (not on the site) and the standard library, numpy, scipy and torch (no intersphinx) are exempt.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(.*\.)?_[A-Za-z]\w*(\..*)?"),
    (r"py:.*", r"(time|os|numpy|np|scipy|torch|sp|pandas|pd|gymnasium|joblib|dask|cvxpy|highspy)(\..*)?"),
]


# --------------------------------------------------------------------------- build steps
def write_api_pages() -> None:
    """``api/<subpackage>.rst`` for every subpackage, listing its ``__all__``."""
    api = DOCS / "api"
    api.mkdir(exist_ok=True)
    names = sorted(theory_rl._SUBPACKAGES)
    index = ["API reference", "=============", "",
             "One page per subpackage; each lists the subpackage's public names (its ``__all__``).", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    index += ["   theory_rl", *(f"   {name}" for name in names)]
    _write_if_changed(api / "index.rst", "\n".join(index) + "\n")
    root = ["``theory_rl``", "=============", "", ".. automodule:: theory_rl", "   :no-members:", "",
            ".. currentmodule:: theory_rl", "", ".. autosummary::", "   :toctree: generated", ""]
    root += [f"   {name}" for name in theory_rl.__all__ if callable(getattr(theory_rl, name))
             and not isinstance(getattr(theory_rl, name), type(sys))]
    _write_if_changed(api / "theory_rl.rst", "\n".join(root) + "\n")
    for name in names:
        module = importlib.import_module(f"theory_rl.{name}")
        title = f"``theory_rl.{name}``"
        lines = [title, "=" * len(title), "", f".. automodule:: theory_rl.{name}", "   :no-members:", "",
                 f".. currentmodule:: theory_rl.{name}", "", ".. autosummary::", "   :toctree: generated", ""]
        members = [m for m in sorted(getattr(module, "__all__", []), key=str.lower)
                   if not isinstance(getattr(module, m), type(sys))]
        home = {m: _home_subpackage(getattr(module, m), m) for m in members}
        lines += [f"   {m}" for m in members if home[m] in (None, name)]
        moved = [m for m in members if home[m] not in (None, name)]
        if moved:  # documented once, on the page of the subpackage that defines them
            lines += ["", "Also exported here, documented where they are defined:", ""]
            lines += [f"- :obj:`{m} <theory_rl.{home[m]}.{m}>` (``theory_rl.{home[m]}``)" for m in moved]
        _write_if_changed(api / f"{name}.rst", "\n".join(lines) + "\n")


def _home_subpackage(obj: object, name: str) -> str | None:
    """The public subpackage that defines ``obj`` and exports it under ``name`` (None if unknown)."""
    parts = getattr(obj, "__module__", "").split(".")
    if len(parts) < 2 or parts[0] != "theory_rl" or parts[1] not in theory_rl._SUBPACKAGES:
        return None
    home = importlib.import_module(f"theory_rl.{parts[1]}")
    return parts[1] if name in getattr(home, "__all__", ()) else None


def copy_notebooks() -> None:
    """``notebooks/*.ipynb`` copied into the source tree (stale copies removed)."""
    target = DOCS / "notebooks"
    target.mkdir(exist_ok=True)
    sources = {p.name: p for p in (ROOT / "notebooks").glob("*.ipynb")}
    for old in target.glob("*.ipynb"):
        if old.name not in sources:
            old.unlink()
    for name, src in sources.items():
        dst = target / name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)


def write_benchmarks_page() -> None:
    subprocess.run([sys.executable, str(DOCS / "_scripts" / "benchmark_tables.py")], check=True)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


write_api_pages()
copy_notebooks()
write_benchmarks_page()
