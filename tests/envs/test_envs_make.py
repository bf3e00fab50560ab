"""``envs.make``: every generator from a spec string; bad specs raise InvalidArgumentError naming them."""

import numpy as np
import pytest

from theory_rl import envs
from theory_rl.errors import InvalidArgumentError, InvalidModelError, ParseError
from theory_rl.models import POMDP, FiniteMDP


@pytest.mark.parametrize("spec, expected", [
    ("river_swim", envs.river_swim()),
    ("river-swim:n_states=4", envs.river_swim(4)),
    ("forest:n_states=5,p=0.2,r1=3.5", envs.forest(5, p=0.2, r1=3.5)),
    ("gridworld:n_rows=3,n_cols=4,slip=0.1", envs.gridworld(3, 4, slip=0.1)),
    ("random_mdp:n_states=6,n_actions=3,seed=4", envs.random_mdp(6, 3, seed=4)),
    ("garnet:n_states=6,n_actions=2,branching=2,seed=1", envs.garnet(6, 2, 2, seed=1)),
    ("chain:slip=0.3", envs.chain(slip=0.3)),
    ("cliff_walking", envs.cliff_walking()),
    ("sutton_barto_gridworld", envs.sutton_barto_gridworld()),
    ("hard:gamma=0.9,n_actions=3", envs.hard_instance(0.9, 3)),
    ("forest:sparse=true", envs.forest(sparse=True)),
])
def test_make_builds_what_the_generator_builds(spec, expected):
    mdp = envs.make(spec)
    assert isinstance(mdp, FiniteMDP) and mdp.gamma == expected.gamma
    np.testing.assert_array_equal(mdp.R, expected.R)
    assert mdp.is_sparse == expected.is_sparse
    np.testing.assert_array_equal(mdp.to_dense().P, expected.to_dense().P)


def test_gamma_overrides_the_spec_and_the_file(tmp_path):
    assert envs.make("forest:gamma=0.5", gamma=0.7).gamma == 0.7
    assert envs.make("hard", gamma=0.8).gamma == 0.8
    envs.forest(4).save(tmp_path / "f.npz")
    assert envs.make(str(tmp_path / "f.npz"), gamma=0.3).gamma == 0.3
    assert envs.make(str(tmp_path / "f.npz")).n_states == 4


def test_every_registered_name_builds_with_its_defaults_or_says_what_it_needs():
    for name in envs.registered():
        if name == "gymnasium":
            continue  # an optional dependency; its errors are the generator's
        try:
            model = envs.make(name, gamma=0.9)
        except InvalidArgumentError as exc:
            assert f"{name} needs" in str(exc)
        else:
            assert (isinstance(model, FiniteMDP) or (name == "windy_walk" and model.nominal.gamma == 0.9)
                    or (isinstance(model, POMDP) and model.gamma == 0.9))  # the classic POMDPs (envs.tiger, ...)


@pytest.mark.parametrize("spec, message", [
    ("nothing", "unknown model 'nothing'"),
    ("", "non-empty string"),
    ("forest:size=3", "forest has no option 'size'"),
    ("forest:n_states", "malformed model argument 'n_states'"),
    ("forest:=3", "malformed model argument"),
    ("forest:n_states=3,n_states=4", "n_states is given twice"),
    ("forest:n_states=abc", "forest takes n_states of type int, got 'abc'"),
    ("forest:n_states=1.5", "got 1.5"),
    ("forest:sparse=maybe", "sparse"),
    ("forest:gamma=true", "gamma"),
    ("gridworld:n_rows=3", "gridworld needs n_cols"),
    ("hard", "hard needs gamma"),
    ("chain:n_states=" + "9" * 5000, "more than 4000 digits"),
])
def test_bad_specs_raise_invalid_argument_naming_them(spec, message):
    with pytest.raises(InvalidArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        envs.make(spec)
    assert len(str(info.value)) < 400


def test_values_out_of_range_raise_the_generators_error():
    with pytest.raises(InvalidModelError, match="gamma"):
        envs.make("forest:gamma=1.5")
    with pytest.raises(InvalidModelError, match="1/4 < gamma"):
        envs.make("hard:gamma=0.1")
    with pytest.raises(ParseError):
        envs.make("missing.npz")
    with pytest.raises(InvalidArgumentError, match="gamma must be a real number"):
        envs.make("forest", gamma="0.9")


def test_windy_walk_lives_in_envs_and_the_old_name_warns():
    from theory_rl import robust

    rmdp = envs.make("windy_walk:n_rows=3,n_cols=4,max_wind=0.3")
    assert isinstance(rmdp, robust.RobustMDP) and rmdp.nominal.n_states == 13
    with pytest.warns(DeprecationWarning, match="theory_rl.envs.windy_walk"):
        old = robust.windy_walk
    assert old is envs.windy_walk
    assert "windy_walk" not in robust.__all__


def test_the_neural_environments_live_in_envs():
    from theory_rl import approx

    assert approx.TabularEnv is envs.TabularEnv and approx.make_parametric_env is envs.make_parametric_env
    assert approx.PARAMETER_BOXES is envs.PARAMETER_BOXES
