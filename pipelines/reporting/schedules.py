"""The nightly schedule: build yesterday and restate the previous days (providers revise late), then report;
the run asks for yesterday's digest, and only that one, to be mailed (``tokenbooks/mail``)."""


from datetime import timedelta

import dagster as dg

from pipelines.reporting.assets import MAIL_TAG
from pipelines.resources import TokenbooksResource

nightly_job = dg.define_asset_job(
    "nightly_job",
    selection=dg.AssetSelection.groups("marts", "monitoring", "reporting") | dg.AssetSelection.assets("admin_api_pulls"),
    description="Pull the admin APIs, build the day (and restate the last few), run the checks, detect drift, write and send the digest.",
)


@dg.schedule(job=nightly_job, cron_schedule="0 3 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def nightly_schedule(context: dg.ScheduleEvaluationContext, tokenbooks: TokenbooksResource):
    """At 03:00 UTC: yesterday plus the `restate_days` days before it, in one run; yesterday's digest is mailed."""
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).date()
    first = yesterday - timedelta(days=tokenbooks.settings.restate_days)
    return dg.RunRequest(
        run_key=f"nightly-{yesterday.isoformat()}",
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": yesterday.isoformat(),
            MAIL_TAG: yesterday.isoformat(),
        },
    )
