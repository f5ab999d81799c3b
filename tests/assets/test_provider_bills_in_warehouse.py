"""Provider bills through the warehouse: what a file says it billed is what fct_provider_costs says, per day,
to the cent, with the original amount and currency kept; and a billed fact that arrives twice (API page and
dashboard CSV of the same day, a report pulled again after the provider revised it) is counted once.
"""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.resources import TokenbooksResource
from pipelines.settings import Settings, load_settings
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish
from pipelines.warehouse.assets import warehouse_day
from pipelines.warehouse.checks import warehouse_checks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
D = Decimal


def build(settings: Settings, days) -> duckdb.DuckDBPyConnection:
    for day in sorted(set(days)):
        build_day(date.fromisoformat(str(day)), settings)
    publish(settings)
    return open_warehouse(settings)


def land(settings: Settings, path: Path, fmt: str | None = None):
    result = land_file(path, settings, fmt=fmt)
    assert result.error is None, result.error
    return result


def per_day(con, sql: str) -> dict:
    return {d: v for d, v in con.execute(sql).fetchall()}


# Per UTC day: the file's amounts summed by hand (USD), and the original amounts in the billing currency.
BILLS = {
    "openai/costs_pages.jsonl": (
        # 40-decimal string amounts and "0E-6176" arrive exactly.
        {date(2024, 11, 1): D("0.0018") + D("0.0006") + D("0") + D("0.00375") + D("1.25") + D("0.5")},
        None,
        {"USD"},
    ),
    "openai/dashboard_costs.csv": ({date(2024, 11, 1): D("1.75615")}, None, {"USD"}),
    "anthropic/cost_report.json": (
        # amounts are cents
        {date(2025, 8, 1): (D("123.78912") + D("0.06") + D("750") + D("10") + D("2.5")) / 100},
        None,
        {"USD"},
    ),
    "google/billing_export.jsonl": (
        # net = cost + sum(credits)
        {
            date(2025, 6, 1): D("0.6") - D("0.1") + D("1.0") + D("0.35") + D("0.1") + D("0.0125") + D("0.15"),
            date(2025, 6, 2): D("0.105") - D("0.005") - D("0.1") + D("0.02"),
        },
        None,
        {"USD"},
    ),
    "google/billing_export.csv": (
        {date(2025, 6, 3): D("0.59"), date(2025, 6, 4): D("1")},
        {date(2025, 6, 3): D("31.708") - D("1.5854") + D("63.416"), date(2025, 6, 4): D("158.54")},
        {"JPY"},
    ),
    "aws/cur2_bedrock.csv": (
        {
            date(2025, 6, 1): D("0.02469134") + D("0.002") + D("4.95") + D("4.125") + D("1.65") + D("0.825")
            + D("0.075") + D("0.33"),
            date(2025, 6, 2): D("-0.01"),
        },
        None,
        {"USD"},
    ),
    "azure/cost_details_mca.csv": (
        # billed in EUR; costInUsd is the USD amount
        {date(2025, 6, 1): D("0.450075"), date(2025, 6, 2): D("5")},
        {date(2025, 6, 1): D("0.414069"), date(2025, 6, 2): D("4.6")},
        {"EUR"},
    ),
    "azure/cost_details_ea.csv": (None, None, {"GBP"}),
    "openrouter/activity.json": ({date(2025, 8, 24): D("1.7495678"), date(2025, 8, 25): D("3")}, None, {"USD"}),
}


@pytest.mark.parametrize("fixture", sorted(BILLS))
def test_billed_per_day_equals_the_files_amounts(fixture: str, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "tb")
    result = land(settings, FIXTURES / fixture)
    con = build(settings, result.days)
    usd, original, currencies = BILLS[fixture]
    billed = per_day(con, "select day, sum(billed_cost_usd) from fct_provider_costs group by all")
    if usd is not None:
        assert billed == usd
    else:  # the EA file: GBP 17.38 billed, USD 22 at the export's rate
        assert sum(billed.values()) == D("22")
    if original is not None:
        assert per_day(con, "select day, sum(billed_amount) from fct_provider_costs group by all") == original
    assert {r[0] for r in con.execute("select distinct currency from fct_provider_costs").fetchall()} == currencies
    assert con.execute("select count(*) from fct_provider_costs where billed_cost_usd is null").fetchone()[0] == 0
    types = dict(con.execute("select column_name, column_type from (describe fct_provider_costs)").fetchall())
    assert types["billed_cost_usd"] == types["billed_amount"] == "DECIMAL(38,12)"
    # The bill reaches reconciliation whole: attributed + unattributed = billed, per day.
    recon = per_day(con, "select day, sum(attributed_cost_usd) + sum(unattributed_cost_usd) from fct_reconciliation group by all")
    assert recon == billed


# ---- one fact, two channels --------------------------------------------------------------------

DAY = date(2024, 11, 1)


def revised_costs_page(tmp_path: Path) -> Path:
    """The same day pulled again after OpenAI revised one line (input 0.0018 -> 0.0025) and added none."""
    pages = [json.loads(line) for line in (FIXTURES / "openai/costs_pages.jsonl").read_text().splitlines()]
    pages[0]["data"][0]["results"][0]["amount"]["value"] = "0.0025"
    path = tmp_path / "costs_repull.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pages))
    return path


def test_a_day_through_api_and_dashboard_is_counted_once(home: Settings, tmp_path: Path) -> None:
    land(home, FIXTURES / "openai/costs_pages.jsonl")
    land(home, FIXTURES / "openai/dashboard_costs.csv")
    land(home, FIXTURES / "openai/usage_completions_page.json")
    land(home, FIXTURES / "openai/dashboard_usage.csv")
    # Both channels are in the lake, twice the facts...
    assert len(list((home.lake / "provider_costs" / f"day={DAY}").glob("*.parquet"))) == 2
    con = build(home, [DAY, date(2024, 11, 3)])
    # ...and the warehouse counts each once: the file's total, not twice it.
    assert con.execute("select sum(billed_cost_usd), count(*) from fct_provider_costs").fetchone() == (D("1.75615"), 6)
    assert con.execute("select count(*) - count(distinct line_key) from fct_provider_costs").fetchone()[0] == 0
    # The newest landed version of each fact wins: the CSV, landed second.
    assert {r[0] for r in con.execute("select distinct source_format from fct_provider_costs").fetchall()} == {
        "openai_costs_csv"}
    usage = con.execute(
        "select sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(requests), count(*) from fct_provider_usage"
    ).fetchone()
    assert usage == (69000, 10000, 13500, 149, 3)
    assert con.execute("select sum(billed_cost_usd) from fct_reconciliation").fetchone()[0] == D("1.75615")
    con.close()

    # The provider revised the day; the re-pull lands later and wins, still once per fact.
    land(home, revised_costs_page(tmp_path))
    con = build(home, [DAY])
    assert con.execute("select sum(billed_cost_usd), count(*) from fct_provider_costs").fetchone() == (
        D("1.75615") - D("0.0018") + D("0.0025"), 6)
    assert con.execute(
        "select billed_cost_usd, source_format from fct_provider_costs where line_item = 'gpt-4o-mini-2024-07-18, input'"
    ).fetchone() == (D("0.0025"), "openai_costs_page")
    con.close()


def test_overlapping_pulls_and_the_nightly_checks(home: Settings, tmp_path: Path) -> None:
    """Two Anthropic cost reports with overlapping days: the shared day is counted once, and the nightly
    job's blocking check (attributed + unattributed = billed = fct_provider_costs) passes on every day."""
    report = json.loads((FIXTURES / "anthropic/cost_report.json").read_text())
    bucket = report["data"][0]
    day1 = bucket["starting_at"][:10]
    second = dict(bucket, starting_at="2025-08-02T00:00:00Z", ending_at="2025-08-03T00:00:00Z")
    first_pull = dict(report, data=[bucket])
    overlapping = dict(report, data=[bucket, second])
    (tmp_path / "a.json").write_text(json.dumps(first_pull))
    (tmp_path / "b.json").write_text(json.dumps(overlapping))
    land(home, tmp_path / "a.json")
    land(home, tmp_path / "b.json")
    result = dg.materialize(
        [warehouse_day, warehouse_checks],
        instance=dg.DagsterInstance.ephemeral(),
        resources={"tokenbooks": TokenbooksResource(home=str(home.home), config_path=str(home.config_path or ""))},
        tags={"dagster/asset_partition_range_start": "2025-08-01", "dagster/asset_partition_range_end": "2025-08-02"},
    )
    assert result.success
    checks = {(e.check_name, e.partition): e.passed for e in result.get_asset_check_evaluations()
              if e.check_name in ("reconciles_to_bill", "attribution_matches_reconciliation")}
    assert checks == {(c, d): True for c in ("reconciles_to_bill", "attribution_matches_reconciliation")
                      for d in ("2025-08-01", "2025-08-02")}
    con = open_warehouse(home)
    one_day = (D("123.78912") + D("0.06") + D("750") + D("10") + D("2.5")) / 100
    assert per_day(con, "select day, sum(billed_cost_usd) from fct_provider_costs group by all") == {
        date.fromisoformat(day1): one_day, date(2025, 8, 2): one_day}
    assert per_day(con, "select day, sum(attributed_cost_usd + unattributed_cost_usd) from fct_reconciliation group by all") == {
        date.fromisoformat(day1): one_day, date(2025, 8, 2): one_day}
