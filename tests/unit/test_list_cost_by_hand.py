"""The list-cost formula of the SQL models (int_calls_priced, int_provider_usage_priced) against a price table
written by hand, so every term is checked on its own: uncached input, cache reads, 5-minute and 1-hour cache
writes, output with its reasoning, batch, the long-context tier, unbilled calls and the cache saving.
(tests/assets/test_reconciliation_by_hand.py checks the same on genai-prices' real prices, end to end.)

Prices, USD per million tokens (model "m"):
                standard   batch   long context (a request over 200,000 input tokens)
  input            3        1.5      6
  cache read       0.30     0.15     0.60
  5-minute write   3.75     1.875    7.50
  1-hour write     6        3        12
  output          15        7.5      22.50
"""

from datetime import date
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from pipelines.settings import load_settings
from pipelines.warehouse.endpoints import endpoint_tables
from pipelines.warehouse.models import create_macros

from pipelines.warehouse.models import model_sql

D = Decimal
DAY = date(2026, 11, 10)
# call: (is_batch, input, cache reads, cache writes, of them 1h, output, of it reasoning, response-cache hit, status)
CALLS = {
    "plain": (False, 100_000, 0, 0, 0, 20_000, 0, False, "ok"),
    "cache": (False, 100_000, 40_000, 30_000, 10_000, 10_000, 0, False, "ok"),
    "think": (False, 100_000, 0, 0, 0, 50_000, 30_000, False, "ok"),
    "batch": (True, 150_000, 0, 0, 0, 10_000, 0, False, "ok"),
    "long": (False, 300_000, 0, 0, 0, 10_000, 0, False, "ok"),
    "app_cache_hit": (False, 100_000, 0, 0, 0, 10_000, 0, True, "ok"),
    "throttled": (False, 100_000, 0, 0, 0, 0, 0, False, "rate_limited"),
}
FIELDS = ("is_batch", "input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
          "output_tokens", "reasoning_tokens", "response_cache_hit", "status")
KEYS = ("input", "cached_input", "cache_write_5m", "cache_write_1h", "output")
# (is_batch, standard prices, long-context prices), in the order of KEYS
PRICES = [(False, ("3", "0.30", "3.75", "6", "15"), ("6", "0.60", "7.50", "12", "22.50")),
          (True, ("1.5", "0.15", "1.875", "3", "7.5"), ("3", "0.30", "3.75", "6", "11.25"))]


@pytest.fixture
def con(tmp_path):
    base = {"provider": "openai", "day": DAY, "project_id": "p", "workspace_id": None}
    calls = [{"call_id": k, "model": "m", **base, **dict(zip(FIELDS, v))} for k, v in CALLS.items()]
    calls.append({"call_id": "unknown", "model": "no-price", **base, **dict(zip(FIELDS, CALLS["plain"]))})
    int_calls_merged = pl.DataFrame(calls).with_columns(
        pl.lit(True).alias("model_served"), pl.col("model").alias("model_raw"))  # noqa: F841 - read by DuckDB
    dim_prices = pl.DataFrame(  # noqa: F841
        [{"provider": "openai", "model": "m", "day": DAY, "is_batch": batch, "price_source": "genai-prices",
          "long_context_threshold": 200_000, **{f"{k}_usd_per_mtok": D(v) for k, v in zip(KEYS, standard)},
          **{f"lc_{k}_usd_per_mtok": D(v) for k, v in zip(KEYS, long)}} for batch, standard, long in PRICES],
    ).with_columns(pl.col(f"^.*_usd_per_mtok$").cast(pl.Decimal(38, 12)))
    dim_model_tiers = pl.DataFrame({"provider": ["openai"], "model": ["m"], "model_tier": ["frontier"]})  # noqa: F841
    con = duckdb.connect()
    for name in ("int_calls_merged", "dim_prices", "dim_model_tiers"):
        con.execute(f"create table {name} as select * from {name}")
    # What else the models read, empty: no model aliases, no serving endpoints (their own tests cover them).
    dim_endpoints, dim_endpoint_resources, dim_endpoint_keys = endpoint_tables(load_settings(home=tmp_path))  # noqa: F841
    for name in ("dim_endpoints", "dim_endpoint_resources", "dim_endpoint_keys"):
        con.execute(f"create table {name} as select * from {name}")
    con.execute("create table int_call_model_aliases (provider varchar, alias varchar, model varchar, evidence varchar)")
    create_macros(con)
    yield con
    con.close()


def test_each_term_at_its_own_rate(con):
    priced = {r[0]: r[1:] for r in con.execute(
        f"select call_id, list_cost_usd, cache_savings_usd, is_long_context, is_priced from ({model_sql('int_calls_priced')})"
    ).fetchall()}
    assert {k: v[0] for k, v in priced.items()} == {
        "plain": D("0.6"),  # 100k × 3 + 20k × 15 = 0.30 + 0.30
        # uncached 100k − 40k − 30k = 30k × 3 = 0.09; reads 40k × 0.30 = 0.012; 5-minute writes 30k − 10k = 20k
        # × 3.75 = 0.075; 1-hour writes 10k × 6 = 0.06; output 10k × 15 = 0.15: 0.387
        "cache": D("0.387"),
        "think": D("1.05"),  # 100k × 3 + 50k × 15 = 0.30 + 0.75: the 30k reasoning tokens are in the 50k output
        "batch": D("0.3"),  # 150k × 1.5 + 10k × 7.5 = 0.225 + 0.075
        "long": D("2.025"),  # over 200k input: 300k × 6 + 10k × 22.50 = 1.80 + 0.225
        "app_cache_hit": D("0"),  # served from the app's own cache: the provider billed nothing
        "throttled": D("0"),  # rate-limited: never billed
        "unknown": None,  # no price: unknown, never $0
    }
    assert priced["cache"][1] == D("0.108")  # the cache saving: 40k reads × (3 − 0.30)
    assert priced["long"][2] and not priced["plain"][2]
    assert priced["unknown"][3] is False and priced["plain"][3] is True


def test_provider_usage_is_priced_like_the_calls(con):
    con.execute("create table stg_provider_usage as select *, false as is_long_context from int_calls_merged "
                "where call_id in ('plain', 'cache')")
    priced = dict(con.execute(f"select call_id, list_cost_usd from ({model_sql('int_provider_usage_priced')})").fetchall())
    assert priced == {"plain": D("0.6"), "cache": D("0.387")}  # the same terms as the calls above
