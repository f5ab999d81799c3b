"""Run the nightly job for a range of days, in-process, on the home's Dagster instance.

The CLI and the benchmark use this, so they exercise exactly the assets the
schedule runs. The instance lives in ``$TOKENBOOKS_HOME/dagster`` unless
``DAGSTER_HOME`` says otherwise (``Settings.instance_dir``); it is created there,
with the project's ``dagster.yaml``, the first time a build needs it. A run builds the code location
(``location.py``), so this module sits at the top, above it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import dagster as dg

from pipelines.settings import PROJECT_ROOT, Settings


@dataclass
class RunResult:
    success: bool
    run_id: str
    seconds: float


def prepare_instance(settings: Settings) -> str:
    """The instance folder, created with the project's dagster.yaml when it has none."""
    folder = settings.instance_dir
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    if not config.exists():
        config.write_text((PROJECT_ROOT / "dagster.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return str(folder)


def instance(settings: Settings) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(prepare_instance(settings))


def build_days(
    settings: Settings, start: date, end: date, with_digest: bool = True, pull: bool = False,
    dagster_instance=None, log_level: str = "WARNING", mail: bool = False,
) -> RunResult:
    """Build [start, end] (and the digest); pull the admin APIs first only when ``pull``; ``mail`` mails the
    digest of ``end`` (as the schedule does for yesterday), otherwise digests are only written to the outbox."""
    # Imported here, not at the top: `tokenbooks ui` needs only prepare_instance, not every layer's assets.
    from pipelines.location import definitions
    from pipelines.nightly import BUILD_KEYS, WITH_PULLS
    from pipelines.reporting.assets import MAIL_TAG

    # Partitions from the range's first day: a build of any days works whatever the home's first landed day.
    job = definitions(settings, first=start).resolve_job_def("nightly_job")
    keys = WITH_PULLS if pull else BUILD_KEYS
    if not with_digest:
        keys = [k for k in keys if k.to_user_string() != "digest"]
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=dagster_instance or instance(settings),
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
            **({MAIL_TAG: end.isoformat()} if mail else {}),
        },
        asset_selection=keys,
        run_config={
            "loggers": {"console": {"config": {"log_level": log_level}}},
            # The job's resource gets these settings through run config, never through this process's
            # environment, so one call cannot leak its home or config into the next.
            "resources": {
                "tokenbooks": {
                    "config": {"home": str(settings.home), "config_path": str(settings.config_path or "")}
                }
            },
        },
        raise_on_error=False,
    )
    return RunResult(success=result.success, run_id=result.run_id, seconds=time.perf_counter() - started)
