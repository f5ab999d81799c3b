"""Google: the Cloud Billing standard usage cost export (JSON lines), Vertex AI and Gemini API SKUs.

One row per usage hour × SKU. ``usage.amount`` is the SKU's token count (unit ``count``), so a
row's tokens are its usage and its cost is the SKU's list price times them. Vertex AI splits
thinking output into its own SKU; the Gemini API (an AI Studio key; service "Gemini API") bills
input and output SKUs whose output includes any thinking. Vertex rows carry the request labels
(``app``); Gemini API rows carry none (an API key cannot label its requests).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.sample.exports import Ledger, _rows
from pipelines.sample.listprice import unit_prices
from pipelines.sample.org import GCP_BILLING_ACCOUNT, GCP_PROJECT
from pipelines.sample.orgs import ALL_MODELS

VERTEX = {"id": "C7E2-9256-1C43", "description": "Vertex AI"}
GEMINI_API = {"id": "AEFD-7695-64FA", "description": "Gemini API"}
SKUS = {  # model -> kind -> (sku id, description), as in the Cloud Billing catalog for Vertex AI
    "gemini-2.5-flash": {
        "input": ("FDAB-647C-5A22", "Gemini 2.5 Flash GA Text Input - Predictions"),
        "cached": ("A1C1-77CC-6FAE", "Gemini 2.5 Flash GA Input Text Caching"),
        "output": ("9B1E-4C2D-7A55", "Gemini 2.5 Flash GA Text Output - Predictions"),
        "thinking": ("A253-E8A3-DE5C", "Gemini 2.5 Flash GA Thinking Text Output - Predictions"),
    },
    "gemini-2.5-pro": {
        "input": ("A121-E2B5-1418", "Gemini 2.5 Pro Text Input - Predictions"),
        "cached": ("E941-1B12-88B9", "Gemini 2.5 Pro Input Text Caching"),
        "output": ("5DA2-3F77-1CA5", "Gemini 2.5 Pro Text Output - Predictions"),
        "thinking": ("E367-697F-F274", "Gemini 2.5 Pro Thinking Text Output - Predictions"),
    },
}
GEMINI_API_SKUS = {  # the Gemini API's own SKUs: output includes thinking
    "gemini-2.5-flash": {
        "input": ("1E6A-0A5F-5F03", "Generate content input token count gemini 2.5 flash short input text"),
        "cached": ("6C4B-93D2-1B7E", "Generate content cached input token count gemini 2.5 flash short input text"),
        "output": ("6A5E-2C1D-8F40", "Generate content output token count gemini 2.5 flash short input text"),
    },
}


def _bq_ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def write_google(out: Path, day: date, billed: pl.DataFrame, acc: Ledger, rng: np.random.Generator,
                 write: bool = True) -> tuple[list[Path], Decimal]:
    """Cloud Billing standard usage cost export rows (one per hour × SKU) as JSON lines."""
    midnight = datetime.combine(day, time(0), tzinfo=timezone.utc)
    lines, credits = [], Decimal(0)
    for r in _rows(billed, "google", ["hour", "model", "owner", "is_batch"]):
        m = ALL_MODELS[r["model"]]
        api = m.via == "gemini_api"
        prices = unit_prices("google", m.priced_as, day, r["is_batch"], False)
        counts = {"input": r["input_tokens"] - r["cached_input_tokens"], "cached": r["cached_input_tokens"],
                  "output": r["output_tokens"] - r["reasoning_tokens"], "thinking": r["reasoning_tokens"]}
        if api:
            counts = {**counts, "output": r["output_tokens"], "thinking": 0}
        unit = {"input": prices["input"], "cached": prices["cache_read"], "output": prices["output"],
                "thinking": prices["output"]}
        start = midnight + timedelta(hours=r["hour"])
        for kind, tokens in counts.items():
            if tokens == 0:
                continue
            sku_id, sku_desc = (GEMINI_API_SKUS if api else SKUS)[m.name][kind]
            cost = float(unit[kind] * tokens)
            row_credits = []
            if rng.random() < 0.05 and not api:  # occasional promotional credit
                amount = -round(cost * 0.5, 6)
                row_credits.append({"name": "Vertex AI Gemini promotional credit", "amount": amount,
                                    "full_name": None, "id": "PROMO-GEMINI-2026", "type": "PROMOTION"})
                credits += Decimal(repr(amount))
                acc.credit("google", m.name, r["owner"], Decimal(repr(amount)))
            lines.append(json.dumps({
                "billing_account_id": GCP_BILLING_ACCOUNT, "service": GEMINI_API if api else VERTEX,
                "sku": {"id": sku_id, "description": sku_desc},
                "usage_start_time": _bq_ts(start), "usage_end_time": _bq_ts(start + timedelta(hours=1)),
                "project": {**GCP_PROJECT, "labels": [{"key": "team", "value": "search"}],
                            "ancestry_numbers": f"/918273645501/{GCP_PROJECT['number']}/"},
                "labels": [] if api else [{"key": "app", "value": "docs-search"}, {"key": "env", "value": "prod"}],
                "system_labels": [],
                "location": {"location": "us-central1", "country": "US", "region": "us-central1", "zone": None},
                "export_time": _bq_ts(midnight + timedelta(days=1, hours=5, minutes=int(r["hour"]))),
                "cost": cost, "currency": "USD", "currency_conversion_rate": 1.0,
                "usage": {"amount": tokens, "unit": "count", "amount_in_pricing_units": tokens / 1_000_000,
                          "pricing_unit": "count"},  # SKUs are priced per 1M tokens
                "credits": row_credits, "invoice": {"month": day.strftime("%Y%m")}, "cost_type": "regular",
                "cost_at_list": cost,
            }))
            acc.add("google", m.name, r["is_batch"], r["owner"], Decimal(repr(cost)))
    path = out / "google" / f"billing-{day.isoformat()}.jsonl"
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return [path], credits
