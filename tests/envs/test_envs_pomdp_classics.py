"""The classic POMDP benchmarks as constructors: packaged files, sizes, names, reference values."""

from __future__ import annotations

import warnings

import pytest

from theory_rl import envs, pomdp
from theory_rl.envs import _pomdp_classics
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.models import POMDP

SMALL = [name for name, (_, (S, _A, _O), _, _) in _pomdp_classics._CLASSICS.items() if S <= 300]


@pytest.mark.parametrize("name", SMALL)
def test_each_classic_reads_its_packaged_file_without_warnings(name):
    file, (S, A, n_obs), _, _ = _pomdp_classics._CLASSICS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the files' documented renormalisations are silent here
        model = getattr(envs, name)()
    assert isinstance(model, POMDP) and (model.n_states, model.n_actions, model.n_observations) == (S, A, n_obs)
    assert pomdp.problem_path(file).is_file()


def test_every_classic_is_exported_and_registered():
    for name in _pomdp_classics.__all__:
        assert getattr(envs, name).__name__ == name and name in envs.registered()
        assert "Examples" in getattr(envs, name).__doc__


def test_tiger_names_and_value():
    tiger = envs.tiger()
    assert tiger.action_names == ("listen", "open-left", "open-right")
    assert tiger.observation_names == ("tiger-left", "tiger-right")
    sol = pomdp.sarsop(tiger, tol=1e-3)
    assert sol.lower <= 19.3714 <= sol.upper  # exact V*(b0) (pomdp-solve, the packaged README)


def test_gamma_override_and_short_names():
    assert envs.tiger(gamma=0.9).gamma == 0.9
    assert envs.make("tiger", gamma=0.8).gamma == 0.8  # by name, as the command line reads it
    assert envs.make("maze-4x3").n_states == 11
    assert pomdp.problem_path("Rock_Sample_4_4").name == "RockSample_4_4.pomdp"
    assert pomdp.load_problem("tiger").n_states == 2
    with pytest.raises(InvalidArgumentError, match="name"):
        pomdp.load_problem("tigre")
    with pytest.raises(InvalidModelError, match="gamma"):  # as every envs generator's gamma
        envs.tiger(gamma=1.5)
