"""Run the nightly job for a range of days, in-process, on the local Dagster instance.

The CLI and the benchmark use this, so they exercise exactly the assets the
schedule runs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.settings import PROJECT_ROOT, Settings


@dataclass
class RunResult:
    success: bool
    run_id: str
    seconds: float


def instance() -> dg.DagsterInstance:
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str(PROJECT_ROOT / "dagster_home")
        os.environ["DAGSTER_HOME"] = home
    Path(home).mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.get()


def build_days(
    settings: Settings, start: date, end: date, with_digest: bool = True, dagster_instance=None, log_level: str = "WARNING",
    mail: bool = False,
) -> RunResult:
    """Build start..end in one nightly_job run; ``mail`` mails the digest of ``end`` (as the schedule does for
    yesterday), otherwise digests are only written to the outbox."""
    from pipelines.definitions import defs
    from pipelines.reporting.assets import MAIL_TAG

    job_name = "nightly_job"
    job = defs.resolve_job_def(job_name)
    started = time.perf_counter()
    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
        **({MAIL_TAG: end.isoformat()} if mail else {}),
    }
    selection = None if with_digest else [dg.AssetKey(k) for k in _non_reporting(defs)]
    result = job.execute_in_process(
        instance=dagster_instance or instance(),
        tags=tags,
        asset_selection=selection,
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


def _non_reporting(defs) -> list[str]:
    graph = defs.resolve_asset_graph()
    return [
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).group_name in ("marts", "monitoring")
    ]
