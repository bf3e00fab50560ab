"""Lazy torch access, device resolution and tensor conversion shared by every family that uses torch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DependencyNotInstalled, InvalidArgumentError

__all__ = ["require_torch", "resolve_device", "device_and_dtype", "as_tensor", "to_numpy", "seed_torch", "mlp"]


def require_torch() -> Any:
    """``import torch`` on first use; a missing install raises :class:`DependencyNotInstalled`."""
    try:
        import torch
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise DependencyNotInstalled("torch", "torch") from None
    return torch


def resolve_device(device: Any) -> Any:
    """``torch.device`` from ``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device`` or ``"auto"``
    (CUDA when available, else CPU). A bad name, or CUDA without it, raises :class:`InvalidArgumentError`."""
    torch = require_torch()
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidArgumentError(f"device = {device!r} is not a torch device: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgumentError(f"device = {device!r} was requested but CUDA is not available")
    return dev


def device_and_dtype(device: Any, dtype: Any) -> tuple[Any, Any]:
    """``(resolve_device(device), dtype)`` with ``dtype`` defaulting to ``torch.float64``."""
    torch = require_torch()
    return resolve_device(device), torch.float64 if dtype is None else dtype


def as_tensor(x: Any, *, device: Any, dtype: Any) -> Any:
    """``x`` (numpy array, list or tensor) as a contiguous tensor on ``device`` with ``dtype``."""
    torch = require_torch()
    if isinstance(x, torch.Tensor):
        return x.to(device=device, dtype=dtype).contiguous()
    a = np.asarray(x)
    if not a.flags.c_contiguous:  # reversed (negative-stride) views; ascontiguousarray would turn a 0-d array 1-d
        a = np.ascontiguousarray(a)
    return torch.as_tensor(a, dtype=dtype, device=device).contiguous()


def to_numpy(x: Any) -> np.ndarray:
    """A tensor (any device) or array as a numpy array."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def seed_torch(seed: int | np.random.Generator | None) -> Any:
    """A seeded CPU ``torch.Generator`` and the matching global seed for network initialisation,
    drawn from ``seed`` through :func:`~theory_rl._validation.rng_from_seed`."""
    from ._validation import rng_from_seed

    torch = require_torch()
    rng = rng_from_seed(seed)
    value = int(rng.integers(0, 2**62))
    torch.manual_seed(value)
    gen = torch.Generator()
    gen.manual_seed(value)
    return gen


class single_thread:  # noqa: N801 - used as a context manager, reads like one
    """Run torch CPU work on one intra-op thread, restoring the previous setting afterwards.

    The neural learners here run many tiny kernels (batch 64, a few hundred hidden units): with
    several threads each kernel pays a synchronisation that costs far more than the arithmetic,
    and on a shared machine the threads spin against other processes (measured: 1.3 ms against
    77 ms per Adam step of a 32-unit MLP on a loaded 2-core machine). GPU work is unaffected.
    """

    def __init__(self, device: Any) -> None:
        self.active = getattr(device, "type", str(device)) == "cpu"

    def __enter__(self) -> single_thread:
        if self.active:
            torch = require_torch()
            self._previous = torch.get_num_threads()
            torch.set_num_threads(1)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.active:
            require_torch().set_num_threads(self._previous)


def mlp(n_in: int, n_out: int, hidden: tuple[int, ...], *, activation: str = "relu", device: Any = None,
        dtype: Any = None) -> Any:
    """``Linear -> act -> ... -> Linear`` (no hidden layer: one linear map), ``act`` ReLU or tanh,
    moved to ``device`` (unchanged when ``None``) in ``dtype`` (default ``torch.float32``). The
    layers are created input to output, so a seeded generator gives the same weights to every
    caller of the same sizes."""
    torch = require_torch()
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[activation]
    layers: list[Any] = []
    sizes = [int(n_in), *(int(h) for h in hidden)]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), act()]
    layers.append(torch.nn.Linear(sizes[-1], int(n_out)))
    return torch.nn.Sequential(*layers).to(device=device, dtype=dtype or torch.float32)
