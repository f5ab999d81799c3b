"""List prices for the sample, straight from genai-prices' ``calc_price`` (not ``pipelines.pricing``).

Long-context tiers are a per-request cliff (a request over 200k input tokens pays
the tier price on all its tokens), so an aggregate of many small requests must not
be priced as one big request. The per-token price of each token kind is therefore
taken from ``calc_price`` on a request of the right size (1 token, or 1M tokens for
the long-context tier), and an aggregate costs the sum of its token kinds times those
prices: exact ``Decimal`` arithmetic, identical to pricing every request alone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal
from functools import lru_cache

from genai_prices import Usage, calc_price

KINDS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")


@lru_cache(maxsize=1024)
def unit_prices(provider: str, model: str, day: date, is_batch: bool, long_context: bool = False) -> dict[str, Decimal]:
    """USD per token of each kind (uncached input, cache read, 5m/1h cache write, output)."""
    when = datetime.combine(day, time(12), tzinfo=timezone.utc)
    context = {"processing": "batch"} if is_batch else None
    base = 1_000_000 if long_context else 1

    def price(**usage: int) -> Decimal:
        return calc_price(Usage(**usage), model, provider_id=provider, genai_request_timestamp=when,
                          price_context=context).total_price

    uncached = price(input_tokens=base)
    return {
        "input": uncached / base,
        "cache_read": price(input_tokens=base, cache_read_tokens=base) / base,
        "cache_write_5m": price(input_tokens=base, cache_write_tokens=base) / base,
        "cache_write_1h": price(input_tokens=base, cache_write_tokens=base, cache_write_1h_tokens=base) / base,
        "output": (price(input_tokens=base, output_tokens=base) - uncached) / base,
    }


def token_kinds(input_tokens: int, cached: int, cache_write: int, cache_write_1h: int, output: int) -> dict[str, int]:
    """Split all-inclusive counts (the contract's) into disjoint kinds."""
    return {
        "input": int(input_tokens) - int(cached) - int(cache_write),
        "cache_read": int(cached),
        "cache_write_5m": int(cache_write) - int(cache_write_1h),
        "cache_write_1h": int(cache_write_1h),
        "output": int(output),
    }


def kind_costs(provider: str, model: str, day: date, is_batch: bool, long_context: bool,
               kinds: dict[str, int]) -> dict[str, Decimal]:
    prices = unit_prices(provider, model, day, is_batch, long_context)
    return {k: prices[k] * kinds[k] for k in KINDS}


def list_cost(provider: str, model: str, day: date, is_batch: bool, long_context: bool,
              input_tokens: int, cached: int, cache_write: int, cache_write_1h: int, output: int) -> Decimal:
    kinds = token_kinds(input_tokens, cached, cache_write, cache_write_1h, output)
    return sum(kind_costs(provider, model, day, is_batch, long_context, kinds).values(), Decimal(0))
