"""Write the digest for everyone and for each limited recipient to the outbox, and send it when asked.

The outbox always gets ``<stem>.html``, ``.txt`` and ``.eml`` first; sending comes after, so a failed send
never loses a digest. Addresses a digest has reached are recorded in ``<stem>.sent.json``: re-running the
nightly job does not mail anyone twice (the CLI's ``--send`` sends again on purpose).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from pipelines.reporting import mail
from pipelines.reporting.digest import atomic_write, load_digest, render, stem, trend_png, write_files
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
    already_sent: list[str] = field(default_factory=list)
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


def audiences(settings: Settings, to: str | None = None) -> list[tuple[Recipient | None, list[str]]]:
    """(recipient view, addresses): one digest for everyone unrestricted, one per recipient limited to apps/features."""
    recipients = settings.recipients
    if to:
        match = next((r for r in recipients if r.address.lower() == to.lower()), None)
        recipients = [match or Recipient(address=to)]
    out: list[tuple[Recipient | None, list[str]]] = [(None, [r.address for r in recipients if not (r.apps or r.features)])]
    out += [(r, [r.address]) for r in recipients if r.apps or r.features]
    return out


def _sent_path(o: Outgoing) -> Path:
    return o.eml.with_suffix(".sent.json")


def _already(o: Outgoing) -> set[str]:
    path = _sent_path(o)
    return set(json.loads(path.read_text())["to"]) if path.exists() else set()


def _record(o: Outgoing, addresses: list[str]) -> None:
    done = sorted(_already(o) | set(addresses))
    doc = {"to": done, "message_id": o.message["Message-ID"], "at": datetime.now(timezone.utc).isoformat()}
    atomic_write(_sent_path(o), json.dumps(doc, indent=1).encode())


def deliver(settings: Settings, day: date, weekly: bool = False, send: bool = False, to: str | None = None,
            force: bool = False, log=None) -> list[Outgoing]:
    raw = settings.section("smtp")
    retry = mail.Retry(int(raw.get("attempts", 3)), float(raw.get("backoff_s", 2.0)))
    items = []
    for recipient, addresses in audiences(settings, to):
        o = prepare(settings, day, weekly, recipient, addresses)
        items.append(o)
        if not send or not addresses:
            continue
        done = set() if force else _already(o)
        o.already_sent = [a for a in addresses if a in done]
        pending = [a for a in addresses if a not in done]
        if not pending:
            continue
        try:
            o.attempts = mail.send(o.message, settings.smtp, secret("smtp_password"), pending, retry, log)
            o.sent_to = pending
            _record(o, pending)
        except mail.SendError as e:
            o.attempts, o.error = e.attempts, str(e)
    return items
