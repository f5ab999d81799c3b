"""Provider usage and billing formats: each fixture (written from the provider's documentation,
traps included) lands with the expected totals, days, models, owners and line keys."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.ingest.formats.base import Sample
from pipelines.ingest.formats.openai import parse_line_item
from pipelines.ingest.land import land_file
from pipelines.ingest.registry import detect
from pipelines.pricing.models import ModelCatalog
from pipelines.settings import Settings, load_settings
from pipelines.warehouse.endpoints import endpoint_tables
from pipelines.warehouse.models import create_macros, model_sql

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def land(path: Path, settings: Settings, fmt: str | None = None):
    result = land_file(path, settings, fmt=fmt)
    assert result.error is None, result.error
    tables = {}
    for table in [result.table, *result.also]:
        files = sorted((settings.lake / table).glob("day=*/*.parquet"))
        tables[table] = pl.read_parquet(files) if files else pl.DataFrame()
    return result, tables


def quarantine(settings: Settings) -> pl.DataFrame:
    files = list(settings.quarantine.glob("*.parquet"))
    return pl.read_parquet(files) if files else pl.DataFrame(schema={"record": pl.Int64, "field": pl.String, "reason": pl.String})


def by_day(df: pl.DataFrame, col: str) -> dict[date, Decimal]:
    return {d: v for d, v in df.group_by("day").agg(pl.col(col).sum()).iter_rows()}


def total(df: pl.DataFrame, col: str):
    return df[col].sum()


def assert_unique_keys(df: pl.DataFrame) -> None:
    assert df["line_key"].n_unique() == df.height, "line_key must name one fact per file"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "tb")


# ---- detection ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "fixture, fmt",
    [
        ("openai/usage_completions_page.json", "openai_usage_page"),
        ("openai/costs_pages.jsonl", "openai_costs_page"),
        ("openai/dashboard_usage.csv", "openai_usage_csv"),
        ("openai/dashboard_costs.csv", "openai_costs_csv"),
        ("anthropic/usage_report.json", "anthropic_usage_report"),
        ("anthropic/cost_report.json", "anthropic_cost_report"),
        ("google/billing_export.jsonl", "google_billing_jsonl"),
        ("google/billing_export.csv", "google_billing_csv"),
        ("aws/cur2_bedrock.csv", "aws_cur_csv"),
        ("aws/cur2_bedrock.parquet", "aws_cur_parquet"),
        ("azure/cost_details_mca.csv", "azure_cost_details"),
        ("azure/cost_details_ea.csv", "azure_cost_details"),
        ("openrouter/activity.json", "openrouter_activity"),
    ],
)
def test_each_format_is_recognised_by_content(fixture: str, fmt: str, tmp_path: Path) -> None:
    # Renamed to say nothing: detection must not lean on the file name.
    copy = tmp_path / "export.bin"
    shutil.copy(FIXTURES / fixture, copy)
    assert detect(copy).name == fmt


def test_invocation_logs_are_provider_usage_when_named(settings: Settings) -> None:
    fmt = detect(FIXTURES / "aws/bedrock_invocations.jsonl", "bedrock_invocation_usage")
    assert fmt.table == "provider_usage"
    assert fmt.sniff(Sample.of(FIXTURES / "aws/bedrock_invocations.jsonl"))


# ---- counts in = landed + quarantined, in records of the file -----------------------------------

@pytest.mark.parametrize(
    "fixture, fmt, counts",
    [
        # (records in, landed, quarantined, skipped: records that are not LLM spend)
        ("openai/usage_completions_page.json", None, (3, 3, 0, 0)),
        ("openai/costs_pages.jsonl", None, (6, 6, 0, 0)),
        ("openai/dashboard_usage.csv", None, (3, 3, 0, 1)),  # the empty bucket's row
        ("openai/dashboard_costs.csv", None, (6, 6, 0, 1)),
        ("anthropic/usage_report.json", None, (2, 2, 0, 0)),
        ("anthropic/cost_report.json", None, (5, 5, 0, 0)),
        ("google/billing_export.jsonl", None, (8, 8, 0, 0)),
        ("google/billing_export.csv", None, (3, 3, 0, 0)),
        ("aws/cur2_bedrock.csv", None, (9, 9, 0, 1)),  # two hours of Titan in one fact; an EC2 line
        ("aws/cur2_bedrock.parquet", None, (9, 9, 0, 1)),
        ("aws/bedrock_invocations.jsonl", "bedrock_invocation_usage", (5, 3, 2, 0)),
        ("azure/cost_details_mca.csv", None, (5, 5, 0, 1)),  # an App Service line
        ("azure/cost_details_ea.csv", None, (2, 2, 0, 0)),
        ("openrouter/activity.json", None, (4, 4, 0, 0)),  # two endpoints of one model in one fact
    ],
)
def test_every_record_is_landed_or_quarantined(fixture: str, fmt: str | None, counts, settings: Settings) -> None:
    result = land_file(FIXTURES / fixture, settings, fmt=fmt)
    assert result.error is None, result.error
    assert (result.records_in, result.landed, result.quarantined, result.skipped) == counts
    assert result.records_in == result.landed + result.quarantined
    assert len(quarantine(settings)) == result.quarantined
    if result.skipped:
        assert "skipped" in result.line()


def _google_row(hour: int, sku: str, cost, amount: int, credits=()) -> dict:
    return {
        "service": {"id": "C7E2-9256-1C43", "description": "Vertex AI"},
        "sku": {"id": "ABCD", "description": sku},
        "usage_start_time": f"2025-06-01 {hour:02d}:00:00 UTC",
        "usage_end_time": f"2025-06-01 {hour + 1:02d}:00:00 UTC",
        "project": {"id": "search-prod"},
        "labels": [{"key": "team", "value": "search"}],
        "cost": cost,
        "currency": "USD",
        "currency_conversion_rate": 1.0,
        "usage": {"amount": amount, "unit": "count"},
        "credits": [{"name": "FreeTrial", "amount": c} for c in credits],
        "cost_type": "regular",
    }


def test_summed_billing_rows_count_every_record(settings: Settings, tmp_path: Path) -> None:
    """A billing export has one row per SKU and hour; the lake keeps one row per fact (SKU and day), and
    the counts still say how many of the file's records landed."""
    rows = [_google_row(h, "Gemini 2.5 Flash Text Input - Predictions", 0.3, 1_000_000, [-0.05]) for h in range(5)]
    rows += [_google_row(h, "Gemini 2.5 Flash Text Output - Predictions", "0.25", 100_000) for h in range(3)]
    rows.append(_google_row(9, "Gemini 2.5 Flash Text Output - Predictions", "lots", 100))
    path = tmp_path / "billing.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    result, t = land(path, settings)
    assert (result.records_in, result.landed, result.quarantined) == (10, 8, 2)
    assert result.also["provider_usage"] == {"landed": 8, "quarantined": 0}
    c = t["provider_costs"]
    assert c.height == 2  # one row per fact
    assert total(c, "billed_cost_usd") == 5 * (Decimal("0.3") - Decimal("0.05")) + 3 * Decimal("0.25")
    assert sorted(quarantine(settings)["record"].to_list()) == [9, 10]


# ---- OpenAI ---------------------------------------------------------------------------------

def test_openai_usage_page(settings: Settings) -> None:
    result, t = land(FIXTURES / "openai/usage_completions_page.json", settings)
    u = t["provider_usage"]
    assert (result.records_in, result.landed, result.quarantined) == (3, 3, 0)
    # The empty bucket of 2024-11-02 lands nothing; unix-second buckets are UTC days.
    assert sorted(u["day"].unique().to_list()) == [date(2024, 11, 1), date(2024, 11, 3)]
    assert set(u["model"]) == {"gpt-4o-mini", "gpt-4.1"}
    assert set(u["model_raw"]) == {"gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14"}
    # input_tokens already include cached (and cache-write) tokens: kept as sent, never added again.
    assert total(u, "input_tokens") == 12000 + 50000 + 7000
    assert total(u, "cached_input_tokens") == 8000 + 2000
    assert total(u, "cache_write_tokens") == 1000
    assert total(u, "output_tokens") == 3000 + 9000 + 1500
    assert total(u, "requests") == 149
    batch = u.filter(pl.col("is_batch"))
    assert batch["input_tokens"].to_list() == [50000]
    assert set(u["owner"]) == {"key:key_search01", "project:proj_support"}
    assert set(u["service_tier"]) == {"standard", "flex"}
    assert_unique_keys(u)


@pytest.mark.parametrize("shape", ["array", "jsonl"])
def test_openai_pages_as_array_or_json_lines(shape: str, settings: Settings, tmp_path: Path) -> None:
    page = json.loads((FIXTURES / "openai/usage_completions_page.json").read_text())
    first, second = dict(page, data=page["data"][:1], has_more=True, next_page="p2"), dict(page, data=page["data"][1:])
    path = tmp_path / f"pages.{shape}"
    if shape == "array":
        path.write_text(json.dumps([first, second], indent=2))
    else:
        path.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    _, t = land(path, settings)
    assert total(t["provider_usage"], "input_tokens") == 69000


def test_openai_embeddings_page_and_ungrouped_results(settings: Settings, tmp_path: Path) -> None:
    page = {
        "object": "page",
        "data": [{"object": "bucket", "start_time": 1730419200, "end_time": 1730505600, "results": [
            {"object": "organization.usage.embeddings.result", "input_tokens": 16000, "num_model_requests": 2,
             "project_id": "proj_rag", "user_id": None, "api_key_id": None, "model": "text-embedding-3-small"},
            # Not grouped by model: cannot be a usage line of any model, so it is quarantined, not dropped.
            {"object": "organization.usage.embeddings.result", "input_tokens": 5, "num_model_requests": 1,
             "project_id": None, "user_id": None, "api_key_id": None, "model": None},
        ]}],
        "has_more": False, "next_page": None,
    }
    path = tmp_path / "embeddings.json"
    path.write_text(json.dumps(page))
    result, t = land(path, settings)
    u = t["provider_usage"]
    assert (result.records_in, result.landed, result.quarantined) == (2, 1, 1)
    assert u.select("model", "input_tokens", "output_tokens", "owner").row(0) == (
        "text-embedding-3-small", 16000, 0, "project:proj_rag")
    assert quarantine(settings)["field"].to_list() == ["model"]


def test_openai_costs_page_money_is_exact(settings: Settings) -> None:
    result, t = land(FIXTURES / "openai/costs_pages.jsonl", settings)
    c = t["provider_costs"]
    assert (result.records_in, result.landed) == (6, 6)
    assert c.schema["billed_cost_usd"] == pl.Decimal(38, 12)
    # A 52-decimal string, "0E-6176" and plain numbers all arrive exactly (rounded to 12 places, never via float).
    assert by_day(c, "billed_cost_usd") == {date(2024, 11, 1): Decimal("0.0018") + Decimal("0.0006") + Decimal("0.00375")
                                             + Decimal("1.25") + Decimal("0.5")}
    rows = {r["line_item"]: r for r in c.iter_rows(named=True)}
    assert rows["gpt-4o-mini-2024-07-18, cached input"]["billed_amount"] == Decimal("0.0006")
    assert rows["gpt-4o-mini-2024-07-18, output"]["billed_amount"] == Decimal("0")
    assert rows["batch | gpt-4o-mini-2024-07-18, input"]["is_batch"] is True
    assert rows["batch | gpt-4o-mini-2024-07-18, input"]["token_type"] == "input"
    assert rows["web search tool calls"]["model"] is None
    assert rows["web search tool calls"]["cost_type"] == "web_search"
    assert rows["evals | gpt-4.1-2025-04-14, output"]["model"] == "gpt-4.1"
    assert set(c["currency"]) == {"USD"}
    assert_unique_keys(c)


def test_openai_line_item_grammar() -> None:
    items = [
        "gpt-4o-mini-2024-07-18, cached input",
        "batch | gpt-4o-2024-08-06, output",
        "priority | gpt-5.1, output, long context",
        "gpt-audio-mini-2025-12-15 audio, input",
        "whisper-1, audio",
        "web search tool calls",
        "Vector storage",
        "gpt-4.1-2025-04-14,  cache writes",
        None,
        "ft-gpt-4o-mini-2024-07-18 training",
    ]
    out = pl.DataFrame({"li": items}).select(parse_line_item(pl.col("li")))
    assert out["model_raw"].to_list() == [
        "gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-5.1", "gpt-audio-mini-2025-12-15", "whisper-1",
        None, None, "gpt-4.1-2025-04-14", None, None]
    assert out["token_type"].to_list() == [
        "cached_input", "output", "output", "input", None, None, None, "cache_write_5m", None, None]
    assert out["cost_type"].to_list() == [
        "tokens", "tokens", "tokens", "tokens", "other", "web_search", "storage", "tokens", "other", "fine_tuning"]
    assert out["is_batch"].to_list() == [False, True, False, False, False, False, False, False, False, False]
    assert out["line_item"][7] == "gpt-4.1-2025-04-14, cache writes"


def test_openai_dashboard_usage_csv(settings: Settings) -> None:
    result, t = land(FIXTURES / "openai/dashboard_usage.csv", settings)
    u = t["provider_usage"]
    # Counts written as floats, TRUE/FALSE, a row for an empty bucket and a blank line.
    assert (result.records_in, result.landed, result.quarantined) == (3, 3, 0)
    assert total(u, "input_tokens") == 69000
    assert total(u, "requests") == 149
    assert u.filter(pl.col("is_batch"))["input_tokens"].to_list() == [50000]


def test_openai_dashboard_costs_csv(settings: Settings) -> None:
    result, t = land(FIXTURES / "openai/dashboard_costs.csv", settings)
    c = t["provider_costs"]
    assert (result.records_in, result.landed) == (6, 6)
    assert total(c, "billed_cost_usd") == Decimal("1.75615")


def test_one_day_through_api_and_dashboard_is_one_set_of_facts(tmp_path: Path) -> None:
    """The costs API page and the dashboard CSV of the same day name the same facts (line_key),
    so keeping the newest version per key counts every dollar once."""
    api, csv = load_settings(home=tmp_path / "api"), load_settings(home=tmp_path / "csv")
    _, a = land(FIXTURES / "openai/costs_pages.jsonl", api)
    _, b = land(FIXTURES / "openai/dashboard_costs.csv", csv)
    a, b = a["provider_costs"], b["provider_costs"]
    assert sorted(a["line_key"]) == sorted(b["line_key"])
    # Through the staging model the build runs: the CSV, landed later, is the newest version of every fact.
    lake_provider_costs = pl.concat([a, b.with_columns(pl.col("source_version") + pl.duration(seconds=1))])  # noqa: F841
    con = duckdb.connect()
    lake_provider_usage = lake_provider_costs.head(0)  # noqa: F841 - read by stg_model_aliases
    con.execute(f"create temp table stg_model_aliases as {model_sql('stg_model_aliases')}")
    dim_endpoints, dim_endpoint_resources, dim_endpoint_keys = endpoint_tables(api)  # noqa: F841 - none configured
    create_macros(con)
    newest = con.sql(model_sql("stg_provider_costs")).pl()
    con.close()
    assert newest.height == a.height == 6
    assert total(newest, "billed_cost_usd") == Decimal("1.75615")  # the file's total once, not twice
    assert set(newest["source_format"]) == {"openai_costs_csv"}


def test_landing_the_same_file_twice_changes_nothing(settings: Settings) -> None:
    first = land_file(FIXTURES / "openai/costs_pages.jsonl", settings)
    second = land_file(FIXTURES / "openai/costs_pages.jsonl", settings)
    assert second.already_landed and second.landed == first.landed
    assert len(list((settings.lake / "provider_costs").glob("day=*/*.parquet"))) == 1


def test_bad_amount_is_quarantined_with_its_record(settings: Settings, tmp_path: Path) -> None:
    page = {"object": "page", "data": [{"object": "bucket", "start_time": 1730419200, "end_time": 1730505600, "results": [
        {"object": "organization.costs.result", "amount": {"value": "12.5", "currency": "usd"}, "line_item": "gpt-4o, input",
         "project_id": "p"},
        {"object": "organization.costs.result", "amount": {"value": "twelve", "currency": "usd"}, "line_item": "gpt-4o, output",
         "project_id": "p"},
    ]}], "has_more": False, "next_page": None}
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(page))
    result, t = land(path, settings)
    assert (result.records_in, result.landed, result.quarantined) == (2, 1, 1)
    q = quarantine(settings)
    assert q.select("record", "field").row(0) == (2, "amount")
    assert "twelve" in q["reason"][0]


# ---- Anthropic ------------------------------------------------------------------------------

def test_anthropic_usage_report(settings: Settings) -> None:
    result, t = land(FIXTURES / "anthropic/usage_report.json", settings)
    u = t["provider_usage"]
    assert (result.records_in, result.landed) == (2, 2)
    sonnet = u.filter(pl.col("model") == "claude-sonnet-4").row(0, named=True)
    # total input = uncached + cache read + both cache-creation buckets
    assert sonnet["input_tokens"] == 1500 + 200 + 500 + 1000
    assert (sonnet["cached_input_tokens"], sonnet["cache_write_tokens"], sonnet["cache_write_1h_tokens"]) == (200, 1500, 1000)
    assert sonnet["requests"] is None  # the report has no request counts
    assert sonnet["owner"] == "key:apikey_01Rj2N8SVvo6BePZj99NhmiT"
    assert sonnet["workspace_id"] == "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"
    haiku = u.filter(pl.col("model") == "claude-3-5-haiku").row(0, named=True)
    assert haiku["is_batch"] and haiku["service_tier"] == "batch"
    assert haiku["owner"] == "workspace:wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"


def test_anthropic_cost_report_amounts_are_cents(settings: Settings) -> None:
    result, t = land(FIXTURES / "anthropic/cost_report.json", settings)
    c = t["provider_costs"]
    assert (result.records_in, result.landed) == (5, 5)
    cents = Decimal("123.78912") + Decimal("0.06") + Decimal("750") + Decimal("10") + Decimal("2.5")
    assert by_day(c, "billed_cost_usd") == {date(2025, 8, 1): cents / 100}
    tokens = {r["token_type"]: r["billed_amount"] for r in c.filter(pl.col("model") == "claude-sonnet-4").iter_rows(named=True)}
    assert tokens == {"input": Decimal("1.2378912"), "cached_input": Decimal("0.0006"), "output": Decimal("7.5")}
    web = c.filter(pl.col("cost_type") == "web_search").row(0, named=True)
    assert web["model"] is None and web["billed_cost_usd"] == Decimal("0.1")
    assert c.filter(pl.col("is_batch"))["billed_cost_usd"].to_list() == [Decimal("0.025")]
    assert_unique_keys(c)


# ---- Google ---------------------------------------------------------------------------------

def test_google_billing_jsonl(settings: Settings) -> None:
    result, t = land(FIXTURES / "google/billing_export.jsonl", settings)
    c, u = t["provider_costs"], t["provider_usage"]
    assert (result.records_in, result.landed, result.quarantined) == (8, 8, 0)
    # net = cost + sum(credits)
    assert by_day(c, "billed_cost_usd") == {
        date(2025, 6, 1): Decimal("0.6") - Decimal("0.1") + Decimal("1.0") + Decimal("0.35") + Decimal("0.1")
        + Decimal("0.0125") + Decimal("0.15"),
        date(2025, 6, 2): Decimal("0.105") - Decimal("0.005") - Decimal("0.1") + Decimal("0.02"),
    }
    models = {r["line_item"]: (r["model"], r["token_type"]) for r in c.iter_rows(named=True)}
    assert models["Gemini 2.5 Flash Text Input - Predictions"] == ("gemini-2.5-flash", "input")
    assert models["Gemini 2.5 Flash Text Output - Predictions"] == ("gemini-2.5-flash", "output")  # stray spaces gone
    assert models["Gemini 2.5 Flash Thinking Text Output - Predictions"] == ("gemini-2.5-flash", "reasoning")
    assert models["Gemini 2.5 Flash Lite Text Input - Predictions"] == ("gemini-2.5-flash-lite", "input")
    assert models["Generate content cached input token count gemini 2.5 flash lite text"] == ("gemini-2.5-flash-lite", "cached_input")
    assert models["Grounding with Google Search"] == (None, None)
    assert c.filter(pl.col("is_batch"))["line_item"].to_list() == ["Gemini 2.5 Flash Text Input - Batch Predictions"]
    assert set(c["cost_type"]) == {"tokens", "web_search", "storage"}
    assert set(c["owner"]) == {"tag:team=search", "project:search-prod"}
    flash = u.filter(pl.col("model") == "gemini-2.5-flash", ~pl.col("is_batch"))
    assert (total(flash, "input_tokens"), total(flash, "output_tokens"), total(flash, "reasoning_tokens")) == (
        2_000_000, 500_000, 100_000)
    lite = u.filter(pl.col("model") == "gemini-2.5-flash-lite")
    assert (total(lite, "input_tokens"), total(lite, "cached_input_tokens")) == (1_500_000, 500_000)
    assert_unique_keys(c)
    assert_unique_keys(u)


def test_google_billing_csv_other_currency(settings: Settings) -> None:
    result, t = land(FIXTURES / "google/billing_export.csv", settings)
    c = t["provider_costs"]
    assert (result.records_in, result.landed) == (3, 3)
    assert set(c["currency"]) == {"JPY"}
    # JPY amounts kept as billed; USD at the export's rate (158.54 JPY per USD).
    assert by_day(c, "billed_amount") == {date(2025, 6, 3): Decimal("31.708") - Decimal("1.5854") + Decimal("63.416"),
                                          date(2025, 6, 4): Decimal("158.54")}
    assert by_day(c, "billed_cost_usd") == {date(2025, 6, 3): Decimal("0.59"), date(2025, 6, 4): Decimal("1")}
    # 23:00 at UTC-2 is the next UTC day.
    assert c.filter(pl.col("day") == date(2025, 6, 4))["model"].to_list() == ["gemini-2.5-pro"]


# ---- AWS ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["aws/cur2_bedrock.csv", "aws/cur2_bedrock.parquet"])
def test_aws_cur_bedrock(fixture: str, settings: Settings) -> None:
    result, t = land(FIXTURES / fixture, settings)
    c, u = t["provider_costs"], t["provider_usage"]
    assert (result.records_in, result.landed, result.skipped) == (9, 9, 1)  # the EC2 row is not LLM spend
    assert by_day(c, "billed_cost_usd") == {
        date(2025, 6, 1): Decimal("0.02469134") + Decimal("0.002") + Decimal("4.95") + Decimal("4.125") + Decimal("1.65")
        + Decimal("0.825") + Decimal("0.075") + Decimal("0.33"),
        date(2025, 6, 2): Decimal("-0.01"),
    }
    assert "AmazonEC2" not in " ".join(c["line_item"])
    titan = u.filter(pl.col("model") == "titan-embed-text-v2").row(0, named=True)
    assert titan["input_tokens"] == 1_334_567  # per 1K tokens: 1234.567 + 100 thousand
    assert titan["owner"] == "tag:team=payments"
    claude = u.filter(pl.col("model") == "claude-sonnet-4-6").row(0, named=True)
    # Marketplace types per 1M tokens; input includes cache reads and writes.
    assert (claude["input_tokens"], claude["cached_input_tokens"], claude["cache_write_tokens"], claude["output_tokens"]) == (
        7_200_000, 5_500_000, 200_000, 250_000)
    # The assumed-role session (here a person's e-mail) is not part of the owner.
    assert claude["owner"] == "iam:arn:aws:sts::111122223333:assumed-role/DataSciRole"
    assert u.filter(pl.col("is_batch"))["model"].to_list() == ["claude-3-5-sonnet"]
    kinds = dict(c.group_by("cost_type").agg(pl.col("billed_cost_usd").sum()).iter_rows())
    assert kinds["credit"] == Decimal("-0.01") and kinds["tax"] == Decimal("0.33")
    assert_unique_keys(c)
    assert_unique_keys(u)


def test_aws_cur_csv_and_parquet_are_the_same_facts(tmp_path: Path) -> None:
    _, a = land(FIXTURES / "aws/cur2_bedrock.csv", load_settings(home=tmp_path / "a"))
    _, b = land(FIXTURES / "aws/cur2_bedrock.parquet", load_settings(home=tmp_path / "b"))
    cols = ["line_key", "billed_cost_usd"]
    assert a["provider_costs"].select(cols).sort("line_key").equals(b["provider_costs"].select(cols).sort("line_key"))


def test_bedrock_invocation_logs_as_usage(tmp_path: Path) -> None:
    home = tmp_path / "tb"
    home.mkdir()
    arn = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5"
    (home / "tokenbooks.yaml").write_text(f"model_aliases:\n  '{arn}': claude-haiku-4-5\n")
    settings = load_settings(home=home)
    result, t = land(FIXTURES / "aws/bedrock_invocations.jsonl", settings, fmt="bedrock_invocation_usage")
    u = t["provider_usage"]
    assert (result.records_in, result.landed, result.quarantined) == (5, 3, 2)
    sonnet = u.filter(pl.col("model") == "claude-sonnet-4-5")
    # inputTokenCount excludes cache reads and writes; the lake's input includes them.
    assert (total(sonnet, "input_tokens"), total(sonnet, "cached_input_tokens"), total(sonnet, "cache_write_tokens")) == (
        120 + 2000 + 80 + 2000, 2000, 2000)
    assert total(sonnet, "requests") == 2
    assert set(sonnet["day"]) == {date(2025, 6, 1)}
    assert set(sonnet["owner"]) == {"iam:arn:aws:sts::111122223333:assumed-role/SupportBotRole"}
    profile = u.filter(pl.col("model_raw") == arn).row(0, named=True)
    assert profile["model"] == "claude-haiku-4-5" and profile["day"] == date(2025, 6, 2)
    assert sorted(quarantine(settings)["record"].to_list()) == [4, 5]


# ---- Azure ----------------------------------------------------------------------------------

def test_azure_mca_cost_details(settings: Settings) -> None:
    result, t = land(FIXTURES / "azure/cost_details_mca.csv", settings)
    c, u = t["provider_costs"], t["provider_usage"]
    assert (result.records_in, result.landed) == (5, 5)  # the App Service row is not LLM spend
    assert set(c["currency"]) == {"EUR"}
    assert by_day(c, "billed_amount") == {date(2025, 6, 1): Decimal("0.414069"), date(2025, 6, 2): Decimal("4.6")}
    assert by_day(c, "billed_cost_usd") == {date(2025, 6, 1): Decimal("0.450075"), date(2025, 6, 2): Decimal("5")}
    assert set(c["model"]) == {"gpt-4o-mini", "gpt-4.1"}
    types = {r["line_item"]: r["token_type"] for r in c.iter_rows(named=True)}
    assert types["gpt 4o mini 0718 cached Inp glbl Tokens"] == "cached_input"
    assert types["gpt-4o-mini-0718-Batch-Outp-glbl Tokens"] == "output"
    # 1K and 1M meters in one file
    mini = u.filter(pl.col("model") == "gpt-4o-mini")
    assert (total(mini, "input_tokens"), total(mini, "cached_input_tokens"), total(mini, "output_tokens")) == (
        2_000_500, 800_000, 400_000)
    assert total(u.filter(pl.col("model") == "gpt-4.1"), "input_tokens") == 2_500_000
    assert c.filter(pl.col("is_batch"))["billed_cost_usd"].to_list() == [Decimal("0.03")]
    assert set(c["owner"]) == {"tag:team=assist", "resource:aoai-assist"}


def test_azure_ea_cost_details(settings: Settings) -> None:
    _, t = land(FIXTURES / "azure/cost_details_ea.csv", settings)
    c = t["provider_costs"]
    assert set(c["currency"]) == {"GBP"}
    assert total(c, "billed_amount") == Decimal("17.38") and total(c, "billed_cost_usd") == Decimal("22")
    assert set(c["model"]) == {"gpt-4o"}
    assert set(c["owner"]) == {"tag:team=ml-platform"}


# ---- OpenRouter -----------------------------------------------------------------------------

def test_openrouter_activity(settings: Settings) -> None:
    result, t = land(FIXTURES / "openrouter/activity.json", settings)
    c, u = t["provider_costs"], t["provider_usage"]
    assert (result.records_in, result.landed) == (4, 4)
    # usage is what OpenRouter bills; BYOK inference is billed by the provider whose key it was.
    assert by_day(c, "billed_cost_usd") == {date(2025, 8, 24): Decimal("1.7495678"), date(2025, 8, 25): Decimal("3")}
    assert set(c["model"]) == {"gpt-4.1", "gemini-2.5-flash", "claude-sonnet-4-5"}
    flash = u.filter(pl.col("model") == "gemini-2.5-flash").row(0, named=True)
    assert (flash["input_tokens"], flash["output_tokens"], flash["reasoning_tokens"], flash["requests"]) == (
        2_800_000, 210_000, 50_000, 400)
    assert_unique_keys(c)


# ---- canonical model names ------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("global.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
         "claude-3-7-sonnet"),
        ("amazon.titan-embed-text-v2:0", "titan-embed-text-v2"),
        ("TitanEmbeddingV2-Text", "titan-embed-text-v2"),
        ("Claude4.6Sonnet", "claude-sonnet-4-6"),
        ("Claude3.5Sonnet", "claude-3-5-sonnet"),
        ("Nova2.0Lite", "nova-2-lite"),
        ("amazon.nova-pro-v1:0", "nova-pro"),
        ("Claude Sonnet 4.6 (Amazon Bedrock Edition)", "claude-sonnet-4-6"),
        ("Gemini 2.5 Flash Lite Text Input - Predictions", "gemini-2.5-flash-lite"),
        ("Gemini  2.5 Flash   Text Output - Predictions", "gemini-2.5-flash"),
        ("Generate content output token count Gemini 2.5 Pro short output text", "gemini-2.5-pro"),
        ("gpt-4o-mini-0718-Inp-glbl Tokens", "gpt-4o-mini"),
        ("gpt 4o mini 0718 cached Inp glbl Tokens", "gpt-4o-mini"),
        ("text-embedding-3-large-glbl Tokens", "text-embedding-3-large"),
        ("o4-mini 0416 Inp glbl 1M Tokens", "o4-mini"),
        ("google/gemini-2.5-flash", "gemini-2.5-flash"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("anthropic/claude-3.5-sonnet", "claude-3-5-sonnet"),
        ("meta-llama/llama-3.1-70b-instruct:free", "llama-3.1-70b-instruct"),
        ("gemini-2.5-flash-image", "gemini-2.5-flash-image"),
    ],
)
def test_one_canonical_name_per_model(raw: str, canonical: str) -> None:
    assert ModelCatalog(aliases={}).canonical(raw) == canonical


def test_aliases_from_config_win() -> None:
    catalog = ModelCatalog(aliases={"my-finetune-v3": "gpt-4o-mini"})
    assert catalog.canonical("My-Finetune-V3") == "gpt-4o-mini"


# ---- days are UTC whatever the timestamp style ------------------------------------------------

@pytest.mark.parametrize(
    "text, day",
    [
        ("1730505599", date(2024, 11, 1)),  # unix seconds (OpenAI buckets)
        ("1730505600", date(2024, 11, 2)),
        ("2025-08-01T00:00:00Z", date(2025, 8, 1)),  # RFC 3339 (Anthropic)
        ("2025-06-01T23:30:00-02:00", date(2025, 6, 2)),  # RFC 3339 with an offset: the UTC day
        ("2025-06-02T01:00:00+05:30", date(2025, 6, 1)),
        ("2025-06-01 23:00:00 UTC", date(2025, 6, 1)),  # GCP billing export
        ("2025-06-01T00:00:00.000Z", date(2025, 6, 1)),  # CUR 2.0
        ("06/01/2025", date(2025, 6, 1)),  # Azure MM/DD/YYYY
        ("06/01/2025 00:00:00", date(2025, 6, 1)),
        ("2025-06-01", date(2025, 6, 1)),  # Azure MCA, OpenRouter
    ],
)
def test_days_are_utc_whatever_the_timestamp_style(text: str, day: date, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.db import connect
    from pipelines.ingest.formats.readers import DAY

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: a reader that used local time would be a day off
    con = connect()
    try:
        assert con.execute(f"select {DAY.format(v='$t')}", {"t": text}).fetchone()[0] == day
    finally:
        con.close()


def test_openrouter_activity_pulled_per_key_keeps_the_key_as_owner(settings: Settings, tmp_path: Path) -> None:
    """/api/v1/activity filtered by api_key_hash (or an org member's user_id): the filter on each item is the owner."""
    item = {"date": "2025-08-24", "model": "openai/gpt-4.1", "model_permaslug": "openai/gpt-4.1-2025-04-14",
            "endpoint_id": "e1", "provider_name": "OpenAI", "usage": 0.5, "byok_usage_inference": 0, "requests": 5,
            "prompt_tokens": 50, "completion_tokens": 125, "reasoning_tokens": 25}
    path = tmp_path / "activity.jsonl"
    path.write_text(json.dumps(dict(item, api_key_hash="abc123")) + "\n"
                    + json.dumps(dict(item, userId="user_9", usage=0.25)) + "\n")
    result, t = land(path, settings)
    c = t["provider_costs"]
    assert dict(c.select("owner", "billed_cost_usd").iter_rows()) == {"key:abc123": Decimal("0.5"),
                                                                      "user:user_9": Decimal("0.25")}
    assert set(t["provider_usage"]["owner"]) == {"key:abc123", "user:user_9"}
    assert c.filter(pl.col("owner") == "key:abc123")["api_key_id"].to_list() == ["abc123"]


def test_a_document_that_is_not_a_page_is_quarantined_not_skipped(tmp_path: Path) -> None:
    pages = (FIXTURES / "openai/costs_pages.jsonl").read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "costs.jsonl"
    broken.write_text("\n".join([pages[0], '{"object": "error", "message": "rate limited"}', *pages[1:]]) + "\n")
    settings = load_settings(home=tmp_path / "tb")
    whole, _ = land(FIXTURES / "openai/costs_pages.jsonl", load_settings(home=tmp_path / "whole"), fmt="openai_costs_page")
    result, _ = land(broken, settings, fmt="openai_costs_page")
    assert result.error is None and result.landed == whole.landed and result.quarantined == whole.quarantined + 1
    q = pl.read_parquet(next(settings.quarantine.glob("*.parquet")))
    stray = q.filter(pl.col("reason").str.contains("not an admin-API page"))
    assert stray.height == 1 and "rate limited" in stray["raw"][0]
