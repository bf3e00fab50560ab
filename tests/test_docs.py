"""The documentation site builds with warnings as errors (a cross-reference to a theory_rl name that does not exist (nitpicky), a bad
docstring markup, a missing page or a notebook that does not parse fails here).

The test build reads every page, docstring and notebook and resolves every reference with
Sphinx's ``dummy`` builder (no HTML written), executing every notebook in fast mode
(``THEORY_RL_FAST=1``), so a notebook that fails inside the site fails here; ``make docs`` builds the
HTML and executes them in full. ``tests/test_notebooks.py`` also runs each notebook on its own (one
test per notebook, in parallel) and checks the course structure.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    pytest.importorskip("numpydoc")
    pytest.importorskip("pydata_sphinx_theme")
    env = dict(os.environ, THEORY_RL_DOCS_EXECUTE="force", THEORY_RL_FAST="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "sphinx", "-b", "dummy", "-W", "--keep-going", "-q",
           "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "out")]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"sphinx failed:\n{run.stdout[-4000:]}\n{run.stderr[-8000:]}"
