"""Build one day of the warehouse: lake inputs in, every model run, published tables written to the lake.

A day is built in one DuckDB connection from that day's landed files only, so
the work grows with the day, not with history. Every table of the day is written
under one build id and the day is committed last, through the lake store
(``pipelines/lake/store.py``): a crash before that leaves the previous build of the
day in force. ``publish`` then points the warehouse at the committed files.
"""

from __future__ import annotations

import time as clock
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import duckdb
import polars as pl

from pipelines.contracts import contract
from pipelines.db import connect, frame, parquet_reader, sql_str
from pipelines.lake.store import LANDED, commit_day, day_file, landed_files, new_build_id, write_tables
from pipelines.pricing.prices import PRICE_COLUMNS, price_table
from pipelines.pricing.tiers import model_tiers
from pipelines.settings import Settings
from pipelines.warehouse.endpoints import endpoint_tables, reference_models
from pipelines.warehouse.models import MODELS, PUBLISHED, create_macros, dropped_after, run_model

# How far either side of midnight the neighbouring days' call records are read (see load_inputs).
CALL_EDGE = timedelta(minutes=5)


@dataclass
class DayBuild:
    day: date
    build_id: str
    rows: dict[str, int] = field(default_factory=dict)
    unpriced_models: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _narrow_prices(con: duckdb.DuckDBPyConnection) -> None:
    """Type the day's prices DECIMAL(18, 6) when every one is a whole number of micro-dollars per million tokens
    (nearly always); else they keep the DECIMAL(38, 12) they come in.

    tokens × price × 10⁻⁶ then lands exactly on the money scale (12 decimals) and is never rounded. At scale 12 the
    same product has 18 decimals and every call's cost is rounded back to 12 by a 128-bit division, about 0.7 µs a
    value: most of the pricing's CPU on a 10M-call day. The values are the same either way (the narrow product
    is exact and needs no rounding), and a price with more decimals keeps the full scale."""
    exact = " and ".join(f"coalesce({c} = round({c}, 6) and abs({c}) < 1e12, true)" for c in PRICE_COLUMNS)
    if con.execute(f"select bool_and({exact}) from dim_prices").fetchone()[0]:
        for c in PRICE_COLUMNS:
            con.execute(f"alter table dim_prices alter column {c} type decimal(18, 6)")


def load_inputs(con: duckdb.DuckDBPyConnection, settings: Settings, day: date) -> None:
    """Create lake_<table> for the day's landed files, and the dim_* tables the models join to."""
    con.execute("create or replace temp table dim_build_day as select $day::date as day", {"day": day})
    for table in LANDED:
        files = landed_files(settings, table, day)
        name = f"lake_{table}"  # code constant
        edge = ""
        if table == "calls" and files:
            # A call's records can fall either side of midnight (a span at 23:59:59.99, the proxy's row at
            # 00:00:00.05): the neighbouring days' records near midnight are read too, so the merge sees both;
            # int_calls_merged keeps the calls whose first record is on this day.
            near = [f for d in (day - timedelta(days=1), day + timedelta(days=1)) for f in landed_files(settings, table, d)]
            if near:
                files = files + near
                lo = datetime.combine(day, time(0), timezone.utc) - CALL_EDGE
                hi = datetime.combine(day + timedelta(days=1), time(0), timezone.utc) + CALL_EDGE
                # Our own timestamps (from the day being built), not data: literals in DDL, which takes no parameters.
                edge = (f" where day = {sql_str(day.isoformat())}::date or (occurred_at >= "
                        f"{sql_str(lo.isoformat())}::timestamptz and occurred_at < {sql_str(hi.isoformat())}::timestamptz)")
        if files:
            # A view, not a copy: the one model that reads a day's landed rows scans the Parquet files itself.
            have = {
                r[0]
                for r in con.execute(
                    "describe select * from read_parquet($files, union_by_name = true)", {"files": files}
                ).fetchall()
            }
            # Files landed by an older parser may lack newer nullable columns: add them as nulls.
            missing = "".join(f', null::{c.type} as "{c.name}"' for c in contract(table).columns if c.name not in have)
            con.execute(f"create or replace temp view {name} as select *{missing} from {parquet_reader(files)}{edge}")
        else:
            empty = contract(table).empty()  # noqa: F841 - read by DuckDB's replacement scan
            con.execute(f"create or replace temp table {name} as select * from empty")
    pairs = frame(
        con,
        """
        select distinct provider, model from lake_calls
        union select distinct provider, model from lake_provider_usage
        union select distinct provider, model from lake_provider_costs where model is not null
        -- a fine-tuned model's base, to price its calls' tokens at the base's list price (mart_finetune_calls)
        union select distinct provider, split_part(model, ':', 2) from lake_calls where model like 'ft:%'
        """,
    )
    whatif = whatif_models(settings)
    pairs = pl.concat([pairs, whatif, reference_models(settings)]).unique()
    prices = price_table(pairs, [day], settings)  # noqa: F841
    con.execute("create or replace temp table dim_prices as select * from prices")
    _narrow_prices(con)
    tiers = model_tiers(prices, settings)  # noqa: F841
    con.execute("create or replace temp table dim_model_tiers as select * from tiers")
    owners = pl.DataFrame(  # noqa: F841
        [(k, v.get("app"), v.get("team")) for k, v in settings.owners.items()],
        schema={"owner": pl.String, "app": pl.String, "team": pl.String},
        orient="row",
    )
    con.execute("create or replace temp table dim_owners as select * from owners")
    con.execute("create or replace temp table dim_whatif_models as select * from whatif")
    k, ceilings = settings.runaway
    runaway = pl.DataFrame(  # noqa: F841 - one row per configured ceiling, plus the default rule (feature null)
        [(None, None, k, None, None)] + [(c["app"], c["feature"], k, c["max_calls"], c["max_cost_usd"]) for c in ceilings],
        schema={"app": pl.String, "feature": pl.String, "k": pl.Decimal(38, 12), "max_calls": pl.Int64,
                "max_cost_usd": pl.Decimal(38, 12)},
        orient="row",
    )
    con.execute("create or replace temp table dim_runaway as select * from runaway")
    endpoints, endpoint_resources, endpoint_keys = endpoint_tables(settings)  # noqa: F841
    con.execute("create or replace temp table dim_endpoints as select * from endpoints")
    con.execute("create or replace temp table dim_endpoint_resources as select * from endpoint_resources")
    con.execute("create or replace temp table dim_endpoint_keys as select * from endpoint_keys")
    create_macros(con)


# Models every feature is re-priced on in mart_whatif, unless tokenbooks.yaml lists its own (`whatif_models`).
DEFAULT_WHATIF_MODELS = ["openai/gpt-4o-mini", "openai/gpt-4.1-mini", "anthropic/claude-haiku-4-5", "google/gemini-2.5-flash"]


def whatif_models(settings: Settings) -> pl.DataFrame:
    names = settings.config.whatif_models or DEFAULT_WHATIF_MODELS
    rows = [tuple(n.split("/", 1)) for n in names]
    return pl.DataFrame(rows, schema={"provider": pl.String, "model": pl.String}, orient="row")


def build_day(day: date, settings: Settings, build_id: str | None = None) -> DayBuild:
    started = clock.perf_counter()
    build_id = build_id or new_build_id()
    result = DayBuild(day=day, build_id=build_id)
    con = connect(settings)
    try:
        load_inputs(con, settings, day)
        for _, name in MODELS:
            run_model(con, name)
            if name in PUBLISHED:
                result.rows[name] = write_and_read_back(con, settings, day, build_id, name)
            for table in dropped_after()[name]:  # code constants (model names)
                con.execute(f"drop table {table}")
        result.unpriced_models = [
            f"{p}/{m}"
            for p, m in con.execute(
                # an endpoint's calls carry its cost by tokens, not a list price: not unpriced (as in the digest)
                "select distinct provider, model from fct_llm_calls where not is_priced and endpoint is null "
                "order by all"
            ).fetchall()
        ]
    finally:
        con.close()
    commit_day(settings, day, build_id, result.rows)
    result.seconds = clock.perf_counter() - started
    return result


def write_and_read_back(con: duckdb.DuckDBPyConnection, settings: Settings, day: date, build_id: str, name: str) -> int:
    """Write a published model (a view) to its day file at once and point its name at the file: the models after
    it read the written rows instead of computing them again. Returns its row count."""
    rows = write_tables(con, settings, day, build_id, [name])[name]
    con.execute(f"create or replace temp view {name} as "
                f"select * from {parquet_reader([str(day_file(settings, name, day, build_id))])}")
    return rows
