"""Deep IWOCS: with an exact static learner and evaluator it is the tabular IWOCS of
theory_rl.robust (the oracle); with DQN it runs end to end on gymnasium."""

import warnings

import numpy as np
import pytest

from theory_rl import approx, envs, robust, tabular
from theory_rl.approx._iwocs import deep_iwocs, gym_parametric_set, min_over_critics, monte_carlo_return
from theory_rl.errors import InvalidArgumentError

pytest.importorskip("torch")
pytest.importorskip("cma")


def _exact_pieces(rmdp):
    U = rmdp.uncertainty
    S = rmdp.n_states
    w = robust.score_weights(rmdp, score="s0")

    def learner(theta, seed):
        mdp = rmdp.with_kernel(U.build(theta))
        q = tabular.q_values(mdp, tabular.policy_iteration(mdp).v)
        return lambda obs: np.asarray(obs) @ q

    def evaluate(policy, theta):
        pi = np.array([policy(np.eye(S)[s]) for s in range(S)])
        return float(w @ tabular.policy_value(rmdp.with_kernel(U.build(theta)), pi))

    return learner, evaluate


@pytest.mark.parametrize("shape", [(3, 4, 0.5), (2, 3, 0.4), (3, 3, 0.6)])
def test_exact_learner_reproduces_tabular_iwocs_min_q(shape):
    rows, cols, wind = shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", robust.RectangularityWarning)
        rmdp = envs.windy_walk(n_rows=rows, n_cols=cols, rectangular=False, max_wind=wind, nominal_wind=0.0)
        ref = robust.iwocs(rmdp, inner="minQ", oracle="grid", n_grid=3, max_iter=10)
    learner, evaluate = _exact_pieces(rmdp)
    ours = deep_iwocs(rmdp.uncertainty, learner=learner, evaluate=evaluate, search="grid", n_grid_search=3,
                      max_iter=10, n_grid_eval=3, tol=1e-6)
    found = ours.thetas[1:]
    expected = np.empty((0, cols)) if ref.thetas is None else ref.thetas
    np.testing.assert_allclose(found, expected)
    np.testing.assert_allclose([t["lower"] for t in ours.trace], [t["lower"] for t in ref.trace], atol=1e-9)
    np.testing.assert_allclose([t["upper"] for t in ours.trace], [t["upper"] for t in ref.trace], atol=1e-9)
    # RRLS evaluation on the same grid: the final policy's worst case is the last lower bound
    assert ours.grid.worst == pytest.approx(ours.trace[-1]["lower"], abs=1e-9)
    assert ours.grid.worst >= ours.grid_nominal.worst - 1e-9 or len(ours.thetas) == 1


def test_cma_search_finds_attained_worst_cases_inside_the_box():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", robust.RectangularityWarning)
        rmdp = envs.windy_walk(n_rows=3, n_cols=3, rectangular=False, max_wind=0.6, nominal_wind=0.0)
    learner, evaluate = _exact_pieces(rmdp)
    U = rmdp.uncertainty
    res = deep_iwocs(U, learner=learner, evaluate=evaluate, search="cma", search_budget=30, max_iter=2,
                     n_grid_eval=3, seed=0)
    for i, step in enumerate(res.trace):
        theta = np.asarray(step["theta"])
        assert np.all(theta >= U.theta_box[:, 0] - 1e-12) and np.all(theta <= U.theta_box[:, 1] + 1e-12)
        assert step["lower"] <= step["upper"] + 1e-9 or i == 0
    # the CMA-ES minimum is a real value of the policy: re-evaluating at its theta gives it back
    policy = approx._iwocs._greedy_policy(res.critics[:1])
    assert evaluate(policy, np.asarray(res.trace[0]["theta"])) == pytest.approx(res.trace[0]["lower"], abs=1e-12)
    # the RRLS number is the final policy's own worst case over the evaluation grid
    pi = approx._iwocs._greedy_policy(res.critics)
    assert res.grid.worst == pytest.approx(min(evaluate(pi, t) for t in U.grid(3)), abs=1e-12)


def _off_grid_worst_case_rmdp():
    """Start state 0 with two actions into absorbing states 1 (reward 1 per step) and 2 (reward 0):
    "risky" (action 0) reaches state 1 with probability ``p(theta) = 0.2 + (|theta - (0.4, 0.7)|^2) / 2``,
    "safe" (action 1) with probability 0.205 whatever ``theta in [0, 1]^2``. Exact robust value over the
    box: ``max(min_theta p, 0.205) gamma / (1 - gamma) = 0.205 gamma / (1 - gamma)`` (safe); the box centre
    (``theta_0``) has ``p = 0.225``, so the nominal static optimum is risky, worth ``0.2 gamma/(1-gamma)``
    in its worst case, which lies off every uniform grid with fewer than 11 points per axis."""
    def build(theta):
        p = 0.2 + 0.5 * ((theta[0] - 0.4) ** 2 + (theta[1] - 0.7) ** 2)
        P = np.zeros((3, 2, 3))
        P[0, 0] = [0.0, p, 1.0 - p]
        P[0, 1] = [0.0, 0.205, 0.795]
        P[1, :, 1] = 1.0
        P[2, :, 2] = 1.0
        return P

    from theory_rl.models import FiniteMDP

    R = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    nominal = FiniteMDP(build([0.5, 0.5]), R, 0.9, d0=np.array([1.0, 0.0, 0.0]))
    return robust.RobustMDP(nominal, robust.ParametricSet([[0.0, 1.0], [0.0, 1.0]], build))


def test_cma_deep_iwocs_reaches_the_exact_robust_value_of_a_small_instance():
    rmdp = _off_grid_worst_case_rmdp()
    gamma = rmdp.gamma
    v_rob = 0.205 * gamma / (1 - gamma)  # analytic, over the whole box
    risky_worst = 0.2 * gamma / (1 - gamma)
    learner, evaluate = _exact_pieces(rmdp)
    res = deep_iwocs(rmdp.uncertainty, learner=learner, evaluate=evaluate, search="cma", search_budget=200,
                     max_iter=4, n_grid_eval=5, tol=1e-6, seed=0)
    first, last = res.trace[0], res.trace[-1]
    # the nominal (box-centre) policy is risky; CMA-ES finds its worst case between the grid points
    assert first["lower"] == pytest.approx(risky_worst, abs=1e-4)
    # the final policy is the robust one: safe at the start state, worth exactly V_rob in its worst case
    assert res.policy(np.eye(3)[0]) == 1
    worst_final = min(evaluate(res.policy, t) for t in rmdp.uncertainty.grid(41))
    assert worst_final == pytest.approx(v_rob, abs=1e-12)
    assert last["lower"] == pytest.approx(v_rob, abs=1e-12) and last["upper"] >= v_rob - 1e-12
    assert res.stop_reason == "gap"
    # the nominal policy's grid evaluation misses its true worst case (0.2): the 5-point grid is off (0.4, 0.7)
    assert res.grid_nominal.worst > risky_worst + 1e-3


def test_min_over_critics_and_mask():
    critics = [lambda o: np.tile([1.0, 5.0], (len(o), 1)), lambda o: np.tile([3.0, 2.0], (len(o), 1))]
    obs = np.zeros((2, 3))
    np.testing.assert_allclose(min_over_critics(critics, obs), [[1, 2], [1, 2]])
    mask = np.array([[True, False], [False, False]])  # row 1 trusts no critic: all are used
    np.testing.assert_allclose(min_over_critics(critics, obs, mask), [[1, 5], [1, 2]])


@pytest.mark.slow
def test_deep_iwocs_with_dqn_runs_on_cartpole():
    pset = gym_parametric_set("CartPole-v1")
    ev = monte_carlo_return(pset, n_episodes=1)
    res = deep_iwocs(pset, learner_kwargs={"total_steps": 300, "learning_starts": 100, "hidden": (16,)},
                     evaluate=ev, max_iter=1, search_budget=6,
                     n_grid_eval=2, seed=0)
    assert res.thetas.shape[1] == 2 and len(res.critics) == len(res.thetas)
    assert res.grid.thetas.shape == (4, 2)
    # the reported grid worst case is the final policy's own (re-evaluated with the same seeded episodes)
    assert res.grid.values.shape == (4,)
    assert res.grid.worst == pytest.approx(min(ev(res.policy, t) for t in res.grid.thetas))
    assert res.to_dict()["method"] == "deep_iwocs"
    with pytest.raises(InvalidArgumentError, match="search"):
        deep_iwocs(pset, search="random")
