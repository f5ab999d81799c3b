"""Cross-table invariants per day: the bill adds up to the cent, and usage and cost exports cover the same providers."""

from datetime import date
from decimal import Decimal

import duckdb
import polars as pl

from pipelines.lake.store import committed_files
from pipelines.quality.invariants import INVARIANTS, check_invariant
from pipelines.warehouse.build import build_day
from pipelines.warehouse.checks import CHECKED
from tests.quality.conftest import DAY
from tests.quality.days import land_all, write_day

BY_NAME = {inv.name: inv for inv in INVARIANTS}


def day_files(settings, day=DAY) -> dict[str, list[str]]:
    return {t: committed_files(settings, t, since=day, until=day) for t in CHECKED}


def run(settings, name, day=DAY):
    return check_invariant(duckdb.connect(), BY_NAME[name], day_files(settings, day), day)


def nudge_unattributed(settings, amount: str) -> None:
    (path,) = day_files(settings)["fct_reconciliation"]
    df = pl.read_parquet(path, hive_partitioning=False)
    first = pl.int_range(pl.len()) == 0
    df = df.with_columns(
        pl.when(first).then(pl.col("unattributed_cost_usd") + pl.lit(Decimal(amount)).cast(pl.Decimal(38, 12)))
        .otherwise(pl.col("unattributed_cost_usd"))
        .cast(pl.Decimal(38, 12))
        .alias("unattributed_cost_usd")
    )
    df.write_parquet(path)


def test_a_built_day_satisfies_every_invariant(built):
    for inv in INVARIANTS:
        result = check_invariant(duckdb.connect(), inv, day_files(built), DAY)
        assert result.passed, (inv.name, result.detail)
        assert result.rows and all(r["passed"] for r in result.rows)
    billed = run(built, "reconciles_to_bill").rows[0]
    assert billed["provider"] == "openai" and Decimal(billed["expected"]) > 0


def test_a_cent_lost_between_attributed_and_unattributed_fails(built):
    nudge_unattributed(built, "0.01")
    result = run(built, "reconciles_to_bill")
    assert not result.passed
    assert result.detail.startswith("openai: billed ") and "attributed + unattributed" in result.detail
    # The mart was built from the untouched numbers: it no longer matches either.
    assert run(built, "adds_up_to_spend").detail.startswith("openai: calls + unattributed ")


def test_less_than_half_a_cent_is_to_the_cent(built):
    nudge_unattributed(built, "0.004")
    assert run(built, "reconciles_to_bill").passed


def test_usage_without_costs_warns(built, tmp_path):
    day = date(2026, 11, 12)
    calls, usage, _costs = write_day(tmp_path / "in", day)
    land_all(built, [calls, usage])
    build_day(day, built)
    result = run(built, "usage_matches_costs", day)
    assert not result.passed and BY_NAME["usage_matches_costs"].severity == "warn"
    assert result.detail == "openai: cost lines none, usage lines 2"


def test_a_missing_build_is_reported_not_raised(built):
    result = check_invariant(duckdb.connect(), BY_NAME["reconciles_to_bill"], day_files(built, date(2026, 11, 20)), date(2026, 11, 20))
    assert not result.passed and "no committed build" in result.detail
