"""Write the digest for everyone and for each limited recipient to the outbox, and send it when asked.

The outbox always gets ``<stem>.html``, ``.txt`` and ``.eml`` first; sending comes after, so a failed send
never loses a digest. Every delivery is recorded in the outbox's ledger (``ledger.py``): an address that has
a digest does not get it again unless ``resend`` says so. Sending needs an SMTP host and someone to send to;
``mail_problem`` says which is missing, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from pipelines.files import atomic_write
from pipelines.reporting import mail
from pipelines.reporting.digest import load_digest, render, stem, trend_png, write_files
from pipelines.reporting.ledger import Ledger
from pipelines.settings import Recipient, Settings, secret


@dataclass
class Outgoing:
    name: str
    to: list[str]
    subject: str
    html: Path
    text: Path
    eml: Path
    message: EmailMessage
    sent_to: list[str] = field(default_factory=list)
    already_sent: dict[str, str] = field(default_factory=dict)  # address -> when it got this digest
    attempts: int = 0
    error: str | None = None


def prepare(settings: Settings, day: date, weekly: bool, recipient: Recipient | None, to: list[str]) -> Outgoing:
    digest = load_digest(settings, day, weekly, recipient)
    name = stem(day, weekly, recipient)
    html_path, text_path, _, text = write_files(settings, digest, name)
    # The mail's HTML finds the chart by Content-ID: Gmail and Outlook drop data: URIs.
    html = render(digest, chart_src="cid:trend")
    message = mail.build_message(digest.subject, settings.smtp.sender, to, text, html, images={"trend": trend_png(digest)})
    eml = settings.outbox / f"{name}.eml"
    atomic_write(eml, message.as_bytes(policy=SMTP))
    return Outgoing(name, to, digest.subject, html_path, text_path, eml, message)


def write_digest(settings: Settings, day: date, weekly: bool = False, recipient: Recipient | None = None) -> Path:
    """Write outbox/<stem>.html, .txt and .eml for everyone (or one recipient's view); returns the HTML path."""
    return prepare(settings, day, weekly, recipient, [recipient.address] if recipient else []).html


def audiences(settings: Settings, to: str | None = None) -> list[tuple[Recipient | None, list[str]]]:
    """(recipient view, addresses): one digest for everyone unrestricted, one per recipient limited to apps/features."""
    recipients = settings.recipients
    if to:
        match = next((r for r in recipients if r.address.lower() == to.lower()), None)
        recipients = [match or Recipient(address=to)]
    out: list[tuple[Recipient | None, list[str]]] = [(None, [r.address for r in recipients if not (r.apps or r.features)])]
    out += [(r, [r.address]) for r in recipients if r.apps or r.features]
    return out


def mail_problem(settings: Settings, to: str | None = None) -> str | None:
    """What stops a send, in one line (None when nothing does)."""
    host = bool(settings.smtp.host)
    someone = bool(to or settings.recipients)
    if not host and not someone:
        return ("cannot send: no SMTP host (smtp.host in tokenbooks.yaml or TOKENBOOKS_SMTP_HOST) and no recipients "
                "(recipients: in tokenbooks.yaml, or --to ADDR)")
    if not host:
        return "cannot send: no SMTP host (smtp.host in tokenbooks.yaml or TOKENBOOKS_SMTP_HOST)"
    if not someone:
        return "cannot send: no recipients (recipients: in tokenbooks.yaml, or --to ADDR)"
    return None


def deliver(settings: Settings, day: date, weekly: bool = False, send: bool = False, to: str | None = None,
            resend: bool = False, log=None) -> list[Outgoing]:
    """Write every audience's digest; with ``send``, mail each to the addresses the ledger has not seen get it
    (all of them with ``resend``). Raises ``digest.NoData`` for a period without data."""
    raw = settings.section("smtp")
    retry = mail.Retry(int(raw.get("attempts", 3)), float(raw.get("backoff_s", 2.0)))
    ledger = Ledger(settings.outbox)
    items = []
    for recipient, addresses in audiences(settings, to):
        o = prepare(settings, day, weekly, recipient, addresses)
        items.append(o)
        if not send or not addresses:
            continue
        done = ledger.sent_to(o.name)
        o.already_sent = {a: done[a.lower()] for a in addresses if a.lower() in done}
        pending = addresses if resend else [a for a in addresses if a.lower() not in done]
        if not pending:
            continue
        try:
            o.attempts = mail.send(o.message, settings.smtp, secret("smtp_password"), pending, retry, log)
            o.sent_to = pending
            ledger.record(o.name, pending, o.message["Message-ID"], o.subject, resend=bool(resend and o.already_sent))
        except mail.SendError as e:
            o.attempts, o.error = e.attempts, str(e)
    return items
