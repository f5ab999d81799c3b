"""The warehouse tables, one asset each, built together per day in one step.

All tables of a day come out of one DuckDB connection (one scan of the day's
lake files), so they are one multi-asset step rather than a step per table:
Dagster's per-step overhead would otherwise dominate small days. A range of
days runs as a single run (``BackfillPolicy.single_run``) and publishes once.
"""


from datetime import date

import dagster as dg

from pipelines.contracts import contract
from pipelines.ingest.assets import admin_api_pulls, landed_files
from pipelines.lake.store import LANDED
from pipelines.lake.store import landed_files as landed_day_files
from pipelines.partitions import daily
from pipelines.quality.suites import warm_up
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.build import build_day
from pipelines.warehouse.models import PUBLISHED
from pipelines.warehouse.publish import publish

WAREHOUSE_SPECS = [
    dg.AssetSpec(
        name,
        group_name="marts",
        description=contract(name).grain,
        deps=[landed_files, admin_api_pulls],
        kinds={"duckdb", "parquet"},
        metadata={"table": name},
    )
    for name in PUBLISHED
]


@dg.multi_asset(
    specs=WAREHOUSE_SPECS,
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="warehouse_day",
)
def warehouse_day(context: dg.AssetExecutionContext, tokenbooks: TokenbooksResource):
    """Builds every warehouse table for each day in the run's partitions, then publishes the warehouse."""
    settings = tokenbooks.settings
    days = [date.fromisoformat(key) for key in context.partition_keys]
    if any(landed_day_files(settings, table, day) for table in LANDED for day in days):
        warm_up()  # the checks after this step need GX: import it while DuckDB builds the days (none if no rows)
    totals = {name: 0 for name in PUBLISHED}
    unpriced: set[str] = set()
    for key in context.partition_keys:
        built = build_day(date.fromisoformat(key), settings)
        for name, n in built.rows.items():
            totals[name] += n
        unpriced.update(built.unpriced_models)
        context.log.info(f"built {key} in {built.seconds:.2f}s: {built.rows}")
    if unpriced:
        context.log.warning(f"calls of models with no known price (kept, list cost null): {sorted(unpriced)}")
    publish(settings)
    for name in PUBLISHED:
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={
                "rows": totals[name],
                "days": len(context.partition_keys),
                "unpriced_models": dg.MetadataValue.json(sorted(unpriced)),
            },
        )
