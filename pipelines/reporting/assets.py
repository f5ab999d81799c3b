"""The reporting layer: the digest of each day of the run written to the outbox, and mailed only when asked.

A run mails only when its ``tokenbooks/mail`` tag names one of its days: the nightly schedule names yesterday,
``tokenbooks build --mail`` the last day it builds. Backfills, re-pricing runs (``build --from/--to``) and the
landing sensor's rebuilds of old days write their digests and mail nobody. The mailed day goes to the
addresses the outbox ledger has not recorded for it, so a re-run mails nobody twice; when that day ends a week
(Sunday), the weekly digest goes too. A day with no billed or logged data gets no digest. A send that still
fails after its retries, or a mail setting half made (recipients without an SMTP host, or a host without
recipients), fails the run with one line saying why; the digest stays in the outbox.
"""


from datetime import date

import dagster as dg

from pipelines.partitions import daily
from pipelines.reporting.deliver import deliver, mail_problem, write_digest
from pipelines.reporting.digest import NoData
from pipelines.resources import TokenbooksResource

MAIL_TAG = "tokenbooks/mail"


@dg.asset(
    group_name="reporting",
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["mart_cost_daily", "mart_unit_economics", "fct_reconciliation", "mart_whatif", "drift_events",
          "budget_status"],
    kinds={"html", "email"},
)
def digest(context: dg.AssetExecutionContext, tokenbooks: TokenbooksResource) -> dg.MaterializeResult:
    """The daily digest per day with data (and the weekly one when the run ends on a Sunday) in the outbox as
    HTML, text and .eml; mailed to tokenbooks.yaml's recipients for the day the run's tokenbooks/mail tag names."""
    settings = tokenbooks.settings
    keys = sorted(context.partition_keys)
    mail_day = context.run.tags.get(MAIL_TAG)
    if mail_day is not None and mail_day not in keys:
        raise dg.Failure(description=f"{MAIL_TAG}={mail_day} is not a day of this run ({keys[0]} .. {keys[-1]})")
    files, no_data = [], []
    for key in keys:
        day = date.fromisoformat(key)
        for weekly in (False, True) if key == keys[-1] and day.weekday() == 6 else (False,):
            if key == mail_day:
                continue  # written by deliver() below
            try:
                files.append(str(write_digest(settings, day, weekly)))
            except NoData:
                no_data.append(key)
    if no_data:
        context.log.warning(f"no billed or logged data, so no digest, for {', '.join(sorted(set(no_data)))}")
    items = _mail(context, settings, date.fromisoformat(mail_day)) if mail_day else []
    files += [str(o.eml) for o in items]
    sent = {o.name: o.sent_to for o in items if o.sent_to}
    for name, to in sent.items():
        context.log.info(f"sent {name} to {', '.join(to)}")
    for o in items:
        if o.already_sent and not o.sent_to:
            context.log.info(f"{o.name} already sent to {', '.join(o.already_sent)}: not sent again")
    failed = {o.name: o.error for o in items if o.error}
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
            "no_data": dg.MetadataValue.json(sorted(set(no_data))),
        }
    )


def _mail(context: dg.AssetExecutionContext, settings, day: date) -> list:
    """Deliver the day's digests; with neither recipients nor an SMTP host configured they stay in the outbox."""
    problem = mail_problem(settings)
    configured = bool(settings.recipients or settings.smtp.host)
    if problem and configured:
        raise dg.Failure(description=f"digest for {day} not mailed: {problem}")
    if problem:
        context.log.info("no recipients and no SMTP host configured: the digest stays in the outbox")
    try:
        items = deliver(settings, day, send=not problem, log=context.log.warning)
        if day.weekday() == 6:
            items += deliver(settings, day, weekly=True, send=not problem, log=context.log.warning)
    except NoData as e:
        if configured:
            raise dg.Failure(description=f"digest for {day} not mailed: {e}") from None
        context.log.warning(str(e))
        return []
    return items
