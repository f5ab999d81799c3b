"""Usage from every bill: each export's token lines land in provider_usage with exact counts by type, in tokens
whatever unit the export counts in, and with the app its own tags or labels name and (CUR, Azure) the billed
resource.

Fixtures are written from the documented formats: a GCP billing export with Vertex AI and Gemini API SKUs as
they are spelled, a CUR 2.0 slice with Bedrock application inference profiles, an Azure cost export with app
tags, an OpenRouter activity export as its SDKs write it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.land import land_file
from pipelines.ingest.registry import detect
from pipelines.settings import Settings, load_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOKENS = ["input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
          "reasoning_tokens"]


def land(path: Path, settings: Settings) -> dict[str, pl.DataFrame]:
    result = land_file(path, settings)
    assert result.error is None, result.error
    assert result.quarantined == 0
    tables = {}
    for table in [result.table, *result.also]:
        tables[table] = pl.read_parquet(sorted((settings.lake / table).glob("day=*/*.parquet")))
    usage = tables["provider_usage"]
    assert usage["line_key"].n_unique() == usage.height, "line_key must name one fact per file"
    return tables


def by(df: pl.DataFrame, *keys: str) -> dict:
    """Token sums by type per value of ``keys``."""
    out = df.group_by(list(keys)).agg(pl.col(TOKENS).sum())
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: [r[t] for t in TOKENS]
            for r in out.iter_rows(named=True)}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "tb")


def test_gcp_gemini_tokens_in_every_unit_the_export_uses(settings: Settings) -> None:
    u = land(FIXTURES / "google/billing_export_gemini.jsonl", settings)["provider_usage"]
    assert by(u, "model") == {
        # input 3M (usage.amount) + cached 1.2M (amount_in_pricing_units in "1M tokens"); output 400k thinking
        # + 250k ("1000 count" pricing units).
        "gemini-2.5-flash": [4_200_000, 1_200_000, 0, 0, 650_000, 400_000],
        # Gemini API SKUs: a "non-thinking" output is not reasoning; a Thinking one is.
        "gemini-2.5-pro": [50_000, 0, 0, 0, 20_000, 12_000],
        # usage.unit "1M tokens": 0.07 of them.
        "gemini-2.0-flash-lite": [70_000, 70_000, 0, 0, 0, 0],
    }
    # Labels name the app; the Gemini API lines carry no labels, their project's label names it.
    assert dict(u.group_by("model").agg(pl.col("owner_app").unique().first()).iter_rows()) == {
        "gemini-2.5-flash": "docs-search", "gemini-2.5-pro": "research-agent", "gemini-2.0-flash-lite": None}


def test_gcp_standard_and_detailed_exports_name_the_same_facts(tmp_path: Path) -> None:
    """The detailed export adds resource.name; landed from either, a day's facts have the same keys (and so
    count once when both are landed)."""
    detailed = FIXTURES / "google/billing_export_gemini.jsonl"
    rows = [json.loads(line) for line in detailed.read_text().splitlines()]
    assert any("resource" in r for r in rows)
    standard = tmp_path / "standard.jsonl"
    standard.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "resource"}) + "\n" for r in rows))
    a = land(detailed, load_settings(home=tmp_path / "a"))
    b = land(standard, load_settings(home=tmp_path / "b"))
    for table in ("provider_costs", "provider_usage"):
        assert sorted(a[table]["line_key"]) == sorted(b[table]["line_key"])


def test_cur_bedrock_profiles_keep_their_resource_and_app(settings: Settings) -> None:
    t = land(FIXTURES / "aws/cur2_bedrock_profiles.csv", settings)
    u, c = t["provider_usage"], t["provider_costs"]
    support = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6"
    email = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/f6e5d4c3b2a1"
    # The model is the one the usage type names; the profile's ARN is the resource, one fact per profile.
    assert by(u, "model", "resource_id", "owner_app") == {
        # input 2,500 K + cache read 1,800 K + cache write 200 K; output 0.3 M ("1M tokens" pricing unit).
        ("claude-haiku-4-5", support, "support-bot"): [4_500_000, 1_800_000, 200_000, 0, 300_000, 0],
        ("claude-haiku-4-5", email, "email-drafts"): [100_000, 0, 0, 0, 0, 0],
        ("titan-embed-text-v2", None, "docs-search"): [640_000, 0, 0, 0, 0, 0],
    }
    assert set(u["owner"]) == {"tag:team=support", "tag:application=docs-search"}
    assert set(zip(c["resource_id"], c["owner_app"])) == {(support, "support-bot"), (email, "email-drafts"),
                                                          (None, "docs-search")}


def test_azure_meters_in_1k_and_1m_with_their_app_and_resource(settings: Settings) -> None:
    t = land(FIXTURES / "azure/cost_details_apps.csv", settings)
    u, c = t["provider_usage"], t["provider_costs"]
    account = "/subscriptions/0f1e2d3c-0000-4000-8000-000000000001/resourceGroups/rg-ai/providers/" \
              "Microsoft.CognitiveServices/accounts/"
    assert by(u, "model", "is_batch", "owner_app", "resource_id") == {
        # 1,500 K input + 600 K cached (1K meters), 0.25 M output (a 1M meter).
        ("gpt-4o-mini", False, "support-bot", account + "aoai-support"): [2_100_000, 600_000, 0, 0, 250_000, 0],
        ("gpt-4o-mini", True, "support-bot", account + "aoai-support"): [2_000_000, 0, 0, 0, 0, 0],
        ("gpt-4.1", False, "research-agent", account + "aoai-research"): [50_000, 10_000, 0, 0, 0, 0],
    }
    assert set(c["currency"]) == {"EUR"} and c["day"].unique().to_list() == [u["day"][0]]
    assert set(c["owner_app"]) == {"support-bot", "research-agent"}


def test_openrouter_activity_as_the_sdks_write_it(settings: Settings, tmp_path: Path) -> None:
    copy = tmp_path / "export.bin"
    shutil.copy(FIXTURES / "openrouter/activity_sdk.json", copy)
    assert detect(copy).name == "openrouter_activity"
    u = land(FIXTURES / "openrouter/activity_sdk.json", settings)["provider_usage"]
    assert by(u, "model") == {
        "gemini-2.5-flash": [1_200_000, 0, 0, 0, 90_000, 30_000],
        "claude-sonnet-4-5": [300_000, 0, 0, 0, 40_000, 0],
    }
    assert u["requests"].sum() == 170


def test_app_tag_keys_come_from_the_config_first(tmp_path: Path) -> None:
    """``attributes: app:`` names the tag key that holds the app, before the conventional ones."""
    home = tmp_path / "tb"
    home.mkdir()
    (home / "tokenbooks.yaml").write_text("attributes:\n  app: [service.name, 'tag:team']\n")
    u = land(FIXTURES / "aws/cur2_bedrock_profiles.csv", load_settings(home=home))["provider_usage"]
    assert set(u["owner_app"]) == {"support", "docs-search"}
