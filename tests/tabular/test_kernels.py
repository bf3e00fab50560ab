"""The compiled kernels agree with each other bit for bit, and with a plain numpy reference."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from theory_rl.checks import finite_mdps
from theory_rl.tabular import BellmanOperator

values = st.builds(lambda seed: np.random.default_rng(seed).normal(size=64) * 10, st.integers(0, 2**31))


@given(finite_mdps(masked=True), values)
def test_backup_span_policy_sweeps_and_q_are_consistent(mdp, v):
    v = np.ascontiguousarray(v[: mdp.n_states])
    op = BellmanOperator(mdp)
    tv, policy, lo, hi = op.backup_span(v)
    policy = policy.copy()
    q = BellmanOperator(mdp).q(v)  # a fresh operator: no cached product
    np.testing.assert_array_equal(tv, q.max(axis=1))
    np.testing.assert_array_equal(policy, q.argmax(axis=1))
    assert lo == (tv - v).min() and hi == (tv - v).max()
    # Plain numpy reference for q.
    reference = np.asarray(mdp.R) + mdp.gamma * np.einsum("sat,t->sa", mdp.to_dense().P, v)
    avail = np.ones_like(reference, bool) if mdp.action_mask is None else mdp.action_mask
    np.testing.assert_allclose(q[avail], reference[avail], rtol=1e-12, atol=1e-12 * (1 + np.abs(v).max()))
    assert np.all(q[~avail] == -np.inf)
    # Direct sweep, then the compact-chain sweep the second time the same policy comes: identical.
    first = op.policy_sweep(v, policy)
    second = op.policy_sweep(v, policy)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, q[np.arange(mdp.n_states), policy], rtol=1e-12, atol=1e-12 * (1 + np.abs(v).max()))
