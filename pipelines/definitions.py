"""The tokenbooks Dagster code location: every layer's assets, checks, jobs, schedules and sensors."""

import dagster as dg

from pipelines.exports.assets import focus_billing
from pipelines.ingest.assets import admin_api_pulls, landed_files
from pipelines.ingest.sensors import ingest_job, landed_days_sensor_factory, landing_sensor
from pipelines.monitoring.assets import monitoring_day
from pipelines.reporting.assets import digest
from pipelines.reporting.schedules import nightly_job, nightly_schedule
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.assets import warehouse_day
from pipelines.warehouse.checks import monitoring_checks, warehouse_checks

defs = dg.Definitions(
    assets=[landed_files, admin_api_pulls, warehouse_day, monitoring_day, digest, focus_billing],
    asset_checks=[warehouse_checks, monitoring_checks],
    jobs=[ingest_job, nightly_job],
    schedules=[nightly_schedule],
    sensors=[landing_sensor, landed_days_sensor_factory(nightly_job)],
    resources={"tokenbooks": TokenbooksResource()},
)
