"""Provider usage and cost exports for one day, in the providers' own API/export shapes.

Input is the day's billed usage (logged calls plus planted unlogged usage), already
aggregated per hour × model × owner × batch × long context. Amounts are list prices
(``listprice``) of that usage, exact ``Decimal``. Each writer returns what it billed,
per (provider, canonical model, is_batch), so the ground truth sums the files' own numbers.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.sample.listprice import kind_costs, token_kinds, unit_prices
from pipelines.sample.org import GCP_BILLING_ACCOUNT, GCP_PROJECT, MODELS, OWNERS

ZERO_AMOUNT = "0E-6176"  # how the OpenAI Costs API writes some zero amounts
SUMS = ["requests", "input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
        "output_tokens", "reasoning_tokens"]
Billed = dict[tuple[str, str, bool], Decimal]


def _day_bounds(day: date) -> tuple[int, int]:
    start = int(datetime.combine(day, time(0), tzinfo=timezone.utc).timestamp())
    return start, start + 86_400


def _iso(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _dump(path: Path, obj: dict, write: bool) -> None:
    if not write:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")


def _rows(billed: pl.DataFrame, provider: str, keys: list[str]) -> list[dict]:
    """Billed usage of one provider, summed on ``keys`` (model/owner codes), in a stable order."""
    codes = [i for i, m in enumerate(MODELS) if m.provider == provider]
    part = billed.filter(pl.col("model").is_in(codes))
    return part.group_by(keys).agg(pl.col(SUMS).sum()).sort(keys).to_dicts()


def _add(acc: Billed, provider: str, model: str, is_batch: bool, amount: Decimal) -> None:
    acc[(provider, model, is_batch)] = acc.get((provider, model, is_batch), Decimal(0)) + amount


def _kinds(r: dict) -> dict[str, int]:
    return token_kinds(r["input_tokens"], r["cached_input_tokens"], r["cache_write_tokens"],
                       r["cache_write_1h_tokens"], r["output_tokens"])


def write_openai(out: Path, day: date, billed: pl.DataFrame, acc: Billed, write: bool = True) -> list[Path]:
    start, end = _day_bounds(day)
    completions, embeddings, costs = [], [], []
    for r in _rows(billed, "openai", ["model", "owner", "is_batch"]):
        m, o = MODELS[r["model"]], OWNERS[r["owner"]]
        usage = {"input_tokens": r["input_tokens"]}
        if m.operation == "embeddings":
            embeddings.append({"object": "organization.usage.embeddings.result", **usage,
                               "num_model_requests": r["requests"], "project_id": o.project_id, "user_id": None,
                               "api_key_id": o.api_key_id, "model": m.billed_as})
        else:
            completions.append({"object": "organization.usage.completions.result", **usage,
                                "output_tokens": r["output_tokens"], "input_cached_tokens": r["cached_input_tokens"],
                                "input_audio_tokens": 0, "output_audio_tokens": 0,
                                "num_model_requests": r["requests"], "project_id": o.project_id, "user_id": None,
                                "api_key_id": o.api_key_id, "model": m.billed_as, "batch": r["is_batch"]})
        cost = kind_costs("openai", m.name, day, r["is_batch"], False, _kinds(r))
        prefix = "batch | " if r["is_batch"] else ""
        lines = [("input", cost["input"])]
        if m.operation != "embeddings":
            lines += [("cached input", cost["cache_read"]), ("output", cost["output"])]
        for label, amount in lines:
            if amount == 0 and label != "cached input":
                continue
            value = format(amount, "f") if amount else ZERO_AMOUNT
            costs.append({"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
                          "line_item": f"{prefix}{m.billed_as}, {label}", "project_id": o.project_id})
            _add(acc, "openai", m.name, r["is_batch"], amount)
    costs.sort(key=lambda c: (c["project_id"], c["line_item"]))
    paths = []
    for name, results in (("usage-completions", completions), ("usage-embeddings", embeddings), ("costs", costs)):
        path = out / "openai" / f"{name}-{day.isoformat()}.json"
        _dump(path, {"object": "page", "data": [{"object": "bucket", "start_time": start, "end_time": end,
                                                  "results": results}], "has_more": False, "next_page": None},
              write)
        paths.append(path)
    return paths


_TOKEN_TYPES = (  # cost report token_type, our kind, description suffix
    ("uncached_input_tokens", "input", "Input Tokens"),
    ("cache_read_input_tokens", "cache_read", "Cache Read Input Tokens"),
    ("cache_creation.ephemeral_5m_input_tokens", "cache_write_5m", "5m Cache Write Input Tokens"),
    ("cache_creation.ephemeral_1h_input_tokens", "cache_write_1h", "1h Cache Write Input Tokens"),
    ("output_tokens", "output", "Output Tokens"),
)


def _claude_name(model: str) -> str:
    parts = model.split("-")  # claude-sonnet-4-5 -> Claude Sonnet 4.5
    return f"Claude {parts[1].title()} {'.'.join(parts[2:])}"


def write_anthropic(out: Path, day: date, billed: pl.DataFrame, acc: Billed, write: bool = True) -> list[Path]:
    usage, costs = [], {}
    for r in _rows(billed, "anthropic", ["model", "owner", "is_batch", "long_context"]):
        m, o = MODELS[r["model"]], OWNERS[r["owner"]]
        kinds = _kinds(r)
        tier = "batch" if r["is_batch"] else "standard"
        window = "200k-1M" if r["long_context"] else "0-200k"
        usage.append({"uncached_input_tokens": kinds["input"], "cache_read_input_tokens": kinds["cache_read"],
                      "cache_creation": {"ephemeral_5m_input_tokens": kinds["cache_write_5m"],
                                         "ephemeral_1h_input_tokens": kinds["cache_write_1h"]},
                      "output_tokens": kinds["output"], "server_tool_use": {"web_search_requests": 0},
                      "api_key_id": o.api_key_id, "workspace_id": o.workspace_id, "model": m.billed_as,
                      "service_tier": tier, "context_window": window})
        amounts = kind_costs("anthropic", m.name, day, r["is_batch"], r["long_context"], kinds)
        for token_type, kind, label in _TOKEN_TYPES:
            if amounts[kind] == 0:
                continue
            key = (o.workspace_id or "", m.billed_as, tier, window, token_type)
            if key not in costs:
                desc = f"{_claude_name(m.name)} {'Batch ' if r['is_batch'] else ''}Usage - {label}"
                desc += " (Long Context)" if r["long_context"] else ""
                costs[key] = {"workspace_id": o.workspace_id, "description": desc, "model": m.billed_as,
                              "service_tier": tier, "context_window": window, "token_type": token_type,
                              "cents": Decimal(0)}
            costs[key]["cents"] += amounts[kind] * 100
            _add(acc, "anthropic", m.name, r["is_batch"], amounts[kind])
    cost_rows = [{"currency": "USD", "amount": format(c.pop("cents"), "f"), "workspace_id": c["workspace_id"],
                  "description": c["description"], "cost_type": "tokens", "context_window": c["context_window"],
                  "model": c["model"], "service_tier": c["service_tier"], "token_type": c["token_type"]}
                 for _, c in sorted(costs.items())]
    bucket = {"starting_at": _iso(day), "ending_at": _iso(day + timedelta(days=1))}
    paths = [out / "anthropic" / f"usage-report-{day.isoformat()}.json",
             out / "anthropic" / f"cost-report-{day.isoformat()}.json"]
    _dump(paths[0], {"data": [{**bucket, "results": usage}], "has_more": False, "next_page": None}, write)
    _dump(paths[1], {"data": [{**bucket, "results": cost_rows}], "has_more": False, "next_page": None}, write)
    return paths


VERTEX = {"id": "C7E2-9256-1C43", "description": "Vertex AI"}
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


def _bq_ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def write_google(out: Path, day: date, billed: pl.DataFrame, acc: Billed, rng: np.random.Generator,
                 write: bool = True) -> tuple[list[Path], Decimal]:
    """Cloud Billing standard usage cost export rows (one per hour × SKU) as JSON lines."""
    midnight = datetime.combine(day, time(0), tzinfo=timezone.utc)
    lines, credits = [], Decimal(0)
    for r in _rows(billed, "google", ["hour", "model", "owner", "is_batch"]):
        m = MODELS[r["model"]]
        prices = unit_prices("google", m.name, day, r["is_batch"], False)
        counts = {"input": r["input_tokens"] - r["cached_input_tokens"], "cached": r["cached_input_tokens"],
                  "output": r["output_tokens"] - r["reasoning_tokens"], "thinking": r["reasoning_tokens"]}
        unit = {"input": prices["input"], "cached": prices["cache_read"], "output": prices["output"],
                "thinking": prices["output"]}
        start = midnight + timedelta(hours=r["hour"])
        for kind, tokens in counts.items():
            if tokens == 0:
                continue
            sku_id, sku_desc = SKUS[m.name][kind]
            cost = float(unit[kind] * tokens)
            row_credits = []
            if rng.random() < 0.05:  # occasional promotional credit
                amount = -round(cost * 0.5, 6)
                row_credits.append({"name": "Vertex AI Gemini promotional credit", "amount": amount,
                                    "full_name": None, "id": "PROMO-GEMINI-2026", "type": "PROMOTION"})
                credits += Decimal(repr(amount))
            lines.append(json.dumps({
                "billing_account_id": GCP_BILLING_ACCOUNT, "service": VERTEX,
                "sku": {"id": sku_id, "description": sku_desc},
                "usage_start_time": _bq_ts(start), "usage_end_time": _bq_ts(start + timedelta(hours=1)),
                "project": {**GCP_PROJECT, "labels": [{"key": "team", "value": "search"}],
                            "ancestry_numbers": f"/918273645501/{GCP_PROJECT['number']}/"},
                "labels": [{"key": "app", "value": "docs-search"}, {"key": "env", "value": "prod"}],
                "system_labels": [],
                "location": {"location": "us-central1", "country": "US", "region": "us-central1", "zone": None},
                "export_time": _bq_ts(midnight + timedelta(days=1, hours=5, minutes=int(r["hour"]))),
                "cost": cost, "currency": "USD", "currency_conversion_rate": 1.0,
                "usage": {"amount": tokens, "unit": "count", "amount_in_pricing_units": tokens / 1_000_000,
                          "pricing_unit": "count"},  # SKUs are priced per 1M tokens
                "credits": row_credits, "invoice": {"month": day.strftime("%Y%m")}, "cost_type": "regular",
                "cost_at_list": cost,
            }))
            _add(acc, "google", m.name, r["is_batch"], Decimal(repr(cost)))
    path = out / "google" / f"billing-{day.isoformat()}.jsonl"
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return [path], credits
