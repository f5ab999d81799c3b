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
