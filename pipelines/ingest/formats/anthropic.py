"""Anthropic Admin API: usage report (messages) and cost report pages.

Both are ``{"data": [bucket], "has_more", "next_page"}`` with buckets ``{"starting_at",
"ending_at", "results": [...]}`` (RFC 3339, end exclusive).

- Usage (``/v1/organizations/usage_report/messages``): ``uncached_input_tokens``,
  ``cache_read_input_tokens``, ``cache_creation.ephemeral_5m_input_tokens`` /
  ``ephemeral_1h_input_tokens``, ``output_tokens``; dimensions ``model``, ``workspace_id``,
  ``api_key_id``, ``service_tier``, ``context_window`` (null unless grouped by). No request
  counts. Total input = uncached + cache read + both cache-creation buckets.
- Cost (``/v1/organizations/cost_report``): ``amount`` is a decimal string in **cents**,
  ``currency``, ``cost_type`` (tokens, web_search, code_execution, …), ``token_type``,
  ``model``, ``service_tier`` (batch -> is_batch), ``context_window``, ``workspace_id``,
  ``description``.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pipelines.ingest.formats.base import InputFormat, ParseContext, Parsed, Sample, record_count, split_errors, utc_day
from pipelines.ingest.formats.fields import Field
from pipelines.ingest.formats.billing import (
    COST_DIMS,
    COST_SUMS,
    USAGE_DIMS,
    USAGE_SUMS,
    nz,
    owner,
    to_key_grain,
)
from pipelines.ingest.formats.readers import (
    page_records,
    pages_complete,
)

PROVIDER = "anthropic"


def long_context(window: pl.Expr) -> pl.Expr:
    """The report's ``context_window`` ("0-200k", "200k-1M") as the long-context price tier flag."""
    return window.str.strip_chars().str.to_lowercase().str.starts_with("200k").fill_null(False).alias("is_long_context")
_USAGE_KEY = re.compile(r'"uncached_input_tokens"\s*:')
_COST_KEY = re.compile(r'"(?:cost_type|amount)"\s*:')
TOKEN_TYPES = {
    "uncached_input_tokens": "input",
    "cache_read_input_tokens": "cached_input",
    "cache_creation.ephemeral_5m_input_tokens": "cache_write_5m",
    "cache_creation.ephemeral_1h_input_tokens": "cache_write_1h",
    "output_tokens": "output",
}

# The lake's cost types; others the report may add (session_usage, …) land as "other".
COST_TYPES = ["tokens", "web_search", "code_execution", "storage", "credit"]

USAGE_FIELDS = [
    Field("bucket_start", "$._bucket_start", "TIMESTAMPTZ", required=True),
    Field("model_raw", "$.model"),
    Field("uncached", "$.uncached_input_tokens", "BIGINT"),
    Field("cache_read", "$.cache_read_input_tokens", "BIGINT"),
    Field("write_5m", "$.cache_creation.ephemeral_5m_input_tokens", "BIGINT"),
    Field("write_1h", "$.cache_creation.ephemeral_1h_input_tokens", "BIGINT"),
    Field("raw_output", "$.output_tokens", "BIGINT"),
    Field("workspace_id", "$.workspace_id"),
    Field("api_key_id", "$.api_key_id"),
    Field("service_tier", "$.service_tier"),
    Field("context_window", "$.context_window"),
]
# The amount is cents as text; read it at two more decimals than the lake keeps, then scale exactly.
COST_FIELDS = [
    Field("bucket_start", "$._bucket_start", "TIMESTAMPTZ", required=True),
    Field("cents", "$.amount", "DECIMAL(38,14)", required=True),
    Field("currency", "$.currency"),
    Field("cost_type", "$.cost_type"),
    Field("token_type_raw", "$.token_type"),
    Field("model_raw", "$.model"),
    Field("service_tier", "$.service_tier"),
    Field("context_window", "$.context_window"),
    Field("workspace_id", "$.workspace_id"),
    Field("description", "$.description"),
]


def _is_report(sample: Sample) -> bool:
    head = sample.text.lstrip()
    return head.startswith(("{", "[")) and '"data"' in head and '"starting_at"' in head


class AnthropicUsageReport(InputFormat):
    name = "anthropic_usage_report"
    table = "provider_usage"
    description = "Anthropic Admin API usage report pages (/v1/organizations/usage_report/messages)"
    channel, channel_rank, complete = "anthropic_usage", 1, True

    def sniff(self, sample: Sample) -> bool:
        return _is_report(sample) and bool(_USAGE_KEY.search(sample.text))

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        good, quarantine = split_errors(page_records(path, USAGE_FIELDS))
        write_5m, write_1h, read = nz("write_5m"), nz("write_1h"), nz("cache_read")
        tier = pl.col("service_tier").str.strip_chars().str.to_lowercase()
        rows = good.with_columns(
            utc_day(pl.col("bucket_start")).alias("day"),
            pl.lit(PROVIDER).alias("provider"),
            (nz("uncached") + read + write_5m + write_1h).alias("input_tokens"),
            read.alias("cached_input_tokens"),
            (write_5m + write_1h).alias("cache_write_tokens"),
            write_1h.alias("cache_write_1h_tokens"),
            nz("raw_output").alias("output_tokens"),
            pl.lit(0, pl.Int64).alias("reasoning_tokens"),
            pl.lit(None, pl.Int64).alias("requests"),
            (tier == "batch").fill_null(False).alias("is_batch"),
            tier.alias("service_tier"),
            long_context(pl.col("context_window")),
            pl.lit(None, pl.String).alias("project_id"),
            owner(("key", pl.col("api_key_id")), ("workspace", pl.col("workspace_id"))),
        )
        rows = to_key_grain(rows, USAGE_DIMS, USAGE_SUMS)
        return Parsed(rows=rows, quarantine=quarantine, records_in=record_count(good) + quarantine.height,
                      complete=pages_complete(path))


class AnthropicCostReport(InputFormat):
    name = "anthropic_cost_report"
    table = "provider_costs"
    description = "Anthropic Admin API cost report pages (/v1/organizations/cost_report); amounts in cents"
    channel, channel_rank, complete = "anthropic_costs", 1, True

    def sniff(self, sample: Sample) -> bool:
        return _is_report(sample) and not _USAGE_KEY.search(sample.text) and bool(_COST_KEY.search(sample.text))

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        good, quarantine = split_errors(page_records(path, COST_FIELDS))
        tier = pl.col("service_tier").str.strip_chars().str.to_lowercase()
        cost_type = pl.col("cost_type").str.strip_chars().str.to_lowercase()
        token_type = pl.col("token_type_raw").replace_strict(TOKEN_TYPES, default=None, return_dtype=pl.String)
        # cents -> dollars exactly: a decimal times the decimal 0.01, no float involved.
        dollars = (pl.col("cents") * pl.lit(0.01).cast(pl.Decimal(3, 2))).cast(pl.Decimal(38, 12))
        currency = pl.col("currency").fill_null("USD").str.to_uppercase()
        line_item = pl.coalesce(
            pl.col("description"),
            pl.concat_str(
                [pl.col("model_raw"), pl.col("token_type_raw").fill_null(pl.col("cost_type")), pl.col("context_window"), tier],
                separator=", ",
                ignore_nulls=True,
            ),
        )
        rows = good.with_columns(
            utc_day(pl.col("bucket_start")).alias("day"),
            pl.lit(PROVIDER).alias("provider"),
            pl.when(cost_type.is_in(COST_TYPES)).then(cost_type).otherwise(pl.lit("other")).alias("cost_type"),
            token_type.alias("token_type"),
            line_item.alias("line_item"),
            (tier == "batch").fill_null(False).alias("is_batch"),
            dollars.alias("billed_amount"),
            currency.alias("currency"),
            pl.when(currency == "USD").then(dollars).otherwise(None).alias("billed_cost_usd"),
            pl.lit(None, pl.String).alias("project_id"),
            pl.lit(None, pl.String).alias("api_key_id"),
            owner(("workspace", pl.col("workspace_id"))),
        )
        rows = to_key_grain(rows, COST_DIMS, COST_SUMS)
        return Parsed(rows=rows, quarantine=quarantine, records_in=record_count(good) + quarantine.height,
                      complete=pages_complete(path))
