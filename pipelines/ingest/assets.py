"""The lake layer: every file dropped in ``landing/`` landed as Parquet by day."""


from datetime import date

import dagster as dg

from pipelines.ingest.pending import land_pending
from pipelines.ingest.pull import APIS, pull
from pipelines.resources import TokenbooksResource
from pipelines.settings import secret
from pipelines.warehouse.partitions import daily


@dg.asset(group_name="lake", kinds={"parquet"})
def landed_files(context: dg.AssetExecutionContext, tokenbooks: TokenbooksResource) -> dg.MaterializeResult:
    """Lands every new file under landing/: one Parquet file per input file and day, bad rows quarantined."""
    results = land_pending(tokenbooks.settings)
    new = [r for r in results if not r.already_landed and not r.error]
    for r in results:
        if r.error:
            context.log.error(r.error)
        elif not r.already_landed:
            context.log.info(r.line())
    days = sorted({d for r in new for d in r.days})
    return dg.MaterializeResult(
        metadata={
            "files_landed": len(new),
            "files_failed": sum(1 for r in results if r.error),
            "rows_landed": sum(r.landed for r in new),
            "rows_quarantined": sum(r.quarantined for r in new),
            "days": dg.MetadataValue.json(days),
            "errors": dg.MetadataValue.json([r.error for r in results if r.error][:20]),
        }
    )


@dg.asset(
    group_name="lake",
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"parquet"},
)
def admin_api_pulls(context: dg.AssetExecutionContext, tokenbooks: TokenbooksResource) -> dg.MaterializeResult:
    """Pulls each day's usage and cost reports from the OpenAI and Anthropic admin APIs (where a key is set)."""
    settings = tokenbooks.settings
    days = [date.fromisoformat(k) for k in context.partition_keys]
    pulled = {}
    for provider in APIS:
        if not secret(APIS[provider].secret_name):
            context.log.info(f"{APIS[provider].env} not set: not pulling {provider}")
            continue
        base_url = settings.section("pull").get(f"{provider}_base_url")  # a proxy, or a test server
        results = pull(provider, min(days), max(days), settings, base_url=base_url)
        failed = [r.error for r in results if r.error]
        if failed:
            raise dg.Failure(f"{provider}: {len(failed)} pulled files could not be landed", metadata={"errors": failed[:10]})
        pulled[provider] = {"files": len(results), "rows": sum(r.landed for r in results)}
    return dg.MaterializeResult(metadata={"pulled": dg.MetadataValue.json(pulled)})
