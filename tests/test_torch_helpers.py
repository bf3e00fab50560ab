"""The root torch helpers: ``as_tensor`` keeps shapes (0-d stays 0-d) and takes reversed views."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theory_rl._torch import as_tensor  # noqa: E402


def test_as_tensor_keeps_a_scalar_zero_dimensional():
    # regression: np.ascontiguousarray(0.9) is 1-d, which made batched VI reject gamma = 0.9
    assert as_tensor(0.9, device="cpu", dtype=torch.float64).shape == ()
    assert as_tensor(np.float64(0.5), device="cpu", dtype=torch.float64).shape == ()


def test_as_tensor_takes_a_reversed_view():
    x = np.arange(6.0)[::-1]
    t = as_tensor(x, device="cpu", dtype=torch.float64)
    assert t.tolist() == x.tolist()
