"""The reporting layer: the digest, written to the outbox for each day of the run and mailed for the last one.

Restated days get their daily digest rewritten (numbers move when providers revise), but only the run's last
day is mailed, and only to addresses that have not had it yet: a re-run does not mail anyone twice. When that
day ends a week (Sunday), the weekly digest goes too. A send that still fails after its retries fails the
run, with the error and the outbox files in the failure's metadata; the digest stays in the outbox.
"""


from datetime import date

import dagster as dg

from pipelines.reporting.deliver import deliver
from pipelines.reporting.digest import write_digest
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.partitions import daily


@dg.asset(
    group_name="reporting",
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["mart_cost_daily", "mart_unit_economics", "fct_reconciliation", "mart_whatif", "drift_events",
          "budget_status"],
    kinds={"html", "email"},
)
def digest(context: dg.AssetExecutionContext, tokenbooks: TokenbooksResource) -> dg.MaterializeResult:
    """The daily digest per day (and the weekly one on Sundays) in the outbox as HTML, text and .eml; mailed to
    tokenbooks.yaml's recipients when an SMTP host is configured."""
    settings = tokenbooks.settings
    keys = sorted(context.partition_keys)
    files = [str(write_digest(settings, date.fromisoformat(k))) for k in keys[:-1]]
    last = date.fromisoformat(keys[-1])
    send = bool(settings.recipients and settings.smtp.host)
    if settings.recipients and not settings.smtp.host:
        context.log.warning("recipients are configured but no SMTP host: the digest stays in the outbox")
    items = deliver(settings, last, send=send, log=context.log.warning)
    if last.weekday() == 6:
        items += deliver(settings, last, weekly=True, send=send, log=context.log.warning)
    files += [str(o.eml) for o in items]
    sent = {o.name: o.sent_to for o in items if o.sent_to}
    failed = {o.name: o.error for o in items if o.error}
    for name, to in sent.items():
        context.log.info(f"sent {name} to {', '.join(to)}")
    if failed:
        raise dg.Failure(
            description=f"digest not delivered (kept in {settings.outbox}): "
            + "; ".join(f"{n}: {e}" for n, e in failed.items()),
            metadata={"failed": dg.MetadataValue.json(failed), "outbox": dg.MetadataValue.json(files),
                      "sent": dg.MetadataValue.json(sent)},
        )
    return dg.MaterializeResult(
        metadata={
            "files": dg.MetadataValue.json(files),
            "sent": dg.MetadataValue.json(sent),
            "subject": items[0].subject,
        }
    )
