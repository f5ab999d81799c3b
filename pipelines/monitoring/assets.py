"""The monitoring layer: drift events and budget status, one step per run after the marts are built.

Each day of the run's partitions is monitored in date order (a day's drift reads the days before it, which
the same run may just have rebuilt), then the warehouse is published once.
"""


from datetime import date

import dagster as dg

from pipelines.contracts import contract
from pipelines.monitoring.build import monitor_day
from pipelines.partitions import daily
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.publish import publish

MONITORING_SPECS = [
    dg.AssetSpec(
        name,
        group_name="monitoring",
        description=contract(name).grain,
        deps=deps,
        kinds={"duckdb", "parquet"},
        metadata={"table": name},
    )
    for name, deps in (
        ("drift_events", ["mart_cost_daily", "fct_reconciliation"]),
        ("budget_status", ["mart_cost_daily"]),
    )
]


@dg.multi_asset(
    specs=MONITORING_SPECS,
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="monitoring_day",
)
def monitoring_day(context: dg.AssetExecutionContext, tokenbooks: TokenbooksResource):
    """Detects drift and computes budget status for each day in the run's partitions, then publishes."""
    settings = tokenbooks.settings
    totals = {"drift_events": 0, "budget_status": 0}
    new_events: list[str] = []
    at_risk: list[str] = []
    for key in sorted(context.partition_keys):
        result = monitor_day(date.fromisoformat(key), settings)
        for name, n in result.rows.items():
            totals[name] += n
        new_events += [f"{key} {e}" for e in result.new_events]
        at_risk = result.budgets_at_risk  # the latest day's status is the one that matters
        context.log.info(f"monitored {key} in {result.seconds:.2f}s: {result.rows}")
    if new_events:
        context.log.warning(f"new drift: {new_events[:20]}" + (" …" if len(new_events) > 20 else ""))
    if at_risk:
        context.log.warning(f"budgets: {at_risk}")
    publish(settings)
    yield dg.MaterializeResult(
        asset_key="drift_events",
        metadata={"rows": totals["drift_events"], "new_events": dg.MetadataValue.json(new_events[:50])},
    )
    yield dg.MaterializeResult(
        asset_key="budget_status",
        metadata={"rows": totals["budget_status"], "not_ok": dg.MetadataValue.json(at_risk)},
    )
