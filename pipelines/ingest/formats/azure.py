"""Azure Cost Management export / Cost Details CSV (MCA and EA layouts), Azure OpenAI / Foundry meters.

Columns are matched case-insensitively across both layouts: ``date`` (``MM/DD/YYYY`` or ISO),
``meterName``, ``meterCategory``/``meterSubCategory``, ``quantity`` and ``unitOfMeasure`` (``1K``
or ``1M`` tokens, mixed in one file), ``costInBillingCurrency`` (EA: ``Cost``) with
``billingCurrency``, ``costInUsd`` (MCA) or ``costInPricingCurrency``/``exchangeRatePricingToBilling``
(EA), ``tags`` (a JSON object, often written without its braces) and ``ResourceId`` (the Azure
OpenAI / Foundry account, landed as ``resource_id``). Files come with a UTF-8 BOM and CRLF line
ends. Meter names are inconsistent ("gpt-4o-mini-0718-Inp-glbl Tokens", "gpt 4o mini 0718 cached
Inp glbl Tokens"): the token type and batch flag come from the rules below, the model from
``schemas/model_aliases.yaml`` (``model_raw`` is the meter as billed). Tokens = ``quantity`` times
the unit of measure's scale (``1K``, ``1M``, ``1,000``; a meter ending in "1M Tokens" when the
unit says nothing). A line's app is its first app-naming tag (``app``, ``application``, ``service``, …).

The infrastructure that serves models lands with its hours (``usage_hours``, from ``unitOfMeasure`` "1 Hour" /
"100 Hours"): GPU virtual machines (NC and ND series: meterSubCategory "NCadsA100v4 Series", meterName "NC24ads
A100 v4") and Azure ML online endpoints (a ResourceId under ``/onlineEndpoints/``) as ``compute``; Azure OpenAI
provisioned throughput units (PTU meters: "Provisioned Managed Global Unit", "... Provisioned Throughput Unit")
as ``provisioned``. Their endpoint is the first endpoint-naming tag (``endpoint``, ``inference_endpoint``, …),
else the Azure ML online endpoint's name. Other virtual machines are not LLM spend and are skipped.
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
    in_scope,
    json_tag_app,
    json_tag_owner,
    normalise_text,
    owner,
    owner_tag_keys,
    scaled_tokens,
    to_key_grain,
    unit_scale,
    with_distinct,
)
from pipelines.ingest.formats.readers import (
    AMOUNT,
    DAY,
    csv_records,
)

PROVIDER = "azure"
# Meter name, lower-cased with - and _ as spaces -> token type; first match wins.
TOKEN_TYPE_RULES = [
    (r"\b(?:cached|cchd|ccchd|cd)\b.*\b(?:inp|input|in)\b|\b(?:inp|input|in)\b.*\b(?:cached|cchd|ccchd)\b", "cached_input"),
    (r"\bcd wr\b|\bcache write\b|\bwr\b", "cache_write_5m"),
    (r"\b(?:outp|out|opt|output)\b", "output"),
    (r"\b(?:inp|input|in)\b|embedding", "input"),
]
# Tokens per unit of quantity: unitOfMeasure first (billing.unit_scale), the meter name when the unit says nothing.
METER_SCALES = [(r"\b1m tokens$", "1000000")]
LLM_ROWS = r"(?i)token|openai|foundry|ai services|cognitive"
GPU_VM = r"(?i)(?:^|[\s_])n[cd]\w*"  # NC / ND series sizes and their subcategories
ML_ENDPOINT = r"(?i)/onlineendpoints/([^/]+)"

COLS = [
    Field("day", "date|usagedate|usage_date", "DATE", required=True, parse=DAY),
    Field("meter", "metername|meter_name", required=True),
    Field("meter_category", "metercategory"),
    Field("meter_subcategory", "metersubcategory"),
    Field("product", "productname|product"),
    Field("quantity", "quantity|usagequantity", "DECIMAL(38,9)"),
    Field("unit", "unitofmeasure"),
    Field("cost", "costinbillingcurrency|cost|pretaxcost", MONEY, required=True, parse=AMOUNT),
    Field("currency", "billingcurrency|billingcurrencycode|currency"),
    Field("cost_usd", "costinusd|costusd", MONEY, parse=AMOUNT),
    Field("cost_pricing", "costinpricingcurrency", MONEY, parse=AMOUNT),
    Field("pricing_currency", "pricingcurrency|pricingcurrencycode"),
    Field("rate", "exchangeratepricingtobilling", MONEY, parse=AMOUNT),
    Field("tags", "tags"),
    Field("subscription_id", "subscriptionid|subscriptionguid"),
    Field("resource_id", "resourceid|instanceid"),
]

SUMS = ["quantity", "cost", "cost_usd", "cost_pricing"]


class AzureCostDetails(InputFormat):
    name = "azure_cost_details"
    table = "provider_costs"
    description = "Azure Cost Management export / Cost Details CSV (MCA or EA)"
    # A scheduled export rewrites the month to date: each delivery is complete.
    channel, channel_rank, complete = "azure_cost_export", 2, True

    def sniff(self, sample: Sample) -> bool:
        header = {h.lower() for h in sample.csv_header}
        return "metername" in header and "quantity" in header and bool(
            {"costinbillingcurrency", "cost", "pretaxcost"} & header
        )

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        good, quarantine = split_errors(csv_records(path, COLS, sums=SUMS))
        meter = normalise_text(pl.col("meter"))
        what = pl.concat_str(
            [meter, pl.col("meter_category"), pl.col("meter_subcategory"), pl.col("product")], separator=" ", ignore_nulls=True
        )
        vm = pl.col("meter_category").fill_null("").str.contains("(?i)virtual machines")
        gpu_vm = vm & pl.concat_str([meter, pl.col("meter_subcategory")], separator=" ", ignore_nulls=True).str.contains(GPU_VM)
        compute = gpu_vm | pl.col("resource_id").fill_null("").str.contains(ML_ENDPOINT)
        provisioned = what.str.contains(LLM_ROWS) & what.str.contains("(?i)provisioned|\\bptu\\b")
        good = good.with_columns(
            pl.when(compute).then(pl.lit("compute")).when(provisioned).then(pl.lit("provisioned")).alias("_infra"))
        good, skipped = in_scope(good, what.str.contains(LLM_ROWS) | compute)
        words = meter.str.to_lowercase().str.replace_all(r"[-_]+", " ")
        is_tokens = words.str.contains(r"\btokens?$")
        scale = pl.coalesce(unit_scale(pl.col("unit")), first_rule(words, METER_SCALES, "1000").cast(pl.Int64))
        currency = pl.col("currency").fill_null("USD").str.to_uppercase().str.strip_chars()
        pricing_usd = pl.col("pricing_currency").fill_null("USD").str.to_uppercase().str.strip_chars() == "USD"
        usd = pl.coalesce(
            pl.col("cost_usd"),
            pl.when(pricing_usd).then(pl.col("cost_pricing")),
            pl.when(currency == "USD").then(pl.col("cost")),
            pl.when(pricing_usd & (pl.col("rate") > 0)).then(pl.col("cost") / pl.col("rate")),
        )
        resource = pl.col("resource_id").str.extract(r"(?i)/accounts/([^/]+)", 1)
        good = with_distinct(good, "tags", _tag=json_tag_owner(pl.col("tags"), owner_tag_keys(ctx.settings)),
                             _app=json_tag_app(pl.col("tags"), app_tag_keys(ctx.settings)),
                             _endpoint=json_tag_app(pl.col("tags"), endpoint_tag_keys(ctx.settings)))
        infra = pl.col("_infra").is_not_null() & ~is_tokens
        rows = good.with_columns(
            pl.lit(PROVIDER).alias("provider"),
            meter.alias("line_item"),
            pl.when(is_tokens).then(meter).alias("model_raw"),
            pl.when(is_tokens).then(pl.lit("tokens")).when(infra).then(pl.col("_infra")).otherwise(pl.lit("other"))
            .alias("cost_type"),
            pl.when(infra).then(hours(pl.col("quantity"), pl.col("unit"))).alias("usage_hours"),
            pl.when(infra).then(pl.coalesce(pl.col("_endpoint"), pl.col("resource_id").str.extract(ML_ENDPOINT, 1)))
            .alias("endpoint"),
            pl.when(is_tokens).then(first_rule(words, TOKEN_TYPE_RULES)).alias("token_type"),
            words.str.contains(r"\bbatch\b").alias("is_batch"),
            pl.when(words.str.contains(r"\bbatch\b")).then(pl.lit("batch")).alias("service_tier"),
            pl.col("cost").alias("billed_amount"),
            currency.alias("currency"),
            usd.alias("billed_cost_usd"),
            pl.lit(None, pl.String).alias("project_id"),
            pl.lit(None, pl.String).alias("workspace_id"),
            pl.lit(None, pl.String).alias("api_key_id"),
            pl.coalesce(
                pl.col("_tag"), owner(("resource", resource), ("subscription", pl.col("subscription_id")))
            ).alias("owner"),
            pl.col("_app").alias("owner_app"),
            pl.col("resource_id").str.strip_chars(),
            scaled_tokens(pl.col("quantity"), scale).alias("_tokens"),
        )
        costs = to_key_grain(rows, COST_DIMS, COST_SUMS)
        n, tt = pl.col("_tokens").fill_null(0), pl.col("token_type")
        usage = rows.filter(pl.col("cost_type") == "tokens").with_columns(
            pl.when(tt.is_in(["input", "cached_input", "cache_write_5m"])).then(n).otherwise(0).alias("input_tokens"),
            pl.when(tt == "cached_input").then(n).otherwise(0).alias("cached_input_tokens"),
            pl.when(tt == "cache_write_5m").then(n).otherwise(0).alias("cache_write_tokens"),
            pl.lit(0, pl.Int64).alias("cache_write_1h_tokens"),
            pl.when(tt == "output").then(n).otherwise(0).alias("output_tokens"),
            pl.lit(0, pl.Int64).alias("reasoning_tokens"),
            pl.lit(None, pl.Int64).alias("requests"),
        )
        usage = to_key_grain(usage, USAGE_DIMS, USAGE_SUMS)
        return Parsed(rows=costs, quarantine=quarantine, records_in=record_count(good) + quarantine.height, skipped=skipped,
                      extra={"provider_usage": usage})
