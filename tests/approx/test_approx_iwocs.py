"""Deep IWOCS: with an exact static learner and evaluator it is the tabular IWOCS of
theory_rl.robust (the oracle); with DQN it runs end to end on gymnasium."""

import warnings

import numpy as np
import pytest

from theory_rl import approx, robust, tabular
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
        rmdp = robust.windy_walk(n_rows=rows, n_cols=cols, rectangular=False, max_wind=wind, nominal_wind=0.0)
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
    assert ours.grid["worst"] == pytest.approx(ours.trace[-1]["lower"], abs=1e-9)
    assert ours.grid["worst"] >= ours.grid_nominal["worst"] - 1e-9 or len(ours.thetas) == 1


def test_cma_search_finds_attained_worst_cases_inside_the_box():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", robust.RectangularityWarning)
        rmdp = robust.windy_walk(n_rows=3, n_cols=3, rectangular=False, max_wind=0.6, nominal_wind=0.0)
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
    assert res.grid["worst"] <= res.grid["mean"]


def test_min_over_critics_and_mask():
    critics = [lambda o: np.tile([1.0, 5.0], (len(o), 1)), lambda o: np.tile([3.0, 2.0], (len(o), 1))]
    obs = np.zeros((2, 3))
    np.testing.assert_allclose(min_over_critics(critics, obs), [[1, 2], [1, 2]])
    mask = np.array([[True, False], [False, False]])  # row 1 trusts no critic: all are used
    np.testing.assert_allclose(min_over_critics(critics, obs, mask), [[1, 5], [1, 2]])


@pytest.mark.slow
def test_deep_iwocs_with_dqn_runs_on_cartpole():
    pset = gym_parametric_set("CartPole-v1")
    res = deep_iwocs(pset, learner_kwargs={"total_steps": 300, "learning_starts": 100, "hidden": (16,)},
                     evaluate=monte_carlo_return(pset, n_episodes=1), max_iter=1, search_budget=6,
                     n_grid_eval=2, seed=0)
    assert res.thetas.shape[1] == 2 and len(res.critics) == len(res.thetas)
    assert res.grid["thetas"].shape == (4, 2) and res.grid["worst"] <= res.grid["mean"]
    assert res.to_dict()["method"] == "deep_iwocs"
    with pytest.raises(InvalidArgumentError, match="search"):
        deep_iwocs(pset, search="random")
