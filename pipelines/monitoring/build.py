"""Monitor one day: drift events and budget status from a bounded window of committed history.

For day D the window is D-56 .. D (eight weeks: 14 days of baseline, 28 of weekday profile, a month for
budgets). Each day's ``monitoring_points`` (``models/monitoring/monitoring_points.sql``: the day's
mart_cost_daily summed per subject and model, without the user grain) is written under the build id of the
mart it came from, so a later day reads the small points files back, and recomputes a day's points from its
mart only when the mart was rebuilt since. Work per day is bounded by the window, not by history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import polars as pl

from pipelines.contracts import contract
from pipelines.db import connect, frame, parquet_reader
from pipelines.lake.store import (
    Retention, collect_garbage, commit_day, committed_days, committed_file, new_build_id, write_tables,
)
from pipelines.monitoring.budgets import status_rows
from pipelines.monitoring.drift import DriftConfig, detect
from pipelines.monitoring.series import collect
from pipelines.pricing.prices import list_prices
from pipelines.settings import Settings
from pipelines.warehouse.models import sql_file

WINDOW_DAYS = 56
POINTS = "monitoring_points"
TABLES = ["drift_events", "budget_status"]
# A day's points files of the three newest marts stay (the committed one always): older ones are never read again.
POINTS_RETENTION = Retention(newest=3)
# The marts a day's points are computed from (table names are code constants, never data).
SOURCES = ("mart_cost_daily", "fct_llm_calls", "mart_sessions")


@dataclass
class MonitorDay:
    day: date
    build_id: str
    rows: dict[str, int] = field(default_factory=dict)
    new_events: list[str] = field(default_factory=list)
    budgets_at_risk: list[str] = field(default_factory=list)
    seconds: float = 0.0




def load_points(con: duckdb.DuckDBPyConnection, settings: Settings, day: date, markers: dict[date, dict],
                max_tenants: int, keep_tenants: list[str]) -> None:
    """Create temp table ``points`` for the window: read back where fresh, computed from the day's marts where not
    (mart_cost_daily, and fct_llm_calls and mart_sessions for the 'shape' rows)."""
    fresh, stale = [], {name: [] for name in SOURCES}
    for d, doc in sorted(markers.items()):
        mart = committed_file(settings, "mart_cost_daily", d, doc)
        if mart is None:
            continue
        pts = committed_file(settings, POINTS, d, doc)
        if d < day and pts is not None and pts.stem == mart.stem:
            fresh.append(str(pts))
            continue
        for name in SOURCES:
            path = committed_file(settings, name, d, doc)
            if path is not None:
                stale[name].append(str(path))
    for name, files in stale.items():
        if files:
            # A view, not a copy: the points read a few columns of the day's calls (10M rows on a big day).
            con.execute(f"create or replace temp view {name} as select * from {parquet_reader(files)}")
        else:
            empty = contract(name).empty()  # noqa: F841 - read by DuckDB's replacement scan
            con.execute(f"create or replace temp table {name} as select * from empty")
    con.execute(f"create or replace temp table computed_points as\n{sql_file('monitoring', POINTS)}")
    source = "select * from computed_points"
    if fresh:
        source += " union all by name select * from read_parquet($fresh, union_by_name = true)"
    con.execute(
        f"""
        create or replace temp table points as
        with all_points as ({source}),
        top_tenants as (
            select tenant_id from all_points where scope = 'tenant'
            group by tenant_id order by sum(cost_usd) desc, tenant_id limit $n
        )
        select * from all_points
        where scope <> 'tenant' or tenant_id in (select tenant_id from top_tenants) or list_contains($keep, tenant_id)
        """,
        {"n": max_tenants, "keep": keep_tenants, **({"fresh": fresh} if fresh else {})},
    )


def token_weights(pairs: list[tuple[str, str]], day: date) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(provider, model) -> (input, output) list price, to weigh tokens by what they cost."""
    out = {}
    for provider, model in pairs:
        found = list_prices(provider, model, day, False)
        if found is None or found[3].get("input") is None:
            continue
        p = found[3]
        out[(provider, model)] = (p["input"], p["output"] if p.get("output") is not None else p["input"])
    return out


def previous_events(settings: Settings, day: date, markers: dict[date, dict], days: int = 7) -> dict:
    """Events of the last ``days`` days, (scope, subject, metric) -> (onset, sign, (story scope, story)) of the
    latest: a change flagged on Friday and again on Monday (quiet weekend days under the call minimum) is one
    change with one onset, and so is a story whose findings move from one metric to another."""
    paths = [str(p) for i in range(days, 0, -1)
             if (p := committed_file(settings, "drift_events", day - timedelta(days=i), markers.get(day - timedelta(days=i))))]
    if not paths:
        return {}
    con = duckdb.connect()
    try:
        found = frame(con, "select * from read_parquet($p, union_by_name = true) order by day", {"p": paths})
    finally:
        con.close()
    out = {}
    for r in found.to_dicts():
        story = (r["story_scope"], r["story"]) if r.get("story") is not None else None
        out[(r["scope"], r["subject"], r["metric"])] = (r["onset_day"], 1 if r["observed"] > r["baseline"] else -1, story)
    return out


def unattributed_rows(con: duckdb.DuckDBPyConnection, settings: Settings, day: date, doc: dict | None) -> list[dict]:
    path = committed_file(settings, "fct_reconciliation", day, doc)
    if path is None:
        return []
    return frame(
        con,
        "select provider, model, unattributed_owner, owner_app, gap_reason, unattributed_cost_usd "
        "from read_parquet($p) where unattributed_cost_usd <> 0",
        {"p": str(path)},
    ).to_dicts()


def monitor_day(day: date, settings: Settings, build_id: str | None = None) -> MonitorDay:
    started = time.perf_counter()
    result = MonitorDay(day=day, build_id=build_id or new_build_id())
    cfg = DriftConfig.from_settings(settings)
    markers = committed_days(settings, since=day - timedelta(days=WINDOW_DAYS), until=day)
    mart_today = committed_file(settings, "mart_cost_daily", day, markers.get(day))
    keep = [str(b.value) for b in settings.budgets if b.scope == "tenant" and b.value is not None]
    con = connect(settings)
    try:
        load_points(con, settings, day, markers, cfg.max_tenants, keep)
        points = frame(con, "select * from points")
        days = [d for d, doc in markers.items() if "mart_cost_daily" in doc["tables"]]
        history = collect(points, days)
        pairs = [(p, m) for p, m in points.filter(pl.col("scope") == "total").select("provider", "model").unique().iter_rows()]
        events = detect(history, day, cfg, token_weights(pairs, day), previous_events(settings, day, markers),
                        unattributed_rows(con, settings, day, markers.get(day)))
        statuses = status_rows(history, day, settings.budgets)
        events_df = pl.DataFrame(events, schema=contract("drift_events").polars_schema)  # noqa: F841
        status_df = pl.DataFrame(statuses, schema=contract("budget_status").polars_schema)  # noqa: F841
        con.execute("create or replace temp table drift_events as select * from events_df")
        con.execute("create or replace temp table budget_status as select * from status_df")
        if mart_today is not None:
            con.execute(f"create or replace temp table {POINTS} as select * from computed_points where day = $d", {"d": day})
            doc = commit_day(settings, day, mart_today.stem, write_tables(con, settings, day, mart_today.stem, [POINTS]))
            collect_garbage(settings, [POINTS], {day: doc}, POINTS_RETENTION, days=[day])
        result.rows = write_tables(con, settings, day, result.build_id, TABLES)
    finally:
        con.close()
    commit_day(settings, day, result.build_id, result.rows)
    result.new_events = [f"{e['subject']} {e['metric']}" for e in events if e["is_new"]]
    result.budgets_at_risk = [f"{s['budget']}: {s['status']}" for s in statuses if s["status"] != "ok"]
    result.seconds = time.perf_counter() - started
    return result

