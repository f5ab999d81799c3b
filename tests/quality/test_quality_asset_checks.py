"""The checks run as Dagster asset checks on each daily partition: violations block downstream, anomalies warn."""

from datetime import date

import dagster as dg

from pipelines.definitions import defs
from pipelines.partitions import daily
from pipelines.resources import TokenbooksResource
from pipelines.settings import load_settings
from pipelines.warehouse.assets import warehouse_day
from pipelines.warehouse.checks import CHECK_SPECS, warehouse_checks
from tests.quality.days import land_all, tamper_landed_calls, write_day

DAYS = [date(2026, 11, 10), date(2026, 11, 11)]
RANGE = {"dagster/asset_partition_range_start": "2026-11-10", "dagster/asset_partition_range_end": "2026-11-11"}


@dg.asset(deps=["mart_cost_daily", "fct_reconciliation"], partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run())
def spend_report(context: dg.AssetExecutionContext) -> None:
    """Stands for what is downstream of the marts (drift, budgets, the digest)."""


def run_range(settings, instance):
    resources = {"tokenbooks": TokenbooksResource(home=str(settings.home), config_path=str(settings.config_path or ""))}
    return dg.materialize(
        [warehouse_day, warehouse_checks, spend_report], instance=instance, resources=resources, tags=RANGE,
        raise_on_error=False,
    )


def evaluations(result) -> dict[tuple[str, str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name, e.partition): e for e in result.get_asset_check_evaluations()}


def test_each_partition_gets_its_own_evaluation_and_a_warning_does_not_block(home, tmp_path):
    first, second = DAYS
    land_all(home, write_day(tmp_path / "in", first))
    calls, usage, _costs = write_day(tmp_path / "in", second)
    land_all(home, [calls, usage])  # the cost export for the second day has not arrived
    instance = dg.DagsterInstance.ephemeral()

    result = run_range(home, instance)

    assert result.success
    evals = evaluations(result)
    assert len(evals) == 2 * len(CHECK_SPECS)
    failed = {k for k, e in evals.items() if not e.passed}
    assert failed == {("fct_provider_usage", "usage_matches_costs", "2026-11-11")}
    warning = evals[("fct_provider_usage", "usage_matches_costs", "2026-11-11")]
    assert warning.severity == dg.AssetCheckSeverity.WARN and "cost lines none" in warning.description
    contract_check = evals[("fct_llm_calls", "matches_contract", "2026-11-10")]
    assert contract_check.metadata["rows"].value == 30 and contract_check.metadata["failed_expectations"].value == 0
    assert result.asset_materializations_for_node("spend_report")  # downstream ran
    # The instance keeps the status per partition (what the UI shows).
    key = dg.AssetCheckKey(dg.AssetKey("fct_provider_usage"), "usage_matches_costs")
    status = {p.partition_key: p.latest_execution_status.value for p in instance.event_log_storage.get_asset_check_partition_info([key])}
    assert status == {"2026-11-10": "SUCCEEDED", "2026-11-11": "FAILED"}


def test_a_contract_violation_blocks_downstream_and_shows_failing_rows(home, tmp_path):
    # A landed file tampered with after landing (a status that is not one the contract allows) reaches
    # fct_llm_calls.status. (A bad tier in tokenbooks.yaml, the old way in, is now refused when the config loads.)
    settings = load_settings(home=home.home)
    for day in DAYS:
        land_all(settings, write_day(tmp_path / "in", day))
        assert tamper_landed_calls(settings, day, "gpt-4o-mini", status="exploded") == 20

    result = run_range(settings, dg.DagsterInstance.ephemeral())

    assert not result.success
    assert not result.asset_materializations_for_node("spend_report")  # blocked
    bad = evaluations(result)[("fct_llm_calls", "matches_contract", "2026-11-10")]
    assert not bad.passed and bad.severity == dg.AssetCheckSeverity.ERROR
    assert "be_in_set(status)" in bad.description
    failures = bad.metadata["failures"].value
    status = next(f for f in failures if f["rule"] == "be_in_set(status)")
    assert status["unexpected_rows"] == 20 and status["examples"][0] == "exploded"
    assert "exploded" in bad.metadata["failing_rows_sample"].value
    assert bad.metadata["failing_rows_total"].value >= 20


def test_the_nightly_job_runs_every_check():
    job = defs.resolve_job_def("nightly_job")
    in_job = set(job.asset_layer.asset_graph.asset_check_keys)
    assert {spec.key for spec in CHECK_SPECS} <= in_job
    assert all(spec.partitions_def == daily for spec in CHECK_SPECS)
    blocking = {spec.key.name for spec in CHECK_SPECS if spec.blocking}
    assert "matches_contract" in blocking and "reconciles_to_bill" in blocking and "usage_matches_costs" not in blocking


def materialized(instance, key: str) -> bool:
    return instance.get_latest_materialization_event(dg.AssetKey(key)) is not None


def test_the_nightly_job_stops_before_monitoring_and_the_digest_on_a_broken_day(home, tmp_path):
    """The real downstream (drift_events, budget_status, digest) through build_days, as the CLI and schedule run it."""
    from pipelines.run import build_days

    broken = load_settings(home=home.home)
    day = DAYS[0]
    land_all(broken, write_day(tmp_path / "in", day))
    calls = {p: p.read_bytes() for p in (broken.lake / "calls").rglob("*.parquet")}
    tamper_landed_calls(broken, day, "gpt-4o-mini", status="exploded")  # breaks fct_llm_calls' contract
    instance = dg.DagsterInstance.ephemeral()

    run = build_days(broken, day, day, dagster_instance=instance)

    assert not run.success
    assert materialized(instance, "fct_llm_calls")  # the build ran and its checks failed...
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    evals = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    failed = {(e.asset_key.to_user_string(), e.check_name, e.partition) for e in evals if not e.passed}
    assert ("fct_llm_calls", "matches_contract", day.isoformat()) in failed
    for key in ("drift_events", "budget_status", "digest"):  # ...so nothing downstream ran
        assert not materialized(instance, key), key
    assert not list(broken.outbox.glob("digest-*"))

    # The landed files restored, same day: the run goes through to the digest.
    for path, data in calls.items():
        path.write_bytes(data)
    fixed = load_settings(home=home.home)
    assert build_days(fixed, day, day, dagster_instance=instance).success
    for key in ("drift_events", "budget_status", "digest"):
        assert materialized(instance, key), key
    assert list(fixed.outbox.glob(f"digest-{day}*"))
    # The monitoring tables were checked against their contracts before the digest read them.
    last = instance.get_runs(limit=1)[0]
    records = instance.get_records_for_run(last.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    evals = {(e.asset_key.to_user_string(), e.check_name, e.partition): e.passed
             for e in (r.event_log_entry.dagster_event.event_specific_data for r in records)}
    for table in ("drift_events", "budget_status"):
        assert evals[(table, "matches_contract", day.isoformat())] is True, table
