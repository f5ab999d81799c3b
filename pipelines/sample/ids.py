"""Ids, timestamps and small-vocabulary columns for millions of rows (numpy byte tables, no loop per row)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_PAIRS = np.ascontiguousarray(np.stack([_HEX[np.arange(256) >> 4], _HEX[np.arange(256) & 15]], axis=1))
_HEX_PAIRS16 = _HEX_PAIRS.view(np.uint16).ravel()  # byte value -> its two hex digits, as one uint16
_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _to_series(chars: np.ndarray, name: str) -> pl.Series:
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    data = pa.py_buffer(np.ascontiguousarray(chars))
    return pl.Series(name, pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), data))


def _random_bytes(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return np.frombuffer(rng.bytes(n * width), dtype=np.uint8).reshape(n, width)


def hex_chars(rng: np.random.Generator, n: int, nbytes: int) -> np.ndarray:
    """(n, 2*nbytes) array of lower-case hex digit bytes."""
    return _HEX_PAIRS16[_random_bytes(rng, n, nbytes)].view(np.uint8).reshape(n, 2 * nbytes)


def _with_prefix(prefix: str, body: np.ndarray) -> np.ndarray:
    if not prefix:
        return body
    head = np.broadcast_to(np.frombuffer(prefix.encode(), dtype=np.uint8), (body.shape[0], len(prefix)))
    return np.concatenate([head, body], axis=1)


def hex_ids(rng: np.random.Generator, n: int, nbytes: int, prefix: str = "", name: str = "id") -> pl.Series:
    return _to_series(_with_prefix(prefix, hex_chars(rng, n, nbytes)), name)


def uuid4s(rng: np.random.Generator, n: int, name: str = "id") -> pl.Series:
    """RFC 4122 version-4 UUID strings."""
    h = hex_chars(rng, n, 16)
    h[:, 12] = ord("4")
    h[:, 16] = _HEX[8 + (h[:, 16] % 4)]
    dash = np.full((n, 1), ord("-"), dtype=np.uint8)
    out = np.concatenate([h[:, :8], dash, h[:, 8:12], dash, h[:, 12:16], dash, h[:, 16:20], dash, h[:, 20:]], axis=1)
    return _to_series(out, name)


def prefixed_base62(rng: np.random.Generator, prefixes: np.ndarray, choices: Sequence[tuple[str, int] | None],
                    name: str) -> pl.Series:
    """Per row, ``choices[prefixes[i]]`` = (prefix, random base62 length) as a string, or null for ``None``."""
    n = prefixes.size
    lengths = np.zeros(len(choices), dtype=np.int64)
    for i, c in enumerate(choices):
        lengths[i] = 0 if c is None else len(c[0]) + c[1]
    row_len = lengths[prefixes]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(row_len, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    for i, c in enumerate(choices):
        rows = np.flatnonzero(prefixes == i)
        if c is None or rows.size == 0:
            continue
        chars = _with_prefix(c[0], _B62[_random_bytes(rng, rows.size, c[1]) % 62])
        data[(offsets[rows][:, None] + np.arange(chars.shape[1])).ravel()] = chars.ravel()
    valid = pa.py_buffer(np.packbits(row_len > 0, bitorder="little"))
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), valid)
    return pl.Series(name, arr)


def iso_ms(day: date, ms_of_day: np.ndarray, name: str) -> pl.Series:
    """RFC 3339 UTC timestamps with milliseconds (``2026-11-22T13:45:12.345Z``) for times within ``day``."""
    ms = np.asarray(ms_of_day, dtype=np.int64)
    fields = [(ms // 3_600_000, 2), (ms // 60_000 % 60, 2), (ms // 1000 % 60, 2), (ms % 1000, 3)]
    cols = [np.broadcast_to(np.frombuffer(f"{day.isoformat()}T".encode(), dtype=np.uint8), (ms.size, 11))]
    for (value, width), sep in zip(fields, "::.Z"):
        for p in range(width - 1, -1, -1):
            cols.append(_DIGITS[value // 10**p % 10][:, None])
        cols.append(np.full((ms.size, 1), ord(sep), dtype=np.uint8))
    return _to_series(np.concatenate(cols, axis=1), name)


def pick(values: Sequence[str | None], index: np.ndarray, name: str) -> pl.Series:
    """``values[index]`` as a polars Enum column (cheap to gather, written as plain strings)."""
    categories = list(dict.fromkeys(v for v in values if v is not None))
    return pl.Series(name, list(values), dtype=pl.Enum(categories)).gather(index)
