"""Sensors: new files in landing/ are landed; days that received data are rebuilt (by the job and asset keys the
code location hands the sensor: the nightly job's build, ``pipelines/nightly.py``, which sits above this layer).

Both start stopped unless tokenbooks.yaml says `dagster: {sensors_on: true}` (turn them on in the UI).
"""


import json

import dagster as dg

from pipelines.ingest.assets import landed_files
from pipelines.ingest.pending import pending_files
from pipelines.partitions import partitions_start
from pipelines.resources import TokenbooksResource

ingest_job = dg.define_asset_job("ingest_job", selection=[landed_files])


def _status(running: bool) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED


def landing_sensor_factory(running: bool = False) -> dg.SensorDefinition:
    @dg.sensor(job=ingest_job, minimum_interval_seconds=60, default_status=_status(running))
    def landing_sensor(context: dg.SensorEvaluationContext, tokenbooks: TokenbooksResource):
        """Requests a landing run when a file appears or changes under landing/."""
        seen = json.loads(context.cursor) if context.cursor else {}
        current = {str(p): p.stat().st_mtime_ns for p in pending_files(tokenbooks.settings)}
        changed = sorted(p for p, m in current.items() if seen.get(p) != m)
        context.update_cursor(json.dumps(current))
        if not changed:
            return dg.SkipReason("no new files in landing/")
        return dg.RunRequest(run_key=f"landing-{max(current.values())}", tags={"tokenbooks/files": str(len(changed))})

    return landing_sensor


def landed_days_sensor_factory(build_job, build_keys, running: bool = False):
    @dg.asset_sensor(asset_key=landed_files.key, job=build_job, default_status=_status(running))
    def landed_days_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
        """Rebuilds every day that a landing run touched (late and revised data included); never pulls."""
        materialization = asset_event.asset_materialization
        days = materialization.metadata.get("days").value if materialization and "days" in materialization.metadata else []
        start = partitions_start(context)
        if start and days and min(days) < start.isoformat():
            context.log.warning(f"days before the first partition {start} were landed ({min(days)} ..): reload the "
                                "code location to build them (or set dagster.first_day in tokenbooks.yaml)")
            days = [d for d in days if d >= start.isoformat()]
        if not days:
            return dg.SkipReason("the landing run touched no day")
        return dg.RunRequest(
            run_key=f"landed-{asset_event.storage_id}",
            asset_selection=build_keys,
            tags={
                "dagster/asset_partition_range_start": min(days),
                "dagster/asset_partition_range_end": max(days),
            },
        )

    return landed_days_sensor

