"""Vectorised random draws shared by the families that simulate finite models."""

from __future__ import annotations

import numpy as np

__all__ = ["sample_rows"]


def sample_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (shape ``(n, k)``), by inverting the cumulative
    sums; a row need not sum to 1 (it is scaled by its total), and rounding in the sums never
    yields an index past ``k - 1``."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)
