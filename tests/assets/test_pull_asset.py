"""The admin_api_pulls asset pulls each daily partition from a real HTTP server on loopback and lands it."""

from decimal import Decimal

import dagster as dg
import polars as pl

from pipelines.ingest.assets import admin_api_pulls
from pipelines.resources import TokenbooksResource
from tests.unit.test_pull import DAY1, OPENAI_KEY, FakeAdminApi, server  # noqa: F401 - the loopback server fixture


def test_pull_asset_lands_the_partition(server, home, monkeypatch):  # noqa: F811
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY", raising=False)
    config = home.home / "tokenbooks.yaml"
    config.write_text(f"pull:\n  openai_base_url: {server}\n")
    result = dg.materialize(
        [admin_api_pulls],
        partition_key=DAY1.isoformat(),
        resources={"tokenbooks": TokenbooksResource(home=str(home.home), config_path=str(config))},
    )
    assert result.success
    meta = result.asset_materializations_for_node("admin_api_pulls")[0].metadata
    assert meta["pulled"].value["openai"]["files"] == 3
    costs = pl.read_parquet(sorted((home.lake / "provider_costs").rglob("*.parquet")))
    assert costs["billed_cost_usd"].sum() == Decimal("1.2506")
    assert FakeAdminApi.hits["/v1/organization/costs"] == 2  # the 500 was retried


def test_a_build_pulls_only_when_asked_and_a_failed_pull_does_not_block_it(server, home, tmp_path, monkeypatch):  # noqa: F811
    """`tokenbooks build` never talks to the network unless asked (--pull); a pull that fails (the API down)
    fails the pull's check, and what has landed is built all the same."""
    from datetime import date

    from pipelines.settings import load_settings
    from pipelines.run import build_days
    from tests.quality.days import land_all, write_day

    day = date(2026, 11, 10)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY", raising=False)
    land_all(home, write_day(tmp_path / "in", day))
    (home.home / "tokenbooks.yaml").write_text(f"pull: {{retries: 0, openai_base_url: '{server}/down'}}\n")
    settings = load_settings(home=home.home)

    instance = dg.DagsterInstance.ephemeral()
    assert build_days(settings, day, day, with_digest=False, dagster_instance=instance).success
    assert FakeAdminApi.hits == {}  # no --pull: not one request

    run = build_days(settings, day, day, with_digest=False, pull=True, dagster_instance=instance)
    assert run.success  # the API answered 404 to everything: the day was built anyway
    assert FakeAdminApi.hits  # it was asked
    evaluations = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    pulled = [e.dagster_event.event_specific_data for e in evaluations
              if e.dagster_event.event_specific_data.check_name == "pulled"]
    assert len(pulled) == 1 and not pulled[0].passed and "HTTP 404" in pulled[0].description
