"""The documentation site builds with warnings as errors (a cross-reference to a theory_rl name that does not exist (nitpicky), a bad
docstring markup, a missing page or a notebook that does not parse fails here).

The test build reads every page, docstring and notebook and resolves every reference with
Sphinx's ``dummy`` builder (no HTML written) and notebook execution off: the notebooks are
executed by ``tests/test_notebooks.py``; ``make docs`` builds the HTML and executes them.
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
    env = dict(os.environ, THEORY_RL_DOCS_EXECUTE="off", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "sphinx", "-b", "dummy", "-W", "--keep-going", "-q",
           "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "out")]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"sphinx failed:\n{run.stdout[-4000:]}\n{run.stderr[-8000:]}"
