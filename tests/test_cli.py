"""The command line: output, JSON, and one-line errors with exit status 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from theory_rl.cli import main
from theory_rl.models import FiniteMDP


def test_solve_builtin_prints_certificate(capsys):
    assert main(["solve", "forest:n_states=3", "--method", "vi"]) == 0
    out = capsys.readouterr().out
    assert "certified   ||v - v*||_inf <=" in out and "wait" in out


@pytest.mark.parametrize("method", ["vi", "gs", "pi", "mpi", "lp"])
def test_solve_json_agrees_across_methods(capsys, method):
    assert main(["solve", "gridworld:n_rows=3,n_cols=4", "--method", method, "--json", "--tol", "1e-9"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["converged"] and doc["n_states"] == 12
    # Optimal values of the deterministic 3x4 grid with -1 per step: -(1 - gamma^d)/(1 - gamma).
    d = np.add.outer(np.arange(2, -1, -1), np.arange(3, -1, -1)).ravel()
    np.testing.assert_allclose(doc["v"], -(1 - 0.99**d) / (1 - 0.99), atol=1e-8)


def test_solve_file(tmp_path, capsys):
    P = np.full((2, 1, 2), 0.5)
    FiniteMDP(P, np.array([[1.0], [0.0]]), 0.5).save(tmp_path / "m.json")
    assert main(["solve", str(tmp_path / "m.json"), "--json", "--full"]) == 0
    doc = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(doc["v"], [1.5, 0.5])
    assert "q" in doc


@pytest.mark.parametrize(
    "argv, message",
    [
        (["solve", "nothing"], "unknown model 'nothing'"),
        (["solve", "forest:n_states"], "malformed model argument"),
        (["solve", "forest:size=3"], "forest has no option 'size'"),
        (["solve", "forest", "--gamma", "1.5"], "gamma = 1.5 is outside"),
        (["solve", "missing.npz"], "missing.npz: not a readable .npz archive"),
    ],
)
def test_errors_are_one_line_with_status_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("theory-rl: error:") and message in err and "Traceback" not in err


def test_python_dash_m_and_bad_file_without_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "theory_rl", "solve", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "line 1, column 2" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_demo_runs(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "largest disagreement between the four answers" in out
    assert "-14.0   -20.0   -22.0" in out  # Sutton & Barto Figure 4.1, first row


def test_demo_section_runs_from_the_demo_package(capsys):
    assert main(["demo", "tabular"]) == 0
    out = capsys.readouterr().out
    assert "-14.0   -20.0   -22.0" in out  # Sutton & Barto Figure 4.1, first row
    assert "Every number above is checked" in out


def test_load_model_is_a_deprecated_alias_of_envs_make():
    from theory_rl.cli import load_model

    with pytest.warns(DeprecationWarning, match="envs.make"):
        mdp = load_model("forest:n_states=4", gamma=0.5)
    assert mdp.n_states == 4 and mdp.gamma == 0.5


def test_a_convergence_warning_is_one_line_and_the_exit_status_0(capsys):
    assert main(["solve", "forest:n_states=50", "--method", "vi", "--max-iter", "2"]) == 0
    captured = capsys.readouterr()
    assert "converged   False after 2 iterations" in captured.out
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("theory-rl: warning: ConvergenceWarning: value_iteration did not certify")


def test_a_closed_pipe_ends_quietly(tmp_path):
    proc = subprocess.run(f"{sys.executable} -m theory_rl solve forest:n_states=3000 --full | head -1",
                          shell=True, capture_output=True, text=True)
    assert proc.stdout.startswith("FiniteMDP(S=3000") and "Traceback" not in proc.stderr and "Error" not in proc.stderr


def test_solve_a_classic_pomdp_by_name(capsys):
    assert main(["solve", "tiger", "--tol", "1e-2"]) == 0
    captured = capsys.readouterr()
    assert "method      sarsop" in captured.out and "<= V*(b0) <=" in captured.out and "at b0: listen" in captured.out
    assert "trial" in captured.err  # the progress bar is on in the command line
    assert main(["solve", "tiger", "--method", "hsvi2", "--json", "--tol", "1e-3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["converged"] and doc["n_observations"] == 2
    assert doc["lower"] <= 19.3714 <= doc["upper"] and doc["upper"] - doc["lower"] <= 1e-3  # V*(b0) = 19.3714 (exact)


@pytest.mark.parametrize("argv, message", [
    (["solve", "tiger", "--method", "pi"], "solves MDPs"),
    (["solve", "river_swim", "--method", "sarsop"], "solves POMDPs"),
    (["solve", "river_swim", "--time-limit", "1"], "--time-limit"),
    (["solve", "tiger", "--time-limit", "0"], "time_limit"),
])
def test_solve_refuses_a_method_of_the_other_family(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
