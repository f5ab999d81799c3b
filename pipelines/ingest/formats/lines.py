"""The JSON-lines reader: a file of one JSON record per line, read by DuckDB into typed columns.

:func:`jsonl_records` takes a clean file of flat records in one DuckDB pass (``read_json`` straight to typed
columns); any other file goes through the line reader, which keeps every line with its number and renders it with
:func:`pipelines.ingest.formats.fields.records_sql`. ``LINES``/``LINE_ARGS`` are how every reader of the project
reads a file as lines; :class:`LineCounter` counts them.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.db import sql_ident, sql_str
from pipelines.ingest.formats.fields import Field, has_money, records_sql
from pipelines.ingest.formats.values import INTEGER_TYPES

MAX_LINE_BYTES = 256 * 1024 * 1024

# The file ``$path`` as lines of text (``raw``; blank lines null): a "CSV" of one column with no delimiter,
# quote or escape. Every line reader of the project reads through these arguments.
LINE_ARGS = (
    "columns={'raw': 'VARCHAR'}, header=false, delim=chr(30), quote='', escape='', auto_detect=false, "
    f"max_line_size={MAX_LINE_BYTES}"
)
LINES = f"read_csv($path, {LINE_ARGS})"
_REJECTS = "tb_line_rejects"


def _unreadable_lines(con, path: Path) -> str:
    """Lines SQL for a file with lines DuckDB cannot read (not UTF-8, too long): those become records with a reason.

    The reader skips them and logs them with their line numbers; the readable lines are renumbered so
    every record keeps its own line number.
    """
    con.execute(f"drop table if exists {_REJECTS}")
    con.execute(f"drop table if exists {_REJECTS}_scans")
    opts = f"ignore_errors=true, store_rejects=true, rejects_table='{_REJECTS}', rejects_scan='{_REJECTS}_scans'"
    con.execute(
        f"create or replace temp table tb_lines as select row_number() over () as k, raw from read_csv($path, {LINE_ARGS}, {opts})",
        {"path": str(path)},
    )
    total = con.execute(f"select (select count(*) from tb_lines) + (select count(*) from {_REJECTS})").fetchall()[0][0]
    con.execute(
        "create or replace temp table tb_line_numbers as "
        f"select line, row_number() over (order by line) as k from range(1, $n + 1) as t(line) "
        f"where line not in (select line from {_REJECTS})",
        {"n": total},
    )
    return f"""
        select n.line as _record, l.raw, null as _readable from tb_lines as l join tb_line_numbers as n using (k)
        union all
        select line as _record, csv_line as raw,
               case when error_type = 'INVALID ENCODING' then 'not valid UTF-8 text (wrong encoding? export the file as UTF-8)'
                    else lower(error_type) || ': ' || error_message end as _readable
        from {_REJECTS}
    """



def jsonl_records(con, path: Path, fields: list[Field], lines: int | None = None) -> pl.DataFrame:
    """Read a JSON-lines file with DuckDB, one typed column per field, vectorised.

    Every line keeps its number (``_record``). A line that is not JSON, or whose
    field does not convert to its type, or lacks a required field, gets
    ``_error_field``/``_error_reason`` instead of being dropped; the caller
    quarantines those. Field paths and types are code constants; the file path
    is bound as a parameter. ``lines``: the file's line count, when the caller has counted it.
    """
    fast = _read_json_records(con, path, fields, lines)
    if fast is not None:
        return fast
    sql = records_sql("{lines}", fields)
    params = {"path": str(path)}
    try:
        # Numbering the lines is sequential; parsing them is not: number them into a table first, so the
        # JSON work below runs on every core instead of in the numbering's single thread.
        con.execute(
            f"create or replace temp table tb_numbered as "
            f"select row_number() over () as _record, raw, null::varchar as _readable from {LINES}",
            params,
        )
    except duckdb.InvalidInputException as e:
        if "CSV Error" not in str(e):
            raise
        return _arrow_frame(con, sql.replace("{lines}", _unreadable_lines(con, path)))
    try:
        return _arrow_frame(con, sql.replace("{lines}", "select * from tb_numbered"))
    finally:
        con.execute("drop table if exists tb_numbered")


def _arrow_frame(con, sql: str, params: dict | None = None) -> pl.DataFrame:
    """A whole file's rows as a Polars frame: the relation API hands Arrow over without the copy a DB-API result makes."""
    return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())


_TOP_LEVEL = re.compile(r"^\$\.[A-Za-z_][A-Za-z0-9_]*$")


def _read_json_records(con, path: Path, fields: list[Field], lines: int | None = None) -> pl.DataFrame | None:
    """The fast path for a clean file of flat records: DuckDB's own JSON reader, straight to typed columns.

    It parses each line once, on every core, where the line reader below parses it three times. A value it
    accepts converts here exactly as there (``true`` is a token count in neither); anything it does not read the
    same way (see ``_fast_checks``) sends the file to the line reader. It is taken only when it can promise what
    the line reader does: the fields are top-level keys,
    every line is a JSON object DuckDB reads (else it raises), no line is blank (blank lines are skipped, so the
    row count would not be the line count and records would lose their line numbers), and no record is bad
    (a required field missing, a value that does not convert). Otherwise ``None``: the line reader keeps each
    bad line as written.
    """
    read = clean_read_sql(fields, has_money([f.type for f in fields]) and _has_json_literal(path))
    if read is None:
        return None
    source, bad, texts = read
    try:
        df = _arrow_frame(con, f"select * exclude ({texts}), ({bad}) as _bad from ({source})", {"path": str(path)})
    except duckdb.Error:
        return None
    if df.height != (lines if lines is not None else _line_count(path)) or df["_bad"].any():
        return None
    # Insertion order is the file's order, so the row index is the line number.
    return df.drop("_bad").with_row_index("_record", offset=1).with_columns(
        pl.col("_record").cast(pl.Int64), pl.lit(None, pl.String).alias("_error_field"), pl.lit(None, pl.String).alias("_error_reason")
    )


def clean_read_sql(fields: list[Field], literals: bool) -> tuple[str, str, str] | None:
    """The fast path's reading, shared by :func:`_read_json_records` and the one-pass landing (``pipelines.ingest.clean``):
    (SQL of the file ``$path``'s records as typed ``fields`` beside their text as read, SQL true for a record the fast
    path may not read, the text columns to drop after). ``None`` when the fields cannot be read this way.

    A money field is read by DuckDB's reader straight to its DECIMAL type: from the number's text as written, as the
    line reader casts it (its text read as VARCHAR would be a double's), and a value that is not a number raises.
    Only JSON's ``true``/``false`` it reads as 1/0 where the line reader quarantines them: a file with either word
    anywhere (``literals``, from :class:`LiteralScan`) is not read this way when it has money."""
    if not fields or not all(_TOP_LEVEL.match(f.source) for f in fields):
        return None
    money = [f for f in fields if has_money([f.type])]
    if money and literals:
        return None
    texts = [f for f in fields if f not in money]
    columns = "{" + ", ".join(f"{sql_str(f.source[2:])}: {sql_str(f.type if f in money else 'VARCHAR')}" for f in fields) + "}"
    read = {f.name: f"_in_{f.name}" for f in texts}  # the field's text as read
    inner = ", ".join(f"{sql_ident(f.source[2:])} as {read[f.name] if f in texts else sql_ident(f.name)}" for f in fields)
    typed = ", ".join(f"{_fast_typed(f, read[f.name])} as {sql_ident(f.name)}" for f in texts)
    bad = " or ".join(f"({check})" for check in _fast_checks(fields, read)) or "false"
    source = (
        f"select *{', ' + typed if typed else ''} from (select {inner} "
        f"from read_json($path, format = 'newline_delimited', columns = {columns}, maximum_object_size = {MAX_LINE_BYTES}))"
    )
    return source, bad, ", ".join(read.values())


def _has_json_literal(path: Path) -> bool:
    scan = LiteralScan()
    with open(path, "rb") as f:
        while not scan.found and (block := f.read(1 << 24)):
            scan.update(block)
    return scan.found


def _fast_typed(f: Field, text: str) -> str:
    # Values that pass _fast_checks (whole numbers of plain digits, timestamps in the usual RFC 3339 shapes) read
    # with a plain cast as Field.typed reads them.
    return f"try_cast({text} as {f.type})" if f.type in (*INTEGER_TYPES, "TIMESTAMPTZ") else f.typed(text)


# RFC 3339 as apps write it (JavaScript's toISOString, Python's isoformat in UTC), checked by its shape (a fraction
# of a regular expression's cost; the cast that must succeed too rejects anything but digits between the
# separators); other shapes (offsets, other precisions) go to the line reader's exact rule.
_TIMESTAMP_SHAPES = [f"____-__-__T__:__:__{fraction}{zone}" for fraction in (".___", "", ".______") for zone in ("Z", "+00:00")]


# What a JSON number, boolean, object or list reads as in a VARCHAR column (an identity's text that may not have
# been a string: the line reader decides by its JSON type).
_NOT_A_STRING = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?|true|false|[{\[].*"
# The first characters such text can start with: - 0-9 [ f t {. An identity starting with any other character
# cannot match, and skips the regular expression.
_NOT_A_STRING_STARTS = "45, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 91, 102, 116, 123"


def _fast_checks(fields: list[Field], read: dict[str, str]) -> list[str]:
    """Conditions that send the file to the line reader: a bad record, or a value the fast path does not read the
    way the line reader does (it decides exactly). Cheap on the common case: timestamps are checked by their
    shape, whole numbers by casting back to text, identities by a regular expression only when their first
    character could start what it looks for (a ``case``, which DuckDB does not reorder)."""
    checks = []
    for f in fields:
        if f.name not in read:  # read typed (money): a value that does not convert raised already
            checks += [f"{sql_ident(f.name)} is null"] if f.required else []
            continue
        t = read[f.name]
        if f.required:
            checks.append(f"{t} is null")
        if f.is_identity:  # the line reader tells a string from a number, a boolean or an object by its JSON type
            # trim() strips space separators only: text that trims to '' is empty or starts with one (32, or past 126)
            checks.append(f"case when ascii({t}) between 33 and 126 then false else trim({t}) = '' end")
            checks.append(f"case when ascii({t}) in ({_NOT_A_STRING_STARTS}) then regexp_full_match({t}, '{_NOT_A_STRING}') "
                          "else false end")
        elif f.type in INTEGER_TYPES:
            # Not convertible, or a text other than the number's own digits (a fraction, an exponent, a sign, a
            # leading zero, a spelling: 0x1F, 1_000): the line reader's exact rules decide. One comparison for both.
            checks.append(f"{sql_ident(f.name)}::VARCHAR is distinct from {t}")
        elif f.type != "VARCHAR":
            checks.append(f"{t} is not null and {sql_ident(f.name)} is null")
        if f.type == "TIMESTAMPTZ":
            # Each shape has its own length in bytes: one LIKE per value, not six (text with a character of more than
            # one byte fits none, and goes to the line reader).
            shapes = " ".join(f"when {len(g)} then {t} like {sql_str(g)}" for g in _TIMESTAMP_SHAPES)
            checks.append(f"not (case strlen({t}) {shapes} else false end)")
    return checks


class LineCounter:
    """The lines of a byte stream fed to it block by block; a last line without its newline counts."""

    def __init__(self) -> None:
        self.newlines, self._last = 0, b"\n"

    def update(self, block: bytes) -> None:
        if block:
            # numpy compares a whole block at once: a third of bytes.count's time
            self.newlines += int(np.count_nonzero(np.frombuffer(block, np.uint8) == 10))
            self._last = block[-1:]

    @property
    def lines(self) -> int:
        return self.newlines + (self._last != b"\n")


class LiteralScan:
    """Whether the bytes ``true`` or ``false`` occur in a byte stream fed to it block by block (in a string too)."""

    def __init__(self) -> None:
        self.found, self._tail = False, b""

    def update(self, block: bytes) -> None:
        if not self.found and block:
            # A word cut by the block's start is found in the last bytes of the block before and the first of this one.
            seam = self._tail + block[:4]
            self.found = b"true" in seam or b"false" in seam or b"true" in block or b"false" in block
            self._tail = block[-4:]


def _line_count(path: Path) -> int:
    counter = LineCounter()
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            counter.update(block)
    return counter.lines


def lines_sql(numbered: bool = True) -> str:
    """Every line of the file ``$path`` as ``raw`` (blank lines as null), with its 1-based number ``_record``.

    A buffer as large as the longest allowed line lets DuckDB split the file across threads.
    Numbering (``with ordinality``) keeps the pipeline in file order on one thread; a big file
    reads ``numbered=False`` and counts lines itself (see ``otel.py``).
    """
    if not numbered:
        return LINES
    return f"read_csv($path, {LINE_ARGS}, buffer_size={MAX_LINE_BYTES}) with ordinality as lines(raw, _record)"
