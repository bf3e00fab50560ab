"""Constrained MDPs (spec section 6.3, all seven properties) and TSCAC (section 6.2).

(a) equivalence: LP* = Lagrangian dual value (max over policies by a separate LP at lambda*);
the primal-dual method converges to the LP answer; the TSCAC closed form equals the numerical
argmax; (b) properties 1-7 of section 6.3 and the certified primal-dual bounds; TSCAC's limits;
(c) reference: a one-state CMDP whose optimum must randomise (deterministic policies lose).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from theory_rl import dual, envs
from theory_rl.checks import finite_mdps
from theory_rl.errors import InvalidArgumentError, InvalidModelError, SolverError
from theory_rl.models import FiniteMDP


def random_cmdp(mdp, m, seed):
    """Constraint rewards in [0, 1]; thresholds = returns of a random stochastic policy, so the
    CMDP is feasible and the constraints tend to bind."""
    rng = np.random.default_rng(seed)
    Rc = rng.uniform(0, 1, size=(m, mdp.n_states, mdp.n_actions))
    pi = rng.dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
    c = dual.CMDP(mdp, Rc, np.zeros(m)).returns(pi)[1]
    return dual.CMDP(mdp, Rc, c)


cmdps = st.tuples(finite_mdps(min_states=2, max_states=5, min_actions=2, max_actions=3), st.integers(1, 2),
                  st.integers(0, 10_000)).map(lambda t: random_cmdp(*t))


@settings(max_examples=20)
@given(cmdps)
def test_properties_1_to_3_optimality_feasibility_duality(cmdp):
    mdp = cmdp.mdp
    scale = 1.0 / (1.0 - mdp.gamma)
    sol = dual.solve_cmdp_lp(cmdp)
    # 2. the recovered policy attains LP* and meets every constraint (exact evaluation)
    J0, J = cmdp.returns(sol.policy)
    assert J0 == pytest.approx(sol.objective, abs=1e-7 * scale)
    assert np.all(J >= cmdp.thresholds - 1e-7 * scale)
    assert sol.occupancy.sum() == pytest.approx(scale, rel=1e-8)  # HiGHS row feasibility 1e-10
    # 1. no feasible stationary policy found by random search beats it
    rng = np.random.default_rng(0)
    for _ in range(30):
        pi = rng.dirichlet(np.full(mdp.n_actions, 0.3), size=mdp.n_states)
        j0, j = cmdp.returns(pi)
        if np.all(j >= cmdp.thresholds):
            assert j0 <= sol.objective + 1e-9 * scale
    # 3. zero duality gap: max_pi J0 + lambda* . (J - c) (an independent LP) equals LP*
    lam = sol.multipliers
    lagr = mdp.replace(R=np.asarray(mdp.R) + np.einsum("i,isa->sa", lam, cmdp.constraint_rewards))
    g = dual.primal_lp(lagr, normalized=False).objective - lam @ cmdp.thresholds
    assert g == pytest.approx(sol.objective, abs=1e-7 * scale)
    # complementary slackness: lambda_i > 0 only for active constraints
    assert np.all(~(lam > 1e-7) | sol.active)


@settings(max_examples=20)
@given(cmdps, st.integers(0, 1000))
def test_property_4_sensitivity_and_concavity(cmdp, seed):
    scale = 1.0 / (1.0 - cmdp.mdp.gamma)
    sol = dual.solve_cmdp_lp(cmdp)
    rng = np.random.default_rng(seed)
    lp = lambda c: dual.solve_cmdp_lp(cmdp.replace(thresholds=c)).objective  # noqa: E731
    # -lambda* is a supergradient of the concave LP*(c): LP*(c + delta) <= LP*(c) - lambda* . delta
    for _ in range(3):
        delta = rng.normal(0, 0.05, size=cmdp.n_constraints) * scale
        try:
            value = lp(cmdp.thresholds + delta)
        except SolverError:
            continue
        assert value <= sol.objective - sol.multipliers @ delta + 1e-7 * scale
    # non-increasing in each c_i (loosening never hurts)
    assert lp(cmdp.thresholds - 0.01 * scale) >= sol.objective - 1e-9 * scale
    # finite differences equal -lambda_i where the LP is non-degenerate (same multipliers on both sides)
    h = 1e-4 * scale
    for i in range(cmdp.n_constraints):
        e = np.zeros(cmdp.n_constraints)
        e[i] = h
        try:
            up, down = (dual.solve_cmdp_lp(cmdp.replace(thresholds=cmdp.thresholds + s * e)) for s in (1, -1))
        except SolverError:
            continue
        if np.allclose(up.multipliers, down.multipliers, atol=1e-9) and np.allclose(up.multipliers, sol.multipliers,
                                                                                   atol=1e-9):
            assert (up.objective - down.objective) / (2 * h) == pytest.approx(-sol.multipliers[i], abs=1e-6)


@settings(max_examples=20)
@given(cmdps)
def test_property_5_randomises_in_at_most_m_states(cmdp):
    sol = dual.solve_cmdp_lp(cmdp, highs_method="highs-ds")
    assert sol.randomized_states.size <= cmdp.n_constraints


def test_property_5_deterministic_policies_can_be_strictly_suboptimal():
    # two states, both self-looping under each action; r0 = [1, 0], r1 = [0, 1]; J1 >= 0.5/(1-gamma)
    P = np.zeros((2, 2, 2))
    P[0, :, 0] = P[1, :, 1] = 1.0
    mdp = FiniteMDP(P, [[1.0, 0.0], [1.0, 0.0]], 0.9, d0=[0.5, 0.5])
    cmdp = dual.CMDP(mdp, [[[0.0, 1.0], [0.0, 1.0]]], [5.0], constraint_names=["clicks"])
    sol = dual.solve_cmdp_lp(cmdp)
    assert sol.objective == pytest.approx(5.0, abs=1e-9)
    assert sol.multipliers[0] == pytest.approx(1.0, abs=1e-9)
    best_deterministic = max(cmdp.returns(np.array(p))[0] for p in [(0, 0), (0, 1), (1, 0), (1, 1)]
                             if cmdp.returns(np.array(p))[1][0] >= 5.0 - 1e-12)
    assert best_deterministic == pytest.approx(5.0)  # (0,1) or (1,0): one state each
    # with one state only, every deterministic policy is infeasible or worthless
    one = dual.CMDP(FiniteMDP(np.ones((1, 2, 1)), [[1.0, 0.0]], 0.9), [[[0.0, 1.0]]], [5.0])
    lp = dual.solve_cmdp_lp(one)
    assert lp.objective == pytest.approx(5.0, abs=1e-9) and lp.randomized_states.tolist() == [0]
    feasible = [one.returns(np.array([a]))[0] for a in (0, 1) if one.returns(np.array([a]))[1][0] >= 5.0]
    assert max(feasible) == 0.0 < lp.objective


@settings(max_examples=20)
@given(cmdps)
def test_property_6_unconstrained_optimum_feasible(cmdp):
    mdp = cmdp.mdp
    opt = dual.primal_lp(mdp, normalized=False)
    slack = cmdp.replace(thresholds=cmdp.returns(opt.policy)[1] - 1.0)
    sol = dual.solve_cmdp_lp(slack)
    assert sol.objective == pytest.approx(opt.objective, abs=1e-7 / (1 - mdp.gamma))
    np.testing.assert_allclose(sol.multipliers, 0.0, atol=1e-9)


@settings(max_examples=20)
@given(finite_mdps(min_states=2, max_states=5, min_actions=2, max_actions=3), st.integers(0, 1000))
def test_property_7_infeasible_exactly_above_the_max(mdp, seed):
    cmdp = random_cmdp(mdp, 1, seed)
    best = dual.primal_lp(mdp.replace(R=cmdp.constraint_rewards[0]), normalized=False).objective
    dual.solve_cmdp_lp(cmdp.replace(thresholds=[best - 1e-6]))
    with pytest.raises(SolverError, match=r"constraint 0: threshold c = .* exceeds max_pi J"):
        dual.solve_cmdp_lp(cmdp.replace(thresholds=[best + 1e-3]))


def test_jointly_infeasible_constraints_are_named():
    # one state, r1 = [1, 0], r2 = [0, 1]: each J_i <= 10 alone, but J1 + J2 = 10 always
    mdp = FiniteMDP(np.ones((1, 2, 1)), [[0.0, 0.0]], 0.9)
    cmdp = dual.CMDP(mdp, [[[1.0, 0.0]], [[0.0, 1.0]]], [6.0, 6.0], constraint_names=["click", "like"])
    with pytest.raises(SolverError, match="not jointly.*(click|like)"):
        dual.solve_cmdp_lp(cmdp)


@pytest.mark.parametrize("seed", [0, 1])
def test_primal_dual_converges_to_the_lp_answer_within_its_certificates(seed):
    mdp = envs.random_mdp(5, 3, seed=seed, gamma=0.8)
    cmdp = random_cmdp(mdp, 2, seed)
    lp = dual.solve_cmdp_lp(cmdp)
    gaps = []
    for K in (60, 400):
        pd = dual.lagrangian_primal_dual(cmdp, max_iter=K)
        info = pd.info
        assert np.all(cmdp.thresholds - pd.constraint_values <= info["violation_bound"] + 1e-9)
        assert pd.objective >= lp.objective - info["suboptimality_bound"] - 1e-9
        assert info["dual_upper_bound"] >= lp.objective - 1e-9
        assert dual.flow_residual(mdp, pd.occupancy, normalized=False) == pytest.approx(np.zeros(5), abs=1e-9)
        gaps.append(abs(pd.objective - lp.objective) + np.abs(pd.constraint_values - lp.constraint_values).max())
    assert gaps[1] < gaps[0]
    assert gaps[1] < 0.05 / (1 - mdp.gamma)


def test_cmdp_bad_input():
    mdp = envs.random_mdp(3, 2, seed=0)
    with pytest.raises(InvalidModelError, match="constraint_rewards has shape"):
        dual.CMDP(mdp, np.zeros((1, 2, 2)), [0.0])
    with pytest.raises(InvalidModelError, match="thresholds has shape"):
        dual.CMDP(mdp, np.zeros((2, 3, 2)), [0.0])
    with pytest.raises(InvalidModelError, match=r"constraint_rewards\[0, 1, 1\] is nan"):
        dual.CMDP(mdp, np.array([[[0, 0], [0, np.nan], [0, 0]]]), [0.0])


# ------------------------------------------------------------------------------------------ TSCAC
@given(st.integers(2, 5), st.integers(1, 3), st.integers(0, 10_000))
def test_stage_two_closed_form_is_the_argmax(A, m, seed):
    rng = np.random.default_rng(seed)
    adv = rng.normal(size=(1, A))
    pis = rng.dirichlet(np.ones(A), size=(m, 1))
    lam = rng.uniform(0.1, 2.0, size=m)
    closed = dual.tscac_stage_two(adv, pis, lam)[0]

    def neg(z):
        p = np.exp(z - z.max())
        p /= p.sum()
        kl = [np.sum(p * (np.log(p) - np.log(q[0]))) for q in pis]
        return -(p @ adv[0] - lam @ kl)

    res = min((minimize(neg, rng.normal(size=A), method="BFGS", options={"gtol": 1e-10}) for _ in range(3)),
              key=lambda r: r.fun)
    assert -neg(np.log(closed)) >= -res.fun - 1e-9  # the closed form is at least as good as the numerical argmax
    p_num = np.exp(res.x - res.x.max())
    np.testing.assert_allclose(closed, p_num / p_num.sum(), atol=1e-4)


def test_stage_two_limits():
    rng = np.random.default_rng(0)
    adv = rng.normal(size=(4, 3))
    pis = rng.dirichlet(np.ones(3), size=(2, 4))
    # lambda_1 -> inf: pi* -> pi_1
    np.testing.assert_allclose(dual.tscac_stage_two(adv, pis, [1e7, 1.0]), pis[0], atol=1e-5)
    # Lambda -> 0 with fixed proportions: pi* -> greedy on A_1
    greedy = np.eye(3)[adv.argmax(axis=1)]
    np.testing.assert_allclose(dual.tscac_stage_two(adv, pis, [1e-4, 1e-4]), greedy, atol=1e-6)
    np.testing.assert_allclose(dual.tscac_stage_two(adv, pis, [0.0, 0.0]), greedy)
    with pytest.raises(InvalidModelError, match="full-support"):
        dual.tscac_stage_two(adv, np.where(pis > 0.3, pis, 0.0), [1.0, 1.0])


def test_offline_projection_tends_to_the_target():
    cmdp = envs.recommendation_cmdp(seed=0)
    mdp = cmdp.mdp
    target = dual.tscac(cmdp, [0.1, 0.03]).policy
    behaviour = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    data = dual.collect_dataset(mdp, expert_policy=behaviour, n_episodes=400, episode_length=50,
                                expert_fraction=1.0, seed=1)
    proj = dual.tscac_project(data, target, behaviour)
    visited = data.counts().sum(axis=1) > 2000
    assert visited.sum() >= 3
    np.testing.assert_allclose(proj[visited], target[visited], atol=0.05)
    # exact on the expected counts: the closed form is the maximiser of sum_D (pi*/pi_b) log pi_theta
    small = data.subset(np.arange(len(data)) < 300)
    proj = dual.tscac_project(small, target, behaviour)
    s = int(np.bincount(small.states).argmax())
    w = np.bincount(small.actions[small.states == s], minlength=mdp.n_actions) * target[s] / behaviour[s]
    np.testing.assert_allclose(proj[s], w / w.sum())


def test_tscac_on_the_recommendation_cmdp_is_feasible_and_below_the_lp():
    cmdp = envs.recommendation_cmdp(seed=0, n_responses=2)
    lp = dual.solve_cmdp_lp(cmdp)
    assert lp.active.any()  # the generator makes the constraints bind
    res = dual.tscac(cmdp, [0.1, 0.03])
    J0, J = cmdp.returns(res.policy)
    assert res.feasible and np.all(J >= cmdp.thresholds)
    assert J0 <= lp.objective + 1e-9
    assert J0 >= 0.7 * lp.objective  # measured: 0.81 of the LP optimum at these multipliers


def test_options_and_shapes_are_validated():
    # each of these gave a bare ValueError (numpy/linprog/float()) or, for a fractional
    # n_states, a silently truncated dataset
    from theory_rl import envs

    mdp = envs.random_mdp(3, 2, seed=0, gamma=0.9)
    cmdp = dual.CMDP(mdp, np.ones((1, 3, 2)), [1.0])
    with pytest.raises(InvalidModelError, match="multipliers0"):
        dual.lagrangian_primal_dual(cmdp, max_iter=2, multipliers0=[np.nan])
    with pytest.raises(InvalidArgumentError, match="step"):
        dual.lagrangian_primal_dual(cmdp, max_iter=2, step="a")
    with pytest.raises(InvalidModelError, match="occupancy has shape"):
        dual.policy_from_occupancy(mdp, np.ones((2, 2)))
    expert = np.zeros(3, int)
    with pytest.raises((InvalidArgumentError, InvalidModelError), match="n_episodes"):
        dual.collect_dataset(mdp, expert_policy=expert, n_episodes=float("nan"), episode_length=3, expert_fraction=0.5)
    with pytest.raises(InvalidArgumentError, match="expert_fraction"):
        dual.collect_dataset(mdp, expert_policy=expert, n_episodes=2, episode_length=3, expert_fraction="a")
    with pytest.raises(InvalidArgumentError, match="n_states"):
        dual.TransitionDataset([0], [0], [0.0], [0], [False], 2.7, 1)
