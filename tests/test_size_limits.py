"""Every generator and constructor refuses an oversized request quickly, before allocating.

Each case runs under a small limit (``theory_rl.set_max_bytes``, restored afterwards) and must
raise :class:`SizeLimitError` in under a second with less than 2 MiB traced by tracemalloc
(numpy reports its allocations to tracemalloc). The reproductions of issue 17 (item 5) also
run under the default 4 GiB limit: they used to raise MemoryError or allocate tens of GiB.
"""

import time
import tracemalloc
from collections.abc import Mapping

import numpy as np
import pytest
import scipy.sparse as sp

import theory_rl
from theory_rl import combinatorial, envs, tabular
from theory_rl.errors import SizeLimitError
from theory_rl.models import POMDP, FiniteMDP

try:  # imported here so that tracemalloc does not count the import
    import gymnasium
except ImportError:
    gymnasium = None


class _HugeTable(Mapping):
    """A gymnasium-style ``P`` table of ``n`` states that builds its rows on demand."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, s):
        return {0: [(1.0, s, 0.0, False)]}

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class _Space:
    def __init__(self, n):
        self.n = n


class _HugeEnv:
    def __init__(self, n):
        self.P = _HugeTable(n)
        self.observation_space = _Space(n)
        self.action_space = _Space(1)


def _from_gymnasium(n):
    if gymnasium is None:
        pytest.skip("gymnasium is not installed")
    return envs.from_gymnasium(_HugeEnv(n), sparse=False)


# Requests above 1 MiB (and small enough that the cases without the guard would not crash).
SMALL_LIMIT_CASES = {
    "random_mdp dense": lambda: envs.random_mdp(400, 2),
    "random_mdp sparse": lambda: envs.random_mdp(20_000, 2, nnz_per_row=5),
    "garnet": lambda: envs.garnet(20_000, 2, 3),
    "forest dense": lambda: envs.forest(300, sparse=False),
    "forest sparse": lambda: envs.forest(100_000, sparse=True),
    "river_swim": lambda: envs.river_swim(300),
    "chain": lambda: envs.chain(300),
    "gridworld dense": lambda: envs.gridworld(15, 15, sparse=False),
    "gridworld sparse": lambda: envs.gridworld(100, 100, sparse=True),
    "from_gymnasium": lambda: _from_gymnasium(400),
    "FiniteMDP dense copy": lambda: FiniteMDP(np.broadcast_to(1 / 300, (300, 2, 300)), np.zeros((300, 2)), 0.9),
    "FiniteMDP sparse": lambda: FiniteMDP(sp.coo_matrix((100_000, 100_000)), np.zeros((100_000, 1)), 0.9),
    "POMDP observations": lambda: POMDP(np.ones((1, 1, 1)), np.broadcast_to(1e-6, (1, 1, 10**6)),
                                        np.zeros((1, 1)), 0.9),
    "backward_induction": lambda: tabular.backward_induction(FiniteMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 1.0,
                                                                       horizon=1), horizon=10**6),
    "make_cormab budget": lambda: combinatorial.make_cormab("budget", 20_000, 2),
    "make_cormab interventions": lambda: combinatorial.make_cormab("interventions", 500, 2),
    "make_cormab path": lambda: combinatorial.make_cormab("path", 200, 2),
}


@pytest.fixture
def small_limit():
    previous = theory_rl.set_max_bytes(2**20)
    yield
    theory_rl.set_max_bytes(previous)


# Fixed-size instances: refused under a 4 KiB limit.
FIXED_SIZE_CASES = {
    "cliff_walking": lambda: envs.cliff_walking(),
    "sutton_barto_gridworld": lambda: envs.sutton_barto_gridworld(),
    "combinatorial.CoRMAB.to_finite_mdp": lambda: combinatorial.make_cormab("budget", 3, 1, seed=0).to_finite_mdp(),
}


def _refused_quickly(call, max_peak=2 * 2**20):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(SizeLimitError) as info:
            call()
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0, elapsed
    assert peak < max_peak, peak
    return info.value


@pytest.mark.parametrize("name", sorted(SMALL_LIMIT_CASES))
def test_refused_under_a_small_limit(name, small_limit):
    err = _refused_quickly(SMALL_LIMIT_CASES[name])
    assert err.limit == 2**20 and err.nbytes > 2**20
    assert "theory_rl.set_max_bytes" in str(err) and "THEORY_RL_MAX_BYTES" in str(err)


@pytest.mark.parametrize("name", sorted(FIXED_SIZE_CASES))
def test_fixed_size_instances_refused_under_a_tiny_limit(name):
    previous = theory_rl.set_max_bytes(4096)
    try:
        _refused_quickly(FIXED_SIZE_CASES[name])
    finally:
        theory_rl.set_max_bytes(previous)


# The issue's reproductions, under the default limit.
DEFAULT_LIMIT_CASES = {
    "random_mdp(10**6, 2)": lambda: envs.random_mdp(10**6, 2),  # 14.6 TiB, raw MemoryError before
    "forest(10**9)": lambda: envs.forest(10**9),
    "gridworld(10**5, 10**5)": lambda: envs.gridworld(10**5, 10**5),
    "garnet(10**9, 10, 5)": lambda: envs.garnet(10**9, 10, 5),
    "zero-stride P": lambda: FiniteMDP(np.broadcast_to(np.float32(5e-4), (2000, 500, 2000)),
                                       np.zeros((2000, 500)), 0.9),
    "backward_induction(H=10**12)": lambda: tabular.backward_induction(
        FiniteMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 1.0, horizon=1), horizon=10**12),
    "make_cormab(n_arms=10**9)": lambda: combinatorial.make_cormab("budget", 10**9, 2),
}


@pytest.mark.parametrize("name", sorted(DEFAULT_LIMIT_CASES))
def test_issue_reproductions_refused_under_the_default_limit(name):
    previous = theory_rl.set_max_bytes(None)
    try:
        err = _refused_quickly(DEFAULT_LIMIT_CASES[name], max_peak=64 * 2**20)  # R itself is 8 MB
    finally:
        theory_rl.set_max_bytes(previous)
    assert err.limit == theory_rl.max_bytes()


def test_environment_variable_sets_the_limit(monkeypatch):
    previous = theory_rl.set_max_bytes(None)
    try:
        monkeypatch.setenv("THEORY_RL_MAX_BYTES", "1M")
        with pytest.raises(SizeLimitError, match=r"random_mdp with S = 400, A = 2: dense P of shape \(400, 2, 400\)"):
            envs.random_mdp(400, 2)
        monkeypatch.setenv("THEORY_RL_MAX_BYTES", "1G")
        assert envs.random_mdp(400, 2).n_states == 400
    finally:
        theory_rl.set_max_bytes(previous)


def test_models_below_the_limit_still_build(small_limit):
    assert envs.random_mdp(50, 2, seed=0).n_states == 50          # 50*2*50*9 B = 45 KB
    assert envs.forest(3000, sparse=True).n_states == 3000        # sparse: 0.7 MB estimated
    assert combinatorial.make_cormab("path", 20, 2, seed=0).n_arms == 20
    assert tabular.backward_induction(envs.chain(5).replace(gamma=1.0, horizon=10)).v.shape == (11, 5)


UPPER_BOUND_CASES = {
    "random_mdp dense": lambda: envs.random_mdp(300, 4, seed=0),
    "random_mdp sparse": lambda: envs.random_mdp(20_000, 4, nnz_per_row=10, seed=0),
    "garnet": lambda: envs.garnet(20_000, 4, 5, seed=0),
    "forest dense": lambda: envs.forest(1500, sparse=False),
    "gridworld sparse": lambda: envs.gridworld(300, 300, sparse=True),
    "river_swim": lambda: envs.river_swim(800),
    "make_cormab interventions": lambda: combinatorial.make_cormab("interventions", 2000, 3, seed=0),
}


@pytest.mark.parametrize("name", sorted(UPPER_BOUND_CASES))
def test_estimate_is_an_upper_bound_of_the_traced_peak(name):
    # measured ratios estimate / peak: 1.1 (dense kernels) to 3 (sparse builds)
    previous = theory_rl.set_max_bytes(1)
    try:
        with pytest.raises(SizeLimitError) as info:
            UPPER_BOUND_CASES[name]()
    finally:
        theory_rl.set_max_bytes(previous)
    tracemalloc.start()
    try:
        UPPER_BOUND_CASES[name]()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.nbytes >= peak


def test_backward_induction_refuses_a_horizon_whose_time_is_unbounded(monkeypatch):
    # S = 1, H = 10**7: 320 MB fits the memory limit, but 10**7 stages took minutes; the work guard
    # refuses before the first stage and names H, S, A and the estimate
    mdp = FiniteMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 1.0, horizon=1)
    previous = theory_rl.set_max_work(None)
    try:
        monkeypatch.delenv("THEORY_RL_MAX_WORK", raising=False)
        start = time.perf_counter()
        with pytest.raises(SizeLimitError, match=r"backward_induction \(horizon 10000000, 1 states, 1 actions\).*"
                                                 r"operations, above the work limit .*set_max_work"):
            tabular.backward_induction(mdp, horizon=10**7)
        assert time.perf_counter() - start < 1.0
        # the user can raise it (environment variable or set_max_work); a short horizon always runs
        monkeypatch.setenv("THEORY_RL_MAX_WORK", "1e6")
        with pytest.raises(SizeLimitError, match="work limit of 1e\\+06"):
            tabular.backward_induction(mdp, horizon=100)
        theory_rl.set_max_work(10**13)
        assert theory_rl.max_work() == 10**13
        assert tabular.backward_induction(mdp, horizon=100).v.shape == (101, 1)
    finally:
        theory_rl.set_max_work(previous)
