"""The lake layer: every file dropped in ``landing/`` landed as Parquet by day."""


import dagster as dg

from pipelines.ingest.pending import land_pending
from pipelines.resources import TokenbooksResource


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
