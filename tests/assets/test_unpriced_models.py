"""A call whose model has no known price is kept, flagged and counted — never priced at zero silently."""

import dagster as dg

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.assets import warehouse_day
from tests.conftest import call, write_jsonl


def test_unknown_model_is_kept_flagged_and_reported(home, tmp_path):
    path = write_jsonl(
        tmp_path / "calls.jsonl",
        [call(call_id="known"), call(call_id="mystery", provider="openai", model="ft:our-secret-model:2026")],
    )
    landed = land_file(path, home)
    assert landed.landed == 2
    assert landed.unpriced_models == ["openai/ft:our-secret-model:2026"]

    result = dg.materialize(
        [warehouse_day], partition_key="2026-11-10", resources={"tokenbooks": TokenbooksResource(home=str(home.home))}
    )
    assert result.success
    meta = result.asset_materializations_for_node("warehouse_day")[0].metadata
    assert meta["unpriced_models"].value == ["openai/ft:our-secret-model:2026"]

    con = open_warehouse(home)
    rows = dict(con.execute("select call_id, (is_priced, list_cost_usd is null) from fct_llm_calls").fetchall())
    assert rows["mystery"] == (False, True)
    assert rows["known"] == (True, False)
