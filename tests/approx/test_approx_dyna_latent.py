"""dyna_dqn with the paper's latent world models (Young et al. 2023): the categorical and Gaussian
latent models learn a deterministic task's one-step outcomes, their Dyna agents reach the exact
optimum on a tiny maze, runs are seeded, bad options are named."""

from __future__ import annotations

import numpy as np
import pytest

from theory_rl import approx, envs
from theory_rl.errors import InvalidArgumentError

torch = pytest.importorskip("torch")

from theory_rl.approx._dyna_nets import LatentModel  # noqa: E402

KINDS = ("categorical", "gaussian")


def _all_transitions(task):
    """Every (s, a) of the reachable states of a deterministic task: s, a, r, s', done."""
    m = task.mdp.to_dense()
    P, R = np.asarray(m.P), np.asarray(m.R)
    states = np.flatnonzero((m.d0 > 0) | m.terminal)
    s, a = (x.ravel() for x in np.meshgrid(states, np.arange(m.n_actions), indexing="ij"))
    assert np.allclose(P[s, a].max(axis=1), 1.0)  # deterministic
    s2 = P[s, a].argmax(axis=1)
    return s, a, R[s, a], s2, m.terminal[s2].astype(np.float32)


@pytest.mark.parametrize("kind", KINDS)
def test_the_latent_model_learns_the_one_step_outcomes_of_a_deterministic_maze(kind):
    """Fitted on every transition of a 3 x 3 maze, the model's most likely prediction (encoder
    mode, transition mode, decoder) reproduces every bit of the next observation, the reward and the
    termination of every pair; an untrained model does not."""
    task = envs.proc_maze(3, spontaneous=False, gamma=0.9, seed=0)
    s, a, r, s2, done = _all_transitions(task)
    obs, A = torch.as_tensor(task.observations), task.mdp.n_actions
    o, o2, a1 = obs[s][None], obs[s2][None], torch.eye(A)[a][None]
    r_t, done_t = torch.as_tensor(r, dtype=torch.float32)[None], torch.as_tensor(done)[None]
    gen = torch.Generator().manual_seed(0)
    model = LatentModel(torch, 1, kind, obs.shape[1], A, (32,), 8, 4, gen, "cpu")

    def uniform(*shape):
        return torch.rand(*shape, generator=gen)

    def normal(*shape):
        return torch.randn(*shape, generator=gen)

    def errors():
        with torch.no_grad():
            p, r_hat, cont = model.predict(o, a1)
        live = done_t[0] == 0
        wrong_bits = ((p > 0.5).float() != o2)[0, live].any(dim=1).float().mean().item()
        return wrong_bits, (r_hat - r_t).abs().max().item(), (cont - (1 - done_t)).abs().max().item()

    assert errors()[0] > 0.5
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(1500):
        loss = model.loss(o, a1, r_t, o2, done_t, uniform, normal, episodic=True).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    wrong_bits, reward_error, continuation_error = errors()
    assert wrong_bits == 0.0
    assert reward_error < 0.15
    assert continuation_error < 0.05


@pytest.mark.parametrize("model", ["categorical_latent", "gaussian_latent"])
def test_a_latent_model_dyna_agent_reaches_the_optimal_return(model):
    """Trained on model rollouts only, every seed's greedy policy (read through the encoder's mode)
    reaches d0.V* (value iteration) on a 2 x 2 maze within 300 environment steps."""
    maze = envs.proc_maze(2, spontaneous=False, gamma=0.9, seed=0)
    res = approx.dyna_dqn(maze, model=model, n_seeds=2, total_steps=300, learning_starts=50, evaluate_every=100,
                          hidden=(32,), lr=3e-3, model_lr=1e-2, target_update=10, updates_per_step=2,
                          rollout_length=3, n_latents=8, latent_classes=4, seed=0, device="cpu")
    assert res.optimal_return == pytest.approx(-(1 + (1 + 0.9)) / 2)  # starts 1 and 2 steps from the goal
    assert (res.returns[:, 0] < res.optimal_return - 1e-3).any()
    assert np.allclose(res.returns[:, -1], res.optimal_return, atol=1e-6)
    assert res.q.shape == (2, maze.mdp.n_states, maze.mdp.n_actions)


def test_latent_runs_are_reproducible_and_the_seeds_independent():
    task = envs.button_grid(2, 1, seed=0)
    kw = dict(model="gaussian_latent", n_seeds=2, total_steps=40, learning_starts=20, evaluate_every=20,
              hidden=(8,), n_latents=4, device="cpu")
    a, b, c = approx.dyna_dqn(task, seed=3, **kw), approx.dyna_dqn(task, seed=3, **kw), approx.dyna_dqn(task, seed=4, **kw)
    assert np.array_equal(a.q, b.q) and np.array_equal(a.returns, b.returns)
    assert not np.allclose(a.q[0], a.q[1])
    assert not np.array_equal(a.q, c.q)
    assert a.params["n_latents"] == 4


def test_bad_latent_options_are_named():
    maze = envs.proc_maze(2, seed=0)
    for option, value in [("n_latents", 0), ("latent_classes", 1), ("n_latents", 2.5)]:
        with pytest.raises(InvalidArgumentError, match=option):
            approx.dyna_dqn(maze, model="categorical_latent", **{option: value})
