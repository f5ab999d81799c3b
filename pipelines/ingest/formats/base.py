"""The format interface: what every input format provides, and what its parse returns.

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

import polars as pl

from pipelines.settings import Settings

SAMPLE_BYTES = 64 * 1024
# The most of a file format detection reads as one JSON value (a first line, or a document over many lines).
WHOLE_JSON_BYTES = 256 * 1024 * 1024
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
        try:
            # A first line longer than the head: a JSON-lines file of big records (an OTLP export of a thousand
            # spans a line is 1.3 MB a line) is told by that line alone, never by reading gigabytes whole.
            with open(self.path, "rb") as f:
                return json.loads(f.readline(WHOLE_JSON_BYTES).decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            pass
        if self.path.stat().st_size > WHOLE_JSON_BYTES:
            return None
        # A JSON document written over many lines (a provider's report page): read it whole to see its keys.
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

def record_count(df: pl.DataFrame) -> int:
    """How many of the file's records the rows hold (``_n`` per row when a reader summed records, else 1)."""
    if "_n" in df.columns and df.height:
        return int(df["_n"].fill_null(1).sum())
    return df.height


def utc_day(ts: pl.Expr) -> pl.Expr:
    return ts.dt.convert_time_zone("UTC").dt.date()
