"""Every bad invocation of ``theory-rl`` prints one line, ``theory-rl: error: ...``, and exits 2.

A table of bad model specs, options, files and sweep specs run through ``main([...])``: each must
return 2 and write exactly one line to stderr naming the problem, with no traceback.
"""

from __future__ import annotations

import json

import pytest

from theory_rl.cli import main
from theory_rl.experiments import StoreLock

BASE_SWEEP = {
    "function": '"theory_rl.experiments.tasks:plug_in_error"',
    "seeds": "1",
    "backend": '"serial"',
    "store": '"store.jsonl"',
}
BASE_GRID = {"env": '["river_swim"]', "gamma": "[0.9]", "n": "[5]"}


def spec(sweep=None, grid=None, fit=None, extra=""):
    """A TOML spec: the base tables with keys replaced (a value of None removes the key)."""
    tables = []
    for name, base, changes in (("sweep", BASE_SWEEP, sweep), ("grid", BASE_GRID, grid), ("fit", None, fit)):
        if base is None and changes is None:
            continue
        merged = {**(base or {}), **(changes or {})}
        body = "\n".join(f"{k} = {v}" for k, v in merged.items() if v is not None)
        tables.append(f"[{name}]\n{body}\n")
    return "\n".join(tables) + extra


S = "{tmp}/s.toml"
SWEEP = ["sweep", S, "--no-progress"]

# (id, argv, files to write (name -> text or bytes), substring of the error line)
CASES = [
    # --- model specs
    ("unknown-model", ["solve", "nothing"], {}, "unknown model 'nothing'"),
    ("empty-spec", ["solve", ""], {}, "non-empty string"),
    ("no-value", ["solve", "forest:n_states"], {}, "malformed model argument"),
    ("empty-key", ["solve", "forest:=3"], {}, "malformed model argument"),
    ("unknown-key", ["solve", "forest:size=3"], {}, "forest has no option 'size'"),
    ("key-twice", ["solve", "forest:n_states=3,n_states=4"], {}, "given twice"),
    ("str-for-int", ["solve", "forest:n_states=abc"], {}, "n_states"),
    ("float-for-int", ["solve", "forest:n_states=1.5"], {}, "n_states"),
    ("negative-size", ["solve", "forest:n_states=-3"], {}, "n_states"),
    ("zero-size", ["solve", "forest:n_states=0"], {}, "n_states"),
    ("bad-bool", ["solve", "forest:sparse=maybe"], {}, "sparse"),
    ("gamma-in-spec", ["solve", "forest:gamma=1.5"], {}, "gamma"),
    ("bad-probability", ["solve", "forest:p=-0.5"], {}, "p"),
    ("bad-slip", ["solve", "chain:slip=2"], {}, "slip"),
    ("too-small", ["solve", "river_swim:n_states=1"], {}, "n_states"),
    ("missing-key", ["solve", "gridworld:n_rows=3"], {}, "gridworld needs n_cols"),
    ("hard-no-gamma", ["solve", "hard"], {}, "hard needs gamma"),
    ("hard-bad-gamma", ["solve", "hard:gamma=0.1"], {}, "1/4 < gamma"),
    ("huge-digits", ["solve", "chain:n_states=" + "9" * 5000], {}, "digits"),
    ("not-a-finite-mdp", ["solve", "windy_walk"], {}, "is a RobustMDP"),
    ("gym-unknown-id", ["solve", "gymnasium:env=NoSuch-v0"], {}, "gymnasium"),
    ("too-large", ["solve", "random_mdp:n_states=10000000,n_actions=10"], {}, "memory"),
    # --- solve options
    ("gamma-above-1", ["solve", "forest", "--gamma", "1.5"], {}, "gamma"),
    ("gamma-negative", ["solve", "forest", "--gamma", "-0.1"], {}, "gamma"),
    ("gamma-nan", ["solve", "forest", "--gamma", "nan"], {}, "gamma"),
    ("gamma-text", ["solve", "forest", "--gamma", "abc"], {}, "invalid float value"),
    ("tol-zero", ["solve", "forest", "--tol", "0"], {}, "--tol"),
    ("tol-negative", ["solve", "forest", "--tol", "-1"], {}, "--tol"),
    ("tol-nan", ["solve", "forest", "--tol", "nan"], {}, "--tol"),
    ("tol-inf", ["solve", "forest", "--tol", "inf"], {}, "--tol"),
    ("max-iter-zero", ["solve", "forest", "--max-iter", "0"], {}, "--max-iter"),
    ("max-iter-negative", ["solve", "forest", "--max-iter", "-5"], {}, "--max-iter"),
    ("max-iter-float", ["solve", "forest", "--max-iter", "2.5"], {}, "invalid int value"),
    ("bad-method", ["solve", "forest", "--method", "xx"], {}, "invalid choice"),
    ("unknown-option", ["solve", "forest", "--bogus"], {}, "unrecognized arguments"),
    ("no-model", ["solve"], {}, "model"),
    ("no-command", [], {}, "required"),
    ("unknown-command", ["frobnicate"], {}, "invalid choice"),
    ("demo-section", ["demo", "nosuch"], {}, "unknown demo section 'nosuch'"),
    # --- model files
    ("missing-npz", ["solve", "{tmp}/missing.npz"], {}, "not a readable .npz archive"),
    ("missing-json", ["solve", "{tmp}/missing.json"], {}, "missing.json"),
    ("not-json", ["solve", "{tmp}/bad.json"], {"bad.json": "{not json"}, "line 1, column 2"),
    ("empty-json", ["solve", "{tmp}/empty.json"], {"empty.json": ""}, "line 1"),
    ("json-list", ["solve", "{tmp}/list.json"], {"list.json": "[1, 2]"}, "JSON object"),
    ("json-no-field", ["solve", "{tmp}/f.json"], {"f.json": '{"format": "theory_rl.FiniteMDP"}'}, "field"),
    ("json-deep", ["solve", "{tmp}/deep.json"], {"deep.json": "[" * 100_000 + "]" * 100_000}, "deep"),
    ("npz-not-zip", ["solve", "{tmp}/x.npz"], {"x.npz": b"hello"}, "not a readable .npz archive"),
    ("unknown-extension", ["solve", "{tmp}/m.txt"], {"m.txt": "x"}, "unknown extension"),
    ("directory", ["solve", "{tmp}/"], {}, "{tmp}"),
    # --- sweep specs and options
    ("spec-missing", ["sweep", "{tmp}/none.toml", "--no-progress"], {}, "none.toml"),
    ("spec-directory", ["sweep", "{tmp}", "--no-progress"], {}, "directory"),
    ("spec-not-toml", SWEEP, {"s.toml": "[sweep\nseeds = 1"}, "line 1"),
    ("spec-binary", SWEEP, {"s.toml": b"\xff\xfe\x00bad"}, "s.toml"),
    ("spec-no-sweep", SWEEP, {"s.toml": "[grid]\nn = [1]\n"}, "[sweep] table is missing"),
    ("spec-unknown-table", SWEEP, {"s.toml": spec(extra="[fitt]\nx = 1\n")}, "fitt"),
    ("spec-unknown-key", SWEEP, {"s.toml": spec({"bogus": "2"})}, "sweep.bogus"),
    ("seeds-missing", SWEEP, {"s.toml": spec({"seeds": None})}, "sweep.seeds"),
    ("seeds-float", SWEEP, {"s.toml": spec({"seeds": "2.5"})}, "sweep.seeds"),
    ("seeds-zero", SWEEP, {"s.toml": spec({"seeds": "0"})}, "sweep.seeds"),
    ("seeds-negative", SWEEP, {"s.toml": spec({"seeds": "-1"})}, "sweep.seeds"),
    ("seeds-text", SWEEP, {"s.toml": spec({"seeds": '"x"'})}, "sweep.seeds"),
    ("seeds-bool", SWEEP, {"s.toml": spec({"seeds": "true"})}, "sweep.seeds"),
    ("seeds-repeated", SWEEP, {"s.toml": spec({"seeds": "[1, 1]"})}, "sweep.seeds"),
    ("seeds-empty", SWEEP, {"s.toml": spec({"seeds": "[]"})}, "sweep.seeds"),
    ("seeds-float-list", SWEEP, {"s.toml": spec({"seeds": "[1.5]"})}, "sweep.seeds"),
    ("chunk-negative", SWEEP, {"s.toml": spec({"chunk_size": "-1"})}, "sweep.chunk_size"),
    ("chunk-zero", SWEEP, {"s.toml": spec({"chunk_size": "0"})}, "sweep.chunk_size"),
    ("chunk-float", SWEEP, {"s.toml": spec({"chunk_size": "2.5"})}, "sweep.chunk_size"),
    ("n-jobs-zero", SWEEP, {"s.toml": spec({"n_jobs": "0"})}, "sweep.n_jobs"),
    ("n-jobs-float", SWEEP, {"s.toml": spec({"n_jobs": "2.5"})}, "sweep.n_jobs"),
    ("backend-unknown", SWEEP, {"s.toml": spec({"backend": '"spark"'})}, "sweep.backend"),
    ("seed-text", SWEEP, {"s.toml": spec({"seed": '"x"'})}, "sweep.seed"),
    ("seed-float", SWEEP, {"s.toml": spec({"seed": "2.5"})}, "sweep.seed"),
    ("store-number", SWEEP, {"s.toml": spec({"store": "5"})}, "sweep.store"),
    ("store-directory", SWEEP, {"s.toml": spec({"store": '"."'})}, "directory"),
    ("function-bad", SWEEP, {"s.toml": spec({"function": '"x"'})}, "sweep.function"),
    ("function-missing-module", SWEEP, {"s.toml": spec({"function": '"no_such_module_x:f"'})}, "cannot import"),
    ("function-missing-name", SWEEP, {"s.toml": spec({"function": '"theory_rl.experiments.tasks:nope"'})},
     "no function 'nope'"),
    ("function-no-seed", SWEEP, {"s.toml": spec({"function": '"theory_rl.envs:hard_instance"'})}, "'seed'"),
    ("grid-unknown-key", SWEEP, {"s.toml": spec(grid={"bogus": "[1]"})}, "grid key 'bogus'"),
    ("grid-missing-key", SWEEP, {"s.toml": spec(grid={"n": None})}, "needs 'n'"),
    ("grid-table", SWEEP, {"s.toml": spec(grid={"n": "{a = 1}"})}, "grid.n"),
    ("grid-nested", SWEEP, {"s.toml": spec(grid={"n": "[[1, 2]]"})}, "grid.n"),
    ("grid-empty-list", SWEEP, {"s.toml": spec(grid={"n": "[]"})}, "grid.n"),
    ("grid-empty", SWEEP, {"s.toml": '[sweep]\nfunction = "a:b"\nseeds = 1\n[grid]\n'}, "[grid] table is empty"),
    ("grid-bad-env", SWEEP, {"s.toml": spec(grid={"env": '["nothing"]'})}, "unknown model 'nothing'"),
    ("grid-env-number", SWEEP, {"s.toml": spec(grid={"env": "[1]"})}, "model spec"),
    ("grid-n-text", SWEEP, {"s.toml": spec(grid={"n": '["x"]'})}, "n must be an integer, got 'x'"),
    ("grid-n-float", SWEEP, {"s.toml": spec(grid={"n": "[2.5]"})}, "n must be an integer, got 2.5"),
    ("grid-n-zero", SWEEP, {"s.toml": spec(grid={"n": "[0]"})}, "n = 0 must be >= 1"),
    ("grid-task-error", SWEEP, {"s.toml": spec(grid={"env": '["hard"]', "gamma": "[0.1]"})}, "1/4 < gamma"),
    ("fit-no-y", SWEEP, {"s.toml": spec(fit={"x": '"n"'})}, "fit.y"),
    ("fit-bad-exponent", SWEEP, {"s.toml": spec(fit={"x": '"n"', "y": '"error"', "theory_exponent": '"x"'})},
     "fit.theory_exponent"),
    ("fit-unknown-column", SWEEP, {"s.toml": spec(fit={"x": '"nope"', "y": '"error"'})}, "fit.x = 'nope'"),
    ("fit-unknown-by", SWEEP, {"s.toml": spec(fit={"x": '"n"', "y": '"error"', "by": '"nope"'})}, "fit.by"),
    ("cli-backend", [*SWEEP, "--backend", "spark"], {"s.toml": spec()}, "invalid choice"),
    ("cli-n-jobs-zero", [*SWEEP, "--n-jobs", "0"], {"s.toml": spec()}, "n_jobs"),
    ("cli-n-jobs-text", [*SWEEP, "--n-jobs", "x"], {"s.toml": spec()}, "invalid int value"),
    ("cli-wait-negative", [*SWEEP, "--wait", "-1"], {"s.toml": spec()}, "seconds"),
    ("corrupt-store", SWEEP, {"s.toml": spec(), "store.jsonl": '{"task": "a"}\n{broken\n{"task": "b"}\n'},
     "--repair"),
    ("repair-missing", ["sweep", "--repair", "{tmp}/none.jsonl"], {}, "does not exist"),
    ("repair-with-backend", ["sweep", "--repair", "{tmp}/store.jsonl", "--backend", "serial"], {}, "--backend"),
]


@pytest.mark.parametrize("argv, files, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_invocation_prints_one_line_and_exits_2(tmp_path, capsys, argv, files, message):
    for name, content in files.items():
        target = tmp_path / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("theory-rl: error: ") and "Traceback" not in err
    assert message.replace("{tmp}", str(tmp_path)) in err


def test_the_table_is_large():
    assert len(CASES) >= 40 and len({c[0] for c in CASES}) == len(CASES)


def test_a_store_held_by_another_sweep_is_one_line(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(spec())
    with StoreLock(tmp_path / "store.jsonl"):
        assert main(["sweep", str(tmp_path / "s.toml"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "being written by another sweep (pid" in err
    assert not (tmp_path / "store.jsonl").exists()  # nothing ran
    assert main(["sweep", str(tmp_path / "s.toml"), "--no-progress"]) == 0  # released: it runs


def test_repair_then_resume(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(spec(grid={"n": "[5, 10, 20]"}))
    assert main(["sweep", str(tmp_path / "s.toml"), "--no-progress"]) == 0
    store = tmp_path / "store.jsonl"
    lines = store.read_text().splitlines(keepends=True)
    store.write_text(lines[0] + '{"task": "x", broken\n' + lines[1] + lines[2])
    capsys.readouterr()
    assert main(["sweep", str(tmp_path / "s.toml"), "--no-progress"]) == 2
    assert "line 2 is not valid JSON" in capsys.readouterr().err
    assert main(["sweep", "--repair", str(tmp_path / "s.toml")]) == 0  # the spec names its store
    out = capsys.readouterr().out
    assert "dropped     line 2: not valid JSON" in out and "kept 3 records" in out and "store.jsonl.bak" in out
    assert (tmp_path / "store.jsonl.bak").read_text().count("\n") == 4
    assert main(["sweep", str(tmp_path / "s.toml"), "--no-progress"]) == 0
    assert [json.loads(x)["task"] for x in store.read_text().splitlines()] == [json.loads(x)["task"] for x in lines]
    assert main(["sweep", "--repair", str(store)]) == 0
    assert "nothing to repair" in capsys.readouterr().out


def test_chunk_size_minus_one_used_to_run_nothing_and_exit_0(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(spec({"chunk_size": "-1"}))
    assert main(["sweep", str(tmp_path / "s.toml"), "--no-progress"]) == 2
    assert not (tmp_path / "store.jsonl").exists()
