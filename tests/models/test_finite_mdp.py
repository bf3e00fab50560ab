"""FiniteMDP: validation names the first bad entry, files round-trip, nothing is pickled."""

import json
import re
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

from theory_rl.errors import InvalidModelError, ParseError
from theory_rl.models import FiniteMDP, load, normalize


def small(S=3, A=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(S), size=(S, A)), rng.random((S, A))


def test_valid_model_properties_and_repr():
    P, R = small()
    m = FiniteMDP(P, R, 0.9)
    assert (m.n_states, m.n_actions, m.is_sparse, m.nnz) == (3, 2, False, 18)
    assert np.allclose(m.d0, 1 / 3)
    assert re.fullmatch(r"FiniteMDP\(S=3, A=2, gamma=0\.9, dense, R in \[.*\]\)", repr(m))
    assert m.transition_matrix.shape == (6, 3)
    with pytest.raises(ValueError):
        m.P[0, 0, 0] = 1.0  # stored read-only
    with pytest.raises(AttributeError):
        m.gamma = 0.5  # frozen


def test_sparse_layout_matches_dense():
    P, R = small(4, 3)
    dense = FiniteMDP(P, R, 0.9)
    sparse = FiniteMDP(sp.csr_matrix(P.reshape(12, 4)), R, 0.9)
    assert sparse.is_sparse and "sparse, nnz=48" in repr(sparse)
    np.testing.assert_array_equal(sparse.to_dense().P, dense.P)
    np.testing.assert_array_equal(dense.to_sparse().P.toarray(), P.reshape(12, 4))


def test_reward_per_transition_is_reduced_to_expectation():
    P, _ = small()
    R3 = np.arange(18, dtype=float).reshape(3, 2, 3)
    m = FiniteMDP(P, R3, 0.9)
    np.testing.assert_allclose(m.R, (P * R3).sum(axis=2))
    ms = FiniteMDP(sp.csr_matrix(P.reshape(6, 3)), R3, 0.9)
    np.testing.assert_allclose(ms.R, m.R)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda P, R: P.__setitem__((1, 0, 2), np.nan), r"P\[1, 0, 2\] is nan"),
        (lambda P, R: P.__setitem__((2, 1, 0), np.inf), r"P\[2, 1, 0\] is inf"),
        (lambda P, R: P.__setitem__((1, 1, 0), -0.1), r"P\[1, 1, 0\] = -0.1 is negative"),
        (lambda P, R: P.__setitem__((2, 0), P[2, 0] * 0.97), r"P\[2, 0, :\] sums to 0.97 \(expected 1 within 1e-08\)"),
        (lambda P, R: R.__setitem__((0, 1), np.nan), r"R\[0, 1\] is nan"),
    ],
)
def test_bad_entries_are_named(mutate, message):
    P, R = small()
    mutate(P, R)
    with pytest.raises(InvalidModelError, match=message):
        FiniteMDP(P, R, 0.9)


def test_sparse_bad_entries_are_named():
    P, R = small()
    P2 = P.reshape(6, 3).copy()
    P2[3, 2] = -P2[3, 2]
    with pytest.raises(InvalidModelError, match=r"P\[1, 1, 2\] = .* is negative"):
        FiniteMDP(sp.csr_matrix(P2), R, 0.9)
    P2 = P.reshape(6, 3).copy()
    P2[5] *= 1.5
    with pytest.raises(InvalidModelError, match=r"P\[2, 1, :\] sums to 1.5"):
        FiniteMDP(sp.csr_matrix(P2), R, 0.9)
    P2 = P.reshape(6, 3).copy()
    P2[0, 0] = np.nan
    with pytest.raises(InvalidModelError, match=r"P.data\[0\] is nan"):
        FiniteMDP(sp.csr_matrix(P2), R, 0.9)


def test_row_sum_tolerance_is_1e8_not_machine_epsilon():
    P, R = small()
    P[0, 0] *= 1 + 5e-9  # six/eight-digit data must load
    FiniteMDP(P, R, 0.9)
    P[0, 0] *= 1 + 5e-8
    with pytest.raises(InvalidModelError, match="sums to"):
        FiniteMDP(P, R, 0.9)


@pytest.mark.parametrize(
    "P_shape, R_shape, message",
    [
        ((3, 2, 4), (3, 2), r"P has shape \(3, 2, 4\), expected \(S, A, S\) = \(3, 2, 3\)"),
        ((3, 3, 3), (3, 2), r"expected \(S, A, S\) = \(3, 2, 3\)"),
        ((3, 2, 3), (3,), r"R must have 2 or 3 dimensions"),
        ((6, 3), (3, 2), r"P must have 3 dimensions"),
    ],
)
def test_shape_mismatch(P_shape, R_shape, message):
    P = np.full(P_shape, 1.0 / P_shape[-1])
    with pytest.raises(InvalidModelError, match=message):
        FiniteMDP(P, np.zeros(R_shape), 0.9)


def test_sparse_shape_mismatch():
    P, R = small()
    with pytest.raises(InvalidModelError, match=r"sparse P has shape \(6, 3\), expected \(S\*A, S\) = \(9, 3\)"):
        FiniteMDP(sp.csr_matrix(P.reshape(6, 3)), np.zeros((3, 3)), 0.9)


@pytest.mark.parametrize("gamma", [-0.1, 1.0, 1.5, np.nan, np.inf, "0.9", None, True])
def test_gamma_out_of_range(gamma):
    P, R = small()
    with pytest.raises(InvalidModelError, match="gamma"):
        FiniteMDP(P, R, gamma)


def test_gamma_one_needs_horizon():
    P, R = small()
    assert FiniteMDP(P, R, 1.0, horizon=5).horizon == 5
    with pytest.raises(InvalidModelError, match="horizon"):
        FiniteMDP(P, R, 0.9, horizon=0)


def test_empty_action_set():
    with pytest.raises(InvalidModelError, match="empty action set"):
        FiniteMDP(np.zeros((3, 0, 3)), np.zeros((3, 0)), 0.9)
    P, R = small()
    mask = np.ones((3, 2), bool)
    mask[1] = False
    with pytest.raises(InvalidModelError, match=r"empty action set: action_mask\[1, :\]"):
        FiniteMDP(P, R, 0.9, action_mask=mask)


def test_masked_actions_may_have_zero_rows():
    P, R = small()
    P[2, 1] = 0.0
    with pytest.raises(InvalidModelError, match=r"P\[2, 1, :\] sums to 0"):
        FiniteMDP(P, R, 0.9)
    mask = np.ones((3, 2), bool)
    mask[2, 1] = False
    m = FiniteMDP(P, R, 0.9, action_mask=mask)
    assert "1 masked actions" in repr(m)


def test_d0_and_names_validated():
    P, R = small()
    with pytest.raises(InvalidModelError, match=r"d0\[0, :\] sums to 0.9"):
        FiniteMDP(P, R, 0.9, d0=[0.3, 0.3, 0.3])
    with pytest.raises(InvalidModelError, match=r"d0 has shape \(2,\)"):
        FiniteMDP(P, R, 0.9, d0=[0.5, 0.5])
    with pytest.raises(InvalidModelError, match="state_names has 2 entries, expected 3"):
        FiniteMDP(P, R, 0.9, state_names=["a", "b"])


def test_non_numeric_input():
    P, R = small()
    with pytest.raises(InvalidModelError, match="must hold real numbers"):
        FiniteMDP(P.astype(complex), R, 0.9)
    with pytest.raises(InvalidModelError, match="must hold real numbers"):
        FiniteMDP(P, np.full((3, 2), "x"), 0.9)


def test_normalize_dense_and_sparse():
    W = np.array([[[1.0, 3.0], [2.0, 2.0]], [[0.0, 5.0], [1.0, 0.0]]])
    np.testing.assert_allclose(normalize(W)[0, 0], [0.25, 0.75])
    assert normalize(sp.csr_matrix(W.reshape(4, 2))).toarray()[2, 1] == 1.0
    W[1, 1] = 0.0
    with pytest.raises(InvalidModelError, match=r"P\[1, 1, :\] sums to 0"):
        normalize(W)
    with pytest.raises(InvalidModelError, match=r"P\[1, 1, :\] sums to 0"):
        normalize(sp.csr_matrix(W.reshape(4, 2)), n_actions=2)


@pytest.mark.parametrize("suffix", [".npz", ".json"])
@pytest.mark.parametrize("sparse", [False, True])
def test_save_load_round_trip(tmp_path, suffix, sparse):
    P, R = small(4, 2)
    mask = np.ones((4, 2), bool)
    mask[3, 0] = False
    m = FiniteMDP(
        sp.csr_matrix(P.reshape(8, 4)) if sparse else P, R, 0.95, d0=[0.1, 0.2, 0.3, 0.4],
        action_mask=mask, state_names=list("abcd"), action_names=["l", "r"],
    )
    path = tmp_path / f"model{suffix}"
    m.save(path)
    back = load(path)
    assert back.is_sparse == sparse and back.gamma == 0.95
    np.testing.assert_array_equal(back.to_dense().P, m.to_dense().P)
    np.testing.assert_array_equal(back.R, m.R)
    np.testing.assert_array_equal(back.d0, m.d0)
    np.testing.assert_array_equal(back.action_mask, mask)
    assert back.state_names == tuple("abcd") and back.action_names == ("l", "r")
    assert FiniteMDP.load(path).n_states == 4


def test_round_trip_without_optional_fields(tmp_path):
    P, R = small()
    for suffix in (".npz", ".json"):
        FiniteMDP(P, R, 0.5, horizon=3).save(tmp_path / f"m{suffix}")
        back = load(tmp_path / f"m{suffix}")
        assert back.horizon == 3 and back.action_mask is None and back.state_names is None


def test_malformed_npz(tmp_path):
    bad = tmp_path / "garbage.npz"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(ParseError, match="garbage.npz: not a readable .npz archive"):
        load(bad)
    P, R = small()
    np.savez(tmp_path / "nofmt.npz", P=P, R=R, gamma=0.9)
    with pytest.raises(ParseError, match="field 'format'"):
        load(tmp_path / "nofmt.npz")
    np.savez(tmp_path / "nor.npz", format="theory_rl.FiniteMDP", P=P, gamma=0.9)
    with pytest.raises(ParseError, match="field 'R'"):
        load(tmp_path / "nor.npz")
    np.savez(tmp_path / "nop.npz", format="theory_rl.FiniteMDP", R=R, gamma=0.9)
    with pytest.raises(ParseError, match="no transition kernel"):
        load(tmp_path / "nop.npz")
    P[0, 0] = -1
    np.savez(tmp_path / "neg.npz", format="theory_rl.FiniteMDP", P=P, R=R, gamma=0.9)
    with pytest.raises(InvalidModelError, match=r"neg.npz: P\[0, 0, 0\]"):
        load(tmp_path / "neg.npz")


def test_npz_with_object_array_is_refused_not_unpickled(tmp_path):
    P, R = small()
    np.savez(tmp_path / "obj.npz", format="theory_rl.FiniteMDP", P=P, R=R, gamma=0.9,
             state_names=np.array([object(), 1, "x"], dtype=object))
    with pytest.raises(ParseError, match="refused to load"):
        load(tmp_path / "obj.npz")


def test_npz_truncated(tmp_path):
    P, R = small()
    FiniteMDP(P, R, 0.9).save(tmp_path / "m.npz")
    data = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError):
        load(tmp_path / "cut.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        assert "R.npy" in zf.namelist()


def test_malformed_json(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('{"format": "theory_rl.FiniteMDP",\n "R": [1, 2,\n')
    with pytest.raises(ParseError, match=r"m.json, line 3, column 1"):
        load(path)
    path.write_text(json.dumps({"format": "theory_rl.FiniteMDP", "P": [[[1.0]]], "R": [[0.0]], "gamma": 2}))
    with pytest.raises(InvalidModelError, match="gamma = 2 is outside"):
        load(path)
    path.write_text("[1, 2]")
    with pytest.raises(ParseError, match="JSON object"):
        load(path)
    with pytest.raises(ParseError, match="unknown extension"):
        load(tmp_path / "m.txt")


def test_sparse_column_index_out_of_range():
    P, R = small()
    csr = sp.csr_matrix(P.reshape(6, 3))
    indices = csr.indices.copy()
    indices[7] = 3  # row 2 = P[1, 0, :]
    bad = sp.csr_matrix((csr.data, indices, csr.indptr), shape=(6, 3))
    with pytest.raises(InvalidModelError, match=r"row 2 \(P\[1, 0, :\]\) has column index 3 outside \[0, 3\)"):
        FiniteMDP(bad, R, 0.9)


def test_finite_mdp_and_pomdp_share_sizes_and_validated_replace():
    # one TabularModel base gives both models n_states, n_actions and replace (validated again)
    from theory_rl.models import POMDP
    from theory_rl.models._finite_mdp import TabularModel

    mdp = FiniteMDP(np.full((3, 2, 3), 1 / 3), np.zeros((3, 2)), 0.9)
    pomdp = POMDP(np.full((3, 2, 3), 1 / 3), np.full((2, 3, 4), 0.25), np.zeros((3, 2)), 0.9)
    for model in (mdp, pomdp):
        assert isinstance(model, TabularModel)
        assert (model.n_states, model.n_actions) == (3, 2)
        other = model.replace(gamma=0.5)
        assert type(other) is type(model) and other.gamma == 0.5 and model.gamma == 0.9
        with pytest.raises(InvalidModelError, match="gamma"):
            model.replace(gamma=1.5)
    assert pomdp.n_observations == 4
