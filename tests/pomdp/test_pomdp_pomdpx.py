"""POMDPX: factored reading and flattening, the flat writer, malformed files."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory_rl.checks import pomdps
from theory_rl.errors import ParseError
from theory_rl.pomdp import PROBLEM_DIR, blind_lower_bound, fib_upper_bound, read_pomdp, read_pomdpx, write_pomdpx

DATA = PROBLEM_DIR


def test_tiger_pomdpx_is_the_tiger_pomdp():
    x = read_pomdpx(DATA / "Tiger.pomdpx")
    c = read_pomdp(DATA / "tiger.95.POMDP")
    assert x.is_sparse and x.gamma == c.gamma
    np.testing.assert_array_equal(x.transition_dense(), c.transition_dense())
    np.testing.assert_array_equal(x.O, c.O)
    np.testing.assert_array_equal(x.R, c.R)
    np.testing.assert_array_equal(x.b0, c.b0)
    assert x.state_names == c.state_names and x.action_names == c.action_names
    assert x.observation_names == ("obs-left", "obs-right")


@pytest.fixture(scope="module")
def rocksample():
    return read_pomdpx(DATA / "RockSample_7_8.pomdpx")


def test_rocksample_7_8_flattens_to_12545_states(rocksample):
    m = rocksample
    assert (m.n_states, m.n_actions, m.n_observations) == (12545, 13, 2)
    assert m.is_sparse and m.T.nnz == 12545 * 13  # deterministic moves
    assert np.count_nonzero(m.b0) == 256 and m.b0.max() == pytest.approx(1 / 256)
    assert m.state_names[0] == "s00|bad|bad|bad|bad|bad|bad|bad|bad"
    assert m.state_names[-1].startswith("st|") and m.state_names[-1].endswith("(+255 merged)")
    assert m.R.min() == -100 and m.R.max() == 10  # exiting to the wrong side / sampling a good rock
    # SARSOP's 60 s interval [21.1127, 24.6413] must lie inside [blind, FIB]
    assert blind_lower_bound(m).lower <= 21.1127 and fib_upper_bound(m, tol=1e-3).upper >= 24.6413


def test_lumping_is_exact(rocksample):
    full = read_pomdpx(DATA / "RockSample_7_8.pomdpx", lump_absorbing=False)
    assert full.n_states == 50 * 2**8
    # bisimilar states merged: the blind values at b0 agree
    assert blind_lower_bound(full).lower == pytest.approx(blind_lower_bound(rocksample).lower, abs=1e-9)


def _same(a, b):
    np.testing.assert_array_equal(a.transition_dense(), b.transition_dense())
    np.testing.assert_array_equal(a.O, b.O)
    np.testing.assert_array_equal(a.R, b.R)
    np.testing.assert_array_equal(a.b0, b.b0)
    assert a.gamma == b.gamma


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=20)
@given(pomdps())
def test_write_then_read_round_trip(tmp_path, model):
    write_pomdpx(model, tmp_path / "m.pomdpx")
    _same(read_pomdpx(tmp_path / "m.pomdpx"), model)


def test_round_trip_of_a_named_model(tmp_path):
    m = read_pomdp(DATA / "cheese.95.POMDP")
    write_pomdpx(m, tmp_path / "c.pomdpx")
    again = read_pomdpx(tmp_path / "c.pomdpx")
    _same(again, m)
    assert again.action_names == m.action_names


TIGER = (DATA / "Tiger.pomdpx").read_text(encoding="latin-1")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("</pomdpx>", "", r"line \d+, column \d+: malformed XML"),
        ("<Discount>0.95", "<Discount>x", r"line 8: expected a number in <Discount>"),
        ("<Instance>listen - -</Instance>", "<Instance>listen - - -</Instance>", r"line \d+: <Instance> has 4 values"),
        ("<Instance>open-left * *</Instance>", "<Instance>open-up * *</Instance>", r"'open-up' is not a value"),
        ("<ProbTable>0.85 0.15 0.15 0.85</ProbTable>", "<ProbTable>0.85 0.15</ProbTable>", r"expected 4 numbers"),
        ('type = "TBL"', 'type = "DD"', r"only TBL parameters are supported"),
        ("<Parent>action_agent state_0</Parent>\n<Parameter type = \"TBL\">\n<Entry>\n<Instance>listen - -",
         "<Parent>action_agent state_9</Parent>\n<Parameter type = \"TBL\">\n<Entry>\n<Instance>listen - -",
         r"unknown variable 'state_9'"),
        ("<ProbTable>0.5</ProbTable></Entry>\n<Entry>\n<Instance>open-right * *</Instance>\n<ProbTable>0.5",
         "<ProbTable>0.4</ProbTable></Entry>\n<Entry>\n<Instance>open-right * *</Instance>\n<ProbTable>0.5",
         r"invalid model: T\[0, 1, :\] sums to 0.8"),
    ],
)
def test_malformed_pomdpx(tmp_path, old, new, message):
    assert old in TIGER
    path = tmp_path / "bad.pomdpx"
    path.write_text(TIGER.replace(old, new, 1), encoding="latin-1")
    with pytest.raises(ParseError, match=message):
        read_pomdpx(path)


_JUNK = ["*", "-", "0", "1", "2", "0.5", "x", "uniform", "identity", "null", "<", ">", "</Entry>", "<Entry>", ""]


@st.composite
def mutated(draw):
    parts = re.split(r"(\s+|<|>)", TIGER)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(parts) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "replace"]))
        parts[i] = "" if op == "delete" else (parts[i] * 2 if op == "duplicate" else draw(st.sampled_from(_JUNK)))
    return "".join(parts)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=100)
@given(mutated())
def test_mutated_pomdpx_parses_or_raises_parse_error(tmp_path, text):
    path = tmp_path / "mut.pomdpx"
    path.write_text(text, encoding="latin-1")
    try:
        read_pomdpx(path)
    except ParseError as exc:
        assert exc.file == str(path)
