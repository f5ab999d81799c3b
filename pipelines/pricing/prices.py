"""List prices per (provider, model, day, batch), from genai-prices, with overrides from tokenbooks.yaml.

The result is a small table the SQL models join to: per-million-token prices for
uncached input, cache reads, 5-minute and 1-hour cache writes and output, plus
the long-context tier (threshold on a request's total input tokens, and the tier's
prices). Prices are taken at each day, so re-building a day re-prices it with the
library's price for that date. A model no source knows gets ``price_source =
'unknown'`` and null prices: it is never silently priced at zero.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

import polars as pl
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import TieredPrices

from pipelines.settings import Settings

MONEY = pl.Decimal(38, 12)
# Price columns: our name -> genai-prices ModelPrice attribute, and what to fall back on when absent.
PRICE_KEYS = {
    "input": ("input_mtok", None),
    "cached_input": ("cache_read_mtok", "input"),
    "cache_write_5m": ("cache_write_mtok", "input"),
    "cache_write_1h": ("cache_write_1h_mtok", "cache_write_5m"),
    "output": ("output_mtok", None),
}
PRICE_COLUMNS = [f"{k}_usd_per_mtok" for k in PRICE_KEYS] + [f"lc_{k}_usd_per_mtok" for k in PRICE_KEYS]
SCHEMA = {
    "provider": pl.String,
    "model": pl.String,
    "day": pl.Date,
    "is_batch": pl.Boolean,
    "price_source": pl.String,
    "priced_as": pl.String,
    "long_context_threshold": pl.Int64,
    **{c: MONEY for c in PRICE_COLUMNS},
}


def price_table(
    pairs: pl.DataFrame, days: list[date], settings: Settings, overrides: list[dict[str, Any]] | None = None
) -> pl.DataFrame:
    """Prices for every (provider, model) in ``pairs`` on every day in ``days``, batch and not: the list prices
    with tokenbooks.yaml's ``price_overrides`` applied, or with ``overrides`` instead (``[]``: the price book's own)."""
    overrides = settings.price_overrides if overrides is None else overrides
    rows = []
    for provider, model in pairs.select("provider", "model").unique().iter_rows():
        for day in days:
            for is_batch in (False, True):
                rows.append(_price_row(provider, model, day, is_batch, overrides))
    return pl.DataFrame(rows, schema=SCHEMA, orient="row") if rows else pl.DataFrame(schema=SCHEMA)


def effective_prices(provider: str, model: str, day: date, is_batch: bool, overrides: list[dict[str, Any]]):
    """(source, genai model id, long-context threshold, {price key: USD per MTok}): list prices with the
    ``price_overrides`` of tokenbooks.yaml applied; source ``unknown`` (and no prices) when nothing is known."""
    override = _override_for(provider, model, day, overrides)
    # A configured batch discount applies to the standard price, not on top of the library's batch price.
    own_batch = is_batch and override is not None and "batch_discount_pct" in override
    base = list_prices(provider, model, day, is_batch and not own_batch)
    source, priced_as, threshold, prices = ("unknown", None, None, {}) if base is None else base
    if override is not None:
        prices, source = _apply_override(prices, override, is_batch), "override"
        if not prices.get("input"):
            source = "unknown"
    return source, priced_as, threshold, prices


def _price_row(provider: str, model: str, day: date, is_batch: bool, overrides: list[dict[str, Any]]) -> tuple:
    source, priced_as, threshold, prices = effective_prices(provider, model, day, is_batch, overrides)
    values = []
    for tier in ("", "lc_"):
        for key in PRICE_KEYS:
            values.append(prices.get(tier + key) if tier == "" or threshold is not None else None)
    return (provider, model, day, is_batch, source, priced_as, threshold, *values)


@lru_cache(maxsize=4096)
def list_prices(provider: str, model: str, day: date, is_batch: bool):
    """(source, genai model id, long-context threshold, {price key: USD per MTok}) or None."""
    snapshot = get_snapshot()
    when = datetime.combine(day, time(12), tzinfo=timezone.utc)
    found = None
    # Bedrock's price ids keep the vendor prefix our canonical names drop (amazon.titan-embed-text-v2:0).
    names = [model] + ([f"{vendor}.{model}" for vendor in BEDROCK_VENDORS] if provider == "aws" else [])
    for name, provider_id in [(n, p) for p in (provider, None) for n in names]:
        try:
            found = snapshot.find_provider_model(name, None, provider_id, None)
            break
        except LookupError:
            continue
    if found is None:
        return None
    prov, info = found
    mp = info.get_prices(when, BATCH if is_batch else None)
    scale = _batch_scale(prov.id, info, when) if is_batch else None
    prices: dict[str, Decimal] = {}
    threshold = None
    for key, (attr, fallback) in PRICE_KEYS.items():
        value = getattr(mp, attr, None)
        if value is None:
            prices[key] = prices.get(fallback) if fallback else None
            prices["lc_" + key] = prices.get("lc_" + fallback) if fallback else None
            continue
        if isinstance(value, TieredPrices):
            prices[key] = value.base
            prices["lc_" + key] = value.tiers[0].price if value.tiers else value.base
            if value.tiers:
                threshold = value.tiers[0].start
        else:
            prices[key] = prices["lc_" + key] = value
    if prices.get("input") is None and prices.get("output") is None:
        return None
    if prices.get("output") is None:  # embedding models: input only
        prices["output"] = prices["lc_output"] = Decimal(0)
    if scale is not None:
        prices = {k: (v * scale[k.removeprefix("lc_")] if v is not None else None) for k, v in prices.items()}
    return "genai-prices", f"{prov.id}/{info.id}", threshold, prices


BEDROCK_VENDORS = ("amazon", "anthropic", "meta", "mistral", "cohere", "ai21", "deepseek", "openai", "qwen", "writer")
BATCH = {"processing": "batch"}
# Batch APIs bill half the standard price (OpenAI, Anthropic, Gemini/Vertex, Bedrock, Azure global batch).
# Used only for a day the price library has no batch price for; tokenbooks.yaml's `batch_discount_pct` wins.
DEFAULT_BATCH_DISCOUNT = {"openai": Decimal("0.5"), "anthropic": Decimal("0.5"), "google": Decimal("0.5"),
                          "aws": Decimal("0.5"), "azure": Decimal("0.5")}


def _batch_scale(provider_id: str, info, when: datetime) -> dict[str, Decimal] | None:
    """Per price key, what to multiply the day's standard price by for batch usage, when the library has no
    batch price on that day (None when it has, or when the provider has no batch discount).

    genai-prices dates its batch prices from when it started tracking them; batch usage before that
    date was discounted all the same. The model's own batch/standard ratios (at the first date the
    library knows them) are used, else the provider's usual batch discount; never a batch price of $0.
    """
    variants = [v for v in (info.price_variants or ()) if v.when == BATCH]
    if any(v.constraint is None or v.constraint.active(when) for v in variants):
        return None  # the library prices batch on this day
    for v in variants:
        start = getattr(v.constraint, "start_date", None)
        if start is None:
            continue
        at = datetime.combine(start, time(12), tzinfo=timezone.utc)
        standard, batch = info.get_prices(at), info.get_prices(at, BATCH)
        ratios = {}
        for key, (attr, fallback) in PRICE_KEYS.items():
            s, b = _base(getattr(standard, attr, None)), _base(getattr(batch, attr, None))
            ratios[key] = b / s if s and b is not None and 0 < b <= s else ratios.get(fallback or "input")
        if ratios.get("input") is not None and ratios["input"] < 1:
            return {k: r if r is not None else ratios["input"] for k, r in ratios.items()}
    default = DEFAULT_BATCH_DISCOUNT.get(provider_id)
    return {k: default for k in PRICE_KEYS} if default is not None else None


def _base(price) -> Decimal | None:
    return price.base if isinstance(price, TieredPrices) else price


def _override_for(provider: str, model: str, day: date, overrides: list[dict[str, Any]]) -> dict[str, Any] | None:
    chosen = None
    for o in overrides:
        if o.get("provider", provider) != provider or o.get("model") != model:
            continue
        start = o.get("from")
        end = o.get("to")
        if start and day < _as_date(start) or end and day > _as_date(end):
            continue
        chosen = o  # later entries win
    return chosen


def _apply_override(prices: dict[str, Decimal | None], o: dict[str, Any], is_batch: bool) -> dict[str, Decimal | None]:
    out = dict(prices)
    for key in PRICE_KEYS:
        if f"{key}_usd_per_mtok" in o:
            out[key] = out["lc_" + key] = Decimal(str(o[f"{key}_usd_per_mtok"]))
    for key, (_, fallback) in PRICE_KEYS.items():
        if out.get(key) is None and fallback:
            out[key] = out["lc_" + key] = out.get(fallback)
    if is_batch and "batch_discount_pct" in o:
        factor = 1 - Decimal(str(o["batch_discount_pct"])) / 100
        out = {k: (v * factor if v is not None else None) for k, v in out.items()}
    if "discount_pct" in o:
        factor = 1 - Decimal(str(o["discount_pct"])) / 100
        out = {k: (v * factor if v is not None else None) for k, v in out.items()}
    return out


def _as_date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))
