"""Fixtures shared by the POMDP tests."""

import numpy as np
import pytest

from theory_rl.models import POMDP


@pytest.fixture
def tiger_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tiger (Kaelbling, Littman & Cassandra 1998) as fresh arrays ``(T[s, a, s'], O[a, s', o], R[s, a])``:
    actions listen, open-left, open-right; listening hears the tiger's side with probability 0.85."""
    T = np.zeros((2, 3, 2))
    T[:, 0, :] = np.eye(2)
    T[:, 1:, :] = 0.5
    O = np.full((3, 2, 2), 0.5)  # noqa: E741
    O[0] = [[0.85, 0.15], [0.15, 0.85]]
    R = np.array([[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]])
    return T, O, R


@pytest.fixture
def tiger_model(tiger_arrays: tuple[np.ndarray, np.ndarray, np.ndarray]) -> POMDP:
    """The Tiger POMDP of :func:`tiger_arrays` with ``gamma = 0.95``."""
    return POMDP(*tiger_arrays, 0.95)
