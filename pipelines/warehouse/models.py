"""The SQL models, in build order, and how one is run.

Each file under ``models/`` is one ``select``; its name is the table it builds.
``run_model`` wraps it in ``create or replace temp table <name> as …`` on the
build connection, where the upstream tables already exist by name.
"""

from __future__ import annotations

from functools import cache

import duckdb

from pipelines.settings import MODELS_DIR

# Build order: each model reads only tables built before it (or the lake_* / dim_* inputs).
MODELS: list[tuple[str, str]] = [
    ("staging", "stg_calls"),
    ("staging", "stg_outcomes"),
    ("staging", "stg_provider_usage"),
    ("staging", "stg_provider_costs"),
    ("intermediate", "int_calls_merged"),
    ("intermediate", "int_calls_priced"),
    ("intermediate", "int_provider_usage_priced"),
    ("intermediate", "int_reconciliation_groups"),
    ("intermediate", "int_calls_attributed"),
    ("marts", "fct_llm_calls"),
    ("marts", "fct_provider_usage"),
    ("marts", "fct_provider_costs"),
    ("marts", "fct_reconciliation"),
    ("marts", "mart_cost_daily"),
    ("marts", "mart_unit_economics"),
    ("marts", "mart_whatif"),
]

# The tables analysts rely on: written to the lake per day and published in the warehouse.
PUBLISHED = [name for layer, name in MODELS if layer == "marts"]


@cache
def model_sql(name: str) -> str:
    for layer, model in MODELS:
        if model == name:
            return (MODELS_DIR / layer / f"{name}.sql").read_text(encoding="utf-8")
    raise KeyError(name)


def run_model(con: duckdb.DuckDBPyConnection, name: str) -> None:
    # The table name is a code constant from MODELS, never data.
    con.execute(f"create or replace temp table {name} as\n{model_sql(name)}")
