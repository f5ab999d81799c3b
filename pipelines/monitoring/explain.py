"""Why a subject's spend moved: its decomposition against the baseline, and the causes that coincide.

The baseline composition is the trailing 14 days pooled (calls, tokens and spend per model), scaled to the
robust spend baseline, so the effects add up to ``observed - baseline`` exactly. Causes named when present:
a prompt version first seen in the last 14 days that now carries >= 25 % of the feature's calls, a model
that went from < 5 % to >= 20 % of the calls, a cache hit rate down >= 10 points, and for unattributed spend
the owners the provider data names. The words are in ``words.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from pipelines.monitoring.decompose import Effects, Mix, decompose, frac
from pipelines.monitoring.drift_config import DriftConfig
from pipelines.monitoring.series import Agg, History, Subject

DEFAULT_WEIGHTS = (Decimal(1), Decimal(4))  # input : output, for a model with no known list price


@dataclass
class SpendChange:
    baseline: Decimal
    observed: Decimal
    effects: Effects
    input_value_share: Decimal  # of today's price-weighted tokens, the input part
    calls: tuple[Decimal, int]  # baseline-level calls, today's calls
    tokens_per_call: tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]]  # (input, output) before, after
    prompt: tuple[str, date] | None = None
    new_model: tuple[str, Decimal, Decimal, date] | None = None  # label, share before, share after, since
    cache: tuple[Decimal, Decimal] | None = None  # hit rate before, after (when it dropped)


def _weighted(models: dict, weights: dict) -> Mix:
    mix = Mix()
    for key, m in models.items():
        w_in, w_out = weights.get(key) or DEFAULT_WEIGHTS
        mix.calls[key] = Fraction(m.requests)
        mix.tokens[key] = frac(m.input_tokens * w_in + m.output_tokens * w_out)
        mix.cost[key] = frac(m.cost)
    return mix


def _pool(aggs: list[Agg]) -> Agg:
    pooled = Agg()
    for a in aggs:
        pooled.requests += a.requests
        pooled.cache_hits += a.cache_hits
        pooled.input_tokens += a.input_tokens
        pooled.output_tokens += a.output_tokens
        pooled.cost += a.cost
        pooled.unattributed += a.unattributed
        for k, m in a.models.items():
            p = pooled.models.setdefault(k, type(m)())
            p.requests += m.requests
            p.input_tokens += m.input_tokens
            p.output_tokens += m.output_tokens
            p.cost += m.cost
    return pooled


def story_for(h: History, subject: Subject, day: date, base: Decimal, agg: Agg, weights: dict,
              cfg: DriftConfig) -> SpendChange:
    series = h.series.get(subject, {})
    window = [day - timedelta(days=i) for i in range(1, cfg.baseline_days + 1)]
    pooled = _pool([series[d] for d in window if d in series])
    before = _weighted(pooled.models, weights)
    before.other = frac(pooled.unattributed)
    total = before.total
    scale = frac(base) / total if total else Fraction(0)
    after = _weighted(agg.models, weights)
    after.other = frac(agg.unattributed)
    effects = decompose(before.scaled(scale), after)
    in_value = sum((m.input_tokens * (weights.get(k) or DEFAULT_WEIGHTS)[0] for k, m in agg.models.items()), Decimal(0))
    all_value = in_value + sum(
        (m.output_tokens * (weights.get(k) or DEFAULT_WEIGHTS)[1] for k, m in agg.models.items()), Decimal(0))
    n0 = Decimal(pooled.requests)
    story = SpendChange(
        baseline=base,
        observed=agg.spend,
        effects=effects,
        input_value_share=in_value / all_value if all_value else Decimal("0.5"),
        calls=(n0 * Decimal(scale.numerator) / Decimal(scale.denominator), agg.requests),
        tokens_per_call=(
            (pooled.input_tokens / n0, pooled.output_tokens / n0) if n0 else (Decimal(0), Decimal(0)),
            (Decimal(agg.input_tokens) / agg.requests, Decimal(agg.output_tokens) / agg.requests)
            if agg.requests else (Decimal(0), Decimal(0)),
        ),
    )
    if subject.scope == "feature":
        story.prompt = _new_prompt(h, subject, day, agg, cfg)
    story.new_model = _new_model(series, pooled, agg, window, cfg)
    if pooled.requests >= cfg.min_requests and agg.requests >= cfg.min_requests:
        r0, r1 = Decimal(pooled.cache_hits) / pooled.requests, Decimal(agg.cache_hits) / agg.requests
        if r0 - r1 >= Decimal("0.10"):
            story.cache = (r0, r1)
    return story


def _new_prompt(h: History, subject: Subject, day: date, agg: Agg, cfg: DriftConfig) -> tuple[str, date] | None:
    versions = h.prompts.get((subject.app, subject.feature), {})
    first_day = min(h.days) if h.days else day
    best = None
    for version, by_day in versions.items():
        seen = [d for d, n in by_day.items() if n > 0 and d <= day]
        if not seen or not agg.requests:
            continue
        since = min(seen)
        share = Decimal(by_day.get(day, 0)) / agg.requests
        if since > first_day and since >= day - timedelta(days=cfg.baseline_days - 1) and share >= Decimal("0.25"):
            if best is None or share > best[0]:
                best = (share, version, since)
    return (best[1], best[2]) if best else None


def _shares(a: Agg) -> dict:
    return {k: Decimal(m.requests) / a.requests for k, m in a.models.items()} if a.requests else {}


def _new_model(series: dict, pooled: Agg, agg: Agg, window: list[date], cfg: DriftConfig):
    before, now = _shares(pooled), _shares(agg)
    for key, share in sorted(now.items(), key=lambda kv: -kv[1]):
        if share >= Decimal("0.20") and before.get(key, Decimal(0)) < Decimal("0.05") and agg.requests >= cfg.min_requests:
            since = next((d for d in sorted(window) if d in series and _shares(series[d]).get(key, 0) >= Decimal("0.20")),
                         max(window) + timedelta(days=1))
            return f"{key[0]}/{key[1]}", before.get(key, Decimal(0)), share, since
    return None
