"""OpenRouter activity export (``GET /api/v1/activity``).

The response is ``{"data": [item]}`` with one item per day × model × endpoint: ``date``
(``YYYY-MM-DD``, UTC), ``model`` (a slug like ``openai/gpt-4.1``), ``model_permaslug``,
``provider_name``, ``usage`` (USD spent in OpenRouter credits), ``byok_usage_inference`` (spent
on the user's own provider key: billed by that provider, so not part of this bill),
``requests``, ``prompt_tokens``, ``completion_tokens`` and ``reasoning_tokens`` (part of the
completion). The OpenRouter SDKs write the same items in camelCase (``promptTokens``,
``completionTokens``, ``reasoningTokens``, ``modelPermaslug``, ``providerName``); both spellings are
read. A file is one response, an array of responses, or JSON lines of items or responses. Lands as
costs (``usage``) with the token usage beside them.

The items name no owner. The endpoint filters by key (``api_key_hash``) or org member (``user_id``);
an export pulled per key or member may carry that filter on each item (``api_key_hash`` /
``apiKeyHash``, ``user_id`` / ``userId``), and it becomes the owner (``key:<hash>``, ``user:<id>``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.db import connect
from pipelines.ingest.formats.base import InputFormat, ParseContext, Parsed, Sample, record_count, split_errors
from pipelines.ingest.formats.fields import Field, money_as_text
from pipelines.ingest.formats.billing import (
    COST_DIMS,
    COST_SUMS,
    MONEY,
    USAGE_DIMS,
    USAGE_SUMS,
    nz,
    owner,
    to_key_grain,
)
from pipelines.ingest.formats.readers import (
    json_fields,
    json_head,
)

PROVIDER = "openrouter"
ITEMS_SQL = f"""
    with docs as (
        select row_number() over () as _doc, {money_as_text("json::VARCHAR")} as doc
        from read_json_objects($path, format = 'auto', maximum_object_size = 1073741824)
    ),
    items as (
        select _doc, unnest(json_extract(doc, '$.data[*]')) as item,
               generate_subscripts(json_extract(doc, '$.data[*]'), 1) as _i
        from docs where json_type(doc, '$.data') = 'ARRAY'
        union all
        select _doc, doc as item, 1 as _i from docs where json_type(doc, '$.data') is distinct from 'ARRAY'
    )
    select row_number() over (order by _doc, _i) as _record, item::VARCHAR as raw from items
"""
# (column, the API's snake_case key, the SDKs' camelCase key); a column is whichever the item has.
SPELLINGS = [
    ("prompt_tokens", "prompt_tokens", "promptTokens"),
    ("completion_tokens", "completion_tokens", "completionTokens"),
    ("reasoning_tokens", "reasoning_tokens", "reasoningTokens"),
    ("api_key_hash", "api_key_hash", "apiKeyHash"),
    ("member_id", "user_id", "userId"),
]
_COUNTS = {"prompt_tokens", "completion_tokens", "reasoning_tokens"}
FIELDS = [
    Field("day", "$.date", "DATE", required=True),
    Field("model", "$.model", required=True),
    Field("usage", "$.usage", MONEY, required=True),
    Field("requests", "$.requests", "BIGINT"),
] + [
    Field(name + suffix, "$." + key, "BIGINT" if name in _COUNTS else "VARCHAR")
    for name, snake, camel in SPELLINGS
    for suffix, key in (("", snake), ("_camel", camel))
]
_KEYS = [{"model", "usage", "prompt_tokens", "completion_tokens"}, {"model", "usage", "promptTokens", "completionTokens"}]


class OpenRouterActivity(InputFormat):
    name = "openrouter_activity"
    table = "provider_costs"
    description = "OpenRouter activity export (/api/v1/activity)"
    channel, channel_rank, complete = "openrouter_activity", 1, True

    def sniff(self, sample: Sample) -> bool:
        first = json_head(sample)
        if isinstance(first, list) and first:
            first = first[0]
        if isinstance(first, dict) and isinstance(first.get("data"), list) and first["data"]:
            first = first["data"][0]
        return isinstance(first, dict) and "date" in first and any(keys <= set(first) for keys in _KEYS)

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        con = connect()
        try:
            good, quarantine = split_errors(json_fields(con, ITEMS_SQL, FIELDS, {"path": str(path)}))
        finally:
            con.close()
        good = good.with_columns(pl.coalesce(name, name + "_camel").alias(name) for name, _, _ in SPELLINGS)
        model_raw = pl.col("model")
        key, member = pl.col("api_key_hash"), pl.col("member_id")
        rows = good.with_columns(
            pl.lit(PROVIDER).alias("provider"),
            model_raw.alias("model_raw"),
            pl.lit(False).alias("is_batch"),
            pl.lit(None, pl.String).alias("project_id"),
            pl.lit(None, pl.String).alias("workspace_id"),
            key.alias("api_key_id"),
            owner(("key", key), ("user", member)),
        )
        costs = to_key_grain(
            rows.with_columns(
                pl.lit("tokens").alias("cost_type"),
                pl.lit(None, pl.String).alias("token_type"),
                model_raw.alias("line_item"),
                pl.col("usage").alias("billed_amount"),
                pl.lit("USD").alias("currency"),
                pl.col("usage").alias("billed_cost_usd"),
            ),
            COST_DIMS,
            COST_SUMS,
        )
        usage = to_key_grain(
            rows.with_columns(
                nz("prompt_tokens").alias("input_tokens"),
                pl.lit(0, pl.Int64).alias("cached_input_tokens"),
                pl.lit(0, pl.Int64).alias("cache_write_tokens"),
                pl.lit(0, pl.Int64).alias("cache_write_1h_tokens"),
                nz("completion_tokens").alias("output_tokens"),
                nz("reasoning_tokens").alias("reasoning_tokens"),
                pl.lit(None, pl.String).alias("service_tier"),
            ),
            USAGE_DIMS,
            USAGE_SUMS,
        )
        return Parsed(rows=costs, quarantine=quarantine, records_in=record_count(good) + quarantine.height,
                      extra={"provider_usage": usage})
