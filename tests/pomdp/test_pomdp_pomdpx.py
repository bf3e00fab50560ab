"""POMDPX: factored reading and flattening, the flat writer, malformed files."""

import re
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import theory_rl
from theory_rl.checks import pomdps
from theory_rl.errors import ParseError, SizeLimitError
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


# ------------------------------------------------------------------ hostile files (issue 17, item 6)
def _pomdpx(state_vars, obs_vars, actions, transitions, observations, rewards="", extra=""):
    """A POMDPX document: ``state_vars`` = [(prev, curr, values)], ``obs_vars`` = [(name, values)],
    ``actions`` = values; values are a count (int, or its text as ``("n", text)``: ``NumValues``) or
    a string of names (``ValueEnum``)."""

    def vals(v):
        if isinstance(v, tuple):
            return f"<NumValues>{v[1]}</NumValues>"
        return f"<NumValues>{v}</NumValues>" if isinstance(v, int) else f"<ValueEnum>{v}</ValueEnum>"

    var = "".join(f'<StateVar vnamePrev="{p}" vnameCurr="{c}">{vals(v)}</StateVar>' for p, c, v in state_vars)
    var += "".join(f'<ObsVar vname="{n}">{vals(v)}</ObsVar>' for n, v in obs_vars)
    var += f'<ActionVar vname="act">{vals(actions)}</ActionVar><RewardVar vname="rew"/>{extra}'
    return (f"<?xml version='1.0'?>\n<pomdpx>\n<Discount>0.9</Discount>\n<Variable>{var}</Variable>\n"
            f"<StateTransitionFunction>{transitions}</StateTransitionFunction>\n"
            f"<ObsFunction>{observations}</ObsFunction>\n<RewardFunction>{rewards}</RewardFunction>\n</pomdpx>\n")


def _cp(var, parent, *entries, tag="CondProb", table="ProbTable"):
    body = "".join(f"<Entry><Instance>{i}</Instance><{table}>{t}</{table}></Entry>" for i, t in entries)
    return f"<{tag}><Var>{var}</Var><Parent>{parent}</Parent><Parameter type='TBL'>{body}</Parameter></{tag}>"


_T1 = _cp("s1", "act s0", ("* - -", "identity"))
_O1 = _cp("o", "act s1", ("* - -", "identity"))


def _read_text(tmp_path, text):
    path = tmp_path / "h.pomdpx"
    path.write_text(text, encoding="utf-8")
    return read_pomdpx(path)


def test_small_generated_document_reads(tmp_path):
    m = _read_text(tmp_path, _pomdpx([("s0", "s1", 2)], [("o", 2)], 2, _T1, _O1,
                                     _cp("rew", "act s0", ("* -", "1 2"), tag="Func", table="ValueTable")))
    assert (m.n_states, m.n_actions, m.n_observations) == (2, 2, 2)
    np.testing.assert_array_equal(m.R, [[1, 1], [2, 2]])


@pytest.mark.parametrize("count", ["\u00b2", "\u0663", "1" * 5000, "-1", "0x10"])
def test_num_values_accepts_ascii_digits_only(tmp_path, count):
    with pytest.raises(ParseError, match=r"line 4: expected a count in <NumValues>"):
        _read_text(tmp_path, _pomdpx([("s0", "s1", 2)], [("o", 2)], ("n", count), _T1, _O1))


def test_reward_variable_as_a_parent_is_a_parse_error(tmp_path):
    trans = _cp("s1", "act s0 rew", ("* - * -", "identity"))
    with pytest.raises(ParseError, match=r"line 5: reward variable 'rew' cannot be a parent"):
        _read_text(tmp_path, _pomdpx([("s0", "s1", 2)], [("o", 2)], 2, trans, _O1))
    with pytest.raises(ParseError, match=r"cannot have a RewardVar as <Var>"):
        _read_text(tmp_path, _pomdpx([("s0", "s1", 2)], [("o", 2)], 2, _T1, _cp("rew", "act s1", ("* - -", "1"))))


def test_a_variable_name_declared_twice_is_a_parse_error(tmp_path):
    with pytest.raises(ParseError, match=r"line 4: variable name 's0' is declared twice"):
        _read_text(tmp_path, _pomdpx([("s0", "s1", 2)], [("s0", 2)], 2, _T1, _O1))


def test_three_1000_valued_observation_variables_are_refused_before_allocating(tmp_path):
    obs = [(f"o{k}", 1000) for k in range(3)]
    t0 = time.perf_counter()
    with pytest.raises(ParseError, match=r"line 4: the flat model of 2 joint states, 2 actions and 1000000000 "
                       r"joint observations needs about .*memory limit") as exc:
        _read_text(tmp_path, _pomdpx([("s0", "s1", 2)], obs, 2, _T1, ""))
    assert isinstance(exc.value.__cause__, SizeLimitError) and time.perf_counter() - t0 < 5


def test_19_binary_state_variables_and_1000_actions_are_refused_in_no_time(tmp_path):
    states = [(f"x{k}", f"y{k}", 2) for k in range(19)]
    trans = "".join(_cp(f"y{k}", f"act x{k}", ("* - -", "0.5 0.5 0.5 0.5")) for k in range(19))
    t0 = time.perf_counter()
    with pytest.raises(ParseError, match=r"line 4: the flat model of 524288 joint states, 1000 actions .*memory limit"):
        _read_text(tmp_path, _pomdpx(states, [("o", 2)], 1000, trans, _cp("o", "y0", ("- -", "identity"))))
    assert time.perf_counter() - t0 < 10  # minutes before


def test_dense_flattened_kernels_are_guarded_by_their_exact_size(tmp_path):
    # 14 binary variables that each flip a fair coin: 16384 x 16384 non-zeros per action
    states = [(f"x{k}", f"y{k}", 2) for k in range(14)]
    trans = "".join(_cp(f"y{k}", f"x{k}", ("- -", "0.5 0.5 0.5 0.5")) for k in range(14))
    with pytest.raises(ParseError, match=r"line 5: the flattened transition kernel of action 'a0' has 268435456 non-zeros \(at most"):
        _read_text(tmp_path, _pomdpx(states, [("o", 2)], 1, trans, _cp("o", "y0", ("- -", "identity"))))


def test_table_entries_that_rewrite_a_big_table_are_stopped_by_the_work_limit(tmp_path):
    big = _cp("s1", "act s0", *[("* * *", "0.001")] * 400, ("* - -", "identity"))
    previous = theory_rl.set_max_bytes(64 * 2**20)
    try:
        with pytest.raises(ParseError, match=r"work limit"):
            _read_text(tmp_path, _pomdpx([("s0", "s1", 500)], [("o", 1)], 4, big, _cp("o", "act s1", ("* * -", "1"))))
    finally:
        theory_rl.set_max_bytes(previous)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("0.5 \u0661", r"expected a number in <ProbTable>, found '\u0661'"),
        ("0.5 1e999", r"expected a finite number in <ProbTable>, found '1e999'"),
        ("0.5 nan", r"expected a number in <ProbTable>, found 'nan'"),
        ("0.5 0." + "5" * 200, r"found '0.5555.*\(202 characters\)"),
    ],
)
def test_table_numbers_are_finite_ascii_numbers(tmp_path, table, message):
    trans = _cp("s1", "act s0", ("* - -", "identity"), ("0 0 -", table))
    with pytest.raises(ParseError, match=message):
        _read_text(tmp_path, _pomdpx([("s0", "s1", 2)], [("o", 2)], 2, trans, _O1))


@pytest.mark.parametrize("index", ["\u00b2", "1" * 5000])
def test_instance_indices_accept_ascii_digits_only(tmp_path, index):
    trans = _cp("s1", "act s0", ("* - -", "identity"), (f"0 {index} -", "0.5 0.5"))
    with pytest.raises(ParseError, match=r"is not a value of 's0'"):
        _read_text(tmp_path, _pomdpx([("s0", "s1", 2)], [("o", 2)], 2, trans, _O1))


def test_external_entities_and_entity_expansion_do_not_expand(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("0.95")
    xxe = TIGER.replace("<?xml version='1.0' encoding='ISO-8859-1'?>",
                        f"<?xml version='1.0'?><!DOCTYPE pomdpx [<!ENTITY x SYSTEM 'file://{secret}'>]>", 1)
    xxe = xxe.replace("<Discount>0.95</Discount>", "<Discount>&x;</Discount>", 1)
    with pytest.raises(ParseError):
        _read_text(tmp_path, xxe)
    lol = "<!DOCTYPE pomdpx [<!ENTITY a0 'lol'>" + "".join(
        f"<!ENTITY a{k} '{('&a' + str(k - 1) + ';') * 10}'>" for k in range(1, 10)) + "]>"
    bomb = TIGER.replace("<?xml version='1.0' encoding='ISO-8859-1'?>", "<?xml version='1.0'?>" + lol, 1)
    bomb = bomb.replace("<Description>", "<Description>&a9;", 1)
    t0 = time.perf_counter()
    with pytest.raises(ParseError, match="malformed XML"):
        _read_text(tmp_path, bomb)
    assert time.perf_counter() - t0 < 5


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_file_is_read_only_up_to_the_limit():
    previous = theory_rl.set_max_bytes(64 * 2**20)
    try:
        with pytest.raises(ParseError, match=r"/dev/zero: the element tree of a \d+-byte XML file .*memory limit"):
            read_pomdpx("/dev/zero")
    finally:
        theory_rl.set_max_bytes(previous)


def test_many_absorbing_states_are_lumped_in_one_sort(tmp_path):
    # 17 binary variables that never change: 131072 absorbing states, merged by (R, O) rows
    states = [(f"x{k}", f"y{k}", 2) for k in range(17)]
    trans = "".join(_cp(f"y{k}", f"x{k}", ("- -", "identity")) for k in range(17))
    rew = _cp("rew", "x0", ("-", "0 1"), tag="Func", table="ValueTable")
    t0 = time.process_time()
    m = _read_text(tmp_path, _pomdpx(states, [("o", 2)], 1, trans, _cp("o", "y1", ("- -", "identity")), rew))
    assert time.process_time() - t0 < 30
    assert m.n_states == 4  # (x0, x1) decide R and O
    assert m.state_names[0] == "s0|s0|s0|s0|s0|s0|s0|s0|s0|s0|s0|s0|s0|s0|s0|s0|s0(+32767 merged)"
    np.testing.assert_allclose(m.b0, 0.25)


def test_many_actions_are_flattened_in_one_pass(tmp_path):
    """20,000 actions on 4 states: one gather per variable for every action (a Python loop over
    the actions took seconds)."""
    trans = _cp("s1", "act s0", ("* - -", "identity"), ("a7 - -", "0 1 0 0 0 0 1 0 0 0 0 1 1 0 0 0"))
    obs = _cp("o", "act s1", ("* - -", "uniform"))
    rew = _cp("rew", "act s0", ("* -", "1 2 3 4"), ("a7 -", "0 0 0 9"), tag="Func", table="ValueTable")
    actions = " ".join(f"a{k}" for k in range(20_000))
    t0 = time.process_time()
    m = _read_text(tmp_path, _pomdpx([("s0", "s1", 4)], [("o", 2)], actions, trans, obs, rew))
    assert time.process_time() - t0 < 3.0
    assert (m.n_states, m.n_actions) == (4, 20_000) and m.T.nnz == 4 * 20_000
    assert m.T[3 * 20_000 + 7, 0] == 1.0 and m.T[3 * 20_000 + 8, 3] == 1.0
    np.testing.assert_array_equal(m.R[:, 7], [0, 0, 0, 9])
    np.testing.assert_array_equal(m.R[:, 8], [1, 2, 3, 4])
