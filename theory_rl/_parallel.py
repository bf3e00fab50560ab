"""Work splitting for numba's parallel kernels, shared by the families that compile them."""

from __future__ import annotations

import numba

__all__ = ["n_chunks"]


def n_chunks(n: int) -> int:
    """Work items for ``n`` states/rows: ``8 * numba.get_num_threads()`` contiguous chunks (at most
    ``n``), so that the static schedule stays balanced when rows differ in length."""
    return max(1, min(int(n), 8 * numba.get_num_threads()))
