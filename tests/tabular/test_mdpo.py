"""Exact tabular MDPO (Tomar et al. 2022, arXiv 2005.09814): closed form, monotone improvement,
Xiao's O(1/K) bound, and the limits (policy iteration, soft-optimal fixed point)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from theory_rl import tabular
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidModelError
from theory_rl.tabular import mirror_descent_step


@given(
    st.integers(0, 2**31), st.integers(2, 5),
    st.sampled_from([0.1, 1.0, 5.0]), st.sampled_from([0.0, 0.3]),
)
def test_closed_form_equals_numerical_argmax(seed, A, t, lam):
    rng = np.random.default_rng(seed)
    pi_k = rng.dirichlet(np.ones(A))
    q = rng.normal(size=A) * 3

    def negative_objective(p):
        p = np.clip(p, 1e-300, None)
        return -(q @ p - lam * p @ np.log(p) - (p @ (np.log(p) - np.log(pi_k))) / t)

    res = minimize(
        negative_objective, np.full(A, 1 / A), method="SLSQP", bounds=[(1e-12, 1)] * A,
        constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1}], options={"ftol": 1e-14, "maxiter": 500},
    )
    closed = np.exp(mirror_descent_step(np.log(pi_k)[None], q[None], step_size=t, entropy=lam))[0]
    assert -negative_objective(closed) >= -res.fun - 1e-9  # the closed form is at least as good
    np.testing.assert_allclose(closed, res.x, atol=2e-4)


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")  # fixed K on purpose
@given(finite_mdps(), st.sampled_from([0.1, 1.0, 10.0]))
@settings(max_examples=25)
def test_monotone_improvement(mdp, t):
    sol = tabular.mirror_descent_policy_optimization(mdp, step_size=t, max_iter=30, tol=1e-14)
    values = sol.info["values"]
    assert (np.diff(values, axis=0) >= -1e-10 / (1 - mdp.gamma)).all()
    # Every reported history entry certifies the iterate's sub-optimality.
    v_star = tabular.policy_iteration(mdp).v
    gaps = np.max(v_star[None] - values, axis=1)
    assert (gaps <= sol.history + 1e-9 / (1 - mdp.gamma)).all()


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")  # fixed K on purpose
@given(finite_mdps(min_actions=2), st.sampled_from([0.5, 2.0]), st.integers(1, 40))
@settings(max_examples=25)
def test_xiao_sublinear_bound(mdp, t, K):
    """Xiao 2022 (arXiv 2201.07443), constant step, uniform pi0, rewards in [0, 1]:
    V*(s) - V^{pi_K}(s) <= (log A / t + 1/(1-gamma)) / (K (1-gamma))."""
    sol = tabular.mirror_descent_policy_optimization(mdp, step_size=t, max_iter=K, tol=1e-14)
    v_star = tabular.policy_iteration(mdp).v
    K_done = sol.n_iter
    gap = np.max(v_star - sol.v)
    bound = (np.log(mdp.n_actions) / t + 1 / (1 - mdp.gamma)) / (K_done * (1 - mdp.gamma))
    assert gap <= bound + 1e-10


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")  # fixed K on purpose
@given(finite_mdps(min_actions=2))
@settings(max_examples=25)
def test_exploding_steps_are_policy_iteration(mdp):
    """A step with t -> inf from a full-support policy is a policy-improvement step. Iterates
    follow PI when each step dwarfs the sum of the earlier ones (t_k = 1e6^(k+1)): with a
    constant huge t they would follow argmax_a sum_j Q^{pi_j}(s, a) instead, which is not PI."""
    uniform = np.full((mdp.n_states, mdp.n_actions), 1 / mdp.n_actions)
    q0 = tabular.policy_evaluation(mdp, uniform).q
    pi_values = []
    tabular.policy_iteration(mdp, policy0=q0.argmax(axis=1), callback=lambda k, v, r: pi_values.append(v))
    md = tabular.mirror_descent_policy_optimization(
        mdp, step_size=lambda k: 1e6 ** (k + 1), max_iter=len(pi_values), tol=1e-14
    )
    n = min(len(pi_values), md.n_iter)
    for k in range(n):
        np.testing.assert_allclose(md.info["values"][k + 1], pi_values[k], atol=1e-6 / (1 - mdp.gamma))


@given(finite_mdps(), st.sampled_from([0.05, 0.5]))
@settings(max_examples=20)
def test_entropy_regularised_fixed_point_is_soft_optimal(mdp, lam):
    md = tabular.mirror_descent_policy_optimization(mdp, step_size=1.0, entropy=lam, max_iter=3000, tol=1e-9)
    assert md.converged
    soft = tabular.soft_value_iteration(mdp, temperature=lam, tol=1e-10)
    np.testing.assert_allclose(md.v, soft.v, atol=2e-9 / (1 - mdp.gamma) + 1e-8)
    # The regularised value is quadratic in the policy error near the optimum (strong concavity
    # of lambda*H), so a value gap of 1e-9 allows a policy error of order sqrt(1e-9 / lambda).
    np.testing.assert_allclose(md.policy, soft.policy, atol=np.sqrt(1e-8 / lam))


@pytest.mark.filterwarnings("ignore::theory_rl.errors.ConvergenceWarning")  # fixed K on purpose
def test_geometric_steps_converge_linearly():
    from theory_rl.envs import random_mdp

    mdp = random_mdp(8, 3, seed=4, gamma=0.9)
    sol = tabular.mirror_descent_policy_optimization(mdp, step_size=1.0, schedule="geometric", max_iter=60, tol=1e-12)
    v_star = tabular.policy_iteration(mdp).v
    gaps = np.max(v_star[None] - sol.info["values"], axis=1)
    assert sol.converged
    # Linear rate gamma (Xiao 2022, Thm 10): successive gaps shrink by at least gamma once t_k is large.
    big = gaps > 1e-10
    ratios = gaps[1:][big[1:]] / gaps[:-1][big[1:]]
    assert (ratios[5:] <= mdp.gamma + 1e-9).all()
    constant = tabular.mirror_descent_policy_optimization(mdp, step_size=1.0, max_iter=sol.n_iter, tol=1e-12)
    assert np.max(v_star - constant.v) > np.max(v_star - sol.v)


def test_bad_options():
    from theory_rl.envs import random_mdp

    mdp = random_mdp(4, 2, seed=0)
    with pytest.raises(InvalidModelError, match="step_size"):
        tabular.mirror_descent_policy_optimization(mdp, step_size=-1.0)
    with pytest.raises(InvalidModelError, match="needs entropy > 0"):
        tabular.mirror_descent_policy_optimization(mdp, schedule="entropy")
    with pytest.raises(InvalidModelError, match="full support"):
        tabular.mirror_descent_policy_optimization(mdp, policy0=np.array([[1.0, 0.0]] * 4))
