"""CSV exports read so that one malformed row costs one row, quarantined with its reason.

The header is parsed here and DuckDB reads the file with exactly those columns (every value as text, a comma, the
double quote, no sniffing): one short, long or badly quoted row can no longer make DuckDB's sniffer take another
header or delimiter and refuse the whole file ("missing column(s)"), nor leave every row without its fields.

A file DuckDB's strict reader takes whole (the common case) is read by DuckDB alone. Otherwise (a row with too few
or too many values, a quote never closed, mixed CRLF and LF line ends, which the strict reader refuses outright,
or a line past the size limit) a Python pass splits it into records: the well-formed ones go to a clean copy that
DuckDB reads, each malformed one becomes a record to quarantine. A quoted value may span lines; a quote that is
never closed costs its own line only, and the lines after it are read again as records.

Records are numbered 1, 2, … after the header, blank lines not counted, the same on both paths.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import duckdb
import polars as pl

from pipelines.ingest.formats.base import QUARANTINE_SCHEMA, InputError

CSV_MAX_LINE_BYTES = 64 * 1024 * 1024
# How many lines a quoted value may span before its quote counts as never closed.
MAX_LINES_PER_RECORD = 1000
UTF8 = "not valid UTF-8 text (wrong encoding? export the file as UTF-8)"
_OPTIONS = (
    "columns = $csv_columns, header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
    f"strict_mode = true, max_line_size = {CSV_MAX_LINE_BYTES}"
)


_BAD_SCHEMA = {"_record": pl.Int64, "field": pl.String, "reason": pl.String, "raw": pl.String}


@dataclass
class CsvRows:
    """The well-formed records (:meth:`sql`, reading the bound ``params``) and the malformed ones (``bad``:
    ``_record``, ``field``, ``reason``, ``raw``)."""

    header: list[str]
    params: dict
    numbered: bool  # the file's records are numbered by the read (else the clean copy holds ``_record``)
    bad: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_BAD_SCHEMA))

    def sql(self, columns: str = "*") -> str:
        """``_record`` and ``columns`` (SQL over the header's names, as text) of every well-formed record."""
        record = "row_number() over ()" if self.numbered else "_record"
        return f"select {record} as _record, {columns} from read_csv($csv, {_OPTIONS})"

    @property
    def quarantine(self) -> pl.DataFrame:
        return self.bad.rename({"_record": "record"}).select(list(QUARANTINE_SCHEMA))


@contextmanager
def csv_rows(path: Path) -> Iterator[CsvRows]:
    header = _header(path)
    columns = {name: "VARCHAR" for name in header}
    if _strictly_readable(path, columns):
        yield CsvRows(header, {"csv": str(path), "csv_columns": columns}, numbered=True)
        return
    folder = Path(tempfile.mkdtemp(prefix="tb-csv-"))
    try:
        clean = folder / "clean.csv"
        bad = _split(path, clean, len(header))
        yield CsvRows(header, {"csv": str(clean), "csv_columns": {"_record": "BIGINT", **columns}}, numbered=False,
                      bad=pl.DataFrame(bad, schema=_BAD_SCHEMA, orient="row"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _header(path: Path) -> list[str]:
    """The header's column names, made unique (DuckDB's spelling: a repeated name gets ``_1``, ``_2``…)."""
    with open(path, "rb") as f:
        first = f.readline()
    try:
        text = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputError(path, UTF8, field="header") from None
    try:
        names = next(csv.reader([text]), [])
    except csv.Error as e:  # a stray carriage return inside the header line, say
        raise InputError(path, f"the header is not a line of CSV ({e})", field="header") from None
    out, seen = [], {"_record"}
    for i, name in enumerate(names):
        name = name.strip() or f"column{i}"
        unique, n = name, 0
        while unique in seen:
            n += 1
            unique = f"{name}_{n}"
        seen.add(unique)
        out.append(unique)
    if not out:
        raise InputError(path, "no header line", field="header")
    return out


def _strictly_readable(path: Path, columns: dict[str, str]) -> bool:
    """Does DuckDB's strict reader take every row? One scan of the rows' structure (a third of the read's cost);
    its first rejected row is enough to say no. Text that is not UTF-8 is found by the read itself, in the columns
    the format reads (a byte in a column nobody reads changes nothing that lands)."""
    con = duckdb.connect()
    try:
        con.execute(
            "select count(*) "
            f"from read_csv($csv, {_OPTIONS}, store_rejects = true, rejects_table = 'tb_csv_rejects', "
            "rejects_scan = 'tb_csv_scans', rejects_limit = 1)",
            {"csv": str(path), "csv_columns": columns},
        ).fetchall()
        return con.execute("select count(*) from tb_csv_rejects").fetchall()[0][0] == 0
    except duckdb.Error:  # mixed line ends, an unreadable file: the line-by-line pass says which record
        return False
    finally:
        con.close()


def _split(path: Path, clean: Path, width: int) -> list[tuple[int, str, str, str]]:
    """Write the well-formed records to ``clean`` (``_record`` first); return the malformed ones."""
    bad = []
    with open(clean, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["_record", *(f"c{i}" for i in range(width))])
        for record, (text, values, reason) in enumerate(_records(path, width), start=1):
            if text is None:  # a line not in UTF-8: the whole file is in another encoding, most likely
                raise InputError(path, UTF8, record=record)
            if reason is None:
                writer.writerow([record, *values])
            else:
                bad.append((record, "$", reason, text[:2000]))
    return bad


def _records(path: Path, width: int) -> Iterator[tuple[str | None, list[str] | None, str | None]]:
    """(text, values, None) per well-formed record, (text, None, reason) per malformed one, in file order;
    text None for a line that is not UTF-8."""
    lines = _lines(path)
    pending: deque[tuple[int, str]] = deque()

    def take() -> tuple[int, str] | None:
        return pending.popleft() if pending else next(lines, None)

    while (item := take()) is not None:
        number, line = item
        if line is None:
            yield None, None, UTF8
            continue
        if not line.strip():
            continue
        if len(line) > CSV_MAX_LINE_BYTES:
            yield line[:2000], None, f"a line is longer than the reader's limit of {CSV_MAX_LINE_BYTES:,} bytes"
            continue
        parts, values, error = [line], *_parse(line)
        while error == "open" and len(parts) < MAX_LINES_PER_RECORD and (more := take()) is not None:
            if more[1] is None:
                pending.appendleft(more)
                break
            parts.append(more[1])
            values, error = _parse("\n".join(parts))
        if error is None and len(values) == width:
            yield "\n".join(parts), values, None
            continue
        pending.extendleft(reversed([(number, p) for p in parts[1:]]))  # a bad record is its first line only
        if error == "open" or len(parts) > 1:  # the first line opened a quote no later line closes well
            yield line, None, "a quoted value is never closed"
        elif error is not None:
            yield line, None, f"not a CSV row: {error}"
        else:
            yield line, None, f"{len(values)} values where the header has {width} (a row too short or too long)"


def _parse(text: str) -> tuple[list[str] | None, str | None]:
    """The values of one record's text; ``"open"`` when a quoted value runs past its end."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as e:
        return None, "open" if "unexpected end of data" in str(e) else str(e)
    if len(rows) != 1:
        return rows[0] if rows else [], "several rows"
    return rows[0], None


def _lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text without its line end, or None when not UTF-8), after the header."""
    with open(path, "rb") as f:
        f.readline()
        for number, raw in enumerate(f, start=2):
            raw = raw.rstrip(b"\n").rstrip(b"\r")
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None
