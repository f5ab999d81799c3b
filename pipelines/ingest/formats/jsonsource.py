"""Where an app log's JSON records come from, whatever the file's layout, and running a parser's query over them.

``json_records_sql`` yields one row per record of JSON lines, a JSON array or a paged envelope; ``first_record``
gives the first one for sniffing; ``run_sql`` runs the parser's query on its own UTC connection.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb

from pipelines.db import connect
from pipelines.ingest.formats.base import read_error
from pipelines.ingest.formats.envelopes import check_data_envelopes
from pipelines.ingest.formats.lines import MAX_LINE_BYTES, lines_sql


def json_records_sql(path: Path) -> str:
    """SQL yielding ``(_record, j JSON)``: one row per JSON object, whatever the file's layout.

    JSON lines (an object per line; a line holding a paged envelope ``{"data": [...]}``
    yields its items), a JSON array of objects, or one (pretty-printed) envelope. A line
    that is not JSON comes back with ``j`` null so the caller can quarantine it.
    """
    layout = _json_layout(path)
    if layout != "array" and _has_envelope(path):
        con = connect()
        try:
            check_data_envelopes(con, path)  # a page whose data is not a list is refused, never "0 records"
        finally:
            con.close()
    if layout == "lines":
        return f"""
            select _record, unnest(case
                    when not json_valid(raw) then [null::json]
                    when json_type(raw::json) = 'OBJECT' and json_type(raw::json, '$.data') = 'ARRAY'
                        then json_extract(raw::json, '$.data[*]')
                    else [raw::json] end) as j
            from {lines_sql()}
            where trim(raw) <> ''"""
    if layout == "array":
        return f"""
            select _record, json as j
            from read_json_objects($path, format='array', maximum_object_size={MAX_LINE_BYTES})
                with ordinality as r(json, _record)"""
    return """
        select i._record, i.j
        from read_text($path) as f,
             unnest(json_extract(f.content::json, '$.data[*]')) with ordinality as i(j, _record)"""


def _has_envelope(path: Path) -> bool:
    with open(path, "rb") as fh:
        return b'"data"' in fh.read(4096)


def _json_layout(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4096).decode("utf-8-sig", errors="replace").lstrip()
    if head.startswith("["):
        return "array"
    if head.startswith("{"):
        first = head.split("\n", 1)[0].strip()
        try:
            json.loads(first)
            return "lines"
        except ValueError:
            return "document"  # a single pretty-printed envelope
    return "lines"


def first_record(sample) -> dict:
    """The first record of a JSON-lines file, JSON array or paged envelope, for sniffing.

    Works on the head of the file only: when the head cuts a large array or envelope, the
    first item is decoded on its own.
    """
    text = sample.text.lstrip()
    for candidate in (sample.first_line, text):
        try:
            return _record_of(json.loads(candidate))
        except ValueError:
            continue
    start = re.match(r"\[\s*", text) or re.search(r'"data"\s*:\s*\[\s*', text)
    if start:
        try:
            return _record_of(json.JSONDecoder().raw_decode(text, start.end())[0])
        except ValueError:
            return {}
    return {}


def _record_of(doc) -> dict:
    if isinstance(doc, list):
        doc = doc[0] if doc else {}
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        doc = doc["data"][0] if doc["data"] else {}
    return doc if isinstance(doc, dict) else {}


def run_sql(path: Path, sql: str, params: dict):
    """Run a parser's query on its own UTC connection; a reader choking on the file is an InputError."""
    con = connect()
    try:
        return con.sql(sql, params=params).pl()
    except (duckdb.InvalidInputException, duckdb.ConversionException) as e:
        raise read_error(path, e) from None
    finally:
        con.close()
