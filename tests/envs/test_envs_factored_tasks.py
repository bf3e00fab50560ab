"""ButtonGrid and ProcMaze: kernels against step-by-step simulators of the rules, mazes as trees,
exact values against breadth-first distances, gymnasium checks, and the model-based value-set
theorem on a maze whose walls are unknown."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from theory_rl.envs import FactoredTask, button_grid, proc_maze
from theory_rl.errors import InvalidArgumentError
from theory_rl.learning import value_sets
from theory_rl.tabular import value_iteration

MOVES = {0: (0, 0), 1: (-1, 0), 2: (0, -1), 3: (1, 0), 4: (0, 1)}


def _dense(task: FactoredTask) -> np.ndarray:
    m = task.mdp
    return m.P.toarray().reshape(m.n_states, m.n_actions, m.n_states) if m.is_sparse else np.asarray(m.P)


def _button_step(n, buttons, row, col, bits, action):
    """ButtonGrid's rules for one step without the spontaneous activation and the reset."""
    dr, dc = MOVES[action]
    r2, c2 = min(max(row + dr, 0), n - 1), min(max(col + dc, 0), n - 1)
    if (r2, c2) != (row, col) and (r2, c2) in buttons:
        bits = bits ^ (1 << buttons.index((r2, c2)))
    return r2, c2, bits


@pytest.mark.parametrize(("n", "g", "seed"), [(2, 1, 0), (3, 2, 1), (4, 3, 2)])
def test_button_grid_kernel_matches_the_rules(n, g, seed):
    task = button_grid(n, g, seed=seed)
    P, R = _dense(task), task.mdp.R
    buttons = [None] * g
    for r, c in zip(*np.nonzero(task.layout >= 0)):
        buttons[task.layout[r, c]] = (int(r), int(c))
    q, nb = 1.0 / (10 * n * n), 2**g
    for s in range(task.mdp.n_states):
        pos, bits = divmod(s, nb)
        row, col = divmod(pos, n)
        assert list(task.factors[s]) == [row, col, *((bits >> i) & 1 for i in range(g))]
        for a in range(5):
            expected = np.zeros(task.mdp.n_states)
            if bits == nb - 1:  # reward now, then reset: uniform cell, buttons off
                expected[np.arange(n * n) * nb] = 1.0 / (n * n)
                assert R[s, a] == 1.0
            else:
                r2, c2, b2 = _button_step(n, buttons, row, col, bits, a)
                expected[(r2 * n + c2) * nb + b2] += 1 - q
                expected[(r2 * n + c2) * nb + nb - 1] += q
                assert R[s, a] == 0.0
            assert np.allclose(P[s, a], expected), (s, a)


def test_button_grid_observation_is_the_channel_image():
    task = button_grid(3, 2, seed=4)
    img = task.observations.reshape(-1, 3, 3, 3)
    s = 5 * 4 + 0b10  # agent at (1, 2), button 1 on, button 0 off
    assert img[s, 1, 2, 0] == 1 and img[s, :, :, 0].sum() == 1
    (r0, c0), (r1, c1) = (np.argwhere(task.layout == i)[0] for i in range(2))
    assert img[s, r0, c0, 2] == 1 and img[s, r0, c0, 1] == 0 and img[s, r1, c1, 1] == 1
    assert img[s, :, :, 1:].sum() == 2


def _bfs(wall: np.ndarray, goal: tuple[int, int]) -> np.ndarray:
    n = len(wall)
    dist = np.full((n, n), -1)
    dist[goal] = 0
    queue = deque([goal])
    while queue:
        r, c = queue.popleft()
        for dr, dc in list(MOVES.values())[1:]:
            rr, cc = r + dr, c + dc
            if 0 <= rr < n and 0 <= cc < n and not wall[rr, cc] and dist[rr, cc] < 0:
                dist[rr, cc] = dist[r, c] + 1
                queue.append((rr, cc))
    return dist


@pytest.mark.parametrize("seed", range(6))
def test_proc_maze_is_a_tree_and_its_values_are_the_discounted_distances(seed):
    n, gamma = 6, 0.9
    task = proc_maze(n, spontaneous=False, gamma=gamma, seed=seed)
    wall = task.layout == 1
    goal = tuple(int(x) for x in np.argwhere(task.layout == 2)[0])
    dist = _bfs(wall, goal)
    open_ = ~wall
    assert (dist[open_] >= 0).all()  # every open cell reaches the goal
    edges = (open_[1:] & open_[:-1]).sum() + (open_[:, 1:] & open_[:, :-1]).sum()
    assert edges == open_.sum() - 1  # connected with |V| - 1 edges: a tree
    v = value_iteration(task.mdp, tol=1e-12).v.reshape(n, n)
    assert np.allclose(v[open_], -(1 - gamma ** dist[open_]) / (1 - gamma), atol=1e-9)
    assert task.mdp.terminal[goal[0] * n + goal[1]] and task.mdp.d0[goal[0] * n + goal[1]] == 0


def test_proc_maze_kernel_matches_the_rules():
    n = 5
    task = proc_maze(n, seed=3)
    P, wall = _dense(task), task.layout == 1
    goal = int(np.flatnonzero(task.layout.ravel() == 2)[0])
    p = 0.1 / ((n + 1) * 3 - 1)
    for s in range(n * n):
        r, c = divmod(s, n)
        for a, (dr, dc) in MOVES.items():
            expected = np.zeros(n * n)
            if s == goal:
                expected[goal] = 1.0
            else:
                rr, cc = min(max(r + dr, 0), n - 1), min(max(c + dc, 0), n - 1)
                expected[s if wall[rr, cc] else rr * n + cc] += 1 - p
                expected[goal] += p
            assert np.allclose(P[s, a], expected), (s, a)
            assert task.mdp.R[s, a] == (0.0 if s == goal else -1.0)


@pytest.mark.parametrize("make", [lambda s: proc_maze(5, seed=s), lambda s: button_grid(4, 2, seed=s)])
def test_layouts_are_seeded(make):
    a, b = make(7), make(7)
    assert np.array_equal(a.layout, b.layout) and np.array_equal(_dense(a), _dense(b))
    assert any(not np.array_equal(make(7).layout, make(s).layout) for s in range(8, 12))
    assert np.allclose(_dense(a).sum(axis=2), 1.0)


def test_paper_sizes_build():
    big = button_grid(10, 3, seed=0)
    assert big.mdp.n_states == 100 * 8 and big.observations.shape == (800, 300)
    assert proc_maze(10, seed=0).observations.shape == (100, 400)


def test_gymnasium_wrappers_pass_the_env_checker():
    from gymnasium.utils.env_checker import check_env

    for task in (button_grid(3, 1, seed=0), proc_maze(4, seed=0)):
        env = task.gym_env(horizon=30)
        check_env(env, skip_render_check=True)
        obs, info = env.reset(seed=1)
        assert np.array_equal(obs, task.observations[info["state"]])


def test_the_maze_episode_ends_at_the_goal():
    task = proc_maze(4, spontaneous=False, seed=0)
    env = task.gym_env(horizon=200)
    n = 4
    dist = _bfs(task.layout == 1, tuple(np.argwhere(task.layout == 2)[0]))
    obs, info = env.reset(seed=0)
    steps, done = 0, False
    while not done:  # walk down the distance field
        r, c = divmod(info["state"], n)
        a = min((a for a in range(1, 5) if 0 <= r + MOVES[a][0] < n and 0 <= c + MOVES[a][1] < n
                 and dist[r + MOVES[a][0], c + MOVES[a][1]] >= 0),
                key=lambda a: dist[r + MOVES[a][0], c + MOVES[a][1]])
        obs, reward, done, truncated, info = env.step(a)
        steps += 1
        assert reward == -1.0 and not truncated
    assert info["state"] == int(np.flatnonzero(task.layout.ravel() == 2)[0]) and steps >= 1


def _maze_class(n: int, wall: np.ndarray, goal: int, candidates: np.ndarray) -> np.ndarray:
    """``next[m, s, a]`` for every wall pattern on the candidate cells (the rest as in ``wall``)."""
    out = []
    for mask in range(2 ** len(candidates)):
        w = wall.ravel().copy()
        w[candidates] = (mask >> np.arange(len(candidates))) & 1
        w[goal] = False
        nxt = np.empty((n * n, 5), dtype=np.int64)
        for s in range(n * n):
            r, c = divmod(s, n)
            for a, (dr, dc) in MOVES.items():
                t = min(max(r + dr, 0), n - 1) * n + min(max(c + dc, 0), n - 1)
                nxt[s, a] = goal if s == goal else (s if w[t] else t)
        out.append(nxt)
    return np.array(out)


@pytest.mark.parametrize("seed", range(4))
def test_value_sets_on_a_maze_with_unknown_walls(seed):
    """Young et al. (2023): mb ⊆ mf, both hold Q*, and mb shrinks as the data grow."""
    n, gamma = 3, 0.9
    task = proc_maze(n, spontaneous=False, gamma=gamma, seed=seed)
    wall, goal = task.layout == 1, int(np.flatnonzero(task.layout.ravel() == 2)[0])
    rng = np.random.default_rng(seed)
    candidates = rng.choice(np.setdiff1d(np.arange(n * n), [goal]), size=6, replace=False)
    models = _maze_class(n, wall, goal, candidates)
    truth = np.argmax(_dense(task), axis=2)
    assert any(np.array_equal(m, truth) for m in models)  # the class holds the true maze
    q_star = np.round(value_iteration(task.mdp, tol=1e-13).q, 8) + 0.0
    s_all, a_all = np.meshgrid(np.arange(n * n), np.arange(5), indexing="ij")
    pairs = rng.permutation(np.column_stack([s_all.ravel(), a_all.ravel()]))
    previous, sizes = None, []
    for size in (0, 5, 15, 45):
        s, a = pairs[:size, 0], pairs[:size, 1]
        data = np.column_stack([s, a, truth[s, a]]).astype(np.int64)
        res = value_sets(models, np.asarray(task.mdp.R), data, gamma=gamma)
        assert res.mb_subset_of_mf
        keys_mb = {q.tobytes() for q in res.mb}
        assert q_star.tobytes() in keys_mb and q_star.tobytes() in {q.tobytes() for q in res.mf}
        if previous is not None:
            assert keys_mb <= previous
        previous = keys_mb
        sizes.append((len(res.mb), len(res.mf)))
    assert sizes[0][0] == sizes[0][1]  # no data: both are the whole value class
    assert sizes[-1][0] == 1  # every (s, a) observed: only the true maze's Q* is left


def test_bad_options_are_named():
    for call, name in [(lambda: button_grid(1), "grid_size"), (lambda: button_grid(2, 5), "n_buttons"),
                       (lambda: proc_maze(4, gamma=1.0), "gamma"), (lambda: proc_maze(4, spontaneous="no"), "spontaneous"),
                       (lambda: button_grid(3, sparse=2), "sparse")]:
        with pytest.raises(InvalidArgumentError, match=name):
            call()


def test_the_shared_wrapper_serves_pan_flute_with_its_bits():
    from gymnasium.utils.env_checker import check_env

    from theory_rl.envs import TabularEnv, pan_flute

    m = pan_flute(2, gamma=0.9)
    bits = ((np.arange(m.n_states)[:, None] >> np.arange(5)[None, :]) & 1).astype(np.float32)
    env = TabularEnv(m, observations=bits, horizon=10)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert np.array_equal(obs, np.zeros(5))  # every pipe empty
    obs, *_ = env.step(1)
    assert np.array_equal(obs, bits[1 << 1])  # action 1 injects into pipe 1 (its cell 0 is bit 1)
