"""Size guards, constructor option checks and hardened model files (issue 17, items 5, 7, 8).

Each test here reproduces a failure of the code before the guards (a raw MemoryError, a
RuntimeError from scipy's C++, a RecursionError, a silently truncated or cast value).
"""

import io
import json
import time
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

import theory_rl
from theory_rl.errors import InvalidArgumentError, InvalidModelError, ParseError, SizeLimitError
from theory_rl.models import MAX_ATOL, POMDP, FiniteMDP, load, normalize


def small(S=3, A=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(S), size=(S, A)), rng.random((S, A))


@pytest.fixture
def limit_1mib():
    previous = theory_rl.set_max_bytes(2**20)
    yield
    theory_rl.set_max_bytes(previous)


# ----------------------------------------------------------------------------- size guards
def test_huge_declared_sparse_shape_is_refused_before_allocating():
    # used to allocate the 74.5 GiB indptr of a (10**10, 3) CSR before comparing shapes
    start = time.perf_counter()
    with pytest.raises(InvalidModelError, match=r"sparse P has shape \(10000000000, 3\)"):
        FiniteMDP(sp.coo_matrix((10**10, 3)), np.zeros((3, 1)), 0.9)
    assert time.perf_counter() - start < 1.0


def test_huge_sparse_model_with_matching_shape_hits_the_limit(limit_1mib):
    S = 100_000  # indptr alone is 800 KB; CSR copy and row sums above 1 MiB
    with pytest.raises(SizeLimitError, match=r"sparse P of shape \(100000, 100000\)"):
        FiniteMDP(sp.coo_matrix((S, S)), np.zeros((S, 1)), 0.9)


def test_zero_stride_view_copy_is_guarded():
    # a 16 GB float64 copy of a broadcast view used to be attempted (raw MemoryError)
    P = np.broadcast_to(np.float32(1 / 2000), (2000, 500, 2000))
    with pytest.raises(SizeLimitError, match=r"float64 copy of P of shape \(2000, 500, 2000\)"):
        FiniteMDP(P, np.zeros((2000, 500)), 0.9)


def test_reward_reduction_and_observation_copy_are_guarded(limit_1mib):
    S = 200  # P is 320 KB (no copy); R[s, a, s'] broadcast, its copy is 320 KB, the reduction too
    P = np.full((S, 1, S), 1 / S)
    R3 = np.broadcast_to(0.0, (S, 1, S))
    FiniteMDP(P, R3, 0.9)  # 0.6 MiB in all: fine
    with pytest.raises(SizeLimitError, match="observation|O of shape"):
        POMDP(P, np.broadcast_to(1.0 / 2000, (1, S, 2000)), np.zeros((S, 1)), 0.9)


def test_limit_is_restored_and_default_models_build():
    P, R = small()
    assert FiniteMDP(P, R, 0.9).n_states == 3


# ----------------------------------------------------------------------------- sparse structure
def _csr(P):
    return sp.csr_matrix(P.reshape(-1, P.shape[2]))


def test_decreasing_indptr_through_the_constructor():
    # used to raise RuntimeError from scipy's C++ (or read out of bounds)
    P, R = small()
    csr = _csr(P)
    csr.indptr[2], csr.indptr[3] = csr.indptr[3], csr.indptr[2]
    with pytest.raises(InvalidModelError, match=r"P.indptr decreases at row 2"):
        FiniteMDP(csr, R, 0.9)


def test_indptr_that_does_not_start_at_zero_or_end_at_nnz():
    P, R = small()
    csr = _csr(P)
    csr.indptr[-1] -= 1
    with pytest.raises(InvalidModelError, match=r"P.indptr ends at 17, expected 18"):
        FiniteMDP(csr, R, 0.9)


def test_complex_bool_and_3d_sparse_kernels_are_refused():
    P, R = small()
    with pytest.raises(InvalidModelError, match="sparse P must hold real numbers, got dtype complex128"):
        FiniteMDP(_csr(P).astype(complex) + 1j * _csr(P), R, 0.9)  # imaginary part used to be dropped
    with pytest.raises(InvalidModelError, match="sparse P must hold real numbers, got dtype bool"):
        FiniteMDP(sp.csr_matrix(np.eye(3, dtype=bool)), np.zeros((3, 1)), 0.9)
    with pytest.raises(InvalidModelError, match=r"sparse P must be 2-D \(S\*A, S\), got 3-D"):
        FiniteMDP(sp.coo_array(np.ones((1, 1, 1))), np.zeros((1, 1)), 0.9)


def test_malformed_csc_kernel_names_columns():
    P, R = small()
    csc = sp.csc_matrix(P.reshape(6, 3))
    csc.indices[0] = 6
    with pytest.raises(InvalidModelError, match=r"column 0 has row index 6 outside \[0, 6\)"):
        FiniteMDP(csc, R, 0.9)


def test_csc_and_coo_kernels_still_work():
    P, R = small()
    dense = FiniteMDP(P, R, 0.9)
    for fmt in (sp.csc_matrix, sp.coo_matrix, sp.csr_array):
        m = FiniteMDP(fmt(P.reshape(6, 3)), R, 0.9)
        np.testing.assert_array_equal(m.to_dense().P, dense.P)


# ----------------------------------------------------------------------------- options
@pytest.mark.parametrize("names, message", [
    (5, "state_names must be a sequence of 3 strings, got 5"),
    ("abc", "state_names must be a sequence of 3 strings, got 'abc'"),  # used to be split into characters
    ([1, 2, 3], r"state_names\[0\] = 1 is not a string"),
    (np.array([["a", "b", "c"]]), "state_names must be 1-D"),
])
def test_bad_state_names(names, message):
    P, R = small()
    with pytest.raises(InvalidArgumentError, match=message):
        FiniteMDP(P, R, 0.9, state_names=names)


def test_names_length_checked_without_reading_an_endless_iterator():
    import itertools

    P, R = small()
    with pytest.raises(InvalidModelError, match="state_names has more than 3 entries"):
        FiniteMDP(P, R, 0.9, state_names=(str(i) for i in itertools.count()))
    assert FiniteMDP(P, R, 0.9, state_names=iter("xyz")).state_names == ("x", "y", "z")


@pytest.mark.parametrize("atol", [None, "1e-8", -1e-9, float("nan"), 0.6, True])
def test_bad_atol(atol):
    P, R = small()
    with pytest.raises(InvalidArgumentError, match="atol"):
        FiniteMDP(P, R, 0.9, atol=atol)


def test_atol_cap_keeps_rows_summing_to_1_5_out():
    P = np.full((1, 1, 1), 1.5)
    with pytest.raises(InvalidArgumentError, match=r"atol = 0.6 must be a finite number in \[0, 0.001\]"):
        FiniteMDP(P, np.zeros((1, 1)), 0.9, atol=0.6)
    assert FiniteMDP(np.full((1, 1, 1), 1 + 1e-4), np.zeros((1, 1)), 0.9, atol=MAX_ATOL).atol == MAX_ATOL


def test_pomdp_with_a_wrong_reward_shape_blames_r():
    T = np.full((2, 1, 2), 0.5)
    O = np.ones((1, 2, 1))  # noqa: E741
    with pytest.raises(InvalidModelError, match=r"R has shape \(3, 1\), expected \(S, A\) = \(2, 1\)"):
        POMDP(T, O, np.zeros((3, 1)), 0.9)  # used to say "T has shape (2, 1, 2), expected ... (3, 1, 3)"
    with pytest.raises(InvalidModelError, match=r"R has shape \(2, 1, 3\)"):
        POMDP(sp.csr_matrix(T.reshape(2, 2)), O, np.zeros((2, 1, 3)), 0.9)
    with pytest.raises(InvalidModelError, match=r"T has shape \(2, 1, 3\)"):  # a malformed T is still T's fault
        POMDP(np.full((2, 1, 3), 1 / 3), O, np.zeros((2, 1)), 0.9)
    # T and R well-formed but disagreeing: O decides, or both are named
    with pytest.raises(InvalidModelError, match=r"T has shape \(2, 1, 2\), expected \(S, A, S\) = \(2, 2, 2\) from R and O"):
        POMDP(T, np.ones((2, 2, 1)), np.zeros((2, 2)), 0.9)
    with pytest.raises(InvalidModelError, match=r"T has shape \(2, 1, 2\) and R has shape \(2, 2\)"):
        POMDP(T, np.ones((3, 2, 1)), np.zeros((2, 2)), 0.9)


# ----------------------------------------------------------------------------- files
def _model(sparse=False, **kw):
    P, R = small(4, 2)
    return FiniteMDP(sp.csr_matrix(P.reshape(8, 4)) if sparse else P, R, 0.9, **kw)


def _rewrite_npz(path, **changes):
    """Rewrite an .npz written by save() with some members replaced (None drops one)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = np.asarray(v)
    np.savez(path, **arrays)


def _rewrite_json(path, **changes):
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def test_round_trip_keeps_atol(tmp_path):
    P, R = small()
    P = P * (1 + 1e-6)
    for suffix in (".npz", ".json"):
        FiniteMDP(P, R, 0.9, atol=1e-5).save(tmp_path / f"m{suffix}")
        assert load(tmp_path / f"m{suffix}").atol == 1e-5  # used to reload with 1e-8 and fail


def test_forged_npy_header_declaring_a_huge_shape(tmp_path):
    # used to raise MemoryError (numpy allocates the declared shape before reading)
    path = tmp_path / "forged.npz"
    _model().save(path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**6, 10**6)})
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["R.npy"] = header.getvalue() + b"\0" * 64
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    start = time.perf_counter()
    with pytest.raises(ParseError, match=r"field 'R'.*declares shape \(1000000, 1000000\)"):
        load(path)
    assert time.perf_counter() - start < 1.0


def test_npz_above_the_limit_is_refused_from_its_headers(tmp_path, limit_1mib):
    path = tmp_path / "big.npz"
    S = 200
    FiniteMDP(np.full((S, 2, S), 1 / S), np.zeros((S, 2)), 0.9).save(path)  # 640 KB of P, compresses well
    theory_rl.set_max_bytes(2**19)
    with pytest.raises(SizeLimitError, match="big.npz"):
        load(path)


def test_malformed_npy_headers(tmp_path):
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("format.npy", b"\x93NUMPY\x01\x00" + b"\xff\xff" + b"{" * 70000)
    with pytest.raises(ParseError, match="field 'format': malformed .npy header"):
        load(path)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("format.txt", b"hello")
    with pytest.raises(ParseError, match="not an .npy array"):
        load(path)


@pytest.mark.parametrize("sparse", [False, True])
def test_object_and_unknown_fields_are_refused(tmp_path, sparse):
    path = tmp_path / "m.npz"
    _model(sparse).save(path)
    _rewrite_npz(path, extra=np.zeros(2))
    with pytest.raises(ParseError, match="field 'extra': unknown field"):
        load(path)


@pytest.mark.parametrize("change, field, message", [
    ({"P_indptr": [0, 4, 3, 8, 12, 16, 20, 24, 32]}, "P_indptr", "decreases at row 1"),
    ({"P_indptr": [1, 4, 8, 12, 16, 20, 24, 28, 32]}, "P_indptr", "must start at 0"),
    ({"P_indptr": [0, 4, 8, 12, 16, 20, 24, 28, 31]}, "P_indptr", "ends at 31, expected 32"),
    ({"P_indptr": [0, 4, 8]}, "P_indptr", "has length 3, expected 9"),
    ({"P_indices": np.arange(32) % 4 + 0.5}, "P_indices", "must hold integers, got dtype float64"),
    ({"P_indices": np.arange(32) % 4 + 4}, "P_indices", "row 0 has column index 4 outside"),
    ({"P_shape": [8, 4, 1]}, "P_shape", "must be two sizes"),
    ({"P_data": np.ones((32, 1))}, "P_data", "must have 1 dimensions"),
    ({"P": np.ones((4, 2, 4)) / 4}, "P_data", "both a dense P and sparse"),
])
def test_sparse_fields_are_validated_npz(tmp_path, change, field, message):
    path = tmp_path / "m.npz"
    _model(sparse=True).save(path)
    _rewrite_npz(path, **change)
    with pytest.raises(ParseError, match=f"field '{field}': {message}"):
        load(path)


def test_sparse_fields_are_validated_json(tmp_path):
    path = tmp_path / "m.json"
    _model(sparse=True).save(path)
    doc = json.loads(path.read_text())
    indptr = doc["P_indptr"]
    _rewrite_json(path, P_indptr=[0, indptr[2], indptr[1]] + indptr[3:])
    with pytest.raises(ParseError, match="field 'P_indptr': decreases at row 1"):
        load(path)
    _rewrite_json(path, P_indptr=indptr, P_indices=[i + 0.5 for i in doc["P_indices"]])
    with pytest.raises(ParseError, match="field 'P_indices': must hold integers"):
        load(path)


@pytest.mark.parametrize("mask", [0.5, 2, 1])
@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_action_mask_must_be_boolean(tmp_path, suffix, mask):
    # 0.5 and 2 used to be cast to True
    path = tmp_path / f"m{suffix}"
    _model(action_mask=np.ones((4, 2), bool)).save(path)
    values = np.full((4, 2), mask)
    if suffix == ".npz":
        _rewrite_npz(path, action_mask=values)
    else:
        _rewrite_json(path, action_mask=values.tolist())
    with pytest.raises(ParseError, match="field 'action_mask': must hold booleans"):
        load(path)


@pytest.mark.parametrize("suffix", [".npz", ".json"])
@pytest.mark.parametrize("field, value, message", [
    ("version", 99, "unknown version 99"),  # used to be accepted
    ("version", "1", "must hold integers"),
    ("gamma", "0.9", "must hold real numbers"),
    ("gamma", [0.9], "must have 0 dimensions"),
    ("horizon", 2.5, "must hold integers"),
    ("state_names", [1, 2, 3, 4], "must hold strings"),
    ("atol", 0.5, "atol = 0.5 must be a finite number"),
    ("R", [[1.0, 2.0], [3.0]], "not a regular array|must have 2 or 3 dimensions|inhomogeneous"),
])
def test_scalar_and_name_fields_are_validated(tmp_path, suffix, field, value, message):
    if field == "R" and suffix == ".npz":
        pytest.skip("a ragged array cannot be written to .npz without pickling")
    path = tmp_path / f"m{suffix}"
    _model().save(path)
    if suffix == ".npz":
        _rewrite_npz(path, **{field: value})
    else:
        _rewrite_json(path, **{field: value})
    with pytest.raises(ParseError, match=message):
        load(path)


def test_json_bool_gamma_is_refused(tmp_path):
    path = tmp_path / "m.json"
    _model().save(path)
    _rewrite_json(path, gamma=True)
    with pytest.raises(ParseError, match="field 'gamma': expected a number, got True"):
        load(path)


def test_json_nested_100000_deep(tmp_path):
    # used to raise RecursionError
    path = tmp_path / "deep.json"
    path.write_text('{"format": "theory_rl.FiniteMDP", "R": ' + "[" * 100_000 + "]" * 100_000 + "}")
    start = time.perf_counter()
    with pytest.raises(ParseError, match=r"deep.json, line 1, column \d+: JSON nested 100001 deep"):
        load(path)
    assert time.perf_counter() - start < 1.0


def test_json_depth_ignores_brackets_in_strings(tmp_path):
    from theory_rl.models._files import json_depth

    assert json_depth(b'{"a": "[[[[[[\\"[[[", "b": [[1]]}') == 3
    path = tmp_path / "m.json"
    _model(state_names=["[" * 100, "{" * 100, "]]]", '"\\'], action_names=["l", "r"]).save(path)
    assert load(path).state_names[0] == "[" * 100


def test_json_integer_over_python_digit_limit(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('{"format": "theory_rl.FiniteMDP", "gamma": ' + "9" * 5000 + "}")
    with pytest.raises(ParseError, match="unreadable JSON value"):
        load(path)


def test_json_larger_than_the_limit(tmp_path, limit_1mib):
    path = tmp_path / "m.json"
    path.write_text('{"format": "theory_rl.FiniteMDP", "R": [' + "0.1, " * 40_000 + "0.1]}")
    with pytest.raises(SizeLimitError, match="JSON file"):
        load(path)


# ----------------------------------------------------------------------------- conversions and helpers
def test_normalize_checks_sparse_structure_and_sizes(limit_1mib):
    csr = sp.csr_matrix(np.full((4, 2), 2.0))
    csr.indptr[1], csr.indptr[2] = csr.indptr[2], csr.indptr[1]
    with pytest.raises(InvalidModelError, match="P.indptr decreases at row 1"):  # was RuntimeError
        normalize(csr, n_actions=2)
    with pytest.raises(InvalidArgumentError, match="n_actions"):
        normalize(np.ones((2, 2)), n_actions=1.5)
    with pytest.raises(SizeLimitError, match="copy of P of shape"):
        normalize(np.broadcast_to(1.0, (300, 2, 300)))


def test_to_dense_and_dense_transitions_are_guarded(limit_1mib):
    S = 400  # dense P would be 2.56 MB
    sparse = FiniteMDP(sp.identity(S, format="csr"), np.zeros((S, 1)), 0.9)
    with pytest.raises(SizeLimitError, match=r"to_dense: dense P of shape \(400, 1, 400\)"):
        sparse.to_dense()
    pomdp = POMDP(sp.identity(S, format="csr"), np.ones((1, S, 1)), np.zeros((S, 1)), 0.9)
    with pytest.raises(SizeLimitError, match=r"dense T of shape \(400, 1, 400\)"):
        pomdp.transition_dense()


def test_file_path_and_extension_errors(tmp_path):
    with pytest.raises(InvalidArgumentError, match="unknown extension"):
        _model().save(tmp_path / "m.txt")  # was a bare ValueError
    with pytest.raises(InvalidArgumentError, match="path must be a str"):
        load(5)


@pytest.mark.parametrize("suffix", [".npz", ".json"])
@pytest.mark.parametrize("field, value, message", [
    ("d0", [0.5, 0.5], r"has shape \(2,\), expected \(4,\)"),
    ("action_mask", [[True, True]], r"has shape \(1, 2\), expected \(4, 2\)"),
    ("state_names", ["a", "b"], r"has shape \(2,\), expected \(4,\)"),
    ("P", np.full((4, 3, 4), 0.25), r"has shape \(4, 3, 4\), expected \(4, 2, 4\)"),
    ("R", np.zeros((4, 2, 3)), r"has shape \(4, 2, 3\), expected \(S, A\) or \(S, A, S\)"),
])
def test_field_shapes_are_checked_against_r(tmp_path, suffix, field, value, message):
    path = tmp_path / f"m{suffix}"
    _model().save(path)
    if suffix == ".npz":
        _rewrite_npz(path, **{field: value})
    else:
        _rewrite_json(path, **{field: np.asarray(value).tolist()})
    with pytest.raises(ParseError, match=f"field '{field}': {message}"):
        load(path)


def test_sparse_shape_is_checked_against_r(tmp_path):
    path = tmp_path / "m.npz"
    _model(sparse=True).save(path)
    _rewrite_npz(path, P_shape=[8, 8])
    with pytest.raises(ParseError, match=r"field 'P_shape': declares \(8, 8\), expected \(8, 4\)"):
        load(path)
