"""Cassandra .POMDP reader/writer: shipped files, every format quirk, round trips, malformed input."""

import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import theory_rl
from theory_rl.checks import pomdps
from theory_rl.errors import ParseError, SizeLimitError
from theory_rl.pomdp import PROBLEM_DIR, parse_pomdp, read_pomdp, write_pomdp

DATA = PROBLEM_DIR

# (file, S, A, O, gamma): the benchmarks README's table
SHIPPED = [
    ("tiger.95.POMDP", 2, 3, 2, 0.95),
    ("shuttle.95.POMDP", 8, 3, 5, 0.95),
    ("network.POMDP", 7, 4, 2, 0.95),
    ("4x3.95.POMDP", 11, 4, 6, 0.95),
    ("cheese.95.POMDP", 11, 4, 7, 0.95),
    ("4x4.95.POMDP", 16, 4, 2, 0.95),
    ("milos-aaai97.POMDP", 20, 6, 8, 0.90),
]


def _read(name, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return read_pomdp(DATA / name, **kw)


@pytest.mark.parametrize(("name", "S", "A", "O", "gamma"), SHIPPED)
def test_shipped_files_have_the_documented_sizes(name, S, A, O, gamma):  # noqa: E741
    m = _read(name)
    assert (m.n_states, m.n_actions, m.n_observations, m.gamma) == (S, A, O, gamma)
    np.testing.assert_allclose(m.b0.sum(), 1.0, atol=1e-12)


def test_tiger_is_read_exactly():
    m = read_pomdp(DATA / "tiger.95.POMDP")
    assert m.state_names == ("tiger-left", "tiger-right")
    assert m.action_names == ("listen", "open-left", "open-right")
    np.testing.assert_array_equal(m.T[:, 0, :], np.eye(2))  # identity
    np.testing.assert_array_equal(m.T[:, 1, :], np.full((2, 2), 0.5))  # uniform
    np.testing.assert_array_equal(m.O[0], [[0.85, 0.15], [0.15, 0.85]])
    np.testing.assert_array_equal(m.R, [[-1, -100, 10], [-1, 10, -100]])
    np.testing.assert_array_equal(m.b0, [0.5, 0.5])


def test_network_has_no_start_so_b0_is_uniform_and_values_on_next_lines_are_read():
    m = read_pomdp(DATA / "network.POMDP")
    np.testing.assert_allclose(m.b0, np.full(7, 1 / 7))
    # "R: <a> : <s> : * : *" with the value on the next line: rewards are not all zero
    assert np.abs(m.R).max() == 80.0


def test_4x4_start_and_rows_summing_to_1_000005_are_renormalised_with_a_warning():
    with pytest.warns(UserWarning, match="renormalised") as rec:
        m = read_pomdp(DATA / "4x4.95.POMDP")
    messages = " ".join(str(w.message) for w in rec)
    assert "start belief sums to 1.000005" in messages and "rows of T" in messages
    assert m.b0.sum() == pytest.approx(1.0, abs=1e-15)
    raw = _read("4x4.95.POMDP", renormalize=False)
    assert raw.b0.sum() == pytest.approx(1.000005, abs=1e-12)


HEADER = "discount: 0.9\nvalues: reward\nstates: s0 s1 s2\nactions: a b\nobservations: x y\n"


def _model(body, header=HEADER, **kw):
    return parse_pomdp(header + body, **kw)


def test_quirks_no_space_colons_wildcards_indices_and_value_on_next_line():
    text = """
T:a
identity
T : b : * : s2 1.0   # comment after an entry
O:* : * : x
0.25
O: * : * : y 0.75
O: b : 1 : x 1.0
O: b : s1 : y 0
R:a : * : * : * 1
R: b : s0 : * : *
-2
R: * : 2 : * : * 5   # later entries override earlier ones, by index or name
"""
    m = _model(text)
    np.testing.assert_array_equal(m.T[:, 0, :], np.eye(3))
    np.testing.assert_array_equal(m.T[:, 1, 2], 1.0)
    np.testing.assert_array_equal(m.O[0], np.tile([0.25, 0.75], (3, 1)))
    np.testing.assert_array_equal(m.O[1, 1], [1.0, 0.0])
    np.testing.assert_array_equal(m.R, [[1, -2], [1, 0], [5, 5]])


def test_full_reward_is_reduced_by_expectation_under_T_and_O():
    text = """
T: * : * : * 0
T: * : * : 0 0.2
T: * : * : 1 0.3
T: * : * : 2 0.5
O: * : 0 : x 0.1
O: * : 0 : y 0.9
O: * : 1 : x 0.6
O: * : 1 : y 0.4
O: * : 2 : x 1
R: a : 0 : 1 : x 10
R: a : 0 : 1 : y 20
R: a : 0 : 2
3 4
R: b : *
1 2
3 4
5 6
"""
    m = _model(text)
    # R[0, a] = 0.3 * (0.6 * 10 + 0.4 * 20) + 0.5 * (1 * 3 + 0 * 4)
    assert m.R[0, 0] == pytest.approx(0.3 * (6 + 8) + 0.5 * 3)
    assert m.R[1, 0] == 0.0
    # R(b, s, s', o) = matrix over (s', o): E = 0.2 (0.1*1 + 0.9*2) + 0.3 (0.6*3 + 0.4*4) + 0.5 * 5
    expected = 0.2 * (0.1 + 1.8) + 0.3 * (1.8 + 1.6) + 0.5 * 5
    np.testing.assert_allclose(m.R[:, 1], expected)


def test_observation_wildcard_overrides_and_specific_observation_after_it():
    text = "T: * identity\nO: * uniform\nR: a : * : * : * 1\nR: a : 0 : * : x 3\nR: a : 0 : 0 : * 7\n"
    m = _model(text)
    assert m.R[0, 0] == 7.0  # the s'-specific wildcard entry came last
    text2 = "T: * identity\nO: * uniform\nR: a : * : * : * 1\nR: a : 0 : * : x 3\n"
    assert _model(text2).R[0, 0] == pytest.approx(0.5 * 3 + 0.5 * 1)


@pytest.mark.parametrize(
    ("start", "b0"),
    [
        ("start: uniform", [1 / 3] * 3),
        ("start: s1", [0, 1, 0]),
        ("start: 2", [0, 0, 1]),
        ("start:\n0.2 0.3\n0.5", [0.2, 0.3, 0.5]),
        ("start include: s0 2", [0.5, 0, 0.5]),
        ("start exclude: s0", [0, 0.5, 0.5]),
    ],
)
def test_start_forms(start, b0):
    m = _model("T: * uniform\nO: * uniform\n", header=HEADER + start + "\n")
    np.testing.assert_allclose(m.b0, b0)


def test_costs_are_negated_and_counts_give_unnamed_states():
    header = "discount: 0.5\nvalues: cost\nstates: 2\nactions: 1\nobservations: 1\n"
    m = _model("T: * identity\nO: * uniform\nR: * : 1 : * : * 4\n", header=header)
    assert m.state_names is None
    np.testing.assert_array_equal(m.R[:, 0], [0, -4])


def test_start_far_from_one_is_an_error_naming_its_line():
    with pytest.raises(ParseError, match=r"line 6.*start belief sums to 0.9") as exc:
        _model("T: * uniform\nO: * uniform\n", header=HEADER + "start: 0.3 0.3 0.3\n")
    assert exc.value.line == 6


MALFORMED = [
    ("", r"line 1: the file is empty"),
    ("foo: 1\n", r"line 1, column 1: expected a keyword"),
    (HEADER + "T: c : 0 : 0 1\n", r"line 6, column 4: unknown actions 'c'"),
    (HEADER + "T: a : 7 : 0 1\n", r"line 6, column 8: states index 7 is out of range \[0, 3\)"),
    (HEADER + "T: a : 0\n0.5 0.5\n", r"line 7, column 5: expected 3 numbers"),
    (HEADER + "T: a : 0 : 1 abc\n", r"expected a transition probability \(a number\), found 'abc'"),
    (HEADER + "T: a : 0 : 1 -0.5\n", r"line 6.*negative probability"),
    (HEADER + "T: a : 0 : 1 0.5 0.5\n", r"expected 1 numbers for a transition probability, found 2"),
    (HEADER + "T: a 0 : 1 0.5\n", r"expected ':' after 'a'"),
    (HEADER + "T: * uniform\nO: * : * : x 0.5\n", r"line 7: O: a : s0 sums to 0.5"),
    (HEADER + "O: * uniform\n", r"T: a : s0 sums to 0 .*no entry sets it"),
    ("discount: 1.5\n", r"discount 1.5 is outside \[0, 1\]"),
    ("discount: 0.9\nstates: a a\n", r"line 2, column 11: state name 'a' is listed twice"),
    ("discount: 0.9\nstates: 1a b\n", r"expected a state name"),
    ("discount: 0.9\nstates: 0\n", r"expected a count in \[1, "),
    ("discount: 0.9\nvalues: money\n", r"expected 'reward' or 'cost'"),
    ("discount: 0.9\nT: a identity\n", r"'T' before the preamble declared 'states:'"),
    ("states: 2\nactions: 1\nobservations: 1\nT: * identity\nO: * uniform\n", r"no 'discount:' line"),
    (HEADER + "R: a : 0 : 0 : x\n", r"expected 1 numbers for a reward, found 0"),
    (HEADER + "R: a\n", r"rewards need at least a start state"),
    (HEADER + "T: a : 0 : 1 : 2 : x 1\n", r"takes at most 3 indices"),
    (HEADER + "T: a : 0 : 1 1e999\n", r"finite number"),
    (HEADER + "O: a identity\n", r"'identity' needs a square matrix"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_files_raise_parse_errors_with_position(text, message):
    with pytest.raises(ParseError, match=message):
        parse_pomdp(text, file="m.POMDP")


def test_unreadable_files(tmp_path):
    with pytest.raises(ParseError, match="cannot read file"):
        read_pomdp(tmp_path / "missing.POMDP")
    bad = tmp_path / "bin.POMDP"
    bad.write_bytes(b"\xff\xfe\x00discount")
    with pytest.raises(ParseError, match="not a text file"):
        read_pomdp(bad)


@pytest.mark.parametrize("name", [s[0] for s in SHIPPED])
def test_write_then_read_gives_the_same_model(name, tmp_path):
    m = _read(name)
    path = tmp_path / "out.POMDP"
    write_pomdp(m, path, comment=f"copy of {name}")
    again = read_pomdp(path)
    _assert_same(m, again)


def _assert_same(m, again):
    np.testing.assert_array_equal(again.transition_dense(), m.transition_dense())
    np.testing.assert_array_equal(again.O, m.O)
    np.testing.assert_array_equal(again.R, m.R)
    np.testing.assert_array_equal(again.b0, m.b0)
    assert again.gamma == m.gamma
    assert (again.state_names, again.action_names, again.observation_names) == (
        m.state_names, m.action_names, m.observation_names)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pomdps())
def test_round_trip_of_random_models(tmp_path, model):
    path = tmp_path / "r.POMDP"
    write_pomdp(model, path)
    _assert_same(model, read_pomdp(path))


def test_sparse_models_are_written_as_entries_and_read_back(tmp_path):
    m = _read("cheese.95.POMDP").to_sparse()
    write_pomdp(m, tmp_path / "s.POMDP")
    assert "T: N0 : 0 : " in (tmp_path / "s.POMDP").read_text()
    again = read_pomdp(tmp_path / "s.POMDP", sparse=True)
    assert again.is_sparse
    _assert_same(m, again)


# ------------------------------------------------------------------ mutation fuzzing
_SMALL = ["tiger.95.POMDP", "shuttle.95.POMDP", "network.POMDP", "cheese.95.POMDP", "4x4.95.POMDP"]
_TEXTS = {name: (DATA / name).read_text() for name in _SMALL}
_JUNK = ["*", ":", "-", "0", "1", "2", "99", "-1", "0.5", "1e400", "nan", "uniform", "identity", "T", "O", "R",
         "start", "include", "exclude", "states", "values", "cost", "foo", "#", "\n", "", "T:", "1.5", "0x1"]


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(_SMALL))
    parts = re.split(r"(\s+)", _TEXTS[name])
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(parts) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "replace"]))
        if op == "delete":
            parts[i] = ""
        elif op == "duplicate":
            parts[i] = parts[i] + " " + parts[i]
        else:
            parts[i] = draw(st.sampled_from(_JUNK))
    return "".join(parts)


@settings(max_examples=150)
@given(mutated())
def test_mutated_files_parse_or_raise_parse_error(text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            parse_pomdp(text, file="mutant.POMDP")
        except ParseError as exc:
            assert exc.file == "mutant.POMDP"


def test_large_models_are_parsed_into_sparse_rows(monkeypatch):
    """The sparse-row path (S*S above the dense limit) gives the same model as the dense path."""
    from theory_rl.pomdp import _cassandra

    text = (DATA / "cheese.95.POMDP").read_text() + (
        "\nT: N0 : 3 : * 0.0\nT: N0 : 3 : 4 1.0\nT: * : 10\nuniform\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dense = parse_pomdp(text)
        monkeypatch.setattr(_cassandra, "_MAX_DENSE_T", 10)
        sparse = parse_pomdp(text)
    assert sparse.is_sparse
    _assert_same(dense, sparse)
    assert sparse.T[3 * 4 + 0, 4] == 1.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("T: * uniform\n", r"line 5, column 1: 800000000 transition entries .* above the memory limit"),
        ("T: 0 : * : * 0.5\n", r"line 5, column 1: 400000000 transition entries .* above the memory limit"),
        ("R: 0 : 1 : 2 : * 1\n", r"line 5.*only supported up to 2000 states"),
    ],
)
def test_entries_too_large_for_memory_are_parse_errors(body, message):
    header = "discount: 0.95\nstates: 20000\nactions: 2\nobservations: 2\n"
    with pytest.raises(ParseError, match=message):
        parse_pomdp(header + body)


def test_sparse_identity_for_large_models():
    m = parse_pomdp("discount: 0.95\nstates: 20000\nactions: 2\nobservations: 2\nT: * identity\nO: * uniform\n")
    assert m.is_sparse and m.T.nnz == 40000


# ------------------------------------------------------------------ hostile files (issue 17, item 6)
@pytest.fixture
def limit_64mib():
    previous = theory_rl.set_max_bytes(64 * 2**20)
    yield
    theory_rl.set_max_bytes(previous)


def test_header_declaring_a_huge_dense_T_is_refused_before_allocating():
    """74 bytes that asked for 16 GB of dense T: refused at the declaration, SizeLimitError as cause."""
    text = "discount: 0.95\nvalues: reward\nstates: 2000\nactions: 500\nobservations: 2\n"
    with pytest.raises(ParseError, match=r"line 4: the tables of .* 2000 states, 500 actions .* memory limit") as exc:
        parse_pomdp(text, file="h.POMDP")
    assert exc.value.file == "h.POMDP" and exc.value.line == 4
    assert isinstance(exc.value.__cause__, SizeLimitError)
    with pytest.raises(ParseError, match=r"line 4: .* 1000 actions .* memory limit"):
        parse_pomdp("discount: 0.9\nstates: 2000\nobservations: 2\nactions: 1000\nR: * : * : * : * 1\n")


def test_allocation_estimate_follows_the_limit_and_suggests_sparse_rows(limit_64mib):
    # 2000 x 5 x 2000 dense T = 160 MB: above 64 MiB; the sparse path parses it
    header = "discount: 0.9\nstates: 2000\nactions: 5\nobservations: 1\n"
    text = header + "T: * identity\nO: * uniform\n"
    with pytest.raises(ParseError, match=r"line 3: .*dense T.* 64 MiB.*sparse=True"):
        parse_pomdp(text)
    m = parse_pomdp(text, sparse=True)
    assert m.is_sparse and m.T.nnz == 2000 * 5


def test_reward_layers_are_counted_against_the_limit(limit_64mib):
    # R(a, s, s') for 10 actions of 1000 states = 80 MB
    text = "discount: 0.9\nstates: 1000\nactions: 10\nobservations: 1\nT: * identity\nO: * uniform\n"
    parse_pomdp(text + "R: 0 : * : 0 : * 1\n", sparse=True)
    with pytest.raises(ParseError, match=r"line 7, column 1: rewards R\(a, s, s'\) for 10 actions.*memory limit"):
        parse_pomdp(text + "R: * : * : 0 : * 1\n", sparse=True)


def test_wildcard_zero_over_200000_states_is_linear_time():
    text = ("discount: 0.9\nstates: 200000\nactions: 2\nobservations: 1\n"
            "T: * : * : * 0\nT: * : * : 0 0\nT: * identity\nT: 1 : * : 0 0.5\nT: 1 : * : * 0\nT: 1 identity\n"
            "T: 1 : 3 : * 0\nT: 1 : 3 : 4 1\nT: 1 : 1 : 1 0.75\nT: 1 : 1 : 0 0.25\nO: * uniform\n")
    t0 = time.perf_counter()
    with pytest.raises(ParseError, match=r"line 9: T: 1 : 0 sums to 0"):  # T: 1 : * : * 0 cleared action 1
        parse_pomdp(text.replace("T: 1 identity\n", ""))
    m = parse_pomdp(text)
    assert time.perf_counter() - t0 < 10.0  # minutes before
    assert m.T.nnz == 200000 * 2 + 1 and m.T[3 * 2 + 1, 4] == 1.0 and m.T[3 * 2 + 1, 3] == 0.0
    assert m.T[1 * 2 + 1, 0] == 0.25 and m.T[1 * 2 + 1, 1] == 0.75 and m.T[0 * 2 + 1, 0] == 1.0
    assert m.T[5 * 2 + 0, 5] == 1.0 and m.T[5 * 2 + 1, 5] == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("discount: 0.9\nstates: " + "1" * 5000 + "\n", r"line 2, column 9: .*integer of 5000 digits"),
        (HEADER + "T: a : " + "0" * 5000 + " : 0 1\n", r"line 6, column 8: .*integer of 5000 digits"),
        (HEADER + "T: a : 0 : 0 0." + "0" * 5000 + "\n", r"line 6, column 14: .*a number of 5002 characters"),
        ("discount: 0.9\nstates: \u0663\n", r"line 2, column 9: expected a state name"),  # Arabic-Indic 3
        (HEADER + "T: a : 0 : 0 \u0661\n", r"line 6, column 14: expected a transition probability \(a number\)"),
        ("discount: 0.\u0669\n", r"expected the discount \(a number\)"),
    ],
)
def test_over_long_and_non_ascii_numbers_are_parse_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_pomdp(text)


def test_many_named_states_are_looked_up_in_constant_time():
    S = 20_000  # quadratic name look-ups took minutes here
    names = " ".join(f"s{i}" for i in range(S))
    body = "".join(f"T: a : s{i} : s{(i + 1) % S} 1\n" for i in range(S))
    text = f"discount: 0.9\nstates: {names}\nactions: a\nobservations: 1\n{body}O: * uniform\n"
    t0 = time.perf_counter()
    m = parse_pomdp(text, sparse=True)
    assert time.perf_counter() - t0 < 20.0
    assert m.T.nnz == S and m.T[S - 1, 0] == 1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["*", "0", "1"]), st.sampled_from(["*", "0", "1", "2"]),
                          st.sampled_from(["*", "0", "1", "2", "row", "matrix", "identity", "uniform"]),
                          st.sampled_from(["0", "0.5", "1"])), min_size=1, max_size=8))
def test_sparse_rows_resolve_overrides_exactly_as_the_dense_table(statements):
    """Every T form and order of overrides: the sparse log equals the dense table, entry by entry."""
    from theory_rl.pomdp import _cassandra

    lines = []
    for a, s, s2, p in statements:
        if s2 in ("identity", "uniform"):
            lines.append(f"T: {a} {s2}")
        elif s2 == "matrix":
            lines.append(f"T: {a} " + " ".join(p if (i + j) % 2 else "0.25" for i in range(3) for j in range(3)))
        elif s2 == "row":
            lines.append(f"T: {a} : {s} {p} 0 0.125")
        else:
            lines.append(f"T: {a} : {s} : {s2} {p}")
    text = "discount: 0.9\nstates: 3\nactions: 2\nobservations: 1\n" + "\n".join(lines) + "\n"
    tables = []
    for sparse in (False, True):
        r = _cassandra._Reader(text, "x", 1e-5, sparse)
        starts = list(_cassandra._statement_starts(r.toks)) + [len(r.toks)]
        for i, j in zip(starts[:-1], starts[1:]):
            r.statement(r.toks[i:j], r.toks[j] if j < len(r.toks) else r.toks[-1])
        tables.append(r.T if not sparse else r.T.to_csr().toarray().reshape(3, 2, 3))
    np.testing.assert_array_equal(tables[1], tables[0])


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_file_is_read_only_up_to_the_limit(limit_64mib):
    with pytest.raises(ParseError, match=r"/dev/zero: the text of a file of more than \d+ bytes .*memory limit"):
        read_pomdp("/dev/zero")
