"""Append-only JSON-lines result store: one record per finished task, keyed by the task hash."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ParseError

__all__ = ["ResultStore", "load_results"]


class ResultStore:
    r"""A JSON-lines file that only ever grows.

    Each finished task is one line ``{"task": <hash>, "params": {...}, "replicate": r,
    "seed": s, "result": {...}, "elapsed": t}``, written with a single ``os.write`` on a file
    opened with ``O_APPEND`` and flushed to disk (``fsync``) before the next task is recorded, so
    a killed process leaves at most one partial last line. Reading skips that partial line (and
    the next append first cuts it off); a second record for a hash already present is ignored,
    so a task is never counted twice. No pickle: everything is plain JSON.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync

    def records(self) -> Iterator[dict[str, Any]]:
        """The complete records, first occurrence of each task hash only, in file order."""
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
                raise ParseError(f"{self.path}: line {lineno} is not UTF-8 ({exc.reason} at byte {exc.start})",
                                 file=str(self.path), line=lineno, column=exc.start + 1) from None
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ParseError(f"{self.path}: line {lineno} is not valid JSON ({exc.msg})",
                                 file=str(self.path), line=lineno, column=exc.colno) from None
            key = record.get("task") if isinstance(record, dict) else None
            if not isinstance(key, str):
                raise ParseError(f"{self.path}: line {lineno} has no 'task' key", file=str(self.path), line=lineno,
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


def load_results(path: str | os.PathLike[str]):
    """Load a sweep's store into a pandas DataFrame (see :meth:`ResultStore.to_dataframe`)."""
    return ResultStore(path).to_dataframe()
