"""``theory-rl sweep SPEC.toml``: runs the sweep, writes the store and the plot, resumes, names bad fields."""

import json
import subprocess
import sys

import pytest

from theory_rl.cli import main
from theory_rl.experiments._spec import EXAMPLE

SPEC = """
[sweep]
function = "theory_rl.experiments.tasks:plug_in_error"
seeds = 3
backend = "serial"
store = "out/store.jsonl"

[grid]
env = ["river_swim"]
gamma = [0.9]
n = [20, 200, 2000]

[fit]
x = "n"
y = "error"
theory_exponent = -0.5
plot = "rate.png"
"""


def test_sweep_writes_store_fit_and_plot_then_resumes(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    assert main(["sweep", str(spec), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "9 tasks" in out and "theorem -0.5" in out and "slope of log error vs log n" in out
    lines = (tmp_path / "out" / "store.jsonl").read_text().splitlines()
    assert len(lines) == 9 and all(json.loads(x)["result"]["error"] > 0 for x in lines)
    assert (tmp_path / "rate.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["sweep", str(spec), "--no-progress"]) == 0  # everything recorded: nothing reruns
    assert len((tmp_path / "out" / "store.jsonl").read_text().splitlines()) == 9


def test_fit_by_group_and_backend_override(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.replace('gamma = [0.9]', 'gamma = [0.8, 0.9]').replace('x = "n"', 'x = "n"\nby = "gamma"'))
    assert main(["sweep", str(spec), "--no-progress", "--backend", "serial"]) == 0
    out = capsys.readouterr().out
    assert "fit      0.8" in out and "fit      0.9" in out


def test_example_spec_is_valid_toml():
    import tomllib

    doc = tomllib.loads(EXAMPLE)
    assert doc["fit"]["theory_exponent"] == -0.5 and doc["sweep"]["function"].endswith(":plug_in_error")


@pytest.mark.parametrize("text, message", [
    ("[sweep\nseeds = 1", "line 1"),
    ('[grid]\nn = [1]\n', "[sweep] table is missing"),
    ('[sweep]\nfunction = "theory_rl.experiments.tasks:nope"\nseeds = 1\n[grid]\nn = [1]\n', "no function 'nope'"),
    ('[sweep]\nfunction = "x"\nseeds = 1\n[grid]\nn = [1]\n', "sweep.function"),
    ('[sweep]\nfunction = "a:b"\nseeds = 1\nbogus = 2\n[grid]\nn = [1]\n', "sweep.bogus"),
    ('[sweep]\nfunction = "a:b"\n[grid]\nn = [1]\n', "sweep.seeds"),
])
def test_bad_specs_exit_2_naming_the_problem(tmp_path, capsys, text, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    assert main(["sweep", str(spec), "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_console_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "theory_rl", "sweep", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "TOML" in out.stdout


def test_sweep_writes_the_fitted_rate_as_json_beside_the_store(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.replace('plot = "rate.png"', 'plot = "rate.png"\nxlabel = "samples n"'))
    assert main(["sweep", str(spec), "--no-progress"]) == 0
    out = capsys.readouterr().out
    rate = tmp_path / "out" / "store.rate.json"
    assert f"rate        {rate}" in out
    doc = json.loads(rate.read_text())
    fit = doc["fits"]["all"]
    printed = out.split("slope of log error vs log n: ")[1].split()[0]
    assert f"{fit['slope']:.3f}" == printed  # the file holds what the command printed
    assert fit["ci_low"] <= fit["slope"] <= fit["ci_high"] and fit["n_points"] == 9
    assert doc["theory_exponent"] == -0.5 and doc["x"] == "n" and doc["y"] == "error"
    assert fit["theorem_inside_ci"] == (fit["ci_low"] <= -0.5 <= fit["ci_high"])
    assert doc["plot"] == str(tmp_path / "rate.png") and doc["store"] == str(tmp_path / "out" / "store.jsonl")


def test_a_bad_axis_label_is_named(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.replace('plot = "rate.png"', 'plot = "rate.png"\nxlabel = 3'))
    assert main(["sweep", str(spec), "--no-progress"]) == 2
    assert "fit.xlabel" in capsys.readouterr().err
