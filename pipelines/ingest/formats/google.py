"""Google Cloud Billing export (standard or detailed usage cost), as exported JSON lines or CSV.

One row per (SKU, project, labels, usage hour): ``service.description`` (Vertex AI, Gemini API /
Generative Language API, …), ``sku.description``, ``usage.amount``/``usage.unit`` and
``usage.amount_in_pricing_units``/``usage.pricing_unit``, ``cost`` and ``currency`` (the billing
currency, with ``currency_conversion_rate`` per USD), ``credits[]`` (negative amounts),
``project.id``, ``labels[]``, ``project.labels[]`` and ``usage_start_time`` (``YYYY-MM-DD HH:MM:SS UTC`` or RFC 3339). Net cost = cost + sum(credits.amount).
CSV exports carry the same fields flattened (``sku.description`` or ``sku_description``) with
credits and labels as JSON text.

Gemini and other model SKUs split input / output / thinking output / cached input ("Gemini 2.5
Flash GA Text Input - Predictions", "Gemini 2.5 Pro Thinking Text Output - Predictions", "Gemini
2.0 Flash Lite Input Text Caching", "Generate content input token count Gemini 2.5 Flash",
"... short output text non-thinking"); what a SKU is comes from the ordered rules below, which
model it is from ``schemas/model_aliases.yaml`` (``model_raw`` is the SKU as billed, whitespace
normalised). Token SKUs also land as provider usage: ``usage.amount`` when ``usage.unit`` counts
tokens (``count``, ``tokens``, characters, or a scaled unit like ``1000 count``), else
``usage.amount_in_pricing_units`` times the scale of ``usage.pricing_unit`` (``1M tokens``,
``1000 count``, ``count``). Thinking SKUs are output that is reasoning. A line's app is its first
app-naming label (``app``, ``application``, …), else the project's.

The infrastructure that serves models lands as ``compute`` with its hours (``usage_hours``): Compute Engine
GPU/TPU SKUs ("Nvidia Tesla A100 GPU running in Americas", "Nvidia L4 GPU running in EMEA") and Vertex AI
prediction node and GPU SKUs ("Vertex AI: Online/Batch Prediction NVIDIA L4 GPU running in Americas", "... node
hours"); the endpoint is its first endpoint-naming label (``endpoint``, ``inference_endpoint``, …).

The detailed export adds ``resource.name``; it is not landed (no ``resource_id``): the SKU already
names the model, and a standard and a detailed export of the same day must name the same facts
(``line_key``), which a resource the standard export does not have would split.
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
    normalise_text,
    owner,
    owner_tag_keys,
    scaled_tokens,
    tag_app,
    tag_owner,
    to_key_grain,
    unit_scale,
    with_distinct,
)
from pipelines.ingest.formats.readers import (
    AMOUNT,
    DAY,
    csv_records,
    json_head,
    jsonl_export_records,
)

PROVIDER = "google"
# What a SKU bills, first match wins (lower-cased, whitespace-normalised description).
SKU_RULES: list[tuple[str, str, str | None]] = [
    (r"\b(?:nvidia|gpu|tpu)\b.*\brunning\b|prediction.*\bnode|\bnode hours?\b", "compute", None),
    (r"storage|token hours|per hour", "storage", None),
    (r"grounding|google search|web search", "web_search", None),
    (r"code execution", "code_execution", None),
    (r"non-?thinking|thinking off", "tokens", "output"),
    (r"thinking|reasoning", "tokens", "reasoning"),
    (r"cach(?:ed|ing)", "tokens", "cached_input"),
    (r"output|completion|response", "tokens", "output"),
    (r"input|prompt|embed", "tokens", "input"),
]
# SKUs about a model (the rest — support, networking — are not).
MODEL_SKU = r"gemini|gemma|claude|imagen|veo|embedding|llama|mistral|palm|bison|gecko|chirp"
# Usage units that count tokens (a scale like "1000 count" or "1M tokens" is read by unit_scale).
TOKEN_UNIT = r"token|count|character"

CREDITS = (
    "case when {v} like '[%' then coalesce(list_sum(list_transform(json_extract_string({v}, '$[*].amount'),"
    " lambda x: try_cast(x as DECIMAL(38,12)))), 0::DECIMAL(38,12)) else try_cast({v} as DECIMAL(38,12)) end"
)
COLS = [
    Field("day", "usage_start_time", "DATE", required=True, parse=DAY),
    Field("service", "service.description|service_description|service"),
    Field("sku", "sku.description|sku_description|sku", required=True),
    Field("usage_amount", "usage.amount|usage_amount", "DECIMAL(38,6)"),
    Field("usage_unit", "usage.unit|usage_unit"),
    Field("pricing_amount", "usage.amount_in_pricing_units|usage_amount_in_pricing_units", "DECIMAL(38,9)"),
    Field("pricing_unit", "usage.pricing_unit|usage_pricing_unit"),
    Field("cost", "cost", MONEY, required=True, parse=AMOUNT),
    Field("currency", "currency"),
    Field("rate", "currency_conversion_rate", MONEY, parse=AMOUNT),
    Field("credits", "credits", MONEY, parse=CREDITS),
    Field("project_id", "project.id|project_id"),
    Field("labels", "labels"),
    Field("project_labels", "project.labels|project_labels"),
    Field("gcp_cost_type", "cost_type"),
]
SUMS = ["usage_amount", "pricing_amount", "cost", "credits"]
JSON_PATHS = {
    "usage_start_time": "$.usage_start_time",
    "service.description": "$.service.description",
    "sku.description": "$.sku.description",
    "usage.amount": "$.usage.amount",
    "usage.unit": "$.usage.unit",
    "usage.amount_in_pricing_units": "$.usage.amount_in_pricing_units",
    "usage.pricing_unit": "$.usage.pricing_unit",
    "cost": "$.cost",
    "currency": "$.currency",
    "currency_conversion_rate": "$.currency_conversion_rate",
    "credits": "$.credits!json",
    "project.id": "$.project.id",
    "labels": "$.labels!json",
    "project.labels": "$.project.labels!json",
    "cost_type": "$.cost_type",
}
LABELS = pl.List(pl.Struct({"key": pl.String, "value": pl.String}))


class GoogleBillingJsonl(InputFormat):
    name = "google_billing_jsonl"
    table = "provider_costs"
    description = "Google Cloud Billing standard usage cost export, JSON lines (BigQuery export)"
    # Rows arrive incrementally (an export run adds the hours it has): deliveries add, newest per fact.
    channel, channel_rank = "gcp_billing_export", 2

    def sniff(self, sample: Sample) -> bool:
        first = json_head(sample)
        return (
            isinstance(first, dict)
            and isinstance(first.get("sku"), dict)
            and "cost" in first
            and "usage_start_time" in first
        )

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        return _parse(jsonl_export_records(path, JSON_PATHS, COLS, sums=SUMS), ctx)


class GoogleBillingCsv(InputFormat):
    name = "google_billing_csv"
    table = "provider_costs"
    description = "Google Cloud Billing standard usage cost export, CSV"
    channel, channel_rank = "gcp_billing_export", 2

    def sniff(self, sample: Sample) -> bool:
        header = {h.lower() for h in sample.csv_header}
        return {"usage_start_time", "cost"} <= header and bool({"sku.description", "sku_description"} & header)

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        return _parse(csv_records(path, COLS, sums=SUMS), ctx)


def _parse(records: pl.DataFrame, ctx: ParseContext) -> Parsed:
    good, quarantine = split_errors(records)
    sku = normalise_text(pl.col("sku"))
    low = sku.str.to_lowercase()
    cost_type = first_rule(low, [(p, c) for p, c, _ in SKU_RULES], "other")
    token_type = first_rule(low, [(p, t) for p, _, t in SKU_RULES if t])
    is_model = low.str.contains(MODEL_SKU) & (cost_type == "tokens")
    net = pl.col("cost") + pl.col("credits").fill_null(0).cast(pl.Decimal(38, 12))
    currency = pl.col("currency").fill_null("USD").str.to_uppercase()
    labels, project_labels = pl.col("labels").str.json_decode(LABELS), pl.col("project_labels").str.json_decode(LABELS)
    apps = app_tag_keys(ctx.settings)
    good = with_distinct(good, "labels", _tag=tag_owner(labels, owner_tag_keys(ctx.settings)), _app=tag_app(labels, apps),
                         _endpoint=tag_app(labels, endpoint_tag_keys(ctx.settings)))
    good = with_distinct(good, "project_labels", _project_app=tag_app(project_labels, apps))
    rows = good.with_columns(
        pl.lit(PROVIDER).alias("provider"),
        sku.alias("line_item"),
        pl.when(is_model).then(sku).alias("model_raw"),
        cost_type.alias("cost_type"),
        pl.when(cost_type == "tokens").then(token_type).alias("token_type"),
        pl.when(cost_type == "compute").then(pl.coalesce(
            hours(pl.col("pricing_amount"), pl.col("pricing_unit")), hours(pl.col("usage_amount"), pl.col("usage_unit"))
        )).alias("usage_hours"),
        pl.when(cost_type == "compute").then(pl.col("_endpoint")).alias("endpoint"),
        low.str.contains(r"\bbatch\b").alias("is_batch"),
        net.alias("billed_amount"),
        currency.alias("currency"),
        # The export's rate is billing currency per USD.
        pl.when(currency == "USD").then(net).otherwise(net / pl.col("rate")).alias("billed_cost_usd"),
        pl.lit(None, pl.String).alias("workspace_id"),
        pl.lit(None, pl.String).alias("api_key_id"),
        pl.coalesce(pl.col("_app"), pl.col("_project_app")).alias("owner_app"),
        _tokens().alias("_tokens"),
    ).with_columns(
        pl.coalesce(pl.col("_tag"), owner(("project", pl.col("project_id")))).alias("owner"),
    )
    costs = to_key_grain(rows, COST_DIMS, COST_SUMS)

    tokens = pl.col("_tokens")
    usage = rows.filter(
        (pl.col("cost_type") == "tokens") & pl.col("model_raw").is_not_null() & tokens.is_not_null()
    ).with_columns(
        pl.when(pl.col("token_type").is_in(["input", "cached_input"])).then(tokens).otherwise(0).alias("input_tokens"),
        pl.when(pl.col("token_type") == "cached_input").then(tokens).otherwise(0).alias("cached_input_tokens"),
        pl.lit(0, pl.Int64).alias("cache_write_tokens"),
        pl.lit(0, pl.Int64).alias("cache_write_1h_tokens"),
        pl.when(pl.col("token_type").is_in(["output", "reasoning"])).then(tokens).otherwise(0).alias("output_tokens"),
        pl.when(pl.col("token_type") == "reasoning").then(tokens).otherwise(0).alias("reasoning_tokens"),
        pl.lit(None, pl.Int64).alias("requests"),
        pl.when(pl.col("is_batch")).then(pl.lit("batch")).alias("service_tier"),
    )
    usage = to_key_grain(usage, USAGE_DIMS, USAGE_SUMS)
    return Parsed(
        rows=costs,
        quarantine=quarantine,
        records_in=record_count(good) + quarantine.height,
        extra={"provider_usage": usage},
    )


def _tokens() -> pl.Expr:
    """Tokens a row used: ``usage.amount`` in a token unit, else the amount in pricing units times their scale."""
    unit, pricing_unit = pl.col("usage_unit").str.to_lowercase(), pl.col("pricing_unit").str.to_lowercase()
    return pl.coalesce(
        pl.when(unit.str.contains(TOKEN_UNIT)).then(scaled_tokens(pl.col("usage_amount"), unit_scale(unit))),
        pl.when(pricing_unit.str.contains(TOKEN_UNIT)).then(
            scaled_tokens(pl.col("pricing_amount"), unit_scale(pricing_unit))
        ),
    )
