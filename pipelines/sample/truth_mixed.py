"""The ground truth only the mixed organisation has: per app, per usage fact counted once, per log record.

Everything is computed from the generator's own numbers (the ledger the exports booked, the
billed usage they were written from, the ids the log writers drew), never from the pipeline.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from pipelines.sample.frames import TOKEN_COLUMNS
from pipelines.sample.exports import Ledger
from pipelines.sample.exports_cloud import AZURE_RATE
from pipelines.sample.mixed_logs import PROXY_JITTER_MS, PROXY_ONLY
from pipelines.sample.org import Feature
from pipelines.sample.orgs import ALL_MODELS, ALL_OWNERS
from pipelines.sample.spec import Gap
from pipelines.sample.truth import GAP_OWNERS

ZERO = Decimal(0)
# The usage fields each provider's own data reports (what a usage table can be checked on).
USAGE_REPORTED = {
    "openai": ["input_tokens", "cached_input_tokens", "output_tokens", "requests"],
    "anthropic": ["input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                  "output_tokens"],
    "google": ["input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens"],
    "azure": ["input_tokens", "cached_input_tokens", "output_tokens"],
    "aws": ["input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "requests"],
}
RECORD_RULES = [
    "A canonical line (app-logs/calls-D.jsonl) is one call: its call_id.",
    "A Langfuse observation is one call: its id. A Bedrock invocation log line is provider usage, not a call record.",
    "An OTel span and a LiteLLM row with the same gen_ai.response.id / request_id are one call (shared_id_pairs).",
    "An OTel span and a LiteLLM row listed together in merge_pairs are one call (idless_pairs): no shared id.",
    "Every other span or LiteLLM row is a call seen by that source alone (otel_only, litellm_only).",
    "So logical_calls = canonical + langfuse_observations + otel_spans + litellm_rows"
    " - shared_id_pairs - idless_pairs.",
    "decoy_pairs are two different calls each (four records), alike in model and tokens, close in time.",
]
CHANNELS = {
    "usage": {
        "openai": ["openai/usage-completions-D.json, openai/usage-embeddings-D.json (Usage API pages)",
                   "openai/dashboard/*_usage_*.csv (dashboard exports, grouped by project, model, batch)"],
        "aws": ["aws/cur/data/BILLING_PERIOD=*/…csv (CUR 2.0)", "aws/bedrock-invocations/invocations-D.jsonl"],
        "anthropic": ["anthropic/usage-report-D.json"], "google": ["google/billing-D.jsonl"],
        "azure": ["azure/cost-details-D.csv"],
    },
    "cost": {
        "openai": ["openai/costs-D.json (Costs API pages; one day restated, see restatement)",
                   "openai/dashboard/cost_*.csv (dashboard export)"],
        "anthropic": ["anthropic/cost-report-D.json"], "google": ["google/billing-D.jsonl (net = cost + credits)"],
        "azure": ["azure/cost-details-D.csv (EUR; costInUsd)"], "aws": ["aws/cur/data/BILLING_PERIOD=*/…csv"],
    },
}


def app_billed(ledger: Ledger, gaps: list[Gap], features: tuple[Feature, ...]) -> dict[str, dict[str, Any]]:
    """Per app, what a perfect attribution gives it (USD): the bill's own amounts for the app's owners'
    usage (net of GCP credits), minus the planted unlogged usage billed to those owners."""
    apps = list(dict.fromkeys(f.app for f in features))
    out = {a: {"total_usd": ZERO, "by_provider": {}, "by_model": {}} for a in apps}

    def book(provider: str, model: str, owner_key: str, amount: Decimal) -> None:
        app = owner_key.split("/")[0]
        if app not in out:
            return  # owners outside any app (nightly batch, playground): all of it unlogged
        entry = out[app]
        entry["total_usd"] += amount
        entry["by_provider"][provider] = entry["by_provider"].get(provider, ZERO) + amount
        entry["by_model"][f"{provider}/{model}"] = entry["by_model"].get(f"{provider}/{model}", ZERO) + amount

    for (provider, model, owner), amount in sorted(ledger.by_owner.items()):
        book(provider, model, ALL_OWNERS[owner].key, amount)
    for (provider, model, owner), amount in sorted(ledger.credits.items()):
        book(provider, model, ALL_OWNERS[owner].key, amount)
    for g in gaps:
        book(g.provider, g.model, GAP_OWNERS[g.kind], -g.amount_usd)
    return out


def usage_truth(billed: pl.DataFrame) -> list[dict[str, Any]]:
    """Per (provider, model): the tokens and requests the providers billed, each counted once."""
    sums = billed.group_by("model").agg(pl.col("requests", *TOKEN_COLUMNS).sum())
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sums.iter_rows(named=True):
        m = ALL_MODELS[r["model"]]
        row = rows.setdefault((m.provider, m.name), {"provider": m.provider, "model": m.name,
                                                     **{c: 0 for c in ("requests", *TOKEN_COLUMNS)}})
        for c in ("requests", *TOKEN_COLUMNS):
            row[c] += int(r[c])
    return [rows[k] for k in sorted(rows)]


def mixed_summary(days: list[dict], merge_pairs: list[dict], decoys: list[dict], restatement: dict) -> dict:
    mean, sd, lo, hi = PROXY_JITTER_MS
    return {
        "record_rules": RECORD_RULES,
        "usage_reported": USAGE_REPORTED,
        "channels": CHANNELS,
        "restatement": restatement,
        "azure": {"billing_currency": "EUR", "exchange_rate_pricing_to_billing": format(AZURE_RATE, "f")},
        "litellm_start_minus_span_start_ms": {"mean": mean, "sd": sd, "min": lo, "max": hi},
        "azure_proxy_only_share": PROXY_ONLY,
        "days": days,
        "merge_pairs": merge_pairs,
        "decoy_pairs": decoys,
    }
