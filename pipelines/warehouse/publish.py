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
Every view and column carries its description from ``schemas/`` (``COMMENT ON``),
and the file is written in DuckDB's v1.0.0 storage format, so DuckDB 1.0 and later open
it and read every view (``MIN_DUCKDB``; checked with DuckDB 1.0.0, 1.1.3 and 2.0.1).

Superseded build files stay ``warehouse.retain_hours`` (tokenbooks.yaml) after a
newer build replaced them, for readers of older snapshots, then go: only what the
committed warehouse names stays.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import duckdb

from pipelines.contracts import contract, contracts
from pipelines.db import sql_str
from pipelines.settings import Settings
from pipelines.warehouse.build import committed_days, committed_files

STORAGE_VERSION = "v1.0.0"  # the on-disk format the warehouse is written in
MIN_DUCKDB = "1.0"  # the oldest DuckDB that opens it and reads its views (checked with 1.0.0 and 1.1.3)

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
    # Month × provider × fine-tuned model: training (fct_provider_costs' fine_tuning lines), storage/hosting where
    # billed, inference and the base model's list price for the same calls, and the months the training takes to
    # pay back. A training line names only the base ("ft-gpt-4o-mini-2024-07-18 training"): it goes to the
    # fine-tuned models of that base called that month, split by their calls; with none called it stays on a row
    # without a fine-tuned model.
    "mart_finetunes": """
        with calls as (
            select
                date_trunc('month', day)::date as month,
                provider,
                fine_tuned_model,
                any_value(base_model) as base_model,
                count(distinct day) as days_with_calls,
                sum(calls) as calls,
                sum(cost_usd) as inference_cost_usd,
                case when bool_and(list_cost_usd is not null) then sum(list_cost_usd) end as inference_list_cost_usd,
                case when bool_and(base_list_cost_usd is not null) then sum(base_list_cost_usd) end
                    as base_list_cost_usd,
            from mart_finetune_calls
            group by all
        ),
        lines as (
            select
                date_trunc('month', day)::date as month,
                provider,
                regexp_extract(line_item, '^ft[-:]([^ :,]+)', 1) as base_model,
                coalesce(sum(billed_cost_usd) filter (where not regexp_matches(lower(line_item), 'storage|hosting')), 0)
                    as training_cost_usd,
                coalesce(sum(billed_cost_usd) filter (where regexp_matches(lower(line_item), 'storage|hosting')), 0)
                    as storage_cost_usd,
            from fct_provider_costs
            where cost_type = 'fine_tuning'
            group by all
        ),
        shared as (
            select
                coalesce(calls.month, lines.month) as month,
                coalesce(calls.provider, lines.provider) as provider,
                calls.fine_tuned_model,
                coalesce(calls.base_model, lines.base_model) as base_model,
                calls.days_with_calls,
                coalesce(calls.calls, 0) as calls,
                coalesce(calls.calls / sum(calls.calls) over (
                    partition by calls.month, calls.provider, calls.base_model), 1)::decimal(18, 15) as share,
                lines.training_cost_usd,
                lines.storage_cost_usd,
                calls.inference_cost_usd,
                calls.inference_list_cost_usd,
                calls.base_list_cost_usd,
            from calls
            full outer join lines
                on lines.month = calls.month and lines.provider = calls.provider and lines.base_model = calls.base_model
        ),
        costed as (
            select
                * exclude (share, training_cost_usd, storage_cost_usd),
                coalesce(training_cost_usd * share, 0)::decimal(38, 12) as training_cost_usd,
                coalesce(storage_cost_usd * share, 0)::decimal(38, 12) as storage_cost_usd,
                -- what the same calls saved against the base model this month, at a whole month's volume
                ((base_list_cost_usd - inference_list_cost_usd) * day(last_day(month)) / days_with_calls)
                    ::decimal(38, 12) as monthly_saving_usd,
            from shared
        ),
        to_date as (
            select
                *,
                sum(training_cost_usd) over (
                    partition by provider, fine_tuned_model order by month) as training_cost_to_date_usd,
            from costed
        )
        select
            strftime(month, '%Y-%m') as month,
            provider,
            fine_tuned_model,
            base_model,
            calls,
            training_cost_usd,
            storage_cost_usd,
            coalesce(inference_cost_usd, 0)::decimal(38, 12) as inference_cost_usd,
            inference_list_cost_usd::decimal(38, 12) as inference_list_cost_usd,
            base_list_cost_usd::decimal(38, 12) as base_list_cost_usd,
            monthly_saving_usd,
            training_cost_to_date_usd::decimal(38, 12) as training_cost_to_date_usd,
            case when fine_tuned_model is not null and training_cost_to_date_usd > 0 and monthly_saving_usd > 0
                 then round(training_cost_to_date_usd / monthly_saving_usd, 2)::double end as payback_months,
            case
                when fine_tuned_model is null then 'trained: no fine-tuned model of this base called this month'
                when training_cost_to_date_usd = 0 then 'no training cost billed in the data'
                when base_list_cost_usd is null or inference_list_cost_usd is null then 'not priced'
                when monthly_saving_usd <= 0 then 'costs more than the base model for the same tokens: a saving, if '
                    || 'any, is in shorter prompts or the larger model it replaced, which the calls do not show'
            end as payback_note,
        from to_date
    """,
}


# What schemas/ says of the views derived at publish time: (what a row is, columns beyond the source mart's).
DERIVED_COMMENTS = {
    "mart_unit_economics_weekly": (
        "one row per ISO week × app × feature: mart_unit_economics summed over the week, active users distinct "
        "over it, rates recomputed",
        {"iso_week": "ISO week, like 2026-W46.", "week": "Monday of the ISO week."},
        "mart_unit_economics",
    ),
    "mart_finetunes": (
        "one row per month × provider × fine-tuned model: training, storage and inference cost, the base model's list "
        "price for the same calls, and the months to pay back the training at this month's volume",
        {
            "month": "Month, YYYY-MM.", "provider": "Provider id.", "fine_tuned_model": "The fine-tuned model (ft:…).",
            "base_model": "The model it was tuned from.", "calls": "Calls of the fine-tuned model that month.",
            "training_cost_usd": "Training billed that month, split over the base's fine-tuned models by calls.",
            "storage_cost_usd": "Storage or hosting of fine-tuned models billed that month, split the same way.",
            "inference_cost_usd": "What its calls cost (attributed share of the bill).",
            "inference_list_cost_usd": "Its calls at the fine-tuned model's list price.",
            "base_list_cost_usd": "The same tokens at the base model's list price.",
            "monthly_saving_usd": "Base list cost minus fine-tuned list cost, scaled to the whole month.",
            "training_cost_to_date_usd": "Training billed up to this month.",
            "payback_months": "Training to date / monthly saving; null when there is no saving (payback_note says why).",
            "payback_note": "Why payback_months is null.",
        },
        "mart_finetune_calls",
    ),
}


def published_tables() -> list[str]:
    """Every table with a warehouse contract is published (schemas/warehouse/*.yaml)."""
    return sorted(contracts("warehouse"))


def publish(settings: Settings) -> Path:
    days = committed_days(settings)
    tables = {name: committed_files(settings, name, days) for name in published_tables()}
    target = settings.warehouse
    tmp = target.with_name(target.name + ".publishing")
    tmp.unlink(missing_ok=True)
    config = {"storage_compatibility_version": STORAGE_VERSION, "file_search_path": str(settings.home)}
    con = duckdb.connect(str(tmp), config=config)
    try:
        for name, files in tables.items():
            if files:
                listing = ", ".join(sql_str(os.path.relpath(f, settings.home)) for f in files)
                con.execute(f"create view {name} as select * from read_parquet([{listing}], union_by_name = true)")
            else:
                cols = ", ".join(f'null::{c.type} as "{c.name}"' for c in contract(name).columns)
                con.execute(f"create view {name} as select {cols} where false")
            _comment(con, name, contract(name).grain, {c.name: c.description for c in contract(name).columns})
        for name, sql in DERIVED_VIEWS.items():
            con.execute(f"create view {name} as {sql}")
            grain, own, source = DERIVED_COMMENTS[name]
            _comment(con, name, grain, {**{c.name: c.description for c in contract(source).columns}, **own})
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


def _comment(con: duckdb.DuckDBPyConnection, view: str, grain: str, descriptions: dict[str, str]) -> None:
    """COMMENT ON the view and each of its columns that schemas/ describes (names are code constants)."""
    con.execute(f"comment on view {view} is {sql_str(grain)}")
    for (column,) in con.execute(f"select column_name from (describe {view})").fetchall():
        if descriptions.get(column):
            con.execute(f'comment on column {view}."{column}" is {sql_str(descriptions[column])}')


def _collect_garbage(settings: Settings, days: dict[date, dict], now: float | None = None) -> None:
    """Delete a day's superseded build files ``retain_hours`` after the committed build replaced them; files
    of no committed build (one running, one that crashed, abandoned .tmp files) that long after they were written."""
    keep_s = settings.config.warehouse.retain_hours * 3600
    now = time.time() if now is None else now
    for name in published_tables():
        for folder in (settings.lake / name).glob("day=*"):
            doc = days.get(date.fromisoformat(folder.name[4:]), {"tables": {}})
            committed = doc["tables"].get(name, {}).get("build_id")
            current = folder / f"{committed}.parquet" if committed else None
            superseded_at = current.stat().st_mtime if current is not None and current.exists() else None
            for f in folder.iterdir():
                if f == current or not (f.suffix == ".parquet" or f.name.endswith(".tmp")):
                    continue
                written = f.stat().st_mtime
                # A file newer than the committed one is a build still running (or one that crashed): its own age.
                since = superseded_at if superseded_at is not None and written <= superseded_at else written
                if now - since >= keep_s:
                    f.unlink(missing_ok=True)
