"""`tokenbooks sql`: one read-only query of the warehouse, shown honestly.

The warehouse is opened read-only, and the statement must be a query (``select``, ``with …``, ``from …``,
``describe``, ``show``, ``summarize``, ``explain``): DuckDB's own parser says which kind it is, so ``copy … to``,
``create``, ``attach``, ``install``, ``set`` and the rest are refused before anything runs. The table view
shows every column and at most ``max_rows`` rows, and says how many it left out; money (DECIMAL with more
than six decimals) is shown to six decimals there, while csv, json and parquet carry every digit.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.errors import UserError
from pipelines.files import replacing

READ_ONLY = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
SHOWN_DECIMALS = 6
FORMATS = ("table", "csv", "json", "parquet")


class QueryError(UserError, ValueError):
    """A statement `tokenbooks sql` does not run, or the warehouse cannot be opened."""


def checked(query: str) -> str:
    """The one query in ``query``, or a QueryError saying why it does not run."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as e:
        raise QueryError(" ".join(str(e).split())) from None
    if len(statements) != 1:
        raise QueryError(f"one statement at a time, got {len(statements)}")
    kind = statements[0].type
    if kind not in READ_ONLY:
        raise QueryError(
            f"tokenbooks sql runs queries only (select, with, from, describe, show, summarize, explain); "
            f"this is a {kind.name} statement. Export with --format csv|json|parquet instead of COPY"
        )
    return statements[0].query


def run(con: duckdb.DuckDBPyConnection, query: str, fmt: str, out: IO | None, output: Path | None,
        max_rows: int) -> str | None:
    """Run the query and write it in ``fmt``; returns the footer of the table view, if any."""
    rel = con.sql(checked(query))
    if rel is None:  # explain and describe return rows; nothing else that passes `checked` returns none
        return None
    if fmt == "table":
        return _table(rel, out or sys.stdout, max_rows)
    table = rel.to_arrow_table()
    if fmt == "parquet":
        if output is None:
            raise QueryError("--format parquet writes a file: add --output FILE")
        with _written(output) as path:
            pq.write_table(table, path)
        return None
    frame = pl.from_arrow(table)
    text = frame.write_csv() if fmt == "csv" else frame.write_json()
    if output is not None:
        with _written(output) as path:
            path.write_text(text + ("" if fmt == "csv" else "\n"), encoding="utf-8")
    else:
        (out or sys.stdout).write(text + ("" if fmt == "csv" else "\n"))
    return None


@contextmanager
def _written(output: Path) -> Iterator[Path]:
    """Where to write ``--output``: a file is replaced whole or not at all (a failed or interrupted export leaves
    the one before, never half a file); a pipe or a device (``/dev/stdout``) is written as it is."""
    if output.exists() and not output.is_file():
        yield output
        return
    with replacing(output) as tmp:
        yield tmp


def _table(rel: duckdb.DuckDBPyRelation, out: IO, max_rows: int) -> str:
    reader = rel.to_arrow_reader(max(max_rows, 1))
    head: list[pa.RecordBatch] = []
    shown = total = 0
    for batch in reader:
        total += batch.num_rows
        if shown < max_rows:
            take = batch.slice(0, max_rows - shown)
            head.append(take)
            shown += take.num_rows
    frame = pl.from_arrow(pa.Table.from_batches(head, schema=reader.schema))
    rounded = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal) and (t.scale or 0) > SHOWN_DECIMALS]
    if rounded:
        frame = frame.with_columns(pl.col(c).round(SHOWN_DECIMALS).cast(pl.Decimal(38, SHOWN_DECIMALS)) for c in rounded)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=10_000, fmt_str_lengths=80,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        out.write(f"{frame}\n")
    notes = [f"{total:,} row{'s' if total != 1 else ''}"]
    if total > shown:
        notes.append(f"{total - shown:,} not shown (--max-rows N, or --format csv for all)")
    if rounded:
        notes.append(f"{', '.join(rounded)} rounded to {SHOWN_DECIMALS} decimals here (exact in csv, json, parquet)")
    return "; ".join(notes)
