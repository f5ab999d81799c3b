"""Value-level and row-level damage for the bad-input corpus: every value lands exactly as given or is quarantined
with its reason, one malformed row costs one row, a broken page set is refused.

Like ``corpus.py``, each case is made from a format's good sample and finds its field by name (JSON, JSON lines,
CSV or Parquet alike; OTel attributes by their ``key``), returning None when the sample has no such field:

- numbers: a fractional token count (as a number and as text), one past BIGINT;
- timestamps: the zone taken off, an offset of +25:00;
- identities: an empty model or provider, a call id given as a number or an object;
- page sets: ``has_more`` without ``next_page``, ``results`` that is not a list;
- CSV rows: one short, one long, one with a quote never closed, mixed CRLF/LF line ends (with and without a bad row).

``call_id_repeated`` (a record again with another token count) is built by :func:`repeated_record`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Callable

import polars as pl

from tests.reliability.corpus import NOT_USAGE_KEY, Mutation, _mutate_line, _number, _prune, kind

# Usage counts: keys with "token", and Langfuse's usageDetails ("input", "output", "input_cache_read", ...).
COUNT_KEY = re.compile(r"token|^(input|output)$|^input_cache|^output_reasoning", re.I)
# The field that says when a record happened (a billing period's start date is not read by any format).
START_KEY = re.compile(
    r"(^|\.)(occurred_at|startTime|timestamp|starting_at|start_time|start_time_iso|usage_start_time|date)$|usage_start_date$",
    re.I,
)
ZONE = re.compile(r"(Z|[+-]\d\d:?\d\d| UTC)$")
MODEL_KEY = re.compile(r"^(model|modelId|model_id)$")
OTEL_VALUES = ("intValue", "doubleValue", "stringValue")


def _count(key: str, value: Any) -> int | None:
    if not COUNT_KEY.search(key) or NOT_USAGE_KEY.search(key) or isinstance(value, bool):
        return None
    number = _number(value) if isinstance(value, str) else value
    return number if isinstance(number, int) and number > 0 else None


def fractional(key, value):
    n = _count(key, value)
    return value if n is None else n + 0.5


def fractional_text(key, value):
    n = _count(key, value)
    return value if n is None else f"{n}.5"


def past_bigint(key, value):
    return value if _count(key, value) is None else 10**20


def zoneless(key, value):
    if START_KEY.search(key) and isinstance(value, str) and ZONE.search(value):
        return ZONE.sub("", value)
    return value


def offset_25(key, value):
    if START_KEY.search(key) and isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\d|\d\d/\d\d/\d{4}", value):
        return ZONE.sub("", value) + "+25:00"
    return value


def empty_model(key, value):
    return "" if MODEL_KEY.match(key) and isinstance(value, str) else value


def empty_provider(key, value):
    return "" if key == "provider" and isinstance(value, str) else value


def call_id_number(key, value):
    return 12345 if key == "call_id" and isinstance(value, str) else value


def call_id_object(key, value):
    return {"id": value} if key == "call_id" and isinstance(value, str) else value


FIELD_CASES: dict[str, Callable[[str, Any], Any]] = {
    "fractional_tokens": fractional,
    "fractional_tokens_as_text": fractional_text,
    "tokens_past_bigint": past_bigint,
    "zoneless_time": zoneless,
    "offset_25h": offset_25,
    "empty_model": empty_model,
    "empty_provider": empty_provider,
    "call_id_number": call_id_number,
    "call_id_object": call_id_object,
}
JSON_ONLY = {"fractional_tokens_as_text", "call_id_number", "call_id_object"}


def field_case(path: Path, name: str) -> bytes | None:
    """The sample with its first matching field changed by case ``name``, or None when it has none."""
    fmt_kind = kind(path)
    if name in JSON_ONLY and fmt_kind not in ("json", "jsonl"):
        return None
    m = Mutation(FIELD_CASES[name], first_only=True)
    if fmt_kind == "json":
        out = json.dumps(_prune(_walk(json.loads(path.read_text(encoding="utf-8-sig")), m))).encode()
    elif fmt_kind == "jsonl":
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        out = "".join(_mutate_line_attrs(ln, m) + "\n" for ln in lines).encode()
    elif fmt_kind == "csv":
        out = _csv_text(path, m)
    else:
        buf = io.BytesIO()
        _frame(pl.read_parquet(path), m).write_parquet(buf)
        out = buf.getvalue()
    return out if m.hits else None


def _csv_text(path: Path, m: Mutation) -> bytes:
    """CSV: the first matching value of the first column it applies to, changed in its line; every other byte kept."""
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    header = next(csv.reader([lines[0].decode("utf-8-sig").rstrip("\r")]))
    rows = [(i, next(csv.reader([ln.decode("utf-8").rstrip("\r")]))) for i, ln in enumerate(lines) if i and ln.strip()]
    for j, col in enumerate(header):
        for i, values in rows:
            if j >= len(values):
                continue
            numeric = _number(values[j])
            new = m(col, numeric if numeric is not None else values[j])
            if m.hits:
                values[j] = str(new)
                out = io.StringIO()
                csv.writer(out, lineterminator="").writerow(values)
                lines[i] = out.getvalue().encode() + (b"\r" if lines[i].endswith(b"\r") else b"")
                return b"\n".join(lines)
    return raw


def _mutate_line_attrs(line: str, m: Mutation) -> str:
    try:
        return json.dumps(_prune(_walk(json.loads(line), m)))
    except ValueError:
        return _mutate_line(line, m)


def _walk(value: Any, fn, key: str = "") -> Any:
    """corpus._walk, also into OTel attributes ``{"key": K, "value": {"intValue": …}}`` (the field is K)."""
    if isinstance(value, dict):
        if set(value) == {"key", "value"} and isinstance(value["value"], dict) and len(value["value"]) == 1:
            (kind_, inner), = value["value"].items()
            if kind_ in OTEL_VALUES:
                old = _number(inner) if kind_ == "intValue" else inner
                new = fn(value["key"], old)
                if new is old:
                    return value
                typed = "doubleValue" if isinstance(new, float) else "intValue" if isinstance(new, int) else "stringValue"
                return {"key": value["key"], "value": {typed: str(new) if typed == "intValue" else new}}
        return {k: _walk(v, fn, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fn, key) for v in value]
    return fn(key, value)


def _frame(df: pl.DataFrame, m: Mutation) -> pl.DataFrame:
    """Parquet: the first matching value of the first column it applies to, as text."""
    for col in df.columns:
        try:
            values = df[col].cast(pl.String).to_list()
        except pl.exceptions.InvalidOperationError:  # a map or a list (CUR's product, resource_tags)
            continue
        for i, v in enumerate(values):
            numeric = _number(v)
            new = m(col, numeric if numeric is not None else v)
            if m.hits:
                values[i] = str(new)
                return df.with_columns(pl.Series(col, values, dtype=pl.String))
    return df


# ---- page sets -----------------------------------------------------------------------------------


def page_case(path: Path, name: str) -> bytes | None:
    """An admin-API page set cut short (``has_more`` with no ``next_page``) or with ``results`` not a list."""
    if kind(path) != "json" and kind(path) != "jsonl":
        return None
    text = path.read_text(encoding="utf-8-sig")
    try:
        docs = [json.loads(text)] if kind(path) == "json" else [json.loads(ln) for ln in text.splitlines() if ln.strip()]
    except ValueError:  # a sample with a broken line on purpose is not a page set
        return None
    pages = [d for doc in docs for d in (doc if isinstance(doc, list) else [doc])]
    if not pages or not all(isinstance(p, dict) and "has_more" in p and isinstance(p.get("data"), list) for p in pages):
        return None
    last = pages[-1]
    if name == "page_set_cut_short":
        last.update(has_more=True, next_page=None)
    elif last["data"] and isinstance(last["data"][0], dict) and "results" in last["data"][0]:
        last["data"][0]["results"] = 7
    else:
        return None
    return (json.dumps(docs[0]) if kind(path) == "json" else "".join(json.dumps(d) + "\n" for d in docs)).encode()


PAGE_CASES = ("page_set_cut_short", "results_not_a_list")


# ---- CSV rows --------------------------------------------------------------------------------------


def csv_case(path: Path, name: str) -> bytes | None:
    """A CSV sample with one malformed row after its first record (or only its line ends mixed)."""
    if kind(path) != "csv":
        return None
    lines = path.read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")
    header, first = lines[0], lines[1]
    width = len(next(csv.reader([header.decode("utf-8-sig")])))
    bad = {
        "short_csv_row": b",".join([b"x"] * max(1, width // 2)),
        "long_csv_row": first + b",extra,extra",
        "unclosed_quote_csv_row": b'x,"never closed' + b",x" * (width - 2),
        "mixed_line_ends_and_a_short_row": b",".join([b"x"] * max(1, width // 2)),
        "mixed_line_ends": None,
    }[name]
    rows = [header, first] + ([bad] if bad is not None else []) + lines[2:]
    ends = [b"\r\n" if name.startswith("mixed_line_ends") and i % 2 else b"\n" for i in range(len(rows))]
    return b"".join(r + end for r, end in zip(rows, ends))


CSV_CASES = ("short_csv_row", "long_csv_row", "unclosed_quote_csv_row", "mixed_line_ends_and_a_short_row", "mixed_line_ends")


# ---- a record repeated with other content -----------------------------------------------------------


def repeated_record(path: Path) -> bytes | None:
    """The sample with its first record written again, one token count changed (another content, same id)."""
    fmt_kind = kind(path)
    if fmt_kind == "jsonl":
        lines = [ln for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
        m = Mutation(lambda k, v: v + 1 if _count(k, v) is not None and isinstance(v, int) else v, first_only=True)
        for i, line in enumerate(lines):
            changed = _mutate_line_attrs(line, m)
            if m.hits:
                return "\n".join(lines[: i + 1] + [changed] + lines[i + 1:]).encode() + b"\n"
        return None
    if fmt_kind == "csv":
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        header = rows[0]
        for col in ("prompt_tokens", "input_tokens"):
            if col in header and len(rows) > 1 and _number(rows[1][header.index(col)]) is not None:
                copy = list(rows[1])
                copy[header.index(col)] = str(_number(copy[header.index(col)]) + 1)
                out = io.StringIO()
                csv.writer(out, lineterminator="\n").writerows([header, rows[1], copy, *rows[2:]])
                return out.getvalue().encode()
    return None
