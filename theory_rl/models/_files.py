"""Hardened readers for model files: ``.npz`` archives and JSON documents.

Every check happens before the data is used or allocated, and every failure is a
:class:`~theory_rl.errors.ParseError` naming the file and the field:

- ``.npz``: each member's ``.npy`` header is read on its own (``numpy.lib.format``, header size
  capped) and its declared dtype and shape are checked (no object dtype: nothing is ever
  unpickled; the declared size must fit in the member and under
  :func:`theory_rl.max_bytes`) before a byte of data is read.
- JSON: the nesting depth is measured by a vectorised scan of the text before ``json.loads``
  (which recurses once per level and raises ``RecursionError`` on 100,000 nested brackets),
  and the file size is guarded against the memory its Python objects take.
"""

from __future__ import annotations

import json
import math
import os
import re
import tokenize
import zipfile
import zlib
from typing import Any

import numpy as np

from .._validation import check_allocation
from ..errors import ParseError, SizeLimitError

__all__ = ["MAX_JSON_DEPTH", "MAX_NPY_HEADER", "MAX_NPZ_MEMBERS", "read_json", "read_npz"]

#: Deepest JSON nesting accepted (a model file needs 4: the top object and a dense ``P``).
MAX_JSON_DEPTH = 64
#: Largest ``.npy`` header accepted, in bytes (numpy's own default cap).
MAX_NPY_HEADER = 10_000
#: Most members accepted in one ``.npz`` archive (a model file has at most 16).
MAX_NPZ_MEMBERS = 64
#: Python objects per byte of JSON text, an upper estimate: ``0.1,`` (5 bytes) becomes a float
#: (24 bytes) and a list slot (8 bytes), and the decoded arrays are copied once more.
_JSON_BYTES_PER_CHAR = 8

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _line_column(text: bytes, pos: int) -> tuple[int, int]:
    line = text.count(b"\n", 0, pos) + 1
    return line, pos - (text.rfind(b"\n", 0, pos) + 1) + 1


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = np.zeros(256, dtype=np.int64)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def _blank_strings(text: bytes) -> bytes:
    return _STRING.sub(lambda m: b'""' + b" " * (len(m.group()) - 2), text)


def json_depth(text: bytes) -> int:
    """The deepest bracket nesting of a JSON text (brackets inside strings ignored).

    String literals are blanked (one regular-expression pass), every byte but the brackets is
    deleted (``bytes.translate``, C speed) and the depth is a cumulative sum over the brackets
    alone: measured 13 ms for a 2.2 MB model file (``json.loads``: 125-145 ms), 2 ms for
    100,000 nested brackets (which ``json.loads`` cannot decode: ``RecursionError``; a
    ``json.JSONDecoder`` with object hooks recurses the same way before any hook runs).
    """
    brackets = np.frombuffer(_blank_strings(text).translate(None, _NOT_BRACKETS), dtype=np.uint8)
    return int(np.cumsum(_STEP[brackets]).max()) if brackets.size else 0


def _depth_position(text: bytes, depth: int) -> int:
    """Byte offset of the bracket where the nesting first reaches ``depth`` (error messages only)."""
    steps = _STEP[np.frombuffer(_blank_strings(text), dtype=np.uint8)]
    where = np.flatnonzero(steps)
    return int(where[int(np.argmax(np.cumsum(steps[where]) >= depth))])


def read_json(path: str) -> dict[str, Any]:
    """The top-level object of a JSON file, after the size and depth checks."""
    try:
        size = os.path.getsize(path)
        check_allocation(_JSON_BYTES_PER_CHAR * size, f"decoding the {size}-byte JSON file {path}")
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=path) from None
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        line, column = _line_column(raw, _depth_position(raw, depth))
        raise ParseError(f"JSON nested {depth} deep, more than the {MAX_JSON_DEPTH} levels allowed",
                         file=path, line=line, column=column)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    except json.JSONDecodeError as exc:
        raise ParseError(exc.msg, file=path, line=exc.lineno, column=exc.colno) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer over Python's 4300-digit limit
        raise ParseError(f"unreadable JSON value: {exc}", file=path) from None
    if not isinstance(doc, dict):
        raise ParseError("expected a JSON object at the top level", file=path)
    return doc


def _npy_header(fh: Any, path: str, key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh, max_header_size=MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh, max_header_size=MAX_NPY_HEADER)
        else:
            raise ParseError(f".npy format version {version} is not supported (1.0 or 2.0)", file=path, field=key)
    except ParseError:
        raise
    except (ValueError, TypeError, SyntaxError, OverflowError, EOFError, OSError, RecursionError,
            tokenize.TokenError, zipfile.BadZipFile, zlib.error) as exc:  # numpy tokenizes old headers
        raise ParseError(f"malformed .npy header: {exc}", file=path, field=key) from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise ParseError(f"refused to load dtype {dtype} (object and structured arrays are never unpickled)",
                         file=path, field=key)
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise ParseError(f"malformed .npy header: shape {shape!r}", file=path, field=key)
    return shape, fortran, dtype


def read_npz(path: str) -> dict[str, np.ndarray]:
    """Every member of an ``.npz`` archive as an array, after checking each header.

    The declared sizes (Python integers from the headers) are summed and guarded with
    :func:`~theory_rl._validation.check_allocation`; a member whose header declares more data
    than the member holds is refused before anything is read.
    """
    if not zipfile.is_zipfile(path):
        raise ParseError("not a readable .npz archive (not a zip file)", file=path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_NPZ_MEMBERS:
                raise ParseError(f"the archive has {len(infos)} members, more than {MAX_NPZ_MEMBERS}", file=path)
            keys = [info.filename.removesuffix(".npy") for info in infos]
            if len(set(keys)) != len(keys):
                raise ParseError("the archive holds two members of the same name", file=path)
            headers = {}
            for info, key in zip(infos, keys):
                if not info.filename.endswith(".npy"):
                    raise ParseError(f"member {info.filename!r} is not an .npy array", file=path, field=key)
                with zf.open(info) as fh:
                    shape, fortran, dtype = _npy_header(fh, path, key)
                    offset = fh.tell()
                nbytes = math.prod(shape) * dtype.itemsize
                if nbytes > info.file_size - offset:
                    raise ParseError(f"the header declares shape {shape} of {dtype} ({nbytes} bytes) but the "
                                     f"member holds {max(info.file_size - offset, 0)} bytes of data",
                                     file=path, field=key)
                headers[key] = (info, shape, fortran, dtype, nbytes)
            check_allocation(sum(h[4] for h in headers.values()),
                             f"the arrays of {path} (shapes {[h[1] for h in headers.values()]})")
            out = {}
            for key, (info, shape, fortran, dtype, nbytes) in headers.items():
                data = bytearray(nbytes)
                with zf.open(info) as fh:
                    _npy_header(fh, path, key)
                    n_read = fh.readinto(data)
                if n_read != nbytes:
                    raise ParseError(f"truncated: {n_read} of {nbytes} bytes", file=path, field=key)
                arr = np.frombuffer(data, dtype=dtype)
                out[key] = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
            return out
    except (ParseError, SizeLimitError):
        raise
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, ValueError, NotImplementedError) as exc:
        raise ParseError(f"not a readable .npz archive ({exc})", file=path) from None
