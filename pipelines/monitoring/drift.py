"""Drift events for one day: which subject's metric left its robust baseline, by how much money, and why.

For every subject (the organisation, each app, feature and model, and the largest tenants) and metric, the
day's value is compared with the weekday-adjusted median of the trailing 14 days (``baseline.py``). A change
is an event only when it is all of:

- unusual for this series: ``|observed - baseline| >= z × spread`` (robust z, default 4);
- material in size: spend moves >= 20 %, per-call metrics >= 15 %, shares by a fixed number of points;
- material in money: >= ``min_effect_share`` (1 %) of the organisation's usual daily spend (the median of its
  last 28 days, whatever the day type), and >= ``min_effect_usd`` ($0.05): the floor scales with the
  organisation, so 500 calls a day and 50,000 are watched alike, and a tiny feature doubling pages nobody;
- backed by data: >= 7 days of history, >= 30 calls on the day for per-call metrics.

Spend and the share metrics (cache hits, errors, retries, unattributed share) are compared with days of the
same type, weekday or weekend (``baseline.py``): weekend traffic is smaller and differently made up.
Every event carries the subject's spend change split into volume, tokens per call, price and model-mix effects
(``decompose.py``) and the causes that coincide with it (``explain.py``); the day's findings are grouped into
stories and a persisting change keeps its first day (``stories.py``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pipelines.monitoring import words
from pipelines.monitoring.baseline import baseline
from pipelines.monitoring.context import Context
from pipelines.monitoring.drift_config import DriftConfig
from pipelines.monitoring.metrics import (METRICS, SCOPE_METRICS, SCOPE_ORDER, call_shares, effect_of, metric_history,
                                          mix_baseline, mix_distance, pooled_rate, sampling_error, spread_of, unusual, value)
from pipelines.monitoring.series import History, Subject
from pipelines.monitoring.stories import Finding, group, onsets

Q = Decimal("1e-12")


def find(h: History, day: date, cfg: DriftConfig, ctx: Context, min_effect: Decimal) -> list[Finding]:
    """Every subject's metrics that left their baseline by enough to matter."""
    found = []
    for subject in sorted(h.series, key=lambda s: (SCOPE_ORDER.index(s.scope), s.label)):
        agg = h.agg(subject, day)
        if agg is None:
            continue
        for name in SCOPE_METRICS[subject.scope]:
            metric = METRICS[name]
            if name == "model_mix":
                if agg.requests < cfg.min_requests:
                    continue
                base, reference = mix_baseline(h, subject, day, cfg)
                observed = mix_distance(call_shares([agg]), reference)
            else:
                observed = value(name, agg, cfg.min_requests)
                base = ctx.cost_base(subject) if name == "cost_usd" else baseline(
                    metric_history(h, subject, name, day, cfg), day, metric.seasonal, cfg.baseline_days,
                    cfg.min_history_days)
            if base is None or observed is None:
                continue
            se = sampling_error(name, agg, base.value, pooled_rate(h, subject, name, day, cfg))
            if not unusual(metric, observed, base, cfg.z, min_effect, se):
                continue
            effect = effect_of(name, observed, base.value, agg, ctx.change(subject))
            if abs(effect) >= min_effect:
                z = float((observed - base.value) / max(spread_of(metric, base), se))
                found.append(Finding(subject, name, base, observed, effect, z))
    return found


def detect(
    h: History,
    day: date,
    cfg: DriftConfig,
    weights: dict,
    previous: dict[tuple[str, str, str], tuple[date, int, tuple[str, str] | None]] | None = None,
    unattributed: list[dict] | None = None,
) -> list[dict[str, Any]]:
    """The day's drift events as rows of ``drift_events``.

    ``weights``: (provider, model) -> (input, output) list price per token (to weigh tokens by what they cost);
    ``previous``: the last days' events, (scope, subject, metric) -> (onset day, sign, story), to carry a
    persisting change's onset; ``unattributed``: the day's fct_reconciliation rows with unattributed spend.
    """
    ctx = Context(h, day, cfg, weights)
    scale = ctx.org_scale()
    min_effect = max(cfg.min_effect_usd, cfg.min_effect_share * scale)
    findings = find(h, day, cfg, ctx, min_effect)
    tellers = group(findings, ctx)
    first = onsets(findings, tellers, day, previous or {})
    return [_row(f, tellers[f.subject], first[tellers[f.subject]], day, scale, ctx, unattributed or [])
            for f in findings]


def _owned(s: Subject, rows: list[dict]) -> list[dict]:
    if s.scope == "app":
        return [r for r in rows if r.get("owner_app") == s.app]
    if s.scope == "model":
        return [r for r in rows if r.get("provider") == s.provider and r.get("model") == s.model]
    return rows if s.scope == "total" else []


def _row(f: Finding, teller: Subject, onset: date, day: date, scale: Decimal, ctx: Context,
         unattributed: list[dict]) -> dict[str, Any]:
    s, metric = f.subject, METRICS[f.metric]
    change = ctx.change(s)
    delta = f.observed - f.base.value
    stake = abs(f.effect_usd) / scale if scale > 0 else Decimal(1)
    effects = change.effects if change else None
    unexplained = f.metric == "unattributed_share" or (s.scope == "app" and s.app is None) or (
        effects is not None and effects.total and abs(effects.other) >= abs(effects.total) / 2)
    owners = words.owners(_owned(s, unattributed)) if unexplained else ""
    why = words.cause(f.metric, change)
    label = s.label if s.scope != "total" else "all spend"
    return {
        "day": day,
        "scope": s.scope,
        "subject": s.label,
        "app": s.app,
        "feature": s.feature,
        "provider": s.provider,
        "model": s.model,
        "tenant_id": s.tenant_id,
        "metric": f.metric,
        "unit": metric.unit,
        "baseline": f.base.value.quantize(Q),
        "observed": f.observed.quantize(Q),
        "change_pct": float(delta / f.base.value * 100) if f.base.value and f.metric != "model_mix" else None,
        "robust_z": round(f.robust_z, 3),
        "effect_usd": f.effect_usd.quantize(Q),
        "severity": "high" if stake >= Decimal("0.05") else "medium" if stake >= Decimal("0.01") else "low",
        "onset_day": onset,
        "is_new": onset == day,
        "story_scope": teller.scope,
        "story": teller.label,
        "cost_baseline_usd": change.baseline.quantize(Q) if change else None,
        "cost_observed_usd": change.observed.quantize(Q) if change else None,
        "volume_effect_usd": effects.volume if effects else None,
        "tokens_effect_usd": effects.tokens if effects else None,
        "price_effect_usd": effects.price if effects else None,
        "mix_effect_usd": effects.mix if effects else None,
        "unattributed_effect_usd": effects.other if effects else None,
        "new_prompt_version": change.prompt[0] if change and change.prompt else None,
        "new_prompt_since": change.prompt[1] if change and change.prompt else None,
        "new_model": change.new_model[0] if change and change.new_model else None,
        "driver": teller.label if teller != s else None,
        "cause": why or None,
        "unattributed_owners": owners or None,
        "spend_explanation": words.spend_explanation(change) if change else None,
        "explanation": words.sentence(label, [words.change_phrase(f.metric, f.base.value, f.observed)], why, owners),
    }
