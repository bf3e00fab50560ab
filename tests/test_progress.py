"""``progress=`` on every solver or learner that can run for long: off by default (nothing on
stderr), a tqdm bar on stderr when on, a bad value named; HiGHS prints no banner."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

from theory_rl import approx, combinatorial, dual, envs, experiments, learning, pomdp, robust
from theory_rl.errors import InvalidArgumentError


def _tiger():
    return envs.tiger()


def _mdp():
    return envs.random_mdp(3, 2, seed=0, gamma=0.9)


def _windy():
    return envs.windy_walk(n_rows=2, n_cols=3)


def _features():
    obs = np.eye(2)[[0, 1, 0, 1]]
    return obs, np.array([0, 1, 1, 0]), np.array([1.0, 0.0, 0.5, 0.2]), obs[::-1], np.zeros(4)


CALLS = {
    "hsvi2": lambda p: pomdp.hsvi2(_tiger(), tol=1e-1, progress=p),
    "sarsop": lambda p: pomdp.sarsop(_tiger(), tol=1e-1, progress=p),
    "pbvi": lambda p: pomdp.pbvi(_tiger(), n_expansions=1, max_iter=3, progress=p),
    "perseus": lambda p: pomdp.perseus(_tiger(), n_beliefs=10, max_iter=3, seed=0, progress=p),
    "exact_value_iteration": lambda p: pomdp.exact_value_iteration(_tiger(), horizon=2, progress=p),
    "iwocs": lambda p: robust.iwocs(_windy(), max_iter=2, progress=p),
    "ucbvi": lambda p: learning.ucbvi(_mdp(), horizon=2, n_episodes=5, seed=0, progress=p),
    "ucb_q_learning": lambda p: learning.ucb_q_learning(_mdp(), horizon=2, n_episodes=5, seed=0, progress=p),
    "q_learning": lambda p: learning.q_learning(_mdp(), max_iter=5, seed=0, progress=p),
    "dqn": lambda p: approx.dqn(approx.TabularEnv(_mdp(), horizon=5), total_steps=20, learning_starts=5,
                                batch_size=4, seed=0, device="cpu", progress=p),
    "fdvl_torch": lambda p: dual.fdvl_torch(*_features(), n_actions=2, gamma=0.9, n_steps=3, device="cpu",
                                            progress=p),
    "recoil_torch": lambda p: dual.recoil_torch(_features(), _features(), n_actions=2, gamma=0.9, n_steps=3,
                                                device="cpu", progress=p),
    "Sweep": lambda p: experiments.Sweep(_square, {"x": [1, 2]}, 1, backend="serial", progress=p).run(),
}

# long-running functions whose bar is tested through their loop elsewhere or too slow to run here;
# their option is checked by signature
SIGNATURE_ONLY = {"deep_iwocs": approx.deep_iwocs, "sequoia_train": combinatorial.sequoia_train}


def _square(x, seed):
    return {"y": x * x}


def _run(name, progress, capsys):
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        CALLS[name](progress)
    return capsys.readouterr()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_progress_off_by_default_and_a_bar_when_on(name, capsys):
    fn = getattr(next(m for m in (pomdp, robust, learning, approx, dual, experiments) if hasattr(m, name)), name)
    assert inspect.signature(fn).parameters["progress"].default is False
    quiet = _run(name, False, capsys)
    assert quiet.err == "" and quiet.out == ""
    shown = _run(name, True, capsys)
    assert "/s]" in shown.err or "s/it]" in shown.err or "/s, " in shown.err, shown.err[-300:]
    assert shown.out == ""


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_bad_progress_value_is_named(name):
    with pytest.raises(InvalidArgumentError, match="progress"):
        CALLS[name]("yes")


@pytest.mark.parametrize("name", sorted(SIGNATURE_ONLY))
def test_the_long_runners_take_progress(name):
    assert inspect.signature(SIGNATURE_ONLY[name]).parameters["progress"].default is False


def test_highs_prints_no_banner(capfd):
    import highspy

    from theory_rl._highs import quiet_highs

    capfd.readouterr()
    quiet_highs(highspy).run()
    out = capfd.readouterr()
    assert "HiGHS" not in out.out and "HiGHS" not in out.err
