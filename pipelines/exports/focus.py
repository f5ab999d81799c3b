"""The FOCUS export: the attributed bill of committed days as a FOCUS 1.3 cost and usage dataset.

For each day, the day's committed warehouse tables (the files ``warehouse.duckdb`` points at) become views by
their table names, the day's price book (list prices, and the contracted ones with tokenbooks.yaml's
``price_overrides``) and the identity tables are added as ``dim_focus_*``, and the models of ``models/exports/`` run
in order; the rows of all days go to one Parquet or CSV file. The CSV is written the way FOCUS tools read it:
ISO 8601 UTC timestamps (``2026-11-21T00:00:00Z``), decimals as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts import contract
from pipelines.db import connect, frame, parquet_reader, sql_str
from pipelines.exports import identity
from pipelines.files import replacing
from pipelines.lake.store import committed_days, committed_files, day_file
from pipelines.pricing.prices import price_table
from pipelines.pricing.tiers import model_tiers
from pipelines.quality.rules import ERROR
from pipelines.quality.tables import check_table
from pipelines.settings import Settings
from pipelines.warehouse.models import sql_file

FOCUS_VERSION = "1.3"
METHOD_ID = "tokenbooks-list-cost-proportional"
TABLE = "focus_billing"
READS = ["fct_provider_costs", "fct_reconciliation", "fct_llm_calls", "fct_provider_usage"]
FORMATS = ("parquet", "csv")
# Our price columns -> the model's names (per million tokens, USD).
PRICE_NAMES = {"input": "input", "cached_input": "cached", "cache_write_5m": "write_5m",
               "cache_write_1h": "write_1h", "output": "output"}


class ExportError(ValueError):
    """Nothing to export, or an export that cannot be written."""


@dataclass
class FocusExport:
    path: Path
    rows: int
    days: list[date]
    missing_days: list[date]


# The models, in order: each one ``select`` under models/exports/. focus_lines is read twice, so it is a table.
MODELS = [("focus_lines", "table"), ("focus_splits", "view"), (TABLE, "rows")]


def load_day(con: duckdb.DuckDBPyConnection, settings: Settings, day: date, doc: dict) -> None:
    """Views of the day's committed warehouse tables by their names, and the dim_focus_* tables."""
    for table in READS:
        files = committed_files(settings, table, {day: doc})
        if files:
            con.execute(f"create or replace temp view {table} as select * from {parquet_reader(files)}")
        else:
            empty = contract(table).empty()  # noqa: F841 - read by DuckDB's replacement scan
            con.execute(f"create or replace temp table {table} as select * from empty")
    pairs = frame(con, "select distinct provider, model from fct_provider_costs where model is not null")
    contracted = price_table(pairs, [day], settings)
    dims = {
        "prices": _prices(price_table(pairs, [day], settings, overrides=[]), contracted),
        "providers": identity.providers(),
        "models": identity.models(pairs["model"].to_list()),
        "tiers": model_tiers(contracted, settings),
    }
    for name, df in dims.items():
        con.register(f"dim_focus_{name}", df.to_arrow())


def _prices(listed: pl.DataFrame, contracted: pl.DataFrame) -> pl.DataFrame:
    """One row per (provider, model, day, batch): list and contracted USD per million tokens of each kind."""
    keys = ["provider", "model", "day", "is_batch"]

    def side(df: pl.DataFrame, prefix: str) -> pl.DataFrame:
        return df.select(*keys, *(pl.col(f"{k}_usd_per_mtok").alias(f"{prefix}_{v}") for k, v in PRICE_NAMES.items()),
                         pl.col("price_source").alias(f"{prefix}_source"))

    out = side(listed, "list").join(side(contracted, "contracted"), on=keys, how="full", coalesce=True)
    return out.with_columns((pl.col("contracted_source") == "override").alias("has_override"))


def build_rows(con: duckdb.DuckDBPyConnection, settings: Settings, days: dict[date, dict]) -> int:
    """Temp table ``focus_rows``: the FOCUS rows of the given committed days (day -> its commit marker)."""
    con.execute("set timezone = 'UTC'")
    for i, (day, doc) in enumerate(sorted(days.items())):
        load_day(con, settings, day, doc)
        for name, kind in MODELS:  # names and kinds are code constants
            if kind == "rows":
                into = "create or replace temp table focus_rows as" if i == 0 else "insert into focus_rows"
                con.execute(f"{into}\n{sql_file('exports', name)}", {"method_id": METHOD_ID})
            else:
                con.execute(f"create or replace temp {kind} {name} as\n{sql_file('exports', name)}")
    return con.execute("select count(*) from focus_rows").fetchall()[0][0]


def export_focus(settings: Settings, start: date, end: date, fmt: str, out: Path) -> FocusExport:
    """Write the FOCUS rows of the committed days in [start, end] to ``out`` (Parquet or CSV)."""
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if end < start:
        raise ExportError(f"--to {end} is before --from {start}")
    committed = committed_days(settings)
    wanted = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    days = [d for d in wanted if d in committed]
    if not days:
        raise ExportError(f"no built day between {start} and {end}; run `tokenbooks build --from {start} --to {end}`")
    con = connect(settings)
    try:
        build_rows(con, settings, {d: committed[d] for d in days})
        rows = write(con, "focus_rows", fmt, out)
    finally:
        con.close()
    return FocusExport(path=out, rows=rows, days=days, missing_days=[d for d in wanted if d not in committed])


def write(con: duckdb.DuckDBPyConnection, table: str, fmt: str, out: Path) -> int:
    """Copy ``table`` (a code constant) to ``out``, whole or not at all."""
    with replacing(out) as tmp:
        _copy(con, table, fmt, tmp)
    return con.execute(f"select count(*) from {table}").fetchall()[0][0]


def _copy(con: duckdb.DuckDBPyConnection, table: str, fmt: str, path: Path) -> None:
    options = "format parquet" if fmt == "parquet" else "format csv, header, timestampformat '%Y-%m-%dT%H:%M:%SZ'"
    con.execute(f"copy (select * from {table}) to {sql_str(str(path))} ({options})")


def focus_file(settings: Settings, day: date) -> Path:
    return day_file(settings, "focus", day, TABLE)


def export_day(settings: Settings, day: date, doc: dict) -> int:
    """Write a committed day's rows to ``lake/focus/day=D/``, replacing the file only when they match the contract."""
    con = connect(settings)
    try:
        build_rows(con, settings, {day: doc})
        with replacing(focus_file(settings, day)) as staged:
            _copy(con, "focus_rows", "parquet", staged)
            problems = contract_problems(con, {day: [str(staged)]})
            if problems:
                raise ExportError(f"{TABLE} {day} breaks schemas/exports/{TABLE}.yaml: " + "; ".join(problems[:10]))
        return con.execute("select count(*) from focus_rows").fetchall()[0][0]
    finally:
        con.close()


def contract_problems(con: duckdb.DuckDBPyConnection, files: dict[date, list[str]]) -> list[str]:
    """Every rule of the export's contract that the files break (the checks the warehouse tables get)."""
    reports = check_table(con, contract(TABLE), files)
    return [f"{day} {r.rule.name}: {r.detail}".rstrip(": ")
            for day, report in reports.items() for r in report.failed(ERROR)]
