"""Compilation never counts against a time limit: the numba kernels of the anytime POMDP solvers
are compiled (or loaded from numba's cache) before the solver's clock starts.

A fake clock stands in for the wall clock and jumps 100 s inside the first call of a compiled
kernel, as a cold compilation does. Before the warm-up existed, that jump fell inside the budget
and the run stopped at its time limit with a wide interval; now it falls before the clock's start.
"""

from __future__ import annotations

import pytest

from theory_rl import pomdp
from theory_rl.pomdp import _bounds, _point_search


@pytest.fixture
def compiling_clock(monkeypatch):
    """A fake wall clock, advanced 100 s by the first call of the search's ``_expand`` kernel and
    of value iteration's warm-up (as a cold numba compilation would be); the warm-ups forgotten."""
    t = [0.0]
    monkeypatch.setitem(_bounds.CLOCKS, "wall", lambda: t[0])
    monkeypatch.setattr(_point_search, "_WARMED", set())
    monkeypatch.setattr(_bounds, "_VI_WARMED", set())
    real = _point_search._expand
    calls = [0]

    def expand(*args):
        calls[0] += 1
        if calls[0] == 1:
            t[0] += 100.0
        return real(*args)

    monkeypatch.setattr(_point_search, "_expand", expand)
    return t, calls


@pytest.mark.parametrize("solver", [pomdp.hsvi2, pomdp.sarsop])
def test_compilation_falls_before_the_clock_starts(compiling_clock, solver):
    t, calls = compiling_clock
    tiger = pomdp.load_problem("tiger.95.POMDP")
    sol = solver(tiger, tol=1e-3, time_limit=10.0)
    assert calls[0] > 1 and t[0] == 100.0  # the compile-time jump happened ...
    assert sol.converged and sol.upper - sol.lower <= 1e-3  # ... and the run still had its full budget
    assert sol.history["time"][0] == 0.0 and sol.elapsed == 0.0


def test_the_warm_up_runs_once_per_process(compiling_clock):
    tiger = pomdp.load_problem("tiger.95.POMDP")
    pomdp.hsvi2(tiger, tol=1e-2)
    assert len(_point_search._WARMED) == 1 and _bounds._VI_WARMED == {False}  # tiger is dense: one layout
    t, calls = compiling_clock
    before = calls[0]
    pomdp.hsvi2(tiger, tol=1e-2)
    warm_calls = calls[0] - before
    _point_search._WARMED.clear()
    before = calls[0]
    pomdp.hsvi2(tiger, tol=1e-2)
    assert calls[0] - before > warm_calls  # forgetting the warm-up runs the tiny search again
    pomdp.hsvi2(tiger.to_sparse(), tol=1e-2)
    assert len(_point_search._WARMED) == 2 and _bounds._VI_WARMED == {False, True}  # and once for CSR models


CHILD = """
import warnings
warnings.simplefilter("ignore")
import numba
from theory_rl import envs, pomdp
from theory_rl.pomdp import _bounds
from theory_rl.tabular import _kernels

def compiled():
    return {k: len(v.signatures) for k, v in vars(_kernels).items() if isinstance(v, numba.core.registry.CPUDispatcher)}

model = envs.tiger()
_bounds.warm_up_value_iteration(model.is_sparse)   # what pbvi and perseus run before their clock
before = compiled()
pomdp.pbvi(model, n_expansions=1, max_iter=3, seed=0)
pomdp.perseus(model, n_beliefs=10, max_iter=3, seed=0)
print({k: v for k, v in compiled().items() if v != before[k]})
"""


def test_pbvi_and_perseus_compile_nothing_inside_their_clock():
    """In a fresh process (numba kernels not yet compiled or loaded), the warm-up that runs before
    pbvi's and perseus's clocks leaves no kernel for their timed part to compile."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "{}"
