"""Publish the warehouse: one DuckDB file whose tables are views over the committed lake files.

The new catalog is written to a temporary file and moved over ``warehouse.duckdb``
with an atomic rename: an analyst holding the old file open (read-only or
read-write) keeps a consistent snapshot and never blocks the build; the next
connection sees the new one.

The warehouse is portable: views name their Parquet files relative to the home
(``lake/<table>/day=D/<build>.parquet``), so the home can be moved or copied.
DuckDB resolves a relative path against ``file_search_path``, else the working
directory (it has no notion of "relative to the database file", and a table
function's arguments cannot be computed): open it from the home, or set
``file_search_path`` to the home (:func:`pipelines.db.open_warehouse` does).
Beside a view per table it publishes the views of ``models/views/`` (described in ``schemas/views/``).
Every view and column carries its description from ``schemas/`` (``COMMENT ON``),
and the file is written in DuckDB's v1.0.0 storage format, so DuckDB 1.0 and later open
it and read every view (``MIN_DUCKDB``; checked with DuckDB 1.0.0, 1.1.3 and 2.0.1).

Superseded build files stay ``warehouse.retain_hours`` (tokenbooks.yaml) after a
newer build replaced them, for readers of older snapshots, then go: only what the
committed warehouse names stays (``collect_garbage`` in ``pipelines/lake/store.py``).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb

from pipelines.contracts import contract, contracts, view_description
from pipelines.db import parquet_reader, sql_str
from pipelines.files import replacing
from pipelines.lake.store import Retention, collect_garbage, committed_days, committed_files
from pipelines.settings import Settings
from pipelines.warehouse.models import views

STORAGE_VERSION = "v1.0.0"  # the on-disk format the warehouse is written in
MIN_DUCKDB = "1.0"  # the oldest DuckDB that opens it and reads its views (checked with 1.0.0 and 1.1.3)


def published_tables() -> list[str]:
    """Every table with a warehouse contract is published (schemas/warehouse/*.yaml)."""
    return sorted(contracts("warehouse"))


def publish(settings: Settings) -> Path:
    days = committed_days(settings)
    tables = {name: committed_files(settings, name, days) for name in published_tables()}
    target = settings.warehouse
    with replacing(target) as tmp:
        _write_catalog(settings, tmp, tables)
        # An analyst's read-write session may have left a write-ahead log for the catalog being replaced; next to the
        # new file it would make every new connection fail ("WAL does not match database file"). The session keeps
        # its open handle (and its snapshot); objects it created in the warehouse file do not survive a publish.
        target.with_name(target.name + ".wal").unlink(missing_ok=True)
    _collect_garbage(settings, days)
    return target


def _write_catalog(settings: Settings, path: Path, tables: dict[str, list[str]]) -> None:
    """The catalog: a view per published table over its committed files, and the derived views."""
    path.unlink()  # DuckDB creates the file itself (it refuses an empty one)
    config = {"storage_compatibility_version": STORAGE_VERSION, "file_search_path": str(settings.home)}
    con = duckdb.connect(str(path), config=config)
    try:
        con.execute("begin")  # one transaction: each statement on its own commits to the file (1.4 s of comments)
        for name, files in tables.items():
            if files:
                relative = [os.path.relpath(f, settings.home) for f in files]
                con.execute(f"create view {name} as select * from {parquet_reader(relative)}")
            else:
                cols = ", ".join(f'null::{c.type} as "{c.name}"' for c in contract(name).columns)
                con.execute(f"create view {name} as select {cols} where false")
            _comment(con, name, contract(name).grain, {c.name: c.description for c in contract(name).columns})
        for name, sql in views().items():  # models/views/: questions that span days, over the tables above
            con.execute(f"create view {name} as\n{sql}")
            _comment(con, name, *view_description(name))
        con.execute("commit")
        con.execute("checkpoint")
    finally:
        con.close()


def _comment(con: duckdb.DuckDBPyConnection, view: str, grain: str, descriptions: dict[str, str]) -> None:
    """COMMENT ON the view and each of its columns that schemas/ describes (names are code constants)."""
    con.execute(f"comment on view {view} is {sql_str(grain)}")
    for (column,) in con.execute(f"select column_name from (describe {view})").fetchall():
        if descriptions.get(column):
            con.execute(f'comment on column {view}."{column}" is {sql_str(descriptions[column])}')


def _collect_garbage(settings: Settings, days: dict[date, dict], now: float | None = None) -> None:
    """The published tables' superseded build files go ``warehouse.retain_hours`` after they were replaced."""
    keep = Retention(hours=settings.config.warehouse.retain_hours)
    collect_garbage(settings, published_tables(), days, keep, now=now)
