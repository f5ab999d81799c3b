"""Savings in the digest: what caching and batching already saved, and the largest what-if opportunities.

- cache: prompt-cache reads at the full input price minus what they cost, plus app response-cache hits
  (``mart_unit_economics.cache_savings_usd``);
- batch: the batch calls' tokens at the model's standard list price minus their batch list price;
- opportunities: ``mart_whatif`` — features mostly on frontier-tier models re-priced on a mid/small model,
  and any feature re-priced through the batch API, at list prices (quality is not assessed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from pipelines.pricing.prices import price_table
from pipelines.reporting.sections import query, rows
from pipelines.settings import Settings

MTOK = Decimal(1_000_000)
TOKEN_PRICES = {
    "uncached_input_tokens": "input_usd_per_mtok",
    "cached_input_tokens": "cached_input_usd_per_mtok",
    "cache_write_5m_tokens": "cache_write_5m_usd_per_mtok",
    "cache_write_1h_tokens": "cache_write_1h_usd_per_mtok",
    "output_tokens": "output_usd_per_mtok",
}


def cache_savings(con: duckdb.DuckDBPyConnection, p: dict[str, Any]) -> Decimal:
    return rows(con, query("digest_cache_savings"), p)[0]["saved"]


def batch_saving(usage: list[dict[str, Any]], standard: dict[tuple, dict[str, Decimal]]) -> Decimal:
    """Standard-price cost of the batch usage minus its batch list cost (pure: prices are passed in)."""
    saved = Decimal(0)
    for u in usage:
        prices = standard.get((u["provider"], u["model"], u["day"]))
        if not prices or any(prices.get(c) is None for c in TOKEN_PRICES.values()):
            continue
        full = sum((Decimal(int(u[t])) * prices[c] for t, c in TOKEN_PRICES.items()), Decimal(0)) / MTOK
        saved += full - (u["list_cost_usd"] or 0)
    return saved


def batch_savings(con: duckdb.DuckDBPyConnection, p: dict[str, Any], settings: Settings) -> Decimal:
    usage = rows(con, query("digest_batch_usage"), p)
    if not usage:
        return Decimal(0)
    pairs = pl.DataFrame([(u["provider"], u["model"]) for u in usage], schema=["provider", "model"], orient="row")
    days = sorted({u["day"] for u in usage})
    table = price_table(pairs, days, settings).filter(~pl.col("is_batch"))
    standard = {(r["provider"], r["model"], r["day"]): r for r in table.iter_rows(named=True)}
    return batch_saving(usage, standard)


def opportunities(con: duckdb.DuckDBPyConnection, p: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    found = rows(con, query("digest_opportunities"), p)
    best: dict[tuple, dict[str, Any]] = {}
    for r in found:
        kind = "batch" if r["scenario"] == "batch" else "model"
        key = (r["app"], r["feature"], kind)
        if key not in best:
            r["target"] = "the batch API" if kind == "batch" else r["scenario"].removeprefix("model:")
            r["saving_pct"] = float(r["saving_usd"] / r["current_usd"] * 100) if r["current_usd"] else None
            best[key] = r
    return sorted(best.values(), key=lambda r: -r["saving_usd"])[:limit]
