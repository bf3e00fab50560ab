"""PanFlute: the kernel against a step-by-step simulator of the rules, and the optimal value."""

from __future__ import annotations

import numpy as np
import pytest

from theory_rl.envs import TabularEnv, make, pan_flute
from theory_rl.errors import InvalidArgumentError
from theory_rl.tabular import value_iteration


def _simulate(pipes: list[list[int]], action: int, spontaneous: bool) -> tuple[list[list[int]], int]:
    """The rules, pipe by pipe: reward before the step, roll by one, inject, optional activation."""
    reward = int(all(p[-1] for p in pipes))
    new = []
    for i, p in enumerate(pipes):
        q = [p[-1], *p[:-1]]
        q[0] = int(i == action)
        if spontaneous:
            q[-1] = 1
        new.append(q)
    return new, reward


def _decode(s: int, n: int) -> list[list[int]]:
    out, bit = [], 0
    for i in range(n):
        out.append([(s >> (bit + j)) & 1 for j in range(i + 1)])
        bit += i + 1
    return out


def _encode(pipes: list[list[int]]) -> int:
    return sum(c << k for k, c in enumerate(c for p in pipes for c in p))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_kernel_matches_the_rules(n):
    m = pan_flute(n, gamma=0.9)
    P = m.P.toarray().reshape(m.n_states, n, m.n_states) if m.is_sparse else np.asarray(m.P)
    q = 1.0 / n**2
    for s in range(m.n_states):
        for a in range(n):
            plain, r = _simulate(_decode(s, n), a, False)
            fired, _ = _simulate(_decode(s, n), a, True)
            expected = np.zeros(m.n_states)
            expected[_encode(plain)] += 1 - q
            expected[_encode(fired)] += q
            assert np.allclose(P[s, a], expected) and m.R[s, a] == r


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_optimal_value_from_empty_pipes(n):
    """Rewards at least n steps apart: V*(0) = gamma^n / (1 - gamma^n) without activation."""
    g = 0.8
    v = value_iteration(pan_flute(n, spontaneous=False, gamma=g), tol=1e-10).v
    assert v[0] == pytest.approx(g**n / (1 - g**n), abs=1e-8)
    # spontaneous activation only adds reward opportunities (with one pipe every step already pays)
    if n > 1:
        assert value_iteration(pan_flute(n, gamma=g), tol=1e-10).v[0] > v[0] + 1e-6


def test_registry_gymnasium_and_options():
    assert make("pan_flute:n_pipes=2").n_states == 32
    env = TabularEnv(pan_flute(2, gamma=0.9), horizon=5)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (32,) and obs[0] == 1
    with pytest.raises(InvalidArgumentError, match="n_pipes"):
        pan_flute(6)
    with pytest.raises(InvalidArgumentError, match="spontaneous"):
        pan_flute(2, spontaneous="yes")
