"""The code location built for one home: daily partitions from its first day, automation on or off as it says.

Every partitioned asset and check is declared with the template partitions of ``partitions.py``;
:func:`definitions` re-bases them on the home's first day (``dagster.first_day`` in tokenbooks.yaml, else the
first day landed in the lake, else yesterday), so the UI lists the days there are, not every day since a fixed
date. A build of a range (``run.py``) gets a location whose partitions start at the range's first day.
The nightly schedule and the sensors start stopped unless ``dagster.schedule_on`` / ``sensors_on`` say so.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import dagster as dg

from pipelines.exports.assets import focus_billing
from pipelines.ingest.assets import admin_api_pulls, landed_files
from pipelines.ingest.sensors import ingest_job, landed_days_sensor_factory, landing_sensor_factory
from pipelines.lake.store import landed_days
from pipelines.monitoring.assets import monitoring_day
from pipelines.monitoring.checks import monitoring_checks
from pipelines.nightly import BUILD_KEYS, nightly_job, nightly_schedule_factory
from pipelines.partitions import daily_from
from pipelines.reporting.assets import digest
from pipelines.resources import TokenbooksResource
from pipelines.settings import Settings
from pipelines.warehouse.assets import warehouse_day
from pipelines.warehouse.checks import warehouse_checks


def first_day(settings: Settings) -> date:
    """The first daily partition: configured, else the first landed day, else yesterday (UTC)."""
    if settings.config.dagster.first_day:
        return settings.config.dagster.first_day
    landed = landed_days(settings)
    return landed[0] if landed else datetime.now(timezone.utc).date() - timedelta(days=1)


def definitions(settings: Settings, first: date | None = None) -> dg.Definitions:
    daily = daily_from(first or first_day(settings))
    on = settings.config.dagster
    return dg.Definitions(
        assets=[landed_files, *(_rebased(a, daily) for a in (admin_api_pulls, warehouse_day, monitoring_day, digest,
                                                              focus_billing))],
        asset_checks=[_rebased_checks(c, daily) for c in (warehouse_checks, monitoring_checks)],
        jobs=[ingest_job, nightly_job],
        schedules=[nightly_schedule_factory(on.schedule_on)],
        sensors=[landing_sensor_factory(on.sensors_on),
                 landed_days_sensor_factory(nightly_job, BUILD_KEYS, on.sensors_on)],
        resources={"tokenbooks": TokenbooksResource()},
    )


def _rebased(asset: dg.AssetsDefinition, daily: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    return dg.map_asset_specs(lambda spec: spec.replace_attributes(partitions_def=daily), [asset])[0]


def _rebased_checks(checks: dg.AssetChecksDefinition, daily: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    # Dagster 1.13 has no public way to change a check's partitions (partitioned checks are a preview feature);
    # this is what map_asset_specs does for asset specs, applied to the check specs.
    attrs = checks.get_attributes_dict()
    specs = {name: spec._replace(partitions_def=daily) for name, spec in attrs["check_specs_by_output_name"].items()}
    return checks.__class__.dagster_internal_init(**{**attrs, "check_specs_by_output_name": specs})
