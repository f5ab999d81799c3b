"""The daily partitions every day-grained asset shares."""

import dagster as dg

FIRST_DAY = "2024-01-01"

daily = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC", end_offset=1)
