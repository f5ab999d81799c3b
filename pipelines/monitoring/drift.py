"""Drift events for one day: which subject's metric left its robust baseline, by how much money, and why.

For every subject (the organisation, each app, feature and model, and the largest tenants) and metric, the
day's value is compared with the weekday-adjusted median of the trailing 14 days (``baseline.py``). A change
is an event only when it is all of:

- unusual for this series: ``|observed - baseline| >= z × spread`` (robust z, default 4);
- material in size: spend moves >= 20 %, per-call metrics >= 15 %, shares by a fixed number of points;
- material in money: >= ``min_effect_usd`` per day ($1, or 0.5 % of the organisation's daily spend if more),
  so a tiny feature doubling does not page anyone;
- backed by data: >= 7 days of history, >= 30 calls on the day for per-call metrics.

Every event carries the subject's spend change split into volume, tokens per call, price and model-mix effects
(``decompose.py``) and the causes that coincide with it (``explain.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pipelines.monitoring.baseline import Baseline, baseline
from pipelines.monitoring.explain import Story, explain, story_for
from pipelines.monitoring.series import Agg, History, Subject
from pipelines.settings import Settings

Q = Decimal("1e-12")


@dataclass(frozen=True)
class DriftConfig:
    z: Decimal = Decimal(4)
    min_effect_usd: Decimal = Decimal(1)
    min_effect_share: Decimal = Decimal("0.005")
    min_requests: int = 30
    min_history_days: int = 7
    baseline_days: int = 14
    max_tenants: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> "DriftConfig":
        raw = settings.section("drift")
        kwargs: dict[str, Any] = {}
        for name, kind in (("z", Decimal), ("min_effect_usd", Decimal), ("min_effect_share", Decimal),
                           ("min_requests", int), ("min_history_days", int), ("max_tenants", int)):
            if name in raw:
                kwargs[name] = kind(str(raw[name]))
        return cls(**kwargs)


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # usd | tokens | share
    kind: str  # relative: min_change is a fraction of the baseline; points: an absolute change of a share
    min_change: Decimal
    seasonal: bool = False


METRICS = {
    m.name: m
    for m in (
        Metric("cost_usd", "usd", "relative", Decimal("0.20"), seasonal=True),
        Metric("cost_per_request_usd", "usd", "relative", Decimal("0.15")),
        Metric("input_tokens_per_request", "tokens", "relative", Decimal("0.15")),
        Metric("output_tokens_per_request", "tokens", "relative", Decimal("0.20")),
        Metric("cache_hit_rate", "share", "points", Decimal("0.10")),
        Metric("error_rate", "share", "points", Decimal("0.03")),
        Metric("retry_rate", "share", "points", Decimal("0.03")),
        Metric("unattributed_share", "share", "points", Decimal("0.05")),
        Metric("model_mix", "share", "points", Decimal("0.20")),
    )
}
PER_CALL = ["cost_per_request_usd", "input_tokens_per_request", "output_tokens_per_request", "cache_hit_rate",
            "error_rate", "retry_rate"]
SCOPE_METRICS = {
    "total": ["cost_usd", *PER_CALL, "unattributed_share", "model_mix"],
    "app": ["cost_usd", *PER_CALL, "unattributed_share", "model_mix"],
    "feature": ["cost_usd", *PER_CALL, "model_mix"],
    "model": ["cost_usd", *PER_CALL, "unattributed_share"],
    # A tenant's per-call metrics are its features' metrics weighted by which of its users were active that day:
    # feature scope watches those; per tenant, spend is what matters.
    "tenant": ["cost_usd"],
}
SCOPE_ORDER = ["total", "app", "feature", "model", "tenant"]


def value(metric: str, agg: Agg | None, min_requests: int) -> Decimal | None:
    agg = agg or Agg()
    if metric == "cost_usd":
        return agg.spend
    if metric == "unattributed_share":
        return agg.unattributed / agg.spend if agg.spend > 0 else None
    if agg.requests < min_requests:
        return None
    n = Decimal(agg.requests)
    return {
        "cost_per_request_usd": lambda: agg.cost / n,
        "input_tokens_per_request": lambda: agg.input_tokens / n,
        "output_tokens_per_request": lambda: agg.output_tokens / n,
        "cache_hit_rate": lambda: agg.cache_hits / n,
        "error_rate": lambda: agg.failed / n,
        "retry_rate": lambda: agg.retried / n,
    }[metric]()


def mix_distance(shares: dict, reference: dict) -> Decimal:
    """Total-variation distance between two distributions of calls over models (0 = same, 1 = disjoint)."""
    keys = set(shares) | set(reference)
    return sum((abs(shares.get(k, Decimal(0)) - reference.get(k, Decimal(0))) for k in keys), Decimal(0)) / 2


def call_shares(aggs: list[Agg]) -> dict:
    total = sum(a.requests for a in aggs)
    out: dict = {}
    for a in aggs:
        for k, m in a.models.items():
            out[k] = out.get(k, Decimal(0)) + Decimal(m.requests)
    return {k: v / total for k, v in out.items()} if total else {}


def metric_history(h: History, subject: Subject, metric: str, day: date, cfg: DriftConfig) -> dict[date, Decimal]:
    series = h.series.get(subject, {})
    since = day - timedelta(days=28)
    out = {}
    for d in h.days:
        if since <= d < day:
            v = value(metric, series.get(d), cfg.min_requests)
            if v is not None:
                out[d] = v
    return out


def mix_baseline(h: History, subject: Subject, day: date, cfg: DriftConfig) -> tuple[Baseline | None, dict]:
    series = h.series.get(subject, {})
    days = [day - timedelta(days=i) for i in range(1, cfg.baseline_days + 1)]
    aggs = {d: series[d] for d in days if d in series and series[d].requests >= cfg.min_requests}
    reference = call_shares(list(aggs.values()))
    history = {d: mix_distance(call_shares([a]), reference) for d, a in aggs.items()}
    return baseline(history, day, False, cfg.baseline_days, cfg.min_history_days), reference


@dataclass
class Finding:
    subject: Subject
    metric: str
    base: Baseline
    observed: Decimal
    effect_usd: Decimal
    robust_z: float


def effect_of(metric: str, observed: Decimal, base: Decimal, agg: Agg, story: Story | None) -> Decimal:
    """Spend per day at stake in a metric's change (positive: spend goes up)."""
    delta = observed - base
    if metric == "cost_usd":
        return delta
    if metric == "cost_per_request_usd":
        return delta * agg.requests
    if metric in ("input_tokens_per_request", "output_tokens_per_request"):
        tokens = agg.input_tokens if metric.startswith("input") else agg.output_tokens
        share = story.input_value_share if story and metric.startswith("input") else (
            1 - story.input_value_share if story else Decimal("0.5"))
        return delta * agg.requests * (agg.cost * share / tokens) if tokens else Decimal(0)
    if metric == "cache_hit_rate":
        return -delta * agg.cost
    if metric == "unattributed_share":
        return delta * agg.spend
    if metric == "model_mix":
        return story.effects.mix if story and story.effects else delta * agg.cost
    return delta * agg.cost  # error_rate, retry_rate: failed and retried calls are paid for


def spread_of(metric: Metric, base: Baseline) -> Decimal:
    floor = abs(base.value) * Decimal("0.02") if metric.kind == "relative" else Decimal("0.005")
    return max(base.spread, floor)


def sampling_error(metric: str, agg: Agg, base: Decimal) -> Decimal:
    """The day's own standard error: spend and per-call means are sums over users, some heavy (cluster-robust)."""
    m, n = agg.moments, agg.requests
    if metric == "cost_usd":
        return Decimal(math.sqrt(max(m.get("cost_sq", 0.0), 0.0)))
    ratio = {"cost_per_request_usd": "cost", "input_tokens_per_request": "input", "output_tokens_per_request": "output"}
    if metric in ratio and n:
        x, mean = ratio[metric], float(base)
        var = m.get(f"{x}_sq", 0.0) - 2 * mean * m.get(f"{x}_x_requests", 0.0) + mean * mean * m.get("requests_sq", 0.0)
        return Decimal(math.sqrt(max(var, 0.0)) / n)
    if metric in ("cache_hit_rate", "error_rate", "retry_rate") and n:
        p = min(max(float(base), 0.0), 1.0)
        return Decimal(math.sqrt(p * (1 - p) / n))
    return Decimal(0)


def unusual(metric: Metric, observed: Decimal, base: Baseline, z: Decimal, min_base: Decimal,
            se: Decimal = Decimal(0)) -> bool:
    """Out of the series' own noise and the day's sampling error, and large enough to matter (money after)."""
    delta = observed - base.value
    if abs(delta) < z * max(spread_of(metric, base), se):
        return False
    if metric.kind == "relative":
        # A subject that usually spends less than the money threshold has no level to drift from.
        floor = min_base if metric.name == "cost_usd" else Decimal(0)
        return base.value > floor and abs(delta) >= metric.min_change * base.value
    return abs(delta) >= metric.min_change


class Context:
    """What detection knows about the day: baselines and stories per subject, computed once and only when asked."""

    def __init__(self, h: History, day: date, cfg: DriftConfig, weights: dict):
        self.h, self.day, self.cfg, self.weights = h, day, cfg, weights
        self._bases: dict[Subject, Baseline | None] = {}
        self._stories: dict[Subject, Story | None] = {}

    def cost_base(self, s: Subject) -> Baseline | None:
        if s not in self._bases:
            cfg = self.cfg
            self._bases[s] = baseline(metric_history(self.h, s, "cost_usd", self.day, cfg), self.day, True,
                                      cfg.baseline_days, cfg.min_history_days)
        return self._bases[s]

    def story(self, s: Subject) -> Story | None:
        if s not in self._stories:
            base, agg = self.cost_base(s), self.h.agg(s, self.day)
            self._stories[s] = (story_for(self.h, s, self.day, base.value, agg, self.weights, self.cfg)
                                if base is not None and agg is not None else None)
        return self._stories[s]


def detect(
    h: History,
    day: date,
    cfg: DriftConfig,
    weights: dict,
    previous: dict[tuple[str, str, str], tuple[date, int]] | None = None,
    unattributed: list[dict] | None = None,
) -> list[dict[str, Any]]:
    """The day's drift events as rows of ``drift_events``.

    ``weights``: (provider, model) -> (input, output) list price per token (to weigh tokens by what they cost);
    ``previous``: the day before's events, key -> (onset day, sign), to carry an ongoing change's onset;
    ``unattributed``: the day's fct_reconciliation rows with unattributed spend, to name owners.
    """
    ctx = Context(h, day, cfg, weights)
    org = ctx.cost_base(Subject("total"))
    org_spend = org.value if org else (h.agg(Subject("total"), day) or Agg()).spend
    min_effect = max(cfg.min_effect_usd, cfg.min_effect_share * org_spend)
    rows = []
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
                    metric_history(h, subject, name, day, cfg), day, False, cfg.baseline_days, cfg.min_history_days)
            if base is None or observed is None:
                continue
            se = sampling_error(name, agg, base.value)
            if not unusual(metric, observed, base, cfg.z, min_effect, se):
                continue
            effect = effect_of(name, observed, base.value, agg, ctx.story(subject))
            if abs(effect) >= min_effect:
                z = float((observed - base.value) / max(spread_of(metric, base), se))
                rows.append(_row(Finding(subject, name, base, observed, effect, z), day, org_spend, ctx,
                                 previous or {}, unattributed or []))
    return rows


def _row(f: Finding, day: date, org_spend: Decimal, ctx: Context, previous: dict,
         unattributed: list[dict]) -> dict[str, Any]:
    s, metric = f.subject, METRICS[f.metric]
    story = ctx.story(s)
    delta = f.observed - f.base.value
    sign = 1 if delta > 0 else -1
    onset, was_sign = previous.get((s.scope, s.label, f.metric), (day, sign))
    onset = onset if was_sign == sign else day
    stake = abs(f.effect_usd) / org_spend if org_spend > 0 else Decimal(1)
    effects = story.effects if story else None
    text, driver = explain(f, story, ctx, unattributed)
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
        "cost_baseline_usd": story.baseline.quantize(Q) if story else None,
        "cost_observed_usd": story.observed.quantize(Q) if story else None,
        "volume_effect_usd": effects.volume if effects else None,
        "tokens_effect_usd": effects.tokens if effects else None,
        "price_effect_usd": effects.price if effects else None,
        "mix_effect_usd": effects.mix if effects else None,
        "unattributed_effect_usd": effects.other if effects else None,
        "new_prompt_version": story.prompt[0] if story and story.prompt else None,
        "new_prompt_since": story.prompt[1] if story and story.prompt else None,
        "new_model": story.new_model[0] if story and story.new_model else None,
        "driver": driver,
        "explanation": text,
    }
