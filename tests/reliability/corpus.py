"""Broken files made from a good sample of any format: generic damage and field-level mistakes.

Field-level mistakes are found by name, in JSON (every line of JSON lines, or the whole document),
CSV or Parquet alike, so a format added later is covered as soon as it has a sample:
token counts (``…token…``), model ids, and timestamps (start/end times, ``timestamp``, ``date``…).
A mutation returns None when the sample has no such field.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import polars as pl

TOKEN_KEY = re.compile(r"token", re.I)
MODEL_KEY = re.compile(r"^(model|modelId|model_id)$")
TIME_KEY = re.compile(
    r"(^|_|\.)(start_time|end_time|starting_at|ending_at|timestamp|occurred_at|date|usage_start_time|usage_start_date|startTime|endTime)(_iso)?$",
    re.I,
)
UNKNOWN_MODEL = "no-such-model-9000"
# Above the readers' defaults (DuckDB: 16 MB per JSON object, 2 MB per CSV line).
HUGE_LINE_BYTES = 20 * 1024 * 1024
# CSV readers refuse a line above DuckDB's max_line_size (2 MB) and take ~15 s to say so about a 50 MB one;
# 3 MB takes the same path in about a second.
HUGE_CSV_LINE_BYTES = 3 * 1024 * 1024


def kind(path: Path) -> str:
    if path.suffix == ".parquet":
        return "parquet"
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            json.loads(text)
            return "json"
        except ValueError:
            return "jsonl"
    return "csv"


# ---- generic damage ---------------------------------------------------------------------------


def truncated(data: bytes) -> bytes:
    """Cut at 60 %, inside a line (a cut that happens to fall on a line end would only drop whole records)."""
    cut = int(len(data) * 0.6)
    while cut > 1 and data[cut - 1 : cut] in (b"\n", b"\r"):
        cut -= 3
    return data[:cut]


def latin1_line(data: bytes) -> bytes:
    """The last line gets a latin-1 'é' (byte 0xE9): not UTF-8."""
    lines = data.splitlines(keepends=True)
    i = len(lines) - 1
    pos = max(1, next((k for k, b in enumerate(lines[i]) if chr(b).isalpha() and k > 2), 1))
    lines[i] = lines[i][:pos] + b"\xe9" + lines[i][pos:]
    return b"".join(lines)


def all_bad(data: bytes, fmt_kind: str) -> bytes:
    """Every record unreadable: JSON lines of broken JSON, CSV rows of nonsense under the real header, or a
    JSON document whose every timestamp is nonsense (its envelope intact, so it is still that format)."""
    text = data.decode("utf-8-sig")
    if fmt_kind == "jsonl":
        return b"".join(b'{"broken": \n' for _ in text.splitlines() if _.strip())
    if fmt_kind == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows[0])
        for row in rows[1:]:
            writer.writerow(["???"] * len(row))
        return out.getvalue().encode()
    doc = json.loads(text)
    return json.dumps(_walk(doc, lambda k, v: "not-a-time" if TIME_KEY.search(k) else v)).encode()


def huge_line(data: bytes, fmt_kind: str) -> bytes:
    """A single line of 20 MB (3 MB in CSV, see HUGE_CSV_LINE_BYTES) after the good records; a JSON document
    becomes one line of 20 MB holding all of them."""
    filler = b"x" * (HUGE_CSV_LINE_BYTES if fmt_kind == "csv" else HUGE_LINE_BYTES)
    if fmt_kind == "json":  # the whole document on one line, its envelope padded: every record still valid
        doc = json.loads(data.decode("utf-8-sig"))
        if isinstance(doc, dict):
            return json.dumps({**doc, "x_padding": filler.decode()}).encode()
        return json.dumps([*doc, {"x_padding": filler.decode()}]).encode()
    if fmt_kind == "csv":
        header = data.decode("utf-8-sig").splitlines()[0]
        return data.rstrip(b"\n") + b"\n" + filler + b"," * header.count(",") + b"\n"
    return data.rstrip(b"\n") + b'\n{"x": "' + filler + b'"}\n'


# ---- field-level mistakes -------------------------------------------------------------------------


def _walk(value: Any, fn: Callable[[str, Any], Any], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, fn, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fn, key) for v in value]
    return fn(key, value)


def _epoch_ms(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 10**8:
        return int(value * 1000)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace(" UTC", "+00:00").replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = datetime.strptime(value, "%m/%d/%Y")
            except ValueError:
                return value
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return int(parsed.timestamp() * 1000)
    return value


class Mutation:
    """Change matching leaves (``change(key, value) -> new value``, or DROP to delete them)."""

    def __init__(self, change: Callable[[str, Any], Any], first_only: bool):
        self.change, self.first_only, self.hits = change, first_only, 0

    def __call__(self, key: str, value: Any) -> Any:
        if self.first_only and self.hits:
            return value
        new = self.change(key, value)
        if new is not value:
            self.hits += 1
        return new


DROP = object()


# Token fields that are not usage (a request's max_tokens setting) or only a derived total some formats ignore.
NOT_USAGE_KEY = re.compile(r"(^|_)(max|total)(_|$)|^max|total", re.I)


def negative_tokens(key, value):
    if NOT_USAGE_KEY.search(key):
        return value
    return -value if TOKEN_KEY.search(key) and isinstance(value, int) and not isinstance(value, bool) and value > 0 else value


def unknown_model(key, value):
    return UNKNOWN_MODEL if MODEL_KEY.match(key) and isinstance(value, str) else value


def times_in_ms(key, value):
    return _epoch_ms(value) if TIME_KEY.search(key) else value


def no_times(key, value):
    return DROP if TIME_KEY.search(key) else value


MISTAKES = {
    "negative_tokens": (negative_tokens, True),
    "unknown_model": (unknown_model, True),
    "timestamps_in_ms": (times_in_ms, False),
    "missing_time_field": (no_times, False),
}


def mistake(path: Path, name: str) -> bytes | None:
    """The sample with one field-level mistake, or None when the sample has no field it applies to."""
    change, first_only = MISTAKES[name]
    m = Mutation(change, first_only)
    fmt_kind = kind(path)
    if fmt_kind == "json":
        out = json.dumps(_prune(_walk(json.loads(path.read_text(encoding="utf-8-sig")), m))).encode()
    elif fmt_kind == "jsonl":
        out = "".join(_mutate_line(ln, m) + "\n" for ln in path.read_text(encoding="utf-8-sig").splitlines()).encode()
    else:
        df = pl.read_parquet(path) if fmt_kind == "parquet" else pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
        df = _mutate_frame(df, m, name)
        if df is None:
            return None
        if fmt_kind == "parquet":
            buf = io.BytesIO()
            df.write_parquet(buf)
            out = buf.getvalue()
        else:
            out = df.write_csv().encode()
    return out if m.hits else None


def _mutate_line(line: str, m: Mutation) -> str:
    try:
        return json.dumps(_prune(_walk(json.loads(line), m)))
    except ValueError:
        return line  # a line the sample already has broken stays as it is


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not DROP}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


KEYS = {"negative_tokens": TOKEN_KEY, "unknown_model": MODEL_KEY, "timestamps_in_ms": TIME_KEY, "missing_time_field": TIME_KEY}


def _mutate_frame(df: pl.DataFrame, m: Mutation, name: str) -> pl.DataFrame | None:
    """CSV or Parquet: the columns whose name matches, as text (the readers take every column as text)."""
    pattern = KEYS[name]
    for col in [c for c in df.columns if pattern.search(c)]:
        if name == "missing_time_field":
            df, m.hits = df.drop(col), m.hits + 1
            continue
        values = df[col].cast(pl.String).to_list()
        changed = []
        for v in values:
            numeric = _number(v)
            new = m(col, numeric if numeric is not None else v)
            changed.append(v if new is v or (numeric is not None and new == numeric) else str(new))
        df = df.with_columns(pl.Series(col, changed, dtype=pl.String))
        if m.first_only and m.hits:
            break
    return df


def _number(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d+(\.0+)?", value):
        return int(float(value))
    return None
