"""AWS: CUR 2.0 (Data Exports) Bedrock line items, CSV or Parquet, and Bedrock invocation logs.

CUR 2.0 rows carry ``line_item_usage_type`` (``USE1-Claude4.6Sonnet-input-tokens``,
``USE1-TitanEmbeddingV2-Text-input-tokens``, ``USE1-MP:USE1_InputTokenCount-Units``, cache
read/write variants, ``-cross-region-global``/``_Global`` and ``batch``/``flex``/``priority``
tiers), ``line_item_usage_amount``, ``line_item_unblended_cost``, ``line_item_line_item_type``,
the ``product`` and ``resource_tags`` map columns (JSON text in CSV), ``line_item_iam_principal``
and ``line_item_resource_id`` (an application inference profile's ARN, landed as ``resource_id``;
the model stays the one the usage type names). Bedrock rows land, and the infrastructure that serves models:
EC2 GPU and accelerator instances (``USE1-BoxUsage:p4d.24xlarge``, ``SpotUsage:g5.2xlarge``, ``inf2``, ``trn1``)
and SageMaker endpoint hosting (``USE1-Host:ml.g5.2xlarge``) as ``compute``, Bedrock provisioned throughput
(model units per hour: a usage type naming ``ProvisionedThroughput`` or ``ModelUnit``) as ``provisioned``, each
with its hours (``usage_hours``) and the endpoint its ``user_endpoint`` tag names. Other services are not LLM
spend and are reported as skipped. First-party token usage types count thousands of tokens, Marketplace ones millions, unless
``pricing_unit`` says otherwise (``1K tokens``, ``1M tokens``, ``1,000 tokens``, ``tokens``).
Costs land with token usage beside them. A line's app is its first app-naming cost allocation tag
(``user_app``, ``user_application``, ``user_service``, …).

Model invocation logs (``schemaType: ModelInvocationLog``, JSON lines) land as provider usage,
summed per day × model × principal: ``inputTokenCount`` excludes cache reads and writes, so
input = inputTokenCount + cacheReadInputTokenCount + cacheWriteInputTokenCount.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.ingest.formats.base import InputFormat, ParseContext, Parsed, Sample, record_count, split_errors
from pipelines.ingest.formats.fields import Field
from pipelines.ingest.formats.billing import (
    COST_DIMS,
    COST_SUMS,
    MONEY,
    USAGE_DIMS,
    USAGE_SUMS,
    app_tag_keys,
    endpoint_tag_keys,
    first_rule,
    hours,
    iam_owner,
    in_scope,
    json_tag_app,
    json_tag_owner,
    nz,
    owner,
    owner_tag_keys,
    scaled_tokens,
    to_key_grain,
    unit_scale,
    with_distinct,
)
from pipelines.ingest.formats.readers import (
    AMOUNT,
    COUNT,
    DAY,
    RFC3339_DAY,
    csv_records,
    json_head,
    jsonl_export_records,
    parquet_records,
)

PROVIDER = "aws"
# Usage type (lower-cased) -> token type; first match wins.
TOKEN_TYPE_RULES = [
    (r"cache.?read|cacheread", "cached_input"),
    (r"cache.?write.*1h|1h.*cache.?write", "cache_write_1h"),
    (r"cache.?write|cachewrite", "cache_write_5m"),
    (r"output|response", "output"),
    (r"input|prompt", "input"),
]
TOKEN_USAGE = r"token"
# Tokens per unit of line_item_usage_amount, by usage-type family; first match wins.
SCALE_RULES = [
    (r"mp:|-units$", "1000000"),
    (r"token", "1000"),
]
# An explicit pricing unit ("1K tokens", "1M tokens", "Tokens": billing.unit_scale) beats the family rule;
# "Count" or "Units" say nothing of the scale.
TIER_RULES = [(r"batch", "batch"), (r"flex", "flex"), (r"priority", "priority")]
# Line item types that are not token usage. Refunds and taxes keep their own type: FOCUS files a refund as a
# correction of usage and a tax as a tax, not as credits.
COST_TYPES = {"Credit": "credit", "Refund": "refund", "EdpDiscount": "credit", "BundledDiscount": "credit",
              "PrivateRateDiscount": "credit", "SavingsPlanNegation": "credit", "Tax": "tax", "Fee": "other"}
REGION_PREFIX = r"^[A-Za-z]{2,4}\d?-"
# Infrastructure that serves models, by usage type: EC2 GPU/accelerator instance families (p*, g*, inf*, trn*)
# and SageMaker endpoint hosting bill instance-hours; Bedrock provisioned throughput bills model-unit hours.
GPU_INSTANCE = r"(?i)(?:boxusage|spotusage|dedicatedusage|hostusage|unusedbox)[^:]*:(?:p\d|g\d|inf\d|trn\d)[a-z0-9-]*\.\w+$"
SAGEMAKER_HOSTING = r"(?i)(?:^|-)host:ml\."
PROVISIONED = r"(?i)provisioned|model.?units?"
FIRST_PARTY_TOKENS = (
    r"-(?:mantle-)?(?:cache-read-input-token-count|cache-write-input-token-count|cache-read-input-tokens|"
    r"cache-write-input-tokens|input-tokens|output-tokens)\b.*$"
)

CUR_COLS = [
    Field("day", "line_item_usage_start_date", "DATE", required=True, parse=DAY),
    Field("usage_type", "line_item_usage_type", required=True),
    Field("usage_amount", "line_item_usage_amount", "DECIMAL(38,9)"),
    Field("cost", "line_item_unblended_cost", MONEY, required=True, parse=AMOUNT),
    Field("currency", "line_item_currency_code"),
    Field("item_type", "line_item_line_item_type"),
    Field("product_code", "line_item_product_code"),
    Field("principal", "line_item_iam_principal"),
    Field("account_id", "line_item_usage_account_id"),
    Field("product", "product"),
    Field("product_name", "product_product_name"),
    Field("tags", "resource_tags"),
    Field("pricing_unit", "pricing_unit"),
    Field("resource_id", "line_item_resource_id"),
]
CUR_SUMS = ["usage_amount", "cost"]
CUR_COLUMNS = {"line_item_usage_type", "line_item_usage_amount", "line_item_unblended_cost"}


class AwsCurCsv(InputFormat):
    name = "aws_cur_csv"
    table = "provider_costs"
    description = "AWS CUR 2.0 (Data Exports) CSV; Bedrock line items"
    # A CUR 2.0 export rewrites the billing period's files whole: each delivery is complete.
    channel, channel_rank, complete = "aws_cur", 2, True

    def sniff(self, sample: Sample) -> bool:
        return CUR_COLUMNS <= {h.lower() for h in sample.csv_header}

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        return _cur(csv_records(path, CUR_COLS, sums=CUR_SUMS), ctx)


class AwsCurParquet(InputFormat):
    name = "aws_cur_parquet"
    table = "provider_costs"
    description = "AWS CUR 2.0 (Data Exports) Parquet; Bedrock line items"
    channel, channel_rank, complete = "aws_cur", 2, True

    def sniff(self, sample: Sample) -> bool:
        if not sample.head.startswith(b"PAR1"):
            return False
        import pyarrow.parquet as pq

        try:
            names = {n.lower() for n in pq.read_schema(sample.path).names}
        except Exception:  # not a readable Parquet file: some other format's problem
            return False
        return CUR_COLUMNS <= names

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        return _cur(parquet_records(path, CUR_COLS, sums=CUR_SUMS), ctx)


def _cur(records: pl.DataFrame, ctx: ParseContext) -> Parsed:
    good, quarantine = split_errors(records)
    product_name = pl.coalesce(pl.col("product").str.json_path_match("$.product_name"), pl.col("product_name"))
    service = pl.coalesce(pl.col("product").str.json_path_match("$.servicecode"), pl.col("product_code"))
    is_bedrock = (
        pl.col("product_code").fill_null("").str.contains("(?i)bedrock")
        | service.fill_null("").str.contains("(?i)bedrock")
        | product_name.fill_null("").str.contains("(?i)bedrock")
    )
    ut = pl.col("usage_type").str.strip_chars()
    low = ut.str.to_lowercase()
    is_compute = (_in_service(service, "(?i)AmazonEC2") & ut.str.contains(GPU_INSTANCE)) | (
        _in_service(service, "(?i)SageMaker") & ut.str.contains(SAGEMAKER_HOSTING))
    is_provisioned = is_bedrock & ut.str.contains(PROVISIONED)
    good = good.with_columns(
        pl.when(is_compute).then(pl.lit("compute")).when(is_provisioned).then(pl.lit("provisioned")).alias("_infra"))
    good, skipped = in_scope(good, is_bedrock | is_compute)
    is_tokens = low.str.contains(TOKEN_USAGE) & pl.col("item_type").fill_null("Usage").is_in(
        ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"]
    )
    first_party_model = (
        pl.when(ut.str.contains(r"(?i)" + FIRST_PARTY_TOKENS) & ~low.str.contains("mp:"))
        .then(ut.str.replace(REGION_PREFIX, "").str.replace(r"(?i)" + FIRST_PARTY_TOKENS, "").str.replace(
            r"(?i)-(?:batch|flex|priority)$", ""))
    )
    model_raw = pl.coalesce(first_party_model, pl.col("product").str.json_path_match("$.model"), product_name)
    stated = pl.when(~pl.col("pricing_unit").str.contains("(?i)count")).then(unit_scale(pl.col("pricing_unit")))
    scale = pl.coalesce(stated, first_rule(low, SCALE_RULES, "1").cast(pl.Int64))
    tokens = scaled_tokens(pl.col("usage_amount"), scale)
    currency = pl.col("currency").fill_null("USD").str.to_uppercase()
    tags, prefixes = pl.col("tags"), ("user_", "user:", "")
    good = with_distinct(good, "tags", _tag=json_tag_owner(tags, owner_tag_keys(ctx.settings), prefixes),
                         _app=json_tag_app(tags, app_tag_keys(ctx.settings), prefixes),
                         _endpoint=json_tag_app(tags, endpoint_tag_keys(ctx.settings), prefixes))
    good = with_distinct(good, "principal", _iam=iam_owner(pl.col("principal")))
    infra = pl.col("_infra").is_not_null() & pl.col("item_type").fill_null("Usage").is_in(
        ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"])
    rows = good.with_columns(
        pl.lit(PROVIDER).alias("provider"),
        ut.alias("line_item"),
        pl.when(is_tokens).then(model_raw).alias("model_raw"),
        pl.when(is_tokens).then(pl.lit("tokens")).when(infra).then(pl.col("_infra")).otherwise(
            pl.col("item_type").replace_strict(COST_TYPES, default="other", return_dtype=pl.String)
        ).alias("cost_type"),
        pl.when(infra).then(hours(pl.col("usage_amount"), pl.coalesce(pl.col("pricing_unit"), pl.lit("Hrs"))))
        .alias("usage_hours"),
        pl.when(pl.col("_infra").is_not_null()).then(pl.col("_endpoint")).alias("endpoint"),
        pl.when(is_tokens).then(first_rule(low, TOKEN_TYPE_RULES)).alias("token_type"),
        low.str.contains("batch").alias("is_batch"),
        first_rule(low, TIER_RULES).alias("service_tier"),
        pl.col("cost").alias("billed_amount"),
        currency.alias("currency"),
        pl.when(currency == "USD").then(pl.col("cost")).alias("billed_cost_usd"),
        pl.lit(None, pl.String).alias("project_id"),
        pl.lit(None, pl.String).alias("workspace_id"),
        pl.lit(None, pl.String).alias("api_key_id"),
        pl.coalesce(pl.col("_tag"), pl.col("_iam"), owner(("account", pl.col("account_id")))).alias("owner"),
        pl.col("_app").alias("owner_app"),
        pl.col("resource_id").str.strip_chars(),
        tokens.alias("_tokens"),
    )
    costs = to_key_grain(rows, COST_DIMS, COST_SUMS)
    n = pl.col("_tokens").fill_null(0)
    tt = pl.col("token_type")
    usage = rows.filter(pl.col("cost_type") == "tokens").with_columns(
        pl.when(tt.is_in(["input", "cached_input", "cache_write_5m", "cache_write_1h"])).then(n).otherwise(0).alias("input_tokens"),
        pl.when(tt == "cached_input").then(n).otherwise(0).alias("cached_input_tokens"),
        pl.when(tt.is_in(["cache_write_5m", "cache_write_1h"])).then(n).otherwise(0).alias("cache_write_tokens"),
        pl.when(tt == "cache_write_1h").then(n).otherwise(0).alias("cache_write_1h_tokens"),
        pl.when(tt == "output").then(n).otherwise(0).alias("output_tokens"),
        pl.lit(0, pl.Int64).alias("reasoning_tokens"),
        pl.lit(None, pl.Int64).alias("requests"),
    )
    usage = to_key_grain(usage, USAGE_DIMS, USAGE_SUMS)
    return Parsed(rows=costs, quarantine=quarantine, records_in=record_count(good) + quarantine.height, skipped=skipped,
                  extra={"provider_usage": usage})


def _in_service(service: pl.Expr, code: str) -> pl.Expr:
    return pl.col("product_code").fill_null("").str.contains(code) | service.fill_null("").str.contains(code)


# ---- Bedrock model invocation logs -------------------------------------------------------------

LOG_PATHS = {
    "timestamp": "$.timestamp",
    "model_id": "$.modelId",
    "principal": "$.identity.arn",
    "account_id": "$.accountId",
    "request_id": "$.requestId",
    "input_tokens": "$.input.inputTokenCount",
    "cache_read_input_token_count": "$.input.cacheReadInputTokenCount",
    "cache_write_input_token_count": "$.input.cacheWriteInputTokenCount",
    "output_tokens": "$.output.outputTokenCount",
    "schema_type": "$.schemaType",
}
LOG_COLS = [
    Field("day", "timestamp", "DATE", required=True, parse=RFC3339_DAY),
    Field("model_raw", "model_id", required=True),
    Field("principal", "principal"),
    Field("account_id", "account_id"),
    Field("input_token_count", "input_tokens", "BIGINT", parse=COUNT),
    Field("cache_read_input_token_count", "cache_read_input_token_count", "BIGINT", parse=COUNT),
    Field("cache_write_input_token_count", "cache_write_input_token_count", "BIGINT", parse=COUNT),
    Field("output_token_count", "output_tokens", "BIGINT", parse=COUNT),
]

LOG_SUMS = ["input_token_count", "cache_read_input_token_count", "cache_write_input_token_count", "output_token_count"]


class BedrockInvocationUsage(InputFormat):
    """Bedrock invocation logs as provider usage (daily per model × principal).

    The same logs are also call logs (``bedrock.BedrockInvocationCalls``): detection picks this
    one; the call-log reading is chosen by name (``--format bedrock_invocation_calls``).
    """

    name = "bedrock_invocation_usage"
    table = "provider_usage"
    description = "Amazon Bedrock model invocation logs (JSON lines) summed into provider usage"
    # Per-call logs delivered in pieces (one object per few minutes): each file adds; the CUR, where it
    # is landed too, stands before them for the same usage.
    channel, channel_rank = "bedrock_invocation_logs", 3

    def sniff(self, sample: Sample) -> bool:
        first = json_head(sample)
        return isinstance(first, dict) and first.get("schemaType") == "ModelInvocationLog"

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        good, quarantine = split_errors(jsonl_export_records(path, LOG_PATHS, LOG_COLS, sums=LOG_SUMS))
        read, write = nz("cache_read_input_token_count"), nz("cache_write_input_token_count")
        rows = good.with_columns(
            pl.lit(PROVIDER).alias("provider"),
            # For Claude, inputTokenCount excludes cache reads and writes.
            (nz("input_token_count") + read + write).alias("input_tokens"),
            read.alias("cached_input_tokens"),
            write.alias("cache_write_tokens"),
            pl.lit(0, pl.Int64).alias("cache_write_1h_tokens"),
            nz("output_token_count").alias("output_tokens"),
            pl.lit(0, pl.Int64).alias("reasoning_tokens"),
            pl.col("_n").alias("requests"),
            pl.lit(False).alias("is_batch"),
            pl.lit(None, pl.String).alias("service_tier"),
            pl.lit(None, pl.String).alias("project_id"),
            pl.lit(None, pl.String).alias("workspace_id"),
            pl.lit(None, pl.String).alias("api_key_id"),
            pl.coalesce(iam_owner(pl.col("principal")), owner(("account", pl.col("account_id")))).alias("owner"),
        )
        rows = to_key_grain(rows, USAGE_DIMS, USAGE_SUMS)
        return Parsed(rows=rows, quarantine=quarantine, records_in=record_count(good) + quarantine.height)
