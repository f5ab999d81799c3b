"""The SQL models, in build order, and how one is run.

Each file under ``models/`` is one ``select``; its name is the table it builds.
``run_model`` wraps it in ``create or replace temp table <name> as …`` on the
build connection, where the upstream tables already exist by name (a model only
one later model reads is a temp view instead, see :func:`inlined`; a published
model is a view that the build writes to the lake and then reads back).
"""

from __future__ import annotations

import re
from functools import cache

import duckdb

from pipelines.settings import MODELS_DIR

# Build order: each model reads only tables built before it (or the lake_* / dim_* inputs).
MODELS: list[tuple[str, str]] = [
    ("staging", "stg_model_aliases"),
    ("staging", "stg_calls"),
    ("staging", "stg_outcomes"),
    ("staging", "stg_provider_usage"),
    ("staging", "stg_provider_costs"),
    # Before the merge, which leaves its records out: a published table, so the check can show them.
    ("marts", "fct_call_conflicts"),
    ("intermediate", "int_calls_merged"),
    ("intermediate", "int_call_model_aliases"),
    ("intermediate", "int_calls_priced"),
    ("intermediate", "int_endpoint_groups"),
    ("intermediate", "int_reconciliation_granularity"),
    ("intermediate", "int_provider_usage_priced"),
    ("intermediate", "int_reconciliation_groups"),
    ("intermediate", "int_calls_attributed"),
    ("marts", "fct_llm_calls"),
    ("marts", "fct_provider_usage"),
    ("marts", "fct_usage_channels"),
    ("marts", "fct_provider_costs"),
    ("marts", "fct_reconciliation"),
    ("marts", "mart_endpoints"),
    ("marts", "mart_finetune_calls"),
    ("marts", "mart_cost_daily"),
    ("marts", "mart_unit_economics"),
    ("marts", "mart_whatif"),
    ("marts", "mart_output_ceilings"),
    ("marts", "mart_sessions"),
]

# The tables analysts rely on: written to the lake per day and published in the warehouse.
PUBLISHED = [name for layer, name in MODELS if layer == "marts"]

# Read by code after the models have run (build_day's unpriced-model report).
READ_AFTER_BUILD = {"int_calls_priced"}


@cache
def model_sql(name: str) -> str:
    for layer, model in MODELS:
        if model == name:
            return (MODELS_DIR / layer / f"{name}.sql").read_text(encoding="utf-8")
    raise KeyError(name)


@cache
def inlined() -> frozenset[str]:
    """Models built as views: unpublished, read by at most one later model and by no code.

    Their one reader computes them inline, so the day's calls are not copied once more
    into a table nobody reads twice (a stg_/int_ table of a 10M-call day is gigabytes).
    A model read twice stays a table: it is computed once and stays consistent.
    """
    names = [name for _, name in MODELS]
    out = set()
    for i, name in enumerate(names):
        readers = [m for m in names[i + 1:] if re.search(rf"\b{name}\b", model_sql(m))]
        if name not in PUBLISHED and name not in READ_AFTER_BUILD and len(readers) <= 1:
            out.add(name)
    return frozenset(out)


def create_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The SQL macros models share (``models/macros/*.sql``, one ``create macro`` each)."""
    for path in sorted((MODELS_DIR / "macros").glob("*.sql")):
        con.execute(path.read_text(encoding="utf-8"))


def run_model(con: duckdb.DuckDBPyConnection, name: str) -> None:
    # The table name is a code constant from MODELS, never data. A published model is a view too: the build
    # writes it to its lake file at once and points the name at the file (``build.write_and_read_back``), so the
    # day's calls are computed once and not held in memory as one more table.
    kind = "view" if name in inlined() or name in PUBLISHED else "table"
    con.execute(f"create or replace temp {kind} {name} as\n{model_sql(name)}")
