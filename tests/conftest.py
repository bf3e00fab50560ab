import os

import pytest

from theory_rl.checks import register_profiles

register_profiles()

# Notebook and benchmark code read this; tests always run in the fast mode.
os.environ.setdefault("THEORY_RL_FAST", "1")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)
