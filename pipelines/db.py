"""Small DuckDB helpers shared by every layer."""

from __future__ import annotations

import warnings
from typing import Any

import duckdb
import polars as pl


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run a query with bound parameters and return a Polars frame (through Arrow).

    Goes through ``execute`` rather than the relation API so it works on a connection that still holds an
    unfinished result; the frames read this way are small (dimension tables, aggregates).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        return pl.from_arrow(con.execute(sql, params or {}).to_arrow_table())
