"""Azure and AWS bills of the mixed organisation: Azure Cost Details CSV and AWS CUR 2.0 CSV.

Azure (MCA layout): one row per day × meter × resource; quantities in 1K tokens (``1K``);
billed in EUR with the USD columns beside (``costInUsd``, ``costInPricingCurrency``); a UTF-8
BOM, CRLF line ends, ``MM/DD/YYYY`` dates; ``tags`` name the app (``{"app": "support-bot", …}``).
One App Service row a day shows that an export holds more than LLM spend.

AWS (CUR 2.0, Data Exports): one row per usage hour × usage type × resource; first-party token
usage types (``USE1-Claude4.5Haiku-input-tokens``, ``…-cache-read-input-token-count``,
``USE1-TitanEmbeddingV2-Text-input-tokens``) counted in thousands (``pricing_unit`` ``1K tokens``).
Calls through the application inference profile carry its ARN in ``line_item_resource_id`` and
its tags in ``resource_tags`` (``user_app``); Titan calls name no resource, only the IAM principal.
Amounts are list prices, exact decimals; both writers book them in the ``Ledger`` in USD.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import polars as pl

from pipelines.sample.exports import Ledger, _kinds, _rows
from pipelines.sample.listprice import unit_prices
from pipelines.sample.org_mixed import (
    AWS_ACCOUNT, AWS_REGION, AZURE_RESOURCE, AZURE_SUBSCRIPTION, BEDROCK_PRINCIPAL,
)
from pipelines.sample.orgs import ALL_MODELS

AZURE_RATE = Decimal("0.9214")  # EUR per USD (exchangeRatePricingToBilling)
AZURE_METERS = {  # model name -> token kind -> meter name, as Azure writes them (inconsistently)
    "gpt-4o-mini": {"input": "gpt-4o-mini-0718-Inp-glbl Tokens",
                    "cache_read": "gpt 4o mini 0718 cached Inp glbl Tokens",
                    "output": "gpt-4o-mini-0718-Outp-glbl Tokens"},
}
AZURE_TAGS = json.dumps({"app": "support-bot", "env": "prod", "team": "support"})
AZURE_COLUMNS = [
    "invoiceId", "billingAccountId", "billingAccountName", "billingProfileId", "billingPeriodStartDate",
    "billingPeriodEndDate", "date", "serviceFamily", "meterId", "meterName", "meterCategory", "meterSubCategory",
    "meterRegion", "ProductName", "SubscriptionId", "subscriptionName", "resourceGroupName", "ResourceId",
    "resourceLocation", "effectivePrice", "quantity", "unitOfMeasure", "chargeType", "billingCurrency",
    "pricingCurrency", "costInBillingCurrency", "costInPricingCurrency", "costInUsd", "exchangeRatePricingToBilling",
    "exchangeRateDate", "tags", "PayGPrice", "pricingModel",
]
K = Decimal(1000)


def _us(d: date) -> str:
    return d.strftime("%m/%d/%Y")


def _month(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _f(d: Decimal) -> str:
    return format(d, "f")


def azure_rows(day: date, billed: pl.DataFrame, acc: Ledger) -> list[dict]:
    """The day's Cost Details rows; the Azure OpenAI ones booked in ``acc`` in USD."""
    start, end = _month(day)
    base = {"invoiceId": "", "billingAccountId": "7f3a9c21-4b6e-4d8a-9f10-3c5e7a9b1d2f:0e1d2c3b_2019-05-31",
            "billingAccountName": "Example Corp", "billingProfileId": "QWER-TY12-ABC-DEF",
            "billingPeriodStartDate": _us(start), "billingPeriodEndDate": _us(end), "date": _us(day),
            "SubscriptionId": AZURE_SUBSCRIPTION, "subscriptionName": "support-prod", "resourceLocation": "EastUS",
            "chargeType": "Usage", "billingCurrency": "EUR", "pricingCurrency": "USD",
            "exchangeRatePricingToBilling": _f(AZURE_RATE), "exchangeRateDate": _us(start), "PayGPrice": "",
            "pricingModel": "OnDemand"}
    rows = []
    for r in _rows(billed, "azure", ["model", "owner", "is_batch"]):
        m = ALL_MODELS[r["model"]]
        prices = unit_prices("azure", m.priced_as, day, r["is_batch"])
        for kind, tokens in _kinds(r).items():
            if tokens == 0:
                continue
            usd = prices[kind] * tokens
            rows.append({**base, "serviceFamily": "AI + Machine Learning", "meterId": _id("meter", m.name, kind)[:36],
                         "meterName": AZURE_METERS[m.name][kind], "meterCategory": "Foundry Models",
                         "meterSubCategory": "Azure OpenAI", "meterRegion": "Global", "ProductName": "Azure OpenAI",
                         "resourceGroupName": "rg-support-ai", "ResourceId": AZURE_RESOURCE,
                         "effectivePrice": _f(prices[kind] * K * AZURE_RATE), "quantity": _f(Decimal(tokens) / K),
                         "unitOfMeasure": "1K", "costInBillingCurrency": _f(usd * AZURE_RATE),
                         "costInPricingCurrency": _f(usd), "costInUsd": _f(usd), "tags": AZURE_TAGS})
            acc.add("azure", m.name, r["is_batch"], r["owner"], usd)
    usd = Decimal("2.4")  # the web front end's App Service plan: not LLM spend
    rows.append({**base, "serviceFamily": "Compute", "meterId": _id("meter", "app-service")[:36],
                 "meterName": "S1 App", "meterCategory": "Azure App Service", "meterSubCategory": "Standard Plan",
                 "meterRegion": "US East", "ProductName": "Azure App Service Standard Plan",
                 "resourceGroupName": "rg-support-web", "ResourceId": f"/subscriptions/{AZURE_SUBSCRIPTION}/"
                 "resourceGroups/rg-support-web/providers/Microsoft.Web/serverfarms/support-web-plan",
                 "effectivePrice": _f(Decimal("0.1") * AZURE_RATE), "quantity": "24", "unitOfMeasure": "1 Hour",
                 "costInBillingCurrency": _f(usd * AZURE_RATE), "costInPricingCurrency": _f(usd), "costInUsd": _f(usd),
                 "tags": json.dumps({"app": "support-bot", "env": "prod"})})
    return rows


def azure_csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=AZURE_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


CUR_TYPES = {  # model name -> token kind -> usage type suffix (after the region prefix and model segment)
    "claude-haiku-4-5": ("Claude4.5Haiku", {"input": "input-tokens", "cache_read": "cache-read-input-token-count",
                                            "cache_write_5m": "cache-write-input-token-count",
                                            "output": "output-tokens"}),
    "titan-embed-text-v2": ("TitanEmbeddingV2-Text", {"input": "input-tokens"}),
}
CUR_COLUMNS = [
    "bill_billing_period_start_date", "bill_payer_account_id", "identity_line_item_id", "line_item_usage_start_date",
    "line_item_usage_end_date", "line_item_usage_account_id", "line_item_line_item_type", "line_item_product_code",
    "line_item_usage_type", "line_item_operation", "line_item_usage_amount", "line_item_unblended_rate",
    "line_item_unblended_cost", "line_item_currency_code", "line_item_line_item_description",
    "line_item_resource_id", "line_item_iam_principal", "pricing_unit", "product", "resource_tags",
]
BEDROCK_PRODUCT = json.dumps({"product_name": "Amazon Bedrock", "servicecode": "AmazonBedrock", "region": AWS_REGION})


def cur_rows(day: date, billed: pl.DataFrame, acc: Ledger) -> list[dict]:
    """The day's CUR 2.0 Bedrock line items (hourly); booked in ``acc``."""
    rows = []
    for r in _rows(billed, "aws", ["hour", "model", "owner"]):
        m = ALL_MODELS[r["model"]]
        segment, types = CUR_TYPES[m.name]
        prices = unit_prices("aws", m.priced_as, day, False)
        hour = datetime.combine(day, time(r["hour"]))
        start, end = (f"{t.isoformat()}Z" for t in (hour, hour + timedelta(hours=1)))
        for kind, tokens in _kinds(r).items():
            if tokens == 0:
                continue
            usage_type = f"USE1-{segment}-{types[kind]}"
            cost = prices[kind] * tokens
            rows.append({
                "bill_billing_period_start_date": f"{_month(day)[0].isoformat()}T00:00:00Z",
                "bill_payer_account_id": AWS_ACCOUNT, "identity_line_item_id": _id(start, usage_type, m.via)[:52],
                "line_item_usage_start_date": start, "line_item_usage_end_date": end,
                "line_item_usage_account_id": AWS_ACCOUNT, "line_item_line_item_type": "Usage",
                "line_item_product_code": "AmazonBedrock", "line_item_usage_type": usage_type,
                "line_item_operation": "InvokeModelInference", "line_item_usage_amount": _f(Decimal(tokens) / K),
                "line_item_unblended_rate": _f(prices[kind] * K), "line_item_unblended_cost": _f(cost),
                "line_item_currency_code": "USD",
                "line_item_line_item_description": f"{_f(prices[kind] * K)} per 1K {types[kind].replace('-', ' ')} "
                                                   f"for {segment} in US East (N. Virginia)",
                "line_item_resource_id": m.via, "line_item_iam_principal": BEDROCK_PRINCIPAL,
                "pricing_unit": "1K tokens", "product": BEDROCK_PRODUCT,
                "resource_tags": json.dumps({"user_app": "support-bot", "user_env": "prod"} if m.via else {}),
            })
            acc.add("aws", m.name, False, r["owner"], cost)
    return rows


def cur_csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CUR_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()
