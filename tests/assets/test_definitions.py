"""The code location loads; the schedule and the sensors ask for the right runs."""

from datetime import datetime, timezone

import dagster as dg

from pipelines.definitions import defs
from pipelines.ingest.sensors import landing_sensor
from pipelines.reporting.assets import MAIL_TAG
from pipelines.reporting.schedules import nightly_schedule
from pipelines.resources import TokenbooksResource
from tests.conftest import call, write_jsonl


def test_definitions_load_with_every_table_as_an_asset():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"landed_files", "fct_llm_calls", "fct_provider_usage", "fct_provider_costs", "fct_reconciliation",
            "mart_cost_daily", "mart_unit_economics", "digest", "focus_billing"} <= keys
    assert graph.get(dg.AssetKey("focus_billing")).group_name == "exports"
    assert defs.resolve_job_def("nightly_job") is not None


def test_nightly_schedule_builds_yesterday_restates_three_days_and_mails_yesterday_only(home):
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc),
        resources={"tokenbooks": TokenbooksResource(home=str(home.home))},
    )
    request = nightly_schedule(context)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-19"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-11-22"
    assert request.tags[MAIL_TAG] == "2026-11-22"  # the restated days' digests are rewritten, not mailed


def test_landing_sensor_fires_once_per_new_file(home):
    resources = {"tokenbooks": TokenbooksResource(home=str(home.home))}
    context = dg.build_sensor_context(resources=resources)
    assert isinstance(landing_sensor(context), dg.SkipReason)
    write_jsonl(home.landing / "calls.jsonl", [call()])
    request = landing_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert isinstance(landing_sensor(dg.build_sensor_context(cursor=context.cursor, resources=resources)), dg.SkipReason)
