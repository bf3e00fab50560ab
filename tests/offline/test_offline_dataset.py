"""TrajectoryDataset: construction, validation naming episode and step, readers, collection, coverage."""

from __future__ import annotations

import numpy as np
import pytest
from offline_instances import tiger

from theory_rl import envs
from theory_rl.errors import InvalidArgumentError, InvalidModelError
from theory_rl.offline import TrajectoryDataset, collect_trajectories, coverage
from theory_rl.tabular import policy_value


def test_returns_to_go_are_suffix_sums():
    d = TrajectoryDataset([[0, 1, 2, 0]], [[1, 0, 1]], [[1.0, -2.0, 4.0]], n_states=3, n_actions=2)
    assert d.returns_to_go[0].tolist() == [3.0, 2.0, 4.0]
    assert d.episode_returns.tolist() == [3.0]
    assert d.n_transitions == 3 and d.n_episodes == 1
    assert not d.returns_to_go[0].flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rewards": [[0.0, np.nan]]}, r"rewards\[0\]\[1\] = nan is not finite \(episode 0, step 1\)"),
        ({"actions": [[0, 5]]}, r"actions\[0\]\[1\] = 5 is not an action in \[0, 2\) \(episode 0, step 1\)"),
        ({"states": [[0, 1]]}, r"episode 0: states has 2 entries, expected 3"),
        ({"states": [[0, 1, 7]]}, r"states\[0\]\[2\] = 7 is not a state in \[0, 3\)"),
        ({"rewards": [[0.0]]}, r"episode 0: rewards has shape \(1,\), expected \(2,\)"),
        ({"actions": [[0, 0.5]]}, r"actions\[0\]\[1\] = 0.5 is not an integer \(episode 0, step 1\)"),
        ({"rewards": [[0.0, 1.0], [1.0]]}, r"3 episodes|hold 1, 1 and 2 episodes"),
    ],
)
def test_bad_episodes_name_episode_and_step(kwargs, match):
    base = {"states": [[0, 1, 2]], "actions": [[0, 1]], "rewards": [[0.0, 1.0]]}
    base.update(kwargs)
    with pytest.raises(InvalidModelError, match=match):
        TrajectoryDataset(base["states"], base["actions"], base["rewards"], n_states=3, n_actions=2)


def test_flat_arrays_instead_of_episodes_are_refused():
    with pytest.raises(InvalidModelError, match="sequence of episodes"):
        TrajectoryDataset(np.array([0, 1]), [[0]], [[0.0]], n_states=2, n_actions=2)


def test_bad_options():
    with pytest.raises(InvalidArgumentError, match="n_states"):
        TrajectoryDataset([[0]], [[]], [[]], n_states=0, n_actions=2)
    with pytest.raises(InvalidArgumentError, match="n_observations is required"):
        TrajectoryDataset([[0, 0]], [[0]], [[0.0]], n_states=1, n_actions=1, observations=[[0]])


def test_from_arrays_splits_on_terminals_and_timeouts():
    d = TrajectoryDataset.from_arrays(
        [0, 1, 2, 0, 1], [0, 1, 0, 1, 1], [1.0, 2.0, 3.0, 4.0, 5.0], [1, 2, 0, 1, 0],
        terminals=[False, True, False, False, False], timeouts=[False, False, True, False, False],
        n_states=3, n_actions=2,
    )
    assert [s.tolist() for s in d.states] == [[0, 1, 2], [2, 0], [0, 1, 0]]
    assert d.terminated.tolist() == [True, False, False]
    assert [g.tolist() for g in d.returns_to_go] == [[3.0, 2.0], [3.0], [9.0, 5.0]]


def test_from_arrays_errors_name_the_row():
    with pytest.raises(InvalidModelError, match=r"next_observations\[0\] = 1 but observations\[1\] = 2"):
        TrajectoryDataset.from_arrays([0, 2], [0, 0], [0.0, 0.0], [1, 0], n_states=3, n_actions=1)
    with pytest.raises(InvalidModelError, match=r"rewards has shape \(1,\)"):
        TrajectoryDataset.from_arrays([0, 2], [0, 0], [0.0], [1, 0], n_states=3, n_actions=1)
    with pytest.raises(InvalidModelError, match=r"rewards\[0\]\[0\] = inf"):
        TrajectoryDataset.from_arrays([0], [0], [np.inf], [0], n_states=3, n_actions=1)


def test_collection_is_seeded_and_follows_the_model():
    mdp = envs.chain(5)
    pi = np.full((5, 2), 0.5)
    a = collect_trajectories(mdp, pi, n_episodes=20, horizon=7, seed=3)
    b = collect_trajectories(mdp, pi, n_episodes=20, horizon=7, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a.states, b.states))
    P = np.asarray(mdp.P)
    s, act, r, s2 = a.transitions()
    assert np.all(P[s, act, s2] > 0)
    assert np.allclose(r, np.asarray(mdp.R)[s, act])


def test_monte_carlo_return_matches_policy_value():
    """Reference: the discounted return of collected episodes estimates v_pi(d0) (99.9% CI)."""
    mdp = envs.chain(4, gamma=0.5)
    pi = np.full((4, 2), 0.5)
    d = collect_trajectories(mdp, pi, n_episodes=4000, horizon=40, seed=0)
    disc = np.array([np.sum(r * 0.5 ** np.arange(r.size)) for r in d.rewards])
    d0 = np.full(4, 0.25) if mdp.d0 is None else np.asarray(mdp.d0)
    exact = float(d0 @ policy_value(mdp, pi))
    assert abs(disc.mean() - exact) < 3.3 * disc.std() / np.sqrt(disc.size) + 1e-9


def test_pomdp_collection_has_observations_from_O():
    m = tiger()
    d = collect_trajectories(m, np.full((2, 3), 1 / 3), n_episodes=50, horizon=5, seed=1)
    assert d.n_observations == 2 and len(d.observations) == 50
    obs_model = np.asarray(m.O)
    for s, a, o in zip(d.states, d.actions, d.observations):
        assert np.all(obs_model[a, s[1:], o] > 0)


def test_collection_bad_input():
    mdp = envs.chain(3)
    with pytest.raises(InvalidArgumentError, match="n_episodes"):
        collect_trajectories(mdp, [0, 0, 0], n_episodes=0, horizon=3)
    with pytest.raises(InvalidModelError, match="policy"):
        collect_trajectories(mdp, [0, 0, 9], n_episodes=1, horizon=3)
    with pytest.raises(InvalidArgumentError, match="FiniteMDP or a POMDP"):
        collect_trajectories("chain", [0], n_episodes=1, horizon=3)


def test_coverage_and_concentrability():
    mdp = envs.chain(3, gamma=0.5)
    d = collect_trajectories(mdp, np.full((3, 2), 0.5), n_episodes=200, horizon=10, seed=0)
    cov = coverage(d, mdp=mdp, policy=np.full((3, 2), 0.5))
    assert cov.pair_fraction == 1.0 and cov.min_count > 0
    assert 0.5 < cov.concentrability < 3.0
    narrow = TrajectoryDataset([[0, 0]], [[0]], [[0.0]], n_states=3, n_actions=2)
    cov2 = coverage(narrow, mdp=mdp, policy=[1, 1, 1])
    assert cov2.concentrability == np.inf and cov2.pair_fraction == pytest.approx(1 / 6)
    with pytest.raises(InvalidArgumentError, match="both mdp and policy"):
        coverage(d, mdp=mdp)
