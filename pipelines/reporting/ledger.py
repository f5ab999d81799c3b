"""The outbox's ledger of sent mail: what digest went to whom, when, with which Message-ID.

``outbox/sent.jsonl`` is append-only, one JSON line per delivery; nothing is ever rewritten, so the history of
who got what survives every re-run. Before sending, a digest's addresses are checked against it: the nightly
run skips anyone who already has that digest, and ``tokenbooks digest --send`` refuses a second send of the
same digest unless ``--resend`` says it is on purpose (the resend is recorded too).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

NAME = "sent.jsonl"


@dataclass(frozen=True)
class Sent:
    digest: str  # the outbox stem: digest-2026-11-10, digest-week-…, digest-…--sally-example-com
    to: tuple[str, ...]
    at: str
    message_id: str
    subject: str
    resend: bool


class Ledger:
    def __init__(self, outbox: Path):
        self.path = outbox / NAME

    def entries(self, digest: str | None = None) -> list[Sent]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                doc = json.loads(line)
                if digest is None or doc["digest"] == digest:
                    out.append(Sent(doc["digest"], tuple(doc["to"]), doc["at"], doc["message_id"], doc["subject"],
                                    doc.get("resend", False)))
        return out

    def sent_to(self, digest: str) -> dict[str, str]:
        """address (lower case) -> when this digest first reached it."""
        out: dict[str, str] = {}
        for e in self.entries(digest):
            for a in e.to:
                out.setdefault(a.lower(), e.at)
        return out

    def record(self, digest: str, to: list[str], message_id: str, subject: str, resend: bool = False) -> Sent:
        entry = Sent(digest, tuple(to), datetime.now(timezone.utc).isoformat(timespec="seconds"), message_id,
                     subject, resend)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"digest": entry.digest, "to": list(entry.to), "at": entry.at,
                           "message_id": entry.message_id, "subject": entry.subject, "resend": entry.resend})
        # One write of one line, flushed to disk before the caller reports the send: a crash right after a
        # send at worst loses the record of it, never leaves half a line.
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        return entry
