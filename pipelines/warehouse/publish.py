"""Publish the warehouse: one DuckDB file whose tables are views over the committed lake files.

The new catalog is written to a temporary file and moved over ``warehouse.duckdb``
with an atomic rename: an analyst holding the old file open (read-only or
read-write) keeps a consistent snapshot and never blocks the build; the next
connection sees the new one. Old build files stay until they are ``RETAIN``
builds old, so open snapshots keep working.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb

from pipelines.contracts import contract, contracts
from pipelines.settings import Settings
from pipelines.warehouse.build import committed_days, committed_files

RETAIN = 3  # builds of a day kept on disk for readers of older snapshots

# Views over the published tables, for questions that span days (active users across a week are not a sum).
DERIVED_VIEWS = {
    # ISO week (Monday start) × app × feature: the daily mart's sums, with active users counted distinct over the
    # week (a user active on five days is one user) and every rate recomputed from the week's totals.
    "mart_unit_economics_weekly": """
        with daily as (
            select
                date_trunc('week', day)::date as week,
                app,
                feature,
                sum(requests) as requests,
                sum(cost_usd) as cost_usd,
                sum(outcomes) as outcomes,
                sum(cache_hits) as cache_hits,
                sum(cache_savings_usd) as cache_savings_usd,
                sum(waste_usd) as waste_usd,
                sum(input_tokens) as input_tokens,
                sum(output_tokens) as output_tokens,
            from mart_unit_economics
            group by all
        ),
        users as (
            select date_trunc('week', day)::date as week, app, feature, count(distinct user_id) as active_users
            from fct_llm_calls
            group by all
        )
        select
            strftime(daily.week, '%G-W%V') as iso_week,
            daily.week,
            daily.app,
            daily.feature,
            daily.requests,
            coalesce(users.active_users, 0) as active_users,
            daily.cost_usd::decimal(38, 12) as cost_usd,
            (daily.cost_usd * 1000 / nullif(daily.requests, 0))::decimal(38, 12) as cost_per_1k_requests_usd,
            (daily.cost_usd / nullif(users.active_users, 0))::decimal(38, 12) as cost_per_active_user_usd,
            daily.outcomes,
            (daily.cost_usd / nullif(daily.outcomes, 0))::decimal(38, 12) as cost_per_outcome_usd,
            round(daily.cache_hits / nullif(daily.requests, 0), 6) as cache_hit_rate,
            daily.cache_savings_usd::decimal(38, 12) as cache_savings_usd,
            daily.waste_usd::decimal(38, 12) as waste_usd,
            daily.input_tokens,
            daily.output_tokens,
        from daily
        left join users
            on users.week = daily.week
            and users.app is not distinct from daily.app
            and users.feature is not distinct from daily.feature
    """,
}


def sql_literal(value: str) -> str:
    """Quote one of our own file paths for a view definition (DDL cannot take parameters)."""
    return "'" + value.replace("'", "''") + "'"


def published_tables() -> list[str]:
    """Every table with a warehouse contract is published (schemas/warehouse/*.yaml)."""
    return sorted(contracts("warehouse"))


def publish(settings: Settings) -> Path:
    days = committed_days(settings)
    tables = {name: committed_files(settings, name, days) for name in published_tables()}
    target = settings.warehouse
    tmp = target.with_name(target.name + ".publishing")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        for name, files in tables.items():
            if files:
                listing = ", ".join(sql_literal(f) for f in files)
                con.execute(f"create view {name} as select * from read_parquet([{listing}], union_by_name = true)")
            else:
                cols = ", ".join(f'null::{c.type} as "{c.name}"' for c in contract(name).columns)
                con.execute(f"create view {name} as select {cols} where false")
        for name, sql in DERIVED_VIEWS.items():
            con.execute(f"create view {name} as {sql}")
        con.execute("checkpoint")
    finally:
        con.close()
    # An analyst's read-write session may have left a write-ahead log for the catalog being replaced; next to the
    # new file it would make every new connection fail ("WAL does not match database file"). The session keeps
    # its open handle (and its snapshot); objects it created in the warehouse file do not survive a publish.
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    os.replace(tmp, target)
    _collect_garbage(settings, days)
    return target


def _collect_garbage(settings: Settings, days: dict[date, dict]) -> None:
    """Delete build files of a day older than the newest RETAIN builds (never the committed one)."""
    for name in published_tables():
        for folder in (settings.lake / name).glob("day=*"):
            doc = days.get(date.fromisoformat(folder.name[4:]), {"tables": {}})
            committed = doc["tables"].get(name, {}).get("build_id")
            files = sorted(folder.glob("*.parquet"), reverse=True)
            for old in files[RETAIN:]:
                if old.stem != committed:
                    old.unlink(missing_ok=True)
            for tmp in folder.glob("*.tmp"):
                tmp.unlink(missing_ok=True)
