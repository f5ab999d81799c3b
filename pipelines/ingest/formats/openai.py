"""OpenAI: Usage API and Costs API pages, and the dashboard's usage and cost CSV exports.

- Usage pages (``/v1/organization/usage/completions``, ``/embeddings``, …): ``{"object": "page",
  "data": [bucket], "has_more", "next_page"}``; buckets ``{"start_time", "end_time"}`` in unix
  seconds (end exclusive) with ``results`` of ``organization.usage.<kind>.result``. ``input_tokens``
  already includes ``input_cached_tokens`` (and, where reported, ``input_cache_write_tokens``).
  Dimensions (model, project_id, api_key_id, batch, …) are null unless grouped by.
- Costs pages (``/v1/organization/costs``): results ``organization.costs.result`` with
  ``amount.value`` (a number or a decimal string, e.g. ``"0E-6176"``) and ``line_item`` such as
  ``"gpt-4o-mini-2024-07-18, cached input"`` or ``"batch | gpt-4o-2024-08-06, output"``.
- Dashboard exports: the same results flattened into CSV (``start_time, end_time,
  start_time_iso, …``), counts written as floats (``59200.0``), booleans ``TRUE``/``FALSE``, and
  rows for empty buckets that carry only the bucket times.

API page and CSV go through the same mapping, so one billed fact read from both has one line_key.
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
    MONEY,
    USAGE_DIMS,
    USAGE_SUMS,
    in_scope,
    nz,
    owner,
    to_key_grain,
)
from pipelines.ingest.formats.readers import (
    AMOUNT,
    COUNT,
    csv_records,
    page_records,
    pages_complete,
)
from pipelines.ingest.formats.values import instant_sql

PROVIDER = "openai"
_PAGE = re.compile(r'"object"\s*:\s*"page"')
_COSTS_RESULT = '"organization.costs.result"'

# What follows "<model>, " in a line item -> token_type. Anything else after a model
# (audio minutes, images) is a model line that is not split by token type.
TOKEN_TYPES = {
    "input": "input",
    "cached input": "cached_input",
    "cache write": "cache_write_5m",
    "cache writes": "cache_write_5m",
    "output": "output",
    "reasoning": "reasoning",
}
# Line items without a model: first matching pattern -> cost_type.
NON_MODEL_COST_TYPES = [
    # A fine-tuning job ("ft-gpt-4o-mini-2024-07-18 training"): not token usage of the base model, so not spread
    # over its calls; the tuned model stays named in line_item.
    (r"^ft[-:]|fine.?tun", "fine_tuning"),
    (r"web search", "web_search"),
    (r"code interpreter|container", "code_execution"),
    (r"storage|vector store", "storage"),
    (r"credit", "credit"),
]
SERVICE_TIERS = {"default": "standard", "auto": "standard"}

USAGE_FIELDS = [
    Field("bucket_start", "$._bucket_start", "BIGINT", required=True),
    Field("model_raw", "$.model"),
    Field("raw_input", "$.input_tokens", "BIGINT"),
    Field("raw_cached", "$.input_cached_tokens", "BIGINT"),
    Field("raw_cache_write", "$.input_cache_write_tokens", "BIGINT"),
    Field("raw_uncached", "$.input_uncached_tokens", "BIGINT"),
    Field("raw_output", "$.output_tokens", "BIGINT"),
    Field("requests", "$.num_model_requests", "BIGINT"),
    Field("project_id", "$.project_id"),
    Field("user_id", "$.user_id"),
    Field("api_key_id", "$.api_key_id"),
    Field("batch", "$.batch", "BOOLEAN"),
    Field("service_tier", "$.service_tier"),
]
COST_FIELDS = [
    Field("bucket_start", "$._bucket_start", "BIGINT", required=True),
    Field("amount", "$.amount.value", MONEY, required=True),
    Field("currency", "$.amount.currency"),
    Field("line_item", "$.line_item"),
    Field("project_id", "$.project_id"),
    Field("api_key_id", "$.api_key_id"),
]

_BUCKET_DAY = "coalesce(try_cast(" + instant_sql("{v}") + " as DATE), try_cast(to_timestamp(try_cast({v} as DOUBLE)) as DATE))"
USAGE_COLS = [
    Field("day", "start_time_iso|start_time", "DATE", required=True, parse=_BUCKET_DAY),
    Field("model_raw", "model"),
    Field("raw_input", "input_tokens", "BIGINT", parse=COUNT),
    Field("raw_cached", "input_cached_tokens", "BIGINT", parse=COUNT),
    Field("raw_cache_write", "input_cache_write_tokens", "BIGINT", parse=COUNT),
    Field("raw_uncached", "input_uncached_tokens", "BIGINT", parse=COUNT),
    Field("raw_output", "output_tokens", "BIGINT", parse=COUNT),
    Field("requests", "num_model_requests", "BIGINT", parse=COUNT),
    Field("project_id", "project_id"),
    Field("user_id", "user_id"),
    Field("api_key_id", "api_key_id"),
    Field("batch", "batch", "BOOLEAN"),
    Field("service_tier", "service_tier"),
]
COST_COLS = [
    Field("day", "start_time_iso|start_time", "DATE", required=True, parse=_BUCKET_DAY),
    Field("amount", "amount_value", MONEY, parse=AMOUNT),
    Field("currency", "amount_currency"),
    Field("line_item", "line_item"),
    Field("project_id", "project_id"),
    Field("api_key_id", "api_key_id"),
]


def _is_page(sample: Sample) -> bool:
    head = sample.text.lstrip()[:4096]
    return head.startswith(("{", "[")) and bool(_PAGE.search(head)) and '"bucket"' in sample.text


class OpenAIUsagePage(InputFormat):
    name = "openai_usage_page"
    table = "provider_usage"
    description = "OpenAI Usage API pages (/v1/organization/usage/*), one page, a JSON array or JSON lines of pages"
    channel, channel_rank, complete = "openai_usage", 1, True

    def sniff(self, sample: Sample) -> bool:
        return _is_page(sample) and _COSTS_RESULT not in sample.text

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        df = page_records(path, USAGE_FIELDS)
        good, quarantine = split_errors(df)
        good = good.with_columns(
            utc_day(pl.from_epoch(pl.col("bucket_start"), time_unit="s").dt.replace_time_zone("UTC")).alias("day")
        )
        parsed = _usage(good, quarantine)
        parsed.complete = pages_complete(path)
        return parsed


class OpenAICostsPage(InputFormat):
    name = "openai_costs_page"
    table = "provider_costs"
    description = "OpenAI Costs API pages (/v1/organization/costs)"
    channel, channel_rank, complete = "openai_costs", 1, True

    def sniff(self, sample: Sample) -> bool:
        return _is_page(sample) and _COSTS_RESULT in sample.text

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        df = page_records(path, COST_FIELDS)
        good, quarantine = split_errors(df)
        good = good.with_columns(
            utc_day(pl.from_epoch(pl.col("bucket_start"), time_unit="s").dt.replace_time_zone("UTC")).alias("day")
        )
        parsed = _costs(good, quarantine)
        parsed.complete = pages_complete(path)
        return parsed


class OpenAIUsageCsv(InputFormat):
    name = "openai_usage_csv"
    table = "provider_usage"
    description = "OpenAI dashboard usage export (CSV)"
    # The same facts as the Usage API, read through the same mapping: one channel.
    channel, channel_rank, complete = "openai_usage", 1, True

    def sniff(self, sample: Sample) -> bool:
        return sample.has_columns("start_time", "end_time", "num_model_requests", "input_tokens", "model")

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        good, quarantine = split_errors(csv_records(path, USAGE_COLS))
        # Rows of empty buckets carry only the bucket times: nothing was used, nothing to land.
        good, skipped = in_scope(good, pl.any_horizontal(pl.col("model_raw", "raw_input", "raw_output", "requests").is_not_null()))
        return _usage(good, quarantine, skipped)


class OpenAICostsCsv(InputFormat):
    name = "openai_costs_csv"
    table = "provider_costs"
    description = "OpenAI dashboard cost export (CSV)"
    channel, channel_rank, complete = "openai_costs", 1, True

    def sniff(self, sample: Sample) -> bool:
        return sample.has_columns("start_time", "end_time", "amount_value", "amount_currency")

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        good, quarantine = split_errors(csv_records(path, COST_COLS))
        good, skipped = in_scope(good, pl.col("amount").is_not_null() | pl.col("line_item").is_not_null())
        return _costs(good, quarantine, skipped)


def _usage(good: pl.DataFrame, quarantine: pl.DataFrame, skipped: int = 0) -> Parsed:
    cached, write = nz("raw_cached"), nz("raw_cache_write")
    rows = good.with_columns(
        pl.lit(PROVIDER).alias("provider"),
        # input_tokens includes cached and cache-write tokens; newer pages may also say the uncached part.
        pl.coalesce(pl.col("raw_input"), nz("raw_uncached") + cached + write).alias("input_tokens"),
        cached.alias("cached_input_tokens"),
        write.alias("cache_write_tokens"),
        pl.lit(0, pl.Int64).alias("cache_write_1h_tokens"),
        nz("raw_output").alias("output_tokens"),
        pl.lit(0, pl.Int64).alias("reasoning_tokens"),
        pl.col("batch").fill_null(False).alias("is_batch"),
        _tier(pl.col("service_tier")).alias("service_tier"),
        pl.lit(None, pl.String).alias("workspace_id"),
        owner(("key", pl.col("api_key_id")), ("project", pl.col("project_id")), ("user", pl.col("user_id"))),
    )
    rows = to_key_grain(rows, USAGE_DIMS, USAGE_SUMS)
    return Parsed(rows=rows, quarantine=quarantine, records_in=record_count(good) + quarantine.height, skipped=skipped)


def _tier(expr: pl.Expr) -> pl.Expr:
    low = expr.str.strip_chars().str.to_lowercase()
    return low.replace(SERVICE_TIERS)


def _costs(good: pl.DataFrame, quarantine: pl.DataFrame, skipped: int = 0) -> Parsed:
    rows = good.with_columns(parse_line_item(pl.col("line_item"))).with_columns(
        pl.lit(PROVIDER).alias("provider"),
        pl.col("amount").alias("billed_amount"),
        pl.col("currency").fill_null("usd").str.to_uppercase().alias("currency"),
        pl.when(pl.col("currency").fill_null("usd").str.to_uppercase() == "USD")
        .then(pl.col("amount"))
        .otherwise(None)
        .alias("billed_cost_usd"),
        pl.lit(None, pl.String).alias("workspace_id"),
        owner(("key", pl.col("api_key_id")), ("project", pl.col("project_id"))),
    )
    rows = to_key_grain(rows, COST_DIMS, COST_SUMS)
    return Parsed(rows=rows, quarantine=quarantine, records_in=record_count(good) + quarantine.height, skipped=skipped)


def parse_line_item(li: pl.Expr) -> list[pl.Expr]:
    """line_item text -> line_item (whitespace normalised), model_raw, cost_type, token_type, is_batch.

    ``"batch | gpt-4o-2024-08-06, cached input"``: prefixes before ``|`` (batch, evals,
    priority, flex) qualify the line; ``<model>[ <modality>], <piece>[, long context]`` is a model
    line; anything without a comma (``"web search tool calls"``) is not about a model.
    """
    text = li.str.strip_chars().str.replace_all(r"\s+", " ")
    low = text.str.to_lowercase()
    prefix = low.str.extract(r"^((?:[a-z ]+\|\s*)*)", 1).fill_null("")
    body = low.str.slice(prefix.str.len_chars())
    is_model = body.str.contains(",")
    piece = body.str.split(",").list.get(1, null_on_oob=True).str.strip_chars()
    token_type = piece.replace_strict(TOKEN_TYPES, default=None, return_dtype=pl.String)
    non_model = pl.lit("other")
    for pattern, kind in reversed(NON_MODEL_COST_TYPES):
        non_model = pl.when(body.str.contains(pattern)).then(pl.lit(kind)).otherwise(non_model)
    model_raw = text.str.slice(prefix.str.len_chars()).str.split(",").list.first().str.strip_chars().str.split(" ").list.first()
    return [
        text.alias("line_item"),
        pl.when(is_model).then(model_raw).otherwise(None).alias("model_raw"),
        pl.when(is_model & token_type.is_not_null())
        .then(pl.lit("tokens"))
        .when(is_model)
        .then(pl.lit("other"))
        .otherwise(non_model)
        .alias("cost_type"),
        pl.when(is_model).then(token_type).otherwise(None).alias("token_type"),
        prefix.str.contains(r"\bbatch\b").fill_null(False).alias("is_batch"),
    ]
