"""The lake layer: every file dropped in ``landing/`` landed as Parquet by day."""


from datetime import date

import dagster as dg

from pipelines.ingest.pending import land_pending
from pipelines.ingest.pull import APIS, PullError, pull
from pipelines.partitions import daily
from pipelines.resources import TokenbooksResource
from pipelines.settings import secret


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
    check_specs=[dg.AssetCheckSpec("pulled", asset="admin_api_pulls",
                                   description="Every provider with a key set was pulled and landed.")],
)
def admin_api_pulls(context: dg.AssetExecutionContext, tokenbooks: TokenbooksResource) -> dg.MaterializeResult:
    """Pulls each day's usage and cost reports from the OpenAI and Anthropic admin APIs (where a key is set).

    A failed pull fails this asset's ``pulled`` check, not the run: what has landed is built all the same."""
    settings = tokenbooks.settings
    days = [date.fromisoformat(k) for k in context.partition_keys]
    pulled, failed = {}, {}
    for provider, api in APIS.items():
        if not secret(api.secret_name):
            context.log.info(f"{api.env} not set: not pulling {provider}")
            continue
        base_url = getattr(settings.config.pull, f"{provider}_base_url")  # a proxy, or a test server
        try:
            results = pull(provider, min(days), max(days), settings, base_url=base_url)
        except PullError as e:
            failed[provider] = str(e)
            context.log.error(f"{provider}: {e}; building what has landed")
            continue
        errors = [r.error for r in results if r.error]
        if errors:
            failed[provider] = f"{len(errors)} pulled files could not be landed: {errors[0]}"
            context.log.error(f"{provider}: {failed[provider]}")
        pulled[provider] = {"files": len(results), "rows": sum(r.landed for r in results)}
    return dg.MaterializeResult(
        metadata={"pulled": dg.MetadataValue.json(pulled), "failed": dg.MetadataValue.json(failed)},
        check_results=[dg.AssetCheckResult(
            check_name="pulled", passed=not failed, severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(f"{p}: {e}" for p, e in failed.items()) or f"pulled {', '.join(pulled) or 'nothing'}",
            metadata={"failed": dg.MetadataValue.json(failed)},
        )],
    )
