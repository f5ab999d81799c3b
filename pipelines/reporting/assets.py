"""The reporting layer: the digest written to the outbox for each day."""


from datetime import date

import dagster as dg

from pipelines.reporting.digest import write_digest
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.partitions import daily


@dg.asset(
    group_name="reporting",
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["mart_cost_daily", "fct_reconciliation"],
    kinds={"html"},
)
def digest(context: dg.AssetExecutionContext, tokenbooks: TokenbooksResource) -> dg.MaterializeResult:
    """One HTML (and plain-text) digest per day in the outbox: spend vs the previous week, by app, feature, model."""
    paths = [write_digest(tokenbooks.settings, date.fromisoformat(k)) for k in context.partition_keys]
    return dg.MaterializeResult(metadata={"files": dg.MetadataValue.json([str(p) for p in paths])})
