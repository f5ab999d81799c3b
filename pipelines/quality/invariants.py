"""Cross-table invariants of one day, computed exactly in DuckDB over the day's committed files.

Each invariant is one query whose rows compare an expected with an actual value
(per provider, money to the cent); it holds when every row passes. They are the
promises the product makes that no single table's contract can state: the bill is
split into attributed and unattributed without a cent lost, the calls carry what
reconciliation attributed, the marts add up to the spend, and providers' usage and
cost exports cover the same days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

from pipelines.quality.rules import ERROR, WARN

CENT = Decimal("0.005")  # "to the cent": differences below half a cent


@dataclass(frozen=True)
class Comparison:
    what: str
    expected: str  # SQL: select provider, <value> as v ... (per provider)
    actual: str
    kind: str = "money"  # money: equal to the cent; presence: both sides present or both absent
    labels: tuple[str, str] = ("expected", "actual")


@dataclass(frozen=True)
class Invariant:
    table: str  # the asset whose check reports it
    name: str
    severity: str
    description: str
    reads: tuple[str, ...]  # tables whose committed files the queries read as $<table>
    comparisons: tuple[Comparison, ...]


def _sum(column: str, table: str) -> str:
    return SUMS[(column, table)]


# Per-provider aggregates; table and column names are code constants, files are bound as $<table>.
SUMS = {
    ("billed_cost_usd", "fct_reconciliation"): "select provider, sum(billed_cost_usd) as v from read_parquet($fct_reconciliation, hive_partitioning = false) group by all",
    ("attributed+unattributed", "fct_reconciliation"): (
        "select provider, sum(attributed_cost_usd) + sum(unattributed_cost_usd) as v"
        " from read_parquet($fct_reconciliation, hive_partitioning = false) group by all"
    ),
    ("billed_cost_usd", "fct_provider_costs"): "select provider, sum(billed_cost_usd) as v from read_parquet($fct_provider_costs, hive_partitioning = false) group by all",
    ("attributed_cost_usd", "fct_reconciliation"): (
        "select provider, sum(attributed_cost_usd) as v from read_parquet($fct_reconciliation, hive_partitioning = false) group by all"
    ),
    ("attributed_cost_usd", "fct_llm_calls"): "select provider, sum(attributed_cost_usd) as v from read_parquet($fct_llm_calls, hive_partitioning = false) group by all",
    ("cost_usd+unattributed", "fct_llm_calls"): (
        "select provider, sum(v) as v from ("
        " select provider, sum(cost_usd) as v from read_parquet($fct_llm_calls, hive_partitioning = false) group by all"
        " union all select provider, sum(unattributed_cost_usd) from read_parquet($fct_reconciliation, hive_partitioning = false) group by all"
        ") group by all"
    ),
    ("cost_usd", "mart_cost_daily"): "select provider, sum(cost_usd) as v from read_parquet($mart_cost_daily, hive_partitioning = false) group by all",
    ("cost_usd", "fct_llm_calls"): "select 'all' as provider, sum(cost_usd) as v from read_parquet($fct_llm_calls, hive_partitioning = false)",
    ("cost_usd", "mart_unit_economics"): "select 'all' as provider, sum(cost_usd) as v from read_parquet($mart_unit_economics, hive_partitioning = false)",
    ("lines", "fct_provider_costs"): "select provider, count(*) as v from read_parquet($fct_provider_costs, hive_partitioning = false) group by all",
    ("lines", "fct_provider_usage"): "select provider, count(*) as v from read_parquet($fct_provider_usage, hive_partitioning = false) group by all",
}

INVARIANTS = [
    Invariant(
        "fct_reconciliation",
        "reconciles_to_bill",
        ERROR,
        "Per day and provider: attributed + unattributed = billed, and billed = fct_provider_costs, to the cent.",
        ("fct_reconciliation", "fct_provider_costs"),
        (
            Comparison("attributed + unattributed = billed", _sum("billed_cost_usd", "fct_reconciliation"),
                       _sum("attributed+unattributed", "fct_reconciliation"), labels=("billed", "attributed + unattributed")),
            Comparison("billed = fct_provider_costs billed", _sum("billed_cost_usd", "fct_provider_costs"),
                       _sum("billed_cost_usd", "fct_reconciliation"),
                       labels=("fct_provider_costs billed", "fct_reconciliation billed")),
        ),
    ),
    Invariant(
        "fct_llm_calls",
        "attribution_matches_reconciliation",
        ERROR,
        "Per day and provider: the calls' attributed_cost_usd adds up to fct_reconciliation's, to the cent.",
        ("fct_llm_calls", "fct_reconciliation"),
        (
            Comparison("calls attributed = reconciliation attributed", _sum("attributed_cost_usd", "fct_reconciliation"),
                       _sum("attributed_cost_usd", "fct_llm_calls"), labels=("reconciliation attributed", "calls attributed")),
        ),
    ),
    Invariant(
        "mart_cost_daily",
        "adds_up_to_spend",
        ERROR,
        "Per day and provider: mart_cost_daily's cost_usd = the calls' cost_usd + the unattributed bill, to the cent.",
        ("mart_cost_daily", "fct_llm_calls", "fct_reconciliation"),
        (
            Comparison("mart = calls + unattributed", _sum("cost_usd+unattributed", "fct_llm_calls"),
                       _sum("cost_usd", "mart_cost_daily"), labels=("calls + unattributed", "mart_cost_daily")),
        ),
    ),
    Invariant(
        "mart_unit_economics",
        "adds_up_to_calls",
        ERROR,
        "Per day: mart_unit_economics' cost_usd = the calls' cost_usd, to the cent.",
        ("mart_unit_economics", "fct_llm_calls"),
        (
            Comparison("unit economics = calls", _sum("cost_usd", "fct_llm_calls"), _sum("cost_usd", "mart_unit_economics"),
                       labels=("calls", "mart_unit_economics")),
        ),
    ),
    Invariant(
        "fct_provider_usage",
        "usage_matches_costs",
        WARN,
        "A provider with cost lines for the day has usage lines for it, and the other way round.",
        ("fct_provider_usage", "fct_provider_costs"),
        (
            Comparison("cost lines vs usage lines", _sum("lines", "fct_provider_costs"), _sum("lines", "fct_provider_usage"),
                       kind="presence", labels=("cost lines", "usage lines")),
        ),
    ),
]


@dataclass
class InvariantResult:
    invariant: Invariant
    passed: bool
    rows: list[dict[str, Any]]
    detail: str = ""


def check_invariant(con: duckdb.DuckDBPyConnection, inv: Invariant, files: dict[str, list[str]], day: date) -> InvariantResult:
    """Evaluate one invariant for a day; ``files`` maps each table to its committed files for the day."""
    missing = [t for t in inv.reads if not files.get(t)]
    if missing:
        return InvariantResult(inv, False, [], f"no committed build for {day} of: {', '.join(missing)}")
    rows, details = [], []
    for comp in inv.comparisons:
        expected, actual = _values(con, comp.expected, files), _values(con, comp.actual, files)
        for provider in sorted(expected.keys() | actual.keys(), key=str):
            e, a = expected.get(provider), actual.get(provider)
            if comp.kind == "presence":
                passed = (e is not None) == (a is not None)
            else:
                passed = abs((e or 0) - (a or 0)) < CENT
            rows.append({"what": comp.what, "provider": provider, "expected": _num(e), "actual": _num(a), "passed": passed})
            if not passed:
                details.append(f"{provider}: {comp.labels[0]} {_show(e)}, {comp.labels[1]} {_show(a)}")
    detail = "; ".join(details[:5])
    failing = [r for r in rows if not r["passed"]]
    return InvariantResult(inv, not failing, rows, detail)


def _values(con: duckdb.DuckDBPyConnection, sql: str, files: dict[str, list[str]]) -> dict[str, Any]:
    names = [t for t in files if "$" + t in sql]
    return {p: v for p, v in con.sql(sql, params={t: files[t] for t in names}).fetchall() if v is not None}


def _num(value: Any) -> Any:
    return None if value is None else (int(value) if isinstance(value, int) else str(value))


def _show(value: Any) -> str:
    return "none" if value is None else str(_num(value))
