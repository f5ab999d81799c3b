"""The daily partitions every day-grained asset shares.

Assets and checks are declared with ``daily``, a template that starts early enough for any data; the code
location re-bases them on the home's first day (``pipelines/location.py``).
"""

from datetime import date

import dagster as dg

TEMPLATE_FIRST_DAY = "2024-01-01"


def daily_from(first: date | str) -> dg.DailyPartitionsDefinition:
    start = first.isoformat() if isinstance(first, date) else first
    return dg.DailyPartitionsDefinition(start_date=start, timezone="UTC", end_offset=1)


daily = daily_from(TEMPLATE_FIRST_DAY)


def partitions_start(context) -> date | None:
    """The first partition of the code location a schedule or sensor runs in (None outside one, as in tests)."""
    try:
        repository = context.repository_def
    except dg.DagsterInvariantViolationError:  # a schedule context built by a test has none
        return None
    if repository is None:  # nor has a sensor context built by a test
        return None
    job = repository.get_job("nightly_job")
    return job.partitions_def.start.date() if job.partitions_def else None
