# ruff: noqa: E741  (O is the observation kernel, named as in every POMDP paper)
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given

from theory_rl.checks import pomdps
from theory_rl.errors import InvalidModelError
from theory_rl.models import POMDP


def test_fields_shapes_and_read_only(tiger_arrays):
    T, O, R = tiger_arrays
    m = POMDP(T, O, R, 0.95, observation_names=["left", "right"])
    assert (m.n_states, m.n_actions, m.n_observations) == (2, 3, 2)
    np.testing.assert_allclose(m.b0, [0.5, 0.5])
    assert m.observation_names == ("left", "right")
    for arr in (m.T, m.O, m.R, m.b0):
        with pytest.raises(ValueError):
            arr[0] = 1.0  # read-only
    assert m.mdp.gamma == 0.95 and m.mdp.P is m.T
    assert "POMDP(S=2, A=3, O=2" in repr(m)


def test_sparse_and_dense_layouts_agree(tiger_arrays):
    T, O, R = tiger_arrays
    dense = POMDP(T, O, R, 0.95)
    sparse = POMDP(sp.csr_matrix(T.reshape(6, 2)), O, R, 0.95)
    assert sparse.is_sparse and not dense.is_sparse
    np.testing.assert_array_equal(sparse.transition_dense(), dense.T)
    np.testing.assert_array_equal(dense.to_sparse().T.toarray(), sparse.T.toarray())
    for a in range(3):
        np.testing.assert_array_equal(sparse.transitions_by_action[a].toarray(), dense.transitions_by_action[a])
        np.testing.assert_array_equal(dense.transitions_by_action[a], T[:, a, :])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda T, O, R: (T * 1.1, O, R), r"T\[0, 0, :\] sums to 1.1"),
        (lambda T, O, R: (T, O * 0.9, R), r"O\[0, 0, :\] sums to 0.9"),
        (lambda T, O, R: (T, O[:, :, :1], R), r"O\[0, 0, :\] sums to 0.85"),
        (lambda T, O, R: (T, O[:2], R), r"O has shape \(2, 2, 2\), expected \(A, S"),
        (lambda T, O, R: (T[:, :2], O, R), r"T has shape"),
        (lambda T, O, R: (T, O, R.astype(object)), r"R must hold real numbers"),
        (lambda T, O, R: (T, O, np.where(R > 0, np.nan, R)), r"R\[0, 2\] is nan"),
    ],
)
def test_bad_input_names_the_entry(change, message, tiger_arrays):
    with pytest.raises(InvalidModelError, match=message):
        POMDP(*change(*tiger_arrays), 0.95)


def test_bad_gamma_b0_and_names(tiger_arrays):
    T, O, R = tiger_arrays
    with pytest.raises(InvalidModelError, match="gamma"):
        POMDP(T, O, R, 1.5)
    with pytest.raises(InvalidModelError, match="b0 sums to 2"):
        POMDP(T, O, R, 0.9, b0=[1.0, 1.0])
    with pytest.raises(InvalidModelError, match="observation_names has 1 entries"):
        POMDP(T, O, R, 0.9, observation_names=["x"])
    O2 = O.copy()
    O2[1, 1, 0] = -0.5
    O2[1, 1, 1] = 1.5
    with pytest.raises(InvalidModelError, match=r"O\[1, 1, 0\] = -0.5 is negative"):
        POMDP(T, O2, R, 0.9)


def test_gamma_one_is_allowed_with_a_horizon_on_the_mdp(tiger_arrays):
    m = POMDP(*tiger_arrays, 1.0)
    assert m.gamma == 1.0 and m.mdp.horizon == 1


@given(pomdps())
def test_generated_models_are_valid_and_round_trip_layouts(m):
    again = m.to_sparse().to_dense()
    np.testing.assert_allclose(again.T, m.transition_dense())
    np.testing.assert_allclose(m.O.sum(axis=2), 1.0, atol=1e-12)
    assert m.n_states * m.n_actions * m.n_observations <= 100
