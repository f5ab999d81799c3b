"""Small DuckDB helpers shared by every layer."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run a query with bound parameters and return a Polars frame (through Arrow)."""
    return con.sql(sql, params=params or None).pl()
