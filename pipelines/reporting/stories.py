"""The digest's drift section: one story per incident, read from ``drift_events``.

Detection groups a day's findings under the subject that explains them (``drift_events.story``); here each
story becomes one sentence (the story's own subject: what moved, from its usual value to the day's, and the
cause), one line of money (its spend change and the parts that make it up, which add up) and the other
subjects where it showed. A story that started on an earlier day reads "day N of the change since …".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pipelines.monitoring import words
from pipelines.reporting.periods import Period

SEVERITY = {"high": 0, "medium": 1, "low": 2}


@dataclass
class Story:
    day: date
    scope: str
    subject: str
    onset: date
    severity: str
    sentence: str
    spend: str | None = None  # the story subject's spend change and its parts
    owners: list[str] = field(default_factory=list)  # spend no logged call explains, and whose it is
    also: list[str] = field(default_factory=list)  # other subjects where it showed
    money: Decimal = Decimal(0)  # |largest money at stake| (ordering only)

    @property
    def is_new(self) -> bool:
        return self.onset == self.day

    @property
    def status(self) -> str:
        if self.is_new:
            return f"new on {self.day:%a %m-%d}"
        return f"day {(self.day - self.onset).days + 1} of the change since {self.onset:%a %m-%d}"


def _phrase(r: dict[str, Any]) -> str:
    return words.change_phrase(r["metric"], r["baseline"], r["observed"])


def _label(scope: str, subject: str) -> str:
    return "all spend" if scope == "total" else subject


def story(rows: list[dict[str, Any]]) -> Story:
    """One story from its rows (one day, one ``story``)."""
    first = rows[0]
    own = [r for r in rows if (r["scope"], r["subject"]) == (first["story_scope"], first["story"])]
    own.sort(key=lambda r: -abs(r["effect_usd"]))
    why = next((r["cause"] for r in own if r["cause"]), "")
    owners = list(dict.fromkeys(r["unattributed_owners"] for r in rows if r["unattributed_owners"]))
    label = _label(first["story_scope"], first["story"])
    others: dict[tuple[str, str], list[str]] = {}
    for r in sorted(rows, key=lambda r: (r["scope"] != "app", r["scope"], r["subject"], -abs(r["effect_usd"]))):
        if r not in own:
            others.setdefault((r["scope"], r["subject"]), []).append(_phrase(r))
    return Story(
        day=first["day"],
        scope=first["story_scope"],
        subject=first["story"],
        onset=min(r["onset_day"] for r in rows),
        severity=min((r["severity"] for r in rows), key=SEVERITY.__getitem__),
        sentence=words.sentence(label, [_phrase(r) for r in own[:3]], why),
        spend=(own[0]["spend_explanation"] if own and own[0]["spend_explanation"] else None),
        owners=owners,
        also=[f"{scope + ' ' if scope != 'total' else ''}{_label(scope, subject)}: {', '.join(said)}"
              for (scope, subject), said in others.items()],
        money=max(abs(r["effect_usd"]) for r in rows),
    )


def for_digest(rows: list[dict[str, Any]], period: Period, limit: int = 8) -> list[Story]:
    """The period's stories, new ones first, then by severity and money; a weekly digest keeps the new ones."""
    by_story: dict[tuple[date, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        by_story.setdefault((r["day"], r["story_scope"], r["story"]), []).append(r)
    told = [story(rs) for rs in by_story.values()]
    if period.kind == "weekly":
        told = [s for s in told if s.is_new]
    told.sort(key=lambda s: (not s.is_new, SEVERITY[s.severity], -s.money, s.subject))
    return told[:limit]
