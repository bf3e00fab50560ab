"""Append-only JSON-lines result store: one record per finished task, keyed by the task hash."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError, ParseError, TheoryRLError

try:  # POSIX advisory locks; elsewhere the lock is a no-op (documented on StoreLock)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["ResultStore", "StoreLock", "StoreLockedError", "StoreRepair", "load_results", "repair_store"]


def _lock_holder(fd: int) -> str:
    """Who holds the lock, as its holder wrote it just after acquiring; a holder that acquired it
    an instant ago may not have written yet, so an empty file is read again for up to 0.5 s."""
    give_up = time.monotonic() + 0.5
    while True:
        os.lseek(fd, 0, os.SEEK_SET)
        holder = os.read(fd, 400).decode("utf-8", "replace").strip()
        if holder or time.monotonic() >= give_up:
            return holder or "another process"
        time.sleep(0.01)


class StoreLockedError(TheoryRLError, RuntimeError):
    """Another sweep holds the store's lock (the message names its process, host and start time).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from theory_rl.experiments import StoreLock, StoreLockedError
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "runs.jsonl"
    >>> with StoreLock(path):
    ...     try:
    ...         StoreLock(path).__enter__()
    ...     except StoreLockedError:
    ...         print("held by another sweep")
    held by another sweep
    """


def _hint(path: Path) -> str:
    return f"`theory-rl sweep --repair {path}` (or theory_rl.experiments.repair_store) drops it, keeping a backup"


class ResultStore:
    r"""A JSON-lines file that only ever grows.

    Each finished task is one line ``{"task": <hash>, "params": {...}, "replicate": r,
    "seed": s, "result": {...}, "elapsed": t}``, written with a single ``os.write`` on a file
    opened with ``O_APPEND`` and flushed to disk (``fsync``) before the next task is recorded, so
    a killed process leaves at most one partial last line. Reading skips that partial line (and
    the next append first cuts it off); a second record for a hash already present is ignored,
    so a task is never counted twice. No pickle: everything is plain JSON. Writers take the
    store's lock first (:meth:`lock`, :class:`StoreLock`); a corrupted line in the middle stops
    reading with a :class:`~theory_rl.errors.ParseError` naming it, and :func:`repair_store`
    drops it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from theory_rl.experiments import ResultStore
    >>> store = ResultStore(pathlib.Path(tempfile.mkdtemp()) / "runs.jsonl", fsync=False)
    >>> with store.open() as out:
    ...     out.write({"task": "a1", "params": {"n": 10}, "replicate": 0, "seed": 1, "result": {"error": 0.3}})
    >>> store.done(), [r["result"]["error"] for r in store.records()]
    ({'a1'}, [0.3])
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync

    def records(self) -> Iterator[dict[str, Any]]:
        """The complete records, first occurrence of each task hash only, in file order.

        Raises
        ------
        ParseError
            A complete line that is not a record (naming the line; :func:`repair_store` drops it).
        """
        if self.path.is_dir():
            raise InvalidArgumentError(f"store {self.path} is a directory, not a JSON-lines file")
        if not self.path.exists():
            return
        seen: set[str] = set()
        with open(self.path, "rb") as fh:
            data = fh.read()
        lines = data.split(b"\n")
        complete = lines[:-1]  # the last element is b"" after a final newline, else a partial line
        for lineno, raw in enumerate(complete, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ParseError(f"{self.path}: line {lineno} is not UTF-8 ({exc.reason} at byte {exc.start}); "
                                 f"{_hint(self.path)}",
                                 file=str(self.path), line=lineno, column=exc.start + 1) from None
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ParseError(f"{self.path}: line {lineno} is not valid JSON ({exc.msg}); {_hint(self.path)}",
                                 file=str(self.path), line=lineno, column=exc.colno) from None
            key = record.get("task") if isinstance(record, dict) else None
            if not isinstance(key, str):
                raise ParseError(f"{self.path}: line {lineno} has no 'task' key; {_hint(self.path)}",
                                 file=str(self.path), line=lineno,
                                 field="task")
            if key not in seen:
                seen.add(key)
                yield record

    def done(self) -> set[str]:
        """Hashes of the tasks already recorded."""
        return {r["task"] for r in self.records()}

    def _repair_tail(self) -> None:
        """Cut a partial last line left by a killed writer."""
        if not self.path.exists():
            return
        with open(self.path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)

    def lock(self, *, wait: float = 0.0) -> StoreLock:
        """The store's exclusive lock (a context manager): see :class:`StoreLock`."""
        return StoreLock(self.path, wait=wait)

    def open(self) -> _Appender:
        """A context manager that appends records (repairs a torn tail first)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        return _Appender(self.path, self.fsync)

    def to_dataframe(self):
        """The records as a pandas DataFrame: one row per task, ``params`` and ``result`` flattened
        into columns (``task``, ``replicate``, ``seed``, ``elapsed`` kept)."""
        import pandas as pd

        rows = [flatten_record(r) for r in self.records()]
        return pd.DataFrame(rows)


def flatten_record(record: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"task": record["task"]}
    row.update(record.get("params", {}))
    row["replicate"] = record.get("replicate")
    row["seed"] = record.get("seed")
    result = record.get("result", {})
    row.update(result if isinstance(result, dict) else {"result": result})
    row["elapsed"] = record.get("elapsed")
    return row


class _Appender:
    def __init__(self, path: Path, fsync: bool) -> None:
        self.path, self.fsync = path, fsync

    def __enter__(self) -> _Appender:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, allow_nan=True) + "\n").encode()
        written = os.write(self.fd, line)
        if written != len(line):  # pragma: no cover - a full disk
            raise OSError(f"{self.path}: short write ({written} of {len(line)} bytes)")
        if self.fsync:
            os.fsync(self.fd)

    def __exit__(self, *exc: Any) -> None:
        os.close(self.fd)


class StoreLock:
    r"""An exclusive lock on a store, so that two sweeps never write one store at once.

    The lock is ``fcntl.flock(LOCK_EX)`` on the file ``<store>.lock`` beside the store (created if
    missing, never deleted: deleting a lock file races with the next locker). The kernel releases
    it when the holder exits, however it exits (a killed sweep leaves no stale lock). The holder
    writes its process id, host and start time into the file, and the error a second sweep gets
    quotes them. :class:`Sweep` holds the lock from reading the finished tasks to writing the
    last one, and :func:`repair_store` while it rewrites, so a second sweep on the same store
    either fails at once (``wait=0``, the default) or waits up to ``wait`` seconds and then
    resumes from the first one's records: no task runs twice.

    ``flock`` locks are advisory and local to one machine's kernel (on NFS they may not reach
    other hosts); on systems without ``fcntl`` (Windows) the lock does nothing.

    Parameters
    ----------
    path : path
        The store (the lock file is ``path`` + ``".lock"``).
    wait : float
        Seconds to wait for another holder (``0``: fail at once; ``math.inf``: wait forever).

    Raises
    ------
    StoreLockedError
        When entered while another process (or another ``StoreLock`` on the same store) holds the
        lock for longer than ``wait``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from theory_rl.experiments import StoreLock
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "runs.jsonl"
    >>> with StoreLock(path):
    ...     print("locked:", (path.parent / "runs.jsonl.lock").exists())
    locked: True
    """

    def __init__(self, path: str | os.PathLike[str], *, wait: float = 0.0) -> None:
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait >= 0:
            raise InvalidArgumentError(f"wait = {wait!r} must be a number of seconds >= 0")
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.wait = float(wait)
        self._fd: int | None = None

    def __enter__(self) -> StoreLock:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            deadline = time.monotonic() + self.wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = _lock_holder(fd)
                        os.close(fd)
                        waited = f" after waiting {self.wait:g} s" if self.wait else ""
                        raise StoreLockedError(
                            f"store {self.path} is being written by another sweep ({holder}){waited}; "
                            "wait for it to finish (theory-rl sweep --wait SECONDS, Sweep(..., wait=...)) or use "
                            "another store") from None
                    time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


@dataclass(frozen=True)
class StoreRepair:
    """What :func:`repair_store` did.

    Attributes
    ----------
    path : Path
        The store.
    backup : Path or None
        The copy of the original file (``None`` when nothing was dropped or ``dry_run``).
    kept : int
        Lines kept (complete records, duplicates included).
    dropped : tuple of int
        1-based numbers of the lines dropped, in file order.
    reasons : tuple of str
        Why each was dropped (same order as ``dropped``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from theory_rl.experiments import repair_store
    >>> store = pathlib.Path(tempfile.mkdtemp()) / "s.jsonl"
    >>> with store.open("w") as f:
    ...     print('{"task": "a", "result": {}}', file=f)
    ...     print('{broken', file=f)
    >>> report = repair_store(store)
    >>> type(report).__name__, report.kept, report.dropped
    ('StoreRepair', 1, (2,))
    """

    path: Path
    backup: Path | None
    kept: int
    dropped: tuple[int, ...]
    reasons: tuple[str, ...]


def _line_problem(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 ({exc.reason} at byte {exc.start})"
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg}, column {exc.colno})"
    except RecursionError:
        return "not valid JSON (nested too deeply)"
    if not isinstance(record, dict) or not isinstance(record.get("task"), str):
        return "no 'task' key"
    return None


def repair_store(path: str | os.PathLike[str], *, dry_run: bool = False, wait: float = 0.0) -> StoreRepair:
    """Drop the corrupted lines of a result store, keeping a backup of the original.

    A line is corrupted when it is not UTF-8, not JSON, or not a record (an object with a string
    ``"task"`` key); an unterminated last line (a writer killed mid-write) is dropped too. Blank
    lines are dropped without being reported. The good lines are kept byte for byte and in order
    (duplicate records stay: readers count the first one). The original is first copied to
    ``<store>.bak`` (``<store>.bak.1``, ... if that exists), then the store is replaced atomically
    (``os.replace``) under the store's lock (:class:`StoreLock`), so a sweep cannot append
    meanwhile. The tasks whose lines were dropped simply run again on the next resume.

    Parameters
    ----------
    path : path
        The JSON-lines store.
    dry_run : bool
        Only report what would be dropped.
    wait : float
        Seconds to wait for a sweep holding the store's lock.

    Returns
    -------
    StoreRepair
        The dropped line numbers and why, the number of lines kept, and the backup's path.

    Raises
    ------
    InvalidArgumentError
        The store does not exist or is a directory.
    StoreLockedError
        A sweep is writing the store.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from theory_rl.experiments import repair_store
    >>> store = pathlib.Path(tempfile.mkdtemp()) / "s.jsonl"
    >>> _ = store.write_text('{"task": "a", "result": {}}\\n{broken\\n{"task": "b", "result": {}}\\n')
    >>> report = repair_store(store)
    >>> report.dropped, report.kept, report.backup.name
    ((2,), 2, 's.jsonl.bak')
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidArgumentError(f"store {path} does not exist or is not a file")
    with StoreLock(path, wait=wait):
        data = path.read_bytes()
        lines = data.split(b"\n")
        kept: list[bytes] = []
        dropped: list[int] = []
        reasons: list[str] = []
        for lineno, raw in enumerate(lines, start=1):
            last = lineno == len(lines)
            if last and raw == b"":
                break
            if not raw.strip():
                continue
            problem = "unterminated last line (a writer was killed mid-write)" if last else _line_problem(raw)
            if problem is None:
                kept.append(raw)
            else:
                dropped.append(lineno)
                reasons.append(problem)
        if dry_run or not dropped:
            return StoreRepair(path=path, backup=None, kept=len(kept), dropped=tuple(dropped), reasons=tuple(reasons))
        backup = path.with_name(path.name + ".bak")
        n = 0
        while backup.exists():
            n += 1
            backup = path.with_name(f"{path.name}.bak.{n}")
        backup.write_bytes(data)
        tmp = path.with_name(path.name + ".repair-tmp")
        with open(tmp, "wb") as fh:
            fh.write(b"".join(line + b"\n" for line in kept))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return StoreRepair(path=path, backup=backup, kept=len(kept), dropped=tuple(dropped), reasons=tuple(reasons))


def load_results(path: str | os.PathLike[str]):
    """Load a sweep's store into a pandas DataFrame (see :meth:`ResultStore.to_dataframe`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from theory_rl.experiments import Sweep, load_results
    >>> def f(*, x, seed):
    ...     return {"y": 2 * x}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.jsonl"
    >>> _ = Sweep(f, {"x": [1, 2]}, seeds=1, backend="serial", progress=False, store=path).run()
    >>> sorted(load_results(path)["y"].tolist())
    [2, 4]
    """
    return ResultStore(path).to_dataframe()
