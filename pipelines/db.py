"""Small DuckDB helpers shared by every layer."""

from __future__ import annotations

import re
import warnings
from typing import Any

import duckdb
import polars as pl

from pipelines.errors import UserError, describe_duckdb_error
from pipelines.settings import ConfigError, Settings


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run a query with bound parameters and return a Polars frame (through Arrow).

    Goes through ``execute`` rather than the relation API so it works on a connection that still holds an
    unfinished result; the frames read this way are small (dimension tables, aggregates).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        return pl.from_arrow(con.execute(sql, params or {}).to_arrow_table())


def sql_str(value: str) -> str:
    """Quote a code constant (a JSONPath, a column name, our own file path, a contract description) as a SQL string
    literal, where SQL cannot take a bound parameter (DDL, a reader's column list). Never data."""
    return "'" + value.replace("'", "''") + "'"


def parquet_reader(paths: list[str]) -> str:
    """``read_parquet`` over our own files, as SQL text: a view over them is DDL, which takes no parameters. Files
    written by older code may lack newer columns (``union_by_name``)."""
    return f"read_parquet([{', '.join(sql_str(p) for p in paths)}], union_by_name = true)"


def bound(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` reads: DuckDB refuses a parameter the query does not name (a declaration may bind
    values for expressions it did not use; one query of several built from the same parameters)."""
    return {k: v for k, v in params.items() if re.search(rf"\${re.escape(k)}\b", sql)}


def sql_ident(name: str) -> str:
    """Quote a code constant (a column or JSON key name) as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def connect(settings: Settings | None = None, memory_limit: str | None = None,
            keep_order: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC. Without ``settings``: in memory with DuckDB's defaults, results in insertion order
    (what a parser reading one file uses). With them: it spills to ``work/duckdb_tmp`` past
    ``duckdb_memory_limit`` (tokenbooks.yaml).

    DuckDB's own default is 80 % of RAM, which a 10M-call day fills (17.6 GB measured); with the limit (3GB by
    default, chosen from a 4 GB budget: a 10M-call night peaks at 3.5 GB) a larger day spills and the build's memory stays flat as days grow.

    Results come in no particular order (faster) unless ``keep_order``: reading a file whose row number is its
    line number needs the file's order.
    """
    if settings is None:
        con = duckdb.connect()
        con.execute("set TimeZone = 'UTC'")
        return con
    settings.work.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"temp_directory": str(settings.work / "duckdb_tmp")})
    # Timestamps without a zone are UTC and days are UTC dates, whatever zone the machine runs in (DuckDB's
    # session zone defaults to the machine's).
    con.execute("set TimeZone = 'UTC'")
    limit = memory_limit or settings.config.duckdb_memory_limit
    con.execute("set memory_limit = $m", {"m": limit})
    if settings.config.duckdb_threads:
        con.execute("set threads = $t", {"t": settings.config.duckdb_threads})
    if not keep_order:
        con.execute("set preserve_insertion_order = false")
    return con


class WarehouseUnavailable(UserError):
    """The warehouse cannot be opened (another process holds it read-write, or it is not a DuckDB file)."""


def open_warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The published warehouse, read-only, with its Parquet paths (relative to the home) resolved in the home."""
    settings.require_home()
    if not settings.warehouse.exists():
        raise ConfigError(f"no warehouse at {settings.warehouse}; run `tokenbooks build` first")
    try:
        con = duckdb.connect(str(settings.warehouse), read_only=True, config={"file_search_path": str(settings.home)})
    except duckdb.Error as e:
        raise WarehouseUnavailable(describe_duckdb_error(e)) from None
    con.execute("set TimeZone = 'UTC'")  # days are UTC dates whatever the machine's zone (see ``connect``)
    return con
