"""What every input format provides, and the helpers parsers share.

A format is recognised by content (:meth:`InputFormat.sniff` on a :class:`Sample`
of the file's head) and turns a file into rows of one lake table
(:meth:`InputFormat.parse`). Parsers do not validate against the contract; the
registry does that once for all formats (see ``pipelines.ingest.validate``).
Each row carries ``_record``: its line or record number in the file, so a bad
row can be quarantined with where it came from.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import polars as pl

from pipelines.ingest.formats.values import INTEGER_TYPES, not_a, typed_sql
from pipelines.settings import Settings

SAMPLE_BYTES = 64 * 1024
QUARANTINE_SCHEMA = {"record": pl.Int64, "field": pl.String, "reason": pl.String, "raw": pl.String}


class InputError(ValueError):
    """A whole file cannot be read. The message names the file, record and field."""

    def __init__(self, path: Path | str, reason: str, record: int | None = None, field: str | None = None):
        where = f"{path}"
        if record is not None:
            where += f", record {record}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {reason}")
        self.path, self.reason, self.record, self.field = str(path), reason, record, field


def read_error(path: Path | str, error: Exception) -> InputError:
    """A reader's exception on a malformed file as an InputError: the file, the record DuckDB names, a plain reason."""
    text = str(error)
    where = re.search(r"(?:on Line|in record/value|in line):? (\d+)", text)
    # DuckDB's CSV errors: "CSV Error on Line: N", "Original Line: <the line>", then what is wrong.
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not ln.startswith("Original Line:")]
    record = int(where.group(1)) if where else None
    if isinstance(error, UnicodeDecodeError) or "Invalid unicode" in text or "not utf-8" in text:
        reason = "not valid UTF-8 text (wrong encoding? export the file as UTF-8)"
    elif "Malformed JSON" in text:
        detail = lines[0].rsplit(":", 1)[-1].strip().rstrip(".")
        reason = f"not valid JSON: {detail}" + (" (the file looks truncated)" if "end of data" in detail else "")
    elif size := re.search(r"Maximum line size of (\d+) bytes exceeded", text):
        # The line number DuckDB gives here comes from its sniffer (often 1), not the long line: left out.
        record = None
        reason = f"a line is longer than the reader's limit of {int(size.group(1)):,} bytes"
    else:
        first = lines[0] if lines else type(error).__name__
        if "CSV Error on Line" in first and len(lines) > 1:
            first = lines[1]
        reason = first.replace("Invalid Input Error: ", "").replace("Conversion Error: ", "")
    return InputError(path, reason, record=record)


@dataclass
class Sample:
    """The head of a file, decoded once, for format detection."""

    path: Path
    head: bytes

    @classmethod
    def of(cls, path: Path) -> "Sample":
        with open(path, "rb") as f:
            return cls(path=path, head=f.read(SAMPLE_BYTES))

    @cached_property
    def text(self) -> str:
        return self.head.decode("utf-8-sig", errors="replace")

    @cached_property
    def first_line(self) -> str:
        return self.text.lstrip().split("\n", 1)[0].strip()

    @cached_property
    def first_json(self) -> Any:
        """The first JSON value: the first line of a JSON-lines file, or a whole (small) JSON document."""
        for candidate in (self.first_line, self.text):
            try:
                return json.loads(candidate)
            except ValueError:
                continue
        if len(self.head) < SAMPLE_BYTES:
            return None
        # A large single JSON document: read it whole only for detection of envelope keys.
        try:
            return json.loads(self.path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            return None

    @cached_property
    def csv_header(self) -> list[str]:
        if self.text.lstrip().startswith(("{", "[")):
            return []
        try:
            row = next(csv.reader(io.StringIO(self.first_line)))
        except (StopIteration, csv.Error):
            return []
        return [c.strip().strip('"') for c in row]

    def has_columns(self, *names: str, case_insensitive: bool = True) -> bool:
        header = [h.lower() for h in self.csv_header] if case_insensitive else self.csv_header
        return all((n.lower() if case_insensitive else n) in header for n in names)


@dataclass
class ParseContext:
    settings: Settings
    landed_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # Lines in the file (or piece) being parsed, when the lander counted them already; else the reader counts.
    lines: int | None = None
    # The delivery this file is: its content hash (what a newer delivery of the same facts replaces).
    delivery_id: str | None = None

    @cached_property
    def models(self):
        from pipelines.pricing.models import ModelCatalog

        return ModelCatalog.from_settings(self.settings)


@dataclass
class Parsed:
    """A file turned into rows of one lake table, plus the records it could not read."""

    rows: pl.DataFrame
    quarantine: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=QUARANTINE_SCHEMA))
    # How many records of the table's kind the file held; defaults to the records landed + quarantined.
    # A row may hold several records (column ``_n``, e.g. a billing export summed to its facts).
    records_in: int | None = None
    # Records read but not about LLM spend or usage (a CUR's EC2 lines, an export's empty-bucket rows):
    # neither landed nor quarantined, and not part of ``records_in``; reported so nothing vanishes unseen.
    skipped: int = 0
    # Rows for further tables read from the same records (a CUR's token usage beside its costs):
    # table -> rows, finished, validated and written like ``rows``; counted in ``LandResult.also``.
    extra: dict[str, pl.DataFrame] = field(default_factory=dict)
    # Whether the file is a complete delivery of the days and models it holds (see ``InputFormat.complete``);
    # None: the format's default. A page set cut short (``has_more`` on its last page) is not.
    complete: bool | None = None


class InputFormat:
    """Base class: subclasses set ``name`` and ``table`` and implement ``sniff`` and ``parse``."""

    name: ClassVar[str]
    table: ClassVar[str]
    description: ClassVar[str] = ""
    # One record per line, ``_record`` = line number: a big file may be landed in pieces cut at line ends.
    line_records: ClassVar[bool] = False
    # Provider usage and cost formats: which channel delivers the facts, and how it ranks against the
    # provider's other channels for the same usage (1 = the provider's own usage report, 2 = a billing
    # export, 3 = per-call invocation logs). Formats that read the same facts the same way (an admin API
    # page and the dashboard's CSV of it) share a channel. ``complete``: a file of this format holds every
    # fact of each (day, model) it covers, so it replaces an earlier delivery of them entirely, lines it no
    # longer lists included; otherwise it adds to them (newest version per ``line_key``).
    # See ``models/macros/current_facts.sql``.
    channel: ClassVar[str | None] = None
    channel_rank: ClassVar[int] = 2
    complete: ClassVar[bool] = False

    def sniff(self, sample: Sample) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:  # pragma: no cover - interface
        raise NotImplementedError


def quarantine_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=QUARANTINE_SCHEMA) if rows else pl.DataFrame(schema=QUARANTINE_SCHEMA)


@dataclass(frozen=True)
class Field:
    """One field to pick out of a JSON record: ``path`` is a JSONPath, ``type`` a DuckDB type."""

    name: str
    path: str
    type: str = "VARCHAR"
    required: bool = False

    @property
    def is_identity(self) -> bool:
        """A required text field (an id, a provider, a model): it must be a JSON string, and not blank."""
        return self.required and self.type == "VARCHAR"

    def typed(self, text: str) -> str:
        return typed_sql(text, self.type)


MAX_LINE_BYTES = 256 * 1024 * 1024

# JSON keys whose numbers are money in the formats read (OpenAI amount.value, OpenRouter usage, GCP cost, rate and
# credits[].amount, an outcome's value). DuckDB's JSON functions read a number as a double, so 987654.321098765432
# would come back as 987654.3210987655: these numbers are quoted in the raw text first and reach DECIMAL as written.
MONEY_KEYS = ("value", "amount", "usage", "cost", "currency_conversion_rate")
_MONEY_NUMBER = r'("(?:' + "|".join(MONEY_KEYS) + r')"\s*:\s*)(-?[0-9][0-9.eE+-]*)'


def money_as_text(json_text: str) -> str:
    """SQL: the JSON text ``json_text`` (an expression) with each number under a money key written as a string.
    A key inside a JSON string has its quotes escaped, so only real keys match."""
    return f"regexp_replace({json_text}, {_sql_str(_MONEY_NUMBER)}, '\\1\"\\2\"', 'g')"


def has_money(types: list[str]) -> bool:
    return any(t.upper().startswith("DECIMAL") for t in types)


def _field_checks(f: Field, text: str, typed: str, json_type: str | None = None) -> list[tuple[str, str]]:
    """(condition, reason) SQL for each way field ``f`` makes its record bad, given the field's ``text``, its
    ``typed`` value and (for an identity field) the SQL of its JSON type: the one rule set both JSON readers below
    apply."""
    checks = []
    if f.required:
        checks.append((f"{text} is null", "'missing required field'"))
    if f.is_identity and json_type is not None:
        kind = (f"(case {json_type} when 'OBJECT' then 'an object' when 'ARRAY' then 'an array' "
                f"when 'BOOLEAN' then 'a boolean' else 'a number' end)")
        checks.append((f"{json_type} <> 'VARCHAR'", f"'must be a string, not ' || {kind} || ': ' || left({text}, 80)"))
    if f.is_identity:
        checks.append((f"trim({text}) = ''", "'empty value'"))
    if f.type != "VARCHAR":
        checks.append((f"{text} is not null and {typed} is null", f"'not {not_a(f.type)}: ' || left({text}, 80)"))
    return checks


def records_sql(source: str, fields: list[Field]) -> str:
    """SQL picking typed ``fields`` out of the JSON records of ``source`` (columns ``_record``, ``raw``,
    ``_readable``: null, or why the record could not be read).

    One column per field and ``_raw_<field>`` text, plus ``_error_field``/``_error_reason`` for records to
    quarantine (feed the result to ``split_errors``): not JSON, not an object, a required field missing, a
    value that does not convert to its type.
    """
    paths = ", ".join(_sql_str(f.path) for f in fields)
    typed = ",\n".join(f"{f.typed(f'_v[{i + 1}]')} as {f.name}, _v[{i + 1}] as _raw_{f.name}" for i, f in enumerate(fields))
    identities = [f for f in fields if f.is_identity]
    if identities:
        typed += ", " + ", ".join(f"_t[{i + 1}] as _type_{f.name}" for i, f in enumerate(identities))
    checks = [
        f"when {condition} then {_sql_str(f.name + '|')} || {reason}"
        for f in fields
        for condition, reason in _field_checks(f, f"_raw_{f.name}", f.name, f"_type_{f.name}")
    ]
    # The JSON type of identity fields: a number or an object where an id belongs is refused, not turned into text.
    json_types = (
        f", case when json_valid(raw) then json_type(raw, [{', '.join(_sql_str(f.path) for f in identities)}]) end as _t"
        if identities else ""
    )
    check_sql = " ".join(checks) or "when false then null"
    # The line's text and the fields' text only matter for lines that go to quarantine: null elsewhere,
    # so a good row does not carry its whole line (and each field twice) through Arrow and Polars.
    raw_if_bad = ", ".join(
        f"case when _err is not null then {c} end as {c}" for c in ["raw", *(f"_raw_{f.name}" for f in fields)]
    )
    text = money_as_text("raw") if has_money([f.type for f in fields]) else "raw"
    parsed = f"""
        select _record, raw, _readable, json_valid(raw) as _ok,
               case when json_valid(raw) then json_extract_string({text}, [{paths}]) end as _v{json_types}
        from lines where raw is not null and trim(raw) <> ''"""
    sql = f"""
        with lines as ({source}),
        parsed as ({parsed}),
        typed as (select _record, raw, _readable, _ok, {typed} from parsed),
        checked as (
            select *,
                   case when _readable is not null then '$|' || _readable
                        when not _ok then '$|not valid JSON'
                        when json_type(raw) <> 'OBJECT' then '$|not a JSON object'
                        {check_sql} end as _err
            from typed
        )
        select * exclude (_err, _ok, _readable{"".join(f", _type_{f.name}" for f in identities)}) replace ({raw_if_bad}),
               split_part(_err, '|', 1) as _error_field,
               nullif(substr(_err, length(split_part(_err, '|', 1)) + 2), '') as _error_reason
        from checked
    """
    return sql


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
    if not fields or not all(_TOP_LEVEL.match(f.path) for f in fields) or has_money([f.type for f in fields]):
        return None  # (DuckDB's reader would read a money number as a double)
    columns = "{" + ", ".join(f"{_sql_str(f.path[2:])}: 'VARCHAR'" for f in fields) + "}"
    read = {f.name: f"_in_{f.name}" for f in fields}  # the field's text as read
    inner = ", ".join(f"{sql_ident(f.path[2:])} as {read[f.name]}" for f in fields)
    typed = ", ".join(f"{_fast_typed(f, read[f.name])} as {sql_ident(f.name)}" for f in fields)
    bad = " or ".join(f"({check})" for check in _fast_checks(fields, read)) or "false"
    sql = (
        f"select * exclude ({', '.join(read.values())}), ({bad}) as _bad "
        f"from (select *, {typed} from (select {inner} "
        f"from read_json($path, format = 'newline_delimited', columns = {columns}, maximum_object_size = {MAX_LINE_BYTES})))"
    )
    try:
        df = _arrow_frame(con, sql, {"path": str(path)})
    except duckdb.Error:
        return None
    if df.height != (lines if lines is not None else _line_count(path)) or df["_bad"].any():
        return None
    # Insertion order is the file's order, so the row index is the line number.
    return df.drop("_bad").with_row_index("_record", offset=1).with_columns(
        pl.col("_record").cast(pl.Int64), pl.lit(None, pl.String).alias("_error_field"), pl.lit(None, pl.String).alias("_error_reason")
    )


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


def _fast_checks(fields: list[Field], read: dict[str, str]) -> list[str]:
    """Conditions that send the file to the line reader: a bad record, or a value the fast path does not read the
    way the line reader does (it decides exactly). Cheap on the common case: timestamps are checked by their
    shape, a record's whole numbers by one regular expression together, identities by one each."""
    checks = []
    for f in fields:
        t = read[f.name]
        if f.required:
            checks.append(f"{t} is null")
        if f.is_identity:  # the line reader tells a string from a number, a boolean or an object by its JSON type
            checks += [f"trim({t}) = ''", f"regexp_full_match({t}, '{_NOT_A_STRING}')"]
        elif f.type != "VARCHAR":
            checks.append(f"{t} is not null and {sql_ident(f.name)} is null")
        if f.type == "TIMESTAMPTZ":
            checks.append(f"not ({' or '.join(f'{t} like {_sql_str(g)}' for g in _TIMESTAMP_SHAPES)})")
    whole = [read[f.name] for f in fields if f.type in INTEGER_TYPES]
    if whole:  # a fraction, an exponent, a sign or a spelling (0x1F, 1_000): the line reader's exact rules decide
        checks.append(f"regexp_matches(concat_ws(' ', {', '.join(whole)}), '[^0-9 -]')")
    return checks


class LineCounter:
    """The lines of a byte stream fed to it block by block; a last line without its newline counts."""

    def __init__(self) -> None:
        self.newlines, self._last = 0, b"\n"

    def update(self, block: bytes) -> None:
        if block:
            self.newlines += block.count(b"\n")
            self._last = block[-1:]

    @property
    def lines(self) -> int:
        return self.newlines + (self._last != b"\n")


def _line_count(path: Path) -> int:
    counter = LineCounter()
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            counter.update(block)
    return counter.lines


def sql_ident(name: str) -> str:
    """Quote a code constant (a column or JSON key name) as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


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


def split_errors(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split rows with ``_error_field`` into a quarantine frame; drop the helper ``_raw_*`` columns."""
    helpers = [c for c in df.columns if c.startswith("_raw_") or c in ("_error_field", "_error_reason", "raw")]
    if df["_error_reason"].null_count() == df.height:  # nothing to quarantine: no filtering (a copy) of every row
        return df.drop(helpers), pl.DataFrame(schema=QUARANTINE_SCHEMA)
    bad = df.filter(pl.col("_error_reason").is_not_null())
    quarantine = bad.select(
        pl.col("_record").cast(pl.Int64).alias("record"),
        pl.col("_error_field").alias("field"),
        pl.col("_error_reason").alias("reason"),
        pl.col("raw").str.slice(0, 2000).alias("raw") if "raw" in bad.columns else pl.lit(None, pl.String).alias("raw"),
    )
    return df.filter(pl.col("_error_reason").is_null()).drop(helpers), quarantine


def _sql_str(value: str) -> str:
    """Quote a code constant (a JSONPath, a column name) as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def utc_day(ts: pl.Expr) -> pl.Expr:
    return ts.dt.convert_time_zone("UTC").dt.date()
