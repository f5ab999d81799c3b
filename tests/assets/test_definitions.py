"""The code location loads; its partitions, schedule and sensors are the home's; they ask for the right runs."""

from datetime import date, datetime, timezone

import dagster as dg
import yaml

from pipelines.definitions import defs
from pipelines.ingest.land import land_file
from pipelines.location import definitions
from pipelines.reporting.assets import MAIL_TAG
from pipelines.resources import TokenbooksResource
from pipelines.settings import PROJECT_ROOT, load_settings
from tests.conftest import call, write_jsonl


def test_definitions_load_with_every_table_as_an_asset():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"landed_files", "fct_llm_calls", "fct_provider_usage", "fct_provider_costs", "fct_reconciliation",
            "mart_cost_daily", "mart_unit_economics", "digest", "focus_billing"} <= keys
    assert graph.get(dg.AssetKey("focus_billing")).group_name == "exports"
    assert defs.resolve_job_def("nightly_job") is not None


def test_the_code_location_is_named_tokenbooks():
    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"] == [
        {"python_module": {"module_name": "pipelines.definitions", "location_name": "tokenbooks"}}
    ]


def _start(d: dg.Definitions) -> date:
    return d.resolve_job_def("nightly_job").partitions_def.start.date()


def test_partitions_start_at_the_first_landed_day_or_the_configured_one(home, tmp_path):
    assert land_file(write_jsonl(tmp_path / "calls.jsonl", [call(occurred_at="2026-11-10T12:00:00Z")]), home).error is None
    assert _start(definitions(load_settings(home=home.home))) == date(2026, 11, 10)
    graph = definitions(load_settings(home=home.home)).resolve_asset_graph()
    assert {graph.get(k).partitions_def.start.date() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def} == {
        date(2026, 11, 10)}
    (home.home / "tokenbooks.yaml").write_text("dagster: {first_day: 2026-10-01}\n")
    assert _start(definitions(load_settings(home=home.home))) == date(2026, 10, 1)


def test_schedule_and_sensors_start_stopped_unless_the_config_turns_them_on(home):
    off = definitions(load_settings(home=home.home))
    assert off.get_schedule_def("nightly_schedule").default_status == dg.DefaultScheduleStatus.STOPPED
    assert {s.default_status for s in off.sensors} == {dg.DefaultSensorStatus.STOPPED}
    (home.home / "tokenbooks.yaml").write_text("dagster: {schedule_on: true, sensors_on: true}\n")
    on = definitions(load_settings(home=home.home))
    assert on.get_schedule_def("nightly_schedule").default_status == dg.DefaultScheduleStatus.RUNNING
    assert {s.default_status for s in on.sensors} == {dg.DefaultSensorStatus.RUNNING}


def test_nightly_schedule_builds_yesterday_restates_three_days_and_pulls_as_configured(home):
    def request():
        context = dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc),
            resources={"tokenbooks": TokenbooksResource(home=str(home.home))},
        )
        return definitions(load_settings(home=home.home)).get_schedule_def("nightly_schedule")(context)

    nightly = request()
    assert nightly.tags["dagster/asset_partition_range_start"] == "2026-11-19"
    assert nightly.tags["dagster/asset_partition_range_end"] == "2026-11-22"
    assert nightly.tags[MAIL_TAG] == "2026-11-22"  # the restated days' digests are rewritten, not mailed
    assert dg.AssetKey("admin_api_pulls") in nightly.asset_selection
    (home.home / "tokenbooks.yaml").write_text("pull: {nightly: false}\n")
    assert dg.AssetKey("admin_api_pulls") not in request().asset_selection


def test_landing_sensor_fires_once_per_new_file(home):
    landing_sensor = defs.get_sensor_def("landing_sensor")
    resources = {"tokenbooks": TokenbooksResource(home=str(home.home))}
    context = dg.build_sensor_context(resources=resources)
    assert isinstance(landing_sensor(context), dg.SkipReason)
    write_jsonl(home.landing / "calls.jsonl", [call()])
    request = landing_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert isinstance(landing_sensor(dg.build_sensor_context(cursor=context.cursor, resources=resources)), dg.SkipReason)
