"""Bills whose tags and labels name their app: fct_reconciliation's owner_app comes from tokenbooks.yaml
``owners:`` first, else from the app the bill lines' own tags name (GCP labels or project labels, CUR
``user_app``/``user_application``/``user_service``, Azure tags), when they name exactly one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.settings import Settings, load_settings
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BILLS = ["google/billing_export_gemini.jsonl", "aws/cur2_bedrock_profiles.csv", "azure/cost_details_apps.csv"]


def warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    for bill in BILLS:
        result = land_file(FIXTURES / bill, settings)
        assert result.error is None and result.quarantined == 0, result.error
    build_day(date(2026, 6, 1), settings)
    publish(settings)
    return open_warehouse(settings)


def owner_apps(con: duckdb.DuckDBPyConnection) -> dict:
    rows = con.execute("select provider, model, owner, owner_app from fct_reconciliation").fetchall()
    return {(p, m, o): app for p, m, o, app in rows}


def test_owner_app_from_the_bill_lines_own_tags(tmp_path: Path) -> None:
    con = warehouse(load_settings(home=tmp_path / "tb"))
    assert owner_apps(con) == {
        ("google", "gemini-2.5-flash", "project:ml-prod"): "docs-search",  # labels app=docs-search
        ("google", "gemini-2.5-pro", "project:ml-prod"): "research-agent",  # the project's label
        ("google", "gemini-2.0-flash-lite", "project:ml-prod"): None,  # no label names an app
        ("google", "(non-model)", "project:ml-prod"): None,
        # Two application inference profiles of one team, tagged with two apps: the group has no single app.
        ("aws", "claude-haiku-4-5", "tag:team=support"): None,
        ("aws", "titan-embed-text-v2", "tag:application=docs-search"): "docs-search",
        ("azure", "gpt-4o-mini", "tag:team=support"): "support-bot",
        ("azure", "gpt-4.1", "tag:application=research-agent"): "research-agent",
    }
    costs = con.execute(
        "select resource_id, owner_app, sum(billed_cost_usd) from fct_provider_costs where provider = 'aws' group by all"
    ).fetchall()
    assert {(r, a) for r, a, _ in costs} == {
        ("arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6", "support-bot"),
        ("arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/f6e5d4c3b2a1", "email-drafts"),
        (None, "docs-search"),
    }
    usage = con.execute("select owner_app, sum(input_tokens) from fct_provider_usage where provider = 'azure' group by all")
    assert dict(usage.fetchall()) == {"support-bot": 4_100_000, "research-agent": 50_000}


def test_owners_config_wins_over_the_tags(tmp_path: Path) -> None:
    home = tmp_path / "tb"
    home.mkdir()
    (home / "tokenbooks.yaml").write_text("owners:\n  'tag:team=support': {app: support-platform, team: support}\n")
    apps = owner_apps(warehouse(load_settings(home=home)))
    assert apps[("aws", "claude-haiku-4-5", "tag:team=support")] == "support-platform"
    assert apps[("azure", "gpt-4o-mini", "tag:team=support")] == "support-platform"  # not its tag's support-bot
    assert apps[("google", "gemini-2.5-flash", "project:ml-prod")] == "docs-search"
