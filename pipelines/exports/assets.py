"""The FOCUS export as a Dagster asset: one Parquet file per built day under ``lake/focus/day=D/``."""

from datetime import date

import dagster as dg

from pipelines.exports.focus import FOCUS_VERSION, READS, TABLE, ExportError, export_day, focus_file
from pipelines.lake.store import committed_days
from pipelines.partitions import daily
from pipelines.resources import TokenbooksResource


@dg.asset(
    name=TABLE,
    group_name="exports",
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=READS,
    kinds={"duckdb", "parquet"},
    metadata={"focus_version": FOCUS_VERSION, "contract": f"schemas/exports/{TABLE}.yaml"},
)
def focus_billing(context: dg.AssetExecutionContext, tokenbooks: TokenbooksResource) -> dg.MaterializeResult:
    """One row per billed line × attributed share (app, feature, tenant, prompt version, cache status), plus each
    line's unattributed remainder, in FOCUS 1.3 columns. A day's file is replaced only when it matches its contract."""
    settings = tokenbooks.settings
    committed = committed_days(settings)
    rows: dict[str, int] = {}
    for key in sorted(context.partition_keys):
        day = date.fromisoformat(key)
        if day not in committed:
            raise dg.Failure(f"{day} is not built: materialise the warehouse tables for it first")
        try:
            rows[key] = export_day(settings, day, committed[day])
        except ExportError as e:
            raise dg.Failure(str(e)) from None
        context.log.info(f"{key}: {rows[key]:,} rows -> {focus_file(settings, day)}")
    return dg.MaterializeResult(metadata={"rows": sum(rows.values()), "rows_by_day": dg.MetadataValue.json(rows)})
