"""The nightly job and its schedule: build yesterday and restate the previous days (providers revise late), then
report; the run asks for yesterday's digest, and only that one, to be mailed (``tokenbooks/mail``).

The job spans every layer (the admin-API pulls, the marts, monitoring, the digest), so it lives at the top, beside
the code location that registers it, and imports the layers' assets; no layer imports it. The landing sensor of
``ingest/`` is handed the job and its keys by ``location.py``.
"""


from datetime import timedelta

import dagster as dg

from pipelines.ingest.assets import admin_api_pulls
from pipelines.monitoring.assets import monitoring_day
from pipelines.partitions import partitions_start
from pipelines.reporting.assets import MAIL_TAG, digest
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.assets import warehouse_day

nightly_job = dg.define_asset_job(
    "nightly_job",
    selection=dg.AssetSelection.groups("marts", "monitoring", "reporting") | dg.AssetSelection.assets("admin_api_pulls"),
    description="Pull the admin APIs (when asked), build the day (and restate the last few), run the checks, "
                "detect drift, write and send the digest.",
)

# What a run builds when it is not asked to pull: everything in nightly_job but the admin-API pulls, so a build
# never talks to the network unless asked (`tokenbooks build --pull`, or `pull.nightly` for the schedule).
BUILD_KEYS = [*warehouse_day.keys, *monitoring_day.keys, *digest.keys]
WITH_PULLS = [*admin_api_pulls.keys, *BUILD_KEYS]


def nightly_schedule_factory(running: bool = False) -> dg.ScheduleDefinition:
    """The schedule, stopped until turned on in the UI unless tokenbooks.yaml says `dagster: {schedule_on: true}`."""

    @dg.schedule(job=nightly_job, cron_schedule="0 3 * * *", execution_timezone="UTC",
                 default_status=dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED)
    def nightly_schedule(context: dg.ScheduleEvaluationContext, tokenbooks: TokenbooksResource):
        """At 03:00 UTC: yesterday plus the `restate_days` days before it, in one run; pulls the admin APIs first
        when `pull.nightly` (the default) and a key is set."""
        settings = tokenbooks.settings
        yesterday = (context.scheduled_execution_time - timedelta(days=1)).date()
        first = yesterday - timedelta(days=settings.restate_days)
        start = partitions_start(context)
        if start and yesterday < start:
            return dg.SkipReason(f"{yesterday} is before the first partition {start}")
        first = max(first, start) if start else first
        return dg.RunRequest(
            run_key=f"nightly-{yesterday.isoformat()}",
            asset_selection=WITH_PULLS if settings.config.pull.nightly else BUILD_KEYS,
            tags={
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": yesterday.isoformat(),
                MAIL_TAG: yesterday.isoformat(),
            },
        )

    return nightly_schedule

