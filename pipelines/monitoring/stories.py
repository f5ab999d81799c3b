"""One incident, one story: a day's findings grouped under the subject that explains them, and a change that
persists carried as one story from its first day.

A provider incident on one feature shows up as findings on the feature, its app, its model and the whole
organisation; reported one by one they read as seven alarms. Here each subject with findings is linked to the
more specific subject that explains it — a feature of the app (or on the model) with the same metric moving
the same way, else the feature whose spend change is at least half of the subject's (:func:`driver`);
spend no app owns (``(no app)``) is linked to the finding about the share of the bill no logged call
explains. Linked subjects form one story, told from its most specific subject (feature, then model, app,
tenant, total; the largest money first).

A story's onset is carried from the previous days' events (``previous``, the last 7 days): the same story,
or any of its findings flagged before in the same direction. So a change that persists reads "day N of the
change since …" until the 14-day baseline absorbs it, instead of being reported again as new.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pipelines.monitoring.baseline import Baseline
from pipelines.monitoring.context import Context
from pipelines.monitoring.explain import SpendChange
from pipelines.monitoring.series import Subject

SPECIFIC = {"feature": 0, "model": 1, "app": 2, "tenant": 3, "total": 4}


@dataclass
class Finding:
    subject: Subject
    metric: str
    base: Baseline
    observed: Decimal
    effect_usd: Decimal
    robust_z: float

    @property
    def sign(self) -> int:
        return 1 if self.observed > self.base.value else -1


def _contains(whole: Subject, part: Subject, ctx: Context) -> bool:
    """``part`` is a more specific subject inside ``whole``."""
    if SPECIFIC[part.scope] >= SPECIFIC[whole.scope] or part.scope == "tenant" or whole.scope == "tenant":
        return False
    if whole.scope == "total":
        return True
    if part.scope != "feature":
        return False
    if whole.scope == "app":
        return part.app == whole.app
    agg = ctx.h.agg(part, ctx.day)
    return agg is not None and (whole.provider, whole.model) in agg.models


def _explainer(s: Subject, by_subject: dict[Subject, list[Finding]], ctx: Context) -> Subject | None:
    mine = {(f.metric, f.sign) for f in by_subject[s]}
    unowned = s.scope == "app" and s.app is None
    lead = driver(s, ctx.change(s), ctx) if s.scope in ("total", "app", "model") else None
    best, best_key = None, None
    for cand, found in by_subject.items():
        if cand == s:
            continue
        shared = len(mine & {(f.metric, f.sign) for f in found})
        about_unattributed = unowned and any(f.metric == "unattributed_share" and f.sign > 0 for f in found)
        if not (about_unattributed or (_contains(s, cand, ctx) and (shared or cand == lead))):
            continue
        key = (shared, cand == lead, -SPECIFIC[cand.scope], max(abs(f.effect_usd) for f in found))
        if best_key is None or key > best_key:
            best, best_key = cand, key
    return best


def driver(s: Subject, change: SpendChange | None, ctx: Context) -> Subject | None:
    """The feature inside ``s`` whose spend change, in the same direction, is at least half of ``s``'s."""
    if change is None or not change.effects.total:
        return None
    total = change.effects.total
    best, best_change = None, Decimal(0)
    for cand in ctx.h.series:
        agg = ctx.h.agg(cand, ctx.day)
        if cand.scope != "feature" or agg is None:
            continue
        if (s.scope == "app" and cand.app != s.app) or (s.scope == "model" and (s.provider, s.model) not in agg.models):
            continue
        base = ctx.cost_base(cand)
        if base is None:
            continue
        c = agg.spend - base.value
        if (c > 0) == (total > 0) and abs(c) > abs(best_change):
            best, best_change = cand, c
    return best if best is not None and abs(best_change) >= abs(total) / 2 else None


def group(findings: list[Finding], ctx: Context) -> dict[Subject, Subject]:
    """subject with findings -> the subject its story is told from."""
    by_subject: dict[Subject, list[Finding]] = defaultdict(list)
    for f in findings:
        by_subject[f.subject].append(f)
    parent = {s: s for s in by_subject}

    def root(s: Subject) -> Subject:
        while parent[s] != s:
            s = parent[s]
        return s

    for s in by_subject:
        other = _explainer(s, by_subject, ctx)
        if other is not None and root(other) != root(s):
            parent[root(s)] = root(other)
    members: dict[Subject, list[Subject]] = defaultdict(list)
    for s in by_subject:
        members[root(s)].append(s)
    out = {}
    for subjects in members.values():
        teller = min(subjects, key=lambda s: (SPECIFIC[s.scope], -max(abs(f.effect_usd) for f in by_subject[s]), s.label))
        out.update({s: teller for s in subjects})
    return out


def onsets(findings: list[Finding], tellers: dict[Subject, Subject], day: date,
           previous: dict[tuple[str, str, str], tuple[date, int, tuple[str, str] | None]]) -> dict[Subject, date]:
    """story teller -> the story's first day: carried from an earlier flag of the same story, or of one of its
    findings in the same direction."""
    earlier_story: dict[tuple[str, str], date] = {}
    for onset, _, story in previous.values():
        if story is not None:
            earlier_story[story] = min(onset, earlier_story.get(story, onset))
    out: dict[Subject, date] = {}
    for f in findings:
        teller = tellers[f.subject]
        candidates = [out.get(teller, day)]
        before = previous.get((f.subject.scope, f.subject.label, f.metric))
        if before is not None and before[1] == f.sign:
            candidates.append(before[0])
        if (teller.scope, teller.label) in earlier_story:
            candidates.append(earlier_story[(teller.scope, teller.label)])
        out[teller] = min(candidates)
    return out
