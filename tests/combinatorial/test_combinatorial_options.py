"""Option and field checks of the coRMAB model and feasible sets (issue 17, item 8): each case
used to be accepted silently or to raise a bare TypeError/ValueError/AttributeError."""

import networkx as nx
import numpy as np
import pytest

from theory_rl.combinatorial import Budget, Capacity, CoRMAB, Matching, make_cormab
from theory_rl.envs import metro_graph
from theory_rl.errors import InvalidModelError


def _model(**kw):
    args = {"rewards": np.zeros((2, 4)), "p_passive": np.zeros(2), "p_active": np.ones(2),
            "constraint": Budget(1, 2)}
    args.update(kw)
    return CoRMAB(**args)


@pytest.mark.parametrize("horizon", ["x", 2.5, 0, True, None])
def test_cormab_horizon(horizon):
    with pytest.raises(InvalidModelError, match="horizon"):
        _model(horizon=horizon)


def test_cormab_horizon_numpy_integer_is_kept_as_int():
    assert _model(horizon=np.int64(7)).horizon == 7


@pytest.mark.parametrize("constraint", [None, 3, "budget", object()])
def test_cormab_constraint_must_be_a_feasible_set(constraint):
    with pytest.raises(InvalidModelError, match="constraint must be a Budget, Path, Matching, Capacity"):
        _model(constraint=constraint)


def test_cormab_coupling_and_domain_types():
    with pytest.raises(InvalidModelError, match="coupling must be a SigmoidCoupling"):
        _model(coupling=np.zeros((2, 2)))
    with pytest.raises(InvalidModelError, match="domain must be a string"):
        _model(domain=3)


@pytest.mark.parametrize("n_actions", [2.5, "3", True, 0])
def test_budget_n_actions(n_actions):
    with pytest.raises(InvalidModelError, match="n_actions"):
        Budget(1, n_actions=n_actions)


def test_budget_equality_must_be_a_bool():
    with pytest.raises(InvalidModelError, match="equality must be True or False"):
        Budget(1, 3, equality="no")


def test_matching_per_arm_and_slot_values():
    slots = np.ones((3, 2), bool)
    with pytest.raises(InvalidModelError, match="per_arm"):
        Matching(slots, slots, 1, per_arm=1.5)
    with pytest.raises(InvalidModelError, match="arm_slots must be boolean"):
        Matching(np.full((3, 2), 0.5), slots, 1)  # 0.5 was cast to True
    assert Matching(np.ones((3, 2)), slots, 1).arm_slots.dtype == bool  # 0/1 numbers are fine


def test_capacity_single_assignment_must_be_a_bool():
    with pytest.raises(InvalidModelError, match="single_assignment"):
        Capacity([1, 2], [3], 1, single_assignment="no")


@pytest.mark.parametrize("kwargs, message", [
    ({"n_stations": 5.5}, "n_stations"), ({"n_stations": 1}, "n_stations"), ({"n_stations": 8, "n_lines": 0}, "n_lines"),
])
def test_metro_graph_sizes(kwargs, message):
    with pytest.raises(InvalidModelError, match=message):
        metro_graph(**kwargs)


@pytest.mark.parametrize("domain, kwargs, message", [
    (["budget"], {}, "domain"),
    ("interventions", {"n_interventions": 2.5}, "n_interventions"),
    ("budget", {"horizon": "x"}, "horizon"),
])
def test_make_cormab_options(domain, kwargs, message):
    with pytest.raises(InvalidModelError, match=message):
        make_cormab(domain, 6, 2, **kwargs)


def test_path_with_a_given_graph_still_works():
    model = make_cormab("path", 4, 1, graph=nx.path_graph(4), seed=0)
    assert model.n_actions == 4 and model.horizon == 20


def test_env_p_one_and_model_are_checked():
    from theory_rl.combinatorial import CoRMABEnv
    from theory_rl.errors import InvalidArgumentError

    model = _model()
    with pytest.raises(InvalidArgumentError, match="p_one"):
        CoRMABEnv(model, p_one="x")
    with pytest.raises(InvalidArgumentError, match="p_one"):
        model.initial_state(0, p_one=1.5)  # silently all ones before
    with pytest.raises(InvalidModelError, match="needs a CoRMAB model"):
        CoRMABEnv(None)
